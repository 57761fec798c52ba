/* jws: the ID tokens cyberid signs: compact JWS, ES256, with the token key
 * that signs now (token_keys.h), through the signer (this process never
 * holds the private key). Header {"alg":"ES256","typ":"JWT","kid":…}. */
#ifndef CYBERID_OIDC_JWS_H
#define CYBERID_OIDC_JWS_H

#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

/* Signs claims (a JSON object without sub, borrowed) at now, with the
 * sub the signer derives: the pairwise subject of web_number at
 * sector_id (subject.h), also copied into sub. *token is a new string
 * (free()). 0 or -1. */
int jws_sign_id_token(struct store_conn *conn, struct signer *signer, const json_t *claims,
                      const char *sector_id, const char *web_number, int64_t now,
                      char sub[SIGNER_SUBJECT_SIZE], char **token)
    __attribute__((warn_unused_result));

/* Checks an ID token this service signed (an id_token_hint): ES256 by a
 * token key published now (its kid), payload a JSON object whose "iss" is
 * issuer. Its expiry is not checked: a hint names a login, it grants
 * nothing. 0 with *claims (a new reference), 1 when it is not one of ours
 * (malformed, another key, another issuer), -1 on an internal failure. */
int jws_verify_id_token(struct store_conn *conn, struct signer *signer, const char *token,
                        const char *issuer, int64_t now, json_t **claims)
    __attribute__((warn_unused_result));

#endif
