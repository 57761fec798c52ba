/* store_internal: what the store's own files share (the connection
 * struct and the value helpers). Private to src/store/. */
#ifndef CYBERID_STORE_INTERNAL_H
#define CYBERID_STORE_INTERNAL_H

#include "store/store.h"
#include "store/store_driver.h"

#include <stdlib.h>
#include <string.h>

struct store_conn {
    const struct store_driver *driver;
    void *connection;
    int in_transaction;
    int busy;
    /* Every table in one database (SQLite, PostgreSQL without Citus): a
     * statement may join any of them. On Citus only co-located tables and
     * reference tables join in one shard's statement. */
    int one_database;
    /* Platforms and token keys kept in memory (config_cache.h), or NULL:
     * set for every connection by store_config_cache_start(), before they
     * are used. */
    struct config_cache *cache;
    /* The cache's generation when the transaction began, and whether the
     * transaction changed a cached table (store_config_changed()): what a
     * read inside a transaction may be kept under (store_cache_keeps()). */
    uint64_t begin_generation;
    int config_changed;
    char error[STORE_ERROR_MAX];
};

/* Set when a store call on this thread failed for want of the database;
 * read and cleared by store_outage_take() (store.h). */
extern _Thread_local int store_thread_outage;

/* Records whether the failure just reported by the driver was an outage. */
static inline int
note_failure(struct store_conn *conn)
{
    if (conn->driver->unavailable(conn->connection))
        store_thread_outage = 1;
    return -1;
}

/* ── Value helpers ─────────────────────────────────────────────────────── */

static inline struct store_value
v_integer(int64_t integer)
{
    return (struct store_value){.type = STORE_VALUE_INTEGER, .integer = integer};
}

static inline struct store_value
v_text(const char *text)
{
    if (text == NULL)
        return (struct store_value){.type = STORE_VALUE_NULL};
    return (struct store_value){.type = STORE_VALUE_TEXT, .data = text,
                                .length = strlen(text)};
}

static inline struct store_value
v_blob(const void *data, size_t length)
{
    return (struct store_value){.type = STORE_VALUE_BLOB, .data = data,
                                .length = length};
}

/* A malloc'd NUL-terminated copy of a text column (NULL for SQL NULL). */
static inline char *
column_text(const struct store_value *value, int *failed)
{
    if (value->type == STORE_VALUE_NULL)
        return NULL;
    char *copy = malloc(value->length + 1);
    if (copy == NULL) {
        *failed = 1;
        return NULL;
    }
    if (value->length > 0)
        memcpy(copy, value->data, value->length);
    copy[value->length] = '\0';
    return copy;
}

static inline int
column_text_into(const struct store_value *value, char *out, size_t cap)
{
    if (value->type != STORE_VALUE_TEXT || value->length >= cap)
        return -1;
    memcpy(out, value->data, value->length);
    out[value->length] = '\0';
    return 0;
}

static inline int
exec(struct store_conn *conn, const char *sql, const struct store_value *params,
     size_t count, store_row_fn row, void *context, int64_t *changes)
{
    int rc = conn->driver->exec(conn->connection, sql, params, count, row,
                                context, changes, conn->error, sizeof conn->error);
    if (rc < 0)
        note_failure(conn);
    return rc;
}

/* A write whose rows are not read and whose failure fails the whole
 * transaction anyway (a plain INSERT of a new row, no RETURNING, no ON
 * CONFLICT whose outcome matters): inside a transaction the backend may
 * send it with the next statement or the commit (store_driver.h, queue),
 * which then reports its failure; callers roll back after any -1 of
 * either (store.h, store_begin). Outside a transaction it runs now. */
static inline int
exec_queued(struct store_conn *conn, const char *sql, const struct store_value *params,
            size_t count)
{
    if (!conn->in_transaction || conn->driver->queue == NULL)
        return exec(conn, sql, params, count, NULL, NULL, NULL);
    int rc = conn->driver->queue(conn->connection, sql, params, count, conn->error,
                                 sizeof conn->error);
    if (rc < 0)
        note_failure(conn);
    return rc;
}

/* An audit event's columns as store_audit_append() inserts them: time,
 * actor, action, subject, details, salt, sealed, commitment. */
#define STORE_AUDIT_PARAMS 8
void store_audit_params(const struct store_audit_event *event,
                        struct store_value params[STORE_AUDIT_PARAMS]);

/* Tells every serve's config cache (config_cache.h) that the platform or
 * the token_key table changed: a notification, sent when the caller's
 * transaction commits (at once outside one, after the change). Every
 * write of either table must call it. 0, or -1 (note_failure). */
int store_config_changed(struct store_conn *conn);

/* Whether a row of a cached table just read on conn may be kept, and the
 * generation to hand to the cache's put: the one its get gave, outside a
 * transaction. Inside one, a row may be the transaction's own uncommitted
 * change (never kept), and a transaction may read a snapshot taken at its
 * start (PostgreSQL under REPEATABLE READ or SERIALIZABLE, should the
 * database default to one), older than a notification the cache has
 * already had: a row is kept only if the cache was not emptied since the
 * transaction began. */
static inline int
store_cache_keeps(const struct store_conn *conn, uint64_t *generation)
{
    if (conn->cache == NULL)
        return 0;
    if (!conn->in_transaction)
        return 1;
    if (conn->config_changed)
        return 0;
    *generation = conn->begin_generation;
    return 1;
}

static inline struct store_value
v_null(void)
{
    return (struct store_value){.type = STORE_VALUE_NULL};
}

static inline int64_t
column_integer(const struct store_value *value)
{
    return value->type == STORE_VALUE_INTEGER ? value->integer : 0;
}

/* Row reader for one integer column (a count, a sequence, a flag). */
static inline int
read_one_integer(void *context, const struct store_value *columns, size_t count)
{
    if (count < 1 || columns[0].type != STORE_VALUE_INTEGER)
        return -1;
    *(int64_t *)context = columns[0].integer;
    return 1;
}

/* Row reader for one text column into a buffer of STORE_ID_MAX bytes
 * (a lookup table's target key: record id, web number). */
static inline int
read_one_key(void *context, const struct store_value *columns, size_t count)
{
    if (count < 1 || column_text_into(&columns[0], context, STORE_ID_MAX) != 0)
        return -1;
    return 1;
}

/* A platform's columns, each after the prefix t ("" or a table alias
 * and its dot), and its row reader (0, or -1 for a malformed row). Shared
 * by store.c and store_oidc.c, which reads a login or a token with its
 * platform (a reference table: joined on Citus too). */
#define STORE_PLATFORM_COLUMNS_OF(t)                                              \
    t "client_id, " t "name, " t "redirect_uris, " t "claims, " t "legal_basis, " \
    t "auth_method, " t "jwks, " t "sector_id, " t "secret_hash, " t "disabled, "   \
    t "created_at, " t "purpose, " t "refresh_reuse, " t "fapi2"
#define STORE_PLATFORM_COLUMN_COUNT 14
int store_platform_fill(const struct store_value *columns, size_t count,
                        struct store_platform *platform);

/* The columns of an audit event walk, and its row reader (context: a
 * struct audit_walk). Shared by store.c and store_log.c. */
#define STORE_AUDIT_COLUMNS \
    "sequence, time, actor, action, subject, details, salt, leaf, sealed, commitment"
struct audit_walk {
    int (*each)(void *, const struct store_audit_event *);
    void *context;
};
int store_audit_walk_row(void *context, const struct store_value *columns, size_t count);

/* The events the log has not numbered yet, oldest first, at most $1
 * (store_log_pending). "ORDER BY leaf, sequence" is the order of the index
 * audit_event_leaf (leaf, sequence), and the same order here, every leaf
 * being NULL: PostgreSQL then reads the pending events out of that index
 * and nothing else. With "ORDER BY sequence" it could read the sequence
 * index from the log's first event and drop every numbered one (its
 * statistics, taken while many events were pending, rated that plan
 * cheaper): 47 000 events read for 214 pending took 65-98 ms a batch, the
 * cost growing with the log. tests/store/test_store.c explains this text. */
#define STORE_LOG_PENDING_SQL \
    "SELECT " STORE_AUDIT_COLUMNS " FROM audit_event WHERE leaf IS NULL" \
    " ORDER BY leaf, sequence LIMIT $1"

#endif
