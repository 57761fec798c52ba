/* test_app: the citizen app's pieces without a service: the wallet file
 * (round trip, mode 0600, atomic replace, refusal of a group-readable or
 * malformed wallet), the device key (PKCS#8, CSR self-signature, P-256),
 * the nonce signature (verified with the CSR's key) and the device token
 * (verified with cjose against the x5c certificate's key, claims, sizes);
 * the login approval's token (user_code and release under the signature),
 * the direct-verification assertion, the user code or login URL given to
 * `login`, and --release claim lists. */
#include "../test_support.h"

#include "app/app.h"
#include "app/assertion.h"
#include "app/device_key.h"
#include "app/device_token.h"
#include "app/login_code.h"
#include "app/wallet.h"
#include "util/wipe_alloc.h"
#include "util/encoding.h"

#include <cjose/cjose.h>
#include <dirent.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#define TEST_ERR 512
#define TEST_PATH 1024
#define TEST_NOW 1764050000
#define TEST_AUDIENCE "http://127.0.0.1:8080"
/* Tokens made to catch an r or s that would lose its leading zero byte. */
#define TEST_TOKEN_ROUNDS 64

static EVP_PKEY *device_key;
static char *certificate_pem;

/* A self-signed certificate for key (the service would issue one). */
static char *
self_signed_pem(EVP_PKEY *key)
{
    X509 *certificate = X509_new();
    X509_NAME *name = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *pem;
    long length;

    assert_non_null(certificate);
    assert_int_equal(X509_set_version(certificate, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(certificate), 7), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"0123456789ABCDEF",
                                                -1, -1, 0), 1);
    assert_int_equal(X509_set_subject_name(certificate, name), 1);
    assert_int_equal(X509_set_issuer_name(certificate, name), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(certificate), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(certificate), 86400));
    assert_int_equal(X509_set_pubkey(certificate, key), 1);
    assert_true(X509_sign(certificate, key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_X509(bio, certificate), 1);
    length = BIO_get_mem_data(bio, &data);
    pem = strndup(data, (size_t)length);
    assert_non_null(pem);
    BIO_free(bio);
    X509_NAME_free(name);
    X509_free(certificate);
    return pem;
}

static int
setup(void **state)
{
    char err[TEST_ERR];

    (void)state;
    wipe_alloc_install();
    if (device_key_generate(&device_key, err, sizeof(err)) != 0)
        return -1;
    certificate_pem = self_signed_pem(device_key);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(device_key);
    free(certificate_pem);
    return 0;
}

/* ---- wallet ---- */

static void
fill_wallet(struct wallet *wallet, const char *serial, char *key_pem)
{
    wallet->server = TEST_AUDIENCE;
    wallet->web_number = "0123456789ABCDEF";
    wallet->serial = (char *)serial;
    wallet->private_key = key_pem;
    wallet->certificate = certificate_pem;
    wallet->chain = certificate_pem;
}

static int
count_entries(const char *directory)
{
    DIR *dir = opendir(directory);
    struct dirent *entry;
    int count = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            count++;
    closedir(dir);
    return count;
}

static void
test_wallet_round_trip(void **state)
{
    char *dir = test_temp_dir("wallet");
    char path[TEST_PATH], err[TEST_ERR];
    char *key_pem = NULL;
    struct wallet written = {0}, read = {0};
    struct stat info;

    (void)state;
    snprintf(path, sizeof(path), "%s/wallet.json", dir);
    assert_int_equal(device_key_to_pem(device_key, &key_pem, err, sizeof(err)), 0);
    fill_wallet(&written, "00112233445566778899aabbccddeeff", key_pem);
    /* A permissive umask must not make the wallet readable by others. */
    mode_t old_umask = umask(0);
    assert_int_equal(wallet_write(path, &written, err, sizeof(err)), 0);
    umask(old_umask);
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);

    assert_int_equal(wallet_read(path, &read, err, sizeof(err)), 0);
    assert_string_equal(read.server, written.server);
    assert_string_equal(read.web_number, written.web_number);
    assert_string_equal(read.serial, written.serial);
    assert_string_equal(read.private_key, key_pem);
    assert_string_equal(read.certificate, certificate_pem);
    assert_string_equal(read.chain, certificate_pem);
    assert_non_null(strstr(read.private_key, "-----BEGIN PRIVATE KEY-----"));
    EVP_PKEY *loaded = NULL;
    assert_int_equal(device_key_from_pem(read.private_key, &loaded, err, sizeof(err)), 0);
    assert_int_equal(EVP_PKEY_eq(loaded, device_key), 1);
    EVP_PKEY_free(loaded);
    wallet_clear(&read);
    assert_null(read.private_key);
    assert_true(test_file_contains(path, "\"version\": 1", 12));

    /* Re-enrolling replaces the file in place; no temporary file remains. */
    fill_wallet(&written, "ffeeddccbbaa99887766554433221100", key_pem);
    assert_int_equal(wallet_write(path, &written, err, sizeof(err)), 0);
    assert_int_equal(wallet_read(path, &read, err, sizeof(err)), 0);
    assert_string_equal(read.serial, "ffeeddccbbaa99887766554433221100");
    wallet_clear(&read);
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
    assert_int_equal(count_entries(dir), 1);

    /* A wallet with a field missing is not written at all. */
    char other[TEST_PATH];
    snprintf(other, sizeof(other), "%s/other.json", dir);
    written.chain = NULL;
    assert_int_equal(wallet_write(other, &written, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "chain"));
    assert_int_equal(count_entries(dir), 1);

    device_key_pem_free(key_pem);
    test_remove_dir(dir);
}

static void
test_wallet_refusals(void **state)
{
    char *dir = test_temp_dir("wallet-refused");
    char path[TEST_PATH], err[TEST_ERR];
    char *key_pem = NULL;
    struct wallet wallet = {0}, read = {0};

    (void)state;
    snprintf(path, sizeof(path), "%s/wallet.json", dir);
    assert_int_equal(device_key_to_pem(device_key, &key_pem, err, sizeof(err)), 0);
    fill_wallet(&wallet, "00112233445566778899aabbccddeeff", key_pem);
    assert_int_equal(wallet_write(path, &wallet, err, sizeof(err)), 0);

    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(wallet_read(path, &read, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "group or others"));
    assert_null(read.private_key);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(wallet_read(path, &read, err, sizeof(err)), -1);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(wallet_read(path, &read, err, sizeof(err)), 0);
    wallet_clear(&read);

    /* Malformed wallets: wrong version, a field missing, not JSON. */
    static const char *bad[] = {
        "{\"version\": 2, \"server\": \"a\", \"web_number\": \"b\", \"serial\": \"c\","
        " \"private_key\": \"d\", \"certificate\": \"e\", \"chain\": \"f\"}",
        "{\"version\": 1, \"server\": \"a\", \"web_number\": \"b\", \"serial\": \"c\","
        " \"private_key\": \"d\", \"certificate\": \"e\"}",
        "{\"version\": 1, \"version\": 1}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unlink(path);
        test_write_file(path, bad[i]);
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(wallet_read(path, &read, err, sizeof(err)), -1);
        assert_null(read.server);
    }
    unlink(path);
    assert_int_equal(wallet_read(path, &read, err, sizeof(err)), -1);
    device_key_pem_free(key_pem);
    test_remove_dir(dir);
}

/* ---- device key, CSR, nonce signature ---- */

static X509_REQ *
read_csr(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509_REQ *request = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);

    BIO_free(bio);
    assert_non_null(request);
    return request;
}

static void
test_csr(void **state)
{
    char err[TEST_ERR];
    char *csr = NULL;

    (void)state;
    assert_true(device_key_is_p256(device_key));
    assert_int_equal(device_key_csr_pem(device_key, &csr, err, sizeof(err)), 0);
    assert_non_null(strstr(csr, "-----BEGIN CERTIFICATE REQUEST-----"));
    X509_REQ *request = read_csr(csr);
    EVP_PKEY *public = X509_REQ_get0_pubkey(request);
    assert_non_null(public);
    assert_true(device_key_is_p256(public));
    assert_int_equal(EVP_PKEY_eq(public, device_key), 1);
    assert_int_equal(X509_REQ_verify(request, public), 1);

    /* A flipped byte in the signed part (the subject) breaks the
     * self-signature. */
    unsigned char *der = NULL;
    int der_length = i2d_X509_REQ(request, &der);
    assert_true(der_length > 0);
    unsigned char *subject = memmem(der, (size_t)der_length, "cyberid-device", 14);
    assert_non_null(subject);
    subject[0] ^= 0x01;
    const unsigned char *cursor = der;
    X509_REQ *tampered = d2i_X509_REQ(NULL, &cursor, der_length);
    assert_non_null(tampered);
    assert_int_not_equal(X509_REQ_verify(tampered, X509_REQ_get0_pubkey(tampered)), 1);
    X509_REQ_free(tampered);
    OPENSSL_free(der);
    X509_REQ_free(request);
    free(csr);
}

static void
test_key_pem(void **state)
{
    char err[TEST_ERR];
    char *pem = NULL;
    EVP_PKEY *back = NULL, *p384 = EVP_EC_gen("P-384");
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;

    (void)state;
    assert_int_equal(device_key_to_pem(device_key, &pem, err, sizeof(err)), 0);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(device_key_from_pem(pem, &back, err, sizeof(err)), 0);
    assert_int_equal(EVP_PKEY_eq(back, device_key), 1);
    EVP_PKEY_free(back);
    device_key_pem_free(pem);

    /* Only P-256 keys are device keys. */
    assert_non_null(p384);
    assert_false(device_key_is_p256(p384));
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, p384, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(BIO_write(bio, "", 1), 1);
    BIO_get_mem_data(bio, &data);
    assert_int_equal(device_key_from_pem(data, &back, err, sizeof(err)), -1);
    assert_null(back);
    assert_non_null(strstr(err, "P-256"));
    assert_int_equal(device_key_from_pem("garbage", &back, err, sizeof(err)), -1);
    BIO_free(bio);
    EVP_PKEY_free(p384);
}

static int
verify_signature(EVP_PKEY *key, const char *message, const char *signature_b64)
{
    uint8_t der[DEVICE_KEY_SIGNATURE_B64_MAX];
    size_t der_length = 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int verified;

    assert_int_equal(base64url_decode(signature_b64, strlen(signature_b64), der,
                                      sizeof(der), &der_length), 0);
    assert_int_equal(EVP_DigestVerifyInit(context, NULL, EVP_sha256(), NULL, key), 1);
    verified = EVP_DigestVerify(context, der, der_length, (const uint8_t *)message,
                                strlen(message));
    EVP_MD_CTX_free(context);
    return verified;
}

static void
test_nonce_signature(void **state)
{
    const char *nonce = "q3Vb8cXgS0mN2e7rJt1yWkZ4pLs9dHfA6uOiQwErTyU";
    char signature[DEVICE_KEY_SIGNATURE_B64_MAX], err[TEST_ERR];
    char *csr = NULL;

    (void)state;
    assert_int_equal(device_key_sign(device_key, (const uint8_t *)nonce,
                                     strlen(nonce), signature, sizeof(signature),
                                     err, sizeof(err)), 0);
    /* base64url without padding. */
    assert_null(strpbrk(signature, "+/="));
    assert_int_equal(device_key_csr_pem(device_key, &csr, err, sizeof(err)), 0);
    X509_REQ *request = read_csr(csr);
    EVP_PKEY *public = X509_REQ_get0_pubkey(request);
    assert_int_equal(verify_signature(public, nonce, signature), 1);
    assert_int_equal(verify_signature(public, "another nonce", signature), 0);
    /* Too small an output buffer fails and leaves it empty. */
    char small[8];
    assert_int_equal(device_key_sign(device_key, (const uint8_t *)nonce,
                                     strlen(nonce), small, sizeof(small), err,
                                     sizeof(err)), -1);
    assert_string_equal(small, "");
    X509_REQ_free(request);
    free(csr);
}

/* ---- device token ---- */

/* The public key of the certificate in the token's x5c, as a cjose JWK. */
static cjose_jwk_t *
x5c_jwk(cjose_jws_t *jws)
{
    cjose_err cerr;
    char *raw = cjose_header_get_raw(cjose_jws_get_protected(jws), "x5c", &cerr);
    json_t *x5c;
    const char *b64;
    unsigned char der[8192];
    const unsigned char *cursor = der;
    uint8_t x[32], y[32];
    BIGNUM *bx = NULL, *by = NULL;

    assert_non_null(raw);
    x5c = json_loads(raw, 0, NULL);
    wipe_free(raw);
    assert_true(json_is_array(x5c));
    assert_int_equal(json_array_size(x5c), 1);
    b64 = json_string_value(json_array_get(x5c, 0));
    assert_non_null(b64);
    /* Standard base64 (with padding allowed), not base64url. */
    assert_null(strpbrk(b64, "-_"));
    size_t b64_length = strlen(b64);
    assert_true(b64_length < sizeof(der) / 3 * 4);
    int length = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)b64_length);
    assert_true(length > 0);
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    if (b64[b64_length - 1] == '=')
        length--;
    if (b64_length > 1 && b64[b64_length - 2] == '=')
        length--;
    X509 *certificate = d2i_X509(NULL, &cursor, length);
    assert_non_null(certificate);
    json_decref(x5c);
    EVP_PKEY *public = X509_get0_pubkey(certificate);
    assert_int_equal(EVP_PKEY_eq(public, device_key), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(public, OSSL_PKEY_PARAM_EC_PUB_X, &bx), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(public, OSSL_PKEY_PARAM_EC_PUB_Y, &by), 1);
    assert_int_equal(BN_bn2binpad(bx, x, 32), 32);
    assert_int_equal(BN_bn2binpad(by, y, 32), 32);
    BN_free(bx);
    BN_free(by);
    X509_free(certificate);
    cjose_jwk_ec_keyspec spec = {.crv = CJOSE_JWK_EC_P_256, .x = x, .xlen = 32,
                                 .y = y, .ylen = 32};
    cjose_jwk_t *jwk = cjose_jwk_create_EC_spec(&spec, &cerr);
    assert_non_null(jwk);
    return jwk;
}

static void
check_token(const char *token, time_t now)
{
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &cerr);
    uint8_t *plaintext = NULL;
    size_t plaintext_length = 0;

    assert_non_null(jws);
    cjose_header_t *header = cjose_jws_get_protected(jws);
    assert_string_equal(cjose_header_get(header, "alg", &cerr), "ES256");
    assert_string_equal(cjose_header_get(header, "typ", &cerr), "cyberid-device+jwt");
    cjose_jwk_t *jwk = x5c_jwk(jws);
    assert_true(cjose_jws_verify(jws, jwk, &cerr));
    assert_true(cjose_jws_get_plaintext(jws, &plaintext, &plaintext_length, &cerr));
    json_t *claims = json_loadb((const char *)plaintext, plaintext_length, 0, NULL);
    assert_true(json_is_object(claims));
    assert_string_equal(json_string_value(json_object_get(claims, "aud")), TEST_AUDIENCE);
    assert_string_equal(json_string_value(json_object_get(claims, "htm")), "GET");
    assert_string_equal(json_string_value(json_object_get(claims, "htu")), "/v1/me/devices");
    json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    assert_int_equal(iat, now);
    assert_true(exp > iat && exp - iat <= 120);
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    assert_non_null(jti);
    assert_true(strlen(jti) >= 22 && strlen(jti) <= 64);
    assert_int_equal(strspn(jti, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     strlen(jti));
    json_decref(claims);
    cjose_jwk_release(jwk);
    cjose_jws_release(jws);

    /* The signature is the raw r||s of ES256: 64 bytes, 86 characters. */
    const char *last_dot = strrchr(token, '.');
    assert_non_null(last_dot);
    assert_int_equal(strlen(last_dot + 1), 86);
}

static void
test_device_token(void **state)
{
    char err[TEST_ERR];
    char *token = NULL, *second = NULL;

    (void)state;
    assert_int_equal(device_token_create(device_key, certificate_pem, TEST_AUDIENCE,
                                         "GET", "/v1/me/devices", TEST_NOW, &token,
                                         err, sizeof(err)), 0);
    assert_int_equal(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
                     strlen(token));
    check_token(token, TEST_NOW);

    /* Each token has its own jti. */
    assert_int_equal(device_token_create(device_key, certificate_pem, TEST_AUDIENCE,
                                         "GET", "/v1/me/devices", TEST_NOW, &second,
                                         err, sizeof(err)), 0);
    assert_string_not_equal(token, second);
    free(second);
    for (int i = 0; i < TEST_TOKEN_ROUNDS; i++) {
        assert_int_equal(device_token_create(device_key, certificate_pem, TEST_AUDIENCE,
                                             "GET", "/v1/me/devices", TEST_NOW + i,
                                             &second, err, sizeof(err)), 0);
        check_token(second, TEST_NOW + i);
        free(second);
    }

    /* A changed payload no longer verifies. */
    char *payload = strchr(token, '.') + 1;
    payload[3] = payload[3] == 'A' ? 'B' : 'A';
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &cerr);
    if (jws != NULL) {
        cjose_jwk_t *jwk = x5c_jwk(jws);
        assert_false(cjose_jws_verify(jws, jwk, &cerr));
        cjose_jwk_release(jwk);
        cjose_jws_release(jws);
    }
    free(token);

    /* A certificate for another key is refused. */
    EVP_PKEY *other = NULL;
    assert_int_equal(device_key_generate(&other, err, sizeof(err)), 0);
    char *other_pem = self_signed_pem(other);
    token = NULL;
    assert_int_equal(device_token_create(device_key, other_pem, TEST_AUDIENCE, "GET",
                                         "/v1/me/devices", TEST_NOW, &token, err,
                                         sizeof(err)), -1);
    assert_null(token);
    assert_non_null(strstr(err, "not for the device key"));
    free(other_pem);
    EVP_PKEY_free(other);
}

/* ---- the login approval and the assertion ---- */

/* Verifies a compact JWS with the key of its x5c certificate after
 * checking alg and typ; returns its payload. */
static json_t *
verified_claims(const char *token, const char *type)
{
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &cerr);
    uint8_t *plaintext = NULL;
    size_t plaintext_length = 0;
    json_t *claims;

    assert_non_null(jws);
    cjose_header_t *header = cjose_jws_get_protected(jws);
    assert_string_equal(cjose_header_get(header, "alg", &cerr), "ES256");
    assert_string_equal(cjose_header_get(header, "typ", &cerr), type);
    cjose_jwk_t *jwk = x5c_jwk(jws);
    assert_true(cjose_jws_verify(jws, jwk, &cerr));
    assert_true(cjose_jws_get_plaintext(jws, &plaintext, &plaintext_length, &cerr));
    claims = json_loadb((const char *)plaintext, plaintext_length,
                        JSON_REJECT_DUPLICATES, NULL);
    assert_true(json_is_object(claims));
    cjose_jwk_release(jwk);
    cjose_jws_release(jws);
    return claims;
}

/* 1 if the token's signature verifies with its x5c certificate's key. */
static int
signature_verifies(const char *token)
{
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &cerr);
    int verified = 0;

    if (jws != NULL) {
        cjose_jwk_t *jwk = x5c_jwk(jws);
        verified = cjose_jws_verify(jws, jwk, &cerr);
        cjose_jwk_release(jwk);
        cjose_jws_release(jws);
    }
    return verified;
}

/* The token with its payload replaced by `claims` (signature kept). */
static char *
with_payload(const char *token, json_t *claims)
{
    char *payload = json_dumps(claims, JSON_COMPACT);
    char encoded[4096], *spliced = malloc(8192);
    const char *first = strchr(token, '.'), *second = strrchr(token, '.');

    assert_non_null(payload);
    assert_non_null(spliced);
    assert_int_equal(base64url_encode((const uint8_t *)payload, strlen(payload),
                                      encoded, sizeof(encoded)), 0);
    snprintf(spliced, 8192, "%.*s.%s%s", (int)(first - token), token, encoded, second);
    wipe_free(payload);
    return spliced;
}

static void
assert_string_array(json_t *array, const char *const *expected, size_t count)
{
    assert_true(json_is_array(array));
    assert_int_equal(json_array_size(array), count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(json_string_value(json_array_get(array, i)), expected[i]);
}

static void
test_login_token(void **state)
{
    static const char *const released[] = {"realname_verified", "age_over_18"};
    char err[TEST_ERR];
    char *token = NULL;
    json_t *extra = json_pack("{s:s, s:[s, s]}", "user_code", "BCDFGHJK", "release",
                              released[0], released[1]);

    (void)state;
    assert_int_equal(device_token_create_extra(device_key, certificate_pem, TEST_AUDIENCE,
                                               "POST", "/v1/login/BCDFGHJK/approve",
                                               TEST_NOW, extra, &token, err,
                                               sizeof(err)), 0);
    json_t *claims = verified_claims(token, DEVICE_TOKEN_TYPE);
    assert_string_equal(json_string_value(json_object_get(claims, "aud")), TEST_AUDIENCE);
    assert_string_equal(json_string_value(json_object_get(claims, "htm")), "POST");
    assert_string_equal(json_string_value(json_object_get(claims, "htu")),
                        "/v1/login/BCDFGHJK/approve");
    assert_int_equal(json_integer_value(json_object_get(claims, "iat")), TEST_NOW);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")),
                     TEST_NOW + DEVICE_TOKEN_LIFETIME);
    assert_int_equal(strlen(json_string_value(json_object_get(claims, "jti"))), 24);
    assert_string_equal(json_string_value(json_object_get(claims, "user_code")), "BCDFGHJK");
    assert_string_array(json_object_get(claims, "release"), released, 2);
    assert_int_equal(json_object_size(claims), 8);
    /* The caller's object is left as it was. */
    assert_int_equal(json_object_size(extra), 2);

    /* The signature covers the choice: more claims released, or another
     * code, and it no longer verifies. */
    assert_true(signature_verifies(token));
    json_t *widened = json_deep_copy(claims);
    assert_int_equal(json_array_append_new(json_object_get(widened, "release"),
                                           json_string("national_id")), 0);
    char *forged = with_payload(token, widened);
    assert_false(signature_verifies(forged));
    free(forged);
    assert_int_equal(json_object_set_new(widened, "user_code", json_string("ZZZZZZZZ")), 0);
    assert_int_equal(json_array_remove(json_object_get(widened, "release"), 2), 0);
    forged = with_payload(token, widened);
    assert_false(signature_verifies(forged));
    free(forged);
    /* ...while the same payload spliced back verifies (the check can pass). */
    char *same = with_payload(token, claims);
    assert_true(signature_verifies(same));
    free(same);
    json_decref(widened);
    json_decref(claims);
    free(token);

    /* NULL extra is the plain device token. */
    assert_int_equal(device_token_create_extra(device_key, certificate_pem, TEST_AUDIENCE,
                                               "GET", "/v1/me/devices", TEST_NOW, NULL,
                                               &token, err, sizeof(err)), 0);
    check_token(token, TEST_NOW);
    free(token);

    /* Extra claims may not replace a standard one, nor be a non-object. */
    static const char *const standard[] = {"aud", "htm", "htu", "iat", "exp", "jti"};
    for (size_t i = 0; i < sizeof(standard) / sizeof(standard[0]); i++) {
        json_t *bad = json_pack("{s:s, s:s}", "user_code", "BCDFGHJK", standard[i], "x");
        token = NULL;
        assert_int_equal(device_token_create_extra(device_key, certificate_pem,
                                                   TEST_AUDIENCE, "POST", "/x", TEST_NOW,
                                                   bad, &token, err, sizeof(err)), -1);
        assert_null(token);
        assert_non_null(strstr(err, standard[i]));
        json_decref(bad);
    }
    json_t *array = json_array();
    assert_int_equal(device_token_create_extra(device_key, certificate_pem, TEST_AUDIENCE,
                                               "POST", "/x", TEST_NOW, array, &token,
                                               err, sizeof(err)), -1);
    json_decref(array);
    json_decref(extra);
}

static void
test_assertion(void **state)
{
    static const char *const released[] = {"age_over_18"};
    char err[TEST_ERR];
    char *token = NULL, *second = NULL;
    json_t *release = json_pack("[s]", released[0]);

    (void)state;
    assert_int_equal(assertion_create(device_key, certificate_pem, "client-abc", "n-123",
                                      release, TEST_NOW, &token, err, sizeof(err)), 0);
    json_t *claims = verified_claims(token, "cyberid-assertion+jwt");
    assert_string_equal(json_string_value(json_object_get(claims, "aud")), "client-abc");
    assert_string_equal(json_string_value(json_object_get(claims, "nonce")), "n-123");
    assert_int_equal(json_integer_value(json_object_get(claims, "iat")), TEST_NOW);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), TEST_NOW + 60);
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    assert_non_null(jti);
    assert_true(strlen(jti) >= 16 && strlen(jti) <= 64);
    assert_string_array(json_object_get(claims, "release"), released, 1);
    /* Nothing else: no htm/htu, no device-token claims. */
    assert_int_equal(json_object_size(claims), 6);
    json_decref(claims);
    /* The same inputs give another assertion (its own jti). */
    assert_int_equal(assertion_create(device_key, certificate_pem, "client-abc", "n-123",
                                      release, TEST_NOW, &second, err, sizeof(err)), 0);
    assert_string_not_equal(token, second);
    free(second);
    free(token);

    /* No nonce: a random one, 16 bytes base64url, different each time; no
     * release: the empty list. */
    char first_nonce[64];
    assert_int_equal(assertion_create(device_key, certificate_pem, "client-abc", NULL,
                                      NULL, TEST_NOW, &token, err, sizeof(err)), 0);
    claims = verified_claims(token, ASSERTION_TYPE);
    const char *nonce = json_string_value(json_object_get(claims, "nonce"));
    assert_non_null(nonce);
    assert_int_equal(strlen(nonce), 22);
    assert_int_equal(strspn(nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 22);
    snprintf(first_nonce, sizeof(first_nonce), "%s", nonce);
    assert_true(json_is_array(json_object_get(claims, "release")));
    assert_int_equal(json_array_size(json_object_get(claims, "release")), 0);
    json_decref(claims);
    free(token);
    assert_int_equal(assertion_create(device_key, certificate_pem, "client-abc", NULL,
                                      NULL, TEST_NOW, &token, err, sizeof(err)), 0);
    claims = verified_claims(token, ASSERTION_TYPE);
    assert_string_not_equal(json_string_value(json_object_get(claims, "nonce")), first_nonce);
    json_decref(claims);
    free(token);

    /* Refused: empty or control-character audience or nonce, an audience
     * over ASSERTION_TEXT_MAX, a release that is not a list of names. */
    char long_audience[ASSERTION_TEXT_MAX + 2];
    memset(long_audience, 'a', sizeof(long_audience) - 1);
    long_audience[sizeof(long_audience) - 1] = '\0';
    const char *bad_audiences[] = {"", "client\nabc", long_audience};
    for (size_t i = 0; i < sizeof(bad_audiences) / sizeof(bad_audiences[0]); i++) {
        token = NULL;
        assert_int_equal(assertion_create(device_key, certificate_pem, bad_audiences[i],
                                          "n", NULL, TEST_NOW, &token, err,
                                          sizeof(err)), -1);
        assert_null(token);
    }
    long_audience[ASSERTION_TEXT_MAX] = '\0';
    assert_int_equal(assertion_create(device_key, certificate_pem, long_audience, "n",
                                      NULL, TEST_NOW, &token, err, sizeof(err)), 0);
    free(token);
    assert_int_equal(assertion_create(device_key, certificate_pem, "client-abc", "",
                                      NULL, TEST_NOW, &token, err, sizeof(err)), -1);
    json_t *not_names = json_pack("[s, i]", "age_over_18", 5);
    assert_int_equal(assertion_create(device_key, certificate_pem, "client-abc", "n",
                                      not_names, TEST_NOW, &token, err, sizeof(err)), -1);
    json_decref(not_names);
    json_decref(release);
}

/* ---- what `login` is given ---- */

static void
test_login_code(void **state)
{
    static const struct {
        const char *input, *code, *issuer;
    } good[] = {
        {"BCDFGHJK", "BCDFGHJK", ""},
        {"BCDF-GHJK", "BCDFGHJK", ""},
        {"bcdf-ghjk", "BCDFGHJK", ""},
        {"bCdFgHjK", "BCDFGHJK", ""},
        {"ZXWV-TSRQ", "ZXWVTSRQ", ""},
        {"http://127.0.0.1:8080/v1/login/BCDFGHJK", "BCDFGHJK", "http://127.0.0.1:8080"},
        {"http://127.0.0.1:8080/v1/login/bcdf-ghjk", "BCDFGHJK", "http://127.0.0.1:8080"},
        {"https://id.example/base/v1/login/MNPQ-RSTV", "MNPQRSTV", "https://id.example/base"},
        {"https://id.example//v1/login/MNPQRSTV", "MNPQRSTV", "https://id.example"},
        /* The login page's same-device link. */
        {"cyberid://login?server=https%3A%2F%2Fid.example&code=BCDFGHJK", "BCDFGHJK",
         "https://id.example"},
        {"cyberid://login?code=bcdf-ghjk&server=http://127.0.0.1:8080/", "BCDFGHJK",
         "http://127.0.0.1:8080"},
        {"cyberid://login?server=https%3a%2f%2fid.example%2Fbase&code=MNPQRSTV", "MNPQRSTV",
         "https://id.example/base"},
    };
    static const char *const bad[] = {
        "", "BCDFGHJ", "BCDFGHJKL", "BCDF-GHJKL", "BCDFAGHJ", "BCDFGHJ1", "BCD-FGHJK",
        "BCDF_GHJK", "BCDF GHJK", "BCDF-GHJ", "-BCDFGHJ", "BCDFGHJ-", "BCDF--GHJK",
        "http://127.0.0.1:8080/v1/login/BCDFGHJK/",
        "http://127.0.0.1:8080/v1/login/BCDFGHJK?x=1",
        "http://127.0.0.1:8080/v1/login/BCDFGHJK#f",
        "http://127.0.0.1:8080/v2/login/BCDFGHJK",
        "http://127.0.0.1:8080/v1/login/",
        "http:///v1/login/BCDFGHJK",
        "http://a?b/v1/login/BCDFGHJK",
        "ftp://id.example/v1/login/BCDFGHJK",
        "http://127.0.0.1:8080/v1/login/BCDFAEIO",
        "cyberid://login?server=https%3A%2F%2Fid.example",
        "cyberid://login?code=BCDFGHJK",
        "cyberid://login?server=https%3A%2F%2Fid.example&code=BCDFGHJK&x=1",
        "cyberid://login?server=https%3A%2F%2Fa.example&server=https%3A%2F%2Fb.example"
        "&code=BCDFGHJK",
        "cyberid://login?server=https%3A%2F%2Fid.example&code=BCDFGHJK&code=MNPQRSTV",
        "cyberid://login?server=https%3A%2F%2Fid.example&code=BCDFAEIO",
        "cyberid://login?server=https%3A%2F%2Fid.example%0A&code=BCDFGHJK",
        "cyberid://login?server=https%3A%2F%2Fid.example%2&code=BCDFGHJK",
        "cyberid://login?server=https%3A%2F%2Fid.example%&code=BCDFGHJK",
        "cyberid://login?server=ftp%3A%2F%2Fid.example&code=BCDFGHJK",
        "cyberid://login?server=&code=BCDFGHJK",
        "cyberid://login?",
        "cyberid://login",
        "cyberid://other?server=https%3A%2F%2Fid.example&code=BCDFGHJK",
    };
    char code[LOGIN_CODE_SIZE], issuer[256], err[TEST_ERR];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(login_code_parse(good[i].input, code, issuer, sizeof(issuer),
                                          err, sizeof(err)), 0);
        assert_string_equal(code, good[i].code);
        assert_string_equal(issuer, good[i].issuer);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(code, "XXXXXXXX");
        strcpy(issuer, "x");
        if (login_code_parse(bad[i], code, issuer, sizeof(issuer), err, sizeof(err)) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_string_equal(code, "");
        assert_string_equal(issuer, "");
        assert_true(strlen(err) > 0);
    }
    /* An issuer that does not fit the caller's buffer is refused. */
    assert_int_equal(login_code_parse("https://a-long-host.example/v1/login/BCDFGHJK",
                                      code, issuer, 8, err, sizeof(err)), -1);
    /* Input over LOGIN_CODE_INPUT_MAX. */
    char *huge = malloc(LOGIN_CODE_INPUT_MAX + 16);
    assert_non_null(huge);
    memset(huge, 'B', LOGIN_CODE_INPUT_MAX + 15);
    huge[LOGIN_CODE_INPUT_MAX + 15] = '\0';
    assert_int_equal(login_code_parse(huge, code, issuer, sizeof(issuer), err,
                                      sizeof(err)), -1);
    free(huge);
}

static void
test_claim_list(void **state)
{
    static const char *const two[] = {"realname_verified", "age_over_18"};
    json_t *claims = NULL;
    char err[TEST_ERR], list[2048];

    (void)state;
    assert_int_equal(app_claim_list_parse("realname_verified,age_over_18", &claims, err,
                                          sizeof(err)), 0);
    assert_string_array(claims, two, 2);
    json_decref(claims);
    assert_int_equal(app_claim_list_parse("", &claims, err, sizeof(err)), 0);
    assert_int_equal(json_array_size(claims), 0);
    json_decref(claims);

    static const char *const bad[] = {"a,,b", "a,", ",a", "a,a", "Age", "a b", "a;b",
                                      "a,b,a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        claims = (json_t *)1;
        if (app_claim_list_parse(bad[i], &claims, err, sizeof(err)) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_null(claims);
    }
    /* APP_CLAIMS_MAX names pass, one more does not. */
    list[0] = '\0';
    for (int i = 0; i < APP_CLAIMS_MAX; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sc%d", i ? "," : "", i);
    assert_int_equal(app_claim_list_parse(list, &claims, err, sizeof(err)), 0);
    assert_int_equal(json_array_size(claims), APP_CLAIMS_MAX);
    json_decref(claims);
    snprintf(list + strlen(list), sizeof(list) - strlen(list), ",extra");
    assert_int_equal(app_claim_list_parse(list, &claims, err, sizeof(err)), -1);
    /* A name of APP_CLAIM_NAME_MAX characters passes, one more does not. */
    memset(list, 'x', APP_CLAIM_NAME_MAX);
    list[APP_CLAIM_NAME_MAX] = '\0';
    assert_int_equal(app_claim_list_parse(list, &claims, err, sizeof(err)), 0);
    json_decref(claims);
    list[APP_CLAIM_NAME_MAX] = 'x';
    list[APP_CLAIM_NAME_MAX + 1] = '\0';
    assert_int_equal(app_claim_list_parse(list, &claims, err, sizeof(err)), -1);
}

/* ---- the service URL ---- */

static void
test_server_url(void **state)
{
    char url[64], err[TEST_ERR];

    (void)state;
    assert_int_equal(app_server_url("http://127.0.0.1:8080/", url, sizeof(url), err,
                                    sizeof(err)), 0);
    assert_string_equal(url, "http://127.0.0.1:8080");
    assert_int_equal(app_server_url("https://id.example//", url, sizeof(url), err,
                                    sizeof(err)), 0);
    assert_string_equal(url, "https://id.example");
    assert_int_equal(app_server_url("ftp://id.example", url, sizeof(url), err,
                                    sizeof(err)), -1);
    assert_int_equal(app_server_url("http:///", url, sizeof(url), err, sizeof(err)), -1);
    assert_int_equal(app_server_url("http://a b", url, sizeof(url), err, sizeof(err)), -1);
    assert_int_equal(app_server_url("http://id.example/?x", url, sizeof(url), err,
                                    sizeof(err)), -1);
    assert_int_equal(app_server_url("http://a-very-long-host-name-that-does-not-fit.example",
                                    url, 16, err, sizeof(err)), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wallet_round_trip),
        cmocka_unit_test(test_wallet_refusals),
        cmocka_unit_test(test_csr),
        cmocka_unit_test(test_key_pem),
        cmocka_unit_test(test_nonce_signature),
        cmocka_unit_test(test_device_token),
        cmocka_unit_test(test_server_url),
        cmocka_unit_test(test_login_token),
        cmocka_unit_test(test_assertion),
        cmocka_unit_test(test_login_code),
        cmocka_unit_test(test_claim_list),
    };

    return cmocka_run_group_tests_name("app", tests, setup, teardown);
}
