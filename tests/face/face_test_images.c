/*
 * face_test_images.c: PNG, JPEG and EXIF bytes made in memory for the
 * decoder tests (see face_test_images.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <zlib.h>

#include "face_test_images.h"

static void
put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t
get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Appends one chunk (length, type, data, CRC of type and data) at *at. */
static size_t
put_chunk(uint8_t *out, size_t at, const char *type, const uint8_t *data,
          size_t len)
{
    put_u32be(out + at, (uint32_t)len);
    memcpy(out + at + 4, type, 4);
    if (len > 0)
        memcpy(out + at + 8, data, len);
    face_test_png_fix_crc(out, at, len);
    return at + 12 + len;
}

void
face_test_png_fix_crc(uint8_t *png, size_t offset, size_t data_len)
{
    uLong crc = crc32(0L, Z_NULL, 0);

    crc = crc32(crc, png + offset + 4, (uInt)(4 + data_len));
    put_u32be(png + offset + 8 + data_len, (uint32_t)crc);
}

int
face_test_png(uint32_t width, uint32_t height, const uint8_t *rgb,
              uint32_t rows, uint8_t **png, size_t *len)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a,
                                         0x1a, 0x0a};
    size_t row_bytes = 1 + (size_t)width * 3, raw_len = row_bytes * rows, y;
    uint8_t ihdr[13], *raw, *out;
    uLongf packed_len = compressBound((uLong)raw_len);
    size_t at;

    *png = NULL;
    *len = 0;
    raw = calloc(raw_len > 0 ? raw_len : 1, 1);
    out = malloc(8 + 25 + 12 + packed_len + 12);
    if (raw == NULL || out == NULL)
        goto fail;
    for (y = 0; rgb != NULL && y < rows; y++) /* filter byte 0: none */
        memcpy(raw + y * row_bytes + 1, rgb + y * (size_t)width * 3,
               (size_t)width * 3);
    put_u32be(ihdr, width);
    put_u32be(ihdr + 4, height);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    memcpy(out, signature, 8);
    at = put_chunk(out, 8, "IHDR", ihdr, sizeof(ihdr));
    if (compress2(out + at + 8, &packed_len, raw, (uLong)raw_len, 9) != Z_OK)
        goto fail;
    put_u32be(out + at, (uint32_t)packed_len);
    memcpy(out + at + 4, "IDAT", 4);
    face_test_png_fix_crc(out, at, packed_len);
    at += 12 + packed_len;
    at = put_chunk(out, at, "IEND", NULL, 0);
    free(raw);
    *png = out;
    *len = at;
    return 0;
fail:
    free(raw);
    free(out);
    return -1;
}

int
face_test_png_chunk(const uint8_t *png, size_t len, const char *type,
                    size_t *offset, size_t *data_len)
{
    size_t at = 8;

    while (at + 12 <= len) {
        uint32_t n = get_u32be(png + at);
        if (n > len - at - 12)
            return -1;
        if (memcmp(png + at + 4, type, 4) == 0) {
            *offset = at;
            *data_len = n;
            return 0;
        }
        at += 12 + (size_t)n;
    }
    return -1;
}

int
face_test_jpeg(const uint8_t *rgb, int width, int height, int quality,
               uint8_t **jpeg, size_t *len)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    unsigned char *buffer = NULL;
    unsigned long size = 0;
    JSAMPROW row;

    /* libjpeg's default error handler exits: acceptable in a test, where
     * the input is always valid and an exit fails the test. */
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *jpeg = buffer;
    *len = size;
    return buffer != NULL && size > 0 ? 0 : -1;
}

int
face_test_jpeg_exif(const uint8_t *jpeg, size_t len, int orientation,
                    int big_endian, uint8_t **out, size_t *out_len)
{
    /* "Exif\0\0", then TIFF: byte order, 42, IFD0 at 8; one entry
     * (tag 0x0112, type 3 SHORT, count 1, value); no next IFD. */
    uint8_t tiff[8 + 2 + 12 + 4] = {0};
    size_t payload = 6 + sizeof(tiff), segment = 2 + 2 + payload;
    uint8_t *copy;

    *out = NULL;
    *out_len = 0;
    if (len < 2 || jpeg[0] != 0xff || jpeg[1] != 0xd8)
        return -1;
    if (big_endian) {
        memcpy(tiff, "MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01", 18);
        tiff[18] = (uint8_t)(orientation >> 8);
        tiff[19] = (uint8_t)orientation;
    } else {
        memcpy(tiff, "II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0", 18);
        tiff[18] = (uint8_t)orientation;
        tiff[19] = (uint8_t)(orientation >> 8);
    }
    copy = malloc(len + segment);
    if (copy == NULL)
        return -1;
    copy[0] = 0xff;
    copy[1] = 0xd8;
    copy[2] = 0xff;
    copy[3] = 0xe1; /* APP1 */
    copy[4] = (uint8_t)((payload + 2) >> 8);
    copy[5] = (uint8_t)(payload + 2);
    memcpy(copy + 6, "Exif\0\0", 6);
    memcpy(copy + 12, tiff, sizeof(tiff));
    memcpy(copy + 2 + segment, jpeg + 2, len - 2);
    *out = copy;
    *out_len = len + segment;
    return 0;
}

/* Finds the segment of marker 0xFF<code> before the first scan (or the
 * SOS itself); its offset (at 0xFF) and length field. */
static int
find_segment(const uint8_t *jpeg, size_t len, int (*match)(uint8_t),
             size_t *offset, size_t *seg_len)
{
    size_t at = 2;

    while (at + 4 <= len && jpeg[at] == 0xff) {
        uint8_t code = jpeg[at + 1];
        size_t n = (size_t)jpeg[at + 2] << 8 | jpeg[at + 3];
        if (n < 2 || n > len - at - 2)
            return -1;
        if (match(code)) {
            *offset = at;
            *seg_len = n;
            return 0;
        }
        if (code == 0xda)
            return -1;
        at += 2 + n;
    }
    return -1;
}

static int
is_sof(uint8_t code)
{
    return code == 0xc0 || code == 0xc1 || code == 0xc2;
}

static int
is_sos(uint8_t code)
{
    return code == 0xda;
}

int
face_test_jpeg_set_size(uint8_t *jpeg, size_t len, unsigned width,
                        unsigned height)
{
    size_t at, n;

    if (width > 0xffff || height > 0xffff ||
        find_segment(jpeg, len, is_sof, &at, &n) != 0 || n < 8)
        return -1;
    jpeg[at + 5] = (uint8_t)(height >> 8);
    jpeg[at + 6] = (uint8_t)height;
    jpeg[at + 7] = (uint8_t)(width >> 8);
    jpeg[at + 8] = (uint8_t)width;
    return 0;
}

int
face_test_jpeg_scan(const uint8_t *jpeg, size_t len, size_t *start,
                    size_t *end)
{
    size_t at, n, i;

    if (find_segment(jpeg, len, is_sos, &at, &n) != 0)
        return -1;
    *start = at + 2 + n;
    for (i = *start; i + 1 < len; i++)
        if (jpeg[i] == 0xff && jpeg[i + 1] != 0x00 &&
            !(jpeg[i + 1] >= 0xd0 && jpeg[i + 1] <= 0xd7)) {
            *end = i;
            return 0;
        }
    return -1;
}
