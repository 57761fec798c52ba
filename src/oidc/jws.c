/* jws: ID tokens through the signer; see jws.h. The signer writes the
 * header, checks the claims against its policy and signs
 * (signer_sign_id_token); this side picks the kid and serialises the
 * claims. */
#include "oidc/jws.h"

#include "oidc/token_keys.h"

#include <cjose/cjose.h>
#include <stdlib.h>
#include <string.h>

int
jws_sign_id_token(struct store_conn *conn, struct signer *signer, const json_t *claims,
                  const char *sector_id, const char *web_number, int64_t now,
                  char sub[SIGNER_SUBJECT_SIZE], char **token)
{
    *token = NULL;
    sub[0] = '\0';
    char kid[SIGNER_KID_MAX + 1];
    if (token_keys_signing_kid(conn, signer, now, kid) != 0)
        return -1;
    char *payload = json_dumps(claims, JSON_COMPACT);
    if (payload == NULL)
        return -1;
    int status = signer_sign_id_token_pairwise(signer, kid, sector_id, web_number, payload,
                                               sub, token);
    free(payload);
    return status;
}

/* The largest id_token_hint read. */
#define HINT_MAX_BYTES 8192

int
jws_verify_id_token(struct store_conn *conn, struct signer *signer, const char *token,
                    const char *issuer, int64_t now, json_t **claims)
{
    *claims = NULL;
    size_t length = strlen(token);
    if (length == 0 || length > HINT_MAX_BYTES)
        return 1;
    cjose_err error;
    cjose_jws_t *jws = cjose_jws_import(token, length, &error);
    if (jws == NULL)
        return 1;
    json_t *jwks = NULL;
    int result = 1;
    cjose_header_t *header = cjose_jws_get_protected(jws);
    const char *alg = header ? cjose_header_get(header, CJOSE_HDR_ALG, &error) : NULL;
    const char *kid = header ? cjose_header_get(header, CJOSE_HDR_KID, &error) : NULL;
    if (alg == NULL || strcmp(alg, "ES256") != 0 || kid == NULL)
        goto done;
    if (token_keys_jwks(conn, signer, now, &jwks) != 0) {
        result = -1;
        goto done;
    }
    size_t i;
    json_t *key;
    int verified = 0;
    json_array_foreach(json_object_get(jwks, "keys"), i, key) {
        const char *key_kid = json_string_value(json_object_get(key, "kid"));
        if (key_kid == NULL || strcmp(key_kid, kid) != 0)
            continue;
        char *text = json_dumps(key, JSON_COMPACT);
        cjose_jwk_t *jwk = text ? cjose_jwk_import(text, strlen(text), &error) : NULL;
        free(text);
        verified = jwk != NULL && cjose_jws_verify(jws, jwk, &error);
        cjose_jwk_release(jwk);
        break;
    }
    uint8_t *payload = NULL;
    size_t payload_length = 0;
    if (!verified || !cjose_jws_get_plaintext(jws, &payload, &payload_length, &error))
        goto done;
    json_t *parsed = json_loadb((const char *)payload, payload_length, JSON_REJECT_DUPLICATES,
                                NULL);
    const char *iss = json_string_value(json_object_get(parsed, "iss"));
    if (!json_is_object(parsed) || iss == NULL || strcmp(iss, issuer) != 0) {
        json_decref(parsed);
        goto done;
    }
    *claims = parsed;
    result = 0;
done:
    json_decref(jwks);
    cjose_jws_release(jws);
    return result;
}
