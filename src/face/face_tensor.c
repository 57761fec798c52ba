/*
 * face_tensor.c: float tensors (allocation with checked sizes) and the
 * module's error-message helper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

int
face_error(char *err, size_t err_len, int status, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && err_len > 0) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

int
face_mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > (size_t)-1 / b)
        return -1;
    *out = a * b;
    return 0;
}

static int
tensor_bytes(int h, int w, int c, size_t *bytes)
{
    size_t n;

    if (h <= 0 || w <= 0 || c <= 0)
        return -1;
    if (face_mul_size((size_t)h, (size_t)w, &n) != 0 ||
        face_mul_size(n, (size_t)c, &n) != 0 ||
        face_mul_size(n, sizeof(float), bytes) != 0)
        return -1;
    return 0;
}

int
face_tensor_alloc(face_tensor *t, int h, int w, int c)
{
    size_t bytes;

    memset(t, 0, sizeof(*t));
    if (tensor_bytes(h, w, c, &bytes) != 0)
        return -1;
    t->data = malloc(bytes);
    if (t->data == NULL)
        return -1;
    t->h = h;
    t->w = w;
    t->c = c;
    return 0;
}

int
face_tensor_zeros(face_tensor *t, int h, int w, int c)
{
    size_t bytes;

    memset(t, 0, sizeof(*t));
    if (tensor_bytes(h, w, c, &bytes) != 0)
        return -1;
    t->data = calloc(1, bytes);
    if (t->data == NULL)
        return -1;
    t->h = h;
    t->w = w;
    t->c = c;
    return 0;
}

void
face_tensor_free(face_tensor *t)
{
    if (t == NULL)
        return;
    free(t->data);
    memset(t, 0, sizeof(*t));
}

void
face_tensor_move(face_tensor *dst, face_tensor *src)
{
    face_tensor_free(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}
