/* user_code: login user codes; see user_code.h. */
#include "oidc/user_code.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <string.h>

#define ALPHABET_SIZE (sizeof USER_CODE_ALPHABET - 1)
#define DASH_POSITION 4
/* Bytes >= this are rejected so that byte % 20 is uniform (240 = 12*20). */
#define UNIFORM_LIMIT (256 - 256 % ALPHABET_SIZE)
#define RANDOM_BATCH 32

int
user_code_new(char out[USER_CODE_SIZE])
{
    size_t written = 0;
    while (written < USER_CODE_CHARS) {
        unsigned char random[RANDOM_BATCH];
        if (RAND_bytes(random, sizeof random) != 1)
            return -1;
        for (size_t i = 0; i < sizeof random && written < USER_CODE_CHARS; i++)
            if (random[i] < UNIFORM_LIMIT)
                out[written++] = USER_CODE_ALPHABET[random[i] % ALPHABET_SIZE];
    }
    out[USER_CODE_CHARS] = '\0';
    return 0;
}

int
user_code_normalize(const char *input, char out[USER_CODE_SIZE])
{
    size_t written = 0;
    out[0] = '\0';
    if (input == NULL)
        return -1;
    for (size_t i = 0; input[i] != '\0'; i++) {
        if (input[i] == '-' && written == DASH_POSITION && i == DASH_POSITION)
            continue;
        char c = (char)toupper((unsigned char)input[i]);
        if (written == USER_CODE_CHARS || c == '\0' ||
            strchr(USER_CODE_ALPHABET, c) == NULL) {
            out[0] = '\0';
            return -1;
        }
        out[written++] = c;
    }
    out[written] = '\0';
    if (written != USER_CODE_CHARS) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

void
user_code_display(const char code[USER_CODE_SIZE], char out[USER_CODE_DISPLAY_SIZE])
{
    memcpy(out, code, DASH_POSITION);
    out[DASH_POSITION] = '-';
    memcpy(out + DASH_POSITION + 1, code + DASH_POSITION, USER_CODE_CHARS - DASH_POSITION);
    out[USER_CODE_DISPLAY_SIZE - 1] = '\0';
}
