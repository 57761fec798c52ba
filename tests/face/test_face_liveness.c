/*
 * test_face_liveness.c: the head-turn liveness check on real photos. p04's
 * img17 is frontal and img59 shows the same man with his head turned to his
 * own right (nose toward the image's left). Mirroring both images in memory
 * turns the same pair into a "turn_left" answer, so the sign convention is
 * checked both ways. A single photo shown twice (a printed photo held up)
 * and a turned face of someone else must fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "face/face.h"
#include "face_test_photos.h"

static face_engine *engine;
static face_image frontal, turned, other_turned, frontal_mirror, turned_mirror;

static void
mirror(const face_image *src, face_image *dst)
{
    char err[FACE_ERROR_LEN];
    int x, y;

    assert_int_equal(face_image_from_rgb(dst, src->rgb, src->width,
                                         src->height, err, sizeof(err)), FACE_OK);
    for (y = 0; y < src->height; y++)
        for (x = 0; x < src->width; x++)
            memcpy(dst->rgb + ((size_t)y * src->width + x) * 3,
                   src->rgb + ((size_t)y * src->width + (src->width - 1 - x)) * 3,
                   3);
}

static int
setup(void **state)
{
    (void)state;
    engine = face_test_engine();
    if (engine == NULL || face_test_decode("deepface/img17.jpg", &frontal) ||
        face_test_decode("deepface/img59.jpg", &turned) ||
        face_test_decode("deepface/img34.jpg", &other_turned))
        return -1;
    mirror(&frontal, &frontal_mirror);
    mirror(&turned, &turned_mirror);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    face_image_free(&frontal);
    face_image_free(&turned);
    face_image_free(&other_turned);
    face_image_free(&frontal_mirror);
    face_image_free(&turned_mirror);
    face_engine_free(engine);
    return 0;
}

static void
check(const face_image *a, const face_image *b, face_turn challenge,
      face_liveness_result *result)
{
    char err[FACE_ERROR_LEN];

    assert_int_equal(face_liveness_check(engine, a, b, challenge, result, err,
                                         sizeof(err)), FACE_OK);
    printf("  %s: yaw %.3f -> %.3f, distance %.3f, turned %d, same %d, live %d\n",
           challenge == FACE_TURN_LEFT ? "turn_left" : "turn_right",
           result->yaw_frontal, result->yaw_turned, result->distance,
           result->turned, result->same_person, result->live);
}

static void
test_real_turn_right(void **state)
{
    face_liveness_result r;

    (void)state;
    check(&frontal, &turned, FACE_TURN_RIGHT, &r);
    assert_true(r.yaw_turned < r.yaw_frontal);
    assert_int_equal(r.live, 1);
    check(&frontal, &turned, FACE_TURN_LEFT, &r);
    assert_int_equal(r.turned, 0);
    assert_int_equal(r.live, 0);
}

static void
test_mirrored_turn_left(void **state)
{
    face_liveness_result r;

    (void)state;
    check(&frontal_mirror, &turned_mirror, FACE_TURN_LEFT, &r);
    assert_true(r.yaw_turned > r.yaw_frontal);
    assert_int_equal(r.live, 1);
    check(&frontal_mirror, &turned_mirror, FACE_TURN_RIGHT, &r);
    assert_int_equal(r.live, 0);
}

static void
test_mirror_flips_yaw(void **state)
{
    face_detection a, b;
    float d[FACE_DESCRIPTOR_DIMS];
    char err[FACE_ERROR_LEN];

    (void)state;
    assert_int_equal(face_descriptor(engine, &turned, d, &a, err, sizeof(err)), FACE_OK);
    assert_int_equal(face_descriptor(engine, &turned_mirror, d, &b, err, sizeof(err)), FACE_OK);
    printf("  img59 yaw %.3f, mirrored %.3f\n", face_yaw(a.landmarks),
           face_yaw(b.landmarks));
    assert_true(face_yaw(a.landmarks) < -0.05f);
    assert_true(face_yaw(b.landmarks) > 0.05f);
}

static void
test_same_photo_twice_is_not_live(void **state)
{
    face_liveness_result r;

    (void)state;
    check(&frontal, &frontal, FACE_TURN_LEFT, &r);
    assert_int_equal(r.same_person, 1);
    assert_int_equal(r.turned, 0);
    assert_int_equal(r.live, 0);
    check(&frontal, &frontal, FACE_TURN_RIGHT, &r);
    assert_int_equal(r.live, 0);
}

static void
test_other_person_is_not_live(void **state)
{
    face_liveness_result r;

    (void)state;
    check(&frontal, &other_turned, FACE_TURN_RIGHT, &r);
    assert_int_equal(r.same_person, 0);
    assert_int_equal(r.live, 0);
}

static void
test_bad_challenge(void **state)
{
    face_liveness_result r;
    char err[FACE_ERROR_LEN];

    (void)state;
    assert_int_equal(face_liveness_check(engine, &frontal, &turned,
                                         (face_turn)7, &r, err, sizeof(err)),
                     FACE_ERR_LIVENESS_CHALLENGE);
    assert_int_equal(r.live, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_turn_right),
        cmocka_unit_test(test_mirrored_turn_left),
        cmocka_unit_test(test_mirror_flips_yaw),
        cmocka_unit_test(test_same_photo_twice_is_not_live),
        cmocka_unit_test(test_other_person_is_not_live),
        cmocka_unit_test(test_bad_challenge),
    };

    return cmocka_run_group_tests_name("face_liveness", tests, setup, teardown);
}
