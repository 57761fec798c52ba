/* identity: the operator's acts on an identity; see identity.h. */
#include "enroll/identity.h"

#include "audit/audit.h"
#include "enroll/registry.h"
#include "pki/pki.h"
#include "util/strings.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CRL_REASON_PRIVILEGE_WITHDRAWN 9

int
identity_reason_is_valid(const char *reason)
{
    size_t length = strlen(reason);
    if (length == 0 || length > IDENTITY_REASON_MAX)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!((reason[i] >= 'a' && reason[i] <= 'z') ||
              (reason[i] >= '0' && reason[i] <= '9') || reason[i] == '_'))
            return 0;
    return 1;
}

static int
add_device(void *context, const struct store_device *device)
{
    json_t *entry = json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:o}", "serial", device->serial, "status",
        device->status, "created_at", (json_int_t)device->created_at, "not_after",
        (json_int_t)device->not_after, "revoked_at",
        device->revoked_at ? json_integer(device->revoked_at) : json_null(),
        "revocation_reason",
        device->revocation_reason >= 0 && pki_reason_name(device->revocation_reason)
            ? json_string(pki_reason_name(device->revocation_reason))
            : json_null());
    return entry == NULL || json_array_append_new(context, entry) != 0 ? -1 : 0;
}

int
identity_show(struct store *store, struct signer *signer, const char *web_number, const char *actor,
              json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    struct store_conn *conn = store_acquire(store);
    struct store_identity identity;
    int found = 0;
    json_t *devices = json_array();
    json_t *details = json_pack("{s:[s,s]}", "fields", "status", "devices");
    if (devices == NULL || details == NULL || store_begin(conn) != 0 ||
        store_identity_get(conn, web_number, &identity, &found) != 0)
        goto fail;
    if (!found) {
        store_rollback(conn);
        goto done;
    }
    if (store_device_each(conn, web_number, add_device, devices) != 0 ||
        audit_append_citizen(conn, signer, actor, "identity.read", web_number, details, NULL) != 0 ||
        store_commit(conn) != 0)
        goto fail;
    *out = json_pack("{s:s, s:s, s:o, s:I, s:I, s:O}", "web_number",
                     identity.web_number, "status", identity.status,
                     "status_reason",
                     identity.status_reason[0] ? json_string(identity.status_reason)
                                               : json_null(),
                     "created_at", (json_int_t)identity.created_at, "updated_at",
                     (json_int_t)identity.updated_at, "devices", devices);
    if (*out == NULL)
        goto fail;
done:
    json_decref(devices);
    json_decref(details);
    store_release(store, conn);
    return 0;
fail:
    error_set(err, errlen, "database: %s", store_last_error(conn));
    store_rollback(conn);
    json_decref(devices);
    json_decref(details);
    store_release(store, conn);
    return -1;
}

struct events_walk {
    struct signer *signer;
    json_t *events;
    int failed;
};

static int
add_opened_event(void *context, const struct store_audit_event *event)
{
    struct events_walk *walk = context;
    struct audit_opened opened;
    json_t *entry = NULL;
    if (audit_open(walk->signer, event, &opened) == 0) {
        json_t *details = json_loads(opened.details, JSON_REJECT_DUPLICATES, NULL);
        entry = details ? json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:b}", "sequence",
                                    (json_int_t)event->sequence, "time",
                                    (json_int_t)event->time, "actor", opened.actor, "action",
                                    event->action, "subject", opened.subject, "details",
                                    details, "in_log", event->leaf >= 0)
                        : NULL;
    }
    audit_opened_clear(&opened);
    if (entry == NULL || json_array_append_new(walk->events, entry) != 0) {
        walk->failed = 1;
        return -1;
    }
    return 0;
}

static int
by_sequence(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "sequence"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "sequence"));
    return (x > y) - (x < y);
}

int
identity_events(struct store *store, struct signer *signer, const char *web_number,
                const char *legal_basis, const char *actor, json_t **out, char *err,
                size_t errlen)
{
    *out = NULL;
    struct store_conn *conn = store_acquire(store);
    struct store_identity identity;
    int found = 0;
    struct events_walk walk = {.signer = signer, .events = json_array()};
    json_t *details = json_pack("{s:s}", "legal_basis", legal_basis);
    char record[sizeof "registry:" + STORE_ID_MAX];
    if (walk.events == NULL || details == NULL || store_begin(conn) != 0 ||
        store_identity_get(conn, web_number, &identity, &found) != 0)
        goto fail;
    if (!found) {
        store_rollback(conn);
        goto done;
    }
    /* The reading is in the citizen's log before anything is opened. */
    if (string_format(record, sizeof record, "registry:%s", identity.person_id) != 0 ||
        audit_append_citizen(conn, signer, actor, "identity.events_read", web_number, details,
                             NULL) != 0 ||
        store_commit(conn) != 0)
        goto fail;
    /* Plain rows from before sealed events, then the sealed ones. */
    const char *const citizens[] = {web_number, record};
    for (size_t i = 0; i < 2 && !walk.failed; i++) {
        char blind[AUDIT_CITIZEN_SUBJECT_SIZE];
        if (store_audit_by_subject(conn, citizens[i], add_opened_event, &walk) != 0 ||
            audit_citizen_subject(signer, citizens[i], blind) != 0 ||
            store_audit_by_subject(conn, blind, add_opened_event, &walk) != 0)
            walk.failed = 1;
    }
    if (walk.failed) {
        error_set(err, errlen, "an event of this identity does not open: the log may have "
                               "been altered (cyberid log verify)");
        json_decref(walk.events);
        json_decref(details);
        store_release(store, conn);
        return -1;
    }
    /* Oldest first across the subjects. */
    size_t count = json_array_size(walk.events);
    json_t **items = calloc(count ? count : 1, sizeof *items);
    json_t *sorted = json_array();
    if (items == NULL || sorted == NULL) {
        free(items);
        json_decref(sorted);
        goto fail;
    }
    for (size_t i = 0; i < count; i++)
        items[i] = json_array_get(walk.events, i);
    qsort(items, count, sizeof *items, by_sequence);
    for (size_t i = 0; i < count; i++)
        json_array_append(sorted, items[i]);
    free(items);
    *out = sorted;
done:
    json_decref(walk.events);
    json_decref(details);
    store_release(store, conn);
    return 0;
fail:
    error_set(err, errlen, "database: %s", store_last_error(conn));
    store_rollback(conn);
    json_decref(walk.events);
    json_decref(details);
    store_release(store, conn);
    return -1;
}

/* Ends what an identity holds in one transaction: its status becomes
 * `to` (with `reason`), every certificate is revoked (crl_reason), every
 * token at platforms too, with the audit event `action`. Only from the
 * statuses in `from` (NULL-terminated; NULL: any); *changed 0 otherwise. */
static int
retire(struct store *store, struct signer *signer, const char *web_number, const char *to,
       const char *reason, int crl_reason, const char *action, const char *actor,
       const char *const *from, int *found, int *changed, int64_t *devices_revoked,
       char *err, size_t errlen)
{
    *found = 0;
    *changed = 0;
    *devices_revoked = 0;
    int64_t now = (int64_t)time(NULL);
    struct store_conn *conn = store_acquire(store);
    struct store_identity identity;
    json_t *details = NULL;
    if (store_begin(conn) != 0 ||
        store_identity_lock(conn, web_number, &identity, found) != 0)
        goto fail;
    int allowed = from == NULL;
    for (size_t i = 0; *found && from != NULL && from[i] != NULL; i++)
        allowed |= strcmp(identity.status, from[i]) == 0;
    if (!*found || !allowed) {
        store_rollback(conn);
        store_release(store, conn);
        return 0;
    }
    int exists = 0;
    int64_t tokens = 0;
    if (store_identity_set_status(conn, web_number, to, reason, now, &exists) != 0 ||
        store_device_revoke_all(conn, web_number, now, crl_reason,
                                devices_revoked) != 0 ||
        store_oidc_identity_revoke(conn, web_number, &tokens) != 0)
        goto fail;
    details = json_pack("{s:s, s:s, s:I, s:I}", "reason", reason, "previous_status",
                        identity.status, "devices_revoked",
                        (json_int_t)*devices_revoked, "tokens_revoked",
                        (json_int_t)tokens);
    if (details == NULL ||
        audit_append_citizen(conn, signer, actor, action, web_number, details, NULL) != 0 ||
        store_commit(conn) != 0)
        goto fail;
    json_decref(details);
    store_release(store, conn);
    *changed = 1;
    return 0;
fail:
    error_set(err, errlen, "database: %s", store_last_error(conn));
    store_rollback(conn);
    json_decref(details);
    store_release(store, conn);
    return -1;
}

int
identity_revoke(struct store *store, struct signer *signer, const char *web_number, const char *reason,
                const char *actor, int *found, int64_t *devices_revoked, char *err,
                size_t errlen)
{
    if (!identity_reason_is_valid(reason)) {
        *found = 0;
        *devices_revoked = 0;
        return error_set(err, errlen, "the reason must be a code of [a-z0-9_]");
    }
    int crl_reason = pki_reason_code(reason);
    if (crl_reason < 0)
        crl_reason = CRL_REASON_PRIVILEGE_WITHDRAWN;
    int changed = 0;
    return retire(store, signer, web_number, STORE_IDENTITY_REVOKED, reason, crl_reason,
                  "identity.revoke", actor, NULL, found, &changed, devices_revoked, err,
                  errlen);
}

int
identity_deactivate(struct store *store, struct signer *signer, const char *web_number,
                    const char *actor, int *changed, int64_t *devices_revoked, char *err,
                    size_t errlen)
{
    static const char *const from[] = {STORE_IDENTITY_ACTIVE, STORE_IDENTITY_LOCKED, NULL};
    int found = 0;
    return retire(store, signer, web_number, STORE_IDENTITY_DEACTIVATED, "citizen_request",
                  pki_reason_code("cessation_of_operation"), "identity.deactivate", actor, from,
                  &found, changed, devices_revoked, err, errlen);
}

/* Moves the identity from status `from` to `to` (reason: the new status
 * reason, NULL for none) with its audit event, in one transaction. */
/* The suspension's end and legal basis, when the change is a suspension. */
struct suspension {
    int64_t until;
    const char *legal_basis;
};

/* change_status() in the caller's transaction: 0 (with *found and
 * *changed), or -1 (the caller rolls back). */
static int
change_status_within(struct store_conn *conn, struct signer *signer, const char *web_number,
                     const char *from, const char *to, const char *reason, const char *action,
                     json_t *details, const char *actor, const struct suspension *suspension,
                     int *found, int *changed)
{
    *found = 0;
    *changed = 0;
    int64_t now = (int64_t)time(NULL);
    struct store_identity identity;
    int exists = 0;
    if (store_identity_lock(conn, web_number, &identity, found) != 0)
        return -1;
    if (!*found || strcmp(identity.status, from) != 0)
        return 0;
    /* Leaving active ends the identity's tokens at platforms for good. */
    int64_t tokens = 0;
    if (strcmp(from, STORE_IDENTITY_ACTIVE) == 0 &&
        (store_oidc_identity_revoke(conn, web_number, &tokens) != 0 ||
         json_object_set_new(details, "tokens_revoked", json_integer(tokens)) != 0))
        return -1;
    if (json_object_set_new(details, "previous_status", json_string(identity.status)) != 0 ||
        (suspension != NULL
             ? store_identity_suspend(conn, web_number, reason, suspension->legal_basis,
                                      suspension->until, now, &exists)
             : store_identity_set_status(conn, web_number, to, reason, now, &exists)) != 0 ||
        audit_append_citizen(conn, signer, actor, action, web_number, details, NULL) != 0)
        return -1;
    *changed = 1;
    return 0;
}

static int
change_status(struct store *store, struct signer *signer, const char *web_number, const char *from,
              const char *to, const char *reason, const char *action,
              json_t *details, const char *actor, const struct suspension *suspension,
              int *found, int *changed, char *err, size_t errlen)
{
    struct store_conn *conn = store_acquire(store);
    if (store_begin(conn) != 0 ||
        change_status_within(conn, signer, web_number, from, to, reason, action, details, actor,
                             suspension, found, changed) != 0 ||
        (*changed ? store_commit(conn) : store_rollback(conn)) != 0) {
        error_set(err, errlen, "database: %s", store_last_error(conn));
        store_rollback(conn);
        store_release(store, conn);
        *changed = 0;
        return -1;
    }
    store_release(store, conn);
    return 0;
}

int
identity_suspend(struct store *store, struct signer *signer, const char *web_number, const char *reason,
                 const char *legal_basis, int64_t until, int max_days, const char *actor,
                 int *found, int *changed, char *err, size_t errlen)
{
    *found = 0;
    *changed = 0;
    int64_t now = (int64_t)time(NULL);
    if (!identity_reason_is_valid(reason))
        return error_set(err, errlen, "the reason must be a code of [a-z0-9_]");
    if (legal_basis == NULL || !identity_legal_basis_is_valid(legal_basis))
        return error_set(err, errlen, "the legal basis must be 1 to %d bytes of text",
                         IDENTITY_LEGAL_BASIS_MAX_BYTES);
    if (until <= now || until > now + (int64_t)max_days * 86400)
        return error_set(err, errlen, "a suspension ends after now and within %d days "
                                      "(config.json: suspension_max_days)", max_days);
    json_t *details = json_pack("{s:s, s:s, s:I}", "reason", reason, "legal_basis",
                                legal_basis, "until", (json_int_t)until);
    if (details == NULL)
        return error_set(err, errlen, "out of memory");
    struct suspension suspension = {until, legal_basis};
    int status = change_status(store, signer, web_number, STORE_IDENTITY_ACTIVE,
                               STORE_IDENTITY_SUSPENDED, reason, "identity.suspend",
                               details, actor, &suspension, found, changed, err, errlen);
    json_decref(details);
    return status;
}

struct ended {
    char web_numbers[64][STORE_WEB_NUMBER_MAX];
    size_t count;
};

static int
collect_ended(void *context, const char *web_number)
{
    struct ended *ended = context;
    if (ended->count == sizeof ended->web_numbers / sizeof *ended->web_numbers ||
        string_copy(ended->web_numbers[ended->count], STORE_WEB_NUMBER_MAX, web_number) != 0)
        return -1;
    ended->count++;
    return 0;
}

int
identity_end_suspensions(struct store *store, struct signer *signer, int64_t now, int64_t *ended_count)
{
    *ended_count = 0;
    for (;;) {
        struct ended ended = {.count = 0};
        struct store_conn *conn = store_acquire(store);
        int status = store_identity_ended_suspensions(conn, now, 64, collect_ended, &ended);
        store_release(store, conn);
        if (status != 0)
            return -1;
        for (size_t i = 0; i < ended.count; i++) {
            json_t *details = json_pack("{s:s}", "reason", "end_date_reached");
            int found = 0, changed = 0;
            char err[256];
            status = details != NULL
                         ? change_status(store, signer, ended.web_numbers[i], STORE_IDENTITY_SUSPENDED,
                                         STORE_IDENTITY_ACTIVE, NULL,
                                         "identity.suspension_ended", details, "system", NULL,
                                         &found, &changed, err, sizeof err)
                         : -1;
            json_decref(details);
            if (status != 0)
                return -1;
            *ended_count += changed;
        }
        if (ended.count < 64)
            return 0;
    }
}

int
identity_reinstate(struct store *store, struct signer *signer, const char *web_number, const char *actor,
                   int *found, int *changed, char *err, size_t errlen)
{
    json_t *details = json_object();
    if (details == NULL)
        return error_set(err, errlen, "out of memory");
    int status = change_status(store, signer, web_number, STORE_IDENTITY_SUSPENDED,
                               STORE_IDENTITY_ACTIVE, NULL, "identity.reinstate",
                               details, actor, NULL, found, changed, err, errlen);
    json_decref(details);
    return status;
}

int
identity_reinstate_within(struct store_conn *conn, struct signer *signer,
                          const char *web_number, const char *actor, int *found, int *changed)
{
    json_t *details = json_object();
    int status = details != NULL
                     ? change_status_within(conn, signer, web_number, STORE_IDENTITY_SUSPENDED,
                                            STORE_IDENTITY_ACTIVE, NULL, "identity.reinstate",
                                            details, actor, NULL, found, changed)
                     : -1;
    json_decref(details);
    return status;
}

int
identity_lock(struct store *store, struct signer *signer, const char *web_number,
              const char *actor, int *changed, char *err, size_t errlen)
{
    json_t *details = json_object();
    if (details == NULL)
        return error_set(err, errlen, "out of memory");
    int found = 0;
    int status = change_status(store, signer, web_number, STORE_IDENTITY_ACTIVE,
                               STORE_IDENTITY_LOCKED, "citizen_request", "identity.lock",
                               details, actor, NULL, &found, changed, err, errlen);
    json_decref(details);
    return status;
}

int
identity_legal_basis_is_valid(const char *text)
{
    size_t length = strlen(text);
    return length > 0 && length <= IDENTITY_LEGAL_BASIS_MAX_BYTES &&
           utf8_is_clean_text(text, length);
}

int
identity_find(struct store *store, struct signer *signer, const char *national_id,
              const char *legal_basis, const char *actor, json_t **out, char *err,
              size_t errlen)
{
    *out = NULL;
    if (!identity_legal_basis_is_valid(legal_basis))
        return error_set(err, errlen, "the legal basis must be 1 to %d bytes of text",
                         IDENTITY_LEGAL_BASIS_MAX_BYTES);
    uint8_t index[STORE_INDEX_BYTES];
    if (registry_index(signer, national_id, index) != 0)
        return error_set(err, errlen, "the blind index failed");
    struct store_conn *conn = store_acquire(store);
    struct store_person person = {0};
    struct store_identity identity;
    int in_registry = 0, enrolled = 0;
    json_t *details = json_pack("{s:s, s:s}", "by", "national_id", "legal_basis",
                                legal_basis);
    /* The lookup and its event in one transaction: no answer without the
     * record of who asked, and on what basis. */
    if (details == NULL || store_begin(conn) != 0 ||
        store_person_find(conn, index, &person, &in_registry) != 0 ||
        (in_registry &&
         store_identity_find_by_person(conn, person.id, &identity, &enrolled) != 0))
        goto fail;
    /* The event is the citizen's when the number is someone's: their
     * identity's, or their registry record's before they enrolled (their
     * history shows it once they do). */
    char record[sizeof "registry:" + STORE_ID_MAX] = "";
    if (in_registry && !enrolled &&
        string_format(record, sizeof record, "registry:%s", person.id) != 0)
        goto fail;
    if (json_object_set_new(details, "found", json_boolean(enrolled)) != 0 ||
        (in_registry ? audit_append_citizen(conn, signer, actor, "identity.find",
                                            enrolled ? identity.web_number : record, details,
                                            NULL)
                     : audit_append(conn, actor, "identity.find", "registry", details, NULL)) !=
            0 ||
        store_commit(conn) != 0)
        goto fail;
    *out = enrolled ? json_pack("{s:b, s:s, s:s, s:s*}", "found", 1, "web_number",
                                identity.web_number, "status", identity.status,
                                "status_reason",
                                identity.status_reason[0] ? identity.status_reason : NULL)
                    : json_pack("{s:b}", "found", 0);
    json_decref(details);
    store_person_clear(&person);
    store_release(store, conn);
    secret_wipe(index, sizeof index);
    return *out != NULL ? 0 : error_set(err, errlen, "out of memory");
fail:
    error_set(err, errlen, "database: %s", store_last_error(conn));
    store_rollback(conn);
    json_decref(details);
    store_person_clear(&person);
    store_release(store, conn);
    secret_wipe(index, sizeof index);
    return -1;
}
