// A PNG decoded by libpng, with libpng's longjmp error handling kept inside C: a corrupt,
// truncated or oversized file comes back as a non-zero status and a message, never a jump
// across Swift frames.
#ifndef STN_PNG_READER_H
#define STN_PNG_READER_H

#include <stddef.h>
#include <stdint.h>

/// The samples of a decoded PNG as stored (no gamma or colour conversion): palettes and
/// grey below 8 bits expanded to 8 bits, a tRNS chunk expanded to an alpha channel.
typedef struct stn_png_image {
    uint32_t width;
    uint32_t height;
    /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    int channels;
    /// 8 (one byte per sample) or 16 (one native-endian uint16_t per sample).
    int bit_depth;
    /// width * height * channels samples, row after row; free with stn_png_free.
    void *samples;
} stn_png_image;

/// Decodes the PNG in `bytes`. Returns 0 and fills `image`, or returns non-zero and writes
/// a NUL-terminated reason (libpng's, or "truncated ..." / "... pixels") into `message`.
/// Images of more than `max_pixels` pixels are refused before their pixels are allocated.
int stn_png_decode(
    const unsigned char *bytes, size_t count, uint64_t max_pixels, stn_png_image *image, char *message,
    size_t message_size);

/// Frees the samples of an image `stn_png_decode` filled (and nothing else).
void stn_png_free(stn_png_image *image);

#endif
