/* strings: bounded copies, UTF-8 checks, secret wiping; see strings.h. */
#include "util/strings.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
string_copy(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return -1;
    size_t length = strlen(src);
    if (length >= cap) {
        dst[0] = '\0';
        return -1;
    }
    memcpy(dst, src, length + 1);
    return 0;
}

int
string_format(char *dst, size_t cap, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = vsnprintf(dst, cap, format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return 0;
}

int
error_set(char *buf, size_t cap, const char *format, ...)
{
    if (buf == NULL || cap == 0)
        return -1;
    va_list args;
    va_start(args, format);
    vsnprintf(buf, cap, format, args);
    va_end(args);
    return -1;
}

int
utf8_is_clean_text(const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < length) {
        unsigned c = p[i];
        unsigned code;
        size_t extra;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            code = c & 0x1f;
            extra = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            code = c & 0x0f;
            extra = 2;
        } else if (c >= 0xf0 && c <= 0xf4) {
            code = c & 0x07;
            extra = 3;
        } else {
            return 0;
        }
        if (length - i <= extra)
            return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            code = (code << 6) | (p[i + k] & 0x3f);
        }
        if ((extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) ||
            code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
            return 0;
        i += extra + 1;
    }
    return 1;
}

size_t
utf8_length(const char *text, size_t length)
{
    size_t count = 0;
    for (size_t i = 0; i < length; i++)
        if (((unsigned char)text[i] & 0xc0) != 0x80)
            count++;
    return count;
}

void
secret_wipe(void *memory, size_t length)
{
    OPENSSL_cleanse(memory, length);
}

int
secret_equal(const void *a, const void *b, size_t length)
{
    return CRYPTO_memcmp(a, b, length) == 0;
}

int
parse_integer(const char *text, long long minimum, long long maximum,
              long long *out)
{
    if (text == NULL || *text == '\0')
        return -1;
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum ||
        value > maximum)
        return -1;
    *out = value;
    return 0;
}
