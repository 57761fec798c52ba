/* discovery: what a relying party reads before anything else (OpenID
 * Connect Discovery 1.0, RFC 8414) and the token-signing keys. */
#include "oidc/oidc.h"

#include "oidc/oauth.h"
#include "oidc/platform.h"
#include "oidc/token_keys.h"
#include "util/strings.h"

#include <time.h>

#define ENDPOINT_URL_MAX 640

/* A new array of strings: `first` (NULL for none), then every claim a
 * platform may be registered for. */
static json_t *
claim_names(const char *first)
{
    json_t *names = json_array();
    if (names != NULL && first != NULL &&
        json_array_append_new(names, json_string(first)) != 0) {
        json_decref(names);
        return NULL;
    }
    for (size_t i = 0; names != NULL && i < PLATFORM_CLAIM_COUNT; i++)
        if (json_array_append_new(names, json_string(PLATFORM_CLAIMS[i])) != 0) {
            json_decref(names);
            return NULL;
        }
    return names;
}

int
oidc_discovery_handle(const struct oidc_context *context,
                      const struct http_request *request,
                      struct http_response *response)
{
    (void)request;
    const char *issuer = context->issuer;
    char authorize[ENDPOINT_URL_MAX], token[ENDPOINT_URL_MAX], userinfo[ENDPOINT_URL_MAX],
        jwks[ENDPOINT_URL_MAX], introspect[ENDPOINT_URL_MAX], revoke[ENDPOINT_URL_MAX],
        logout[ENDPOINT_URL_MAX], par[ENDPOINT_URL_MAX];
    if (string_format(authorize, sizeof authorize, "%s/authorize", issuer) != 0 ||
        string_format(token, sizeof token, "%s/token", issuer) != 0 ||
        string_format(userinfo, sizeof userinfo, "%s/userinfo", issuer) != 0 ||
        string_format(jwks, sizeof jwks, "%s/jwks.json", issuer) != 0 ||
        string_format(introspect, sizeof introspect, "%s/introspect", issuer) != 0 ||
        string_format(revoke, sizeof revoke, "%s/revoke", issuer) != 0 ||
        string_format(logout, sizeof logout, "%s/logout", issuer) != 0 ||
        string_format(par, sizeof par, "%s/par", issuer) != 0)
        return -1;
    json_t *scopes = claim_names("openid");
    json_t *claims = claim_names(NULL);
    /* The standard claims every ID token carries, then the released ones. */
    static const char *const standard[] = {"iss", "sub", "aud", "exp", "iat",
                                           "auth_time", "nonce", "acr"};
    for (size_t i = sizeof standard / sizeof *standard; claims != NULL && i-- > 0;)
        if (json_array_insert_new(claims, 0, json_string(standard[i])) != 0) {
            json_decref(claims);
            claims = NULL;
        }
    if (scopes == NULL || claims == NULL) {
        json_decref(scopes);
        json_decref(claims);
        return -1;
    }
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
        " s:[s], s:[s], s:[s,s], s:[s], s:[s], s:o, s:o, s:[s],"
        " s:[s,s,s], s:[s,s,s], s:[s,s,s], s:[s,s,s], s:[s],"
        " s:b, s:b, s:b, s:b, s:b}",
        "issuer", issuer, "authorization_endpoint", authorize, "token_endpoint", token,
        "userinfo_endpoint", userinfo, "jwks_uri", jwks, "introspection_endpoint",
        introspect, "revocation_endpoint", revoke, "end_session_endpoint", logout,
        "response_types_supported", "code",
        "response_modes_supported", "query",
        "grant_types_supported", "authorization_code", "refresh_token",
        "subject_types_supported", "pairwise",
        "id_token_signing_alg_values_supported", "ES256",
        "scopes_supported", scopes, "claims_supported", claims,
        "code_challenge_methods_supported", "S256",
        "token_endpoint_auth_methods_supported", "client_secret_basic",
        "client_secret_post", "private_key_jwt",
        "token_endpoint_auth_signing_alg_values_supported", "ES256", "RS256", "PS256",
        "introspection_endpoint_auth_methods_supported", "client_secret_basic",
        "client_secret_post", "private_key_jwt",
        "revocation_endpoint_auth_methods_supported", "client_secret_basic",
        "client_secret_post", "private_key_jwt",
        "acr_values_supported", OIDC_ACR_FACE,
        "authorization_response_iss_parameter_supported", 1,
        "claims_parameter_supported", 0, "request_parameter_supported", 0,
        "request_uri_parameter_supported", 0, "require_request_uri_registration", 0);
    /* PAR (RFC 9126 §5: required of FAPI 2.0 platforms only, so not of
     * every client) and DPoP (RFC 9449 §5.1). */
    if (body != NULL &&
        (json_object_set_new(body, "pushed_authorization_request_endpoint",
                             json_string(par)) != 0 ||
         json_object_set_new(body, "require_pushed_authorization_requests",
                             json_false()) != 0 ||
         json_object_set_new(body, "dpop_signing_alg_values_supported",
                             json_pack("[s,s]", "ES256", "PS256")) != 0 ||
         /* The pages' languages (oidc/ui_lang.h). */
         json_object_set_new(body, "ui_locales_supported",
                             json_pack("[s,s]", "en", "zh-CN")) != 0)) {
        json_decref(body);
        return -1;
    }
    return body != NULL ? http_respond_json(response, 200, body) : -1;
}

int
oidc_jwks_handle(const struct oidc_context *context,
                 const struct http_request *request, struct http_response *response)
{
    (void)request;
    json_t *jwks = NULL;
    struct store_conn *conn = store_acquire(context->store);
    int status = token_keys_jwks(conn, context->signer, (int64_t)time(NULL), &jwks);
    if (status != 0) {
        status = oauth_store_failed(conn, "jwks", response);
        store_release(context->store, conn);
        return status;
    }
    store_release(context->store, conn);
    return http_respond_json(response, 200, jwks);
}
