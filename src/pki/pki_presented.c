/* pki_presented: the check of a certificate a device presents (x5c): ours
 * (issued and signed by one of our issuing CA generations), valid now, and shaped like a web
 * certificate. The bytes come from the network. What the bytes alone decide
 * is remembered in the presented-certificate cache (pki.h). */
#include "pki/pki_internal.h"

#include "util/encoding.h"
#include "util/strings.h"

#include <openssl/sha.h>
#include <string.h>

/* Copies the single CN of subject (a web number) into out. 0 or -1. */
static int
pki_subject_web_number(const X509_NAME *subject, char *out, size_t cap)
{
    if (X509_NAME_entry_count(subject) != 1)
        return -1;
    const X509_NAME_ENTRY *entry = X509_NAME_get_entry(subject, 0);
    if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)) != NID_commonName)
        return -1;
    const ASN1_STRING *value = X509_NAME_ENTRY_get_data(entry);
    int type = ASN1_STRING_type(value);
    if (type != V_ASN1_UTF8STRING && type != V_ASN1_PRINTABLESTRING)
        return -1;
    int length = ASN1_STRING_length(value);
    if (length != PKI_WEB_NUMBER_LENGTH || (size_t)length >= cap)
        return -1;
    memcpy(out, ASN1_STRING_get0_data(value), (size_t)length);
    out[length] = '\0';
    return pki_web_number_is_valid(out) ? 0 : -1;
}

/* The web certificate profile: v3, an end-entity certificate with no
 * unhandled critical extension, digitalSignature and clientAuth. 0 or -1. */
static int
pki_has_profile(X509 *certificate)
{
    uint32_t flags = X509_get_extension_flags(certificate);
    if (X509_get_version(certificate) != X509_VERSION_3 ||
        (flags & (EXFLAG_INVALID | EXFLAG_CRITICAL)) != 0 ||
        X509_check_ca(certificate) != 0)
        return -1;
    if ((flags & EXFLAG_KUSAGE) == 0 ||
        (X509_get_key_usage(certificate) & KU_DIGITAL_SIGNATURE) == 0)
        return -1;
    if ((flags & EXFLAG_XKUSAGE) == 0 ||
        (X509_get_extended_key_usage(certificate) & XKU_SSL_CLIENT) == 0)
        return -1;
    return 0;
}

static int
pki_is_valid_at(int64_t now, int64_t not_before, int64_t not_after)
{
    return now >= not_before && now <= not_after;
}

/* The full check of a certificate not in the cache: 0 with *facts, or -1
 * with err. */
static int
pki_check_der(const struct pki *pki, const uint8_t *der, size_t length,
              int64_t now, struct pki_presented_facts *facts, char *err,
              size_t errlen)
{
    memset(facts, 0, sizeof *facts);
    struct pki_presented *out = &facts->presented;
    const unsigned char *p = der;
    X509 *certificate = d2i_X509(NULL, &p, (long)length);
    int status = -1;
    uint8_t serial[PKI_SERIAL_BYTES];
    int64_t not_before = 0, not_after = 0;

    if (certificate == NULL || p != der + length) {
        error_set(err, errlen, "not a DER certificate");
        goto cleanup;
    }
    /* Each generation has its own name ("cyberid Issuing CA <g>"). */
    unsigned generation = 0;
    for (unsigned g = 1; g <= pki->generations && generation == 0; g++)
        if (X509_NAME_cmp(X509_get_issuer_name(certificate),
                          X509_get_subject_name(pki->issuers[g].certificate)) == 0)
            generation = g;
    if (generation == 0 ||
        X509_verify(certificate, pki->issuers[generation].public_key) != 1) {
        error_set(err, errlen, "certificate not issued by our issuing CA");
        goto cleanup;
    }
    out->generation = generation;
    if (pki_time_to_int64(X509_get0_notBefore(certificate), &not_before) != 0 ||
        pki_time_to_int64(X509_get0_notAfter(certificate), &not_after) != 0 ||
        !pki_is_valid_at(now, not_before, not_after)) {
        error_set(err, errlen, "certificate expired or not yet valid");
        goto cleanup;
    }
    if (pki_has_profile(certificate) != 0 ||
        pki_subject_web_number(X509_get_subject_name(certificate),
                               out->web_number, sizeof out->web_number) != 0 ||
        pki_serial_from_integer(X509_get0_serialNumber(certificate), serial) != 0 ||
        pki_key_p256_spki(X509_get0_pubkey(certificate), out->public_key,
                          &out->public_key_length) != PKI_OK) {
        error_set(err, errlen, "not a web certificate");
        goto cleanup;
    }
    if (hex_encode(serial, sizeof serial, out->serial_hex,
                   sizeof out->serial_hex) != 0) {
        error_set(err, errlen, "cannot encode the serial");
        goto cleanup;
    }
    facts->not_before = not_before;
    facts->not_after = not_after;
    status = 0;
cleanup:
    if (status != 0)
        memset(facts, 0, sizeof *facts);
    X509_free(certificate);
    return status;
}

int
pki_check_presented(const struct pki *pki, const uint8_t *der, size_t length,
                    int64_t now, struct pki_presented *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (der == NULL || length == 0 || length > PKI_CERTIFICATE_MAX_BYTES)
        return error_set(err, errlen, "certificate empty or over %d bytes",
                         PKI_CERTIFICATE_MAX_BYTES);
    struct pki_presented_facts facts;
    uint8_t key[PKI_PRESENTED_KEY_BYTES];
    _Static_assert(PKI_PRESENTED_KEY_BYTES == SHA256_DIGEST_LENGTH, "key size");
    SHA256(der, length, key);
    if (pki->presented_cache != NULL &&
        pki_presented_cache_get(pki->presented_cache, key, &facts)) {
        /* Remembered facts hold for these exact bytes; time has moved. */
        if (!pki_is_valid_at(now, facts.not_before, facts.not_after))
            return error_set(err, errlen, "certificate expired or not yet valid");
    } else {
        if (pki_check_der(pki, der, length, now, &facts, err, errlen) != 0)
            return -1;
        if (pki->presented_cache != NULL)
            pki_presented_cache_put(pki->presented_cache, key, &facts);
    }
    *out = facts.presented;
    return 0;
}

void
pki_presented_cache_stats(const struct pki *pki,
                          struct pki_presented_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (pki->presented_cache != NULL)
        pki_presented_cache_read_stats(pki->presented_cache, out);
}

int
pki_presented_cache_resize(struct pki *pki, size_t capacity)
{
    pki_presented_cache_free(pki->presented_cache);
    pki->presented_cache = NULL;
    if (capacity == 0)
        return 0;
    pki->presented_cache = pki_presented_cache_new(capacity);
    return pki->presented_cache != NULL ? 0 : -1;
}
