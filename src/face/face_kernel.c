/*
 * face_kernel.c: the convolution kernel of the face networks: a direct
 * (implicit GEMM) convolution over NHWC tensors with filters in TF layout
 * [k,k,cin,cout], computing tiles of KERNEL_PIXELS output pixels by
 * KERNEL_CHANNELS output channels in registers, with the bias, the
 * per-channel scale and shift and the activation applied as the tile is
 * stored. Zero padding is materialised once per call into a scratch copy
 * of the input, so that each filter row reads k*cin contiguous floats.
 *
 * The tile loop is compiled twice: for x86-64 with AVX2+FMA, chosen at run
 * time when the CPU has them, and for the baseline target. Both sum the
 * products in the same order (ky, then kx and cin).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

#define KERNEL_CHANNELS 16
#define KERNEL_LEAKY_ALPHA 0.1f
/* Filters larger than this (more than stays in L2 from one call to the
 * next) are prefetched, this many filter rows ahead (tuned on Zen 5: for a
 * 3x3 256->256 conv on 3x3 pixels with its filters in DRAM, 0.193 ms
 * without, 0.130 ms at 16 rows, 0.099 ms at 64). */
#define KERNEL_PREFETCH_BYTES (256u << 10)
#define KERNEL_PREFETCH 64

/* The AVX2 and baseline tile: 6 pixels x 2 vectors of 8 channels, twelve
 * accumulators, which with the two filter vectors fills AVX2's sixteen
 * registers. */
typedef float kvec8 __attribute__((vector_size(8 * sizeof(float))));
typedef int kmask8 __attribute__((vector_size(8 * sizeof(int))));
/* The AVX-512 tile: 12 pixels x 2 vectors of 16 channels (24 of the 32
 * registers), or x 1 vector when cout is an odd multiple of 16. Each
 * filter vector is reused by twice the pixels of the AVX2 tile, and the
 * input values are broadcast straight from memory into the FMAs. */
typedef float kvec16 __attribute__((vector_size(16 * sizeof(float))));
typedef int kmask16 __attribute__((vector_size(16 * sizeof(int))));

/* One call's geometry, after padding: src has rows of src_w pixels. */
typedef struct conv_job {
    const float *src;
    int src_w, cin, k, stride;
    const float *filters;
    int cout;
    int out_h, out_w;
    const face_epilogue *ep;
    float *dst;
} conv_job;

/*
 * CONV_TILES(name, vec, mask, lanes, nv, pixels) defines a static inline
 * tile loop over tiles of `pixels` output pixels by nv*lanes output
 * channels. Every output value is the same sum in every instance: one
 * accumulator from zero, adding the products in the order ky, then kx and
 * cin (contracted to FMA where the target has it), so the instances differ
 * only in speed. The epilogue is + bias, * scale + shift, then ReLU as
 * "v > 0 ? v : 0" (NaN gives 0) or face-api's leaky relu(x - 0.1x) + 0.1x.
 */
#define CONV_TILES(name, vec, mask, lanes, nv, pixels, prefetch)                     \
    static inline __attribute__((always_inline)) vec                       \
    name##_load(const float *p)                                            \
    {                                                                      \
        vec v;                                                             \
        memcpy(&v, p, sizeof(v));                                          \
        return v;                                                          \
    }                                                                      \
    static inline __attribute__((always_inline)) vec                       \
    name##_relu(vec v)                                                     \
    {                                                                      \
        vec zero = {0};                                                    \
        mask keep = v > zero;                                              \
        return (vec)((mask)v & keep);                                      \
    }                                                                      \
    static inline __attribute__((always_inline)) vec                       \
    name##_epilogue(vec v, const face_epilogue *ep, size_t co)             \
    {                                                                      \
        if (ep->bias != NULL)                                              \
            v += name##_load(ep->bias + co);                               \
        if (ep->scale != NULL)                                             \
            v = v * name##_load(ep->scale + co) + name##_load(ep->shift + co); \
        if (ep->act == FACE_ACT_RELU) {                                    \
            v = name##_relu(v);                                            \
        } else if (ep->act == FACE_ACT_LEAKY) {                            \
            vec m = v * KERNEL_LEAKY_ALPHA;                                \
            v = name##_relu(v - m) + m;                                    \
        }                                                                  \
        return v;                                                          \
    }                                                                      \
    static inline __attribute__((always_inline)) void                      \
    name(const conv_job *job, size_t co_from, size_t co_to)                \
    {                                                                      \
        const size_t row_floats = (size_t)job->src_w * job->cin;           \
        const size_t run = (size_t)job->k * job->cin;                      \
        const size_t cout = (size_t)job->cout;                             \
        const size_t out_w = (size_t)job->out_w;                           \
        const size_t pixels_all = (size_t)job->out_h * out_w;              \
        const size_t step = (size_t)job->stride * (size_t)job->cin;        \
        size_t co, m, j;                                                   \
        int p, v, ky;                                                      \
                                                                           \
        for (co = co_from; co < co_to; co += (nv) * (lanes)) {             \
            /* (oy, ox) of the tile's first pixel, kept without divisions */ \
            size_t oy = 0, ox = 0;                                         \
            for (m = 0; m < pixels_all; m += (pixels)) {                   \
                const float *base[pixels];                                 \
                vec acc[pixels][nv];                                       \
                int valid = pixels_all - m < (pixels)                      \
                                ? (int)(pixels_all - m) : (pixels);        \
                size_t py = oy, px = ox;                                   \
                const float *first = job->src +                            \
                    oy * job->stride * row_floats + ox * step;             \
                for (p = 0; p < (pixels); p++) {                           \
                    /* past the end: repeat pixel 0, computed, not stored */ \
                    base[p] = p < valid                                    \
                        ? job->src + py * job->stride * row_floats + px * step \
                        : first;                                           \
                    if (++px == out_w) {                                   \
                        px = 0;                                            \
                        py++;                                              \
                    }                                                      \
                    for (v = 0; v < (nv); v++)                             \
                        acc[p][v] = (vec){0};                              \
                }                                                          \
                oy = py;                                                   \
                ox = px;                                                   \
                for (ky = 0; ky < job->k; ky++) {                          \
                    const float *w = job->filters + (size_t)ky * run * cout + co; \
                    const size_t off = (size_t)ky * row_floats;            \
                    const float *s[pixels];                                \
                    for (p = 0; p < (pixels); p++)                         \
                        s[p] = base[p] + off;                              \
                    for (j = 0; j < run; j++, w += cout) {                 \
                        vec wv[nv];                                        \
                        /* filters past the caches (the recognition net's \
                         * 25 MB) come from DRAM: ask for rows `prefetch`  \
                         * ahead (an address, possibly past the end; a     \
                         * prefetch never faults) */                       \
                        if ((prefetch) > 0)                                \
                            for (v = 0; v < (nv); v++)                     \
                                __builtin_prefetch((const void *)          \
                                    ((uintptr_t)(w + v * (lanes)) +        \
                                     (prefetch) * cout * sizeof(float)));  \
                        for (v = 0; v < (nv); v++)                         \
                            wv[v] = name##_load(w + v * (lanes));          \
                        _Pragma("GCC unroll 16")                           \
                        for (p = 0; p < (pixels); p++)                     \
                            for (v = 0; v < (nv); v++)                     \
                                acc[p][v] += s[p][j] * wv[v];              \
                    }                                                      \
                }                                                          \
                for (p = 0; p < valid; p++) {                              \
                    float *out = job->dst + (m + (size_t)p) * cout + co;   \
                    for (v = 0; v < (nv); v++) {                           \
                        vec r = name##_epilogue(acc[p][v], job->ep,        \
                                                co + (size_t)v * (lanes)); \
                        memcpy(out + v * (lanes), &r, sizeof(r));          \
                    }                                                      \
                }                                                          \
            }                                                              \
        }                                                                  \
    }

CONV_TILES(tiles8, kvec8, kmask8, 8, 2, 6, 0)
#if defined(__x86_64__)
CONV_TILES(tiles16x2, kvec16, kmask16, 16, 2, 12, 0)
CONV_TILES(tiles16x2pf, kvec16, kmask16, 16, 2, 12, KERNEL_PREFETCH)
CONV_TILES(tiles16x1, kvec16, kmask16, 16, 1, 12, 0)

__attribute__((target("avx512f,fma"))) static void
conv_tiles_avx512(const conv_job *job)
{
    size_t cout = (size_t)job->cout, wide = cout / 32 * 32;
    size_t bytes = (size_t)job->k * job->k * job->cin * cout * sizeof(float);

    if (bytes > KERNEL_PREFETCH_BYTES)
        tiles16x2pf(job, 0, wide);
    else
        tiles16x2(job, 0, wide);
    if (wide < cout)
        tiles16x1(job, wide, cout);
}

__attribute__((target("avx2,fma"))) static void
conv_tiles_avx2(const conv_job *job)
{
    tiles8(job, 0, (size_t)job->cout);
}
#endif

static void
conv_tiles_generic(const conv_job *job)
{
    tiles8(job, 0, (size_t)job->cout);
}

static void
conv_run(const conv_job *job)
{
#if defined(__x86_64__)
    /* AVX-512 first: on cores with full-width 512-bit FMA units (AMD Zen 5,
     * Intel server parts) it doubles the multiply-adds per cycle. */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        conv_tiles_avx512(job);
        return;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        conv_tiles_avx2(job);
        return;
    }
#endif
    conv_tiles_generic(job);
}

int
face_conv_supported(int cout)
{
    return cout > 0 && cout % KERNEL_CHANNELS == 0;
}

int
face_conv_direct(const face_tensor *in, const float *filters, int k,
                 int cout, int stride, int pad_top, int pad_left, int out_h,
                 int out_w, const face_epilogue *ep, face_tensor *out)
{
    int need_h = (out_h - 1) * stride + k, need_w = (out_w - 1) * stride + k;
    float *padded = NULL;
    conv_job job;
    int y;

    memset(out, 0, sizeof(*out));
    if (!face_conv_supported(cout) || k <= 0 || stride <= 0 || out_h <= 0 ||
        out_w <= 0 || pad_top < 0 || pad_left < 0)
        return -1;
    if (face_tensor_alloc(out, out_h, out_w, cout) != 0)
        return -1;
    job.src = in->data;
    job.src_w = in->w;
    if (pad_top > 0 || pad_left > 0 || need_h > in->h || need_w > in->w) {
        size_t cin = (size_t)in->c, bytes;
        if (face_mul_size((size_t)need_h * (size_t)need_w, cin * sizeof(float),
                          &bytes) != 0 ||
            (padded = calloc(1, bytes)) == NULL) {
            face_tensor_free(out);
            return -1;
        }
        for (y = 0; y < in->h; y++) {
            int py = y + pad_top;
            int cols = in->w < need_w - pad_left ? in->w : need_w - pad_left;
            if (py >= need_h || cols <= 0)
                continue;
            memcpy(padded + ((size_t)py * need_w + (size_t)pad_left) * cin,
                   in->data + (size_t)y * in->w * cin,
                   (size_t)cols * cin * sizeof(float));
        }
        job.src = padded;
        job.src_w = need_w;
    }
    job.cin = in->c;
    job.k = k;
    job.stride = stride;
    job.filters = filters;
    job.cout = cout;
    job.out_h = out_h;
    job.out_w = out_w;
    job.ep = ep;
    job.dst = out->data;
    conv_run(&job);
    free(padded);
    return 0;
}
