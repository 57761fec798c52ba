/* resource: what a platform does with the tokens /token gave it.
 *
 * - GET|POST /userinfo (OpenID Connect Core §5.3, RFC 6750): the Bearer
 *   access token (the Authorization header, or for POST the access_token
 *   field of a form body, never both) → {"sub", <released claim values,
 *   computed now>}. A token stops working the moment it is revoked, its
 *   identity is suspended or its platform disabled. A token bound to a
 *   DPoP key (RFC 9449 §7) comes as `Authorization: DPoP <token>` with a
 *   DPoP proof by that key (ath: the token's hash; a server nonce is
 *   checked when the proof has one), never as Bearer.
 * - POST /introspect (RFC 7662), platform-authenticated: {"active": false}
 *   for anything but a live token of the caller; never claim values.
 * - POST /revoke (RFC 7009), platform-authenticated: an access token is
 *   revoked alone, a refresh token takes its whole grant with it; the
 *   answer is 200 {} whether or not the token was known. */
#include "oidc/oidc.h"

#include "audit/audit.h"
#include "oidc/claims.h"
#include "oidc/client_auth.h"
#include "oidc/dpop.h"
#include "oidc/form.h"
#include "oidc/oauth.h"
#include "oidc/token_format.h"
#include "util/strings.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#define BEARER_SCHEME "Bearer"
#define DPOP_SCHEME "DPoP"
#define URL_MAX 1024
#define FORM_CONTENT_TYPE "application/x-www-form-urlencoded"
#define REASON_PLATFORM_REQUEST "revoked_by_platform"

/* Looks up a presented token by its key (oauth_token_key()), with its platform when
 * platform is not NULL (zeroed, to clear in any case). A value longer than
 * any we issue is simply not found. 0 with *found (and *token on 1), or
 * -1. */
static int
token_lookup(struct store_conn *conn, const char *presented,
             struct store_oidc_token *token, struct store_platform *platform, int *found)
{
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    memset(token, 0, sizeof *token);
    if (platform != NULL)
        memset(platform, 0, sizeof *platform);
    *found = 0;
    if (strlen(presented) > OAUTH_CREDENTIAL_MAX)
        return 0;
    oauth_token_key(presented, hash);
    return platform != NULL ? store_oidc_token_get_with_platform(conn, hash, token, platform, found)
                            : store_oidc_token_get(conn, hash, token, found);
}

/* 401 for a request without any token: the challenge carries no error
 * code (RFC 6750 §3.1); the body is the usual JSON error. 0 or -1. */
static int
respond_no_token(struct http_response *response)
{
    if (http_response_add_header(response, "WWW-Authenticate",
                                 BEARER_SCHEME " realm=\"cyberid\"") != 0)
        return -1;
    return http_respond_error(response, 401, "invalid_token",
                              "a Bearer access token is required");
}

/* 401 invalid_token (RFC 6750 §3.1) for a token that does not work, for
 * whatever reason: the answer never says which. 0 or -1. */
static int
invalid_token(struct http_response *response)
{
    return oauth_error(response, 401, "invalid_token",
                       "the access token is unknown, expired or revoked", 0);
}

/* The token of an `Authorization: DPoP …` header, or NULL. */
static const char *
dpop_token(const struct http_request *request)
{
    const char *header = http_request_header(request, "Authorization");
    size_t scheme = strlen(DPOP_SCHEME);
    if (header == NULL || strncasecmp(header, DPOP_SCHEME " ", scheme + 1) != 0)
        return NULL;
    const char *token = header + scheme + 1;
    while (*token == ' ')
        token++;
    size_t length = strlen(token);
    return length > 0 && length <= OAUTH_CREDENTIAL_MAX ? token : NULL;
}

/* 401 for a DPoP-bound token used without a good proof (RFC 9449 §7.1):
 * the DPoP challenge with its error, and a fresh nonce. 0 or -1. */
static int
refuse_proof(const struct oidc_context *context, struct http_response *response,
             const char *error, const char *why, int64_t now)
{
    char challenge[160], nonce[DPOP_NONCE_SIZE];
    if (dpop_nonce_new(context->signer, now, nonce) != 0 ||
        string_format(challenge, sizeof challenge,
                      DPOP_SCHEME " error=\"%s\", algs=\"ES256 PS256\"", error) != 0 ||
        http_response_add_header(response, "WWW-Authenticate", challenge) != 0 ||
        http_response_add_header(response, "DPoP-Nonce", nonce) != 0)
        return -1;
    return http_respond_error(response, 401, error, why);
}

/* Checks the DPoP side of a userinfo request for a token found live:
 * a bound token needs the DPoP scheme and a proof by its key; an unbound
 * one the Bearer scheme. 0 when good; 1 refused (answered); -1 internal. */
static int
check_binding(const struct oidc_context *context, struct store_conn *conn,
              const struct http_request *request, const struct store_oidc_token *token,
              const char *presented, int dpop_scheme, int64_t now,
              struct http_response *response)
{
    if (token->dpop_jkt[0] == '\0')
        return dpop_scheme ? (invalid_token(response) == 0 ? 1 : -1) : 0;
    if (!dpop_scheme || http_request_header_count(request, "DPoP") != 1)
        return refuse_proof(context, response, "invalid_token",
                            "this access token is bound to a DPoP key: send it with the "
                            "DPoP scheme and one DPoP proof", now) == 0 ? 1 : -1;
    char url[URL_MAX], jkt[DPOP_JKT_SIZE];
    const char *problem = NULL;
    if (string_format(url, sizeof url, "%s/userinfo", context->issuer) != 0)
        return -1;
    const struct dpop_expect expect = {
        .method = request->method, .url = url, .access_token = presented,
    };
    int checked = dpop_proof_check(context->signer, conn, http_request_header(request, "DPoP"),
                                   &expect, now, jkt, &problem);
    if (checked < 0)
        return -1;
    if (checked == DPOP_OK && strcmp(jkt, token->dpop_jkt) != 0) {
        checked = DPOP_INVALID;
        problem = "the DPoP proof is made with another key than the token's";
    }
    if (checked == DPOP_OK)
        return 0;
    return refuse_proof(context, response,
                        checked == DPOP_NONCE ? "use_dpop_nonce" : "invalid_dpop_proof",
                        problem, now) == 0 ? 1 : -1;
}

/* 1 if the request's Content-Type is a form (parameters allowed). */
static int
is_form(const struct http_request *request)
{
    const char *type = http_request_header(request, "Content-Type");
    size_t length = strlen(FORM_CONTENT_TYPE);
    return type != NULL && strncasecmp(type, FORM_CONTENT_TYPE, length) == 0 &&
           (type[length] == '\0' || type[length] == ';' || type[length] == ' ');
}

/* The audit event of a userinfo answer: "claims.disclosed" by the
 * platform, via userinfo, with the claim names. 0 or -1 (nothing
 * written). */
static int
audit_userinfo(struct store_conn *conn, struct signer *signer,
               const struct store_oidc_token *token, const json_t *names)
{
    char actor[AUDIT_PLATFORM_NAME_SIZE];
    struct audit_sealed_event event;
    json_t *details = json_pack("{s:s, s:O, s:s}", "client_id", token->client_id,
                                "claims", names, "via", "userinfo");
    /* Sealed first (audit.h): the append is then one statement of its
     * own, outside any transaction, which holds the write lock for the
     * insert alone. */
    int sealed = details != NULL && audit_platform_name(token->client_id, actor) == 0 &&
                 audit_seal_citizen(signer, actor, "claims.disclosed", token->web_number,
                                    details, &event) == 0;
    int ok = sealed && audit_append_sealed(conn, &event, NULL) == 0;
    if (sealed)
        audit_sealed_event_clear(&event);
    json_decref(details);
    return ok ? 0 : -1;
}

int
oidc_userinfo_handle(const struct oidc_context *context,
                     const struct http_request *request, struct http_response *response)
{
    struct form form;
    struct store_oidc_token token;
    struct store_platform platform;
    json_t *allowed = NULL, *names = NULL, *granted = NULL, *body = NULL;
    struct store_conn *conn = NULL;
    int found = 0, active = 0, result = -1;
    const char *step = NULL;
    memset(&form, 0, sizeof form);
    memset(&token, 0, sizeof token);
    memset(&platform, 0, sizeof platform);
    const char *authorization = http_request_header(request, "Authorization");
    const char *presented = oauth_bearer(request);
    int dpop_scheme = 0;
    if (presented == NULL && (presented = dpop_token(request)) != NULL)
        dpop_scheme = 1;
    if (strcmp(request->method, "POST") == 0 && request->body_length > 0 &&
        is_form(request)) {
        if (form_parse(request->body, request->body_length, &form) != 0) {
            result = oauth_error(response, 400, "invalid_request",
                                 "the body is not a valid form, or repeats a parameter",
                                 0);
            goto done;
        }
        const char *in_body = form_get(&form, "access_token");
        if (in_body != NULL && authorization != NULL) {
            result = oauth_error(response, 400, "invalid_request",
                                 "give the access token once: header or body", 0);
            goto done;
        }
        if (in_body != NULL)
            presented = in_body;
    }
    if (presented == NULL) {
        /* A Bearer header whose token is empty or too long is a bad token;
         * no header at all (or another scheme) asks for one. */
        int bearer = authorization != NULL &&
                     strncasecmp(authorization, BEARER_SCHEME " ",
                                 strlen(BEARER_SCHEME) + 1) == 0;
        result = bearer ? invalid_token(response) : respond_no_token(response);
        goto done;
    }
    int64_t now = (int64_t)time(NULL);
    conn = store_acquire(context->store);
    if (token_lookup(conn, presented, &token, &platform, &found) != 0) {
        step = "token get";
        goto done;
    }
    if (!found || !token_is_live(&token, STORE_TOKEN_ACCESS, now)) {
        result = invalid_token(response);
        goto done;
    }
    int bound = check_binding(context, conn, request, &token, presented, dpop_scheme, now,
                              response);
    if (bound != 0) {
        result = bound > 0 ? 0 : -1;
        goto done;
    }
    if (platform.client_id[0] == '\0' || platform.disabled) {
        result = invalid_token(response);
        goto done;
    }
    /* The token's claims, as far as the registration still allows. */
    granted = json_loads(token.claims, JSON_REJECT_DUPLICATES, NULL);
    allowed = json_loads(platform.claims, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(granted) || !json_is_array(allowed)) {
        step = "token claims";
        goto done;
    }
    names = claims_intersect(granted, allowed);
    body = json_pack("{s:s}", "sub", token.sub);
    /* token_is_live() found the identity active, read with the token: it
     * is read again, with its record, only for a claim computed from it. */
    if (names == NULL || body == NULL ||
        claims_for_active_identity(conn, context->signer, token.web_number, names, now,
                                   body, &active) != 0)
        goto done;
    if (!active) {
        result = invalid_token(response);
        goto done;
    }
    /* Each answer discloses the claims' values again: the citizen's log
     * shows every one (names, never values), committed before the answer
     * leaves. An answer with no claim (sub only) discloses nothing new. */
    if (json_array_size(names) > 0 && audit_userinfo(conn, context->signer, &token, names) != 0) {
        step = "userinfo audit";
        goto done;
    }
    result = http_respond_json(response, 200, body);
    body = NULL;
done:
    if (step != NULL)
        result = oauth_store_failed(conn, step, response);
    json_decref(body);
    json_decref(names);
    json_decref(allowed);
    json_decref(granted);
    store_platform_clear(&platform);
    store_oidc_token_clear(&token);
    if (conn != NULL)
        store_release(context->store, conn);
    form_clear(&form);
    return result;
}

/* The start both platform-authenticated endpoints share (/introspect,
 * /revoke): parses the form, authenticates the caller and takes the
 * `token` field. Returns 0 with
 * *form, *platform (to clear) and *presented; 1 when answered (nothing to
 * clear); -1 internal failure (nothing to clear). */
static int
begin_platform_request(const struct oidc_context *context, struct store_conn *conn,
                       const struct http_request *request, struct form *form,
                       struct store_platform *platform, const char **presented,
                       struct http_response *response)
{
    *presented = NULL;
    memset(platform, 0, sizeof *platform);
    if (form_parse(request->body, request->body_length, form) != 0)
        return oauth_error(response, 400, "invalid_request",
                           "the body is not a valid form, or repeats a parameter",
                           0) == 0 ? 1 : -1;
    int authenticated = client_authenticate(context, conn, request, form, platform,
                                            response);
    if (authenticated != 0) {
        form_clear(form);
        if (authenticated > 0)
            return 1;
        return oauth_store_failed(conn, "client authentication", response) == 0 ? 1
                                                                                 : -1;
    }
    *presented = form_get(form, "token");
    if (*presented == NULL) {
        store_platform_clear(platform);
        form_clear(form);
        return oauth_error(response, 400, "invalid_request", "token is required", 0) == 0
                   ? 1
                   : -1;
    }
    return 0;
}

/* A platform's request about a token: its connection, form, platform and
 * the token it names (when found). */
struct token_request {
    struct store_conn *conn;
    struct form form;
    struct store_platform platform;
    struct store_oidc_token token;
    int found;
};

static void
end_token_request(const struct oidc_context *context, struct token_request *r)
{
    store_oidc_token_clear(&r->token);
    store_platform_clear(&r->platform);
    store_release(context->store, r->conn);
    form_clear(&r->form);
}

/* begin_platform_request(), then the token looked up. 0 with *r (to end
 * with end_token_request()); 1 when answered, -1 internal failure (both
 * with nothing to end). */
static int
begin_token_request(const struct oidc_context *context, const struct http_request *request,
                    struct token_request *r, struct http_response *response)
{
    const char *presented = NULL;
    memset(r, 0, sizeof *r);
    r->conn = store_acquire(context->store);
    int begun = begin_platform_request(context, r->conn, request, &r->form, &r->platform,
                                       &presented, response);
    if (begun != 0) {
        store_release(context->store, r->conn);
        return begun;
    }
    /* token_type_hint is optional and needless: the hash finds either kind. */
    if (token_lookup(r->conn, presented, &r->token, NULL, &r->found) != 0) {
        int failed = oauth_store_failed(r->conn, "token get", response);
        end_token_request(context, r);
        return failed == 0 ? 1 : -1;
    }
    return 0;
}

int
oidc_introspect_handle(const struct oidc_context *context,
                       const struct http_request *request, struct http_response *response)
{
    struct token_request r;
    int begun = begin_token_request(context, request, &r, response);
    if (begun != 0)
        return begun > 0 ? 0 : -1;
    json_t *answer = token_introspection(r.found ? &r.token : NULL, r.platform.client_id,
                                         context->issuer, (int64_t)time(NULL));
    int result = answer != NULL ? http_respond_json(response, 200, answer) : -1;
    end_token_request(context, &r);
    return result;
}

/* Revokes what token (the caller's) stands for, with its audit event, in
 * one transaction. 0 or -1 (rolled back). */
static int
revoke_token(struct store_conn *conn, struct signer *signer,
             const struct store_platform *platform,
             const struct store_oidc_token *token)
{
    char actor[AUDIT_PLATFORM_NAME_SIZE];
    json_t *details = NULL;
    int64_t count = 0;
    int changed = 0;
    if (audit_platform_name(platform->client_id, actor) != 0 ||
        store_begin(conn) != 0)
        return -1;
    const char *action = NULL;
    if (strcmp(token->kind, STORE_TOKEN_REFRESH) == 0) {
        if (store_oidc_grant_revoke(conn, token->web_number, token->grant_id, &count) != 0)
            goto fail;
        action = count > 0 ? "grant.revoke" : NULL;
        details = json_pack("{s:s, s:s, s:I}", "client_id", platform->client_id,
                            "reason", REASON_PLATFORM_REQUEST, "tokens",
                            (json_int_t)count);
    } else {
        if (store_oidc_token_set_status(conn, token->web_number, token->token_hash,
                                        STORE_TOKEN_REVOKED,
                                        &changed) != 0)
            goto fail;
        action = changed ? "token.revoke" : NULL;
        details = json_pack("{s:s, s:s}", "client_id", platform->client_id, "kind",
                            STORE_TOKEN_ACCESS);
    }
    if (details == NULL ||
        (action != NULL &&
         audit_append_citizen(conn, signer, actor, action, token->web_number, details,
                              NULL) != 0) ||
        store_commit(conn) != 0)
        goto fail;
    json_decref(details);
    return 0;
fail:
    json_decref(details);
    store_rollback(conn);
    return -1;
}

int
oidc_revoke_handle(const struct oidc_context *context,
                   const struct http_request *request, struct http_response *response)
{
    struct token_request r;
    int begun = begin_token_request(context, request, &r, response);
    if (begun != 0)
        return begun > 0 ? 0 : -1;
    int result;
    /* Another client's token, or an unknown one, is left alone with the
     * same answer, so that the answer never tells a token exists. */
    if (r.found && strcmp(r.token.client_id, r.platform.client_id) == 0 &&
        revoke_token(r.conn, context->signer, &r.platform, &r.token) != 0)
        result = oauth_store_failed(r.conn, "token revoke", response);
    else
        result = http_respond_json(response, 200, json_object());
    end_token_request(context, &r);
    return result;
}
