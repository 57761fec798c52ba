/* pki_internal: what the files of the pki module share and nobody else
 * sees: the struct behind the handle, the signing key that asks the signer,
 * and the small OpenSSL helpers (times, keys, serials, names). */
#ifndef CYBERID_PKI_INTERNAL_H
#define CYBERID_PKI_INTERNAL_H

#include "pki/pki.h"

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* A web number in a certificate: 16 characters of Crockford base32 (its
 * check character is the enroll module's business, not the CA's). */
#define PKI_WEB_NUMBER_LENGTH 16
/* An uncompressed P-256 point: 0x04 | x | y. */
#define PKI_P256_POINT_BYTES 65
/* Seconds in a day, for validity arithmetic. */
#define PKI_SECONDS_PER_DAY 86400
/* Latest time written into any structure: 9999-12-31T23:59:59Z, the end of
 * what X.509 time types can hold. */
#define PKI_TIME_MAX 253402300799LL

/* Largest CA certificate file read by pki_open(). */
#define PKI_CA_FILE_MAX_BYTES 65536

/* The private-key method that sends digests to the signer (pki_sign.c). */
struct pki_sign_method;

/* The OCSP CertID hash algorithms recognised for our issuer: SHA-1 (what
 * RFC 5019 clients and `openssl ocsp` send) and SHA-256. */
enum pki_ocsp_hash { PKI_OCSP_SHA1 = 0, PKI_OCSP_SHA256, PKI_OCSP_HASH_COUNT };

struct pki {
    struct signer *signer;
    X509 *issuing;              /* issuing CA certificate */
    X509 *root;                 /* root CA certificate */
    EVP_PKEY *issuing_public;   /* = X509_get0_pubkey(issuing), not owned */
    uint8_t issuing_point[PKI_P256_POINT_BYTES]; /* its public point */
    char *chain_pem;            /* issuing then root, PEM */
    char ocsp_url[PKI_URL_MAX];
    char crl_url[PKI_URL_MAX];
    /* Issuer part (name and key hashes) of our CertIDs, serial empty. */
    OCSP_CERTID *ocsp_ids[PKI_OCSP_HASH_COUNT];
    struct pki_sign_method *sign_method;
    /* The P-256 group, built once: pki_issue checks each subject point on
     * it (read-only use, so shared by the threads). */
    EC_GROUP *p256;
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
    struct pki_presented presented;
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

/* ── Signing through the signer (pki_sign.c) ────────────────────────────── */

/* Builds the method once per pki; NULL on failure. */
struct pki_sign_method *pki_sign_method_new(void);
void pki_sign_method_free(struct pki_sign_method *method);

/* A fresh EVP_PKEY for the issuing CA whose private-key operation (ECDSA
 * over a SHA-256 digest) is signer_sign_digest(SIGNER_KEY_ISSUING_CA). Hand
 * it to X509_sign(), X509_CRL_sign() or OCSP_basic_sign() with EVP_sha256()
 * and free it with EVP_PKEY_free(). NULL on failure. */
EVP_PKEY *pki_signing_key_new(const struct pki *pki);

/* ── Helpers (pki_util.c) ───────────────────────────────────────────────── */

/* 1 if text is exactly PKI_WEB_NUMBER_LENGTH characters of the Crockford
 * alphabet (upper case, no I L O U), else 0. Reads at most length+1 bytes. */
int pki_web_number_is_valid(const char *text);

/* Checks that key is an EC P-256 key on the named curve and writes its DER
 * SubjectPublicKeyInfo in the canonical form (named curve, uncompressed
 * point: 91 bytes) into out. PKI_OK or PKI_ERR_KEY_TYPE (PKI_ERR_INTERNAL
 * on an OpenSSL failure). */
int pki_key_p256_spki(const EVP_PKEY *key,
                      uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES],
                      size_t *length);

/* Parses a DER SubjectPublicKeyInfo (every byte consumed) that must be a
 * P-256 key. NULL if it is not. */
EVP_PKEY *pki_key_from_spki(const uint8_t *der, size_t length);

/* Seconds since the epoch of an ASN1_TIME. 0 or -1. */
int pki_time_to_int64(const ASN1_TIME *time, int64_t *out);

/* The serial of a web certificate: exactly PKI_SERIAL_BYTES of DER INTEGER
 * content (positive, nonzero). 0, or -1 for any other integer. */
int pki_serial_from_integer(const ASN1_INTEGER *integer,
                            uint8_t out[PKI_SERIAL_BYTES]);

/* An ASN1_INTEGER from big-endian unsigned bytes. NULL on failure. */
ASN1_INTEGER *pki_integer_from_bytes(const uint8_t *bytes, size_t length);

/* The uncompressed public point of a P-256 key. PKI_OK or
 * PKI_ERR_KEY_TYPE (PKI_ERR_INTERNAL on an OpenSSL failure). */
int pki_key_p256_point(const EVP_PKEY *key,
                       uint8_t out[PKI_P256_POINT_BYTES]);

/* An authorityKeyIdentifier holding the issuing CA's subjectKeyIdentifier.
 * NULL on failure. AUTHORITY_KEYID_free() it. */
AUTHORITY_KEYID *pki_authority_key_id(const struct pki *pki);

/* The bytes of a memory BIO as a malloc'd NUL-terminated string. NULL on
 * failure. */
char *pki_bio_to_string(BIO *bio);

/* 1 for an RFC 5280 CRLReason this module knows (pki_reason_name() is not
 * NULL), else 0. */
int pki_reason_is_known(int code);

#endif
