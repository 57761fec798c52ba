/* strings: bounded string operations that report truncation, UTF-8
 * validation and the two secret-handling primitives (wipe, constant-time
 * compare). Every function that writes takes the destination's capacity. */
#ifndef CYBERID_STRINGS_H
#define CYBERID_STRINGS_H

#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (capacity `cap`, NUL included). Returns 0, or -1 if
 * src does not fit (dst then holds the empty string). */
int string_copy(char *dst, size_t cap, const char *src)
    __attribute__((warn_unused_result));

/* snprintf that returns 0, or -1 on truncation or encoding error. */
int string_format(char *dst, size_t cap, const char *format, ...)
    __attribute__((format(printf, 3, 4), warn_unused_result));

/* Writes a printf-formatted message into an error buffer (buf may be NULL
 * or cap 0: then nothing is written). Always returns -1, so a failing
 * function can `return error_set(err, errlen, "...")`. */
int error_set(char *buf, size_t cap, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 if text[0..length) is well-formed UTF-8 (no overlongs, no surrogates,
 * no code points above U+10FFFF) and holds no control character below
 * U+0020 and no DEL; else 0. */
int utf8_is_clean_text(const char *text, size_t length);

/* Number of code points in well-formed UTF-8. */
size_t utf8_length(const char *text, size_t length);

/* Overwrites memory in a way the compiler cannot drop. */
void secret_wipe(void *memory, size_t length);

/* 1 if a and b are equal, compared in time independent of their contents. */
int secret_equal(const void *a, const void *b, size_t length);

/* Parses a decimal integer in [minimum, maximum] with nothing after it.
 * Returns 0 and sets *out, or -1. */
int parse_integer(const char *text, long long minimum, long long maximum,
                  long long *out) __attribute__((warn_unused_result));

#endif
