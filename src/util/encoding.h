/* encoding: hex and base64url (RFC 4648 §5, no padding) for bytes that
 * travel as text: ids, secrets, hashes. Outputs carry their capacity. */
#ifndef CYBERID_ENCODING_H
#define CYBERID_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to hex-encode n bytes, NUL included. */
#define HEX_ENCODED_SIZE(n) ((n) * 2 + 1)
/* Characters needed to base64url-encode n bytes, NUL included. */
#define BASE64URL_ENCODED_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/* Lower-case hex of bytes[0..length) into out (capacity cap). 0 or -1. */
int hex_encode(const uint8_t *bytes, size_t length, char *out, size_t cap)
    __attribute__((warn_unused_result));

/* Decodes exactly `length` bytes from 2*length hex digits. 0 or -1. */
int hex_decode(const char *text, uint8_t *out, size_t length)
    __attribute__((warn_unused_result));

/* base64url without padding. 0 or -1 when cap is too small. */
int base64url_encode(const uint8_t *bytes, size_t length, char *out,
                     size_t cap) __attribute__((warn_unused_result));

/* Decodes base64url (padding optional). Returns 0 and sets *out_length, or
 * -1 on a bad character, bad length or when the result exceeds cap. */
int base64url_decode(const char *text, size_t text_length, uint8_t *out,
                     size_t cap, size_t *out_length)
    __attribute__((warn_unused_result));

#endif
