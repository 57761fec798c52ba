/* token: POST /token, the platform's back channel (RFC 6749 §3.2, §4.1.3,
 * §6; RFC 7636 §4.6; OpenID Connect Core §3.1.3).
 *
 * authorization_code: the code (single use, OIDC_CODE_LIFETIME), the
 * redirect URI of the request and the PKCE verifier give an ID token
 * (ES256, through the signer), an opaque access token and a refresh token;
 * the released claims are disclosed now, so their names (never values) go
 * to the audit log in the transaction that writes the tokens. A code
 * presented twice revokes every token it gave.
 *
 * refresh_token: rotation. Each refresh token is exchanged once for a new
 * access and refresh token of the same grant (same claims, same
 * auth_time; no new ID token). Presenting a rotated one again is taken as
 * theft: the whole grant is revoked. A `scope` may narrow the new access
 * token's claims (names beyond the grant are ignored: the intersection is
 * issued, and the response's `scope` says what); the new refresh token
 * keeps the grant's.
 *
 * DPoP (RFC 9449): a request with a DPoP proof (one with a fresh server
 * nonce, else use_dpop_nonce and a DPoP-Nonce header) gets tokens bound
 * to its key (token_type DPoP); a code pushed with a key (par.c) is taken
 * only with a proof by that key, and a bound refresh token likewise. A
 * FAPI 2.0 platform must send a proof.
 *
 * Errors are RFC 6749 §5.2: 400 {"error", "error_description"}, 401
 * invalid_client. */
#include "oidc/oidc.h"

#include "audit/audit.h"
#include "oidc/claims.h"
#include "oidc/client_auth.h"
#include "oidc/dpop.h"
#include "oidc/form.h"
#include "oidc/jws.h"
#include "oidc/oauth.h"
#include "oidc/pkce.h"
#include "oidc/subject.h"
#include "oidc/token_format.h"
#include "util/counters.h"
#include "util/strings.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GRANT_AUTHORIZATION_CODE "authorization_code"
#define GRANT_REFRESH_TOKEN "refresh_token"
#define REASON_CODE_REUSED "code_reused"
#define REASON_REFRESH_REUSED "refresh_token_reused"
#define TOKEN_URL_MAX 1024

/* One /token request. */
struct exchange {
    const struct oidc_context *context;
    struct store_conn *conn;
    const struct form *form;
    const struct store_platform *platform;
    int64_t now;
    const char *jkt;            /* the DPoP proof's key, "" when none */
    struct http_response *response;
};

/* A 400 OAuth error. 0, or -1 when it cannot be built. */
static int
refuse(struct http_response *response, const char *code, const char *why)
{
    return oauth_error(response, 400, code, why, 0);
}

/* Revokes every token of a grant with its audit event, inside the
 * caller's transaction; *count (may be NULL) is how many. 0 or -1. */
static int
revoke_grant_in(struct exchange *x, const uint8_t grant_id[STORE_OIDC_HASH_BYTES],
                const char *web_number, const char *reason, int64_t *count)
{
    char actor[AUDIT_PLATFORM_NAME_SIZE];
    int64_t revoked = 0;
    if (audit_platform_name(x->platform->client_id, actor) != 0 ||
        store_oidc_grant_revoke(x->conn, web_number, grant_id, &revoked) != 0)
        return -1;
    json_t *details = json_pack("{s:s, s:s, s:I}", "client_id", x->platform->client_id,
                                "reason", reason, "tokens", (json_int_t)revoked);
    int audited = details != NULL &&
                  audit_append_citizen(x->conn, x->context->signer, actor, "grant.revoke",
                                       web_number, details,
                               NULL) == 0;
    json_decref(details);
    if (count != NULL)
        *count = revoked;
    return audited ? 0 : -1;
}

/* The same in a transaction of its own. 0 or -1 (rolled back). */
static int
revoke_grant(struct exchange *x, const uint8_t grant_id[STORE_OIDC_HASH_BYTES],
             const char *web_number, const char *reason)
{
    if (store_begin(x->conn) != 0)
        return -1;
    if (revoke_grant_in(x, grant_id, web_number, reason, NULL) != 0 ||
        store_commit(x->conn) != 0) {
        store_rollback(x->conn);
        return -1;
    }
    return 0;
}

/* Inserts a new token like `base` (grant, client, subject, auth_time) of
 * kind with claims (JSON array text) living `lifetime` seconds; its value
 * goes to out. 0 or -1. */
static int
insert_token(struct exchange *x, const struct store_oidc_token *base, const char *kind,
             const char *claims, int64_t lifetime, const char out[OAUTH_TOKEN_SIZE])
{
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    oauth_token_key(out, hash);
    return store_oidc_token_insert_successor(x->conn, base, hash, kind, claims, x->now,
                                             x->now + lifetime);
}

/* The 200 answer, with Pragma: no-cache (RFC 6749 §5.1; the server adds
 * Cache-Control: no-store). 0 or -1. */
static int
respond_tokens(struct http_response *response, const char *access, const char *refresh,
               const char *id_token, const json_t *names, int bound)
{
    char scope[TOKEN_SCOPE_MAX];
    if (token_scope(names, scope) != 0 ||
        http_response_add_header(response, "Pragma", "no-cache") != 0)
        return -1;
    return http_respond_json(response, 200,
                             token_response(access, refresh, id_token, scope, bound));
}

/* Signs the ID token of a code exchange, its sub the citizen's pairwise
 * subject at the platform's sector, which the signer derives and copies
 * into sub. 0 with *id_token (free()), or -1. */
static int
sign_id_token(struct exchange *x, const struct store_oidc_login *login,
              const char *access, const json_t *values, char sub[SUBJECT_SIZE],
              char **id_token)
{
    char at_hash[TOKEN_AT_HASH_SIZE];
    *id_token = NULL;
    if (token_at_hash(access, at_hash) != 0)
        return -1;
    struct token_id_fields fields = {
        .issuer = x->context->issuer, .sub = NULL, .client_id = x->platform->client_id,
        .now = x->now, .auth_time = login->auth_time, .nonce = login->nonce,
        .at_hash = at_hash,
    };
    json_t *claims = token_id_claims(&fields, values);
    int status = claims != NULL ? jws_sign_id_token(x->conn, x->context->signer, claims,
                                                    x->platform->sector_id,
                                                    login->web_number, x->now, sub, id_token)
                                : -1;
    json_decref(claims);
    return status;
}

/* Writes the tokens of a code exchange and its claims.disclosed event,
 * inside the exchange's transaction. 0 or -1. */
static int
store_code_tokens(struct exchange *x, const struct store_oidc_login *login,
                  const struct store_oidc_token *base, const char *claims_text,
                  const json_t *names, const char *access, const char *refresh)
{
    char actor[AUDIT_PLATFORM_NAME_SIZE];
    if (audit_platform_name(x->platform->client_id, actor) != 0)
        return -1;
    json_t *details = json_pack("{s:s, s:O}", "client_id", x->platform->client_id,
                                "claims", (json_t *)names);
    int written = details != NULL &&
                  insert_token(x, base, STORE_TOKEN_ACCESS, claims_text,
                               OIDC_ACCESS_TOKEN_LIFETIME, access) == 0 &&
                  insert_token(x, base, STORE_TOKEN_REFRESH, claims_text,
                               OIDC_REFRESH_TOKEN_LIFETIME, refresh) == 0 &&
                  audit_append_citizen(x->conn, x->context->signer, actor, "claims.disclosed",
                                       login->web_number,
                               details, NULL) == 0;
    json_decref(details);
    return written ? 0 : -1;
}

/* grant_type=authorization_code. Returns as a handler does.
 *
 * One transaction from the code's presentation to its tokens: the
 * presentation's UPDATE locks the login row, so a second presentation of
 * the same code (on any node) waits until this one has committed, then
 * counts a second use and revokes the tokens written here. Exactly one
 * presentation is the first, and it gets the tokens. A refused
 * presentation (wrong client, verifier or redirect URI, expired) commits
 * too: it counts as a use, so a code that was tried is spent. */
static int
grant_code(struct exchange *x)
{
    const char *code = form_get(x->form, "code");
    const char *redirect_uri = form_get(x->form, "redirect_uri");
    const char *verifier = form_get(x->form, "code_verifier");
    if (code == NULL || redirect_uri == NULL || verifier == NULL)
        return refuse(x->response, "invalid_request",
                      "code, redirect_uri and code_verifier are required");
    if (strlen(code) > OAUTH_CREDENTIAL_MAX)
        return refuse(x->response, "invalid_grant", "unknown authorization code");

    struct store_oidc_login login;
    uint8_t code_hash[STORE_OIDC_HASH_BYTES];
    char identity_status[STORE_STATUS_MAX];
    char sub[SUBJECT_SIZE];
    char access[OAUTH_TOKEN_SIZE] = "", refresh[OAUTH_TOKEN_SIZE] = "";
    char *id_token = NULL, *claims_text = NULL;
    json_t *released = NULL, *allowed = NULL, *names = NULL, *values = NULL;
    int found = 0, active = 0, result = -1;
    const char *step = NULL;   /* set: a store failure at this step */
    const char *refusal = NULL, *refusal_code = "invalid_grant";
    char why[160];
    memset(&login, 0, sizeof login);
    oauth_hash(code, code_hash);
    if (store_begin(x->conn) != 0)
        return oauth_store_failed(x->conn, "code begin", x->response);
    if (store_oidc_code_present(x->conn, code_hash, &login, &found, identity_status) != 0) {
        step = "code present";
        goto done;
    }
    if (!found) {
        refusal = "unknown authorization code";
        goto refused;
    }
    if (strcmp(login.client_id, x->platform->client_id) != 0) {
        refusal = "the authorization code was issued to another client";
        goto refused;
    }
    if (login.code_uses > 1) {
        int64_t revoked = 0;
        if (revoke_grant_in(x, login.login_hash, login.web_number, REASON_CODE_REUSED,
                            &revoked) != 0) {
            step = "grant revoke";
            goto done;
        }
        snprintf(why, sizeof why,
                 "the code was already used; %lld token%s of its grant revoked",
                 (long long)revoked, revoked == 1 ? "" : "s");
        refusal = why;
        goto refused;
    }
    if (x->now > login.code_expires_at) {
        refusal = "the authorization code has expired";
        goto refused;
    }
    if (strcmp(redirect_uri, login.redirect_uri) != 0) {
        refusal = "redirect_uri is not the one of the authorization request";
        goto refused;
    }
    if (!pkce_s256_matches(verifier, login.code_challenge)) {
        refusal = "the code_verifier does not match the code_challenge";
        goto refused;
    }
    /* RFC 9449 §10: a code bound to a key goes only with a proof by it. */
    if (login.dpop_jkt != NULL && strcmp(login.dpop_jkt, x->jkt) != 0) {
        refusal = x->jkt[0] ? "the code is bound to another DPoP key"
                            : "the code is bound to a DPoP key: send a DPoP proof";
        refusal_code = "invalid_dpop_proof";
        goto refused;
    }
    /* What the citizen released, as far as the registration still allows. */
    released = login.released ? json_loads(login.released, JSON_REJECT_DUPLICATES, NULL)
                              : NULL;
    allowed = json_loads(x->platform->claims, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(released) || !json_is_array(allowed)) {
        step = "released claims";
        goto done;
    }
    names = claims_intersect(released, allowed);
    values = json_object();
    claims_text = names ? json_dumps(names, JSON_COMPACT) : NULL;
    /* The identity's status came with the code where the store reads both
     * in one statement (not on Citus): then its record is read only for a
     * claim computed from it. Otherwise claims_for_identity() reads the
     * status with the record. Either way a suspended or locked identity
     * gets no token. */
    int computed = 0;
    if (values != NULL && claims_text != NULL)
        computed = strcmp(identity_status, STORE_IDENTITY_ACTIVE) == 0
                   ? claims_for_active_identity(x->conn, x->context->signer, login.web_number,
                                                names, x->now, values, &active)
                   : claims_for_identity(x->conn, x->context->signer, login.web_number, names,
                                         x->now, values, &active);
    if (values == NULL || claims_text == NULL || computed != 0)
        goto done;
    if (!active) {
        refusal = "the identity is not active";
        goto refused;
    }
    if (oauth_token_new(access) != 0 || oauth_token_new(refresh) != 0 ||
        sign_id_token(x, &login, access, values, sub, &id_token) != 0)
        goto done;
    struct store_oidc_token base;
    memset(&base, 0, sizeof base);
    memcpy(base.grant_id, login.login_hash, sizeof base.grant_id);
    base.auth_time = login.auth_time;
    if (string_copy(base.dpop_jkt, sizeof base.dpop_jkt, x->jkt) != 0 ||
        string_copy(base.client_id, sizeof base.client_id, x->platform->client_id) != 0 ||
        string_copy(base.web_number, sizeof base.web_number, login.web_number) != 0 ||
        string_copy(base.sub, sizeof base.sub, sub) != 0)
        goto done;
    if (store_code_tokens(x, &login, &base, claims_text, names, access, refresh) != 0 ||
        store_commit(x->conn) != 0) {
        step = "token insert";
        goto done;
    }
    result = respond_tokens(x->response, access, refresh, id_token, names, x->jkt[0] != 0);
    if (result == 0)
        counter_add(COUNTER_LOGINS, "code_redeemed");
    goto done;
refused:
    /* The presentation (a counted use, a revocation) stays. */
    if (store_commit(x->conn) != 0) {
        step = "code commit";
        goto done;
    }
    result = refuse(x->response, refusal_code, refusal);
done:
    if (step != NULL) {
        store_rollback(x->conn);
        result = oauth_store_failed(x->conn, step, x->response);
    } else if (result != 0) {
        store_rollback(x->conn); /* after a failure; harmless after a commit */
    }
    secret_wipe(access, sizeof access);
    secret_wipe(refresh, sizeof refresh);
    if (id_token != NULL) {
        secret_wipe(id_token, strlen(id_token));
        free(id_token);
    }
    free(claims_text);
    json_decref(values);
    json_decref(names);
    json_decref(allowed);
    json_decref(released);
    store_oidc_login_clear(&login);
    return result;
}

/* How a refresh grant's new pair is written (rotate()). */
enum rotation {
    ROTATE, /* in a transaction of its own: the old token marked rotated */
    REUSE,  /* likewise, the old token left as it is (its reuse interval) */
    TAKEN,  /* in the caller's transaction, which store_oidc_refresh_take()
             * has opened and in which it has rotated the old token */
};

/* Writes a refresh grant's new pair, as `how` says, and commits. *raced
 * is 1 (nothing written) when another request rotated the token first
 * (ROTATE only). 0 or -1; either way the transaction is over (committed,
 * or rolled back). */
static int
rotate(struct exchange *x, const struct store_oidc_token *old, const char *access_claims,
       const char *access, const char *refresh, enum rotation how, int *raced)
{
    *raced = 0;
    if (how != TAKEN) {
        int changed = 1;
        if (store_begin(x->conn) != 0)
            return -1;
        /* Within the platform's reuse interval the rotated token stays as
         * it is: another pair of the same grant is issued beside the
         * first. */
        if (how == ROTATE && store_oidc_token_rotate(x->conn, old->web_number,
                                                     old->token_hash, x->now, &changed) != 0)
            goto fail;
        /* Read active, then rotated by a parallel request before this one
         * could: with a reuse interval, that is what it is for, so long as
         * the token is rotated (not revoked) within it. */
        if (!changed && x->platform->refresh_reuse > 0) {
            struct store_oidc_token now_stored;
            int found = 0;
            if (store_oidc_token_get(x->conn, old->token_hash, &now_stored, &found) != 0)
                goto fail;
            changed = found && strcmp(now_stored.status, STORE_TOKEN_ROTATED) == 0 &&
                      now_stored.rotated_at > 0 &&
                      x->now - now_stored.rotated_at <= x->platform->refresh_reuse;
            store_oidc_token_clear(&now_stored);
        }
        if (!changed) {
            *raced = 1;
            store_rollback(x->conn);
            return 0;
        }
    }
    if (insert_token(x, old, STORE_TOKEN_ACCESS, access_claims,
                     OIDC_ACCESS_TOKEN_LIFETIME, access) != 0 ||
        insert_token(x, old, STORE_TOKEN_REFRESH, old->claims,
                     OIDC_REFRESH_TOKEN_LIFETIME, refresh) != 0 ||
        store_commit(x->conn) != 0)
        goto fail;
    return 0;
fail:
    store_rollback(x->conn);
    return -1;
}

/* A refresh grant's answer for a live token of this platform and of an
 * active identity: the DPoP binding and the scope asked are checked, then
 * the new pair is written as `how` says. With TAKEN the caller's
 * transaction is open, and ended here on every path. Returns as a handler
 * does. */
static int
refresh_issue(struct exchange *x, const struct store_oidc_token *token, enum rotation how)
{
    const char *scope = form_get(x->form, "scope");
    char access[OAUTH_TOKEN_SIZE] = "", refresh[OAUTH_TOKEN_SIZE] = "";
    char *access_claims = NULL;
    json_t *granted = NULL, *narrowed = NULL;
    int open = how == TAKEN, raced = 0, result = -1;
    const char *step = NULL;
    if (token->dpop_jkt[0] != '\0' && strcmp(token->dpop_jkt, x->jkt) != 0) {
        result = refuse(x->response, "invalid_dpop_proof",
                        x->jkt[0] ? "the refresh token is bound to another DPoP key"
                                  : "the refresh token is bound to a DPoP key: send a "
                                    "DPoP proof");
        goto done;
    }
    granted = json_loads(token->claims, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(granted)) {
        step = "token claims";
        goto done;
    }
    if (scope != NULL) {
        int narrow = token_scope_narrow(scope, granted, &narrowed);
        if (narrow < 0)
            goto done;
        if (narrow > 0) {
            result = refuse(x->response, "invalid_scope",
                            "the scope is empty or longer than 1024 bytes");
            goto done;
        }
        access_claims = json_dumps(narrowed, JSON_COMPACT);
        if (access_claims == NULL)
            goto done;
    }
    if (oauth_token_new(access) != 0 || oauth_token_new(refresh) != 0)
        goto done;
    open = 0; /* rotate() ends the transaction */
    if (rotate(x, token, access_claims ? access_claims : token->claims, access, refresh, how,
               &raced) != 0) {
        step = "token rotate";
        goto done;
    }
    if (raced)
        result = refuse(x->response, "invalid_grant",
                        "the refresh token was already used");
    else
        result = respond_tokens(x->response, access, refresh, NULL,
                                narrowed ? narrowed : granted, token->dpop_jkt[0] != '\0');
done:
    if (open) /* refused, or failed, before rotate(): the old token stays */
        store_rollback(x->conn);
    if (step != NULL)
        result = oauth_store_failed(x->conn, step, x->response);
    secret_wipe(access, sizeof access);
    secret_wipe(refresh, sizeof refresh);
    free(access_claims);
    json_decref(narrowed);
    json_decref(granted);
    return result;
}

/* A refresh token that store_oidc_refresh_take() did not take: read, and
 * answered by what it is (unknown, another platform's, a replay that ends
 * the grant, within its reuse interval, expired, revoked, its identity not
 * active; or live after all, its identity reinstated in between). Returns
 * as a handler does. */
static int
refresh_classify(struct exchange *x, const uint8_t hash[STORE_OIDC_HASH_BYTES])
{
    struct store_oidc_token token;
    int found = 0, result = -1;
    if (store_oidc_token_get(x->conn, hash, &token, &found) != 0)
        return oauth_store_failed(x->conn, "token get", x->response);
    if (!found || strcmp(token.kind, STORE_TOKEN_REFRESH) != 0 ||
        strcmp(token.client_id, x->platform->client_id) != 0) {
        result = refuse(x->response, "invalid_grant", "unknown refresh token");
        goto done;
    }
    /* A rotated token again: within the platform's reuse interval (a
     * confidential client's parallel requests), a sibling pair; else a
     * replay, and the grant ends (RFC 9700 §4.14.2). */
    int reuse = strcmp(token.status, STORE_TOKEN_ROTATED) == 0 &&
                x->platform->refresh_reuse > 0 && token.rotated_at > 0 &&
                x->now - token.rotated_at <= x->platform->refresh_reuse &&
                token.expires_at > x->now;
    if (!reuse && strcmp(token.status, STORE_TOKEN_ROTATED) == 0) {
        if (revoke_grant(x, token.grant_id, token.web_number, REASON_REFRESH_REUSED) != 0) {
            result = oauth_store_failed(x->conn, "grant revoke", x->response);
            goto done;
        }
        result = refuse(x->response, "invalid_grant",
                        "the refresh token was already used; the grant is revoked");
        goto done;
    }
    if ((!reuse && strcmp(token.status, STORE_TOKEN_ACTIVE) != 0) || token.expires_at <= x->now) {
        result = refuse(x->response, "invalid_grant",
                        "the refresh token has expired or was revoked");
        goto done;
    }
    if (strcmp(token.identity_status, STORE_IDENTITY_ACTIVE) != 0) {
        result = refuse(x->response, "invalid_grant", "the identity is not active");
        goto done;
    }
    result = refresh_issue(x, &token, reuse ? REUSE : ROTATE);
done:
    store_oidc_token_clear(&token);
    return result;
}

/* A refresh grant that narrows no scope (the usual case): the live token
 * taken and its successors written by one store call
 * (store_oidc_refresh_rotate(): on PostgreSQL one statement, one round
 * trip). A token it did not take is read to be told apart
 * (refresh_classify()), a DPoP key other than its binding's among the
 * reasons. Returns as a handler does. */
static int
refresh_whole(struct exchange *x, const uint8_t hash[STORE_OIDC_HASH_BYTES])
{
    char access[OAUTH_TOKEN_SIZE] = "", refresh[OAUTH_TOKEN_SIZE] = "";
    uint8_t access_hash[STORE_OIDC_HASH_BYTES], refresh_hash[STORE_OIDC_HASH_BYTES];
    struct store_oidc_token token;
    json_t *granted = NULL;
    int taken = 0, result = -1;
    if (oauth_token_new(access) != 0 || oauth_token_new(refresh) != 0)
        goto done;
    oauth_token_key(access, access_hash);
    oauth_token_key(refresh, refresh_hash);
    if (store_oidc_refresh_rotate(x->conn, hash, x->platform->client_id, x->now, x->jkt,
                                  access_hash, x->now + OIDC_ACCESS_TOKEN_LIFETIME,
                                  refresh_hash, x->now + OIDC_REFRESH_TOKEN_LIFETIME, &token,
                                  &taken) != 0) {
        result = oauth_store_failed(x->conn, "token rotate", x->response);
        goto done;
    }
    if (!taken) {
        result = refresh_classify(x, hash);
        goto done;
    }
    granted = json_loads(token.claims, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_array(granted))
        result = respond_tokens(x->response, access, refresh, NULL, granted,
                                token.dpop_jkt[0] != '\0');
    else
        result = oauth_store_failed(x->conn, "token claims", x->response);
    store_oidc_token_clear(&token);
done:
    secret_wipe(access, sizeof access);
    secret_wipe(refresh, sizeof refresh);
    json_decref(granted);
    return result;
}

/* grant_type=refresh_token. Returns as a handler does.
 *
 * A live token presented once is taken (checked and rotated) by one
 * statement in the transaction that writes its successors; without a
 * scope to narrow, by refresh_whole(). Anything else is rolled back and
 * read to be told apart (refresh_classify()): a token presented twice at
 * once is taken by the first; the second, once the first has committed,
 * finds it rotated, a replay unless within the platform's reuse
 * interval. */
static int
grant_refresh(struct exchange *x)
{
    const char *presented = form_get(x->form, "refresh_token");
    if (presented == NULL)
        return refuse(x->response, "invalid_request", "refresh_token is required");
    if (strlen(presented) > OAUTH_CREDENTIAL_MAX)
        return refuse(x->response, "invalid_grant", "unknown refresh token");

    struct store_oidc_token token;
    uint8_t hash[STORE_OIDC_HASH_BYTES];
    int taken = 0;
    oauth_token_key(presented, hash);
    if (form_get(x->form, "scope") == NULL)
        return refresh_whole(x, hash);
    if (store_begin(x->conn) != 0)
        return oauth_store_failed(x->conn, "token begin", x->response);
    if (store_oidc_refresh_take(x->conn, hash, x->platform->client_id, x->now, &token,
                                &taken) != 0) {
        store_rollback(x->conn);
        return oauth_store_failed(x->conn, "token take", x->response);
    }
    if (!taken) {
        store_rollback(x->conn);
        return refresh_classify(x, hash);
    }
    int result = refresh_issue(x, &token, TAKEN);
    store_oidc_token_clear(&token);
    return result;
}

/* The DPoP proof of a /token request, if any (FAPI 2.0 platforms must
 * send one). 0 with jkt (its key, "" for none, with a fresh DPoP-Nonce
 * header added for the next request); 1 refused (answered); -1 internal
 * failure. */
static int
token_dpop(const struct oidc_context *context, struct store_conn *conn,
           const struct http_request *request, const struct store_platform *platform,
           int64_t now, char jkt[DPOP_JKT_SIZE], struct http_response *response)
{
    char url[TOKEN_URL_MAX];
    jkt[0] = '\0';
    if (platform->fapi2 && http_request_header_count(request, "DPoP") == 0)
        return refuse(response, "invalid_dpop_proof",
                      "this platform's tokens are bound to a DPoP key: send a DPoP proof") == 0
                   ? 1
                   : -1;
    if (string_format(url, sizeof url, "%s/token", context->issuer) != 0)
        return -1;
    return dpop_server_proof(context->signer, conn, request, url, now, jkt, response);
}

int
oidc_token_handle(const struct oidc_context *context, const struct http_request *request,
                  struct http_response *response)
{
    struct form form;
    struct store_platform platform;
    if (form_parse(request->body, request->body_length, &form) != 0)
        return refuse(response, "invalid_request",
                      "the body is not a valid form, or repeats a parameter");
    int result = -1;
    struct store_conn *conn = store_acquire(context->store);
    int authenticated = client_authenticate(context, conn, request, &form, &platform,
                                            response);
    if (authenticated != 0) {
        result = authenticated > 0 ? 0
                                   : oauth_store_failed(conn, "client authentication",
                                                        response);
        goto done;
    }
    char jkt[DPOP_JKT_SIZE] = "";
    int64_t now = (int64_t)time(NULL);
    int proved = token_dpop(context, conn, request, &platform, now, jkt, response);
    if (proved != 0) {
        result = proved > 0 ? 0 : -1;
        store_platform_clear(&platform);
        goto done;
    }
    struct exchange exchange = {
        .context = context, .conn = conn, .form = &form, .platform = &platform,
        .now = now, .jkt = jkt, .response = response,
    };
    const char *grant_type = form_get(&form, "grant_type");
    if (grant_type == NULL)
        result = refuse(response, "invalid_request", "grant_type is required");
    else if (strcmp(grant_type, GRANT_AUTHORIZATION_CODE) == 0)
        result = grant_code(&exchange);
    else if (strcmp(grant_type, GRANT_REFRESH_TOKEN) == 0)
        result = grant_refresh(&exchange);
    else
        result = refuse(response, "unsupported_grant_type",
                        "grant_type must be authorization_code or refresh_token");
    store_platform_clear(&platform);
done:
    store_release(context->store, conn);
    form_clear(&form);
    return result;
}
