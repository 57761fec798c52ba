/* Tests of the login rows in the store (store_oidc.c, "Logins and codes"):
 * a pending login round-trips every field (purpose included, migration 5),
 * is found by login id and by user code (through its lookup), is decided
 * once, not after it expired, and its code is presented by hash. On
 * SQLite and on PostgreSQL (test_db.h). */
#include "oidc/oauth.h"
#include "oidc/oidc.h"
#include "oidc/user_code.h"

#include "../test_db.h"

static int
setup(void **state)
{
    *state = test_db_store_open("login_store");
    return 0;
}

static int
teardown(void **state)
{
    test_db_store_close(*state);
    return 0;
}

#define NOW 1800000000

/* Inserts a pending login with the given secrets; returns *inserted. */
static int
insert(struct store_conn *conn, const char *login_id, const char *user_code,
       const char *purpose, int64_t created_at)
{
    char code[OAUTH_SECRET_SIZE];
    assert_int_equal(oauth_code_for_login(login_id, code), 0);
    struct store_oidc_login login = {
        .client_id = "client-1",
        .redirect_uri = "https://shop.example/cb?x=1",
        .claims = "[\"age_over_18\"]",
        .state = "st",
        .nonce = NULL,
        .purpose = (char *)purpose,
        .code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        .created_at = created_at,
        .expires_at = created_at + OIDC_LOGIN_LIFETIME,
        .purge_at = created_at + OIDC_LOGIN_LIFETIME + OIDC_LOGIN_PURGE_AFTER,
    };
    oauth_hash(login_id, login.login_hash);
    oauth_hash(user_code, login.user_code_hash);
    oauth_hash(code, login.code_hash);
    int inserted = -1;
    assert_int_equal(store_oidc_login_insert(conn, &login, &inserted), 0);
    return inserted;
}

static void
test_round_trip(void **state)
{
    struct test_db_store *f = *state;
    const char *purpose = "Age check \xc3\xa9";
    assert_int_equal(insert(f->conn, "login-one", "BCDFGHJK", purpose, NOW), 1);
    /* Same user code, or same login id: nothing written. */
    assert_int_equal(insert(f->conn, "login-two", "BCDFGHJK", NULL, NOW), 0);
    assert_int_equal(insert(f->conn, "login-one", "CDFGHJKL", NULL, NOW), 0);
    assert_int_equal(insert(f->conn, "login-two", "CDFGHJKL", NULL, NOW), 1);

    uint8_t hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_login login;
    int found = 0;
    oauth_hash("login-one", hash);
    assert_int_equal(store_oidc_login_get(f->conn, hash, &login, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(login.client_id, "client-1");
    assert_string_equal(login.redirect_uri, "https://shop.example/cb?x=1");
    assert_string_equal(login.claims, "[\"age_over_18\"]");
    assert_string_equal(login.state, "st");
    assert_null(login.nonce);
    assert_string_equal(login.purpose, purpose);
    assert_string_equal(login.status, STORE_LOGIN_PENDING);
    assert_string_equal(login.web_number, "");
    assert_null(login.released);
    assert_int_equal(login.expires_at, NOW + OIDC_LOGIN_LIFETIME);
    assert_int_equal(login.code_uses, 0);
    store_oidc_login_clear(&login);

    struct store_platform platform;
    oauth_hash("CDFGHJKL", hash);
    assert_int_equal(store_oidc_login_get_by_user_code(f->conn, hash, &login, &platform, &found),
                     0);
    assert_int_equal(found, 1);
    assert_null(login.purpose);
    store_oidc_login_clear(&login);
    store_platform_clear(&platform);

    oauth_hash("DFGHJKLM", hash);
    assert_int_equal(store_oidc_login_get_by_user_code(f->conn, hash, &login, &platform, &found),
                     0);
    assert_int_equal(found, 0);
}

static void
test_decide(void **state)
{
    struct test_db_store *f = *state;
    assert_int_equal(insert(f->conn, "login-a", "BCDFGHJK", NULL, NOW), 1);
    uint8_t login_hash[STORE_OIDC_HASH_BYTES], hash[STORE_OIDC_HASH_BYTES];
    int changed = -1, found = 0;
    oauth_hash("login-a", login_hash);

    /* At the last second of its life it can be decided, once. */
    int64_t last = NOW + OIDC_LOGIN_LIFETIME - 1;
    assert_int_equal(store_oidc_login_decide(f->conn, login_hash, STORE_LOGIN_APPROVED,
                                             "WEBNUMBER0000000", "[\"age_over_18\"]", last,
                                             last + OIDC_CODE_LIFETIME, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(store_oidc_login_decide(f->conn, login_hash, STORE_LOGIN_DENIED,
                                             "WEBNUMBER0000000", NULL, last, 0, &changed), 0);
    assert_int_equal(changed, 0);

    /* The code, derived from the login id, finds the approved row. */
    char code[OAUTH_SECRET_SIZE];
    struct store_oidc_login login;
    assert_int_equal(oauth_code_for_login("login-a", code), 0);
    oauth_hash(code, hash);
    char identity_status[STORE_STATUS_MAX];
    assert_int_equal(store_oidc_code_present(f->conn, hash, &login, &found, identity_status),
                     0);
    assert_int_equal(found, 1);
    assert_string_equal(identity_status, ""); /* no identity row here */
    assert_string_equal(login.status, STORE_LOGIN_APPROVED);
    assert_string_equal(login.released, "[\"age_over_18\"]");
    assert_int_equal(login.code_uses, 1);
    assert_int_equal(login.code_expires_at, last + OIDC_CODE_LIFETIME);
    store_oidc_login_clear(&login);

    /* At expires_at it is too late. */
    assert_int_equal(insert(f->conn, "login-b", "CDFGHJKL", NULL, NOW), 1);
    oauth_hash("login-b", login_hash);
    assert_int_equal(store_oidc_login_decide(f->conn, login_hash, STORE_LOGIN_DENIED,
                                             "WEBNUMBER0000000", NULL,
                                             NOW + OIDC_LOGIN_LIFETIME, 0, &changed), 0);
    assert_int_equal(changed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
