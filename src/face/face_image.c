/*
 * face_image.c: decodes untrusted image bytes into 8-bit RGB. The format is
 * recognised from the bytes (JPEG, PNG, WebP), never from a name; sizes are
 * checked before any pixel buffer is allocated. JPEG is in face_jpeg.c.
 */
#include <openssl/crypto.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>

#include "face/face_image_internal.h"
#include "face/face_internal.h"

int
face_image_check_size(unsigned long width, unsigned long height, char *err,
                      size_t err_len)
{
    if (width == 0 || height == 0)
        return face_error(err, err_len, FACE_ERR_IMAGE_CORRUPT,
                          "image has no pixels");
    if (width > FACE_IMAGE_MAX_SIDE || height > FACE_IMAGE_MAX_SIDE ||
        (unsigned long long)width * height > FACE_IMAGE_MAX_PIXELS)
        return face_error(err, err_len, FACE_ERR_IMAGE_TOO_MANY_PIXELS,
                          "image is %lux%lu pixels; the limit is %u pixels "
                          "and %u per side", width, height,
                          FACE_IMAGE_MAX_PIXELS, FACE_IMAGE_MAX_SIDE);
    return FACE_OK;
}

int
face_image_alloc(face_image *image, int width, int height)
{
    memset(image, 0, sizeof(*image));
    /* sizes were checked by face_image_check_size: no overflow */
    image->rgb = malloc((size_t)width * (size_t)height * 3);
    if (image->rgb == NULL)
        return FACE_ERR_NOMEM;
    image->width = width;
    image->height = height;
    return FACE_OK;
}

void
face_image_free(face_image *image)
{
    if (image == NULL)
        return;
    /* A photo of a face is personal data: no copy stays in freed memory. */
    if (image->rgb != NULL)
        OPENSSL_cleanse(image->rgb, (size_t)image->width * (size_t)image->height * 3);
    free(image->rgb);
    memset(image, 0, sizeof(*image));
}

static unsigned long
read_be32(const uint8_t *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
           (unsigned long)p[2] << 8 | p[3];
}

static int
decode_png(face_image *out, const uint8_t *bytes, size_t len, char *err,
           size_t err_len)
{
    png_image png;
    int status;

    /* IHDR is the first chunk: its size is checked here, before libpng,
     * which would call a side over its own limit (a million) corrupt. */
    if (len >= 24 && memcmp(bytes + 12, "IHDR", 4) == 0) {
        status = face_image_check_size(read_be32(bytes + 16),
                                       read_be32(bytes + 20), err, err_len);
        if (status == FACE_ERR_IMAGE_TOO_MANY_PIXELS)
            return status;
    }
    memset(&png, 0, sizeof(png));
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, bytes, len)) {
        status = face_error(err, err_len, FACE_ERR_IMAGE_CORRUPT,
                            "corrupt PNG: %s", png.message);
        goto cleanup;
    }
    status = face_image_check_size(png.width, png.height, err, err_len);
    if (status != FACE_OK)
        goto cleanup;
    png.format = PNG_FORMAT_RGB;
    status = face_image_alloc(out, (int)png.width, (int)png.height);
    if (status != FACE_OK) {
        face_error(err, err_len, status, "out of memory");
        goto cleanup;
    }
    if (!png_image_finish_read(&png, NULL, out->rgb, 0, NULL)) {
        status = face_error(err, err_len, FACE_ERR_IMAGE_CORRUPT,
                            "corrupt or truncated PNG: %s", png.message);
        goto cleanup;
    }
    status = FACE_OK;
cleanup:
    png_image_free(&png);
    if (status != FACE_OK)
        face_image_free(out);
    return status;
}

static int
decode_webp(face_image *out, const uint8_t *bytes, size_t len, char *err,
            size_t err_len)
{
    WebPBitstreamFeatures features;
    size_t stride, size;
    int status;

    if (WebPGetFeatures(bytes, len, &features) != VP8_STATUS_OK)
        return face_error(err, err_len, FACE_ERR_IMAGE_CORRUPT,
                          "corrupt or truncated WebP");
    if (features.has_animation)
        return face_error(err, err_len, FACE_ERR_IMAGE_FORMAT,
                          "animated WebP is not supported");
    status = face_image_check_size((unsigned long)features.width,
                                   (unsigned long)features.height, err, err_len);
    if (status != FACE_OK)
        return status;
    status = face_image_alloc(out, features.width, features.height);
    if (status != FACE_OK)
        return face_error(err, err_len, status, "out of memory");
    stride = (size_t)features.width * 3;
    size = stride * (size_t)features.height;
    if (WebPDecodeRGBInto(bytes, len, out->rgb, size, (int)stride) == NULL) {
        face_image_free(out);
        return face_error(err, err_len, FACE_ERR_IMAGE_CORRUPT,
                          "corrupt or truncated WebP");
    }
    return FACE_OK;
}

int
face_image_decode(face_image *image_out, const uint8_t *bytes, size_t len,
                  char *err, size_t err_len)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a,
                                         0x1a, 0x0a};

    if (image_out == NULL)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "no output image");
    memset(image_out, 0, sizeof(*image_out));
    if (bytes == NULL && len > 0)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "no image bytes");
    if (len > FACE_IMAGE_MAX_BYTES)
        return face_error(err, err_len, FACE_ERR_IMAGE_TOO_BIG,
                          "image is %zu bytes; the limit is %u", len,
                          FACE_IMAGE_MAX_BYTES);
    if (len >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
        return face_jpeg_decode(image_out, bytes, len, err, err_len);
    if (len >= 8 && memcmp(bytes, png_magic, 8) == 0)
        return decode_png(image_out, bytes, len, err, err_len);
    if (len >= 12 && memcmp(bytes, "RIFF", 4) == 0 &&
        memcmp(bytes + 8, "WEBP", 4) == 0)
        return decode_webp(image_out, bytes, len, err, err_len);
    return face_error(err, err_len, FACE_ERR_IMAGE_FORMAT,
                      "unsupported image format (JPEG, PNG or WebP expected)");
}

int
face_image_from_rgb(face_image *image_out, const uint8_t *rgb, int width,
                    int height, char *err, size_t err_len)
{
    int status;

    if (image_out == NULL)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "no output image");
    memset(image_out, 0, sizeof(*image_out));
    if (rgb == NULL || width <= 0 || height <= 0)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "bad RGB image");
    status = face_image_check_size((unsigned long)width, (unsigned long)height,
                                   err, err_len);
    if (status != FACE_OK)
        return status;
    status = face_image_alloc(image_out, width, height);
    if (status != FACE_OK)
        return face_error(err, err_len, status, "out of memory");
    memcpy(image_out->rgb, rgb, (size_t)width * (size_t)height * 3);
    return FACE_OK;
}
