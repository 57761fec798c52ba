/* assertion: the app's signed statement to one platform, for direct
 * verification (docs/api.md, "Direct verification"): a compact JWS,
 * ES256, header {"alg":"ES256","typ":"cyberid-assertion+jwt","x5c":[cert]},
 * payload {"aud": client_id, "nonce", "iat", "exp": iat + ASSERTION_LIFETIME,
 * "jti", "release": [claims]}. The platform posts it to /v1/verify with its
 * client credentials; the service accepts each assertion once. */
#ifndef CYBERID_APP_ASSERTION_H
#define CYBERID_APP_ASSERTION_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#define ASSERTION_TYPE "cyberid-assertion+jwt"
/* Seconds between iat and exp (the service accepts at most 120). */
#define ASSERTION_LIFETIME 60
/* Random bytes of a nonce the caller does not give: 22 base64url characters. */
#define ASSERTION_NONCE_BYTES 16
/* Longest audience (client id) or nonce accepted, in bytes. */
#define ASSERTION_TEXT_MAX 256

/* 1 if text is a valid audience or nonce: 1 to ASSERTION_TEXT_MAX bytes
 * of clean UTF-8 (no control character). */
int assertion_text_is_valid(const char *text);

/* Makes an assertion for `audience` (a client id: 1 to ASSERTION_TEXT_MAX
 * bytes of clean UTF-8) with `nonce` (same limits; NULL: a random one)
 * and `release` (a JSON array of claim names; NULL: none), signed by the
 * device key `key` with its certificate in x5c, issued at `now`. On
 * success *token is a new string the caller frees with free(). 0 or -1
 * with err. */
int assertion_create(EVP_PKEY *key, const char *certificate_pem,
                     const char *audience, const char *nonce, json_t *release,
                     time_t now, char **token, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
