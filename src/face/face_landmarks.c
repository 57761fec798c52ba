/*
 * face_landmarks.c: face-api's FaceLandmark68TinyNet (three dense blocks of
 * depthwise-separable convolutions, average pool, fully connected 128->136)
 * run on the detection crop, and its post-processing to image pixels.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "face/face_internal.h"

#define LANDMARK_INPUT 112

static const float landmark_mean[3] = {122.782f, 117.001f, 104.298f};

int
face_landmark_load(face_landmark_net *net, const char *dir, char *err,
                   size_t err_len)
{
    static const int channels[4] = {3, 32, 64, 128};
    const face_weights *w = &net->weights;
    char name[64];
    int status, b, c;

    memset(net, 0, sizeof(*net));
    status = face_weights_load(&net->weights, dir, "face_landmark_68_tiny_model",
                               err, err_len);
    if (status != FACE_OK)
        return status;
    net->conv0_filters = face_weights_get(w, "dense0/conv0/filters", 4,
                                          (const int[]){3, 3, 3, 32}, err, err_len);
    net->conv0_bias = face_weights_get(w, "dense0/conv0/bias", 1,
                                       (const int[]){32}, err, err_len);
    if (net->conv0_filters == NULL || net->conv0_bias == NULL)
        goto fail;
    for (b = 0; b < 3; b++) {
        for (c = 0; c < 3; c++) {
            int cin = c == 0 ? channels[b] : channels[b + 1];
            int cout = channels[b + 1];
            if (b == 0 && c == 0)
                continue;
            snprintf(name, sizeof(name), "dense%d/conv%d/depthwise_filter", b, c);
            net->dw[b][c] = face_weights_get(w, name, 4,
                                             (const int[]){3, 3, cin, 1}, err, err_len);
            snprintf(name, sizeof(name), "dense%d/conv%d/pointwise_filter", b, c);
            net->pw[b][c] = face_weights_get(w, name, 4,
                                             (const int[]){1, 1, cin, cout}, err, err_len);
            snprintf(name, sizeof(name), "dense%d/conv%d/bias", b, c);
            net->bias[b][c] = face_weights_get(w, name, 1, (const int[]){cout},
                                               err, err_len);
            if (net->dw[b][c] == NULL || net->pw[b][c] == NULL ||
                net->bias[b][c] == NULL)
                goto fail;
        }
    }
    net->fc_weights = face_weights_get(w, "fc/weights", 2,
                                       (const int[]){128, 136}, err, err_len);
    net->fc_bias = face_weights_get(w, "fc/bias", 1, (const int[]){136}, err,
                                    err_len);
    if (net->fc_weights == NULL || net->fc_bias == NULL)
        goto fail;
    return FACE_OK;
fail:
    face_weights_free(&net->weights);
    return FACE_ERR_MODEL;
}

/* separableConv2d SAME with stride, then + bias (no activation). */
static int
separable(const face_tensor *in, const float *dw, const float *pw,
          const float *bias, int cout, int stride, face_tensor *out)
{
    face_tensor mid;
    face_epilogue ep = {bias, NULL, NULL, FACE_ACT_NONE};
    int out_h, out_w, pad_top, pad_left, status;

    face_same_padding(in->h, 3, stride, &out_h, &pad_top);
    face_same_padding(in->w, 3, stride, &out_w, &pad_left);
    if (face_depthwise3x3(in, dw, stride, pad_top, pad_left, out_h, out_w,
                          &mid) != 0)
        return -1;
    status = face_pointwise(&mid, pw, cout, &ep, out);
    face_tensor_free(&mid);
    return status;
}

/* denseBlock3: out1 = relu(conv0(x)); out2 = sep(out1);
 * out3 = sep(relu(out1 + out2)); return relu(out1 + out2 + out3). */
static int
dense_block(const face_landmark_net *net, int b, const face_tensor *x,
            int cout, face_tensor *result)
{
    face_tensor out1 = {0}, out2 = {0}, in3 = {0}, out3 = {0};
    face_epilogue ep = {net->conv0_bias, NULL, NULL, FACE_ACT_RELU};
    int status = -1, out_h, out_w, pad_top, pad_left;
    size_t n, i;

    memset(result, 0, sizeof(*result));
    if (b == 0) {
        face_same_padding(x->h, 3, 2, &out_h, &pad_top);
        face_same_padding(x->w, 3, 2, &out_w, &pad_left);
        if (face_conv2d(x, net->conv0_filters, 3, cout, 2, pad_top, pad_left,
                        out_h, out_w, &ep, &out1) != 0)
            goto cleanup;
    } else {
        if (separable(x, net->dw[b][0], net->pw[b][0], net->bias[b][0],
                      cout, 2, &out1) != 0)
            goto cleanup;
        face_relu(&out1);
    }
    if (separable(&out1, net->dw[b][1], net->pw[b][1], net->bias[b][1], cout,
                  1, &out2) != 0)
        goto cleanup;
    if (face_tensor_alloc(&in3, out1.h, out1.w, out1.c) != 0)
        goto cleanup;
    n = (size_t)out1.h * out1.w * out1.c;
    for (i = 0; i < n; i++) {
        float v = out1.data[i] + out2.data[i];
        in3.data[i] = v > 0.0f ? v : 0.0f;
    }
    if (separable(&in3, net->dw[b][2], net->pw[b][2], net->bias[b][2], cout,
                  1, &out3) != 0)
        goto cleanup;
    /* tf.add(out1, tf.add(out2, out3)) */
    for (i = 0; i < n; i++) {
        float v = out1.data[i] + (out2.data[i] + out3.data[i]);
        out3.data[i] = v > 0.0f ? v : 0.0f;
    }
    face_tensor_move(result, &out3);
    status = 0;
cleanup:
    face_tensor_free(&out1);
    face_tensor_free(&out2);
    face_tensor_free(&in3);
    face_tensor_free(&out3);
    return status;
}

int
face_landmark_run(const face_landmark_net *net, const face_image *image,
                  face_detection *face)
{
    face_tensor x = {0}, y = {0};
    float pooled[128], fc[136];
    int cx, cy, cw, ch, status = -1, b, i, o;
    double s, in_w, in_h, pad_x, pad_y;

    if (face_clip_box(face->box.x, face->box.y, face->box.width,
                      face->box.height, image->width, image->height, &cx, &cy,
                      &cw, &ch) != 0)
        return 1;
    if (face_preprocess(image, cx, cy, cw, ch, LANDMARK_INPUT, 1,
                        landmark_mean, &x) != 0)
        goto cleanup;
    for (b = 0; b < 3; b++) {
        if (dense_block(net, b, &x, 32 << b, &y) != 0)
            goto cleanup;
        face_tensor_move(&x, &y);
    }
    /* avgPool 14x14 stride 2 VALID on 14x14 -> 1x1x128 */
    if (x.h != 14 || x.w != 14 || x.c != 128)
        goto cleanup;
    if (face_avgpool_valid(&x, 14, 2, &y) != 0)
        goto cleanup;
    memcpy(pooled, y.data, sizeof(pooled));
    for (o = 0; o < 136; o++) {
        float acc = 0.0f;
        for (i = 0; i < 128; i++)
            acc += pooled[i] * net->fc_weights[(size_t)i * 136 + o];
        fc[o] = acc + net->fc_bias[o];
    }
    /* postProcess: back to the crop, then shift by the unfloored box. */
    s = (double)LANDMARK_INPUT / (cw > ch ? cw : ch);
    in_w = cw * s;
    in_h = ch * s;
    pad_x = in_w < in_h ? fabs(in_w - in_h) / 2.0 : 0.0;
    pad_y = in_h < in_w ? fabs(in_w - in_h) / 2.0 : 0.0;
    for (i = 0; i < FACE_LANDMARK_POINTS; i++) {
        float rx = (fc[2 * i] * (float)LANDMARK_INPUT - (float)pad_x) / (float)in_w;
        float ry = (fc[2 * i + 1] * (float)LANDMARK_INPUT - (float)pad_y) / (float)in_h;
        face->landmarks[i].x = (float)((double)rx * cw + face->box.x);
        face->landmarks[i].y = (float)((double)ry * ch + face->box.y);
    }
    status = 0;
cleanup:
    face_tensor_free(&x);
    face_tensor_free(&y);
    return status;
}
