/* Tests of the vault: sealed records open only intact and only for their
 * own record id; blind indexes are deterministic and domain-separated. */
#include "vault/vault.h"

#include "../test_support.h"

struct fixture {
    char *dir;
    struct signer *signer;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char keys[1100], pki[1100], err[256];
    f->dir = test_temp_dir("vault");
    snprintf(keys, sizeof keys, "%s/keys", f->dir);
    snprintf(pki, sizeof pki, "%s/pki", f->dir);
    assert_int_equal(signer_create_keys(keys, pki, err, sizeof err), 0);
    assert_int_equal(signer_open(keys, &f->signer, err, sizeof err), 0);
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
test_round_trip(void **state)
{
    struct fixture *f = *state;
    const char message[] = "{\"name\":\"张三\"}";
    uint8_t *sealed = NULL, *plain = NULL;
    size_t sealed_length = 0, plain_length = 0;
    assert_int_equal(vault_seal(f->signer, "rec-1", message, strlen(message),
                                &sealed, &sealed_length), 0);
    assert_int_equal(sealed_length, strlen(message) + VAULT_OVERHEAD_BYTES);
    assert_null(memmem(sealed, sealed_length, "张三", strlen("张三")));
    assert_int_equal(vault_open(f->signer, "rec-1", sealed, sealed_length, &plain,
                                &plain_length), 0);
    assert_int_equal(plain_length, strlen(message));
    assert_string_equal((char *)plain, message);
    vault_free_plaintext(plain, plain_length);
    free(sealed);

    /* The empty record seals and opens too. */
    assert_int_equal(vault_seal(f->signer, "rec-2", "", 0, &sealed, &sealed_length), 0);
    assert_int_equal(vault_open(f->signer, "rec-2", sealed, sealed_length, &plain,
                                &plain_length), 0);
    assert_int_equal(plain_length, 0);
    vault_free_plaintext(plain, plain_length);
    free(sealed);
}

static void
test_tampering_and_misuse_fail(void **state)
{
    struct fixture *f = *state;
    uint8_t *sealed = NULL, *plain = NULL;
    size_t sealed_length = 0, plain_length = 0;
    assert_int_equal(vault_seal(f->signer, "rec-1", "secret", 6, &sealed,
                                &sealed_length), 0);
    /* Another record's id. */
    assert_int_equal(vault_open(f->signer, "rec-2", sealed, sealed_length, &plain,
                                &plain_length), -1);
    /* Every byte altered. */
    for (size_t i = 0; i < sealed_length; i++) {
        sealed[i] ^= 0x80;
        assert_int_equal(vault_open(f->signer, "rec-1", sealed, sealed_length,
                                    &plain, &plain_length), -1);
        sealed[i] ^= 0x80;
    }
    /* Every truncation. */
    for (size_t n = 0; n < sealed_length; n++)
        assert_int_equal(vault_open(f->signer, "rec-1", sealed, n, &plain,
                                    &plain_length), -1);
    /* Empty and oversized record ids. */
    char long_id[VAULT_RECORD_ID_MAX_BYTES + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(vault_open(f->signer, "", sealed, sealed_length, &plain,
                                &plain_length), -1);
    uint8_t *other = NULL;
    size_t other_length = 0;
    assert_int_equal(vault_seal(f->signer, long_id, "x", 1, &other, &other_length), -1);
    long_id[VAULT_RECORD_ID_MAX_BYTES] = '\0'; /* exactly the limit */
    assert_int_equal(vault_seal(f->signer, long_id, "x", 1, &other, &other_length), 0);
    free(other);
    assert_int_equal(vault_open(f->signer, "rec-1", sealed, sealed_length, &plain,
                                &plain_length), 0);
    vault_free_plaintext(plain, plain_length);
    free(sealed);
}

static void
test_blind_index(void **state)
{
    struct fixture *f = *state;
    uint8_t a[VAULT_INDEX_BYTES], b[VAULT_INDEX_BYTES], c[VAULT_INDEX_BYTES];
    assert_int_equal(vault_blind_index(f->signer, "national_id", "123", 3, a), 0);
    assert_int_equal(vault_blind_index(f->signer, "national_id", "123", 3, b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(vault_blind_index(f->signer, "phone", "123", 3, c), 0);
    assert_memory_not_equal(a, c, sizeof a);
    /* "national_i" + "d123" must differ from "national_id" + "123". */
    assert_int_equal(vault_blind_index(f->signer, "national_i", "d123", 4, c), 0);
    assert_memory_not_equal(a, c, sizeof a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampering_and_misuse_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blind_index, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
