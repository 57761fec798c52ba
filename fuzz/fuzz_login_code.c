/*
 * fuzz_login_code.c: libFuzzer target for the app's reading of what the
 * citizen gives `cyberid-app login` (CODE_OR_URL: a user code, or the
 * login URL of a page's QR code, which a hostile platform chooses):
 * login_code_parse() in src/app/login_code.c. The whole input is the text.
 * Properties: an accepted code is 8 letters of the alphabet and the one
 * the service's user_code_normalize() reads from the same text; an
 * accepted URL gives a clean issuer that, followed by the login path and
 * the code as typed, is the input; the issuer's capacity is honoured:
 * accepted with room for the URL's part before the login path (the issuer
 * before its trailing slashes are dropped), refused with one byte less
 * than the issuer needs, never written past; a refusal
 * empties code and issuer and says why.
 */
#include "app/login_code.h"
#include "oidc/user_code.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ERROR_MAX 256

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__,        \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* login_code_parse() with an issuer buffer of exactly cap bytes (so ASan
 * sees any write past it), checking the refusal contract. 0 or -1. */
static int
parse_with_cap(const char *input, size_t cap, char code[LOGIN_CODE_SIZE],
               char **issuer)
{
    char err[FUZZ_ERROR_MAX] = "";
    *issuer = malloc(cap > 0 ? cap : 1);
    CHECK(*issuer != NULL);
    memset(*issuer, 'x', cap);
    memset(code, 'x', LOGIN_CODE_SIZE);
    int status = login_code_parse(input, code, *issuer, cap, err, sizeof err);
    if (status != 0) {
        CHECK(status == -1 && code[0] == '\0' && err[0] != '\0');
        CHECK(cap == 0 || (*issuer)[0] == '\0');
    } else {
        CHECK(strlen(code) == LOGIN_CODE_LENGTH);
        CHECK(strspn(code, LOGIN_CODE_ALPHABET) == LOGIN_CODE_LENGTH);
        CHECK(cap == 0 || memchr(*issuer, '\0', cap) != NULL);
    }
    return status;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *input = malloc(size + 1);
    char code[LOGIN_CODE_SIZE], again[LOGIN_CODE_SIZE], service[USER_CODE_SIZE];
    char *issuer = NULL;
    CHECK(input != NULL);
    if (size > 0)
        memcpy(input, data, size);
    input[size] = '\0';
    int is_url = strncmp(input, "http://", 7) == 0 || strncmp(input, "https://", 8) == 0;

    int status = parse_with_cap(input, LOGIN_CODE_INPUT_MAX, code, &issuer);
    if (status == 0 && !is_url) {
        CHECK(issuer[0] == '\0');
        /* The app and the service agree on what a code is. */
        CHECK(user_code_normalize(input, service) == 0 && strcmp(service, code) == 0);
        free(issuer);
        CHECK(parse_with_cap(input, 0, again, &issuer) == 0 && strcmp(again, code) == 0);
    } else if (status == 0) {
        size_t length = strlen(issuer);
        const char *scheme_end = strstr(issuer, "://");
        CHECK(strncmp(issuer, input, length) == 0);
        CHECK(scheme_end != NULL && scheme_end[3] != '\0');
        CHECK(issuer[length - 1] != '/');
        for (size_t i = 0; i < length; i++)
            CHECK((unsigned char)issuer[i] > ' ' && issuer[i] != 0x7f &&
                  issuer[i] != '?' && issuer[i] != '#');
        /* After the issuer: slashes, the login path, then the code as typed. */
        const char *rest = input + length;
        while (strncmp(rest, LOGIN_CODE_URL_PATH, strlen(LOGIN_CODE_URL_PATH)) != 0) {
            CHECK(*rest == '/');
            rest++;
        }
        size_t prefix_length = (size_t)(rest - input);
        rest += strlen(LOGIN_CODE_URL_PATH);
        CHECK(user_code_normalize(rest, service) == 0 && strcmp(service, code) == 0);
        /* app_server_url() copies the prefix before it drops the trailing
         * slashes, so the prefix must fit. */
        char *exact = issuer;
        CHECK(parse_with_cap(input, prefix_length + 1, again, &issuer) == 0);
        CHECK(strcmp(again, code) == 0 && strcmp(issuer, exact) == 0);
        free(issuer);
        CHECK(parse_with_cap(input, length, again, &issuer) == -1);
        free(exact);
    } else if (!is_url && strlen(input) < LOGIN_CODE_INPUT_MAX) {
        /* Refused as a bare code: the service refuses it too. */
        CHECK(user_code_normalize(input, service) == -1);
    }
    free(issuer);
    free(input);
    return 0;
}
