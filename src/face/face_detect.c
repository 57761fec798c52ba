/*
 * face_detect.c: face-api's TinyFaceDetector: a 416x416 MobileNet-style
 * tiny YOLOv2 (conv0, five depthwise-separable blocks with max pooling,
 * conv8), box decoding against five anchors, and greedy non-maximum
 * suppression at IoU 0.4.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

#define DETECT_ANCHORS 5
#define DETECT_IOU 0.4
#define DETECT_MAX_CANDIDATES (13 * 13 * DETECT_ANCHORS)

static const float detector_mean[3] = {117.001f, 114.697f, 97.404f};
static const double anchors[DETECT_ANCHORS][2] = {
    {1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061},
    {4.266906, 5.178857}, {9.041765, 10.66308}};

typedef struct candidate {
    double x, y, w, h, score;
} candidate;

int
face_detector_load(face_detector_net *net, const char *dir, char *err,
                   size_t err_len)
{
    static const int channels[6] = {16, 32, 64, 128, 256, 512};
    char name[64];
    int status, i;
    const face_weights *w = &net->weights;

    memset(net, 0, sizeof(*net));
    status = face_weights_load(&net->weights, dir, "tiny_face_detector_model",
                               err, err_len);
    if (status != FACE_OK)
        return status;
    net->conv0_filters = face_weights_get(w, "conv0/filters", 4,
                                          (const int[]){3, 3, 3, 16}, err, err_len);
    net->conv0_bias = face_weights_get(w, "conv0/bias", 1, (const int[]){16},
                                       err, err_len);
    if (net->conv0_filters == NULL || net->conv0_bias == NULL)
        goto fail;
    for (i = 0; i < 5; i++) {
        int cin = channels[i], cout = channels[i + 1];
        snprintf(name, sizeof(name), "conv%d/depthwise_filter", i + 1);
        net->dw[i] = face_weights_get(w, name, 4, (const int[]){3, 3, cin, 1},
                                      err, err_len);
        snprintf(name, sizeof(name), "conv%d/pointwise_filter", i + 1);
        net->pw[i] = face_weights_get(w, name, 4,
                                      (const int[]){1, 1, cin, cout}, err, err_len);
        snprintf(name, sizeof(name), "conv%d/bias", i + 1);
        net->bias[i] = face_weights_get(w, name, 1, (const int[]){cout}, err,
                                        err_len);
        if (net->dw[i] == NULL || net->pw[i] == NULL || net->bias[i] == NULL)
            goto fail;
    }
    net->conv8_filters = face_weights_get(w, "conv8/filters", 4,
                                          (const int[]){1, 1, 512, 25}, err, err_len);
    net->conv8_bias = face_weights_get(w, "conv8/bias", 1, (const int[]){25},
                                       err, err_len);
    if (net->conv8_filters == NULL || net->conv8_bias == NULL)
        goto fail;
    return FACE_OK;
fail:
    face_weights_free(&net->weights);
    return FACE_ERR_MODEL;
}

/* Max pool 2x2 with TF 'same' padding and the given stride, in place. */
static int
pool_same(face_tensor *x, int stride)
{
    face_tensor out;
    int out_h, out_w, pad_top, pad_left;

    face_same_padding(x->h, 2, stride, &out_h, &pad_top);
    face_same_padding(x->w, 2, stride, &out_w, &pad_left);
    if (face_maxpool(x, 2, stride, pad_top, pad_left, out_h, out_w, &out) != 0)
        return -1;
    face_tensor_move(x, &out);
    return 0;
}

/*
 * An unpadded stride-1 k x k conv (VALID) and then the 2x2/2 'same' max
 * pool, computed two conv rows at a time: each band is pooled into its
 * output row while it is still in cache, instead of writing the whole conv
 * output (11 MB after conv0) and reading it back. Each value is computed
 * exactly as by face_conv2d and then face_maxpool on the whole tensor.
 */
static int
conv_pool2(const face_tensor *in, const float *filters, int k, int cout,
           const face_epilogue *ep, face_tensor *out)
{
    int conv_h = in->h - k + 1, conv_w = in->w - k + 1;
    int out_h, out_w, pad_top, pad_left, r;

    memset(out, 0, sizeof(*out));
    if (conv_h <= 0 || conv_w <= 0)
        return -1;
    face_same_padding(conv_h, 2, 2, &out_h, &pad_top);
    face_same_padding(conv_w, 2, 2, &out_w, &pad_left);
    /* k = 2, stride 2: the padding is at most one row, after */
    if (pad_top != 0 || face_tensor_alloc(out, out_h, out_w, cout) != 0)
        return -1;
    for (r = 0; r < out_h; r++) {
        int rows = conv_h - 2 * r < 2 ? conv_h - 2 * r : 2;
        face_tensor view = {rows + k - 1, in->w, in->c,
                            in->data + (size_t)2 * r * in->w * in->c};
        face_tensor band, row = {1, out_w, cout,
                                 out->data + (size_t)r * out_w * cout};
        if (face_conv2d(&view, filters, k, cout, 1, 0, 0, rows, conv_w, ep,
                        &band) != 0) {
            face_tensor_free(out);
            return -1;
        }
        face_maxpool_into(&band, 2, 2, 0, pad_left, &row);
        face_tensor_free(&band);
    }
    return 0;
}

int
face_detector_forward(const face_detector_net *net, const face_image *image,
                      face_tensor *out)
{
    face_tensor x = {0}, y = {0};
    face_epilogue ep = {NULL, NULL, NULL, FACE_ACT_LEAKY};
    face_epilogue last = {net->conv8_bias, NULL, NULL, FACE_ACT_NONE};
    int status = -1, i;

    memset(out, 0, sizeof(*out));
    if (face_preprocess(image, 0, 0, image->width, image->height,
                        FACE_DETECT_INPUT_SIZE, 0, detector_mean, &x) != 0)
        goto cleanup;
    /* conv0: 3x3 VALID, bias, leaky; max pool 2x2/2 */
    ep.bias = net->conv0_bias;
    if (conv_pool2(&x, net->conv0_filters, 3, 16, &ep, &y) != 0)
        goto cleanup;
    face_tensor_move(&x, &y);
    for (i = 0; i < 5; i++) {
        int cout = 32 << i;
        if (face_depthwise3x3(&x, net->dw[i], 1, 1, 1, x.h, x.w, &y) != 0)
            goto cleanup;
        face_tensor_move(&x, &y);
        ep.bias = net->bias[i];
        if (i < 4) {
            if (conv_pool2(&x, net->pw[i], 1, cout, &ep, &y) != 0)
                goto cleanup;
            face_tensor_move(&x, &y);
            continue;
        }
        if (face_pointwise(&x, net->pw[i], cout, &ep, &y) != 0)
            goto cleanup;
        face_tensor_move(&x, &y);
        if (pool_same(&x, i < 4 ? 2 : 1) != 0)
            goto cleanup;
    }
    if (face_pointwise(&x, net->conv8_filters, 25, &last, out) != 0)
        goto cleanup;
    status = 0;
cleanup:
    face_tensor_free(&x);
    face_tensor_free(&y);
    return status;
}

static double
sigmoid(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

static double
iou(const candidate *a, const candidate *b)
{
    double w = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
    double h = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
    double inter;

    w = w > 0.0 ? w : 0.0;
    h = h > 0.0 ? h : 0.0;
    inter = w * h;
    return inter / (a->w * a->h + b->w * b->h - inter);
}

static int
by_score_desc(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;

    return a->score < b->score ? 1 : a->score > b->score ? -1 : 0;
}

int
face_detector_run(const face_detector_net *net, const face_image *image,
                  face_detection *faces, size_t capacity, size_t *count)
{
    face_tensor raw = {0};
    candidate *cands = NULL;
    unsigned char *removed = NULL;
    size_t ncand = 0, found = 0, i, j;
    double scale, cfx, cfy;
    int cells, row, col, a, status = -1;
    int side = image->width > image->height ? image->width : image->height;

    *count = 0;
    if (face_detector_forward(net, image, &raw) != 0)
        goto cleanup;
    cells = raw.h;
    cands = calloc((size_t)cells * cells * DETECT_ANCHORS, sizeof(*cands));
    removed = calloc((size_t)cells * cells * DETECT_ANCHORS, 1);
    if (cands == NULL || removed == NULL)
        goto cleanup;
    /* face-api: reshaped dims (w, h) = round(W*s), round(H*s). */
    scale = (double)FACE_DETECT_INPUT_SIZE / side;
    cfx = FACE_DETECT_INPUT_SIZE / round(image->width * scale);
    cfy = FACE_DETECT_INPUT_SIZE / round(image->height * scale);
    for (row = 0; row < cells; row++)
        for (col = 0; col < cells; col++)
            for (a = 0; a < DETECT_ANCHORS; a++) {
                const float *v = raw.data +
                    ((size_t)row * cells + col) * raw.c + (size_t)a * 5;
                double score = sigmoid(v[4]), cx, cy, bw, bh;
                candidate *cand;
                if (!(score > FACE_DETECT_SCORE_THRESHOLD))
                    continue;
                cx = (col + sigmoid(v[0])) / cells * cfx;
                cy = (row + sigmoid(v[1])) / cells * cfy;
                bw = exp(v[2]) * anchors[a][0] / cells * cfx;
                bh = exp(v[3]) * anchors[a][1] / cells * cfy;
                cand = &cands[ncand++];
                cand->x = cx - bw / 2.0;
                cand->y = cy - bh / 2.0;
                cand->w = bw;
                cand->h = bh;
                cand->score = score;
            }
    /* Greedy NMS by score; boxes stay relative (IoU is scale-free). */
    qsort(cands, ncand, sizeof(*cands), by_score_desc);
    for (i = 0; i < ncand; i++) {
        if (removed[i])
            continue;
        if (found < capacity) {
            face_detection *face = &faces[found];
            memset(face, 0, sizeof(*face));
            face->score = (float)cands[i].score;
            face->box.x = (float)(cands[i].x * image->width);
            face->box.y = (float)(cands[i].y * image->height);
            face->box.width = (float)(cands[i].w * image->width);
            face->box.height = (float)(cands[i].h * image->height);
        }
        found++;
        for (j = i + 1; j < ncand; j++)
            if (!removed[j] && iou(&cands[i], &cands[j]) > DETECT_IOU)
                removed[j] = 1;
    }
    *count = found;
    status = 0;
cleanup:
    face_tensor_free(&raw);
    free(cands);
    free(removed);
    return status;
}
