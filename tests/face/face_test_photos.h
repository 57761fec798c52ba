/*
 * face_test_photos.h: shared helpers for the face tests: read a photo from
 * CYBERID_SHARED_DIR/faces and decode it with the engine's decoder.
 */
#ifndef CYBERID_TESTS_FACE_PHOTOS_H
#define CYBERID_TESTS_FACE_PHOTOS_H

#include <stddef.h>
#include <stdint.h>

#include "face/face.h"

/* Reads CYBERID_SHARED_DIR/faces/<relative> into a new buffer; 0 or -1. */
int face_test_read(const char *relative, uint8_t **bytes, size_t *len);
/* Reads and decodes a photo; returns the face_image_decode() status (or
 * FACE_ERR_ARGUMENT when the file cannot be read). */
int face_test_decode(const char *relative, face_image *image);
/* Loads the engine from CYBERID_DEFAULT_MODELS_DIR; NULL on failure (the
 * message is printed). */
face_engine *face_test_engine(void);

#endif
