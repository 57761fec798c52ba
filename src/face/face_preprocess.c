/*
 * face_preprocess.c: builds a network input from an image region the way
 * face-api's NetInput.toBatchTensor does for tensors: pad to a square with
 * zeros, resize bilinearly (TF, align_corners=false, half_pixel=false),
 * subtract the per-channel mean and divide by 255. Also face-api's box
 * clipping.
 */
#include <math.h>
#include <string.h>

#include "face/face_internal.h"

/* One channel of the padded square at (py, px): zero outside the region. */
static float
padded_pixel(const face_image *image, int x, int y, int w, int h,
             int before_x, int before_y, int py, int px, int ch)
{
    int iy = py - before_y, ix = px - before_x;

    if (iy < 0 || iy >= h || ix < 0 || ix >= w)
        return 0.0f;
    return (float)image->rgb[((size_t)(y + iy) * (size_t)image->width +
                              (size_t)(x + ix)) * 3 + (size_t)ch];
}

int
face_preprocess(const face_image *image, int x, int y, int w, int h,
                int size, int center, const float mean[3], face_tensor *out)
{
    int side = w > h ? w : h;
    int diff = w > h ? w - h : h - w;
    int after = center ? (diff + 1) / 2 : diff;
    int before = diff - after;
    int before_x = w < h ? before : 0, before_y = h < w ? before : 0;
    float ratio = (float)side / (float)size;
    int oy, ox, ch;

    if (w <= 0 || h <= 0 || x < 0 || y < 0 || x > image->width - w ||
        y > image->height - h)
        return -1;
    if (face_tensor_alloc(out, size, size, 3) != 0)
        return -1;
    for (oy = 0; oy < size; oy++) {
        float in_y = side == size ? (float)oy : (float)oy * ratio;
        int top = (int)floorf(in_y);
        int bottom = (int)ceilf(in_y);
        float y_lerp = in_y - (float)top;
        if (bottom > side - 1)
            bottom = side - 1;
        for (ox = 0; ox < size; ox++) {
            float in_x = side == size ? (float)ox : (float)ox * ratio;
            int left = (int)floorf(in_x);
            int right = (int)ceilf(in_x);
            float x_lerp = in_x - (float)left;
            float *dst = out->data + ((size_t)oy * size + ox) * 3;
            if (right > side - 1)
                right = side - 1;
            for (ch = 0; ch < 3; ch++) {
                float tl = padded_pixel(image, x, y, w, h, before_x, before_y,
                                        top, left, ch);
                float tr = padded_pixel(image, x, y, w, h, before_x, before_y,
                                        top, right, ch);
                float bl = padded_pixel(image, x, y, w, h, before_x, before_y,
                                        bottom, left, ch);
                float br = padded_pixel(image, x, y, w, h, before_x, before_y,
                                        bottom, right, ch);
                float t = tl + (tr - tl) * x_lerp;
                float b = bl + (br - bl) * x_lerp;
                float v = t + (b - t) * y_lerp;
                dst[ch] = (v - mean[ch]) / 255.0f;
            }
        }
    }
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
