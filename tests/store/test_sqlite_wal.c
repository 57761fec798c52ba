/* Tests of the SQLite driver's checkpoints (store_sqlite.c): a reader that
 * stays (a backup, say) keeps the WAL from starting over, so it grows past
 * the driver's limit while commits go on; once that reader has gone, the
 * driver's RESTART checkpoint starts it over and journal_size_limit cuts
 * the file back to the limit (SQLite alone would start it over too, but
 * keep the file at its largest).
 *
 * What the restart is for, a WAL that never starts over under steady reads,
 * is measured in docs/bench.md rather than tested here: SQLite gives a
 * waiting checkpoint no turn among steady readers, so whether one restart
 * succeeds is a matter of timing.
 *
 * This binary compiles the driver itself with a WAL_RESTART_FRAMES of 4096
 * (16 MiB) instead of the service's 256 MiB, so that it writes little, and
 * a RESTART_BACKOFF_MS of 100 instead of 1000. */
#include "store/store_driver.h"

#include "../test_support.h"

#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define LIMIT ((off_t)WAL_RESTART_FRAMES * 4096)
/* One commit rewrites the 64 pages of a 256 KiB blob. */
#define BLOB_BYTES 262144
#define COMMITS_PER_LIMIT (WAL_RESTART_FRAMES / 64)
/* With one writer the WAL passes the limit by the commit that crossed it
 * (the restart waits for the thread's checkpoint, if one runs, rather than
 * give up): a quarter of the limit is room to spare. */
#define SLACK (LIMIT / 4)

/* `count` commits through the driver that each rewrite scratch's row;
 * returns the largest size the WAL file had after one of them. */
static off_t
rewrite_scratch(void *conn, int count, const char *wal)
{
    char err[256];
    static uint8_t data[BLOB_BYTES];
    off_t largest = 0;
    for (int i = 0; i < count; i++) {
        memset(data, i & 0xff, sizeof data);
        struct store_value value = {.type = STORE_VALUE_BLOB, .data = data,
                                    .length = sizeof data};
        assert_int_equal(store_sqlite_driver.exec(conn,
                                                  "UPDATE scratch SET data = $1 WHERE id = 1",
                                                  &value, 1, NULL, NULL, NULL, err,
                                                  sizeof err),
                         0);
        struct stat st;
        if (stat(wal, &st) == 0 && st.st_size > largest)
            largest = st.st_size;
    }
    return largest;
}

static void
test_wal_cut_back_after_long_reader(void **state)
{
    (void)state;
    char *dir = test_temp_dir("sqlite-wal");
    char path[1100], location[1200], wal[1200], err[256];
    snprintf(path, sizeof path, "%s/wal.db", dir);
    snprintf(location, sizeof location, "sqlite:%s", path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    void *shared = store_sqlite_driver.start(location, err, sizeof err);
    assert_non_null(shared);
    void *conn = store_sqlite_driver.connect(location, shared, err, sizeof err);
    assert_non_null(conn);
    assert_int_equal(store_sqlite_driver.exec_script(
                         conn, "CREATE TABLE scratch (id INTEGER PRIMARY KEY, data BLOB);"
                               "INSERT INTO scratch VALUES (1, zeroblob(262144));",
                         err, sizeof err),
                     0);

    sqlite3 *stays = NULL;
    assert_int_equal(sqlite3_open_v2(path, &stays, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(stays, "BEGIN; SELECT COUNT(*) FROM scratch;", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    /* Twice the limit: the commits go through, the WAL keeps them all. */
    off_t largest = rewrite_scratch(conn, 2 * COMMITS_PER_LIMIT, wal);
    assert_true(largest >= 2 * LIMIT);
    assert_int_equal(sqlite3_exec(stays, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(stays);

    /* The restart that failed while the reader stayed is not tried again
     * before the driver's back-off (RESTART_BACKOFF_MS) has passed; then
     * the next commit restarts the WAL and the one after cuts it back. */
    const struct timespec backoff = {.tv_nsec = 2L * RESTART_BACKOFF_MS * 1000000};
    nanosleep(&backoff, NULL);
    rewrite_scratch(conn, 2, wal);
    struct stat st = {0};
    assert_int_equal(stat(wal, &st), 0);
    if (st.st_size > LIMIT + SLACK)
        fail_msg("the WAL is %lld bytes after the reader left (limit %lld)",
                 (long long)st.st_size, (long long)LIMIT);
    /* And it stays there: the restarts keep it near the limit. */
    largest = rewrite_scratch(conn, 2 * COMMITS_PER_LIMIT, wal);
    if (largest > LIMIT + SLACK)
        fail_msg("the WAL grew to %lld bytes again (limit %lld)", (long long)largest,
                 (long long)LIMIT);

    store_sqlite_driver.disconnect(conn);
    store_sqlite_driver.stop(shared);
    /* The last connection to close checkpointed everything and removed
     * the WAL. */
    assert_int_equal(stat(wal, &st), -1);
    test_remove_dir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_cut_back_after_long_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
