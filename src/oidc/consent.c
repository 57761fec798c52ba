/* consent: the citizen's view of the platforms that hold a grant, and the
 * withdrawal of one (GET /v1/me/consents, POST
 * /v1/me/consents/{client_id}/withdraw); see oidc.h. */
#include "oidc/oidc.h"

#include "audit/audit.h"
#include "util/log.h"
#include "util/strings.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* One platform's entry, made or grown by each of its tokens. */
static int
add_grant(void *context, const char *client_id, const char *name, const char *claims,
          int64_t created_at, int64_t expires_at)
{
    json_t *consents = context;
    json_t *entry = json_object_get(consents, client_id);
    if (entry == NULL) {
        entry = json_pack("{s:s, s:s, s:[], s:I, s:I, s:i}", "client_id", client_id, "name",
                          name, "claims", "since", (json_int_t)created_at, "until",
                          (json_int_t)expires_at, "tokens", 0);
        if (entry == NULL || json_object_set_new(consents, client_id, entry) != 0)
            return -1;
    }
    json_t *list = json_loads(claims, JSON_REJECT_DUPLICATES, NULL);
    json_t *held = json_object_get(entry, "claims");
    if (!json_is_array(list)) {
        json_decref(list);
        return -1;
    }
    size_t i;
    json_t *claim;
    json_array_foreach(list, i, claim) {
        int known = 0;
        size_t j;
        json_t *other;
        json_array_foreach(held, j, other) known |= json_equal(claim, other);
        if (!known && json_array_append(held, claim) != 0) {
            json_decref(list);
            return -1;
        }
    }
    json_decref(list);
    json_int_t until = json_integer_value(json_object_get(entry, "until"));
    json_int_t tokens = json_integer_value(json_object_get(entry, "tokens"));
    if ((expires_at > until &&
         json_object_set_new(entry, "until", json_integer(expires_at)) != 0) ||
        json_object_set_new(entry, "tokens", json_integer(tokens + 1)) != 0)
        return -1;
    return 0;
}

int
oidc_consents_handle(const struct oidc_context *context, const struct http_request *request,
                     struct http_response *response)
{
    struct device_caller caller;
    int authenticated = device_authenticate(context->device, request, &caller, response);
    if (authenticated != 0)
        return authenticated < 0 ? -1 : 0;
    json_t *by_client = json_object(), *list = json_array();
    struct store_conn *conn = store_acquire(context->store);
    int status = by_client && list
                     ? store_oidc_grants(conn, caller.web_number, (int64_t)time(NULL),
                                         add_grant, by_client)
                     : -1;
    store_release(context->store, conn);
    device_caller_clear(&caller);
    const char *client_id;
    json_t *entry;
    if (status == 0)
        json_object_foreach(by_client, client_id, entry) {
            if (json_array_append(list, entry) != 0)
                status = -1;
        }
    json_decref(by_client);
    if (status != 0) {
        json_decref(list);
        return -1;
    }
    return http_respond_json(response, 200, json_pack("{s:o}", "consents", list));
}

int
oidc_consent_withdraw_handle(const struct oidc_context *context,
                             const struct http_request *request, struct http_response *response)
{
    struct device_caller caller;
    int authenticated = device_authenticate(context->device, request, &caller, response);
    if (authenticated != 0)
        return authenticated < 0 ? -1 : 0;
    const char *client_id = request->params[0];
    int result = -1;
    struct store_conn *conn = NULL;
    json_t *details = NULL;
    if (strlen(client_id) >= STORE_ID_MAX) {
        result = http_respond_error(response, 404, "not_found",
                                    "no platform holds a grant under this client id");
        goto done;
    }
    char actor[STORE_WEB_NUMBER_MAX + 16];
    snprintf(actor, sizeof actor, "citizen:%s", caller.web_number);
    conn = store_acquire(context->store);
    int64_t revoked = 0;
    if (store_begin(conn) != 0 ||
        store_oidc_client_revoke(conn, caller.web_number, client_id, &revoked) != 0)
        goto fail;
    if (revoked == 0) {
        store_rollback(conn);
        result = http_respond_error(response, 404, "not_found",
                                    "no platform holds a grant under this client id");
        goto done;
    }
    /* The tokens end in the transaction that records why: the platform's
     * next refresh, userinfo or introspection sees them revoked. */
    details = json_pack("{s:s, s:I}", "client_id", client_id, "tokens_revoked",
                        (json_int_t)revoked);
    if (details == NULL ||
        audit_append_citizen(conn, context->signer, actor, "consent.withdraw",
                             caller.web_number, details, NULL) != 0 ||
        store_commit(conn) != 0)
        goto fail;
    result = http_respond_json(response, 200,
                               json_pack("{s:s, s:I}", "client_id", client_id, "tokens_revoked",
                                         (json_int_t)revoked));
    goto done;
fail:
    log_event(LOG_ERROR, "consent_withdraw_failed", "{s:s}", "error", store_last_error(conn));
    store_rollback(conn);
done:
    json_decref(details);
    if (conn != NULL)
        store_release(context->store, conn);
    device_caller_clear(&caller);
    return result;
}
