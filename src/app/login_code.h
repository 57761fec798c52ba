/* login_code: what the citizen gives `cyberid-app login`: the user code
 * shown on a platform's login page (8 letters of LOGIN_CODE_ALPHABET,
 * shown XXXX-XXXX), typed in any case with or without the hyphen, or the
 * login URL {issuer}/v1/login/{user_code} of the page's QR code
 * (docs/api.md, "The login page and its polling"), or the page's
 * same-device link cyberid://login?server={issuer, percent-encoded}&code=
 * {user_code} (docs/api.md, "Same-device login"). */
#ifndef CYBERID_APP_LOGIN_CODE_H
#define CYBERID_APP_LOGIN_CODE_H

#include <stddef.h>

#define LOGIN_CODE_ALPHABET "BCDFGHJKLMNPQRSTVWXZ"
#define LOGIN_CODE_LENGTH 8
/* The code and its NUL. */
#define LOGIN_CODE_SIZE (LOGIN_CODE_LENGTH + 1)
/* Where the hyphen may stand when the code is typed as shown. */
#define LOGIN_CODE_HYPHEN_AT 4
/* The path of a login URL, before the code. */
#define LOGIN_CODE_URL_PATH "/v1/login/"
/* The same-device link: the scheme and host, then its query. */
#define LOGIN_CODE_LINK_PREFIX "cyberid://login?"
/* Longest input read (a URL included). */
#define LOGIN_CODE_INPUT_MAX 2048

/* Reads `input` into code: the 8 letters, upper case, no hyphen. For a
 * login URL (input starting with http:// or https://), copies its issuer
 * (everything before LOGIN_CODE_URL_PATH, trailing slashes dropped) into
 * issuer (capacity issuer_cap), which the caller must compare with the
 * service it talks to; for a same-device link (input starting with
 * LOGIN_CODE_LINK_PREFIX), its server parameter (percent-decoded) is the
 * issuer and its code parameter the code; for a bare code issuer is "".
 * Refuses anything else: another length or alphabet, a hyphen elsewhere,
 * a URL with another path, a query or fragment, a link without exactly one
 * server and one code or with another parameter. 0, or -1 with err (code
 * and issuer then hold ""). */
int login_code_parse(const char *input, char code[LOGIN_CODE_SIZE],
                     char *issuer, size_t issuer_cap, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
