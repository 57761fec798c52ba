/*
 * face_preprocess.c: builds a network input from an image region the way
 * face-api's NetInput.toBatchTensor does for tensors: pad to a square with
 * zeros, resize bilinearly (TF, align_corners=false, half_pixel=false),
 * subtract the per-channel mean and divide by 255. Also face-api's box
 * clipping.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

/* One axis of the resize: for each output index, the two source indices
 * in the region (-1 where they fall in the zero padding) and the lerp
 * weight, computed once per call instead of once per output pixel. */
typedef struct resize_tap {
    int lo, hi;
    float lerp;
} resize_tap;

static void
resize_taps(int size, int side, float ratio, int before, int extent,
            resize_tap *taps)
{
    int o;

    for (o = 0; o < size; o++) {
        float in = side == size ? (float)o : (float)o * ratio;
        int lo = (int)floorf(in), hi = (int)ceilf(in);
        if (hi > side - 1)
            hi = side - 1;
        lo -= before;
        hi -= before;
        taps[o].lo = lo >= 0 && lo < extent ? lo : -1;
        taps[o].hi = hi >= 0 && hi < extent ? hi : -1;
        taps[o].lerp = in - floorf(in);
    }
}

int
face_preprocess(const face_image *image, int x, int y, int w, int h,
                int size, int center, const float mean[3], face_tensor *out)
{
    static const uint8_t zeros[3] = {0, 0, 0};
    int side = w > h ? w : h;
    int diff = w > h ? w - h : h - w;
    int after = center ? (diff + 1) / 2 : diff;
    int before = diff - after;
    int before_x = w < h ? before : 0, before_y = h < w ? before : 0;
    float ratio = (float)side / (float)size;
    resize_tap *rows, *cols;
    float *means;
    size_t stride = (size_t)image->width * 3;
    int oy, ox, ch;

    if (w <= 0 || h <= 0 || x < 0 || y < 0 || x > image->width - w ||
        y > image->height - h || size <= 0)
        return -1;
    rows = malloc(2 * (size_t)size * sizeof(*rows));
    means = malloc((size_t)size * 3 * sizeof(*means));
    if (rows == NULL || means == NULL) {
        free(rows);
        free(means);
        return -1;
    }
    cols = rows + size;
    for (ox = 0; ox < size * 3; ox++)
        means[ox] = mean[ox % 3];
    if (face_tensor_alloc(out, size, size, 3) != 0) {
        free(rows);
        free(means);
        return -1;
    }
    resize_taps(size, side, ratio, before_y, h, rows);
    resize_taps(size, side, ratio, before_x, w, cols);
    for (oy = 0; oy < size; oy++) {
        /* Row pointers at the region's left edge; a padding row reads 0. */
        const uint8_t *top = rows[oy].lo < 0 ? NULL :
            image->rgb + (size_t)(y + rows[oy].lo) * stride + (size_t)x * 3;
        const uint8_t *bottom = rows[oy].hi < 0 ? NULL :
            image->rgb + (size_t)(y + rows[oy].hi) * stride + (size_t)x * 3;
        float y_lerp = rows[oy].lerp;
        float *dst = out->data + (size_t)oy * size * 3;
        for (ox = 0; ox < size; ox++, dst += 3) {
            const uint8_t *tl, *tr, *bl, *br;
            int l = cols[ox].lo, r = cols[ox].hi;
            float x_lerp = cols[ox].lerp;
            tl = top != NULL && l >= 0 ? top + (size_t)l * 3 : zeros;
            tr = top != NULL && r >= 0 ? top + (size_t)r * 3 : zeros;
            bl = bottom != NULL && l >= 0 ? bottom + (size_t)l * 3 : zeros;
            br = bottom != NULL && r >= 0 ? bottom + (size_t)r * 3 : zeros;
            /* the same operations, in the same order, as TF's resize */
            for (ch = 0; ch < 3; ch++) {
                float ftl = (float)tl[ch], ftr = (float)tr[ch];
                float fbl = (float)bl[ch], fbr = (float)br[ch];
                float t = ftl + (ftr - ftl) * x_lerp;
                float b = fbl + (fbr - fbl) * x_lerp;
                dst[ch] = t + (b - t) * y_lerp;
            }
        }
        /* (v - mean) / 255 over the row in a separate loop, which the
         * compiler vectorises (the divisions dominated the pixel loop) */
        dst = out->data + (size_t)oy * size * 3;
        for (ox = 0; ox < size * 3; ox++)
            dst[ox] = (dst[ox] - means[ox]) / 255.0f;
    }
    free(rows);
    free(means);
    return 0;
}

int
face_clip_box(double x, double y, double w, double h, int img_w, int img_h,
              int *cx, int *cy, int *cw, int *ch)
{
    double right = x + w, bottom = y + h;
    double clipped_x = x > 0.0 ? x : 0.0;
    double clipped_y = y > 0.0 ? y : 0.0;
    double new_w = right - clipped_x, new_h = bottom - clipped_y;
    double clipped_w = new_w < img_w - clipped_x ? new_w : img_w - clipped_x;
    double clipped_h = new_h < img_h - clipped_y ? new_h : img_h - clipped_y;
    double fx = floor(clipped_x), fy = floor(clipped_y);
    double fw = floor(clipped_w), fh = floor(clipped_h);

    if (!(fw >= 1.0) || !(fh >= 1.0) || !(fx < img_w) || !(fy < img_h))
        return -1;
    *cx = (int)fx;
    *cy = (int)fy;
    *cw = (int)fw;
    *ch = (int)fh;
    if (*cx + *cw > img_w)
        *cw = img_w - *cx;
    if (*cy + *ch > img_h)
        *ch = img_h - *cy;
    return 0;
}
