/* Tests of pairwise subjects: the base32 encoder against the RFC 4648
 * vectors, and subject_pairwise with a real signer, checked against an
 * independent HMAC over the pairwise key file. */
#include "oidc/subject.h"
#include "util/encoding.h"

#include "enroll/web_number.h"
#include "store/store.h"

#include "../test_support.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

struct fixture {
    char *dir;
    char keys[1024];
    struct signer *signer;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char pki[1100], err[256];
    f->dir = test_temp_dir("subject");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(pki, sizeof pki, "%s/pki", f->dir);
    assert_int_equal(signer_create_keys(f->keys, pki, err, sizeof err), 0);
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

/* base32 bit by bit (RFC 4648 §6, lower case), no padding, cut to chars. */
static void
reference_base32(const uint8_t *bytes, size_t length, size_t chars, char *out)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    for (size_t c = 0; c < chars; c++) {
        unsigned value = 0;
        for (size_t b = 0; b < 5; b++) {
            size_t bit = c * 5 + b;
            unsigned set = bit / 8 < length ? (bytes[bit / 8] >> (7 - bit % 8)) & 1 : 0;
            value = value << 1 | set;
        }
        out[c] = alphabet[value];
    }
    out[chars] = '\0';
}

/* The sub computed outside the signer: HMAC-SHA256 keyed with the bytes
 * of keys/pairwise-hmac.key over web || 0x00 || sector. */
static void
reference_sub(const char *keys_dir, const char *web, const char *sector,
              char out[SUBJECT_SIZE])
{
    char path[1100];
    snprintf(path, sizeof path, "%s/pairwise-hmac.key", keys_dir);
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    uint8_t key[64];
    size_t key_length = fread(key, 1, sizeof key, file);
    fclose(file);
    assert_int_equal(key_length, 32);
    size_t web_length = strlen(web), sector_length = strlen(sector);
    uint8_t *message = malloc(web_length + 1 + sector_length);
    assert_non_null(message);
    memcpy(message, web, web_length);
    message[web_length] = 0;
    memcpy(message + web_length + 1, sector, sector_length);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_length = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)key_length, message,
                         web_length + 1 + sector_length, mac, &mac_length));
    assert_int_equal(mac_length, 32);
    free(message);
    reference_base32(mac, mac_length, SUBJECT_CHARS, out);
}

static void
test_base32_rfc4648(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } vectors[] = {
        {"", ""},           {"f", "my"},          {"fo", "mzxq"},
        {"foo", "mzxw6"},   {"foob", "mzxw6yq"},  {"fooba", "mzxw6ytb"},
        {"foobar", "mzxw6ytboi"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
        const uint8_t *in = (const uint8_t *)vectors[i].in;
        size_t length = strlen(vectors[i].in), chars = strlen(vectors[i].out);
        char out[32];
        memset(out, '#', sizeof out);
        assert_int_equal(base32_lower_encode(in, length, chars, out, sizeof out), 0);
        assert_string_equal(out, vectors[i].out);
        /* Every shorter cut is a prefix. */
        for (size_t cut = 0; cut < chars; cut++) {
            assert_int_equal(base32_lower_encode(in, length, cut, out, sizeof out), 0);
            assert_int_equal(strlen(out), cut);
            assert_memory_equal(out, vectors[i].out, cut);
        }
        /* One character past the last meaningful one is refused. */
        assert_int_equal(base32_lower_encode(in, length, chars + 1, out, sizeof out), -1);
        /* The capacity at N (no room for the NUL) and N+1. */
        assert_int_equal(base32_lower_encode(in, length, chars, out, chars), -1);
        memset(out, '#', sizeof out);
        assert_int_equal(base32_lower_encode(in, length, chars, out, chars + 1), 0);
        assert_string_equal(out, vectors[i].out);
        assert_int_equal(out[chars + 1], '#');
    }
}

static void
test_base32_bits(void **state)
{
    (void)state;
    const uint8_t ones[5] = {0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t zeros[5] = {0};
    char out[16];
    assert_int_equal(base32_lower_encode(ones, 5, 8, out, sizeof out), 0);
    assert_string_equal(out, "77777777");
    assert_int_equal(base32_lower_encode(zeros, 5, 8, out, sizeof out), 0);
    assert_string_equal(out, "aaaaaaaa");
    /* Most significant bit first: 0x80 is "qa", 0x01 is "ae". */
    const uint8_t high = 0x80, low = 0x01;
    assert_int_equal(base32_lower_encode(&high, 1, 2, out, sizeof out), 0);
    assert_string_equal(out, "qa");
    assert_int_equal(base32_lower_encode(&low, 1, 2, out, sizeof out), 0);
    assert_string_equal(out, "ae");
    /* Many lengths and cuts agree with the bit-by-bit reference. */
    uint8_t bytes[40];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 37 + 11);
    for (size_t length = 0; length <= sizeof bytes; length++) {
        size_t most = (length * 8 + 4) / 5;
        for (size_t chars = 0; chars <= most; chars++) {
            char got[80], want[80];
            assert_int_equal(base32_lower_encode(bytes, length, chars, got, sizeof got), 0);
            reference_base32(bytes, length, chars, want);
            assert_string_equal(got, want);
        }
        char got[80];
        assert_int_equal(base32_lower_encode(bytes, length, most + 1, got, sizeof got), -1);
    }
}

static int
is_sub(const char *sub)
{
    return strlen(sub) == SUBJECT_CHARS &&
           strspn(sub, "abcdefghijklmnopqrstuvwxyz234567") == SUBJECT_CHARS;
}

static void
test_pairwise(void **state)
{
    struct fixture *f = *state;
    char web[WEB_NUMBER_SIZE], other_web[WEB_NUMBER_SIZE];
    assert_int_equal(web_number_generate(web), 0);
    assert_int_equal(web_number_generate(other_web), 0);
    assert_string_not_equal(web, other_web);

    char a[SUBJECT_SIZE], b[SUBJECT_SIZE], c[SUBJECT_SIZE], d[SUBJECT_SIZE];
    char want[SUBJECT_SIZE];
    assert_int_equal(subject_pairwise(f->signer, web, "shop.example", a), 0);
    assert_true(is_sub(a));
    reference_sub(f->keys, web, "shop.example", want);
    assert_string_equal(a, want);
    /* Stable. */
    assert_int_equal(subject_pairwise(f->signer, web, "shop.example", b), 0);
    assert_string_equal(a, b);
    /* Another sector, another person. */
    assert_int_equal(subject_pairwise(f->signer, web, "bank.example", c), 0);
    assert_true(is_sub(c));
    assert_string_not_equal(a, c);
    reference_sub(f->keys, web, "bank.example", want);
    assert_string_equal(c, want);
    assert_int_equal(subject_pairwise(f->signer, other_web, "shop.example", d), 0);
    assert_string_not_equal(a, d);
    reference_sub(f->keys, other_web, "shop.example", want);
    assert_string_equal(d, want);
    /* The zero byte separates the parts. */
    assert_int_equal(subject_pairwise(f->signer, "AB", "C", a), 0);
    assert_int_equal(subject_pairwise(f->signer, "A", "BC", b), 0);
    assert_string_not_equal(a, b);
    reference_sub(f->keys, "AB", "C", want);
    assert_string_equal(a, want);
    reference_sub(f->keys, "A", "BC", want);
    assert_string_equal(b, want);
    /* Sector identifiers are compared as bytes (case matters). */
    assert_int_equal(subject_pairwise(f->signer, web, "Shop.example", b), 0);
    assert_int_equal(subject_pairwise(f->signer, web, "shop.example", a), 0);
    assert_string_not_equal(a, b);
}

static void
test_pairwise_hides_web_number(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 200; i++) {
        char web[WEB_NUMBER_SIZE], sub[SUBJECT_SIZE];
        assert_int_equal(web_number_generate(web), 0);
        assert_int_equal(subject_pairwise(f->signer, web, "s.example", sub), 0);
        assert_true(is_sub(sub));
        if (strcasestr(sub, web) != NULL)
            fail_msg("%s holds %s", sub, web);
        /* Not even a long piece of it (8 characters, either case). */
        for (size_t at = 0; at + 8 <= WEB_NUMBER_LENGTH; at++) {
            char piece[9];
            memcpy(piece, web + at, 8);
            piece[8] = '\0';
            if (strcasestr(sub, piece) != NULL)
                fail_msg("%s holds %s of %s", sub, piece, web);
        }
    }
}

static void
test_pairwise_other_key(void **state)
{
    struct fixture *f = *state;
    /* Another data folder has another pairwise key: other subs. */
    char *dir = test_temp_dir("subject2");
    char keys[1100], pki[1100], err[256];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(pki, sizeof pki, "%s/pki", dir);
    assert_int_equal(signer_create_keys(keys, pki, err, sizeof err), 0);
    struct signer *other = NULL;
    assert_int_equal(signer_open(keys, &other, err, sizeof err), 0);
    char a[SUBJECT_SIZE], b[SUBJECT_SIZE], want[SUBJECT_SIZE];
    assert_int_equal(subject_pairwise(f->signer, "0123456789ABCDEF", "s.example", a), 0);
    assert_int_equal(subject_pairwise(other, "0123456789ABCDEF", "s.example", b), 0);
    assert_string_not_equal(a, b);
    reference_sub(keys, "0123456789ABCDEF", "s.example", want);
    assert_string_equal(b, want);
    signer_close(other);
    test_remove_dir(dir);
}

static void
test_pairwise_limits(void **state)
{
    struct fixture *f = *state;
    char sub[SUBJECT_SIZE], want[SUBJECT_SIZE];
    /* Web numbers: up to STORE_WEB_NUMBER_MAX - 1 characters (what a store
     * row holds). */
    char web[STORE_WEB_NUMBER_MAX + 1];
    memset(web, 'W', sizeof web);
    web[STORE_WEB_NUMBER_MAX - 1] = '\0';
    assert_int_equal(subject_pairwise(f->signer, web, "s", sub), 0);
    reference_sub(f->keys, web, "s", want);
    assert_string_equal(sub, want);
    web[STORE_WEB_NUMBER_MAX - 1] = 'W';
    web[STORE_WEB_NUMBER_MAX] = '\0';
    memset(sub, 'x', sizeof sub);
    assert_int_equal(subject_pairwise(f->signer, web, "s", sub), -1);
    assert_int_equal(sub[0], '\0');
    /* Sectors: up to SUBJECT_SECTOR_MAX_BYTES. */
    char *sector = malloc(SUBJECT_SECTOR_MAX_BYTES + 2);
    assert_non_null(sector);
    memset(sector, 's', SUBJECT_SECTOR_MAX_BYTES + 1);
    sector[SUBJECT_SECTOR_MAX_BYTES] = '\0';
    assert_int_equal(subject_pairwise(f->signer, "W", sector, sub), 0);
    reference_sub(f->keys, "W", sector, want);
    assert_string_equal(sub, want);
    sector[SUBJECT_SECTOR_MAX_BYTES] = 's';
    sector[SUBJECT_SECTOR_MAX_BYTES + 1] = '\0';
    memset(sub, 'x', sizeof sub);
    assert_int_equal(subject_pairwise(f->signer, "W", sector, sub), -1);
    assert_int_equal(sub[0], '\0');
    free(sector);
    /* Empty parts. */
    memset(sub, 'x', sizeof sub);
    assert_int_equal(subject_pairwise(f->signer, "", "s", sub), -1);
    assert_int_equal(sub[0], '\0');
    memset(sub, 'x', sizeof sub);
    assert_int_equal(subject_pairwise(f->signer, "W", "", sub), -1);
    assert_int_equal(sub[0], '\0');
    /* The smallest inputs work. */
    assert_int_equal(subject_pairwise(f->signer, "W", "s", sub), 0);
    reference_sub(f->keys, "W", "s", want);
    assert_string_equal(sub, want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base32_rfc4648),
        cmocka_unit_test(test_base32_bits),
        cmocka_unit_test_setup_teardown(test_pairwise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pairwise_hides_web_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pairwise_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pairwise_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
