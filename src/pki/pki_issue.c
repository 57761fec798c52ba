/* pki_issue: the web certificate (DESIGN.md, Formats): X.509 v3, subject
 * CN=<web number> alone, the device's P-256 key, clientAuth, critical
 * digitalSignature and CA:FALSE, key identifiers, OCSP URL (AIA) and CRL
 * distribution point, PKI_CERTIFICATE_DAYS from `now`, random serial,
 * signed by the issuing CA through the signer. */
#include "pki/pki_internal.h"

#include "util/encoding.h"
#include "util/strings.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* Latest `now` accepted: the certificate must end before year 9999. */
#define PKI_NOW_MAX (PKI_TIME_MAX - (int64_t)PKI_CERTIFICATE_DAYS * PKI_SECONDS_PER_DAY)

/* A URI GeneralName; NULL on failure. */
static GENERAL_NAME *
pki_uri_name(const char *url)
{
    GENERAL_NAME *name = GENERAL_NAME_new();
    ASN1_IA5STRING *text = ASN1_IA5STRING_new();
    if (name == NULL || text == NULL || ASN1_STRING_set(text, url, -1) != 1) {
        GENERAL_NAME_free(name);
        ASN1_IA5STRING_free(text);
        return NULL;
    }
    GENERAL_NAME_set0_value(name, GEN_URI, text);
    return name;
}

/* authorityInfoAccess with one OCSP access description. */
static AUTHORITY_INFO_ACCESS *
pki_ocsp_access(const char *url)
{
    AUTHORITY_INFO_ACCESS *access = AUTHORITY_INFO_ACCESS_new();
    ACCESS_DESCRIPTION *description = ACCESS_DESCRIPTION_new();
    GENERAL_NAME *location = pki_uri_name(url);
    if (access == NULL || description == NULL || location == NULL)
        goto fail;
    ASN1_OBJECT_free(description->method);
    description->method = OBJ_nid2obj(NID_ad_OCSP);
    GENERAL_NAME_free(description->location);
    description->location = location;
    location = NULL;
    if (sk_ACCESS_DESCRIPTION_push(access, description) <= 0)
        goto fail;
    return access;
fail:
    GENERAL_NAME_free(location);
    ACCESS_DESCRIPTION_free(description);
    AUTHORITY_INFO_ACCESS_free(access);
    return NULL;
}

/* cRLDistributionPoints with one point, a full name that is the URL. */
static CRL_DIST_POINTS *
pki_crl_points(const char *url)
{
    CRL_DIST_POINTS *points = CRL_DIST_POINTS_new();
    DIST_POINT *point = DIST_POINT_new();
    DIST_POINT_NAME *name = DIST_POINT_NAME_new();
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    GENERAL_NAME *uri = pki_uri_name(url);
    if (points == NULL || point == NULL || name == NULL || names == NULL ||
        uri == NULL || sk_GENERAL_NAME_push(names, uri) <= 0)
        goto fail;
    uri = NULL;
    name->type = 0; /* fullName */
    name->name.fullname = names;
    names = NULL;
    point->distpoint = name;
    name = NULL;
    if (sk_DIST_POINT_push(points, point) <= 0)
        goto fail;
    return points;
fail:
    GENERAL_NAME_free(uri);
    GENERAL_NAMES_free(names);
    DIST_POINT_NAME_free(name);
    DIST_POINT_free(point);
    CRL_DIST_POINTS_free(points);
    return NULL;
}

/* Adds every extension of the profile. 0 or -1. */
static int
pki_add_extensions(const struct pki *pki, X509 *certificate)
{
    int status = -1;
    BASIC_CONSTRAINTS *constraints = BASIC_CONSTRAINTS_new();
    ASN1_BIT_STRING *usage = ASN1_BIT_STRING_new();
    EXTENDED_KEY_USAGE *extended = sk_ASN1_OBJECT_new_null();
    ASN1_OCTET_STRING *key_id = ASN1_OCTET_STRING_new();
    AUTHORITY_KEYID *authority = pki_authority_key_id(pki);
    AUTHORITY_INFO_ACCESS *access = pki_ocsp_access(pki->ocsp_url);
    CRL_DIST_POINTS *points = pki_crl_points(pki->crl_url);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;

    if (constraints == NULL || usage == NULL || extended == NULL ||
        key_id == NULL || authority == NULL || access == NULL || points == NULL)
        goto cleanup;
    constraints->ca = 0;
    if (ASN1_BIT_STRING_set_bit(usage, 0, 1) != 1) /* digitalSignature */
        goto cleanup;
    if (sk_ASN1_OBJECT_push(extended, OBJ_nid2obj(NID_client_auth)) <= 0)
        goto cleanup;
    /* RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
    if (X509_pubkey_digest(certificate, EVP_sha1(), digest, &digest_length) != 1 ||
        ASN1_OCTET_STRING_set(key_id, digest, (int)digest_length) != 1)
        goto cleanup;
    if (X509_add1_ext_i2d(certificate, NID_basic_constraints, constraints, 1,
                          X509V3_ADD_DEFAULT) != 1 ||
        X509_add1_ext_i2d(certificate, NID_key_usage, usage, 1,
                          X509V3_ADD_DEFAULT) != 1 ||
        X509_add1_ext_i2d(certificate, NID_ext_key_usage, extended, 0,
                          X509V3_ADD_DEFAULT) != 1 ||
        X509_add1_ext_i2d(certificate, NID_subject_key_identifier, key_id, 0,
                          X509V3_ADD_DEFAULT) != 1 ||
        X509_add1_ext_i2d(certificate, NID_authority_key_identifier, authority,
                          0, X509V3_ADD_DEFAULT) != 1 ||
        X509_add1_ext_i2d(certificate, NID_info_access, access, 0,
                          X509V3_ADD_DEFAULT) != 1 ||
        X509_add1_ext_i2d(certificate, NID_crl_distribution_points, points, 0,
                          X509V3_ADD_DEFAULT) != 1)
        goto cleanup;
    status = 0;
cleanup:
    BASIC_CONSTRAINTS_free(constraints);
    ASN1_BIT_STRING_free(usage);
    EXTENDED_KEY_USAGE_free(extended);
    ASN1_OCTET_STRING_free(key_id);
    AUTHORITY_KEYID_free(authority);
    AUTHORITY_INFO_ACCESS_free(access);
    CRL_DIST_POINTS_free(points);
    return status;
}

/* A fresh serial: PKI_SERIAL_BYTES random bytes with the top bit cleared
 * (positive) and the next one set (so the DER INTEGER has exactly
 * PKI_SERIAL_BYTES content bytes and is nonzero): 126 random bits. */
static int
pki_random_serial(uint8_t serial[PKI_SERIAL_BYTES])
{
    if (RAND_bytes(serial, PKI_SERIAL_BYTES) != 1)
        return -1;
    serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x40);
    return 0;
}

/* Fills the rest of out from the signed certificate. 0 or -1. */
static int
pki_certificate_export(X509 *certificate, struct pki_certificate *out)
{
    int length = i2d_X509(certificate, NULL);
    if (length <= 0 || (out->der = malloc((size_t)length)) == NULL)
        return -1;
    unsigned char *p = out->der;
    if (i2d_X509(certificate, &p) != length)
        return -1;
    out->der_length = (size_t)length;

    BIO *bio = BIO_new(BIO_s_mem());
    if (bio != NULL && PEM_write_bio_X509(bio, certificate) == 1)
        out->pem = pki_bio_to_string(bio);
    BIO_free(bio);
    if (out->pem == NULL)
        return -1;
    if (hex_encode(out->serial, sizeof out->serial, out->serial_hex,
                   sizeof out->serial_hex) != 0 ||
        pki_time_to_int64(X509_get0_notBefore(certificate), &out->not_before) != 0 ||
        pki_time_to_int64(X509_get0_notAfter(certificate), &out->not_after) != 0)
        return -1;
    return 0;
}

/* Sets the certificate's subjectPublicKeyInfo to the subject's P-256 key
 * in its canonical form (named curve, uncompressed point). A canonical
 * SPKI, which is what pki_csr_check and the app produce, is checked by its
 * fixed prefix and its point on the curve, and its fields are set as they
 * are: decoding it to an EVP_PKEY and encoding it back (d2i_PUBKEY,
 * X509_set_pubkey) goes through OpenSSL 3's decoder and encoder lookups
 * under global locks and was two thirds of an issuance's time. Any other
 * encoding of a P-256 key (a compressed point) is decoded and rewritten
 * canonical first. 0, or -1 when the key is not a P-256 key. */
static int
pki_set_subject_key(const struct pki *pki, X509 *certificate, const struct pki_csr *csr)
{
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES], x[PKI_P256_COORDINATE_BYTES],
        y[PKI_P256_COORDINATE_BYTES];
    size_t length = csr->public_key_length;
    if (length > sizeof spki)
        return -1;
    memcpy(spki, csr->public_key, length);
    if (pki_spki_p256_coordinates(spki, length, x, y) != 0) {
        EVP_PKEY *key = pki_key_from_spki(csr->public_key, csr->public_key_length);
        int status = key != NULL ? pki_key_p256_spki(key, spki, &length) : PKI_ERR_KEY_TYPE;
        EVP_PKEY_free(key);
        if (status != PKI_OK || pki_spki_p256_coordinates(spki, length, x, y) != 0)
            return -1;
    }
    const uint8_t *encoded = spki + length - PKI_P256_POINT_BYTES;
    EC_POINT *point = EC_POINT_new(pki->p256);
    int on_curve = point != NULL &&
                   EC_POINT_oct2point(pki->p256, point, encoded, PKI_P256_POINT_BYTES,
                                      NULL) == 1 &&
                   !EC_POINT_is_at_infinity(pki->p256, point);
    EC_POINT_free(point);
    if (!on_curve)
        return -1;
    unsigned char *bits = OPENSSL_memdup(encoded, PKI_P256_POINT_BYTES);
    if (bits == NULL)
        return -1;
    /* set0: the public key bits belong to the certificate from here. */
    if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(certificate),
                               OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                               OBJ_nid2obj(NID_X9_62_prime256v1), bits,
                               PKI_P256_POINT_BYTES) != 1) {
        OPENSSL_free(bits);
        return -1;
    }
    return 0;
}

int
pki_issue(const struct pki *pki, const struct pki_csr *csr,
          const char *web_number, int64_t now, struct pki_certificate *out,
          char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!pki_web_number_is_valid(web_number))
        return error_set(err, errlen, "not a web number");
    if (now < 0 || now > PKI_NOW_MAX)
        return error_set(err, errlen, "time out of range");
    int status = -1;
    EVP_PKEY *signing_key = NULL;
    ASN1_INTEGER *serial = NULL;
    X509 *certificate = X509_new();
    X509_NAME *subject = certificate ? X509_get_subject_name(certificate) : NULL;
    if (certificate != NULL && pki_set_subject_key(pki, certificate, csr) != 0) {
        X509_free(certificate);
        return error_set(err, errlen, "the CSR key is not a P-256 key");
    }
    if (subject == NULL || pki_random_serial(out->serial) != 0 ||
        (serial = pki_integer_from_bytes(out->serial, sizeof out->serial)) == NULL ||
        X509_set_version(certificate, X509_VERSION_3) != 1 ||
        X509_set_serialNumber(certificate, serial) != 1 ||
        X509_set_issuer_name(certificate,
                             X509_get_subject_name(pki->issuing)) != 1 ||
        X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)web_number, -1, -1,
                                   0) != 1 ||
        ASN1_TIME_set(X509_getm_notBefore(certificate), (time_t)now) == NULL ||
        ASN1_TIME_adj(X509_getm_notAfter(certificate), (time_t)now,
                      PKI_CERTIFICATE_DAYS, 0) == NULL ||
        pki_add_extensions(pki, certificate) != 0) {
        error_set(err, errlen, "cannot build the certificate (OpenSSL failure)");
        goto cleanup;
    }
    signing_key = pki_signing_key_new(pki);
    if (signing_key == NULL ||
        X509_sign(certificate, signing_key, EVP_sha256()) <= 0) {
        error_set(err, errlen, "the signer did not sign the certificate");
        goto cleanup;
    }
    if (pki_certificate_export(certificate, out) != 0) {
        error_set(err, errlen, "cannot encode the certificate");
        goto cleanup;
    }
    status = 0;
cleanup:
    if (status != 0)
        pki_certificate_clear(out);
    EVP_PKEY_free(signing_key);
    ASN1_INTEGER_free(serial);
    X509_free(certificate);
    return status;
}

void
pki_certificate_clear(struct pki_certificate *certificate)
{
    if (certificate == NULL)
        return;
    free(certificate->der);
    free(certificate->pem);
    memset(certificate, 0, sizeof *certificate);
}
