/* text_buffer: growable text with HTML and percent escaping; see
 * text_buffer.h. */
#include "oidc/text_buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_BUFFER_INITIAL 1024

static const char HEX_DIGITS[] = "0123456789ABCDEF";

void
text_buffer_init(struct text_buffer *buffer)
{
    memset(buffer, 0, sizeof *buffer);
}

/* Makes room for `extra` more bytes and the NUL. 0, or -1 (and failed). */
static int
reserve(struct text_buffer *buffer, size_t extra)
{
    if (buffer->failed)
        return -1;
    if (extra > TEXT_BUFFER_MAX - buffer->length) {
        buffer->failed = 1;
        return -1;
    }
    size_t needed = buffer->length + extra + 1;
    if (needed <= buffer->capacity)
        return 0;
    size_t capacity = buffer->capacity ? buffer->capacity : TEXT_BUFFER_INITIAL;
    while (capacity < needed)
        capacity *= 2;
    char *grown = realloc(buffer->data, capacity);
    if (grown == NULL) {
        buffer->failed = 1;
        return -1;
    }
    buffer->data = grown;
    buffer->capacity = capacity;
    return 0;
}

void
text_buffer_append_bytes(struct text_buffer *buffer, const char *bytes, size_t length)
{
    if (reserve(buffer, length) != 0)
        return;
    if (length > 0)
        memcpy(buffer->data + buffer->length, bytes, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
}

void
text_buffer_append(struct text_buffer *buffer, const char *text)
{
    text_buffer_append_bytes(buffer, text, strlen(text));
}

void
text_buffer_format(struct text_buffer *buffer, const char *format, ...)
{
    char piece[TEXT_BUFFER_FORMAT_MAX];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(piece, sizeof piece, format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= sizeof piece) {
        buffer->failed = 1;
        return;
    }
    text_buffer_append_bytes(buffer, piece, (size_t)n);
}

void
text_buffer_append_html(struct text_buffer *buffer, const char *text)
{
    for (const char *run = text; *run != '\0';) {
        size_t plain = strcspn(run, "&<>\"'");
        text_buffer_append_bytes(buffer, run, plain);
        run += plain;
        const char *reference = NULL;
        switch (*run) {
        case '&': reference = "&amp;"; break;
        case '<': reference = "&lt;"; break;
        case '>': reference = "&gt;"; break;
        case '"': reference = "&quot;"; break;
        case '\'': reference = "&#39;"; break;
        default: return; /* the end of text */
        }
        text_buffer_append(buffer, reference);
        run++;
    }
}

static int
is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

void
text_buffer_append_percent(struct text_buffer *buffer, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        if (is_unreserved(*c)) {
            text_buffer_append_bytes(buffer, (const char *)c, 1);
        } else {
            char escape[3] = {'%', HEX_DIGITS[*c >> 4], HEX_DIGITS[*c & 0x0f]};
            text_buffer_append_bytes(buffer, escape, sizeof escape);
        }
    }
}

char *
text_buffer_finish(struct text_buffer *buffer, size_t *length)
{
    if (buffer->data == NULL && reserve(buffer, 0) == 0)
        buffer->data[0] = '\0'; /* nothing appended: the empty string */
    if (buffer->failed) {
        text_buffer_clear(buffer);
        return NULL;
    }
    char *text = buffer->data;
    if (length != NULL)
        *length = buffer->length;
    text_buffer_init(buffer);
    return text;
}

void
text_buffer_clear(struct text_buffer *buffer)
{
    free(buffer->data);
    text_buffer_init(buffer);
}
