/* inquiry: the operator's reading of events under a legal basis; see
 * audit.h (audit_inquiry). */
#include "audit/audit.h"

#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

struct inquiry {
    struct signer *signer;
    const char *action;
    json_t *events;
    json_t *citizens;   /* object: the citizens whose events were opened */
    int unopened;       /* the sequence of an event that did not open */
    int64_t unopened_sequence;
};

static int
read_event(void *context, const struct store_audit_event *event)
{
    struct inquiry *q = context;
    if (q->action != NULL && strcmp(event->action, q->action) != 0)
        return 0;
    struct audit_opened opened;
    if (audit_open(q->signer, event, &opened) != 0) {
        q->unopened = 1;
        q->unopened_sequence = event->sequence;
        return -1;
    }
    json_t *details = json_loads(opened.details, JSON_REJECT_DUPLICATES, NULL);
    json_t *entry = details ? json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:b, s:b}", "sequence",
                                        (json_int_t)event->sequence, "time",
                                        (json_int_t)event->time, "actor", opened.actor,
                                        "action", event->action, "subject", opened.subject,
                                        "details", details, "sealed", event->sealed != NULL,
                                        "in_log", event->leaf >= 0)
                            : NULL;
    int failed = entry == NULL || json_array_append_new(q->events, entry) != 0 ||
                 (event->sealed != NULL &&
                  json_object_set_new(q->citizens, opened.subject, json_true()) != 0);
    audit_opened_clear(&opened);
    return failed ? -1 : 0;
}

int
audit_inquiry(struct store *store, struct signer *signer, const char *action,
              const char *legal_basis, const char *actor, json_t **out, char *err,
              size_t errlen)
{
    *out = NULL;
    struct inquiry q = {.signer = signer, .action = action, .events = json_array(),
                        .citizens = json_object()};
    json_t *details = json_pack("{s:s, s:s}", "legal_basis", legal_basis, "action",
                                action ? action : "*");
    struct store_conn *conn = store_acquire(store);
    int status = -1;
    if (q.events == NULL || q.citizens == NULL || details == NULL) {
        error_set(err, errlen, "out of memory");
        goto done;
    }
    if (store_audit_each(conn, 0, INT64_MAX, read_event, &q) != 0) {
        if (q.unopened)
            error_set(err, errlen, "event %lld does not open: the log may have been altered "
                                   "(cyberid log verify)", (long long)q.unopened_sequence);
        else
            error_set(err, errlen, "database: %s", store_last_error(conn));
        goto done;
    }
    /* Nothing is shown before each citizen's log says who read it, and on
     * what basis. */
    const char *citizen;
    json_t *ignored;
    if (store_begin(conn) != 0)
        goto failed;
    json_object_foreach(q.citizens, citizen, ignored) {
        if (audit_append_citizen(conn, signer, actor, "log.events_read", citizen, details,
                                 NULL) != 0)
            goto failed;
    }
    if (store_commit(conn) != 0)
        goto failed;
    *out = q.events;
    q.events = NULL;
    status = 0;
    goto done;
failed:
    error_set(err, errlen, "cannot record the reading: %s", store_last_error(conn));
    store_rollback(conn);
done:
    store_release(store, conn);
    json_decref(q.events);
    json_decref(q.citizens);
    json_decref(details);
    return status;
}
