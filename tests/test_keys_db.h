/* test_keys_db: the fixture of the unit tests that need the service's keys
 * and a database: a temporary folder with the keys (signer_create_keys()),
 * a signer over them in this process (signer_open_local()), a store on the
 * test's database (test_db.h: SQLite or PostgreSQL) and one connection of
 * it. Header only, like test_db.h; link the signer and the store. */
#ifndef CYBERID_TEST_KEYS_DB_H
#define CYBERID_TEST_KEYS_DB_H

#include "test_db.h"

#include "signer/signer.h"
#include "store/store.h"

struct test_keys_db {
    struct test_db_store *db;
    char *dir;                  /* the db's folder, keys/ in it */
    char keys[1100];
    struct signer *signer;
    struct store *store;        /* the db's */
    struct store_conn *conn;    /* the db's */
};

/* A fixture in a new folder named after `name`; fails the test if it
 * cannot be made. */
static inline struct test_keys_db *
test_keys_db_open(const char *name)
{
    struct test_keys_db *f = calloc(1, sizeof *f);
    char pki[1100], err[256];
    assert_non_null(f);
    f->db = test_db_store_open(name);
    f->dir = f->db->dir;
    f->store = f->db->store;
    f->conn = f->db->conn;
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(pki, sizeof pki, "%s/pki", f->dir);
    assert_int_equal(signer_create_keys(f->keys, pki, err, sizeof err), 0);
    struct signer_options options = {.keys_dir = f->keys, .issuer = "http://127.0.0.1:1"};
    assert_int_equal(signer_open_local(&options, &f->signer, err, sizeof err), 0);
    return f;
}

/* Releases, closes and removes everything test_keys_db_open() made. */
static inline void
test_keys_db_close(struct test_keys_db *f)
{
    signer_close(f->signer);
    test_db_store_close(f->db);
    free(f);
}

/* The two as cmocka's setup and teardown. */
static inline int
test_keys_db_setup(void **state)
{
    *state = test_keys_db_open("keys-db");
    return 0;
}

static inline int
test_keys_db_teardown(void **state)
{
    test_keys_db_close(*state);
    return 0;
}

#endif
