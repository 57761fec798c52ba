/* oidc: the OpenID Connect provider: what platforms (relying parties) and
 * the citizen's app talk to in order to log a citizen in (DESIGN.md,
 * "Login" and "Direct verification"; the contract is docs/api.md, "Login").
 *
 * Every handler here takes the struct oidc_context as its first argument
 * and is an http_handler otherwise; service.c routes to them. All state
 * (pending logins, codes, tokens, key states) is in the store, so any
 * number of `cyberid serve` nodes sharing one database answer alike.
 *
 * Lifetimes (seconds) are named here because tests and docs rely on them. */
#ifndef CYBERID_OIDC_H
#define CYBERID_OIDC_H

#include "enroll/device.h"
#include "http/http.h"
#include "oidc/ui_lang.h"
#include "signer/signer.h"
#include "store/store.h"
#include "util/rate.h"

#define OIDC_LOGIN_LIFETIME 300          /* a pending login (the page) */
#define OIDC_CODE_LIFETIME 60            /* an authorization code */
#define OIDC_LOGIN_PURGE_AFTER 3600      /* a login row is kept this long past
                                            its end: a code reused late is
                                            still recognised */
#define OIDC_ACCESS_TOKEN_LIFETIME 600
#define OIDC_REFRESH_TOKEN_LIFETIME (30 * 24 * 3600)
#define OIDC_ID_TOKEN_LIFETIME 600
#define OIDC_ASSERTION_MAX_LIFETIME 120  /* an app assertion (/v1/verify) */
#define OIDC_CLOCK_SKEW 60
#define OIDC_ACR_FACE "cyberid:face"
#define OIDC_PURPOSE_MAX_BYTES 300       /* a platform's registered purpose */
#define OIDC_TOKEN_BODY_LIMIT 16384      /* /token, /introspect, /revoke */
#define OIDC_VERIFY_BODY_LIMIT 16384

struct oidc_context {
    struct store *store;
    struct signer *signer;
    const struct device_context *device; /* verifies the app's requests */
    const char *issuer;                   /* no trailing slash */
    /* How many pending logins /authorize starts on this node per client
     * address (an IPv6 /64) and per platform (NULL: no limit). Past
     * either, the browser goes back to the platform with
     * error=temporarily_unavailable and nothing is stored. */
    struct rate *authorize_per_address;
    struct rate *authorize_per_platform;
    /* The pages' language when neither ui_locales nor Accept-Language
     * names one the service speaks (`cyberid serve --default-lang`). */
    enum ui_lang default_lang;
};

/* GET or POST /logout (logout.c): RP-initiated logout. The platform sends
 * the login's ID token (id_token_hint, required: there is no session to
 * end) and may name a post_logout_redirect_uri (one of its registered
 * redirect URIs, exactly) and a state; every token of that citizen at that
 * platform is revoked (event "grant.revoke", reason logout) and the
 * browser goes back there (302, with state), or gets a page saying so.
 * Refusals are HTML pages (400), never redirects. */
int oidc_logout_handle(const struct oidc_context *context, const struct http_request *request,
                       struct http_response *response);

/* GET /v1/me/consents and POST /v1/me/consents/{client_id}/withdraw
 * (consent.c), device-authenticated: the platforms that hold an active
 * grant of the citizen (tokens not expired or revoked), each with its
 * name, the claims released and how long the grant lasts; the withdrawal
 * revokes every token of that platform at once (event
 * "consent.withdraw"): its next refresh, userinfo or introspection fails.
 * 404 not_found when the platform holds none. */
int oidc_consents_handle(const struct oidc_context *context, const struct http_request *request,
                         struct http_response *response);
int oidc_consent_withdraw_handle(const struct oidc_context *context,
                                 const struct http_request *request,
                                 struct http_response *response);

/* GET /.well-known/openid-configuration, GET /jwks.json (discovery.c) */
int oidc_discovery_handle(const struct oidc_context *context,
                          const struct http_request *request,
                          struct http_response *response);
int oidc_jwks_handle(const struct oidc_context *context,
                     const struct http_request *request,
                     struct http_response *response);

/* GET /authorize (the login page) and GET /v1/authorize/status/{login_id}
 * (its polling) (authorize.c) */
int oidc_authorize_handle(const struct oidc_context *context,
                          const struct http_request *request,
                          struct http_response *response);
int oidc_authorize_status_handle(const struct oidc_context *context,
                                 const struct http_request *request,
                                 struct http_response *response);

/* The app's side, device-authenticated (login.c):
 * GET /v1/login/{user_code}, POST /v1/login/{user_code}/approve|deny */
int oidc_login_show_handle(const struct oidc_context *context,
                           const struct http_request *request,
                           struct http_response *response);
int oidc_login_approve_handle(const struct oidc_context *context,
                              const struct http_request *request,
                              struct http_response *response);
int oidc_login_deny_handle(const struct oidc_context *context,
                           const struct http_request *request,
                           struct http_response *response);

/* POST /par (par.c): pushed authorization requests (RFC 9126), whose
 * request_uri /authorize then takes once. */
int oidc_par_handle(const struct oidc_context *context, const struct http_request *request,
                    struct http_response *response);

/* POST /token (token.c) */
int oidc_token_handle(const struct oidc_context *context,
                      const struct http_request *request,
                      struct http_response *response);

/* GET|POST /userinfo, POST /introspect, POST /revoke (resource.c) */
int oidc_userinfo_handle(const struct oidc_context *context,
                         const struct http_request *request,
                         struct http_response *response);
int oidc_introspect_handle(const struct oidc_context *context,
                           const struct http_request *request,
                           struct http_response *response);
int oidc_revoke_handle(const struct oidc_context *context,
                       const struct http_request *request,
                       struct http_response *response);

/* POST /v1/verify (verify.c) */
int oidc_verify_handle(const struct oidc_context *context,
                       const struct http_request *request,
                       struct http_response *response);

#endif
