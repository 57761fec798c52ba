/* jws_check: the signature checks the signer tests share: an ECDSA
 * signature of a digest under a DER SPKI, and a compact ES256 JWS under a
 * token key of the signer. Header only, as test_support.h. Needs cmocka
 * (test_support.h) included before it. */
#ifndef CYBERID_TESTS_SIGNER_JWS_CHECK_H
#define CYBERID_TESTS_SIGNER_JWS_CHECK_H

#include "signer/signer.h"
#include "util/encoding.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <string.h>

/* 1 if signature (DER ECDSA) of digest verifies under the DER SPKI. */
static int
verifies(const uint8_t *public_der, size_t public_length, const uint8_t *digest,
         const uint8_t *signature, size_t signature_length)
{
    const uint8_t *cursor = public_der;
    EVP_PKEY *public_key = d2i_PUBKEY(NULL, &cursor, (long)public_length);
    assert_non_null(public_key);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(public_key, NULL);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    int ok = EVP_PKEY_verify(ctx, signature, signature_length, digest,
                             SIGNER_DIGEST_BYTES) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(public_key);
    return ok;
}

/* 1 if the compact JWS token's ES256 signature verifies under token key
 * kid (its R || S turned into DER for OpenSSL), and its header names kid. */
static int
jws_verifies(struct signer *signer, const char *kid, const char *token)
{
    const char *first = strchr(token, '.');
    const char *second = first ? strchr(first + 1, '.') : NULL;
    if (second == NULL)
        return 0;
    uint8_t raw[64], digest[SIGNER_DIGEST_BYTES], public_der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t raw_length = 0, public_length = 0;
    if (base64url_decode(second + 1, strlen(second + 1), raw, sizeof raw, &raw_length) != 0 ||
        raw_length != 64)
        return 0;
    char header[256];
    size_t header_length = 0;
    if (base64url_decode(token, (size_t)(first - token), (uint8_t *)header, sizeof header - 1,
                         &header_length) != 0)
        return 0;
    header[header_length] = '\0';
    char expected[128];
    snprintf(expected, sizeof expected, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    if (strcmp(header, expected) != 0)
        return 0;
    SHA256((const uint8_t *)token, (size_t)(second - token), digest);
    ECDSA_SIG *signature = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    ECDSA_SIG_set0(signature, r, s);
    uint8_t der[SIGNER_SIGNATURE_MAX_BYTES], *cursor = der;
    int der_length = i2d_ECDSA_SIG(signature, &cursor);
    ECDSA_SIG_free(signature);
    return der_length > 0 &&
           signer_token_public_key(signer, kid, public_der, &public_length) == 0 &&
           verifies(public_der, public_length, digest, der, (size_t)der_length);
}

#endif
