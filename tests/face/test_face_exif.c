/*
 * test_face_exif.c: JPEG EXIF orientation, deterministically. An APP1 EXIF
 * segment with Orientation 1..8 (both TIFF byte orders) is inserted into a
 * photo without one (deepface img12, 560x415: not square, so a swap of
 * width and height shows); the decode must equal the untagged decode
 * transformed here, by a forward mapping written independently of the
 * decoder's. Invalid values and foreign APP1 segments leave the image
 * as stored. Then a face photo stored sideways (rotated here, re-encoded
 * with libjpeg) and tagged 6 or 8 must decode upright, with the face found
 * and recognised as the upright photo's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "face/face.h"
#include "face_test_images.h"
#include "face_test_photos.h"

#define PHOTO "deepface/img12.jpg"

static uint8_t *photo;
static size_t photo_len;
static face_image stored; /* the untagged decode */

static int
setup(void **state)
{
    char err[FACE_ERROR_LEN];

    (void)state;
    if (face_test_read(PHOTO, &photo, &photo_len) != 0 ||
        face_image_decode(&stored, photo, photo_len, err, sizeof(err)) !=
            FACE_OK)
        return -1;
    /* the test's premise: the photo has no orientation of its own, and is
     * not square */
    return stored.width == 560 && stored.height == 415 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    free(photo);
    face_image_free(&stored);
    return 0;
}

/* Where the stored pixel (x, y) of a w x h image is shown under EXIF
 * orientation o (TIFF 6.0 / EXIF 2.3 tag 0x0112: the row and column the
 * stored 0th row and column become). */
static void
shown_at(int o, int w, int h, int x, int y, int *dx, int *dy)
{
    switch (o) {
    case 2: *dx = w - 1 - x; *dy = y; break;         /* mirror left-right */
    case 3: *dx = w - 1 - x; *dy = h - 1 - y; break; /* rotate 180 */
    case 4: *dx = x; *dy = h - 1 - y; break;         /* mirror top-bottom */
    case 5: *dx = y; *dy = x; break;                 /* transpose */
    case 6: *dx = h - 1 - y; *dy = x; break;         /* rotate 90 clockwise */
    case 7: *dx = h - 1 - y; *dy = w - 1 - x; break; /* transverse */
    case 8: *dx = y; *dy = w - 1 - x; break;         /* rotate 90 counter-cw */
    default: *dx = x; *dy = y; break;
    }
}

/* The image as a viewer shows src tagged with orientation o. */
static void
transform(const face_image *src, int o, face_image *dst)
{
    int swap = o >= 5, w = src->width, h = src->height, x, y, dx, dy;
    int dw = swap ? h : w, dh = swap ? w : h;

    dst->width = dw;
    dst->height = dh;
    dst->rgb = malloc((size_t)dw * dh * 3);
    assert_non_null(dst->rgb);
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            shown_at(o, w, h, x, y, &dx, &dy);
            assert_true(dx >= 0 && dx < dw && dy >= 0 && dy < dh);
            memcpy(dst->rgb + ((size_t)dy * dw + dx) * 3,
                   src->rgb + ((size_t)y * w + x) * 3, 3);
        }
}

static void
decode_tagged(const uint8_t *jpeg, size_t len, int orientation,
              int big_endian, face_image *out)
{
    char err[FACE_ERROR_LEN];
    uint8_t *tagged;
    size_t tagged_len;

    assert_int_equal(face_test_jpeg_exif(jpeg, len, orientation, big_endian,
                                         &tagged, &tagged_len), 0);
    assert_int_equal(face_image_decode(out, tagged, tagged_len, err,
                                       sizeof(err)), FACE_OK);
    free(tagged);
}

static void
test_orientations(void **state)
{
    face_image tagged, expected;
    int o, big;

    (void)state;
    for (o = 1; o <= 8; o++)
        for (big = 0; big <= 1; big++) {
            decode_tagged(photo, photo_len, o, big, &tagged);
            transform(&stored, o, &expected);
            printf("  orientation %d (%s): %dx%d\n", o, big ? "MM" : "II",
                   tagged.width, tagged.height);
            assert_int_equal(tagged.width, expected.width);
            assert_int_equal(tagged.height, expected.height);
            assert_memory_equal(tagged.rgb, expected.rgb,
                                (size_t)expected.width * expected.height * 3);
            face_image_free(&tagged);
            face_image_free(&expected);
        }
}

/* Values outside 1..8, and APP1 segments that are not EXIF, change
 * nothing. */
static void
test_ignored_tags(void **state)
{
    static const int invalid[] = {0, 9, 0x0106, 0xffff};
    char err[FACE_ERROR_LEN];
    face_image out;
    uint8_t *copy;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        decode_tagged(photo, photo_len, invalid[i], (int)(i % 2), &out);
        assert_int_equal(out.width, stored.width);
        assert_int_equal(out.height, stored.height);
        assert_memory_equal(out.rgb, stored.rgb,
                            (size_t)stored.width * stored.height * 3);
        face_image_free(&out);
    }
    /* An orientation-6 segment whose "Exif" signature is damaged, and one
     * whose TIFF header is: not EXIF, so no rotation. */
    for (i = 0; i < 2; i++) {
        size_t len;
        assert_int_equal(face_test_jpeg_exif(photo, photo_len, 6, 0, &copy,
                                             &len), 0);
        copy[i == 0 ? 6 : 12] ^= 0x20; /* "exif", "iI*" */
        assert_int_equal(face_image_decode(&out, copy, len, err, sizeof(err)),
                         FACE_OK);
        assert_int_equal(out.width, stored.width);
        assert_memory_equal(out.rgb, stored.rgb,
                            (size_t)stored.width * stored.height * 3);
        face_image_free(&out);
        free(copy);
    }
}

/* rot90ccw(src): a photo stored sideways, which orientation 6 (rotate 90
 * clockwise to show) puts upright; ccw = 0 gives rot90cw, for 8. */
static void
rotate(const face_image *src, int ccw, face_image *dst)
{
    int w = src->width, h = src->height, x, y, dx, dy;

    dst->width = h;
    dst->height = w;
    dst->rgb = malloc((size_t)w * h * 3);
    assert_non_null(dst->rgb);
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            dx = ccw ? y : h - 1 - y;
            dy = ccw ? w - 1 - x : x;
            memcpy(dst->rgb + ((size_t)dy * h + dx) * 3,
                   src->rgb + ((size_t)y * w + x) * 3, 3);
        }
}

static void
test_sideways_face(void **state)
{
    static const int orientations[] = {6, 8};
    float upright_desc[FACE_DESCRIPTOR_DIMS], desc[FACE_DESCRIPTOR_DIMS];
    face_detection upright_face, face;
    face_engine *engine = face_test_engine();
    char err[FACE_ERROR_LEN];
    face_image sideways, shown;
    uint8_t *jpeg;
    size_t len, i, count;

    (void)state;
    assert_non_null(engine);
    assert_int_equal(face_descriptor(engine, &stored, upright_desc,
                                     &upright_face, err, sizeof(err)), FACE_OK);
    for (i = 0; i < 2; i++) {
        int o = orientations[i];
        float distance;
        rotate(&stored, o == 6, &sideways);
        assert_int_equal(face_test_jpeg(sideways.rgb, sideways.width,
                                        sideways.height, 95, &jpeg, &len), 0);
        /* untagged, the face lies on its side (for information) */
        assert_int_equal(face_detect(engine, &sideways, NULL, 0, &count, err,
                                     sizeof(err)), FACE_OK);
        decode_tagged(jpeg, len, o, 0, &shown);
        assert_int_equal(shown.width, stored.width);
        assert_int_equal(shown.height, stored.height);
        assert_int_equal(face_descriptor(engine, &shown, desc, &face, err,
                                         sizeof(err)), FACE_OK);
        distance = face_distance(upright_desc, desc);
        printf("  orientation %d: %zu faces sideways untagged; tagged: box "
               "%.1f,%.1f %.1fx%.1f (upright %.1f,%.1f %.1fx%.1f), distance "
               "to the upright photo %.4f\n", o, count, face.box.x, face.box.y,
               face.box.width, face.box.height, upright_face.box.x,
               upright_face.box.y, upright_face.box.width,
               upright_face.box.height, distance);
        /* the same face, where it is upright (re-encoding moves it a little) */
        assert_true(distance < FACE_SAME_PERSON_THRESHOLD / 2);
        assert_true(face.box.x > upright_face.box.x - 8 &&
                    face.box.x < upright_face.box.x + 8);
        assert_true(face.box.y > upright_face.box.y - 8 &&
                    face.box.y < upright_face.box.y + 8);
        face_image_free(&shown);
        face_image_free(&sideways);
        free(jpeg);
    }
    face_engine_free(engine);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orientations),
        cmocka_unit_test(test_ignored_tags),
        cmocka_unit_test(test_sideways_face),
    };

    return cmocka_run_group_tests_name("face_exif", tests, setup, teardown);
}
