/* Tests of the tokens oidc/oauth.h makes and of the keys the store keeps
 * them under: the format, the time part, keys in the order the tokens were
 * made, and the SHA-256 that tokens of the earlier format (43 random
 * characters) and any other text are still kept under. */
#include "oidc/oauth.h"

#include "../test_support.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <time.h>

static const char BASE64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_";

/* The microseconds of a token's time part, decoded with OpenSSL's base64
 * (not the project's decoder): 11 characters are 66 bits, the last two
 * zero. */
static uint64_t
reference_micros(const char *token)
{
    char padded[13];
    for (size_t i = 0; i < 11; i++)
        padded[i] = token[i] == '-' ? '+' : token[i] == '_' ? '/' : token[i];
    padded[11] = '=';
    padded[12] = '\0';
    unsigned char bytes[9];
    assert_int_equal(EVP_DecodeBlock(bytes, (const unsigned char *)padded, 12), 9);
    uint64_t micros = 0;
    for (size_t i = 0; i < 8; i++)
        micros = micros << 8 | bytes[i];
    return micros;
}

static uint64_t
now_micros(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

static void
test_format(void **state)
{
    (void)state;
    uint64_t before = now_micros();
    char token[OAUTH_TOKEN_SIZE];
    assert_int_equal(oauth_token_new(token), 0);
    uint64_t after = now_micros();
    assert_int_equal(strlen(token), 44);
    assert_int_equal(token[11], '.');
    for (size_t i = 0; i < 44; i++)
        if (i != 11)
            assert_non_null(strchr(BASE64URL, token[i]));
    uint64_t micros = reference_micros(token);
    assert_true(micros >= before && micros <= after);
}

/* The key: the 8 time bytes, then the first 24 bytes of SHA-256(token). */
static void
test_key_parts(void **state)
{
    (void)state;
    char token[OAUTH_TOKEN_SIZE];
    assert_int_equal(oauth_token_new(token), 0);
    uint8_t key[STORE_OIDC_HASH_BYTES], digest[SHA256_DIGEST_LENGTH];
    oauth_token_key(token, key);
    SHA256((const uint8_t *)token, strlen(token), digest);
    uint64_t micros = reference_micros(token);
    for (size_t i = 8; i-- > 0; micros >>= 8)
        assert_int_equal(key[i], micros & 0xff);
    assert_memory_equal(key + 8, digest, 24);
}

/* Keys of tokens made one after the other never go backwards, and no two
 * are equal (the random part). */
static void
test_keys_in_order(void **state)
{
    (void)state;
    enum { COUNT = 2000 };
    static uint8_t keys[COUNT][STORE_OIDC_HASH_BYTES];
    char token[OAUTH_TOKEN_SIZE];
    for (size_t i = 0; i < COUNT; i++) {
        assert_int_equal(oauth_token_new(token), 0);
        oauth_token_key(token, keys[i]);
    }
    for (size_t i = 1; i < COUNT; i++) {
        assert_true(memcmp(keys[i - 1], keys[i], 8) <= 0);
        assert_memory_not_equal(keys[i - 1], keys[i], STORE_OIDC_HASH_BYTES);
    }
}

/* Tokens of the earlier format (43 random base64url characters, whose hash
 * the store already holds) and every other text keep the whole SHA-256,
 * so that an upgrade loses no token and a text that only looks like a
 * token is not read as one. */
static void
test_other_texts_keep_sha256(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",   /* the earlier format */
        "dBjftJeZ4CVPxmB92K27uhbUJU1p1r_wW1gFWFOEjXkA",  /* 44, no '.' */
        "dBjftJeZ4C!.mB92K27uhbUJU1p1r_wW1gFWFOEjXkAA",  /* '.' but not base64url */
        "dBjftJeZ4CA.mB92K27uhbUJU1p1r_wW1gFWFOEjXkAAA", /* 45 characters */
        "dBjftJeZ4CA.mB92K27uhbUJU1p1r_wW1gFWFOEjXk",    /* 43 characters */
        "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        uint8_t key[STORE_OIDC_HASH_BYTES], digest[SHA256_DIGEST_LENGTH];
        oauth_token_key(texts[i], key);
        SHA256((const uint8_t *)texts[i], strlen(texts[i]), digest);
        assert_memory_equal(key, digest, sizeof key);
    }
    /* And the same text in the new format is not. */
    const char *token = "dBjftJeZ4CA.mB92K27uhbUJU1p1r_wW1gFWFOEjXkAA";
    uint8_t key[STORE_OIDC_HASH_BYTES], digest[SHA256_DIGEST_LENGTH];
    oauth_token_key(token, key);
    SHA256((const uint8_t *)token, strlen(token), digest);
    assert_memory_not_equal(key, digest, 8);
    assert_memory_equal(key + 8, digest, 24);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_key_parts),
        cmocka_unit_test(test_keys_in_order),
        cmocka_unit_test(test_other_texts_keep_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
