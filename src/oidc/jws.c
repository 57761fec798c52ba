/* jws: ID tokens through the signer; see jws.h. The signer writes the
 * header, checks the claims against its policy and signs
 * (signer_sign_id_token); this side picks the kid and serialises the
 * claims. */
#include "oidc/jws.h"

#include "oidc/token_keys.h"

#include <stdlib.h>
#include <string.h>

int
jws_sign_id_token(struct store_conn *conn, struct signer *signer, const json_t *claims,
                  int64_t now, char **token)
{
    *token = NULL;
    char kid[SIGNER_KID_MAX + 1];
    if (token_keys_signing_kid(conn, signer, now, kid) != 0)
        return -1;
    char *payload = json_dumps(claims, JSON_COMPACT);
    if (payload == NULL)
        return -1;
    int status = signer_sign_id_token(signer, kid, payload, token);
    free(payload);
    return status;
}
