/* Golden cases for the kernels' Embedded Swift build (Embedded/KernelsC.swift), checked
 * against naive reference loops written here in C: tools/ci/test-arm links this with the
 * aarch64 objects into a static Linux program and runs it under qemu-aarch64-static.
 * Inputs are fixed (a 32-bit LCG with a fixed seed). Prints PASS/FAIL per case and exits
 * non-zero on any failure. Compile with -ffp-contract=off: the references' plain a * b + c
 * must not turn into fma behind our back (the GEMM reference asks for fmaf explicitly,
 * as the Swift microkernel uses fused multiply-adds, so those cases must match bit for bit). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stn_gemm(int32_t m, int32_t n, int32_t k, const float *a, const float *b, float *c);
void stn_conv2d_forward(int32_t inH, int32_t inW, int32_t inC, int32_t realInC, int32_t outC,
                        int32_t kernelH, int32_t kernelW, int32_t strideH, int32_t strideW,
                        const float *input, const float *torchWeights, const float *bias,
                        float *packed, float *output);
void stn_winograd_floats(int32_t inH, int32_t inW, int32_t inC, int32_t realInC, int32_t outC, int32_t kernel,
                         int32_t alpha, int32_t *weightFloats, int32_t *scratchFloats);
void stn_winograd_conv2d_forward(int32_t inH, int32_t inW, int32_t inC, int32_t realInC, int32_t outC, int32_t kernel,
                                 int32_t alpha, const float *input, const float *torchWeights, const float *bias, float *packed,
                                 float *u, float *scratch, float *output);
void stn_linear_forward(int32_t inputs, int32_t outputs, const float *input, const float *torchWeights,
                        const float *bias, float *packed, float *output);
void stn_pool_relu_forward(int32_t inH, int32_t inW, int32_t channels, const float *input, float *output,
                           int32_t *argmax);
void stn_affine_grid(const float *theta, int32_t height, int32_t width, int32_t alignCorners, float *grid);
void stn_sample_bilinear(const float *input, int32_t height, int32_t width, int32_t stride, const float *grid,
                         int32_t count, int32_t border, int32_t alignCorners, float *output);
int32_t stn_log_softmax(const float *logits, int32_t count, float *logProbs);
void stn_activation_forward(int32_t kind, float a, float b, const float *input, float *output, int32_t pixels,
                            int32_t channels, int32_t stride);
void stn_depthwise_forward(int32_t inH, int32_t inW, int32_t channels, int32_t realChannels, int32_t kernelH,
                           int32_t kernelW, int32_t strideH, int32_t strideW, const int32_t *pads, int32_t dilationH,
                           int32_t dilationW, const float *input, const float *torchWeights, const float *bias,
                           float *packed, float *output);
void stn_global_pool(int32_t pixels, int32_t channels, int32_t maximum, const float *input, float *output,
                     int32_t *argmax);
void stn_pool_forward(int32_t inH, int32_t inW, int32_t channels, int32_t kernel, int32_t stride, int32_t pad,
                      int32_t outH, int32_t outW, int32_t maximum, int32_t countIncludePad, const float *input,
                      float *output, int32_t *argmax);

static uint32_t state = 12345u;
static float uniform(float lo, float hi) { /* [lo, hi) */
    state = state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(state >> 8) / 16777216.0f;
}
static float *randoms(int count, float lo, float hi) {
    float *p = malloc(sizeof(float) * (count > 0 ? count : 1));
    for (int i = 0; i < count; i++) p[i] = uniform(lo, hi);
    return p;
}

static int failures = 0;

/* |got - want| <= tol * max(1, |want|) everywhere (NaN never passes); `exact` demands equal bits. */
static void report(const char *name, const float *got, const float *want, int count, float tol, int exact) {
    double worst = 0;
    int same = 0, bad = 0;
    for (int i = 0; i < count; i++) {
        if (memcmp(&got[i], &want[i], sizeof(float)) == 0) { same++; continue; }
        double d = fabs((double)got[i] - (double)want[i]);
        double scale = fabs((double)want[i]) > 1 ? fabs((double)want[i]) : 1;
        if (!(d <= tol * scale) || exact) bad++;
        if (!(d <= worst)) worst = d;
    }
    printf("%s %-34s %4d values, %4d bit-identical to the C reference, max |diff| %.3g\n",
           bad ? "FAIL" : "PASS", name, count, same, worst);
    if (bad) failures++;
}

/* ---- GEMM: C += A * B, sequential fused multiply-adds per element (as the microkernel) ---- */
static void gemm_case(int m, int n, int k) {
    float *a = randoms(m * k, -1, 1), *b = randoms(k * n, -1, 1), *c = randoms(m * n, -1, 1);
    float *want = malloc(sizeof(float) * m * n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = c[i * n + j];
            for (int t = 0; t < k; t++) acc = fmaf(a[i * k + t], b[t * n + j], acc);
            want[i * n + j] = acc;
        }
    stn_gemm(m, n, k, a, b, c);
    char name[64];
    snprintf(name, sizeof name, "gemm %dx%dx%d", m, n, k);
    report(name, c, want, m * n, 0, 1);
    free(a), free(b), free(c), free(want);
}

/* ---- Convolution: PyTorch layout weights, NHWC input with inC lanes (realInC real) ---- */
static void conv_case(int inH, int inW, int inC, int realInC, int outC, int kh, int kw, int sh, int sw) {
    int outCp = (outC + 7) & ~7, outH = (inH - kh) / sh + 1, outW = (inW - kw) / sw + 1;
    float *input = randoms(inH * inW * inC, -1, 1);
    for (int p = 0; p < inH * inW; p++)
        for (int ci = realInC; ci < inC; ci++) input[p * inC + ci] = 0; /* padded lanes are zero */
    float *w = randoms(outC * realInC * kh * kw, -0.5f, 0.5f);
    float *bias = randoms(outCp, -0.1f, 0.1f);
    for (int co = outC; co < outCp; co++) bias[co] = 0;
    float *packed = malloc(sizeof(float) * kh * kw * inC * outCp);
    float *got = malloc(sizeof(float) * outH * outW * outCp), *want = malloc(sizeof(float) * outH * outW * outCp);
    for (int y = 0; y < outH; y++)
        for (int x = 0; x < outW; x++)
            for (int co = 0; co < outCp; co++) {
                float acc = bias[co];
                if (co < outC)
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                            for (int ci = 0; ci < realInC; ci++)
                                acc = fmaf(input[((y * sh + ky) * inW + x * sw + kx) * inC + ci],
                                           w[((co * realInC + ci) * kh + ky) * kw + kx], acc);
                want[(y * outW + x) * outCp + co] = acc;
            }
    stn_conv2d_forward(inH, inW, inC, realInC, outC, kh, kw, sh, sw, input, w, bias, packed, got);
    char name[64];
    snprintf(name, sizeof name, "conv2d %dx%dx%d->%d k%dx%d s%dx%d", inH, inW, realInC, outC, kh, kw, sh, sw);
    report(name, got, want, outH * outW * outCp, 0, 1);
    free(input), free(w), free(bias), free(packed), free(got), free(want);
}

/* ---- Winograd convolution (stride 1, square kernel) against the same direct loops ---- */
static void winograd_case(int inH, int inW, int inC, int realInC, int outC, int k, int alpha) {
    int outCp = (outC + 7) & ~7, outH = inH - k + 1, outW = inW - k + 1;
    int32_t weightFloats, scratchFloats;
    stn_winograd_floats(inH, inW, inC, realInC, outC, k, alpha, &weightFloats, &scratchFloats);
    char name[64];
    snprintf(name, sizeof name, "winograd %dx%dx%d->%d k%d a%d", inH, inW, realInC, outC, k, alpha);
    if (weightFloats == 0) {
        printf("FAIL %-34s no Winograd form\n", name);
        failures++;
        return;
    }
    float *input = randoms(inH * inW * inC, -1, 1);
    for (int p = 0; p < inH * inW; p++)
        for (int ci = realInC; ci < inC; ci++) input[p * inC + ci] = 0;
    float *w = randoms(outC * realInC * k * k, -0.5f, 0.5f);
    float *bias = randoms(outCp, -0.1f, 0.1f);
    for (int co = outC; co < outCp; co++) bias[co] = 0;
    float *packed = malloc(sizeof(float) * k * k * inC * outCp), *u = malloc(sizeof(float) * weightFloats);
    float *scratch = malloc(sizeof(float) * scratchFloats);
    float *got = malloc(sizeof(float) * outH * outW * outCp), *want = malloc(sizeof(float) * outH * outW * outCp);
    for (int y = 0; y < outH; y++)
        for (int x = 0; x < outW; x++)
            for (int co = 0; co < outCp; co++) {
                double acc = bias[co];
                if (co < outC)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++)
                            for (int ci = 0; ci < realInC; ci++)
                                acc += (double)input[((y + ky) * inW + x + kx) * inC + ci] *
                                       w[((co * realInC + ci) * k + ky) * k + kx];
                want[(y * outW + x) * outCp + co] = (float)acc;
            }
    stn_winograd_conv2d_forward(inH, inW, inC, realInC, outC, k, alpha, input, w, bias, packed, u, scratch, got);
    /* The transforms round differently from the direct sums: the 7x7 layer's outputs (up to
     * about 10 here) differ by up to 9e-5, within 2e-5 of the largest, as in the Swift tests. */
    report(name, got, want, outH * outW * outCp, 2e-4f, 0);
    free(input), free(w), free(bias), free(packed), free(u), free(scratch), free(got), free(want);
}

/* ---- Linear: PyTorch [outputs][inputs] ---- */
static void linear_case(int inputs, int outputs) {
    int outputsP = (outputs + 7) & ~7;
    float *x = randoms(inputs, -1, 1), *w = randoms(outputs * inputs, -0.5f, 0.5f), *bias = randoms(outputsP, -0.1f, 0.1f);
    for (int o = outputs; o < outputsP; o++) bias[o] = 0;
    float *packed = malloc(sizeof(float) * inputs * outputsP), *got = malloc(sizeof(float) * outputsP),
          *want = malloc(sizeof(float) * outputsP);
    for (int o = 0; o < outputsP; o++) {
        double acc = bias[o];
        if (o < outputs)
            for (int i = 0; i < inputs; i++) acc += (double)x[i] * w[o * inputs + i];
        want[o] = (float)acc;
    }
    stn_linear_forward(inputs, outputs, x, w, bias, packed, got);
    char name[64];
    snprintf(name, sizeof name, "linear %d->%d", inputs, outputs);
    /* At batch 1 the layer is a matrix-vector product summing the inputs in strips, another
     * order than one running sum: within 1e-6 of the double sum. */
    report(name, got, want, outputsP, 1e-6f, 0);
    free(x), free(w), free(bias), free(packed), free(got), free(want);
}

/* ---- 2x2 max pool (first maximum wins) then ReLU; also the argmax indices ---- */
static void pool_case(int inH, int inW, int c) {
    int outH = inH / 2, outW = inW / 2, n = outH * outW * c;
    float *input = randoms(inH * inW * c, -1, 1);
    input[3] = input[3 + c]; /* a tie: the first in scan order must win */
    float *got = malloc(sizeof(float) * n), *want = malloc(sizeof(float) * n);
    int32_t *arg = malloc(sizeof(int32_t) * n), *wantArg = malloc(sizeof(int32_t) * n);
    for (int y = 0; y < outH; y++)
        for (int x = 0; x < outW; x++)
            for (int ch = 0; ch < c; ch++) {
                int idx[4] = {((2 * y) * inW + 2 * x) * c + ch, ((2 * y) * inW + 2 * x + 1) * c + ch,
                              ((2 * y + 1) * inW + 2 * x) * c + ch, ((2 * y + 1) * inW + 2 * x + 1) * c + ch};
                int best = idx[0];
                for (int q = 1; q < 4; q++)
                    if (input[idx[q]] > input[best]) best = idx[q];
                int o = (y * outW + x) * c + ch;
                want[o] = input[best] > 0 ? input[best] : 0;
                wantArg[o] = best;
            }
    stn_pool_relu_forward(inH, inW, c, input, got, arg);
    char name[64];
    snprintf(name, sizeof name, "pool2x2+relu %dx%dx%d", inH, inW, c);
    report(name, got, want, n, 0, 1);
    int wrong = 0;
    for (int i = 0; i < n; i++) wrong += arg[i] != wantArg[i];
    printf("%s %-34s %4d indices, %4d wrong\n", wrong ? "FAIL" : "PASS", "pool2x2 argmax", n, wrong);
    if (wrong) failures++;
    free(input), free(got), free(want), free(arg), free(wantArg);
}

/* ---- Affine grid and bilinear sampler (F.affine_grid, F.grid_sample), in double ---- */
static double normalised(int i, int n, int align) {
    if (n <= 1) return align ? -1 : 0;
    return align ? -1 + 2.0 * i / (n - 1) : (2.0 * i + 1) / n - 1;
}

static double pixel(double g, int size, int border, int align) {
    double p = align ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2;
    if (border) p = !(p > 0) ? 0 : (p > size - 1 ? size - 1 : p);
    if (!(p >= -2)) p = -2; /* non-finite grids sample outside (as the kernel documents) */
    if (p > size + 1) p = size + 1;
    return p;
}

static void transformer_case(int h, int w, int stride, int border, int align, const float theta[6], int poison) {
    int count = h * w;
    float *grid = malloc(sizeof(float) * 2 * count), *wantGrid = malloc(sizeof(float) * 2 * count);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double xn = normalised(x, w, align), yn = normalised(y, h, align);
            wantGrid[(y * w + x) * 2] = (float)(theta[0] * xn + theta[1] * yn + theta[2]);
            wantGrid[(y * w + x) * 2 + 1] = (float)(theta[3] * xn + theta[4] * yn + theta[5]);
        }
    stn_affine_grid(theta, h, w, align, grid);
    char name[80];
    snprintf(name, sizeof name, "affine_grid %dx%d align=%d", h, w, align);
    report(name, grid, wantGrid, 2 * count, 1e-5f, 0);
    if (poison) { /* an untrusted grid: NaN, infinities, huge values sample as outside */
        grid[0] = NAN, grid[3] = INFINITY, grid[4] = -INFINITY, grid[7] = 3e38f, grid[8] = -1e30f;
    }
    float *image = randoms(h * w * stride, 0, 1);
    float *got = malloc(sizeof(float) * count * stride), *want = malloc(sizeof(float) * count * stride);
    for (int i = 0; i < count; i++) {
        double ix = pixel(grid[2 * i], w, border, align), iy = pixel(grid[2 * i + 1], h, border, align);
        double x0 = floor(ix), y0 = floor(iy), fx = ix - x0, fy = iy - y0;
        int xs[2] = {(int)x0, (int)x0 + 1}, ys[2] = {(int)y0, (int)y0 + 1};
        double wx[2] = {1 - fx, fx}, wy[2] = {1 - fy, fy};
        for (int c = 0; c < stride; c++) {
            double v = 0;
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                    if (xs[b] >= 0 && xs[b] < w && ys[a] >= 0 && ys[a] < h)
                        v += image[(ys[a] * w + xs[b]) * stride + c] * wx[b] * wy[a];
            want[i * stride + c] = (float)v;
        }
    }
    stn_sample_bilinear(image, h, w, stride, grid, count, border, align, got);
    snprintf(name, sizeof name, "sample_bilinear %dx%dx%d %s align=%d%s", h, w, stride, border ? "border" : "zeros",
             align, poison ? " +NaN/inf" : "");
    report(name, got, want, count * stride, 1e-5f, 0);
    free(grid), free(wantGrid), free(image), free(got), free(want);
}

/* ---- Log-softmax, in double; and its argmax ---- */
static void log_softmax_case(int count, float offset) {
    float *logits = randoms(count, -4, 4);
    for (int i = 0; i < count; i++) logits[i] += offset;
    float *got = malloc(sizeof(float) * count), *want = malloc(sizeof(float) * count);
    int best = 0;
    for (int i = 1; i < count; i++)
        if (logits[i] > logits[best]) best = i;
    double sum = 0;
    for (int i = 0; i < count; i++) sum += exp((double)logits[i] - logits[best]);
    for (int i = 0; i < count; i++) want[i] = (float)(((double)logits[i] - logits[best]) - log(sum));
    int gotBest = stn_log_softmax(logits, count, got);
    char name[64];
    snprintf(name, sizeof name, "log_softmax %d logits%s", count, offset != 0 ? " +1000" : "");
    /* max + log sum rounds at 64 < |max|: relative to the logits, a few ulps of 1000 */
    report(name, got, want, count, offset != 0 ? 1e-4f : 2e-6f, 0);
    printf("%s %-34s got %d, want %d\n", gotBest == best ? "PASS" : "FAIL", "log_softmax argmax", gotBest, best);
    if (gotBest != best) failures++;
    free(logits), free(got), free(want);
}

/* ---- Activations against libm in double (the padding lanes must come out 0) ---- */
static double activation_ref(int kind, double a, double b, double x) {
    switch (kind) {
    case 0: return x > 0 ? x : a * x;
    case 1: return x > 0 ? x : a * expm1(x);
    case 2: return tanh(x);
    case 3: return 1 / (1 + exp(-x));
    case 4: return x / (1 + exp(-x));
    case 5: return x < a ? a : x > b ? b : x;
    case 6: { double t = a * x + b; return t < 0 ? 0 : t > 1 ? 1 : t; }
    case 7: { double t = x + 3; return x * (t < 0 ? 0 : t > 6 ? 6 : t) / 6; }
    default: return 0.5 * x * erfc(-x / sqrt(2.0));
    }
}
static void activation_case(int kind, float a, float b, const char *label) {
    const int pixels = 7, channels = 13, stride = 16;
    float *input = randoms(pixels * stride, -9, 9);
    float *got = malloc(sizeof(float) * pixels * stride), *want = malloc(sizeof(float) * pixels * stride);
    for (int i = 0; i < pixels * stride; i++) {
        if (i % stride >= channels) input[i] = 0;
        want[i] = i % stride < channels ? (float)activation_ref(kind, a, b, input[i]) : 0;
    }
    stn_activation_forward(kind, a, b, input, got, pixels, channels, stride);
    char name[64];
    snprintf(name, sizeof name, "activation %s 7x13", label);
    report(name, got, want, pixels * stride, 2e-6f, 0);
    free(input), free(got), free(want);
}

/* ---- Depthwise convolution, padded, strided, dilated ---- */
static void depthwise_case(int inH, int inW, int channels, int realC, int kh, int kw, int sh, int sw,
                           int pt, int pl, int pb, int pr, int dh, int dw) {
    int outH = (inH + pt + pb - dh * (kh - 1) - 1) / sh + 1, outW = (inW + pl + pr - dw * (kw - 1) - 1) / sw + 1;
    float *input = randoms(inH * inW * channels, -1, 1);
    for (int i = 0; i < inH * inW * channels; i++)
        if (i % channels >= realC) input[i] = 0;
    float *w = randoms(realC * kh * kw, -1, 1), *bias = randoms(channels, -1, 1);
    for (int c = realC; c < channels; c++) bias[c] = 0;
    float *packed = malloc(sizeof(float) * (kh * kw * channels + 16));
    float *got = malloc(sizeof(float) * (outH * outW * channels + 16)), *want = malloc(sizeof(float) * outH * outW * channels);
    for (int oy = 0; oy < outH; oy++)
        for (int ox = 0; ox < outW; ox++)
            for (int c = 0; c < channels; c++) {
                double sum = c < realC ? bias[c] : 0;
                for (int ky = 0; c < realC && ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++) {
                        int iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
                        if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
                        sum += (double)input[(iy * inW + ix) * channels + c] * w[(c * kh + ky) * kw + kx];
                    }
                want[(oy * outW + ox) * channels + c] = (float)sum;
            }
    const int32_t pads[4] = {pt, pl, pb, pr};
    stn_depthwise_forward(inH, inW, channels, realC, kh, kw, sh, sw, pads, dh, dw, input, w, bias, packed, got);
    char name[64];
    snprintf(name, sizeof name, "depthwise %dx%dx%d k%dx%d s%d d%d", inH, inW, realC, kh, kw, sh, dh);
    report(name, got, want, outH * outW * channels, 1e-5f, 0);
    free(input), free(w), free(bias), free(packed), free(got), free(want);
}

/* ---- Global pooling, and padded max / average pooling with argmax ---- */
static void global_pool_case(int pixels, int channels) {
    float *input = randoms(pixels * channels, -4, 4);
    float *got = malloc(sizeof(float) * channels), *want = malloc(sizeof(float) * channels);
    float *gotMax = malloc(sizeof(float) * channels), *wantMax = malloc(sizeof(float) * channels);
    int32_t *argmax = malloc(sizeof(int32_t) * channels);
    int wrong = 0;
    for (int c = 0; c < channels; c++) {
        double sum = 0;
        int at = c;
        for (int p = 0; p < pixels; p++) {
            sum += input[p * channels + c];
            if (input[p * channels + c] > input[at]) at = p * channels + c;
        }
        want[c] = (float)(sum / pixels);
        wantMax[c] = input[at];
    }
    stn_global_pool(pixels, channels, 0, input, got, argmax);
    report("global average pool", got, want, channels, 1e-6f, 0);
    stn_global_pool(pixels, channels, 1, input, gotMax, argmax);
    report("global max pool", gotMax, wantMax, channels, 0, 1);
    for (int c = 0; c < channels; c++)
        if (input[argmax[c]] != wantMax[c] || argmax[c] % channels != c) wrong++;
    printf("%s %-34s %d wrong\n", wrong ? "FAIL" : "PASS", "global max pool argmax", wrong);
    if (wrong) failures++;
    free(input), free(got), free(want), free(gotMax), free(wantMax), free(argmax);
}

static void padded_pool_case(int inH, int inW, int channels, int k, int s, int pad, int includePad) {
    int outH = (inH + 2 * pad - k) / s + 1, outW = (inW + 2 * pad - k) / s + 1;
    int n = outH * outW * channels;
    float *input = randoms(inH * inW * channels, -4, 4);
    float *gotMax = malloc(sizeof(float) * (n + 16)), *wantMax = malloc(sizeof(float) * n);
    float *gotAvg = malloc(sizeof(float) * (n + 16)), *wantAvg = malloc(sizeof(float) * n);
    int32_t *argmax = malloc(sizeof(int32_t) * (n + 16));
    int32_t *wantArg = malloc(sizeof(int32_t) * n);
    for (int oy = 0; oy < outH; oy++)
        for (int ox = 0; ox < outW; ox++)
            for (int c = 0; c < channels; c++) {
                int top = oy * s - pad, left = ox * s - pad, count = 0, at = -1;
                float best = -INFINITY;
                double sum = 0;
                for (int y = top; y < top + k; y++)
                    for (int x = left; x < left + k; x++) {
                        if (y < 0 || y >= inH || x < 0 || x >= inW) continue;
                        int i = (y * inW + x) * channels + c;
                        if (at < 0 || input[i] > best) best = input[i], at = i;
                        sum += input[i], count++;
                    }
                int o = (oy * outW + ox) * channels + c;
                wantMax[o] = best, wantArg[o] = at;
                wantAvg[o] = (float)(sum / (includePad ? k * k : count));
            }
    stn_pool_forward(inH, inW, channels, k, s, pad, outH, outW, 1, includePad, input, gotMax, argmax);
    int wrong = 0;
    for (int o = 0; o < n; o++) wrong += argmax[o] != wantArg[o];
    stn_pool_forward(inH, inW, channels, k, s, pad, outH, outW, 0, includePad, input, gotAvg, argmax);
    char name[64];
    snprintf(name, sizeof name, "max pool %dx%d s%d p%d %dx%dx%d", k, k, s, pad, inH, inW, channels);
    report(name, gotMax, wantMax, n, 0, 1);
    snprintf(name, sizeof name, "average pool %dx%d s%d p%d%s", k, k, s, pad, includePad ? " incl" : "");
    report(name, gotAvg, wantAvg, n, 1e-6f, 0);
    printf("%s %-34s %d wrong\n", wrong ? "FAIL" : "PASS", "max pool argmax", wrong);
    if (wrong) failures++;
    free(input), free(gotMax), free(wantMax), free(gotAvg), free(wantAvg), free(argmax), free(wantArg);
}

int main(void) {
    gemm_case(7, 24, 13);  /* a partial 6-row block; 16 + 8 columns */
    gemm_case(12, 40, 37); /* two full blocks; 16 + 16 + 8 columns */
    gemm_case(1, 8, 5);
    conv_case(9, 8, 8, 3, 10, 3, 3, 1, 1);
    conv_case(12, 11, 8, 5, 20, 5, 4, 2, 1);
    winograd_case(17, 17, 32, 32, 32, 7, 8); /* the ST-CNN's 7x7 layer: F(2x2, 7x7) */
    winograd_case(11, 10, 8, 5, 12, 3, 8);   /* F(6x6, 3x3), edge tiles, padded channels */
    winograd_case(13, 13, 24, 22, 40, 3, 6); /* F(4x4, 3x3): GTSRB's 11 x 11 layer, narrowed */
    winograd_case(11, 10, 8, 5, 12, 3, 4);   /* F(2x2, 3x3), edge tiles, padded channels */
    winograd_case(12, 10, 16, 16, 17, 5, 6); /* F(2x2, 5x5) */
    winograd_case(42, 42, 1, 1, 32, 9, 8);   /* the 9x9 first layer: F(6x6, 3x3) over its pieces */
    winograd_case(20, 17, 1, 1, 5, 6, 8);
    linear_case(21, 10);
    pool_case(6, 5, 16);
    const float rotate[6] = {0.8f, -0.45f, 0.1f, 0.5f, 0.75f, -0.2f};
    const float zoom[6] = {1.3f, 0.2f, 0.05f, -0.1f, 1.2f, 0.3f};
    transformer_case(7, 9, 1, 0, 0, rotate, 0);
    transformer_case(7, 9, 1, 0, 0, rotate, 1);
    transformer_case(6, 5, 8, 1, 1, zoom, 0);
    transformer_case(10, 10, 1, 1, 0, zoom, 0);
    log_softmax_case(10, 0);
    log_softmax_case(10, 1000);
    activation_case(0, 0.01f, 0, "leaky_relu");
    activation_case(1, 1.0f, 0, "elu");
    activation_case(2, 0, 0, "tanh");
    activation_case(3, 0, 0, "sigmoid");
    activation_case(4, 0, 0, "silu");
    activation_case(5, 0, 6, "relu6");
    activation_case(6, 0.2f, 0.5f, "hard_sigmoid");
    activation_case(7, 0, 0, "hard_swish");
    activation_case(8, 0, 0, "gelu");
    depthwise_case(9, 11, 16, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1);
    depthwise_case(7, 8, 8, 8, 5, 3, 1, 1, 2, 1, 0, 2, 2, 1);
    global_pool_case(23, 24);
    padded_pool_case(9, 11, 24, 3, 2, 1, 0);
    padded_pool_case(8, 8, 16, 3, 2, 1, 1);
    printf("%s: %d failure%s\n", failures ? "FAIL" : "PASS", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
