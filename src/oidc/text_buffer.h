/* text_buffer: a growable text for building HTML pages and URLs piece by
 * piece, with the two escapings they need (HTML text and attributes, and
 * the percent-encoding of a URL query value).
 *
 * Failure is sticky: once an append fails (out of memory, or the text
 * would pass TEXT_BUFFER_MAX) every later append does nothing, and
 * text_buffer_finish() returns NULL. So a builder appends without checking
 * each step and checks once at the end. */
#ifndef CYBERID_OIDC_TEXT_BUFFER_H
#define CYBERID_OIDC_TEXT_BUFFER_H

#include <stddef.h>

#define TEXT_BUFFER_MAX (1024 * 1024)   /* bytes, NUL excluded */
#define TEXT_BUFFER_FORMAT_MAX 256      /* one text_buffer_format() piece,
                                           NUL included */

struct text_buffer {
    char *data;         /* NUL-terminated once anything is appended; owned */
    size_t length;
    size_t capacity;
    int failed;
};

/* An empty buffer (no allocation yet). */
void text_buffer_init(struct text_buffer *buffer);

/* Appends text as is. */
void text_buffer_append(struct text_buffer *buffer, const char *text);
void text_buffer_append_bytes(struct text_buffer *buffer, const char *bytes,
                              size_t length);

/* Appends printf-formatted text of fewer than TEXT_BUFFER_FORMAT_MAX bytes
 * (for numbers: never for untrusted text, which goes through the escaping
 * appends); a longer piece fails the buffer. */
void text_buffer_format(struct text_buffer *buffer, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends text with & < > " ' replaced by character references, so it is
 * safe both as element content and inside a quoted attribute value. */
void text_buffer_append_html(struct text_buffer *buffer, const char *text);

/* Appends text percent-encoded for a URL query component: the unreserved
 * characters of RFC 3986 §2.3 (A-Z a-z 0-9 - . _ ~) as they are, every
 * other byte as %XX (upper-case hex), a space included. */
void text_buffer_append_percent(struct text_buffer *buffer, const char *text);

/* Hands over the text: malloc'd and NUL-terminated (the empty string when
 * nothing was appended), with its length in *length when length is not
 * NULL. NULL when an append failed. Either way the buffer is empty
 * afterwards. */
char *text_buffer_finish(struct text_buffer *buffer, size_t *length);

/* Frees the text (a buffer abandoned without text_buffer_finish()). */
void text_buffer_clear(struct text_buffer *buffer);

#endif
