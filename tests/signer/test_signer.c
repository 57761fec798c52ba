/* Tests of the signer's operations, in-process (signer_open_local runs the
 * same bytes the process does): key creation, file permissions, HMAC,
 * sealed records (fields, tamper and misuse refused), the ID token and
 * certificate policies, and token-signing keys by kid (validity, creation,
 * loading after open, the LRU cache, the initial kid). */
#include "signer/signer.h"

#include "../test_support.h"
#include "jws_check.h"
#include "audit/tlog.h"
#include "util/encoding.h"

#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/ocsp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

struct fixture {
    char *dir;
    char keys[1024], pki[1024];
    struct signer *signer;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("signer");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->pki, sizeof f->pki, "%s/pki", f->dir);
    assert_int_equal(signer_create_keys(f->keys, f->pki, err, sizeof err), 0);
    /* Keys and an issuer (ID tokens), no CA: open_full() adds the CA. */
    struct signer_options options = {.keys_dir = f->keys, .issuer = "https://id.example"};
    assert_int_equal(signer_open_local(&options, &f->signer, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    signer_close(f->signer);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

static void
test_key_files_are_private(void **state)
{
    struct fixture *f = *state;
    struct stat info;
    assert_int_equal(stat(f->keys, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0700);
    const char *files[] = {"master.key", "index-hmac.key", "pairwise-hmac.key",
                           "token-signing.key.pem", "root-ca.key.pem",
                           "issuing-ca.key.pem"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", f->keys, files[i]);
        assert_int_equal(stat(path, &info), 0);
        assert_int_equal(info.st_mode & 0777, 0600);
    }
    /* Creating again never overwrites. */
    char err[256];
    assert_int_equal(signer_create_keys(f->keys, f->pki, err, sizeof err), -1);
}

static void
test_refuses_readable_key(void **state)
{
    struct fixture *f = *state;
    char path[1100], err[256];
    snprintf(path, sizeof path, "%s/master.key", f->keys);
    assert_int_equal(chmod(path, 0644), 0);
    struct signer *other = NULL;
    assert_int_equal(signer_open(f->keys, &other, err, sizeof err), -1);
    assert_non_null(strstr(err, "0600"));
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(signer_open(f->keys, &other, err, sizeof err), 0);
    signer_close(other);
    /* A truncated key is refused. */
    assert_int_equal(truncate(path, 16), 0);
    assert_int_equal(signer_open(f->keys, &other, err, sizeof err), -1);
}

static void
test_hmac(void **state)
{
    struct fixture *f = *state;
    uint8_t a[SIGNER_HMAC_BYTES], b[SIGNER_HMAC_BYTES], c[SIGNER_HMAC_BYTES];
    assert_int_equal(signer_hmac(f->signer, SIGNER_KEY_INDEX, "x", 1, a), 0);
    assert_int_equal(signer_hmac(f->signer, SIGNER_KEY_INDEX, "x", 1, b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(signer_hmac(f->signer, SIGNER_KEY_PAIRWISE, "x", 1, c), 0);
    assert_memory_not_equal(a, c, sizeof a); /* separate keys */
    assert_int_equal(signer_hmac(f->signer, SIGNER_KEY_MASTER, "x", 1, c), -1);
    assert_int_equal(signer_hmac(f->signer, SIGNER_KEY_TOKEN, "x", 1, c), -1);
}

/* signer_seal_blind(): the record id is the prefix and the index HMAC of
 * the message in lowercase hex; the record opens under that id only. */
static void
test_seal_blind(void **state)
{
    struct fixture *f = *state;
    char id[SIGNER_BLIND_RECORD_ID_SIZE], other[SIGNER_BLIND_RECORD_ID_SIZE];
    char expected[SIGNER_BLIND_RECORD_ID_SIZE] = "c:";
    uint8_t index[SIGNER_HMAC_BYTES], *sealed = NULL, *again = NULL;
    size_t sealed_length = 0, again_length = 0, length = 0;
    char *json = NULL;
    const char record[] = "{\"subject\":\"w1\"}";
    assert_int_equal(signer_seal_blind(f->signer, "c:", "who", 3, record, strlen(record), id,
                                       &sealed, &sealed_length), 0);
    assert_int_equal(signer_hmac(f->signer, SIGNER_KEY_INDEX, "who", 3, index), 0);
    for (size_t i = 0; i < sizeof index; i++)
        snprintf(expected + 2 + 2 * i, 3, "%02x", index[i]);
    assert_string_equal(id, expected);
    assert_int_equal(sealed_length, strlen(record) + SIGNER_SEAL_OVERHEAD_BYTES);
    const char *const fields[] = {"subject", NULL};
    assert_int_equal(signer_open_record(f->signer, id, sealed, sealed_length, fields, &json,
                                        &length), 0);
    assert_string_equal(json, record);
    signer_free_secret(json, length);
    /* Another message, another id; the record does not open under it. */
    assert_int_equal(signer_seal_blind(f->signer, "c:", "whom", 4, record, strlen(record),
                                       other, &again, &again_length), 0);
    assert_string_not_equal(id, other);
    assert_int_equal(signer_open_record(f->signer, other, sealed, sealed_length, fields, &json,
                                        &length), -1);
    free(again);
    free(sealed);
    /* Prefixes: empty and over SIGNER_BLIND_PREFIX_MAX refused, the limit
     * accepted. */
    char prefix[SIGNER_BLIND_PREFIX_MAX + 2];
    memset(prefix, 'p', sizeof prefix - 1);
    prefix[sizeof prefix - 1] = '\0';
    assert_int_equal(signer_seal_blind(f->signer, "", "m", 1, "{}", 2, id, &sealed,
                                       &sealed_length), -1);
    assert_string_equal(id, "");
    assert_int_equal(signer_seal_blind(f->signer, prefix, "m", 1, "{}", 2, id, &sealed,
                                       &sealed_length), -1);
    assert_null(sealed);
    prefix[SIGNER_BLIND_PREFIX_MAX] = '\0';
    assert_int_equal(signer_seal_blind(f->signer, prefix, "m", 1, "{}", 2, id, &sealed,
                                       &sealed_length), 0);
    assert_int_equal(strlen(id), SIGNER_BLIND_PREFIX_MAX + 2 * SIGNER_HMAC_BYTES);
    free(sealed);
}

static void
test_records(void **state)
{
    struct fixture *f = *state;
    const char record[] = "{\"name\":\"张三\",\"birth_date\":\"1990-01-01\",\"n\":7}";
    uint8_t *sealed = NULL, *again = NULL;
    size_t sealed_length = 0, again_length = 0, length = 0;
    char *json = NULL;
    assert_int_equal(signer_seal_record(f->signer, "rec-1", record, strlen(record), &sealed,
                                        &sealed_length), 0);
    assert_int_equal(sealed_length, strlen(record) + SIGNER_SEAL_OVERHEAD_BYTES);
    assert_null(memmem(sealed, sealed_length, "张三", strlen("张三")));
    assert_int_equal(signer_seal_record(f->signer, "rec-1", record, strlen(record), &again,
                                        &again_length), 0);
    assert_memory_not_equal(sealed, again, sealed_length); /* a fresh data key */
    free(again);

    /* Only the fields asked for come back; one the record lacks is left out. */
    const char *const name_only[] = {"name", "missing", NULL};
    assert_int_equal(signer_open_record(f->signer, "rec-1", sealed, sealed_length, name_only,
                                        &json, &length), 0);
    assert_string_equal(json, "{\"name\":\"张三\"}");
    signer_free_secret(json, length);
    const char *const two[] = {"birth_date", "n", NULL};
    assert_int_equal(signer_open_record(f->signer, "rec-1", sealed, sealed_length, two, &json,
                                        &length), 0);
    assert_string_equal(json, "{\"birth_date\":\"1990-01-01\",\"n\":7}");
    signer_free_secret(json, length);

    /* No field, a bad field name, another record's id, every byte altered,
     * every truncation: refused. */
    const char *const none[] = {NULL}, *const bad[] = {"Name", NULL};
    assert_int_equal(signer_open_record(f->signer, "rec-1", sealed, sealed_length, none, &json,
                                        &length), -1);
    assert_int_equal(signer_open_record(f->signer, "rec-1", sealed, sealed_length, bad, &json,
                                        &length), -1);
    assert_int_equal(signer_open_record(f->signer, "rec-2", sealed, sealed_length, name_only,
                                        &json, &length), -1);
    for (size_t i = 0; i < sealed_length; i++) {
        sealed[i] ^= 0x80;
        assert_int_equal(signer_open_record(f->signer, "rec-1", sealed, sealed_length,
                                            name_only, &json, &length), -1);
        sealed[i] ^= 0x80;
    }
    for (size_t n = 0; n < sealed_length; n++)
        assert_int_equal(signer_open_record(f->signer, "rec-1", sealed, n, name_only, &json,
                                            &length), -1);
    assert_null(json);
    free(sealed);

    /* A record that is not a JSON object seals but never opens. */
    assert_int_equal(signer_seal_record(f->signer, "rec-3", "[1]", 3, &sealed, &sealed_length),
                     0);
    assert_int_equal(signer_open_record(f->signer, "rec-3", sealed, sealed_length, name_only,
                                        &json, &length), -1);
    free(sealed);
    /* Record ids: empty and over the limit refused, the limit accepted. */
    char long_id[SIGNER_RECORD_ID_MAX_BYTES + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(signer_seal_record(f->signer, "", "{}", 2, &sealed, &sealed_length), -1);
    assert_int_equal(signer_seal_record(f->signer, long_id, "{}", 2, &sealed, &sealed_length),
                     -1);
    long_id[SIGNER_RECORD_ID_MAX_BYTES] = '\0';
    assert_int_equal(signer_seal_record(f->signer, long_id, "{}", 2, &sealed, &sealed_length),
                     0);
    free(sealed);
}

/* A signer with the CA and an issuer, in-process. */
static struct signer *
open_full(const struct fixture *f)
{
    struct signer_options options = {
        .keys_dir = f->keys, .pki_dir = f->pki, .issuer = "https://id.example",
        .ocsp_url = "https://id.example/ocsp", .crl_url = "https://id.example/crl"};
    struct signer *signer = NULL;
    char err[256];
    if (signer_open_local(&options, &signer, err, sizeof err) != 0)
        fail_msg("%s", err);
    return signer;
}

/* The claims of an ID token from the given parts. */
static void
claims_text(char *out, size_t cap, const char *iss, long long iat, long long exp,
            const char *extra)
{
    snprintf(out, cap, "{\"iss\":\"%s\",\"aud\":\"platform-1\",\"sub\":\"S1\",\"iat\":%lld,"
             "\"exp\":%lld%s}", iss, iat, exp, extra);
}

/* Signs a valid ID token with kid: 0 or -1. */
static int
sign_token(struct signer *signer, const char *kid)
{
    char claims[256], *token = NULL;
    long long now = (long long)time(NULL);
    claims_text(claims, sizeof claims, "https://id.example", now, now + 60, "");
    int status = signer_sign_id_token(signer, kid, claims, &token);
    free(token);
    return status;
}

static void
test_id_token_policy(void **state)
{
    struct fixture *f = *state;
    struct signer *signer = open_full(f);
    char kid[SIGNER_KID_MAX + 1], claims[512];
    signer_token_initial_kid(signer, kid);
    long long now = (long long)time(NULL);
    char *token = NULL;
    claims_text(claims, sizeof claims, "https://id.example", now, now + 600, "");
    assert_int_equal(signer_sign_id_token(signer, kid, claims, &token), 0);
    assert_true(jws_verifies(signer, kid, token));
    free(token);
    /* Refused: a foreign issuer, a lifetime over the maximum, an iat far
     * from now, exp before iat, no sub, a duplicated iss, not JSON, a kid
     * that does not exist, a bad kid. */
    const struct {
        const char *iss;
        long long iat, exp;
        const char *extra;
    } refused[] = {
        {"https://evil.example", now, now + 600, ""},
        {"https://id.example", now, now + SIGNER_ID_TOKEN_LIFETIME_MAX + 1, ""},
        {"https://id.example", now - 3600, now - 3000, ""},
        {"https://id.example", now, now - 1, ""},
        {"https://id.example", now, now + 600, ",\"iss\":\"https://evil.example\""},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        claims_text(claims, sizeof claims, refused[i].iss, refused[i].iat, refused[i].exp,
                    refused[i].extra);
        assert_int_equal(signer_sign_id_token(signer, kid, claims, &token), -1);
        assert_null(token);
    }
    snprintf(claims, sizeof claims, "{\"iss\":\"https://id.example\",\"aud\":\"p\","
             "\"iat\":%lld,\"exp\":%lld}", now, now + 60);
    assert_int_equal(signer_sign_id_token(signer, kid, claims, &token), -1);
    assert_int_equal(signer_sign_id_token(signer, kid, "not json", &token), -1);
    claims_text(claims, sizeof claims, "https://id.example", now, now + 600, "");
    assert_int_equal(signer_sign_id_token(signer, "no-such-kid", claims, &token), -1);
    assert_int_equal(signer_sign_id_token(signer, "../master", claims, &token), -1);
    /* Without an issuer (signer_open: keys only) no ID token is signed. */
    struct signer *keys_only = NULL;
    char err[256];
    assert_int_equal(signer_open(f->keys, &keys_only, err, sizeof err), 0);
    assert_int_equal(signer_sign_id_token(keys_only, kid, claims, &token), -1);
    /* The issuer is said once. */
    assert_int_equal(signer_configure(signer, "https://evil.example", "https://e/ocsp",
                                      "https://e/crl"), -1);
    /* ... unless never said: then once. */
    assert_int_equal(signer_configure(keys_only, "https://id.example", "https://e/ocsp",
                                      "https://e/crl"), 0);
    assert_int_equal(signer_sign_id_token(keys_only, kid, claims, &token), 0);
    free(token);
    assert_int_equal(signer_configure(keys_only, "https://evil.example", "https://e/ocsp",
                                      "https://e/crl"), -1);
    signer_close(keys_only);
    signer_close(signer);
}

/* The payload of a compact JWS, decoded. */
static json_t *
jws_payload(const char *token)
{
    const char *first = strchr(token, '.');
    const char *second = first ? strchr(first + 1, '.') : NULL;
    assert_non_null(second);
    uint8_t payload[1024];
    size_t length = 0;
    assert_int_equal(base64url_decode(first + 1, (size_t)(second - first - 1), payload,
                                      sizeof payload, &length),
                     0);
    return json_loadb((const char *)payload, length, JSON_REJECT_DUPLICATES, NULL);
}

static void
test_id_token_pairwise(void **state)
{
    struct fixture *f = *state;
    struct signer *signer = open_full(f);
    char kid[SIGNER_KID_MAX + 1], claims[512], sub[SIGNER_SUBJECT_SIZE];
    signer_token_initial_kid(signer, kid);
    long long now = (long long)time(NULL);
    char *token = NULL;
    snprintf(claims, sizeof claims, "{\"iss\":\"https://id.example\",\"aud\":\"platform-1\","
             "\"iat\":%lld,\"exp\":%lld,\"nonce\":\"n-1\"}", now, now + 600);
    assert_int_equal(signer_sign_id_token_pairwise(signer, kid, "shop.example", "WEB0123",
                                                   claims, sub, &token),
                     0);
    assert_true(jws_verifies(signer, kid, token));
    /* The sub is HMAC-SHA256 under the pairwise key of the web number, a
     * zero byte and the sector, in lower-case base32, 26 characters. */
    uint8_t mac[SIGNER_HMAC_BYTES];
    char expected[SIGNER_SUBJECT_SIZE];
    assert_int_equal(signer_hmac(signer, SIGNER_KEY_PAIRWISE, "WEB0123\0shop.example", 20, mac),
                     0);
    assert_int_equal(base32_lower_encode(mac, sizeof mac, SIGNER_SUBJECT_CHARS, expected,
                                         sizeof expected),
                     0);
    assert_string_equal(sub, expected);
    json_t *payload = jws_payload(token);
    assert_non_null(payload);
    assert_string_equal(json_string_value(json_object_get(payload, "sub")), sub);
    assert_string_equal(json_string_value(json_object_get(payload, "nonce")), "n-1");
    assert_string_equal(json_string_value(json_object_get(payload, "aud")), "platform-1");
    json_decref(payload);
    free(token);
    /* Another sector, another sub; the same sector, the same one. */
    char other[SIGNER_SUBJECT_SIZE];
    assert_int_equal(signer_sign_id_token_pairwise(signer, kid, "bank.example", "WEB0123",
                                                   claims, other, &token),
                     0);
    assert_string_not_equal(other, sub);
    free(token);
    assert_int_equal(signer_sign_id_token_pairwise(signer, kid, "shop.example", "WEB0123",
                                                   claims, other, &token),
                     0);
    assert_string_equal(other, sub);
    free(token);

    /* Refused, with nothing out: a sub of the caller's, an empty web
     * number or sector, an over-long one, a foreign issuer, not JSON, a
     * bad kid. */
    char with_sub[512], foreign[512], long_sector[SIGNER_SECTOR_MAX_BYTES + 2];
    snprintf(with_sub, sizeof with_sub, "{\"iss\":\"https://id.example\",\"aud\":\"p\","
             "\"sub\":\"chosen\",\"iat\":%lld,\"exp\":%lld}", now, now + 60);
    snprintf(foreign, sizeof foreign, "{\"iss\":\"https://evil.example\",\"aud\":\"p\","
             "\"iat\":%lld,\"exp\":%lld}", now, now + 60);
    memset(long_sector, 's', sizeof long_sector - 1);
    long_sector[sizeof long_sector - 1] = '\0';
    const struct {
        const char *kid, *sector, *web, *claims;
    } refused[] = {
        {kid, "shop.example", "WEB0123", with_sub},
        {kid, "", "WEB0123", claims},
        {kid, "shop.example", "", claims},
        {kid, long_sector, "WEB0123", claims},
        {kid, "shop.example", "W0123456789012345678901234567890", claims},
        {kid, "shop.example", "WEB0123", foreign},
        {kid, "shop.example", "WEB0123", "not json"},
        {"../master", "shop.example", "WEB0123", claims},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        strcpy(sub, "x");
        assert_int_equal(signer_sign_id_token_pairwise(signer, refused[i].kid, refused[i].sector,
                                                       refused[i].web, refused[i].claims, sub,
                                                       &token),
                         -1);
        assert_null(token);
        assert_string_equal(sub, "");
    }
    signer_close(signer);
}

static void
test_certificate_policy(void **state)
{
    struct fixture *f = *state;
    struct signer *signer = open_full(f);
    EVP_PKEY *device = EVP_EC_gen("P-256");
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES], *der = NULL, *cursor = spki;
    size_t der_length = 0;
    int spki_length = i2d_PUBKEY(device, &cursor);
    assert_true(spki_length > 0);
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(signer_issue_certificate(signer, 1, spki, (size_t)spki_length,
                                              "0123456789ABCDEF", now, &der, &der_length), 0);
    const unsigned char *p = der;
    X509 *certificate = d2i_X509(NULL, &p, (long)der_length);
    assert_non_null(certificate);
    char cn[64];
    assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(certificate),
                                               NID_commonName, cn, sizeof cn), 16);
    assert_string_equal(cn, "0123456789ABCDEF");
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(certificate), device), 1);
    uint8_t issuing[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t issuing_length = 0;
    assert_int_equal(signer_public_key(signer, SIGNER_KEY_ISSUING_CA, issuing, &issuing_length),
                     0);
    const uint8_t *q = issuing;
    EVP_PKEY *ca = d2i_PUBKEY(NULL, &q, (long)issuing_length);
    assert_int_equal(X509_verify(certificate, ca), 1);
    EVP_PKEY_free(ca);
    X509_free(certificate);
    free(der);
    /* Not a web number (a name, lower case, too long, a letter Crockford
     * leaves out), a key that is not P-256, a time past 9999: refused. */
    const char *names[] = {"Zhang San", "0123456789abcdef", "0123456789ABCDEFG",
                           "0123456789ABCDEI", ""};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        assert_int_equal(signer_issue_certificate(signer, 1, spki, (size_t)spki_length,
                                                  names[i], now, &der, &der_length), -1);
    EVP_PKEY *other = EVP_EC_gen("P-384");
    cursor = spki;
    int other_length = i2d_PUBKEY(other, &cursor);
    assert_int_equal(signer_issue_certificate(signer, 1, spki, (size_t)other_length,
                                              "0123456789ABCDEF", now, &der, &der_length), -1);
    assert_int_equal(signer_issue_certificate(signer, 1, spki, 10, "0123456789ABCDEF", now, &der,
                                              &der_length), -1);
    assert_null(der);
    EVP_PKEY_free(other);
    EVP_PKEY_free(device);
    /* A signer without the CA (keys only) issues nothing; neither does
     * one that holds no root CA key it could use: the keyring never loads
     * it, and no operation names it. */
    cursor = spki;
    assert_int_equal(signer_issue_certificate(f->signer, 1, spki, 91, "0123456789ABCDEF", now,
                                              &der, &der_length), -1);
    uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t out_length = 0;
    assert_int_equal(signer_public_key(signer, SIGNER_KEY_ROOT_CA, out, &out_length), -1);
    assert_int_equal(signer_public_key(signer, SIGNER_KEY_MASTER, out, &out_length), -1);
    signer_close(signer);
}

static void
test_ca_certificates(void **state)
{
    struct fixture *f = *state;
    char path[1100];
    snprintf(path, sizeof path, "%s/issuing-ca.pem", f->pki);
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    X509 *issuing = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    snprintf(path, sizeof path, "%s/root-ca.pem", f->pki);
    file = fopen(path, "r");
    assert_non_null(file);
    X509 *root = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    assert_non_null(issuing);
    assert_non_null(root);
    EVP_PKEY *root_key = X509_get0_pubkey(root);
    assert_int_equal(X509_verify(issuing, root_key), 1);
    assert_int_equal(X509_verify(root, root_key), 1);
    assert_int_equal(X509_check_ca(issuing), 1);
    /* The issuing CA's public key is the signer's issuing key. */
    uint8_t der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0;
    assert_int_equal(signer_public_key(f->signer, SIGNER_KEY_ISSUING_CA, der, &length), 0);
    uint8_t *cert_der = NULL;
    int cert_length = i2d_PUBKEY(X509_get0_pubkey(issuing), &cert_der);
    assert_int_equal((size_t)cert_length, length);
    assert_memory_equal(cert_der, der, length);
    OPENSSL_free(cert_der);
    X509_free(issuing);
    X509_free(root);
}

/* A PEM certificate of the pki folder. */
static X509 *
read_pki_certificate(const struct fixture *f, const char *file)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", f->pki, file);
    FILE *stream = fopen(path, "r");
    assert_non_null(stream);
    X509 *certificate = PEM_read_X509(stream, NULL, NULL, NULL);
    fclose(stream);
    assert_non_null(certificate);
    return certificate;
}

/* `cyberid ca rotate`: generation 2 under the same root, its key in
 * keys/; a signer opened after it issues from 2 only, signs OCSP and CRLs
 * of either, names /crl/2 in generation 2's certificates; one opened with
 * generations = 1 knows 1 only. */
static void
test_issuing_generations(void **state)
{
    struct fixture *f = *state;
    char err[256], path[1100];
    unsigned generation = 0;
    assert_int_equal(signer_issuing_ca_rotate(f->keys, f->pki, &generation, err, sizeof err),
                     0);
    assert_int_equal(generation, 2);
    struct stat info;
    snprintf(path, sizeof path, "%s/issuing-ca-2.key.pem", f->keys);
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
    X509 *root = read_pki_certificate(f, "root-ca.pem");
    X509 *first = read_pki_certificate(f, "issuing-ca.pem");
    X509 *second = read_pki_certificate(f, "issuing-ca-2.pem");
    assert_int_equal(X509_verify(second, X509_get0_pubkey(root)), 1);
    assert_int_equal(X509_check_ca(second), 1);
    assert_int_not_equal(X509_NAME_cmp(X509_get_subject_name(first),
                                       X509_get_subject_name(second)), 0);

    struct signer *signer = open_full(f);
    uint8_t der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0;
    assert_int_equal(signer_issuing_public_key(signer, 2, der, &length), 0);
    const uint8_t *q = der;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &q, (long)length);
    assert_int_equal(EVP_PKEY_eq(key, X509_get0_pubkey(second)), 1);
    EVP_PKEY_free(key);
    assert_int_equal(signer_issuing_public_key(signer, 3, der, &length), -1);

    EVP_PKEY *device = EVP_EC_gen("P-256");
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES], *cursor = spki, *cert = NULL;
    size_t cert_length = 0;
    int spki_length = i2d_PUBKEY(device, &cursor);
    int64_t now = (int64_t)time(NULL);
    /* Only the newest issues. */
    assert_int_equal(signer_issue_certificate(signer, 1, spki, (size_t)spki_length,
                                              "0123456789ABCDEF", now, &cert, &cert_length), -1);
    assert_int_equal(signer_issue_certificate(signer, 2, spki, (size_t)spki_length,
                                              "0123456789ABCDEF", now, &cert, &cert_length), 0);
    const unsigned char *p = cert;
    X509 *issued = d2i_X509(NULL, &p, (long)cert_length);
    assert_non_null(issued);
    assert_int_equal(X509_verify(issued, X509_get0_pubkey(second)), 1);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(issued),
                                   X509_get_subject_name(second)), 0);
    CRL_DIST_POINTS *points = X509_get_ext_d2i(issued, NID_crl_distribution_points, NULL, NULL);
    assert_non_null(points);
    GENERAL_NAME *uri =
        sk_GENERAL_NAME_value(sk_DIST_POINT_value(points, 0)->distpoint->name.fullname, 0);
    assert_string_equal((const char *)ASN1_STRING_get0_data(uri->d.uniformResourceIdentifier),
                        "https://id.example/crl/2");
    CRL_DIST_POINTS_free(points);
    free(cert);

    /* Each generation signs its own CRL; a third does not exist. */
    for (unsigned g = 1; g <= 3; g++) {
        uint8_t *crl_der = NULL;
        size_t crl_length = 0;
        int status = signer_sign_crl(signer, g, NULL, 0, 1, now, &crl_der, &crl_length);
        assert_int_equal(status, g <= 2 ? 0 : -1);
        if (status != 0)
            continue;
        const unsigned char *r = crl_der;
        X509_CRL *crl = d2i_X509_CRL(NULL, &r, (long)crl_length);
        assert_non_null(crl);
        assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(g == 1 ? first : second)), 1);
        X509_CRL_free(crl);
        free(crl_der);
    }
    /* An OCSP "good" for generation 2's certificate, signed by 2; the same
     * claim asked of generation 1 is refused (not its CertID). */
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), issued, second);
    uint8_t *id_der = NULL;
    int id_length = i2d_OCSP_CERTID(id, &id_der);
    struct signer_ocsp_entry entry = {.cert_id = id_der, .cert_id_length = (size_t)id_length,
                                      .state = SIGNER_CERT_GOOD};
    uint8_t *response = NULL;
    size_t response_length = 0;
    assert_int_equal(signer_sign_ocsp(signer, 1, &entry, 1, NULL, 0, now, &response,
                                      &response_length), -1);
    assert_int_equal(signer_sign_ocsp(signer, 2, &entry, 1, NULL, 0, now, &response,
                                      &response_length), 0);
    const unsigned char *r = response;
    OCSP_RESPONSE *parsed = d2i_OCSP_RESPONSE(NULL, &r, (long)response_length);
    OCSP_BASICRESP *basic = OCSP_response_get1_basic(parsed);
    assert_non_null(basic);
    assert_int_equal(OCSP_basic_verify(basic, NULL, NULL, OCSP_NOVERIFY | OCSP_NOCHAIN |
                                                            OCSP_NOEXPLICIT), 1);
    STACK_OF(X509) *signers = sk_X509_new_null();
    sk_X509_push(signers, second);
    assert_int_equal(OCSP_basic_verify(basic, signers, NULL, OCSP_TRUSTOTHER | OCSP_NOVERIFY), 1);
    sk_X509_free(signers);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(parsed);
    free(response);
    OPENSSL_free(id_der);
    OCSP_CERTID_free(id);
    X509_free(issued);
    signer_close(signer);

    /* Told to load one generation (what a signer restarted after a
     * rotate is told): 1 issues, 2 is unknown. */
    struct signer_options options = {
        .keys_dir = f->keys, .pki_dir = f->pki, .issuer = "https://id.example",
        .ocsp_url = "https://id.example/ocsp", .crl_url = "https://id.example/crl",
        .generations = 1};
    assert_int_equal(signer_open_local(&options, &signer, err, sizeof err), 0);
    assert_int_equal(signer_issue_certificate(signer, 1, spki, (size_t)spki_length,
                                              "0123456789ABCDEF", now, &cert, &cert_length), 0);
    free(cert);
    assert_int_equal(signer_issuing_public_key(signer, 2, der, &length), -1);
    signer_close(signer);
    options.generations = 3;
    assert_int_equal(signer_open_local(&options, &signer, err, sizeof err), -1);

    /* A generation whose key file is missing: the signer does not start. */
    snprintf(path, sizeof path, "%s/issuing-ca-2.key.pem", f->keys);
    assert_int_equal(unlink(path), 0);
    options.generations = 0;
    assert_int_equal(signer_open_local(&options, &signer, err, sizeof err), -1);
    EVP_PKEY_free(device);
    X509_free(root);
    X509_free(first);
    X509_free(second);
}

/* The log's checkpoints: the first is signed; the next only with a
 * consistency proof from the last one signed; a fork, a shrink, a
 * forged proof or another old checkpoint are refused. The note carries
 * the body and one signature line of the key's origin. */
static void
test_checkpoint_policy(void **state)
{
    struct fixture *f = *state;
    char origin[SIGNER_LOG_ORIGIN_MAX], vkey[SIGNER_LOG_VKEY_MAX], *note = NULL;
    assert_int_equal(signer_log_key(f->signer, origin, vkey), 0);
    assert_memory_equal(origin, "cyberid/", 8);
    assert_int_equal(strlen(origin), 8 + 16);
    assert_memory_equal(vkey, origin, strlen(origin));
    /* A tree of 8 leaves, grown from 5. */
    tlog_hash leaves[8], stored[32];
    int64_t stored_count = 0;
    for (int64_t i = 0; i < 8; i++) {
        char text[8];
        snprintf(text, sizeof text, "e%lld", (long long)i);
        leaves[i] = tlog_leaf_hash(text, strlen(text));
        int64_t indexes[TLOG_PROOF_MAX];
        tlog_hash read[TLOG_PROOF_MAX], added[TLOG_PROOF_MAX + 1];
        size_t count = 0, added_count = 0;
        tlog_append_indexes(i, indexes, &count);
        for (size_t j = 0; j < count; j++)
            read[j] = stored[indexes[j]];
        tlog_append_hashes(i, &leaves[i], read, added, &added_count);
        for (size_t j = 0; j < added_count; j++)
            stored[stored_count++] = added[j];
    }
    tlog_hash roots[9], proof[TLOG_PROOF_MAX];
    for (int64_t n = 1; n <= 8; n++) {
        int64_t indexes[TLOG_INDEXES_MAX];
        tlog_hash read[TLOG_INDEXES_MAX];
        size_t count = 0;
        tlog_root_indexes(n, indexes, &count);
        for (size_t j = 0; j < count; j++)
            read[j] = stored[indexes[j]];
        roots[n] = tlog_root_from(n, read);
    }
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX];
    size_t count = 0, length = 0;
    assert_int_equal(tlog_consistency_indexes(5, 8, indexes, &count), 0);
    for (size_t j = 0; j < count; j++)
        read[j] = stored[indexes[j]];
    tlog_consistency_from(5, 8, read, proof, &length);
    static const uint8_t zero[32];

    assert_int_equal(signer_sign_checkpoint(f->signer, 5, roots[5].bytes, 0, zero, NULL, 0,
                                            &note), 0);
    char expected[TLOG_CHECKPOINT_MAX + SIGNER_LOG_ORIGIN_MAX + 8];
    char body[TLOG_CHECKPOINT_MAX];
    assert_int_equal(tlog_checkpoint_format(origin, 5, &roots[5], body, sizeof body), 0);
    snprintf(expected, sizeof expected, "%s\n\xe2\x80\x94 %s ", body, origin);
    assert_memory_equal(note, expected, strlen(expected));
    free(note);
    /* Not from the last signed one (0 leaves): refused; a fork of the same
     * size, another tree of 5 leaves: refused. */
    assert_int_equal(signer_sign_checkpoint(f->signer, 8, roots[8].bytes, 0, zero, NULL, 0,
                                            &note), -1);
    assert_int_equal(signer_sign_checkpoint(f->signer, 5, roots[4].bytes, 0, zero, NULL, 0,
                                            &note), -1);
    /* A forged proof, a wrong old root: refused. */
    tlog_hash forged[TLOG_PROOF_MAX];
    memcpy(forged, proof, sizeof forged);
    forged[0].bytes[0] ^= 1;
    assert_int_equal(signer_sign_checkpoint(f->signer, 8, roots[8].bytes, 5, roots[5].bytes,
                                            (const uint8_t *)forged, length, &note), -1);
    assert_int_equal(signer_sign_checkpoint(f->signer, 8, roots[8].bytes, 5, roots[4].bytes,
                                            (const uint8_t *)proof, length, &note), -1);
    /* The right proof from the last signed: signed; the same again too. */
    assert_int_equal(signer_sign_checkpoint(f->signer, 8, roots[8].bytes, 5, roots[5].bytes,
                                            (const uint8_t *)proof, length, &note), 0);
    free(note);
    assert_int_equal(signer_sign_checkpoint(f->signer, 8, roots[8].bytes, 5, roots[5].bytes,
                                            (const uint8_t *)proof, length, &note), 0);
    free(note);
    /* Back to the older one: refused (a shrink). */
    assert_int_equal(signer_sign_checkpoint(f->signer, 5, roots[5].bytes, 0, zero, NULL, 0,
                                            &note), -1);
    /* A data folder without the key signs nothing. */
    char path[1100], err[256];
    snprintf(path, sizeof path, "%s/log-checkpoint.key.pem", f->keys);
    assert_int_equal(unlink(path), 0);
    struct signer *keyless = NULL;
    assert_int_equal(signer_open(f->keys, &keyless, err, sizeof err), 0);
    assert_int_equal(signer_log_key(keyless, origin, vkey), -1);
    assert_int_equal(signer_sign_checkpoint(keyless, 5, roots[5].bytes, 0, zero, NULL, 0, &note),
                     -1);
    signer_close(keyless);
    assert_int_equal(signer_log_key_create(f->keys, err, sizeof err), 0);
    assert_int_equal(signer_log_key_create(f->keys, err, sizeof err), -1);
}

/* ── Token-signing keys by kid ─────────────────────────────────────────── */

static void
test_kid_is_valid(void **state)
{
    (void)state;
    char kid[SIGNER_KID_MAX + 2];
    assert_int_equal(signer_kid_is_valid(""), 0);
    assert_int_equal(signer_kid_is_valid("a"), 1);
    assert_int_equal(signer_kid_is_valid("Z"), 1);
    assert_int_equal(signer_kid_is_valid("0"), 1);
    assert_int_equal(signer_kid_is_valid("_"), 1);
    assert_int_equal(signer_kid_is_valid("-"), 1);
    assert_int_equal(signer_kid_is_valid("ABCXYZabcxyz0189_-"), 1);
    assert_int_equal(signer_kid_is_valid("2026-05_k1"), 1);
    /* SIGNER_KID_MAX characters, and one more. */
    memset(kid, 'k', sizeof kid);
    kid[SIGNER_KID_MAX] = '\0';
    assert_int_equal(signer_kid_is_valid(kid), 1);
    kid[SIGNER_KID_MAX] = 'k';
    kid[SIGNER_KID_MAX + 1] = '\0';
    assert_int_equal(signer_kid_is_valid(kid), 0);
    /* A bad character at the last allowed position is still seen. */
    kid[SIGNER_KID_MAX] = '\0';
    kid[SIGNER_KID_MAX - 1] = '.';
    assert_int_equal(signer_kid_is_valid(kid), 0);
    const char *bad[] = {"/", "a/b", "../x", ".", "..", "a.b", ".pem", "a b", " a",
                         "a\t", "a\n", "a+b", "a=b", "a:b", "a\\b", "a%2F", "a~b",
                         "a*", "a'b", "\xc3\xa9", "k\x7f", "k\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (signer_kid_is_valid(bad[i]))
            fail_msg("kid \"%s\" accepted", bad[i]);
}

/* The public key (DER SPKI) of the PEM private key at path, read with
 * OpenSSL directly; returns its length. */
static size_t
file_public_key(const char *path, uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES])
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    EVP_PKEY *pkey = PEM_read_PrivateKey(file, NULL, NULL, NULL);
    fclose(file);
    assert_non_null(pkey);
    int length = i2d_PUBKEY(pkey, NULL);
    assert_true(length > 0 && length <= SIGNER_PUBLIC_KEY_MAX_BYTES);
    uint8_t *cursor = out;
    assert_int_equal(i2d_PUBKEY(pkey, &cursor), length);
    EVP_PKEY_free(pkey);
    return (size_t)length;
}


/* Signs an ID token with kid (a signer with an issuer, over the same
 * keys folder) and checks its signature against the signer's public key of
 * kid and against `expected_public` when given. */
static void
sign_and_verify(struct signer *signer, const char *kid,
                const uint8_t *expected_public, size_t expected_length)
{
    struct signer *issuer = signer;
    char claims[256];
    long long now = (long long)time(NULL);
    claims_text(claims, sizeof claims, "https://id.example", now, now + 60, "");
    char *token = NULL;
    if (signer_sign_id_token(issuer, kid, claims, &token) != 0)
        fail_msg("kid %s does not sign", kid);
    uint8_t public_der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t public_length = 0;
    assert_int_equal(signer_token_public_key(signer, kid, public_der, &public_length), 0);
    if (expected_public != NULL) {
        assert_int_equal(public_length, expected_length);
        assert_memory_equal(public_der, expected_public, expected_length);
    }
    assert_true(jws_verifies(issuer, kid, token));
    token[strlen(token) - 2] ^= 1; /* the signature altered */
    assert_false(jws_verifies(issuer, kid, token));
    free(token);
}

static void
token_key_path(const struct fixture *f, const char *kid, char *path, size_t cap)
{
    snprintf(path, cap, "%s/token-%s.pem", f->keys, kid);
}

static void
test_token_key_create(void **state)
{
    struct fixture *f = *state;
    char err[256], path[1200];
    assert_int_equal(signer_token_key_create(f->keys, "k1", err, sizeof err), 0);
    token_key_path(f, "k1", path, sizeof path);
    struct stat info;
    assert_int_equal(stat(path, &info), 0);
    assert_true(S_ISREG(info.st_mode));
    assert_int_equal(info.st_mode & 0777, 0600);
    uint8_t before[SIGNER_PUBLIC_KEY_MAX_BYTES], after[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t before_length = file_public_key(path, before);
    /* Creating it again is refused and leaves the key as it was. */
    assert_int_equal(signer_token_key_create(f->keys, "k1", err, sizeof err), -1);
    size_t after_length = file_public_key(path, after);
    assert_int_equal(before_length, after_length);
    assert_memory_equal(before, after, before_length);
    /* Two kids, two keys. */
    assert_int_equal(signer_token_key_create(f->keys, "k2", err, sizeof err), 0);
    token_key_path(f, "k2", path, sizeof path);
    size_t other_length = file_public_key(path, after);
    assert_false(other_length == before_length &&
                 memcmp(before, after, before_length) == 0);
    /* A kid of SIGNER_KID_MAX characters, and one more. */
    char kid[SIGNER_KID_MAX + 2];
    memset(kid, 'm', sizeof kid);
    kid[SIGNER_KID_MAX] = '\0';
    assert_int_equal(signer_token_key_create(f->keys, kid, err, sizeof err), 0);
    token_key_path(f, kid, path, sizeof path);
    assert_int_equal(stat(path, &info), 0);
    kid[SIGNER_KID_MAX] = 'm';
    kid[SIGNER_KID_MAX + 1] = '\0';
    assert_int_equal(signer_token_key_create(f->keys, kid, err, sizeof err), -1);
    token_key_path(f, kid, path, sizeof path);
    assert_int_not_equal(stat(path, &info), 0);
    /* Invalid kids write nothing, anywhere. */
    const char *bad[] = {"", "a.b", "a b", "x/y", "../escape", "..", "."};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (signer_token_key_create(f->keys, bad[i], err, sizeof err) != -1)
            fail_msg("kid \"%s\" created", bad[i]);
        assert_true(err[0] != '\0');
    }
    token_key_path(f, "", path, sizeof path);
    assert_int_not_equal(stat(path, &info), 0);
    token_key_path(f, "a.b", path, sizeof path);
    assert_int_not_equal(stat(path, &info), 0);
    snprintf(path, sizeof path, "%s/escape.pem", f->dir);
    assert_int_not_equal(stat(path, &info), 0);
    /* A missing keys folder is an error, not a crash. */
    snprintf(path, sizeof path, "%s/nowhere", f->dir);
    assert_int_equal(signer_token_key_create(path, "k1", err, sizeof err), -1);
}

static void
test_token_key_after_open(void **state)
{
    struct fixture *f = *state;
    char err[256], path[1200];
    /* The signer was opened by setup(); the key is made afterwards. */
    char claims[256], *token = NULL;
    long long now = (long long)time(NULL);
    claims_text(claims, sizeof claims, "https://id.example", now, now + 60, "");
    assert_int_equal(signer_sign_id_token(f->signer, "2026-05", claims, &token), -1);
    assert_null(token);
    uint8_t public_der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t public_length = 0;
    assert_int_equal(signer_token_public_key(f->signer, "2026-05", public_der,
                                             &public_length), -1);

    assert_int_equal(signer_token_key_create(f->keys, "2026-05", err, sizeof err), 0);
    token_key_path(f, "2026-05", path, sizeof path);
    uint8_t expected[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t expected_length = file_public_key(path, expected);
    /* A failed load was not remembered: the new key signs now. */
    sign_and_verify(f->signer, "2026-05", expected, expected_length);
    /* Twice (from the cache). */
    sign_and_verify(f->signer, "2026-05", expected, expected_length);
    /* It is not the initial token key. */
    uint8_t initial[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t initial_length = 0;
    assert_int_equal(signer_public_key(f->signer, SIGNER_KEY_TOKEN, initial,
                                       &initial_length), 0);
    assert_false(initial_length == expected_length &&
                 memcmp(initial, expected, initial_length) == 0);
    /* A token signed by the kid does not verify under the initial key. */
    char initial_kid[SIGNER_KID_MAX + 1];
    signer_token_initial_kid(f->signer, initial_kid);
    assert_int_equal(signer_sign_id_token(f->signer, "2026-05", claims, &token), 0);
    assert_true(jws_verifies(f->signer, "2026-05", token));
    char *dot = strchr(token, '.');
    char forged[512];
    snprintf(forged, sizeof forged, "%s%s", "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ig", dot);
    free(token);
    assert_false(jws_verifies(f->signer, initial_kid, forged));
    /* Invalid kids are refused without touching the file system. */
    assert_int_equal(signer_sign_id_token(f->signer, "../keys/token-2026-05", claims, &token),
                     -1);
    assert_int_equal(signer_sign_id_token(f->signer, "", claims, &token), -1);
    assert_int_equal(signer_token_public_key(f->signer, "a.b", public_der,
                                             &public_length), -1);
}

static void
test_token_key_mode_refused(void **state)
{
    struct fixture *f = *state;
    char err[256], path[1200];
    assert_int_equal(signer_token_key_create(f->keys, "open", err, sizeof err), 0);
    token_key_path(f, "open", path, sizeof path);
    const mode_t modes[] = {0644, 0640, 0604, 0660, 0700 | 0004};
    uint8_t public_der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t public_length = 0;
    char claims[256], *token = NULL;
    long long now = (long long)time(NULL);
    claims_text(claims, sizeof claims, "https://id.example", now, now + 60, "");
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        if (signer_sign_id_token(f->signer, "open", claims, &token) != -1)
            fail_msg("key file of mode %03o used", (unsigned)modes[i]);
        assert_int_equal(signer_token_public_key(f->signer, "open", public_der,
                                                 &public_length), -1);
    }
    /* Back at 0600 it loads (the refusal was not cached). */
    assert_int_equal(chmod(path, 0600), 0);
    uint8_t expected[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t expected_length = file_public_key(path, expected);
    sign_and_verify(f->signer, "open", expected, expected_length);
    /* A file that is not a P-256 private key is refused. */
    char junk[1200];
    token_key_path(f, "junk", junk, sizeof junk);
    test_write_file(junk, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert_int_equal(chmod(junk, 0600), 0);
    assert_int_equal(sign_token(f->signer, "junk"), -1);
    /* So is an empty file. */
    token_key_path(f, "empty", junk, sizeof junk);
    test_write_file(junk, "");
    assert_int_equal(chmod(junk, 0600), 0);
    assert_int_equal(sign_token(f->signer, "empty"), -1);
}

static void
test_token_key_cache(void **state)
{
    struct fixture *f = *state;
    char err[256], path[1200];
    enum { KEYS = SIGNER_TOKEN_KEYS_CACHED + 1 };
    char kids[KEYS][16];
    uint8_t publics[KEYS][SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t lengths[KEYS];
    for (size_t i = 0; i < KEYS; i++) {
        snprintf(kids[i], sizeof kids[i], "c%zu", i);
        assert_int_equal(signer_token_key_create(f->keys, kids[i], err, sizeof err), 0);
        token_key_path(f, kids[i], path, sizeof path);
        lengths[i] = file_public_key(path, publics[i]);
    }
    /* Fill the cache with c0..c15, then use c0 again: c1 is now the least
     * recently used. */
    for (size_t i = 0; i < SIGNER_TOKEN_KEYS_CACHED; i++)
        sign_and_verify(f->signer, kids[i], publics[i], lengths[i]);
    sign_and_verify(f->signer, kids[0], publics[0], lengths[0]);
    /* The 17th key evicts c1 only. */
    sign_and_verify(f->signer, kids[KEYS - 1], publics[KEYS - 1], lengths[KEYS - 1]);
    /* Remove the files of c0 and c1: c0 is still cached, c1 must be read
     * again and is gone. */
    token_key_path(f, kids[0], path, sizeof path);
    assert_int_equal(unlink(path), 0);
    token_key_path(f, kids[1], path, sizeof path);
    assert_int_equal(unlink(path), 0);
    sign_and_verify(f->signer, kids[0], publics[0], lengths[0]);
    assert_int_equal(sign_token(f->signer, kids[1]), -1);
    /* Every other key still signs, evicting and reloading as it goes. */
    for (size_t round = 0; round < 2; round++)
        for (size_t i = 2; i < KEYS; i++)
            sign_and_verify(f->signer, kids[i], publics[i], lengths[i]);
}

struct sign_thread {
    struct signer *signer;
    char (*kids)[16];
    size_t kid_count;
    size_t start;
    int failures;
};

static void *
sign_many(void *argument)
{
    struct sign_thread *t = argument;
    for (size_t i = 0; i < 60; i++) {
        const char *kid = t->kids[(t->start + i * 7) % t->kid_count];
        uint8_t public_der[SIGNER_PUBLIC_KEY_MAX_BYTES];
        size_t public_length = 0;
        if (sign_token(t->signer, kid) != 0 ||
            signer_token_public_key(t->signer, kid, public_der, &public_length) != 0)
            t->failures++;
    }
    return NULL;
}

static void
test_token_keys_threads(void **state)
{
    struct fixture *f = *state;
    char err[256];
    /* More kids than cache slots, used from several threads: keys are
     * evicted while other threads sign with them. */
    enum { KIDS = SIGNER_TOKEN_KEYS_CACHED + 4, THREADS = 4 };
    char kids[KIDS][16];
    for (size_t i = 0; i < KIDS; i++) {
        snprintf(kids[i], sizeof kids[i], "t%zu", i);
        assert_int_equal(signer_token_key_create(f->keys, kids[i], err, sizeof err), 0);
    }
    pthread_t threads[THREADS];
    struct sign_thread work[THREADS];
    for (size_t i = 0; i < THREADS; i++) {
        work[i] = (struct sign_thread){.signer = f->signer, .kids = kids,
                                       .kid_count = KIDS, .start = i * 5};
        assert_int_equal(pthread_create(&threads[i], NULL, sign_many, &work[i]), 0);
    }
    for (size_t i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(work[i].failures, 0);
    }
}

/* base64url (no padding) of SHA-256(der), cut to SIGNER_INITIAL_KID_CHARS,
 * with OpenSSL's base64 rather than the project's encoder. */
static void
reference_initial_kid(const uint8_t *der, size_t length, char kid[SIGNER_KID_MAX + 1])
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    unsigned char encoded[64];
    SHA256(der, length, digest);
    int n = EVP_EncodeBlock(encoded, digest, sizeof digest);
    assert_int_equal(n, 44);
    for (size_t i = 0; i < SIGNER_INITIAL_KID_CHARS; i++)
        kid[i] = encoded[i] == '+' ? '-' : encoded[i] == '/' ? '_' : (char)encoded[i];
    kid[SIGNER_INITIAL_KID_CHARS] = '\0';
}

static void
test_initial_kid(void **state)
{
    struct fixture *f = *state;
    char kid[SIGNER_KID_MAX + 1], want[SIGNER_KID_MAX + 1];
    memset(kid, '#', sizeof kid);
    signer_token_initial_kid(f->signer, kid);
    assert_int_equal(strlen(kid), SIGNER_INITIAL_KID_CHARS);
    assert_int_equal(SIGNER_INITIAL_KID_CHARS, 16);
    assert_true(signer_kid_is_valid(kid));
    /* From the key file, independently of the signer. */
    char path[1200];
    snprintf(path, sizeof path, "%s/token-signing.key.pem", f->keys);
    uint8_t der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = file_public_key(path, der);
    assert_int_equal(length, 91); /* P-256 SPKI */
    reference_initial_kid(der, length, want);
    assert_string_equal(kid, want);
    /* The kid's public key is SIGNER_KEY_TOKEN's, and it signs. */
    uint8_t token_der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t token_length = 0;
    assert_int_equal(signer_public_key(f->signer, SIGNER_KEY_TOKEN, token_der,
                                       &token_length), 0);
    assert_int_equal(token_length, length);
    assert_memory_equal(token_der, der, length);
    sign_and_verify(f->signer, kid, der, length);
    /* The same after reopening; another data folder has another kid. */
    struct signer *again = NULL;
    char err[256], again_kid[SIGNER_KID_MAX + 1];
    assert_int_equal(signer_open(f->keys, &again, err, sizeof err), 0);
    signer_token_initial_kid(again, again_kid);
    assert_string_equal(again_kid, kid);
    signer_close(again);
    char *dir = test_temp_dir("signer2");
    char keys[1100], pki[1100], other_kid[SIGNER_KID_MAX + 1];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(pki, sizeof pki, "%s/pki", dir);
    assert_int_equal(signer_create_keys(keys, pki, err, sizeof err), 0);
    struct signer *other = NULL;
    assert_int_equal(signer_open(keys, &other, err, sizeof err), 0);
    signer_token_initial_kid(other, other_kid);
    assert_string_not_equal(other_kid, kid);
    /* The first folder's initial kid is just an unknown kid here (its
     * own signs: the refusal is the kid's). */
    signer_close(other);
    struct signer_options options = {.keys_dir = keys, .issuer = "https://id.example"};
    assert_int_equal(signer_open_local(&options, &other, err, sizeof err), 0);
    assert_int_equal(sign_token(other, other_kid), 0);
    assert_int_equal(sign_token(other, kid), -1);
    signer_close(other);
    test_remove_dir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_files_are_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_readable_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_blind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_token_pairwise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_token_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certificate_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_certificates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issuing_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_policy, setup, teardown),
        cmocka_unit_test(test_kid_is_valid),
        cmocka_unit_test_setup_teardown(test_token_key_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_key_after_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_key_mode_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_key_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_keys_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_kid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
