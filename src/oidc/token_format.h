/* token_format: what the token endpoints say, computed without the store
 * or the signer: the scope text of a grant, the narrowing of a scope on
 * refresh, the ID token's claims (at_hash included), the /token answer,
 * whether a stored token is live, and the /introspect answer (RFC 7662).
 * token.c and resource.c use these; the tests check them directly. */
#ifndef CYBERID_OIDC_TOKEN_FORMAT_H
#define CYBERID_OIDC_TOKEN_FORMAT_H

#include "oidc/claims.h"
#include "store/store.h"
#include "util/encoding.h"

#include <jansson.h>
#include <stdint.h>

#define TOKEN_SCOPE_OPENID "openid"
/* "openid" and every claim name, each after a space, NUL included. */
#define TOKEN_SCOPE_MAX (sizeof TOKEN_SCOPE_OPENID + CLAIMS_MAX * (CLAIMS_NAME_MAX_BYTES + 1))
/* The longest `scope` a refresh request may send (the same bound as
 * /authorize's). */
#define TOKEN_SCOPE_REQUEST_MAX 1024
#define TOKEN_TYPE_BEARER "Bearer"
#define TOKEN_TYPE_DPOP "DPoP"      /* RFC 9449 §5: bound to a DPoP key */
#define TOKEN_TYPE_REFRESH "refresh_token"
/* at_hash: base64url of the left half of SHA-256 (OIDC Core §3.1.3.6). */
#define TOKEN_AT_HASH_BYTES 16
#define TOKEN_AT_HASH_SIZE BASE64URL_ENCODED_SIZE(TOKEN_AT_HASH_BYTES)

/* The scope of a grant: "openid", then each name of names (an array of
 * strings) after a space, into out. 0, or -1 (not an array of strings,
 * a name with a space, too long) with out emptied. */
int token_scope(const json_t *names, char out[TOKEN_SCOPE_MAX])
    __attribute__((warn_unused_result));

/* The claim names a refresh request's `scope` asks for among granted (an
 * array of names): space-separated scope tokens; "openid" is implied, and
 * tokens that are not granted are ignored (the intersection is issued,
 * never more). Returns 0 with *narrowed a new array (the granted names the
 * scope names, in granted order, perhaps empty); 1 when the scope is over
 * TOKEN_SCOPE_REQUEST_MAX bytes or has no token (invalid_scope); -1 out
 * of memory. */
int token_scope_narrow(const char *scope, const json_t *granted, json_t **narrowed)
    __attribute__((warn_unused_result));

/* The at_hash of an access token into out. 0 or -1. */
int token_at_hash(const char *access_token, char out[TOKEN_AT_HASH_SIZE])
    __attribute__((warn_unused_result));

/* What an ID token says besides the released claim values. */
struct token_id_fields {
    const char *issuer;
    const char *sub;            /* NULL: none (the signer puts it in) */
    const char *client_id;      /* aud */
    int64_t now;                /* iat; exp = now + OIDC_ID_TOKEN_LIFETIME */
    int64_t auth_time;
    const char *nonce;          /* NULL: none */
    const char *at_hash;        /* NULL: none */
};

/* A new object {iss, [sub], aud, exp, iat, auth_time, [nonce], acr,
 * [at_hash]} followed by the members of values (borrowed; a value never
 * replaces one of the fields). NULL when out of memory. */
json_t *token_id_claims(const struct token_id_fields *fields, const json_t *values);

/* The /token answer (RFC 6749 §5.1): {access_token, token_type: Bearer
 * (DPoP when bound), expires_in: OIDC_ACCESS_TOKEN_LIFETIME,
 * refresh_token, [id_token], scope}. id_token NULL: none (a refresh).
 * NULL when out of memory. */
json_t *token_response(const char *access_token, const char *refresh_token,
                       const char *id_token, const char *scope, int bound);

/* 1 if token may be used at now: of kind (NULL: access or refresh),
 * status active, expires_at > now and its identity active; else 0. */
int token_is_live(const struct store_oidc_token *token, const char *kind, int64_t now);

/* The /introspect answer for token (NULL: not found) asked by the client
 * `caller`: {"active": false} unless the token is live and the caller's;
 * else {active, scope, client_id, sub, aud, iss, exp, iat, auth_time,
 * token_type: "Bearer" or "DPoP" (access) or "refresh_token", and for a
 * token bound to a DPoP key cnf: {jkt}}: never claim values.
 * NULL when out of memory or the stored claims are malformed. */
json_t *token_introspection(const struct store_oidc_token *token, const char *caller,
                            const char *issuer, int64_t now);

#endif
