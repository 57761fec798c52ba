/* pki: opening the certificate authority (its public certificates, checked
 * against the signer's key) and the CA chain; see pki.h. Issuance, OCSP
 * and the CRL live in pki_issue.c, pki_ocsp.c and pki_crl.c. */
#include "pki/pki_internal.h"

#include "util/file.h"
#include "util/strings.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

/* Loads issuing CA generation g and checks that it carries the signer's
 * key of that generation, is issued by the root, is a CA with a key
 * identifier and has a name no earlier generation has. 0 or -1. */
static int
pki_load_issuer(struct pki *pki, const char *pki_dir, unsigned g, char *err, size_t errlen)
{
    struct pki_issuer *issuer = &pki->issuers[g];
    char file[PKI_CA_FILE_NAME_MAX];
    pki_issuing_ca_file(g, file);
    issuer->certificate = pki_load_certificate(pki_dir, file, err, errlen);
    if (issuer->certificate == NULL)
        return -1;
    issuer->public_key = X509_get0_pubkey(issuer->certificate);
    if (issuer->public_key == NULL)
        return error_set(err, errlen, "%s has an unreadable key", file);
    uint8_t der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0;
    if (signer_issuing_public_key(pki->signer, g, der, &length) != 0)
        return error_set(err, errlen, "the signer has no issuing CA key of generation %u",
                         g);
    EVP_PKEY *signer_key = pki_key_from_spki(der, length);
    int same = signer_key != NULL && EVP_PKEY_eq(signer_key, issuer->public_key) == 1;
    EVP_PKEY_free(signer_key);
    if (!same)
        return error_set(err, errlen, "%s does not hold the signer's issuing CA key", file);
    if (X509_check_issued(pki->root, issuer->certificate) != X509_V_OK ||
        X509_verify(issuer->certificate, X509_get0_pubkey(pki->root)) != 1)
        return error_set(err, errlen, "%s is not issued by root-ca.pem", file);
    if (X509_check_ca(issuer->certificate) == 0 ||
        X509_get0_subject_key_id(issuer->certificate) == NULL)
        return error_set(err, errlen, "%s is not a CA certificate "
                                      "with a subject key identifier", file);
    for (unsigned earlier = 1; earlier < g; earlier++)
        if (X509_NAME_cmp(X509_get_subject_name(pki->issuers[earlier].certificate),
                          X509_get_subject_name(issuer->certificate)) == 0)
            return error_set(err, errlen, "%s has the name of generation %u", file,
                             earlier);
    /* The issuer half of its OCSP CertIDs, per hash algorithm. */
    const EVP_MD *digests[PKI_OCSP_HASH_COUNT] = {
        [PKI_OCSP_SHA1] = EVP_sha1(), [PKI_OCSP_SHA256] = EVP_sha256()};
    for (size_t i = 0; i < PKI_OCSP_HASH_COUNT; i++)
        if ((issuer->ocsp_ids[i] = OCSP_cert_to_id(digests[i], NULL, issuer->certificate)) ==
            NULL)
            return error_set(err, errlen, "cannot set up the CA (OpenSSL failure)");
    return 0;
}

/* The issuing CAs from `newest` down to `oldest`, then the root, as PEM. */
static char *
pki_make_chain_pem(const struct pki *pki, unsigned newest, unsigned oldest)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    int ok = bio != NULL;
    for (unsigned g = newest; ok && g >= oldest; g--)
        ok = PEM_write_bio_X509(bio, pki->issuers[g].certificate) == 1;
    if (ok && PEM_write_bio_X509(bio, pki->root) == 1)
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
    pki->root = pki_load_certificate(pki_dir, "root-ca.pem", err, errlen);
    if (pki->root == NULL)
        goto fail;
    unsigned generations = pki_issuing_generations(pki_dir);
    if (generations == 0) {
        error_set(err, errlen, "%s/issuing-ca.pem is missing", pki_dir);
        goto fail;
    }
    for (unsigned g = 1; g <= generations; g++) {
        if (pki_load_issuer(pki, pki_dir, g, err, errlen) != 0)
            goto fail;
        pki->generations = g;
    }
    if ((pki->chain_pem = pki_make_chain_pem(pki, generations, 1)) == NULL ||
        (pki->issuing_chain_pem = pki_make_chain_pem(pki, generations, generations)) ==
            NULL ||
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
    for (unsigned g = 1; g <= PKI_GENERATIONS_MAX; g++) {
        for (size_t i = 0; i < PKI_OCSP_HASH_COUNT; i++)
            OCSP_CERTID_free(pki->issuers[g].ocsp_ids[i]);
        X509_free(pki->issuers[g].certificate);
    }
    pki_presented_cache_free(pki->presented_cache);
    free(pki->chain_pem);
    free(pki->issuing_chain_pem);
    X509_free(pki->root);
    free(pki);
}

const char *
pki_chain_pem(const struct pki *pki)
{
    return pki->chain_pem;
}

const char *
pki_issuing_chain_pem(const struct pki *pki)
{
    return pki->issuing_chain_pem;
}

unsigned
pki_generations(const struct pki *pki)
{
    return pki->generations;
}
