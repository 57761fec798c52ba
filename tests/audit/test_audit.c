/* Tests of a citizen's event sealed ahead of its transaction (audit.h:
 * audit_seal_citizen(), audit_append_sealed()): what is appended opens to
 * the actor, subject and details sealed, under the citizen's blind
 * subject; a sealed event whose transaction rolls back leaves nothing; an
 * action too long for the event is refused; clearing twice is harmless. */
#include "audit/audit.h"

#include "../test_keys_db.h"

#include <string.h>


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
    struct test_keys_db *f = *state;
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
    struct test_keys_db *f = *state;
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
        cmocka_unit_test_setup_teardown(test_sealed_event_appends_in_its_transaction,
                                        test_keys_db_setup, test_keys_db_teardown),
        cmocka_unit_test_setup_teardown(test_action_too_long_is_refused, test_keys_db_setup,
                                        test_keys_db_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
