/* appeal: appeals against suspensions; see appeal.h. */
#include "enroll/appeal.h"

#include "audit/audit.h"
#include "enroll/identity.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APPEAL_ID_BYTES 12
#define APPEAL_RECORD_PREFIX "appeal:"

/* The record id its text is sealed under. */
static int
record_id(const char *id, char out[sizeof APPEAL_RECORD_PREFIX + STORE_ID_MAX])
{
    return string_format(out, sizeof APPEAL_RECORD_PREFIX + STORE_ID_MAX,
                         APPEAL_RECORD_PREFIX "%s", id);
}

int
appeal_file_handle(const struct appeal_context *context, const struct http_request *request,
                   struct http_response *response)
{
    struct device_caller caller;
    int authenticated = device_authenticate_any_status(context->device, request, &caller,
                                                       response);
    if (authenticated != 0)
        return authenticated < 0 ? -1 : 0;
    int result = -1;
    uint8_t *sealed = NULL;
    size_t sealed_length = 0;
    json_t *record = NULL;
    char *plaintext = NULL;
    const char *text = json_string_value(json_object_get(request->json, "text"));
    size_t length = text ? strlen(text) : 0;
    if (length == 0 || length > APPEAL_TEXT_MAX_BYTES || !utf8_is_clean_text(text, length)) {
        result = http_respond_error(response, 400, "invalid_request",
                                    "\"text\" must be 1 to 4000 bytes of text");
        goto done;
    }
    if (!caller.suspended) {
        result = http_respond_error(response, 409, "not_suspended",
                                    "this identity is not suspended: there is nothing to "
                                    "appeal");
        goto done;
    }
    uint8_t random[APPEAL_ID_BYTES];
    struct store_appeal appeal = {.created_at = (int64_t)time(NULL)};
    char sealed_id[sizeof APPEAL_RECORD_PREFIX + STORE_ID_MAX];
    /* Hex: an id is an argument of `cyberid appeal decide`, and a
     * base64url one may begin with "-". */
    if (RAND_bytes(random, sizeof random) != 1 ||
        hex_encode(random, sizeof random, appeal.id, sizeof appeal.id) != 0 ||
        string_copy(appeal.web_number, sizeof appeal.web_number, caller.web_number) != 0 ||
        record_id(appeal.id, sealed_id) != 0 ||
        (record = json_pack("{s:s}", "text", text)) == NULL ||
        (plaintext = json_dumps(record, JSON_COMPACT)) == NULL ||
        signer_seal_record(context->signer, sealed_id, plaintext, strlen(plaintext), &sealed,
                           &sealed_length) != 0)
        goto done;
    appeal.sealed = sealed;
    appeal.sealed_length = sealed_length;
    char actor[STORE_WEB_NUMBER_MAX + 16];
    snprintf(actor, sizeof actor, "citizen:%s", caller.web_number);
    json_t *details = json_pack("{s:s}", "appeal", appeal.id);
    struct store_conn *conn = store_acquire(context->store);
    int stored = details != NULL && store_begin(conn) == 0 &&
                 store_appeal_insert(conn, &appeal) == 0 &&
                 audit_append_citizen(conn, context->signer, actor, "appeal.filed",
                                      caller.web_number, details, NULL) ==
                     0 &&
                 store_commit(conn) == 0;
    if (!stored) {
        log_event(LOG_ERROR, "appeal_store_failed", "{s:s}", "error", store_last_error(conn));
        store_rollback(conn);
    }
    store_release(context->store, conn);
    json_decref(details);
    if (stored)
        result = http_respond_json(response, 201,
                                   json_pack("{s:s, s:s}", "id", appeal.id, "status",
                                             STORE_APPEAL_PENDING));
done:
    if (plaintext != NULL)
        signer_free_secret(plaintext, strlen(plaintext));
    json_decref(record);
    free(sealed);
    device_caller_clear(&caller);
    return result;
}

static int
add_own(void *context, const struct store_appeal *appeal)
{
    json_t *entry = json_pack(
        "{s:s, s:s, s:I, s:o, s:o}", "id", appeal->id, "status", appeal->status, "created_at",
        (json_int_t)appeal->created_at, "decided_at",
        appeal->decided_at ? json_integer(appeal->decided_at) : json_null(), "decision_reason",
        appeal->decision_reason[0] ? json_string(appeal->decision_reason) : json_null());
    return entry != NULL && json_array_append_new(context, entry) == 0 ? 0 : -1;
}

json_t *
appeal_list_own(struct store_conn *conn, const char *web_number)
{
    json_t *list = json_array();
    if (list == NULL || store_appeal_each(conn, web_number, add_own, list) != 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

struct pending_walk {
    struct signer *signer;
    json_t *list;
    struct store_appeal *items;
    size_t count, capacity;
};

static int
collect(void *context, const struct store_appeal *appeal)
{
    struct pending_walk *walk = context;
    if (walk->count == walk->capacity) {
        size_t capacity = walk->capacity ? walk->capacity * 2 : 16;
        struct store_appeal *grown = realloc(walk->items, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        walk->items = grown;
        walk->capacity = capacity;
    }
    struct store_appeal *copy = &walk->items[walk->count];
    *copy = *appeal;
    copy->sealed = malloc(appeal->sealed_length);
    if (copy->sealed == NULL)
        return -1;
    memcpy(copy->sealed, appeal->sealed, appeal->sealed_length);
    walk->count++;
    return 0;
}

int
appeal_list_pending(struct store *store, struct signer *signer, const char *actor,
                    json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    struct pending_walk walk = {.signer = signer};
    struct store_conn *conn = store_acquire(store);
    json_t *list = json_array();
    int status = -1;
    if (list == NULL || store_appeal_each(conn, NULL, collect, &walk) != 0) {
        error_set(err, errlen, "cannot read the appeals: %s", store_last_error(conn));
        goto done;
    }
    for (size_t i = 0; i < walk.count; i++) {
        struct store_appeal *appeal = &walk.items[i];
        char sealed_id[sizeof APPEAL_RECORD_PREFIX + STORE_ID_MAX], *json = NULL;
        size_t length = 0;
        static const char *const fields[] = {"text", NULL};
        json_t *details = json_pack("{s:s, s:s}", "appeal", appeal->id, "purpose",
                                    "appeal_review");
        /* The reading first, in the log; then the text. */
        int read = details != NULL && record_id(appeal->id, sealed_id) == 0 &&
                   store_begin(conn) == 0 &&
                   audit_append_citizen(conn, walk.signer, actor, "appeal.read",
                                        appeal->web_number, details, NULL) ==
                       0 &&
                   store_commit(conn) == 0;
        json_decref(details);
        if (!read) {
            store_rollback(conn);
            error_set(err, errlen, "cannot record the reading: %s", store_last_error(conn));
            goto done;
        }
        if (signer_open_record(signer, sealed_id, appeal->sealed, appeal->sealed_length, fields,
                               &json, &length) != 0) {
            error_set(err, errlen, "cannot open appeal %s", appeal->id);
            goto done;
        }
        json_t *opened = json_loadb(json, length, 0, NULL);
        signer_free_secret(json, length);
        json_t *entry = json_pack("{s:s, s:s, s:I, s:O}", "id", appeal->id, "web_number",
                                  appeal->web_number, "created_at",
                                  (json_int_t)appeal->created_at, "text",
                                  json_object_get(opened, "text"));
        json_decref(opened);
        if (entry == NULL || json_array_append_new(list, entry) != 0) {
            error_set(err, errlen, "out of memory");
            goto done;
        }
    }
    *out = list;
    list = NULL;
    status = 0;
done:
    for (size_t i = 0; i < walk.count; i++)
        store_appeal_clear(&walk.items[i]);
    free(walk.items);
    json_decref(list);
    store_release(store, conn);
    return status;
}

int
appeal_decide(struct store *store, struct signer *signer, const char *id, int overturn, const char *reason,
              const char *actor, int *found, int *changed, char *err, size_t errlen)
{
    *found = 0;
    *changed = 0;
    size_t length = strlen(reason);
    if (length == 0 || length >= STORE_DECISION_MAX || !utf8_is_clean_text(reason, length))
        return error_set(err, errlen, "the reason must be 1 to %d bytes of text",
                         STORE_DECISION_MAX - 1);
    struct store_conn *conn = store_acquire(store);
    struct store_appeal appeal;
    int status = store_appeal_get(conn, id, &appeal, found);
    store_release(store, conn);
    if (status != 0)
        return error_set(err, errlen, "cannot read the appeal");
    if (!*found)
        return 0;
    if (strcmp(appeal.status, STORE_APPEAL_PENDING) != 0) {
        store_appeal_clear(&appeal);
        return 0;
    }
    /* The decision and, overturned, the reinstatement in one
     * transaction: no decision recorded without its effect, nor the
     * reverse. */
    json_t *details = json_pack("{s:s, s:s, s:s}", "appeal", appeal.id, "decision",
                                overturn ? "overturned" : "upheld", "reason", reason);
    int exists = 0, reinstated = 0;
    conn = store_acquire(store);
    int decided = details != NULL && store_begin(conn) == 0 &&
                  store_appeal_decide(conn, appeal.id, appeal.web_number,
                                      overturn ? STORE_APPEAL_OVERTURNED : STORE_APPEAL_UPHELD,
                                      (int64_t)time(NULL), actor, reason, changed) == 0 &&
                  (!*changed || !overturn ||
                   identity_reinstate_within(conn, signer, appeal.web_number, actor, &exists,
                                             &reinstated) == 0) &&
                  (!*changed ||
                   (json_object_set_new(details, "reinstated", json_boolean(reinstated)) == 0 &&
                    audit_append_citizen(conn, signer, actor, "appeal.decided",
                                         appeal.web_number, details, NULL) == 0)) &&
                  store_commit(conn) == 0;
    if (!decided) {
        error_set(err, errlen, "cannot record the decision: %s", store_last_error(conn));
        store_rollback(conn);
    }
    store_release(store, conn);
    json_decref(details);
    store_appeal_clear(&appeal);
    return decided ? 0 : -1;
}
