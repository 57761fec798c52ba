/* Tests of the pure rules of enrollment and identity acts: ages at their
 * boundaries (the under-14 refusal depends on them) and reason codes. The
 * whole enrollment runs end to end in tests/integration/enroll.test.mjs. */
#include "audit/audit.h"
#include "enroll/enroll.h"
#include "enroll/identity.h"
#include "enroll/limit.h"

#include "../test_db.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static void
test_age_boundaries(void **state)
{
    (void)state;
    /* The day before the 14th birthday, the day itself. */
    assert_int_equal(enroll_age_on("2010-06-15", 2024, 6, 14), 13);
    assert_int_equal(enroll_age_on("2010-06-15", 2024, 6, 15), 14);
    assert_int_equal(enroll_age_on("2010-06-15", 2024, 5, 31), 13);
    assert_int_equal(enroll_age_on("2010-06-15", 2024, 7, 1), 14);
    /* Born on 29 February: 14 on 1 March of a common year. */
    assert_int_equal(enroll_age_on("2008-02-29", 2022, 2, 28), 13);
    assert_int_equal(enroll_age_on("2008-02-29", 2022, 3, 1), 14);
    assert_int_equal(enroll_age_on("2008-02-29", 2024, 2, 29), 16);
    assert_int_equal(enroll_age_on("1949-12-31", 2026, 11, 25), 76);
    /* Malformed dates and births after the day. */
    assert_int_equal(enroll_age_on("2010-06", 2024, 6, 15), -1);
    assert_int_equal(enroll_age_on("2010-06-15x", 2024, 6, 15), -1);
    assert_int_equal(enroll_age_on("", 2024, 6, 15), -1);
    assert_int_equal(enroll_age_on(NULL, 2024, 6, 15), -1);
    assert_int_equal(enroll_age_on("2025-01-01", 2024, 6, 15), -1);
}

static void
test_reason_codes(void **state)
{
    (void)state;
    assert_true(identity_reason_is_valid("key_compromise"));
    assert_true(identity_reason_is_valid("fraud2"));
    assert_false(identity_reason_is_valid(""));
    assert_false(identity_reason_is_valid("Fraud"));
    assert_false(identity_reason_is_valid("a b"));
    assert_false(identity_reason_is_valid("x\n"));
    char longest[IDENTITY_REASON_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[IDENTITY_REASON_MAX] = '\0';
    assert_true(identity_reason_is_valid(longest));
    longest[IDENTITY_REASON_MAX] = 'a';
    longest[IDENTITY_REASON_MAX + 1] = '\0';
    assert_false(identity_reason_is_valid(longest));
}

/* Suspension and reinstatement on a real SQLite store. */
struct audit_capture {
    struct signer *signer;
    char actions[512];
    char first_details[1024];   /* of the first event, opened */
};

/* Each event is the citizen's, so sealed: the row names neither the web
 * number nor the actor; opened, it is what was appended. */
static int
capture_event(void *context, const struct store_audit_event *event)
{
    struct audit_capture *capture = context;
    assert_non_null(event->sealed);
    assert_non_null(event->commitment);
    assert_string_equal(event->actor, AUDIT_SEALED_ACTOR);
    assert_string_equal(event->details, "{}");
    assert_int_equal(strncmp(event->subject, AUDIT_CITIZEN_PREFIX, 2), 0);
    assert_null(strstr(event->subject, "K3M9Q2ZJ7XWD5T1C"));
    struct audit_opened opened;
    assert_int_equal(audit_open(capture->signer, event, &opened), 0);
    assert_string_equal(opened.subject, "K3M9Q2ZJ7XWD5T1C");
    assert_int_equal(strncmp(opened.actor, "operator", 8), 0);
    assert_true(opened.has_salt);
    strncat(capture->actions, event->action,
            sizeof capture->actions - strlen(capture->actions) - 2);
    strcat(capture->actions, " ");
    if (capture->first_details[0] == '\0')
        snprintf(capture->first_details, sizeof capture->first_details, "%s", opened.details);
    audit_opened_clear(&opened);
    return 0;
}

static void
test_suspend_and_reinstate(void **state)
{
    (void)state;
    char *dir = test_temp_dir("identity");
    char location[TEST_DB_LOCATION_MAX], err[256], keys[1200], pki[1200];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(pki, sizeof pki, "%s/pki", dir);
    test_db_location(dir, location, sizeof location);
    struct signer *signer = NULL;
    assert_int_equal(signer_create_keys(keys, pki, err, sizeof err), 0);
    assert_int_equal(signer_open(keys, &signer, err, sizeof err), 0);
    struct store *store = NULL;
    assert_int_equal(store_open(location, 1, 1, &store, err, sizeof err), 0);
    struct store_conn *conn = store_acquire(store);
    struct store_identity identity = {.web_number = "K3M9Q2ZJ7XWD5T1C",
                                      .person_id = "person-1",
                                      .status = STORE_IDENTITY_ACTIVE,
                                      .created_at = 1, .updated_at = 1};
    int inserted = 0;
    assert_int_equal(store_identity_insert(conn, &identity, &inserted), 0);
    assert_int_equal(inserted, 1);
    store_release(store, conn);

    int found = 0, changed = 0;
    int64_t until = (int64_t)time(NULL) + 86400;
    /* Refusals first: no reason, no or too long a legal basis, no end or
     * one past the maximum. */
    assert_int_equal(identity_suspend(store, signer, identity.web_number, "court_order", "Act 1",
                                      (int64_t)time(NULL) - 1, 30, "operator", &found,
                                      &changed, err, sizeof err), -1);
    assert_int_equal(identity_suspend(store, signer, identity.web_number, "court_order", "Act 1",
                                      (int64_t)time(NULL) + 31 * 86400, 30, "operator",
                                      &found, &changed, err, sizeof err), -1);
    assert_int_equal(identity_suspend(store, signer, identity.web_number, "Court", "Act 1", until, 30,
                                      "operator", &found, &changed, err, sizeof err), -1);
    assert_int_equal(identity_suspend(store, signer, identity.web_number, "court_order", "", until, 30,
                                      "operator", &found, &changed, err, sizeof err), -1);
    char basis[IDENTITY_LEGAL_BASIS_MAX_BYTES + 2];
    memset(basis, 'b', sizeof basis);
    basis[IDENTITY_LEGAL_BASIS_MAX_BYTES + 1] = '\0';
    assert_int_equal(identity_suspend(store, signer, identity.web_number, "court_order", basis, until, 30,
                                      "operator", &found, &changed, err, sizeof err), -1);
    basis[IDENTITY_LEGAL_BASIS_MAX_BYTES] = '\0';
    assert_int_equal(identity_suspend(store, signer, "0000000000000000", "court_order", basis, until, 30,
                                      "operator", &found, &changed, err, sizeof err), 0);
    assert_int_equal(found, 0);

    /* Reinstating an active identity changes nothing. */
    assert_int_equal(identity_reinstate(store, signer, identity.web_number, "operator", &found,
                                        &changed, err, sizeof err), 0);
    assert_int_equal(found, 1);
    assert_int_equal(changed, 0);
    assert_int_equal(identity_suspend(store, signer, identity.web_number, "court_order",
                                      "Criminal Procedure Law art. 1", until, 30, "operator:li",
                                      &found, &changed, err, sizeof err), 0);
    assert_int_equal(changed, 1);
    conn = store_acquire(store);
    struct store_identity read;
    assert_int_equal(store_identity_get(conn, identity.web_number, &read, &found), 0);
    assert_string_equal(read.status, STORE_IDENTITY_SUSPENDED);
    assert_string_equal(read.status_reason, "court_order");
    store_release(store, conn);
    /* Twice: the second is no change. */
    assert_int_equal(identity_suspend(store, signer, identity.web_number, "court_order", "x", until, 30,
                                      "operator", &found, &changed, err, sizeof err), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(identity_reinstate(store, signer, identity.web_number, "operator", &found,
                                        &changed, err, sizeof err), 0);
    assert_int_equal(changed, 1);

    /* Revoked stays revoked. */
    int64_t devices = 0;
    assert_int_equal(identity_revoke(store, signer, identity.web_number, "fraud", "operator",
                                     &found, &devices, err, sizeof err), 0);
    assert_int_equal(identity_suspend(store, signer, identity.web_number, "court_order", "x", until, 30,
                                      "operator", &found, &changed, err, sizeof err), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(identity_reinstate(store, signer, identity.web_number, "operator", &found,
                                        &changed, err, sizeof err), 0);
    assert_int_equal(changed, 0);

    struct audit_capture capture = {.signer = signer};
    conn = store_acquire(store);
    assert_int_equal(store_audit_each(conn, 0, 100, capture_event, &capture), 0);
    store_release(store, conn);
    assert_string_equal(capture.actions, "identity.suspend identity.reinstate "
                                         "identity.revoke ");
    json_t *details = json_loads(capture.first_details, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(details, "legal_basis")),
                        "Criminal Procedure Law art. 1");
    assert_string_equal(json_string_value(json_object_get(details, "reason")),
                        "court_order");
    assert_string_equal(json_string_value(json_object_get(details, "previous_status")),
                        "active");
    json_decref(details);
    store_close(store);
    signer_close(signer);
    test_db_drop(location);
    test_remove_dir(dir);
}

/* The backoff policy: `free` attempts at once, then waits that double up
 * to the window; a refused attempt changes nothing; a new window starts
 * fresh. */
static void
test_limit_policy(void **state)
{
    (void)state;
    const struct enroll_limit rule = {"test", "in this test", 3, 10, 100};
    struct store_limit limit = {.window_start = 1000, .strikes = 0, .next_at = 1000};
    for (int i = 0; i < 3; i++)
        assert_int_equal(enroll_limit_decide(&rule, &limit, 1000), 0);
    assert_int_equal(limit.strikes, 3);
    assert_int_equal(limit.next_at, 1010); /* the third free one set the first wait */
    struct store_limit before = limit;
    assert_int_equal(enroll_limit_decide(&rule, &limit, 1004), 6);
    assert_memory_equal(&limit, &before, sizeof limit); /* not counted */
    assert_int_equal(enroll_limit_decide(&rule, &limit, 1010), 0); /* waited: in */
    assert_int_equal(limit.next_at, 1030);
    assert_int_equal(enroll_limit_decide(&rule, &limit, 1029), 1);
    assert_int_equal(enroll_limit_decide(&rule, &limit, 1030), 0);
    assert_int_equal(limit.next_at, 1070);
    assert_int_equal(enroll_limit_decide(&rule, &limit, 1070), 0);
    assert_int_equal(limit.next_at, 1070 + 80);
    /* The wait stops growing at the window; it outlasts the window's end,
     * and then the next window starts with its free attempts again. */
    assert_int_equal(enroll_limit_decide(&rule, &limit, 1150), 0);
    assert_int_equal(limit.window_start, 1150);
    assert_int_equal(limit.strikes, 1);
    assert_int_equal(limit.next_at, 1150);
    limit = (struct store_limit){.window_start = 0, .strikes = 40, .next_at = 0};
    assert_int_equal(enroll_limit_decide(&rule, &limit, 50), 0);
    assert_int_equal(limit.next_at, 150); /* capped at the window, no overflow */
    /* Free attempts whose clocks were read out of order (two requests:
     * the one that read 1000 got the row after the one that read 1001)
     * both get through: a free attempt sets no wait. */
    limit = (struct store_limit){.window_start = 1000, .strikes = 0, .next_at = 1000};
    assert_int_equal(enroll_limit_decide(&rule, &limit, 1001), 0);
    assert_int_equal(enroll_limit_decide(&rule, &limit, 1000), 0);
    assert_int_equal(limit.strikes, 2);
}

/* enroll_limit_take() on a real store (and PostgreSQL: test_enroll_pg),
 * raced: of THREADS attempts on one key at the same second exactly `free`
 * get through, whatever the interleaving; other keys are not touched. */
#define LIMIT_THREADS 8
struct limit_race {
    struct store *store;
    struct signer *signer;
    pthread_barrier_t start;
    int outcomes[LIMIT_THREADS];
    int64_t waits[LIMIT_THREADS];
    int next;
    pthread_mutex_t lock;
};

static const struct enroll_limit race_rule = {"test_race", "in this test", 3, 30, 900};

static void *
take_in_race(void *argument)
{
    struct limit_race *race = argument;
    pthread_mutex_lock(&race->lock);
    int me = race->next++;
    pthread_mutex_unlock(&race->lock);
    struct store_conn *conn = store_acquire(race->store);
    pthread_barrier_wait(&race->start);
    race->outcomes[me] = enroll_limit_take(&race_rule, conn, race->signer, "198.51.100.0/24",
                                           15, 5000, &race->waits[me]);
    store_release(race->store, conn);
    return NULL;
}

static void
test_limit_take(void **state)
{
    (void)state;
    char *dir = test_temp_dir("limit");
    char location[TEST_DB_LOCATION_MAX], err[256], keys[1200], pki[1200];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(pki, sizeof pki, "%s/pki", dir);
    test_db_location(dir, location, sizeof location);
    struct limit_race race = {.next = 0};
    assert_int_equal(signer_create_keys(keys, pki, err, sizeof err), 0);
    assert_int_equal(signer_open(keys, &race.signer, err, sizeof err), 0);
    assert_int_equal(store_open(location, LIMIT_THREADS, 1, &race.store, err, sizeof err),
                     0);
    pthread_mutex_init(&race.lock, NULL);
    pthread_barrier_init(&race.start, NULL, LIMIT_THREADS);
    pthread_t threads[LIMIT_THREADS];
    for (int i = 0; i < LIMIT_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, take_in_race, &race), 0);
    for (int i = 0; i < LIMIT_THREADS; i++)
        pthread_join(threads[i], NULL);
    int through = 0;
    for (int i = 0; i < LIMIT_THREADS; i++) {
        assert_in_range(race.outcomes[i], 0, 1);
        if (race.outcomes[i] == 0)
            through++;
        else
            assert_int_equal(race.waits[i], 30); /* the third set the first wait */
    }
    assert_int_equal(through, race_rule.free);

    /* The refusal told the truth: at 5030 one gets in, the next waits 60. */
    struct store_conn *conn = store_acquire(race.store);
    int64_t wait = 0;
    assert_int_equal(enroll_limit_take(&race_rule, conn, race.signer, "198.51.100.0/24", 15,
                                       5029, &wait), 1);
    assert_int_equal(wait, 1);
    assert_int_equal(enroll_limit_take(&race_rule, conn, race.signer, "198.51.100.0/24", 15,
                                       5030, &wait), 0);
    assert_int_equal(enroll_limit_take(&race_rule, conn, race.signer, "198.51.100.0/24", 15,
                                       5031, &wait), 1);
    assert_int_equal(wait, 59);
    /* Another value, and the same value under another label, are other keys. */
    assert_int_equal(enroll_limit_take(&race_rule, conn, race.signer, "198.51.101.0/24", 15,
                                       5031, &wait), 0);
    const struct enroll_limit other_rule = {"test_other", "in this test", 1, 30, 900};
    assert_int_equal(enroll_limit_take(&other_rule, conn, race.signer, "198.51.100.0/24", 15,
                                       5031, &wait), 0);
    store_release(race.store, conn);

    pthread_barrier_destroy(&race.start);
    pthread_mutex_destroy(&race.lock);
    store_close(race.store);
    signer_close(race.signer);
    test_db_drop(location);
    test_remove_dir(dir);
}

/* The gate of the face checks: as many inside as it has slots; one more
 * waits ENROLL_GATE_WAIT_MS and is turned away, or gets in when a slot is
 * left. */
static void *
enter_and_report(void *gate)
{
    return (void *)(intptr_t)enroll_gate_enter(gate);
}

static void
test_gate(void **state)
{
    (void)state;
    struct enroll_gate *gate = enroll_gate_new(1);
    assert_non_null(gate);
    assert_int_equal(enroll_gate_enter(gate), 0);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(enroll_gate_enter(gate), -1); /* full: turned away */
    clock_gettime(CLOCK_MONOTONIC, &end);
    double waited = (double)(end.tv_sec - start.tv_sec) +
                    (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    assert_true(waited >= ENROLL_GATE_WAIT_MS / 1000.0 - 0.05);
    /* One waiting gets in when the slot is left. */
    pthread_t waiter;
    assert_int_equal(pthread_create(&waiter, NULL, enter_and_report, gate), 0);
    nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
    enroll_gate_leave(gate);
    void *result = (void *)1;
    pthread_join(waiter, &result);
    assert_int_equal((intptr_t)result, 0);
    enroll_gate_leave(gate);
    /* No gate lets everyone in. */
    assert_int_equal(enroll_gate_enter(NULL), 0);
    enroll_gate_leave(NULL);
    enroll_gate_free(gate);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_limit_policy),
        cmocka_unit_test(test_limit_take),
        cmocka_unit_test(test_age_boundaries),
        cmocka_unit_test(test_reason_codes),
        cmocka_unit_test(test_suspend_and_reinstate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
