/* client_auth: who is calling a back-channel endpoint (/token,
 * /introspect, /revoke, /v1/verify): a registered, enabled platform,
 * authenticated by the method its registration names.
 *
 * - client_secret_basic (RFC 6749 §2.3.1): `Authorization: Basic
 *   base64(urlencode(client_id) ":" urlencode(secret))`; the secret's
 *   SHA-256 is compared in constant time with the stored one.
 * - private_key_jwt (OpenID Connect Core §9, RFC 7523): form fields
 *   client_assertion_type = urn:ietf:params:oauth:client-assertion-type:
 *   jwt-bearer and client_assertion = a JWS signed by a key of the
 *   platform's JWKS, iss = sub = client_id, aud = the issuer or the token
 *   endpoint URL, exp in the future (at most 300 s after iat), jti used
 *   once; a FAPI 2.0 platform's with ES256 or PS256 only.
 * A platform registered for one method cannot use the other. */
#ifndef CYBERID_OIDC_CLIENT_AUTH_H
#define CYBERID_OIDC_CLIENT_AUTH_H

#include "http/http.h"
#include "oidc/form.h"
#include "oidc/oauth.h"
#include "oidc/oidc.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define CLIENT_ASSERTION_MAX_BYTES 8192
#define CLIENT_ASSERTION_MAX_LIFETIME 300
#define CLIENT_ASSERTION_JTI_MAX_BYTES 256
/* The longest decoded `Basic` credential (client_id ":" secret, both
 * %-encoded), refused before any lookup. */
#define CLIENT_BASIC_MAX_BYTES 1024
#define CLIENT_SECRET_MAX OAUTH_CREDENTIAL_MAX

/* Authenticates the caller. `form` is the parsed body (NULL for a JSON
 * endpoint, which allows client_secret_basic only); a client_id field in
 * it must name the authenticated platform. A disabled platform is refused
 * like an unknown one. Returns 0 with *platform
 * filled (store_platform_clear()); 1 when refused (response filled: 401
 * invalid_client with WWW-Authenticate: Basic, or 400 invalid_request
 * when the request uses two methods at once (Basic, client_assertion, a
 * client_secret field: client_secret_post is not supported) or only one of
 * the two client_assertion fields); -1 on an internal failure (nothing
 * answered). On 1 and -1 *platform holds nothing to release. */
int client_authenticate(const struct oidc_context *context,
                        struct store_conn *conn,
                        const struct http_request *request,
                        const struct form *form, struct store_platform *platform,
                        struct http_response *response)
    __attribute__((warn_unused_result));

/* ── Parts, exposed for the tests ──────────────────────────────────────── */

/* client_authenticate() with the Authorization header's value (NULL when
 * absent) and the time given. Same contract. */
int client_authenticate_at(const struct oidc_context *context,
                           struct store_conn *conn, const char *authorization,
                           const struct form *form, int64_t now,
                           struct store_platform *platform,
                           struct http_response *response)
    __attribute__((warn_unused_result));

/* Splits an `Authorization: Basic …` value (scheme case-insensitive) into
 * the form-decoded client_id (capacity STORE_ID_MAX) and secret (capacity
 * CLIENT_SECRET_MAX + 1), both non-empty. 0, or -1 (not Basic, bad
 * base64, no ':', bad %-escape, NUL byte, too long) with both emptied.
 * The caller wipes secret (secret_wipe). */
int client_basic_parse(const char *authorization, char client_id[STORE_ID_MAX],
                       char secret[CLIENT_SECRET_MAX + 1])
    __attribute__((warn_unused_result));

/* Checks the claims of a client assertion whose signature verified:
 * iss = sub = client_id, aud (a string, or an array holding one) = issuer
 * or issuer "/token", integer exp > now, integer iat <= now +
 * OIDC_CLOCK_SKEW and exp - iat in (0, CLIENT_ASSERTION_MAX_LIFETIME], nbf
 * (if any) <= now + OIDC_CLOCK_SKEW, jti 1 to
 * CLIENT_ASSERTION_JTI_MAX_BYTES. NULL when good (then *jti, borrowed from
 * claims, and *expires_at are set), else why not. */
const char *client_assertion_check(const json_t *claims, const char *client_id,
                                   const char *issuer, int64_t now,
                                   const char **jti, int64_t *expires_at);

#endif
