/*
 * make_seeds.c: writes a small seed corpus for fuzz_image_decode into a
 * directory: one synthetic picture encoded as baseline, progressive and
 * grayscale JPEG, JPEG with each EXIF orientation (little- and big-endian
 * TIFF headers), PNG (RGBA, RGB, gray + alpha) and WebP (lossy,
 * lossless). Every seed is a few kilobytes, so the fuzzer mutates the
 * format structure rather than pixel data.
 * usage: make_seeds OUTDIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#define SEED_WIDTH 40
#define SEED_HEIGHT 24
#define SEED_PATH_LEN 512
#define SEED_EXIF_LEN 32
#define SEED_JPEG_QUALITY 80
#define SEED_WEBP_QUALITY 75.0f

static uint8_t pixels[SEED_WIDTH * SEED_HEIGHT * 4];

static int
write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[SEED_PATH_LEN];
    FILE *file;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    file = fopen(path, "wb");
    if (file == NULL)
        return -1;
    ok = fwrite(data, 1, len, file) == len;
    return fclose(file) == 0 && ok ? 0 : -1;
}

/* An APP1 EXIF body with one IFD entry: Orientation (0x0112) = value. */
static size_t
exif_body(uint8_t *out, int orientation, int little)
{
    static const uint8_t le[SEED_EXIF_LEN - 6] = {
        'I', 'I', 0x2a, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t be[SEED_EXIF_LEN - 6] = {
        'M', 'M', 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1,
        0, 0, 0, 0, 0, 0, 0, 0};

    memcpy(out, "Exif\0\0", 6);
    memcpy(out + 6, little ? le : be, sizeof(le));
    out[6 + (little ? 18 : 19)] = (uint8_t)orientation;
    return SEED_EXIF_LEN;
}

static int
write_jpeg(const char *dir, const char *name, int gray, int progressive,
           int orientation, int little)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    unsigned char *buffer = NULL;
    unsigned long len = 0;
    uint8_t row[SEED_WIDTH * 3], exif[SEED_EXIF_LEN];
    int x, status;

    cinfo.err = jpeg_std_error(&jerr); /* errors exit: a tool, not the service */
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &len);
    cinfo.image_width = SEED_WIDTH;
    cinfo.image_height = SEED_HEIGHT;
    cinfo.input_components = gray ? 1 : 3;
    cinfo.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, SEED_JPEG_QUALITY, TRUE);
    if (progressive)
        jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    if (orientation > 0)
        jpeg_write_marker(&cinfo, JPEG_APP0 + 1, exif,
                          (unsigned)exif_body(exif, orientation, little));
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = {row};
        const uint8_t *src = pixels + cinfo.next_scanline * SEED_WIDTH * 4;
        for (x = 0; x < SEED_WIDTH * (gray ? 1 : 3); x++)
            row[x] = src[gray ? x * 4 : x / 3 * 4 + x % 3];
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    status = write_file(dir, name, buffer, len);
    free(buffer);
    return status;
}

static int
write_png(const char *dir, const char *name, png_uint_32 format)
{
    static uint8_t converted[SEED_WIDTH * SEED_HEIGHT * 4];
    png_image png;
    png_alloc_size_t len = 0;
    void *buffer = NULL;
    int channels = (int)PNG_IMAGE_PIXEL_CHANNELS(format), i, c, status = -1;

    /* RGBA source pixels to the format: RGB drops alpha, GA keeps red */
    for (i = 0; i < SEED_WIDTH * SEED_HEIGHT; i++)
        for (c = 0; c < channels; c++)
            converted[i * channels + c] =
                pixels[i * 4 + (channels == 2 && c == 1 ? 3 : c)];
    memset(&png, 0, sizeof(png));
    png.version = PNG_IMAGE_VERSION;
    png.width = SEED_WIDTH;
    png.height = SEED_HEIGHT;
    png.format = format;
    if (!png_image_write_get_memory_size(png, len, 0, converted, 0, NULL))
        return -1;
    buffer = malloc(len);
    if (buffer == NULL)
        return -1;
    if (png_image_write_to_memory(&png, buffer, &len, 0, converted, 0, NULL))
        status = write_file(dir, name, buffer, len);
    free(buffer);
    return status;
}

static int
write_webp(const char *dir, const char *name, int lossless)
{
    uint8_t *buffer = NULL;
    size_t len;
    int status;

    len = lossless ? WebPEncodeLosslessRGBA(pixels, SEED_WIDTH, SEED_HEIGHT,
                                            SEED_WIDTH * 4, &buffer)
                   : WebPEncodeRGBA(pixels, SEED_WIDTH, SEED_HEIGHT,
                                    SEED_WIDTH * 4, SEED_WEBP_QUALITY, &buffer);
    if (len == 0)
        return -1;
    status = write_file(dir, name, buffer, len);
    WebPFree(buffer);
    return status;
}

int
main(int argc, char **argv)
{
    char name[SEED_PATH_LEN];
    int x, y, o, failed = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    for (y = 0; y < SEED_HEIGHT; y++)
        for (x = 0; x < SEED_WIDTH; x++) {
            uint8_t *p = pixels + (y * SEED_WIDTH + x) * 4;
            p[0] = (uint8_t)(x * 6);
            p[1] = (uint8_t)(y * 10);
            p[2] = (uint8_t)((x ^ y) * 8);
            p[3] = (uint8_t)(x < SEED_WIDTH / 2 ? 255 : 128);
        }
    failed |= write_jpeg(argv[1], "baseline.jpg", 0, 0, 0, 0);
    failed |= write_jpeg(argv[1], "progressive.jpg", 0, 1, 0, 0);
    failed |= write_jpeg(argv[1], "gray.jpg", 1, 0, 0, 0);
    for (o = 1; o <= 8; o++) {
        snprintf(name, sizeof(name), "exif%d_%s.jpg", o, o % 2 ? "le" : "be");
        failed |= write_jpeg(argv[1], name, 0, o == 6, o, o % 2);
    }
    failed |= write_png(argv[1], "rgba.png", PNG_FORMAT_RGBA);
    failed |= write_png(argv[1], "rgb.png", PNG_FORMAT_RGB);
    failed |= write_png(argv[1], "gray_alpha.png", PNG_FORMAT_GA);
    failed |= write_webp(argv[1], "lossy.webp", 0);
    failed |= write_webp(argv[1], "lossless.webp", 1);
    if (failed)
        fprintf(stderr, "make_seeds: could not write every seed\n");
    return failed ? 1 : 0;
}
