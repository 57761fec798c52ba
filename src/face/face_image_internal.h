/*
 * face_image_internal.h: helpers shared by the image decoders of src/face/
 * (face_image.c, face_jpeg.c). Not part of the public interface.
 */
#ifndef CYBERID_FACE_IMAGE_INTERNAL_H
#define CYBERID_FACE_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "face/face.h"

/* FACE_OK, FACE_ERR_IMAGE_CORRUPT (no pixels) or
 * FACE_ERR_IMAGE_TOO_MANY_PIXELS. */
int face_image_check_size(unsigned long width, unsigned long height,
                          char *err, size_t err_len);
/* Allocates width*height*3 bytes (sizes already checked); FACE_OK or
 * FACE_ERR_NOMEM. */
int face_image_alloc(face_image *image, int width, int height);
/* Decodes a JPEG and applies its EXIF orientation. */
int face_jpeg_decode(face_image *out, const uint8_t *bytes, size_t len,
                     char *err, size_t err_len);
/* EXIF orientation (1..8) from an APP1 payload; 1 when absent or invalid. */
int face_exif_orientation(const uint8_t *app1, size_t len);

#endif
