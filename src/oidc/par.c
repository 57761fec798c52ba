/* par: POST /par, pushed authorization requests (RFC 9126). A platform
 * authenticates as at /token and sends the parameters of its authorization
 * request in the body; they are checked as /authorize checks them
 * (authorize.h) and kept for AUTHORIZE_PUSHED_LIFETIME under a random
 * request_uri, which the browser then brings to /authorize with the
 * client_id alone. Open to every platform, required of FAPI 2.0 ones.
 *
 * A DPoP proof sent here (or a dpop_jkt parameter) binds the code to that
 * key (RFC 9449 §10): /token then takes the code only with a proof by it.
 * FAPI 2.0 platforms must bind their code so. A proof here needs a fresh
 * server nonce (use_dpop_nonce with a DPoP-Nonce header otherwise).
 *
 * Refusals are RFC 9126 §2.3 errors: 400 {"error", "error_description"}
 * (invalid_request, invalid_scope, unsupported_response_type, ...), 401
 * invalid_client, 429 when the platform starts too many. */
#include "oidc/oidc.h"

#include "oidc/authorize.h"
#include "oidc/client_auth.h"
#include "oidc/dpop.h"
#include "oidc/form.h"
#include "oidc/oauth.h"
#include "util/counters.h"
#include "util/strings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAR_PATH "/par"
#define URL_MAX 1024

/* A form field; NULL when absent or empty. */
static const char *
form_param(const void *form, const char *name)
{
    const char *value = form_get(form, name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

static int
refuse(struct http_response *response, const char *code, const char *why)
{
    return oauth_error(response, 400, code, why, 0);
}

/* Adds a fresh DPoP-Nonce header. 0 or -1. */
static int
add_nonce(const struct oidc_context *context, struct http_response *response, int64_t now)
{
    char nonce[DPOP_NONCE_SIZE];
    return dpop_nonce_new(context->signer, now, nonce) == 0 &&
                   http_response_add_header(response, "DPoP-Nonce", nonce) == 0
               ? 0
               : -1;
}

/* The DPoP key the request binds its code to: the proof's (checked), or
 * the dpop_jkt parameter, which must then be the same. 0 with jkt ("" for
 * none); 1 refused (answered); -1 internal failure. */
static int
binding_key(const struct oidc_context *context, struct store_conn *conn,
            const struct http_request *request, const struct authorize_params *params,
            int64_t now, char jkt[DPOP_JKT_SIZE], struct http_response *response)
{
    jkt[0] = '\0';
    size_t proofs = http_request_header_count(request, "DPoP");
    if (proofs > 1)
        return refuse(response, "invalid_dpop_proof", "one DPoP header at most") == 0 ? 1
                                                                                       : -1;
    if (proofs == 1) {
        char url[URL_MAX];
        const char *problem = NULL;
        if (string_format(url, sizeof url, "%s" PAR_PATH, context->issuer) != 0)
            return -1;
        const struct dpop_expect expect = {.method = "POST", .url = url, .require_nonce = 1};
        int checked = dpop_proof_check(context->signer, conn,
                                       http_request_header(request, "DPoP"), &expect, now,
                                       jkt, &problem);
        if (checked < 0)
            return -1;
        if (checked != DPOP_OK) {
            if (add_nonce(context, response, now) != 0)
                return -1;
            return refuse(response,
                          checked == DPOP_NONCE ? "use_dpop_nonce" : "invalid_dpop_proof",
                          problem) == 0
                       ? 1
                       : -1;
        }
        if (add_nonce(context, response, now) != 0)
            return -1;
    }
    if (params->dpop_jkt != NULL) {
        if (jkt[0] != '\0' && strcmp(jkt, params->dpop_jkt) != 0)
            return refuse(response, "invalid_request",
                          "dpop_jkt is not the key of the DPoP proof") == 0
                       ? 1
                       : -1;
        if (string_copy(jkt, DPOP_JKT_SIZE, params->dpop_jkt) != 0)
            return refuse(response, "invalid_request",
                          "dpop_jkt must be a JWK SHA-256 thumbprint") == 0
                       ? 1
                       : -1;
    }
    return 0;
}

/* Checks the pushed parameters as /authorize would. NULL when good, else
 * the description with *error. */
static const char *
check_pushed(const struct store_platform *platform, const struct authorize_params *params,
             const char **error)
{
    json_t *asked = NULL;
    const char *problem = NULL;
    *error = "invalid_request";
    if (params->redirect_uri == NULL)
        return "redirect_uri is required";
    if (!authorize_redirect_uri_is_registered(platform->redirect_uris, params->redirect_uri))
        return "redirect_uri is not one this platform registered";
    int bad_state = params->state != NULL && !authorize_state_is_valid(params->state);
    const char *description = authorize_params_check(params, bad_state, error);
    if (description != NULL)
        return description;
    int scoped = authorize_scope_claims(params->scope, platform->claims, &asked, &problem);
    json_decref(asked);
    if (scoped < 0) {
        *error = "server_error";
        return "out of memory";
    }
    if (scoped > 0) {
        *error = "invalid_scope";
        return problem;
    }
    return NULL;
}

/* The pushed parameters as a JSON object: those an authorization request
 * may give, as strings. NULL when out of memory. */
static json_t *
pushed_json(const struct form *form)
{
    size_t count = 0;
    const char *const *names = authorize_parameter_names(&count);
    json_t *object = json_object();
    for (size_t i = 0; object != NULL && i < count; i++) {
        const char *value = form_get(form, names[i]);
        if (value != NULL && json_object_set_new(object, names[i], json_string(value)) != 0) {
            json_decref(object);
            object = NULL;
        }
    }
    return object;
}

/* Stores the request and answers 201 with its request_uri. 0 or -1. */
static int
push(struct store_conn *conn, const struct store_platform *platform, const struct form *form, const char *jkt,
     int64_t now, struct http_response *response)
{
    char secret[OAUTH_SECRET_SIZE] = "";
    char request_uri[sizeof AUTHORIZE_REQUEST_URI_PREFIX + OAUTH_SECRET_SIZE];
    json_t *params = pushed_json(form);
    struct store_oidc_par par = {
        .params = params ? json_dumps(params, JSON_COMPACT) : NULL,
        .dpop_jkt = jkt[0] ? (char *)jkt : NULL,
        .expires_at = now + AUTHORIZE_PUSHED_LIFETIME,
    };
    int result = -1;
    if (par.params == NULL || oauth_secret_new(secret) != 0 ||
        string_copy(par.client_id, sizeof par.client_id, platform->client_id) != 0 ||
        string_format(request_uri, sizeof request_uri, AUTHORIZE_REQUEST_URI_PREFIX "%s",
                      secret) != 0)
        goto done;
    oauth_hash(secret, par.request_hash);
    if (store_oidc_par_insert(conn, &par) != 0) {
        result = oauth_store_failed(conn, "par.insert", response);
        goto done;
    }
    result = http_respond_json(response, 201,
                               json_pack("{s:s, s:i}", "request_uri", request_uri,
                                         "expires_in", AUTHORIZE_PUSHED_LIFETIME));
    if (result == 0)
        counter_add(COUNTER_LOGINS, "pushed");
done:
    secret_wipe(secret, sizeof secret);
    secret_wipe(request_uri, sizeof request_uri);
    if (par.params != NULL)
        secret_wipe(par.params, strlen(par.params));
    free(par.params);
    json_decref(params);
    return result;
}

int
oidc_par_handle(const struct oidc_context *context, const struct http_request *request,
                struct http_response *response)
{
    struct form form;
    struct store_platform platform;
    if (form_parse(request->body, request->body_length, &form) != 0)
        return refuse(response, "invalid_request",
                      "the body is not a valid form, or repeats a parameter");
    int result = -1;
    int64_t now = (int64_t)time(NULL);
    struct store_conn *conn = store_acquire(context->store);
    int authenticated = client_authenticate(context, conn, request, &form, &platform,
                                            response);
    if (authenticated != 0) {
        result = authenticated > 0 ? 0
                                   : oauth_store_failed(conn, "client authentication",
                                                        response);
        goto done;
    }
    struct authorize_params params;
    authorize_params_read(&params, form_param, &form);
    const char *error = NULL;
    const char *description = check_pushed(&platform, &params, &error);
    if (description != NULL) {
        result = refuse(response, error, description);
        goto release;
    }
    char jkt[DPOP_JKT_SIZE];
    int bound = binding_key(context, conn, request, &params, now, jkt, response);
    if (bound != 0) {
        result = bound > 0 ? 0 : -1;
        goto release;
    }
    /* FAPI 2.0 Security Profile §5.3.2.2: sender-constrained tokens, and
     * here the code bound to the same key from the start. */
    if (platform.fapi2 && jkt[0] == '\0') {
        result = refuse(response, "invalid_request",
                        "this platform binds its code to a DPoP key: send a DPoP proof "
                        "(or dpop_jkt)");
        goto release;
    }
    int64_t wait = rate_take(context->authorize_per_platform, platform.client_id,
                             strlen(platform.client_id), rate_now());
    if (wait > 0) {
        counter_add(COUNTER_RATE_LIMITED, "authorize_per_platform");
        char why[96];
        snprintf(why, sizeof why, "too many logins started for this platform: try again "
                                  "in %lld seconds", (long long)wait);
        result = http_respond_limited(response, wait, why);
        goto release;
    }
    result = push(conn, &platform, &form, jkt, now, response);
release:
    store_platform_clear(&platform);
done:
    store_release(context->store, conn);
    form_clear(&form);
    return result;
}
