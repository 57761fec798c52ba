/* test_db: the database a store-touching unit test runs on. Header only,
 * like test_support.h.
 *
 * CYBERID_TEST_DB selects it: unset or "sqlite", a file in the test's
 * folder; "postgresql", a new database in the PostgreSQL server that the
 * ctest fixture `pg_unit` started (tests/lib/pg-cluster.sh: initdb in a
 * temporary folder, a unix socket, stopped after the tests), whose socket
 * folder is in the file named by CYBERID_TEST_PG_STATE. Each call of
 * test_db_location() makes a database of its own, dropped by
 * test_db_drop(), so tests never see each other's rows.
 *
 * test_db_raw_contains() answers what a thief with a copy of the database
 * would find: for SQLite the file and its -wal/-shm/-journal companions;
 * for PostgreSQL, after a CHECKPOINT, every file of the server's data
 * folder (heap, indexes, WAL), searched for the needle's bytes and for
 * its hex text (BYTEA's text form). */
#ifndef CYBERID_TEST_DB_H
#define CYBERID_TEST_DB_H

#include "test_support.h"

#include "store/store.h"

#include <ftw.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <sys/stat.h>

#define TEST_DB_LOCATION_MAX 1200

static inline int
test_db_is_postgresql(void)
{
    const char *kind = getenv("CYBERID_TEST_DB");
    return kind != NULL && strcmp(kind, "postgresql") == 0;
}

/* The PostgreSQL server's folder (socket and node0/), from the fixture. */
static inline void
test_db_pg_dir(char *out, size_t cap)
{
    const char *state = getenv("CYBERID_TEST_PG_STATE");
    assert_non_null(state);
    FILE *file = fopen(state, "r");
    if (file == NULL)
        fail_msg("no PostgreSQL test server (%s): run through ctest, which starts "
                 "it (fixture pg_unit)", state);
    assert_non_null(fgets(out, (int)cap, file));
    fclose(file);
    out[strcspn(out, "\n")] = '\0';
}

static inline void
test_db_pg_uri(const char *database, char *out, size_t cap)
{
    char dir[512];
    test_db_pg_dir(dir, sizeof dir);
    snprintf(out, cap, "postgresql://postgres@/%s?host=%s&port=5432", database, dir);
}

/* Runs one statement on the maintenance database. */
static inline void
test_db_pg_admin(const char *sql)
{
    char uri[TEST_DB_LOCATION_MAX];
    test_db_pg_uri("postgres", uri, sizeof uri);
    PGconn *conn = PQconnectdb(uri);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("PostgreSQL test server: %s", PQerrorMessage(conn));
    PGresult *result = PQexec(conn, sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK &&
        PQresultStatus(result) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(result));
    PQclear(result);
    PQfinish(conn);
}

/* A fresh database for one test: "sqlite:DIR/test.db", or a new
 * PostgreSQL database's URI. */
static inline void
test_db_location(const char *dir, char *out, size_t cap)
{
    if (!test_db_is_postgresql()) {
        snprintf(out, cap, "sqlite:%s/test.db", dir);
        return;
    }
    static atomic_uint counter;
    char name[64], sql[128];
    snprintf(name, sizeof name, "t_%ld_%u", (long)getpid(),
             atomic_fetch_add(&counter, 1));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    test_db_pg_admin(sql);
    test_db_pg_uri(name, out, cap);
}

/* Drops a database test_db_location() made (its store must be closed). */
static inline void
test_db_drop(const char *location)
{
    if (strncmp(location, "postgresql://", 13) != 0)
        return;
    const char *name = location + strlen("postgresql://postgres@/");
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %.*s WITH (FORCE)",
             (int)strcspn(name, "?"), name);
    test_db_pg_admin(sql);
}

struct test_db_search {
    const void *needle;
    size_t length;
    char *hex;          /* the needle's lower-case hex text */
    int found;
};

static _Thread_local struct test_db_search *test_db_current_search;

static inline int
test_db_search_file(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void)ftw;
    struct test_db_search *search = test_db_current_search;
    if (flag != FTW_F || !S_ISREG(info->st_mode) || search->found)
        return 0;
    if (test_file_contains(path, search->needle, search->length) ||
        test_file_contains(path, search->hex, 2 * search->length))
        search->found = 1;
    return 0;
}

/* 1 if a raw copy of the test's database holds `needle` (see the top). */
static inline int
test_db_raw_contains(const char *location, const void *needle, size_t length)
{
    if (strncmp(location, "sqlite:", 7) == 0) {
        const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
            char path[TEST_DB_LOCATION_MAX + 16];
            snprintf(path, sizeof path, "%s%s", location + 7, suffixes[i]);
            if (test_file_contains(path, needle, length))
                return 1;
        }
        return 0;
    }
    test_db_pg_admin("CHECKPOINT");
    struct test_db_search search = {needle, length, malloc(2 * length + 1), 0};
    assert_non_null(search.hex);
    for (size_t i = 0; i < length; i++)
        snprintf(search.hex + 2 * i, 3, "%02x", ((const unsigned char *)needle)[i]);
    char dir[512], data[600];
    test_db_pg_dir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/node0", dir);
    test_db_current_search = &search;
    nftw(data, test_db_search_file, 16, FTW_PHYS);
    test_db_current_search = NULL;
    free(search.hex);
    return search.found;
}

/* The fixture of the unit tests that need a database and nothing else: a
 * temporary folder named after `name`, a store on the test's database
 * (SQLite or PostgreSQL, as above) and one connection of it. Fails the
 * test if it cannot be made. */
struct test_db_store {
    char *dir;
    char location[TEST_DB_LOCATION_MAX];
    struct store *store;
    struct store_conn *conn;
};

static inline struct test_db_store *
test_db_store_open(const char *name)
{
    struct test_db_store *f = calloc(1, sizeof *f);
    char err[256];
    assert_non_null(f);
    f->dir = test_temp_dir(name);
    test_db_location(f->dir, f->location, sizeof f->location);
    assert_int_equal(store_open(f->location, 1, 1, &f->store, err, sizeof err), 0);
    f->conn = store_acquire(f->store);
    return f;
}

/* Releases, closes and removes everything test_db_store_open() made. */
static inline void
test_db_store_close(struct test_db_store *f)
{
    store_release(f->store, f->conn);
    store_close(f->store);
    test_db_drop(f->location);
    test_remove_dir(f->dir);
    free(f);
}

#endif
