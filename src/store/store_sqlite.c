/* store_sqlite: the SQLite backend of the store (the embedded default).
 * One sqlite3 handle per pooled connection, WAL journal, prepared
 * statements cached per connection by the address of their SQL literal. */
#include "store/store_driver.h"

#include "util/strings.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define STATEMENT_CACHE_SIZE 128
#define BUSY_TIMEOUT_MS 10000

#define SCHEME "sqlite:"

struct sqlite_connection {
    sqlite3 *db;
    int busy;       /* the last failure was SQLITE_BUSY past the timeout */
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

static void *
sqlite_connect(const char *location, char *err, size_t errlen)
{
    location += strlen(SCHEME);
    struct sqlite_connection *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        error_set(err, errlen, "out of memory");
        return NULL;
    }
    /* FULLMUTEX is not needed: the pool gives a connection to one thread at
     * a time. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(location, &conn->db, flags, NULL) != SQLITE_OK) {
        error_set(err, errlen, "cannot open database %s: %s", location,
                  conn->db ? sqlite3_errmsg(conn->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(conn->db, BUSY_TIMEOUT_MS);
    char *message = NULL;
    if (sqlite3_exec(conn->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
                     NULL, NULL, &message) != SQLITE_OK) {
        error_set(err, errlen, "cannot configure database %s: %s", location,
                  message ? message : "unknown error");
        sqlite3_free(message);
        goto fail;
    }
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
    sqlite3_close(conn->db);
    free(conn);
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
    if (param_count > STORE_PARAMS_MAX ||
        bind(statement, params, param_count) != SQLITE_OK) {
        status = error_set(err, errlen, "bind: %s", sqlite3_errmsg(conn->db));
        goto cleanup;
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
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
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
 * deadlock upgrading a read lock (the busy timeout then orders them). */
static int
sqlite_begin(void *connection, char *err, size_t errlen)
{
    return sqlite_exec_script(connection, "BEGIN IMMEDIATE", err, errlen);
}

static int
sqlite_commit(void *connection, char *err, size_t errlen)
{
    return sqlite_exec_script(connection, "COMMIT", err, errlen);
}

static void
sqlite_rollback(void *connection)
{
    struct sqlite_connection *conn = connection;
    if (!sqlite3_get_autocommit(conn->db))
        sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
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
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .exec = sqlite_exec,
    .exec_script = sqlite_exec_script,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .unavailable = sqlite_unavailable,
};
