/*
 * test_face_model.c: face_engine_load() on missing and damaged model files.
 * The real model files (CYBERID_DEFAULT_MODELS_DIR) are copied into a
 * temporary folder; each case then removes, truncates or flips one byte of
 * one file, and the load must fail with FACE_ERR_MODEL, no engine, and a
 * message that names the file; the copy itself must load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "face/face.h"
#include "../test_support.h"

#define MODEL_FILES 6

/* The files face_engine_load() reads, in the order it reads them. */
static const char *const model_files[MODEL_FILES] = {
    "tiny_face_detector_model-weights_manifest.json",
    "tiny_face_detector_model.bin",
    "face_landmark_68_tiny_model-weights_manifest.json",
    "face_landmark_68_tiny_model.bin",
    "face_recognition_model-weights_manifest.json",
    "face_recognition_model.bin",
};

typedef struct model_copy {
    char *dir;
    unsigned char *bytes[MODEL_FILES];
    size_t len[MODEL_FILES];
} model_copy;

static model_copy copy;

static void
file_path(char *path, size_t size, const char *dir, const char *name)
{
    int n = snprintf(path, size, "%s/%s", dir, name);

    assert_true(n > 0 && (size_t)n < size);
}

static int
read_all(const char *path, unsigned char **bytes, size_t *len)
{
    FILE *file = fopen(path, "rb");
    long size;

    if (file == NULL)
        return -1;
    if (fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) <= 0 ||
        fseek(file, 0, SEEK_SET) != 0 ||
        (*bytes = malloc((size_t)size)) == NULL ||
        fread(*bytes, 1, (size_t)size, file) != (size_t)size) {
        fclose(file);
        return -1;
    }
    *len = (size_t)size;
    fclose(file);
    return 0;
}

static void
write_all(const char *path, const unsigned char *bytes, size_t len)
{
    FILE *file = fopen(path, "wb");

    assert_non_null(file);
    assert_int_equal(fwrite(bytes, 1, len, file), len);
    assert_int_equal(fclose(file), 0);
}

/* Writes file i of the copy as given (len bytes of bytes). */
static void
put_model(int i, const unsigned char *bytes, size_t len)
{
    char path[1024];

    file_path(path, sizeof(path), copy.dir, model_files[i]);
    write_all(path, bytes, len);
}

static int
setup(void **state)
{
    char path[1024];
    int i;

    (void)state;
    copy.dir = test_temp_dir("face-models");
    for (i = 0; i < MODEL_FILES; i++) {
        file_path(path, sizeof(path), CYBERID_DEFAULT_MODELS_DIR,
                  model_files[i]);
        if (read_all(path, &copy.bytes[i], &copy.len[i]) != 0) {
            fprintf(stderr, "cannot read %s (run `make models`)\n", path);
            return -1;
        }
        put_model(i, copy.bytes[i], copy.len[i]);
    }
    return 0;
}

static int
teardown(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < MODEL_FILES; i++)
        free(copy.bytes[i]);
    test_remove_dir(copy.dir);
    return 0;
}

/* Loads from dir; expects FACE_ERR_MODEL, no engine, and `names` (a path)
 * and `says` in the message. */
static void
expect_refused(const char *label, const char *dir, const char *names,
               const char *says)
{
    face_engine *engine = (face_engine *)&copy; /* must be reset to NULL */
    char err[FACE_ERROR_LEN] = "";
    int status;

    status = face_engine_load(&engine, dir, err, sizeof(err));
    printf("  %s: %s: %s\n", label, face_status_code(status), err);
    assert_int_equal(status, FACE_ERR_MODEL);
    assert_null(engine);
    assert_non_null(strstr(err, names));
    assert_non_null(strstr(err, says));
}

static void
test_copy_loads(void **state)
{
    face_engine *engine = NULL;
    char err[FACE_ERROR_LEN];

    (void)state;
    assert_int_equal(face_engine_load(&engine, copy.dir, err, sizeof(err)),
                     FACE_OK);
    assert_non_null(engine);
    face_engine_free(engine);
}

static void
test_empty_folder(void **state)
{
    char *empty = test_temp_dir("face-models-empty");
    char path[1024];

    (void)state;
    file_path(path, sizeof(path), empty, model_files[0]);
    expect_refused("empty folder", empty, path, "cannot open");
    test_remove_dir(empty);
}

static void
test_missing_folder(void **state)
{
    (void)state;
    expect_refused("no such folder", "/nonexistent/cyberid-models",
                   "/nonexistent/cyberid-models/", "cannot open");
}

static void
test_missing_file(void **state)
{
    char path[1024];
    int i;

    (void)state;
    for (i = 0; i < MODEL_FILES; i++) {
        file_path(path, sizeof(path), copy.dir, model_files[i]);
        assert_int_equal(remove(path), 0);
        expect_refused("missing", copy.dir, path, "cannot open");
        put_model(i, copy.bytes[i], copy.len[i]);
    }
}

static void
test_truncated_file(void **state)
{
    char path[1024];
    int i;

    (void)state;
    for (i = 0; i < MODEL_FILES; i++) {
        file_path(path, sizeof(path), copy.dir, model_files[i]);
        put_model(i, copy.bytes[i], copy.len[i] / 2);
        expect_refused("cut in half", copy.dir, path, "SHA-256");
        put_model(i, copy.bytes[i], 0);
        expect_refused("empty file", copy.dir, path, "SHA-256");
        put_model(i, copy.bytes[i], copy.len[i]);
    }
}

static void
test_flipped_byte(void **state)
{
    char path[1024];
    size_t at;
    int i;

    (void)state;
    for (i = 0; i < MODEL_FILES; i++) {
        file_path(path, sizeof(path), copy.dir, model_files[i]);
        /* one bit of one byte in the middle: the file still parses (a
         * weight or a digit of the manifest changes), only its sum tells */
        at = copy.len[i] / 2;
        copy.bytes[i][at] ^= 0x01;
        put_model(i, copy.bytes[i], copy.len[i]);
        copy.bytes[i][at] ^= 0x01;
        expect_refused("one bit flipped", copy.dir, path, "SHA-256");
        put_model(i, copy.bytes[i], copy.len[i]);
    }
    test_copy_loads(state); /* every file restored */
}

static void
test_bad_arguments(void **state)
{
    face_engine *engine = NULL;
    char err[FACE_ERROR_LEN];

    (void)state;
    assert_int_equal(face_engine_load(NULL, copy.dir, err, sizeof(err)),
                     FACE_ERR_ARGUMENT);
    assert_int_equal(face_engine_load(&engine, NULL, err, sizeof(err)),
                     FACE_ERR_ARGUMENT);
    assert_null(engine);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_loads),
        cmocka_unit_test(test_empty_folder),
        cmocka_unit_test(test_missing_folder),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_flipped_byte),
        cmocka_unit_test(test_bad_arguments),
    };

    return cmocka_run_group_tests_name("face_model", tests, setup, teardown);
}
