/* store: the connection pool, schema migrations and the domain queries,
 * written once over the driver interface; see store.h. */
#include "store/store.h"

#include "store/config_cache.h"
#include "store/store_driver.h"
#include "store/store_internal.h"
#include "util/strings.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STORE_POOL_MAX 64

struct store {
    const struct store_driver *driver;
    const char *backend;        /* store_backend() */
    void *shared;               /* the driver's start(), NULL if none */
    char *location;             /* as opened (the config cache connects) */
    struct config_cache *cache; /* store_config_cache_start() */
    pthread_mutex_t lock;
    pthread_cond_t released;
    unsigned count;
    struct store_conn conns[STORE_POOL_MAX];
};

/* ── Pool ──────────────────────────────────────────────────────────────── */

_Thread_local int store_thread_outage;

int
store_outage_take(void)
{
    int outage = store_thread_outage;
    store_thread_outage = 0;
    return outage;
}

static const struct store_driver *
driver_for(const char *location)
{
    static const struct store_driver *const drivers[] = {&store_sqlite_driver,
                                                         &store_pg_driver};
    for (size_t i = 0; i < sizeof drivers / sizeof *drivers; i++)
        if (drivers[i]->accepts(location))
            return drivers[i];
    return NULL;
}

static int
read_flag(void *context, const struct store_value *columns, size_t count)
{
    (void)columns;
    (void)count;
    *(int *)context = 1;
    return 0;
}

/* Places each table of store_placements on the Citus cluster that conn's
 * database is the coordinator of, unless already placed (so a schema
 * restored from a dump of plain PostgreSQL is distributed at its next
 * start). Inside the migration's transaction. 0 or -1. */
static int
distribute(struct store_conn *conn)
{
    for (size_t i = 0; i < store_placement_count; i++) {
        const struct store_placement *placement = &store_placements[i];
        if (placement->local)
            continue;
        int placed = 0;
        struct store_value table = v_text(placement->table);
        if (exec(conn,
                 "SELECT 1 FROM pg_dist_partition"
                 " WHERE logicalrelid = to_regclass($1)",
                 &table, 1, read_flag, &placed, NULL) != 0)
            return -1;
        if (placed)
            continue;
        int rc;
        if (placement->column == NULL) {
            rc = exec(conn, "SELECT create_reference_table($1)", &table, 1, NULL, NULL,
                      NULL);
        } else {
            struct store_value params[] = {
                table, v_text(placement->column),
                v_text(placement->colocate_with ? placement->colocate_with : "default"),
            };
            rc = exec(conn,
                      "SELECT create_distributed_table($1, $2, colocate_with => $3)",
                      params, 3, NULL, NULL, NULL);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* The store's backend, as store_backend() names it. */
static const char *
detect_backend(struct store_conn *conn)
{
    if (conn->driver->dialect == STORE_DIALECT_SQLITE)
        return "sqlite";
    int citus = 0;
    if (exec(conn, "SELECT 1 FROM pg_extension WHERE extname = 'citus'", NULL, 0,
             read_flag, &citus, NULL) != 0)
        return NULL;
    return citus ? "citus" : "postgresql";
}

static int
migrate(struct store_conn *conn, const char *backend, char *err, size_t errlen)
{
    int postgresql = conn->driver->dialect == STORE_DIALECT_POSTGRESQL;
    if (store_begin(conn) != 0)
        return error_set(err, errlen, "migrate: %s", conn->error);
    /* Nodes starting together: one migrates, the others wait here and
     * then find nothing left to do. The key is arbitrary but fixed. */
    if (postgresql &&
        exec(conn, "SELECT pg_advisory_xact_lock(4242500100)", NULL, 0, NULL, NULL,
             NULL) != 0)
        goto fail;
    if (conn->driver->exec_script(conn->connection,
                                  "CREATE TABLE IF NOT EXISTS schema_version ("
                                  " version BIGINT NOT NULL)",
                                  conn->error, sizeof conn->error) != 0)
        goto fail;
    int64_t version = 0;
    if (store_schema_version(conn, &version) != 0)
        goto fail;
    if (version > (int64_t)store_migration_count) {
        error_set(err, errlen,
                  "the database schema (version %lld) is newer than this "
                  "cyberid (version %zu): upgrade cyberid",
                  (long long)version, store_migration_count);
        store_rollback(conn);
        return -1;
    }
    for (size_t i = (size_t)version; i < store_migration_count; i++) {
        const char *sql = postgresql ? store_migrations[i].postgresql
                                     : store_migrations[i].sqlite;
        if (sql != NULL &&
            conn->driver->exec_script(conn->connection, sql, conn->error,
                                      sizeof conn->error) != 0)
            goto fail;
    }
    if (version < (int64_t)store_migration_count) {
        struct store_value param = v_integer((int64_t)store_migration_count);
        if (exec(conn, "DELETE FROM schema_version", NULL, 0, NULL, NULL, NULL) != 0 ||
            exec(conn, "INSERT INTO schema_version (version) VALUES ($1)",
                 &param, 1, NULL, NULL, NULL) != 0)
            goto fail;
    }
    if (strcmp(backend, "citus") == 0 && distribute(conn) != 0)
        goto fail;
    if (store_commit(conn) != 0)
        goto fail;
    return 0;
fail:
    error_set(err, errlen, "migrate: %s", conn->error);
    store_rollback(conn);
    return -1;
}

int
store_open(const char *location, unsigned connections, int run_migrations,
           struct store **out, char *err, size_t errlen)
{
    const struct store_driver *driver = driver_for(location);
    if (driver == NULL)
        return error_set(err, errlen,
                         "unsupported database location (expected sqlite:FILE or "
                         "postgresql://...)");
    if (connections == 0 || connections > STORE_POOL_MAX)
        return error_set(err, errlen, "pool size must be 1 to %d",
                         STORE_POOL_MAX);
    struct store *store = calloc(1, sizeof *store);
    if (store == NULL)
        return error_set(err, errlen, "out of memory");
    store->driver = driver;
    pthread_mutex_init(&store->lock, NULL);
    pthread_cond_init(&store->released, NULL);
    if ((store->location = strdup(location)) == NULL) {
        error_set(err, errlen, "out of memory");
        goto fail;
    }
    if (driver->start != NULL && (store->shared = driver->start(location, err, errlen)) == NULL)
        goto fail;
    for (unsigned i = 0; i < connections; i++) {
        store->conns[i].driver = driver;
        store->conns[i].connection = driver->connect(location, store->shared, err, errlen);
        if (store->conns[i].connection == NULL)
            goto fail;
        store->count++;
        if (i > 0)
            continue;
        /* Migrate on the first connection before opening the others. */
        store->backend = detect_backend(&store->conns[0]);
        if (store->backend == NULL) {
            error_set(err, errlen, "%s", store->conns[0].error);
            goto fail;
        }
        if (run_migrations && migrate(&store->conns[0], store->backend, err, errlen) != 0)
            goto fail;
    }
    for (unsigned i = 0; i < store->count; i++)
        store->conns[i].one_database = strcmp(store->backend, "citus") != 0;
    store_thread_outage = 0;
    *out = store;
    return 0;
fail:
    store_close(store);
    return -1;
}

int
store_location_check(const char *location, char *err, size_t errlen)
{
    const struct store_driver *driver = driver_for(location);
    if (driver == NULL)
        return error_set(err, errlen,
                         "unsupported database location (expected sqlite:FILE or "
                         "postgresql://...)");
    return driver->check != NULL ? driver->check(location, err, errlen) : 0;
}

int
store_schema_exists(struct store_conn *conn, int *exists)
{
    *exists = 0;
    return exec(conn,
                conn->driver->dialect == STORE_DIALECT_SQLITE
                    ? "SELECT 1 FROM sqlite_master WHERE name = 'schema_version'"
                    : "SELECT 1 WHERE to_regclass('schema_version') IS NOT NULL",
                NULL, 0, read_flag, exists, NULL) < 0
               ? -1
               : 0;
}

void
store_close(struct store *store)
{
    if (store == NULL)
        return;
    config_cache_stop(store->cache);
    for (unsigned i = 0; i < store->count; i++)
        store->driver->disconnect(store->conns[i].connection);
    if (store->shared != NULL)
        store->driver->stop(store->shared);
    pthread_cond_destroy(&store->released);
    pthread_mutex_destroy(&store->lock);
    free(store->location);
    free(store);
}

int
store_config_cache_start(struct store *store, char *err, size_t errlen)
{
    assert(store->cache == NULL);
    if (store->driver->listen_open == NULL)
        return 0; /* a backend that cannot tell this process of another's change */
    store->cache = config_cache_start(store->driver, store->location, err, errlen);
    if (store->cache == NULL)
        return -1;
    pthread_mutex_lock(&store->lock);
    for (unsigned i = 0; i < store->count; i++)
        store->conns[i].cache = store->cache;
    pthread_mutex_unlock(&store->lock);
    return 0;
}

const char *
store_backend(const struct store *store)
{
    return store->backend;
}

struct store_conn *
store_acquire(struct store *store)
{
    store_thread_outage = 0;
    pthread_mutex_lock(&store->lock);
    for (;;) {
        for (unsigned i = 0; i < store->count; i++) {
            if (!store->conns[i].busy) {
                store->conns[i].busy = 1;
                store->conns[i].error[0] = '\0';
                pthread_mutex_unlock(&store->lock);
                return &store->conns[i];
            }
        }
        pthread_cond_wait(&store->released, &store->lock);
    }
}

void
store_release(struct store *store, struct store_conn *conn)
{
    if (conn == NULL)
        return;
    if (conn->in_transaction)
        store_rollback(conn);
    pthread_mutex_lock(&store->lock);
    conn->busy = 0;
    pthread_cond_signal(&store->released);
    pthread_mutex_unlock(&store->lock);
}

const char *
store_last_error(const struct store_conn *conn)
{
    return conn->error[0] ? conn->error : "no error";
}

int
store_schema_version(struct store_conn *conn, int64_t *version)
{
    *version = 0;
    int rc = exec(conn, "SELECT version FROM schema_version", NULL, 0,
                  read_one_integer, version, NULL);
    return rc < 0 ? -1 : 0;
}

int
store_begin(struct store_conn *conn)
{
    /* A caller's bug, not a runtime condition. */
    assert(!conn->in_transaction && "store_begin inside a transaction");
    /* Before the transaction reads anything: store_cache_keeps(). */
    if (conn->cache != NULL)
        conn->begin_generation = config_cache_generation(conn->cache);
    conn->config_changed = 0;
    if (conn->driver->begin(conn->connection, conn->error, sizeof conn->error) != 0)
        return note_failure(conn);
    conn->in_transaction = 1;
    return 0;
}

int
store_commit(struct store_conn *conn)
{
    assert(conn->in_transaction && "store_commit outside a transaction");
    conn->in_transaction = 0;
    if (conn->driver->commit(conn->connection, conn->error, sizeof conn->error) != 0)
        return note_failure(conn);
    return 0;
}

int
store_rollback(struct store_conn *conn)
{
    conn->in_transaction = 0;
    conn->driver->rollback(conn->connection);
    return 0;
}

/* ── Registry ──────────────────────────────────────────────────────────── */

static int
read_person(void *context, const struct store_value *columns, size_t count)
{
    struct store_person *person = context;
    if (count != 5 || column_text_into(&columns[0], person->id, sizeof person->id) != 0 ||
        columns[1].type != STORE_VALUE_BLOB ||
        columns[1].length != STORE_INDEX_BYTES ||
        columns[2].type != STORE_VALUE_BLOB)
        return -1;
    memcpy(person->national_id_index, columns[1].data, STORE_INDEX_BYTES);
    person->sealed = malloc(columns[2].length ? columns[2].length : 1);
    if (person->sealed == NULL)
        return -1;
    memcpy(person->sealed, columns[2].data, columns[2].length);
    person->sealed_length = columns[2].length;
    person->created_at = columns[3].integer;
    person->updated_at = columns[4].integer;
    return 1; /* one row is all there can be */
}

int
store_person_find(struct store_conn *conn, const uint8_t index[STORE_INDEX_BYTES],
                  struct store_person *out, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    char id[STORE_ID_MAX] = "";
    struct store_value param = v_blob(index, STORE_INDEX_BYTES);
    int rc = exec(conn,
                  "SELECT person_id FROM registry_index WHERE national_id_index = $1",
                  &param, 1, read_one_key, id, NULL);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    struct store_value key = v_text(id);
    rc = exec(conn,
              "SELECT id, national_id_index, sealed, created_at, updated_at"
              " FROM registry_person WHERE id = $1",
              &key, 1, read_person, out, NULL);
    *found = rc == 1;
    if (rc < 0) {
        store_person_clear(out);
        if (conn->error[0] == '\0')
            error_set(conn->error, sizeof conn->error, "malformed registry row");
        return -1;
    }
    return 0;
}

int
store_person_insert(struct store_conn *conn, const struct store_person *person)
{
    struct store_value params[] = {
        v_text(person->id),
        v_blob(person->national_id_index, STORE_INDEX_BYTES),
        v_blob(person->sealed, person->sealed_length),
        v_integer(person->created_at),
        v_integer(person->updated_at),
    };
    int64_t claimed = 0;
    if (exec(conn,
             "INSERT INTO registry_index (national_id_index, person_id)"
             " VALUES ($2, $1) ON CONFLICT DO NOTHING",
             params, 2, NULL, NULL, &claimed) != 0)
        return -1;
    if (claimed != 1)
        return error_set(conn->error, sizeof conn->error,
                         "a person with this ID number is already in the registry");
    return exec(conn,
                "INSERT INTO registry_person"
                " (id, national_id_index, sealed, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                params, 5, NULL, NULL, NULL);
}

int
store_person_update(struct store_conn *conn, const struct store_person *person)
{
    struct store_value params[] = {
        v_text(person->id),
        v_blob(person->sealed, person->sealed_length),
        v_integer(person->updated_at),
    };
    int64_t changes = 0;
    if (exec(conn,
             "UPDATE registry_person SET sealed = $2, updated_at = $3"
             " WHERE id = $1",
             params, 3, NULL, NULL, &changes) != 0)
        return -1;
    if (changes != 1) {
        error_set(conn->error, sizeof conn->error, "no such registry record");
        return -1;
    }
    return 0;
}

int
store_person_count(struct store_conn *conn, int64_t *count)
{
    *count = 0;
    return exec(conn, "SELECT COUNT(*) FROM registry_person", NULL, 0,
                read_one_integer, count, NULL) < 0 ? -1 : 0;
}

void
store_person_clear(struct store_person *person)
{
    free(person->sealed);
    memset(person, 0, sizeof *person);
}

/* ── Platforms ─────────────────────────────────────────────────────────── */

#define PLATFORM_COLUMNS STORE_PLATFORM_COLUMNS_OF("")

int
store_config_changed(struct store_conn *conn)
{
    if (conn->in_transaction)
        conn->config_changed = 1;
    if (conn->driver->notify == NULL)
        return 0;
    if (conn->driver->notify(conn->connection, STORE_CONFIG_CHANNEL, conn->error,
                             sizeof conn->error) != 0)
        return note_failure(conn);
    return 0;
}

int
store_platform_fill(const struct store_value *columns, size_t count,
                    struct store_platform *platform)
{
    int failed = 0;
    memset(platform, 0, sizeof *platform);
    if (count != STORE_PLATFORM_COLUMN_COUNT ||
        column_text_into(&columns[0], platform->client_id,
                         sizeof platform->client_id) != 0)
        return -1;
    platform->name = column_text(&columns[1], &failed);
    platform->redirect_uris = column_text(&columns[2], &failed);
    platform->claims = column_text(&columns[3], &failed);
    platform->legal_basis = column_text(&columns[4], &failed);
    platform->auth_method = column_text(&columns[5], &failed);
    platform->jwks = column_text(&columns[6], &failed);
    platform->sector_id = column_text(&columns[7], &failed);
    if (columns[8].type == STORE_VALUE_BLOB &&
        columns[8].length == STORE_HASH_BYTES) {
        memcpy(platform->secret_hash, columns[8].data, STORE_HASH_BYTES);
        platform->has_secret = 1;
    }
    platform->disabled = columns[9].integer != 0;
    platform->created_at = columns[10].integer;
    platform->purpose = column_text(&columns[11], &failed);
    platform->refresh_reuse = columns[12].type == STORE_VALUE_INTEGER ? columns[12].integer : 0;
    platform->fapi2 = columns[13].type == STORE_VALUE_INTEGER && columns[13].integer != 0;
    if (failed || platform->name == NULL || platform->redirect_uris == NULL ||
        platform->claims == NULL || platform->auth_method == NULL ||
        platform->sector_id == NULL) {
        store_platform_clear(platform);
        return -1;
    }
    return 0;
}

static int
read_platform(void *context, const struct store_value *columns, size_t count)
{
    return store_platform_fill(columns, count, context) == 0 ? 1 : -1;
}

int
store_platform_insert(struct store_conn *conn, const struct store_platform *p)
{
    struct store_value params[] = {
        v_text(p->client_id), v_text(p->name), v_text(p->redirect_uris),
        v_text(p->claims), v_text(p->legal_basis), v_text(p->auth_method),
        v_text(p->jwks), v_text(p->sector_id),
        p->has_secret ? v_blob(p->secret_hash, STORE_HASH_BYTES)
                      : (struct store_value){.type = STORE_VALUE_NULL},
        v_integer(p->disabled), v_integer(p->created_at), v_text(p->purpose),
        v_integer(p->refresh_reuse), v_integer(p->fapi2),
    };
    if (exec(conn,
             "INSERT INTO platform (" PLATFORM_COLUMNS ")"
             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
             params, 14, NULL, NULL, NULL) != 0)
        return -1;
    return store_config_changed(conn);
}

int
store_platform_get(struct store_conn *conn, const char *client_id,
                   struct store_platform *out, int *found)
{
    memset(out, 0, sizeof *out);
    uint64_t generation = 0;
    *found = conn->cache != NULL &&
             config_cache_platform_get(conn->cache, client_id, out, &generation);
    if (*found)
        return 0;
    struct store_value param = v_text(client_id);
    int rc = exec(conn,
                  "SELECT " PLATFORM_COLUMNS " FROM platform WHERE client_id = $1",
                  &param, 1, read_platform, out, NULL);
    *found = rc == 1;
    if (rc < 0) {
        if (conn->error[0] == '\0')
            error_set(conn->error, sizeof conn->error, "malformed platform row");
        return -1;
    }
    if (*found && store_cache_keeps(conn, &generation))
        config_cache_platform_put(conn->cache, out, generation);
    return 0;
}

struct platform_walk {
    int (*each)(void *, const struct store_platform *);
    void *context;
};

static int
walk_platform(void *context, const struct store_value *columns, size_t count)
{
    struct platform_walk *walk = context;
    struct store_platform platform;
    if (store_platform_fill(columns, count, &platform) != 0)
        return -1;
    int rc = walk->each(walk->context, &platform);
    store_platform_clear(&platform);
    return rc;
}

int
store_platform_each(struct store_conn *conn,
                    int (*each)(void *, const struct store_platform *),
                    void *context)
{
    struct platform_walk walk = {each, context};
    return exec(conn,
                "SELECT " PLATFORM_COLUMNS " FROM platform"
                " ORDER BY created_at, client_id",
                NULL, 0, walk_platform, &walk, NULL);
}

int
store_platform_set_disabled(struct store_conn *conn, const char *client_id,
                            int disabled, int *found)
{
    struct store_value params[] = {v_text(client_id), v_integer(disabled != 0)};
    int64_t changes = 0;
    if (exec(conn, "UPDATE platform SET disabled = $2 WHERE client_id = $1",
             params, 2, NULL, NULL, &changes) != 0)
        return -1;
    *found = changes == 1;
    return changes > 0 ? store_config_changed(conn) : 0;
}

void
store_platform_clear(struct store_platform *platform)
{
    free(platform->name);
    free(platform->redirect_uris);
    free(platform->claims);
    free(platform->legal_basis);
    free(platform->auth_method);
    free(platform->jwks);
    free(platform->sector_id);
    free(platform->purpose);
    memset(platform, 0, sizeof *platform);
}

/* ── Enrollment challenges ─────────────────────────────────────────────── */

int
store_challenge_insert(struct store_conn *conn, const struct store_challenge *challenge)
{
    struct store_value params[] = {
        v_text(challenge->id), v_text(challenge->nonce), v_text(challenge->action),
        v_integer(challenge->expires_at),
    };
    return exec(conn,
                "INSERT INTO enroll_challenge (id, nonce, action, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                params, 4, NULL, NULL, NULL);
}

static int
read_challenge(void *context, const struct store_value *columns, size_t count)
{
    struct store_challenge *challenge = context;
    if (count != 3 ||
        column_text_into(&columns[0], challenge->nonce, sizeof challenge->nonce) != 0 ||
        column_text_into(&columns[1], challenge->action, sizeof challenge->action) != 0)
        return -1;
    challenge->expires_at = columns[2].integer;
    return 1;
}

int
store_challenge_take(struct store_conn *conn, const char *id, int64_t now,
                     struct store_challenge *out, int *taken)
{
    memset(out, 0, sizeof *out);
    *taken = 0;
    if (string_copy(out->id, sizeof out->id, id) != 0)
        return 0; /* longer than any id we issue: no such challenge */
    struct store_value params[] = {v_text(id), v_integer(now)};
    int rc = exec(conn,
                  "UPDATE enroll_challenge SET used = 1"
                  " WHERE id = $1 AND used = 0 AND expires_at >= $2"
                  " RETURNING nonce, action, expires_at",
                  params, 2, read_challenge, out, NULL);
    if (rc < 0)
        return error_set(conn->error, sizeof conn->error, "%s",
                         conn->error[0] ? conn->error : "malformed challenge row");
    *taken = rc == 1;
    return 0;
}

/* ── Audit ─────────────────────────────────────────────────────────────── */

void
store_audit_params(const struct store_audit_event *event,
                   struct store_value params[STORE_AUDIT_PARAMS])
{
    params[0] = v_integer(event->time);
    params[1] = v_text(event->actor);
    params[2] = v_text(event->action);
    params[3] = v_text(event->subject);
    params[4] = v_text(event->details ? event->details : "{}");
    params[5] = event->salt ? v_blob(event->salt, STORE_LOG_SALT_BYTES) : v_null();
    params[6] = event->sealed ? v_blob(event->sealed, event->sealed_length) : v_null();
    params[7] = event->commitment ? v_blob(event->commitment, STORE_LOG_HASH_BYTES) : v_null();
}

int
store_audit_append(struct store_conn *conn, const struct store_audit_event *event,
                   int64_t *sequence)
{
    struct store_value params[STORE_AUDIT_PARAMS];
    store_audit_params(event, params);
    /* The database numbers events (SQLite's rowid, a PostgreSQL
     * sequence): no MAX()+1, which would serialise every writer on one
     * lock, or collide on PostgreSQL. A caller that does not ask for the
     * number lets the insert ride with the transaction's next statement. */
    if (sequence == NULL)
        return exec_queued(conn,
                           "INSERT INTO audit_event"
                           " (time, actor, action, subject, details, salt, sealed,"
                           " commitment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                           params, STORE_AUDIT_PARAMS);
    *sequence = 0;
    int rc = exec(conn,
                  "INSERT INTO audit_event"
                  " (time, actor, action, subject, details, salt, sealed, commitment)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING sequence",
                  params, STORE_AUDIT_PARAMS, read_one_integer, sequence, NULL);
    if (rc == 1)
        return 0;
    return rc < 0 ? -1 : error_set(conn->error, sizeof conn->error,
                                   "no sequence number for the audit event");
}


int
store_audit_walk_row(void *context, const struct store_value *columns, size_t count)
{
    struct audit_walk *walk = context;
    if (count != 10)
        return -1;
    int failed = 0;
    char *actor = column_text(&columns[2], &failed);
    char *action = column_text(&columns[3], &failed);
    char *subject = column_text(&columns[4], &failed);
    char *details = column_text(&columns[5], &failed);
    int rc = -1;
    if (!failed && actor && action && subject && details) {
        struct store_audit_event event = {
            .sequence = columns[0].integer, .time = columns[1].integer,
            .actor = actor, .action = action, .subject = subject,
            .details = details,
            .salt = columns[6].type == STORE_VALUE_BLOB &&
                            columns[6].length == STORE_LOG_SALT_BYTES
                        ? columns[6].data
                        : NULL,
            .leaf = columns[7].type == STORE_VALUE_INTEGER ? columns[7].integer : -1,
            .sealed = columns[8].type == STORE_VALUE_BLOB ? columns[8].data : NULL,
            .sealed_length = columns[8].type == STORE_VALUE_BLOB ? columns[8].length : 0,
            .commitment = columns[9].type == STORE_VALUE_BLOB &&
                                  columns[9].length == STORE_LOG_HASH_BYTES
                              ? columns[9].data
                              : NULL,
        };
        rc = walk->each(walk->context, &event);
    }
    free(actor);
    free(action);
    free(subject);
    free(details);
    return rc;
}

int
store_audit_each(struct store_conn *conn, int64_t after, int64_t limit,
                 int (*each)(void *, const struct store_audit_event *),
                 void *context)
{
    struct audit_walk walk = {each, context};
    struct store_value params[] = {v_integer(after), v_integer(limit)};
    return exec(conn,
                "SELECT " STORE_AUDIT_COLUMNS " FROM audit_event WHERE sequence > $1"
                " ORDER BY sequence LIMIT $2",
                params, 2, store_audit_walk_row, &walk, NULL);
}

/* ── Expiry and the janitor's lease ────────────────────────────────────── */

/* Rows one purge statement deletes at most. A round deletes what expired
 * since the last (at a thousand logins a second, some half a million rows
 * a minute): in one statement that held SQLite's writer for as long as it
 * took (154 000 tokens: every request that writes waited 1.45 s), and on
 * PostgreSQL made one large transaction. In statements of PURGE_BATCH
 * rows, each its own transaction, the requests' writes go in between. */
#define PURGE_BATCH 500

/* Deletes the rows of `sql` older than `when`, PURGE_BATCH at a time:
 * `sql` deletes at most $2 rows older than $1 and is run until it deletes
 * fewer. `probe` ($1) answers a row if there is anything to delete: most
 * rounds find nothing, and a read costs less than a DELETE (on Citus a
 * DELETE of keys from a subquery ships them to every worker and locks
 * every shard of the table for its commit). */
static int
purge(struct store_conn *conn, const char *probe, const char *sql, int64_t when,
      int64_t *count)
{
    struct store_value params[] = {v_integer(when), v_integer(PURGE_BATCH)};
    int expired = 0;
    if (exec(conn, probe, params, 1, read_flag, &expired, NULL) != 0)
        return -1;
    while (expired) {
        int64_t changes = 0;
        if (exec(conn, sql, params, 2, NULL, NULL, &changes) != 0)
            return -1;
        if (count != NULL)
            *count += changes;
        if (changes < PURGE_BATCH)
            break;
    }
    return 0;
}

/* Deletes the oldest rows of a table's pending set beyond `ceiling`.
 * count_sql counts the set ($1 now); before_sql (NULL: none) deletes what
 * points at its $2 oldest, then trim_sql deletes them, in one transaction
 * (the same $2 oldest for both: the order is total, and a row that
 * leaves the set meanwhile was decided, its lookup no longer needed by a
 * pending login). */
static int
trim(struct store_conn *conn, const char *count_sql, const char *before_sql,
     const char *trim_sql, int64_t now, int64_t ceiling, int64_t *trimmed)
{
    *trimmed = 0;
    int64_t pending = 0;
    struct store_value at = v_integer(now);
    if (exec(conn, count_sql, &at, 1, read_one_integer, &pending, NULL) < 0)
        return -1;
    if (pending <= ceiling)
        return 0;
    struct store_value params[] = {v_integer(now), v_integer(pending - ceiling)};
    if (store_begin(conn) != 0)
        return -1;
    if ((before_sql != NULL && exec(conn, before_sql, params, 2, NULL, NULL, NULL) != 0) ||
        exec(conn, trim_sql, params, 2, NULL, NULL, trimmed) != 0 || store_commit(conn) != 0) {
        store_rollback(conn);
        *trimmed = 0;
        return -1;
    }
    return 0;
}

int
store_trim_pending(struct store_conn *conn, int64_t now, int64_t ceiling,
                   int64_t *logins, int64_t *challenges)
{
    assert(ceiling >= 0);
    *logins = *challenges = 0;
    /* A subquery with ORDER BY ... LIMIT: the same text on SQLite and
     * PostgreSQL, and Citus plans it first, then deletes by key. */
    return trim(conn,
                "SELECT COUNT(*) FROM oidc_login WHERE status = 'pending'"
                " AND expires_at >= $1",
                "DELETE FROM oidc_user_code WHERE login_hash IN (SELECT login_hash"
                " FROM oidc_login WHERE status = 'pending' AND expires_at >= $1"
                " ORDER BY created_at, login_hash LIMIT $2)",
                "DELETE FROM oidc_login WHERE login_hash IN (SELECT login_hash"
                " FROM oidc_login WHERE status = 'pending' AND expires_at >= $1"
                " ORDER BY created_at, login_hash LIMIT $2)",
                now, ceiling, logins) != 0 ||
                   trim(conn,
                        "SELECT COUNT(*) FROM enroll_challenge WHERE used = 0"
                        " AND expires_at >= $1",
                        NULL,
                        "DELETE FROM enroll_challenge WHERE id IN (SELECT id"
                        " FROM enroll_challenge WHERE used = 0 AND expires_at >= $1"
                        " ORDER BY expires_at, id LIMIT $2)",
                        now, ceiling, challenges) != 0
               ? -1
               : 0;
}

int
store_purge_expired(struct store_conn *conn, int64_t now,
                    struct store_purge_counts *counts)
{
    memset(counts, 0, sizeof *counts);
    /* Each statement deletes by key the oldest $2 of what expired before
     * $1 (a subquery with LIMIT: the same text on SQLite and PostgreSQL,
     * and Citus plans it first, then deletes by key), after its probe
     * found something; PURGE() writes both texts from one table, key and
     * time column. A token is keyed by its hash on SQLite, by (web_number,
     * hash) where it is distributed by web_number. */
#define PURGE(table, key, keys, column)                                              \
    "SELECT 1 FROM " table " WHERE " column " < $1 LIMIT 1",                       \
        "DELETE FROM " table " WHERE " key " IN (SELECT " keys " FROM " table      \
        " WHERE " column " < $1 LIMIT $2)"
    int sqlite = conn->driver->dialect == STORE_DIALECT_SQLITE;
    /* Lookup rows go with (or before) the rows they point at: a lookup
     * that finds nothing behind it reads as "unknown", never as an error. */
    return purge(conn, PURGE("enroll_challenge", "id", "id", "expires_at"), now,
                 &counts->challenges) != 0 ||
           purge(conn, PURGE("attempt_limit", "limit_key", "limit_key", "purge_at"), now,
                 &counts->attempts) != 0 ||
           purge(conn, PURGE("used_token", "jti", "jti", "expires_at"), now,
                 &counts->used_tokens) != 0 ||
           purge(conn, PURGE("oidc_user_code", "user_code_hash", "user_code_hash", "purge_at"),
                 now, NULL) != 0 ||
           purge(conn, PURGE("oidc_code", "code_hash", "code_hash", "purge_at"), now,
                 NULL) != 0 ||
           purge(conn, PURGE("oidc_login", "login_hash", "login_hash", "purge_at"), now,
                 &counts->logins) != 0 ||
           purge(conn, PURGE("oidc_par", "request_hash", "request_hash", "expires_at"), now,
                 NULL) != 0 ||
           purge(conn, PURGE("oidc_token_hash", "token_hash", "token_hash", "expires_at"), now,
                 NULL) != 0 ||
           (sqlite ? purge(conn, PURGE("oidc_token", "token_hash", "token_hash", "expires_at"),
                           now, &counts->tokens)
                   : purge(conn,
                           PURGE("oidc_token", "(web_number, token_hash)",
                                 "web_number, token_hash", "expires_at"),
                           now, &counts->tokens)) != 0
               ? -1
               : 0;
#undef PURGE
}

int
store_lease_take(struct store_conn *conn, const char *name, const char *holder,
                 int64_t now, int64_t seconds, int *held)
{
    struct store_value params[] = {v_text(name), v_text(holder),
                                   v_integer(now + seconds), v_integer(now)};
    int64_t changes = 0;
    *held = 0;
    if (exec(conn,
             "INSERT INTO janitor_lease (name, holder, expires_at) VALUES ($1, $2, $3)"
             " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
             " expires_at = excluded.expires_at"
             " WHERE janitor_lease.expires_at < $4 OR janitor_lease.holder = $2",
             params, 4, NULL, NULL, &changes) != 0)
        return -1;
    *held = changes == 1;
    return 0;
}
