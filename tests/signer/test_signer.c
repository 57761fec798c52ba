/* Tests of the signer: key creation, file permissions, HMAC, data-key
 * wrapping (tamper and misuse refused), ECDSA signatures that verify. */
#include "signer/signer.h"

#include "../test_support.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

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
    assert_int_equal(signer_open(f->keys, &f->signer, err, sizeof err), 0);
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

static void
test_wrap_unwrap(void **state)
{
    struct fixture *f = *state;
    uint8_t key[SIGNER_DATA_KEY_BYTES], back[SIGNER_DATA_KEY_BYTES];
    uint8_t wrapped[SIGNER_WRAPPED_KEY_BYTES], again[SIGNER_WRAPPED_KEY_BYTES];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)i;
    assert_int_equal(signer_wrap_data_key(f->signer, key, "r1", 2, wrapped), 0);
    assert_int_equal(signer_wrap_data_key(f->signer, key, "r1", 2, again), 0);
    assert_memory_not_equal(wrapped, again, sizeof wrapped); /* fresh nonce */
    assert_int_equal(signer_unwrap_data_key(f->signer, wrapped, "r1", 2, back), 0);
    assert_memory_equal(key, back, sizeof key);
    /* Wrong associated data. */
    assert_int_equal(signer_unwrap_data_key(f->signer, wrapped, "r2", 2, back), -1);
    uint8_t zero[SIGNER_DATA_KEY_BYTES] = {0};
    assert_memory_equal(back, zero, sizeof zero);
    /* Every single-bit flip is detected. */
    for (size_t i = 0; i < sizeof wrapped; i++) {
        wrapped[i] ^= 0x01;
        assert_int_equal(signer_unwrap_data_key(f->signer, wrapped, "r1", 2, back), -1);
        wrapped[i] ^= 0x01;
    }
    /* Associated data over the limit is refused. */
    char big[SIGNER_AAD_MAX_BYTES + 1];
    memset(big, 'a', sizeof big);
    assert_int_equal(signer_wrap_data_key(f->signer, key, big, SIGNER_AAD_MAX_BYTES, wrapped), 0);
    assert_int_equal(signer_wrap_data_key(f->signer, key, big, sizeof big, wrapped), -1);
}

static void
test_signatures_verify(void **state)
{
    struct fixture *f = *state;
    const enum signer_key keys[] = {SIGNER_KEY_TOKEN, SIGNER_KEY_ROOT_CA,
                                    SIGNER_KEY_ISSUING_CA};
    uint8_t digest[SIGNER_DIGEST_BYTES];
    SHA256((const uint8_t *)"message", 7, digest);
    for (size_t k = 0; k < 3; k++) {
        uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES];
        size_t length = 0;
        assert_int_equal(signer_sign_digest(f->signer, keys[k], digest, signature,
                                            &length), 0);
        uint8_t public_der[SIGNER_PUBLIC_KEY_MAX_BYTES];
        size_t public_length = 0;
        assert_int_equal(signer_public_key(f->signer, keys[k], public_der,
                                           &public_length), 0);
        const uint8_t *cursor = public_der;
        EVP_PKEY *public_key = d2i_PUBKEY(NULL, &cursor, (long)public_length);
        assert_non_null(public_key);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(public_key, NULL);
        assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
        assert_int_equal(EVP_PKEY_verify(ctx, signature, length, digest, sizeof digest), 1);
        digest[0] ^= 1;
        assert_int_not_equal(EVP_PKEY_verify(ctx, signature, length, digest, sizeof digest), 1);
        digest[0] ^= 1;
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(public_key);
    }
    uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES];
    size_t length = 99;
    assert_int_equal(signer_sign_digest(f->signer, SIGNER_KEY_MASTER, digest,
                                        signature, &length), -1);
    assert_int_equal(length, 0);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_files_are_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_readable_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_unwrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signatures_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_certificates, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
