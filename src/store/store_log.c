/* store_log: the transparency log's rows; see store.h ("The transparency
 * log's rows") and audit/log.h. */
#include "store/store_internal.h"

#include "util/strings.h"

#include <pthread.h>
#include <stdio.h>

int
store_log_lock(struct store_conn *conn, int *taken)
{
    *taken = 1;
    if (conn->driver->dialect != STORE_DIALECT_POSTGRESQL)
        return 0; /* SQLite: the write transaction is the lock */
    int64_t value = 0;
    /* An arbitrary fixed key, apart from the migration's. */
    int rc = exec(conn,
                  "SELECT CASE WHEN pg_try_advisory_xact_lock(4242500200) THEN 1 ELSE 0 END",
                  NULL, 0, read_one_integer, &value, NULL);
    if (rc != 1)
        return -1;
    *taken = value == 1;
    return 0;
}

int
store_log_pending(struct store_conn *conn, int64_t limit,
                  int (*each)(void *, const struct store_audit_event *), void *context)
{
    struct audit_walk walk = {each, context};
    struct store_value param = v_integer(limit);
    return exec(conn, STORE_LOG_PENDING_SQL, &param, 1, store_audit_walk_row, &walk, NULL) < 0
               ? -1
               : 0;
}

int
store_audit_by_subject(struct store_conn *conn, const char *subject,
                       int (*each)(void *, const struct store_audit_event *), void *context)
{
    struct audit_walk walk = {each, context};
    struct store_value param = v_text(subject);
    return exec(conn,
                "SELECT " STORE_AUDIT_COLUMNS " FROM audit_event WHERE subject = $1"
                " ORDER BY sequence",
                &param, 1, store_audit_walk_row, &walk, NULL) < 0
               ? -1
               : 0;
}

int
store_log_events(struct store_conn *conn,
                 int (*each)(void *, const struct store_audit_event *), void *context)
{
    struct audit_walk walk = {each, context};
    return exec(conn,
                "SELECT " STORE_AUDIT_COLUMNS " FROM audit_event WHERE leaf IS NOT NULL"
                " ORDER BY leaf",
                NULL, 0, store_audit_walk_row, &walk, NULL) < 0
               ? -1
               : 0;
}

int
store_log_assign(struct store_conn *conn, const char *subject, int64_t sequence, int64_t leaf,
                 const uint8_t salt[STORE_LOG_SALT_BYTES], int *changed)
{
    struct store_value params[] = {v_text(subject), v_integer(sequence), v_integer(leaf),
                                   v_blob(salt, STORE_LOG_SALT_BYTES)};
    int64_t changes = 0;
    *changed = 0;
    /* By subject too: on Citus that is the row's shard. */
    if (exec(conn,
             "UPDATE audit_event SET leaf = $3, salt = COALESCE(salt, $4)"
             " WHERE subject = $1 AND sequence = $2 AND leaf IS NULL",
             params, 4, NULL, NULL, &changes) != 0)
        return -1;
    *changed = changes == 1;
    return 0;
}

int
store_log_size(struct store_conn *conn, int64_t *size)
{
    *size = 0;
    return exec(conn, "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaf", NULL, 0,
                read_one_integer, size, NULL) == 1
               ? 0
               : -1;
}

int
store_log_put_leaf(struct store_conn *conn, int64_t index,
                   const uint8_t commitment[STORE_LOG_HASH_BYTES])
{
    struct store_value params[] = {v_integer(index), v_blob(commitment, STORE_LOG_HASH_BYTES)};
    return exec(conn, "INSERT INTO log_leaf (idx, commitment) VALUES ($1, $2)", params, 2,
                NULL, NULL, NULL);
}

struct indexed_walk {
    int (*each)(void *, int64_t, const uint8_t *);
    void *context;
};

static int
walk_indexed(void *context, const struct store_value *columns, size_t count)
{
    struct indexed_walk *walk = context;
    if (count != 2 || columns[0].type != STORE_VALUE_INTEGER ||
        columns[1].type != STORE_VALUE_BLOB || columns[1].length != STORE_LOG_HASH_BYTES)
        return -1;
    return walk->each(walk->context, columns[0].integer, columns[1].data);
}

int
store_log_leaves(struct store_conn *conn, int64_t from, int64_t to,
                 int (*each)(void *, int64_t, const uint8_t *), void *context)
{
    struct indexed_walk walk = {each, context};
    struct store_value params[] = {v_integer(from), v_integer(to)};
    return exec(conn,
                "SELECT idx, commitment FROM log_leaf WHERE idx >= $1 AND idx < $2"
                " ORDER BY idx",
                params, 2, walk_indexed, &walk, NULL) < 0
               ? -1
               : 0;
}

int
store_log_put_hash(struct store_conn *conn, int64_t index, const uint8_t hash[STORE_LOG_HASH_BYTES])
{
    struct store_value params[] = {v_integer(index), v_blob(hash, STORE_LOG_HASH_BYTES)};
    return exec(conn, "INSERT INTO log_hash (idx, hash) VALUES ($1, $2)", params, 2, NULL,
                NULL, NULL);
}

int
store_log_hash_range(struct store_conn *conn, int64_t from, int64_t to,
                     int (*each)(void *, int64_t, const uint8_t *), void *context)
{
    struct indexed_walk walk = {each, context};
    struct store_value params[] = {v_integer(from), v_integer(to)};
    return exec(conn,
                "SELECT idx, hash FROM log_hash WHERE idx >= $1 AND idx <= $2 ORDER BY idx",
                params, 2, walk_indexed, &walk, NULL) < 0
               ? -1
               : 0;
}

int
store_log_put_checkpoint(struct store_conn *conn, const struct store_log_checkpoint *checkpoint)
{
    struct store_value params[] = {
        v_integer(checkpoint->size), v_blob(checkpoint->root, STORE_LOG_HASH_BYTES),
        v_text(checkpoint->note), v_integer(checkpoint->created_at)};
    return exec(conn,
                "INSERT INTO log_checkpoint (size, root, note, created_at)"
                " VALUES ($1, $2, $3, $4)",
                params, 4, NULL, NULL, NULL);
}

int
store_log_set_note(struct store_conn *conn, int64_t size, const char *old_note,
                   const char *note, int *changed)
{
    struct store_value params[] = {v_text(note), v_integer(size), v_text(old_note)};
    int64_t changes = 0;
    /* Only over the note read: two nodes adding cosignatures at once
     * never erase each other's. */
    if (exec(conn, "UPDATE log_checkpoint SET note = $1 WHERE size = $2 AND note = $3", params, 3,
             NULL, NULL, &changes) != 0)
        return -1;
    *changed = changes == 1;
    return 0;
}

static int
fill_checkpoint(const struct store_value *columns, size_t count,
                struct store_log_checkpoint *out)
{
    memset(out, 0, sizeof *out);
    if (count != 4 || columns[0].type != STORE_VALUE_INTEGER ||
        columns[1].type != STORE_VALUE_BLOB || columns[1].length != STORE_LOG_HASH_BYTES ||
        column_text_into(&columns[2], out->note, sizeof out->note) != 0)
        return -1;
    out->size = columns[0].integer;
    memcpy(out->root, columns[1].data, STORE_LOG_HASH_BYTES);
    out->created_at = column_integer(&columns[3]);
    return 0;
}

static int
read_checkpoint(void *context, const struct store_value *columns, size_t count)
{
    return fill_checkpoint(columns, count, context) == 0 ? 1 : -1;
}

int
store_log_latest_checkpoint(struct store_conn *conn, struct store_log_checkpoint *out, int *found)
{
    int rc = exec(conn,
                  "SELECT size, root, note, created_at FROM log_checkpoint"
                  " ORDER BY size DESC LIMIT 1",
                  NULL, 0, read_checkpoint, out, NULL);
    *found = rc == 1;
    return rc < 0 ? -1 : 0;
}

struct checkpoint_walk {
    int (*each)(void *, const struct store_log_checkpoint *);
    void *context;
};

static int
walk_checkpoint(void *context, const struct store_value *columns, size_t count)
{
    struct checkpoint_walk *walk = context;
    struct store_log_checkpoint checkpoint;
    if (fill_checkpoint(columns, count, &checkpoint) != 0)
        return -1;
    return walk->each(walk->context, &checkpoint);
}

int
store_log_checkpoints(struct store_conn *conn,
                      int (*each)(void *, const struct store_log_checkpoint *), void *context)
{
    struct checkpoint_walk walk = {each, context};
    return exec(conn, "SELECT size, root, note, created_at FROM log_checkpoint ORDER BY size",
                NULL, 0, walk_checkpoint, &walk, NULL) < 0
               ? -1
               : 0;
}

/* Multi-row statements. The drivers cache prepared statements by the
 * address of their SQL text (store_driver.h), so each text is made once,
 * for chunks of 2^k rows (k < CHUNK_SIZES), and a batch is written as a
 * few of them: 300 rows go as 128 + 128 + 32 + 8 + 4. Two parameters a
 * row: the largest chunk fits STORE_PARAMS_MAX. */
#define CHUNK_SIZES 8
#define CHUNK_ROWS_MAX (1u << (CHUNK_SIZES - 1))
_Static_assert(2 * CHUNK_ROWS_MAX <= STORE_PARAMS_MAX, "a chunk's parameters");
enum chunk_kind { CHUNK_ASSIGN, CHUNK_LEAF, CHUNK_HASH, CHUNK_READ, CHUNK_KINDS };
static char *chunk_sql[CHUNK_KINDS][CHUNK_SIZES];
static pthread_once_t chunk_once = PTHREAD_ONCE_INIT;

static char *
make_assign(size_t rows)
{
    size_t cap = 128 + rows * 64, at = 0;
    char *sql = malloc(cap);
    if (sql == NULL)
        return NULL;
    /* "UPDATE ... SET leaf = CASE sequence WHEN $1 THEN $2 ... END WHERE
     * sequence IN ($1, $3, ...)": on Citus one multi-shard update, not a
     * router query per event. */
    at += (size_t)snprintf(sql + at, cap - at, "UPDATE audit_event SET leaf = CASE sequence");
    for (size_t i = 0; i < rows; i++)
        at += (size_t)snprintf(sql + at, cap - at, " WHEN $%zu THEN CAST($%zu AS BIGINT)",
                               2 * i + 1, 2 * i + 2);
    at += (size_t)snprintf(sql + at, cap - at, " END WHERE sequence IN (");
    for (size_t i = 0; i < rows; i++)
        at += (size_t)snprintf(sql + at, cap - at, "%s$%zu", i ? ", " : "", 2 * i + 1);
    snprintf(sql + at, cap - at,
             ") AND leaf IS NULL AND (salt IS NOT NULL OR commitment IS NOT NULL)");
    return sql;
}

static char *
make_insert(const char *table, const char *column, size_t rows)
{
    size_t cap = 96 + rows * 24, at = 0;
    char *sql = malloc(cap);
    if (sql == NULL)
        return NULL;
    at += (size_t)snprintf(sql + at, cap - at, "INSERT INTO %s (idx, %s) VALUES", table, column);
    for (size_t i = 0; i < rows; i++)
        at += (size_t)snprintf(sql + at, cap - at, "%s($%zu, $%zu)", i ? ", " : " ", 2 * i + 1,
                               2 * i + 2);
    return sql;
}

static char *
make_read(size_t rows)
{
    size_t cap = 64 + rows * 8, at = 0;
    char *sql = malloc(cap);
    if (sql == NULL)
        return NULL;
    at += (size_t)snprintf(sql + at, cap - at, "SELECT idx, hash FROM log_hash WHERE idx IN (");
    for (size_t i = 0; i < rows; i++)
        at += (size_t)snprintf(sql + at, cap - at, "%s$%zu", i ? ", " : "", i + 1);
    snprintf(sql + at, cap - at, ")");
    return sql;
}

static void
make_chunks(void)
{
    for (size_t k = 0; k < CHUNK_SIZES; k++) {
        size_t rows = (size_t)1 << k;
        chunk_sql[CHUNK_ASSIGN][k] = make_assign(rows);
        chunk_sql[CHUNK_LEAF][k] = make_insert("log_leaf", "commitment", rows);
        chunk_sql[CHUNK_HASH][k] = make_insert("log_hash", "hash", rows);
        chunk_sql[CHUNK_READ][k] = make_read(rows);
    }
}

/* The largest chunk of at most `left` rows: its size index, or -1 when
 * the texts could not be made. */
static int
chunk_for(enum chunk_kind kind, size_t left)
{
    pthread_once(&chunk_once, make_chunks);
    int k = CHUNK_SIZES - 1;
    while (k > 0 && ((size_t)1 << k) > left)
        k--;
    return chunk_sql[kind][k] != NULL ? k : -1;
}

int
store_log_assign_many(struct store_conn *conn, const int64_t *sequences, const int64_t *leaves,
                      size_t count, int64_t *changed)
{
    *changed = 0;
    struct store_value params[2 * CHUNK_ROWS_MAX];
    for (size_t done = 0; done < count;) {
        int k = chunk_for(CHUNK_ASSIGN, count - done);
        if (k < 0)
            return error_set(conn->error, sizeof conn->error, "out of memory");
        size_t rows = (size_t)1 << k;
        for (size_t i = 0; i < rows; i++) {
            params[2 * i] = v_integer(sequences[done + i]);
            params[2 * i + 1] = v_integer(leaves[done + i]);
        }
        int64_t changes = 0;
        if (exec(conn, chunk_sql[CHUNK_ASSIGN][k], params, 2 * rows, NULL, NULL, &changes) != 0)
            return -1;
        *changed += changes;
        done += rows;
    }
    return 0;
}

static int
put_many(struct store_conn *conn, enum chunk_kind kind, int64_t first,
         const uint8_t (*values)[STORE_LOG_HASH_BYTES], size_t count)
{
    struct store_value params[2 * CHUNK_ROWS_MAX];
    for (size_t done = 0; done < count;) {
        int k = chunk_for(kind, count - done);
        if (k < 0)
            return error_set(conn->error, sizeof conn->error, "out of memory");
        size_t rows = (size_t)1 << k;
        for (size_t i = 0; i < rows; i++) {
            params[2 * i] = v_integer(first + (int64_t)(done + i));
            params[2 * i + 1] = v_blob(values[done + i], STORE_LOG_HASH_BYTES);
        }
        if (exec(conn, chunk_sql[kind][k], params, 2 * rows, NULL, NULL, NULL) != 0)
            return -1;
        done += rows;
    }
    return 0;
}

int
store_log_put_leaves(struct store_conn *conn, int64_t first,
                     const uint8_t (*commitments)[STORE_LOG_HASH_BYTES], size_t count)
{
    return put_many(conn, CHUNK_LEAF, first, commitments, count);
}

int
store_log_put_hashes(struct store_conn *conn, int64_t first,
                     const uint8_t (*hashes)[STORE_LOG_HASH_BYTES], size_t count)
{
    return put_many(conn, CHUNK_HASH, first, hashes, count);
}

struct hash_fill {
    const int64_t *indexes;
    size_t count;
    uint8_t (*out)[STORE_LOG_HASH_BYTES];
    size_t filled;
};

static int
fill_hash(void *context, const struct store_value *columns, size_t count)
{
    struct hash_fill *fill = context;
    if (count != 2 || columns[0].type != STORE_VALUE_INTEGER ||
        columns[1].type != STORE_VALUE_BLOB || columns[1].length != STORE_LOG_HASH_BYTES)
        return -1;
    for (size_t i = 0; i < fill->count; i++)
        if (fill->indexes[i] == columns[0].integer) {
            memcpy(fill->out[i], columns[1].data, STORE_LOG_HASH_BYTES);
            fill->filled++;
        }
    return 0;
}

int
store_log_hashes(struct store_conn *conn, const int64_t *indexes, size_t count,
                 uint8_t (*out)[STORE_LOG_HASH_BYTES], int *complete)
{
    *complete = 0;
    size_t done = 0, filled = 0;
    while (done < count) {
        int k = chunk_for(CHUNK_READ, count - done);
        if (k < 0)
            return -1;
        size_t rows = (size_t)1 << k;
        struct store_value params[CHUNK_ROWS_MAX];
        for (size_t i = 0; i < rows; i++)
            params[i] = v_integer(indexes[done + i]);
        struct hash_fill fill = {indexes + done, rows, out + done, 0};
        if (exec(conn, chunk_sql[CHUNK_READ][k], params, rows, fill_hash, &fill, NULL) < 0)
            return -1;
        filled += fill.filled;
        done += rows;
    }
    *complete = filled == count;
    return 0;
}
