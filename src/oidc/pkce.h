/* pkce: Proof Key for Code Exchange, S256 only (RFC 7636).
 *
 * A code_challenge and a code_verifier are both 43 to 128 characters of
 * the unreserved set [A-Za-z0-9-._~] (§4.1, §4.2); the challenge of a
 * verifier is base64url(SHA-256(ASCII(verifier))) without padding. */
#ifndef CYBERID_OIDC_PKCE_H
#define CYBERID_OIDC_PKCE_H

#include <stddef.h>

#define PKCE_MIN_CHARS 43
#define PKCE_MAX_CHARS 128
#define PKCE_S256_CHALLENGE_CHARS 43

/* 1 if text is 43 to 128 unreserved characters, else 0. */
int pkce_is_well_formed(const char *text);

/* 1 if verifier is well formed and its S256 challenge equals challenge
 * (compared in constant time), else 0. */
int pkce_s256_matches(const char *verifier, const char *challenge);

#endif
