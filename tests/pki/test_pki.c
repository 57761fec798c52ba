/* Tests of the web certificate authority: the certificate profile read back
 * with OpenSSL, chains verified by the library and by the `openssl` command
 * line, CSR refusals, device signatures, OCSP answers (good, revoked,
 * unknown, foreign issuer, nonce, malformed and mangled requests), the CRL
 * (read back, verified, used by X509_verify_cert) and the check of
 * presented certificates with its cache (hits, expiry, tampering, eviction,
 * threads). Every CA signature is made by a real signer. */
#include "pki/pki.h"

#include "../test_support.h"

#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <time.h>

#define WEB_NUMBER "7K3M9Q2W5X8Z4R6T"
#define OCSP_URL "http://127.0.0.1:8080/ocsp"
#define CRL_URL "http://127.0.0.1:8080/crl"
#define PATH_BYTES 1200
#define COMMAND_BYTES 8192
#define MAX_STATUSES 8
#define DAY 86400

struct fixture {
    char *dir;
    char keys[1024], pki_dir[1024];
    struct signer *signer;
    struct pki *pki;
    X509 *issuing, *root;
    X509_STORE *store;          /* both CA certificates */
    time_t now;
};

/* ── Helpers ────────────────────────────────────────────────────────────── */

static X509 *
read_certificate_file(const char *path)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    X509 *certificate = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    assert_non_null(certificate);
    return certificate;
}

static void
write_bytes(const char *path, const void *bytes, size_t length)
{
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(bytes, 1, length, file), length);
    assert_int_equal(fclose(file), 0);
}

/* Runs a shell command quietly; its exit status. */
static int
run(const char *format, ...)
{
    char command[COMMAND_BYTES];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(command, sizeof command, format, args);
    va_end(args);
    assert_true(n > 0 && (size_t)n < sizeof command - 32);
    strcat(command, " >/dev/null 2>&1");
    return system(command);
}

/* Runs a command that must succeed; 1 if its output contains needle. The
 * output is printed when the command fails, to show why. */
static int
run_output_contains(const char *command, const char *needle)
{
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    char line[1024];
    char output[COMMAND_BYTES] = "";
    int found = 0;
    while (fgets(line, sizeof line, pipe) != NULL) {
        if (strstr(line, needle) != NULL)
            found = 1;
        if (strlen(output) + strlen(line) < sizeof output)
            strcat(output, line);
    }
    int status = pclose(pipe);
    if (status != 0)
        fail_msg("%s: exit %d:\n%s", command, status, output);
    return found;
}

static EVP_PKEY *
new_key(const char *kind)
{
    EVP_PKEY *key = strcmp(kind, "RSA") == 0 ? EVP_RSA_gen(2048)
                                             : EVP_EC_gen(kind);
    assert_non_null(key);
    return key;
}

/* A PEM CSR for key (malloc'd); der_out, if not NULL, receives its DER. */
static char *
make_csr(EVP_PKEY *key, uint8_t **der_out, size_t *der_length)
{
    X509_REQ *request = X509_REQ_new();
    assert_non_null(request);
    assert_int_equal(X509_REQ_set_version(request, 0), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(
                         X509_REQ_get_subject_name(request), "CN", MBSTRING_UTF8,
                         (const unsigned char *)"device", -1, -1, 0), 1);
    assert_int_equal(X509_REQ_set_pubkey(request, key), 1);
    assert_true(X509_REQ_sign(request, key, EVP_sha256()) > 0);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509_REQ(bio, request), 1);
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    char *pem = calloc(1, (size_t)length + 1);
    assert_non_null(pem);
    memcpy(pem, data, (size_t)length);
    if (der_out != NULL) {
        *der_out = NULL;
        int n = i2d_X509_REQ(request, der_out);
        assert_true(n > 0);
        *der_length = (size_t)n;
    }
    BIO_free(bio);
    X509_REQ_free(request);
    return pem;
}

/* PEM of a DER CSR (malloc'd). */
static char *
csr_der_to_pem(const uint8_t *der, size_t length)
{
    const unsigned char *p = der;
    X509_REQ *request = d2i_X509_REQ(NULL, &p, (long)length);
    assert_non_null(request);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509_REQ(bio, request), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *pem = calloc(1, (size_t)n + 1);
    memcpy(pem, data, (size_t)n);
    BIO_free(bio);
    X509_REQ_free(request);
    return pem;
}

/* Issues a certificate for a fresh P-256 key; returns the key. */
static EVP_PKEY *
issue(struct fixture *f, int64_t now, struct pki_certificate *certificate)
{
    EVP_PKEY *key = new_key("P-256");
    char *pem = make_csr(key, NULL, NULL);
    struct pki_csr csr;
    char err[256];
    assert_int_equal(pki_csr_check(pem, strlen(pem), &csr, err, sizeof err), PKI_OK);
    int status = pki_issue(f->pki, &csr, WEB_NUMBER, now, certificate, err,
                           sizeof err);
    if (status != 0)
        fail_msg("pki_issue: %s", err);
    free(pem);
    return key;
}

static X509 *
parse_der(const uint8_t *der, size_t length)
{
    const unsigned char *p = der;
    X509 *certificate = d2i_X509(NULL, &p, (long)length);
    assert_non_null(certificate);
    assert_ptr_equal(p, der + length);
    return certificate;
}

/* A self-signed CA certificate for key, named like ours but not ours. */
static X509 *
foreign_ca(EVP_PKEY *key)
{
    X509 *certificate = X509_new();
    X509_set_version(certificate, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate), 7);
    X509_NAME *name = X509_get_subject_name(certificate);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               (const unsigned char *)"Another CA", -1, -1, 0);
    X509_set_issuer_name(certificate, name);
    X509_gmtime_adj(X509_getm_notBefore(certificate), 0);
    X509_gmtime_adj(X509_getm_notAfter(certificate), DAY);
    X509_set_pubkey(certificate, key);
    assert_true(X509_sign(certificate, key, EVP_sha256()) > 0);
    return certificate;
}

static int64_t
asn1_seconds(const ASN1_TIME *time)
{
    struct tm parts;
    assert_int_equal(ASN1_TIME_to_tm(time, &parts), 1);
    return (int64_t)timegm(&parts);
}

/* ── Fixture ────────────────────────────────────────────────────────────── */

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256], path[PATH_BYTES];
    f->dir = test_temp_dir("pki");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->pki_dir, sizeof f->pki_dir, "%s/pki", f->dir);
    assert_int_equal(signer_create_keys(f->keys, f->pki_dir, err, sizeof err), 0);
    struct signer_options options = {.keys_dir = f->keys, .pki_dir = f->pki_dir,
                                     .issuer = "https://id.example", .ocsp_url = OCSP_URL,
                                     .crl_url = CRL_URL};
    assert_int_equal(signer_open_local(&options, &f->signer, err, sizeof err), 0);
    if (pki_open(f->pki_dir, f->signer, OCSP_URL, CRL_URL, &f->pki, err,
                 sizeof err) != 0)
        fail_msg("pki_open: %s", err);
    snprintf(path, sizeof path, "%s/issuing-ca.pem", f->pki_dir);
    f->issuing = read_certificate_file(path);
    snprintf(path, sizeof path, "%s/root-ca.pem", f->pki_dir);
    f->root = read_certificate_file(path);
    f->store = X509_STORE_new();
    assert_int_equal(X509_STORE_add_cert(f->store, f->root), 1);
    assert_int_equal(X509_STORE_add_cert(f->store, f->issuing), 1);
    f->now = time(NULL);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    X509_STORE_free(f->store);
    X509_free(f->issuing);
    X509_free(f->root);
    pki_close(f->pki);
    signer_close(f->signer);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

/* ── Issuance ───────────────────────────────────────────────────────────── */

static void
test_profile(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate issued;
    EVP_PKEY *key = issue(f, f->now, &issued);
    X509 *certificate = parse_der(issued.der, issued.der_length);

    /* v3, ECDSA-SHA256, issuer = the issuing CA. */
    assert_int_equal(X509_get_version(certificate), X509_VERSION_3);
    assert_int_equal(X509_get_signature_nid(certificate), NID_ecdsa_with_SHA256);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(certificate),
                                   X509_get_subject_name(f->issuing)), 0);
    assert_int_equal(X509_verify(certificate, X509_get0_pubkey(f->issuing)), 1);

    /* Subject: exactly CN=<web number>. */
    X509_NAME *subject = X509_get_subject_name(certificate);
    assert_int_equal(X509_NAME_entry_count(subject), 1);
    char cn[64];
    assert_int_equal(X509_NAME_get_text_by_NID(subject, NID_commonName, cn,
                                               sizeof cn), 16);
    assert_string_equal(cn, WEB_NUMBER);

    /* The CSR's key, P-256. */
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(certificate), key), 1);
    char group[64];
    assert_int_equal(EVP_PKEY_get_group_name(X509_get0_pubkey(certificate),
                                             group, sizeof group, NULL), 1);
    assert_string_equal(group, "prime256v1");

    /* Extensions and their criticality. */
    int index = X509_get_ext_by_NID(certificate, NID_key_usage, -1);
    assert_true(index >= 0);
    assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(certificate, index)), 1);
    assert_int_equal(X509_get_key_usage(certificate), KU_DIGITAL_SIGNATURE);
    index = X509_get_ext_by_NID(certificate, NID_basic_constraints, -1);
    assert_true(index >= 0);
    assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(certificate, index)), 1);
    assert_int_equal(X509_check_ca(certificate), 0);
    BASIC_CONSTRAINTS *constraints =
        X509_get_ext_d2i(certificate, NID_basic_constraints, NULL, NULL);
    assert_non_null(constraints);
    assert_int_equal(constraints->ca, 0);
    BASIC_CONSTRAINTS_free(constraints);
    assert_int_equal(X509_get_extended_key_usage(certificate), XKU_SSL_CLIENT);
    assert_int_equal(X509_check_purpose(certificate, X509_PURPOSE_SSL_CLIENT, 0), 1);

    const ASN1_OCTET_STRING *key_id = X509_get0_subject_key_id(certificate);
    assert_non_null(key_id);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    assert_int_equal(X509_pubkey_digest(certificate, EVP_sha1(), digest,
                                        &digest_length), 1);
    assert_int_equal(ASN1_STRING_length(key_id), (int)digest_length);
    assert_memory_equal(ASN1_STRING_get0_data(key_id), digest, digest_length);
    const ASN1_OCTET_STRING *authority_id = X509_get0_authority_key_id(certificate);
    assert_non_null(authority_id);
    assert_int_equal(ASN1_OCTET_STRING_cmp(authority_id,
                                           X509_get0_subject_key_id(f->issuing)), 0);

    STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(certificate);
    assert_int_equal(sk_OPENSSL_STRING_num(ocsp), 1);
    assert_string_equal(sk_OPENSSL_STRING_value(ocsp, 0), OCSP_URL);
    X509_email_free(ocsp);
    CRL_DIST_POINTS *points =
        X509_get_ext_d2i(certificate, NID_crl_distribution_points, NULL, NULL);
    assert_non_null(points);
    assert_int_equal(sk_DIST_POINT_num(points), 1);
    DIST_POINT *point = sk_DIST_POINT_value(points, 0);
    assert_int_equal(point->distpoint->type, 0);
    GENERAL_NAME *uri = sk_GENERAL_NAME_value(point->distpoint->name.fullname, 0);
    assert_int_equal(uri->type, GEN_URI);
    assert_string_equal((const char *)ASN1_STRING_get0_data(uri->d.uniformResourceIdentifier),
                        CRL_URL);
    CRL_DIST_POINTS_free(points);
    assert_int_equal(X509_get_ext_count(certificate), 7);

    /* Validity: now .. now + PKI_CERTIFICATE_DAYS. */
    assert_int_equal(asn1_seconds(X509_get0_notBefore(certificate)), f->now);
    assert_int_equal(asn1_seconds(X509_get0_notAfter(certificate)),
                     f->now + (int64_t)PKI_CERTIFICATE_DAYS * DAY);
    assert_int_equal(issued.not_before, f->now);
    assert_int_equal(issued.not_after, f->now + (int64_t)PKI_CERTIFICATE_DAYS * DAY);

    /* Serial: 16 positive bytes, matching serial and serial_hex. */
    const ASN1_INTEGER *serial = X509_get0_serialNumber(certificate);
    assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);
    assert_int_equal(ASN1_STRING_length(serial), PKI_SERIAL_BYTES);
    assert_memory_equal(ASN1_STRING_get0_data(serial), issued.serial, PKI_SERIAL_BYTES);
    assert_int_equal(strlen(issued.serial_hex), 2 * PKI_SERIAL_BYTES);
    BIGNUM *number = ASN1_INTEGER_to_BN(serial, NULL);
    char *hex = BN_bn2hex(number);
    for (char *c = hex; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    assert_string_equal(hex, issued.serial_hex);
    OPENSSL_free(hex);
    BN_free(number);
    uint8_t der_serial[24];
    unsigned char *p = der_serial;
    assert_int_equal(i2d_ASN1_INTEGER(serial, &p), 2 + PKI_SERIAL_BYTES);

    /* The PEM is the same certificate. */
    BIO *bio = BIO_new_mem_buf(issued.pem, -1);
    X509 *from_pem = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(from_pem);
    assert_int_equal(X509_cmp(from_pem, certificate), 0);
    X509_free(from_pem);
    BIO_free(bio);

    /* A second certificate gets another serial. */
    struct pki_certificate second;
    EVP_PKEY *second_key = issue(f, f->now, &second);
    assert_memory_not_equal(second.serial, issued.serial, PKI_SERIAL_BYTES);
    pki_certificate_clear(&second);
    EVP_PKEY_free(second_key);

    X509_free(certificate);
    pki_certificate_clear(&issued);
    assert_null(issued.der);
    EVP_PKEY_free(key);
}

static void
test_issue_refusals(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *key = new_key("P-256");
    char *pem = make_csr(key, NULL, NULL);
    struct pki_csr csr;
    struct pki_certificate issued;
    char err[256];
    assert_int_equal(pki_csr_check(pem, strlen(pem), &csr, err, sizeof err), PKI_OK);
    const char *bad[] = {"", "7K3M9Q2W5X8Z4R6", "7K3M9Q2W5X8Z4R6TX",
                         "7k3m9q2w5x8z4r6t", "7K3M9Q2W5X8Z4R6I", "7K3M9Q2W5X8Z4R,T",
                         "CN=X,7K3M9Q2W5X8"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(pki_issue(f->pki, &csr, bad[i], f->now, &issued, err,
                                   sizeof err), -1);
        assert_null(issued.der);
    }
    assert_int_equal(pki_issue(f->pki, &csr, NULL, f->now, &issued, err, sizeof err), -1);
    assert_int_equal(pki_issue(f->pki, &csr, WEB_NUMBER, -1, &issued, err, sizeof err), -1);
    csr.public_key[30] ^= 0x01; /* not a key any more (or not on the curve) */
    assert_int_equal(pki_issue(f->pki, &csr, WEB_NUMBER, f->now, &issued, err,
                               sizeof err), -1);
    free(pem);
    EVP_PKEY_free(key);
}

/* pki_issue takes any DER encoding of a P-256 key and writes the canonical
 * one (named curve, uncompressed point); other keys are refused. */
static void
test_issue_subject_key(void **state)
{
    struct fixture *f = *state;
    struct pki_csr csr;
    struct pki_certificate issued;
    char err[256];
    EVP_PKEY *key = new_key("P-256");
    assert_int_equal(EVP_PKEY_set_utf8_string_param(
                         key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
    unsigned char *cursor = csr.public_key;
    int length = i2d_PUBKEY(key, &cursor);
    assert_int_equal(length, 59); /* 26 + 33: the compressed point */
    csr.public_key_length = (size_t)length;
    assert_int_equal(pki_issue(f->pki, &csr, WEB_NUMBER, f->now, &issued, err, sizeof err), 0);
    X509 *certificate = parse_der(issued.der, issued.der_length);
    unsigned char *spki = NULL;
    assert_int_equal(i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &spki), 91);
    assert_int_equal(spki[26], POINT_CONVERSION_UNCOMPRESSED);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(certificate), key), 1);
    OPENSSL_free(spki);
    X509_free(certificate);
    pki_certificate_clear(&issued);

    const char *kinds[] = {"RSA", "P-384"};
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *other = new_key(kinds[i]);
        unsigned char *der = NULL;
        length = i2d_PUBKEY(other, &der);
        assert_true(length > 0);
        csr.public_key_length = (size_t)length <= sizeof csr.public_key ? (size_t)length : 0;
        memcpy(csr.public_key, der, csr.public_key_length);
        assert_int_equal(pki_issue(f->pki, &csr, WEB_NUMBER, f->now, &issued, err,
                                   sizeof err), -1);
        assert_null(issued.der);
        OPENSSL_free(der);
        EVP_PKEY_free(other);
    }
    EVP_PKEY_free(key);
}

static void
test_chain_verifies(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate issued;
    EVP_PKEY *key = issue(f, f->now, &issued);
    X509 *certificate = parse_der(issued.der, issued.der_length);

    X509_STORE_CTX *context = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_CTX_init(context, f->store, certificate, NULL), 1);
    assert_int_equal(X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_equal(X509_verify_cert(context), 1);
    assert_int_equal(X509_STORE_CTX_get_error(context), X509_V_OK);
    X509_STORE_CTX_free(context);

    /* pki_chain_pem: issuing CA, then root. */
    const char *chain = pki_chain_pem(f->pki);
    BIO *bio = BIO_new_mem_buf(chain, -1);
    X509 *first = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    X509 *second = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(first);
    assert_non_null(second);
    assert_int_equal(X509_cmp(first, f->issuing), 0);
    assert_int_equal(X509_cmp(second, f->root), 0);
    X509_free(first);
    X509_free(second);
    BIO_free(bio);

    /* The openssl command line agrees; and refuses a foreign root. */
    char path[PATH_BYTES], chain_path[PATH_BYTES];
    snprintf(path, sizeof path, "%s/web.pem", f->dir);
    snprintf(chain_path, sizeof chain_path, "%s/chain.pem", f->dir);
    test_write_file(path, issued.pem);
    test_write_file(chain_path, chain);
    assert_int_equal(run("openssl verify -purpose sslclient -CAfile %s %s",
                         chain_path, path), 0);
    assert_int_equal(run("openssl verify -purpose sslclient -CAfile %s/root-ca.pem "
                         "-untrusted %s/issuing-ca.pem %s",
                         f->pki_dir, f->pki_dir, path), 0);
    assert_int_not_equal(run("openssl verify -CAfile %s/root-ca.pem %s",
                             f->pki_dir, path), 0); /* no intermediate */
    /* Not a CA: it cannot issue (purpose sslserver fails on EKU too). */
    assert_int_not_equal(run("openssl verify -purpose sslserver -CAfile %s %s",
                             chain_path, path), 0);

    X509_free(certificate);
    pki_certificate_clear(&issued);
    EVP_PKEY_free(key);
}

/* ── CSR and signatures ─────────────────────────────────────────────────── */

static void
test_csr_check(void **state)
{
    (void)state;
    struct pki_csr csr;
    char err[256];

    /* Good: the canonical 91-byte SPKI of the CSR key. */
    EVP_PKEY *key = new_key("P-256");
    uint8_t *der = NULL;
    size_t der_length = 0;
    char *pem = make_csr(key, &der, &der_length);
    assert_int_equal(pki_csr_check(pem, strlen(pem), &csr, err, sizeof err), PKI_OK);
    unsigned char *spki = NULL;
    int spki_length = i2d_PUBKEY(key, &spki);
    assert_int_equal(spki_length, 91);
    assert_int_equal(csr.public_key_length, 91);
    assert_memory_equal(csr.public_key, spki, 91);
    OPENSSL_free(spki);

    /* Format: garbage, empty, NULL, over the limit, DER instead of PEM. */
    const char *garbage = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                          "-----END CERTIFICATE REQUEST-----\n";
    assert_int_equal(pki_csr_check(garbage, strlen(garbage), &csr, err, sizeof err),
                     PKI_ERR_CSR_FORMAT);
    assert_int_equal(csr.public_key_length, 0);
    assert_int_equal(pki_csr_check("hello", 5, &csr, err, sizeof err), PKI_ERR_CSR_FORMAT);
    assert_int_equal(pki_csr_check(pem, 0, &csr, err, sizeof err), PKI_ERR_CSR_FORMAT);
    assert_int_equal(pki_csr_check(NULL, 10, &csr, err, sizeof err), PKI_ERR_CSR_FORMAT);
    assert_int_equal(pki_csr_check((const char *)der, der_length, &csr, err, sizeof err),
                     PKI_ERR_CSR_FORMAT);
    assert_int_equal(pki_csr_check(pem, strlen(pem) / 2, &csr, err, sizeof err),
                     PKI_ERR_CSR_FORMAT); /* truncated */
    char *big = calloc(1, PKI_CSR_MAX_BYTES + 2);
    size_t pem_length = strlen(pem);
    memset(big, '\n', PKI_CSR_MAX_BYTES + 1);
    memcpy(big + PKI_CSR_MAX_BYTES - pem_length, pem, pem_length);
    assert_int_equal(pki_csr_check(big, PKI_CSR_MAX_BYTES, &csr, err, sizeof err), PKI_OK);
    assert_int_equal(pki_csr_check(big, PKI_CSR_MAX_BYTES + 1, &csr, err, sizeof err),
                     PKI_ERR_CSR_FORMAT);
    free(big);

    /* An "encrypted" PEM is refused without asking for a password. */
    char encrypted[PKI_CSR_MAX_BYTES];
    const char *body = strchr(pem, '\n') + 1;
    snprintf(encrypted, sizeof encrypted,
             "-----BEGIN CERTIFICATE REQUEST-----\nProc-Type: 4,ENCRYPTED\n"
             "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n%s", body);
    assert_int_equal(pki_csr_check(encrypted, strlen(encrypted), &csr, err, sizeof err),
                     PKI_ERR_CSR_FORMAT);

    /* Signature: a flipped byte in the signature, or in the subject. */
    der[der_length - 1] ^= 0x01;
    char *tampered = csr_der_to_pem(der, der_length);
    assert_int_equal(pki_csr_check(tampered, strlen(tampered), &csr, err, sizeof err),
                     PKI_ERR_CSR_SIGNATURE);
    assert_int_equal(csr.public_key_length, 0);
    free(tampered);
    der[der_length - 1] ^= 0x01;
    uint8_t *device = memmem(der, der_length, "device", 6);
    assert_non_null(device);
    device[0] = 'D';
    tampered = csr_der_to_pem(der, der_length);
    assert_int_equal(pki_csr_check(tampered, strlen(tampered), &csr, err, sizeof err),
                     PKI_ERR_CSR_SIGNATURE);
    free(tampered);

    /* Key type: RSA, P-384. */
    const char *kinds[] = {"RSA", "P-384"};
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *other = new_key(kinds[i]);
        char *other_pem = make_csr(other, NULL, NULL);
        assert_int_equal(pki_csr_check(other_pem, strlen(other_pem), &csr, err,
                                       sizeof err), PKI_ERR_KEY_TYPE);
        free(other_pem);
        EVP_PKEY_free(other);
    }

    /* A compressed point is accepted and written uncompressed. */
    EVP_PKEY *compressed = new_key("P-256");
    assert_int_equal(EVP_PKEY_set_utf8_string_param(
                         compressed, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                         "compressed"), 1);
    char *compressed_pem = make_csr(compressed, NULL, NULL);
    assert_int_equal(pki_csr_check(compressed_pem, strlen(compressed_pem), &csr,
                                   err, sizeof err), PKI_OK);
    assert_int_equal(csr.public_key_length, 91);
    const unsigned char *p = csr.public_key;
    EVP_PKEY *back = d2i_PUBKEY(NULL, &p, (long)csr.public_key_length);
    assert_non_null(back);
    assert_int_equal(EVP_PKEY_eq(back, compressed), 1);
    EVP_PKEY_free(back);
    free(compressed_pem);
    EVP_PKEY_free(compressed);

    OPENSSL_free(der);
    free(pem);
    EVP_PKEY_free(key);
}

static void
test_verify_signature(void **state)
{
    (void)state;
    EVP_PKEY *key = new_key("P-256");
    EVP_PKEY *other = new_key("P-256");
    unsigned char *spki = NULL, *other_spki = NULL;
    int spki_length = i2d_PUBKEY(key, &spki);
    int other_length = i2d_PUBKEY(other, &other_spki);
    const char message[] = "approve login 1234";
    uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES];
    size_t signature_length = sizeof signature;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(context, signature, &signature_length,
                                    (const unsigned char *)message,
                                    strlen(message)), 1);
    EVP_MD_CTX_free(context);

    assert_int_equal(pki_verify_signature(spki, (size_t)spki_length, message,
                                          strlen(message), signature,
                                          signature_length), PKI_OK);
    assert_int_equal(pki_verify_signature(spki, (size_t)spki_length, message,
                                          strlen(message) - 1, signature,
                                          signature_length), PKI_ERR_SIGNATURE);
    assert_int_equal(pki_verify_signature(other_spki, (size_t)other_length, message,
                                          strlen(message), signature,
                                          signature_length), PKI_ERR_SIGNATURE);
    for (size_t i = 0; i < signature_length; i++) {
        signature[i] ^= 0x04;
        assert_int_equal(pki_verify_signature(spki, (size_t)spki_length, message,
                                              strlen(message), signature,
                                              signature_length), PKI_ERR_SIGNATURE);
        signature[i] ^= 0x04;
    }
    assert_int_equal(pki_verify_signature(spki, (size_t)spki_length, message,
                                          strlen(message), signature,
                                          signature_length - 1), PKI_ERR_SIGNATURE);
    assert_int_equal(pki_verify_signature(spki, (size_t)spki_length - 1, message,
                                          strlen(message), signature,
                                          signature_length), PKI_ERR_SIGNATURE);
    assert_int_equal(pki_verify_signature((const uint8_t *)"junk", 4, message,
                                          strlen(message), signature,
                                          signature_length), PKI_ERR_SIGNATURE);
    assert_int_equal(pki_verify_signature(NULL, 0, message, strlen(message),
                                          signature, signature_length),
                     PKI_ERR_SIGNATURE);
    /* An RSA key is not accepted, even with a valid RSA signature. */
    EVP_PKEY *rsa = new_key("RSA");
    unsigned char *rsa_spki = NULL;
    int rsa_length = i2d_PUBKEY(rsa, &rsa_spki);
    assert_int_equal(pki_verify_signature(rsa_spki, (size_t)rsa_length, message,
                                          strlen(message), signature,
                                          signature_length), PKI_ERR_SIGNATURE);
    OPENSSL_free(rsa_spki);
    EVP_PKEY_free(rsa);
    OPENSSL_free(spki);
    OPENSSL_free(other_spki);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}

/* ── OCSP ───────────────────────────────────────────────────────────────── */

struct status_table {
    size_t count;
    uint8_t serials[MAX_STATUSES][PKI_SERIAL_BYTES];
    struct pki_cert_status statuses[MAX_STATUSES];
    int calls;
    int fail;
    unsigned generation;    /* of the last lookup */
};

static int
lookup(void *context, unsigned generation, const uint8_t *serial, size_t length,
       struct pki_cert_status *status)
{
    struct status_table *table = context;
    table->calls++;
    table->generation = generation;
    if (table->fail)
        return -1;
    assert_true(length >= 1 && length <= PKI_SERIAL_BYTES);
    memset(status, 0, sizeof *status);
    for (size_t i = 0; i < table->count; i++)
        if (length == PKI_SERIAL_BYTES &&
            memcmp(table->serials[i], serial, length) == 0) {
            *status = table->statuses[i];
            return 0;
        }
    status->state = PKI_CERT_UNKNOWN;
    return 0;
}

/* DER of a request (malloc'd by OpenSSL). */
static int
encode_request(OCSP_REQUEST *request, unsigned char **der)
{
    *der = NULL;
    int length = i2d_OCSP_REQUEST(request, der);
    assert_true(length > 0);
    return length;
}

/* Answers der and returns the parsed response. */
static OCSP_RESPONSE *
answer(struct fixture *f, const uint8_t *der, size_t length,
       struct status_table *table)
{
    uint8_t *response = NULL;
    size_t response_length = 0;
    char err[256];
    if (pki_ocsp_respond(f->pki, der, length, lookup, table, f->now, &response,
                         &response_length, err, sizeof err) != 0)
        fail_msg("pki_ocsp_respond: %s", err);
    const unsigned char *p = response;
    OCSP_RESPONSE *parsed = d2i_OCSP_RESPONSE(NULL, &p, (long)response_length);
    assert_non_null(parsed);
    assert_ptr_equal(p, response + response_length);
    free(response);
    return parsed;
}

static void
test_ocsp(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate good, revoked;
    EVP_PKEY *good_key = issue(f, f->now, &good);
    EVP_PKEY *revoked_key = issue(f, f->now, &revoked);
    X509 *good_certificate = parse_der(good.der, good.der_length);
    X509 *revoked_certificate = parse_der(revoked.der, revoked.der_length);
    struct status_table table = {.count = 2};
    memcpy(table.serials[0], good.serial, PKI_SERIAL_BYTES);
    table.statuses[0].state = PKI_CERT_GOOD;
    memcpy(table.serials[1], revoked.serial, PKI_SERIAL_BYTES);
    table.statuses[1] = (struct pki_cert_status){
        .state = PKI_CERT_REVOKED, .revoked_at = f->now - 600,
        .reason = pki_reason_code("key_compromise")};

    /* good (SHA-1 CertID), revoked (SHA-256), unknown (SHA-1), with nonce. */
    OCSP_REQUEST *request = OCSP_REQUEST_new();
    OCSP_CERTID *ids[3];
    ids[0] = OCSP_cert_to_id(EVP_sha1(), good_certificate, f->issuing);
    ids[1] = OCSP_cert_to_id(EVP_sha256(), revoked_certificate, f->issuing);
    uint8_t unknown_serial[PKI_SERIAL_BYTES];
    assert_int_equal(RAND_bytes(unknown_serial, sizeof unknown_serial), 1);
    unknown_serial[0] = 0x55;
    BIGNUM *number = BN_bin2bn(unknown_serial, sizeof unknown_serial, NULL);
    ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(number, NULL);
    ids[2] = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(f->issuing),
                              X509_get0_pubkey_bitstr(f->issuing), serial);
    for (int i = 0; i < 3; i++) {
        assert_non_null(ids[i]);
        assert_non_null(OCSP_request_add0_id(request, OCSP_CERTID_dup(ids[i])));
    }
    assert_int_equal(OCSP_request_add1_nonce(request, NULL, -1), 1);
    unsigned char *der = NULL;
    int length = encode_request(request, &der);

    OCSP_RESPONSE *response = answer(f, der, (size_t)length, &table);
    assert_int_equal(OCSP_response_status(response), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_BASICRESP *basic = OCSP_response_get1_basic(response);
    assert_non_null(basic);
    assert_int_equal(OCSP_check_nonce(request, basic), 1);
    assert_int_equal(OCSP_basic_verify(basic, NULL, f->store, 0), 1);
    assert_int_equal(OCSP_resp_count(basic), 3);
    assert_int_equal(table.calls, 3);

    /* Responder id is by key hash and the signer is the issuing CA. */
    const ASN1_OCTET_STRING *responder_key = NULL;
    const X509_NAME *responder_name = NULL;
    assert_int_equal(OCSP_resp_get0_id(basic, &responder_key, &responder_name), 1);
    assert_non_null(responder_key);
    assert_null(responder_name);
    X509 *signer = NULL;
    assert_int_equal(OCSP_resp_get0_signer(basic, &signer, NULL), 1);
    assert_int_equal(X509_cmp(signer, f->issuing), 0);

    int expected[3] = {V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED,
                       V_OCSP_CERTSTATUS_UNKNOWN};
    for (int i = 0; i < 3; i++) {
        int status = -9, reason = -9;
        ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_update = NULL,
                             *next_update = NULL;
        assert_int_equal(OCSP_resp_find_status(basic, ids[i], &status, &reason,
                                               &revoked_at, &this_update,
                                               &next_update), 1);
        assert_int_equal(status, expected[i]);
        assert_int_equal(asn1_seconds(this_update), f->now);
        assert_int_equal(asn1_seconds(next_update), f->now + 3600);
        assert_int_equal(OCSP_check_validity(this_update, next_update, 300, -1), 1);
        if (i == 1) {
            assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
            assert_int_equal(asn1_seconds(revoked_at), f->now - 600);
        }
    }
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(response);
    OPENSSL_free(der);

    /* Without a nonce, none comes back; a failing lookup is an error. */
    OCSP_REQUEST *plain = OCSP_REQUEST_new();
    assert_non_null(OCSP_request_add0_id(plain, OCSP_CERTID_dup(ids[0])));
    length = encode_request(plain, &der);
    response = answer(f, der, (size_t)length, &table);
    basic = OCSP_response_get1_basic(response);
    assert_int_equal(OCSP_check_nonce(plain, basic), 2);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(response);
    table.fail = 1;
    uint8_t *bytes = NULL;
    size_t bytes_length = 0;
    char err[256];
    assert_int_equal(pki_ocsp_respond(f->pki, der, (size_t)length, lookup, &table,
                                      f->now, &bytes, &bytes_length, err,
                                      sizeof err), -1);
    assert_null(bytes);
    table.fail = 0;
    OPENSSL_free(der);
    OCSP_REQUEST_free(plain);

    /* The openssl command line: its own request, our response. */
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "%s/good.pem", f->dir);
    test_write_file(path, good.pem);
    assert_int_equal(run("openssl ocsp -issuer %s/issuing-ca.pem -cert %s "
                         "-reqout %s/request.der", f->pki_dir, path, f->dir), 0);
    char request_path[PATH_BYTES];
    snprintf(request_path, sizeof request_path, "%s/request.der", f->dir);
    FILE *file = fopen(request_path, "rb");
    assert_non_null(file);
    uint8_t cli_request[1024];
    size_t cli_length = fread(cli_request, 1, sizeof cli_request, file);
    fclose(file);
    assert_true(cli_length > 0);
    uint8_t *cli_response = NULL;
    size_t cli_response_length = 0;
    assert_int_equal(pki_ocsp_respond(f->pki, cli_request, cli_length, lookup,
                                      &table, f->now, &cli_response,
                                      &cli_response_length, err, sizeof err), 0);
    char response_path[PATH_BYTES], command[COMMAND_BYTES];
    snprintf(response_path, sizeof response_path, "%s/response.der", f->dir);
    write_bytes(response_path, cli_response, cli_response_length);
    const unsigned char *q = cli_request;
    OCSP_REQUEST *cli_parsed = d2i_OCSP_REQUEST(NULL, &q, (long)cli_length);
    q = cli_response;
    OCSP_RESPONSE *cli_answer = d2i_OCSP_RESPONSE(NULL, &q, (long)cli_response_length);
    assert_non_null(cli_parsed);
    assert_non_null(cli_answer);
    basic = OCSP_response_get1_basic(cli_answer);
    assert_non_null(basic);
    assert_int_equal(OCSP_check_nonce(cli_parsed, basic), 1); /* it sent one */
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(cli_answer);
    OCSP_REQUEST_free(cli_parsed);
    free(cli_response);
    /* The tool checks our response; with -cert it builds a new request
     * (and nonce) of its own, hence -no_nonce here. */
    snprintf(command, sizeof command,
             "openssl ocsp -respin %s -issuer %s/issuing-ca.pem -cert %s "
             "-no_nonce -CAfile %s/root-ca.pem 2>&1",
             response_path, f->pki_dir, path, f->pki_dir);
    assert_true(run_output_contains(command, "Response verify OK"));
    assert_true(run_output_contains(command, ": good"));

    for (int i = 0; i < 3; i++)
        OCSP_CERTID_free(ids[i]);
    OCSP_REQUEST_free(request);
    ASN1_INTEGER_free(serial);
    BN_free(number);
    X509_free(good_certificate);
    X509_free(revoked_certificate);
    pki_certificate_clear(&good);
    pki_certificate_clear(&revoked);
    EVP_PKEY_free(good_key);
    EVP_PKEY_free(revoked_key);
}

static void
test_ocsp_foreign_issuer(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate good;
    EVP_PKEY *key = issue(f, f->now, &good);
    X509 *certificate = parse_der(good.der, good.der_length);
    struct status_table table = {.count = 1};
    memcpy(table.serials[0], good.serial, PKI_SERIAL_BYTES);
    table.statuses[0].state = PKI_CERT_GOOD;

    /* Our serial, but another CA's name and key; then the root CA's. */
    EVP_PKEY *other_key = new_key("P-256");
    X509 *other = foreign_ca(other_key);
    X509 *issuers[] = {other, f->root};
    for (size_t k = 0; k < 2; k++) {
        OCSP_REQUEST *request = OCSP_REQUEST_new();
        OCSP_CERTID *id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuers[k]),
                                           X509_get0_pubkey_bitstr(issuers[k]),
                                           X509_get0_serialNumber(certificate));
        assert_non_null(OCSP_request_add0_id(request, OCSP_CERTID_dup(id)));
        unsigned char *der = NULL;
        int length = encode_request(request, &der);
        table.calls = 0;
        OCSP_RESPONSE *response = answer(f, der, (size_t)length, &table);
        assert_int_equal(OCSP_response_status(response),
                         OCSP_RESPONSE_STATUS_SUCCESSFUL);
        OCSP_BASICRESP *basic = OCSP_response_get1_basic(response);
        int status = -9;
        assert_int_equal(OCSP_resp_find_status(basic, id, &status, NULL, NULL,
                                               NULL, NULL), 1);
        assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
        assert_int_equal(table.calls, 0);
        OCSP_BASICRESP_free(basic);
        OCSP_RESPONSE_free(response);
        OPENSSL_free(der);
        OCSP_CERTID_free(id);
        OCSP_REQUEST_free(request);
    }

    /* Our issuer's name with another key is not ours either. */
    OCSP_REQUEST *request = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(f->issuing),
                                       X509_get0_pubkey_bitstr(other),
                                       X509_get0_serialNumber(certificate));
    assert_non_null(OCSP_request_add0_id(request, OCSP_CERTID_dup(id)));
    unsigned char *der = NULL;
    int length = encode_request(request, &der);
    OCSP_RESPONSE *response = answer(f, der, (size_t)length, &table);
    OCSP_BASICRESP *basic = OCSP_response_get1_basic(response);
    int status = -9;
    assert_int_equal(OCSP_resp_find_status(basic, id, &status, NULL, NULL, NULL,
                                           NULL), 1);
    assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(response);
    OPENSSL_free(der);
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(request);

    X509_free(other);
    EVP_PKEY_free(other_key);
    X509_free(certificate);
    pki_certificate_clear(&good);
    EVP_PKEY_free(key);
}

static void
expect_malformed(struct fixture *f, const uint8_t *der, size_t length)
{
    struct status_table table = {0};
    OCSP_RESPONSE *response = answer(f, der, length, &table);
    assert_int_equal(OCSP_response_status(response),
                     OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    assert_null(OCSP_response_get1_basic(response));
    OCSP_RESPONSE_free(response);
    assert_int_equal(table.calls, 0);
}

static void
test_ocsp_malformed(void **state)
{
    struct fixture *f = *state;
    expect_malformed(f, (const uint8_t *)"\x30\x03\x02\x01\x05", 5);
    expect_malformed(f, (const uint8_t *)"garbage", 7);
    expect_malformed(f, NULL, 0);

    /* No single request; a valid request with a byte after it; too many. */
    OCSP_REQUEST *empty = OCSP_REQUEST_new();
    unsigned char *der = NULL;
    int length = encode_request(empty, &der);
    expect_malformed(f, der, (size_t)length);
    OPENSSL_free(der);
    OCSP_REQUEST_free(empty);

    /* 16 single requests are answered, 17 are malformed. */
    OCSP_REQUEST *many = OCSP_REQUEST_new();
    struct status_table table = {0};
    for (int i = 0; i < 16; i++)
        assert_non_null(OCSP_request_add0_id(
            many, OCSP_cert_to_id(EVP_sha1(), f->issuing, f->root)));
    length = encode_request(many, &der);
    OCSP_RESPONSE *response = answer(f, der, (size_t)length, &table);
    assert_int_equal(OCSP_response_status(response), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_RESPONSE_free(response);
    OPENSSL_free(der);
    assert_non_null(OCSP_request_add0_id(
        many, OCSP_cert_to_id(EVP_sha1(), f->issuing, f->root)));
    length = encode_request(many, &der);
    expect_malformed(f, der, (size_t)length);
    OPENSSL_free(der);
    OCSP_REQUEST_free(many);

    /* A request of exactly PKI_OCSP_REQUEST_MAX_BYTES (a big nonce) is
     * answered, one byte more is malformed. */
    for (int extra = 0; extra < 2; extra++) {
        uint8_t nonce[PKI_OCSP_REQUEST_MAX_BYTES];
        memset(nonce, 0x5a, sizeof nonce);
        int nonce_length = PKI_OCSP_REQUEST_MAX_BYTES - 256;
        for (int pass = 0; pass < 2; pass++) {
            OCSP_REQUEST *sized = OCSP_REQUEST_new();
            assert_non_null(OCSP_request_add0_id(
                sized, OCSP_cert_to_id(EVP_sha1(), NULL, f->issuing)));
            assert_int_equal(OCSP_request_add1_nonce(sized, nonce, nonce_length), 1);
            length = encode_request(sized, &der);
            if (pass == 0) {
                nonce_length += PKI_OCSP_REQUEST_MAX_BYTES + extra - length;
            } else {
                assert_int_equal(length, PKI_OCSP_REQUEST_MAX_BYTES + extra);
                if (extra) {
                    expect_malformed(f, der, (size_t)length);
                } else {
                    response = answer(f, der, (size_t)length, &table);
                    OCSP_BASICRESP *basic = OCSP_response_get1_basic(response);
                    assert_non_null(basic);
                    assert_int_equal(OCSP_check_nonce(sized, basic), 1);
                    OCSP_BASICRESP_free(basic);
                    OCSP_RESPONSE_free(response);
                }
            }
            OPENSSL_free(der);
            OCSP_REQUEST_free(sized);
        }
    }

    OCSP_REQUEST *request = OCSP_REQUEST_new();
    assert_non_null(OCSP_request_add0_id(
        request, OCSP_cert_to_id(EVP_sha1(), NULL, f->issuing)));
    assert_int_equal(OCSP_request_add1_nonce(request, NULL, -1), 1);
    length = encode_request(request, &der);
    uint8_t *longer = malloc((size_t)length + 1);
    memcpy(longer, der, (size_t)length);
    longer[length] = 0;
    expect_malformed(f, longer, (size_t)length + 1);
    free(longer);
    uint8_t *huge = calloc(1, PKI_OCSP_REQUEST_MAX_BYTES + 1);
    memcpy(huge, der, (size_t)length);
    expect_malformed(f, huge, PKI_OCSP_REQUEST_MAX_BYTES + 1);
    free(huge);

    /* Every truncation and every single-bit flip: an answer, never a crash. */
    for (int cut = 0; cut < length; cut++)
        expect_malformed(f, der, (size_t)cut);
    for (int i = 0; i < length; i++)
        for (int bit = 0; bit < 8; bit++) {
            der[i] ^= (unsigned char)(1u << bit);
            response = answer(f, der, (size_t)length, &table);
            int status = OCSP_response_status(response);
            assert_true(status == OCSP_RESPONSE_STATUS_SUCCESSFUL ||
                        status == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
            OCSP_RESPONSE_free(response);
            der[i] ^= (unsigned char)(1u << bit);
        }
    OPENSSL_free(der);
    OCSP_REQUEST_free(request);
}

/* ── CRL ────────────────────────────────────────────────────────────────── */

static ASN1_INTEGER *
serial_integer(const uint8_t serial[PKI_SERIAL_BYTES])
{
    BIGNUM *number = BN_bin2bn(serial, PKI_SERIAL_BYTES, NULL);
    ASN1_INTEGER *integer = BN_to_ASN1_INTEGER(number, NULL);
    BN_free(number);
    return integer;
}

static int
verify_with_crl(struct fixture *f, X509 *certificate, X509_CRL *crl)
{
    X509_STORE_CTX *context = X509_STORE_CTX_new();
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    sk_X509_CRL_push(crls, crl);
    assert_int_equal(X509_STORE_CTX_init(context, f->store, certificate, NULL), 1);
    X509_STORE_CTX_set0_crls(context, crls);
    X509_STORE_CTX_set_flags(context, X509_V_FLAG_CRL_CHECK);
    int ok = X509_verify_cert(context);
    int error = X509_STORE_CTX_get_error(context);
    X509_STORE_CTX_free(context);
    sk_X509_CRL_free(crls);
    return ok == 1 ? X509_V_OK : error;
}

static void
test_crl(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate first, second, kept;
    EVP_PKEY *keys[3] = {issue(f, f->now, &first), issue(f, f->now, &second),
                         issue(f, f->now, &kept)};
    struct pki_revoked revoked[3] = {
        {.revoked_at = f->now - 100, .reason = pki_reason_code("key_compromise")},
        {.revoked_at = f->now - 50, .reason = pki_reason_code("superseded")},
        {.revoked_at = f->now - 10, .reason = pki_reason_code("unspecified")},
    };
    uint8_t third_serial[PKI_SERIAL_BYTES];
    memset(third_serial, 0xA5, sizeof third_serial); /* top bit set */
    memcpy(revoked[0].serial, first.serial, PKI_SERIAL_BYTES);
    memcpy(revoked[1].serial, second.serial, PKI_SERIAL_BYTES);
    memcpy(revoked[2].serial, third_serial, PKI_SERIAL_BYTES);
    uint8_t *der = NULL;
    size_t length = 0;
    char err[256];
    if (pki_crl_build(f->pki, 1, revoked, 3, 42, f->now, &der, &length, err,
                      sizeof err) != 0)
        fail_msg("pki_crl_build: %s", err);

    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)length);
    assert_non_null(crl);
    assert_ptr_equal(p, der + length);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(f->issuing)), 1);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(f->root)), 0);
    assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
    assert_int_equal(X509_CRL_get_signature_nid(crl), NID_ecdsa_with_SHA256);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
                                   X509_get_subject_name(f->issuing)), 0);
    assert_int_equal(asn1_seconds(X509_CRL_get0_lastUpdate(crl)), f->now);
    assert_int_equal(asn1_seconds(X509_CRL_get0_nextUpdate(crl)), f->now + DAY);
    ASN1_INTEGER *number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    assert_non_null(number);
    assert_int_equal(ASN1_INTEGER_get(number), 42);
    ASN1_INTEGER_free(number);
    AUTHORITY_KEYID *authority =
        X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    assert_non_null(authority);
    assert_int_equal(ASN1_OCTET_STRING_cmp(authority->keyid,
                                           X509_get0_subject_key_id(f->issuing)), 0);
    AUTHORITY_KEYID_free(authority);

    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
    int reasons[3] = {CRL_REASON_KEY_COMPROMISE, CRL_REASON_SUPERSEDED, -1};
    for (int i = 0; i < 3; i++) {
        ASN1_INTEGER *serial = serial_integer(revoked[i].serial);
        X509_REVOKED *entry = NULL;
        assert_int_equal(X509_CRL_get0_by_serial(crl, &entry, serial), 1);
        assert_int_equal(asn1_seconds(X509_REVOKED_get0_revocationDate(entry)),
                         revoked[i].revoked_at);
        int critical = 0;
        ASN1_ENUMERATED *reason =
            X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &critical, NULL);
        if (reasons[i] < 0) {
            assert_null(reason); /* "unspecified" is left out */
        } else {
            assert_non_null(reason);
            assert_int_equal(ASN1_ENUMERATED_get(reason), reasons[i]);
            assert_int_equal(critical, 0);
        }
        ASN1_ENUMERATED_free(reason);
        ASN1_INTEGER_free(serial);
    }

    /* X509_verify_cert with the CRL: revoked ones fail, the other passes. */
    X509 *certificates[3] = {parse_der(first.der, first.der_length),
                             parse_der(second.der, second.der_length),
                             parse_der(kept.der, kept.der_length)};
    assert_int_equal(verify_with_crl(f, certificates[0], crl), X509_V_ERR_CERT_REVOKED);
    assert_int_equal(verify_with_crl(f, certificates[1], crl), X509_V_ERR_CERT_REVOKED);
    assert_int_equal(verify_with_crl(f, certificates[2], crl), X509_V_OK);

    /* The openssl command line reads and verifies it. */
    char path[PATH_BYTES], command[COMMAND_BYTES];
    snprintf(path, sizeof path, "%s/issuing.crl", f->dir);
    write_bytes(path, der, length);
    assert_int_equal(run("openssl crl -inform DER -noout -text -in %s", path), 0);
    snprintf(command, sizeof command,
             "openssl crl -inform DER -noout -text -in %s 2>&1", path);
    assert_true(run_output_contains(command, "Key Compromise"));
    assert_true(run_output_contains(command, "Superseded"));
    assert_true(run_output_contains(command, "X509v3 CRL Number"));
    snprintf(command, sizeof command,
             "openssl crl -inform DER -noout -in %s -CAfile %s/issuing-ca.pem 2>&1",
             path, f->pki_dir);
    assert_true(run_output_contains(command, "verify OK"));

    /* An empty CRL; refusals. */
    uint8_t *empty = NULL;
    size_t empty_length = 0;
    assert_int_equal(pki_crl_build(f->pki, 1, NULL, 0, 1, f->now, &empty,
                                   &empty_length, err, sizeof err), 0);
    p = empty;
    X509_CRL *empty_crl = d2i_X509_CRL(NULL, &p, (long)empty_length);
    assert_non_null(empty_crl);
    assert_int_equal(X509_CRL_verify(empty_crl, X509_get0_pubkey(f->issuing)), 1);
    X509_CRL_free(empty_crl);
    free(empty);
    revoked[0].reason = 2; /* caCompromise: not ours */
    assert_int_equal(pki_crl_build(f->pki, 1, revoked, 3, 43, f->now, &empty,
                                   &empty_length, err, sizeof err), -1);
    assert_null(empty);
    revoked[0].reason = 99;
    assert_int_equal(pki_crl_build(f->pki, 1, revoked, 3, 43, f->now, &empty,
                                   &empty_length, err, sizeof err), -1);
    revoked[0].reason = 1;
    assert_int_equal(pki_crl_build(f->pki, 1, revoked, 3, -1, f->now, &empty,
                                   &empty_length, err, sizeof err), -1);

    for (int i = 0; i < 3; i++) {
        X509_free(certificates[i]);
        EVP_PKEY_free(keys[i]);
    }
    X509_CRL_free(crl);
    free(der);
    pki_certificate_clear(&first);
    pki_certificate_clear(&second);
    pki_certificate_clear(&kept);
}

/* ── Presented certificates ─────────────────────────────────────────────── */

static void
test_check_presented(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate issued;
    EVP_PKEY *key = issue(f, f->now, &issued);
    struct pki_presented presented;
    char err[256];

    assert_int_equal(pki_check_presented(f->pki, issued.der, issued.der_length,
                                         f->now + 60, &presented, err,
                                         sizeof err), 0);
    assert_string_equal(presented.web_number, WEB_NUMBER);
    assert_string_equal(presented.serial_hex, issued.serial_hex);
    unsigned char *spki = NULL;
    int spki_length = i2d_PUBKEY(key, &spki);
    assert_int_equal(presented.public_key_length, (size_t)spki_length);
    assert_memory_equal(presented.public_key, spki, (size_t)spki_length);
    OPENSSL_free(spki);
    /* The first and last second of validity are inside. */
    int64_t last = f->now + (int64_t)PKI_CERTIFICATE_DAYS * DAY;
    assert_int_equal(pki_check_presented(f->pki, issued.der, issued.der_length,
                                         f->now, &presented, err, sizeof err), 0);
    assert_int_equal(pki_check_presented(f->pki, issued.der, issued.der_length,
                                         last, &presented, err, sizeof err), 0);

    /* Expired, not yet valid. */
    assert_int_equal(pki_check_presented(f->pki, issued.der, issued.der_length,
                                         last + 1, &presented, err, sizeof err), -1);
    assert_non_null(strstr(err, "expired"));
    assert_int_equal(presented.public_key_length, 0);
    assert_int_equal(pki_check_presented(f->pki, issued.der, issued.der_length,
                                         f->now + 1000LL * DAY, &presented, err,
                                         sizeof err), -1);
    assert_int_equal(pki_check_presented(f->pki, issued.der, issued.der_length,
                                         f->now - 1, &presented, err, sizeof err), -1);

    /* The same certificate re-signed by another key. */
    X509 *certificate = parse_der(issued.der, issued.der_length);
    EVP_PKEY *other = new_key("P-256");
    assert_true(X509_sign(certificate, other, EVP_sha256()) > 0);
    unsigned char *forged = NULL;
    int forged_length = i2d_X509(certificate, &forged);
    assert_int_equal(pki_check_presented(f->pki, forged, (size_t)forged_length,
                                         f->now + 60, &presented, err, sizeof err), -1);
    assert_non_null(strstr(err, "issued"));
    OPENSSL_free(forged);
    X509_free(certificate);
    EVP_PKEY_free(other);

    /* Every byte flipped in the signed certificate is refused. */
    uint8_t *copy = malloc(issued.der_length);
    memcpy(copy, issued.der, issued.der_length);
    for (size_t i = 0; i < issued.der_length; i++) {
        copy[i] ^= 0x01;
        assert_int_equal(pki_check_presented(f->pki, copy, issued.der_length,
                                             f->now + 60, &presented, err,
                                             sizeof err), -1);
        copy[i] ^= 0x01;
    }
    free(copy);

    /* Garbage, empty, a byte more, the CA certificates themselves. */
    assert_int_equal(pki_check_presented(f->pki, (const uint8_t *)"garbage", 7,
                                         f->now, &presented, err, sizeof err), -1);
    assert_int_equal(pki_check_presented(f->pki, NULL, 0, f->now, &presented,
                                         err, sizeof err), -1);
    uint8_t *longer = malloc(issued.der_length + 1);
    memcpy(longer, issued.der, issued.der_length);
    longer[issued.der_length] = 0;
    assert_int_equal(pki_check_presented(f->pki, longer, issued.der_length + 1,
                                         f->now + 60, &presented, err, sizeof err), -1);
    free(longer);
    X509 *cas[] = {f->issuing, f->root};
    for (int i = 0; i < 2; i++) {
        unsigned char *ca = NULL;
        int ca_length = i2d_X509(cas[i], &ca);
        assert_int_equal(pki_check_presented(f->pki, ca, (size_t)ca_length,
                                             f->now + 60, &presented, err,
                                             sizeof err), -1);
        OPENSSL_free(ca);
    }

    pki_certificate_clear(&issued);
    EVP_PKEY_free(key);
}

/* ── The presented-certificate cache ────────────────────────────────────── */

/* A fresh cache of `capacity` entries for one test. */
static void
reset_cache(struct fixture *f, size_t capacity)
{
    assert_int_equal(pki_presented_cache_resize(f->pki, capacity), 0);
    struct pki_presented_cache_stats stats;
    pki_presented_cache_stats(f->pki, &stats);
    assert_int_equal(stats.capacity, capacity);
    assert_int_equal(stats.entries, 0);
    assert_int_equal(stats.hits + stats.misses, 0);
}

static void
assert_cache(struct fixture *f, uint64_t hits, uint64_t misses, size_t entries)
{
    struct pki_presented_cache_stats stats;
    pki_presented_cache_stats(f->pki, &stats);
    assert_int_equal(stats.hits, hits);
    assert_int_equal(stats.misses, misses);
    assert_int_equal(stats.entries, entries);
}

/* Issues `count` certificates (one key: their serials, hence their bytes,
 * differ). */
static EVP_PKEY *
issue_many(struct fixture *f, struct pki_certificate *issued, size_t count)
{
    EVP_PKEY *key = new_key("P-256");
    char *pem = make_csr(key, NULL, NULL);
    struct pki_csr csr;
    char err[256];
    assert_int_equal(pki_csr_check(pem, strlen(pem), &csr, err, sizeof err), PKI_OK);
    for (size_t i = 0; i < count; i++)
        if (pki_issue(f->pki, &csr, WEB_NUMBER, f->now, &issued[i], err,
                      sizeof err) != 0)
            fail_msg("pki_issue: %s", err);
    free(pem);
    return key;
}

static int
check(struct fixture *f, const struct pki_certificate *c, int64_t now,
      struct pki_presented *presented)
{
    char err[256];
    return pki_check_presented(f->pki, c->der, c->der_length, now, presented, err,
                               sizeof err);
}

/* A hit answers what the miss answered; the period is checked at each use
 * even when cached; a refused certificate is not remembered; one byte
 * changed is a miss and refused. */
static void
test_presented_cache(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate issued;
    EVP_PKEY *key = issue(f, f->now, &issued);
    struct pki_presented miss, hit;
    char err[256];
    int64_t last = f->now + (int64_t)PKI_CERTIFICATE_DAYS * DAY;

    /* pki_open() made the cache at its full size. */
    struct pki_presented_cache_stats stats;
    pki_presented_cache_stats(f->pki, &stats);
    assert_int_equal(stats.capacity, PKI_PRESENTED_CACHE_ENTRIES);

    /* Refused while not yet valid: not remembered. */
    reset_cache(f, PKI_PRESENTED_CACHE_ENTRIES);
    assert_int_equal(check(f, &issued, f->now - 1, &miss), -1);
    assert_cache(f, 0, 1, 0);

    assert_int_equal(check(f, &issued, f->now + 60, &miss), 0);
    assert_cache(f, 0, 2, 1);
    assert_int_equal(check(f, &issued, f->now + 60, &hit), 0);
    assert_cache(f, 1, 2, 1);
    assert_memory_equal(&hit, &miss, sizeof hit);
    assert_string_equal(hit.web_number, WEB_NUMBER);
    assert_string_equal(hit.serial_hex, issued.serial_hex);

    /* Cached, yet expired one second after its last second, and not yet
     * valid one second before its first; both edges still inside. */
    assert_int_equal(pki_check_presented(f->pki, issued.der, issued.der_length,
                                         last + 1, &hit, err, sizeof err), -1);
    assert_non_null(strstr(err, "expired"));
    assert_int_equal(hit.public_key_length, 0);
    assert_int_equal(check(f, &issued, f->now - 1, &hit), -1);
    assert_int_equal(check(f, &issued, last, &hit), 0);
    assert_int_equal(check(f, &issued, f->now, &hit), 0);
    assert_cache(f, 5, 2, 1);

    /* One byte changed anywhere: another key, so a miss, and refused;
     * nothing added. The original still hits. */
    uint8_t *copy = malloc(issued.der_length);
    memcpy(copy, issued.der, issued.der_length);
    for (size_t i = 0; i < issued.der_length; i++) {
        copy[i] ^= 0x80;
        assert_int_equal(pki_check_presented(f->pki, copy, issued.der_length,
                                             f->now + 60, &hit, err, sizeof err), -1);
        copy[i] ^= 0x80;
    }
    free(copy);
    assert_cache(f, 5, 2 + issued.der_length, 1);
    assert_int_equal(check(f, &issued, f->now + 60, &hit), 0);
    assert_memory_equal(&hit, &miss, sizeof hit);
    assert_cache(f, 6, 2 + issued.der_length, 1);

    /* Turned off, the answers are the same. */
    reset_cache(f, 0);
    assert_int_equal(check(f, &issued, f->now + 60, &hit), 0);
    assert_memory_equal(&hit, &miss, sizeof hit);
    assert_int_equal(check(f, &issued, last + 1, &hit), -1);

    reset_cache(f, PKI_PRESENTED_CACHE_ENTRIES);
    pki_certificate_clear(&issued);
    EVP_PKEY_free(key);
}

#define EVICTION_CAPACITY 4

/* At capacity everything stays; one more evicts the least recently used
 * (a hit counts as a use), which is then a miss that checks again. */
static void
test_presented_cache_eviction(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate issued[EVICTION_CAPACITY + 1];
    EVP_PKEY *key = issue_many(f, issued, EVICTION_CAPACITY + 1);
    struct pki_presented presented;
    int64_t at = f->now + 60;

    reset_cache(f, EVICTION_CAPACITY);
    for (size_t i = 0; i < EVICTION_CAPACITY; i++)
        assert_int_equal(check(f, &issued[i], at, &presented), 0);
    assert_cache(f, 0, EVICTION_CAPACITY, EVICTION_CAPACITY);
    /* Capacity: all remembered. Used again in the order 1, 2, 3, 0, so 1
     * is now the least recently used. */
    const size_t order[EVICTION_CAPACITY] = {1, 2, 3, 0};
    for (size_t i = 0; i < EVICTION_CAPACITY; i++)
        assert_int_equal(check(f, &issued[order[i]], at, &presented), 0);
    assert_cache(f, EVICTION_CAPACITY, EVICTION_CAPACITY, EVICTION_CAPACITY);

    /* Capacity + 1: certificate 1 goes, the others stay. */
    assert_int_equal(check(f, &issued[EVICTION_CAPACITY], at, &presented), 0);
    assert_string_equal(presented.serial_hex, issued[EVICTION_CAPACITY].serial_hex);
    assert_cache(f, EVICTION_CAPACITY, EVICTION_CAPACITY + 1, EVICTION_CAPACITY);
    const size_t stay[] = {0, 2, 3, EVICTION_CAPACITY};
    for (size_t i = 0; i < sizeof stay / sizeof *stay; i++) {
        assert_int_equal(check(f, &issued[stay[i]], at, &presented), 0);
        assert_string_equal(presented.serial_hex, issued[stay[i]].serial_hex);
    }
    assert_cache(f, 2 * EVICTION_CAPACITY, EVICTION_CAPACITY + 1, EVICTION_CAPACITY);
    assert_int_equal(check(f, &issued[1], at, &presented), 0);
    assert_string_equal(presented.serial_hex, issued[1].serial_hex);
    assert_cache(f, 2 * EVICTION_CAPACITY, EVICTION_CAPACITY + 2, EVICTION_CAPACITY);
    /* Its return evicted certificate 0, the least recently used then. */
    assert_int_equal(check(f, &issued[0], at, &presented), 0);
    assert_cache(f, 2 * EVICTION_CAPACITY, EVICTION_CAPACITY + 3, EVICTION_CAPACITY);

    /* A capacity of one, and capacities refused. */
    reset_cache(f, 1);
    assert_int_equal(check(f, &issued[0], at, &presented), 0);
    assert_int_equal(check(f, &issued[1], at, &presented), 0);
    assert_int_equal(check(f, &issued[0], at, &presented), 0);
    assert_cache(f, 0, 3, 1);
    assert_int_equal(pki_presented_cache_resize(f->pki, ((size_t)1 << 20) + 1), -1);
    struct pki_presented_cache_stats stats;
    pki_presented_cache_stats(f->pki, &stats);
    assert_int_equal(stats.capacity, 0);
    assert_int_equal(check(f, &issued[0], at, &presented), 0);

    reset_cache(f, PKI_PRESENTED_CACHE_ENTRIES);
    for (size_t i = 0; i < EVICTION_CAPACITY + 1; i++)
        pki_certificate_clear(&issued[i]);
    EVP_PKEY_free(key);
}

#define THREADS 4
#define THREAD_ROUNDS 400
#define THREAD_CERTIFICATES 12
#define THREAD_CAPACITY 8

struct cache_thread {
    struct fixture *f;
    const struct pki_certificate *issued;
    const uint8_t *tampered;    /* a copy of issued[0] with a byte changed */
    unsigned seed;
    int failures;
};

/* Checks certificates in a pseudo-random order (more of them than the cache
 * holds, so hits, misses and evictions interleave across threads), at good
 * and bad times, and a tampered one; counts every wrong answer. */
static void *
cache_thread_run(void *argument)
{
    struct cache_thread *t = argument;
    int64_t last = t->f->now + (int64_t)PKI_CERTIFICATE_DAYS * DAY;
    char err[256];
    for (int round = 0; round < THREAD_ROUNDS; round++) {
        size_t i = (size_t)rand_r(&t->seed) % THREAD_CERTIFICATES;
        const struct pki_certificate *c = &t->issued[i];
        struct pki_presented presented;
        int64_t at = round % 5 == 4 ? last + 1 : t->f->now + round;
        int status = pki_check_presented(t->f->pki, c->der, c->der_length, at,
                                         &presented, err, sizeof err);
        if (round % 5 == 4) {
            t->failures += status != -1 || presented.public_key_length != 0;
        } else {
            t->failures += status != 0 ||
                           strcmp(presented.serial_hex, c->serial_hex) != 0 ||
                           strcmp(presented.web_number, WEB_NUMBER) != 0;
        }
        if (round % 7 == 0)
            t->failures += pki_check_presented(t->f->pki, t->tampered,
                                               t->issued[0].der_length, t->f->now,
                                               &presented, err, sizeof err) != -1;
    }
    return NULL;
}

static void
test_presented_cache_threads(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate issued[THREAD_CERTIFICATES];
    EVP_PKEY *key = issue_many(f, issued, THREAD_CERTIFICATES);
    uint8_t *tampered = malloc(issued[0].der_length);
    memcpy(tampered, issued[0].der, issued[0].der_length);
    tampered[issued[0].der_length - 1] ^= 0x01;  /* the signature's last byte */

    reset_cache(f, THREAD_CAPACITY);
    pthread_t threads[THREADS];
    struct cache_thread runs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        runs[i] = (struct cache_thread){.f = f, .issued = issued,
                                        .tampered = tampered, .seed = 17u + (unsigned)i};
        assert_int_equal(pthread_create(&threads[i], NULL, cache_thread_run, &runs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(runs[i].failures, 0);
    }
    struct pki_presented_cache_stats stats;
    pki_presented_cache_stats(f->pki, &stats);
    size_t tampered_checks = (THREAD_ROUNDS + 6) / 7;
    assert_int_equal(stats.hits + stats.misses,
                     (uint64_t)THREADS * (THREAD_ROUNDS + tampered_checks));
    assert_true(stats.hits > 0);
    assert_int_equal(stats.entries, THREAD_CAPACITY);

    reset_cache(f, PKI_PRESENTED_CACHE_ENTRIES);
    free(tampered);
    for (size_t i = 0; i < THREAD_CERTIFICATES; i++)
        pki_certificate_clear(&issued[i]);
    EVP_PKEY_free(key);
}

/* ── Opening, reasons ───────────────────────────────────────────────────── */

/* The coordinates read off a presented key's canonical bytes are the key's;
 * anything not in the canonical form is refused with zeroed outputs. */
static void
test_spki_coordinates(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate issued;
    EVP_PKEY *key = issue(f, f->now, &issued);
    struct pki_presented presented;
    char err[256];
    assert_int_equal(pki_check_presented(f->pki, issued.der, issued.der_length,
                                         f->now + 60, &presented, err,
                                         sizeof err), 0);
    uint8_t x[PKI_P256_COORDINATE_BYTES], y[PKI_P256_COORDINATE_BYTES];
    assert_int_equal(pki_spki_p256_coordinates(presented.public_key,
                                               presented.public_key_length, x, y), 0);
    BIGNUM *bx = NULL, *by = NULL;
    uint8_t want_x[PKI_P256_COORDINATE_BYTES], want_y[PKI_P256_COORDINATE_BYTES];
    assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by), 1);
    assert_int_equal(BN_bn2binpad(bx, want_x, sizeof want_x), (int)sizeof want_x);
    assert_int_equal(BN_bn2binpad(by, want_y, sizeof want_y), (int)sizeof want_y);
    assert_memory_equal(x, want_x, sizeof x);
    assert_memory_equal(y, want_y, sizeof y);

    static const uint8_t zero[PKI_P256_COORDINATE_BYTES];
    uint8_t copy[SIGNER_PUBLIC_KEY_MAX_BYTES];
    memcpy(copy, presented.public_key, presented.public_key_length);
    /* One byte short, one byte long, another curve's OID byte, a compressed
     * point marker. */
    assert_int_equal(pki_spki_p256_coordinates(copy, presented.public_key_length - 1,
                                               x, y), -1);
    assert_memory_equal(x, zero, sizeof x);
    assert_int_equal(pki_spki_p256_coordinates(copy, presented.public_key_length + 1,
                                               x, y), -1);
    copy[22] ^= 0x01;
    assert_int_equal(pki_spki_p256_coordinates(copy, presented.public_key_length,
                                               x, y), -1);
    copy[22] ^= 0x01;
    copy[26] = 0x02;
    assert_int_equal(pki_spki_p256_coordinates(copy, presented.public_key_length,
                                               x, y), -1);
    assert_memory_equal(y, zero, sizeof y);
    assert_int_equal(pki_spki_p256_coordinates(NULL, 0, x, y), -1);

    BN_free(bx);
    BN_free(by);
    EVP_PKEY_free(key);
    pki_certificate_clear(&issued);
}

static void
test_open_refusals(void **state)
{
    struct fixture *f = *state;
    struct pki *pki = NULL;
    char err[256];
    const char *bad_urls[] = {"", "ftp://x/ocsp", "http://a b/ocsp",
                              "http://x/\x01", NULL};
    for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
        assert_int_equal(pki_open(f->pki_dir, f->signer, bad_urls[i], CRL_URL,
                                  &pki, err, sizeof err), -1);
        assert_null(pki);
        assert_int_equal(pki_open(f->pki_dir, f->signer, OCSP_URL, bad_urls[i],
                                  &pki, err, sizeof err), -1);
    }
    char missing[PATH_BYTES];
    snprintf(missing, sizeof missing, "%s/nowhere", f->dir);
    assert_int_equal(pki_open(missing, f->signer, OCSP_URL, CRL_URL, &pki, err,
                              sizeof err), -1);

    /* Another data folder's certificates do not match this signer's key. */
    char other_keys[PATH_BYTES], other_pki[PATH_BYTES];
    snprintf(other_keys, sizeof other_keys, "%s/other-keys", f->dir);
    snprintf(other_pki, sizeof other_pki, "%s/other-pki", f->dir);
    assert_int_equal(signer_create_keys(other_keys, other_pki, err, sizeof err), 0);
    assert_int_equal(pki_open(other_pki, f->signer, OCSP_URL, CRL_URL, &pki, err,
                              sizeof err), -1);
    assert_non_null(strstr(err, "signer"));
    assert_null(pki);

    /* A garbled issuing CA file. */
    char path[PATH_BYTES + 32];
    snprintf(path, sizeof path, "%s/issuing-ca.pem", other_pki);
    assert_int_equal(remove(path), 0);
    test_write_file(path, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert_int_equal(pki_open(other_pki, f->signer, OCSP_URL, CRL_URL, &pki, err,
                              sizeof err), -1);
}

static void
test_reasons(void **state)
{
    (void)state;
    const char *names[] = {"unspecified", "key_compromise", "affiliation_changed",
                           "superseded", "cessation_of_operation",
                           "certificate_hold", "privilege_withdrawn"};
    const int codes[] = {0, 1, 3, 4, 5, 6, 9};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        assert_int_equal(pki_reason_code(names[i]), codes[i]);
        assert_string_equal(pki_reason_name(codes[i]), names[i]);
    }
    assert_int_equal(pki_reason_code("ca_compromise"), -1);
    assert_int_equal(pki_reason_code("Key_compromise"), -1);
    assert_int_equal(pki_reason_code(""), -1);
    assert_int_equal(pki_reason_code(NULL), -1);
    assert_null(pki_reason_name(2));
    assert_null(pki_reason_name(7));
    assert_null(pki_reason_name(-1));
    assert_null(pki_reason_name(11));
}

/* Two issuing CA generations: the newest issues; a certificate of either
 * is ours when presented (with its generation); an OCSP request is
 * answered by the generation its CertID names, the lookup told which,
 * and a CertID of the other generation in the same request is unknown;
 * each generation's CRL verifies with its own key; /ca.pem holds both. */
static void
test_generations(void **state)
{
    struct fixture *f = *state;
    struct pki_certificate old, fresh;
    EVP_PKEY *old_key = issue(f, f->now, &old);
    assert_int_equal(old.generation, 1);
    char err[256], path[PATH_BYTES];
    unsigned generation = 0;
    assert_int_equal(signer_issuing_ca_rotate(f->keys, f->pki_dir, &generation, err,
                                              sizeof err), 0);
    /* A new signer and pki see it. */
    pki_close(f->pki);
    signer_close(f->signer);
    struct signer_options options = {.keys_dir = f->keys, .pki_dir = f->pki_dir,
                                     .issuer = "https://id.example", .ocsp_url = OCSP_URL,
                                     .crl_url = CRL_URL};
    assert_int_equal(signer_open_local(&options, &f->signer, err, sizeof err), 0);
    if (pki_open(f->pki_dir, f->signer, OCSP_URL, CRL_URL, &f->pki, err, sizeof err) != 0)
        fail_msg("pki_open: %s", err);
    assert_int_equal(pki_generations(f->pki), 2);
    snprintf(path, sizeof path, "%s/issuing-ca-2.pem", f->pki_dir);
    X509 *second = read_certificate_file(path);
    EVP_PKEY *fresh_key = issue(f, f->now, &fresh);
    assert_int_equal(fresh.generation, 2);
    X509 *fresh_certificate = parse_der(fresh.der, fresh.der_length);
    X509 *old_certificate = parse_der(old.der, old.der_length);
    assert_int_equal(X509_verify(fresh_certificate, X509_get0_pubkey(second)), 1);

    struct pki_presented presented;
    assert_int_equal(pki_check_presented(f->pki, old.der, old.der_length, f->now, &presented,
                                         err, sizeof err), 0);
    assert_int_equal(presented.generation, 1);
    assert_int_equal(pki_check_presented(f->pki, fresh.der, fresh.der_length, f->now,
                                         &presented, err, sizeof err), 0);
    assert_int_equal(presented.generation, 2);

    struct status_table table = {.count = 2};
    memcpy(table.serials[0], old.serial, PKI_SERIAL_BYTES);
    table.statuses[0].state = PKI_CERT_GOOD;
    memcpy(table.serials[1], fresh.serial, PKI_SERIAL_BYTES);
    table.statuses[1].state = PKI_CERT_GOOD;
    OCSP_REQUEST *request = OCSP_REQUEST_new();
    OCSP_CERTID *fresh_id = OCSP_cert_to_id(EVP_sha256(), fresh_certificate, second);
    OCSP_CERTID *old_id = OCSP_cert_to_id(EVP_sha1(), old_certificate, f->issuing);
    assert_non_null(OCSP_request_add0_id(request, OCSP_CERTID_dup(fresh_id)));
    assert_non_null(OCSP_request_add0_id(request, OCSP_CERTID_dup(old_id)));
    unsigned char *der = NULL;
    int length = encode_request(request, &der);
    OCSP_RESPONSE *response = answer(f, der, (size_t)length, &table);
    assert_int_equal(table.calls, 1);
    assert_int_equal(table.generation, 2);
    OCSP_BASICRESP *basic = OCSP_response_get1_basic(response);
    assert_non_null(basic);
    STACK_OF(X509) *signers = sk_X509_new_null();
    sk_X509_push(signers, second);
    assert_int_equal(OCSP_basic_verify(basic, signers, NULL, OCSP_TRUSTOTHER | OCSP_NOVERIFY), 1);
    sk_X509_free(signers);
    int status = -1, reason = -1;
    assert_int_equal(OCSP_resp_find_status(basic, fresh_id, &status, &reason, NULL, NULL,
                                           NULL), 1);
    assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
    assert_int_equal(OCSP_resp_find_status(basic, old_id, &status, &reason, NULL, NULL,
                                           NULL), 1);
    assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(response);
    OPENSSL_free(der);
    OCSP_REQUEST_free(request);
    /* Generation 1 asked alone: answered by generation 1. */
    request = OCSP_REQUEST_new();
    assert_non_null(OCSP_request_add0_id(request, OCSP_CERTID_dup(old_id)));
    der = NULL;
    length = encode_request(request, &der);
    table.calls = 0;
    response = answer(f, der, (size_t)length, &table);
    assert_int_equal(table.calls, 1);
    assert_int_equal(table.generation, 1);
    OCSP_RESPONSE_free(response);
    OPENSSL_free(der);
    OCSP_REQUEST_free(request);
    OCSP_CERTID_free(fresh_id);
    OCSP_CERTID_free(old_id);

    for (unsigned g = 1; g <= 2; g++) {
        uint8_t *crl_der = NULL;
        size_t crl_length = 0;
        assert_int_equal(pki_crl_build(f->pki, g, NULL, 0, 1, f->now, &crl_der, &crl_length,
                                       err, sizeof err), 0);
        const unsigned char *p = crl_der;
        X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)crl_length);
        assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(g == 1 ? f->issuing : second)),
                         1);
        X509_CRL_free(crl);
        free(crl_der);
    }
    uint8_t *crl_der = NULL;
    size_t crl_length = 0;
    assert_int_equal(pki_crl_build(f->pki, 3, NULL, 0, 1, f->now, &crl_der, &crl_length, err,
                                   sizeof err), -1);
    const char *chain = pki_chain_pem(f->pki);
    size_t blocks = 0;
    for (const char *at = chain; (at = strstr(at, "BEGIN CERTIFICATE")) != NULL; at++)
        blocks++;
    assert_int_equal(blocks, 3);
    blocks = 0;
    for (const char *at = pki_issuing_chain_pem(f->pki);
         (at = strstr(at, "BEGIN CERTIFICATE")) != NULL; at++)
        blocks++;
    assert_int_equal(blocks, 2);

    X509_free(fresh_certificate);
    X509_free(old_certificate);
    X509_free(second);
    EVP_PKEY_free(old_key);
    EVP_PKEY_free(fresh_key);
    pki_certificate_clear(&old);
    pki_certificate_clear(&fresh);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_issue_refusals),
        cmocka_unit_test(test_issue_subject_key),
        cmocka_unit_test(test_chain_verifies),
        cmocka_unit_test(test_csr_check),
        cmocka_unit_test(test_verify_signature),
        cmocka_unit_test(test_ocsp),
        cmocka_unit_test(test_ocsp_foreign_issuer),
        cmocka_unit_test(test_ocsp_malformed),
        cmocka_unit_test(test_crl),
        cmocka_unit_test(test_check_presented),
        cmocka_unit_test(test_spki_coordinates),
        cmocka_unit_test(test_presented_cache),
        cmocka_unit_test(test_presented_cache_eviction),
        cmocka_unit_test(test_presented_cache_threads),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
        cmocka_unit_test(test_reasons),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
