/*
 * bench_face.c: times the C face engine on one thread per stage (detector,
 * landmarks, alignment + descriptor) and end to end (face_descriptor() on
 * decoded RGB), and prints them beside the face-api wasm figures measured
 * by bench.js on the same photos in the same run, with the ratio.
 * usage: bench_face MODELS RUNS NODE_RESULTS.json PHOTO...
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "face/face_internal.h"

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
load(const char *path, face_image *image)
{
    FILE *file = fopen(path, "rb");
    static uint8_t bytes[FACE_IMAGE_MAX_BYTES];
    char err[FACE_ERROR_LEN];
    size_t len;

    if (file == NULL)
        return -1;
    len = fread(bytes, 1, sizeof(bytes), file);
    fclose(file);
    if (face_image_decode(image, bytes, len, err, sizeof(err)) != FACE_OK) {
        fprintf(stderr, "%s: %s\n", path, err);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    face_engine *engine;
    char err[FACE_ERROR_LEN];
    json_t *node, *images;
    json_error_t jerr;
    int runs, i, r, n = 0;
    double sum_c = 0.0, sum_node = 0.0;
    double tot[4] = {0}, tot_node[4] = {0};

    if (argc < 5) {
        fprintf(stderr, "usage: %s MODELS RUNS NODE.json PHOTO...\n", argv[0]);
        return 2;
    }
    runs = atoi(argv[2]);
    if (face_engine_load(&engine, argv[1], err, sizeof(err)) != FACE_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    node = json_load_file(argv[3], 0, &jerr);
    images = json_object_get(node, "images");
    if (!json_is_object(images)) {
        fprintf(stderr, "%s: no reference figures (%s)\n", argv[3], jerr.text);
        json_decref(node);
        face_engine_free(engine);
        return 1;
    }
    printf("face engine, one thread, %d runs after a warm-up; reference: "
           "face-api %s, tfjs %s, backend %s\n", runs,
           json_string_value(json_object_get(node, "faceapi")),
           json_string_value(json_object_get(node, "tfjs")),
           json_string_value(json_object_get(node, "backend")));
    printf("%-12s %9s %9s %9s %9s | %9s %9s %9s %9s | %6s\n", "ms/image",
           "C detect", "C lmarks", "C descr", "C total", "JS detect",
           "JS lmarks", "JS descr", "JS total", "ratio");
    for (i = 4; i < argc; i++) {
        const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        json_t *js = json_object_get(images, name);
        face_image image;
        face_detection faces[8];
        float desc[FACE_DESCRIPTOR_DIMS];
        double t[4] = {0}, jt[4];
        size_t count;
        int cx, cy, cw, ch, ax, ay, aw, ah;

        if (load(argv[i], &image) != 0 || js == NULL)
            continue;
        for (r = -1; r < runs; r++) {
            double t0 = now_ms(), t1, t2, t3, t4;
            face_detector_run(&engine->detector, &image, faces, 8, &count);
            t1 = now_ms();
            if (count == 0)
                break;
            face_landmark_run(&engine->landmarks, &image, &faces[0]);
            t2 = now_ms();
            face_clip_box(faces[0].box.x, faces[0].box.y, faces[0].box.width,
                          faces[0].box.height, image.width, image.height, &cx,
                          &cy, &cw, &ch);
            face_align_box(faces[0].landmarks, cw, ch, image.width,
                           image.height, &ax, &ay, &aw, &ah);
            face_recognition_run(&engine->recognition, &image, ax, ay, aw, ah,
                                 desc);
            t3 = now_ms();
            face_descriptor(engine, &image, desc, NULL, err, sizeof(err));
            t4 = now_ms();
            if (r >= 0) {
                t[0] += t1 - t0;
                t[1] += t2 - t1;
                t[2] += t3 - t2;
                t[3] += t4 - t3;
            }
        }
        face_image_free(&image);
        if (t[3] == 0.0)
            continue;
        jt[0] = json_number_value(json_object_get(js, "detect_ms"));
        jt[1] = json_number_value(json_object_get(js, "landmarks_ms"));
        jt[2] = json_number_value(json_object_get(js, "descriptor_ms"));
        jt[3] = json_number_value(json_object_get(js, "end_to_end_ms"));
        for (r = 0; r < 4; r++) {
            t[r] /= runs;
            tot[r] += t[r];
            tot_node[r] += jt[r];
        }
        printf("%-12s %9.2f %9.2f %9.2f %9.2f | %9.2f %9.2f %9.2f %9.2f | %5.1fx\n",
               name, t[0], t[1], t[2], t[3], jt[0], jt[1], jt[2], jt[3],
               jt[3] / t[3]);
        sum_c += t[3];
        sum_node += jt[3];
        n++;
    }
    if (n > 0)
        printf("%-12s %9.2f %9.2f %9.2f %9.2f | %9.2f %9.2f %9.2f %9.2f | %5.1fx\n",
               "mean", tot[0] / n, tot[1] / n, tot[2] / n, sum_c / n,
               tot_node[0] / n, tot_node[1] / n, tot_node[2] / n, sum_node / n,
               sum_node / sum_c);
    json_decref(node);
    face_engine_free(engine);
    return n > 0 ? 0 : 1;
}
