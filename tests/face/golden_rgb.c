/*
 * golden_rgb.c: plain libjpeg decoding and hashing for the golden cases
 * (see golden_rgb.h).
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

#include "golden_rgb.h"

typedef struct plain_error {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
} plain_error;

static void
plain_error_exit(j_common_ptr cinfo)
{
    longjmp(((plain_error *)cinfo->err)->jump, 1);
}

typedef struct plain_ctx {
    struct jpeg_decompress_struct cinfo;
    plain_error error;
    FILE *file;
    uint8_t *rgb;
    int ok;
} plain_ctx;

static void
plain_decode(plain_ctx *ctx)
{
    ctx->cinfo.err = jpeg_std_error(&ctx->error.mgr);
    ctx->error.mgr.error_exit = plain_error_exit;
    if (setjmp(ctx->error.jump))
        return;
    jpeg_create_decompress(&ctx->cinfo);
    jpeg_stdio_src(&ctx->cinfo, ctx->file);
    jpeg_read_header(&ctx->cinfo, TRUE);
    ctx->cinfo.out_color_space = JCS_RGB;
    ctx->cinfo.do_fancy_upsampling = FALSE;
    ctx->cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&ctx->cinfo);
    ctx->rgb = malloc((size_t)ctx->cinfo.output_width *
                      ctx->cinfo.output_height * 3);
    if (ctx->rgb == NULL)
        return;
    while (ctx->cinfo.output_scanline < ctx->cinfo.output_height) {
        JSAMPROW row = ctx->rgb + (size_t)ctx->cinfo.output_scanline *
                                      ctx->cinfo.output_width * 3;
        jpeg_read_scanlines(&ctx->cinfo, &row, 1);
    }
    jpeg_finish_decompress(&ctx->cinfo);
    ctx->ok = 1;
}

int
golden_decode_plain(const char *path, uint8_t **rgb, int *width, int *height)
{
    plain_ctx *ctx = calloc(1, sizeof(*ctx));
    int status = -1;

    *rgb = NULL;
    if (ctx == NULL)
        return -1;
    ctx->file = fopen(path, "rb");
    if (ctx->file != NULL) {
        plain_decode(ctx);
        if (ctx->ok) {
            *rgb = ctx->rgb;
            *width = (int)ctx->cinfo.output_width;
            *height = (int)ctx->cinfo.output_height;
            ctx->rgb = NULL;
            status = 0;
        }
        jpeg_destroy_decompress(&ctx->cinfo);
        fclose(ctx->file);
    }
    free(ctx->rgb);
    free(ctx);
    return status;
}

uint64_t
golden_fnv1a64(const uint8_t *data, size_t len)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        hash ^= data[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}
