/* encoding: hex, base64url (RFC 4648 §5, no padding) and lower-case
 * base32 for bytes that travel as text: ids, secrets, hashes, pairwise
 * subjects. Outputs carry their capacity. */
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

/* The value of one hex digit (either case), or -1. */
int hex_digit_value(char c);

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

/* RFC 4648 §6 base32 with the lower-case alphabet
 * "abcdefghijklmnopqrstuvwxyz234567", most significant bit first, no
 * padding, the first `chars` characters only (chars <= 8 * length / 5
 * rounded up), NUL-terminated in out (capacity cap > chars). 0 or -1. */
int base32_lower_encode(const uint8_t *bytes, size_t length, size_t chars, char *out,
                        size_t cap) __attribute__((warn_unused_result));

/* Standard base64 (RFC 4648 §4, with padding), for large byte strings in
 * JSON (photos, certificates). Both go through OpenSSL's EVP_Encode and
 * EVP_Decode, the library's hardened codec. */

/* Decodes into a malloc'd buffer of at most max_bytes decoded bytes (a
 * longer input is refused before any allocation). Returns 0 with *out
 * (free()) and *out_length, or -1 on bad input or when over max_bytes. */
int base64_decode_alloc(const char *text, size_t text_length, size_t max_bytes,
                        uint8_t **out, size_t *out_length)
    __attribute__((warn_unused_result));

/* A malloc'd NUL-terminated base64 text of bytes (no line breaks), or
 * NULL when out of memory. */
char *base64_encode_alloc(const uint8_t *bytes, size_t length);

#endif
