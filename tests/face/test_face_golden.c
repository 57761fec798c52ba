/*
 * test_face_golden.c: the C engine against face-api's own outputs. For each
 * committed golden case (tests/face/golden/<photo>/), the exact RGB input
 * face-api saw is rebuilt (golden_rgb.h) and the C engine must give the same
 * detection boxes (within 1 px), 68 landmarks (within 1 px) and descriptor
 * (Euclidean distance < 0.01).
 */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "face/face.h"
#include "golden_rgb.h"

#define GOLDEN_CASES 5
#define GOLDEN_MAX_FACES 8

static const char *const golden_cases[GOLDEN_CASES] = {
    "img12", "img51", "img25", "img62", "img5"};

static face_engine *engine;
static double worst_box, worst_landmark, worst_descriptor;

static int
setup(void **state)
{
    char err[FACE_ERROR_LEN];

    (void)state;
    if (face_engine_load(&engine, CYBERID_DEFAULT_MODELS_DIR, err,
                         sizeof(err)) != FACE_OK) {
        fprintf(stderr, "cannot load models: %s\n", err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    face_engine_free(engine);
    printf("golden: worst box error %.4f px, worst landmark error %.4f px, "
           "worst descriptor distance %.6f\n",
           worst_box, worst_landmark, worst_descriptor);
    return 0;
}

/* Rebuilds the golden RGB of a case into image. */
static void
load_case_image(const char *name, json_t *expected, face_image *image)
{
    char path[4096], err[FACE_ERROR_LEN];
    const char *shared = getenv("CYBERID_SHARED_DIR");
    const char *photo = json_string_value(json_object_get(expected, "photo"));
    const char *want_hash =
        json_string_value(json_object_get(expected, "rgb_fnv1a64"));
    uint8_t *rgb = NULL;
    int width = 0, height = 0, got;
    size_t n, i;
    gzFile gz;
    char hash[32];

    assert_non_null(shared);
    assert_non_null(photo);
    assert_non_null(want_hash);
    snprintf(path, sizeof(path), "%s/faces/%s", shared, photo);
    assert_int_equal(golden_decode_plain(path, &rgb, &width, &height), 0);
    assert_int_equal(width, json_integer_value(json_object_get(expected, "width")));
    assert_int_equal(height, json_integer_value(json_object_get(expected, "height")));
    n = (size_t)width * height * 3;
    snprintf(path, sizeof(path), "%s/golden/%s/rgb_delta.gz", GOLDEN_DIR, name);
    gz = gzopen(path, "rb");
    assert_non_null(gz);
    for (i = 0; i < n; i++) {
        got = gzgetc(gz);
        assert_true(got >= 0);
        rgb[i] = (uint8_t)(rgb[i] + got);
    }
    assert_int_equal(gzgetc(gz), -1);
    gzclose(gz);
    snprintf(hash, sizeof(hash), "%016" PRIx64, golden_fnv1a64(rgb, n));
    if (strcmp(hash, want_hash) != 0)
        fail_msg("%s: rebuilt RGB hash %s != %s (libjpeg-turbo output changed?)",
                 name, hash, want_hash);
    assert_int_equal(face_image_from_rgb(image, rgb, width, height, err,
                                         sizeof(err)), FACE_OK);
    free(rgb);
}

static void
test_golden_case(void **state)
{
    const char *name = *(const char *const *)*state;
    char path[4096], err[FACE_ERROR_LEN];
    face_detection faces[GOLDEN_MAX_FACES];
    face_detection single;
    float descriptor[FACE_DESCRIPTOR_DIMS], want[FACE_DESCRIPTOR_DIMS];
    face_image image;
    json_t *expected, *dets, *lms, *desc;
    json_error_t jerr;
    size_t count = 0, i;
    double box_err = 0.0, lm_err = 0.0, dist;

    snprintf(path, sizeof(path), "%s/golden/%s/expected.json", GOLDEN_DIR, name);
    expected = json_load_file(path, 0, &jerr);
    assert_non_null(expected);
    load_case_image(name, expected, &image);

    assert_int_equal(face_detect(engine, &image, faces, GOLDEN_MAX_FACES,
                                 &count, err, sizeof(err)), FACE_OK);
    dets = json_object_get(expected, "detections");
    assert_int_equal(count, json_array_size(dets));
    for (i = 0; i < count; i++) {
        json_t *det = json_array_get(dets, i), *box = json_object_get(det, "box");
        double want_box[4], got_box[4] = {faces[i].box.x, faces[i].box.y,
                                          faces[i].box.width, faces[i].box.height};
        int k;
        for (k = 0; k < 4; k++) {
            want_box[k] = json_number_value(json_array_get(box, (size_t)k));
            box_err = fmax(box_err, fabs(want_box[k] - got_box[k]));
        }
        assert_true(fabs(json_number_value(json_object_get(det, "score")) -
                         faces[i].score) < 0.01);
    }
    lms = json_object_get(expected, "landmarks");
    assert_int_equal(json_array_size(lms), FACE_LANDMARK_POINTS);
    for (i = 0; i < FACE_LANDMARK_POINTS; i++) {
        json_t *pt = json_array_get(lms, i);
        double dx = json_number_value(json_array_get(pt, 0)) - faces[0].landmarks[i].x;
        double dy = json_number_value(json_array_get(pt, 1)) - faces[0].landmarks[i].y;
        lm_err = fmax(lm_err, fmax(fabs(dx), fabs(dy)));
    }
    assert_int_equal(face_descriptor(engine, &image, descriptor, &single, err,
                                     sizeof(err)), FACE_OK);
    desc = json_object_get(expected, "descriptor");
    assert_int_equal(json_array_size(desc), FACE_DESCRIPTOR_DIMS);
    for (i = 0; i < FACE_DESCRIPTOR_DIMS; i++)
        want[i] = (float)json_number_value(json_array_get(desc, i));
    dist = face_distance(descriptor, want);
    printf("%s: %zu face(s), box error %.4f px, landmark error %.4f px, "
           "descriptor distance %.6f\n", name, count, box_err, lm_err, dist);
    worst_box = fmax(worst_box, box_err);
    worst_landmark = fmax(worst_landmark, lm_err);
    worst_descriptor = fmax(worst_descriptor, dist);
    assert_true(box_err <= 1.0);
    assert_true(lm_err <= 1.0);
    assert_true(dist < 0.01);
    face_image_free(&image);
    json_decref(expected);
}

int
main(void)
{
    struct CMUnitTest tests[GOLDEN_CASES];
    int i;

    for (i = 0; i < GOLDEN_CASES; i++) {
        struct CMUnitTest t = {golden_cases[i], test_golden_case, NULL, NULL,
                               (void *)&golden_cases[i]};
        tests[i] = t;
    }
    return cmocka_run_group_tests_name("face_golden", tests, setup, teardown);
}
