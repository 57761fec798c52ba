/* signer_keys: creation of a data folder's keys and CA certificates, done
 * once by `cyberid init`. The CA certificates are made here because making
 * them needs the CA private keys, which live nowhere else. */
#include "signer/signer.h"

#include "signer/pkcs11.h"
#include "signer/signer_files.h"
#include "util/file.h"
#include "util/strings.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ROOT_CA_VALIDITY_DAYS (20 * 365)
#define ISSUING_CA_VALIDITY_DAYS (10 * 365)
#define CA_SERIAL_BYTES 16

static int
write_key_file(const char *keys_dir, enum signer_key key, const void *bytes,
               size_t length, char *err, size_t errlen)
{
    char path[1024];
    if (string_format(path, sizeof path, "%s/%s", keys_dir,
                      signer_key_files[key]) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    return file_create(path, 0600, bytes, length, err, errlen);
}

/* Writes a PEM produced into a memory BIO to path with mode. */
static int
write_bio(BIO *bio, const char *path, mode_t mode, char *err, size_t errlen)
{
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    if (length <= 0)
        return error_set(err, errlen, "cannot encode %s", path);
    return file_create(path, mode, data, (size_t)length, err, errlen);
}

/* Generates a P-256 key and writes it as PEM to path, mode 0600. */
static EVP_PKEY *
create_ec_key_at(const char *path, char *err, size_t errlen)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    int ok = pkey != NULL && bio != NULL &&
             PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1;
    if (!ok)
        error_set(err, errlen, "cannot create key %s", path);
    else
        ok = write_bio(bio, path, 0600, err, errlen) == 0;
    BIO_free_all(bio); /* BIO_s_mem clears its buffer on free */
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

/* keys/log-checkpoint.key.pem: a new Ed25519 key, PEM, mode 0600. */
static int
create_log_key(const char *keys_dir, char *err, size_t errlen)
{
    char path[SIGNER_PATH_MAX];
    if (string_format(path, sizeof path, "%s/%s", keys_dir, SIGNER_LOG_KEY_FILE) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    BIO *bio = BIO_new(BIO_s_mem());
    int status = pkey != NULL && bio != NULL &&
                         PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1
                     ? write_bio(bio, path, 0600, err, errlen)
                     : error_set(err, errlen, "cannot create key %s", path);
    BIO_free_all(bio);
    EVP_PKEY_free(pkey);
    return status;
}

int
signer_log_key_create(const char *keys_dir, char *err, size_t errlen)
{
    struct pkcs11_descriptor descriptor;
    int in_token = pkcs11_descriptor_read(keys_dir, &descriptor, err, errlen);
    if (in_token < 0)
        return -1;
    if (in_token) {
        struct pkcs11 *token = NULL;
        if (pkcs11_open(&descriptor, &token, err, errlen) != 0)
            return -1;
        int status = pkcs11_generate_ed25519(token, SIGNER_LOG_KEY_NAME, err, errlen);
        pkcs11_close(token);
        return status;
    }
    return create_log_key(keys_dir, err, errlen);
}

static EVP_PKEY *
create_ec_key(const char *keys_dir, enum signer_key key, char *err,
              size_t errlen)
{
    char path[SIGNER_PATH_MAX];
    if (string_format(path, sizeof path, "%s/%s", keys_dir,
                      signer_key_files[key]) != 0) {
        error_set(err, errlen, "keys folder path is too long");
        return NULL;
    }
    return create_ec_key_at(path, err, errlen);
}

static int
add_extension(X509 *certificate, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, certificate, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (extension == NULL)
        return -1;
    int ok = X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
    return ok == 1 ? 0 : -1;
}

static int
set_random_serial(X509 *certificate)
{
    uint8_t bytes[CA_SERIAL_BYTES];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        return -1;
    bytes[0] &= 0x7f; /* DER INTEGER serials must be positive */
    BIGNUM *number = BN_bin2bn(bytes, sizeof bytes, NULL);
    int ok = number != NULL &&
             BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != NULL;
    BN_free(number);
    return ok ? 0 : -1;
}

/* Makes a CA certificate for subject_key named common_name, signed by
 * issuer_key (issuer NULL: self-signed). */
static X509 *
make_ca_certificate(EVP_PKEY *subject_key, const char *common_name,
                    X509 *issuer, EVP_PKEY *issuer_key, long days,
                    const char *basic_constraints)
{
    X509 *certificate = X509_new();
    if (certificate == NULL)
        return NULL;
    X509_NAME *name = X509_get_subject_name(certificate);
    int ok =
        X509_set_version(certificate, X509_VERSION_3) == 1 &&
        set_random_serial(certificate) == 0 &&
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   (const unsigned char *)"cyberid", -1, -1, 0) == 1 &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)common_name, -1, -1, 0) == 1 &&
        X509_set_issuer_name(certificate, issuer ? X509_get_subject_name(issuer)
                                                 : name) == 1 &&
        X509_gmtime_adj(X509_getm_notBefore(certificate), 0) != NULL &&
        X509_time_adj_ex(X509_getm_notAfter(certificate), (int)days, 0, NULL) != NULL &&
        X509_set_pubkey(certificate, subject_key) == 1 &&
        add_extension(certificate, issuer ? issuer : certificate,
                      NID_basic_constraints, basic_constraints) == 0 &&
        add_extension(certificate, issuer ? issuer : certificate, NID_key_usage,
                      "critical,keyCertSign,cRLSign,digitalSignature") == 0 &&
        add_extension(certificate, issuer ? issuer : certificate,
                      NID_subject_key_identifier, "hash") == 0 &&
        (issuer == NULL ||
         add_extension(certificate, issuer, NID_authority_key_identifier,
                       "keyid:always") == 0) &&
        X509_sign(certificate, issuer_key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(certificate);
        return NULL;
    }
    return certificate;
}

static int
write_certificate(const char *pki_dir, const char *file, X509 *certificate,
                  char *err, size_t errlen)
{
    char path[1024];
    if (string_format(path, sizeof path, "%s/%s", pki_dir, file) != 0)
        return error_set(err, errlen, "pki folder path is too long");
    BIO *bio = BIO_new(BIO_s_mem());
    int status = -1;
    if (bio != NULL && PEM_write_bio_X509(bio, certificate) == 1)
        status = write_bio(bio, path, 0644, err, errlen);
    else
        error_set(err, errlen, "cannot encode %s", path);
    BIO_free(bio);
    return status;
}

/* The root CA's self-signed certificate and the issuing CA's under it,
 * written to pki_dir. 0 or -1 with err. */
static int
write_ca_certificates(const char *pki_dir, EVP_PKEY *root_key, EVP_PKEY *issuing_key,
                      char *err, size_t errlen)
{
    int status = -1;
    X509 *root = make_ca_certificate(root_key, "cyberid Root CA", NULL, root_key,
                                     ROOT_CA_VALIDITY_DAYS, "critical,CA:TRUE");
    X509 *issuing = root ? make_ca_certificate(issuing_key, "cyberid Issuing CA 1", root,
                                               root_key, ISSUING_CA_VALIDITY_DAYS,
                                               "critical,CA:TRUE,pathlen:0")
                         : NULL;
    if (root == NULL || issuing == NULL)
        error_set(err, errlen, "cannot create the CA certificates");
    else if (write_certificate(pki_dir, "root-ca.pem", root, err, errlen) == 0 &&
             write_certificate(pki_dir, "issuing-ca.pem", issuing, err, errlen) == 0)
        status = 0;
    X509_free(root);
    X509_free(issuing);
    return status;
}

static int
make_folders(const char *keys_dir, const char *pki_dir, char *err, size_t errlen)
{
    if (mkdir(keys_dir, 0700) != 0)
        return error_set(err, errlen, "cannot create %s: %s", keys_dir, strerror(errno));
    if (mkdir(pki_dir, 0755) != 0)
        return error_set(err, errlen, "cannot create %s: %s", pki_dir, strerror(errno));
    return 0;
}

int
signer_create_keys_pkcs11(const char *keys_dir, const char *pki_dir, const char *module,
                          const char *token_label, const char *pin_file, char *err,
                          size_t errlen)
{
    struct pkcs11_descriptor descriptor = {0};
    char absolute[PATH_MAX];
    /* The signer process reads the PIN file later, maybe from elsewhere:
     * remember where it is, not how it was reached from here. */
    if (realpath(pin_file, absolute) == NULL)
        return error_set(err, errlen, "cannot find the PIN file %s: %s", pin_file,
                         strerror(errno));
    if (string_copy(descriptor.module, sizeof descriptor.module, module) != 0 ||
        string_copy(descriptor.token, sizeof descriptor.token, token_label) != 0 ||
        string_copy(descriptor.pin_file, sizeof descriptor.pin_file, absolute) != 0)
        return error_set(err, errlen,
                         "the module path, token label (at most 32 characters) or PIN file "
                         "path is too long");
    struct pkcs11 *token = NULL;
    if (pkcs11_open(&descriptor, &token, err, errlen) != 0)
        return -1;
    int status = -1;
    EVP_PKEY *root_key = NULL, *issuing_key = NULL;
    int held = pkcs11_has_cyberid_objects(token);
    if (held != 0) {
        error_set(err, errlen,
                  held > 0 ? "the PKCS#11 token \"%s\" already holds cyberid keys (another "
                             "data folder's); use a token of its own"
                           : "cannot list the objects of the PKCS#11 token \"%s\"",
                  token_label);
        goto cleanup;
    }
    if (make_folders(keys_dir, pki_dir, err, errlen) != 0)
        goto cleanup;
    for (int key = 0; key < SIGNER_KEY_COUNT; key++) {
        if (signer_key_is_symmetric(key)
                ? pkcs11_generate_secret(token, signer_key_names[key],
                                         key == SIGNER_KEY_MASTER ? PKCS11_SECRET_AES
                                                                  : PKCS11_SECRET_HMAC,
                                         err, errlen) != 0
                : pkcs11_generate_ec(token, signer_key_names[key], err, errlen) != 0)
            goto cleanup;
    }
    if (pkcs11_generate_ed25519(token, SIGNER_LOG_KEY_NAME, err, errlen) != 0)
        goto cleanup;
    root_key = pkcs11_ec_key(token, signer_key_names[SIGNER_KEY_ROOT_CA]);
    issuing_key = pkcs11_ec_key(token, signer_key_names[SIGNER_KEY_ISSUING_CA]);
    if (root_key == NULL || issuing_key == NULL) {
        error_set(err, errlen, "cannot use the CA keys just made in the PKCS#11 token");
        goto cleanup;
    }
    /* The descriptor last: a folder without one was not finished. */
    if (write_ca_certificates(pki_dir, root_key, issuing_key, err, errlen) != 0 ||
        pkcs11_descriptor_write(keys_dir, &descriptor, err, errlen) != 0)
        goto cleanup;
    status = 0;
cleanup:
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(issuing_key);
    pkcs11_close(token);
    return status;
}

int
signer_create_keys(const char *keys_dir, const char *pki_dir, char *err,
                   size_t errlen)
{
    int status = -1;
    EVP_PKEY *token_key = NULL, *root_key = NULL, *issuing_key = NULL;
    uint8_t secret[SIGNER_SYMMETRIC_KEY_BYTES];

    if (make_folders(keys_dir, pki_dir, err, errlen) != 0)
        return -1;

    const enum signer_key symmetric_keys[] = {
        SIGNER_KEY_MASTER, SIGNER_KEY_INDEX, SIGNER_KEY_PAIRWISE};
    for (size_t i = 0; i < sizeof symmetric_keys / sizeof *symmetric_keys; i++) {
        if (RAND_priv_bytes(secret, sizeof secret) != 1) {
            error_set(err, errlen, "no randomness for key generation");
            goto cleanup;
        }
        if (write_key_file(keys_dir, symmetric_keys[i], secret, sizeof secret,
                           err, errlen) != 0)
            goto cleanup;
    }

    token_key = create_ec_key(keys_dir, SIGNER_KEY_TOKEN, err, errlen);
    root_key = create_ec_key(keys_dir, SIGNER_KEY_ROOT_CA, err, errlen);
    issuing_key = create_ec_key(keys_dir, SIGNER_KEY_ISSUING_CA, err, errlen);
    if (token_key == NULL || root_key == NULL || issuing_key == NULL)
        goto cleanup;

    if (create_log_key(keys_dir, err, errlen) != 0 ||
        write_ca_certificates(pki_dir, root_key, issuing_key, err, errlen) != 0)
        goto cleanup;
    status = 0;
cleanup:
    secret_wipe(secret, sizeof secret);
    EVP_PKEY_free(token_key);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(issuing_key);
    return status;
}

/* The root CA's private key: the file, or the token's pair. NULL with err. */
static EVP_PKEY *
load_root_key(const char *keys_dir, struct pkcs11 *token, char *err, size_t errlen)
{
    if (token != NULL) {
        EVP_PKEY *pkey = pkcs11_ec_key(token, signer_key_names[SIGNER_KEY_ROOT_CA]);
        if (pkey == NULL)
            error_set(err, errlen, "the PKCS#11 token has no usable key cyberid-%s",
                      signer_key_names[SIGNER_KEY_ROOT_CA]);
        return pkey;
    }
    char path[SIGNER_PATH_MAX];
    uint8_t *bytes = NULL;
    size_t length = 0;
    if (string_format(path, sizeof path, "%s/%s", keys_dir,
                      signer_key_files[SIGNER_KEY_ROOT_CA]) != 0) {
        error_set(err, errlen, "keys folder path is too long");
        return NULL;
    }
    if (file_read_private(path, "key file", 16384, &bytes, &length, err, errlen) != 0)
        return NULL;
    BIO *bio = BIO_new_mem_buf(bytes, (int)length);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    secret_wipe(bytes, length);
    free(bytes);
    if (pkey == NULL)
        error_set(err, errlen, "%s is not a private key", path);
    return pkey;
}

/* The root certificate of pki_dir. NULL with err. */
static X509 *
load_root_certificate(const char *pki_dir, char *err, size_t errlen)
{
    char path[SIGNER_PATH_MAX];
    if (string_format(path, sizeof path, "%s/root-ca.pem", pki_dir) != 0) {
        error_set(err, errlen, "pki folder path is too long");
        return NULL;
    }
    BIO *bio = BIO_new_file(path, "r");
    X509 *root = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (root == NULL)
        error_set(err, errlen, "cannot read the root CA certificate %s", path);
    return root;
}

/* Days from now to the root's end, capped at ISSUING_CA_VALIDITY_DAYS: an
 * issuing CA never outlives its root. -1 when the root has ended. */
static long
issuing_days(X509 *root)
{
    int days = 0, seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, NULL, X509_get0_notAfter(root)) != 1 || days < 1)
        return -1;
    return days < ISSUING_CA_VALIDITY_DAYS ? days : ISSUING_CA_VALIDITY_DAYS;
}

int
signer_issuing_ca_rotate(const char *keys_dir, const char *pki_dir, unsigned *generation,
                         char *err, size_t errlen)
{
    *generation = 0;
    unsigned current = 0;
    for (unsigned g = 1; g <= SIGNER_ISSUING_GENERATIONS_MAX; g++) {
        char path[SIGNER_PATH_MAX];
        int exists = g == 1 ? string_format(path, sizeof path, "%s/issuing-ca.pem", pki_dir)
                            : string_format(path, sizeof path, "%s/issuing-ca-%u.pem",
                                            pki_dir, g);
        if (exists != 0)
            return error_set(err, errlen, "pki folder path is too long");
        struct stat info;
        if (stat(path, &info) != 0)
            break;
        current = g;
    }
    if (current == 0)
        return error_set(err, errlen, "%s/issuing-ca.pem is missing: not a data folder",
                         pki_dir);
    if (current == SIGNER_ISSUING_GENERATIONS_MAX)
        return error_set(err, errlen, "the data folder already holds %d issuing CA "
                                      "generations, the most it can",
                         SIGNER_ISSUING_GENERATIONS_MAX);
    unsigned next = current + 1;
    struct pkcs11_descriptor descriptor;
    int in_token = pkcs11_descriptor_read(keys_dir, &descriptor, err, errlen);
    if (in_token < 0)
        return -1;
    int status = -1;
    struct pkcs11 *token = NULL;
    EVP_PKEY *root_key = NULL, *issuing_key = NULL;
    X509 *root = NULL, *issuing = NULL;
    char name[32], path[SIGNER_PATH_MAX], file[48];
    if (in_token && pkcs11_open(&descriptor, &token, err, errlen) != 0)
        goto cleanup;
    if ((root_key = load_root_key(keys_dir, token, err, errlen)) == NULL ||
        (root = load_root_certificate(pki_dir, err, errlen)) == NULL)
        goto cleanup;
    if (X509_check_private_key(root, root_key) != 1) {
        error_set(err, errlen, "root-ca.pem does not hold the root CA key");
        goto cleanup;
    }
    long days = issuing_days(root);
    if (days < 0) {
        error_set(err, errlen, "the root CA has expired: no issuing CA can be made under it");
        goto cleanup;
    }
    if (token != NULL) {
        if (string_format(name, sizeof name, SIGNER_ISSUING_KEY_NAME_FORMAT, next) != 0 ||
            pkcs11_generate_ec(token, name, err, errlen) != 0)
            goto cleanup;
        if ((issuing_key = pkcs11_ec_key(token, name)) == NULL) {
            error_set(err, errlen, "cannot use the key just made in the PKCS#11 token");
            goto cleanup;
        }
    } else {
        if (string_format(path, sizeof path, SIGNER_ISSUING_KEY_FILE_FORMAT, keys_dir,
                          next) != 0) {
            error_set(err, errlen, "keys folder path is too long");
            goto cleanup;
        }
        if ((issuing_key = create_ec_key_at(path, err, errlen)) == NULL)
            goto cleanup;
    }
    char common_name[48];
    snprintf(common_name, sizeof common_name, "cyberid Issuing CA %u", next);
    snprintf(file, sizeof file, "issuing-ca-%u.pem", next);
    issuing = make_ca_certificate(issuing_key, common_name, root, root_key, days,
                                  "critical,CA:TRUE,pathlen:0");
    if (issuing == NULL) {
        error_set(err, errlen, "cannot make the issuing CA certificate");
        goto cleanup;
    }
    /* The certificate last: the generation exists once it is there. */
    if (write_certificate(pki_dir, file, issuing, err, errlen) != 0)
        goto cleanup;
    *generation = next;
    status = 0;
cleanup:
    X509_free(issuing);
    X509_free(root);
    EVP_PKEY_free(issuing_key);
    EVP_PKEY_free(root_key);
    pkcs11_close(token);
    return status;
}

int
signer_token_key_create(const char *keys_dir, const char *kid, char *err,
                        size_t errlen)
{
    if (!signer_kid_is_valid(kid))
        return error_set(err, errlen,
                         "a kid is 1 to %d characters of A-Z a-z 0-9 _ -",
                         SIGNER_KID_MAX);
    struct pkcs11_descriptor descriptor;
    int in_token = pkcs11_descriptor_read(keys_dir, &descriptor, err, errlen);
    if (in_token < 0)
        return -1;
    if (in_token) {
        struct pkcs11 *token = NULL;
        char name[SIGNER_KID_MAX + 16];
        if (string_format(name, sizeof name, SIGNER_TOKEN_KEY_NAME_FORMAT, kid) != 0)
            return error_set(err, errlen, "kid too long");
        if (pkcs11_open(&descriptor, &token, err, errlen) != 0)
            return -1;
        int status = pkcs11_generate_ec(token, name, err, errlen);
        pkcs11_close(token);
        return status;
    }
    char path[SIGNER_PATH_MAX];
    if (string_format(path, sizeof path, SIGNER_TOKEN_KEY_FILE_FORMAT, keys_dir,
                      kid) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    EVP_PKEY *pkey = create_ec_key_at(path, err, errlen);
    if (pkey == NULL)
        return -1;
    EVP_PKEY_free(pkey);
    return 0;
}
