// Classifies one frame of an IDX image file with the stn-swift engine through its C API
// (stn.h, linked from libstn.a), and checks that bad input gives error codes, not a crash:
//
//     classify WEIGHTS.h5 IMAGES-idx3-ubyte INDEX
//
// Prints "frame INDEX: digit D p P" (and theta), one "check ...: ok" line per error case,
// and exits non-zero if anything fails. tools/ci/test-examples builds and runs it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stn.h"

static int failures = 0;

static void check(const char *what, stn_status status, stn_status expected, const char *message) {
    int ok = status == expected && (expected == STN_OK || message[0] != '\0');
    printf("check %s: %s (%s: %s)\n", what, ok ? "ok" : "FAILED", stn_status_name(status), message);
    if (!ok) failures++;
}

// The whole file, or NULL. *size gets its length.
static unsigned char *read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *bytes = length > 0 ? malloc((size_t)length) : NULL;
    if (bytes && fread(bytes, 1, (size_t)length, file) != (size_t)length) {
        free(bytes);
        bytes = NULL;
    }
    fclose(file);
    *size = bytes ? (size_t)length : 0;
    return bytes;
}

static unsigned big_endian(const unsigned char *p) {
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: classify WEIGHTS.h5 IMAGES-idx3-ubyte INDEX\n");
        return 2;
    }
    char message[256];
    size_t weight_size = 0, image_size = 0;
    unsigned char *weights = read_file(argv[1], &weight_size);
    unsigned char *images = read_file(argv[2], &image_size);
    if (!weights || !images) {
        fprintf(stderr, "classify: cannot read %s\n", weights ? argv[2] : argv[1]);
        return 1;
    }

    // The engine from the weight file's bytes; a second one from its path must agree.
    stn_engine *engine = NULL, *from_file = NULL;
    stn_status status = stn_engine_create_from_bytes(weights, weight_size, &engine, message, sizeof message);
    if (status != STN_OK) {
        fprintf(stderr, "classify: %s\n", message);
        return 1;
    }
    status = stn_engine_create_from_file(argv[1], &from_file, message, sizeof message);
    if (status != STN_OK) {
        fprintf(stderr, "classify: %s\n", message);
        return 1;
    }
    int32_t channels, height, width;
    stn_engine_input_shape(engine, &channels, &height, &width);
    size_t frame = stn_engine_frame_size(engine);

    // An idx3 file of u8 images: magic 0x00000803, count, rows, columns, then the pixels.
    long index = atol(argv[3]);
    if (image_size < 16 || big_endian(images) != 0x803 || big_endian(images + 8) != (unsigned)height
        || big_endian(images + 12) != (unsigned)width || channels != 1 || index < 0
        || (unsigned long)index >= big_endian(images + 4) || 16 + (index + 1) * frame > image_size) {
        fprintf(stderr, "classify: %s has no %ldth %dx%d image\n", argv[2], index, height, width);
        return 1;
    }
    const uint8_t *pixels = images + 16 + index * frame;

    stn_result result, again;
    status = stn_engine_infer(engine, pixels, frame, &result, message, sizeof message);
    if (status != STN_OK) {
        fprintf(stderr, "classify: %s\n", message);
        return 1;
    }
    printf("frame %ld: digit %d p %.4f", index, result.label, result.probability);
    if (result.theta_count > 0) {
        printf(" theta [");
        for (int i = 0; i < result.theta_count; i++) printf(i ? " %.3f" : "%.3f", result.theta[i]);
        printf("]");
    }
    printf("\n");
    status = stn_engine_infer(from_file, pixels, frame, &again, message, sizeof message);
    int same = status == STN_OK && again.label == result.label && again.class_count == result.class_count
        && memcmp(again.log_probs, result.log_probs, sizeof result.log_probs) == 0;
    check("engine from file answers as engine from bytes", same ? STN_OK : status, STN_OK, "");

    // Bad input: an error code and a message, never a crash.
    stn_engine *bad = NULL;
    check("missing file", stn_engine_create_from_file("/no/such/weights.h5", &bad, message, sizeof message),
        STN_ERROR_WEIGHTS, message);
    check("truncated bytes", stn_engine_create_from_bytes(weights, weight_size / 2, &bad, message, sizeof message),
        STN_ERROR_WEIGHTS, message);
    check("not HDF5", stn_engine_create_from_bytes(images, image_size, &bad, message, sizeof message),
        STN_ERROR_WEIGHTS, message);
    check("wrong pixel count", stn_engine_infer(engine, pixels, frame - 1, &again, message, sizeof message),
        STN_ERROR_ARGUMENT, message);
    check("NULL engine", stn_engine_infer(NULL, pixels, frame, &again, message, sizeof message),
        STN_ERROR_ARGUMENT, message);
    check("NULL path", stn_engine_create_from_file(NULL, &bad, message, sizeof message), STN_ERROR_ARGUMENT,
        message);
    check("message cut to a 8-byte buffer",
        stn_engine_create_from_file("/no/such/weights.h5", &bad, message, 8) == STN_ERROR_WEIGHTS
                && strlen(message) == 7
            ? STN_OK
            : STN_ERROR_ARGUMENT,
        STN_OK, "");
    if (bad) failures++;

    stn_engine_destroy(engine);
    stn_engine_destroy(from_file);
    stn_engine_destroy(NULL);
    free(weights);
    free(images);
    return failures == 0 ? 0 : 1;
}
