/* user_code: the 8-character code a citizen types or scans to approve a
 * login in the app.
 *
 * Alphabet USER_CODE_ALPHABET (20 consonants, no vowels so no words, no
 * look-alikes), drawn uniformly from a CSPRNG: 20^8 (about 2^34.6)
 * codes. Shown as XXXX-XXXX; accepted with or without the dash, in either
 * case. */
#ifndef CYBERID_OIDC_USER_CODE_H
#define CYBERID_OIDC_USER_CODE_H

#include <stddef.h>

#define USER_CODE_ALPHABET "BCDFGHJKLMNPQRSTVWXZ"
#define USER_CODE_CHARS 8
#define USER_CODE_SIZE (USER_CODE_CHARS + 1)
#define USER_CODE_DISPLAY_SIZE (USER_CODE_CHARS + 2) /* with the dash */

/* A fresh random code into out. 0 or -1 (no randomness). */
int user_code_new(char out[USER_CODE_SIZE]) __attribute__((warn_unused_result));

/* Normalises input (dash after the 4th character allowed, lower case
 * allowed) into out. 0, or -1 when it is not a user code. */
int user_code_normalize(const char *input, char out[USER_CODE_SIZE])
    __attribute__((warn_unused_result));

/* "XXXX-XXXX" of a normalised code. */
void user_code_display(const char code[USER_CODE_SIZE],
                       char out[USER_CODE_DISPLAY_SIZE]);

#endif
