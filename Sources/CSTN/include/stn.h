/*
 * stn.h: the stn-swift inference engine for C (and anything that calls C).
 *
 * Link the static library `libstn.a` (swift build -c release --product stn) together with
 * the Swift runtime; docs/building.md gives the link line.
 *
 * Every function reports failure as a status code, never by aborting: a missing or
 * truncated weight file, a null pointer or a frame of the wrong size gives a non-zero
 * code and, when `message` is not NULL, one line saying what is wrong (NUL-terminated,
 * cut to `message_size` bytes).
 *
 * Thread safety: an engine runs one frame at a time. Use one engine per thread (engines
 * share nothing); creating and destroying engines from several threads is fine.
 */
#ifndef STN_H
#define STN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A status code: STN_OK or one of the errors below. */
typedef int32_t stn_status;
enum {
    STN_OK = 0,
    /* A null pointer, or a frame whose pixel count is not the model's. */
    STN_ERROR_ARGUMENT = 1,
    /* The weights: no such file, unreadable, truncated, not HDF5, or not a model's weights. */
    STN_ERROR_WEIGHTS = 2,
    /* The model could not be compiled into an engine. */
    STN_ERROR_MODEL = 3,
    /* The frame ran, but a logit or a transform parameter is NaN or infinite: the answer
       in the result means nothing. */
    STN_ERROR_NON_FINITE = 4,
};

/* The most log-probabilities and transform parameters a result holds. */
#define STN_MAX_CLASSES 64
#define STN_MAX_THETA 32

/* One frame's answer. */
typedef struct stn_result {
    /* The predicted class (for digits, the digit) and its probability. */
    int32_t label;
    float probability;
    /* The model's classes (label is the most probable of all of them), and the
       log-probabilities of the first STN_MAX_CLASSES of them, in log_probs[0 .. min(class_count,
       STN_MAX_CLASSES) - 1]. */
    int32_t class_count;
    float log_probs[STN_MAX_CLASSES];
    /* The first transformer's parameters, theta_count of them (0 for a model without a
       transformer; affine: the 2 x 3 matrix [[a, b, tx], [c, d, ty]] row-major). */
    int32_t theta_count;
    float theta[STN_MAX_THETA];
} stn_result;

/* An engine: one model's weights, compiled, with the memory for one frame. */
typedef struct stn_engine stn_engine;

/* Loads an HDF5 weight file (any file stn-train writes) into a new engine (*out). */
stn_status stn_engine_create_from_file(const char *path, stn_engine **out, char *message, size_t message_size);

/* As stn_engine_create_from_file, from a weight file's bytes in memory; they are read
   during the call only. */
stn_status stn_engine_create_from_bytes(
    const void *bytes, size_t byte_count, stn_engine **out, char *message, size_t message_size);

/* The frame the engine takes: channels x height x width. Pixels are passed row by row,
   height x width x channels, 8 bits each (0 ... 255). */
void stn_engine_input_shape(const stn_engine *engine, int32_t *channels, int32_t *height, int32_t *width);

/* Pixels in one frame: channels x height x width. */
size_t stn_engine_frame_size(const stn_engine *engine);

/* Classifies one frame of `pixel_count` 8-bit pixels (stn_engine_frame_size of them).
   Allocates nothing. */
stn_status stn_engine_infer(
    stn_engine *engine, const uint8_t *pixels, size_t pixel_count, stn_result *result, char *message,
    size_t message_size);

/* Frees an engine (NULL is ignored). */
void stn_engine_destroy(stn_engine *engine);

/* The name of a status code, e.g. "STN_ERROR_WEIGHTS". */
const char *stn_status_name(stn_status status);

#ifdef __cplusplus
}
#endif

#endif
