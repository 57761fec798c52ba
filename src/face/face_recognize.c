/*
 * face_recognize.c: face-api's FaceRecognitionNet (the dlib ResNet: 7x7
 * stride-2 conv, max pool, 14 residual blocks with folded batch-norm
 * scales, global average, fully connected 256->128) and the dlib-style
 * alignment box it is fed with.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "face/face_internal.h"

#define RECOGNITION_INPUT 150
#define RECOGNITION_BLOCKS 14

static const float recognition_mean[3] = {122.782f, 117.001f, 104.298f};

/* Residual blocks in forward order; "down" blocks halve the size. */
static const struct {
    const char *name;
    int cin, cout, down;
} blocks[RECOGNITION_BLOCKS] = {
    {"conv32_1", 32, 32, 0},     {"conv32_2", 32, 32, 0},
    {"conv32_3", 32, 32, 0},     {"conv64_down", 32, 64, 1},
    {"conv64_1", 64, 64, 0},     {"conv64_2", 64, 64, 0},
    {"conv64_3", 64, 64, 0},     {"conv128_down", 64, 128, 1},
    {"conv128_1", 128, 128, 0},  {"conv128_2", 128, 128, 0},
    {"conv256_down", 128, 256, 1}, {"conv256_1", 256, 256, 0},
    {"conv256_2", 256, 256, 0},  {"conv256_down_out", 256, 256, 1},
};

static int
load_conv(const face_weights *w, face_rec_conv *conv, const char *prefix,
          int k, int cin, int cout, char *err, size_t err_len)
{
    char name[96];

    conv->k = k;
    conv->cin = cin;
    conv->cout = cout;
    snprintf(name, sizeof(name), "%s/conv/filters", prefix);
    conv->filters = face_weights_get(w, name, 4, (const int[]){k, k, cin, cout},
                                     err, err_len);
    snprintf(name, sizeof(name), "%s/conv/bias", prefix);
    conv->bias = face_weights_get(w, name, 1, (const int[]){cout}, err, err_len);
    snprintf(name, sizeof(name), "%s/scale/weights", prefix);
    conv->scale = face_weights_get(w, name, 1, (const int[]){cout}, err, err_len);
    snprintf(name, sizeof(name), "%s/scale/biases", prefix);
    conv->shift = face_weights_get(w, name, 1, (const int[]){cout}, err, err_len);
    if (conv->filters == NULL || conv->bias == NULL || conv->scale == NULL ||
        conv->shift == NULL)
        return -1;
    return 0;
}

int
face_recognition_load(face_recognition_net *net, const char *dir, char *err,
                      size_t err_len)
{
    char prefix[64];
    int status, b, c;

    memset(net, 0, sizeof(*net));
    status = face_weights_load(&net->weights, dir, "face_recognition_model",
                               err, err_len);
    if (status != FACE_OK)
        return status;
    if (load_conv(&net->weights, &net->conv32_down, "conv32_down", 7, 3, 32,
                  err, err_len) != 0)
        goto fail;
    for (b = 0; b < RECOGNITION_BLOCKS; b++) {
        for (c = 0; c < 2; c++) {
            snprintf(prefix, sizeof(prefix), "%s/conv%d", blocks[b].name, c + 1);
            if (load_conv(&net->weights, &net->blocks[b][c], prefix, 3,
                          c == 0 ? blocks[b].cin : blocks[b].cout,
                          blocks[b].cout, err, err_len) != 0)
                goto fail;
        }
    }
    net->fc = face_weights_get(&net->weights, "fc", 2, (const int[]){256, 128},
                               err, err_len);
    if (net->fc == NULL)
        goto fail;
    return FACE_OK;
fail:
    face_weights_free(&net->weights);
    return FACE_ERR_MODEL;
}

/* conv + bias, * scale + shift, optional relu; SAME stride 1, or VALID
 * with the given stride when valid. */
static int
conv_layer(const face_rec_conv *conv, const face_tensor *in, int stride,
           int valid, int relu, face_tensor *out)
{
    int out_h, out_w, pad_top = 0, pad_left = 0;
    face_epilogue ep = {conv->bias, conv->scale, conv->shift,
                        relu ? FACE_ACT_RELU : FACE_ACT_NONE};

    if (valid) {
        out_h = (in->h - conv->k) / stride + 1;
        out_w = (in->w - conv->k) / stride + 1;
    } else {
        face_same_padding(in->h, conv->k, stride, &out_h, &pad_top);
        face_same_padding(in->w, conv->k, stride, &out_w, &pad_left);
    }
    if (face_conv2d(in, conv->filters, conv->k, conv->cout, stride, pad_top,
                    pad_left, out_h, out_w, &ep, out) != 0)
        return -1;
    return 0;
}

/* residual: relu(convNoRelu(conv(x)) + x); residualDown: the main path
 * starts with a stride-2 VALID conv, the shortcut is a 2x2 average pool
 * padded with zero channels, and the main path gets a zero row and column
 * when its size falls short. */
static int
residual(const face_rec_conv convs[2], int down, face_tensor *x)
{
    face_tensor a = {0}, main_path = {0}, shortcut = {0};
    int status = -1, yy, xx, ch;

    if (conv_layer(&convs[0], x, down ? 2 : 1, down, 1, &a) != 0)
        goto cleanup;
    if (conv_layer(&convs[1], &a, 1, 0, 0, &main_path) != 0)
        goto cleanup;
    if (!down) {
        face_add_inplace(&main_path, x);
        face_relu(&main_path);
        face_tensor_move(x, &main_path);
        status = 0;
        goto cleanup;
    }
    if (face_avgpool_valid(x, 2, 2, &shortcut) != 0)
        goto cleanup;
    if (shortcut.h < main_path.h || shortcut.w < main_path.w ||
        shortcut.c > main_path.c)
        goto cleanup;
    /* out = relu(pooled (zero channels appended) + main (zero padded)) */
    face_tensor_free(&a);
    if (face_tensor_zeros(&a, shortcut.h, shortcut.w, main_path.c) != 0)
        goto cleanup;
    for (yy = 0; yy < a.h; yy++)
        for (xx = 0; xx < a.w; xx++) {
            float *dst = a.data + ((size_t)yy * a.w + xx) * a.c;
            const float *sc = shortcut.data +
                ((size_t)yy * shortcut.w + xx) * shortcut.c;
            for (ch = 0; ch < shortcut.c; ch++)
                dst[ch] = sc[ch];
            if (yy < main_path.h && xx < main_path.w) {
                const float *m = main_path.data +
                    ((size_t)yy * main_path.w + xx) * main_path.c;
                for (ch = 0; ch < a.c; ch++)
                    dst[ch] += m[ch];
            }
        }
    face_relu(&a);
    face_tensor_move(x, &a);
    status = 0;
cleanup:
    face_tensor_free(&a);
    face_tensor_free(&main_path);
    face_tensor_free(&shortcut);
    return status;
}

int
face_recognition_run(const face_recognition_net *net, const face_image *image,
                     int x0, int y0, int w, int h,
                     float descriptor[FACE_DESCRIPTOR_DIMS])
{
    face_tensor x = {0}, y = {0};
    float mean[256];
    int status = -1, b, i, o;
    size_t p, n;

    if (face_preprocess(image, x0, y0, w, h, RECOGNITION_INPUT, 1,
                        recognition_mean, &x) != 0)
        goto cleanup;
    if (conv_layer(&net->conv32_down, &x, 2, 1, 1, &y) != 0)
        goto cleanup;
    face_tensor_move(&x, &y);
    if (face_maxpool(&x, 3, 2, 0, 0, (x.h - 3) / 2 + 1, (x.w - 3) / 2 + 1,
                     &y) != 0)
        goto cleanup;
    face_tensor_move(&x, &y);
    for (b = 0; b < RECOGNITION_BLOCKS; b++)
        if (residual(net->blocks[b], blocks[b].down, &x) != 0)
            goto cleanup;
    if (x.c != 256)
        goto cleanup;
    n = (size_t)x.h * x.w;
    for (i = 0; i < 256; i++) {
        float acc = 0.0f;
        for (p = 0; p < n; p++)
            acc += x.data[p * 256 + i];
        mean[i] = acc / (float)n;
    }
    for (o = 0; o < FACE_DESCRIPTOR_DIMS; o++) {
        float acc = 0.0f;
        for (i = 0; i < 256; i++)
            acc += mean[i] * net->fc[(size_t)i * FACE_DESCRIPTOR_DIMS + o];
        descriptor[o] = acc;
    }
    status = 0;
cleanup:
    face_tensor_free(&x);
    face_tensor_free(&y);
    return status;
}

static void
center_of(const face_point *points, int from, int to, double *cx, double *cy)
{
    double sx = 0.0, sy = 0.0;
    int i;

    for (i = from; i < to; i++) {
        sx += points[i].x;
        sy += points[i].y;
    }
    *cx = sx / (to - from);
    *cy = sy / (to - from);
}

int
face_align_box(const face_point landmarks[FACE_LANDMARK_POINTS], int crop_w,
               int crop_h, int img_w, int img_h, int *x, int *y, int *w, int *h)
{
    double lx, ly, rx, ry, mx, my, dist, size, refx, refy, bx, by;

    center_of(landmarks, 36, 42, &lx, &ly);
    center_of(landmarks, 42, 48, &rx, &ry);
    center_of(landmarks, 48, 68, &mx, &my);
    dist = (sqrt((mx - lx) * (mx - lx) + (my - ly) * (my - ly)) +
            sqrt((mx - rx) * (mx - rx) + (my - ry) * (my - ry))) / 2.0;
    size = floor(dist / 0.45);
    refx = (lx + rx + mx) / 3.0;
    refy = (ly + ry + my) / 3.0;
    bx = floor(fmax(0.0, refx - 0.5 * size));
    by = floor(fmax(0.0, refy - 0.43 * size));
    /* face-api: Rect(x, y, min(size, imageWidth + x), min(size,
     * imageHeight + y)) with the landmarks' image = the detection crop. */
    return face_clip_box(bx, by, fmin(size, crop_w + bx), fmin(size, crop_h + by),
                         img_w, img_h,
                         x, y, w, h);
}
