/* device_token: the device's ES256 JWS for one request; see device_token.h. */
#include "app/device_token.h"

#include "app/device_key.h"
#include "util/wipe_alloc.h"
#include "util/encoding.h"
#include "util/strings.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a P-256 scalar or coordinate. */
#define DEVICE_TOKEN_COORDINATE 32
/* Largest DER certificate put into x5c. */
#define DEVICE_TOKEN_CERT_DER_MAX 8192
/* Standard base64 of the largest certificate, brackets and quotes. */
#define DEVICE_TOKEN_X5C_MAX ((DEVICE_TOKEN_CERT_DER_MAX + 2) / 3 * 4 + 8)

/* Fills out[DEVICE_TOKEN_COORDINATE] with a big-endian key parameter. */
static int
key_parameter(EVP_PKEY *key, const char *name, uint8_t *out)
{
    BIGNUM *value = NULL;
    int status = -1;

    if (EVP_PKEY_get_bn_param(key, name, &value) == 1 &&
        BN_bn2binpad(value, out, DEVICE_TOKEN_COORDINATE) == DEVICE_TOKEN_COORDINATE)
        status = 0;
    BN_clear_free(value);
    return status;
}

/* The device key as a cjose JWK (private part included, for signing). */
static cjose_jwk_t *
key_to_jwk(EVP_PKEY *key, char *err, size_t errlen)
{
    uint8_t d[DEVICE_TOKEN_COORDINATE], x[DEVICE_TOKEN_COORDINATE],
        y[DEVICE_TOKEN_COORDINATE];
    cjose_jwk_t *jwk = NULL;
    cjose_err cerr;

    if (!device_key_is_p256(key)) {
        error_set(err, errlen, "the device key is not EC P-256");
        return NULL;
    }
    if (key_parameter(key, OSSL_PKEY_PARAM_PRIV_KEY, d) != 0 ||
        key_parameter(key, OSSL_PKEY_PARAM_EC_PUB_X, x) != 0 ||
        key_parameter(key, OSSL_PKEY_PARAM_EC_PUB_Y, y) != 0) {
        ERR_clear_error();
        error_set(err, errlen, "cannot read the device key");
        goto cleanup;
    }
    cjose_jwk_ec_keyspec spec = {
        .crv = CJOSE_JWK_EC_P_256,
        .d = d, .dlen = sizeof(d),
        .x = x, .xlen = sizeof(x),
        .y = y, .ylen = sizeof(y),
    };
    jwk = cjose_jwk_create_EC_spec(&spec, &cerr);
    if (jwk == NULL)
        error_set(err, errlen, "cannot use the device key: %s", cerr.message);
cleanup:
    secret_wipe(d, sizeof(d));
    return jwk;
}

/* The x5c header value: a JSON array holding the standard base64 of the
 * certificate's DER, after checking the certificate holds key's public
 * key. Writes into out (capacity cap). */
static int
certificate_x5c(const char *certificate_pem, EVP_PKEY *key, char *out,
                size_t cap, char *err, size_t errlen)
{
    int status = -1;
    size_t pem_length = strnlen(certificate_pem, DEVICE_KEY_PEM_MAX);
    BIO *bio = NULL;
    X509 *certificate = NULL;
    unsigned char *der = NULL;
    int der_length;

    if (pem_length >= DEVICE_KEY_PEM_MAX)
        return error_set(err, errlen, "certificate PEM too long");
    bio = BIO_new_mem_buf(certificate_pem, (int)pem_length);
    if (bio == NULL ||
        (certificate = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
        error_set(err, errlen, "cannot read the web certificate");
        goto cleanup;
    }
    if (X509_check_private_key(certificate, key) != 1) {
        error_set(err, errlen, "the web certificate is not for the device key");
        goto cleanup;
    }
    der_length = i2d_X509(certificate, &der);
    if (der_length <= 0 || der_length > DEVICE_TOKEN_CERT_DER_MAX ||
        cap < (size_t)(der_length + 2) / 3 * 4 + 5) {
        error_set(err, errlen, "web certificate of unexpected size");
        goto cleanup;
    }
    out[0] = '[';
    out[1] = '"';
    int written = EVP_EncodeBlock((unsigned char *)out + 2, der, der_length);
    memcpy(out + 2 + written, "\"]", 3);
    status = 0;
cleanup:
    ERR_clear_error();
    OPENSSL_free(der);
    X509_free(certificate);
    BIO_free(bio);
    return status;
}

int
device_token_jti(char *out, size_t cap)
{
    uint8_t bytes[DEVICE_TOKEN_JTI_BYTES];

    if (cap < DEVICE_TOKEN_JTI_SIZE || RAND_bytes(bytes, sizeof(bytes)) != 1)
        return -1;
    return base64url_encode(bytes, sizeof(bytes), out, cap);
}

int
device_jws_sign(EVP_PKEY *key, const char *certificate_pem, const char *type,
                const json_t *claims, char **token, char *err, size_t errlen)
{
    int status = -1;
    char x5c[DEVICE_TOKEN_X5C_MAX];
    cjose_jwk_t *jwk = NULL;
    cjose_header_t *header = NULL;
    cjose_jws_t *jws = NULL;
    char *payload = NULL;
    const char *compact = NULL;
    cjose_err cerr;

    *token = NULL;
    if (!json_is_object(claims))
        return error_set(err, errlen, "the token claims are not a JSON object");
    if (certificate_x5c(certificate_pem, key, x5c, sizeof(x5c), err,
                        errlen) != 0)
        return -1;
    jwk = key_to_jwk(key, err, errlen);
    if (jwk == NULL)
        goto cleanup;
    header = cjose_header_new(&cerr);
    if (header == NULL ||
        !cjose_header_set(header, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &cerr) ||
        !cjose_header_set(header, "typ", type, &cerr) ||
        !cjose_header_set_raw(header, "x5c", x5c, &cerr)) {
        error_set(err, errlen, "cannot build the token header: %s", cerr.message);
        goto cleanup;
    }
    payload = json_dumps(claims, JSON_COMPACT);
    if (payload == NULL) {
        error_set(err, errlen, "cannot build the token claims");
        goto cleanup;
    }
    jws = cjose_jws_sign(jwk, header, (const uint8_t *)payload,
                         strlen(payload), &cerr);
    if (jws == NULL || !cjose_jws_export(jws, &compact, &cerr)) {
        error_set(err, errlen, "cannot sign the token: %s", cerr.message);
        goto cleanup;
    }
    *token = strdup(compact);
    if (*token == NULL) {
        error_set(err, errlen, "out of memory");
        goto cleanup;
    }
    status = 0;
cleanup:
    cjose_jws_release(jws);
    wipe_free(payload);
    cjose_header_release(header);
    cjose_jwk_release(jwk);
    return status;
}

/* The claims a device token always carries; extra claims may not reuse them. */
static const char *const standard_claims[] = {"aud", "htm", "htu", "iat", "exp", "jti"};

int
device_token_create_extra(EVP_PKEY *key, const char *certificate_pem,
                          const char *audience, const char *method,
                          const char *path, time_t now, json_t *extra,
                          char **token, char *err, size_t errlen)
{
    int status = -1;
    char jti[DEVICE_TOKEN_JTI_SIZE];
    json_t *claims = NULL;

    *token = NULL;
    if (strnlen(audience, DEVICE_TOKEN_CLAIM_MAX) >= DEVICE_TOKEN_CLAIM_MAX ||
        strnlen(method, DEVICE_TOKEN_CLAIM_MAX) >= DEVICE_TOKEN_CLAIM_MAX ||
        strnlen(path, DEVICE_TOKEN_CLAIM_MAX) >= DEVICE_TOKEN_CLAIM_MAX)
        return error_set(err, errlen, "device token claim too long");
    if (extra != NULL) {
        if (!json_is_object(extra))
            return error_set(err, errlen, "the extra claims are not a JSON object");
        for (size_t i = 0; i < sizeof(standard_claims) / sizeof(standard_claims[0]); i++)
            if (json_object_get(extra, standard_claims[i]) != NULL)
                return error_set(err, errlen, "extra claim %s would replace a "
                                 "standard claim", standard_claims[i]);
    }
    if (device_token_jti(jti, sizeof(jti)) != 0)
        return error_set(err, errlen, "no randomness for the token id");
    claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "aud", audience,
                       "htm", method, "htu", path, "iat", (json_int_t)now,
                       "exp", (json_int_t)now + DEVICE_TOKEN_LIFETIME, "jti", jti);
    if (claims == NULL || (extra != NULL && json_object_update(claims, extra) != 0)) {
        error_set(err, errlen, "cannot build the token claims");
        goto cleanup;
    }
    status = device_jws_sign(key, certificate_pem, DEVICE_TOKEN_TYPE, claims,
                             token, err, errlen);
cleanup:
    json_decref(claims);
    return status;
}

int
device_token_create(EVP_PKEY *key, const char *certificate_pem,
                    const char *audience, const char *method,
                    const char *path, time_t now, char **token, char *err,
                    size_t errlen)
{
    return device_token_create_extra(key, certificate_pem, audience, method,
                                     path, now, NULL, token, err, errlen);
}
