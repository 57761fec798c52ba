/*
 * face_golden_tool.c: turns one golden.js output directory into the small
 * committed golden case: rgb_delta.gz (jpeg-js RGB minus a plain libjpeg
 * decode of the photo, per byte) and expected.json (face-api's detections,
 * 68 landmarks, aligned box and descriptor). Run by
 * tests/face/golden/regenerate.sh; not a test.
 *
 * usage: face_golden_tool PHOTO GOLDEN_JS_OUTDIR CASE_DIR PHOTO_NAME
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "golden_rgb.h"

static float *
read_f32(const char *dir, const char *name, size_t count)
{
    char path[4096];
    FILE *file;
    float *data = malloc(count * sizeof(float));

    snprintf(path, sizeof(path), "%s/%s.f32", dir, name);
    file = fopen(path, "rb");
    if (data == NULL || file == NULL ||
        fread(data, sizeof(float), count, file) != count) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    fclose(file);
    return data;
}

int
main(int argc, char **argv)
{
    char path[4096];
    uint8_t *plain = NULL, *truth;
    float *rgb_f32, *descriptor;
    int width, height;
    size_t n, i;
    json_t *index, *out, *arr;
    json_error_t jerr;
    gzFile gz;
    char hash[32];

    if (argc != 5) {
        fprintf(stderr, "usage: %s PHOTO GOLDEN_DIR CASE_DIR PHOTO_NAME\n", argv[0]);
        return 2;
    }
    if (golden_decode_plain(argv[1], &plain, &width, &height) != 0) {
        fprintf(stderr, "cannot decode %s\n", argv[1]);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/index.json", argv[2]);
    index = json_load_file(path, 0, &jerr);
    if (index == NULL) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return 1;
    }
    n = (size_t)width * height * 3;
    rgb_f32 = read_f32(argv[2], "image_rgb", n);
    descriptor = read_f32(argv[2], "descriptor", 128);
    truth = malloc(n);
    for (i = 0; i < n; i++)
        truth[i] = (uint8_t)rgb_f32[i];
    snprintf(path, sizeof(path), "%s/rgb_delta.gz", argv[3]);
    gz = gzopen(path, "wb9");
    for (i = 0; i < n; i++) {
        uint8_t d = (uint8_t)(truth[i] - plain[i]);
        gzputc(gz, d);
    }
    gzclose(gz);
    snprintf(hash, sizeof(hash), "%016" PRIx64, golden_fnv1a64(truth, n));
    out = json_object();
    json_object_set_new(out, "photo", json_string(argv[4]));
    json_object_set_new(out, "width", json_integer(width));
    json_object_set_new(out, "height", json_integer(height));
    json_object_set_new(out, "rgb_fnv1a64", json_string(hash));
    json_object_set(out, "faceapi", json_object_get(index, "faceapi"));
    json_object_set(out, "tfjs", json_object_get(index, "tfjs"));
    json_object_set(out, "backend", json_object_get(index, "backend"));
    json_object_set(out, "detections",
                    json_object_get(json_object_get(index, "detection"), "all"));
    json_object_set(out, "landmarks",
                    json_object_get(json_object_get(index, "pipeline"), "landmarks"));
    json_object_set(out, "aligned_box",
                    json_object_get(json_object_get(index, "pipeline"), "alignedBoxDlib"));
    arr = json_array();
    for (i = 0; i < 128; i++)
        json_array_append_new(arr, json_real(descriptor[i]));
    json_object_set_new(out, "descriptor", arr);
    snprintf(path, sizeof(path), "%s/expected.json", argv[3]);
    json_dump_file(out, path, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
    json_decref(out);
    json_decref(index);
    free(plain);
    free(truth);
    free(rgb_f32);
    free(descriptor);
    return 0;
}
