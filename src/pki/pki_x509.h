/* pki_x509: the X.509 helpers of the pki (pki_util.c), shared with the
 * signer's CA operations (signer/signer_ca.c), which build what the pki
 * asks for: P-256 key checks and canonical encoding, times, serials,
 * reason codes, web number syntax, URLs, loading CA certificates. No
 * state, no keys. */
#ifndef CYBERID_PKI_X509_H
#define CYBERID_PKI_X509_H

#include "pki/pki.h"

#include <openssl/evp.h>
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

/* Latest issuance time: the certificate must end before year 9999. */
#define PKI_ISSUE_NOW_MAX \
    (PKI_TIME_MAX - (int64_t)PKI_CERTIFICATE_DAYS * PKI_SECONDS_PER_DAY)
/* nextUpdate - thisUpdate of the CRL. */
#define PKI_CRL_VALIDITY_SECONDS PKI_SECONDS_PER_DAY
/* Largest CA certificate file read. */
#define PKI_CA_FILE_MAX_BYTES 65536

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
AUTHORITY_KEYID *pki_authority_key_id(X509 *issuing);

/* A URL written into certificates: http(s), printable ASCII (IA5String),
 * no spaces, shorter than PKI_URL_MAX. 1 or 0. */
int pki_url_is_valid(const char *url);

/* ── Issuing CA generations ───────────────────────────────────────────
 * `cyberid init` makes generation 1 (pki/issuing-ca.pem); each `cyberid
 * ca rotate` makes the next under the same root (pki/issuing-ca-<g>.pem).
 * The newest issues; every generation's certificates stay ours (OCSP,
 * CRL, presented certificates) until they expire. */
#define PKI_GENERATIONS_MAX 32
#define PKI_CA_FILE_NAME_MAX 32

/* The certificate file of generation g (1..PKI_GENERATIONS_MAX) in the
 * pki folder: "issuing-ca.pem" for 1, "issuing-ca-<g>.pem" after. */
void pki_issuing_ca_file(unsigned generation, char out[PKI_CA_FILE_NAME_MAX]);

/* How many generations pki_dir holds: 1 + the run of issuing-ca-2.pem,
 * issuing-ca-3.pem, ... that exist (0 when issuing-ca.pem is missing). */
unsigned pki_issuing_generations(const char *pki_dir);

/* The CRL distribution point of generation g: crl_url for 1 (what every
 * certificate issued before generations existed says), crl_url/<g> after.
 * 0, or -1 when it does not fit PKI_URL_MAX. */
int pki_generation_crl_url(const char *crl_url, unsigned generation,
                           char out[PKI_URL_MAX]);

/* Loads pki_dir/file, which must hold one PEM certificate. NULL with err. */
X509 *pki_load_certificate(const char *pki_dir, const char *file, char *err,
                           size_t errlen);

/* The bytes of a memory BIO as a malloc'd NUL-terminated string. NULL on
 * failure. */
char *pki_bio_to_string(BIO *bio);

/* 1 for an RFC 5280 CRLReason this module knows (pki_reason_name() is not
 * NULL), else 0. */
int pki_reason_is_known(int code);

#endif
