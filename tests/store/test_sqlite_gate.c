/* Tests of the SQLite driver's writer gate (store_sqlite.c): a writer of
 * this process waits for another's transaction on the gate, so it never
 * meets SQLite's lock and its busy handler (which sleeps between tries);
 * the gate is let go by a commit, a rollback and a disconnect; a wait
 * longer than the busy timeout ends in a busy error, which the store turns
 * into 503.
 *
 * This file includes the driver's source, to count the busy handler's
 * calls on a connection's sqlite3 handle, and sets its BUSY_TIMEOUT_MS to
 * 300 ms (the service's is 10 s) so that the timeout test waits little. */
#define BUSY_TIMEOUT_MS 300
#include "../../src/store/store_sqlite.c"

#include "../test_support.h"

#include <stdio.h>
#include <unistd.h>

struct fixture {
    char *dir;
    char location[1200];
    void *shared;
    void *first, *second;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("sqlite-gate");
    snprintf(f->location, sizeof f->location, "sqlite:%s/gate.db", f->dir);
    f->shared = store_sqlite_driver.start(f->location, err, sizeof err);
    assert_non_null(f->shared);
    f->first = store_sqlite_driver.connect(f->location, f->shared, err, sizeof err);
    f->second = store_sqlite_driver.connect(f->location, f->shared, err, sizeof err);
    assert_non_null(f->first);
    assert_non_null(f->second);
    assert_int_equal(store_sqlite_driver.exec_script(
                         f->first, "CREATE TABLE item (id INTEGER PRIMARY KEY, tag TEXT);", err,
                         sizeof err),
                     0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    store_sqlite_driver.disconnect(f->first);
    store_sqlite_driver.disconnect(f->second);
    store_sqlite_driver.stop(f->shared);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

static int
insert(void *conn, const char *tag)
{
    char err[256];
    struct store_value value = {.type = STORE_VALUE_TEXT, .data = tag, .length = strlen(tag)};
    return store_sqlite_driver.exec(conn, "INSERT INTO item (tag) VALUES ($1)", &value, 1,
                                    NULL, NULL, NULL, err, sizeof err);
}

static int
count_row(void *context, const struct store_value *columns, size_t count)
{
    assert_int_equal(count, 1);
    *(int64_t *)context = columns[0].integer;
    return 0;
}

static int64_t
items(void *conn)
{
    char err[256];
    int64_t n = -1;
    assert_int_equal(store_sqlite_driver.exec(conn, "SELECT COUNT(*) FROM item", NULL, 0,
                                              count_row, &n, NULL, err, sizeof err),
                     0);
    return n;
}

/* Counts its calls, then lets SQLite try again after 1 ms (at most 10 s). */
static int
counting_busy_handler(void *context, int tries)
{
    ++*(int *)context;
    usleep(1000);
    return tries < 10000;
}

struct waiting_writer {
    void *conn;
    int status;
};

static void *
write_one(void *argument)
{
    struct waiting_writer *w = argument;
    w->status = insert(w->conn, "second");
    return NULL;
}

/* While the first connection's transaction is open, the second's write
 * waits on the gate and is done after the commit, without one call of
 * SQLite's busy handler. Without the gate it is called about 150 times. */
static void
test_writer_waits_on_the_gate(void **state)
{
    struct fixture *f = *state;
    char err[256];
    int busy_calls = 0;
    struct sqlite_connection *second = f->second;
    sqlite3_busy_handler(second->db, counting_busy_handler, &busy_calls);

    assert_int_equal(store_sqlite_driver.begin(f->first, err, sizeof err), 0);
    assert_int_equal(insert(f->first, "first"), 0);
    struct waiting_writer w = {.conn = f->second, .status = -2};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, write_one, &w), 0);
    usleep(150000);
    assert_int_equal(w.status, -2); /* still waiting */
    assert_int_equal(store_sqlite_driver.commit(f->first, err, sizeof err), 0);
    pthread_join(thread, NULL);
    assert_int_equal(w.status, 0);
    assert_int_equal(busy_calls, 0);
    assert_int_equal(items(f->first), 2);
}

/* A wait on the gate past the busy timeout is a busy error, as SQLite's
 * own would be: the store answers 503 for it. */
static void
test_wait_past_timeout_is_busy(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(store_sqlite_driver.begin(f->first, err, sizeof err), 0);
    int64_t started = monotonic_ms();
    assert_int_equal(insert(f->second, "late"), -1);
    assert_true(monotonic_ms() - started >= BUSY_TIMEOUT_MS - 10);
    assert_int_equal(store_sqlite_driver.unavailable(f->second), 1);
    assert_int_equal(store_sqlite_driver.begin(f->second, err, sizeof err), -1);
    assert_non_null(strstr(err, "database is locked"));
    assert_int_equal(store_sqlite_driver.unavailable(f->second), 1);
    assert_int_equal(store_sqlite_driver.commit(f->first, err, sizeof err), 0);
    assert_int_equal(insert(f->second, "now"), 0);
    assert_int_equal(store_sqlite_driver.unavailable(f->second), 0);
}

/* A rollback, a commit and a disconnect each let the gate go: the next
 * writer gets its turn at once rather than after the timeout. */
static void
test_gate_let_go(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(store_sqlite_driver.begin(f->first, err, sizeof err), 0);
    assert_int_equal(insert(f->first, "dropped"), 0);
    store_sqlite_driver.rollback(f->first);
    assert_int_equal(insert(f->second, "after rollback"), 0);

    assert_int_equal(store_sqlite_driver.begin(f->second, err, sizeof err), 0);
    assert_int_equal(insert(f->second, "kept"), 0);
    assert_int_equal(store_sqlite_driver.commit(f->second, err, sizeof err), 0);
    assert_int_equal(insert(f->first, "after commit"), 0);

    /* A connection closed in a transaction: SQLite rolls it back. */
    assert_int_equal(store_sqlite_driver.begin(f->first, err, sizeof err), 0);
    assert_int_equal(insert(f->first, "lost"), 0);
    store_sqlite_driver.disconnect(f->first);
    f->first = store_sqlite_driver.connect(f->location, f->shared, err, sizeof err);
    assert_non_null(f->first);
    assert_int_equal(insert(f->second, "after disconnect"), 0);
    assert_int_equal(items(f->second), 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_waits_on_the_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_past_timeout_is_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate_let_go, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
