/* client_auth: platform authentication at the back-channel endpoints
 * (client_secret_basic and private_key_jwt); see client_auth.h. */
#include "oidc/client_auth.h"

#include "oidc/platform.h"
#include "util/encoding.h"
#include "util/strings.h"

#include <cjose/cjose.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BASIC_SCHEME "Basic"
#define TOKEN_PATH "/token"
#define ALG_ES256 "ES256"
#define ALG_RS256 "RS256"
#define ALG_PS256 "PS256"
#define EC_P256 "P-256"
#define RSA_MIN_BITS 2048
#define TEXT(x) #x
#define NUMBER_TEXT(x) TEXT(x)
/* The used-jti key: "client:" client_id ":" hex(SHA-256(jti)). Longer than
 * any device jti (DEVICE_JTI_MAX), so the two never collide. */
#define JTI_KEY_PREFIX "client:"
#define JTI_KEY_SIZE (sizeof JTI_KEY_PREFIX + STORE_ID_MAX + 1 + \
                      HEX_ENCODED_SIZE(SHA256_DIGEST_LENGTH))

/* The refusal every failed authentication gets. Returns 1 (refused) or -1
 * when even the answer could not be built. */
static int
refuse(struct http_response *response, const char *why)
{
    return oauth_error(response, 401, "invalid_client", why, 1) == 0 ? 1 : -1;
}

/* The answer to a request that mixes or halves the methods: 400
 * invalid_request. 1 or -1, as refuse(). */
static int
refuse_request(struct http_response *response, const char *why)
{
    return oauth_error(response, 400, "invalid_request", why, 0) == 0 ? 1 : -1;
}

/* 1 if the header value uses the Basic scheme ("Basic" then a space). */
static int
is_basic(const char *authorization)
{
    size_t length = strlen(BASIC_SCHEME);
    return authorization != NULL &&
           strncasecmp(authorization, BASIC_SCHEME, length) == 0 &&
           authorization[length] == ' ';
}

int
client_basic_parse(const char *authorization, char client_id[STORE_ID_MAX],
                   char secret[CLIENT_SECRET_MAX + 1])
{
    char decoded[CLIENT_BASIC_MAX_BYTES + 1];
    uint8_t *bytes = NULL;
    size_t length = 0;
    int status = -1;
    client_id[0] = '\0';
    secret[0] = '\0';
    if (!is_basic(authorization))
        return -1;
    const char *text = authorization + strlen(BASIC_SCHEME);
    while (*text == ' ')
        text++;
    size_t text_length = strlen(text);
    while (text_length > 0 && text[text_length - 1] == ' ')
        text_length--;
    if (text_length == 0 ||
        base64_decode_alloc(text, text_length, CLIENT_BASIC_MAX_BYTES, &bytes,
                            &length) != 0)
        return -1;
    if (memchr(bytes, '\0', length) != NULL)
        goto done;
    memcpy(decoded, bytes, length);
    decoded[length] = '\0';
    char *colon = strchr(decoded, ':');
    if (colon == NULL)
        goto done;
    *colon = '\0';
    if (form_decode(decoded) != 0 || form_decode(colon + 1) != 0 ||
        decoded[0] == '\0' || colon[1] == '\0' ||
        string_copy(client_id, STORE_ID_MAX, decoded) != 0 ||
        string_copy(secret, CLIENT_SECRET_MAX + 1, colon + 1) != 0)
        goto done;
    status = 0;
done:
    secret_wipe(decoded, sizeof decoded);
    secret_wipe(bytes, length);
    free(bytes);
    if (status != 0) {
        client_id[0] = '\0';
        secret_wipe(secret, CLIENT_SECRET_MAX + 1);
    }
    return status;
}

/* 1 if aud (a string or an array of strings) holds the issuer or the
 * token endpoint URL. */
static int
audience_is_ours(const json_t *aud, const char *issuer)
{
    size_t issuer_length = strlen(issuer);
    const json_t *single = aud;
    size_t count = 1;
    if (json_is_array(aud))
        count = json_array_size(aud);
    for (size_t i = 0; i < count; i++) {
        if (json_is_array(aud))
            single = json_array_get(aud, i);
        const char *text = json_string_value(single);
        if (text == NULL)
            continue;
        if (strcmp(text, issuer) == 0)
            return 1;
        if (strncmp(text, issuer, issuer_length) == 0 &&
            strcmp(text + issuer_length, TOKEN_PATH) == 0)
            return 1;
    }
    return 0;
}

const char *
client_assertion_check(const json_t *claims, const char *client_id,
                       const char *issuer, int64_t now, const char **jti,
                       int64_t *expires_at)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const json_t *exp = json_object_get(claims, "exp");
    const json_t *iat = json_object_get(claims, "iat");
    const json_t *nbf = json_object_get(claims, "nbf");
    const char *id = json_string_value(json_object_get(claims, "jti"));
    *jti = NULL;
    *expires_at = 0;
    if (iss == NULL || sub == NULL || strcmp(iss, client_id) != 0 ||
        strcmp(sub, client_id) != 0)
        return "the client assertion's iss and sub must be the client_id";
    if (!audience_is_ours(json_object_get(claims, "aud"), issuer))
        return "the client assertion's aud must be the issuer or the token endpoint";
    if (!json_is_integer(exp) || !json_is_integer(iat))
        return "the client assertion needs integer exp and iat";
    int64_t expires = json_integer_value(exp), issued = json_integer_value(iat);
    if (expires <= now)
        return "the client assertion has expired";
    if (issued > now + OIDC_CLOCK_SKEW)
        return "the client assertion's iat is in the future";
    /* exp > iat, so their difference fits in uint64_t; in int64_t it could
     * overflow (iat near INT64_MIN) and pass the check. */
    if (expires <= issued ||
        (uint64_t)expires - (uint64_t)issued > CLIENT_ASSERTION_MAX_LIFETIME)
        return "the client assertion must expire within "
               NUMBER_TEXT(CLIENT_ASSERTION_MAX_LIFETIME) " seconds of its iat";
    if (nbf != NULL &&
        (!json_is_integer(nbf) || json_integer_value(nbf) > now + OIDC_CLOCK_SKEW))
        return "the client assertion is not valid yet (nbf)";
    size_t id_length = id ? strlen(id) : 0;
    if (id_length == 0 || id_length > CLIENT_ASSERTION_JTI_MAX_BYTES)
        return "the client assertion needs a jti of at most "
               NUMBER_TEXT(CLIENT_ASSERTION_JTI_MAX_BYTES) " bytes";
    *jti = id;
    *expires_at = expires;
    return NULL;
}

/* 1 if a JWKS key (JSON) may check a signature made with alg: ES256 needs
 * an EC P-256 key, RS256 and PS256 an RSA key (its size is checked after
 * import); a key's own "use" and "alg", when given, must agree. */
static int
key_fits(const json_t *key, const char *alg)
{
    const char *kty = json_string_value(json_object_get(key, "kty"));
    const char *crv = json_string_value(json_object_get(key, "crv"));
    const char *use = json_string_value(json_object_get(key, "use"));
    const char *key_alg = json_string_value(json_object_get(key, "alg"));
    if (kty == NULL || (use != NULL && strcmp(use, "sig") != 0) ||
        (key_alg != NULL && strcmp(key_alg, alg) != 0))
        return 0;
    if (strcmp(alg, ALG_ES256) == 0)
        return strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, EC_P256) == 0;
    return strcmp(kty, "RSA") == 0;
}

/* 1 if the JWS verifies with one key of the JWKS (JSON text) that fits
 * alg (and has the header's kid, when it names one); 0 if none; -1 on an
 * internal failure. */
static int
verify_with_jwks(cjose_jws_t *jws, const char *jwks_text, const char *alg,
                 const char *kid)
{
    json_t *jwks = jwks_text ? json_loads(jwks_text, JSON_REJECT_DUPLICATES, NULL)
                             : NULL;
    const json_t *keys = json_object_get(jwks, "keys");
    int verified = 0;
    size_t i;
    const json_t *key;
    json_array_foreach(keys, i, key) {
        const char *key_kid = json_string_value(json_object_get(key, "kid"));
        if (kid != NULL && (key_kid == NULL || strcmp(kid, key_kid) != 0))
            continue;
        if (!key_fits(key, alg))
            continue;
        char *text = json_dumps(key, JSON_COMPACT);
        if (text == NULL) {
            verified = -1;
            break;
        }
        cjose_err error;
        cjose_jwk_t *jwk = cjose_jwk_import(text, strlen(text), &error);
        free(text);
        if (jwk == NULL)
            continue; /* checked at registration; skip rather than fail */
        int size_ok = strcmp(alg, ALG_ES256) == 0 ||
                      cjose_jwk_get_keysize(jwk, &error) >= RSA_MIN_BITS;
        int good = size_ok && cjose_jws_verify(jws, jwk, &error);
        cjose_jwk_release(jwk);
        if (good) {
            verified = 1;
            break;
        }
    }
    json_decref(jwks);
    return verified;
}

/* Marks the assertion's jti used. 0 with *fresh, or -1. */
static int
use_jti(struct store_conn *conn, const char *client_id, const char *jti,
        int64_t expires_at, int *fresh)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char hex[HEX_ENCODED_SIZE(SHA256_DIGEST_LENGTH)];
    char key[JTI_KEY_SIZE];
    SHA256((const unsigned char *)jti, strlen(jti), digest);
    if (hex_encode(digest, sizeof digest, hex, sizeof hex) != 0 ||
        string_format(key, sizeof key, JTI_KEY_PREFIX "%s:%s", client_id, hex) != 0)
        return -1;
    return store_token_use(conn, key, expires_at, fresh);
}

/* Looks up an enabled platform registered for method. 0 with *platform
 * filled, 1 refused (answered), -1 internal failure. */
static int
platform_for(struct store_conn *conn, const char *client_id, const char *method,
             struct store_platform *platform, struct http_response *response)
{
    int found = 0;
    if (strlen(client_id) >= STORE_ID_MAX)
        return refuse(response, "unknown client or wrong credentials");
    if (store_platform_get(conn, client_id, platform, &found) != 0) {
        store_platform_clear(platform);
        return -1;
    }
    if (!found || platform->disabled) {
        if (found)
            store_platform_clear(platform);
        return refuse(response, "unknown client or wrong credentials");
    }
    if (platform->auth_method == NULL || strcmp(platform->auth_method, method) != 0) {
        store_platform_clear(platform);
        return refuse(response, strcmp(method, PLATFORM_AUTH_SECRET_BASIC) == 0
                                    ? "this client authenticates with private_key_jwt"
                                    : "this client authenticates with its client "
                                      "secret (client_secret_basic or "
                                      "client_secret_post)");
    }
    return 0;
}

/* A client secret (client_secret_basic or client_secret_post) of a
 * platform registered with one. Same returns as client_authenticate_at(). */
static int
authenticate_secret(struct store_conn *conn, const char *client_id, const char *secret,
                    struct store_platform *platform, struct http_response *response)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    _Static_assert(sizeof digest == STORE_HASH_BYTES, "secret hash size");
    int result = platform_for(conn, client_id, PLATFORM_AUTH_SECRET_BASIC, platform, response);
    if (result != 0)
        return result;
    SHA256((const unsigned char *)secret, strlen(secret), digest);
    if (!platform->has_secret ||
        !secret_equal(digest, platform->secret_hash, sizeof digest)) {
        store_platform_clear(platform);
        result = refuse(response, "unknown client or wrong credentials");
    }
    secret_wipe(digest, sizeof digest);
    return result;
}

/* client_secret_basic: the client id and secret in HTTP Basic. */
static int
authenticate_basic(struct store_conn *conn, const char *authorization,
                   struct store_platform *platform, struct http_response *response)
{
    char client_id[STORE_ID_MAX];
    char secret[CLIENT_SECRET_MAX + 1];
    int result = client_basic_parse(authorization, client_id, secret) != 0
                     ? refuse(response, "malformed Basic credentials")
                     : authenticate_secret(conn, client_id, secret, platform, response);
    secret_wipe(secret, sizeof secret);
    return result;
}

/* private_key_jwt. Same returns as client_authenticate_at(). */
static int
authenticate_assertion(const struct oidc_context *context, struct store_conn *conn,
                       const char *assertion, int64_t now,
                       struct store_platform *platform,
                       struct http_response *response)
{
    int result = -1, have_platform = 0;
    json_t *claims = NULL;
    uint8_t *payload = NULL; /* owned by the jws */
    size_t payload_length = 0;
    cjose_err error;
    size_t length = strlen(assertion);
    cjose_jws_t *jws = NULL;
    if (length == 0 || length > CLIENT_ASSERTION_MAX_BYTES) {
        result = refuse(response, "the client assertion is empty or too long");
        goto done;
    }
    jws = cjose_jws_import(assertion, length, &error);
    if (jws == NULL || !cjose_jws_get_plaintext(jws, &payload, &payload_length, &error)) {
        result = refuse(response, "the client assertion is not a compact JWS");
        goto done;
    }
    /* cjose's header type is jansson's json_t (cjose/header.h). */
    json_t *header = (json_t *)cjose_jws_get_protected(jws);
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *kid = json_string_value(json_object_get(header, "kid"));
    if (alg == NULL ||
        (strcmp(alg, ALG_ES256) != 0 && strcmp(alg, ALG_RS256) != 0 &&
         strcmp(alg, ALG_PS256) != 0)) {
        result = refuse(response, "the client assertion must be signed with ES256, "
                                  "RS256 or PS256");
        goto done;
    }
    if (json_object_get(header, "crit") != NULL ||
        (json_object_get(header, "kid") != NULL && kid == NULL)) {
        result = refuse(response, "the client assertion's header is not supported");
        goto done;
    }
    /* Read before the signature is checked, only to find whose keys check it. */
    claims = json_loadb((const char *)payload, payload_length, JSON_REJECT_DUPLICATES,
                        NULL);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (!json_is_object(claims) || iss == NULL || iss[0] == '\0') {
        result = refuse(response, "the client assertion's payload needs iss");
        goto done;
    }
    result = platform_for(conn, iss, PLATFORM_AUTH_PRIVATE_KEY_JWT, platform, response);
    if (result != 0)
        goto done;
    have_platform = 1;
    result = -1;
    /* FAPI 2.0 Security Profile §5.4.1: PS256 or ES256 (EdDSA is not
     * taken here at all). */
    if (platform->fapi2 && strcmp(alg, ALG_RS256) == 0) {
        result = refuse(response, "this client signs its assertions with ES256 or PS256 "
                                  "(FAPI 2.0)");
        goto done;
    }
    int verified = verify_with_jwks(jws, platform->jwks, alg, kid);
    if (verified < 0)
        goto done;
    if (verified == 0) {
        result = refuse(response, "the client assertion's signature does not verify "
                                  "with the client's keys");
        goto done;
    }
    const char *jti = NULL;
    int64_t expires_at = 0;
    const char *why = client_assertion_check(claims, platform->client_id,
                                             context->issuer, now, &jti, &expires_at);
    if (why != NULL) {
        result = refuse(response, why);
        goto done;
    }
    int fresh = 0;
    if (use_jti(conn, platform->client_id, jti, expires_at, &fresh) != 0)
        goto done;
    if (!fresh) {
        result = refuse(response, "the client assertion was already used (jti)");
        goto done;
    }
    result = 0;
done:
    if (result != 0 && have_platform)
        store_platform_clear(platform);
    json_decref(claims);
    cjose_jws_release(jws);
    return result;
}

int
client_authenticate_at(const struct oidc_context *context, struct store_conn *conn,
                       const char *authorization, const struct form *form,
                       int64_t now, struct store_platform *platform,
                       struct http_response *response)
{
    memset(platform, 0, sizeof *platform);
    const char *assertion_type = form ? form_get(form, "client_assertion_type") : NULL;
    const char *assertion = form ? form_get(form, "client_assertion") : NULL;
    const char *form_secret = form ? form_get(form, "client_secret") : NULL;
    const char *form_client_id = form ? form_get(form, "client_id") : NULL;
    int basic = is_basic(authorization);
    int uses_assertion = assertion_type != NULL || assertion != NULL;
    if (basic + uses_assertion + (form_secret != NULL) > 1)
        return refuse_request(response, "use exactly one client authentication "
                                        "method");
    int result;
    if (basic) {
        result = authenticate_basic(conn, authorization, platform, response);
    } else if (uses_assertion) {
        if (assertion_type == NULL || assertion == NULL)
            return refuse_request(response, "client_assertion and "
                                            "client_assertion_type go together");
        if (strcmp(assertion_type, CLIENT_ASSERTION_TYPE) != 0)
            return refuse(response, "client_assertion_type must be " CLIENT_ASSERTION_TYPE);
        result = authenticate_assertion(context, conn, assertion, now, platform,
                                        response);
    } else if (form_secret != NULL) {
        /* client_secret_post (RFC 6749 §2.3.1): the same secret in the
         * form, for a platform registered with one. */
        if (form_client_id == NULL)
            return refuse_request(response, "client_secret goes with client_id");
        if (strlen(form_client_id) >= STORE_ID_MAX || strlen(form_secret) > CLIENT_SECRET_MAX)
            return refuse(response, "unknown client or wrong credentials");
        result = authenticate_secret(conn, form_client_id, form_secret, platform, response);
    } else {
        return refuse(response, "client authentication is required");
    }
    if (result != 0)
        return result;
    if (form_client_id != NULL && strcmp(form_client_id, platform->client_id) != 0) {
        store_platform_clear(platform);
        return refuse(response, "client_id is not the authenticated client");
    }
    return 0;
}

int
client_authenticate(const struct oidc_context *context, struct store_conn *conn,
                    const struct http_request *request, const struct form *form,
                    struct store_platform *platform, struct http_response *response)
{
    int status = client_authenticate_at(context, conn,
                                        http_request_header(request, "Authorization"),
                                        form, (int64_t)time(NULL), platform, response);
    if (status == 0)
        http_response_set_client_id(response, platform->client_id);
    return status;
}
