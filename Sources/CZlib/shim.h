// zlib (Debian: zlib1g-dev): gzip for IDX files, deflate for PNG.
#include <zlib.h>
