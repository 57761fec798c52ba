/* Tests of the vault: blind indexes are deterministic and domain-separated,
 * and a record sealed under one gets it in its id (sealed records
 * themselves are the signer's: tests/signer). */
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

/* vault_seal_blind(): sealed under the prefix and the same blind index
 * vault_blind_index() gives, in hex; a domain or value over its limit is
 * refused before the signer is asked. */
static void
test_seal_blind(void **state)
{
    struct fixture *f = *state;
    uint8_t index[VAULT_INDEX_BYTES], *sealed = NULL;
    size_t sealed_length = 0;
    char id[SIGNER_BLIND_RECORD_ID_SIZE], expected[SIGNER_BLIND_RECORD_ID_SIZE] = "x:";
    assert_int_equal(vault_blind_index(f->signer, "national_id", "123", 3, index), 0);
    for (size_t i = 0; i < sizeof index; i++)
        snprintf(expected + 2 + 2 * i, 3, "%02x", index[i]);
    assert_int_equal(vault_seal_blind(f->signer, "national_id", "123", 3, "x:", "{}", 2, id,
                                      &sealed, &sealed_length), 0);
    assert_string_equal(id, expected);
    assert_int_equal(sealed_length, 2 + SIGNER_SEAL_OVERHEAD_BYTES);
    free(sealed);
    char domain[VAULT_DOMAIN_MAX + 2];
    memset(domain, 'd', sizeof domain - 1);
    domain[sizeof domain - 1] = '\0';
    assert_int_equal(vault_seal_blind(f->signer, domain, "123", 3, "x:", "{}", 2, id, &sealed,
                                      &sealed_length), -1);
    assert_null(sealed);
    assert_string_equal(id, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blind_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_blind, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
