/* store_sqlite: the SQLite backend of the store (the embedded default).
 * Databases are opened through the store's VFS (sqlite_vfs.h: a commit's
 * WAL frames reach the file in one write).
 * One sqlite3 handle per pooled connection for reads, WAL journal,
 * prepared statements cached per handle by the address of their SQL
 * literal, and per store a checkpointer thread and a writer gate that owns
 * the one handle that writes. */
#include "store/store_driver.h"

#include "store/sqlite_notify.h"
#include "store/sqlite_vfs.h"

#include "util/clock.h"
#include "util/log.h"
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
 * fdatasyncs: 2-30 ms on the benchmark machine since the thread syncs the
 * database after each passive checkpoint (sync_database()), 40-90 ms
 * before. A smaller limit means more of those pauses, a larger one a
 * longer replay of the WAL after a crash. The commit first waits for the
 * thread's passive checkpoint, if one is running (SQLite refuses a second
 * checkpoint rather than queue it); a quick SQLITE_BUSY is then another
 * process's checkpoint, and the next commit tries again. A restart
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
 * as SQLite's does, in a busy error.
 *
 * The gate also owns the one handle this store writes with: a write
 * transaction (its reads included) and a writing statement outside one run
 * on it, whichever pooled connection asked. In WAL mode a handle drops its
 * whole page cache when it begins a read and finds that any other handle
 * has committed since its last one (pager.c, pagerBeginReadTransaction), so
 * with a handle per connection every write transaction began cold and
 * fetched each page it touched again: 114 pread(2)s per login at 16
 * concurrent logins, against a cache that stays warm on the one writing
 * handle, whose own commits do not empty it (docs/bench.md, "One handle
 * writes"). Writers lose no concurrency: the gate serialised them already.
 * A read outside a transaction borrows the writing handle, warm, when the
 * gate is free and no writer waits for it (writer_try()); otherwise it
 * runs on the connection's own handle, beside the writer and the other
 * readers, as WAL allows: a read never waits for a write. */

#define SCHEME "sqlite:"

struct sqlite_checkpointer;

/* A sqlite3 handle and its prepared statements. */
struct sqlite_handle {
    sqlite3 *db;
    struct {
        const char *sql;
        sqlite3_stmt *statement;
    } cache[STATEMENT_CACHE_SIZE];
};

struct sqlite_connection {
    struct sqlite_handle reader; /* reads outside a transaction */
    struct sqlite_checkpointer *shared;
    int busy;       /* the last failure was SQLITE_BUSY past the timeout */
    int writing;    /* holds the store's writer gate, and so its handle */
    const char *notify_due; /* a channel to notify when the transaction commits */
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
    /* The handle that writes (the gate held), opened at the first write.
     * Used by one thread at a time, in turn: SQLITE_OPEN_NOMUTEX allows it
     * (sqlite3 "multi-thread" mode), the gate orders the turns. */
    struct sqlite_handle writing;
    atomic_int writers_waiting; /* on the gate, in writer_enter() */
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

/* SQLite syncs the database file only at a checkpoint that copies the
 * whole WAL, which under steady writes is only the restart's (wal.c,
 * walCheckpoint): every page the passive checkpoints copied since the last
 * restart was then still to write out, while the restart held every
 * writer back (its fdatasync took 40-90 ms on the benchmark machine, the
 * token endpoint's p99 at half its peak; docs/bench.md, "The token
 * endpoint's tail at half its peak"). So the thread syncs the database
 * after each passive checkpoint, and the restart finds little left. Only
 * adds syncs: what SQLite syncs, and when, is unchanged. */
static void
sync_database(sqlite3 *db)
{
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK &&
        file != NULL && file->pMethods != NULL)
        (void)file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
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
                             sqlite_vfs_name()) != SQLITE_OK ||
             sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)) {
            sqlite3_close(db);
            db = NULL;
        }
        if (db != NULL) {
            pthread_mutex_lock(&c->checkpointing);
            sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
            pthread_mutex_unlock(&c->checkpointing);
            sync_database(db);
        }
        pthread_mutex_lock(&c->lock);
        c->done = frames;
    }
    pthread_mutex_unlock(&c->lock);
    sqlite3_close(db);
    return NULL;
}

static void handle_close(struct sqlite_handle *handle);

/* Frees what sqlite_start() made, its thread stopped or never started. */
static void
checkpointer_free(struct sqlite_checkpointer *c)
{
    handle_close(&c->writing);
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

/* Opens `path` into `handle` with this driver's settings. 0 or -1. */
static int
handle_open(struct sqlite_handle *handle, const char *path, struct sqlite_checkpointer *shared,
            char *err, size_t errlen)
{
    /* FULLMUTEX is not needed: one thread uses a handle at a time (the
     * pool's connection, the gate's writing handle). */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    memset(handle, 0, sizeof *handle);
    const char *vfs = sqlite_vfs_name();
    if (vfs == NULL) {
        error_set(err, errlen, "cannot open database %s: SQLite has no VFS to build on", path);
        return -1;
    }
    if (sqlite3_open_v2(path, &handle->db, flags, vfs) != SQLITE_OK) {
        error_set(err, errlen, "cannot open database %s: %s", path,
                  handle->db ? sqlite3_errmsg(handle->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(handle->db, BUSY_TIMEOUT_MS);
    char *message = NULL, pragmas[256];
    if (string_format(pragmas, sizeof pragmas,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
                      "PRAGMA journal_size_limit=%lld;",
                      (long long)WAL_RESTART_FRAMES * WAL_PAGE_BYTES) != 0 ||
        sqlite3_exec(handle->db, pragmas, NULL, NULL, &message) != SQLITE_OK) {
        error_set(err, errlen, "cannot configure database %s: %s", path,
                  message ? message : "unknown error");
        sqlite3_free(message);
        goto fail;
    }
    /* Replaces the default auto-checkpoint (sqlite3_wal_hook's contract). */
    sqlite3_wal_hook(handle->db, wal_hook, shared);
    return 0;
fail:
    sqlite3_close(handle->db);
    handle->db = NULL;
    return -1;
}

/* Finalizes the cached statements and closes the handle, which rolls back
 * a transaction left open. */
static void
handle_close(struct sqlite_handle *handle)
{
    for (size_t i = 0; i < STATEMENT_CACHE_SIZE; i++)
        sqlite3_finalize(handle->cache[i].statement);
    sqlite3_close(handle->db);
    memset(handle, 0, sizeof *handle);
}

static void *
sqlite_connect(const char *location, void *shared, char *err, size_t errlen)
{
    assert(shared != NULL); /* store_open() calls sqlite_start() first */
    struct sqlite_connection *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        error_set(err, errlen, "out of memory");
        return NULL;
    }
    conn->shared = shared;
    if (handle_open(&conn->reader, location + strlen(SCHEME), shared, err, errlen) != 0) {
        free(conn);
        return NULL;
    }
    return conn;
}

/* The handle `conn` runs its statements on now. */
static struct sqlite_handle *
current(struct sqlite_connection *conn)
{
    return conn->writing ? &conn->shared->writing : &conn->reader;
}

/* Takes the writer gate, waiting at most BUSY_TIMEOUT_MS, and with it the
 * writing handle, opened at the first turn. */
static int
writer_enter(struct sqlite_connection *conn, char *err, size_t errlen)
{
    assert(!conn->writing);
    struct sqlite_checkpointer *c = conn->shared;
    struct timespec until = clock_deadline(CLOCK_REALTIME, BUSY_TIMEOUT_MS);
    atomic_fetch_add(&c->writers_waiting, 1);
    int rc = pthread_mutex_timedlock(&c->writer, &until);
    atomic_fetch_sub(&c->writers_waiting, 1);
    if (rc != 0) {
        conn->busy = rc == ETIMEDOUT;
        return error_set(err, errlen, "database is locked: no turn to write in %d ms",
                         BUSY_TIMEOUT_MS);
    }
    if (c->writing.db == NULL && handle_open(&c->writing, c->path, c, err, errlen) != 0) {
        pthread_mutex_unlock(&c->writer);
        return -1;
    }
    conn->writing = 1;
    return 0;
}

/* Takes the gate and its handle for a read if they are free at once and
 * no writer waits for them: a read never waits for a writer (it has its
 * connection's own handle for that), nor keeps one waiting. 1 or 0. */
static int
writer_try(struct sqlite_connection *conn)
{
    assert(!conn->writing);
    struct sqlite_checkpointer *c = conn->shared;
    if (atomic_load(&c->writers_waiting) > 0 || pthread_mutex_trylock(&c->writer) != 0)
        return 0;
    if (c->writing.db == NULL) {
        pthread_mutex_unlock(&c->writer);
        return 0;
    }
    conn->writing = 1;
    return 1;
}

static void
writer_leave(struct sqlite_connection *conn)
{
    assert(conn->writing);
    conn->writing = 0;
    pthread_mutex_unlock(&conn->shared->writer);
}

/* Ends the transaction left open on the writing handle, if any, and lets
 * the gate go. */
static void
writer_abandon(struct sqlite_connection *conn)
{
    assert(conn->writing);
    sqlite3 *db = conn->shared->writing.db;
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    writer_leave(conn);
}

static void
sqlite_disconnect(void *connection)
{
    struct sqlite_connection *conn = connection;
    if (conn == NULL)
        return;
    if (conn->writing)
        writer_abandon(conn);
    handle_close(&conn->reader);
    free(conn);
}

static sqlite3_stmt *
prepare(struct sqlite_handle *handle, const char *sql, char *err, size_t errlen)
{
    size_t free_slot = STATEMENT_CACHE_SIZE;
    for (size_t i = 0; i < STATEMENT_CACHE_SIZE; i++) {
        if (handle->cache[i].sql == sql)
            return handle->cache[i].statement;
        if (handle->cache[i].sql == NULL && free_slot == STATEMENT_CACHE_SIZE)
            free_slot = i;
    }
    sqlite3_stmt *statement = NULL;
    unsigned flags = free_slot < STATEMENT_CACHE_SIZE ? SQLITE_PREPARE_PERSISTENT : 0;
    if (sqlite3_prepare_v3(handle->db, sql, -1, flags, &statement, NULL) != SQLITE_OK) {
        error_set(err, errlen, "prepare: %s", sqlite3_errmsg(handle->db));
        return NULL;
    }
    if (free_slot < STATEMENT_CACHE_SIZE) {
        handle->cache[free_slot].sql = sql;
        handle->cache[free_slot].statement = statement;
    }
    return statement;
}

/* Finalizes a statement prepare() did not cache (the cache was full). */
static void
release(struct sqlite_handle *handle, sqlite3_stmt *statement)
{
    for (size_t i = 0; i < STATEMENT_CACHE_SIZE; i++)
        if (handle->cache[i].statement == statement)
            return;
    sqlite3_finalize(statement);
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
    if (param_count > STORE_PARAMS_MAX)
        return error_set(err, errlen, "bind: %zu parameters", param_count);
    struct sqlite_handle *handle = current(conn);
    sqlite3_stmt *statement = prepare(handle, sql, err, errlen);
    if (statement == NULL)
        return -1;
    /* A writing statement outside a transaction takes its turn too (the
     * writer gate) and runs on the writing handle; a read borrows that
     * handle if it is free (writer_try()). In a transaction both are held
     * already. */
    int gated = 0;
    if (!conn->writing) {
        int writes = !sqlite3_stmt_readonly(statement);
        if (writes || writer_try(conn)) {
            release(handle, statement);
            if (writes && writer_enter(conn, err, errlen) != 0)
                return -1;
            gated = 1;
            handle = current(conn);
            if ((statement = prepare(handle, sql, err, errlen)) == NULL) {
                writer_leave(conn);
                return -1;
            }
        }
    }
    int status = 0;
    if (bind(statement, params, param_count) != SQLITE_OK) {
        status = error_set(err, errlen, "bind: %s", sqlite3_errmsg(handle->db));
        goto cleanup;
    }
    struct store_value columns[STORE_PARAMS_MAX];
    for (;;) {
        int rc = sqlite3_step(statement);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            conn->busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
            status = error_set(err, errlen, "%s", sqlite3_errmsg(handle->db));
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
        *changes = sqlite3_changes64(handle->db);
cleanup:
    sqlite3_reset(statement); /* ends an autocommit write: then the gate */
    sqlite3_clear_bindings(statement);
    release(handle, statement);
    if (gated)
        writer_leave(conn);
    return status;
}

static int
sqlite_exec_script(void *connection, const char *sql, char *err, size_t errlen)
{
    struct sqlite_connection *conn = connection;
    sqlite3 *db = current(conn)->db;
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
    conn->busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
    if (rc != SQLITE_OK) {
        error_set(err, errlen, "%s", message ? message : sqlite3_errmsg(db));
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

/* The notification of a committed transaction. The change is in the
 * database whatever happens here: a failure is logged (a running serve
 * then keeps what it holds until the next notification or a restart),
 * not returned as the transaction's. */
static void
send_due(struct sqlite_connection *conn)
{
    char err[512];
    const char *channel = conn->notify_due;
    conn->notify_due = NULL;
    if (channel != NULL && sqlite_notify_send(conn->shared->path, channel, err, sizeof err) != 0)
        log_event(LOG_ERROR, "store.notify_failed", "{s:s, s:s}", "channel", channel, "error",
                  err);
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
    if (conn->writing && sqlite3_get_autocommit(current(conn)->db)) {
        writer_leave(conn);
        if (status == 0)
            send_due(conn);
        conn->notify_due = NULL; /* rolled back by SQLite itself: nothing to tell */
    }
    return status;
}

static void
sqlite_rollback(void *connection)
{
    struct sqlite_connection *conn = connection;
    conn->notify_due = NULL;
    if (conn->writing)
        writer_abandon(conn);
    else if (!sqlite3_get_autocommit(conn->reader.db))
        sqlite3_exec(conn->reader.db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sqlite_notify(void *connection, const char *channel, char *err, size_t errlen)
{
    struct sqlite_connection *conn = connection;
    if (conn->writing) { /* in a transaction: when it commits */
        conn->notify_due = channel;
        return 0;
    }
    return sqlite_notify_send(conn->shared->path, channel, err, errlen);
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
    .notify = sqlite_notify,
    .listen_open = sqlite_notify_listen,
    .listen_fd = sqlite_notify_fd,
    .listen_read = sqlite_notify_read,
    .listen_close = sqlite_notify_close,
};
