/*
 * face_jpeg.c: JPEG decoding with libjpeg-turbo for untrusted bytes: a
 * setjmp error manager (libjpeg must never exit()), warnings (a truncated
 * or damaged stream) treated as corruption, size limits checked from the
 * header before decoding, and the EXIF orientation applied.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "face/face_image_internal.h"
#include "face/face_internal.h"

#define JPEG_MAX_MEMORY (512L * 1024L * 1024L)

typedef struct jpeg_error_ctx {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    int warnings;
    char message[JMSG_LENGTH_MAX];
} jpeg_error_ctx;

typedef struct jpeg_decode_ctx {
    struct jpeg_decompress_struct cinfo;
    jpeg_error_ctx error;
    int created;
    face_image raw;      /* decoded pixels before orientation */
    int orientation;
    int status;
} jpeg_decode_ctx;

static void
on_error_exit(j_common_ptr cinfo)
{
    jpeg_error_ctx *error = (jpeg_error_ctx *)cinfo->err;

    (*cinfo->err->format_message)(cinfo, error->message);
    longjmp(error->jump, 1);
}

static void
on_emit_message(j_common_ptr cinfo, int level)
{
    jpeg_error_ctx *error = (jpeg_error_ctx *)cinfo->err;

    if (level < 0) {
        if (error->warnings++ == 0)
            (*cinfo->err->format_message)(cinfo, error->message);
    }
}

static uint32_t
read_u16(const uint8_t *p, int little)
{
    return little ? (uint32_t)p[0] | (uint32_t)p[1] << 8
                  : (uint32_t)p[0] << 8 | (uint32_t)p[1];
}

static uint32_t
read_u32(const uint8_t *p, int little)
{
    return little ? read_u16(p, 1) | read_u16(p + 2, 1) << 16
                  : read_u16(p, 0) << 16 | read_u16(p + 2, 0);
}

int
face_exif_orientation(const uint8_t *app1, size_t len)
{
    const uint8_t *tiff;
    size_t tiff_len, ifd, entries, i;
    int little;

    if (len < 6 + 8 || memcmp(app1, "Exif\0\0", 6) != 0)
        return 1;
    tiff = app1 + 6;
    tiff_len = len - 6;
    if (memcmp(tiff, "II*\0", 4) == 0)
        little = 1;
    else if (memcmp(tiff, "MM\0*", 4) == 0)
        little = 0;
    else
        return 1;
    ifd = read_u32(tiff + 4, little);
    if (ifd > tiff_len || tiff_len - ifd < 2)
        return 1;
    entries = read_u16(tiff + ifd, little);
    for (i = 0; i < entries; i++) {
        size_t at = ifd + 2 + i * 12;
        uint32_t value;
        if (at > tiff_len || tiff_len - at < 12)
            return 1;
        if (read_u16(tiff + at, little) != 0x0112)
            continue;
        if (read_u16(tiff + at + 2, little) != 3 ||
            read_u32(tiff + at + 4, little) != 1)
            return 1;
        value = read_u16(tiff + at + 8, little);
        return value >= 1 && value <= 8 ? (int)value : 1;
    }
    return 1;
}

/* Everything between setjmp and the end of decoding; state lives in *ctx
 * (the caller's), so nothing here is clobbered by longjmp. */
static void
decode_into(jpeg_decode_ctx *ctx, const uint8_t *bytes, size_t len,
            char *err, size_t err_len)
{
    struct jpeg_decompress_struct *cinfo = &ctx->cinfo;
    jpeg_saved_marker_ptr marker;

    cinfo->err = jpeg_std_error(&ctx->error.mgr);
    ctx->error.mgr.error_exit = on_error_exit;
    ctx->error.mgr.emit_message = on_emit_message;
    if (setjmp(ctx->error.jump)) {
        /* a side over libjpeg's own limit (65500) is a size refusal too */
        if (ctx->error.mgr.msg_code == JERR_IMAGE_TOO_BIG)
            ctx->status = face_error(err, err_len,
                                     FACE_ERR_IMAGE_TOO_MANY_PIXELS,
                                     "JPEG too large: %s; the limit is %u "
                                     "pixels per side", ctx->error.message,
                                     FACE_IMAGE_MAX_SIDE);
        else
            ctx->status = face_error(err, err_len, FACE_ERR_IMAGE_CORRUPT,
                                     "corrupt JPEG: %s", ctx->error.message);
        return;
    }
    jpeg_create_decompress(cinfo);
    ctx->created = 1;
    cinfo->mem->max_memory_to_use = JPEG_MAX_MEMORY;
    jpeg_mem_src(cinfo, bytes, (unsigned long)len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(cinfo, TRUE);
    ctx->status = face_image_check_size(cinfo->image_width,
                                        cinfo->image_height, err, err_len);
    if (ctx->status != FACE_OK)
        return;
    for (marker = cinfo->marker_list; marker != NULL; marker = marker->next)
        if (marker->marker == JPEG_APP0 + 1) {
            ctx->orientation = face_exif_orientation(marker->data,
                                                     marker->data_length);
            if (ctx->orientation != 1)
                break;
        }
    cinfo->out_color_space = JCS_RGB;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_components != 3 ||
        face_image_check_size(cinfo->output_width, cinfo->output_height,
                              err, err_len) != FACE_OK) {
        ctx->status = face_error(err, err_len, FACE_ERR_IMAGE_CORRUPT,
                                 "unexpected JPEG output layout");
        return;
    }
    if (face_image_alloc(&ctx->raw, (int)cinfo->output_width,
                         (int)cinfo->output_height) != FACE_OK) {
        ctx->status = face_error(err, err_len, FACE_ERR_NOMEM, "out of memory");
        return;
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = ctx->raw.rgb + (size_t)cinfo->output_scanline *
                                          cinfo->output_width * 3;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    if (ctx->error.warnings > 0) {
        ctx->status = face_error(err, err_len, FACE_ERR_IMAGE_CORRUPT,
                                 "corrupt or truncated JPEG: %s",
                                 ctx->error.message);
        return;
    }
    ctx->status = FACE_OK;
}

/* Applies EXIF orientation 2..8 into a new image. */
static int
orient(const face_image *src, int orientation, face_image *dst)
{
    int w = src->width, h = src->height, swap = orientation >= 5;
    int ow = swap ? h : w, oh = swap ? w : h, ox, oy, sx = 0, sy = 0;

    if (face_image_alloc(dst, ow, oh) != FACE_OK)
        return FACE_ERR_NOMEM;
    for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++) {
            switch (orientation) {
            case 2: sx = w - 1 - ox; sy = oy; break;
            case 3: sx = w - 1 - ox; sy = h - 1 - oy; break;
            case 4: sx = ox; sy = h - 1 - oy; break;
            case 5: sx = oy; sy = ox; break;
            case 6: sx = oy; sy = h - 1 - ox; break;
            case 7: sx = w - 1 - oy; sy = h - 1 - ox; break;
            case 8: sx = w - 1 - oy; sy = ox; break;
            default: sx = ox; sy = oy; break;
            }
            memcpy(dst->rgb + ((size_t)oy * ow + ox) * 3,
                   src->rgb + ((size_t)sy * w + sx) * 3, 3);
        }
    return FACE_OK;
}

int
face_jpeg_decode(face_image *out, const uint8_t *bytes, size_t len, char *err,
                 size_t err_len)
{
    jpeg_decode_ctx *ctx;
    int status;

    memset(out, 0, sizeof(*out));
    ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return face_error(err, err_len, FACE_ERR_NOMEM, "out of memory");
    ctx->orientation = 1;
    ctx->status = FACE_ERR_IMAGE_CORRUPT;
    decode_into(ctx, bytes, len, err, err_len);
    status = ctx->status;
    if (ctx->created)
        jpeg_destroy_decompress(&ctx->cinfo);
    if (status == FACE_OK && ctx->orientation != 1) {
        status = orient(&ctx->raw, ctx->orientation, out);
        if (status != FACE_OK)
            face_error(err, err_len, status, "out of memory");
        face_image_free(&ctx->raw);
    } else if (status == FACE_OK) {
        *out = ctx->raw;
    } else {
        face_image_free(&ctx->raw);
    }
    free(ctx);
    return status;
}
