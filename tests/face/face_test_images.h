/*
 * face_test_images.h: images made in memory for the decoder tests: PNG
 * files built chunk by chunk (zlib CRCs and deflate), JPEG files encoded
 * with libjpeg, an EXIF orientation segment inserted into a JPEG, and the
 * offsets of the parts a test damages. Every function returns 0 or -1;
 * buffers it returns are the caller's to free().
 */
#ifndef CYBERID_TESTS_FACE_IMAGES_H
#define CYBERID_TESTS_FACE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

/* An 8-bit RGB PNG whose IHDR declares width x height, with one IDAT
 * holding the first `rows` rows (fewer than height: the data is short),
 * taken from rgb (width*rows*3 bytes) or zero when rgb is NULL. */
int face_test_png(uint32_t width, uint32_t height, const uint8_t *rgb,
                  uint32_t rows, uint8_t **png, size_t *len);

/* Offset of the first chunk of the 4-letter type (its length field), and
 * its data length; -1 when absent. */
int face_test_png_chunk(const uint8_t *png, size_t len, const char *type,
                        size_t *offset, size_t *data_len);

/* Rewrites the CRC of the chunk at offset (after its data was changed). */
void face_test_png_fix_crc(uint8_t *png, size_t offset, size_t data_len);

/* Encodes RGB pixels as a baseline JPEG (libjpeg, 4:2:0, quality). */
int face_test_jpeg(const uint8_t *rgb, int width, int height, int quality,
                   uint8_t **jpeg, size_t *len);

/* A copy of a JPEG with an APP1 EXIF segment right after SOI whose IFD0
 * holds Orientation = orientation (a SHORT), in the byte order "II"
 * (little) or "MM" (big), as tests/integration/lib/citizen.mjs builds it. */
int face_test_jpeg_exif(const uint8_t *jpeg, size_t len, int orientation,
                        int big_endian, uint8_t **out, size_t *out_len);

/* Rewrites the frame size in the SOF0/SOF1/SOF2 header. */
int face_test_jpeg_set_size(uint8_t *jpeg, size_t len, unsigned width,
                            unsigned height);

/* The entropy-coded data of the first scan: [start, end), from after the
 * SOS header up to the marker that ends it. */
int face_test_jpeg_scan(const uint8_t *jpeg, size_t len, size_t *start,
                        size_t *end);

#endif
