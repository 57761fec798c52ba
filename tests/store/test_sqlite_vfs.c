/* Tests of the store's SQLite VFS (sqlite_vfs.c): a commit's WAL frames
 * reach the file in one write, and nothing else changes: other
 * connections (on SQLite's own VFS, as another process's would be) read
 * every commit, of any size against the buffer's; a commit survives kill
 * -9 right after it returns and the WAL's recovery accepts it; a
 * transaction whose pages spilled to the WAL (read back, rewritten in
 * place, checksums redone) commits or rolls back whole; and a log that
 * starts over is gathered again. */
#include "store/sqlite_vfs.h"

#include "../test_support.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* A row is about a quarter of a page: a transaction of ROWS rows dirties
 * about 16 pages of the table. */
#define ROWS 64
#define ROW_BYTES 1000

static sqlite3 *
open_db(const char *path, const char *vfs)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    return db;
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
    char *message = NULL;
    int status = sqlite3_exec(db, sql, NULL, NULL, &message);
    if (status != SQLITE_OK)
        fail_msg("%s: %s", sql, message ? message : sqlite3_errstr(status));
}

static long long
scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *statement = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &statement, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(statement), SQLITE_ROW);
    long long value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    return value;
}

static void
integrity_ok(sqlite3 *db)
{
    sqlite3_stmt *statement = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &statement, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(statement), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(statement, 0), "ok");
    sqlite3_finalize(statement);
}

/* Write system calls this process has made (/proc/self/io, syscw). */
static long long
writes_so_far(void)
{
    FILE *io = fopen("/proc/self/io", "r");
    assert_non_null(io);
    char line[128];
    long long count = -1;
    while (fgets(line, sizeof line, io) != NULL)
        if (sscanf(line, "syscw: %lld", &count) == 1)
            break;
    fclose(io);
    assert_true(count >= 0);
    return count;
}

/* One transaction of `rows` rows from `first` on: random blobs, so that
 * nothing compresses or repeats. */
static void
insert_rows(sqlite3 *db, int first, int rows)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO t SELECT i, randomblob(%d) FROM n",
             first, first + rows - 1, ROW_BYTES);
    exec_ok(db, sql);
}

static char *
make_db(char **dir, const char *label)
{
    *dir = test_temp_dir(label);
    char *path = malloc(strlen(*dir) + 8);
    assert_non_null(path);
    sprintf(path, "%s/t.db", *dir);
    sqlite3 *db = open_db(path, NULL);
    exec_ok(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    sqlite3_close(db);
    return path;
}

/* The write system calls of one commit of ROWS rows through `vfs`. */
static long long
writes_of_a_commit(const char *path, const char *vfs, int first)
{
    sqlite3 *db = open_db(path, vfs);
    exec_ok(db, "SELECT COUNT(*) FROM t"); /* the WAL opened, the schema read */
    long long before = writes_so_far();
    exec_ok(db, "BEGIN IMMEDIATE");
    insert_rows(db, first, ROWS);
    exec_ok(db, "COMMIT");
    long long writes = writes_so_far() - before;
    sqlite3_close(db);
    return writes;
}

static void
test_commit_is_one_write(void **state)
{
    (void)state;
    const char *vfs = sqlite_vfs_name();
    assert_non_null(vfs);
    char *dir, *path = make_db(&dir, "sqlite-vfs-writes");
    /* Keeps the WAL from being removed with the last connection, so that
     * each commit below appends to it (a log that starts over writes and
     * syncs its header first: see the next test). */
    sqlite3 *keeper = open_db(path, NULL);
    exec_ok(keeper, "INSERT INTO t VALUES (0, x'00')");
    /* SQLite's own VFS: a header and a page a frame. */
    long long plain = writes_of_a_commit(path, NULL, 1);
    /* 64 rows of 1000 bytes: 16 pages and more. */
    assert_true(plain >= 2 * 16);
    long long gathered = writes_of_a_commit(path, vfs, 1 + ROWS);
    assert_int_equal(gathered, 1);

    /* Another connection on SQLite's own VFS reads both commits whole. */
    sqlite3 *reader = open_db(path, NULL);
    assert_int_equal(scalar(reader, "SELECT COUNT(*) FROM t"), 2 * ROWS + 1);
    assert_int_equal(scalar(reader, "SELECT SUM(length(data)) FROM t"),
                     2LL * ROWS * ROW_BYTES + 1);
    integrity_ok(reader);
    sqlite3_close(reader);
    sqlite3_close(keeper);
    free(path);
    test_remove_dir(dir);
}

/* A reader that stays open sees each commit of a writer that stays open
 * as soon as it returns, the log starting over included. */
static void
test_reader_sees_every_commit(void **state)
{
    (void)state;
    char *dir, *path = make_db(&dir, "sqlite-vfs-reader");
    sqlite3 *writer = open_db(path, sqlite_vfs_name());
    sqlite3 *reader = open_db(path, NULL);
    for (int i = 0; i < 20; i++) {
        insert_rows(writer, 1 + i * ROWS, ROWS);
        assert_int_equal(scalar(reader, "SELECT COUNT(*) FROM t"), (i + 1) * ROWS);
        assert_int_equal(scalar(reader, "SELECT MAX(id) FROM t"), (i + 1) * ROWS);
        if (i % 5 == 4) {
            /* All copied back: the next commit starts the log over. */
            exec_ok(writer, "PRAGMA wal_checkpoint(RESTART)");
            long long before = writes_so_far();
            exec_ok(writer, "UPDATE t SET data = randomblob(1000) WHERE id = 1");
            /* SQLite writes and syncs the new WAL header before the
             * first frame (wal.c, sqlite3WalFrames): one write for it,
             * one for the frame. */
            assert_int_equal(writes_so_far() - before, 2);
        }
    }
    integrity_ok(reader);
    sqlite3_close(writer);
    sqlite3_close(reader);
    free(path);
    test_remove_dir(dir);
}

/* Commits of every size from one row to far past the buffer (120 KiB,
 * about 29 frames): one of them has its commit frame's header as the last
 * thing that fits, and its page goes to the next buffer, which must still
 * be written at the commit. A reader on SQLite's own VFS checks each. */
static void
test_commits_across_the_buffer(void **state)
{
    (void)state;
    char *dir, *path = make_db(&dir, "sqlite-vfs-edge");
    sqlite3 *writer = open_db(path, sqlite_vfs_name());
    sqlite3 *reader = open_db(path, NULL);
    long long rows = 0;
    for (int size = 1; size <= 160; size++) {
        insert_rows(writer, (int)rows + 1, size);
        rows += size;
        assert_int_equal(scalar(reader, "SELECT COUNT(*) FROM t"), rows);
        assert_int_equal(scalar(reader, "SELECT SUM(length(data)) FROM t"), rows * ROW_BYTES);
    }
    integrity_ok(reader);
    sqlite3_close(writer);
    sqlite3_close(reader);
    free(path);
    test_remove_dir(dir);
}

/* The child's transactions for the kill tests. A page cache of 8 pages
 * makes a transaction spill to the WAL mid-way: SQLite then reads frames
 * back, rewrites them in place and redoes their checksums at the commit.
 * Returns the rows committed. */
static int
spilled_commit_last(sqlite3 *db)
{
    exec_ok(db, "PRAGMA cache_size=8");
    exec_ok(db, "BEGIN IMMEDIATE");
    insert_rows(db, 1, 10 * ROWS);
    exec_ok(db, "ROLLBACK");
    exec_ok(db, "BEGIN IMMEDIATE");
    insert_rows(db, 1, 10 * ROWS);
    exec_ok(db, "UPDATE t SET data = randomblob(1000) WHERE id % 3 = 0");
    exec_ok(db, "COMMIT");
    return 10 * ROWS;
}

static int
appended_commit_last(sqlite3 *db)
{
    int rows = spilled_commit_last(db);
    /* Appended past all that: gathered, and written by its commit. */
    insert_rows(db, rows + 1, 3);
    return rows + 3;
}

/* A child commits through the VFS, says when its last commit has
 * returned, and is killed then. The WAL's recovery (the next open, with
 * no process left) checks every frame's checksum and keeps only whole
 * transactions. */
static void
commit_survives_kill(int (*transactions)(sqlite3 *db), long long rows)
{
    char *dir, *path = make_db(&dir, "sqlite-vfs-kill");
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(ready[0]);
        sqlite3 *db = open_db(path, sqlite_vfs_name());
        if (transactions(db) != rows || write(ready[1], "k", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    kill(child, SIGKILL);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));

    sqlite3 *db = open_db(path, NULL);
    assert_int_equal(scalar(db, "SELECT COUNT(*) FROM t"), rows);
    assert_int_equal(scalar(db, "SELECT MAX(id) FROM t"), rows);
    assert_int_equal(scalar(db, "SELECT SUM(length(data)) FROM t"), rows * ROW_BYTES);
    integrity_ok(db);
    sqlite3_close(db);
    free(path);
    test_remove_dir(dir);
}

static void
test_spilled_commit_survives_kill(void **state)
{
    (void)state;
    commit_survives_kill(spilled_commit_last, 10 * ROWS);
}

static void
test_appended_commit_survives_kill(void **state)
{
    (void)state;
    commit_survives_kill(appended_commit_last, 10 * ROWS + 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_is_one_write),
        cmocka_unit_test(test_reader_sees_every_commit),
        cmocka_unit_test(test_commits_across_the_buffer),
        cmocka_unit_test(test_spilled_commit_survives_kill),
        cmocka_unit_test(test_appended_commit_survives_kill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
