/* login: the citizen's app's side of a login (docs/api.md, "The app's
 * side"): GET /v1/login/{user_code} shows what a platform asks for, POST
 * /v1/login/{user_code}/approve and /deny decide it.
 *
 * Every request is device-authenticated first (device_authenticate(): the
 * certificate is ours, valid, not revoked, its identity active). An
 * approval's device token also carries "user_code" and "release", so the
 * device key's signature covers the choice; the release must be a subset
 * of the asked claims. The decision and its audit event (claim names,
 * never values) commit in one transaction; a login is decided once.
 *
 * The login URL is also what a phone's camera or the login page's https
 * fallback opens in a browser: a GET asking for text/html without a device
 * token gets a page saying what to do with it (login_page_link_render()). */
#include "oidc/oidc.h"

#include "audit/audit.h"
#include "oidc/platform.h"
#include "oidc/claims.h"
#include "oidc/login_page.h"
#include "oidc/oauth.h"
#include "oidc/user_code.h"
#include "util/counters.h"
#include "util/log.h"
#include "util/strings.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACTOR_PREFIX "citizen:"
#define ACTOR_MAX (sizeof ACTOR_PREFIX + STORE_WEB_NUMBER_MAX)

/* Finds the login with this user code hash for the app: it must exist, be
 * pending and unexpired at now, and its platform registered and enabled.
 * Returns 0 with *login and *platform filled (the caller clears both); 1
 * when the response is filled instead (404 not_found, 409 already_decided,
 * or a store failure's 500), with nothing to clear; -1 on an internal
 * failure. */
static int
find_login(struct store_conn *conn, const uint8_t user_code_hash[STORE_OIDC_HASH_BYTES],
           int64_t now, struct store_oidc_login *login, struct store_platform *platform,
           struct http_response *response)
{
    int found = 0, answered;
    if (store_oidc_login_get_by_user_code(conn, user_code_hash, login, platform, &found) != 0)
        return oauth_store_failed(conn, "login.get", response) == 0 ? 1 : -1;
    if (!found || login->purge_at < now)
        answered = http_respond_error(response, 404, "not_found", "no such login");
    else if (strcmp(login->status, STORE_LOGIN_PENDING) != 0)
        answered = http_respond_error(response, 409, "already_decided",
                                      "this login was already approved or denied");
    else if (login->expires_at <= now)
        answered = http_respond_error(response, 404, "not_found",
                                      "this login has expired");
    else if (platform->client_id[0] == '\0' || platform->disabled)
        answered = http_respond_error(response, 404, "not_found",
                                      "the platform of this login is no longer "
                                      "registered");
    else
        return 0;
    store_oidc_login_clear(login);
    store_platform_clear(platform);
    return answered == 0 ? 1 : -1;
}

/* The path's user code, normalised into code; 1 after answering 404 when
 * it is not a user code. */
static int
path_user_code(const struct http_request *request, char code[USER_CODE_SIZE],
               struct http_response *response)
{
    if (user_code_normalize(request->params[0], code) == 0)
        return 0;
    return http_respond_error(response, 404, "not_found", "no such login") == 0 ? 1 : -1;
}

/* 1 if a GET of the login URL comes from a browser rather than the app:
 * it asks for text/html and carries no Authorization (the app sends
 * "Accept: application/json" and its device token). */
static int
wants_page(const struct http_request *request)
{
    const char *accept = http_request_header(request, "Accept");
    return accept != NULL && strstr(accept, "text/html") != NULL &&
           http_request_header(request, "Authorization") == NULL;
}

/* The login URL opened in a browser (a phone's camera, the login page's
 * https fallback): a page saying what to do with it, in the browser's
 * language (ui_locales in the query, then Accept-Language, then the
 * default). It reads nothing from the store: whether a login exists is
 * for the app to learn. A path that is not a user code: a 404 page.
 * 0 or -1. */
static int
respond_link_page(const struct oidc_context *context, const struct http_request *request,
                  struct http_response *response)
{
    const char *ui_locales = http_request_query(request, "ui_locales");
    enum ui_lang lang = login_page_lang(request, ui_locales, context->default_lang);
    char code[USER_CODE_SIZE], link[LOGIN_PAGE_APP_LINK_MAX], csp[LOGIN_PAGE_CSP_MAX];
    char *html = NULL;
    size_t length = 0;
    unsigned status = 200;
    if (user_code_normalize(request->params[0], code) != 0) {
        status = 404;
        html = login_page_error_render(lang, ui_lang_pick(lang, "No such login", "没有此登录"),
                                       ui_lang_pick(lang,
                                                    "This is not a cyberid login link. Go "
                                                    "back to the site and start again.",
                                                    "这不是 cyberid 的登录链接。请返回网站"
                                                    "重新开始。"),
                                       0, &length);
    } else if (login_page_app_link(context->issuer, code, link, sizeof link) == 0) {
        html = login_page_link_render(lang, code, link, &length);
    }
    int ok = html != NULL && login_page_csp(NULL, csp, sizeof csp) == 0 &&
             http_response_add_header(response, "Content-Security-Policy", csp) == 0 &&
             http_response_add_header(response, "X-Frame-Options", "DENY") == 0 &&
             http_response_add_header(response, "Referrer-Policy", "no-referrer") == 0 &&
             http_response_add_header(response, "Vary", "Accept, Accept-Language") == 0 &&
             http_respond_bytes(response, status, LOGIN_PAGE_CONTENT_TYPE, html, length) == 0;
    free(html);
    secret_wipe(code, sizeof code);
    return ok ? 0 : -1;
}

/* A device of a suspended or locked identity is let as far as a real
 * pending login (device_authenticate_any_status()) so that the refusal is
 * an event of the identity, "login.refused": the citizen sees in their
 * history what was tried while they were locked. Then the answer a strict
 * authentication gives. 0 (answered) or -1. */
static int
refuse_inactive(const struct oidc_context *context, struct store_conn *conn,
                const struct device_caller *caller, const struct store_oidc_login *login,
                struct http_response *response)
{
    char actor[ACTOR_MAX];
    json_t *details = json_pack("{s:s, s:s}", "client_id", login->client_id, "reason",
                                caller->locked ? "identity_locked" : "identity_suspended");
    int recorded = details != NULL &&
                   string_format(actor, sizeof actor, ACTOR_PREFIX "%s", caller->web_number) ==
                       0 &&
                   store_begin(conn) == 0 &&
                   audit_append_citizen(conn, context->signer, actor, "login.refused",
                                        caller->web_number, details, NULL) == 0 &&
                   store_commit(conn) == 0;
    json_decref(details);
    if (!recorded) {
        store_rollback(conn);
        log_event(LOG_ERROR, "audit_failed", "{s:s}", "action", "login.refused");
    }
    counter_add(COUNTER_LOGINS, "refused");
    return device_refuse_inactive(caller, response) < 0 ? -1 : 0;
}

int
oidc_login_show_handle(const struct oidc_context *context,
                       const struct http_request *request, struct http_response *response)
{
    if (wants_page(request))
        return respond_link_page(context, request, response);
    struct device_caller caller;
    int authenticated = device_authenticate_any_status(context->device, request, &caller,
                                                       response);
    if (authenticated != 0)
        return authenticated < 0 ? -1 : 0;

    char code[USER_CODE_SIZE];
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_login login;
    struct store_platform platform;
    struct store_conn *conn = NULL;
    json_t *claims = NULL;
    int result = -1, looked;
    memset(&login, 0, sizeof login);
    memset(&platform, 0, sizeof platform);
    if ((looked = path_user_code(request, code, response)) != 0) {
        result = looked < 0 ? -1 : 0;
        goto done;
    }
    oauth_hash(code, hash);
    conn = store_acquire(context->store);
    if ((looked = find_login(conn, hash, (int64_t)time(NULL), &login, &platform,
                             response)) != 0) {
        result = looked < 0 ? -1 : 0;
        goto done;
    }
    if (caller.locked || caller.suspended) {
        result = refuse_inactive(context, conn, &caller, &login, response);
        goto done;
    }
    claims = json_loads(login.claims, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(claims)) {
        log_event(LOG_ERROR, "oidc.login_malformed", "{s:s}", "field", "claims");
        goto done;
    }
    /* What lets the citizen tell their own login from one an attacker
     * started and sent them (RFC 10027): the domain the browser returns
     * to, when and roughly from where the page was opened. */
    char host[256] = "", host_err[128];
    if (platform_check_redirect_uri(login.redirect_uri, host, sizeof host, host_err,
                                    sizeof host_err) != 0)
        host[0] = '\0';
    result = http_respond_json(
        response, 200,
        json_pack("{s:s, s:{s:s, s:s, s:s}, s:O, s:s?, s:I, s:I, s:s?, s:s}", "user_code", code,
                  "platform", "client_id", platform.client_id, "name", platform.name,
                  "returns_to", host, "claims", claims, "purpose", login.purpose,
                  "expires_at", (json_int_t)login.expires_at, "opened_at",
                  (json_int_t)login.created_at, "opened_from", login.opened_from, "status",
                  STORE_LOGIN_PENDING));
done:
    json_decref(claims);
    store_oidc_login_clear(&login);
    store_platform_clear(&platform);
    if (conn != NULL)
        store_release(context->store, conn);
    secret_wipe(code, sizeof code);
    device_caller_clear(&caller);
    return result;
}

/* Checks what the device token says about the decision: "user_code" must
 * name the path's login (required to approve; checked when present to
 * deny), and to approve "release" must be an array (its subset check needs
 * the login). Returns 0, or 1 after answering 400 invalid_request, or -1. */
static int
check_token_choice(const struct device_caller *caller, const char *code, int approve,
                   struct http_response *response)
{
    const json_t *named = json_object_get(caller->claims, "user_code");
    char token_code[USER_CODE_SIZE];
    const char *problem = NULL;
    if ((approve || named != NULL) &&
        (user_code_normalize(json_string_value(named), token_code) != 0 ||
         strcmp(token_code, code) != 0))
        problem = "the device token's user_code must name this login";
    else if (approve && !json_is_array(json_object_get(caller->claims, "release")))
        problem = "the device token must carry release: the claims to share";
    secret_wipe(token_code, sizeof token_code);
    if (problem == NULL)
        return 0;
    return http_respond_error(response, 400, "invalid_request", problem) == 0 ? 1 : -1;
}

/* POST /v1/login/{user_code}/approve (approve set) or /deny. */
static int
decide(const struct oidc_context *context, const struct http_request *request,
       struct http_response *response, int approve)
{
    /* A suspended or locked identity's device is let this far so that the
     * refused login, once it names a real pending one, is an event of the
     * identity (the citizen sees what was tried while locked). */
    struct device_caller caller;
    int authenticated = device_authenticate_any_status(context->device, request, &caller,
                                                       response);
    if (authenticated != 0) {
        if (authenticated > 0)
            counter_add(COUNTER_LOGINS, "refused");
        return authenticated < 0 ? -1 : 0;
    }

    char code[USER_CODE_SIZE] = "", actor[ACTOR_MAX];
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_login login;
    struct store_platform platform;
    struct store_conn *conn = NULL;
    json_t *asked = NULL, *released = NULL, *details = NULL;
    char *released_text = NULL;
    struct audit_sealed_event event = {0};
    int64_t now = (int64_t)time(NULL);
    int result = -1, looked, changed = 0;
    memset(&login, 0, sizeof login);
    memset(&platform, 0, sizeof platform);
    if ((looked = path_user_code(request, code, response)) != 0 ||
        (looked = check_token_choice(&caller, code, approve, response)) != 0) {
        result = looked < 0 ? -1 : 0;
        goto done;
    }
    oauth_hash(code, hash);
    conn = store_acquire(context->store);
    if ((looked = find_login(conn, hash, now, &login, &platform, response)) != 0) {
        if (looked > 0)
            counter_add(COUNTER_LOGINS, "refused");
        result = looked < 0 ? -1 : 0;
        goto done;
    }
    if (caller.locked || caller.suspended) {
        result = refuse_inactive(context, conn, &caller, &login, response);
        goto done;
    }
    asked = json_loads(login.claims, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(asked)) {
        log_event(LOG_ERROR, "oidc.login_malformed", "{s:s}", "field", "claims");
        goto done;
    }
    released = approve ? json_incref(json_object_get(caller.claims, "release"))
                       : json_array();
    if (approve && !claims_subset(released, asked)) {
        result = http_respond_error(response, 400, "invalid_request",
                                    "release must name distinct claims the platform "
                                    "asked for");
        goto done;
    }
    released_text = json_dumps(released, JSON_COMPACT);
    /* What the platform asked and what the citizen released, by name: the
     * citizen's history says both. */
    details = json_pack("{s:s, s:O, s:O}", "client_id", login.client_id, "claims", released,
                        "asked", asked);
    if (released_text == NULL || details == NULL ||
        string_format(actor, sizeof actor, ACTOR_PREFIX "%s", caller.web_number) != 0)
        goto done;

    /* Sealed before the transaction: the signer's round trip does not hold
     * the database's write lock (audit.h). */
    if (audit_seal_citizen(context->signer, actor, approve ? "login.approved" : "login.denied",
                           caller.web_number, details, &event) != 0) {
        result = oauth_store_failed(conn, "login.audit", response);
        goto done;
    }
    struct store_audit_event row;
    audit_sealed_row(&event, &row);
    if (store_oidc_login_decide_logged(conn, login.login_hash,
                                       approve ? STORE_LOGIN_APPROVED : STORE_LOGIN_DENIED,
                                       caller.web_number, approve ? released_text : NULL, now,
                                       now + OIDC_CODE_LIFETIME, &row, &changed) != 0) {
        result = oauth_store_failed(conn, "login.decide", response);
        goto done;
    }
    if (!changed) {
        /* Decided by another request since find_login() (same `now`, so it
         * cannot have expired in between). */
        result = http_respond_error(response, 409, "already_decided",
                                    "this login was already approved or denied");
        goto done;
    }
    result = http_respond_json(response, 200,
                               json_pack("{s:s}", "status",
                                         approve ? STORE_LOGIN_APPROVED
                                                 : STORE_LOGIN_DENIED));
    counter_add(COUNTER_LOGINS, approve ? "approved" : "denied");
done:
    audit_sealed_event_clear(&event);
    json_decref(details);
    json_decref(released);
    json_decref(asked);
    free(released_text);
    store_oidc_login_clear(&login);
    store_platform_clear(&platform);
    if (conn != NULL)
        store_release(context->store, conn);
    secret_wipe(code, sizeof code);
    device_caller_clear(&caller);
    return result;
}

int
oidc_login_approve_handle(const struct oidc_context *context,
                          const struct http_request *request,
                          struct http_response *response)
{
    return decide(context, request, response, 1);
}

int
oidc_login_deny_handle(const struct oidc_context *context,
                       const struct http_request *request, struct http_response *response)
{
    return decide(context, request, response, 0);
}
