/* device_key: P-256 key, CSR, PKCS#8 PEM and nonce signature; see
 * device_key.h. */
#include "app/device_key.h"

#include "util/encoding.h"
#include "util/strings.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_KEY_CURVE "P-256"
#define DEVICE_KEY_CURVE_NAME_MAX 64
#define DEVICE_KEY_CSR_SUBJECT "cyberid-device"
/* A DER ECDSA signature over P-256: two 33-byte INTEGERs and headers. */
#define DEVICE_KEY_SIGNATURE_DER_MAX 80

/* Appends OpenSSL's last error to a message. */
static int
openssl_error(char *err, size_t errlen, const char *what)
{
    unsigned long code = ERR_peek_last_error();
    char detail[256] = "";

    if (code != 0)
        ERR_error_string_n(code, detail, sizeof(detail));
    ERR_clear_error();
    return error_set(err, errlen, "%s%s%s", what, code ? ": " : "", detail);
}

/* Copies a memory BIO's contents into a new NUL-terminated buffer. */
static int
bio_to_string(BIO *bio, char **out, char *err, size_t errlen)
{
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);

    if (length <= 0 || (size_t)length >= DEVICE_KEY_PEM_MAX)
        return error_set(err, errlen, "PEM output of unexpected size");
    *out = malloc((size_t)length + 1);
    if (*out == NULL)
        return error_set(err, errlen, "out of memory");
    memcpy(*out, data, (size_t)length);
    (*out)[length] = '\0';
    return 0;
}

int
device_key_generate(EVP_PKEY **key, char *err, size_t errlen)
{
    *key = EVP_EC_gen(DEVICE_KEY_CURVE);
    if (*key == NULL)
        return openssl_error(err, errlen, "cannot generate a P-256 key");
    return 0;
}

int
device_key_is_p256(const EVP_PKEY *key)
{
    char curve[DEVICE_KEY_CURVE_NAME_MAX];
    size_t length = 0;

    if (key == NULL || !EVP_PKEY_is_a(key, "EC"))
        return 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve,
                                       sizeof(curve), &length) != 1)
        return 0;
    return strcmp(curve, "prime256v1") == 0 || strcmp(curve, "P-256") == 0;
}

int
device_key_to_pem(EVP_PKEY *key, char **pem, char *err, size_t errlen)
{
    int status = -1;
    /* A secure memory BIO wipes its buffer when freed. */
    BIO *bio = BIO_new(BIO_s_secmem());
    char *data = NULL;
    long length;

    *pem = NULL;
    if (bio == NULL) {
        openssl_error(err, errlen, "out of memory");
        goto cleanup;
    }
    if (PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
        openssl_error(err, errlen, "cannot encode the private key");
        goto cleanup;
    }
    length = BIO_get_mem_data(bio, &data);
    if (length <= 0 || (size_t)length >= DEVICE_KEY_PEM_MAX) {
        error_set(err, errlen, "private key PEM of unexpected size");
        goto cleanup;
    }
    *pem = malloc((size_t)length + 1);
    if (*pem == NULL) {
        error_set(err, errlen, "out of memory");
        goto cleanup;
    }
    memcpy(*pem, data, (size_t)length);
    (*pem)[length] = '\0';
    status = 0;
cleanup:
    BIO_free(bio);
    return status;
}

void
device_key_pem_free(char *pem)
{
    if (pem == NULL)
        return;
    secret_wipe(pem, strlen(pem));
    free(pem);
}

int
device_key_from_pem(const char *pem, EVP_PKEY **key, char *err, size_t errlen)
{
    size_t length = strnlen(pem, DEVICE_KEY_PEM_MAX);
    BIO *bio;

    *key = NULL;
    if (length >= DEVICE_KEY_PEM_MAX)
        return error_set(err, errlen, "private key PEM too long");
    bio = BIO_new_mem_buf(pem, (int)length);
    if (bio == NULL)
        return openssl_error(err, errlen, "out of memory");
    *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (*key == NULL)
        return openssl_error(err, errlen, "cannot read the private key");
    if (!device_key_is_p256(*key)) {
        EVP_PKEY_free(*key);
        *key = NULL;
        return error_set(err, errlen, "the private key is not EC P-256");
    }
    return 0;
}

int
device_key_csr_pem(EVP_PKEY *key, char **pem, char *err, size_t errlen)
{
    int status = -1;
    X509_REQ *request = X509_REQ_new();
    X509_NAME *subject = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());

    *pem = NULL;
    if (request == NULL || subject == NULL || bio == NULL) {
        openssl_error(err, errlen, "out of memory");
        goto cleanup;
    }
    if (X509_REQ_set_version(request, X509_REQ_VERSION_1) != 1 ||
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                   (const unsigned char *)DEVICE_KEY_CSR_SUBJECT,
                                   -1, -1, 0) != 1 ||
        X509_REQ_set_subject_name(request, subject) != 1 ||
        X509_REQ_set_pubkey(request, key) != 1 ||
        X509_REQ_sign(request, key, EVP_sha256()) <= 0) {
        openssl_error(err, errlen, "cannot make the certificate request");
        goto cleanup;
    }
    if (PEM_write_bio_X509_REQ(bio, request) != 1) {
        openssl_error(err, errlen, "cannot encode the certificate request");
        goto cleanup;
    }
    status = bio_to_string(bio, pem, err, errlen);
cleanup:
    BIO_free(bio);
    X509_NAME_free(subject);
    X509_REQ_free(request);
    return status;
}

int
device_key_matches_certificate(EVP_PKEY *key, const char *certificate_pem)
{
    size_t length = strnlen(certificate_pem, DEVICE_KEY_PEM_MAX);
    BIO *bio;
    X509 *certificate = NULL;
    int matches = 0;

    if (length >= DEVICE_KEY_PEM_MAX)
        return 0;
    bio = BIO_new_mem_buf(certificate_pem, (int)length);
    if (bio != NULL &&
        (certificate = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        matches = X509_check_private_key(certificate, key) == 1;
    ERR_clear_error();
    X509_free(certificate);
    BIO_free(bio);
    return matches;
}

int
device_key_sign(EVP_PKEY *key, const uint8_t *message, size_t length,
                char *out, size_t cap, char *err, size_t errlen)
{
    int status = -1;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    uint8_t signature[DEVICE_KEY_SIGNATURE_DER_MAX];
    size_t signature_length = sizeof(signature);

    if (cap > 0)
        out[0] = '\0';
    if (context == NULL) {
        openssl_error(err, errlen, "out of memory");
        goto cleanup;
    }
    if (EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(context, signature, &signature_length, message,
                       length) != 1) {
        openssl_error(err, errlen, "cannot sign");
        goto cleanup;
    }
    if (base64url_encode(signature, signature_length, out, cap) != 0) {
        error_set(err, errlen, "signature buffer too small");
        goto cleanup;
    }
    status = 0;
cleanup:
    EVP_MD_CTX_free(context);
    return status;
}
