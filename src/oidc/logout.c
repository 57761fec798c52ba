/* logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0),
 * GET or POST /logout; see oidc.h and docs/api.md.
 *
 * cyberid keeps no browser session (a login is approved in the citizen's
 * app), so what a platform's logout ends is its grant: every token it
 * holds of that citizen is revoked, as the citizen's own consent
 * withdrawal would, and the browser goes back to the platform. */
#include "oidc/oidc.h"

#include "audit/audit.h"
#include "oidc/form.h"
#include "oidc/jws.h"
#include "oidc/login_page.h"
#include "oidc/redirect.h"
#include "util/log.h"
#include "util/strings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A parameter of the query (GET) or the form (POST); NULL when absent or
 * empty. */
static const char *
param(const struct http_request *request, const struct form *form, const char *name)
{
    const char *value = form ? form_get(form, name) : http_request_query(request, name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* An HTML page (no script) with status, in lang: the title and message
 * given in English and Chinese. 0 or -1. */
static int
page(struct http_response *response, enum ui_lang lang, unsigned status,
     const char *title_en, const char *title_zh, const char *message_en,
     const char *message_zh)
{
    size_t length = 0;
    char csp[LOGIN_PAGE_CSP_MAX];
    char *html = login_page_error_render(lang, ui_lang_pick(lang, title_en, title_zh),
                                         ui_lang_pick(lang, message_en, message_zh),
                                         status != 200, &length);
    int ok = html != NULL && login_page_csp(NULL, csp, sizeof csp) == 0 &&
             http_response_add_header(response, "Content-Security-Policy", csp) == 0 &&
             http_response_add_header(response, "X-Frame-Options", "DENY") == 0 &&
             http_response_add_header(response, "Referrer-Policy", "no-referrer") == 0 &&
             http_respond_bytes(response, status, LOGIN_PAGE_CONTENT_TYPE, html, length) == 0;
    free(html);
    return ok ? 0 : -1;
}

#define REFUSED_EN "This logout cannot be used"
#define REFUSED_ZH "此退出请求无法使用"

/* The language of the pages: the logout's ui_locales (RP-Initiated Logout
 * 1.0 §2), then Accept-Language, then the deployment's default. */
static enum ui_lang
logout_lang(const struct oidc_context *context, const struct http_request *request,
            const struct form *form)
{
    return login_page_lang(request, param(request, form, "ui_locales"), context->default_lang);
}

/* 1 if uri is one of the platform's registered redirect URIs (JSON array
 * text): the only places a logout sends a browser. */
static int
registered(const char *redirect_uris, const char *uri)
{
    json_t *uris = json_loads(redirect_uris, 0, NULL);
    int found = 0;
    size_t i;
    json_t *value;
    json_array_foreach(uris, i, value) {
        const char *text = json_string_value(value);
        found |= text != NULL && strcmp(text, uri) == 0;
    }
    json_decref(uris);
    return found;
}

/* The audience of the hint: "aud" a string, or an array of one. */
static const char *
audience(const json_t *claims)
{
    const json_t *aud = json_object_get(claims, "aud");
    if (json_is_array(aud) && json_array_size(aud) == 1)
        aud = json_array_get(aud, 0);
    return json_string_value(aud);
}

static int
logout(const struct oidc_context *context, const struct http_request *request,
       const struct form *form, struct http_response *response)
{
    const char *hint = param(request, form, "id_token_hint");
    const char *client_id = param(request, form, "client_id");
    const char *target = param(request, form, "post_logout_redirect_uri");
    const char *state = param(request, form, "state");
    enum ui_lang lang = logout_lang(context, request, form);
    if (hint == NULL)
        return page(response, lang, 400, REFUSED_EN, REFUSED_ZH,
                    "The platform must send the ID token of the login (id_token_hint): "
                    "cyberid has no session of its own to end.",
                    "平台必须发送该登录的 ID 令牌（id_token_hint）：cyberid 自身没有可结束的会话。");
    struct store_conn *conn = store_acquire(context->store);
    json_t *claims = NULL, *details = NULL;
    struct store_platform platform;
    memset(&platform, 0, sizeof platform);
    int64_t now = (int64_t)time(NULL), revoked = 0;
    int result = -1, found = 0;
    int verified = jws_verify_id_token(conn, context->signer, hint, context->issuer, now,
                                       &claims);
    const char *aud = claims ? audience(claims) : NULL;
    const char *sub = claims ? json_string_value(json_object_get(claims, "sub")) : NULL;
    if (verified < 0)
        goto done;
    if (verified > 0 || aud == NULL || sub == NULL ||
        (client_id != NULL && strcmp(client_id, aud) != 0)) {
        result = page(response, lang, 400, REFUSED_EN, REFUSED_ZH,
                      "The ID token given is not one this service issued to this platform.",
                      "所给的 ID 令牌不是本服务签发给该平台的。");
        goto done;
    }
    if (strlen(aud) >= STORE_ID_MAX || store_platform_get(conn, aud, &platform, &found) != 0)
        goto done;
    if (!found) {
        result = page(response, lang, 400, REFUSED_EN, REFUSED_ZH, "Unknown platform.",
                      "未知平台。");
        goto done;
    }
    if (target != NULL && !registered(platform.redirect_uris, target)) {
        result = page(response, lang, 400, REFUSED_EN, REFUSED_ZH,
                      "post_logout_redirect_uri is not one of the platform's registered "
                      "redirect URIs.",
                      "post_logout_redirect_uri 不是该平台登记过的重定向地址。");
        goto done;
    }
    /* The grant ends: every token of the citizen at this platform, with
     * the event in the same transaction. */
    char web_number[STORE_WEB_NUMBER_MAX], actor[AUDIT_PLATFORM_NAME_SIZE];
    if (store_begin(conn) != 0 ||
        store_oidc_logout(conn, platform.client_id, sub, &revoked, web_number) != 0)
        goto fail;
    if (revoked > 0) {
        details = json_pack("{s:s, s:s, s:I}", "client_id", platform.client_id, "reason",
                            "logout", "tokens", (json_int_t)revoked);
        if (details == NULL || audit_platform_name(platform.client_id, actor) != 0 ||
            audit_append_citizen(conn, context->signer, actor, "grant.revoke", web_number,
                                 details, NULL) != 0)
            goto fail;
    }
    if (store_commit(conn) != 0)
        goto fail;
    if (target == NULL) {
        char message_en[256 + STORE_ID_MAX], message_zh[256 + STORE_ID_MAX];
        snprintf(message_en, sizeof message_en, "You are logged out of %s.", platform.name);
        snprintf(message_zh, sizeof message_zh, "您已退出 %s。", platform.name);
        result = page(response, lang, 200, "Logged out", "已退出", message_en, message_zh);
        goto done;
    }
    struct redirect_param params[] = {{"state", state}};
    char *location = redirect_build(target, params, 1);
    result = location != NULL &&
                     http_response_add_header(response, "Location", location) == 0 &&
                     http_response_add_header(response, "Referrer-Policy", "no-referrer") ==
                         0 &&
                     http_respond_bytes(response, 302, "text/plain; charset=utf-8", "", 0) == 0
                 ? 0
                 : -1;
    free(location);
    goto done;
fail:
    log_event(LOG_ERROR, "logout_failed", "{s:s}", "error", store_last_error(conn));
    store_rollback(conn);
    result = -1;
done:
    json_decref(details);
    json_decref(claims);
    store_platform_clear(&platform);
    store_release(context->store, conn);
    return result;
}

int
oidc_logout_handle(const struct oidc_context *context, const struct http_request *request,
                   struct http_response *response)
{
    if (strcmp(request->method, "POST") != 0)
        return logout(context, request, NULL, response);
    struct form form;
    if (form_parse(request->body, request->body_length, &form) != 0)
        return page(response, logout_lang(context, request, NULL), 400, REFUSED_EN, REFUSED_ZH,
                    "The form is malformed (a parameter twice, or not URL-encoded).",
                    "表单格式有误（某个参数出现两次，或未经 URL 编码）。");
    int result = logout(context, request, &form, response);
    form_clear(&form);
    return result;
}
