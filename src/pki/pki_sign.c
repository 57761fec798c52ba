/* pki_sign: an OpenSSL private key for the issuing CA that holds no private
 * key. Its ECDSA operation hands the SHA-256 digest OpenSSL computed over
 * the to-be-signed bytes to signer_sign_digest(SIGNER_KEY_ISSUING_CA) and
 * returns the signer's DER signature, so OpenSSL's own X509_sign(),
 * X509_CRL_sign() and OCSP_basic_sign() build and sign the structures.
 * This is what OpenSMTPD's ca.c does to keep TLS keys in its ca process.
 *
 * Why the deprecated API: OpenSSL 3 deprecates EC_KEY and EC_KEY_METHOD in
 * favour of providers, but a provider that forwards one operation to the
 * signer would be several hundred lines of dispatch tables for the same
 * effect. The legacy method is still fully supported in 3.x (a key with a
 * non-default method is "foreign" and always signed through it), so it is
 * used here, and only here: this file alone suppresses the deprecation
 * warnings. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "pki/pki_internal.h"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <stdlib.h>
#include <string.h>

/* The ex_data slot that carries the signer: index 0 is OpenSSL's reserved
 * application-data slot of every object (as RSA_set_app_data() uses), so
 * no process-wide index has to be allocated. */
#define PKI_SIGNER_SLOT 0

struct pki_sign_method {
    EC_KEY_METHOD *method;
};

/* EC_KEY_METHOD sign: DER ECDSA signature of digest into signature (room
 * for ECDSA_size(key) bytes). 1 on success, 0 on failure, as OpenSSL
 * expects. */
static int
pki_sign_der(int type, const unsigned char *digest, int digest_length,
             unsigned char *signature, unsigned int *signature_length,
             const BIGNUM *kinv, const BIGNUM *r, EC_KEY *key)
{
    (void)type;
    (void)kinv;
    (void)r;
    struct signer *signer = EC_KEY_get_ex_data(key, PKI_SIGNER_SLOT);
    uint8_t der[SIGNER_SIGNATURE_MAX_BYTES];
    size_t length = 0;
    int room = ECDSA_size(key);

    *signature_length = 0;
    if (signer == NULL || digest_length != SIGNER_DIGEST_BYTES || room <= 0)
        return 0;
    if (signer_sign_digest(signer, SIGNER_KEY_ISSUING_CA, digest, der,
                           &length) != 0)
        return 0;
    if (length == 0 || length > (size_t)room)
        return 0;
    memcpy(signature, der, length);
    *signature_length = (unsigned int)length;
    return 1;
}

/* EC_KEY_METHOD sign_sig: the same signature as an ECDSA_SIG (NULL on
 * failure), for callers of ECDSA_do_sign(). */
static ECDSA_SIG *
pki_sign_sig(const unsigned char *digest, int digest_length,
             const BIGNUM *kinv, const BIGNUM *r, EC_KEY *key)
{
    unsigned char der[SIGNER_SIGNATURE_MAX_BYTES];
    unsigned int length = 0;
    if ((size_t)ECDSA_size(key) > sizeof der ||
        pki_sign_der(0, digest, digest_length, der, &length, kinv, r, key) != 1)
        return NULL;
    const unsigned char *p = der;
    ECDSA_SIG *signature = d2i_ECDSA_SIG(NULL, &p, (long)length);
    if (signature != NULL && p != der + length) {
        ECDSA_SIG_free(signature);
        return NULL;
    }
    return signature;
}

struct pki_sign_method *
pki_sign_method_new(void)
{
    struct pki_sign_method *method = calloc(1, sizeof *method);
    if (method == NULL)
        return NULL;
    method->method = EC_KEY_METHOD_new(EC_KEY_get_default_method());
    if (method->method == NULL) {
        free(method);
        return NULL;
    }
    /* No sign_setup: there is no private scalar to precompute with. */
    EC_KEY_METHOD_set_sign(method->method, pki_sign_der, NULL, pki_sign_sig);
    return method;
}

void
pki_sign_method_free(struct pki_sign_method *method)
{
    if (method == NULL)
        return;
    EC_KEY_METHOD_free(method->method);
    free(method);
}

EVP_PKEY *
pki_signing_key_new(const struct pki *pki)
{
    EC_KEY *key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    EVP_PKEY *pkey = EVP_PKEY_new();
    if (key == NULL || pkey == NULL ||
        EC_KEY_set_method(key, pki->sign_method->method) != 1 ||
        EC_KEY_oct2key(key, pki->issuing_point, sizeof pki->issuing_point,
                       NULL) != 1 ||
        EC_KEY_set_ex_data(key, PKI_SIGNER_SLOT, pki->signer) != 1 ||
        EVP_PKEY_assign_EC_KEY(pkey, key) != 1) {
        EC_KEY_free(key);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey; /* owns key now */
}
