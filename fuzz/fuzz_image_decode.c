/*
 * fuzz_image_decode.c: libFuzzer target for the image decode path
 * (format sniffing, JPEG with EXIF, PNG, WebP, size limits). Any input must
 * either decode to a consistent image or fail with a face_status, without
 * crashing, leaking or touching memory out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face/face.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    face_image image;
    char err[FACE_ERROR_LEN];
    int status = face_image_decode(&image, data, size, err, sizeof(err));

    if (status == FACE_OK) {
        size_t n = (size_t)image.width * (size_t)image.height * 3;
        volatile uint8_t sum = 0;
        if (image.width <= 0 || image.height <= 0 || image.rgb == NULL)
            abort();
        /* touch first and last byte: the buffer must be complete */
        sum ^= image.rgb[0];
        sum ^= image.rgb[n - 1];
        (void)sum;
    } else if (image.rgb != NULL || status >= 0 || err[0] == '\0') {
        abort();
    }
    face_image_free(&image);
    return 0;
}
