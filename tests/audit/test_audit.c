/* Tests of a citizen's event sealed ahead of its transaction (audit.h:
 * audit_seal_citizen(), audit_append_sealed()): what is appended opens to
 * the actor, subject and details sealed, under the citizen's blind
 * subject; a sealed event whose transaction rolls back leaves nothing; an
 * action too long for the event is refused; clearing twice is harmless. */
#include "audit/audit.h"

#include "../test_db.h"

#include <string.h>

struct fixture {
    char *dir;
    char location[TEST_DB_LOCATION_MAX];
    char keys[1100];
    struct signer *signer;
    struct store *store;
    struct store_conn *conn;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char pki[1100], err[256];
    f->dir = test_temp_dir("audit");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(pki, sizeof pki, "%s/pki", f->dir);
    assert_int_equal(signer_create_keys(f->keys, pki, err, sizeof err), 0);
    struct signer_options options = {.keys_dir = f->keys, .issuer = "http://127.0.0.1:1"};
    assert_int_equal(signer_open_local(&options, &f->signer, err, sizeof err), 0);
    test_db_location(f->dir, f->location, sizeof f->location);
    assert_int_equal(store_open(f->location, 1, 1, &f->store, err, sizeof err), 0);
    f->conn = store_acquire(f->store);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    store_release(f->store, f->conn);
    store_close(f->store);
    test_db_drop(f->location);
    signer_close(f->signer);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

struct collected {
    int count;
    int opened;
    char subject[AUDIT_CITIZEN_SUBJECT_SIZE];
    struct signer *signer;
};

static int
collect(void *context, const struct store_audit_event *event)
{
    struct collected *c = context;
    c->count++;
    assert_string_equal(event->actor, AUDIT_SEALED_ACTOR);
    assert_string_equal(event->action, "claims.disclosed");
    assert_string_equal(event->subject, c->subject);
    struct audit_opened opened;
    assert_int_equal(audit_open(c->signer, event, &opened), 0);
    assert_string_equal(opened.actor, "platform:shop");
    assert_string_equal(opened.subject, "WEBNUMBER0000001");
    assert_non_null(strstr(opened.details, "\"realname_verified\""));
    audit_opened_clear(&opened);
    c->opened++;
    return 0;
}

static void
test_sealed_event_appends_in_its_transaction(void **state)
{
    struct fixture *f = *state;
    json_t *details = json_pack("{s:[s]}", "claims", "realname_verified");
    struct audit_sealed_event event;

    /* Rolled back: nothing. */
    assert_int_equal(audit_seal_citizen(f->signer, "platform:shop", "claims.disclosed",
                                        "WEBNUMBER0000001", details, &event),
                     0);
    assert_int_equal(store_begin(f->conn), 0);
    assert_int_equal(audit_append_sealed(f->conn, &event, NULL), 0);
    assert_int_equal(store_rollback(f->conn), 0);
    audit_sealed_event_clear(&event);
    audit_sealed_event_clear(&event);
    assert_null(event.sealed);

    /* Committed: one event that opens to what was sealed. */
    int64_t sequence = 0;
    assert_int_equal(audit_seal_citizen(f->signer, "platform:shop", "claims.disclosed",
                                        "WEBNUMBER0000001", details, &event),
                     0);
    assert_int_equal(store_begin(f->conn), 0);
    assert_int_equal(audit_append_sealed(f->conn, &event, &sequence), 0);
    assert_int_equal(store_commit(f->conn), 0);
    assert_true(sequence > 0);
    audit_sealed_event_clear(&event);

    struct collected c = {.signer = f->signer};
    assert_int_equal(audit_citizen_subject(f->signer, "WEBNUMBER0000001", c.subject), 0);
    assert_int_equal(store_audit_each(f->conn, 0, 10, collect, &c), 0);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.opened, 1);
    json_decref(details);
}

static void
test_action_too_long_is_refused(void **state)
{
    struct fixture *f = *state;
    char action[AUDIT_ACTION_MAX + 1];
    memset(action, 'a', sizeof action - 1);
    action[sizeof action - 1] = '\0';
    struct audit_sealed_event event;
    assert_int_equal(audit_seal_citizen(f->signer, "platform:shop", action, "WEBNUMBER0000001",
                                        NULL, &event),
                     -1);
    assert_null(event.sealed);
    assert_int_equal(event.action[0], '\0');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sealed_event_appends_in_its_transaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_action_too_long_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
