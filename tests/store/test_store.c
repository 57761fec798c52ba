/* Tests of the store, on SQLite and on PostgreSQL (test_db.h): migrations
 * (an old SQLite database brought to the sharded schema), the registry,
 * platforms, challenges, audit events, transactions (PostgreSQL's BEGIN
 * sent with the first statement), identities, devices, attempts and
 * single-use ids, expiry by the janitor's purge and its lease, and every
 * read-then-write that must happen once, raced by threads on a pool. */
#include "store/store.h"

#include "store/store_driver.h"
#include "store/config_cache.h" /* its generation, to wait for a notification */
#include "store/store_internal.h" /* a script in a transaction, by the driver */
#include "util/clock.h"

#include "../test_db.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#define THREADS 4

struct fixture {
    char *dir;
    char location[TEST_DB_LOCATION_MAX];
    struct store *store;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("store");
    test_db_location(f->dir, f->location, sizeof f->location);
    assert_int_equal(store_open(f->location, THREADS, 1, &f->store, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
    test_db_drop(f->location);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

static void
test_open_and_migrate(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct store_conn *conn = store_acquire(f->store);
    int64_t version = 0;
    assert_int_equal(store_schema_version(conn, &version), 0);
    assert_true(version >= 1);
    store_release(f->store, conn);
    /* Reopening migrates nothing more and keeps the version. */
    struct store *again = NULL;
    assert_int_equal(store_open(f->location, 1, 1, &again, err, sizeof err), 0);
    conn = store_acquire(again);
    int64_t version_again = 0;
    assert_int_equal(store_schema_version(conn, &version_again), 0);
    assert_int_equal(version, version_again);
    store_release(again, conn);
    store_close(again);
    /* Unknown schemes and bad pool sizes are refused. */
    assert_int_equal(store_open("mysql://x", 1, 1, &again, err, sizeof err), -1);
    assert_int_equal(store_open(f->location, 0, 1, &again, err, sizeof err), -1);
    int exists = 0;
    conn = store_acquire(f->store);
    assert_int_equal(store_schema_exists(conn, &exists), 0);
    assert_true(exists);
    store_release(f->store, conn);
    assert_string_equal(store_backend(f->store),
                        test_db_is_postgresql() ? "postgresql" : "sqlite");
}

static void
test_location_check(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(store_location_check("sqlite:/x.db", err, sizeof err), 0);
    assert_int_equal(store_location_check("postgresql://db1/cyberid?passfile=/p", err,
                                          sizeof err), 0);
    assert_int_equal(store_location_check("postgresql://u:secret@db1/c", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "password file"));
    assert_null(strstr(err, "secret"));
    assert_int_equal(store_location_check("postgresql://db1/c?password=secret", err,
                                          sizeof err), -1);
    assert_null(strstr(err, "secret"));
    assert_int_equal(store_location_check("postgresql://db1/c?nosuch=1", err, sizeof err),
                     -1);
    assert_int_equal(store_location_check("mysql://x", err, sizeof err), -1);
}

static void
test_person(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    struct store_person person = {.id = "p1", .created_at = 10, .updated_at = 10};
    memset(person.national_id_index, 0xab, STORE_INDEX_BYTES);
    uint8_t sealed[] = {1, 2, 3, 0, 5};
    person.sealed = sealed;
    person.sealed_length = sizeof sealed;
    assert_int_equal(store_person_insert(conn, &person), 0);
    /* Same index again violates uniqueness. */
    struct store_person twin = person;
    strcpy(twin.id, "p2");
    assert_int_equal(store_person_insert(conn, &twin), -1);

    struct store_person found_person;
    int found = 0;
    assert_int_equal(store_person_find(conn, person.national_id_index, &found_person,
                                       &found), 0);
    assert_true(found);
    assert_string_equal(found_person.id, "p1");
    assert_int_equal(found_person.sealed_length, sizeof sealed);
    assert_memory_equal(found_person.sealed, sealed, sizeof sealed);
    store_person_clear(&found_person);

    uint8_t newer[] = {9, 9};
    person.sealed = newer;
    person.sealed_length = sizeof newer;
    person.updated_at = 20;
    assert_int_equal(store_person_update(conn, &person), 0);
    assert_int_equal(store_person_find(conn, person.national_id_index, &found_person,
                                       &found), 0);
    assert_int_equal(found_person.sealed_length, 2);
    assert_int_equal(found_person.updated_at, 20);
    assert_int_equal(found_person.created_at, 10);
    store_person_clear(&found_person);

    uint8_t other_index[STORE_INDEX_BYTES] = {0};
    assert_int_equal(store_person_find(conn, other_index, &found_person, &found), 0);
    assert_false(found);
    strcpy(person.id, "nobody");
    assert_int_equal(store_person_update(conn, &person), -1);
    int64_t count = 0;
    assert_int_equal(store_person_count(conn, &count), 0);
    assert_int_equal(count, 1);
    store_release(f->store, conn);
}

static int
count_platform(void *context, const struct store_platform *platform)
{
    (void)platform;
    (*(int *)context)++;
    return 0;
}

static void
test_platform(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    struct store_platform platform = {
        .client_id = "c1", .name = "Shop", .redirect_uris = "[\"https://a/cb\"]",
        .claims = "[\"realname_verified\"]", .auth_method = "client_secret_basic",
        .sector_id = "a", .has_secret = 1, .created_at = 5,
    };
    memset(platform.secret_hash, 0x11, STORE_HASH_BYTES);
    assert_int_equal(store_platform_insert(conn, &platform), 0);
    assert_int_equal(store_platform_insert(conn, &platform), -1); /* same id */
    struct store_platform got;
    int found = 0;
    assert_int_equal(store_platform_get(conn, "c1", &got, &found), 0);
    assert_true(found);
    assert_string_equal(got.name, "Shop");
    assert_null(got.legal_basis);
    assert_null(got.jwks);
    assert_true(got.has_secret);
    assert_memory_equal(got.secret_hash, platform.secret_hash, STORE_HASH_BYTES);
    assert_false(got.disabled);
    store_platform_clear(&got);
    assert_int_equal(store_platform_set_disabled(conn, "c1", 1, &found), 0);
    assert_true(found);
    assert_int_equal(store_platform_get(conn, "c1", &got, &found), 0);
    assert_true(got.disabled);
    store_platform_clear(&got);
    assert_int_equal(store_platform_set_disabled(conn, "zz", 1, &found), 0);
    assert_false(found);
    assert_int_equal(store_platform_get(conn, "zz", &got, &found), 0);
    assert_false(found);
    int count = 0;
    assert_int_equal(store_platform_each(conn, count_platform, &count), 0);
    assert_int_equal(count, 1);
    store_release(f->store, conn);
}

/* Runs one SQL command on the test's database from a connection of the
 * test's own: a change the store does not know of. */
static void
raw_command(const struct fixture *f, const char *sql)
{
    if (!test_db_is_postgresql()) {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(f->location + strlen("sqlite:"), &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        char *message = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK)
            fail_msg("%s: %s", sql, message);
        sqlite3_close(db);
        return;
    }
    PGconn *pg = PQconnectdb(f->location);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    PGresult *result = PQexec(pg, sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(result));
    PQclear(result);
    PQfinish(pg);
}

/* Ends the platform cache's listener from outside: PostgreSQL's listening
 * connection terminated, SQLite's notification file deleted. */
static void
lose_listener(const struct fixture *f)
{
    if (test_db_is_postgresql()) {
        raw_command(f, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE query = 'LISTEN cyberid_config'");
        return;
    }
    char path[TEST_DB_LOCATION_MAX + 32];
    snprintf(path, sizeof path, "%s-cyberid_config", f->location + strlen("sqlite:"));
    assert_int_equal(unlink(path), 0);
}

/* The platform as the cached store reads it now: its name into `name`
 * and its disabled flag. */
static int
cached_read(struct store *store, char name[32])
{
    struct store_conn *conn = store_acquire(store);
    struct store_platform got;
    int found = 0;
    assert_int_equal(store_platform_get(conn, "c1", &got, &found), 0);
    assert_true(found);
    snprintf(name, 32, "%s", got.name);
    int disabled = got.disabled;
    store_platform_clear(&got);
    store_release(store, conn);
    return disabled;
}

#define CACHE_WAIT_MS 5000

/* How many times the store's platform cache was emptied (or its listener
 * came and went): what config_cache_platform_get() hands out with a miss. */
static uint64_t
cache_generation(struct store *store)
{
    struct store_conn *conn = store_acquire(store);
    struct store_platform none;
    uint64_t generation = 0;
    assert_non_null(conn->cache);
    assert_int_equal(config_cache_platform_get(conn->cache, "no-such-platform", &none, &generation),
                     0);
    store_release(store, conn);
    return generation;
}

/* Waits until the cache keeps what it reads: registers another platform
 * through `operator` and waits for its notification to empty the cache
 * (none is then on its way), renames c1 `kept` behind the store's back,
 * reads it, renames it `hidden`, reads again: the second read must still
 * say `kept`, else the listener was not up yet and it goes again. */
static void
await_kept(const struct fixture *f, struct store *store, struct store *operator,
           const char *kept, const char *hidden)
{
    char set_kept[64], set_hidden[64], name[32];
    snprintf(set_kept, sizeof set_kept, "UPDATE platform SET name = '%s'", kept);
    snprintf(set_hidden, sizeof set_hidden, "UPDATE platform SET name = '%s'", hidden);
    static int probes;
    int64_t start = monotonic_ms();
    while (monotonic_ms() - start < CACHE_WAIT_MS) {
        uint64_t before = cache_generation(store);
        struct store_platform other = {
            .name = "P", .redirect_uris = "[]", .claims = "[]",
            .auth_method = "client_secret_basic", .sector_id = "p", .created_at = 5,
        };
        snprintf(other.client_id, sizeof other.client_id, "probe%d", ++probes);
        struct store_conn *conn = store_acquire(operator);
        assert_int_equal(store_platform_insert(conn, &other), 0);
        store_release(operator, conn);
        while (cache_generation(store) == before && monotonic_ms() - start < CACHE_WAIT_MS)
            usleep(1000);
        raw_command(f, set_kept);
        (void)cached_read(store, name);
        raw_command(f, set_hidden);
        (void)cached_read(store, name);
        if (strcmp(name, kept) == 0)
            return;
    }
    fail_msg("the platform cache keeps nothing (is its listener up?)");
}

/* Platform c1, named A. */
static struct store_platform
c1_platform(void)
{
    return (struct store_platform){
        .client_id = "c1", .name = "A", .redirect_uris = "[]", .claims = "[]",
        .auth_method = "client_secret_basic", .sector_id = "a", .created_at = 5,
    };
}

/* Starts f's config cache and opens the operator's store (another
 * process's, here another store on the same database), through which
 * `platform` is registered. The operator's store, to close. */
static struct store *
start_cache(struct fixture *f, const struct store_platform *platform)
{
    char err[256];
    assert_int_equal(store_config_cache_start(f->store, err, sizeof err), 0);
    struct store *operator = NULL;
    assert_int_equal(store_open(f->location, 1, 0, &operator, err, sizeof err), 0);
    struct store_conn *conn = store_acquire(operator);
    assert_int_equal(store_platform_insert(conn, platform), 0);
    store_release(operator, conn);
    return operator;
}

/* Platforms kept in memory (store_config_cache_start), on either
 * backend: a kept platform is served without reading the table (a change
 * behind the store's back is not seen), a change through the store (which
 * notifies) empties the cache, so does its commit, and so does the loss
 * of the listener. The operator's commands are another process with a
 * store of their own: here another store on the same database. */
static void
test_platform_cache(void **state)
{
    struct fixture *f = *state;
    char name[32];
    struct store_platform platform = c1_platform();
    struct store *operator = start_cache(f, &platform);
    struct store_conn *conn = NULL;
    int found = 0;
    /* Once the listener is up, a read is kept: a rename behind the
     * store's back is then not seen. */
    await_kept(f, f->store, operator, "A", "B");
    /* A change through the store notifies: the cache is emptied, and the
     * next read finds the table as it is (B, disabled). */
    conn = store_acquire(operator);
    assert_int_equal(store_platform_set_disabled(conn, "c1", 1, &found), 0);
    store_release(operator, conn);
    int disabled = 0;
    for (int64_t start = monotonic_ms(); !disabled && monotonic_ms() - start < CACHE_WAIT_MS;)
        if (!(disabled = cached_read(f->store, name)))
            usleep(10000);
    assert_true(disabled);
    assert_string_equal(name, "B");
    /* A rename behind the store's back is not seen until the listener is
     * lost: notifications may be missed while it is down, so the cache is
     * emptied and bypassed. */
    await_kept(f, f->store, operator, "B", "C");
    lose_listener(f);
    int fresh = 0;
    for (int64_t start = monotonic_ms(); !fresh && monotonic_ms() - start < CACHE_WAIT_MS;) {
        (void)cached_read(f->store, name);
        if (!(fresh = strcmp(name, "C") == 0))
            usleep(10000);
    }
    assert_true(fresh);
    await_kept(f, f->store, operator, "C", "C2"); /* the listener is back */
    /* A change in a transaction notifies when it commits, not before... */
    uint64_t generation = cache_generation(f->store);
    conn = store_acquire(operator);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_platform_set_disabled(conn, "c1", 0, &found), 0);
    usleep(100000);
    assert_true(cache_generation(f->store) == generation);
    struct store_conn *reader = store_acquire(f->store);
    struct store_platform got;
    assert_int_equal(store_platform_get(reader, "c1", &got, &found), 0);
    assert_true(got.disabled);
    store_platform_clear(&got);
    store_release(f->store, reader);
    assert_int_equal(store_commit(conn), 0);
    store_release(operator, conn);
    for (int64_t start = monotonic_ms(); disabled && monotonic_ms() - start < CACHE_WAIT_MS;)
        if ((disabled = cached_read(f->store, name)))
            usleep(10000);
    assert_false(disabled);
    /* ...and one rolled back sends none: a rename behind the store's
     * back stays unseen. */
    await_kept(f, f->store, operator, "D", "D2");
    generation = cache_generation(f->store);
    conn = store_acquire(operator);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_platform_set_disabled(conn, "c1", 1, &found), 0);
    assert_int_equal(store_rollback(conn), 0);
    assert_int_equal(store_begin(conn), 0); /* a later commit sends nothing of it */
    assert_int_equal(store_commit(conn), 0);
    store_release(operator, conn);
    usleep(200000);
    assert_true(cache_generation(f->store) == generation);
    assert_false(cached_read(f->store, name));
    assert_string_equal(name, "D");
    store_close(operator);
}

/* Appends a key's kid to the comma-joined list in context (a buffer of
 * 256 bytes). */
static int
append_kid(void *context, const struct store_token_key *key)
{
    char *kids = context;
    size_t used = strlen(kids);
    int written = snprintf(kids + used, 256 - used, "%s%s", used ? "," : "", key->kid);
    return written > 0 && (size_t)written < 256 - used ? 0 : -1;
}

/* The kids store_token_key_each() walks now through `store`. */
static void
walk_kids(struct store *store, char kids[256])
{
    struct store_conn *conn = store_acquire(store);
    kids[0] = '\0';
    assert_int_equal(store_token_key_each(conn, append_kid, kids), 0);
    store_release(store, conn);
}

/* The token-key table kept in memory too (store_config_cache_start): a
 * kept walk does not see a row added behind the store's back; a key added
 * through the store (store_token_key_insert, which notifies) is seen once
 * its notification has come; a walk inside a transaction, which may see
 * the transaction's own uncommitted key, is not kept. */
static void
test_token_key_cache(void **state)
{
    struct fixture *f = *state;
    char kids[256];
    struct store_platform platform = c1_platform();
    struct store *operator = start_cache(f, &platform);
    struct store_conn *conn = NULL;
    await_kept(f, f->store, operator, "A", "B"); /* the listener is up, the cache empty */
    walk_kids(f->store, kids);
    assert_string_equal(kids, "");
    raw_command(f, "INSERT INTO token_key (kid, created_at, activates_at)"
                   " VALUES ('hidden', 1, 10)");
    walk_kids(f->store, kids);
    assert_string_equal(kids, ""); /* kept: the table is not read */
    struct store_token_key key = {.kid = "k2", .created_at = 2, .activates_at = 20};
    conn = store_acquire(operator);
    assert_int_equal(store_token_key_insert(conn, &key), 0);
    store_release(operator, conn);
    for (int64_t start = monotonic_ms();
         strcmp(kids, "hidden,k2") != 0 && monotonic_ms() - start < CACHE_WAIT_MS;) {
        usleep(10000);
        walk_kids(f->store, kids);
    }
    assert_string_equal(kids, "hidden,k2");
    /* Empty the cache (another change's notification), then walk inside
     * a transaction that adds a key and rolls back. */
    uint64_t generation = cache_generation(f->store);
    conn = store_acquire(operator);
    struct store_platform other = platform;
    snprintf(other.client_id, sizeof other.client_id, "c2");
    assert_int_equal(store_platform_insert(conn, &other), 0);
    store_release(operator, conn);
    for (int64_t start = monotonic_ms();
         cache_generation(f->store) == generation && monotonic_ms() - start < CACHE_WAIT_MS;)
        usleep(1000);
    assert_true(cache_generation(f->store) != generation);
    conn = store_acquire(f->store);
    assert_int_equal(store_begin(conn), 0);
    struct store_token_key undone = {.kid = "k3", .created_at = 3, .activates_at = 30};
    assert_int_equal(store_token_key_insert(conn, &undone), 0);
    kids[0] = '\0';
    assert_int_equal(store_token_key_each(conn, append_kid, kids), 0);
    assert_string_equal(kids, "hidden,k2,k3");
    assert_int_equal(store_rollback(conn), 0);
    store_release(f->store, conn);
    walk_kids(f->store, kids);
    assert_string_equal(kids, "hidden,k2");
    /* A transaction that reads a snapshot taken at its start (PostgreSQL
     * under REPEATABLE READ; SQLite's BEGIN IMMEDIATE lets no other writer
     * commit meanwhile): a key added while it is open, whose notification
     * has come, is not in what it reads, which must then not be kept. */
    if (!test_db_is_postgresql()) {
        store_close(operator);
        return;
    }
    conn = store_acquire(f->store);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(exec(conn, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", NULL, 0,
                          NULL, NULL, NULL), 0);
    assert_int_equal(exec(conn, "SELECT 1", NULL, 0, NULL, NULL, NULL), 0); /* the snapshot */
    generation = cache_generation(f->store);
    struct store_conn *writer = store_acquire(operator);
    struct store_token_key late = {.kid = "k4", .created_at = 4, .activates_at = 40};
    assert_int_equal(store_token_key_insert(writer, &late), 0);
    store_release(operator, writer);
    for (int64_t start = monotonic_ms();
         cache_generation(f->store) == generation && monotonic_ms() - start < CACHE_WAIT_MS;)
        usleep(1000);
    assert_true(cache_generation(f->store) != generation);
    kids[0] = '\0';
    assert_int_equal(store_token_key_each(conn, append_kid, kids), 0);
    assert_int_equal(store_commit(conn), 0);
    store_release(f->store, conn);
    walk_kids(f->store, kids);
    assert_string_equal(kids, "hidden,k2,k4");
    store_close(operator);
}

static void
test_challenge_single_use_and_expiry(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    struct store_challenge challenge = {.id = "ch1", .nonce = "n", .action = "turn_left",
                                        .expires_at = 100};
    assert_int_equal(store_challenge_insert(conn, &challenge), 0);
    struct store_challenge taken;
    int ok = 0;
    assert_int_equal(store_challenge_take(conn, "ch1", 101, &taken, &ok), 0);
    assert_false(ok); /* expired */
    assert_int_equal(store_challenge_take(conn, "ch1", 100, &taken, &ok), 0);
    assert_true(ok);
    assert_string_equal(taken.action, "turn_left");
    assert_string_equal(taken.nonce, "n");
    assert_int_equal(store_challenge_take(conn, "ch1", 50, &taken, &ok), 0);
    assert_false(ok); /* used */
    assert_int_equal(store_challenge_take(conn, "nope", 50, &taken, &ok), 0);
    assert_false(ok);
    /* Inserting does not sweep: the janitor's purge does. */
    struct store_challenge again = challenge;
    assert_int_equal(store_challenge_insert(conn, &again), -1); /* id still taken */
    struct store_purge_counts counts;
    assert_int_equal(store_purge_expired(conn, 300, &counts), 0);
    assert_int_equal(counts.challenges, 1);
    assert_int_equal(store_challenge_insert(conn, &again), 0); /* id free again */
    store_release(f->store, conn);
}

struct audit_collect {
    int64_t last;
    int count;
};

static int
collect_audit(void *context, const struct store_audit_event *event)
{
    struct audit_collect *collect = context;
    if (event->sequence <= collect->last)
        return -1;
    collect->last = event->sequence;
    collect->count++;
    return 0;
}

#define EVENTS_PER_THREAD 50

static void *
append_events(void *argument)
{
    struct store *store = argument;
    for (int i = 0; i < EVENTS_PER_THREAD; i++) {
        struct store_conn *conn = store_acquire(store);
        struct store_audit_event event = {.time = 1, .actor = "operator",
                                          .action = "test", .subject = "s",
                                          .details = "{}"};
        int64_t sequence = 0;
        if (store_audit_append(conn, &event, &sequence) != 0 || sequence < 1) {
            store_release(store, conn);
            return argument; /* non-NULL: failure */
        }
        store_release(store, conn);
    }
    return NULL;
}

static void
test_audit_sequences_under_threads(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, append_events, f->store), 0);
    for (int i = 0; i < THREADS; i++) {
        void *result = NULL;
        pthread_join(threads[i], &result);
        assert_null(result);
    }
    /* Every event numbered once, in increasing order; none rolled back,
     * so no gap either. */
    struct store_conn *conn = store_acquire(f->store);
    struct audit_collect collect = {0, 0};
    assert_int_equal(store_audit_each(conn, 0, 100000, collect_audit, &collect), 0);
    assert_int_equal(collect.count, THREADS * EVENTS_PER_THREAD);
    assert_int_equal(collect.last, THREADS * EVENTS_PER_THREAD);
    store_release(f->store, conn);
}

static void
test_transactions_roll_back(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    assert_int_equal(store_begin(conn), 0);
    struct store_audit_event event = {.time = 1, .actor = "a", .action = "b",
                                      .subject = "c", .details = "{}"};
    int64_t sequence = 0;
    assert_int_equal(store_audit_append(conn, &event, &sequence), 0);
    assert_int_equal(sequence, 1);
    assert_int_equal(store_rollback(conn), 0);
    /* Released with a transaction open: rolled back too. */
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_audit_append(conn, &event, &sequence), 0);
    store_release(f->store, conn);
    conn = store_acquire(f->store);
    struct audit_collect collect = {0, 0};
    assert_int_equal(store_audit_each(conn, 0, 10, collect_audit, &collect), 0);
    assert_int_equal(collect.count, 0);
    /* A failed statement inside a transaction: the caller rolls back and
     * the connection is usable again (PostgreSQL aborts the transaction). */
    struct store_platform platform = {
        .client_id = "dup", .name = "D", .redirect_uris = "[]", .claims = "[]",
        .auth_method = "client_secret_basic", .sector_id = "d", .created_at = 1,
    };
    assert_int_equal(store_platform_insert(conn, &platform), 0);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_platform_insert(conn, &platform), -1);
    assert_int_equal(store_rollback(conn), 0);
    assert_int_equal(store_audit_append(conn, &event, &sequence), 0);
    store_release(f->store, conn);
}

/* Sessions of the test's PostgreSQL database inside a transaction, seen
 * from a connection of the test's own; -1 on SQLite. */
static int
server_transactions(const struct fixture *f)
{
    if (strncmp(f->location, "postgresql", strlen("postgresql")) != 0)
        return -1;
    PGconn *pg = PQconnectdb(f->location);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    PGresult *result = PQexec(pg, "SELECT count(*) FROM pg_stat_activity WHERE "
                                  "datname = current_database() AND pid <> pg_backend_pid() "
                                  "AND state LIKE 'idle in transaction%'");
    assert_int_equal(PQresultStatus(result), PGRES_TUPLES_OK);
    int count = atoi(PQgetvalue(result, 0, 0));
    PQclear(result);
    PQfinish(pg);
    return count;
}

/* PostgreSQL gets a transaction's BEGIN with its first statement, in one
 * round trip (store_pg.c): until then the server has no transaction open,
 * and one that ends before any statement never reaches it. A script in a
 * transaction sends the BEGIN on its own first. */
static void
test_begin_goes_with_first_statement(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct store_conn *conn = store_acquire(f->store);
    int pg = server_transactions(f) >= 0;
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_commit(conn), 0);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_rollback(conn), 0);

    assert_int_equal(store_begin(conn), 0);
    if (pg)
        assert_int_equal(server_transactions(f), 0);
    struct store_audit_event event = {.time = 1, .actor = "a", .action = "b",
                                      .subject = "c", .details = "{}"};
    int64_t sequence = 0;
    assert_int_equal(store_audit_append(conn, &event, &sequence), 0);
    if (pg)
        assert_int_equal(server_transactions(f), 1);
    assert_int_equal(store_commit(conn), 0);
    if (pg)
        assert_int_equal(server_transactions(f), 0);

    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(conn->driver->exec_script(conn->connection,
                                               "DELETE FROM audit_event", err, sizeof err),
                     0);
    if (pg)
        assert_int_equal(server_transactions(f), 1);
    assert_int_equal(store_rollback(conn), 0);
    struct audit_collect collect = {0, 0};
    assert_int_equal(store_audit_each(conn, 0, 10, collect_audit, &collect), 0);
    assert_int_equal(collect.count, 1);
    store_release(f->store, conn);
}

/* ── Identities, devices, attempts, single-use tokens ─────────────────── */

static void
test_identity(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    struct store_identity identity = {.web_number = "0123456789ABCDEF",
                                      .person_id = "person-1",
                                      .status = STORE_IDENTITY_ACTIVE,
                                      .created_at = 100, .updated_at = 100};
    int inserted = 0;
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_identity_insert(conn, &identity, &inserted), 0);
    assert_int_equal(inserted, 1);
    assert_int_equal(store_commit(conn), 0);
    /* One identity per person: the second is not inserted. */
    struct store_identity same_person = identity;
    memcpy(same_person.web_number, "ZZZZZZZZZZZZZZZZ", 17);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_identity_insert(conn, &same_person, &inserted), 0);
    assert_int_equal(inserted, 0);
    assert_int_equal(store_commit(conn), 0);
    /* One person per web number: refused, and nothing of it stays. */
    struct store_identity same_number = identity;
    memcpy(same_number.person_id, "person-2", 9);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_identity_insert(conn, &same_number, &inserted), -1);
    store_rollback(conn);

    struct store_identity read;
    int found = 0;
    assert_int_equal(store_identity_find_by_person(conn, "person-2", &read, &found), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_identity_get(conn, "ZZZZZZZZZZZZZZZZ", &read, &found), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_identity_find_by_person(conn, "person-1", &read, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(read.web_number, "0123456789ABCDEF");
    assert_string_equal(read.status, STORE_IDENTITY_ACTIVE);
    assert_string_equal(read.status_reason, "");
    assert_int_equal(store_identity_get(conn, "NOPE", &read, &found), 0);
    assert_int_equal(found, 0);

    assert_int_equal(store_identity_set_status(conn, "0123456789ABCDEF",
                                               STORE_IDENTITY_REVOKED, "fraud", 200,
                                               &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_identity_lock(conn, "0123456789ABCDEF", &read, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(read.status, STORE_IDENTITY_REVOKED);
    assert_string_equal(read.status_reason, "fraud");
    assert_int_equal(read.updated_at, 200);
    assert_int_equal(store_identity_lock(conn, "NOPE", &read, &found), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_commit(conn), 0);
    assert_int_equal(store_identity_set_status(conn, "NOPE", "active", NULL, 1,
                                               &found), 0);
    assert_int_equal(found, 0);

    /* The identity's registry record with its status (one join but on
     * Citus); none for an unknown web number. */
    struct store_person person = {.id = "person-1", .created_at = 10, .updated_at = 11};
    memset(person.national_id_index, 0xcd, STORE_INDEX_BYTES);
    uint8_t sealed[] = {7, 0, 7};
    person.sealed = sealed;
    person.sealed_length = sizeof sealed;
    assert_int_equal(store_person_insert(conn, &person), 0);
    struct store_person record;
    char status[STORE_STATUS_MAX] = "";
    assert_int_equal(store_identity_person(conn, "0123456789ABCDEF", &record, status, &found),
                     0);
    assert_int_equal(found, 1);
    assert_string_equal(record.id, "person-1");
    assert_int_equal(record.sealed_length, sizeof sealed);
    assert_memory_equal(record.sealed, sealed, sizeof sealed);
    assert_int_equal(record.updated_at, 11);
    assert_string_equal(status, STORE_IDENTITY_REVOKED);
    store_person_clear(&record);
    assert_int_equal(store_identity_person(conn, "NOPE", &record, status, &found), 0);
    assert_int_equal(found, 0);
    store_release(f->store, conn);
}

static int
count_device(void *context, const struct store_device *device)
{
    int *count = context;
    assert_null(device->certificate); /* listings carry no DER */
    (*count)++;
    return 0;
}

static void
insert_device(struct store_conn *conn, const char *serial, const char *web_number,
              int64_t created_at)
{
    uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    struct store_device device = {.certificate = der, .certificate_length = sizeof der,
                                  .status = STORE_DEVICE_ACTIVE,
                                  .created_at = created_at, .not_after = 5000,
                                  .revocation_reason = -1};
    snprintf(device.serial, sizeof device.serial, "%s", serial);
    snprintf(device.web_number, sizeof device.web_number, "%s", web_number);
    assert_int_equal(store_device_insert(conn, &device), 0);
}

/* Inserts an active identity web_number of person_id, made at `at`. */
static void
insert_identity(struct store_conn *conn, const char *web_number, const char *person_id,
                int64_t at)
{
    struct store_identity identity = {.status = STORE_IDENTITY_ACTIVE,
                                      .created_at = at, .updated_at = at};
    int inserted = 0;
    snprintf(identity.web_number, sizeof identity.web_number, "%s", web_number);
    snprintf(identity.person_id, sizeof identity.person_id, "%s", person_id);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_identity_insert(conn, &identity, &inserted), 0);
    assert_int_equal(inserted, 1);
    assert_int_equal(store_commit(conn), 0);
}

/* A presented certificate's device and its identity in one read: the same
 * fields as the two reads apart, and nothing of an identity that is not
 * there or of a device asked under another web number. */
static void
test_device_with_identity(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    int found = 0, identity_found = 0;
    insert_identity(conn, "WN1", "person-1", 100);
    assert_int_equal(store_identity_suspend(conn, "WN1", "court order", "art. 12", 900, 200,
                                            &found),
                     0);
    assert_int_equal(found, 1);
    insert_device(conn, "aa01", "WN1", 10);
    insert_device(conn, "bb01", "WN2", 30); /* WN2 has no identity row */

    struct store_device device, alone;
    struct store_identity read, apart;
    assert_int_equal(store_device_get_with_identity(conn, "aa01", "WN1", &device, &found,
                                                    &read, &identity_found),
                     0);
    assert_int_equal(found, 1);
    assert_int_equal(identity_found, 1);
    assert_int_equal(store_device_get(conn, "aa01", "WN1", &alone, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(device.serial, alone.serial);
    assert_string_equal(device.status, alone.status);
    assert_int_equal(device.certificate_length, alone.certificate_length);
    assert_memory_equal(device.certificate, alone.certificate, alone.certificate_length);
    assert_int_equal(device.issuer, alone.issuer);
    assert_int_equal(device.identity_suspended_at, 200);
    assert_int_equal(device.identity_suspended_at, alone.identity_suspended_at);
    store_device_clear(&device);
    store_device_clear(&alone);
    assert_int_equal(store_identity_get(conn, "WN1", &apart, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(read.web_number, "WN1");
    assert_string_equal(read.person_id, apart.person_id);
    assert_string_equal(read.status, STORE_IDENTITY_SUSPENDED);
    assert_string_equal(read.status_reason, "court order");
    assert_string_equal(read.legal_basis, "art. 12");
    assert_int_equal(read.suspended_until, 900);
    assert_int_equal(read.updated_at, apart.updated_at);
    assert_int_equal(read.created_at, 100);

    /* A device whose identity row is missing: the device, no identity. */
    assert_int_equal(store_device_get_with_identity(conn, "bb01", "WN2", &device, &found,
                                                    &read, &identity_found),
                     0);
    assert_int_equal(found, 1);
    assert_int_equal(identity_found, 0);
    assert_string_equal(read.status, "");
    store_device_clear(&device);
    /* Another's web number, an unknown serial: neither. */
    assert_int_equal(store_device_get_with_identity(conn, "aa01", "WN2", &device, &found,
                                                    &read, &identity_found),
                     0);
    assert_int_equal(found, 0);
    assert_int_equal(identity_found, 0);
    assert_int_equal(store_device_get_with_identity(conn, "zz99", "WN1", &device, &found,
                                                    &read, &identity_found),
                     0);
    assert_int_equal(found, 0);
    assert_int_equal(identity_found, 0);

    /* store_device_get_using(): the same reads, and the request's token
     * id spent (on PostgreSQL in the same statement): new the first time,
     * seen after, and spent whether or not the device is found. */
    int fresh = 0;
    assert_int_equal(store_device_get_using(conn, "aa01", "WN1", "jti-0123456789abcdef", 5000,
                                            &fresh, &device, &found, &read, &identity_found),
                     0);
    assert_true(fresh);
    assert_int_equal(found, 1);
    assert_int_equal(identity_found, 1);
    assert_string_equal(device.serial, "aa01");
    assert_int_equal(device.identity_suspended_at, 200);
    assert_string_equal(read.status, STORE_IDENTITY_SUSPENDED);
    assert_string_equal(read.legal_basis, "art. 12");
    assert_int_equal(read.created_at, 100);
    store_device_clear(&device);
    assert_int_equal(store_device_get_using(conn, "aa01", "WN1", "jti-0123456789abcdef", 5000,
                                            &fresh, &device, &found, &read, &identity_found),
                     0);
    assert_false(fresh);
    assert_int_equal(found, 1);
    store_device_clear(&device);
    assert_int_equal(store_device_get_using(conn, "bb01", "WN2", "jti-second-token-0001", 5000,
                                            &fresh, &device, &found, &read, &identity_found),
                     0);
    assert_true(fresh);
    assert_int_equal(found, 1);
    assert_int_equal(identity_found, 0);
    store_device_clear(&device);
    assert_int_equal(store_device_get_using(conn, "zz99", "WN1", "jti-third-token-00001", 5000,
                                            &fresh, &device, &found, &read, &identity_found),
                     0);
    assert_true(fresh);
    assert_int_equal(found, 0);
    assert_int_equal(identity_found, 0);
    assert_int_equal(store_token_use(conn, "jti-third-token-00001", 5000, &fresh), 0);
    assert_false(fresh); /* spent by the read that found no device */
    store_release(f->store, conn);
}

static void
test_device(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    insert_device(conn, "aa01", "WN1", 10);
    insert_device(conn, "aa02", "WN1", 20);
    insert_device(conn, "bb01", "WN2", 30);

    struct store_device device;
    int found = 0;
    assert_int_equal(store_device_get(conn, "aa02", NULL, &device, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(device.web_number, "WN1");
    assert_int_equal(device.certificate_length, 5);
    assert_int_equal(device.certificate[0], 0x30);
    assert_int_equal(device.revocation_reason, -1);
    store_device_clear(&device);
    /* Asked with its web number: the same row; with another's, none. */
    assert_int_equal(store_device_get(conn, "aa02", "WN1", &device, &found), 0);
    assert_int_equal(found, 1);
    store_device_clear(&device);
    assert_int_equal(store_device_get(conn, "aa02", "WN2", &device, &found), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_device_get(conn, "none", NULL, &device, &found), 0);
    assert_int_equal(found, 0);

    int count = 0;
    assert_int_equal(store_device_each(conn, "WN1", count_device, &count), 0);
    assert_int_equal(count, 2);

    /* A device is revoked only by its own identity, and only once. */
    int changed = 0;
    assert_int_equal(store_device_revoke(conn, "aa01", "WN2", 100, 1, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(store_device_revoke(conn, "aa01", "WN1", 100, 1, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(store_device_revoke(conn, "aa01", NULL, 101, 1, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(store_device_revoke(conn, "zz99", NULL, 101, 1, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(store_device_get(conn, "aa01", NULL, &device, &found), 0);
    assert_string_equal(device.status, STORE_DEVICE_REVOKED);
    assert_int_equal(device.revoked_at, 100);
    assert_int_equal(device.revocation_reason, 1);
    store_device_clear(&device);

    /* Each call that revoked something moved the CRL's epoch; a call
     * that revoked nothing did not. */
    struct store_crl crl;
    assert_int_equal(store_crl_get(conn, 1, &crl, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(crl.epoch, 1);
    assert_int_equal(crl.number, 0);
    assert_null(crl.der);
    store_crl_clear(&crl);

    int64_t revoked = 0;
    assert_int_equal(store_device_revoke_all(conn, "WN1", 200, 9, &revoked), 0);
    assert_int_equal(revoked, 1); /* aa02; aa01 was already revoked */
    assert_int_equal(store_device_revoke_all(conn, "WN1", 201, 9, &revoked), 0);
    assert_int_equal(revoked, 0);
    assert_int_equal(store_crl_get(conn, 1, &crl, &found), 0);
    assert_int_equal(crl.epoch, 2);
    store_crl_clear(&crl);
    /* A CRL is stored as the next number only: of two nodes building at
     * once, one stores. */
    uint8_t der[] = {0x30, 0x00};
    int stored = 0;
    assert_int_equal(store_crl_put(conn, 1, 1, 2, 300, der, sizeof der, &stored), 0);
    assert_true(stored);
    assert_int_equal(store_crl_put(conn, 1, 1, 2, 301, der, sizeof der, &stored), 0);
    assert_false(stored);
    assert_int_equal(store_crl_get(conn, 1, &crl, &found), 0);
    assert_int_equal(crl.number, 1);
    assert_int_equal(crl.built_epoch, 2);
    assert_int_equal(crl.this_update, 300);
    assert_int_equal(crl.der_length, 2);
    store_crl_clear(&crl);
    count = 0;
    assert_int_equal(store_device_each_listed(conn, 1, 400, count_device, &count), 0);
    assert_int_equal(count, 2); /* the CRL walk: aa01 and aa02 */
    store_release(f->store, conn);
}

static int
first_device(void *context, const struct store_device *device)
{
    *(struct store_device *)context = *device;
    return 0;
}

/* Issuing CA generations: a device remembers its issuer; holding one
 * generation is one row, seen by every device of it (and none other), in
 * its CRL walk, and moves every CRL's epoch. */
static void
test_issuer_hold(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    struct store_issuer issuer;
    int found = 0, changed = 0;
    /* Generation 1 exists from the migration; 2 once ensured (twice is
     * no error). */
    assert_int_equal(store_issuer_get(conn, 1, &issuer, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(issuer.held_at, 0);
    assert_int_equal(store_issuer_get(conn, 2, &issuer, &found), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_issuer_ensure(conn, 2), 0);
    assert_int_equal(store_issuer_ensure(conn, 2), 0);
    insert_device(conn, "c101", "WN1", 10);
    insert_device(conn, "c102", "WN2", 10);
    uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    struct store_device fresh = {.certificate = der, .certificate_length = sizeof der,
                                 .status = STORE_DEVICE_ACTIVE, .created_at = 20,
                                 .not_after = 5000, .revocation_reason = -1, .issuer = 2};
    snprintf(fresh.serial, sizeof fresh.serial, "c201");
    snprintf(fresh.web_number, sizeof fresh.web_number, "WN1");
    assert_int_equal(store_device_insert(conn, &fresh), 0);

    struct store_device device;
    assert_int_equal(store_device_get(conn, "c201", "WN1", &device, &found), 0);
    assert_int_equal(device.issuer, 2);
    assert_int_equal(device.issuer_held_at, 0);
    store_device_clear(&device);
    int count = 0;
    assert_int_equal(store_device_each_listed(conn, 1, 100, count_device, &count), 0);
    assert_int_equal(count, 0);

    assert_int_equal(store_issuer_hold(conn, 9, 150, &found, &changed), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_issuer_hold(conn, 1, 150, &found, &changed), 0);
    assert_int_equal(found, 1);
    assert_int_equal(changed, 1);
    assert_int_equal(store_issuer_hold(conn, 1, 160, &found, &changed), 0);
    assert_int_equal(changed, 0); /* held already: held_at stays */
    assert_int_equal(store_device_get(conn, "c102", NULL, &device, &found), 0);
    assert_int_equal(device.issuer, 1);
    assert_int_equal(device.issuer_held_at, 150);
    assert_string_equal(device.status, STORE_DEVICE_ACTIVE);
    store_device_clear(&device);
    assert_int_equal(store_device_get(conn, "c201", NULL, &device, &found), 0);
    assert_int_equal(device.issuer_held_at, 0);
    store_device_clear(&device);
    /* The held generation's CRL lists its valid devices, not expired
     * ones; the other generation's lists nothing. */
    count = 0;
    assert_int_equal(store_device_each_listed(conn, 1, 100, count_device, &count), 0);
    assert_int_equal(count, 2);
    count = 0;
    assert_int_equal(store_device_each_listed(conn, 1, 6000, count_device, &count), 0);
    assert_int_equal(count, 0);
    count = 0;
    assert_int_equal(store_device_each_listed(conn, 2, 100, count_device, &count), 0);
    assert_int_equal(count, 0);
    struct store_device listed;
    assert_int_equal(store_device_each(conn, "WN2", first_device, &listed), 0);
    assert_int_equal(listed.issuer_held_at, 150);
    struct store_crl crl;
    assert_int_equal(store_crl_get(conn, 1, &crl, &found), 0);
    assert_int_equal(crl.epoch, 1);
    store_crl_clear(&crl);
    assert_int_equal(store_crl_get(conn, 2, &crl, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(crl.epoch, 0);
    assert_int_equal(crl.built_epoch, -1);
    store_crl_clear(&crl);
    store_release(f->store, conn);
}

static void
expect_limit(struct store_conn *conn, const uint8_t key[STORE_INDEX_BYTES], int64_t now,
             int64_t window_start, int64_t strikes, int64_t next_at)
{
    struct store_limit limit;
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_limit_lock(conn, key, now, &limit), 0);
    store_rollback(conn);
    assert_int_equal(limit.window_start, window_start);
    assert_int_equal(limit.strikes, strikes);
    assert_int_equal(limit.next_at, next_at);
}

static void
test_attempt_limits(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    uint8_t key[STORE_INDEX_BYTES] = {1}, other[STORE_INDEX_BYTES] = {2};
    /* A key seen for the first time reads as a fresh window. */
    expect_limit(conn, key, 1000, 1000, 0, 1000);
    struct store_limit limit;
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_limit_lock(conn, key, 1000, &limit), 0);
    limit.strikes = 3;
    limit.next_at = 1060;
    assert_int_equal(store_limit_save(conn, key, &limit, 1900), 0);
    assert_int_equal(store_commit(conn), 0);
    expect_limit(conn, key, 1001, 1000, 3, 1060);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_limit_lock(conn, other, 1001, &limit), 0);
    limit.strikes = 1;
    assert_int_equal(store_limit_save(conn, other, &limit, 1200), 0);
    assert_int_equal(store_commit(conn), 0);
    /* The janitor forgets each row after its purge_at, not before. */
    struct store_purge_counts counts;
    assert_int_equal(store_purge_expired(conn, 1500, &counts), 0);
    assert_int_equal(counts.attempts, 1);
    expect_limit(conn, other, 1501, 1501, 0, 1501);
    expect_limit(conn, key, 1501, 1000, 3, 1060);
    assert_int_equal(store_purge_expired(conn, 1901, &counts), 0);
    assert_int_equal(counts.attempts, 1);
    expect_limit(conn, key, 2000, 2000, 0, 2000);
    store_release(f->store, conn);
}

static void
test_token_single_use(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    int fresh = 0;
    assert_int_equal(store_token_use(conn, "jti-aaaaaaaaaaaaaaaa", 200, &fresh), 0);
    assert_int_equal(fresh, 1);
    assert_int_equal(store_token_use(conn, "jti-aaaaaaaaaaaaaaaa", 200, &fresh), 0);
    assert_int_equal(fresh, 0);
    assert_int_equal(store_token_use(conn, "jti-bbbbbbbbbbbbbbbb", 200, &fresh), 0);
    assert_int_equal(fresh, 1);
    /* Purged once expired: the id could be used again, but by then every
     * assertion naming it has expired too. */
    struct store_purge_counts counts;
    assert_int_equal(store_purge_expired(conn, 201, &counts), 0);
    assert_int_equal(counts.used_tokens, 2);
    store_release(f->store, conn);
}

/* ── Logins, codes and tokens: lookups and expiry ──────────────────────── */

static void
fill_hash(uint8_t hash[STORE_OIDC_HASH_BYTES], uint8_t tag, unsigned n)
{
    memset(hash, tag, STORE_OIDC_HASH_BYTES);
    hash[0] = (uint8_t)n;
    hash[1] = (uint8_t)(n >> 8);
}

/* Inserts a pending login n with purge_at `purge` and approves it for
 * web_number. */
static void
approved_login(struct store_conn *conn, unsigned n, const char *web_number, int64_t purge)
{
    struct store_oidc_login login = {
        .redirect_uri = "https://rp/cb", .claims = "[]", .code_challenge = "c",
        .created_at = 10, .expires_at = 100, .purge_at = purge,
    };
    fill_hash(login.login_hash, 0x10, n);
    fill_hash(login.user_code_hash, 0x20, n);
    fill_hash(login.code_hash, 0x30, n);
    strcpy(login.client_id, "client");
    int inserted = 0, changed = 0;
    assert_int_equal(store_oidc_login_insert(conn, &login, &inserted), 0);
    assert_int_equal(inserted, 1);
    /* The same user code again: refused, nothing written. */
    struct store_oidc_login twin = login;
    twin.login_hash[2] ^= 1;
    assert_int_equal(store_oidc_login_insert(conn, &twin, &inserted), 0);
    assert_int_equal(inserted, 0);
    struct store_oidc_login read;
    int found = 0;
    assert_int_equal(store_oidc_login_get(conn, twin.login_hash, &read, &found), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_oidc_login_decide(conn, login.login_hash, STORE_LOGIN_APPROVED,
                                             web_number, "[]", 50, 110, &changed),
                     0);
    assert_int_equal(changed, 1);
}

static int
count_audit(struct store_conn *conn)
{
    struct audit_collect collect = {0, 0};
    assert_int_equal(store_audit_each(conn, 0, 100000, collect_audit, &collect), 0);
    return collect.count;
}

static const char *
login_status(struct store_conn *conn, const uint8_t hash[STORE_OIDC_HASH_BYTES],
             char out[STORE_STATUS_MAX])
{
    struct store_oidc_login read;
    int found = 0;
    assert_int_equal(store_oidc_login_get(conn, hash, &read, &found), 0);
    assert_true(found);
    snprintf(out, STORE_STATUS_MAX, "%s", read.status);
    store_oidc_login_clear(&read);
    return out;
}

/* Checks that every event walked is the one in context, column by
 * column. */
static int
same_event(void *context, const struct store_audit_event *got)
{
    const struct store_audit_event *want = context;
    return got->time == want->time && strcmp(got->actor, want->actor) == 0 &&
                   strcmp(got->action, want->action) == 0 &&
                   strcmp(got->subject, want->subject) == 0 &&
                   strcmp(got->details, want->details) == 0 && got->salt == NULL &&
                   got->leaf == -1 && got->sealed_length == want->sealed_length &&
                   memcmp(got->sealed, want->sealed, want->sealed_length) == 0 &&
                   got->commitment != NULL &&
                   memcmp(got->commitment, want->commitment, STORE_LOG_HASH_BYTES) == 0
               ? 0
               : -1;
}

/* store_oidc_login_decide_logged: the decision and its audit event, both
 * or neither (one statement on PostgreSQL, a transaction elsewhere). */
static void
test_login_decide_logged(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    struct store_oidc_login login = {
        .redirect_uri = "https://rp/cb", .claims = "[]", .code_challenge = "c",
        .created_at = 10, .expires_at = 100, .purge_at = 200,
    };
    strcpy(login.client_id, "client");
    uint8_t hashes[2][STORE_OIDC_HASH_BYTES];
    for (unsigned n = 0; n < 2; n++) {
        fill_hash(login.login_hash, 0x10, n + 1);
        fill_hash(login.user_code_hash, 0x20, n + 1);
        fill_hash(login.code_hash, 0x30, n + 1);
        memcpy(hashes[n], login.login_hash, sizeof hashes[n]);
        int inserted = 0;
        assert_int_equal(store_oidc_login_insert(conn, &login, &inserted), 0);
        assert_int_equal(inserted, 1);
    }
    /* A free user code with a code hash already taken: refused, nothing
     * written (the user code is still free after). */
    struct store_oidc_login clash = login;
    fill_hash(clash.login_hash, 0x10, 9);
    fill_hash(clash.user_code_hash, 0x20, 9);
    int inserted = -1;
    assert_int_equal(store_oidc_login_insert(conn, &clash, &inserted), 0);
    assert_int_equal(inserted, 0);
    fill_hash(clash.code_hash, 0x30, 9);
    assert_int_equal(store_oidc_login_insert(conn, &clash, &inserted), 0);
    assert_int_equal(inserted, 1);
    uint8_t sealed[40], commitment[STORE_LOG_HASH_BYTES];
    memset(sealed, 0x5a, sizeof sealed);
    memset(commitment, 0xc3, sizeof commitment);
    struct store_audit_event event = {
        .time = 50, .actor = "sealed", .action = "login.approved", .subject = "s1",
        .details = "{}", .leaf = -1, .sealed = sealed, .sealed_length = sizeof sealed,
        .commitment = commitment,
    };
    char status[STORE_STATUS_MAX];
    int changed = -1;
    /* An event the table refuses (no actor): the login stays pending. */
    struct store_audit_event refused = event;
    refused.actor = NULL;
    assert_int_equal(store_oidc_login_decide_logged(conn, hashes[0], STORE_LOGIN_APPROVED,
                                                    "WN1", "[]", 50, 110, &refused, &changed),
                     -1);
    assert_int_equal(changed, 0);
    assert_string_equal(login_status(conn, hashes[0], status), STORE_LOGIN_PENDING);
    assert_int_equal(count_audit(conn), 0);
    /* Decided: the login and its event. */
    assert_int_equal(store_oidc_login_decide_logged(conn, hashes[0], STORE_LOGIN_APPROVED,
                                                    "WN1", "[]", 50, 110, &event, &changed),
                     0);
    assert_int_equal(changed, 1);
    assert_string_equal(login_status(conn, hashes[0], status), STORE_LOGIN_APPROVED);
    assert_int_equal(count_audit(conn), 1);
    /* Decided already, or expired: nothing written. */
    assert_int_equal(store_oidc_login_decide_logged(conn, hashes[0], STORE_LOGIN_DENIED, "WN1",
                                                    NULL, 51, 111, &event, &changed),
                     0);
    assert_int_equal(changed, 0);
    assert_int_equal(store_oidc_login_decide_logged(conn, hashes[1], STORE_LOGIN_DENIED, "WN1",
                                                    NULL, 100, 160, &event, &changed),
                     0);
    assert_int_equal(changed, 0);
    assert_string_equal(login_status(conn, hashes[0], status), STORE_LOGIN_APPROVED);
    assert_string_equal(login_status(conn, hashes[1], status), STORE_LOGIN_PENDING);
    assert_int_equal(count_audit(conn), 1);
    assert_int_equal(store_oidc_login_decide_logged(conn, hashes[1], STORE_LOGIN_DENIED, "WN2",
                                                    NULL, 99, 159, &event, &changed),
                     0);
    assert_int_equal(changed, 1);
    assert_int_equal(count_audit(conn), 2);
    /* The rows hold what was given. */
    assert_int_equal(store_audit_each(conn, 0, 100000, same_event, &event), 0);
    store_release(f->store, conn);
}

/* Refresh token n of grant `grant`, for web_number. */
static struct store_oidc_token
make_token(unsigned n, unsigned grant, const char *web_number, int64_t expires_at)
{
    struct store_oidc_token token = {.claims = "[]", .auth_time = 50, .created_at = 50,
                                     .expires_at = expires_at};
    fill_hash(token.token_hash, 0x40, n);
    fill_hash(token.grant_id, 0x10, grant);
    strcpy(token.kind, STORE_TOKEN_REFRESH);
    strcpy(token.client_id, "client");
    snprintf(token.web_number, sizeof token.web_number, "%s", web_number);
    strcpy(token.sub, "sub");
    return token;
}

static void
insert_token(struct store_conn *conn, unsigned n, unsigned grant, const char *web_number,
             int64_t expires_at)
{
    struct store_oidc_token token = make_token(n, grant, web_number, expires_at);
    assert_int_equal(store_oidc_token_insert(conn, &token), 0);
}

/* A presented code comes with its identity's status where the store reads
 * both in one statement (SQLite and PostgreSQL here): none without an
 * identity row, then the row's as it changes. */
static void
test_code_present_identity_status(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    struct store_oidc_login login;
    char identity_status[STORE_STATUS_MAX];
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    int found = 0;
    approved_login(conn, 3, "WN7", 1000);
    fill_hash(hash, 0x30, 3);
    assert_int_equal(store_oidc_code_present(conn, hash, &login, &found, identity_status), 0);
    assert_int_equal(found, 1);
    assert_string_equal(login.web_number, "WN7");
    assert_string_equal(identity_status, "");
    store_oidc_login_clear(&login);

    insert_identity(conn, "WN7", "person-7", 10);
    assert_int_equal(store_oidc_code_present(conn, hash, &login, &found, identity_status), 0);
    assert_int_equal(found, 1);
    assert_int_equal(login.code_uses, 2);
    assert_string_equal(identity_status, STORE_IDENTITY_ACTIVE);
    store_oidc_login_clear(&login);

    assert_int_equal(store_identity_suspend(conn, "WN7", "court order", "art. 12", 0, 20,
                                            &found),
                     0);
    assert_int_equal(store_oidc_code_present(conn, hash, &login, &found, identity_status), 0);
    assert_int_equal(found, 1);
    assert_string_equal(identity_status, STORE_IDENTITY_SUSPENDED);
    store_oidc_login_clear(&login);
    /* No login, no status. */
    fill_hash(hash, 0x30, 4);
    assert_int_equal(store_oidc_code_present(conn, hash, &login, &found, identity_status), 0);
    assert_int_equal(found, 0);
    assert_string_equal(identity_status, "");
    store_release(f->store, conn);
}

/* The token's status as stored now ("" when there is none). */
static void
token_status(struct store_conn *conn, unsigned n, char status[STORE_STATUS_MAX])
{
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_token token;
    int found = 0;
    fill_hash(hash, 0x40, n);
    assert_int_equal(store_oidc_token_get(conn, hash, &token, &found), 0);
    snprintf(status, STORE_STATUS_MAX, "%s", found ? token.status : "");
    if (found)
        store_oidc_token_clear(&token);
}

/* store_oidc_refresh_take() at now; *taken returned. */
static int
take(struct store_conn *conn, unsigned n, const char *client_id, int64_t now,
     struct store_oidc_token *out)
{
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    int taken = -1;
    fill_hash(hash, 0x40, n);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_oidc_refresh_take(conn, hash, client_id, now, out, &taken), 0);
    assert_true(taken == 0 || taken == 1);
    if (taken)
        assert_int_equal(store_commit(conn), 0);
    else
        store_rollback(conn);
    return taken;
}

/* store_oidc_refresh_rotate() of token n with successors 100+n (access)
 * and 200+n (refresh) at now; *taken returned. */
static int
rotate_whole(struct store_conn *conn, unsigned n, const char *client_id, int64_t now,
             const char *jkt, struct store_oidc_token *out)
{
    uint8_t hash[STORE_OIDC_HASH_BYTES], access[STORE_OIDC_HASH_BYTES],
        refresh[STORE_OIDC_HASH_BYTES];
    int taken = -1;
    fill_hash(hash, 0x40, n);
    fill_hash(access, 0x40, 100 + n);
    fill_hash(refresh, 0x40, 200 + n);
    assert_int_equal(store_oidc_refresh_rotate(conn, hash, client_id, now, jkt, access, now + 60,
                                               refresh, now + 600, out, &taken),
                     0);
    assert_true(taken == 0 || taken == 1);
    assert_false(conn->in_transaction);
    return taken;
}

/* The successor token n as stored, checked against its taken predecessor
 * `old`: same grant, client, subject, claims, auth_time and binding. */
static void
check_successor(struct store_conn *conn, unsigned n, const char *kind, int64_t created_at,
                int64_t expires_at, const struct store_oidc_token *old)
{
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_token got;
    int found = 0;
    fill_hash(hash, 0x40, n);
    assert_int_equal(store_oidc_token_get(conn, hash, &got, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(got.kind, kind);
    assert_memory_equal(got.grant_id, old->grant_id, sizeof got.grant_id);
    assert_string_equal(got.client_id, old->client_id);
    assert_string_equal(got.web_number, old->web_number);
    assert_string_equal(got.sub, old->sub);
    assert_string_equal(got.claims, old->claims);
    assert_int_equal(got.auth_time, old->auth_time);
    assert_int_equal(got.created_at, created_at);
    assert_int_equal(got.expires_at, expires_at);
    assert_string_equal(got.status, STORE_TOKEN_ACTIVE);
    assert_string_equal(got.dpop_jkt, old->dpop_jkt);
    store_oidc_token_clear(&got);
}

/* The refresh grant whole (store_oidc_refresh_rotate): a live token of the
 * platform, of an active identity, bound to no key or to the one given,
 * is rotated and its two successors written, once; anything else writes
 * nothing. */
static void
test_refresh_rotate(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    int found = 0;
    insert_identity(conn, "WN1", "person-1", 10);
    insert_identity(conn, "WN2", "person-2", 10);
    assert_int_equal(store_identity_suspend(conn, "WN2", "court order", "art. 12", 0, 20,
                                            &found),
                     0);
    insert_token(conn, 1, 1, "WN1", 1000);
    insert_token(conn, 2, 2, "WN1", 500); /* expires at the moment of taking */
    insert_token(conn, 4, 4, "WN2", 1000);
    struct store_oidc_token bound = make_token(5, 5, "WN1", 1000);
    strcpy(bound.dpop_jkt, "jkt-of-the-key");
    bound.claims = "[\"age_over_18\"]";
    assert_int_equal(store_oidc_token_insert(conn, &bound), 0);

    struct store_oidc_token token;
    char status[STORE_STATUS_MAX];
    /* An unbound token, presented with or without a key. */
    assert_int_equal(rotate_whole(conn, 1, "client", 500, "some-key", &token), 1);
    assert_string_equal(token.status, STORE_TOKEN_ROTATED);
    assert_string_equal(token.web_number, "WN1");
    assert_string_equal(token.identity_status, STORE_IDENTITY_ACTIVE);
    token_status(conn, 1, status);
    assert_string_equal(status, STORE_TOKEN_ROTATED);
    check_successor(conn, 101, STORE_TOKEN_ACCESS, 500, 560, &token);
    check_successor(conn, 201, STORE_TOKEN_REFRESH, 500, 1100, &token);
    store_oidc_token_clear(&token);
    /* Once only; its successor is live in turn. */
    assert_int_equal(rotate_whole(conn, 1, "client", 501, "", &token), 0);
    assert_int_equal(rotate_whole(conn, 201, "client", 502, "", &token), 1);
    store_oidc_token_clear(&token);
    /* Another platform's, expired, an access token, a suspended identity's,
     * bound to another key or presented without it, none at all: nothing
     * written (no successor either). */
    assert_int_equal(rotate_whole(conn, 5, "other", 500, "jkt-of-the-key", &token), 0);
    assert_int_equal(rotate_whole(conn, 2, "client", 500, "", &token), 0);
    assert_int_equal(rotate_whole(conn, 101, "client", 500, "", &token), 0);
    assert_int_equal(rotate_whole(conn, 4, "client", 500, "", &token), 0);
    assert_int_equal(rotate_whole(conn, 5, "client", 500, "another-key", &token), 0);
    assert_int_equal(rotate_whole(conn, 5, "client", 500, "", &token), 0);
    assert_int_equal(rotate_whole(conn, 99, "client", 500, "", &token), 0);
    for (unsigned n = 2; n <= 5; n++) {
        if (n == 3)
            continue;
        token_status(conn, n, status);
        assert_string_equal(status, STORE_TOKEN_ACTIVE);
        uint8_t hash[STORE_OIDC_HASH_BYTES];
        struct store_oidc_token none;
        fill_hash(hash, 0x40, 100 + n);
        assert_int_equal(store_oidc_token_get(conn, hash, &none, &found), 0);
        assert_int_equal(found, 0);
    }
    /* Bound, with its key: the successors keep the binding. */
    assert_int_equal(rotate_whole(conn, 5, "client", 510, "jkt-of-the-key", &token), 1);
    assert_string_equal(token.dpop_jkt, "jkt-of-the-key");
    check_successor(conn, 105, STORE_TOKEN_ACCESS, 510, 570, &token);
    check_successor(conn, 205, STORE_TOKEN_REFRESH, 510, 1110, &token);
    store_oidc_token_clear(&token);
    store_release(f->store, conn);
}

/* The refresh grant's one statement takes exactly a live refresh token of
 * the platform and of an active identity, once, and changes nothing
 * otherwise. */
static void
test_refresh_take(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    int found = 0;
    insert_identity(conn, "WN1", "person-1", 10);
    insert_identity(conn, "WN2", "person-2", 10); /* suspended below */
    assert_int_equal(store_identity_suspend(conn, "WN2", "court order", "art. 12", 0, 20,
                                            &found),
                     0);
    assert_int_equal(found, 1);
    insert_token(conn, 1, 1, "WN1", 1000);
    insert_token(conn, 2, 2, "WN1", 500); /* expires at the moment of taking */
    struct store_oidc_token access = make_token(3, 3, "WN1", 1000);
    strcpy(access.kind, STORE_TOKEN_ACCESS);
    assert_int_equal(store_oidc_token_insert(conn, &access), 0);
    insert_token(conn, 4, 4, "WN2", 1000);
    struct store_oidc_token bound = make_token(5, 5, "WN1", 1000);
    strcpy(bound.dpop_jkt, "jkt-of-the-key");
    assert_int_equal(store_oidc_token_insert(conn, &bound), 0);
    insert_token(conn, 6, 6, "WN1", 1000);

    struct store_oidc_token token;
    char status[STORE_STATUS_MAX];
    assert_int_equal(take(conn, 1, "client", 500, &token), 1);
    uint8_t grant[STORE_OIDC_HASH_BYTES];
    fill_hash(grant, 0x10, 1);
    assert_memory_equal(token.grant_id, grant, sizeof grant);
    assert_string_equal(token.kind, STORE_TOKEN_REFRESH);
    assert_string_equal(token.client_id, "client");
    assert_string_equal(token.web_number, "WN1");
    assert_string_equal(token.sub, "sub");
    assert_string_equal(token.claims, "[]");
    assert_int_equal(token.auth_time, 50);
    assert_int_equal(token.expires_at, 1000);
    assert_string_equal(token.status, STORE_TOKEN_ROTATED);
    assert_int_equal(token.rotated_at, 500);
    assert_string_equal(token.identity_status, STORE_IDENTITY_ACTIVE);
    assert_string_equal(token.dpop_jkt, "");
    store_oidc_token_clear(&token);
    token_status(conn, 1, status);
    assert_string_equal(status, STORE_TOKEN_ROTATED);
    /* Once only. */
    assert_int_equal(take(conn, 1, "client", 501, &token), 0);

    /* Another platform's, expired, an access token, a suspended identity's,
     * none at all: not taken, and left as they were. */
    assert_int_equal(take(conn, 6, "other", 500, &token), 0);
    assert_int_equal(take(conn, 2, "client", 500, &token), 0);
    assert_int_equal(take(conn, 3, "client", 500, &token), 0);
    assert_int_equal(take(conn, 4, "client", 500, &token), 0);
    assert_int_equal(take(conn, 99, "client", 500, &token), 0);
    for (unsigned n = 2; n <= 6; n++) {
        token_status(conn, n, status);
        assert_string_equal(status, STORE_TOKEN_ACTIVE);
    }
    /* Taken and rolled back (the grant refused afterwards): still active.
     * The binding comes back with it. */
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    int taken = 0;
    fill_hash(hash, 0x40, 5);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_oidc_refresh_take(conn, hash, "client", 500, &token, &taken), 0);
    assert_int_equal(taken, 1);
    assert_string_equal(token.dpop_jkt, "jkt-of-the-key");
    store_oidc_token_clear(&token);
    store_rollback(conn);
    token_status(conn, 5, status);
    assert_string_equal(status, STORE_TOKEN_ACTIVE);
    assert_int_equal(take(conn, 6, "client", 500, &token), 1);
    store_oidc_token_clear(&token);
    store_release(f->store, conn);
}

static void
test_login_lookups_and_purge(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    approved_login(conn, 1, "WN1", 1000);
    approved_login(conn, 2, "WN1", 3000);
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_login login;
    struct store_platform platform;
    int found = 0;
    fill_hash(hash, 0x20, 1);
    /* No platform has the login's client id: the platform comes back empty. */
    assert_int_equal(store_oidc_login_get_by_user_code(conn, hash, &login, &platform, &found),
                     0);
    assert_int_equal(found, 1);
    assert_string_equal(login.status, STORE_LOGIN_APPROVED);
    assert_string_equal(login.web_number, "WN1");
    assert_string_equal(platform.client_id, "");
    store_oidc_login_clear(&login);
    store_platform_clear(&platform);
    /* Registered, it comes with the login. */
    struct store_platform client = {
        .client_id = "client", .name = "Shop", .redirect_uris = "[]", .claims = "[]",
        .auth_method = "client_secret_basic", .sector_id = "s", .disabled = 1, .created_at = 5,
        .purpose = "to sell",
    };
    assert_int_equal(store_platform_insert(conn, &client), 0);
    assert_int_equal(store_oidc_login_get_by_user_code(conn, hash, &login, &platform, &found),
                     0);
    assert_int_equal(found, 1);
    assert_string_equal(login.redirect_uri, "https://rp/cb");
    assert_string_equal(platform.client_id, "client");
    assert_string_equal(platform.name, "Shop");
    assert_string_equal(platform.purpose, "to sell");
    assert_true(platform.disabled);
    store_oidc_login_clear(&login);
    store_platform_clear(&platform);
    fill_hash(hash, 0x30, 2);
    char identity_status[STORE_STATUS_MAX];
    assert_int_equal(store_oidc_code_present(conn, hash, &login, &found, identity_status), 0);
    assert_int_equal(found, 1);
    assert_string_equal(identity_status, ""); /* no identity row here */
    assert_int_equal(login.code_uses, 1);
    store_oidc_login_clear(&login);

    insert_token(conn, 1, 1, "WN1", 500);
    insert_token(conn, 2, 2, "WN1", 5000);
    struct store_oidc_token token;
    fill_hash(hash, 0x40, 2);
    assert_int_equal(store_oidc_token_get(conn, hash, &token, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(token.web_number, "WN1");
    assert_string_equal(token.identity_status, ""); /* no identity row here */
    store_oidc_token_clear(&token);
    int changed = 0;
    assert_int_equal(store_oidc_token_set_status(conn, "WN2", hash, STORE_TOKEN_REVOKED,
                                                 &changed), 0);
    assert_int_equal(changed, 0); /* another identity's token: untouched */
    uint8_t grant[STORE_OIDC_HASH_BYTES];
    fill_hash(grant, 0x10, 2);
    int64_t count = 0;
    assert_int_equal(store_oidc_grant_revoke(conn, "WN1", grant, &count), 0);
    assert_int_equal(count, 1);

    /* At 2000: login 1 (purge_at 1000) and token 1 (expires 500) go, with
     * their lookups; login 2 and token 2 stay. */
    struct store_purge_counts counts;
    assert_int_equal(store_purge_expired(conn, 2000, &counts), 0);
    assert_int_equal(counts.logins, 1);
    assert_int_equal(counts.tokens, 1);
    fill_hash(hash, 0x20, 1);
    assert_int_equal(store_oidc_login_get_by_user_code(conn, hash, &login, &platform, &found),
                     0);
    assert_int_equal(found, 0);
    fill_hash(hash, 0x30, 1);
    assert_int_equal(store_oidc_code_present(conn, hash, &login, &found, identity_status), 0);
    assert_int_equal(found, 0);
    fill_hash(hash, 0x40, 1);
    assert_int_equal(store_oidc_token_get(conn, hash, &token, &found), 0);
    assert_int_equal(found, 0);
    fill_hash(hash, 0x20, 2);
    assert_int_equal(store_oidc_login_get_by_user_code(conn, hash, &login, &platform, &found),
                     0);
    assert_int_equal(found, 1);
    store_oidc_login_clear(&login);
    store_platform_clear(&platform);
    fill_hash(hash, 0x40, 2);
    assert_int_equal(store_oidc_token_get(conn, hash, &token, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(token.status, STORE_TOKEN_REVOKED);
    store_oidc_token_clear(&token);
    /* With its platform; a token whose client id no platform has comes
     * with an empty one; an unknown token with none. */
    assert_int_equal(store_oidc_token_get_with_platform(conn, hash, &token, &platform, &found),
                     0);
    assert_int_equal(found, 1);
    assert_string_equal(token.client_id, "client");
    assert_string_equal(token.status, STORE_TOKEN_REVOKED);
    assert_string_equal(platform.name, "Shop");
    store_oidc_token_clear(&token);
    store_platform_clear(&platform);
    struct store_oidc_token orphan = make_token(7, 7, "WN1", 5000);
    strcpy(orphan.client_id, "gone");
    assert_int_equal(store_oidc_token_insert(conn, &orphan), 0);
    fill_hash(hash, 0x40, 7);
    assert_int_equal(store_oidc_token_get_with_platform(conn, hash, &token, &platform, &found),
                     0);
    assert_int_equal(found, 1);
    assert_string_equal(token.client_id, "gone");
    assert_string_equal(platform.client_id, "");
    store_oidc_token_clear(&token);
    store_platform_clear(&platform);
    fill_hash(hash, 0x40, 8);
    assert_int_equal(store_oidc_token_get_with_platform(conn, hash, &token, &platform, &found),
                     0);
    assert_int_equal(found, 0);
    store_release(f->store, conn);
}

/* How many audit events the store holds. */
static int64_t
audit_count(struct store_conn *conn)
{
    struct audit_collect collect = {0, 0};
    assert_int_equal(store_audit_each(conn, 0, 100000, collect_audit, &collect), 0);
    return collect.count;
}

static int
token_found(struct store_conn *conn, unsigned n)
{
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    fill_hash(hash, 0x40, n);
    struct store_oidc_token token;
    int found = -1;
    assert_int_equal(store_oidc_token_get(conn, hash, &token, &found), 0);
    store_oidc_token_clear(&token);
    return found;
}

/* A transaction's plain inserts whose rows nobody reads back at once (a
 * token, an audit event whose number is not asked for) reach PostgreSQL
 * with the transaction's next statement or its COMMIT, in one pipeline
 * (store_pg.c): committed with the rest, rolled back with the rest, and
 * their failure is the commit's or the next statement's, after which the
 * connection is usable. SQLite runs them at once: the same outcomes. */
static void
test_queued_writes(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    int pg = server_transactions(f) >= 0;
    struct store_audit_event event = {.time = 1, .actor = "a", .action = "b",
                                      .subject = "c", .details = "{}"};

    /* Rolled back: nothing of them is written. (This also prepares their
     * statements on this connection: preparing one waits for the server.) */
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_audit_append(conn, &event, NULL), 0);
    insert_token(conn, 3, 3, "WN1", 5000);
    assert_int_equal(store_rollback(conn), 0);
    assert_int_equal(audit_count(conn), 0);
    assert_int_equal(token_found(conn, 3), 0);

    /* Held back: the server has not even seen the BEGIN before the commit. */
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_audit_append(conn, &event, NULL), 0);
    insert_token(conn, 1, 1, "WN1", 5000);
    if (pg)
        assert_int_equal(server_transactions(f), 0);
    assert_int_equal(store_commit(conn), 0);
    assert_int_equal(audit_count(conn), 1);
    assert_int_equal(token_found(conn, 1), 1);

    /* The transaction's next statement carries them and sees their rows. */
    assert_int_equal(store_begin(conn), 0);
    insert_token(conn, 2, 2, "WN1", 5000);
    assert_int_equal(token_found(conn, 2), 1);
    if (pg)
        assert_int_equal(server_transactions(f), 1);
    assert_int_equal(store_commit(conn), 0);

    assert_int_equal(audit_count(conn), 1);
    assert_int_equal(token_found(conn, 3), 0);

    /* One fails (a token hash already stored): PostgreSQL reports it at the
     * commit, SQLite at the insert; either way nothing of the transaction
     * is written and the connection is usable. */
    struct store_oidc_token twin = make_token(1, 9, "WN1", 5000);
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_audit_append(conn, &event, NULL), 0);
    insert_token(conn, 4, 4, "WN1", 5000);
    if (store_oidc_token_insert(conn, &twin) == 0) {
        assert_true(pg);
        assert_int_equal(store_commit(conn), -1);
        assert_non_null(strstr(store_last_error(conn), "23505"));
    } else {
        assert_false(pg);
        assert_int_equal(store_rollback(conn), 0);
    }
    if (pg)
        assert_int_equal(server_transactions(f), 0);
    assert_int_equal(audit_count(conn), 1);
    assert_int_equal(token_found(conn, 4), 0);

    /* Reported by the next statement instead of the commit. */
    assert_int_equal(store_begin(conn), 0);
    int failed = store_oidc_token_insert(conn, &twin) != 0;
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_token token;
    int found = 0;
    fill_hash(hash, 0x40, 2);
    if (!failed) {
        assert_int_equal(store_oidc_token_get(conn, hash, &token, &found), -1);
        assert_non_null(strstr(store_last_error(conn), "23505"));
    }
    assert_int_equal(store_rollback(conn), 0);
    if (pg)
        assert_int_equal(server_transactions(f), 0);

    /* Or by none: rolled back with the failure still unread. */
    assert_int_equal(store_begin(conn), 0);
    assert_int_equal(store_oidc_token_insert(conn, &twin), pg ? 0 : -1);
    assert_int_equal(store_rollback(conn), 0);
    if (pg)
        assert_int_equal(server_transactions(f), 0);

    /* The connection goes on as before, and a transaction of more inserts
     * than one pipeline holds (store_pg.c's QUEUED_MAX) writes them all. */
    assert_int_equal(store_begin(conn), 0);
    insert_token(conn, 5, 5, "WN1", 5000);
    for (int i = 0; i < 100; i++)
        assert_int_equal(store_audit_append(conn, &event, NULL), 0);
    assert_int_equal(store_commit(conn), 0);
    assert_int_equal(token_found(conn, 5), 1);
    assert_int_equal(token_found(conn, 2), 1);
    assert_int_equal(audit_count(conn), 101);
    store_release(f->store, conn);
}

static void
pg_run(PGconn *pg, const char *sql)
{
    PGresult *result = PQexec(pg, sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(result));
    PQclear(result);
}

/* A purge deletes in statements of at most 500 rows (store.c's
 * PURGE_BATCH), each its own transaction, until one deletes fewer: every
 * expired row goes, an exact multiple of the batch too, and nothing
 * unexpired. */
static void
test_purge_in_batches(void **state)
{
    struct fixture *f = *state;
    enum { USED = 1000, TOKENS = 1200, KEPT = 7 };
    PGconn *pg = NULL;
    if (server_transactions(f) >= 0) {
        /* PostgreSQL counts what each DELETE statement takes. */
        pg = PQconnectdb(f->location);
        assert_int_equal(PQstatus(pg), CONNECTION_OK);
        pg_run(pg, "CREATE TABLE purge_statement (id SERIAL, deleted BIGINT)");
        pg_run(pg, "CREATE FUNCTION purge_note() RETURNS trigger LANGUAGE plpgsql AS $$"
                   " BEGIN INSERT INTO purge_statement (deleted) SELECT count(*) FROM gone;"
                   " RETURN NULL; END $$");
        pg_run(pg, "CREATE TRIGGER purge_note AFTER DELETE ON used_token"
                   " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT"
                   " EXECUTE FUNCTION purge_note()");
    }
    struct store_conn *conn = store_acquire(f->store);
    assert_int_equal(store_begin(conn), 0);
    for (unsigned i = 0; i < USED + KEPT; i++) {
        char jti[32];
        int fresh = 0;
        snprintf(jti, sizeof jti, "jti-%06u", i);
        assert_int_equal(store_token_use(conn, jti, i < USED ? 200 : 900, &fresh), 0);
        assert_int_equal(fresh, 1);
    }
    for (unsigned n = 1; n <= TOKENS + KEPT; n++)
        insert_token(conn, n, n, n % 2 ? "WN1" : "WN2", n <= TOKENS ? 200 : 5000);
    assert_int_equal(store_commit(conn), 0);

    struct store_purge_counts counts;
    assert_int_equal(store_purge_expired(conn, 201, &counts), 0);
    assert_int_equal(counts.used_tokens, USED);
    assert_int_equal(counts.tokens, TOKENS);
    if (pg != NULL) {
        PGresult *result = PQexec(pg, "SELECT string_agg(deleted::text, ' ' ORDER BY id)"
                                      " FROM purge_statement");
        assert_int_equal(PQresultStatus(result), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(result, 0, 0), "500 500 0");
        PQclear(result);
        PQfinish(pg);
    }
    for (unsigned n = 1; n <= TOKENS + KEPT; n++)
        assert_int_equal(token_found(conn, n), n > TOKENS);
    for (unsigned i = USED - 2; i < USED + KEPT; i++) {
        char jti[32];
        int fresh = 0;
        snprintf(jti, sizeof jti, "jti-%06u", i);
        assert_int_equal(store_token_use(conn, jti, 900, &fresh), 0);
        assert_int_equal(fresh, i < USED); /* purged ids are new again */
    }
    assert_int_equal(store_purge_expired(conn, 201, &counts), 0);
    assert_int_equal(counts.used_tokens + counts.tokens, 0);
    store_release(f->store, conn);
}

/* The log's pending events, their sequences in the order read. */
struct pending_read {
    int64_t sequences[64];
    size_t count;
};

static int
collect_pending(void *context, const struct store_audit_event *event)
{
    struct pending_read *read = context;
    assert_true(read->count < 64);
    read->sequences[read->count++] = event->sequence;
    return 0;
}

/* The sequencer's read of the pending events (STORE_LOG_PENDING_SQL) goes
 * through the index on (leaf, sequence) and reads only them, even when
 * the statistics were taken while every event was pending (as when a
 * burst of events came in). With "ORDER BY sequence" PostgreSQL read the
 * sequence index from the log's first event, every numbered one read and
 * dropped, a cost that grew with the log. */
static void
test_log_pending_reads_only_pending(void **state)
{
    struct fixture *f = *state;
    enum { EVENTS = 2000, PENDING = 10 };
    struct store_conn *conn = store_acquire(f->store);
    struct store_audit_event event = {.time = 1, .actor = "a", .action = "b",
                                      .subject = "c", .details = "{}"};
    assert_int_equal(store_begin(conn), 0);
    for (int i = 0; i < EVENTS; i++)
        assert_int_equal(store_audit_append(conn, &event, NULL), 0);
    assert_int_equal(store_commit(conn), 0);

    char plan[8192] = "";
    size_t at = 0;
    if (server_transactions(f) >= 0) {
        PGconn *pg = PQconnectdb(f->location);
        assert_int_equal(PQstatus(pg), CONNECTION_OK);
        pg_run(pg, "ALTER TABLE audit_event SET (autovacuum_enabled = off)");
        pg_run(pg, "ANALYZE audit_event"); /* every event pending */
        pg_run(pg, "UPDATE audit_event SET leaf = sequence"
                   " WHERE sequence <= (SELECT max(sequence) - 10 FROM audit_event)");
        pg_run(pg, "VACUUM audit_event"); /* the old versions gone, statistics kept */
        const char *limit[] = {"1000"};
        PGresult *result = PQexecParams(pg, "EXPLAIN (ANALYZE, COSTS OFF) " STORE_LOG_PENDING_SQL,
                                        1, NULL, limit, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(result), PGRES_TUPLES_OK);
        for (int row = 0; row < PQntuples(result); row++)
            at += (size_t)snprintf(plan + at, sizeof plan - at, "%s\n",
                                   PQgetvalue(result, row, 0));
        PQclear(result);
        PQfinish(pg);
        assert_true(at < sizeof plan);
        if (strstr(plan, "Rows Removed by Filter") != NULL ||
            strstr(plan, "audit_event_leaf") == NULL)
            fail_msg("the pending events' read goes past them:\n%s", plan);
    } else {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open_v2(f->location + strlen("sqlite:"), &db,
                                         SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "UPDATE audit_event SET leaf = sequence"
                                          " WHERE sequence <= (SELECT max(sequence) - 10"
                                          " FROM audit_event)", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_stmt *statement = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN " STORE_LOG_PENDING_SQL, -1,
                                            &statement, NULL), SQLITE_OK);
        while (sqlite3_step(statement) == SQLITE_ROW)
            at += (size_t)snprintf(plan + at, sizeof plan - at, "%s\n",
                                   (const char *)sqlite3_column_text(statement, 3));
        sqlite3_finalize(statement);
        sqlite3_close(db);
        if (strstr(plan, "audit_event_leaf") == NULL)
            fail_msg("the pending events' read does not use their index:\n%s", plan);
    }

    /* And the store reads those ten, oldest first. */
    struct pending_read read = {.count = 0};
    assert_int_equal(store_log_pending(conn, 1000, collect_pending, &read), 0);
    assert_int_equal(read.count, PENDING);
    for (size_t i = 1; i < read.count; i++)
        assert_true(read.sequences[i] == read.sequences[i - 1] + 1);
    store_release(f->store, conn);
}

static void
test_lease(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    int held = 0;
    assert_int_equal(store_lease_take(conn, "janitor", "node-a", 100, 30, &held), 0);
    assert_true(held);
    assert_int_equal(store_lease_take(conn, "janitor", "node-b", 110, 30, &held), 0);
    assert_false(held); /* node-a's until 130 */
    assert_int_equal(store_lease_take(conn, "janitor", "node-a", 120, 30, &held), 0);
    assert_true(held); /* renewed until 150 */
    assert_int_equal(store_lease_take(conn, "janitor", "node-b", 140, 30, &held), 0);
    assert_false(held);
    assert_int_equal(store_lease_take(conn, "janitor", "node-b", 151, 30, &held), 0);
    assert_true(held); /* node-a stopped renewing */
    assert_int_equal(store_lease_take(conn, "janitor", "node-a", 160, 30, &held), 0);
    assert_false(held);
    store_release(f->store, conn);
}

/* ── Races: what must happen once, with THREADS connections at once ───── */

struct race {
    struct store *store;
    pthread_barrier_t start;
    atomic_int winners;
    atomic_int failures;
    char web_numbers[THREADS][STORE_WEB_NUMBER_MAX];
    atomic_int next;
};

/* Runs body on THREADS threads released together; returns when all end. */
static void
race(struct race *race, void *(*body)(void *))
{
    pthread_t threads[THREADS];
    assert_int_equal(pthread_barrier_init(&race->start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, body, race), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&race->start);
}

/* The enrollment's claim of a web number for one person. */
static void *
enroll_same_person(void *argument)
{
    struct race *r = argument;
    int me = atomic_fetch_add(&r->next, 1);
    struct store_conn *conn = store_acquire(r->store);
    pthread_barrier_wait(&r->start);
    struct store_identity identity;
    int found = 0, inserted = 0;
    if (store_begin(conn) != 0 ||
        store_identity_find_by_person(conn, "person-race", &identity, &found) != 0)
        goto fail;
    if (!found) {
        struct store_identity fresh = {.person_id = "person-race",
                                       .status = STORE_IDENTITY_ACTIVE};
        snprintf(fresh.web_number, sizeof fresh.web_number, "RACE%012d", me);
        if (store_identity_insert(conn, &fresh, &inserted) != 0)
            goto fail;
        if (!inserted && (store_identity_find_by_person(conn, "person-race", &identity,
                                                        &found) != 0 ||
                          !found))
            goto fail;
        if (inserted)
            identity = fresh;
    }
    if (store_commit(conn) != 0)
        goto fail;
    snprintf(r->web_numbers[me], sizeof r->web_numbers[me], "%s", identity.web_number);
    if (inserted)
        atomic_fetch_add(&r->winners, 1);
    store_release(r->store, conn);
    return NULL;
fail:
    atomic_fetch_add(&r->failures, 1);
    store_release(r->store, conn);
    return NULL;
}

static void
test_race_one_web_number_per_person(void **state)
{
    struct fixture *f = *state;
    struct race r = {.store = f->store};
    race(&r, enroll_same_person);
    assert_int_equal(r.failures, 0);
    assert_int_equal(r.winners, 1);
    for (int i = 1; i < THREADS; i++)
        assert_string_equal(r.web_numbers[i], r.web_numbers[0]);
}

static void *
present_code(void *argument)
{
    struct race *r = argument;
    struct store_conn *conn = store_acquire(r->store);
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    fill_hash(hash, 0x30, 7);
    struct store_oidc_login login;
    char identity_status[STORE_STATUS_MAX];
    int found = 0;
    pthread_barrier_wait(&r->start);
    if (store_oidc_code_present(conn, hash, &login, &found, identity_status) != 0 || !found)
        atomic_fetch_add(&r->failures, 1);
    else if (login.code_uses == 1)
        atomic_fetch_add(&r->winners, 1);
    store_oidc_login_clear(&login);
    store_release(r->store, conn);
    return NULL;
}

static void *
rotate_refresh(void *argument)
{
    struct race *r = argument;
    struct store_conn *conn = store_acquire(r->store);
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    fill_hash(hash, 0x40, 7);
    int changed = 0;
    pthread_barrier_wait(&r->start);
    if (store_oidc_token_set_status(conn, "WN7", hash, STORE_TOKEN_ROTATED, &changed) != 0)
        atomic_fetch_add(&r->failures, 1);
    else if (changed)
        atomic_fetch_add(&r->winners, 1);
    store_release(r->store, conn);
    return NULL;
}

static void *
take_challenge(void *argument)
{
    struct race *r = argument;
    struct store_conn *conn = store_acquire(r->store);
    struct store_challenge taken;
    int ok = 0;
    pthread_barrier_wait(&r->start);
    if (store_challenge_take(conn, "race", 10, &taken, &ok) != 0)
        atomic_fetch_add(&r->failures, 1);
    else if (ok)
        atomic_fetch_add(&r->winners, 1);
    store_release(r->store, conn);
    return NULL;
}

static void *
use_jti(void *argument)
{
    struct race *r = argument;
    struct store_conn *conn = store_acquire(r->store);
    int fresh = 0;
    pthread_barrier_wait(&r->start);
    if (store_token_use(conn, "jti-race", 100, &fresh) != 0)
        atomic_fetch_add(&r->failures, 1);
    else if (fresh)
        atomic_fetch_add(&r->winners, 1);
    store_release(r->store, conn);
    return NULL;
}

static void *
decide_login(void *argument)
{
    struct race *r = argument;
    struct store_conn *conn = store_acquire(r->store);
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    fill_hash(hash, 0x10, 8);
    int changed = 0;
    pthread_barrier_wait(&r->start);
    if (store_oidc_login_decide(conn, hash, STORE_LOGIN_APPROVED, "WN8", "[]", 50, 110,
                                &changed) != 0)
        atomic_fetch_add(&r->failures, 1);
    else if (changed)
        atomic_fetch_add(&r->winners, 1);
    store_release(r->store, conn);
    return NULL;
}

static void *
take_lease(void *argument)
{
    struct race *r = argument;
    int me = atomic_fetch_add(&r->next, 1);
    char holder[16];
    snprintf(holder, sizeof holder, "node-%d", me);
    struct store_conn *conn = store_acquire(r->store);
    int held = 0;
    pthread_barrier_wait(&r->start);
    if (store_lease_take(conn, "race", holder, 100, 60, &held) != 0)
        atomic_fetch_add(&r->failures, 1);
    else if (held)
        atomic_fetch_add(&r->winners, 1);
    store_release(r->store, conn);
    return NULL;
}

/* An attempt limit's one free slot: the row lock lets one racer see it
 * free. */
static void *
take_limit_slot(void *argument)
{
    struct race *r = argument;
    struct store_conn *conn = store_acquire(r->store);
    uint8_t key[STORE_INDEX_BYTES] = {9};
    struct store_limit limit;
    int won = 0;
    pthread_barrier_wait(&r->start);
    if (store_begin(conn) != 0 || store_limit_lock(conn, key, 100, &limit) != 0)
        goto fail;
    if (limit.strikes == 0) {
        limit.strikes = 1;
        if (store_limit_save(conn, key, &limit, 1000) != 0)
            goto fail;
        won = 1;
    }
    if (store_commit(conn) != 0)
        goto fail;
    if (won)
        atomic_fetch_add(&r->winners, 1);
    store_release(r->store, conn);
    return NULL;
fail:
    store_rollback(conn);
    atomic_fetch_add(&r->failures, 1);
    store_release(r->store, conn);
    return NULL;
}

static void
test_races_happen_once(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    approved_login(conn, 7, "WN7", 1000);
    insert_token(conn, 7, 7, "WN7", 5000);
    struct store_challenge challenge = {.id = "race", .nonce = "n", .action = "turn_left",
                                        .expires_at = 100};
    assert_int_equal(store_challenge_insert(conn, &challenge), 0);
    struct store_oidc_login pending = {
        .redirect_uri = "https://rp/cb", .claims = "[]", .code_challenge = "c",
        .created_at = 10, .expires_at = 100, .purge_at = 1000, .client_id = "client",
    };
    fill_hash(pending.login_hash, 0x10, 8);
    fill_hash(pending.user_code_hash, 0x20, 8);
    fill_hash(pending.code_hash, 0x30, 8);
    int inserted = 0;
    assert_int_equal(store_oidc_login_insert(conn, &pending, &inserted), 0);
    store_release(f->store, conn);

    void *(*const bodies[])(void *) = {present_code, rotate_refresh, take_challenge,
                                       use_jti, decide_login, take_lease,
                                       take_limit_slot};
    const char *const names[] = {"code presented", "refresh rotated", "challenge taken",
                                 "jti used", "login decided", "lease taken",
                                 "limit slot taken"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        struct race r = {.store = f->store};
        race(&r, bodies[i]);
        if (r.failures != 0 || r.winners != 1)
            fail_msg("%s: %d winners, %d failures among %d racers", names[i],
                     (int)r.winners, (int)r.failures, THREADS);
    }
}

/* ── An old SQLite database (schema 6, with rows) meets schema 7 ──────── */

static void
test_sqlite_schema_6_upgrades(void **state)
{
    struct fixture *f = *state;
    if (test_db_is_postgresql())
        skip(); /* PostgreSQL support starts at schema 7 */
    char path[1200], location[1300], err[256];
    snprintf(path, sizeof path, "%s/old.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE schema_version (version BIGINT NOT NULL);"
                                      "INSERT INTO schema_version VALUES (6);",
                                  NULL, NULL, NULL), SQLITE_OK);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(sqlite3_exec(db, store_migrations[i].sqlite, NULL, NULL, NULL),
                         SQLITE_OK);
    const char *rows =
        "INSERT INTO registry_person VALUES ('p1', x'ab', x'00', 1, 1);"
        "INSERT INTO identity VALUES ('WN1', 'p1', 'active', NULL, 1, 1);"
        "INSERT INTO device VALUES ('aa01', 'WN1', x'30', 'active', 1, 9, NULL, NULL);"
        "INSERT INTO oidc_login (login_hash, user_code_hash, code_hash, client_id,"
        " redirect_uri, claims, code_challenge, status, created_at, expires_at,"
        " purge_at) VALUES (x'01', x'02', x'03', 'c', 'r', '[]', 'x', 'pending', 1, 9,"
        " 99999999999);"
        "INSERT INTO oidc_token VALUES (x'04', 'access', x'01', 'c', 'WN1', 's', '[]',"
        " 1, 1, 99999999999, 'active');"
        "INSERT INTO audit_event VALUES (41, 1, 'operator', 'service.init', 'service',"
        " '{}');";
    assert_int_equal(sqlite3_exec(db, rows, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    snprintf(location, sizeof location, "sqlite:%s", path);
    struct store *store = NULL;
    assert_int_equal(store_open(location, 1, 1, &store, err, sizeof err), 0);
    struct store_conn *conn = store_acquire(store);
    int64_t version = 0;
    assert_int_equal(store_schema_version(conn, &version), 0);
    assert_int_equal(version, (int64_t)store_migration_count);
    /* Every old row is found through its new lookup. */
    uint8_t index[STORE_INDEX_BYTES] = {0};
    struct store_person person;
    int found = 0;
    assert_int_equal(store_person_find(conn, index, &person, &found), 0);
    assert_int_equal(found, 0); /* the old index was one byte: not 32 */
    struct store_identity identity;
    assert_int_equal(store_identity_find_by_person(conn, "p1", &identity, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(identity.web_number, "WN1");
    struct store_device device;
    assert_int_equal(store_device_get(conn, "aa01", NULL, &device, &found), 0);
    assert_int_equal(found, 1);
    store_device_clear(&device);
    uint8_t code[STORE_OIDC_HASH_BYTES] = {0};
    struct store_oidc_login login;
    struct store_platform platform;
    assert_int_equal(store_oidc_login_get_by_user_code(conn, code, &login, &platform, &found),
                     0);
    assert_int_equal(found, 0);
    /* The audit log goes on from its last number. */
    struct store_audit_event event = {.time = 2, .actor = "operator", .action = "t",
                                      .subject = "service", .details = "{}"};
    int64_t sequence = 0;
    assert_int_equal(store_audit_append(conn, &event, &sequence), 0);
    assert_int_equal(sequence, 42);
    store_release(store, conn);
    store_close(store);
    /* Lookups filled by the migration are the old rows' keys. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *statement = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT COUNT(*) FROM registry_index),"
                                        " (SELECT COUNT(*) FROM oidc_user_code),"
                                        " (SELECT COUNT(*) FROM oidc_code),"
                                        " (SELECT COUNT(*) FROM oidc_token_hash),"
                                        " (SELECT COUNT(*) FROM device_serial)",
                                        -1, &statement, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(statement), SQLITE_ROW);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sqlite3_column_int(statement, i), 1);
    sqlite3_finalize(statement);
    sqlite3_close(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_and_migrate, setup, teardown),
        cmocka_unit_test(test_location_check),
        cmocka_unit_test_setup_teardown(test_person, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_key_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_single_use_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_sequences_under_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions_roll_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_goes_with_first_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_with_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issuer_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempt_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_single_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_code_present_identity_status, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_login_lookups_and_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_decide_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queued_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_pending_reads_only_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_race_one_web_number_per_person, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_races_happen_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_schema_6_upgrades, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
