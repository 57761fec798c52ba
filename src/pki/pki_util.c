/* pki_util: the X.509 helpers of pki_x509.h: P-256 key checks and
 * canonical encoding, times, serials, reason codes, web number syntax,
 * URLs, CA certificate files. */
#include "pki/pki_x509.h"

#include "util/file.h"
#include "util/strings.h"

#include <assert.h>
#include <stdio.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Room for any curve name OpenSSL reports. */
#define PKI_GROUP_NAME_MAX 64
/* Room for a public point in any encoding of any curve we could be shown
 * (a P-521 uncompressed point is 133 bytes). */
#define PKI_POINT_MAX_BYTES 160

static const char pki_crockford_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* DER of a P-256 SubjectPublicKeyInfo up to its point: SEQUENCE { SEQUENCE {
 * id-ecPublicKey, prime256v1 }, BIT STRING (no unused bits) }, then the 65
 * bytes of the uncompressed point. */
static const uint8_t pki_p256_spki_prefix[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
    0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
    0x07, 0x03, 0x42, 0x00};
#define PKI_P256_SPKI_BYTES (sizeof pki_p256_spki_prefix + PKI_P256_POINT_BYTES)

int
pki_web_number_is_valid(const char *text)
{
    if (text == NULL)
        return 0;
    size_t length = strnlen(text, PKI_WEB_NUMBER_LENGTH + 1);
    if (length != PKI_WEB_NUMBER_LENGTH)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (text[i] == '\0' || strchr(pki_crockford_alphabet, text[i]) == NULL)
            return 0;
    return 1;
}

int
pki_key_p256_point(const EVP_PKEY *key, uint8_t out[PKI_P256_POINT_BYTES])
{
    char group_name[PKI_GROUP_NAME_MAX];
    size_t name_length = 0;
    uint8_t encoded[PKI_POINT_MAX_BYTES];
    size_t encoded_length = 0;

    memset(out, 0, PKI_P256_POINT_BYTES);
    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return PKI_ERR_KEY_TYPE;
    if (EVP_PKEY_get_group_name(key, group_name, sizeof group_name,
                                &name_length) != 1 ||
        strcmp(group_name, SN_X9_62_prime256v1) != 0)
        return PKI_ERR_KEY_TYPE;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, encoded,
                                        sizeof encoded, &encoded_length) != 1)
        return PKI_ERR_KEY_TYPE;

    /* An uncompressed point is already what we write, and OpenSSL checked
     * it on the curve (and not at infinity, which has no such encoding)
     * when it built the key: copy it rather than build a curve group for
     * every certificate a device presents. */
    if (encoded_length == PKI_P256_POINT_BYTES &&
        encoded[0] == POINT_CONVERSION_UNCOMPRESSED) {
        memcpy(out, encoded, PKI_P256_POINT_BYTES);
        return PKI_OK;
    }

    /* Whatever the point's other encodings (compressed, hybrid), decode it
     * on the curve and write it uncompressed. */
    int status = PKI_ERR_INTERNAL;
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    if (point == NULL)
        goto cleanup;
    if (EC_POINT_oct2point(group, point, encoded, encoded_length, NULL) != 1 ||
        EC_POINT_is_at_infinity(group, point)) {
        status = PKI_ERR_KEY_TYPE;
        goto cleanup;
    }
    if (EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, out,
                           PKI_P256_POINT_BYTES, NULL) != PKI_P256_POINT_BYTES)
        goto cleanup;
    status = PKI_OK;
cleanup:
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return status;
}

int
pki_key_p256_spki(const EVP_PKEY *key, uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES],
                  size_t *length)
{
    uint8_t point[PKI_P256_POINT_BYTES];
    *length = 0;
    int status = pki_key_p256_point(key, point);
    if (status != PKI_OK)
        return status;

    /* The canonical form has one encoding, so it is written from the point
     * directly: the same bytes i2d_PUBKEY() gives for a key built from the
     * point, without OpenSSL 3's encoder lookup (a provider search under
     * global locks) on every certificate a device presents. */
    _Static_assert(sizeof pki_p256_spki_prefix + PKI_P256_POINT_BYTES <=
                       SIGNER_PUBLIC_KEY_MAX_BYTES,
                   "a P-256 SubjectPublicKeyInfo fits a signer public key");
    memcpy(out, pki_p256_spki_prefix, sizeof pki_p256_spki_prefix);
    memcpy(out + sizeof pki_p256_spki_prefix, point, sizeof point);
    *length = PKI_P256_SPKI_BYTES;
    return PKI_OK;
}

int
pki_spki_p256_coordinates(const uint8_t *spki, size_t length,
                          uint8_t x[PKI_P256_COORDINATE_BYTES],
                          uint8_t y[PKI_P256_COORDINATE_BYTES])
{
    memset(x, 0, PKI_P256_COORDINATE_BYTES);
    memset(y, 0, PKI_P256_COORDINATE_BYTES);
    if (spki == NULL || length != PKI_P256_SPKI_BYTES ||
        memcmp(spki, pki_p256_spki_prefix, sizeof pki_p256_spki_prefix) != 0 ||
        spki[sizeof pki_p256_spki_prefix] != POINT_CONVERSION_UNCOMPRESSED)
        return -1;
    const uint8_t *point = spki + sizeof pki_p256_spki_prefix + 1;
    memcpy(x, point, PKI_P256_COORDINATE_BYTES);
    memcpy(y, point + PKI_P256_COORDINATE_BYTES, PKI_P256_COORDINATE_BYTES);
    return 0;
}

EVP_PKEY *
pki_key_from_spki(const uint8_t *der, size_t length)
{
    if (der == NULL || length == 0 || length > SIGNER_PUBLIC_KEY_MAX_BYTES)
        return NULL;
    const unsigned char *p = der;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)length);
    uint8_t point[PKI_P256_POINT_BYTES];
    if (key == NULL || p != der + length ||
        pki_key_p256_point(key, point) != PKI_OK) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

int
pki_time_to_int64(const ASN1_TIME *time, int64_t *out)
{
    struct tm parts;
    *out = 0;
    memset(&parts, 0, sizeof parts);
    if (time == NULL || ASN1_TIME_to_tm(time, &parts) != 1)
        return -1;
    time_t seconds = timegm(&parts);
    if (seconds == (time_t)-1)
        return -1;
    *out = (int64_t)seconds;
    return 0;
}

int
pki_serial_from_integer(const ASN1_INTEGER *integer,
                        uint8_t out[PKI_SERIAL_BYTES])
{
    memset(out, 0, PKI_SERIAL_BYTES);
    if (integer == NULL || ASN1_STRING_type(integer) != V_ASN1_INTEGER ||
        ASN1_STRING_length(integer) != PKI_SERIAL_BYTES)
        return -1;
    const unsigned char *data = ASN1_STRING_get0_data(integer);
    if (data[0] == 0)
        return -1;
    memcpy(out, data, PKI_SERIAL_BYTES);
    return 0;
}

ASN1_INTEGER *
pki_integer_from_bytes(const uint8_t *bytes, size_t length)
{
    if (length > INT_MAX)
        return NULL;
    BIGNUM *number = BN_bin2bn(bytes, (int)length, NULL);
    ASN1_INTEGER *integer = number ? BN_to_ASN1_INTEGER(number, NULL) : NULL;
    BN_free(number);
    return integer;
}

AUTHORITY_KEYID *
pki_authority_key_id(X509 *issuing)
{
    const ASN1_OCTET_STRING *subject_key_id = X509_get0_subject_key_id(issuing);
    AUTHORITY_KEYID *authority = AUTHORITY_KEYID_new();
    if (authority == NULL || subject_key_id == NULL ||
        (authority->keyid = ASN1_OCTET_STRING_dup(subject_key_id)) == NULL) {
        AUTHORITY_KEYID_free(authority);
        return NULL;
    }
    return authority;
}

char *
pki_bio_to_string(BIO *bio)
{
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    if (length <= 0 || data == NULL)
        return NULL;
    char *text = malloc((size_t)length + 1);
    if (text == NULL)
        return NULL;
    memcpy(text, data, (size_t)length);
    text[length] = '\0';
    return text;
}

/* RFC 5280 §5.3.1 CRLReason codes this service uses, by name. */
static const struct {
    int code;
    const char *name;
} pki_reasons[] = {
    {0, "unspecified"},
    {1, "key_compromise"},
    {3, "affiliation_changed"},
    {4, "superseded"},
    {5, "cessation_of_operation"},
    {6, "certificate_hold"},
    {9, "privilege_withdrawn"},
};

int
pki_reason_code(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof pki_reasons / sizeof *pki_reasons; i++)
        if (strcmp(name, pki_reasons[i].name) == 0)
            return pki_reasons[i].code;
    return -1;
}

const char *
pki_reason_name(int code)
{
    for (size_t i = 0; i < sizeof pki_reasons / sizeof *pki_reasons; i++)
        if (pki_reasons[i].code == code)
            return pki_reasons[i].name;
    return NULL;
}

int
pki_reason_is_known(int code)
{
    return pki_reason_name(code) != NULL;
}

/* Longest path built under pki_dir. */
#define PKI_PATH_MAX 1024

/* Refuses a CA certificate PEM file that does not decode to exactly one
 * certificate. Returns the certificate or NULL with err. */
X509 *
pki_load_certificate(const char *pki_dir, const char *file, char *err,
                     size_t errlen)
{
    char path[PKI_PATH_MAX];
    uint8_t *text = NULL;
    size_t length = 0;
    X509 *certificate = NULL;

    if (string_format(path, sizeof path, "%s/%s", pki_dir, file) != 0) {
        error_set(err, errlen, "pki folder path is too long");
        return NULL;
    }
    if (file_read(path, PKI_CA_FILE_MAX_BYTES, &text, &length, err,
                  errlen) != 0)
        return NULL;
    BIO *bio = BIO_new_mem_buf(text, (int)length);
    if (bio != NULL)
        certificate = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (certificate == NULL)
        error_set(err, errlen, "%s holds no PEM certificate", path);
    BIO_free(bio);
    free(text);
    return certificate;
}

void
pki_issuing_ca_file(unsigned generation, char out[PKI_CA_FILE_NAME_MAX])
{
    assert(generation >= 1 && generation <= PKI_GENERATIONS_MAX);
    if (generation == 1)
        snprintf(out, PKI_CA_FILE_NAME_MAX, "issuing-ca.pem");
    else
        snprintf(out, PKI_CA_FILE_NAME_MAX, "issuing-ca-%u.pem", generation);
}

unsigned
pki_issuing_generations(const char *pki_dir)
{
    unsigned count = 0;
    for (unsigned g = 1; g <= PKI_GENERATIONS_MAX; g++) {
        char file[PKI_CA_FILE_NAME_MAX], path[PKI_PATH_MAX];
        pki_issuing_ca_file(g, file);
        if (string_format(path, sizeof path, "%s/%s", pki_dir, file) != 0 ||
            access(path, F_OK) != 0)
            break;
        count = g;
    }
    return count;
}

int
pki_generation_crl_url(const char *crl_url, unsigned generation, char out[PKI_URL_MAX])
{
    assert(generation >= 1 && generation <= PKI_GENERATIONS_MAX);
    if (generation == 1)
        return string_copy(out, PKI_URL_MAX, crl_url);
    return string_format(out, PKI_URL_MAX, "%s/%u", crl_url, generation);
}

/* A URL written into certificates: http(s), printable ASCII (IA5String),
 * no spaces, shorter than PKI_URL_MAX. */
int
pki_url_is_valid(const char *url)
{
    if (url == NULL)
        return 0;
    size_t length = strnlen(url, PKI_URL_MAX);
    if (length == PKI_URL_MAX)
        return 0;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (url[i] <= ' ' || url[i] > '~')
            return 0;
    return 1;
}
