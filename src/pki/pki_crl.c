/* pki_crl: the issuing CA's CRL (RFC 5280 §5): v2, thisUpdate = now,
 * nextUpdate a day later, crlNumber and authorityKeyIdentifier extensions,
 * one entry per revoked certificate with its reasonCode (left out for
 * "unspecified", as §5.3.1 asks), signed by the issuing CA via the signer. */
#include "pki/pki_internal.h"

#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

/* nextUpdate - thisUpdate. */
#define PKI_CRL_VALIDITY_SECONDS PKI_SECONDS_PER_DAY

/* Adds one revoked entry to crl. 0 or -1. */
static int
pki_crl_add_entry(X509_CRL *crl, const struct pki_revoked *entry)
{
    X509_REVOKED *revoked = X509_REVOKED_new();
    ASN1_INTEGER *serial = pki_integer_from_bytes(entry->serial,
                                                  sizeof entry->serial);
    ASN1_TIME *when = ASN1_TIME_set(NULL, (time_t)entry->revoked_at);
    ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
    int status = -1;

    if (revoked == NULL || serial == NULL || when == NULL || reason == NULL ||
        X509_REVOKED_set_serialNumber(revoked, serial) != 1 ||
        X509_REVOKED_set_revocationDate(revoked, when) != 1)
        goto cleanup;
    if (entry->reason != 0 &&
        (ASN1_ENUMERATED_set(reason, entry->reason) != 1 ||
         X509_REVOKED_add1_ext_i2d(revoked, NID_crl_reason, reason, 0,
                                   X509V3_ADD_DEFAULT) != 1))
        goto cleanup;
    if (X509_CRL_add0_revoked(crl, revoked) != 1)
        goto cleanup;
    revoked = NULL; /* the CRL owns it */
    status = 0;
cleanup:
    X509_REVOKED_free(revoked);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    ASN1_ENUMERATED_free(reason);
    return status;
}

/* The unsigned CRL: header, extensions, entries. 0 or -1. */
static int
pki_crl_fill(const struct pki *pki, X509_CRL *crl,
             const struct pki_revoked *revoked, size_t count,
             int64_t crl_number, int64_t now)
{
    ASN1_TIME *this_update = ASN1_TIME_set(NULL, (time_t)now);
    ASN1_TIME *next_update =
        ASN1_TIME_set(NULL, (time_t)(now + PKI_CRL_VALIDITY_SECONDS));
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    AUTHORITY_KEYID *authority = pki_authority_key_id(pki);
    int status = -1;

    if (this_update == NULL || next_update == NULL || number == NULL ||
        authority == NULL ||
        X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(pki->issuing)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, this_update) != 1 ||
        X509_CRL_set1_nextUpdate(crl, next_update) != 1 ||
        ASN1_INTEGER_set_int64(number, crl_number) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0,
                              X509V3_ADD_DEFAULT) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, authority, 0,
                              X509V3_ADD_DEFAULT) != 1)
        goto cleanup;
    for (size_t i = 0; i < count; i++)
        if (pki_crl_add_entry(crl, &revoked[i]) != 0)
            goto cleanup;
    if (X509_CRL_sort(crl) != 1)
        goto cleanup;
    status = 0;
cleanup:
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
    ASN1_INTEGER_free(number);
    AUTHORITY_KEYID_free(authority);
    return status;
}

int
pki_crl_build(const struct pki *pki, const struct pki_revoked *revoked,
              size_t count, int64_t crl_number, int64_t now, uint8_t **der,
              size_t *der_length, char *err, size_t errlen)
{
    *der = NULL;
    *der_length = 0;
    if (count > 0 && revoked == NULL)
        return error_set(err, errlen, "pki_crl_build: no entries");
    if (crl_number < 0)
        return error_set(err, errlen, "negative CRL number");
    if (now < 0 || now > PKI_TIME_MAX - PKI_CRL_VALIDITY_SECONDS)
        return error_set(err, errlen, "time out of range");
    for (size_t i = 0; i < count; i++)
        if (!pki_reason_is_known(revoked[i].reason) ||
            revoked[i].revoked_at < 0 || revoked[i].revoked_at > PKI_TIME_MAX)
            return error_set(err, errlen, "CRL entry %zu: bad reason or time",
                             i);

    int status = -1;
    EVP_PKEY *signing_key = NULL;
    X509_CRL *crl = X509_CRL_new();
    if (crl == NULL || pki_crl_fill(pki, crl, revoked, count, crl_number, now) != 0) {
        error_set(err, errlen, "cannot build the CRL (OpenSSL failure)");
        goto cleanup;
    }
    signing_key = pki_signing_key_new(pki);
    if (signing_key == NULL || X509_CRL_sign(crl, signing_key, EVP_sha256()) <= 0) {
        error_set(err, errlen, "the signer did not sign the CRL");
        goto cleanup;
    }
    int length = i2d_X509_CRL(crl, NULL);
    if (length <= 0 || (*der = malloc((size_t)length)) == NULL) {
        error_set(err, errlen, "cannot encode the CRL");
        goto cleanup;
    }
    unsigned char *p = *der;
    if (i2d_X509_CRL(crl, &p) != length) {
        free(*der);
        *der = NULL;
        error_set(err, errlen, "cannot encode the CRL");
        goto cleanup;
    }
    *der_length = (size_t)length;
    status = 0;
cleanup:
    EVP_PKEY_free(signing_key);
    X509_CRL_free(crl);
    return status;
}
