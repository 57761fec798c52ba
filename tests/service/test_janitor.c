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
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("janitor");
    test_db_location(f->dir, f->location, sizeof f->location);
    assert_int_equal(store_open(f->location, 2, 1, &f->store, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
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
    assert_int_equal(janitor_round(f->store, "node-a", t, 10, &held, &counts), 0);
    assert_true(held);
    assert_int_equal(counts.challenges, 1);
    assert_int_equal(counts.used_tokens, 1);
    /* Node B, meanwhile: A holds the lease (3 intervals), B does nothing. */
    expiring_rows(f->store, "older", t - 5);
    assert_int_equal(janitor_round(f->store, "node-b", t + 5, 10, &held, &counts), 0);
    assert_false(held);
    assert_int_equal(counts.challenges, 0);
    /* A renews; B still waits. A stops; 30 s later its lease has run out
     * and B takes over, purging what A left. */
    assert_int_equal(janitor_round(f->store, "node-a", t + 10, 10, &held, &counts), 0);
    assert_true(held);
    assert_int_equal(counts.challenges, 1);
    expiring_rows(f->store, "oldest", t - 9);
    assert_int_equal(janitor_round(f->store, "node-b", t + 39, 10, &held, &counts), 0);
    assert_false(held);
    assert_int_equal(janitor_round(f->store, "node-b", t + 41, 10, &held, &counts), 0);
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

static void
test_thread_runs_at_once_and_stops(void **state)
{
    struct fixture *f = *state;
    int64_t now = (int64_t)time(NULL);
    expiring_rows(f->store, "stale", now - 100);
    struct janitor *janitor = NULL;
    char err[256];
    assert_int_equal(janitor_start(f->store, 3600, &janitor, err, sizeof err), 0);
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
    assert_int_equal(janitor_start(f->store, 0, &janitor, err, sizeof err), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rounds_take_turns_by_the_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_runs_at_once_and_stops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
