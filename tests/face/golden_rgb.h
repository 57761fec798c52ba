/*
 * golden_rgb.h: rebuilds the exact RGB input of a golden case (the pixels
 * jpeg-js decoded for face-api) from the photo in ../shared/faces and a
 * small committed delta: libjpeg-turbo decodes the photo (no fancy
 * upsampling, ISLOW DCT), the gzip'd per-byte delta (jpeg-js minus
 * libjpeg, mod 256) is added, and an FNV-1a hash checks the result.
 */
#ifndef CYBERID_TESTS_FACE_GOLDEN_RGB_H
#define CYBERID_TESTS_FACE_GOLDEN_RGB_H

#include <stddef.h>
#include <stdint.h>

/* Decodes a JPEG file plainly into a new RGB buffer; 0 or -1. */
int golden_decode_plain(const char *path, uint8_t **rgb, int *width,
                        int *height);
uint64_t golden_fnv1a64(const uint8_t *data, size_t len);

#endif
