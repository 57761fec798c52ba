/*
 * fuzz_oidc_parsers.c: libFuzzer target for the OpenID Connect provider's
 * parsers and builders of network text that need no database. The first
 * byte picks one (its value minus '0', modulo FUZZ_KINDS, so text seeds
 * start with a digit); the rest is its input. Inputs with several fields
 * separate them with '\n'.
 *   0 form_parse, form_get, form_decode (against a reference decoder) and
 *     the percent-encoding round trip of every decoded value
 *   1 client_basic_parse on the raw Authorization value
 *   2 client_basic_parse on "Basic " base64(rest), against a reference
 *   3 client_assertion_check on rest as the JSON claims
 *   4 user_code_normalize (against a reference) and user_code_display
 *   5 pkce_is_well_formed and pkce_s256_matches: verifier \n challenge
 *   6 redirect_error: base \n error \n description \n state \n issuer
 *   7 text_buffer_append_html and text_buffer_append_percent
 *   8 text_buffer at TEXT_BUFFER_MAX: "P C\n" then a piece: P (< 256)
 *     bytes, then C (at most 6 digits) copies of the piece
 * A parser must accept with outputs that meet its header's contract, or
 * refuse with its outputs emptied; a builder's output must be well formed
 * and decode back to its input. A broken property aborts.
 */
#include "oidc/client_auth.h"
#include "oidc/form.h"
#include "oidc/pkce.h"
#include "oidc/redirect.h"
#include "oidc/text_buffer.h"
#include "oidc/user_code.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_KINDS 9
#define FUZZ_NOW INT64_C(1800000000)
#define FUZZ_CLIENT_ID "client-1"
#define FUZZ_ISSUER "https://id.example.test"
#define FUZZ_REDIRECT_FIELDS 5
#define FUZZ_PREFIX_BYTE 'a'
#define FUZZ_PREFIX_MAX 256
#define FUZZ_PREFIX_DIGITS 3
#define FUZZ_COUNT_DIGITS 6
#define UNRESERVED "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
#define UPPER_HEX "0123456789ABCDEF"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__,        \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd NUL-terminated copy of data[0..size) (an embedded NUL ends it). */
static char *
text_of(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* Splits text in place at '\n' into at most n fields; missing ones NULL. */
static void
split_fields(char *text, char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fields[i] = text;
        if (text == NULL)
            continue;
        char *newline = strchr(text, '\n');
        if (newline != NULL)
            *newline = '\0';
        text = newline ? newline + 1 : NULL;
    }
}

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The value of an upper-case hex digit, or -1. */
static int
upper_hex(char c)
{
    const char *at = c != '\0' ? strchr(UPPER_HEX, c) : NULL;
    return at != NULL ? (int)(at - UPPER_HEX) : -1;
}

/* The reference form decoder: '+' is a space, %XX (either case) a byte,
 * never %00. 0 with out, or -1. */
static int
reference_form_decode(const char *in, char *out)
{
    for (; *in != '\0'; in++) {
        if (*in == '+') {
            *out++ = ' ';
        } else if (*in != '%') {
            *out++ = *in;
        } else {
            if (hex_digit(in[1]) < 0 || hex_digit(in[2]) < 0)
                return -1;
            int byte = hex_digit(in[1]) * 16 + hex_digit(in[2]);
            if (byte == 0)
                return -1;
            *out++ = (char)byte;
            in += 2;
        }
    }
    *out = '\0';
    return 0;
}

/* Decodes strict percent-encoding (unreserved characters and %XX with
 * upper-case hex, nothing else) of encoded[0..length) into out. Length
 * decoded, or -1 when encoded holds anything else. */
static long
strict_percent_decode(const char *encoded, size_t length, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < length; i++) {
        if (encoded[i] != '\0' && strchr(UNRESERVED, encoded[i]) != NULL) {
            out[o++] = encoded[i];
        } else if (encoded[i] == '%' && length - i >= 3 && upper_hex(encoded[i + 1]) >= 0 &&
                   upper_hex(encoded[i + 2]) >= 0) {
            out[o++] = (char)(upper_hex(encoded[i + 1]) * 16 + upper_hex(encoded[i + 2]));
            i += 2;
        } else {
            return -1;
        }
    }
    out[o] = '\0';
    return (long)o;
}

/* text percent-encoded: only unreserved and %XX, and decodes back. */
static void
check_percent(const char *text)
{
    struct text_buffer buffer;
    size_t length = 0;
    text_buffer_init(&buffer);
    text_buffer_append_percent(&buffer, text);
    char *encoded = text_buffer_finish(&buffer, &length);
    CHECK(encoded != NULL && strlen(encoded) == length);
    char *decoded = malloc(length + 1);
    CHECK(decoded != NULL);
    CHECK(strict_percent_decode(encoded, length, decoded) == (long)strlen(text));
    CHECK(strcmp(decoded, text) == 0);
    /* What the form decoder makes of it is the text again. */
    CHECK(form_decode(encoded) == 0 && strcmp(encoded, text) == 0);
    free(decoded);
    free(encoded);
}

static void
fuzz_form(const uint8_t *data, size_t size)
{
    struct form form;
    if (form_parse(data, size, &form) == 0) {
        CHECK(form.buffer != NULL && form.buffer_length == size + 1);
        CHECK(form.count <= FORM_FIELDS_MAX);
        for (size_t i = 0; i < form.count; i++) {
            const char *name = form.fields[i].name, *value = form.fields[i].value;
            CHECK(name >= form.buffer && name < form.buffer + form.buffer_length);
            CHECK(value > name && value < form.buffer + form.buffer_length);
            CHECK(name[0] != '\0');
            CHECK(form_get(&form, name) == value); /* names are unique */
            check_percent(name);
            check_percent(value);
        }
        form_clear(&form);
    }
    CHECK(form.buffer == NULL && form.count == 0);

    char *text = text_of(data, size), *copy = text_of(data, size);
    char *expected = malloc(size + 1);
    CHECK(expected != NULL);
    int status = form_decode(copy);
    CHECK(status == reference_form_decode(text, expected));
    if (status == 0)
        CHECK(strcmp(copy, expected) == 0);
    free(expected);
    free(copy);
    free(text);
}

/* The Basic parser's outputs: both filled within their capacity, or both
 * empty. */
static int
basic_parse_checked(const char *authorization, char client_id[STORE_ID_MAX],
                    char secret[CLIENT_SECRET_MAX + 1])
{
    memset(client_id, 'x', STORE_ID_MAX);
    memset(secret, 'x', CLIENT_SECRET_MAX + 1);
    int status = client_basic_parse(authorization, client_id, secret);
    if (status == 0) {
        CHECK(strncasecmp(authorization, "Basic ", 6) == 0);
        CHECK(client_id[0] != '\0' && memchr(client_id, '\0', STORE_ID_MAX) != NULL);
        CHECK(secret[0] != '\0' && memchr(secret, '\0', CLIENT_SECRET_MAX + 1) != NULL);
    } else {
        CHECK(status == -1 && client_id[0] == '\0' && secret[0] == '\0');
    }
    return status;
}

static void
fuzz_basic_raw(const uint8_t *data, size_t size)
{
    char client_id[STORE_ID_MAX], secret[CLIENT_SECRET_MAX + 1];
    char *text = text_of(data, size);
    (void)basic_parse_checked(text, client_id, secret);
    free(text);
}

static void
fuzz_basic_decoded(const uint8_t *data, size_t size)
{
    char client_id[STORE_ID_MAX], secret[CLIENT_SECRET_MAX + 1];
    size_t encoded_size = 6 + (size + 2) / 3 * 4 + 1;
    char *header = malloc(encoded_size);
    CHECK(header != NULL && size < INT32_MAX);
    memcpy(header, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)header + 6, data, (int)size);
    int status = basic_parse_checked(header, client_id, secret);

    /* The reference: no NUL, a ':', both halves form-decode to non-empty
     * text that fits. */
    int expected = -1;
    char *text = text_of(data, size), *id = malloc(size + 1), *pass = malloc(size + 1);
    char *colon = strchr(text, ':');
    CHECK(id != NULL && pass != NULL);
    if (size > 0 && size <= CLIENT_BASIC_MAX_BYTES && memchr(data, '\0', size) == NULL &&
        colon != NULL) {
        *colon = '\0';
        if (reference_form_decode(text, id) == 0 &&
            reference_form_decode(colon + 1, pass) == 0 && id[0] != '\0' &&
            pass[0] != '\0' && strlen(id) < STORE_ID_MAX &&
            strlen(pass) <= CLIENT_SECRET_MAX)
            expected = 0;
    }
    CHECK(status == expected);
    if (status == 0)
        CHECK(strcmp(client_id, id) == 0 && strcmp(secret, pass) == 0);
    free(pass);
    free(id);
    free(text);
    free(header);
}

static void
fuzz_assertion_claims(const uint8_t *data, size_t size)
{
    json_t *claims = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (claims == NULL)
        return;
    const char *jti = "unset";
    int64_t expires_at = -1;
    const char *why = client_assertion_check(claims, FUZZ_CLIENT_ID, FUZZ_ISSUER,
                                             FUZZ_NOW, &jti, &expires_at);
    if (why == NULL) {
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        const char *sub = json_string_value(json_object_get(claims, "sub"));
        CHECK(iss != NULL && strcmp(iss, FUZZ_CLIENT_ID) == 0);
        CHECK(sub != NULL && strcmp(sub, FUZZ_CLIENT_ID) == 0);
        CHECK(jti != NULL && jti[0] != '\0' &&
              strlen(jti) <= CLIENT_ASSERTION_JTI_MAX_BYTES);
        CHECK(jti == json_string_value(json_object_get(claims, "jti")));
        CHECK(expires_at > FUZZ_NOW);
        /* iat <= now + skew and exp - iat <= the lifetime. */
        CHECK(expires_at <= FUZZ_NOW + OIDC_CLOCK_SKEW + CLIENT_ASSERTION_MAX_LIFETIME);
    } else {
        CHECK(why[0] != '\0' && jti == NULL && expires_at == 0);
    }
    json_decref(claims);
}

static void
fuzz_user_code(const uint8_t *data, size_t size)
{
    char out[USER_CODE_SIZE], again[USER_CODE_SIZE], display[USER_CODE_DISPLAY_SIZE];
    char *text = text_of(data, size);
    size_t length = strlen(text);
    /* The reference: 8 letters of the alphabet (any case), or 9 with a
     * dash in the middle. */
    char expected[USER_CODE_SIZE] = "";
    size_t o = 0;
    int good = length == USER_CODE_CHARS || (length == USER_CODE_CHARS + 1 && text[4] == '-');
    for (size_t i = 0; good && i < length; i++) {
        if (length == USER_CODE_CHARS + 1 && i == 4)
            continue;
        char c = text[i] >= 'a' && text[i] <= 'z' ? (char)(text[i] - 'a' + 'A') : text[i];
        good = strchr(USER_CODE_ALPHABET, c) != NULL && c != '\0';
        expected[o++] = c;
    }
    expected[o] = '\0';

    memset(out, 'x', sizeof out);
    int status = user_code_normalize(text, out);
    CHECK(status == (good ? 0 : -1));
    if (status == 0) {
        CHECK(strcmp(out, expected) == 0);
        user_code_display(out, display);
        CHECK(strlen(display) == USER_CODE_DISPLAY_SIZE - 1 && display[4] == '-');
        CHECK(user_code_normalize(display, again) == 0 && strcmp(again, out) == 0);
    } else {
        CHECK(out[0] == '\0');
    }
    free(text);
}

static void
fuzz_pkce(const uint8_t *data, size_t size)
{
    char *text = text_of(data, size);
    char *fields[2];
    split_fields(text, fields, 2);
    const char *verifier = fields[0], *challenge = fields[1];
    size_t length = strlen(verifier);
    int well_formed = length >= PKCE_MIN_CHARS && length <= PKCE_MAX_CHARS &&
                      strspn(verifier, UNRESERVED) == length;
    CHECK(pkce_is_well_formed(verifier) == well_formed);
    if (challenge != NULL) {
        size_t challenge_length = strlen(challenge);
        CHECK(pkce_is_well_formed(challenge) ==
              (challenge_length >= PKCE_MIN_CHARS && challenge_length <= PKCE_MAX_CHARS &&
               strspn(challenge, UNRESERVED) == challenge_length));
    }

    /* The challenge computed here: base64 of SHA-256, made url-safe, no '='. */
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char computed[64];
    SHA256((const unsigned char *)verifier, length, digest);
    EVP_EncodeBlock((unsigned char *)computed, digest, sizeof digest);
    for (char *c = computed; *c != '\0'; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    computed[strcspn(computed, "=")] = '\0';
    CHECK(strlen(computed) == PKCE_S256_CHALLENGE_CHARS);
    CHECK(pkce_s256_matches(verifier, computed) == well_formed);
    CHECK(pkce_s256_matches(verifier, challenge) ==
          (well_formed && challenge != NULL && strcmp(challenge, computed) == 0));
    CHECK(pkce_s256_matches(NULL, challenge) == 0);
    free(text);
}

static void
fuzz_redirect(const uint8_t *data, size_t size)
{
    static const char *const names[FUZZ_REDIRECT_FIELDS - 1] = {
        "error", "error_description", "state", "iss"};
    char *text = text_of(data, size);
    char *fields[FUZZ_REDIRECT_FIELDS];
    split_fields(text, fields, FUZZ_REDIRECT_FIELDS);
    const char *base = fields[0];
    char *url = redirect_error(base, fields[1], fields[2], fields[3], fields[4]);
    CHECK(url != NULL);
    size_t base_length = strlen(base);
    CHECK(strncmp(url, base, base_length) == 0);

    /* What follows the base: the separator, then name=value pairs. */
    const char *separator = strchr(base, '?') == NULL ? "?"
                            : base[base_length - 1] == '?' || base[base_length - 1] == '&'
                                ? ""
                                : "&";
    const char *at = url + base_length;
    char *decoded = malloc(strlen(url) + 1);
    CHECK(decoded != NULL);
    for (size_t i = 0; i < FUZZ_REDIRECT_FIELDS - 1; i++) {
        const char *value = fields[i + 1];
        if (value == NULL)
            continue;
        CHECK(strncmp(at, separator, strlen(separator)) == 0);
        at += strlen(separator);
        CHECK(strncmp(at, names[i], strlen(names[i])) == 0 && at[strlen(names[i])] == '=');
        at += strlen(names[i]) + 1;
        size_t encoded_length = strcspn(at, "&");
        CHECK(strict_percent_decode(at, encoded_length, decoded) == (long)strlen(value));
        CHECK(strcmp(decoded, value) == 0);
        at += encoded_length;
        separator = "&";
    }
    CHECK(*at == '\0');
    free(decoded);
    free(url);
    free(text);
}

static void
fuzz_escaping(const uint8_t *data, size_t size)
{
    static const struct {
        const char *reference;
        char c;
    } references[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'},
                      {"&quot;", '"'}, {"&#39;", '\''}};
    char *text = text_of(data, size);
    struct text_buffer buffer;
    size_t length = 0;
    text_buffer_init(&buffer);
    text_buffer_append_html(&buffer, text);
    char *html = text_buffer_finish(&buffer, &length);
    CHECK(html != NULL && strlen(html) == length);
    CHECK(strpbrk(html, "<>\"'") == NULL);
    /* Every '&' starts a reference; unescaped, the text comes back. */
    char *unescaped = malloc(length + 1);
    CHECK(unescaped != NULL);
    size_t o = 0;
    for (size_t i = 0; i < length;) {
        if (html[i] != '&') {
            unescaped[o++] = html[i++];
            continue;
        }
        size_t k = 0;
        while (k < sizeof references / sizeof *references &&
               strncmp(html + i, references[k].reference,
                       strlen(references[k].reference)) != 0)
            k++;
        CHECK(k < sizeof references / sizeof *references);
        unescaped[o++] = references[k].c;
        i += strlen(references[k].reference);
    }
    unescaped[o] = '\0';
    CHECK(strcmp(unescaped, text) == 0);
    free(unescaped);
    free(html);
    check_percent(text);
    free(text);
}

/* Reads a decimal number of at most `digits` digits at *at (0 if none). */
static size_t
read_number(const char **at, const char *end, size_t digits)
{
    size_t value = 0;
    for (size_t i = 0; i < digits && *at < end && **at >= '0' && **at <= '9'; i++, (*at)++)
        value = value * 10 + (size_t)(**at - '0');
    return value;
}

static void
fuzz_text_limit(const uint8_t *data, size_t size)
{
    const char *at = (const char *)data, *end = at + size;
    size_t prefix = read_number(&at, end, FUZZ_PREFIX_DIGITS) % FUZZ_PREFIX_MAX;
    if (at < end && *at == ' ')
        at++;
    size_t count = read_number(&at, end, FUZZ_COUNT_DIGITS);
    if (at < end && *at == '\n')
        at++;
    const char *piece = at;
    size_t piece_length = (size_t)(end - at);
    size_t total = prefix + count * piece_length;
    struct text_buffer buffer;
    char prefix_bytes[FUZZ_PREFIX_MAX];
    memset(prefix_bytes, FUZZ_PREFIX_BYTE, sizeof prefix_bytes);
    text_buffer_init(&buffer);
    text_buffer_append_bytes(&buffer, prefix_bytes, prefix);
    for (size_t i = 0; i < count; i++)
        text_buffer_append_bytes(&buffer, piece, piece_length);
    CHECK(buffer.failed == (total > TEXT_BUFFER_MAX));
    CHECK(buffer.failed || buffer.length == total);
    /* Failure is sticky. */
    if (buffer.failed)
        text_buffer_append(&buffer, "");
    size_t length = 0;
    char *text = text_buffer_finish(&buffer, &length);
    CHECK(buffer.data == NULL && buffer.length == 0 && !buffer.failed);
    if (total > TEXT_BUFFER_MAX) {
        CHECK(text == NULL);
        return;
    }
    CHECK(text != NULL && length == total && text[length] == '\0');
    CHECK(memcmp(text, prefix_bytes, prefix) == 0);
    for (size_t i = 0; i < count; i++)
        CHECK(memcmp(text + prefix + i * piece_length, piece, piece_length) == 0);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *rest = data + 1;
    size_t length = size - 1;
    switch ((uint8_t)(data[0] - '0') % FUZZ_KINDS) {
    case 0: fuzz_form(rest, length); break;
    case 1: fuzz_basic_raw(rest, length); break;
    case 2: fuzz_basic_decoded(rest, length); break;
    case 3: fuzz_assertion_claims(rest, length); break;
    case 4: fuzz_user_code(rest, length); break;
    case 5: fuzz_pkce(rest, length); break;
    case 6: fuzz_redirect(rest, length); break;
    case 7: fuzz_escaping(rest, length); break;
    default: fuzz_text_limit(rest, length); break;
    }
    return 0;
}
