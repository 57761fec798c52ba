/* pki_internal: what the files of the pki module share and nobody else
 * sees: the struct behind the handle and the presented-certificate cache
 * (the X.509 helpers are pki_x509.h). */
#ifndef CYBERID_PKI_INTERNAL_H
#define CYBERID_PKI_INTERNAL_H

#include "pki/pki.h"
#include "pki/pki_x509.h"

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* The OCSP CertID hash algorithms recognised for our issuer: SHA-1 (what
 * RFC 5019 clients and `openssl ocsp` send) and SHA-256. */
enum pki_ocsp_hash { PKI_OCSP_SHA1 = 0, PKI_OCSP_SHA256, PKI_OCSP_HASH_COUNT };

/* One issuing CA generation (pki_x509.h). */
struct pki_issuer {
    X509 *certificate;
    EVP_PKEY *public_key;       /* = X509_get0_pubkey(certificate), not owned */
    /* Issuer part (name and key hashes) of its CertIDs, serial empty. */
    OCSP_CERTID *ocsp_ids[PKI_OCSP_HASH_COUNT];
};

struct pki {
    struct signer *signer;
    /* Issuing CA generations 1..generations; the newest issues. */
    struct pki_issuer issuers[PKI_GENERATIONS_MAX + 1];
    unsigned generations;
    X509 *root;                 /* root CA certificate */
    char *chain_pem;            /* every issuing CA, newest first, then root */
    char *issuing_chain_pem;    /* the newest issuing CA, then root */
    char ocsp_url[PKI_URL_MAX];
    char crl_url[PKI_URL_MAX];
    /* Checked presented certificates (pki_presented_cache.c); NULL when
     * turned off. Thread-safe on its own, so the pki stays shareable. */
    struct pki_presented_cache *presented_cache;
};

/* ── The presented-certificate cache (pki_presented_cache.c) ───────────── */

/* Key of an entry: the SHA-256 of the certificate's DER. */
#define PKI_PRESENTED_KEY_BYTES 32

/* What a presented certificate's bytes alone decide, once checked: issued
 * by our issuing CA (signature), the web profile, and these fields. Its
 * validity is checked against the time of each use. */
struct pki_presented_facts {
    struct pki_presented presented;     /* its generation included */
    int64_t not_before;
    int64_t not_after;
};

struct pki_presented_cache;

/* A cache of `capacity` entries (1 to 2^20). NULL on failure. */
struct pki_presented_cache *pki_presented_cache_new(size_t capacity);
void pki_presented_cache_free(struct pki_presented_cache *cache);

/* 1 with *out and the entry made the most recently used, or 0 (a miss).
 * Thread-safe. */
int pki_presented_cache_get(struct pki_presented_cache *cache,
                            const uint8_t key[PKI_PRESENTED_KEY_BYTES],
                            struct pki_presented_facts *out);

/* Adds (or refreshes) key's entry as the most recently used, evicting the
 * least recently used one when full. Only for a certificate that passed
 * every check. Thread-safe. */
void pki_presented_cache_put(struct pki_presented_cache *cache,
                             const uint8_t key[PKI_PRESENTED_KEY_BYTES],
                             const struct pki_presented_facts *facts);

void pki_presented_cache_read_stats(struct pki_presented_cache *cache,
                                    struct pki_presented_cache_stats *out);

#endif
