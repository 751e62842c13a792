#include "png_reader.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Everything the decoder changes between setjmp and a possible longjmp lives here, in the
// caller's frame, reached through a pointer that never changes: its values survive the jump.
struct reader {
    const unsigned char *bytes;
    size_t count;
    size_t offset;
    char *message;
    size_t message_size;
    png_bytep *rows;
    void *samples;
};

static void fail(png_structp png, png_const_charp reason) {
    struct reader *reader = png_get_error_ptr(png);
    snprintf(reader->message, reader->message_size, "%s", reason);
    png_longjmp(png, 1);
}

static void ignore_warning(png_structp png, png_const_charp warning) {
    (void)png;
    (void)warning;
}

static void read_bytes(png_structp png, png_bytep into, size_t length) {
    struct reader *reader = png_get_io_ptr(png);
    if (length > reader->count - reader->offset) {
        png_error(png, "truncated: the file ends before the image does");
    }
    memcpy(into, reader->bytes + reader->offset, length);
    reader->offset += length;
}

static uint32_t big_endian(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

// The bytes of every IDAT chunk before IEND, from the chunk lengths alone (nothing is
// inflated). A chunk cut short ends the walk: libpng reports it when it gets there.
static uint64_t idat_bytes(const unsigned char *bytes, size_t count) {
    uint64_t total = 0;
    size_t offset = 8;
    if (count < offset) return 0;
    while (count - offset >= 12) {
        uint64_t length = big_endian(bytes + offset);
        const unsigned char *type = bytes + offset + 4;
        if (memcmp(type, "IDAT", 4) == 0) total += length;
        if (memcmp(type, "IEND", 4) == 0 || length > count - offset - 12) break;
        offset += 12 + (size_t)length;
    }
    return total;
}

// The setjmp and every libpng call are in this function; its own locals are not touched
// after a longjmp (only `reader`'s fields, in the caller's frame, are).
static int decode(png_structp png, png_infop info, struct reader *reader, uint64_t max_pixels, stn_png_image *image) {
    if (setjmp(png_jmpbuf(png))) return 1;
    png_set_read_fn(png, reader, read_bytes);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    if ((uint64_t)width * height > max_pixels) {
        snprintf(
            reader->message, reader->message_size, "absurd size %ux%u (more than %llu pixels)", (unsigned)width,
            (unsigned)height, (unsigned long long)max_pixels);
        return 1;
    }
    // The compressed pixels may not be much larger than the pixels themselves (deflate
    // stores incompressible data with 5 bytes per block): libpng inflates every IDAT byte
    // to its end, so a few kilobytes of pixels followed by a gigabyte of compressed zeros
    // would cost seconds. The filtered rows: one filter byte per row (per pass row when
    // interlaced, about twice as many rows and a byte of rounding each).
    uint64_t rows = png_get_interlace_type(png, info) == PNG_INTERLACE_NONE ? height : 2 * (uint64_t)height + 7;
    uint64_t filtered = (uint64_t)height * png_get_rowbytes(png, info) + 2 * rows;
    uint64_t bound = filtered + filtered / 4 + 4096;
    uint64_t compressed = idat_bytes(reader->bytes, reader->count);
    if (compressed > bound) {
        snprintf(
            reader->message, reader->message_size,
            "IDAT holds %llu compressed bytes, more than a %ux%u image's %llu bytes of pixels can need",
            (unsigned long long)compressed, (unsigned)width, (unsigned)height, (unsigned long long)filtered);
        return 1;
    }
    png_set_expand(png);
    if (png_get_bit_depth(png, info) == 16) {
        // libpng hands over 16-bit samples big-endian, as stored; make them native.
        const uint16_t one = 1;
        if (*(const unsigned char *)&one == 1) png_set_swap(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    int depth = png_get_bit_depth(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (channels < 1 || channels > 4 || (depth != 8 && depth != 16)
        || row_bytes != (size_t)width * channels * (depth / 8)) {
        snprintf(reader->message, reader->message_size, "unsupported layout (%d channels of %d bits)", channels, depth);
        return 1;
    }
    reader->samples = malloc(row_bytes * height);
    reader->rows = malloc(sizeof(png_bytep) * height);
    if (!reader->samples || !reader->rows) {
        snprintf(reader->message, reader->message_size, "out of memory for %ux%u pixels", width, height);
        return 1;
    }
    for (png_uint_32 y = 0; y < height; y++) reader->rows[y] = (png_bytep)reader->samples + y * row_bytes;
    png_read_image(png, reader->rows);
    // The rest of the file up to IEND: a file cut after the pixels is still truncated.
    png_read_end(png, NULL);
    image->width = width;
    image->height = height;
    image->channels = channels;
    image->bit_depth = depth;
    return 0;
}

int stn_png_decode(
    const unsigned char *bytes, size_t count, uint64_t max_pixels, stn_png_image *image, char *message,
    size_t message_size) {
    struct reader reader = {bytes, count, 0, message, message_size, NULL, NULL};
    memset(image, 0, sizeof *image);
    if (message_size > 0) message[0] = 0;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, fail, ignore_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        snprintf(message, message_size, "cannot initialise libpng");
        png_destroy_read_struct(&png, NULL, NULL);
        return 1;
    }
    int status = decode(png, info, &reader, max_pixels, image);
    png_destroy_read_struct(&png, &info, NULL);
    free(reader.rows);
    if (status != 0) {
        free(reader.samples);
        memset(image, 0, sizeof *image);
        return status;
    }
    image->samples = reader.samples;
    return 0;
}

void stn_png_free(stn_png_image *image) {
    free(image->samples);
    image->samples = NULL;
}
