/* jws: ES256 compact serialisation of ID tokens through the signer; see
 * jws.h. Written here rather than with cjose because cjose signs only
 * with a private key it holds, and this process holds none: the signer
 * returns a DER ECDSA signature, which JWS wants as R || S (RFC 7518
 * §3.4). */
#include "oidc/jws.h"

#include "oidc/token_keys.h"
#include "util/encoding.h"
#include "util/strings.h"

#include <openssl/ecdsa.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define ES256_HALF_BYTES 32
#define ES256_SIGNATURE_BYTES (2 * ES256_HALF_BYTES)

/* base64url of a JSON value's compact text, malloc'd, or NULL. */
static char *
encode_json(const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT);
    if (text == NULL)
        return NULL;
    size_t length = strlen(text);
    size_t cap = BASE64URL_ENCODED_SIZE(length);
    char *encoded = malloc(cap);
    if (encoded != NULL && base64url_encode((const uint8_t *)text, length, encoded,
                                            cap) != 0) {
        free(encoded);
        encoded = NULL;
    }
    free(text);
    return encoded;
}

/* DER ECDSA-Sig-Value to the 64-byte R || S of JWS. 0 or -1. */
static int
der_to_raw(const uint8_t *der, size_t length, uint8_t raw[ES256_SIGNATURE_BYTES])
{
    const unsigned char *cursor = der;
    ECDSA_SIG *signature = d2i_ECDSA_SIG(NULL, &cursor, (long)length);
    if (signature == NULL)
        return -1;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(signature, &r, &s);
    int ok = BN_bn2binpad(r, raw, ES256_HALF_BYTES) == ES256_HALF_BYTES &&
             BN_bn2binpad(s, raw + ES256_HALF_BYTES, ES256_HALF_BYTES) ==
                 ES256_HALF_BYTES;
    ECDSA_SIG_free(signature);
    return ok ? 0 : -1;
}

int
jws_sign_id_token(struct store_conn *conn, struct signer *signer,
                  const json_t *claims, int64_t now, char **token)
{
    *token = NULL;
    char kid[SIGNER_KID_MAX + 1];
    json_t *header = NULL;
    char *header_text = NULL, *payload_text = NULL, *out = NULL;
    int status = -1;
    if (token_keys_signing_kid(conn, signer, now, kid) != 0)
        goto cleanup;
    header = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT", "kid", kid);
    header_text = header ? encode_json(header) : NULL;
    payload_text = encode_json(claims);
    if (header_text == NULL || payload_text == NULL)
        goto cleanup;
    size_t header_length = strlen(header_text), payload_length = strlen(payload_text);
    size_t signature_chars = BASE64URL_ENCODED_SIZE(ES256_SIGNATURE_BYTES);
    size_t cap = header_length + 1 + payload_length + 1 + signature_chars;
    out = malloc(cap);
    if (out == NULL)
        goto cleanup;
    memcpy(out, header_text, header_length);
    out[header_length] = '.';
    memcpy(out + header_length + 1, payload_text, payload_length);
    size_t signing_length = header_length + 1 + payload_length;

    uint8_t digest[SIGNER_DIGEST_BYTES], der[SIGNER_SIGNATURE_MAX_BYTES];
    uint8_t raw[ES256_SIGNATURE_BYTES];
    size_t der_length = 0;
    _Static_assert(SIGNER_DIGEST_BYTES == SHA256_DIGEST_LENGTH, "digest size");
    SHA256((const unsigned char *)out, signing_length, digest);
    if (signer_sign_token_digest(signer, kid, digest, der, &der_length) != 0 ||
        der_to_raw(der, der_length, raw) != 0)
        goto cleanup;
    out[signing_length] = '.';
    if (base64url_encode(raw, sizeof raw, out + signing_length + 1,
                         cap - signing_length - 1) != 0)
        goto cleanup;
    *token = out;
    out = NULL;
    status = 0;
cleanup:
    free(out);
    free(header_text);
    free(payload_text);
    json_decref(header);
    return status;
}
