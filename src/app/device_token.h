/* device_token: the proof a request comes from an enrolled device: a
 * compact JWS (ES256) signed by the device key, header
 * {"alg":"ES256","typ":"cyberid-device+jwt","x5c":[<web certificate>]},
 * payload {aud, htm, htu, iat, exp, jti} (docs/api.md, "Devices"). Sent as
 * `Authorization: Device <token>`; the login approval signs the same way. */
#ifndef CYBERID_APP_DEVICE_TOKEN_H
#define CYBERID_APP_DEVICE_TOKEN_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#define DEVICE_TOKEN_TYPE "cyberid-device+jwt"
/* Seconds between iat and exp (the service accepts at most 120). */
#define DEVICE_TOKEN_LIFETIME 60
/* Random bytes in jti: 24 base64url characters (the service wants 16-64). */
#define DEVICE_TOKEN_JTI_BYTES 18
/* Characters of a jti and its NUL. */
#define DEVICE_TOKEN_JTI_SIZE (((DEVICE_TOKEN_JTI_BYTES) + 2) / 3 * 4 + 1)
/* Longest audience, method or path accepted. */
#define DEVICE_TOKEN_CLAIM_MAX 2048

/* Signs `claims` (a JSON object) as a compact JWS, ES256, header
 * {"alg":"ES256","typ":type,"x5c":[<base64 DER of certificate_pem>]}:
 * the device token and the app's assertions (docs/api.md, "Direct
 * verification") share it. `key` is the device key (P-256) and
 * certificate_pem must hold its public key. On success *token is a new
 * string the caller frees with free(). 0 or -1 with err. */
int device_jws_sign(EVP_PKEY *key, const char *certificate_pem,
                    const char *type, const json_t *claims, char **token,
                    char *err, size_t errlen) __attribute__((warn_unused_result));

/* A new random token id of DEVICE_TOKEN_JTI_BYTES bytes, base64url, into
 * out (capacity cap >= DEVICE_TOKEN_JTI_SIZE). 0 or -1. */
int device_token_jti(char *out, size_t cap) __attribute__((warn_unused_result));

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

/* device_token_create with more claims: every member of `extra` (a JSON
 * object, or NULL for none) is added to the payload, e.g. the login
 * approval's "user_code" and "release" (docs/api.md, "The app's side"),
 * so the signature covers them. A member named like a standard claim
 * (aud, htm, htu, iat, exp, jti) is refused; `extra` is not changed.
 * 0 or -1 with err. */
int device_token_create_extra(EVP_PKEY *key, const char *certificate_pem,
                              const char *audience, const char *method,
                              const char *path, time_t now,
                              json_t *extra, char **token, char *err,
                              size_t errlen) __attribute__((warn_unused_result));

#endif
