/* test_support: temporary folders and files for the unit tests. Header
 * only, so each test binary stays one file plus this. */
#ifndef CYBERID_TEST_SUPPORT_H
#define CYBERID_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh folder under $CYBERID_TEST_TMP (or /tmp); caller frees. */
static inline char *
test_temp_dir(const char *label)
{
    const char *base = getenv("CYBERID_TEST_TMP");
    char *path = malloc(1024);
    assert_non_null(path);
    snprintf(path, 1024, "%s/%s-XXXXXX", base ? base : "/tmp", label);
    assert_non_null(mkdtemp(path));
    return path;
}

static inline int
test_remove_entry(const char *path, const struct stat *info, int flag,
                  struct FTW *ftw)
{
    (void)info; (void)flag; (void)ftw;
    return remove(path);
}

/* Removes a folder tree and frees its path. */
static inline void
test_remove_dir(char *path)
{
    nftw(path, test_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

static inline void
test_write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

/* 1 if needle occurs in the file's bytes (a missing file holds nothing). */
static inline int
test_file_contains(const char *path, const void *needle, size_t length)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return 0;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *bytes = malloc((size_t)size + 1);
    assert_non_null(bytes);
    size_t got = fread(bytes, 1, (size_t)size, file);
    fclose(file);
    int found = got >= length && memmem(bytes, got, needle, length) != NULL;
    free(bytes);
    return found;
}

#endif
