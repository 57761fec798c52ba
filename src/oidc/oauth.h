/* oauth: small pieces every OpenID Connect endpoint of oidc/ shares:
 * OAuth error answers (RFC 6749 §5.2, RFC 6750 §3), random opaque
 * credentials and their stored hashes, and the one place that turns a
 * store failure into a logged 500. */
#ifndef CYBERID_OIDC_OAUTH_H
#define CYBERID_OIDC_OAUTH_H

#include "http/http.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

/* Random bytes in an opaque credential (login id, request_uri): 32, so 43
 * base64url characters. */
#define OAUTH_SECRET_BYTES 32
#define OAUTH_SECRET_CHARS 43
#define OAUTH_SECRET_SIZE (OAUTH_SECRET_CHARS + 1)

/* An access or refresh token: the microseconds since 1970 it was made at
 * (8 bytes, big-endian, 11 base64url characters), '.', then 24 random
 * bytes (32 characters): 44 characters. */
#define OAUTH_TOKEN_TIME_BYTES 8
#define OAUTH_TOKEN_TIME_CHARS 11
#define OAUTH_TOKEN_RANDOM_BYTES 24
#define OAUTH_TOKEN_RANDOM_CHARS 32
#define OAUTH_TOKEN_CHARS (OAUTH_TOKEN_TIME_CHARS + 1 + OAUTH_TOKEN_RANDOM_CHARS)
#define OAUTH_TOKEN_SIZE (OAUTH_TOKEN_CHARS + 1)
/* The longest credential accepted from a request before hashing. */
#define OAUTH_CREDENTIAL_MAX 512

/* {"error": code, "error_description": description} with status, and for
 * 401 a WWW-Authenticate header: `Basic realm="cyberid"` when
 * basic_challenge is set (invalid_client, RFC 6749 §5.2), else
 * `Bearer error="<code>"` (RFC 6750 §3). 0 or -1. */
int oauth_error(struct http_response *response, unsigned status, const char *code,
                const char *description, int basic_challenge)
    __attribute__((warn_unused_result));

/* A new random credential, base64url without padding, into out. 0 or -1. */
int oauth_secret_new(char out[OAUTH_SECRET_SIZE]) __attribute__((warn_unused_result));

/* SHA-256 of text (what the store keeps of every credential but tokens). */
void oauth_hash(const char *text, uint8_t out[STORE_OIDC_HASH_BYTES]);

/* A new access or refresh token into out. 0 or -1. */
int oauth_token_new(char out[OAUTH_TOKEN_SIZE]) __attribute__((warn_unused_result));

/* The key the store keeps a token under: its 8 time bytes, then the first
 * 24 bytes of its SHA-256. Tokens made one after the other thus have keys
 * in the order they were made, and go in at the end of every index on
 * the key (the table's on SQLite, the lookup table's on PostgreSQL and
 * Citus) instead of at a random page of it, which each grant read and
 * wrote before (docs/bench.md, "Tokens keyed in the order they are
 * made"). Any other text, a token made before this format (43 random
 * characters) included, is kept under its SHA-256 as before. */
void oauth_token_key(const char *token, uint8_t out[STORE_OIDC_HASH_BYTES]);

/* The authorization code of a login: base64url(HMAC-SHA256(key = the
 * login id's characters, "cyberid authorization code")). Only the page
 * that holds the login id can learn it (from its status poll, once the
 * citizen approved); the store keeps its hash from the start. 0 or -1. */
int oauth_code_for_login(const char *login_id, char out[OAUTH_SECRET_SIZE])
    __attribute__((warn_unused_result));

/* Logs a store failure (`what` names the step, never data) and answers
 * 500 server_error. Returns -1 only if even that fails, else 0, so that
 * handlers can `return oauth_store_failed(...)`. */
int oauth_store_failed(struct store_conn *conn, const char *what,
                       struct http_response *response);

/* The Bearer token of an `Authorization: Bearer …` header, or NULL. */
const char *oauth_bearer(const struct http_request *request);

#endif
