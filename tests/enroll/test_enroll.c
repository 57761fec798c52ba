/* Tests of the pure rules of enrollment and identity acts: ages at their
 * boundaries (the under-14 refusal depends on them) and reason codes. The
 * whole enrollment runs end to end in tests/integration/enroll.test.mjs. */
#include "enroll/enroll.h"
#include "enroll/identity.h"

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
    char actions[512];
    char first_details[1024];   /* of the first event */
};

static int
capture_event(void *context, const struct store_audit_event *event)
{
    struct audit_capture *capture = context;
    strncat(capture->actions, event->action,
            sizeof capture->actions - strlen(capture->actions) - 2);
    strcat(capture->actions, " ");
    if (capture->first_details[0] == '\0')
        snprintf(capture->first_details, sizeof capture->first_details, "%s",
                 event->details ? event->details : "");
    return 0;
}

static void
test_suspend_and_reinstate(void **state)
{
    (void)state;
    char *dir = test_temp_dir("identity");
    char location[TEST_DB_LOCATION_MAX], err[256];
    test_db_location(dir, location, sizeof location);
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
    /* Refusals first: no reason, no or too long a legal basis. */
    assert_int_equal(identity_suspend(store, identity.web_number, "Court", "Act 1",
                                      "operator", &found, &changed, err, sizeof err), -1);
    assert_int_equal(identity_suspend(store, identity.web_number, "court_order", "",
                                      "operator", &found, &changed, err, sizeof err), -1);
    char basis[IDENTITY_LEGAL_BASIS_MAX_BYTES + 2];
    memset(basis, 'b', sizeof basis);
    basis[IDENTITY_LEGAL_BASIS_MAX_BYTES + 1] = '\0';
    assert_int_equal(identity_suspend(store, identity.web_number, "court_order", basis,
                                      "operator", &found, &changed, err, sizeof err), -1);
    basis[IDENTITY_LEGAL_BASIS_MAX_BYTES] = '\0';
    assert_int_equal(identity_suspend(store, "0000000000000000", "court_order", basis,
                                      "operator", &found, &changed, err, sizeof err), 0);
    assert_int_equal(found, 0);

    /* Reinstating an active identity changes nothing. */
    assert_int_equal(identity_reinstate(store, identity.web_number, "operator", &found,
                                        &changed, err, sizeof err), 0);
    assert_int_equal(found, 1);
    assert_int_equal(changed, 0);
    assert_int_equal(identity_suspend(store, identity.web_number, "court_order",
                                      "Criminal Procedure Law art. 1", "operator:li",
                                      &found, &changed, err, sizeof err), 0);
    assert_int_equal(changed, 1);
    conn = store_acquire(store);
    struct store_identity read;
    assert_int_equal(store_identity_get(conn, identity.web_number, &read, &found), 0);
    assert_string_equal(read.status, STORE_IDENTITY_SUSPENDED);
    assert_string_equal(read.status_reason, "court_order");
    store_release(store, conn);
    /* Twice: the second is no change. */
    assert_int_equal(identity_suspend(store, identity.web_number, "court_order", "x",
                                      "operator", &found, &changed, err, sizeof err), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(identity_reinstate(store, identity.web_number, "operator", &found,
                                        &changed, err, sizeof err), 0);
    assert_int_equal(changed, 1);

    /* Revoked stays revoked. */
    int64_t devices = 0;
    assert_int_equal(identity_revoke(store, identity.web_number, "fraud", "operator",
                                     &found, &devices, err, sizeof err), 0);
    assert_int_equal(identity_suspend(store, identity.web_number, "court_order", "x",
                                      "operator", &found, &changed, err, sizeof err), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(identity_reinstate(store, identity.web_number, "operator", &found,
                                        &changed, err, sizeof err), 0);
    assert_int_equal(changed, 0);

    struct audit_capture capture = {{0}, {0}};
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
        cmocka_unit_test(test_age_boundaries),
        cmocka_unit_test(test_reason_codes),
        cmocka_unit_test(test_suspend_and_reinstate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
