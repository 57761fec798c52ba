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
    assert_int_equal(store_identity_insert(conn, &identity), 0);
    /* One identity per person, one person per web number. */
    struct store_identity same_person = identity;
    memcpy(same_person.web_number, "ZZZZZZZZZZZZZZZZ", 17);
    assert_int_equal(store_identity_insert(conn, &same_person), -1);
    struct store_identity same_number = identity;
    memcpy(same_number.person_id, "person-2", 9);
    assert_int_equal(store_identity_insert(conn, &same_number), -1);

    struct store_identity read;
    int found = 0;
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
    assert_int_equal(store_identity_get(conn, "0123456789ABCDEF", &read, &found), 0);
    assert_string_equal(read.status, STORE_IDENTITY_REVOKED);
    assert_string_equal(read.status_reason, "fraud");
    assert_int_equal(read.updated_at, 200);
    assert_int_equal(store_identity_set_status(conn, "NOPE", "active", NULL, 1,
                                               &found), 0);
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
    assert_int_equal(store_device_get(conn, "aa02", &device, &found), 0);
    assert_int_equal(found, 1);
    assert_string_equal(device.web_number, "WN1");
    assert_int_equal(device.certificate_length, 5);
    assert_int_equal(device.certificate[0], 0x30);
    assert_int_equal(device.revocation_reason, -1);
    store_device_clear(&device);
    assert_int_equal(store_device_get(conn, "none", &device, &found), 0);
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
    assert_int_equal(store_device_get(conn, "aa01", &device, &found), 0);
    assert_string_equal(device.status, STORE_DEVICE_REVOKED);
    assert_int_equal(device.revoked_at, 100);
    assert_int_equal(device.revocation_reason, 1);
    store_device_clear(&device);

    int64_t revoked = 0;
    assert_int_equal(store_device_revoke_all(conn, "WN1", 200, 9, &revoked), 0);
    assert_int_equal(revoked, 1); /* aa02; aa01 was already revoked */
    count = 0;
    assert_int_equal(store_device_each(conn, NULL, count_device, &count), 0);
    assert_int_equal(count, 2); /* the CRL walk: aa01 and aa02 */
    store_release(f->store, conn);
}

static void
test_attempts_in_a_window(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    uint8_t key[STORE_INDEX_BYTES] = {1}, other[STORE_INDEX_BYTES] = {2};
    int64_t count = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_attempt_record(conn, key, 1000 + i, 901, 901, &count), 0);
        assert_int_equal(count, i + 1);
    }
    assert_int_equal(store_attempt_record(conn, other, 1003, 904, 904, &count), 0);
    assert_int_equal(count, 1);
    /* Later, the old attempts fall out of the window and are forgotten. */
    assert_int_equal(store_attempt_record(conn, key, 2000, 1901, 1901, &count), 0);
    assert_int_equal(count, 1);
    /* The other key's old attempt went too, though that key was not tried
     * again (counted here since 0, forgetting nothing more). */
    assert_int_equal(store_attempt_record(conn, other, 2001, 0, 0, &count), 0);
    assert_int_equal(count, 1);
    store_release(f->store, conn);
}

static void
test_token_single_use(void **state)
{
    struct fixture *f = *state;
    struct store_conn *conn = store_acquire(f->store);
    int fresh = 0;
    assert_int_equal(store_token_use(conn, "jti-aaaaaaaaaaaaaaaa", 200, 100, &fresh), 0);
    assert_int_equal(fresh, 1);
    assert_int_equal(store_token_use(conn, "jti-aaaaaaaaaaaaaaaa", 200, 150, &fresh), 0);
    assert_int_equal(fresh, 0);
    assert_int_equal(store_token_use(conn, "jti-bbbbbbbbbbbbbbbb", 200, 150, &fresh), 0);
    assert_int_equal(fresh, 1);
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
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempts_in_a_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_single_use, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
