/* Tests of the janitor (src/service/janitor.c) on SQLite and PostgreSQL:
 * one round purges what has expired and nothing else; two nodes sharing a
 * database take turns by the lease, and a stopped node's lease passes to
 * another once it expires; the thread runs its first round at once and
 * stops cleanly. */
#include "service/janitor.h"

#include "../test_db.h"

#include <time.h>

struct fixture {
    char *dir;
    char location[TEST_DB_LOCATION_MAX];
    struct store *store;
    struct signer *signer;      /* seals the events of ended suspensions */
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("janitor");
    test_db_location(f->dir, f->location, sizeof f->location);
    assert_int_equal(store_open(f->location, 2, 1, &f->store, err, sizeof err), 0);
    char keys[600], pki[600];
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
    store_close(f->store);
    signer_close(f->signer);
    test_db_drop(f->location);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

/* A challenge and a used jti expiring at `expires_at`. */
static void
expiring_rows(struct store *store, const char *id, int64_t expires_at)
{
    struct store_conn *conn = store_acquire(store);
    struct store_challenge challenge = {.expires_at = expires_at};
    snprintf(challenge.id, sizeof challenge.id, "%s", id);
    strcpy(challenge.nonce, "n");
    strcpy(challenge.action, "turn_left");
    int fresh = 0;
    assert_int_equal(store_challenge_insert(conn, &challenge), 0);
    assert_int_equal(store_token_use(conn, id, expires_at, &fresh), 0);
    assert_int_equal(fresh, 1);
    store_release(store, conn);
}

static void
test_rounds_take_turns_by_the_lease(void **state)
{
    struct fixture *f = *state;
    const int64_t t = 1800000000;
    expiring_rows(f->store, "old", t - 1);
    expiring_rows(f->store, "new", t + 1000);
    int held = 0;
    struct store_purge_counts counts;
    /* Node A purges what expired before t, and only that. */
    assert_int_equal(janitor_round(f->store, f->signer, "node-a", t, 10, 0, &held, &counts), 0);
    assert_true(held);
    assert_int_equal(counts.challenges, 1);
    assert_int_equal(counts.used_tokens, 1);
    /* Node B, meanwhile: A holds the lease (3 intervals), B does nothing. */
    expiring_rows(f->store, "older", t - 5);
    assert_int_equal(janitor_round(f->store, f->signer, "node-b", t + 5, 10, 0, &held, &counts), 0);
    assert_false(held);
    assert_int_equal(counts.challenges, 0);
    /* A renews; B still waits. A stops; 30 s later its lease has run out
     * and B takes over, purging what A left. */
    assert_int_equal(janitor_round(f->store, f->signer, "node-a", t + 10, 10, 0, &held, &counts), 0);
    assert_true(held);
    assert_int_equal(counts.challenges, 1);
    expiring_rows(f->store, "oldest", t - 9);
    assert_int_equal(janitor_round(f->store, f->signer, "node-b", t + 39, 10, 0, &held, &counts), 0);
    assert_false(held);
    assert_int_equal(janitor_round(f->store, f->signer, "node-b", t + 41, 10, 0, &held, &counts), 0);
    assert_true(held);
    assert_int_equal(counts.challenges, 1);
    /* The challenge that has not expired is still there to be taken. */
    struct store_conn *conn = store_acquire(f->store);
    struct store_challenge taken;
    int ok = 0;
    assert_int_equal(store_challenge_take(conn, "new", t + 41, &taken, &ok), 0);
    assert_true(ok);
    store_release(f->store, conn);
}

/* A pending login n, created at `created`, expiring at `expires`. */
static void
pending_login(struct store_conn *conn, unsigned char n, int64_t created, int64_t expires)
{
    struct store_oidc_login login = {
        .redirect_uri = "https://rp/cb", .claims = "[]", .code_challenge = "c",
        .created_at = created, .expires_at = expires, .purge_at = expires + 3600,
    };
    memset(login.login_hash, n, sizeof login.login_hash);
    memset(login.user_code_hash, n + 100, sizeof login.user_code_hash);
    memset(login.code_hash, n + 200, sizeof login.code_hash);
    strcpy(login.client_id, "client");
    int inserted = 0;
    assert_int_equal(store_oidc_login_insert(conn, &login, &inserted), 0);
    assert_int_equal(inserted, 1);
}

static int
login_exists(struct store_conn *conn, unsigned char n)
{
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    memset(hash, n, sizeof hash);
    struct store_oidc_login login;
    int found = 0;
    assert_int_equal(store_oidc_login_get(conn, hash, &login, &found), 0);
    if (found)
        store_oidc_login_clear(&login);
    return found;
}

/* Past the ceiling, the oldest pending logins and challenges go first;
 * decided logins, expired ones (the purge's) and used challenges are not
 * counted, nor trimmed. */
static void
test_ceiling_trims_the_oldest_pending(void **state)
{
    struct fixture *f = *state;
    const int64_t t = 1800000000;
    struct store_conn *conn = store_acquire(f->store);
    for (unsigned char n = 1; n <= 5; n++)
        pending_login(conn, n, t - 60 + n, t + 300);
    pending_login(conn, 6, t - 100, t + 300); /* the oldest, but decided: */
    int changed = 0;
    uint8_t six[STORE_OIDC_HASH_BYTES];
    memset(six, 6, sizeof six);
    assert_int_equal(store_oidc_login_decide(conn, six, STORE_LOGIN_DENIED, NULL, NULL, t,
                                             t + 3600, &changed), 0);
    assert_int_equal(changed, 1);
    pending_login(conn, 7, t - 400, t - 1);   /* expired */
    for (int i = 1; i <= 4; i++) {
        struct store_challenge challenge = {.expires_at = t + 100 * i};
        snprintf(challenge.id, sizeof challenge.id, "c%d", i);
        strcpy(challenge.nonce, "n");
        strcpy(challenge.action, "turn_left");
        assert_int_equal(store_challenge_insert(conn, &challenge), 0);
    }
    struct store_challenge taken;
    int ok = 0;
    assert_int_equal(store_challenge_take(conn, "c4", t, &taken, &ok), 0); /* used */
    assert_true(ok);
    store_release(f->store, conn);

    int held = 0;
    struct store_purge_counts counts;
    assert_int_equal(janitor_round(f->store, f->signer, "node-a", t, 10, 3, &held, &counts), 0);
    assert_true(held);
    assert_int_equal(counts.trimmed_logins, 2);
    assert_int_equal(counts.trimmed_challenges, 0); /* 3 unused: at the ceiling */
    conn = store_acquire(f->store);
    assert_false(login_exists(conn, 1));
    assert_false(login_exists(conn, 2));
    for (unsigned char n = 3; n <= 6; n++)
        assert_true(login_exists(conn, n));
    store_release(f->store, conn);
    /* Under the ceiling: nothing more. A ceiling of 2 takes one challenge,
     * the one that would expire first. */
    assert_int_equal(janitor_round(f->store, f->signer, "node-a", t + 1, 10, 3, &held, &counts), 0);
    assert_int_equal(counts.trimmed_logins, 0);
    assert_int_equal(janitor_round(f->store, f->signer, "node-a", t + 2, 10, 2, &held, &counts), 0);
    assert_int_equal(counts.trimmed_logins, 1);
    assert_int_equal(counts.trimmed_challenges, 1);
    conn = store_acquire(f->store);
    assert_int_equal(store_challenge_take(conn, "c1", t + 2, &taken, &ok), 0);
    assert_false(ok);
    assert_int_equal(store_challenge_take(conn, "c2", t + 2, &taken, &ok), 0);
    assert_true(ok);
    store_release(f->store, conn);
}

static void
test_thread_runs_at_once_and_stops(void **state)
{
    struct fixture *f = *state;
    int64_t now = (int64_t)time(NULL);
    expiring_rows(f->store, "stale", now - 100);
    struct janitor *janitor = NULL;
    char err[256];
    assert_int_equal(janitor_start(f->store, f->signer, 3600, 0, &janitor, err, sizeof err), 0);
    /* Its first round runs at once: wait for it (at most 10 s). */
    int purged = 0;
    for (int i = 0; i < 200 && !purged; i++) {
        struct store_conn *conn = store_acquire(f->store);
        int fresh = 0;
        /* The jti is free again once purged. */
        assert_int_equal(store_token_use(conn, "stale", now + 100, &fresh), 0);
        store_release(f->store, conn);
        purged = fresh;
        if (!purged)
            nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
    }
    assert_true(purged);
    janitor_stop(janitor); /* does not wait out the hour */
    assert_int_equal(janitor_start(f->store, f->signer, 0, 0, &janitor, err, sizeof err), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rounds_take_turns_by_the_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ceiling_trims_the_oldest_pending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_thread_runs_at_once_and_stops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
