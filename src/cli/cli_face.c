/*
 * cli_face.c: `cyberid face detect IMAGE`, `cyberid face compare A B`,
 * `cyberid face liveness FRONTAL TURNED turn_left|turn_right` and
 * `cyberid face descriptor IMAGE`: run the face engine on image files and
 * print JSON results on stdout; a refusal prints
 * {"error": code, "error_description": text} on stdout, the text on stderr,
 * and exits 1 (2 for a usage error: bad arguments, an unreadable file, an
 * unknown challenge). Option: --models DIR (default $CYBERID_MODELS_DIR,
 * else the build's models directory).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "face/face.h"

#define CLI_FACE_MAX_DETECTIONS 64
#define MODELS_DIR_ENV "CYBERID_MODELS_DIR"

static void
print_json(json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_REAL_PRECISION(6));

    if (text != NULL) {
        printf("%s\n", text);
        free(text);
    }
    json_decref(value);
}

/* Prints the error object on stdout and its text on stderr; returns the
 * exit status (1: refused; 2: usage: a bad argument or challenge). */
static int
print_error(int status, const char *description)
{
    print_json(json_pack("{s:s, s:s}", "error", face_status_code(status),
                         "error_description", description));
    fprintf(stderr, "cyberid face: %s: %s\n", face_status_code(status),
            description);
    return status == FACE_ERR_ARGUMENT || status == FACE_ERR_LIVENESS_CHALLENGE
               ? 2 : 1;
}

/* Reads and decodes an image file (at most FACE_IMAGE_MAX_BYTES + 1 bytes
 * are read, so an oversized file is refused by the decoder). */
static int
load_image(const char *path, face_image *image, char *err, size_t err_len)
{
    size_t cap = (size_t)FACE_IMAGE_MAX_BYTES + 1, len;
    unsigned char *bytes = NULL;
    FILE *file;
    int status;

    memset(image, 0, sizeof(*image));
    file = fopen(path, "rb");
    if (file == NULL) {
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return FACE_ERR_ARGUMENT;
    }
    bytes = malloc(cap);
    if (bytes == NULL) {
        fclose(file);
        snprintf(err, err_len, "out of memory");
        return FACE_ERR_NOMEM;
    }
    len = fread(bytes, 1, cap, file);
    if (ferror(file)) {
        snprintf(err, err_len, "cannot read %s", path);
        status = FACE_ERR_ARGUMENT;
    } else {
        status = face_image_decode(image, bytes, len, err, err_len);
    }
    fclose(file);
    free(bytes);
    return status;
}

static json_t *
detection_json(const face_detection *face)
{
    json_t *landmarks = json_array();
    int i;

    for (i = 0; i < FACE_LANDMARK_POINTS; i++)
        json_array_append_new(landmarks,
                              json_pack("[f,f]", (double)face->landmarks[i].x,
                                        (double)face->landmarks[i].y));
    return json_pack("{s:f, s:{s:f, s:f, s:f, s:f}, s:f, s:o}",
                     "score", (double)face->score, "box", "x",
                     (double)face->box.x, "y", (double)face->box.y, "width",
                     (double)face->box.width, "height",
                     (double)face->box.height, "yaw",
                     (double)face_yaw(face->landmarks), "landmarks", landmarks);
}

static int
run_detect(const face_engine *engine, const char *path)
{
    face_detection *faces = NULL;
    face_image image;
    char err[FACE_ERROR_LEN];
    size_t count = 0, i, shown;
    json_t *list;
    int status;

    status = load_image(path, &image, err, sizeof(err));
    if (status != FACE_OK)
        return print_error(status, err);
    faces = calloc(CLI_FACE_MAX_DETECTIONS, sizeof(*faces));
    if (faces == NULL) {
        face_image_free(&image);
        return print_error(FACE_ERR_NOMEM, "out of memory");
    }
    status = face_detect(engine, &image, faces, CLI_FACE_MAX_DETECTIONS,
                         &count, err, sizeof(err));
    if (status != FACE_OK) {
        free(faces);
        face_image_free(&image);
        return print_error(status, err);
    }
    list = json_array();
    shown = count < CLI_FACE_MAX_DETECTIONS ? count : CLI_FACE_MAX_DETECTIONS;
    for (i = 0; i < shown; i++)
        json_array_append_new(list, detection_json(&faces[i]));
    print_json(json_pack("{s:s, s:i, s:i, s:I, s:o}", "image", path, "width",
                         image.width, "height", image.height, "face_count",
                         (json_int_t)count, "faces", list));
    free(faces);
    face_image_free(&image);
    return 0;
}

static int
run_compare(const face_engine *engine, const char *path_a, const char *path_b)
{
    face_image a, b;
    face_verify_result result;
    char err[FACE_ERROR_LEN], described[FACE_ERROR_LEN + 64];
    int status;

    status = load_image(path_a, &a, err, sizeof(err));
    if (status != FACE_OK)
        return print_error(status, err);
    status = load_image(path_b, &b, err, sizeof(err));
    if (status == FACE_OK)
        status = face_verify(engine, &a, &b, &result, err, sizeof(err));
    face_image_free(&a);
    face_image_free(&b);
    if (status != FACE_OK) {
        snprintf(described, sizeof(described), "%s", err);
        return print_error(status, described);
    }
    print_json(json_pack("{s:f, s:b, s:f}", "distance", (double)result.distance,
                         "same_person", result.same_person, "threshold",
                         (double)FACE_SAME_PERSON_THRESHOLD));
    return 0;
}

static int
run_liveness(const face_engine *engine, const char *frontal_path,
             const char *turned_path, const char *challenge_name)
{
    face_image frontal, turned;
    face_liveness_result result;
    char err[FACE_ERROR_LEN];
    face_turn challenge;
    int status;

    if (strcmp(challenge_name, "turn_left") == 0)
        challenge = FACE_TURN_LEFT;
    else if (strcmp(challenge_name, "turn_right") == 0)
        challenge = FACE_TURN_RIGHT;
    else
        return print_error(FACE_ERR_LIVENESS_CHALLENGE,
                           "challenge must be turn_left or turn_right");
    status = load_image(frontal_path, &frontal, err, sizeof(err));
    if (status != FACE_OK)
        return print_error(status, err);
    status = load_image(turned_path, &turned, err, sizeof(err));
    if (status == FACE_OK)
        status = face_liveness_check(engine, &frontal, &turned, challenge,
                                     &result, err, sizeof(err));
    face_image_free(&frontal);
    face_image_free(&turned);
    if (status != FACE_OK)
        return print_error(status, err);
    print_json(json_pack("{s:s, s:b, s:b, s:b, s:f, s:f, s:f}", "challenge",
                         challenge_name, "live", result.live, "turned",
                         result.turned, "same_person", result.same_person,
                         "yaw_frontal", (double)result.yaw_frontal,
                         "yaw_turned", (double)result.yaw_turned, "distance",
                         (double)result.distance));
    return 0;
}

/* Prints {"descriptor": [...]} on one line, each value with "%.9g": nine
 * significant digits read back as the same float32, so the numbers are
 * exactly the engine's (FLT_DECIMAL_DIG is 9). */
static int
run_descriptor(const face_engine *engine, const char *path)
{
    float descriptor[FACE_DESCRIPTOR_DIMS];
    face_image image;
    char err[FACE_ERROR_LEN];
    int status, i;

    status = load_image(path, &image, err, sizeof(err));
    if (status != FACE_OK)
        return print_error(status, err);
    status = face_descriptor(engine, &image, descriptor, NULL, err,
                             sizeof(err));
    face_image_free(&image);
    if (status != FACE_OK)
        return print_error(status, err);
    for (i = 0; i < FACE_DESCRIPTOR_DIMS; i++)
        if (!isfinite(descriptor[i]))
            return print_error(FACE_ERR_MODEL,
                               "the models gave a non-finite descriptor");
    printf("{\"descriptor\": [");
    for (i = 0; i < FACE_DESCRIPTOR_DIMS; i++)
        printf("%s%.9g", i > 0 ? ", " : "", (double)descriptor[i]);
    printf("]}\n");
    return 0;
}

static int
usage(FILE *out)
{
    fprintf(out,
            "usage: cyberid face [--models DIR] detect IMAGE\n"
            "       cyberid face [--models DIR] compare IMAGE_A IMAGE_B\n"
            "       cyberid face [--models DIR] liveness FRONTAL TURNED "
            "turn_left|turn_right\n"
            "       cyberid face [--models DIR] descriptor IMAGE\n");
    return out == stdout ? 0 : 2;
}

int
cli_face(int argc, char **argv)
{
    const char *models = getenv(MODELS_DIR_ENV);
    const char *args[4];
    int nargs = 0, i, result;
    face_engine *engine = NULL;
    char err[FACE_ERROR_LEN];

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--models") == 0 && i + 1 < argc)
            models = argv[++i];
        else if (strcmp(argv[i], "--help") == 0)
            return usage(stdout);
        else if (strncmp(argv[i], "--", 2) == 0 || nargs == 4)
            return usage(stderr);
        else
            args[nargs++] = argv[i];
    }
    if (nargs < 1 ||
        !((strcmp(args[0], "detect") == 0 && nargs == 2) ||
          (strcmp(args[0], "compare") == 0 && nargs == 3) ||
          (strcmp(args[0], "liveness") == 0 && nargs == 4) ||
          (strcmp(args[0], "descriptor") == 0 && nargs == 2)))
        return usage(stderr);
    if (models == NULL || models[0] == '\0')
        models = CYBERID_DEFAULT_MODELS_DIR;
    result = face_engine_load(&engine, models, err, sizeof(err));
    if (result != FACE_OK)
        return print_error(result, err);
    if (strcmp(args[0], "detect") == 0)
        result = run_detect(engine, args[1]);
    else if (strcmp(args[0], "compare") == 0)
        result = run_compare(engine, args[1], args[2]);
    else if (strcmp(args[0], "descriptor") == 0)
        result = run_descriptor(engine, args[1]);
    else
        result = run_liveness(engine, args[1], args[2], args[3]);
    face_engine_free(engine);
    return result;
}
