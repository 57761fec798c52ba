/* dpop: proof of possession of a platform's key (RFC 9449, DPoP), for the
 * FAPI 2.0 platforms and any platform that sends a DPoP header.
 *
 * A proof is a compact JWS whose header carries the public key (jwk) and
 * typ "dpop+jwt", signed ES256 or PS256, with claims jti (used once),
 * htm and htu (the request's method and URL), iat (recent), nonce (a
 * server nonce where one is required) and, toward a resource, ath (the
 * access token's SHA-256). A token bound to a key carries the key's RFC
 * 7638 thumbprint (jkt); only a proof by that key may use it.
 *
 * Server nonces (RFC 9449 §8, §9) are stateless and the same on every
 * node: the minute they were made and an HMAC of it (the signer's index
 * key under its own domain label); a nonce is fresh for
 * DPOP_NONCE_LIFETIME seconds. */
#ifndef CYBERID_OIDC_DPOP_H
#define CYBERID_OIDC_DPOP_H

#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define DPOP_PROOF_MAX_BYTES 8192
#define DPOP_JTI_MAX_BYTES 256
#define DPOP_PROOF_MAX_AGE 300      /* a proof's iat at most this old */
#define DPOP_NONCE_PERIOD 60        /* a new nonce every minute */
#define DPOP_NONCE_LIFETIME 300
#define DPOP_JKT_SIZE 45            /* 43 base64url characters, NUL, room */
#define DPOP_JKT_CHARS 43
#define DPOP_NONCE_SIZE 40          /* 8 + 16 bytes in base64url, and NUL */

/* What a proof must match. */
struct dpop_expect {
    const char *method;         /* "POST", "GET" */
    const char *url;            /* the endpoint's URL, no query */
    const char *access_token;   /* toward a resource: ath; else NULL */
    int require_nonce;          /* 1: a fresh server nonce is required */
};

enum dpop_result {
    DPOP_OK = 0,
    DPOP_INVALID = 1,           /* invalid_dpop_proof, with *problem */
    DPOP_NONCE = 2,             /* use_dpop_nonce: a fresh nonce needed */
};

/* Checks a proof (the DPoP header's value) at now and marks its jti used
 * (store_token_use). Returns DPOP_OK with the key's thumbprint in jkt,
 * DPOP_INVALID or DPOP_NONCE with *problem (a constant), or -1 on an
 * internal failure. */
int dpop_proof_check(struct signer *signer, struct store_conn *conn, const char *proof,
                     const struct dpop_expect *expect, int64_t now,
                     char jkt[DPOP_JKT_SIZE], const char **problem)
    __attribute__((warn_unused_result));

/* The server nonce of now's minute. 0 or -1. */
int dpop_nonce_new(struct signer *signer, int64_t now, char out[DPOP_NONCE_SIZE])
    __attribute__((warn_unused_result));

/* 1 if nonce is one of ours made within DPOP_NONCE_LIFETIME of now, 0 if
 * not, -1 on an internal failure. */
int dpop_nonce_is_fresh(struct signer *signer, const char *nonce, int64_t now)
    __attribute__((warn_unused_result));

/* The RFC 7638 SHA-256 thumbprint of a public JWK (EC P-256 or RSA) in
 * base64url. 0, or -1 when the key lacks its members. */
int dpop_jwk_thumbprint(const json_t *jwk, char out[DPOP_JKT_SIZE])
    __attribute__((warn_unused_result));

/* 1 if jkt is 43 base64url characters (a dpop_jkt parameter), else 0. */
int dpop_jkt_is_well_formed(const char *jkt);

#endif
