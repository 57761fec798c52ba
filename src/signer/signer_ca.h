/* signer_ca: the certificate authority's signing operations, inside the
 * signer process: it builds the web certificate, the OCSP response and the
 * CRL itself from typed inputs and signs them with the issuing CA key,
 * which never leaves the keyring. The network side (pki/) parses what
 * arrives from the network and asks for these through signer.h. Private
 * to the signer part. */
#ifndef CYBERID_SIGNER_CA_H
#define CYBERID_SIGNER_CA_H

#include "signer/signer.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

struct signer_ca;

/* Results besides 0 (done) and -1 (failed). */
#define SIGNER_CA_REFUSED (-2)  /* the input is against the profile */

/* Issuing CA generation g (pki_x509.h): loads its certificate from
 * pki_dir and checks it carries issuing_key (borrowed: must outlive the
 * CA). 0 or -1 with err. */
int signer_ca_open(const char *pki_dir, unsigned generation, EVP_PKEY *issuing_key,
                   struct signer_ca **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The URLs written into certificates (http(s), printable ASCII, under
 * PKI_URL_MAX bytes): the OCSP URL as it is, the CRL distribution point
 * of this generation (pki_generation_crl_url). Set once, before any
 * issuance. 0 or -1. */
int signer_ca_set_urls(struct signer_ca *ca, const char *ocsp_url, const char *crl_url)
    __attribute__((warn_unused_result));
void signer_ca_close(struct signer_ca *ca);

/* The web certificate of web_number for the P-256 key spki (DER), from
 * now for PKI_CERTIFICATE_DAYS, random serial; checked after signing to
 * parse back to exactly that. *der is malloc'd. 0, -1, SIGNER_CA_REFUSED
 * (not a web number, not a P-256 key, time out of range). */
int signer_ca_issue(const struct signer_ca *ca, const uint8_t *spki, size_t spki_length,
                    const char *web_number, int64_t now, uint8_t **der, size_t *der_length)
    __attribute__((warn_unused_result));

/* The signed OCSPResponse (successful) for entries; see signer.h. 0, -1,
 * SIGNER_CA_REFUSED (a CertID that does not parse, or a good or revoked
 * status for a CertID of another issuer, an unknown reason, a bad time). */
int signer_ca_ocsp(const struct signer_ca *ca, const struct signer_ocsp_entry *entries,
                   size_t count, const uint8_t *nonce, size_t nonce_length, int64_t now,
                   uint8_t **der, size_t *der_length) __attribute__((warn_unused_result));

/* The signed CRL; see signer.h. 0, -1, SIGNER_CA_REFUSED. */
int signer_ca_crl(const struct signer_ca *ca, const struct signer_crl_entry *entries,
                  size_t count, int64_t crl_number, int64_t now, uint8_t **der,
                  size_t *der_length) __attribute__((warn_unused_result));

#endif
