/*
 * test_face_decode.c: what face_image_decode() refuses, with which status:
 * unknown formats, truncated and corrupt JPEG, PNG and WebP files (real
 * photos from ../shared/faces, cut or damaged in memory), and the byte,
 * side and pixel limits of face.h, each at the limit (accepted) and one
 * over it (refused). Oversized images are headers made in memory that
 * declare the size, never large files.
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

/* The smallest width x height over FACE_IMAGE_MAX_PIXELS with both sides
 * within FACE_IMAGE_MAX_SIDE: 40,000,001 = 53 x 754,717 has no such
 * factorisation, so one pixel over the limit cannot be an image; 3015 x
 * 13267 = 40,000,005 is the first size that is. */
#define OVER_PIXELS_W 3015u
#define OVER_PIXELS_H 13267u
/* Exactly FACE_IMAGE_MAX_PIXELS. */
#define AT_PIXELS_W 8000u
#define AT_PIXELS_H 5000u

/* Decodes and checks the status; a refusal must leave the image zeroed
 * and say why. The label and message are printed first, so a failure
 * names the case. */
static void
expect_decode(const char *label, const uint8_t *bytes, size_t len, int want)
{
    char err[FACE_ERROR_LEN] = "";
    face_image image;
    int status;

    memset(&image, 0x5a, sizeof(image));
    status = face_image_decode(&image, bytes, len, err, sizeof(err));
    printf("  %s (%zu bytes): %s%s%s\n", label, len, face_status_code(status),
           status != FACE_OK ? ": " : "", status != FACE_OK ? err : "");
    assert_string_equal(face_status_code(status), face_status_code(want));
    if (status != FACE_OK) {
        assert_null(image.rgb);
        assert_int_equal(image.width, 0);
        assert_int_equal(image.height, 0);
        assert_true(err[0] != '\0');
    } else {
        assert_non_null(image.rgb);
        face_image_free(&image);
    }
}

static void
read_photo(const char *relative, uint8_t **bytes, size_t *len)
{
    if (face_test_read(relative, bytes, len) != 0)
        fail_msg("cannot read %s from CYBERID_SHARED_DIR/faces", relative);
}

/* ---- formats ---- */

static void
test_unknown_format(void **state)
{
    static const uint8_t gif[] = {
        'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0,
        0xff, 0xff, 0xff, 0x21, 0xf9, 4, 1, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0,
        1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b};
    static const uint8_t bmp[] = {'B', 'M', 0x3a, 0, 0, 0, 0, 0, 0, 0,
                                  0x36, 0, 0, 0, 0x28, 0, 0, 0};
    static const uint8_t tiff[] = {'I', 'I', '*', 0, 8, 0, 0, 0, 0, 0};
    static const uint8_t soi_only[] = {0xff, 0xd8};
    static const uint8_t png_short[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a};
    static const uint8_t riff_wave[] = {'R', 'I', 'F', 'F', 4, 0, 0, 0,
                                        'W', 'A', 'V', 'E'};
    uint8_t noise[4096];
    uint32_t x = 0x2545f491u;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(noise); i++) { /* xorshift32, fixed seed */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise[i] = (uint8_t)x;
    }
    expect_decode("random bytes", noise, sizeof(noise), FACE_ERR_IMAGE_FORMAT);
    expect_decode("GIF89a", gif, sizeof(gif), FACE_ERR_IMAGE_FORMAT);
    expect_decode("BMP", bmp, sizeof(bmp), FACE_ERR_IMAGE_FORMAT);
    expect_decode("TIFF", tiff, sizeof(tiff), FACE_ERR_IMAGE_FORMAT);
    expect_decode("JPEG SOI only", soi_only, sizeof(soi_only),
                  FACE_ERR_IMAGE_FORMAT);
    expect_decode("7 bytes of PNG signature", png_short, sizeof(png_short),
                  FACE_ERR_IMAGE_FORMAT);
    expect_decode("RIFF WAVE", riff_wave, sizeof(riff_wave),
                  FACE_ERR_IMAGE_FORMAT);
    expect_decode("empty", NULL, 0, FACE_ERR_IMAGE_FORMAT);
}

static void
test_bad_arguments(void **state)
{
    char err[FACE_ERROR_LEN];
    face_image image;

    (void)state;
    assert_int_equal(face_image_decode(NULL, (const uint8_t *)"x", 1, err,
                                       sizeof(err)), FACE_ERR_ARGUMENT);
    assert_int_equal(face_image_decode(&image, NULL, 10, err, sizeof(err)),
                     FACE_ERR_ARGUMENT);
    assert_null(image.rgb);
}

/* ---- truncated files ---- */

static void
test_truncated_jpeg(void **state)
{
    /* img51: baseline; img12: progressive */
    static const char *const photos[] = {"deepface/img51.jpg",
                                         "deepface/img12.jpg"};
    uint8_t *bytes;
    size_t len, i;

    (void)state;
    for (i = 0; i < 2; i++) {
        read_photo(photos[i], &bytes, &len);
        printf(" %s\n", photos[i]);
        expect_decode("whole", bytes, len, FACE_OK);
        expect_decode("first half", bytes, len / 2, FACE_ERR_IMAGE_CORRUPT);
        expect_decode("without EOI", bytes, len - 2, FACE_ERR_IMAGE_CORRUPT);
        expect_decode("headers cut", bytes, 200, FACE_ERR_IMAGE_CORRUPT);
        expect_decode("SOI and a byte", bytes, 3, FACE_ERR_IMAGE_CORRUPT);
        free(bytes);
    }
}

static void
test_truncated_png(void **state)
{
    uint8_t *bytes;
    size_t len;

    (void)state;
    read_photo("faceapi-crops/amy/amy1.png", &bytes, &len);
    expect_decode("whole", bytes, len, FACE_OK);
    expect_decode("first half", bytes, len / 2, FACE_ERR_IMAGE_CORRUPT);
    expect_decode("IHDR cut", bytes, 20, FACE_ERR_IMAGE_CORRUPT);
    expect_decode("signature only", bytes, 8, FACE_ERR_IMAGE_CORRUPT);
    free(bytes);
}

static void
test_truncated_webp(void **state)
{
    uint8_t *bytes;
    size_t len;

    (void)state;
    read_photo("deepface/img47.jpg", &bytes, &len); /* WebP, named .jpg */
    expect_decode("whole", bytes, len, FACE_OK);
    expect_decode("first half", bytes, len / 2, FACE_ERR_IMAGE_CORRUPT);
    expect_decode("RIFF header only", bytes, 12, FACE_ERR_IMAGE_CORRUPT);
    expect_decode("VP8 header cut", bytes, 24, FACE_ERR_IMAGE_CORRUPT);
    free(bytes);
}

/* ---- corrupt data ---- */

static void
test_corrupt_jpeg(void **state)
{
    uint8_t *bytes;
    size_t len, start, end, mid, i;

    (void)state;
    read_photo("deepface/img51.jpg", &bytes, &len); /* baseline */
    assert_int_equal(face_test_jpeg_scan(bytes, len, &start, &end), 0);
    assert_true(end - start > 1000);
    mid = start + (end - start) / 2;
    /* 64 bytes of the Huffman-coded data inverted: codes that do not
     * exist and a 0xFF 0xFF.. run that is no valid marker */
    for (i = 0; i < 64; i++)
        bytes[mid + i] ^= 0xff;
    expect_decode("64 entropy-coded bytes inverted", bytes, len,
                  FACE_ERR_IMAGE_CORRUPT);
    for (i = 0; i < 64; i++)
        bytes[mid + i] ^= 0xff;
    expect_decode("restored", bytes, len, FACE_OK);
    /* an EOI marker in the middle of the scan */
    bytes[mid] = 0xff;
    bytes[mid + 1] = 0xd9;
    expect_decode("EOI inside the scan", bytes, len, FACE_ERR_IMAGE_CORRUPT);
    free(bytes);
}

static void
test_corrupt_png(void **state)
{
    uint8_t *bytes;
    size_t len, ihdr, ihdr_len, idat, idat_len;

    (void)state;
    read_photo("faceapi-crops/amy/amy1.png", &bytes, &len);
    assert_int_equal(face_test_png_chunk(bytes, len, "IHDR", &ihdr, &ihdr_len), 0);
    assert_int_equal(face_test_png_chunk(bytes, len, "IDAT", &idat, &idat_len), 0);
    assert_true(idat_len > 100);

    bytes[ihdr + 8 + ihdr_len] ^= 0x01; /* IHDR CRC */
    expect_decode("bad IHDR CRC", bytes, len, FACE_ERR_IMAGE_CORRUPT);
    bytes[ihdr + 8 + ihdr_len] ^= 0x01;

    bytes[idat + 8 + idat_len + 3] ^= 0x80; /* IDAT CRC */
    expect_decode("bad IDAT CRC", bytes, len, FACE_ERR_IMAGE_CORRUPT);
    bytes[idat + 8 + idat_len + 3] ^= 0x80;

    /* IDAT data changed, CRC recomputed: only zlib can tell */
    bytes[idat + 8 + idat_len / 2] ^= 0xff;
    face_test_png_fix_crc(bytes, idat, idat_len);
    expect_decode("IDAT data inverted, CRC fixed", bytes, len,
                  FACE_ERR_IMAGE_CORRUPT);
    free(bytes);
}

/* ---- byte limit ---- */

static void
test_byte_limit(void **state)
{
    const size_t limit = FACE_IMAGE_MAX_BYTES;
    uint8_t *photo, *buffer;
    size_t len;
    char err[FACE_ERROR_LEN];
    face_image image;

    (void)state;
    read_photo("deepface/img51.jpg", &photo, &len);
    /* a real JPEG followed by zeros up to the limit, and one byte more */
    buffer = calloc(limit + 1, 1);
    assert_non_null(buffer);
    memcpy(buffer, photo, len);
    assert_int_equal(face_image_decode(&image, buffer, limit, err,
                                       sizeof(err)), FACE_OK);
    assert_int_equal(image.width, 600);
    assert_int_equal(image.height, 417);
    face_image_free(&image);
    expect_decode("JPEG padded to the limit + 1", buffer, limit + 1,
                  FACE_ERR_IMAGE_TOO_BIG);
    assert_int_equal(face_image_decode(&image, buffer, limit + 1, err,
                                       sizeof(err)), FACE_ERR_IMAGE_TOO_BIG);
    assert_non_null(strstr(err, "16777217"));
    /* zeros: at the limit the format is looked at, over it it is not */
    memset(buffer, 0, limit + 1);
    expect_decode("zeros, the limit", buffer, limit, FACE_ERR_IMAGE_FORMAT);
    expect_decode("zeros, the limit + 1", buffer, limit + 1,
                  FACE_ERR_IMAGE_TOO_BIG);
    free(buffer);
    free(photo);
}

/* ---- pixel limits: PNG ---- */

static void
expect_png(const char *label, uint32_t width, uint32_t height, uint32_t rows,
           int want)
{
    uint8_t *png;
    size_t len;

    assert_int_equal(face_test_png(width, height, NULL, rows, &png, &len), 0);
    expect_decode(label, png, len, want);
    free(png);
}

/* A PNG of width x height with every byte given, decoded in full. */
static void
expect_png_pixels(uint32_t width, uint32_t height)
{
    size_t n = (size_t)width * height * 3, i;
    uint8_t *rgb = malloc(n), *png;
    char err[FACE_ERROR_LEN];
    face_image image;
    size_t len;

    assert_non_null(rgb);
    for (i = 0; i < n; i++)
        rgb[i] = (uint8_t)(i * 7 + i / 3);
    assert_int_equal(face_test_png(width, height, rgb, height, &png, &len), 0);
    assert_int_equal(face_image_decode(&image, png, len, err, sizeof(err)),
                     FACE_OK);
    assert_int_equal(image.width, (int)width);
    assert_int_equal(image.height, (int)height);
    assert_memory_equal(image.rgb, rgb, n);
    face_image_free(&image);
    free(png);
    free(rgb);
}

static void
test_png_side_limit(void **state)
{
    (void)state;
    expect_png_pixels(FACE_IMAGE_MAX_SIDE, 1);
    expect_png_pixels(1, FACE_IMAGE_MAX_SIDE);
    expect_png("16385 x 1", FACE_IMAGE_MAX_SIDE + 1, 1, 1,
               FACE_ERR_IMAGE_TOO_MANY_PIXELS);
    expect_png("1 x 16385", 1, FACE_IMAGE_MAX_SIDE + 1, 1,
               FACE_ERR_IMAGE_TOO_MANY_PIXELS);
    expect_png("0 x 1", 0, 1, 1, FACE_ERR_IMAGE_CORRUPT);
}

static void
test_png_pixel_limit(void **state)
{
    (void)state;
    /* At the limit the header passes and decoding starts: the one row of
     * data is then too short. One size over, nothing is allocated. */
    expect_png("8000 x 5000, one row of data", AT_PIXELS_W, AT_PIXELS_H, 1,
               FACE_ERR_IMAGE_CORRUPT);
    expect_png("3015 x 13267", OVER_PIXELS_W, OVER_PIXELS_H, 1,
               FACE_ERR_IMAGE_TOO_MANY_PIXELS);
    expect_png("16384 x 16384", FACE_IMAGE_MAX_SIDE, FACE_IMAGE_MAX_SIDE, 1,
               FACE_ERR_IMAGE_TOO_MANY_PIXELS);
    /* over libpng's own limit (a million a side) too: a size refusal */
    expect_png("1000001 x 1", 1000001, 1, 1, FACE_ERR_IMAGE_TOO_MANY_PIXELS);
}

/* ---- pixel limits: JPEG ---- */

static uint8_t *
grey_jpeg(int width, int height, size_t *len)
{
    size_t n = (size_t)width * height * 3, i;
    uint8_t *rgb = malloc(n), *jpeg = NULL;

    assert_non_null(rgb);
    for (i = 0; i < n; i++)
        rgb[i] = (uint8_t)(64 + (i / 3) % 128);
    assert_int_equal(face_test_jpeg(rgb, width, height, 90, &jpeg, len), 0);
    free(rgb);
    return jpeg;
}

static void
expect_jpeg_size(const char *label, const uint8_t *jpeg, size_t len,
                 unsigned width, unsigned height, int want)
{
    uint8_t *copy = malloc(len);

    assert_non_null(copy);
    memcpy(copy, jpeg, len);
    assert_int_equal(face_test_jpeg_set_size(copy, len, width, height), 0);
    expect_decode(label, copy, len, want);
    free(copy);
}

static void
test_jpeg_side_limit(void **state)
{
    char err[FACE_ERROR_LEN];
    face_image image;
    uint8_t *wide, *tall;
    size_t wide_len, tall_len;

    (void)state;
    wide = grey_jpeg(FACE_IMAGE_MAX_SIDE, 8, &wide_len);
    assert_int_equal(face_image_decode(&image, wide, wide_len, err,
                                       sizeof(err)), FACE_OK);
    assert_int_equal(image.width, FACE_IMAGE_MAX_SIDE);
    assert_int_equal(image.height, 8);
    face_image_free(&image);
    expect_jpeg_size("16385 x 8", wide, wide_len, FACE_IMAGE_MAX_SIDE + 1, 8,
                     FACE_ERR_IMAGE_TOO_MANY_PIXELS);

    tall = grey_jpeg(8, FACE_IMAGE_MAX_SIDE, &tall_len);
    assert_int_equal(face_image_decode(&image, tall, tall_len, err,
                                       sizeof(err)), FACE_OK);
    assert_int_equal(image.width, 8);
    assert_int_equal(image.height, FACE_IMAGE_MAX_SIDE);
    face_image_free(&image);
    expect_jpeg_size("8 x 16385", tall, tall_len, 8, FACE_IMAGE_MAX_SIDE + 1,
                     FACE_ERR_IMAGE_TOO_MANY_PIXELS);
    expect_jpeg_size("0 x 8", tall, tall_len, 0, 8, FACE_ERR_IMAGE_CORRUPT);
    free(wide);
    free(tall);
}

static void
test_jpeg_pixel_limit(void **state)
{
    uint8_t *jpeg;
    size_t len;

    (void)state;
    jpeg = grey_jpeg(16, 16, &len);
    expect_decode("16 x 16", jpeg, len, FACE_OK);
    /* A 16x16 stream whose header says 8000 x 5000: within the limit, so
     * decoding runs and ends early (corrupt); one size over the limit is
     * refused from the header. */
    expect_jpeg_size("8000 x 5000, data of 16 x 16", jpeg, len, AT_PIXELS_W,
                     AT_PIXELS_H, FACE_ERR_IMAGE_CORRUPT);
    expect_jpeg_size("3015 x 13267", jpeg, len, OVER_PIXELS_W, OVER_PIXELS_H,
                     FACE_ERR_IMAGE_TOO_MANY_PIXELS);
    /* over libjpeg's own limit (65500 a side) too: still a size refusal */
    expect_jpeg_size("65535 x 65535", jpeg, len, 65535, 65535,
                     FACE_ERR_IMAGE_TOO_MANY_PIXELS);
    free(jpeg);
}

/* ---- pixel limit: WebP (lossless header; at most 16384 a side) ---- */

static void
expect_webp_size(const char *label, uint32_t width, uint32_t height, int want)
{
    uint8_t webp[52] = {0};
    uint32_t bits = (width - 1) | (height - 1) << 14; /* no alpha, v0 */

    memcpy(webp, "RIFF", 4);
    webp[4] = sizeof(webp) - 8;
    memcpy(webp + 8, "WEBPVP8L", 8);
    webp[16] = sizeof(webp) - 20; /* chunk size */
    webp[20] = 0x2f;              /* VP8L signature */
    webp[21] = (uint8_t)bits;
    webp[22] = (uint8_t)(bits >> 8);
    webp[23] = (uint8_t)(bits >> 16);
    webp[24] = (uint8_t)(bits >> 24);
    expect_decode(label, webp, sizeof(webp), want);
}

static void
test_webp_pixel_limit(void **state)
{
    (void)state;
    expect_webp_size("8000 x 5000, no image data", AT_PIXELS_W, AT_PIXELS_H,
                     FACE_ERR_IMAGE_CORRUPT);
    expect_webp_size("3015 x 13267", OVER_PIXELS_W, OVER_PIXELS_H,
                     FACE_ERR_IMAGE_TOO_MANY_PIXELS);
    expect_webp_size("16384 x 16384", FACE_IMAGE_MAX_SIDE, FACE_IMAGE_MAX_SIDE,
                     FACE_ERR_IMAGE_TOO_MANY_PIXELS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_format),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_truncated_jpeg),
        cmocka_unit_test(test_truncated_png),
        cmocka_unit_test(test_truncated_webp),
        cmocka_unit_test(test_corrupt_jpeg),
        cmocka_unit_test(test_corrupt_png),
        cmocka_unit_test(test_byte_limit),
        cmocka_unit_test(test_png_side_limit),
        cmocka_unit_test(test_png_pixel_limit),
        cmocka_unit_test(test_jpeg_side_limit),
        cmocka_unit_test(test_jpeg_pixel_limit),
        cmocka_unit_test(test_webp_pixel_limit),
    };

    return cmocka_run_group_tests_name("face_decode", tests, NULL, NULL);
}
