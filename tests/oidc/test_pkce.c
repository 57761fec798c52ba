/* Tests of PKCE S256 (RFC 7636): the appendix B vector, the 43..128
 * length limits at N and N+1, the character set, and that the constant-time
 * comparison still tells apart a challenge one character off. */
#include "oidc/pkce.h"

#include "../test_support.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

/* RFC 7636 appendix B. */
static const char RFC_VERIFIER[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char RFC_CHALLENGE[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

static const char UNRESERVED[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789-._~";

/* base64url(SHA-256(text)) without padding, computed with OpenSSL's
 * base64 (not the project's encoder). */
static void
reference_challenge(const char *text, char out[64])
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    unsigned char encoded[64];
    SHA256((const uint8_t *)text, strlen(text), digest);
    int n = EVP_EncodeBlock(encoded, digest, sizeof digest);
    assert_int_equal(n, 44);
    size_t j = 0;
    for (int i = 0; i < n && encoded[i] != '='; i++)
        out[j++] = encoded[i] == '+' ? '-' : encoded[i] == '/' ? '_' : (char)encoded[i];
    out[j] = '\0';
}

/* A verifier of `length` unreserved characters, cycling through all 66. */
static char *
make_verifier(size_t length)
{
    char *text = malloc(length + 1);
    assert_non_null(text);
    for (size_t i = 0; i < length; i++)
        text[i] = UNRESERVED[i % (sizeof UNRESERVED - 1)];
    text[length] = '\0';
    return text;
}

static void
test_rfc7636_vector(void **state)
{
    (void)state;
    assert_int_equal(strlen(RFC_VERIFIER), 43);
    assert_true(pkce_is_well_formed(RFC_VERIFIER));
    assert_true(pkce_is_well_formed(RFC_CHALLENGE));
    assert_int_equal(pkce_s256_matches(RFC_VERIFIER, RFC_CHALLENGE), 1);
    /* The reference computation agrees with the RFC too. */
    char reference[64];
    reference_challenge(RFC_VERIFIER, reference);
    assert_string_equal(reference, RFC_CHALLENGE);
    /* The challenge is not its own verifier; plain is not S256. */
    assert_int_equal(pkce_s256_matches(RFC_CHALLENGE, RFC_CHALLENGE), 0);
    assert_int_equal(pkce_s256_matches(RFC_VERIFIER, RFC_VERIFIER), 0);
}

static void
test_length_limits(void **state)
{
    (void)state;
    const size_t lengths[] = {0, 1, 42, 43, 44, 127, 128, 129, 200};
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
        size_t n = lengths[i];
        char *verifier = make_verifier(n);
        char challenge[64];
        reference_challenge(verifier, challenge);
        int expected = n >= PKCE_MIN_CHARS && n <= PKCE_MAX_CHARS;
        if (pkce_is_well_formed(verifier) != expected)
            fail_msg("length %zu: well-formed should be %d", n, expected);
        /* Even with its true challenge, an out-of-range verifier fails. */
        if (pkce_s256_matches(verifier, challenge) != expected)
            fail_msg("length %zu: match should be %d", n, expected);
        free(verifier);
    }
    assert_int_equal(PKCE_MIN_CHARS, 43);
    assert_int_equal(PKCE_MAX_CHARS, 128);
}

static void
test_characters(void **state)
{
    (void)state;
    /* Every unreserved character is accepted, at every kind of position. */
    char *all = make_verifier(sizeof UNRESERVED - 1);
    assert_true(pkce_is_well_formed(all));
    free(all);
    const char bad[] = {' ', '+', '/', '=', '%', '!', '*', '(', ')', '\'', ':', '@',
                        '&', '?', '#', '[', ']', '"', '\\', '\t', '\n', '\x7f',
                        '\x80', '\xc3', '\xff'};
    const size_t positions[] = {0, 21, 42};
    for (size_t b = 0; b < sizeof bad; b++) {
        for (size_t p = 0; p < sizeof positions / sizeof *positions; p++) {
            char verifier[sizeof RFC_VERIFIER];
            memcpy(verifier, RFC_VERIFIER, sizeof verifier);
            verifier[positions[p]] = bad[b];
            if (pkce_is_well_formed(verifier))
                fail_msg("byte 0x%02x at %zu accepted", (unsigned char)bad[b],
                         positions[p]);
            char challenge[64];
            reference_challenge(verifier, challenge);
            assert_int_equal(pkce_s256_matches(verifier, challenge), 0);
        }
    }
    assert_int_equal(pkce_is_well_formed(NULL), 0);
    assert_int_equal(pkce_is_well_formed(""), 0);
}

static void
test_one_character_off_fails(void **state)
{
    (void)state;
    /* Each position of the challenge, changed to a neighbouring valid
     * character: the comparison covers all 43 characters. */
    for (size_t i = 0; i < PKCE_S256_CHALLENGE_CHARS; i++) {
        char challenge[sizeof RFC_CHALLENGE];
        memcpy(challenge, RFC_CHALLENGE, sizeof challenge);
        challenge[i] = challenge[i] == 'A' ? 'B' : 'A';
        if (pkce_s256_matches(RFC_VERIFIER, challenge))
            fail_msg("challenge changed at %zu still matches", i);
    }
    /* Case matters. */
    char upper[sizeof RFC_CHALLENGE];
    memcpy(upper, RFC_CHALLENGE, sizeof upper);
    upper[2] = 'm'; /* "E9M..." -> "E9m..." is not the same challenge */
    assert_int_equal(pkce_s256_matches(RFC_VERIFIER, upper), 0);
    /* Each position of the verifier changed. */
    for (size_t i = 0; i < sizeof RFC_VERIFIER - 1; i++) {
        char verifier[sizeof RFC_VERIFIER];
        memcpy(verifier, RFC_VERIFIER, sizeof verifier);
        verifier[i] = verifier[i] == 'x' ? 'y' : 'x';
        if (pkce_s256_matches(verifier, RFC_CHALLENGE))
            fail_msg("verifier changed at %zu still matches", i);
    }
    /* A challenge that is a prefix, one longer, or absent. */
    char shorter[sizeof RFC_CHALLENGE];
    memcpy(shorter, RFC_CHALLENGE, sizeof shorter);
    shorter[PKCE_S256_CHALLENGE_CHARS - 1] = '\0';
    assert_int_equal(pkce_s256_matches(RFC_VERIFIER, shorter), 0);
    char longer[sizeof RFC_CHALLENGE + 1];
    memcpy(longer, RFC_CHALLENGE, sizeof RFC_CHALLENGE - 1);
    longer[PKCE_S256_CHALLENGE_CHARS] = 'A';
    longer[PKCE_S256_CHALLENGE_CHARS + 1] = '\0';
    assert_int_equal(pkce_s256_matches(RFC_VERIFIER, longer), 0);
    /* A padded challenge is not accepted either. */
    char padded[sizeof RFC_CHALLENGE + 1];
    memcpy(padded, RFC_CHALLENGE, sizeof RFC_CHALLENGE - 1);
    padded[PKCE_S256_CHALLENGE_CHARS] = '=';
    padded[PKCE_S256_CHALLENGE_CHARS + 1] = '\0';
    assert_int_equal(pkce_s256_matches(RFC_VERIFIER, padded), 0);
    assert_int_equal(pkce_s256_matches(RFC_VERIFIER, ""), 0);
    assert_int_equal(pkce_s256_matches(RFC_VERIFIER, NULL), 0);
    assert_int_equal(pkce_s256_matches(NULL, RFC_CHALLENGE), 0);
}

static void
test_other_verifiers(void **state)
{
    (void)state;
    /* Verifiers of several lengths match their independently computed
     * challenge and not each other's. */
    char previous[64] = "";
    for (size_t n = PKCE_MIN_CHARS; n <= PKCE_MAX_CHARS; n += 17) {
        char *verifier = make_verifier(n);
        char challenge[64];
        reference_challenge(verifier, challenge);
        assert_int_equal(pkce_s256_matches(verifier, challenge), 1);
        if (previous[0] != '\0')
            assert_int_equal(pkce_s256_matches(verifier, previous), 0);
        memcpy(previous, challenge, sizeof previous);
        free(verifier);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7636_vector),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_characters),
        cmocka_unit_test(test_one_character_off_fails),
        cmocka_unit_test(test_other_verifiers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
