/* jws: the ID tokens cyberid signs: compact JWS, ES256, with the token key
 * that signs now (token_keys.h), through the signer (this process never
 * holds the private key). Header {"alg":"ES256","typ":"JWT","kid":…}. */
#ifndef CYBERID_OIDC_JWS_H
#define CYBERID_OIDC_JWS_H

#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

/* Signs claims (a JSON object, borrowed) at now. *token is a new string
 * (free()). 0 or -1. */
int jws_sign_id_token(struct store_conn *conn, struct signer *signer,
                      const json_t *claims, int64_t now, char **token)
    __attribute__((warn_unused_result));

#endif
