/* signer_ca: building and signing the web certificate, OCSP responses and
 * the CRL inside the signer; see signer_ca.h. The structures are built
 * with OpenSSL's own types and signed with X509_sign(), OCSP_basic_sign()
 * and X509_CRL_sign() over the keyring's issuing CA key. */
#include "signer/signer_ca.h"

#include "pki/pki_x509.h"
#include "util/strings.h"

#include <openssl/ec.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>


struct signer_ca {
    unsigned generation;
    X509 *issuing;              /* the issuing CA certificate */
    EVP_PKEY *key;              /* its private key, borrowed from the keyring */
    EC_GROUP *p256;             /* subject points are checked on it */
    /* The issuer half of CertIDs (name and key hashes), by hash: a CertID
     * is ours when OCSP_id_issuer_cmp() says so against one of these. */
    OCSP_CERTID *ids[2];
    char ocsp_url[PKI_URL_MAX];
    char crl_url[PKI_URL_MAX];
};

int
signer_ca_set_urls(struct signer_ca *ca, const char *ocsp_url, const char *crl_url)
{
    if (!pki_url_is_valid(ocsp_url) || !pki_url_is_valid(crl_url) ||
        string_copy(ca->ocsp_url, sizeof ca->ocsp_url, ocsp_url) != 0 ||
        pki_generation_crl_url(crl_url, ca->generation, ca->crl_url) != 0 ||
        !pki_url_is_valid(ca->crl_url))
        return -1;
    return 0;
}

int
signer_ca_open(const char *pki_dir, unsigned generation, EVP_PKEY *issuing_key,
               struct signer_ca **out, char *err, size_t errlen)
{
    *out = NULL;
    struct signer_ca *ca = calloc(1, sizeof *ca);
    if (ca == NULL)
        return error_set(err, errlen, "out of memory");
    char file[PKI_CA_FILE_NAME_MAX];
    pki_issuing_ca_file(generation, file);
    ca->generation = generation;
    ca->key = issuing_key;
    ca->issuing = pki_load_certificate(pki_dir, file, err, errlen);
    if (ca->issuing == NULL) {
        signer_ca_close(ca);
        return -1;
    }
    if (issuing_key == NULL || X509_check_private_key(ca->issuing, issuing_key) != 1) {
        signer_ca_close(ca);
        return error_set(err, errlen, "%s does not hold the issuing CA key of generation %u",
                         file, generation);
    }
    if ((ca->p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
        (ca->ids[0] = OCSP_cert_to_id(EVP_sha1(), NULL, ca->issuing)) == NULL ||
        (ca->ids[1] = OCSP_cert_to_id(EVP_sha256(), NULL, ca->issuing)) == NULL)
        goto fail;
    *out = ca;
    return 0;
fail:
    signer_ca_close(ca);
    return error_set(err, errlen, "cannot set up the CA (OpenSSL or allocation failure)");
}

void
signer_ca_close(struct signer_ca *ca)
{
    if (ca == NULL)
        return;
    X509_free(ca->issuing);
    EC_GROUP_free(ca->p256);
    OCSP_CERTID_free(ca->ids[0]);
    OCSP_CERTID_free(ca->ids[1]);
    free(ca);
}

/* ── The web certificate ───────────────────────────────────────────────── */

/* A URI GeneralName; NULL on failure. */
static GENERAL_NAME *
ca_uri_name(const char *url)
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
ca_ocsp_access(const char *url)
{
    AUTHORITY_INFO_ACCESS *access = AUTHORITY_INFO_ACCESS_new();
    ACCESS_DESCRIPTION *description = ACCESS_DESCRIPTION_new();
    GENERAL_NAME *location = ca_uri_name(url);
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
ca_crl_points(const char *url)
{
    CRL_DIST_POINTS *points = CRL_DIST_POINTS_new();
    DIST_POINT *point = DIST_POINT_new();
    DIST_POINT_NAME *name = DIST_POINT_NAME_new();
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    GENERAL_NAME *uri = ca_uri_name(url);
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
ca_add_extensions(const struct signer_ca *ca, X509 *certificate)
{
    int status = -1;
    BASIC_CONSTRAINTS *constraints = BASIC_CONSTRAINTS_new();
    ASN1_BIT_STRING *usage = ASN1_BIT_STRING_new();
    EXTENDED_KEY_USAGE *extended = sk_ASN1_OBJECT_new_null();
    ASN1_OCTET_STRING *key_id = ASN1_OCTET_STRING_new();
    AUTHORITY_KEYID *authority = pki_authority_key_id(ca->issuing);
    AUTHORITY_INFO_ACCESS *access = ca_ocsp_access(ca->ocsp_url);
    CRL_DIST_POINTS *points = ca_crl_points(ca->crl_url);
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
ca_random_serial(uint8_t serial[PKI_SERIAL_BYTES])
{
    if (RAND_bytes(serial, PKI_SERIAL_BYTES) != 1)
        return -1;
    serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x40);
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
ca_set_subject_key(const struct signer_ca *ca, X509 *certificate, const uint8_t *subject_spki, size_t subject_length)
{
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES], x[PKI_P256_COORDINATE_BYTES],
        y[PKI_P256_COORDINATE_BYTES];
    size_t length = subject_length;
    if (length > sizeof spki)
        return -1;
    memcpy(spki, subject_spki, length);
    if (pki_spki_p256_coordinates(spki, length, x, y) != 0) {
        EVP_PKEY *key = pki_key_from_spki(subject_spki, subject_length);
        int status = key != NULL ? pki_key_p256_spki(key, spki, &length) : PKI_ERR_KEY_TYPE;
        EVP_PKEY_free(key);
        if (status != PKI_OK || pki_spki_p256_coordinates(spki, length, x, y) != 0)
            return -1;
    }
    const uint8_t *encoded = spki + length - PKI_P256_POINT_BYTES;
    EC_POINT *point = EC_POINT_new(ca->p256);
    int on_curve = point != NULL &&
                   EC_POINT_oct2point(ca->p256, point, encoded, PKI_P256_POINT_BYTES,
                                      NULL) == 1 &&
                   !EC_POINT_is_at_infinity(ca->p256, point);
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

/* The DER of an OpenSSL object in a fresh malloc'd *der: nonzero when it
 * failed (nothing allocated then). The i2d function is called twice, for
 * the length and then to write; the compound literal is the cursor it
 * advances, so *der stays at the start. */
#define CA_ENCODE(i2d, object, der, der_length)                                 \
    (ca_encode_length((i2d)((object), NULL), (der), (der_length)) != 0 ||       \
     ca_encode_fill((i2d)((object), &(unsigned char *){*(der)}), (der),          \
                    (der_length)) != 0)

/* Allocates *der for length bytes. 0 or -1. */
static int
ca_encode_length(int length, uint8_t **der, size_t *der_length)
{
    *der = NULL;
    *der_length = 0;
    if (length <= 0 || (*der = malloc((size_t)length)) == NULL)
        return -1;
    *der_length = (size_t)length;
    return 0;
}

/* Checks that the second i2d call wrote the length the first announced;
 * frees *der when not. 0 or -1. */
static int
ca_encode_fill(int written, uint8_t **der, size_t *der_length)
{
    if (written > 0 && (size_t)written == *der_length)
        return 0;
    free(*der);
    *der = NULL;
    *der_length = 0;
    return -1;
}

/* 1 when an extension is present with the expected criticality. */
static int
ca_has_extension(const X509 *certificate, int nid, int critical)
{
    int at = X509_get_ext_by_NID(certificate, nid, -1);
    return at >= 0 &&
           X509_EXTENSION_get_critical(X509_get_ext(certificate, at)) == critical &&
           X509_get_ext_by_NID(certificate, nid, at) < 0;
}

/* Parses der back and checks that it is exactly the certificate that was
 * meant: signed by the issuing CA, issuer and subject (CN=web number and
 * nothing else), the subject's key, the validity, the serial, the seven
 * extensions of the profile with their flags and nothing else. The
 * builder above makes all of this; the check is there so that no change
 * to it (or an OpenSSL surprise) can make the signer hand out a
 * certificate of another shape. 0 or -1. */
static int
ca_check_issued(const struct signer_ca *ca, const uint8_t *der, size_t length,
                const uint8_t *spki, size_t spki_length, const char *web_number,
                int64_t now)
{
    const unsigned char *p = der;
    X509 *certificate = d2i_X509(NULL, &p, (long)length);
    int ok = certificate != NULL && p == der + length;
    uint8_t key[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t key_length = 0;
    char name[PKI_WEB_NUMBER_LENGTH + 2];
    int64_t not_before = 0, not_after = 0;
    uint8_t serial[PKI_SERIAL_BYTES];
    if (ok) {
        const X509_NAME *subject = X509_get_subject_name(certificate);
        ok = X509_verify(certificate, X509_get0_pubkey(ca->issuing)) == 1 &&
             X509_get_version(certificate) == X509_VERSION_3 &&
             X509_NAME_cmp(X509_get_issuer_name(certificate),
                           X509_get_subject_name(ca->issuing)) == 0 &&
             X509_NAME_entry_count(subject) == 1 &&
             X509_NAME_get_text_by_NID((X509_NAME *)subject, NID_commonName, name,
                                       sizeof name) == PKI_WEB_NUMBER_LENGTH &&
             strcmp(name, web_number) == 0 &&
             pki_key_p256_spki(X509_get0_pubkey(certificate), key, &key_length) == PKI_OK;
    }
    if (ok) {
        /* The subject key as given, or its canonical form when it came
         * compressed: the point must be the same. */
        EVP_PKEY *given = pki_key_from_spki(spki, spki_length);
        ok = given != NULL && EVP_PKEY_eq(given, X509_get0_pubkey(certificate)) == 1;
        EVP_PKEY_free(given);
    }
    if (ok)
        ok = pki_time_to_int64(X509_get0_notBefore(certificate), &not_before) == 0 &&
             pki_time_to_int64(X509_get0_notAfter(certificate), &not_after) == 0 &&
             not_before == now &&
             not_after == now + (int64_t)PKI_CERTIFICATE_DAYS * PKI_SECONDS_PER_DAY &&
             pki_serial_from_integer(X509_get0_serialNumber(certificate), serial) == 0;
    if (ok) {
        uint32_t flags = X509_get_extension_flags(certificate);
        ok = X509_get_ext_count(certificate) == 7 &&
             ca_has_extension(certificate, NID_basic_constraints, 1) &&
             ca_has_extension(certificate, NID_key_usage, 1) &&
             ca_has_extension(certificate, NID_ext_key_usage, 0) &&
             ca_has_extension(certificate, NID_subject_key_identifier, 0) &&
             ca_has_extension(certificate, NID_authority_key_identifier, 0) &&
             ca_has_extension(certificate, NID_info_access, 0) &&
             ca_has_extension(certificate, NID_crl_distribution_points, 0) &&
             !(flags & EXFLAG_CA) && !(flags & EXFLAG_INVALID) &&
             X509_get_key_usage(certificate) == KU_DIGITAL_SIGNATURE &&
             X509_get_extended_key_usage(certificate) == XKU_SSL_CLIENT;
    }
    X509_free(certificate);
    return ok ? 0 : -1;
}

int
signer_ca_issue(const struct signer_ca *ca, const uint8_t *spki, size_t spki_length,
                const char *web_number, int64_t now, uint8_t **der, size_t *der_length)
{
    *der = NULL;
    *der_length = 0;
    if (ca->ocsp_url[0] == '\0' || !pki_web_number_is_valid(web_number) || now < 0 ||
        now > PKI_ISSUE_NOW_MAX ||
        spki_length == 0 || spki_length > SIGNER_PUBLIC_KEY_MAX_BYTES)
        return SIGNER_CA_REFUSED;
    int status = -1;
    uint8_t serial_bytes[PKI_SERIAL_BYTES];
    ASN1_INTEGER *serial = NULL;
    X509 *certificate = X509_new();
    X509_NAME *subject = certificate ? X509_get_subject_name(certificate) : NULL;
    if (certificate != NULL && ca_set_subject_key(ca, certificate, spki, spki_length) != 0) {
        status = SIGNER_CA_REFUSED;
        goto cleanup;
    }
    if (subject == NULL || ca_random_serial(serial_bytes) != 0 ||
        (serial = pki_integer_from_bytes(serial_bytes, sizeof serial_bytes)) == NULL ||
        X509_set_version(certificate, X509_VERSION_3) != 1 ||
        X509_set_serialNumber(certificate, serial) != 1 ||
        X509_set_issuer_name(certificate, X509_get_subject_name(ca->issuing)) != 1 ||
        X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)web_number, -1, -1, 0) != 1 ||
        ASN1_TIME_set(X509_getm_notBefore(certificate), (time_t)now) == NULL ||
        ASN1_TIME_adj(X509_getm_notAfter(certificate), (time_t)now, PKI_CERTIFICATE_DAYS,
                      0) == NULL ||
        ca_add_extensions(ca, certificate) != 0 ||
        X509_sign(certificate, ca->key, EVP_sha256()) <= 0 ||
        CA_ENCODE(i2d_X509, certificate, der, der_length))
        goto cleanup;
    if (ca_check_issued(ca, *der, *der_length, spki, spki_length, web_number, now) != 0) {
        free(*der);
        *der = NULL;
        *der_length = 0;
        goto cleanup;
    }
    status = 0;
cleanup:
    ASN1_INTEGER_free(serial);
    X509_free(certificate);
    return status;
}

/* ── OCSP ───────────────────────────────────────────────────────────────── */

/* Adds the SingleResponse for id with status. 0 or -1. */
static int
ca_ocsp_add(OCSP_BASICRESP *basic, OCSP_CERTID *id,
             const struct signer_ocsp_entry *status, ASN1_TIME *this_update,
             ASN1_TIME *next_update)
{
    int code = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    ASN1_TIME *revoked_at = NULL;
    if (status->state == SIGNER_CERT_GOOD)
        code = V_OCSP_CERTSTATUS_GOOD;
    if (status->state == SIGNER_CERT_REVOKED) {
        code = V_OCSP_CERTSTATUS_REVOKED;
        revoked_at = ASN1_GENERALIZEDTIME_set(NULL, (time_t)status->revoked_at);
        if (revoked_at == NULL)
            return -1;
        /* RFC 5280 §5.3.1: no reason rather than "unspecified". */
        if (status->reason != 0 && pki_reason_is_known(status->reason))
            reason = status->reason;
    }
    OCSP_SINGLERESP *single = OCSP_basic_add1_status(
        basic, id, code, reason, revoked_at, this_update, next_update);
    ASN1_TIME_free(revoked_at);
    return single != NULL ? 0 : -1;
}

/* Parses a CertID (every byte) and says whether it names our issuing CA.
 * NULL when it does not parse. */
static OCSP_CERTID *
ca_parse_cert_id(const struct signer_ca *ca, const uint8_t *bytes, size_t length, int *ours)
{
    const unsigned char *p = bytes;
    OCSP_CERTID *id = d2i_OCSP_CERTID(NULL, &p, (long)length);
    if (id == NULL || p != bytes + length) {
        OCSP_CERTID_free(id);
        return NULL;
    }
    *ours = OCSP_id_issuer_cmp(ca->ids[0], id) == 0 || OCSP_id_issuer_cmp(ca->ids[1], id) == 0;
    return id;
}

int
signer_ca_ocsp(const struct signer_ca *ca, const struct signer_ocsp_entry *entries,
               size_t count, const uint8_t *nonce, size_t nonce_length, int64_t now,
               uint8_t **der, size_t *der_length)
{
    *der = NULL;
    *der_length = 0;
    if (count == 0 || count > SIGNER_OCSP_ENTRIES_MAX ||
        nonce_length > SIGNER_OCSP_NONCE_MAX_BYTES || now < 0 ||
        now > PKI_TIME_MAX - PKI_OCSP_VALIDITY_SECONDS)
        return SIGNER_CA_REFUSED;
    int status = -1;
    OCSP_BASICRESP *basic = OCSP_BASICRESP_new();
    OCSP_RESPONSE *response = NULL;
    ASN1_TIME *this_update = ASN1_GENERALIZEDTIME_set(NULL, (time_t)now);
    ASN1_TIME *next_update =
        ASN1_GENERALIZEDTIME_set(NULL, (time_t)(now + PKI_OCSP_VALIDITY_SECONDS));
    ASN1_OCTET_STRING *nonce_value = NULL;
    if (basic == NULL || this_update == NULL || next_update == NULL)
        goto cleanup;
    for (size_t i = 0; i < count; i++) {
        const struct signer_ocsp_entry *entry = &entries[i];
        int ours = 0;
        OCSP_CERTID *id = ca_parse_cert_id(ca, entry->cert_id, entry->cert_id_length, &ours);
        int acceptable =
            id != NULL &&
            (entry->state == SIGNER_CERT_UNKNOWN ||
             (ours && entry->state == SIGNER_CERT_GOOD) ||
             (ours && entry->state == SIGNER_CERT_REVOKED &&
              (entry->reason == 0 || pki_reason_is_known(entry->reason)) &&
              entry->revoked_at >= 0 && entry->revoked_at <= now));
        int added = acceptable &&
                    ca_ocsp_add(basic, id, entry, this_update, next_update) == 0;
        OCSP_CERTID_free(id);
        if (!acceptable) {
            status = SIGNER_CA_REFUSED;
            goto cleanup;
        }
        if (!added)
            goto cleanup;
    }
    if (nonce_length > 0) {
        /* The request's nonce extension value, as OCSP_copy_nonce() would
         * copy it from the request. */
        nonce_value = ASN1_OCTET_STRING_new();
        if (nonce_value == NULL ||
            ASN1_OCTET_STRING_set(nonce_value, nonce, (int)nonce_length) != 1 ||
            OCSP_BASICRESP_add1_ext_i2d(basic, NID_id_pkix_OCSP_Nonce, nonce_value, 0, 0) != 1)
            goto cleanup;
    }
    if (OCSP_basic_sign(basic, ca->issuing, ca->key, EVP_sha256(), NULL, OCSP_RESPID_KEY) != 1 ||
        (response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic)) == NULL ||
        CA_ENCODE(i2d_OCSP_RESPONSE, response, der, der_length))
        goto cleanup;
    status = 0;
cleanup:
    ASN1_OCTET_STRING_free(nonce_value);
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
    OCSP_RESPONSE_free(response);
    OCSP_BASICRESP_free(basic);
    return status;
}

/* ── The CRL ───────────────────────────────────────────────────────────── */

/* Adds one revoked entry to crl. 0 or -1. */
static int
ca_crl_add_entry(X509_CRL *crl, const struct signer_crl_entry *entry)
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
ca_crl_fill(const struct signer_ca *ca, X509_CRL *crl,
             const struct signer_crl_entry *revoked, size_t count,
             int64_t crl_number, int64_t now)
{
    ASN1_TIME *this_update = ASN1_TIME_set(NULL, (time_t)now);
    ASN1_TIME *next_update =
        ASN1_TIME_set(NULL, (time_t)(now + PKI_CRL_VALIDITY_SECONDS));
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    AUTHORITY_KEYID *authority = pki_authority_key_id(ca->issuing);
    int status = -1;

    if (this_update == NULL || next_update == NULL || number == NULL ||
        authority == NULL ||
        X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->issuing)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, this_update) != 1 ||
        X509_CRL_set1_nextUpdate(crl, next_update) != 1 ||
        ASN1_INTEGER_set_int64(number, crl_number) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0,
                              X509V3_ADD_DEFAULT) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, authority, 0,
                              X509V3_ADD_DEFAULT) != 1)
        goto cleanup;
    for (size_t i = 0; i < count; i++)
        if (ca_crl_add_entry(crl, &revoked[i]) != 0)
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
signer_ca_crl(const struct signer_ca *ca, const struct signer_crl_entry *entries,
              size_t count, int64_t crl_number, int64_t now, uint8_t **der,
              size_t *der_length)
{
    *der = NULL;
    *der_length = 0;
    if ((count > 0 && entries == NULL) || crl_number < 0 || now < 0 ||
        now > PKI_TIME_MAX - PKI_CRL_VALIDITY_SECONDS)
        return SIGNER_CA_REFUSED;
    for (size_t i = 0; i < count; i++)
        if (!pki_reason_is_known(entries[i].reason) || entries[i].revoked_at < 0 ||
            entries[i].revoked_at > PKI_TIME_MAX)
            return SIGNER_CA_REFUSED;
    int status = -1;
    X509_CRL *crl = X509_CRL_new();
    if (crl != NULL && ca_crl_fill(ca, crl, entries, count, crl_number, now) == 0 &&
        X509_CRL_sign(crl, ca->key, EVP_sha256()) > 0 &&
        !(CA_ENCODE(i2d_X509_CRL, crl, der, der_length)))
        status = 0;
    X509_CRL_free(crl);
    return status;
}
