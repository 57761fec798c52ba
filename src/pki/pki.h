/* pki: the web certificate authority of cyberid.
 *
 * Issues web certificates from the device's PKCS#10 request with the
 * DESIGN.md profile (subject CN=<web number> only, P-256, clientAuth,
 * digitalSignature, AIA OCSP URL, CRL distribution point, 2 years, random
 * 16-byte serial), answers OCSP requests (RFC 6960) and builds the CRL.
 * The signer builds and signs certificates, OCSP responses and CRLs
 * (signer_issue_certificate, signer_sign_ocsp, signer_sign_crl): this
 * module parses what comes from the network, looks statuses up and never
 * holds a private key. It holds no state of its own either: certificate status
 * comes from the caller (the store), so any node answers the same.
 *
 * Threads: a struct pki is read-only after pki_open() but for its cache of
 * presented certificates, which has its own lock; share it freely.
 * Errors: 0 on success, -1 (or a negative pki_status) with a message in
 * (err, errlen). */
#ifndef CYBERID_PKI_H
#define CYBERID_PKI_H

#include "signer/signer.h"

#include <stddef.h>
#include <stdint.h>

#define PKI_SERIAL_BYTES 16
#define PKI_SERIAL_HEX_SIZE (2 * PKI_SERIAL_BYTES + 1)
#define PKI_CERTIFICATE_DAYS 730
#define PKI_CSR_MAX_BYTES 8192
#define PKI_URL_MAX 512
/* Largest OCSP request parsed (bigger ones get malformedRequest) and
 * largest certificate pki_check_presented() reads: cap the HTTP bodies. */
#define PKI_OCSP_REQUEST_MAX_BYTES 8192
#define PKI_CERTIFICATE_MAX_BYTES 4096

struct pki;

/* Loads the public CA certificates (pki_dir/root-ca.pem and every issuing
 * CA generation: issuing-ca.pem, issuing-ca-2.pem, ...; each checked
 * against the signer's key of that generation) and remembers the signer
 * and the URLs written into every certificate: ocsp_url (AIA) and crl_url
 * (CRL distribution point of generation 1; generation g's is crl_url/g),
 * e.g. "http://127.0.0.1:8080/ocsp" and ".../crl". The signer must
 * outlive the pki. 0 or -1. */
int pki_open(const char *pki_dir, struct signer *signer, const char *ocsp_url,
             const char *crl_url, struct pki **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void pki_close(struct pki *pki);

/* The CA certificates as PEM: every issuing CA generation, newest first,
 * then the root (for GET /ca.pem). The string belongs to the pki. */
const char *pki_chain_pem(const struct pki *pki);

/* The chain of what is issued now: the newest issuing CA, then the root. */
const char *pki_issuing_chain_pem(const struct pki *pki);

/* The issuing CA generations the pki knows (1..); the newest issues. */
unsigned pki_generations(const struct pki *pki);

typedef enum pki_status {
    PKI_OK = 0,
    PKI_ERR_INTERNAL = -1,       /* allocation, signer or OpenSSL failure */
    PKI_ERR_CSR_FORMAT = -2,     /* not a PEM PKCS#10 request, or too big */
    PKI_ERR_CSR_SIGNATURE = -3,  /* its self-signature does not verify */
    PKI_ERR_KEY_TYPE = -4,       /* its key is not EC P-256 */
    PKI_ERR_SIGNATURE = -5,      /* pki_verify_signature: does not verify */
} pki_status;

/* A checked CSR: its public key as DER SubjectPublicKeyInfo. */
struct pki_csr {
    uint8_t public_key[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t public_key_length;
};

/* Parses a PEM CSR (at most PKI_CSR_MAX_BYTES), checks its self-signature
 * and that its key is P-256. Returns PKI_OK or PKI_ERR_CSR_FORMAT,
 * PKI_ERR_CSR_SIGNATURE, PKI_ERR_KEY_TYPE. */
int pki_csr_check(const char *csr_pem, size_t length, struct pki_csr *out,
                  char *err, size_t errlen) __attribute__((warn_unused_result));

/* Verifies a DER ECDSA-SHA256 signature over message with a P-256 public
 * key given as DER SubjectPublicKeyInfo. PKI_OK or PKI_ERR_SIGNATURE. */
int pki_verify_signature(const uint8_t *public_key, size_t public_key_length,
                         const void *message, size_t message_length,
                         const uint8_t *signature, size_t signature_length)
    __attribute__((warn_unused_result));

/* An issued certificate. */
struct pki_certificate {
    unsigned generation;                    /* of the issuing CA */
    uint8_t serial[PKI_SERIAL_BYTES];
    char serial_hex[PKI_SERIAL_HEX_SIZE];   /* lower-case hex */
    uint8_t *der;                           /* owned; pki_certificate_clear() */
    size_t der_length;
    char *pem;                              /* owned */
    int64_t not_before;
    int64_t not_after;
};

/* Issues the web certificate for web_number with the key of a CSR that
 * pki_csr_check() accepted, valid from `now` for PKI_CERTIFICATE_DAYS,
 * with a fresh random serial, by the newest issuing CA generation. 0 or
 * -1. */
int pki_issue(const struct pki *pki, const struct pki_csr *csr,
              const char *web_number, int64_t now, struct pki_certificate *out,
              char *err, size_t errlen) __attribute__((warn_unused_result));
void pki_certificate_clear(struct pki_certificate *certificate);

/* A certificate presented by a device (x5c): parsed from DER, checked to be
 * issued by one of our issuing CA generations (signature), within its
 * validity at `now`, with the web certificate profile. Fills the web
 * number (its CN), the serial, the public key and the generation. 0 or -1 with err. Revocation is the caller's to
 * check (by serial, in the store).
 *
 * The presented-certificate cache: the checks that depend only on the
 * certificate's bytes (DER parse, CA signature, profile, web number, serial,
 * public key) are remembered for a certificate that passed every check,
 * keyed by the SHA-256 of its DER, in a bounded LRU of
 * PKI_PRESENTED_CACHE_ENTRIES per pki (mutex-guarded; a hit allocates
 * nothing). They cannot change: the bytes are signed and the issuing CA is
 * fixed for the pki's life. What can change is still decided at every use:
 * the validity period is compared with `now` on a hit as on a miss, and
 * revocation and the identity's status are the caller's to read from the
 * store every time (device_verify_jws() does). A refused certificate is
 * never remembered, and any other byte string (one byte changed) is another
 * key, so it is a miss and gets the full check. */
struct pki_presented {
    unsigned generation;        /* of the issuing CA that signed it */
    char web_number[32];
    char serial_hex[PKI_SERIAL_HEX_SIZE];
    uint8_t public_key[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t public_key_length;
};
int pki_check_presented(const struct pki *pki, const uint8_t *der,
                        size_t length, int64_t now, struct pki_presented *out,
                        char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Entries of the presented-certificate cache (about 250 bytes each). */
#define PKI_PRESENTED_CACHE_ENTRIES 4096

struct pki_presented_cache_stats {
    uint64_t hits;
    uint64_t misses;
    size_t entries;
    size_t capacity;            /* 0: the cache is off */
};

/* The cache's counters since pki_open() or the last resize. */
void pki_presented_cache_stats(const struct pki *pki,
                               struct pki_presented_cache_stats *out);

/* Empties the cache and gives it room for `capacity` entries (0 turns it
 * off; at most 2^20). For tests and measurements: not to be called while
 * other threads use the pki. 0 or -1 (the cache is then off). */
int pki_presented_cache_resize(struct pki *pki, size_t capacity)
    __attribute__((warn_unused_result));

/* Bytes of one coordinate of a P-256 point. */
#define PKI_P256_COORDINATE_BYTES 32

/* The affine coordinates of a P-256 key given as DER SubjectPublicKeyInfo in
 * the canonical form pki_check_presented() writes (named curve, uncompressed
 * point, 91 bytes), read off the bytes without an OpenSSL decode. 0, or -1
 * (x and y zeroed) when spki is not in that form. The point was checked on
 * the curve when the form was written; callers that need a key object still
 * have it checked again by whoever builds the object. */
int pki_spki_p256_coordinates(const uint8_t *spki, size_t length,
                              uint8_t x[PKI_P256_COORDINATE_BYTES],
                              uint8_t y[PKI_P256_COORDINATE_BYTES])
    __attribute__((warn_unused_result));

/* Certificate status, as the store knows it. */
enum pki_cert_state { PKI_CERT_UNKNOWN = 0, PKI_CERT_GOOD, PKI_CERT_REVOKED };

struct pki_cert_status {
    enum pki_cert_state state;
    int64_t revoked_at;         /* when revoked */
    int reason;                 /* RFC 5280 CRLReason code, when revoked */
};

/* Looks up a serial (PKI_SERIAL_BYTES, or fewer for foreign serials) of
 * issuing CA `generation` for OCSP: a certificate of another generation
 * is unknown here. Returns 0 (status filled) or -1 on a database
 * failure. */
typedef int (*pki_status_lookup)(void *context, unsigned generation, const uint8_t *serial,
                                 size_t serial_length,
                                 struct pki_cert_status *status);

/* Answers a DER OCSP request (RFC 6960): the responding generation is the
 * one the first CertID names (issuer name and key hashes; generation 1
 * when none does); for each request, the status from lookup() when the
 * CertID names that generation, else "unknown" without a lookup (another
 * issuer, or a CertID hash other than SHA-1 and SHA-256). A request over
 * PKI_OCSP_REQUEST_MAX_BYTES or with more than 16 single requests is
 * malformed. The response is signed by that generation's
 * issuing CA, carries thisUpdate = now and nextUpdate = now + 1 hour, and
 * echoes the nonce extension when the request has one. A request that
 * does not parse gets a malformedRequest response (still DER, still a
 * valid OCSP response). On success *response is malloc'd (free()). 0, or
 * -1 on an internal failure. */
#define PKI_OCSP_VALIDITY_SECONDS 3600

int pki_ocsp_respond(const struct pki *pki, const uint8_t *request,
                     size_t request_length, pki_status_lookup lookup,
                     void *context, int64_t now, uint8_t **response,
                     size_t *response_length, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* 1 when an OCSP request parses and carries no nonce: its answer (the
 * same for everyone who asks until nextUpdate) may be cached by HTTP
 * caches (RFC 5019 §6), else 0. */
int pki_ocsp_request_is_cacheable(const uint8_t *request, size_t request_length);

/* One revoked certificate for the CRL. */
struct pki_revoked {
    uint8_t serial[PKI_SERIAL_BYTES];
    int64_t revoked_at;
    int reason;                 /* RFC 5280 CRLReason */
};

/* Builds the CRL of issuing CA `generation` (DER, v2, signed by it)
 * listing `revoked`, thisUpdate = now, nextUpdate = now + 1 day, with a
 * CRL number extension of `crl_number`. *der is malloc'd (free()). 0 or
 * -1. */
int pki_crl_build(const struct pki *pki, unsigned generation, const struct pki_revoked *revoked,
                  size_t count, int64_t crl_number, int64_t now, uint8_t **der,
                  size_t *der_length, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* RFC 5280 CRLReason from a name ("unspecified", "key_compromise",
 * "affiliation_changed", "superseded", "cessation_of_operation",
 * "certificate_hold", "privilege_withdrawn"); -1 for other names. And
 * back (NULL for unknown codes). */
int pki_reason_code(const char *name);
const char *pki_reason_name(int code);

#endif
