/* store_sqlite: the SQLite backend of the store (the embedded default).
 * One sqlite3 handle per pooled connection, WAL journal, prepared
 * statements cached per connection by the address of their SQL literal,
 * and per store a checkpointer thread and a writer gate. */
#include "store/store_driver.h"

#include "util/clock.h"
#include "util/strings.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATEMENT_CACHE_SIZE 128
#ifndef BUSY_TIMEOUT_MS
#define BUSY_TIMEOUT_MS 10000
#endif

/* Checkpoints (docs/bench.md, "SQLite's WAL under load"). SQLite's default
 * runs a passive checkpoint inside the COMMIT of each connection that
 * leaves the WAL at 1000 frames or more, with its fdatasyncs: once the WAL
 * is that long, every commit until it starts over, so requests pay for
 * copying pages they did not write. Here a checkpointer thread per store,
 * on its own connection, runs the passive checkpoint each time
 * WAL_PASSIVE_FRAMES frames have come since its last one
 * (SQLITE_DEFAULT_WAL_AUTOCHECKPOINT's figure); the commit hook only tells
 * it the WAL's size.
 *
 * A passive checkpoint never starts the WAL over while some reader is in
 * it, and under steady load there always is one: at a closed loop of
 * refresh grants the WAL grew to 780 MB in 16 s. So a commit that leaves
 * the WAL at WAL_RESTART_FRAMES frames or more (256 MiB of 4 KiB pages)
 * runs a RESTART checkpoint itself, which holds writers back while it
 * copies what is left, syncs and waits (busy timeout CHECKPOINT_WAIT_MS)
 * for the readers still in the WAL, so that the next commit writes from
 * the WAL's start; journal_size_limit then cuts the file back to the limit.
 * (In the checkpointer thread the restart would starve: SQLite's busy
 * handler polls for the write lock, which busy connections take again as
 * soon as they let it go.) Each restart holds writers back for its
 * fdatasyncs, 15-60 ms on the benchmark machine: a smaller limit means
 * more of those pauses, a larger one a longer replay of the WAL after a
 * crash. The commit first waits for the thread's passive checkpoint, if
 * one is running (SQLite refuses a second checkpoint rather than queue
 * it); a quick SQLITE_BUSY is then another process's checkpoint, and the
 * next commit tries again. A restart
 * that waited in vain (a long reader, a backup say; or SQLite giving the
 * waiting checkpoint no turn among steady readers) is not tried again for
 * RESTART_BACKOFF_MS, so that writers are not held back at every commit
 * meanwhile. tests/store builds this file with a smaller limit and
 * back-off. */
#define WAL_PASSIVE_FRAMES 1000
#ifndef WAL_RESTART_FRAMES
#define WAL_RESTART_FRAMES 65536
#endif
#define WAL_PAGE_BYTES 4096 /* SQLite's default page size, which we keep */
#define CHECKPOINT_WAIT_MS 50
#ifndef RESTART_BACKOFF_MS
#define RESTART_BACKOFF_MS 1000
#endif

/* The writer gate (docs/bench.md, "SQLite's busy handler"). SQLite lets
 * one connection write at a time; one that finds the write lock taken
 * retries from its busy handler, sleeping 1, 2, 5, 10, 15, 20, 25 ... 100
 * ms between tries (sqliteDefaultBusyCallback), however soon the lock is
 * let go: under load a request that lost the race a few times waited tens
 * to hundreds of milliseconds for a lock held a fraction of one. So this
 * process's connections queue for it on a mutex first, and the next one
 * is woken as soon as it is free: a write transaction holds the gate from
 * sqlite_begin() to its commit or rollback, a writing statement outside
 * one for the statement. SQLite's lock still decides who writes; another
 * process on the same file (a `cyberid` command) meets the busy handler as
 * before. The wait on the gate is bounded by BUSY_TIMEOUT_MS too, and ends
 * as SQLite's does, in a busy error. */

#define SCHEME "sqlite:"

struct sqlite_checkpointer;

struct sqlite_connection {
    sqlite3 *db;
    struct sqlite_checkpointer *shared;
    int busy;       /* the last failure was SQLITE_BUSY past the timeout */
    int writing;    /* holds the store's writer gate */
    struct {
        const char *sql;
        sqlite3_stmt *statement;
    } cache[STATEMENT_CACHE_SIZE];
};

static int
sqlite_accepts(const char *location)
{
    return strncmp(location, SCHEME, strlen(SCHEME)) == 0;
}

/* One store's checkpointer and writer gate (sqlite_start(): the driver's
 * shared state). */
struct sqlite_checkpointer {
    pthread_mutex_t writer; /* the writer gate */
    char *path;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int frames;     /* the WAL's frames after the latest commit (lock) */
    int done;       /* ... when the thread last checkpointed (lock) */
    int stop;       /* (lock) */
    /* Held while this store checkpoints (the thread's passive ones, a
     * commit's restart): SQLite refuses a second checkpoint at once
     * rather than queue it, and a restart that gave up whenever the
     * thread was busy would let a fast writer outrun both. */
    pthread_mutex_t checkpointing;
    atomic_flag restarting;             /* one commit restarts at a time */
    _Atomic int64_t restart_not_before; /* monotonic ms */
};

/* Whether the thread has work (its lock held): WAL_PASSIVE_FRAMES new
 * frames since its last checkpoint, or a WAL started over since. */
static int
checkpoint_due(const struct sqlite_checkpointer *c)
{
    return c->frames >= WAL_PASSIVE_FRAMES &&
           (c->frames < c->done || c->frames - c->done >= WAL_PASSIVE_FRAMES);
}

static void *
checkpoint_loop(void *arg)
{
    struct sqlite_checkpointer *c = arg;
    sqlite3 *db = NULL;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        if (!checkpoint_due(c)) {
            pthread_cond_wait(&c->wake, &c->lock);
            continue;
        }
        int frames = c->frames;
        pthread_mutex_unlock(&c->lock);
        /* Opened at the first checkpoint: by then a connection has made
         * the database and put it in WAL mode. A connection only finds
         * its WAL at its first read, which the PRAGMA is. If it cannot be
         * opened, the next checkpoint tries again; commits go on. */
        if (db == NULL &&
            (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                             NULL) != SQLITE_OK ||
             sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)) {
            sqlite3_close(db);
            db = NULL;
        }
        if (db != NULL) {
            pthread_mutex_lock(&c->checkpointing);
            sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
            pthread_mutex_unlock(&c->checkpointing);
        }
        pthread_mutex_lock(&c->lock);
        c->done = frames;
    }
    pthread_mutex_unlock(&c->lock);
    sqlite3_close(db);
    return NULL;
}

/* Frees what sqlite_start() made, its thread stopped or never started. */
static void
checkpointer_free(struct sqlite_checkpointer *c)
{
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->checkpointing);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->writer);
    free(c->path);
    free(c);
}

static void
sqlite_stop(void *shared)
{
    struct sqlite_checkpointer *c = shared;
    pthread_mutex_lock(&c->lock);
    c->stop = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    checkpointer_free(c);
}

static void *
sqlite_start(const char *location, char *err, size_t errlen)
{
    struct sqlite_checkpointer *c = calloc(1, sizeof *c);
    if (c == NULL || (c->path = strdup(location + strlen(SCHEME))) == NULL) {
        free(c);
        error_set(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->checkpointing, NULL);
    pthread_mutex_init(&c->writer, NULL);
    atomic_flag_clear(&c->restarting);
    pthread_cond_init(&c->wake, NULL);
    int rc = pthread_create(&c->thread, NULL, checkpoint_loop, c);
    if (rc != 0) {
        error_set(err, errlen, "cannot start the checkpointer: %s", strerror(rc));
        checkpointer_free(c);
        return NULL;
    }
    return c;
}

static void
restart_wal(struct sqlite_checkpointer *c, sqlite3 *db, const char *schema)
{
    if (monotonic_ms() < atomic_load(&c->restart_not_before) ||
        atomic_flag_test_and_set(&c->restarting))
        return;
    pthread_mutex_lock(&c->checkpointing);
    int64_t started = monotonic_ms();
    sqlite3_busy_timeout(db, CHECKPOINT_WAIT_MS);
    int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK && monotonic_ms() - started >= CHECKPOINT_WAIT_MS)
        atomic_store(&c->restart_not_before, started + RESTART_BACKOFF_MS);
    pthread_mutex_unlock(&c->checkpointing);
    atomic_flag_clear(&c->restarting);
}

/* Called after each commit with the frames now in the WAL, the write lock
 * released. Must return SQLITE_OK: anything else fails the COMMIT that has
 * already happened. Wakes the checkpointer only when it has work. */
static int
wal_hook(void *shared, sqlite3 *db, const char *schema, int frames)
{
    struct sqlite_checkpointer *c = shared;
    if (frames < WAL_PASSIVE_FRAMES)
        return SQLITE_OK;
    if (frames >= WAL_RESTART_FRAMES)
        restart_wal(c, db, schema);
    pthread_mutex_lock(&c->lock);
    c->frames = frames;
    if (checkpoint_due(c))
        pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    return SQLITE_OK;
}

static void *
sqlite_connect(const char *location, void *shared, char *err, size_t errlen)
{
    assert(shared != NULL); /* store_open() calls sqlite_start() first */
    location += strlen(SCHEME);
    struct sqlite_connection *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        error_set(err, errlen, "out of memory");
        return NULL;
    }
    conn->shared = shared;
    /* FULLMUTEX is not needed: the pool gives a connection to one thread at
     * a time. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(location, &conn->db, flags, NULL) != SQLITE_OK) {
        error_set(err, errlen, "cannot open database %s: %s", location,
                  conn->db ? sqlite3_errmsg(conn->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(conn->db, BUSY_TIMEOUT_MS);
    char *message = NULL, pragmas[256];
    if (string_format(pragmas, sizeof pragmas,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
                      "PRAGMA journal_size_limit=%lld;",
                      (long long)WAL_RESTART_FRAMES * WAL_PAGE_BYTES) != 0 ||
        sqlite3_exec(conn->db, pragmas, NULL, NULL, &message) != SQLITE_OK) {
        error_set(err, errlen, "cannot configure database %s: %s", location,
                  message ? message : "unknown error");
        sqlite3_free(message);
        goto fail;
    }
    /* Replaces the default auto-checkpoint (sqlite3_wal_hook's contract). */
    sqlite3_wal_hook(conn->db, wal_hook, shared);
    return conn;
fail:
    sqlite3_close(conn->db);
    free(conn);
    return NULL;
}

static void
sqlite_disconnect(void *connection)
{
    struct sqlite_connection *conn = connection;
    if (conn == NULL)
        return;
    for (size_t i = 0; i < STATEMENT_CACHE_SIZE; i++)
        sqlite3_finalize(conn->cache[i].statement);
    sqlite3_close(conn->db); /* rolls back a transaction left open */
    if (conn->writing)
        pthread_mutex_unlock(&conn->shared->writer);
    free(conn);
}

/* Takes the writer gate, waiting at most BUSY_TIMEOUT_MS. */
static int
writer_enter(struct sqlite_connection *conn, char *err, size_t errlen)
{
    assert(!conn->writing);
    struct timespec until = clock_deadline(CLOCK_REALTIME, BUSY_TIMEOUT_MS);
    int rc = pthread_mutex_timedlock(&conn->shared->writer, &until);
    if (rc != 0) {
        conn->busy = rc == ETIMEDOUT;
        return error_set(err, errlen, "database is locked: no turn to write in %d ms",
                         BUSY_TIMEOUT_MS);
    }
    conn->writing = 1;
    return 0;
}

static void
writer_leave(struct sqlite_connection *conn)
{
    assert(conn->writing);
    conn->writing = 0;
    pthread_mutex_unlock(&conn->shared->writer);
}

static sqlite3_stmt *
prepare(struct sqlite_connection *conn, const char *sql, char *err,
        size_t errlen)
{
    size_t free_slot = STATEMENT_CACHE_SIZE;
    for (size_t i = 0; i < STATEMENT_CACHE_SIZE; i++) {
        if (conn->cache[i].sql == sql)
            return conn->cache[i].statement;
        if (conn->cache[i].sql == NULL && free_slot == STATEMENT_CACHE_SIZE)
            free_slot = i;
    }
    sqlite3_stmt *statement = NULL;
    unsigned flags = free_slot < STATEMENT_CACHE_SIZE ? SQLITE_PREPARE_PERSISTENT : 0;
    if (sqlite3_prepare_v3(conn->db, sql, -1, flags, &statement, NULL) != SQLITE_OK) {
        error_set(err, errlen, "prepare: %s", sqlite3_errmsg(conn->db));
        return NULL;
    }
    if (free_slot < STATEMENT_CACHE_SIZE) {
        conn->cache[free_slot].sql = sql;
        conn->cache[free_slot].statement = statement;
    }
    return statement;
}

static int
is_cached(struct sqlite_connection *conn, sqlite3_stmt *statement)
{
    for (size_t i = 0; i < STATEMENT_CACHE_SIZE; i++)
        if (conn->cache[i].statement == statement)
            return 1;
    return 0;
}

static int
bind(sqlite3_stmt *statement, const struct store_value *params,
     size_t count)
{
    for (size_t i = 0; i < count; i++) {
        /* Parameters are written $1..$n; SQLite treats "$1" as a named
         * parameter, so look each one up by name rather than position. */
        char name[8];
        if (string_format(name, sizeof name, "$%zu", i + 1) != 0)
            return SQLITE_RANGE;
        int index = sqlite3_bind_parameter_index(statement, name);
        if (index == 0)
            return SQLITE_RANGE;
        int rc;
        switch (params[i].type) {
        case STORE_VALUE_NULL:
            rc = sqlite3_bind_null(statement, index);
            break;
        case STORE_VALUE_INTEGER:
            rc = sqlite3_bind_int64(statement, index, params[i].integer);
            break;
        case STORE_VALUE_TEXT:
            rc = sqlite3_bind_text64(statement, index, params[i].data,
                                     params[i].length, SQLITE_STATIC, SQLITE_UTF8);
            break;
        case STORE_VALUE_BLOB:
            rc = sqlite3_bind_blob64(statement, index,
                                     params[i].length ? params[i].data : "",
                                     params[i].length, SQLITE_STATIC);
            break;
        default:
            rc = SQLITE_MISUSE;
        }
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static int
sqlite_exec(void *connection, const char *sql, const struct store_value *params,
            size_t param_count, store_row_fn row, void *context,
            int64_t *changes, char *err, size_t errlen)
{
    struct sqlite_connection *conn = connection;
    conn->busy = 0;
    sqlite3_stmt *statement = prepare(conn, sql, err, errlen);
    if (statement == NULL)
        return -1;
    int status = 0;
    /* A writing statement outside a transaction takes its turn too (the
     * writer gate); in a transaction the gate is held already. */
    int gated = 0;
    if (param_count > STORE_PARAMS_MAX ||
        bind(statement, params, param_count) != SQLITE_OK) {
        status = error_set(err, errlen, "bind: %s", sqlite3_errmsg(conn->db));
        goto cleanup;
    }
    if (!conn->writing && !sqlite3_stmt_readonly(statement)) {
        if (writer_enter(conn, err, errlen) != 0) {
            status = -1;
            goto cleanup;
        }
        gated = 1;
    }
    struct store_value columns[STORE_PARAMS_MAX];
    for (;;) {
        int rc = sqlite3_step(statement);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            conn->busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
            status = error_set(err, errlen, "%s", sqlite3_errmsg(conn->db));
            goto cleanup;
        }
        int count = sqlite3_column_count(statement);
        if (count > STORE_PARAMS_MAX)
            count = STORE_PARAMS_MAX;
        for (int i = 0; i < count; i++) {
            struct store_value *value = &columns[i];
            memset(value, 0, sizeof *value);
            switch (sqlite3_column_type(statement, i)) {
            case SQLITE_INTEGER:
                value->type = STORE_VALUE_INTEGER;
                value->integer = sqlite3_column_int64(statement, i);
                break;
            case SQLITE_TEXT:
                value->type = STORE_VALUE_TEXT;
                value->data = sqlite3_column_text(statement, i);
                value->length = (size_t)sqlite3_column_bytes(statement, i);
                break;
            case SQLITE_BLOB:
                value->type = STORE_VALUE_BLOB;
                value->data = sqlite3_column_blob(statement, i);
                value->length = (size_t)sqlite3_column_bytes(statement, i);
                break;
            default:
                value->type = STORE_VALUE_NULL;
            }
        }
        if (row != NULL) {
            status = row(context, columns, (size_t)count);
            if (status != 0)
                goto cleanup;
        }
    }
    if (changes != NULL)
        *changes = sqlite3_changes64(conn->db);
cleanup:
    sqlite3_reset(statement); /* ends an autocommit write: then the gate */
    sqlite3_clear_bindings(statement);
    if (gated)
        writer_leave(conn);
    if (!is_cached(conn, statement))
        sqlite3_finalize(statement);
    return status;
}

static int
sqlite_exec_script(void *connection, const char *sql, char *err, size_t errlen)
{
    struct sqlite_connection *conn = connection;
    char *message = NULL;
    int rc = sqlite3_exec(conn->db, sql, NULL, NULL, &message);
    conn->busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
    if (rc != SQLITE_OK) {
        error_set(err, errlen, "%s", message ? message : sqlite3_errmsg(conn->db));
        sqlite3_free(message);
        return -1;
    }
    return 0;
}

/* BEGIN IMMEDIATE takes the write lock at once, so two writers never
 * deadlock upgrading a read lock; the writer gate orders this process's
 * writers before it. */
static int
sqlite_begin(void *connection, char *err, size_t errlen)
{
    struct sqlite_connection *conn = connection;
    if (writer_enter(conn, err, errlen) != 0)
        return -1;
    if (sqlite_exec_script(conn, "BEGIN IMMEDIATE", err, errlen) != 0) {
        writer_leave(conn);
        return -1;
    }
    return 0;
}

/* The gate is let go once the transaction has ended: after the commit and
 * what the WAL hook does in it (a restart of the WAL then has no writer of
 * this process to wait for). A COMMIT that failed leaves the transaction
 * open for the caller's rollback. */
static int
sqlite_commit(void *connection, char *err, size_t errlen)
{
    struct sqlite_connection *conn = connection;
    int status = sqlite_exec_script(conn, "COMMIT", err, errlen);
    if (conn->writing && sqlite3_get_autocommit(conn->db))
        writer_leave(conn);
    return status;
}

static void
sqlite_rollback(void *connection)
{
    struct sqlite_connection *conn = connection;
    if (!sqlite3_get_autocommit(conn->db))
        sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
    if (conn->writing)
        writer_leave(conn);
}

static int
sqlite_unavailable(void *connection)
{
    return ((struct sqlite_connection *)connection)->busy;
}

const struct store_driver store_sqlite_driver = {
    .name = "sqlite",
    .dialect = STORE_DIALECT_SQLITE,
    .accepts = sqlite_accepts,
    .start = sqlite_start,
    .stop = sqlite_stop,
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .exec = sqlite_exec,
    .exec_script = sqlite_exec_script,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .unavailable = sqlite_unavailable,
};
