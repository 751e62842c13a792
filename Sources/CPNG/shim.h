// libpng (Debian: libpng-dev): decoding PNG inputs. Swift never calls it directly: libpng
// reports errors by longjmp, which Swift frames cannot survive, so CPNGReader wraps it in C.
#include <png.h>
