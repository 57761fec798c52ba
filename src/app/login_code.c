/* login_code: the user code or login URL the citizen gives; see login_code.h. */
#include "app/login_code.h"

#include "app/app.h"
#include "util/encoding.h"
#include "util/strings.h"

#include <ctype.h>
#include <string.h>

/* Reads a bare code (text[0..length)) into code. */
static int
parse_bare(const char *text, size_t length, char code[LOGIN_CODE_SIZE],
           char *err, size_t errlen)
{
    size_t o = 0;

    if (length != LOGIN_CODE_LENGTH && length != LOGIN_CODE_LENGTH + 1)
        return error_set(err, errlen, "a login code has %d letters (XXXX-XXXX)",
                         LOGIN_CODE_LENGTH);
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (length == LOGIN_CODE_LENGTH + 1 && i == LOGIN_CODE_HYPHEN_AT) {
            if (c != '-')
                return error_set(err, errlen, "a login code is XXXX-XXXX");
            continue;
        }
        c = (char)toupper((unsigned char)c);
        if (c == '\0' || strchr(LOGIN_CODE_ALPHABET, c) == NULL)
            return error_set(err, errlen, "a login code uses only the letters %s",
                             LOGIN_CODE_ALPHABET);
        code[o++] = c;
    }
    code[o] = '\0';
    return 0;
}

/* Percent-decodes text[0..length) into out (capacity cap); '+' stays '+'.
 * 0, or -1 for a malformed escape, a NUL or control byte, or no room. */
static int
percent_decode(const char *text, size_t length, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < length; i++) {
        int c = (unsigned char)text[i];
        if (c == '%') {
            if (i + 2 >= length)
                return -1;
            int h = hex_digit_value(text[i + 1]), l = hex_digit_value(text[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Reads a same-device link (its query: query[0..length)) into code and
 * issuer. 0, or -1 with err. */
static int
parse_link(const char *query, size_t length, char code[LOGIN_CODE_SIZE], char *issuer,
           size_t issuer_cap, char *err, size_t errlen)
{
    char server[LOGIN_CODE_INPUT_MAX], letters[LOGIN_CODE_INPUT_MAX];
    int have_server = 0, have_code = 0;
    for (size_t at = 0; at < length;) {
        size_t span = 0;
        while (at + span < length && query[at + span] != '&')
            span++;
        const char *param = query + at;
        at += span + 1;
        if (span > 7 && strncmp(param, "server=", 7) == 0 && !have_server) {
            if (percent_decode(param + 7, span - 7, server, sizeof server) != 0)
                return error_set(err, errlen, "the link's server is not a URL");
            have_server = 1;
        } else if (span > 5 && strncmp(param, "code=", 5) == 0 && !have_code) {
            if (percent_decode(param + 5, span - 5, letters, sizeof letters) != 0)
                return error_set(err, errlen, "the link's code is malformed");
            have_code = 1;
        } else {
            return error_set(err, errlen, "a login link has one server and one code, "
                             "nothing else");
        }
    }
    if (!have_server || !have_code)
        return error_set(err, errlen, "a login link has one server and one code, "
                         "nothing else");
    if (app_server_url(server, issuer, issuer_cap, err, errlen) != 0)
        return -1;
    return parse_bare(letters, strlen(letters), code, err, errlen);
}

int
login_code_parse(const char *input, char code[LOGIN_CODE_SIZE], char *issuer,
                 size_t issuer_cap, char *err, size_t errlen)
{
    size_t length = strnlen(input, LOGIN_CODE_INPUT_MAX);
    char prefix[LOGIN_CODE_INPUT_MAX];
    const char *path, *rest;
    int status = -1;

    code[0] = '\0';
    if (issuer_cap > 0)
        issuer[0] = '\0';
    if (length == LOGIN_CODE_INPUT_MAX)
        return error_set(err, errlen, "the login code or URL is too long");
    if (strncmp(input, LOGIN_CODE_LINK_PREFIX, strlen(LOGIN_CODE_LINK_PREFIX)) == 0) {
        size_t skip = strlen(LOGIN_CODE_LINK_PREFIX);
        status = parse_link(input + skip, length - skip, code, issuer, issuer_cap, err,
                            errlen);
        goto cleanup;
    }
    if (strncmp(input, "http://", 7) != 0 && strncmp(input, "https://", 8) != 0) {
        status = parse_bare(input, length, code, err, errlen);
        goto cleanup;
    }

    /* The last occurrence: an issuer may itself have a path. */
    path = NULL;
    for (const char *at = strstr(input, LOGIN_CODE_URL_PATH); at != NULL;
         at = strstr(at + 1, LOGIN_CODE_URL_PATH))
        path = at;
    if (path == NULL) {
        error_set(err, errlen, "not a login URL (…%s<code>)", LOGIN_CODE_URL_PATH);
        goto cleanup;
    }
    memcpy(prefix, input, (size_t)(path - input));
    prefix[path - input] = '\0';
    if (app_server_url(prefix, issuer, issuer_cap, err, errlen) != 0)
        goto cleanup;
    rest = path + strlen(LOGIN_CODE_URL_PATH);
    if (parse_bare(rest, strlen(rest), code, err, errlen) != 0)
        goto cleanup;
    status = 0;
cleanup:
    if (status != 0) {
        code[0] = '\0';
        if (issuer_cap > 0)
            issuer[0] = '\0';
    }
    return status;
}
