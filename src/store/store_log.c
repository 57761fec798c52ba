/* store_log: the transparency log's rows; see store.h ("The transparency
 * log's rows") and audit/log.h. */
#include "store/store_internal.h"

#include "util/strings.h"

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
    return exec(conn,
                "SELECT " STORE_AUDIT_COLUMNS " FROM audit_event WHERE leaf IS NULL"
                " ORDER BY sequence LIMIT $1",
                &param, 1, store_audit_walk_row, &walk, NULL) < 0
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

static int
read_hash(void *context, const struct store_value *columns, size_t count)
{
    if (count != 1 || columns[0].type != STORE_VALUE_BLOB ||
        columns[0].length != STORE_LOG_HASH_BYTES)
        return -1;
    memcpy(context, columns[0].data, STORE_LOG_HASH_BYTES);
    return 1;
}

int
store_log_hash(struct store_conn *conn, int64_t index, uint8_t out[STORE_LOG_HASH_BYTES],
               int *found)
{
    struct store_value param = v_integer(index);
    int rc = exec(conn, "SELECT hash FROM log_hash WHERE idx = $1", &param, 1, read_hash, out,
                  NULL);
    *found = rc == 1;
    return rc < 0 ? -1 : 0;
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
