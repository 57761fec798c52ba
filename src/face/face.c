/*
 * face.c: the public face engine API (face.h): engine loading, detection
 * with landmarks, single-face descriptors, distance and verification.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

/* The detector's grid at 416 is 13x13 cells of 5 anchors. */
#define FACE_MAX_CANDIDATES (13 * 13 * 5)

const char *
face_status_code(int status)
{
    switch (status) {
    case FACE_OK: return "ok";
    case FACE_ERR_ARGUMENT: return "invalid_argument";
    case FACE_ERR_NOMEM: return "out_of_memory";
    case FACE_ERR_MODEL: return "model_error";
    case FACE_ERR_IMAGE_FORMAT: return "unsupported_image_format";
    case FACE_ERR_IMAGE_CORRUPT: return "corrupt_image";
    case FACE_ERR_IMAGE_TOO_BIG: return "image_too_large";
    case FACE_ERR_IMAGE_TOO_MANY_PIXELS: return "image_too_many_pixels";
    case FACE_ERR_NO_FACE: return "no_face";
    case FACE_ERR_MANY_FACES: return "multiple_faces";
    case FACE_ERR_LIVENESS_CHALLENGE: return "invalid_challenge";
    default: return "unknown_error";
    }
}

int
face_engine_load(face_engine **engine_out, const char *model_dir, char *err,
                 size_t err_len)
{
    face_engine *engine = NULL;
    int status;

    if (engine_out == NULL)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "no engine pointer");
    *engine_out = NULL;
    if (model_dir == NULL)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "no model directory");
    engine = calloc(1, sizeof(*engine));
    if (engine == NULL)
        return face_error(err, err_len, FACE_ERR_NOMEM, "out of memory");
    status = face_detector_load(&engine->detector, model_dir, err, err_len);
    if (status == FACE_OK)
        status = face_landmark_load(&engine->landmarks, model_dir, err, err_len);
    if (status == FACE_OK)
        status = face_recognition_load(&engine->recognition, model_dir, err,
                                       err_len);
    if (status != FACE_OK) {
        face_engine_free(engine);
        return status;
    }
    openblas_set_num_threads(1);
    *engine_out = engine;
    return FACE_OK;
}

void
face_engine_free(face_engine *engine)
{
    if (engine == NULL)
        return;
    face_weights_free(&engine->detector.weights);
    face_weights_free(&engine->landmarks.weights);
    face_weights_free(&engine->recognition.weights);
    free(engine);
}

static int
check_image(const face_image *image)
{
    return image != NULL && image->rgb != NULL && image->width > 0 &&
           image->height > 0;
}

int
face_detect(const face_engine *engine, const face_image *image,
            face_detection *faces, size_t capacity, size_t *count, char *err,
            size_t err_len)
{
    face_detection *all = NULL;
    size_t found = 0, kept = 0, i;
    int status = FACE_ERR_NOMEM, cx, cy, cw, ch;

    if (count != NULL)
        *count = 0;
    if (engine == NULL || !check_image(image) || count == NULL ||
        (faces == NULL && capacity > 0))
        return face_error(err, err_len, FACE_ERR_ARGUMENT,
                          "face_detect: bad arguments");
    all = malloc(FACE_MAX_CANDIDATES * sizeof(*all));
    if (all == NULL)
        goto cleanup;
    if (face_detector_run(&engine->detector, image, all, FACE_MAX_CANDIDATES,
                          &found) != 0)
        goto cleanup;
    if (found > FACE_MAX_CANDIDATES)
        found = FACE_MAX_CANDIDATES;
    for (i = 0; i < found; i++) {
        /* face-api drops boxes that do not overlap the image */
        if (face_clip_box(all[i].box.x, all[i].box.y, all[i].box.width,
                          all[i].box.height, image->width, image->height,
                          &cx, &cy, &cw, &ch) != 0)
            continue;
        if (kept < capacity) {
            faces[kept] = all[i];
            if (face_landmark_run(&engine->landmarks, image, &faces[kept]) < 0)
                goto cleanup;
        }
        kept++;
    }
    *count = kept;
    status = FACE_OK;
cleanup:
    free(all);
    if (status != FACE_OK)
        face_error(err, err_len, status, "out of memory");
    return status;
}

int
face_descriptor(const face_engine *engine, const face_image *image,
                float descriptor[FACE_DESCRIPTOR_DIMS],
                face_detection *face_out, char *err, size_t err_len)
{
    face_detection face;
    size_t count = 0;
    int status, cx, cy, cw, ch, ax, ay, aw, ah;

    if (descriptor != NULL)
        memset(descriptor, 0, FACE_DESCRIPTOR_DIMS * sizeof(float));
    if (descriptor == NULL)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "no descriptor");
    status = face_detect(engine, image, &face, 1, &count, err, err_len);
    if (status != FACE_OK)
        return status;
    if (count == 0)
        return face_error(err, err_len, FACE_ERR_NO_FACE, "no face found");
    if (count > 1)
        return face_error(err, err_len, FACE_ERR_MANY_FACES,
                          "%zu faces found; exactly one is required", count);
    if (face_clip_box(face.box.x, face.box.y, face.box.width, face.box.height,
                      image->width, image->height, &cx, &cy, &cw, &ch) != 0 ||
        face_align_box(face.landmarks, cw, ch, image->width, image->height,
                       &ax, &ay, &aw, &ah) != 0)
        return face_error(err, err_len, FACE_ERR_NO_FACE,
                          "the face lies outside the image");
    if (face_recognition_run(&engine->recognition, image, ax, ay, aw, ah,
                             descriptor) != 0) {
        memset(descriptor, 0, FACE_DESCRIPTOR_DIMS * sizeof(float));
        return face_error(err, err_len, FACE_ERR_NOMEM, "out of memory");
    }
    if (face_out != NULL)
        *face_out = face;
    return FACE_OK;
}

int
face_descriptor_of_crop(const face_engine *engine, const face_image *crop,
                        float descriptor[FACE_DESCRIPTOR_DIMS], char *err,
                        size_t err_len)
{
    if (descriptor == NULL || engine == NULL || !check_image(crop))
        return face_error(err, err_len, FACE_ERR_ARGUMENT,
                          "face_descriptor_of_crop: bad arguments");
    if (face_recognition_run(&engine->recognition, crop, 0, 0, crop->width,
                             crop->height, descriptor) != 0) {
        memset(descriptor, 0, FACE_DESCRIPTOR_DIMS * sizeof(float));
        return face_error(err, err_len, FACE_ERR_NOMEM, "out of memory");
    }
    return FACE_OK;
}

float
face_distance(const float a[FACE_DESCRIPTOR_DIMS],
              const float b[FACE_DESCRIPTOR_DIMS])
{
    double sum = 0.0;
    int i;

    for (i = 0; i < FACE_DESCRIPTOR_DIMS; i++) {
        double d = (double)a[i] - (double)b[i];
        sum += d * d;
    }
    return (float)sqrt(sum);
}

int
face_verify(const face_engine *engine, const face_image *a,
            const face_image *b, face_verify_result *result, char *err,
            size_t err_len)
{
    float da[FACE_DESCRIPTOR_DIMS], db[FACE_DESCRIPTOR_DIMS];
    int status;

    if (result == NULL)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "no result");
    memset(result, 0, sizeof(*result));
    status = face_descriptor(engine, a, da, NULL, err, err_len);
    if (status == FACE_OK)
        status = face_descriptor(engine, b, db, NULL, err, err_len);
    if (status != FACE_OK)
        return status;
    result->distance = face_distance(da, db);
    result->same_person = result->distance < FACE_SAME_PERSON_THRESHOLD;
    return FACE_OK;
}
