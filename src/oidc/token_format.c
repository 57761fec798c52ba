/* token_format: scopes, ID token claims and the token endpoints' answers;
 * see token_format.h. */
#include "oidc/token_format.h"

#include "oidc/oidc.h"
#include "util/strings.h"

#include <openssl/sha.h>
#include <string.h>

int
token_scope(const json_t *names, char out[TOKEN_SCOPE_MAX])
{
    size_t used = strlen(TOKEN_SCOPE_OPENID);
    memcpy(out, TOKEN_SCOPE_OPENID, used + 1);
    if (!json_is_array(names))
        goto fail;
    size_t i;
    const json_t *value;
    json_array_foreach(names, i, value) {
        const char *name = json_string_value(value);
        size_t length = name ? strlen(name) : 0;
        if (length == 0 || strchr(name, ' ') != NULL ||
            length + 1 >= TOKEN_SCOPE_MAX - used)
            goto fail;
        out[used] = ' ';
        memcpy(out + used + 1, name, length + 1);
        used += length + 1;
    }
    return 0;
fail:
    out[0] = '\0';
    return -1;
}

int
token_scope_narrow(const char *scope, const json_t *granted, json_t **narrowed)
{
    *narrowed = NULL;
    if (scope == NULL || strlen(scope) > TOKEN_SCOPE_REQUEST_MAX || !json_is_array(granted))
        return 1;
    /* A scope with no token at all is malformed. Tokens beyond the grant
     * are not an error: RFC 6749 §3.3 lets the server issue less than was
     * asked and say so in the response's scope, and relying parties such
     * as mod_auth_openidc send their whole configured scope on every
     * refresh. What is issued is the intersection, never more. */
    if (scope[strspn(scope, " ")] == '\0')
        return 1;
    json_t *out = json_array();
    if (out == NULL)
        return -1;
    size_t i;
    json_t *value;
    json_array_foreach(granted, i, value) {
        const char *name = json_string_value(value);
        if (name == NULL)
            continue;
        size_t length = strlen(name);
        int asked = 0;
        for (const char *cursor = scope; !asked && *cursor != '\0';) {
            cursor += strspn(cursor, " ");
            size_t token_length = strcspn(cursor, " ");
            asked = token_length == length && memcmp(cursor, name, length) == 0;
            cursor += token_length;
        }
        if (asked && json_array_append(out, value) != 0) {
            json_decref(out);
            return -1;
        }
    }
    *narrowed = out;
    return 0;
}

int
token_at_hash(const char *access_token, char out[TOKEN_AT_HASH_SIZE])
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    _Static_assert(TOKEN_AT_HASH_BYTES * 2 == SHA256_DIGEST_LENGTH, "at_hash half");
    SHA256((const unsigned char *)access_token, strlen(access_token), digest);
    int status = base64url_encode(digest, TOKEN_AT_HASH_BYTES, out, TOKEN_AT_HASH_SIZE);
    secret_wipe(digest, sizeof digest);
    if (status != 0)
        out[0] = '\0';
    return status;
}

json_t *
token_id_claims(const struct token_id_fields *fields, const json_t *values)
{
    json_t *claims = json_pack("{s:s, s:s*, s:s, s:I, s:I, s:I}", "iss", fields->issuer,
                               "sub", fields->sub, "aud", fields->client_id, "exp",
                               (json_int_t)(fields->now + OIDC_ID_TOKEN_LIFETIME),
                               "iat", (json_int_t)fields->now, "auth_time",
                               (json_int_t)fields->auth_time);
    if (claims == NULL)
        return NULL;
    if ((fields->nonce != NULL &&
         json_object_set_new(claims, "nonce", json_string(fields->nonce)) != 0) ||
        json_object_set_new(claims, "acr", json_string(OIDC_ACR_FACE)) != 0 ||
        (fields->at_hash != NULL &&
         json_object_set_new(claims, "at_hash", json_string(fields->at_hash)) != 0))
        goto fail;
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)values, name, value) {
        if (json_object_get(claims, name) != NULL)
            continue; /* a claim value never overrides a protocol field */
        if (json_object_set(claims, name, value) != 0)
            goto fail;
    }
    return claims;
fail:
    json_decref(claims);
    return NULL;
}

json_t *
token_response(const char *access_token, const char *refresh_token,
               const char *id_token, const char *scope, int bound)
{
    json_t *body = json_pack("{s:s, s:s, s:I, s:s}", "access_token", access_token,
                             "token_type", bound ? TOKEN_TYPE_DPOP : TOKEN_TYPE_BEARER,
                             "expires_in",
                             (json_int_t)OIDC_ACCESS_TOKEN_LIFETIME, "refresh_token",
                             refresh_token);
    if (body == NULL)
        return NULL;
    if ((id_token != NULL &&
         json_object_set_new(body, "id_token", json_string(id_token)) != 0) ||
        json_object_set_new(body, "scope", json_string(scope)) != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int
token_is_live(const struct store_oidc_token *token, const char *kind, int64_t now)
{
    if (kind != NULL ? strcmp(token->kind, kind) != 0
                     : strcmp(token->kind, STORE_TOKEN_ACCESS) != 0 &&
                           strcmp(token->kind, STORE_TOKEN_REFRESH) != 0)
        return 0;
    return strcmp(token->status, STORE_TOKEN_ACTIVE) == 0 && token->expires_at > now &&
           strcmp(token->identity_status, STORE_IDENTITY_ACTIVE) == 0;
}

json_t *
token_introspection(const struct store_oidc_token *token, const char *caller,
                    const char *issuer, int64_t now)
{
    if (token == NULL || !token_is_live(token, NULL, now) ||
        strcmp(token->client_id, caller) != 0)
        return json_pack("{s:b}", "active", 0);
    char scope[TOKEN_SCOPE_MAX];
    json_t *names = json_loads(token->claims, JSON_REJECT_DUPLICATES, NULL);
    int scoped = token_scope(names, scope);
    json_decref(names);
    if (scoped != 0)
        return NULL;
    int access = strcmp(token->kind, STORE_TOKEN_ACCESS) == 0;
    int bound = token->dpop_jkt[0] != '\0';
    json_t *answer = json_pack(
        "{s:b, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "active", 1, "scope", scope,
        "client_id", token->client_id, "sub", token->sub, "aud", token->client_id, "iss",
        issuer, "exp", (json_int_t)token->expires_at, "iat", (json_int_t)token->created_at,
        "auth_time", (json_int_t)token->auth_time, "token_type",
        !access ? TOKEN_TYPE_REFRESH : bound ? TOKEN_TYPE_DPOP : TOKEN_TYPE_BEARER);
    /* RFC 9449 §6.2: the key a bound token goes with. */
    if (answer != NULL && bound &&
        json_object_set_new(answer, "cnf", json_pack("{s:s}", "jkt", token->dpop_jkt)) != 0) {
        json_decref(answer);
        return NULL;
    }
    return answer;
}
