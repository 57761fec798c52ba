/* pki_csr: the checks on what a device sends before it gets a certificate:
 * its PKCS#10 request (format, P-256 key, self-signature) and, later, its
 * ECDSA signatures. Both parse untrusted bytes. */
#include "pki/pki_internal.h"

#include "util/strings.h"

#include <openssl/pem.h>
#include <string.h>

/* PEM password callback that refuses: a CSR is never encrypted, and the
 * default callback would prompt on the terminal for a request that claims
 * to be ("Proc-Type: 4,ENCRYPTED"). */
static int
pki_no_password(char *buffer, int size, int rwflag, void *context)
{
    (void)buffer;
    (void)size;
    (void)rwflag;
    (void)context;
    return -1;
}

int
pki_csr_check(const char *csr_pem, size_t length, struct pki_csr *out,
              char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (csr_pem == NULL || length == 0 || length > PKI_CSR_MAX_BYTES) {
        error_set(err, errlen, "the CSR is empty or over %d bytes",
                  PKI_CSR_MAX_BYTES);
        return PKI_ERR_CSR_FORMAT;
    }

    int status = PKI_ERR_INTERNAL;
    X509_REQ *request = NULL;
    BIO *bio = BIO_new_mem_buf(csr_pem, (int)length);
    if (bio == NULL) {
        error_set(err, errlen, "out of memory");
        goto cleanup;
    }
    request = PEM_read_bio_X509_REQ(bio, NULL, pki_no_password, NULL);
    EVP_PKEY *key = request ? X509_REQ_get0_pubkey(request) : NULL;
    if (key == NULL) {
        error_set(err, errlen, "not a PEM PKCS#10 certificate request");
        status = PKI_ERR_CSR_FORMAT;
        goto cleanup;
    }
    /* The key type first: no signature check with a key we would refuse. */
    status = pki_key_p256_spki(key, out->public_key, &out->public_key_length);
    if (status == PKI_ERR_KEY_TYPE) {
        error_set(err, errlen, "the CSR key is not an EC P-256 key");
        goto cleanup;
    }
    if (status != PKI_OK) {
        error_set(err, errlen, "cannot encode the CSR key");
        goto cleanup;
    }
    if (X509_REQ_verify(request, key) != 1) {
        error_set(err, errlen, "the CSR signature does not verify");
        status = PKI_ERR_CSR_SIGNATURE;
        goto cleanup;
    }
    status = PKI_OK;
cleanup:
    if (status != PKI_OK)
        memset(out, 0, sizeof *out);
    X509_REQ_free(request);
    BIO_free(bio);
    return status;
}

int
pki_verify_signature(const uint8_t *public_key, size_t public_key_length,
                     const void *message, size_t message_length,
                     const uint8_t *signature, size_t signature_length)
{
    if (message == NULL || signature == NULL || signature_length == 0 ||
        signature_length > SIGNER_SIGNATURE_MAX_BYTES)
        return PKI_ERR_SIGNATURE;
    EVP_PKEY *key = pki_key_from_spki(public_key, public_key_length);
    if (key == NULL)
        return PKI_ERR_SIGNATURE;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int ok = context != NULL &&
             EVP_DigestVerifyInit(context, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(context, signature, signature_length, message,
                              message_length) == 1;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(key);
    return ok ? PKI_OK : PKI_ERR_SIGNATURE;
}
