/* store_driver: what a database backend provides to store.c. Private to
 * the store module (the Redis ae_*.c pattern: one small static interface,
 * one file per backend). SQL uses $1..$n parameters in every backend, and
 * the domain queries are written once, in the subset both dialects run
 * alike; only the schema (store_schema.c) is written per dialect. */
#ifndef CYBERID_STORE_DRIVER_H
#define CYBERID_STORE_DRIVER_H

#include <stddef.h>
#include <stdint.h>

enum store_value_type { STORE_VALUE_NULL, STORE_VALUE_INTEGER, STORE_VALUE_TEXT,
                        STORE_VALUE_BLOB };

struct store_value {
    enum store_value_type type;
    int64_t integer;
    const void *data; /* text (not NUL-terminated in rows) or blob */
    size_t length;
};

/* Most parameters of a statement, and most columns of a row (an OpenID
 * Connect login row has 19). */
#define STORE_PARAMS_MAX 256

/* Called for each result row; columns are valid only during the call.
 * Return 0 to go on, anything else to stop (exec then returns that). */
typedef int (*store_row_fn)(void *context, const struct store_value *columns,
                            size_t count);

enum store_dialect { STORE_DIALECT_SQLITE, STORE_DIALECT_POSTGRESQL };

struct store_driver {
    const char *name;           /* "sqlite", "postgresql" */
    enum store_dialect dialect;
    /* 1 if this driver opens `location` (its scheme). */
    int (*accepts)(const char *location);
    /* Checks `location` before it is recorded (NULL: nothing to check).
     * 0 or -1 with err. */
    int (*check)(const char *location, char *err, size_t errlen);
    /* State that one store's connections share (NULL function: none):
     * made before the first connect, passed to each, ended by stop() after
     * the last disconnect. SQLite's is its checkpointer thread and its
     * writer gate. NULL with err set. */
    void *(*start)(const char *location, char *err, size_t errlen);
    void (*stop)(void *shared);
    /* Opens one connection to the whole `location`, given start()'s state
     * (NULL when the driver has no start). NULL with err set. */
    void *(*connect)(const char *location, void *shared, char *err, size_t errlen);
    void (*disconnect)(void *connection);
    /* Runs one statement. `sql` must be a string literal: drivers cache
     * prepared statements by its address. Sets *changes (may be NULL) to
     * the rows changed. Returns 0, -1 (err set), or a row callback's stop. */
    int (*exec)(void *connection, const char *sql,
                const struct store_value *params, size_t param_count,
                store_row_fn row, void *context, int64_t *changes,
                char *err, size_t errlen);
    /* Runs a statement inside a transaction whose rows are not wanted and
     * whose only outcome is success or failure (a plain INSERT of a new
     * row). The backend may hold it back and send it with the
     * transaction's next statement or its commit (PostgreSQL: in their
     * pipeline, one round trip); its failure is then reported by that
     * statement or the commit. NULL: the store calls exec(). 0 or -1. */
    int (*queue)(void *connection, const char *sql, const struct store_value *params,
                 size_t param_count, char *err, size_t errlen);
    /* Runs several statements with no parameters (schema migrations). */
    int (*exec_script)(void *connection, const char *sql, char *err,
                       size_t errlen);
    /* Transactions, as functions rather than SQL text: each backend has
     * its own way of taking the write lock (SQLite's BEGIN IMMEDIATE) and
     * of knowing that a connection lost mid-transaction must not be
     * silently replaced by a new one. 0 or -1 with err. */
    int (*begin)(void *connection, char *err, size_t errlen);
    int (*commit)(void *connection, char *err, size_t errlen);
    void (*rollback)(void *connection);
    /* 1 when the last failure on this connection came from the database
     * being out of reach (connection lost, server shutting down or not
     * accepting connections, a statement past its time limit, SQLite's
     * lock not granted in time) rather than from the statement itself:
     * the request may succeed if retried later. */
    int (*unavailable)(void *connection);
    /* 1 when the last failure on this connection was a unique key already
     * taken (a queued insert's, reported by the commit). NULL: never
     * asked (the store asks only where it queues such inserts). */
    int (*conflict)(void *connection);
    /* Change notifications between the processes on one database
     * (config_cache.h); `channel` is a fixed identifier of the store's.
     * notify() sends one when the connection's transaction commits (at
     * once outside one; none if it rolls back). A listener
     * (listen_open()) has a descriptor to poll for input (listen_fd());
     * listen_read() says how many notifications arrived since its last
     * call (0 or more), or -1 once the listener is lost (close it, open
     * another). PostgreSQL: NOTIFY, and LISTEN on a connection of its own;
     * SQLite: sqlite_notify.h. */
    int (*notify)(void *connection, const char *channel, char *err, size_t errlen);
    void *(*listen_open)(const char *location, const char *channel, char *err,
                         size_t errlen);
    int (*listen_fd)(void *listener);
    int (*listen_read)(void *listener);
    void (*listen_close)(void *listener);
};

extern const struct store_driver store_sqlite_driver;
extern const struct store_driver store_pg_driver;

/* The schema, as migrations in order: version i+1 is migrations[i], with
 * its SQL for each dialect (NULL: nothing to do in that dialect). */
struct store_migration {
    const char *sqlite;
    const char *postgresql;
};
extern const struct store_migration store_migrations[];
extern const size_t store_migration_count;

/* How each table is placed on a Citus cluster (docs/scale.md): by a
 * distribution column (co-located with another table when `colocate_with`
 * is set), as a reference table copied to every node (column NULL), or
 * left on the coordinator (local: column NULL and local 1). */
struct store_placement {
    const char *table;
    const char *column;
    const char *colocate_with;
    int local;
};
extern const struct store_placement store_placements[];
extern const size_t store_placement_count;

#endif
