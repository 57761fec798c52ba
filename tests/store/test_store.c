/* Tests of the store over a real SQLite file: migrations, the registry,
 * platforms, challenges and audit events, and the pool under threads. */
#include "store/store.h"

#include "../test_support.h"

#include <pthread.h>

struct fixture {
    char *dir;
    char location[1100];
    struct store *store;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("store");
    snprintf(f->location, sizeof f->location, "sqlite:%s/test.db", f->dir);
    assert_int_equal(store_open(f->location, 4, 1, &f->store, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
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

static void
test_challenge_single_use_and_expiry(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    struct store_challenge challenge = {.id = "ch1", .nonce = "n", .action = "turn_left",
                                        .expires_at = 100};
    assert_int_equal(store_challenge_insert(conn, &challenge, 0), 0);
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
    /* Inserting at a later time sweeps expired challenges. */
    struct store_challenge second = {.id = "ch2", .nonce = "m", .action = "turn_right",
                                     .expires_at = 400};
    assert_int_equal(store_challenge_insert(conn, &second, 300), 0);
    struct store_challenge again = challenge;
    assert_int_equal(store_challenge_insert(conn, &again, 300), 0); /* id free again */
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
    if (event->sequence != collect->last + 1)
        return -1;
    collect->last = event->sequence;
    collect->count++;
    return 0;
}

#define THREADS 4
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
test_audit_sequences_are_dense_under_threads(void **state)
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
    assert_int_equal(store_begin(conn), -1); /* nested refused */
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
    store_release(f->store, conn);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_and_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_person, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_single_use_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_sequences_are_dense_under_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions_roll_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
