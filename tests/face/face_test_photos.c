/*
 * face_test_photos.c: photo loading helpers for the face tests (see
 * face_test_photos.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "face_test_photos.h"

int
face_test_read(const char *relative, uint8_t **bytes, size_t *len)
{
    const char *shared = getenv("CYBERID_SHARED_DIR");
    char path[4096];
    FILE *file;
    long size;
    int status = -1;

    *bytes = NULL;
    *len = 0;
    if (shared == NULL)
        shared = CYBERID_SHARED_DIR_DEFAULT;
    snprintf(path, sizeof(path), "%s/faces/%s", shared, relative);
    file = fopen(path, "rb");
    if (file == NULL)
        return -1;
    if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 &&
        fseek(file, 0, SEEK_SET) == 0) {
        *bytes = malloc(size > 0 ? (size_t)size : 1);
        if (*bytes != NULL && fread(*bytes, 1, (size_t)size, file) == (size_t)size) {
            *len = (size_t)size;
            status = 0;
        }
    }
    if (status != 0) {
        free(*bytes);
        *bytes = NULL;
    }
    fclose(file);
    return status;
}

int
face_test_decode(const char *relative, face_image *image)
{
    uint8_t *bytes;
    size_t len;
    char err[FACE_ERROR_LEN];
    int status;

    if (face_test_read(relative, &bytes, &len) != 0) {
        fprintf(stderr, "cannot read photo %s\n", relative);
        return FACE_ERR_ARGUMENT;
    }
    status = face_image_decode(image, bytes, len, err, sizeof(err));
    if (status != FACE_OK)
        fprintf(stderr, "%s: %s\n", relative, err);
    free(bytes);
    return status;
}

face_engine *
face_test_engine(void)
{
    face_engine *engine = NULL;
    char err[FACE_ERROR_LEN];

    if (face_engine_load(&engine, CYBERID_DEFAULT_MODELS_DIR, err,
                         sizeof(err)) != FACE_OK)
        fprintf(stderr, "cannot load the face models: %s\n", err);
    return engine;
}
