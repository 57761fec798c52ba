/*
 * face_conv.c: the network operations on NHWC float tensors: convolution
 * (im2col + OpenBLAS sgemm), depthwise 3x3, pointwise, pooling and the
 * element-wise steps, with TF's padding conventions.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

void
face_same_padding(int n, int k, int s, int *out, int *pad_before)
{
    int o = (n + s - 1) / s;
    int total = (o - 1) * s + k - n;

    if (total < 0)
        total = 0;
    *out = o;
    *pad_before = total / 2;
}

int
face_pointwise(const face_tensor *in, const float *filters, int cout,
               const face_epilogue *ep, face_tensor *out)
{
    return face_conv2d(in, filters, 1, cout, 1, 0, 0, in->h, in->w, ep, out);
}

/* The fallback for channel counts the direct kernel does not take: im2col
 * (skipped for an unpadded 1x1) + sgemm, then the epilogue. */
static int
conv2d_sgemm(const face_tensor *in, const float *filters, int k, int cout,
             int stride, int pad_top, int pad_left, int out_h, int out_w,
             const face_epilogue *ep, face_tensor *out)
{
    size_t rows = (size_t)out_h * (size_t)out_w;
    size_t cols = (size_t)k * (size_t)k * (size_t)in->c;
    size_t bytes;
    float *cells = NULL;
    const float *a = in->data;
    int oy, ox, ky, kx;

    if (!(k == 1 && stride == 1 && pad_top == 0 && pad_left == 0 &&
          out_h == in->h && out_w == in->w)) {
        if (face_mul_size(rows, cols, &bytes) != 0 ||
            face_mul_size(bytes, sizeof(float), &bytes) != 0)
            return -1;
        cells = malloc(bytes);
        if (cells == NULL)
            return -1;
        for (oy = 0; oy < out_h; oy++) {
            for (ox = 0; ox < out_w; ox++) {
                float *row = cells + ((size_t)oy * out_w + ox) * cols;
                for (ky = 0; ky < k; ky++) {
                    int iy = oy * stride + ky - pad_top;
                    for (kx = 0; kx < k; kx++) {
                        int ix = ox * stride + kx - pad_left;
                        float *dst = row + ((size_t)ky * k + kx) * in->c;
                        if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w)
                            memset(dst, 0, (size_t)in->c * sizeof(float));
                        else
                            memcpy(dst, in->data +
                                   ((size_t)iy * in->w + ix) * in->c,
                                   (size_t)in->c * sizeof(float));
                    }
                }
            }
        }
        a = cells;
    }
    if (face_tensor_alloc(out, out_h, out_w, cout) != 0) {
        free(cells);
        return -1;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, cout,
                (int)cols, 1.0f, a, (int)cols, filters, cout, 0.0f,
                out->data, cout);
    free(cells);
    face_apply_epilogue(out, ep);
    return 0;
}

int
face_conv2d(const face_tensor *in, const float *filters, int k, int cout,
            int stride, int pad_top, int pad_left, int out_h, int out_w,
            const face_epilogue *ep, face_tensor *out)
{
    memset(out, 0, sizeof(*out));
    if (face_conv_supported(cout))
        return face_conv_direct(in, filters, k, cout, stride, pad_top,
                                pad_left, out_h, out_w, ep, out);
    return conv2d_sgemm(in, filters, k, cout, stride, pad_top, pad_left,
                        out_h, out_w, ep, out);
}

/* 8 floats: the depthwise loop's unit of channels. */
typedef float dw_vec __attribute__((vector_size(8 * sizeof(float))));
typedef int dw_mask __attribute__((vector_size(8 * sizeof(int))));

/* One output pixel of the depthwise 3x3 with all nine taps inside the
 * input, c a multiple of 8: per group of 8 channels, one accumulator from
 * zero adding the nine products in the order ky, kx, as a separate
 * multiply and add (no FMA: the targets below do not enable it), which is
 * exactly the bordered loop's sum. */
static inline __attribute__((always_inline)) void
dw_pixel(const float *src, size_t row, size_t c, const float *filters,
         float *dst)
{
    size_t ch;
    int ky, kx;

    for (ch = 0; ch < c; ch += 8) {
        dw_vec acc = {0};
        for (ky = 0; ky < 3; ky++)
            for (kx = 0; kx < 3; kx++) {
                dw_vec a, f;
                memcpy(&a, src + ky * row + (size_t)kx * c + ch, sizeof(a));
                memcpy(&f, filters + (size_t)(ky * 3 + kx) * c + ch, sizeof(f));
                acc += a * f;
            }
        memcpy(dst + ch, &acc, sizeof(acc));
    }
}

/* One output pixel with taps off the input skipped (TF's zero padding);
 * also any channel count. */
static void
dw_pixel_border(const face_tensor *in, const float *filters, int stride,
                int pad_top, int pad_left, int oy, int ox, float *restrict acc)
{
    int c = in->c, ky, kx, ch;

    memset(acc, 0, (size_t)c * sizeof(float));
    for (ky = 0; ky < 3; ky++) {
        int iy = oy * stride + ky - pad_top;
        if (iy < 0 || iy >= in->h)
            continue;
        for (kx = 0; kx < 3; kx++) {
            int ix = ox * stride + kx - pad_left;
            const float *restrict src;
            const float *restrict f;
            if (ix < 0 || ix >= in->w)
                continue;
            src = in->data + ((size_t)iy * in->w + ix) * c;
            f = filters + (size_t)(ky * 3 + kx) * c;
            for (ch = 0; ch < c; ch++)
                acc[ch] += src[ch] * f[ch];
        }
    }
}

static inline __attribute__((always_inline)) void
dw_rows(const face_tensor *in, const float *filters, int stride, int pad_top,
        int pad_left, int out_h, int out_w, face_tensor *out)
{
    size_t c = (size_t)in->c, row = (size_t)in->w * c;
    int oy, ox;
    /* outputs [x_from, x_to) have all three columns inside the input */
    int x_from = (pad_left + stride - 1) / stride;
    int x_to = in->w - 3 + pad_left >= 0 ? (in->w - 3 + pad_left) / stride + 1 : 0;

    if (x_to > out_w)
        x_to = out_w;
    if (c % 8 != 0 || x_from > x_to)
        x_from = x_to = 0;
    for (oy = 0; oy < out_h; oy++) {
        int iy = oy * stride - pad_top;
        int inside = iy >= 0 && iy + 3 <= in->h;
        float *dst = out->data + (size_t)oy * out_w * c;
        for (ox = 0; ox < out_w; ox++) {
            if (inside && ox >= x_from && ox < x_to)
                dw_pixel(in->data + (size_t)iy * row +
                         ((size_t)ox * stride - pad_left) * c,
                         row, c, filters, dst + (size_t)ox * c);
            else
                dw_pixel_border(in, filters, stride, pad_top, pad_left, oy,
                                ox, dst + (size_t)ox * c);
        }
    }
}

#if defined(__x86_64__)
/* AVX2 without FMA, so that the sums round as on the baseline target. */
__attribute__((target("avx2"))) static void
dw_rows_avx2(const face_tensor *in, const float *filters, int stride,
             int pad_top, int pad_left, int out_h, int out_w, face_tensor *out)
{
    dw_rows(in, filters, stride, pad_top, pad_left, out_h, out_w, out);
}
#endif

static void
dw_rows_generic(const face_tensor *in, const float *filters, int stride,
                int pad_top, int pad_left, int out_h, int out_w,
                face_tensor *out)
{
    dw_rows(in, filters, stride, pad_top, pad_left, out_h, out_w, out);
}

int
face_depthwise3x3(const face_tensor *in, const float *filters, int stride,
                  int pad_top, int pad_left, int out_h, int out_w,
                  face_tensor *out)
{
    if (face_tensor_alloc(out, out_h, out_w, in->c) != 0)
        return -1;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) {
        dw_rows_avx2(in, filters, stride, pad_top, pad_left, out_h, out_w,
                     out);
        return 0;
    }
#endif
    dw_rows_generic(in, filters, stride, pad_top, pad_left, out_h, out_w, out);
    return 0;
}

/* One output pixel of a k x k max pool, taps off the input skipped. The
 * update "s > d ? s : d" from -inf, in the order ky, kx, is kept in every
 * path (it fixes which value wins when an input is NaN). */
static void
pool_pixel_border(const face_tensor *in, int k, int stride, int pad_top,
                  int pad_left, int oy, int ox, float *restrict dst)
{
    int c = in->c, ky, kx, ch;

    for (ch = 0; ch < c; ch++)
        dst[ch] = -INFINITY;
    for (ky = 0; ky < k; ky++) {
        int iy = oy * stride + ky - pad_top;
        if (iy < 0 || iy >= in->h)
            continue;
        for (kx = 0; kx < k; kx++) {
            int ix = ox * stride + kx - pad_left;
            const float *restrict src;
            if (ix < 0 || ix >= in->w)
                continue;
            src = in->data + ((size_t)iy * in->w + ix) * c;
            /* branch-free: same as if (src > dst) dst = src */
            for (ch = 0; ch < c; ch++)
                dst[ch] = src[ch] > dst[ch] ? src[ch] : dst[ch];
        }
    }
}

static inline __attribute__((always_inline)) void
pool_rows(const face_tensor *in, int k, int stride, int pad_top, int pad_left,
          int out_h, int out_w, face_tensor *out)
{
    size_t c = (size_t)in->c, row = (size_t)in->w * c, ch;
    int oy, ox, ky, kx;
    /* outputs [x_from, x_to) have all k columns inside the input */
    int x_from = (pad_left + stride - 1) / stride;
    int x_to = in->w - k + pad_left >= 0 ? (in->w - k + pad_left) / stride + 1 : 0;

    if (x_to > out_w)
        x_to = out_w;
    if (c % 8 != 0 || x_from > x_to)
        x_from = x_to = 0;
    for (oy = 0; oy < out_h; oy++) {
        int iy = oy * stride - pad_top;
        int inside = iy >= 0 && iy + k <= in->h;
        float *dst = out->data + (size_t)oy * out_w * c;
        for (ox = 0; ox < out_w; ox++) {
            const float *src;
            if (!(inside && ox >= x_from && ox < x_to)) {
                pool_pixel_border(in, k, stride, pad_top, pad_left, oy, ox,
                                  dst + (size_t)ox * c);
                continue;
            }
            src = in->data + (size_t)iy * row + ((size_t)ox * stride - pad_left) * c;
            for (ch = 0; ch < c; ch += 8) {
                dw_vec d = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                            -INFINITY, -INFINITY, -INFINITY, -INFINITY};
                for (ky = 0; ky < k; ky++)
                    for (kx = 0; kx < k; kx++) {
                        dw_vec v;
                        memcpy(&v, src + ky * row + (size_t)kx * c + ch,
                               sizeof(v));
                        dw_mask take = v > d;
                        d = (dw_vec)(((dw_mask)v & take) | ((dw_mask)d & ~take));
                    }
                memcpy(dst + (size_t)ox * c + ch, &d, sizeof(d));
            }
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void
pool_rows_avx2(const face_tensor *in, int k, int stride, int pad_top,
               int pad_left, int out_h, int out_w, face_tensor *out)
{
    pool_rows(in, k, stride, pad_top, pad_left, out_h, out_w, out);
}
#endif

static void
pool_rows_generic(const face_tensor *in, int k, int stride, int pad_top,
                  int pad_left, int out_h, int out_w, face_tensor *out)
{
    pool_rows(in, k, stride, pad_top, pad_left, out_h, out_w, out);
}

void
face_maxpool_into(const face_tensor *in, int k, int stride, int pad_top,
                  int pad_left, face_tensor *out)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) {
        pool_rows_avx2(in, k, stride, pad_top, pad_left, out->h, out->w, out);
        return;
    }
#endif
    pool_rows_generic(in, k, stride, pad_top, pad_left, out->h, out->w, out);
}

int
face_maxpool(const face_tensor *in, int k, int stride, int pad_top,
             int pad_left, int out_h, int out_w, face_tensor *out)
{
    if (face_tensor_alloc(out, out_h, out_w, in->c) != 0)
        return -1;
    face_maxpool_into(in, k, stride, pad_top, pad_left, out);
    return 0;
}

int
face_avgpool_valid(const face_tensor *in, int k, int stride, face_tensor *out)
{
    int c = in->c, oy, ox, ky, kx, ch;
    int out_h = (in->h - k) / stride + 1, out_w = (in->w - k) / stride + 1;
    float inv = 1.0f / (float)(k * k);

    if (in->h < k || in->w < k ||
        face_tensor_alloc(out, out_h, out_w, c) != 0)
        return -1;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox++) {
            float *dst = out->data + ((size_t)oy * out_w + ox) * c;
            memset(dst, 0, (size_t)c * sizeof(float));
            for (ky = 0; ky < k; ky++)
                for (kx = 0; kx < k; kx++) {
                    const float *src = in->data +
                        ((size_t)(oy * stride + ky) * in->w + ox * stride + kx) * c;
                    for (ch = 0; ch < c; ch++)
                        dst[ch] += src[ch];
                }
            for (ch = 0; ch < c; ch++)
                dst[ch] *= inv;
        }
    }
    return 0;
}

void
face_apply_epilogue(face_tensor *t, const face_epilogue *ep)
{
    size_t n = (size_t)t->h * t->w, i;
    int c = t->c, ch;

    for (i = 0; i < n; i++) {
        float *restrict px = t->data + i * (size_t)c;
        for (ch = 0; ch < c; ch++) {
            float v = px[ch];
            if (ep->bias != NULL)
                v += ep->bias[ch];
            if (ep->scale != NULL)
                v = v * ep->scale[ch] + ep->shift[ch];
            if (ep->act == FACE_ACT_RELU) {
                v = v > 0.0f ? v : 0.0f;
            } else if (ep->act == FACE_ACT_LEAKY) {
                float m = v * 0.1f, d = v - m;
                v = (d > 0.0f ? d : 0.0f) + m;
            }
            px[ch] = v;
        }
    }
}

void
face_relu(face_tensor *t)
{
    size_t n = (size_t)t->h * t->w * t->c, i;
    float *restrict d = t->data;

    for (i = 0; i < n; i++)
        d[i] = d[i] > 0.0f ? d[i] : 0.0f;
}

void
face_add_inplace(face_tensor *a, const face_tensor *b)
{
    size_t n = (size_t)a->h * a->w * a->c, i;

    for (i = 0; i < n; i++)
        a->data[i] += b->data[i];
}
