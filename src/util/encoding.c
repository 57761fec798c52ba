/* encoding: hex and base64url. Written here rather than taken from OpenSSL's
 * EVP_EncodeBlock because that one emits standard base64 with padding and
 * accepts whitespace on decode; the URL-safe, strict form is what OAuth and
 * JOSE need and it is a few lines. */
#include "util/encoding.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <string.h>

static const char hex_digits[] = "0123456789abcdef";
static const char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#define BASE32_BITS 5
#define BASE32_MASK 0x1f
#define BITS_PER_BYTE 8

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

int
base32_lower_encode(const uint8_t *bytes, size_t length, size_t chars, char *out, size_t cap)
{
    if (cap <= chars || chars > (length * BITS_PER_BYTE + BASE32_BITS - 1) / BASE32_BITS)
        return -1;
    unsigned buffer = 0, bits = 0;
    size_t used = 0, written = 0;
    while (written < chars) {
        if (bits < BASE32_BITS) {
            buffer = (buffer << BITS_PER_BYTE) | (used < length ? bytes[used] : 0);
            used++;
            bits += BITS_PER_BYTE;
        }
        out[written++] = base32_alphabet[(buffer >> (bits - BASE32_BITS)) & BASE32_MASK];
        bits -= BASE32_BITS;
    }
    out[written] = '\0';
    return 0;
}

int
hex_encode(const uint8_t *bytes, size_t length, char *out, size_t cap)
{
    if (length > (cap - 1) / 2 || cap == 0)
        return -1;
    for (size_t i = 0; i < length; i++) {
        out[2 * i] = hex_digits[bytes[i] >> 4];
        out[2 * i + 1] = hex_digits[bytes[i] & 0x0f];
    }
    out[2 * length] = '\0';
    return 0;
}

int
hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
hex_decode(const char *text, uint8_t *out, size_t length)
{
    if (strlen(text) != 2 * length)
        return -1;
    for (size_t i = 0; i < length; i++) {
        int high = hex_digit_value(text[2 * i]);
        int low = hex_digit_value(text[2 * i + 1]);
        if (high < 0 || low < 0)
            return -1;
        out[i] = (uint8_t)(high << 4 | low);
    }
    return 0;
}

int
base64url_encode(const uint8_t *bytes, size_t length, char *out, size_t cap)
{
    size_t needed = length / 3 * 4 + (length % 3 ? length % 3 + 1 : 0) + 1;
    if (cap < needed)
        return -1;
    size_t o = 0;
    size_t i = 0;
    for (; i + 2 < length; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 |
                     bytes[i + 2];
        out[o++] = base64url_alphabet[v >> 18 & 63];
        out[o++] = base64url_alphabet[v >> 12 & 63];
        out[o++] = base64url_alphabet[v >> 6 & 63];
        out[o++] = base64url_alphabet[v & 63];
    }
    if (length - i == 1) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        out[o++] = base64url_alphabet[v >> 18 & 63];
        out[o++] = base64url_alphabet[v >> 12 & 63];
    } else if (length - i == 2) {
        uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8;
        out[o++] = base64url_alphabet[v >> 18 & 63];
        out[o++] = base64url_alphabet[v >> 12 & 63];
        out[o++] = base64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return 0;
}

static int
base64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int
base64url_decode(const char *text, size_t text_length, uint8_t *out,
                 size_t cap, size_t *out_length)
{
    while (text_length > 0 && text[text_length - 1] == '=')
        text_length--;
    if (text_length % 4 == 1)
        return -1;
    size_t needed = text_length / 4 * 3 + (text_length % 4 ? text_length % 4 - 1 : 0);
    if (needed > cap)
        return -1;
    uint32_t accumulator = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < text_length; i++) {
        int v = base64url_value(text[i]);
        if (v < 0)
            return -1;
        accumulator = accumulator << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(accumulator >> bits);
        }
    }
    /* Leftover bits must be zero: one encoding per byte string. */
    if (bits > 0 && (accumulator & ((1u << bits) - 1)) != 0)
        return -1;
    *out_length = o;
    return 0;
}

/* ── Standard base64 through OpenSSL ───────────────────────────────────── */

int
base64_decode_alloc(const char *text, size_t text_length, size_t max_bytes,
                    uint8_t **out, size_t *out_length)
{
    *out = NULL;
    *out_length = 0;
    /* Every 4 characters give at most 3 bytes: refuse early what could
     * only decode to more than max_bytes, and stay within int for OpenSSL. */
    if (text_length == 0 || text_length / 4 > max_bytes / 3 + 1 ||
        text_length > (size_t)INT_MAX)
        return -1;
    size_t capacity = text_length / 4 * 3 + 3;
    uint8_t *buffer = malloc(capacity);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int written = 0, final = 0;
    if (buffer == NULL || ctx == NULL)
        goto fail;
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, buffer, &written, (const unsigned char *)text,
                         (int)text_length) < 0 ||
        EVP_DecodeFinal(ctx, buffer + written, &final) != 1)
        goto fail;
    EVP_ENCODE_CTX_free(ctx);
    if ((size_t)written + (size_t)final > max_bytes || written + final == 0) {
        free(buffer);
        return -1;
    }
    *out = buffer;
    *out_length = (size_t)written + (size_t)final;
    return 0;
fail:
    EVP_ENCODE_CTX_free(ctx);
    free(buffer);
    return -1;
}

char *
base64_encode_alloc(const uint8_t *bytes, size_t length)
{
    if (length > (size_t)INT_MAX / 4 * 3 - 3)
        return NULL;
    char *text = malloc(length / 3 * 4 + 5);
    if (text == NULL)
        return NULL;
    EVP_EncodeBlock((unsigned char *)text, bytes, (int)length);
    return text;
}
