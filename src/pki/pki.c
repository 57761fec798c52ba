/* pki: opening the certificate authority (its public certificates, checked
 * against the signer's key) and the CA chain; see pki.h. Issuance, OCSP
 * and the CRL live in pki_issue.c, pki_ocsp.c and pki_crl.c. */
#include "pki/pki_internal.h"

#include "util/file.h"
#include "util/strings.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

/* Checks that the issuing CA certificate carries the signer's issuing key,
 * is issued by the root and is a CA with a key identifier. 0 or -1. */
static int
pki_check_ca(struct pki *pki, char *err, size_t errlen)
{
    uint8_t der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0;
    if (signer_public_key(pki->signer, SIGNER_KEY_ISSUING_CA, der, &length) != 0)
        return error_set(err, errlen, "the signer has no issuing CA key");
    EVP_PKEY *signer_key = pki_key_from_spki(der, length);
    int same = signer_key != NULL &&
               EVP_PKEY_eq(signer_key, pki->issuing_public) == 1;
    EVP_PKEY_free(signer_key);
    if (!same)
        return error_set(err, errlen, "issuing-ca.pem does not hold the "
                                      "signer's issuing CA key");
    if (X509_check_issued(pki->root, pki->issuing) != X509_V_OK ||
        X509_verify(pki->issuing, X509_get0_pubkey(pki->root)) != 1)
        return error_set(err, errlen, "issuing-ca.pem is not issued by "
                                      "root-ca.pem");
    if (X509_check_ca(pki->issuing) == 0 ||
        X509_get0_subject_key_id(pki->issuing) == NULL)
        return error_set(err, errlen, "issuing-ca.pem is not a CA certificate "
                                      "with a subject key identifier");
    return 0;
}

/* The issuer half of our OCSP CertIDs, per hash algorithm. 0 or -1. */
static int
pki_make_ocsp_ids(struct pki *pki)
{
    const EVP_MD *digests[PKI_OCSP_HASH_COUNT] = {
        [PKI_OCSP_SHA1] = EVP_sha1(), [PKI_OCSP_SHA256] = EVP_sha256()};
    for (size_t i = 0; i < PKI_OCSP_HASH_COUNT; i++) {
        pki->ocsp_ids[i] = OCSP_cert_to_id(digests[i], NULL, pki->issuing);
        if (pki->ocsp_ids[i] == NULL)
            return -1;
    }
    return 0;
}

static char *
pki_make_chain_pem(const struct pki *pki)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    if (bio != NULL && PEM_write_bio_X509(bio, pki->issuing) == 1 &&
        PEM_write_bio_X509(bio, pki->root) == 1)
        text = pki_bio_to_string(bio);
    BIO_free(bio);
    return text;
}

int
pki_open(const char *pki_dir, struct signer *signer, const char *ocsp_url,
         const char *crl_url, struct pki **out, char *err, size_t errlen)
{
    *out = NULL;
    if (pki_dir == NULL || signer == NULL)
        return error_set(err, errlen, "pki_open: no folder or signer");
    if (!pki_url_is_valid(ocsp_url) || !pki_url_is_valid(crl_url))
        return error_set(err, errlen, "the OCSP and CRL URLs must be http(s) "
                                      "URLs of printable ASCII under %d bytes",
                         PKI_URL_MAX);

    struct pki *pki = calloc(1, sizeof *pki);
    if (pki == NULL)
        return error_set(err, errlen, "out of memory");
    pki->signer = signer;
    if (string_copy(pki->ocsp_url, sizeof pki->ocsp_url, ocsp_url) != 0 ||
        string_copy(pki->crl_url, sizeof pki->crl_url, crl_url) != 0) {
        error_set(err, errlen, "URL too long");
        goto fail;
    }
    pki->issuing = pki_load_certificate(pki_dir, "issuing-ca.pem", err, errlen);
    if (pki->issuing == NULL)
        goto fail;
    pki->root = pki_load_certificate(pki_dir, "root-ca.pem", err, errlen);
    if (pki->root == NULL)
        goto fail;
    pki->issuing_public = X509_get0_pubkey(pki->issuing);
    if (pki->issuing_public == NULL) {
        error_set(err, errlen, "issuing-ca.pem has an unreadable key");
        goto fail;
    }
    if (pki_check_ca(pki, err, errlen) != 0)
        goto fail;
    if (pki_make_ocsp_ids(pki) != 0 ||
        (pki->chain_pem = pki_make_chain_pem(pki)) == NULL ||
        (pki->presented_cache =
             pki_presented_cache_new(PKI_PRESENTED_CACHE_ENTRIES)) == NULL) {
        error_set(err, errlen, "cannot set up the CA (OpenSSL or allocation failure)");
        goto fail;
    }
    *out = pki;
    return 0;
fail:
    pki_close(pki);
    return -1;
}

void
pki_close(struct pki *pki)
{
    if (pki == NULL)
        return;
    for (size_t i = 0; i < PKI_OCSP_HASH_COUNT; i++)
        OCSP_CERTID_free(pki->ocsp_ids[i]);
    pki_presented_cache_free(pki->presented_cache);
    free(pki->chain_pem);
    X509_free(pki->issuing);
    X509_free(pki->root);
    free(pki);
}

const char *
pki_chain_pem(const struct pki *pki)
{
    return pki->chain_pem;
}
