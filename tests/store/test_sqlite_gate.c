/* Tests of the SQLite driver's writer gate (store_sqlite.c): a writer of
 * this process waits for another's transaction on the gate, and is let in
 * when it ends; the gate is let go by a commit, a rollback and a
 * disconnect; a wait longer than the busy timeout ends in a busy error,
 * which the store turns into 503. Every connection writes on the gate's
 * one handle, whose page cache another connection's commit does not empty;
 * a transaction reads its own writes there, other connections see them
 * once committed.
 *
 * This file includes the driver's source, to read the handles' page-cache
 * counters, and sets its BUSY_TIMEOUT_MS to 300 ms (the service's is 10 s)
 * so that the timeout test waits little. */
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
 * waits on the gate and is done after the commit. */
static void
test_writer_waits_on_the_gate(void **state)
{
    struct fixture *f = *state;
    char err[256];

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
    assert_int_equal(items(f->first), 2);
}

/* Pages a handle fetched from the files since the last call
 * (SQLITE_DBSTATUS_CACHE_MISS, reset by reading it). */
static int
cache_misses(sqlite3 *db)
{
    int misses = -1, highest = 0;
    assert_int_equal(sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &misses, &highest, 1),
                     SQLITE_OK);
    return misses;
}

static sqlite3 *
own_handle(void *conn)
{
    return ((struct sqlite_connection *)conn)->reader.db;
}

/* A transaction of the second connection right after the first's commit
 * finds every page it reads in the cache: both ran on the gate's handle.
 * With a handle per connection it fetched all of them again (a WAL handle
 * drops its cache when another has committed). A read outside a
 * transaction borrows that handle while the gate is free; while a
 * transaction holds it, the read runs at once on the connection's own
 * handle (this test has one thread: a read that waited would fail), which
 * fetches the pages. */
static void
test_writes_keep_a_warm_cache(void **state)
{
    struct fixture *f = *state;
    char err[256], tag[200];
    memset(tag, 'x', sizeof tag - 1);
    tag[sizeof tag - 1] = '\0';
    assert_int_equal(store_sqlite_driver.begin(f->first, err, sizeof err), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(insert(f->first, tag), 0);
    assert_int_equal(items(f->first), 200);
    assert_int_equal(store_sqlite_driver.commit(f->first, err, sizeof err), 0);

    sqlite3 *writing = ((struct sqlite_checkpointer *)f->shared)->writing.db;
    assert_non_null(writing);
    assert_int_equal(store_sqlite_driver.begin(f->second, err, sizeof err), 0);
    cache_misses(writing);
    assert_int_equal(items(f->second), 200);
    assert_int_equal(insert(f->second, "second"), 0);
    assert_int_equal(cache_misses(writing), 0);
    assert_int_equal(store_sqlite_driver.commit(f->second, err, sizeof err), 0);

    cache_misses(own_handle(f->first));
    assert_int_equal(items(f->first), 201);
    assert_int_equal(cache_misses(writing), 0);
    assert_int_equal(cache_misses(own_handle(f->first)), 0);

    assert_int_equal(store_sqlite_driver.begin(f->second, err, sizeof err), 0);
    assert_int_equal(items(f->first), 201);
    assert_true(cache_misses(own_handle(f->first)) >= 10); /* 200 rows of 200 bytes */
    store_sqlite_driver.rollback(f->second);
}

/* In a transaction a connection reads what it wrote; the others read the
 * last commit until it commits. */
static void
test_transaction_reads_its_writes(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(insert(f->second, "committed"), 0);
    assert_int_equal(store_sqlite_driver.begin(f->first, err, sizeof err), 0);
    assert_int_equal(insert(f->first, "pending"), 0);
    assert_int_equal(items(f->first), 2);
    assert_int_equal(items(f->second), 1);
    assert_int_equal(store_sqlite_driver.commit(f->first, err, sizeof err), 0);
    assert_int_equal(items(f->second), 2);
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
        cmocka_unit_test_setup_teardown(test_writes_keep_a_warm_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_reads_its_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
