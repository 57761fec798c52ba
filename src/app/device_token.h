/* device_token: the proof a request comes from an enrolled device: a
 * compact JWS (ES256) signed by the device key, header
 * {"alg":"ES256","typ":"cyberid-device+jwt","x5c":[<web certificate>]},
 * payload {aud, htm, htu, iat, exp, jti} (docs/api.md, "Devices"). Sent as
 * `Authorization: Device <token>`; the login approval signs the same way. */
#ifndef CYBERID_APP_DEVICE_TOKEN_H
#define CYBERID_APP_DEVICE_TOKEN_H

#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#define DEVICE_TOKEN_TYPE "cyberid-device+jwt"
/* Seconds between iat and exp (the service accepts at most 120). */
#define DEVICE_TOKEN_LIFETIME 60
/* Random bytes in jti: 24 base64url characters (the service wants 16-64). */
#define DEVICE_TOKEN_JTI_BYTES 18
/* Longest audience, method or path accepted. */
#define DEVICE_TOKEN_CLAIM_MAX 2048

/* Makes a token for one request: `key` the device key (P-256), `certificate_pem`
 * its web certificate (whose public key must be key's), `audience` the
 * service URL without trailing slash, `method` and `path` the request's
 * (path without query), `now` the issue time. On success *token is a new
 * NUL-terminated string the caller frees with free(). 0 or -1 with err. */
int device_token_create(EVP_PKEY *key, const char *certificate_pem,
                        const char *audience, const char *method,
                        const char *path, time_t now, char **token,
                        char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
