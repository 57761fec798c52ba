/* store_driver: what a database backend provides to store.c. Private to
 * the store module (the Redis ae_*.c pattern: one small static interface,
 * one file per backend). SQL uses $1..$n parameters in every backend. */
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
#define STORE_PARAMS_MAX 32

/* Called for each result row; columns are valid only during the call.
 * Return 0 to go on, anything else to stop (exec then returns that). */
typedef int (*store_row_fn)(void *context, const struct store_value *columns,
                            size_t count);

struct store_driver {
    const char *scheme; /* location prefix, e.g. "sqlite" */
    void *(*connect)(const char *location, char *err, size_t errlen);
    void (*disconnect)(void *connection);
    /* Runs one statement. `sql` must be a string literal: drivers cache
     * prepared statements by its address. Sets *changes (may be NULL) to
     * the rows changed. Returns 0, -1 (err set), or a row callback's stop. */
    int (*exec)(void *connection, const char *sql,
                const struct store_value *params, size_t param_count,
                store_row_fn row, void *context, int64_t *changes,
                char *err, size_t errlen);
    /* Runs several statements with no parameters (schema migrations). */
    int (*exec_script)(void *connection, const char *sql, char *err,
                       size_t errlen);
    const char *begin_sql; /* the driver's "begin, taking the write lock" */
};

extern const struct store_driver store_sqlite_driver;

/* The schema migrations, in order; version i+1 is migrations[i]. */
extern const char *const store_migrations[];
extern const size_t store_migration_count;

#endif
