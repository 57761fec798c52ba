/* authorize: the authorization request (RFC 6749 §4.1.1, OpenID Connect
 * Core §3.1.2.1), read and checked alike whether it comes in the query of
 * GET /authorize or pushed to POST /par (RFC 9126) first (authorize.c and
 * par.c). */
#ifndef CYBERID_OIDC_AUTHORIZE_H
#define CYBERID_OIDC_AUTHORIZE_H

#include <jansson.h>
#include <stddef.h>

#define AUTHORIZE_STATE_MAX_BYTES 1024
#define AUTHORIZE_NONCE_MAX_BYTES 512
#define AUTHORIZE_SCOPE_MAX_BYTES 1024
#define AUTHORIZE_DESCRIPTION_MAX 128
/* A pushed request's request_uri lives this long (FAPI 2.0: under 600 s;
 * RFC 9126 §2.2: enough for the browser to get there). */
#define AUTHORIZE_PUSHED_LIFETIME 60
#define AUTHORIZE_REQUEST_URI_PREFIX "urn:ietf:params:oauth:request_uri:"

struct authorize_params {
    const char *client_id;
    const char *redirect_uri;
    const char *response_type;
    const char *response_mode;
    const char *scope;
    const char *state;          /* NULL also when it is not a valid state */
    const char *nonce;
    const char *code_challenge;
    const char *code_challenge_method;
    const char *prompt;
    const char *request_object;
    const char *request_uri;
    const char *dpop_jkt;       /* RFC 9449 §10: the key to bind the code to */
    const char *ui_locales;     /* the pages' language (ui_lang.h) */
};

/* The parameters a request may give at most once, the ones a pushed
 * request keeps. */
const char *const *authorize_parameter_names(size_t *count);

/* Fills params from source through get(source, name), which returns NULL
 * for an absent or empty parameter. The strings stay source's. */
void authorize_params_read(struct authorize_params *params,
                           const char *(*get)(const void *source, const char *name),
                           const void *source);

/* 1 if state is 1 to AUTHORIZE_STATE_MAX_BYTES VSCHARs (RFC 6749 A.5). */
int authorize_state_is_valid(const char *state);

/* 1 if uri is exactly one of the registered redirect URIs (JSON array
 * text), else 0. */
int authorize_redirect_uri_is_registered(const char *registered, const char *uri);

/* Checks what can be answered by redirecting (the client and redirect URI
 * are trusted by now), in the order RFC 6749 and OpenID Connect name the
 * errors; bad_state: the request's state is not a valid one. NULL when
 * the request is good, else the description (a constant), with the error
 * code in *error. The scope is checked by authorize_scope_claims(). */
const char *authorize_params_check(const struct authorize_params *params, int bad_state,
                                   const char **error);

/* The claims a scope asks for: every scope token that names a known claim,
 * each one the platform is registered for (allowed: JSON array text), in
 * scope order, duplicates dropped; other tokens are ignored. Returns 0 with
 * *asked (a new array), 1 with *problem when the scope is invalid_scope
 * (too long, no openid, a claim the platform is not registered for), -1
 * out of memory. */
int authorize_scope_claims(const char *scope, const char *allowed_text, json_t **asked,
                           const char **problem);

#endif
