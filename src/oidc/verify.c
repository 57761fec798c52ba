/* verify: POST /v1/verify, direct verification (docs/api.md, "Direct
 * verification"): a platform whose users are in its own native app posts
 * the assertion the citizen's cyberid-app signed for it, with its client
 * credentials, and learns the citizen's pairwise sub and the claims the
 * citizen released that its registration allows. */
#include "oidc/oidc.h"

#include "audit/audit.h"
#include "oidc/claims.h"
#include "oidc/client_auth.h"
#include "oidc/oauth.h"
#include "oidc/platform.h"
#include "oidc/subject.h"
#include "util/strings.h"

#include <string.h>
#include <time.h>

#define ASSERTION_TYPE "cyberid-assertion+jwt"
#define ASSERTION_MAX_BYTES 8192
#define ASSERTION_TEXT_MAX 256
#define ASSERTION_JTI_MIN 16
#define ASSERTION_JTI_MAX 64
#define ASSERTION_JTI_PREFIX "assertion:"

/* 1 if value is a string of 1..max bytes of clean UTF-8. */
static int
is_text(const json_t *value, size_t min, size_t max)
{
    const char *text = json_string_value(value);
    size_t length = text ? json_string_length(value) : 0;
    return text != NULL && length >= min && length <= max &&
           utf8_is_clean_text(text, length);
}

/* Judges the assertion's claims for this platform. NULL when good. */
static const char *
check_assertion(const json_t *claims, const char *client_id, int64_t now)
{
    const json_t *aud = json_object_get(claims, "aud");
    const json_t *iat = json_object_get(claims, "iat");
    const json_t *exp = json_object_get(claims, "exp");
    const json_t *release = json_object_get(claims, "release");
    if (!json_is_string(aud) || strcmp(json_string_value(aud), client_id) != 0)
        return "the assertion is not for this platform (aud)";
    if (!json_is_integer(iat) || !json_is_integer(exp))
        return "iat and exp must be integers";
    int64_t issued = json_integer_value(iat), expires = json_integer_value(exp);
    if (issued > now + OIDC_CLOCK_SKEW || issued < now - OIDC_CLOCK_SKEW)
        return "iat is too far from the service's clock";
    if (expires <= now || expires < issued ||
        expires - issued > OIDC_ASSERTION_MAX_LIFETIME)
        return "the assertion has expired or lives too long";
    if (!is_text(json_object_get(claims, "nonce"), 1, ASSERTION_TEXT_MAX))
        return "nonce must be a string of 1 to 256 bytes";
    if (!is_text(json_object_get(claims, "jti"), ASSERTION_JTI_MIN, ASSERTION_JTI_MAX))
        return "jti must be 16 to 64 characters";
    if (release != NULL && !json_is_array(release))
        return "release must be an array of claim names";
    if (release != NULL && json_array_size(release) > 0) {
        json_t *known = json_array();
        for (size_t i = 0; known != NULL && i < PLATFORM_CLAIM_COUNT; i++)
            if (json_array_append_new(known, json_string(PLATFORM_CLAIMS[i])) != 0) {
                json_decref(known);
                known = NULL;
            }
        int good = known != NULL && claims_subset(release, known);
        json_decref(known);
        if (!good)
            return "release names an unknown claim, or one twice";
    }
    return NULL;
}

static int
refuse(struct http_response *response, const char *why)
{
    return oauth_error(response, 400, "invalid_grant", why, 0);
}

int
oidc_verify_handle(const struct oidc_context *context,
                   const struct http_request *request, struct http_response *response)
{
    const char *assertion = json_string_value(json_object_get(request->json, "assertion"));
    if (assertion == NULL || strlen(assertion) > ASSERTION_MAX_BYTES)
        return oauth_error(response, 400, "invalid_request",
                           "the body must be {\"assertion\": compact JWS} of at most "
                           "8192 bytes", 0);
    int64_t now = (int64_t)time(NULL);
    int result = -1;
    struct store_platform platform;
    struct device_caller caller = {0};
    json_t *allowed = NULL, *granted = NULL, *body = NULL, *details = NULL;
    struct store_conn *conn = store_acquire(context->store);
    int authenticated = client_authenticate(context, conn, request, NULL, &platform,
                                            response);
    if (authenticated != 0) {
        store_release(context->store, conn);
        return authenticated < 0 ? -1 : 0;
    }
    /* device_verify_jws takes its own connection: give ours back first so a
     * small pool cannot run dry under load. */
    store_release(context->store, conn);
    conn = NULL;
    const char *why = NULL;
    int verified = device_verify_jws(context->device, assertion, ASSERTION_TYPE, now,
                                     &caller, &why);
    if (verified != 0) {
        result = verified < 0 ? -1 : refuse(response, why);
        goto cleanup;
    }
    why = check_assertion(caller.claims, platform.client_id, now);
    if (why != NULL) {
        result = refuse(response, why);
        goto cleanup;
    }

    /* What the citizen released that the registration allows. */
    allowed = json_loads(platform.claims, JSON_REJECT_DUPLICATES, NULL);
    const json_t *release = json_object_get(caller.claims, "release");
    granted = release != NULL ? claims_intersect(release, allowed) : json_array();
    if (!json_is_array(allowed) || granted == NULL)
        goto cleanup;

    char sub[SUBJECT_SIZE], jti[ASSERTION_JTI_MAX + sizeof ASSERTION_JTI_PREFIX];
    const char *assertion_jti = json_string_value(json_object_get(caller.claims, "jti"));
    const char *nonce = json_string_value(json_object_get(caller.claims, "nonce"));
    int64_t expires = json_integer_value(json_object_get(caller.claims, "exp"));
    if (subject_pairwise(context->signer, caller.web_number, platform.sector_id, sub) != 0 ||
        string_format(jti, sizeof jti, ASSERTION_JTI_PREFIX "%s", assertion_jti) != 0)
        goto cleanup;
    body = json_pack("{s:s, s:s, s:s}", "sub", sub, "acr", OIDC_ACR_FACE, "nonce", nonce);
    details = json_pack("{s:s, s:O, s:s}", "client_id", platform.client_id, "claims",
                        granted, "via", "verify");
    if (body == NULL || details == NULL)
        goto cleanup;
    conn = store_acquire(context->store);
    int active = 0, fresh = 0;
    char actor[AUDIT_PLATFORM_NAME_SIZE];
    if (audit_platform_name(platform.client_id, actor) != 0)
        goto cleanup;
    if (store_begin(conn) != 0 || store_token_use(conn, jti, expires, &fresh) != 0) {
        result = oauth_store_failed(conn, "verify", response);
        goto cleanup;
    }
    if (!fresh) {
        result = refuse(response, "this assertion was already used");
        goto cleanup;
    }
    if (claims_for_identity(conn, context->signer, caller.web_number, granted, now, body,
                            &active) != 0 ||
        (active && (audit_append_citizen(conn, context->signer, actor, "claims.disclosed",
                                         caller.web_number,
                                 details, NULL) != 0 ||
                    store_commit(conn) != 0))) {
        result = oauth_store_failed(conn, "verify", response);
        goto cleanup;
    }
    if (!active) {
        result = refuse(response, "this identity is not active");
        goto cleanup;
    }
    result = http_respond_json(response, 200, body);
    body = NULL;
cleanup:
    if (conn != NULL)
        store_release(context->store, conn); /* rolls back what is left open */
    json_decref(body);
    json_decref(details);
    json_decref(granted);
    json_decref(allowed);
    device_caller_clear(&caller);
    store_platform_clear(&platform);
    return result;
}
