/* login_code: the user code or login URL the citizen gives; see login_code.h. */
#include "app/login_code.h"

#include "app/app.h"
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
