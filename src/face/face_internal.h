/*
 * face_internal.h: declarations shared by the files of src/face/ only
 * (tensors, weight tables, network ops and the three networks). Not part of
 * the public interface: include face.h from outside the module.
 */
#ifndef CYBERID_FACE_INTERNAL_H
#define CYBERID_FACE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "face/face.h"

/* ---- errors ---- */

/* Formats a message into (err, err_len) when err is not NULL; returns
 * status so that callers can write `return face_error(...)`. */
int face_error(char *err, size_t err_len, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Multiplies sizes; returns -1 on overflow, else 0 and *out. */
int face_mul_size(size_t a, size_t b, size_t *out);

/* ---- tensors: one NHWC image of float32, batch 1 ---- */

typedef struct face_tensor {
    int h;
    int w;
    int c;
    float *data; /* h*w*c floats, owned */
} face_tensor;

/* Allocates an uninitialised h x w x c tensor; 0 or -1 (overflow, NOMEM). */
int face_tensor_alloc(face_tensor *t, int h, int w, int c);
/* Same, zero-filled. */
int face_tensor_zeros(face_tensor *t, int h, int w, int c);
void face_tensor_free(face_tensor *t);
/* Frees dst and moves src into it (src is left empty). */
void face_tensor_move(face_tensor *dst, face_tensor *src);

/* ---- weights: named, dequantised tensors of one model ---- */

typedef struct face_weight {
    char *name;
    int dims;
    int shape[4];
    size_t count;
    float *values;
} face_weight;

typedef struct face_weights {
    face_weight *items;
    size_t count;
} face_weights;

/* Loads <dir>/<model>-weights_manifest.json and the .bin files it names,
 * dequantising uint8 tensors to float. Returns FACE_OK, FACE_ERR_MODEL or
 * FACE_ERR_NOMEM; on failure *weights is empty. */
int face_weights_load(face_weights *weights, const char *dir,
                      const char *model, char *err, size_t err_len);
void face_weights_free(face_weights *weights);
/* Finds a tensor by name and checks its shape (dims entries of shape);
 * returns its values or NULL with a FACE_ERR_MODEL message. */
const float *face_weights_get(const face_weights *weights, const char *name,
                              int dims, const int *shape, char *err,
                              size_t err_len);

/* ---- ops (face_conv.c); each returns 0 or -1 (out of memory) ---- */

/* TF 'same' padding: output size and padding before, for size n, kernel k,
 * stride s. */
void face_same_padding(int n, int k, int s, int *out, int *pad_before);

/* What is applied to each output value of a convolution as it is
 * stored, in this order: + bias[c] (when bias), * scale[c] + shift[c]
 * (when scale; shift then required), then the activation. */
enum { FACE_ACT_NONE = 0, FACE_ACT_RELU = 1, FACE_ACT_LEAKY = 2 };
typedef struct face_epilogue {
    const float *bias;
    const float *scale;
    const float *shift;
    int act; /* FACE_ACT_*; leaky is face-api's relu(x - 0.1x) + 0.1x */
} face_epilogue;

/* Conv2d with filters [k,k,cin,cout] (TF layout), stride, zero padding
 * pad_top/pad_left (bottom/right padding implied by out_h/out_w), then the
 * epilogue (ep not NULL). out is allocated. Uses the direct kernel when it
 * supports cout, else im2col + sgemm. */
int face_conv2d(const face_tensor *in, const float *filters, int k, int cout,
                int stride, int pad_top, int pad_left, int out_h, int out_w,
                const face_epilogue *ep, face_tensor *out);
/* Depthwise 3x3 with filters [3,3,c,1]; no bias. out is allocated. */
int face_depthwise3x3(const face_tensor *in, const float *filters, int stride,
                      int pad_top, int pad_left, int out_h, int out_w,
                      face_tensor *out);
/* Pointwise (1x1) conv with filters [cin,cout], then the epilogue. */
int face_pointwise(const face_tensor *in, const float *filters, int cout,
                   const face_epilogue *ep, face_tensor *out);
/* Applies the epilogue to every value of t (c channels). */
void face_apply_epilogue(face_tensor *t, const face_epilogue *ep);

/* ---- the direct convolution kernel (face_kernel.c) ---- */

/* 1 when face_conv_direct handles this many output channels. */
int face_conv_supported(int cout);
/* face_conv2d's contract, through the register-tiled direct kernel (AVX2
 * and FMA when the CPU has them). -1 when out of memory or cout is not
 * supported. Allocates its scratch per call: safe from many threads. */
int face_conv_direct(const face_tensor *in, const float *filters, int k,
                     int cout, int stride, int pad_top, int pad_left,
                     int out_h, int out_w, const face_epilogue *ep,
                     face_tensor *out);
/* Max pool k x k with stride; padding counts as -infinity. */
int face_maxpool(const face_tensor *in, int k, int stride, int pad_top,
                 int pad_left, int out_h, int out_w, face_tensor *out);
/* face_maxpool into out->h x out->w x in->c floats that the caller owns
 * (out->data may point into a larger tensor, e.g. one of its rows). */
void face_maxpool_into(const face_tensor *in, int k, int stride, int pad_top,
                       int pad_left, face_tensor *out);
/* Average pool k x k, stride, VALID. */
int face_avgpool_valid(const face_tensor *in, int k, int stride,
                       face_tensor *out);

void face_relu(face_tensor *t);
/* a += b (same shape) */
void face_add_inplace(face_tensor *a, const face_tensor *b);

/* ---- preprocessing (face_preprocess.c) ---- */

/* A crop of the image (x, y, w, h: integers inside the image), padded to a
 * square (centred when center, else at the bottom/right), resized
 * bilinearly to size x size (TF align_corners=false, half_pixel=false),
 * then (v - mean[c]) / 255. out is allocated. */
int face_preprocess(const face_image *image, int x, int y, int w, int h,
                    int size, int center, const float mean[3],
                    face_tensor *out);

/* face-api Box.clipAtImageBorders + floor; returns 0, or -1 when the
 * clipped box is empty. */
int face_clip_box(double x, double y, double w, double h, int img_w,
                  int img_h, int *cx, int *cy, int *cw, int *ch);

/* ---- networks ---- */

typedef struct face_detector_net {
    face_weights weights;
    const float *conv0_filters, *conv0_bias;
    const float *dw[5], *pw[5], *bias[5];
    const float *conv8_filters, *conv8_bias;
} face_detector_net;

typedef struct face_landmark_net {
    face_weights weights;
    const float *conv0_filters, *conv0_bias;        /* dense0/conv0 */
    const float *dw[3][3], *pw[3][3], *bias[3][3];  /* [block][conv] */
    const float *fc_weights, *fc_bias;
} face_landmark_net;

typedef struct face_rec_conv {
    const float *filters, *bias, *scale, *shift;
    int cin, cout, k;
} face_rec_conv;

typedef struct face_recognition_net {
    face_weights weights;
    face_rec_conv conv32_down;
    face_rec_conv blocks[14][2]; /* residual blocks in forward order */
    const float *fc;
} face_recognition_net;

struct face_engine {
    face_detector_net detector;
    face_landmark_net landmarks;
    face_recognition_net recognition;
};

int face_detector_load(face_detector_net *net, const char *dir, char *err,
                       size_t err_len);
/* Runs the detector; writes up to capacity boxes (best first, after NMS)
 * with scores, and the number found into *count. Landmarks are not set. */
int face_detector_run(const face_detector_net *net, const face_image *image,
                      face_detection *faces, size_t capacity, size_t *count);
/* Raw conv8 output [cells, cells, 25] for the golden test. */
int face_detector_forward(const face_detector_net *net,
                          const face_image *image, face_tensor *out);

int face_landmark_load(face_landmark_net *net, const char *dir, char *err,
                       size_t err_len);
/* Fills face->landmarks from face->box. Returns 0, 1 when the box does not
 * overlap the image (no landmarks), -1 when out of memory. */
int face_landmark_run(const face_landmark_net *net, const face_image *image,
                      face_detection *face);

int face_recognition_load(face_recognition_net *net, const char *dir,
                          char *err, size_t err_len);
/* Descriptor of the crop (x,y,w,h) of the image; 0 or -1 (out of memory). */
int face_recognition_run(const face_recognition_net *net,
                         const face_image *image, int x, int y, int w, int h,
                         float descriptor[FACE_DESCRIPTOR_DIMS]);
/* face-api's dlib-style aligned box from landmarks (crop_w, crop_h: size
 * of the detection crop the landmarks came from, which face-api uses as a bound),
 * clipped to the image and floored; returns 0, or -1 when empty. */
int face_align_box(const face_point landmarks[FACE_LANDMARK_POINTS],
                   int crop_w, int crop_h, int img_w, int img_h, int *x,
                   int *y, int *w, int *h);

#endif
