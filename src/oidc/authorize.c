/* authorize: GET /authorize, where a platform sends the browser to start a
 * login (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2, PKCE S256 required),
 * and GET /v1/authorize/status/{login_id}, the login page's poll. The
 * contract is docs/api.md, "Login"; the page itself is login_page.c.
 *
 * A request whose client or redirect URI cannot be trusted is answered
 * here with an HTML error page and never redirected (RFC 6749 §4.1.2.1);
 * every other refusal goes back to the platform's redirect URI with error,
 * error_description, state and iss (RFC 9207). A valid request becomes a
 * pending login in the store, known by the hashes of its three secrets:
 * the login id (only in the page), the user code (what the citizen gives
 * the app) and the authorization code (derived from the login id, handed
 * to the page by its poll once the citizen approved). */
#include "oidc/oidc.h"

#include "oidc/authorize.h"
#include "oidc/claims.h"
#include "oidc/dpop.h"
#include "oidc/login_page.h"
#include "oidc/oauth.h"
#include "oidc/pkce.h"
#include "oidc/redirect.h"
#include "oidc/user_code.h"
#include "util/encoding.h"
#include "util/counters.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/strings.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Fresh secrets drawn when a user code or login id is already taken. */
#define AUTHORIZE_INSERT_ATTEMPTS 4
#define SCRIPT_NONCE_BYTES 16
#define SCRIPT_NONCE_SIZE BASE64URL_ENCODED_SIZE(SCRIPT_NONCE_BYTES)
#define LOGIN_PATH "/v1/login/"
#define STATUS_PATH "v1/authorize/status/" /* relative to /authorize */
#define URL_MAX 1024
#define SECONDS_PER_MINUTE 60
#define DESCRIPTION_MAX AUTHORIZE_DESCRIPTION_MAX
/* A number constant as a string literal, for error descriptions. */
#define LITERAL(x) #x
#define NUMBER_TEXT(x) LITERAL(x)

/* Parameters a request may give at most once (RFC 6749 §3.1; OpenID
 * Connect Core §3.1.2.1; RFC 7636 §4.3). A `purpose` is not read: what a
 * platform asks for is shown as it registered it (cross-device consent
 * phishing, RFC 10027: nothing the request says is shown as the
 * platform's word). */
static const char *const SINGLE_PARAMETERS[] = {
    "client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
    "code_challenge", "code_challenge_method", "prompt",
    "response_mode", "request", "request_uri", "max_age", "display",
    "ui_locales", "id_token_hint", "login_hint", "acr_values", "claims",
    "claims_locales", "registration", "dpop_jkt",
};

/* A query parameter; NULL when absent or empty (RFC 6749 §3.1: "sent
 * without a value MUST be treated as if they were omitted"). */
static const char *
query_param(const void *request, const char *name)
{
    const char *value = http_request_query(request, name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* A parameter of a pushed request (a JSON object of strings). */
static const char *
pushed_param(const void *params, const char *name)
{
    const char *value = json_string_value(json_object_get(params, name));
    return value != NULL && value[0] != '\0' ? value : NULL;
}

const char *const *
authorize_parameter_names(size_t *count)
{
    *count = sizeof SINGLE_PARAMETERS / sizeof *SINGLE_PARAMETERS;
    return SINGLE_PARAMETERS;
}

int
authorize_state_is_valid(const char *state)
{
    size_t length = strlen(state);
    if (length > AUTHORIZE_STATE_MAX_BYTES)
        return 0;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)state[i] < 0x20 || (unsigned char)state[i] > 0x7e)
            return 0;
    return 1;
}

void
authorize_params_read(struct authorize_params *params,
                      const char *(*get)(const void *source, const char *name),
                      const void *source)
{
    memset(params, 0, sizeof *params);
    params->client_id = get(source, "client_id");
    params->redirect_uri = get(source, "redirect_uri");
    params->response_type = get(source, "response_type");
    params->response_mode = get(source, "response_mode");
    params->scope = get(source, "scope");
    params->state = get(source, "state");
    params->nonce = get(source, "nonce");
    params->code_challenge = get(source, "code_challenge");
    params->code_challenge_method = get(source, "code_challenge_method");
    params->prompt = get(source, "prompt");
    params->request_object = get(source, "request");
    params->request_uri = get(source, "request_uri");
    params->dpop_jkt = get(source, "dpop_jkt");
    params->ui_locales = get(source, "ui_locales");
}

/* The headers every HTML page carries: its CSP (script_nonce NULL: no
 * script), no framing, no referrer. 0 or -1. */
static int
add_page_headers(struct http_response *response, const char *script_nonce)
{
    char csp[LOGIN_PAGE_CSP_MAX];
    if (login_page_csp(script_nonce, csp, sizeof csp) != 0 ||
        http_response_add_header(response, "Content-Security-Policy", csp) != 0 ||
        http_response_add_header(response, "X-Frame-Options", "DENY") != 0 ||
        http_response_add_header(response, "Referrer-Policy", "no-referrer") != 0)
        return -1;
    return 0;
}

/* The language of the request's pages (ui_lang.h): its ui_locales (the
 * query's, or the pushed request's), then Accept-Language, then the
 * deployment's default. */
static enum ui_lang
request_lang(const struct oidc_context *context, const struct http_request *request,
             const char *ui_locales)
{
    return login_page_lang(request, ui_locales, context->default_lang);
}

/* Answers 400 with the HTML error page in lang, its message given in
 * English and Chinese: for a request that must not be redirected (unknown
 * client, unregistered redirect URI). 0 or -1. */
static int
refuse_page(struct http_response *response, enum ui_lang lang, const char *message_en,
            const char *message_zh)
{
    size_t length = 0;
    char *page = login_page_error_render(lang,
                                         ui_lang_pick(lang, "This login request cannot be used",
                                                      "此登录请求无法使用"),
                                         ui_lang_pick(lang, message_en, message_zh), 1,
                                         &length);
    int status = page != NULL && add_page_headers(response, NULL) == 0 &&
                         http_respond_bytes(response, 400, LOGIN_PAGE_CONTENT_TYPE,
                                            page, length) == 0
                     ? 0
                     : -1;
    free(page);
    return status;
}

/* Answers 302 to the platform's redirect URI with an error (RFC 6749
 * §4.1.2.1, RFC 9207). 0 or -1. */
static int
redirect_error_response(const struct oidc_context *context,
                        struct http_response *response, const char *redirect_uri,
                        const char *error, const char *description, const char *state)
{
    char *location = redirect_error(redirect_uri, error, description, state,
                                    context->issuer);
    int status = location != NULL &&
                         http_response_add_header(response, "Location", location) == 0 &&
                         http_respond_bytes(response, 302, "text/plain; charset=utf-8",
                                            "", 0) == 0
                     ? 0
                     : -1;
    free(location);
    return status;
}

int
authorize_redirect_uri_is_registered(const char *registered, const char *uri)
{
    json_t *uris = json_loads(registered, JSON_REJECT_DUPLICATES, NULL);
    int found = 0;
    size_t i;
    const json_t *value;
    json_array_foreach(uris, i, value) {
        const char *text = json_string_value(value);
        if (text != NULL && strcmp(text, uri) == 0)
            found = 1;
    }
    json_decref(uris);
    return found;
}

/* 1 if the space-delimited list holds word. */
static int
list_has_word(const char *list, const char *word)
{
    size_t length = strlen(word);
    for (const char *at = list; *at != '\0';) {
        at += strspn(at, " ");
        size_t span = strcspn(at, " ");
        if (span == length && strncmp(at, word, length) == 0)
            return 1;
        at += span;
    }
    return 0;
}

int
authorize_scope_claims(const char *scope, const char *allowed_text, json_t **asked,
             const char **problem)
{
    *asked = NULL;
    if (strlen(scope) > AUTHORIZE_SCOPE_MAX_BYTES) {
        *problem = "the scope is too long";
        return 1;
    }
    if (!list_has_word(scope, "openid")) {
        *problem = "the scope must include openid";
        return 1;
    }
    json_t *allowed = json_loads(allowed_text, JSON_REJECT_DUPLICATES, NULL);
    json_t *claims = json_array();
    int result = -1;
    if (allowed == NULL || claims == NULL)
        goto done;
    for (const char *at = scope; *at != '\0';) {
        at += strspn(at, " ");
        size_t span = strcspn(at, " ");
        char word[CLAIMS_NAME_MAX_BYTES];
        if (span == 0)
            break;
        /* Scope values the service does not know (profile, email,
         * offline_access, a longer word) are ignored, as OpenID Connect
         * Core §3.1.2.1 asks: platforms' libraries send them by default. */
        if (span >= sizeof word) {
            at += span;
            continue;
        }
        memcpy(word, at, span);
        word[span] = '\0';
        at += span;
        if (strcmp(word, "openid") == 0 || !claims_is_known(word))
            continue;
        json_t *one = json_pack("[s]", word);
        int registered = one != NULL && claims_subset(one, allowed);
        json_decref(one);
        if (!registered) {
            *problem = "the scope names a claim this platform is not registered for";
            result = 1;
            goto done;
        }
        size_t i;
        const json_t *seen;
        int duplicate = 0;
        json_array_foreach(claims, i, seen)
            duplicate |= strcmp(json_string_value(seen), word) == 0;
        if (!duplicate && json_array_append_new(claims, json_string(word)) != 0)
            goto done;
    }
    if (json_array_size(claims) > CLAIMS_MAX) {
        *problem = "the scope asks for too many claims";
        result = 1;
        goto done;
    }
    *asked = claims;
    claims = NULL;
    result = 0;
done:
    json_decref(claims);
    json_decref(allowed);
    return result;
}

/* A parameter the query gives more than once (RFC 6749 §3.1): NULL when
 * none, else the description (in buffer). */
static const char *
repeated_parameter(const struct http_request *request, char buffer[AUTHORIZE_DESCRIPTION_MAX])
{
    for (size_t i = 0; i < sizeof SINGLE_PARAMETERS / sizeof *SINGLE_PARAMETERS; i++)
        if (http_request_query_count(request, SINGLE_PARAMETERS[i]) > 1)
            return string_format(buffer, AUTHORIZE_DESCRIPTION_MAX,
                                 "%s is given more than once", SINGLE_PARAMETERS[i]) == 0
                       ? buffer
                       : "a parameter is given more than once";
    return NULL;
}

const char *
authorize_params_check(const struct authorize_params *params, int bad_state,
                       const char **error)
{
    *error = "invalid_request";
    if (bad_state)
        return "state must be at most " NUMBER_TEXT(AUTHORIZE_STATE_MAX_BYTES)
               " printable ASCII characters";
    if (params->request_object != NULL) {
        *error = "request_not_supported";
        return "request objects are not supported";
    }
    /* A request_uri is taken before the check (oidc_authorize_handle); one
     * left here is inside a pushed request (RFC 9126 §2.1). */
    if (params->request_uri != NULL)
        return "a pushed request cannot name a request_uri";
    if (params->dpop_jkt != NULL && !dpop_jkt_is_well_formed(params->dpop_jkt))
        return "dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters)";
    if (params->response_type == NULL)
        return "response_type is required";
    if (strcmp(params->response_type, "code") != 0) {
        *error = "unsupported_response_type";
        return "only response_type=code is supported";
    }
    if (params->response_mode != NULL && strcmp(params->response_mode, "query") != 0)
        return "only response_mode=query is supported";
    if (params->scope == NULL) {
        *error = "invalid_scope";
        return "the scope must include openid";
    }
    if (params->code_challenge == NULL || params->code_challenge_method == NULL ||
        strcmp(params->code_challenge_method, "S256") != 0)
        return "PKCE S256 required";
    if (!pkce_is_well_formed(params->code_challenge) ||
        strlen(params->code_challenge) != PKCE_S256_CHALLENGE_CHARS)
        return "code_challenge must be a base64url S256 challenge of 43 characters";
    if (params->nonce != NULL &&
        (strlen(params->nonce) > AUTHORIZE_NONCE_MAX_BYTES ||
         !utf8_is_clean_text(params->nonce, strlen(params->nonce))))
        return "nonce must be at most " NUMBER_TEXT(AUTHORIZE_NONCE_MAX_BYTES)
               " bytes of text";
    if (params->prompt != NULL && list_has_word(params->prompt, "none")) {
        *error = "login_required";
        return "every login is approved in the cyberid app";
    }
    return NULL;
}

/* Answers the login page of a stored login. 0 or -1. */
static int
respond_page(const struct oidc_context *context, const struct http_request *request,
             const char *ui_locales, const struct store_platform *platform, const json_t *asked,
             const char *login_id, const char *user_code, struct http_response *response)
{
    char app_link[LOGIN_PAGE_APP_LINK_MAX];
    uint8_t random[SCRIPT_NONCE_BYTES];
    char script_nonce[SCRIPT_NONCE_SIZE], login_url[URL_MAX], poll_path[URL_MAX];
    char *page = NULL;
    size_t length = 0;
    int status = -1;
    if (RAND_bytes(random, sizeof random) != 1 ||
        base64url_encode(random, sizeof random, script_nonce, sizeof script_nonce) != 0 ||
        string_format(login_url, sizeof login_url, "%s" LOGIN_PATH "%s",
                      context->issuer, user_code) != 0 ||
        string_format(poll_path, sizeof poll_path, STATUS_PATH "%s", login_id) != 0 ||
        login_page_app_link(context->issuer, user_code, app_link, sizeof app_link) != 0)
        goto done;
    const struct login_page view = {
        .lang = request_lang(context, request, ui_locales),
        .app_link = app_link,
        .phone = login_page_is_phone(http_request_header(request, "User-Agent")),
        .platform_name = platform->name,
        .claims = asked,
        .purpose = platform->purpose,
        .login_url = login_url,
        .user_code = user_code,
        .poll_path = poll_path,
        .script_nonce = script_nonce,
        .lifetime_minutes = OIDC_LOGIN_LIFETIME / SECONDS_PER_MINUTE,
    };
    page = login_page_render(&view, &length);
    if (page != NULL && add_page_headers(response, script_nonce) == 0 &&
        http_respond_bytes(response, 200, LOGIN_PAGE_CONTENT_TYPE, page, length) == 0)
        status = 0;
done:
    free(page);
    secret_wipe(login_url, sizeof login_url);
    secret_wipe(poll_path, sizeof poll_path);
    secret_wipe(app_link, sizeof app_link);
    return status;
}

/* Every pending login is a row until it is purged: a client address, and
 * a platform, start only so many on this node (the address first, so
 * that one address's flood does not spend the platform's allowance; a
 * pushed request, per_platform 0, took the platform's at /par). NULL when
 * within both, else the description (in buffer) and *error. */
static const char *
over_limit(const struct oidc_context *context, const struct http_request *request,
           const char *client_id, int per_platform, const char **error,
           char buffer[DESCRIPTION_MAX])
{
    char subscriber[NETADDR_PREFIX_MAX];
    netaddr_subscriber(request->client_address, subscriber);
    double now = rate_now();
    const char *who = "from this address", *limit = "authorize_per_address";
    int64_t wait = rate_take(context->authorize_per_address, subscriber,
                             strlen(subscriber), now);
    if (wait == 0 && per_platform) {
        who = "for this site";
        limit = "authorize_per_platform";
        wait = rate_take(context->authorize_per_platform, client_id, strlen(client_id), now);
    }
    if (wait == 0)
        return NULL;
    counter_add(COUNTER_RATE_LIMITED, limit);
    *error = "temporarily_unavailable";
    snprintf(buffer, DESCRIPTION_MAX, "too many logins started %s: try again in %lld seconds",
             who, (long long)wait);
    return buffer;
}

/* The network of a client address, for the app to show roughly where a
 * login page was opened: an IPv4 address's /24, an IPv6 address's /48
 * (an IPv4-mapped one as IPv4). "" when the address does not parse. */
static void
network_of(const char *address, char *out, size_t cap)
{
    unsigned char bytes[16];
    char text[INET6_ADDRSTRLEN];
    out[0] = '\0';
    if (address == NULL)
        return;
    if (inet_pton(AF_INET, address, bytes) == 1) {
        bytes[3] = 0;
        if (inet_ntop(AF_INET, bytes, text, sizeof text) != NULL)
            snprintf(out, cap, "%s/24", text);
    } else if (inet_pton(AF_INET6, address, bytes) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(bytes, mapped, sizeof mapped) == 0) {
            bytes[15] = 0;
            if (inet_ntop(AF_INET, bytes + 12, text, sizeof text) != NULL)
                snprintf(out, cap, "%s/24", text);
            return;
        }
        memset(bytes + 6, 0, 10);
        if (inet_ntop(AF_INET6, bytes, text, sizeof text) != NULL)
            snprintf(out, cap, "%s/48", text);
    }
}

/* Stores a pending login for a checked request and answers its page.
 * 0 or -1. */
static int
start_login(const struct oidc_context *context, struct store_conn *conn,
            const struct http_request *request,
            const struct store_platform *platform,
            const struct authorize_params *params, const json_t *asked,
            struct http_response *response)
{
    char login_id[OAUTH_SECRET_SIZE] = "", code[OAUTH_SECRET_SIZE] = "";
    char user_code[USER_CODE_SIZE] = "";
    char *claims_text = json_dumps(asked, JSON_COMPACT);
    int64_t now = (int64_t)time(NULL);
    int inserted = 0, result = -1;
    char opened_from[INET6_ADDRSTRLEN + 4];
    network_of(request->client_address, opened_from, sizeof opened_from);
    /* The text fields are borrowed from the request for the insert only;
     * nothing here is freed with store_oidc_login_clear(). */
    struct store_oidc_login login = {
        .redirect_uri = (char *)params->redirect_uri,
        .claims = claims_text,
        .state = (char *)params->state,
        .nonce = (char *)params->nonce,
        .purpose = platform->purpose,
        .opened_from = opened_from[0] ? opened_from : NULL,
        .dpop_jkt = (char *)params->dpop_jkt,
        .created_at = now,
        .expires_at = now + OIDC_LOGIN_LIFETIME,
        .purge_at = now + OIDC_LOGIN_LIFETIME + OIDC_LOGIN_PURGE_AFTER,
    };
    if (claims_text == NULL ||
        string_copy(login.client_id, sizeof login.client_id, platform->client_id) != 0 ||
        string_copy(login.code_challenge, sizeof login.code_challenge,
                    params->code_challenge) != 0 ||
        string_copy(login.status, sizeof login.status, STORE_LOGIN_PENDING) != 0)
        goto done;
    for (int attempt = 0; attempt < AUTHORIZE_INSERT_ATTEMPTS && !inserted; attempt++) {
        if (oauth_secret_new(login_id) != 0 || user_code_new(user_code) != 0 ||
            oauth_code_for_login(login_id, code) != 0)
            goto done;
        oauth_hash(login_id, login.login_hash);
        oauth_hash(user_code, login.user_code_hash);
        oauth_hash(code, login.code_hash);
        if (store_oidc_login_insert(conn, &login, &inserted) != 0) {
            result = oauth_store_failed(conn, "authorize.insert", response);
            goto done;
        }
    }
    if (!inserted) {
        log_event(LOG_ERROR, "oidc.login_insert_collided", "{s:i}", "attempts",
                  AUTHORIZE_INSERT_ATTEMPTS);
        goto done;
    }
    result = respond_page(context, request, params->ui_locales, platform, asked, login_id,
                          user_code, response);
    if (result == 0)
        counter_add(COUNTER_LOGINS, "started");
done:
    secret_wipe(login_id, sizeof login_id);
    secret_wipe(code, sizeof code);
    secret_wipe(user_code, sizeof user_code);
    free(claims_text);
    return result;
}

/* Takes the pushed request a request_uri names (RFC 9126 §4), for the
 * platform it was pushed by. 0 with *pushed and *params (a new reference);
 * 1 when refused (a page answered: unknown, used, expired, another
 * platform's); -1 on an internal failure (answered when the store failed). */
static int
take_pushed(struct store_conn *conn, const char *request_uri, const char *client_id,
            enum ui_lang lang, struct store_oidc_par *pushed, json_t **params,
            struct http_response *response)
{
    static const size_t prefix = sizeof AUTHORIZE_REQUEST_URI_PREFIX - 1;
    const char *secret = request_uri + prefix;
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    int found = 0;
    memset(pushed, 0, sizeof *pushed);
    *params = NULL;
    if (strncmp(request_uri, AUTHORIZE_REQUEST_URI_PREFIX, prefix) != 0 ||
        secret[0] == '\0' || strlen(secret) > OAUTH_CREDENTIAL_MAX)
        return refuse_page(response, lang,
                           "The request names a request_uri this service did not give.",
                           "请求中的 request_uri 不是本服务给出的。") == 0
                   ? 1
                   : -1;
    oauth_hash(secret, hash);
    if (store_oidc_par_take(conn, hash, pushed, &found) != 0)
        return oauth_store_failed(conn, "authorize.pushed", response) == 0 ? 1 : -1;
    if (!found || pushed->expires_at <= (int64_t)time(NULL) ||
        strcmp(pushed->client_id, client_id) != 0) {
        store_oidc_par_clear(pushed);
        return refuse_page(response, lang,
                           "This login request has expired or was already used. Go back to "
                           "the site and start again.",
                           "此登录请求已过期或已被使用。请返回网站重新开始。") == 0
                   ? 1
                   : -1;
    }
    *params = json_loads(pushed->params, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(*params)) {
        json_decref(*params);
        *params = NULL;
        store_oidc_par_clear(pushed);
        return -1;
    }
    return 0;
}

int
oidc_authorize_handle(const struct oidc_context *context,
                      const struct http_request *request, struct http_response *response)
{
    struct authorize_params params;
    authorize_params_read(&params, query_param, request);
    if (http_request_query_count(request, "client_id") > 1 ||
        http_request_query_count(request, "redirect_uri") > 1 ||
        http_request_query_count(request, "request_uri") > 1)
        return refuse_page(response, request_lang(context, request, params.ui_locales),
                           "The request names the site, its return address or its pushed "
                           "request more than once.",
                           "请求多次指明了网站、其返回地址或其推送的请求。");
    if (params.client_id == NULL)
        return refuse_page(response, request_lang(context, request, params.ui_locales),
                           "The request does not say which site it comes from (client_id "
                           "is missing).",
                           "请求没有说明来自哪个网站（缺少 client_id）。");
    if (params.redirect_uri == NULL && params.request_uri == NULL)
        return refuse_page(response, request_lang(context, request, params.ui_locales),
                           "The request does not say where to return to (redirect_uri is "
                           "missing).",
                           "请求没有说明返回到哪里（缺少 redirect_uri）。");

    struct store_platform platform;
    struct store_oidc_par pushed;
    struct store_conn *conn = store_acquire(context->store);
    json_t *asked = NULL, *pushed_params = NULL;
    int found = 0, result = -1;
    memset(&platform, 0, sizeof platform);
    memset(&pushed, 0, sizeof pushed);
    if (strlen(params.client_id) < STORE_ID_MAX &&
        store_platform_get(conn, params.client_id, &platform, &found) != 0) {
        result = oauth_store_failed(conn, "authorize.platform", response);
        goto done;
    }
    if (!found || platform.disabled) {
        result = refuse_page(response, request_lang(context, request, params.ui_locales),
                             "The site that sent you here is not registered with cyberid "
                             "(unknown client_id).",
                             "把您带到这里的网站没有在 cyberid 登记（client_id 未知）。");
        goto done;
    }
    http_response_set_client_id(response, platform.client_id);
    const char *error = NULL, *problem = NULL, *description = NULL;
    char buffer[DESCRIPTION_MAX];
    int was_pushed = params.request_uri != NULL;
    if (was_pushed) {
        /* Only the pushed parameters count (RFC 9126 §4); the query's
         * others are ignored. */
        int taken = take_pushed(conn, params.request_uri, platform.client_id,
                                request_lang(context, request, params.ui_locales), &pushed,
                                &pushed_params, response);
        if (taken != 0) {
            result = taken > 0 ? 0 : -1;
            goto done;
        }
        authorize_params_read(&params, pushed_param, pushed_params);
        params.client_id = platform.client_id;
        params.dpop_jkt = pushed.dpop_jkt;
        if (params.redirect_uri == NULL) {
            result = refuse_page(response, request_lang(context, request, params.ui_locales),
                                 "The pushed request does not say where to return to "
                                 "(redirect_uri is missing).",
                                 "推送的请求没有说明返回到哪里（缺少 redirect_uri）。");
            goto done;
        }
    } else {
        description = repeated_parameter(request, buffer);
    }
    if (!authorize_redirect_uri_is_registered(platform.redirect_uris, params.redirect_uri)) {
        result = refuse_page(response, request_lang(context, request, params.ui_locales),
                             "The return address (redirect_uri) is not one this site "
                             "registered.",
                             "返回地址（redirect_uri）不是该网站登记过的地址。");
        goto done;
    }
    int bad_state = params.state != NULL && !authorize_state_is_valid(params.state);
    if (bad_state)
        params.state = NULL; /* refused below, and never echoed */

    /* FAPI 2.0 Security Profile §5.3.2.2: pushed requests only. */
    if (description == NULL && platform.fapi2 && !was_pushed)
        description = "this site must push its authorization requests first (PAR, "
                      "RFC 9126)";
    if (description == NULL)
        description = authorize_params_check(&params, bad_state, &error);
    if (description == NULL) {
        int scoped = authorize_scope_claims(params.scope, platform.claims, &asked, &problem);
        if (scoped < 0)
            goto done;
        if (scoped > 0) {
            error = "invalid_scope";
            description = problem;
        }
    }
    if (description == NULL)
        description = over_limit(context, request, platform.client_id, !was_pushed, &error,
                                 buffer);
    if (description != NULL) {
        if (error == NULL)
            error = "invalid_request";
        result = redirect_error_response(context, response, params.redirect_uri, error,
                                         description, params.state);
        goto done;
    }
    result = start_login(context, conn, request, &platform, &params, asked, response);
done:
    json_decref(asked);
    json_decref(pushed_params);
    store_oidc_par_clear(&pushed);
    store_platform_clear(&platform);
    store_release(context->store, conn);
    return result;
}

/* ── GET /v1/authorize/status/{login_id} ───────────────────────────────── */

/* {"status": status, "redirect_to": url} (200), freeing url. 0 or -1. */
static int
respond_decided(struct http_response *response, const char *status, char *url)
{
    if (url == NULL)
        return -1;
    int result = http_respond_json(response, 200,
                                   json_pack("{s:s, s:s}", "status", status,
                                             "redirect_to", url));
    secret_wipe(url, strlen(url));
    free(url);
    return result;
}

int
oidc_authorize_status_handle(const struct oidc_context *context,
                             const struct http_request *request,
                             struct http_response *response)
{
    const char *login_id = request->params[0];
    size_t length = login_id ? strlen(login_id) : 0;
    if (length == 0 || length > OAUTH_CREDENTIAL_MAX)
        return http_respond_error(response, 404, "not_found", "no such login");

    uint8_t hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_login login;
    int found = 0, result = -1;
    int64_t now = (int64_t)time(NULL);
    oauth_hash(login_id, hash);
    struct store_conn *conn = store_acquire(context->store);
    if (store_oidc_login_get(conn, hash, &login, &found) != 0) {
        result = oauth_store_failed(conn, "authorize.status", response);
        store_release(context->store, conn);
        return result;
    }
    store_release(context->store, conn);

    if (!found || login.purge_at < now) {
        result = http_respond_error(response, 404, "not_found", "no such login");
    } else if (strcmp(login.status, STORE_LOGIN_PENDING) == 0 && login.expires_at > now) {
        result = http_respond_json(response, 200,
                                   json_pack("{s:s}", "status", STORE_LOGIN_PENDING));
    } else if (strcmp(login.status, STORE_LOGIN_PENDING) == 0) {
        result = respond_decided(response, "expired",
                                 redirect_error(login.redirect_uri, "access_denied",
                                                "the login expired before it was "
                                                "approved",
                                                login.state, context->issuer));
    } else if (strcmp(login.status, STORE_LOGIN_DENIED) == 0) {
        result = respond_decided(response, "denied",
                                 redirect_error(login.redirect_uri, "access_denied",
                                                "the citizen denied the login",
                                                login.state, context->issuer));
    } else if (strcmp(login.status, STORE_LOGIN_APPROVED) == 0) {
        char code[OAUTH_SECRET_SIZE];
        if (oauth_code_for_login(login_id, code) == 0) {
            const struct redirect_param params[] = {
                {"code", code}, {"state", login.state}, {"iss", context->issuer}};
            result = respond_decided(response, "approved",
                                     redirect_build(login.redirect_uri, params,
                                                    sizeof params / sizeof *params));
        }
        secret_wipe(code, sizeof code);
    } else {
        log_event(LOG_ERROR, "oidc.login_status_unknown", NULL);
    }
    store_oidc_login_clear(&login);
    return result;
}
