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
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

#define KERNEL_PIXELS 6
#define KERNEL_CHANNELS 16
#define KERNEL_LANES 8
#define KERNEL_LEAKY_ALPHA 0.1f

typedef float kvec __attribute__((vector_size(KERNEL_LANES * sizeof(float))));
typedef int kmask __attribute__((vector_size(KERNEL_LANES * sizeof(int))));

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

static inline __attribute__((always_inline)) kvec
kvec_load(const float *p)
{
    kvec v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline __attribute__((always_inline)) void
kvec_store(float *p, kvec v)
{
    memcpy(p, &v, sizeof(v));
}

/* v where v > 0, else 0 (NaN gives 0), as the scalar code's v > 0 ? v : 0 */
static inline __attribute__((always_inline)) kvec
kvec_relu(kvec v)
{
    kvec zero = {0};
    kmask keep = v > zero;

    return (kvec)((kmask)v & keep);
}

/* The epilogue on one vector of output channels starting at co. */
static inline __attribute__((always_inline)) kvec
epilogue(kvec v, const face_epilogue *ep, int co)
{
    if (ep->bias != NULL)
        v += kvec_load(ep->bias + co);
    if (ep->scale != NULL)
        v = v * kvec_load(ep->scale + co) + kvec_load(ep->shift + co);
    if (ep->act == FACE_ACT_RELU) {
        v = kvec_relu(v);
    } else if (ep->act == FACE_ACT_LEAKY) {
        /* face-api: relu(x - 0.1x) + 0.1x */
        kvec m = v * KERNEL_LEAKY_ALPHA;
        v = kvec_relu(v - m) + m;
    }
    return v;
}

static inline __attribute__((always_inline)) void
conv_tiles(const conv_job *job)
{
    const size_t row_floats = (size_t)job->src_w * job->cin;
    const size_t run = (size_t)job->k * job->cin;
    const size_t cout = (size_t)job->cout;
    const size_t pixels = (size_t)job->out_h * job->out_w;
    size_t co, m, j;
    int p, ky;

    for (co = 0; co < cout; co += KERNEL_CHANNELS) {
        for (m = 0; m < pixels; m += KERNEL_PIXELS) {
            const float *base[KERNEL_PIXELS];
            kvec acc[KERNEL_PIXELS][2];
            int valid = pixels - m < KERNEL_PIXELS ? (int)(pixels - m)
                                                   : KERNEL_PIXELS;
            for (p = 0; p < KERNEL_PIXELS; p++) {
                size_t at = m + (size_t)(p < valid ? p : 0);
                size_t oy = at / (size_t)job->out_w, ox = at % (size_t)job->out_w;
                base[p] = job->src + oy * job->stride * row_floats +
                          ox * job->stride * (size_t)job->cin;
                acc[p][0] = (kvec){0};
                acc[p][1] = (kvec){0};
            }
            for (ky = 0; ky < job->k; ky++) {
                const float *w = job->filters + (size_t)ky * run * cout + co;
                const size_t off = (size_t)ky * row_floats;
                const float *s0 = base[0] + off, *s1 = base[1] + off;
                const float *s2 = base[2] + off, *s3 = base[3] + off;
                const float *s4 = base[4] + off, *s5 = base[5] + off;
                for (j = 0; j < run; j++, w += cout) {
                    kvec w0 = kvec_load(w), w1 = kvec_load(w + KERNEL_LANES);
                    acc[0][0] += s0[j] * w0;
                    acc[0][1] += s0[j] * w1;
                    acc[1][0] += s1[j] * w0;
                    acc[1][1] += s1[j] * w1;
                    acc[2][0] += s2[j] * w0;
                    acc[2][1] += s2[j] * w1;
                    acc[3][0] += s3[j] * w0;
                    acc[3][1] += s3[j] * w1;
                    acc[4][0] += s4[j] * w0;
                    acc[4][1] += s4[j] * w1;
                    acc[5][0] += s5[j] * w0;
                    acc[5][1] += s5[j] * w1;
                }
            }
            for (p = 0; p < valid; p++) {
                float *out = job->dst + (m + (size_t)p) * cout + co;
                kvec_store(out, epilogue(acc[p][0], job->ep, (int)co));
                kvec_store(out + KERNEL_LANES,
                           epilogue(acc[p][1], job->ep, (int)co + KERNEL_LANES));
            }
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void
conv_tiles_avx2(const conv_job *job)
{
    conv_tiles(job);
}
#endif

static void
conv_tiles_generic(const conv_job *job)
{
    conv_tiles(job);
}

static void
conv_run(const conv_job *job)
{
#if defined(__x86_64__)
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
