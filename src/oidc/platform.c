/* platform: relying-party registration; see platform.h. */
#include "oidc/platform.h"

#include "oidc/oidc.h"

#include "audit/audit.h"
#include "util/encoding.h"
#include "util/strings.h"

#include <arpa/inet.h>
#include <cjose/cjose.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLIENT_ID_BYTES 16
#define HOST_MAX 256

const char *const PLATFORM_CLAIMS[] = {
    "realname_verified", "age_over_14", "age_over_18",
    "birth_year",        "name",        "national_id",
};
const size_t PLATFORM_CLAIM_COUNT = sizeof PLATFORM_CLAIMS / sizeof *PLATFORM_CLAIMS;

static int
is_loopback_host(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return 0;
}

/* Written by hand: none of the project's libraries parses URIs (libcurl
 * would be a dependency for this alone), and the rule is narrow: a scheme,
 * an authority without user info, a path and query, no fragment. */
int
platform_check_redirect_uri(const char *uri, char *host_out, size_t host_cap,
                            char *err, size_t errlen)
{
    size_t length = strlen(uri);
    if (length == 0 || length > PLATFORM_URI_MAX_BYTES)
        return error_set(err, errlen, "redirect URI must be 1 to %d bytes",
                         PLATFORM_URI_MAX_BYTES);
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)uri[i] <= 0x20 || (unsigned char)uri[i] >= 0x7f)
            return error_set(err, errlen,
                             "redirect URI %s holds a space or a non-ASCII "
                             "character (percent-encode it)", uri);
    if (strchr(uri, '#') != NULL)
        return error_set(err, errlen, "redirect URI %s must not have a fragment", uri);
    int https;
    const char *authority;
    if (strncmp(uri, "https://", 8) == 0) {
        https = 1;
        authority = uri + 8;
    } else if (strncmp(uri, "http://", 7) == 0) {
        https = 0;
        authority = uri + 7;
    } else {
        return error_set(err, errlen, "redirect URI %s must start with https://", uri);
    }
    size_t authority_length = strcspn(authority, "/?");
    if (memchr(authority, '@', authority_length) != NULL)
        return error_set(err, errlen, "redirect URI %s must not carry user info", uri);
    char host[HOST_MAX];
    const char *port = NULL;
    size_t host_length;
    if (authority[0] == '[') {
        const char *close = memchr(authority, ']', authority_length);
        if (close == NULL)
            return error_set(err, errlen, "redirect URI %s: unclosed [", uri);
        host_length = (size_t)(close - authority - 1);
        if (host_length == 0 || host_length >= sizeof host)
            return error_set(err, errlen, "redirect URI %s: bad host", uri);
        memcpy(host, authority + 1, host_length);
        host[host_length] = '\0';
        struct in6_addr v6;
        if (inet_pton(AF_INET6, host, &v6) != 1)
            return error_set(err, errlen, "redirect URI %s: bad IPv6 address", uri);
        const char *after = close + 1;
        if (after < authority + authority_length) {
            if (*after != ':')
                return error_set(err, errlen, "redirect URI %s: bad authority", uri);
            port = after + 1;
        }
    } else {
        host_length = strcspn(authority, ":/?");
        if (host_length == 0 || host_length >= sizeof host)
            return error_set(err, errlen, "redirect URI %s has no host", uri);
        memcpy(host, authority, host_length);
        host[host_length] = '\0';
        for (size_t i = 0; i < host_length; i++) {
            char c = host[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '.'))
                return error_set(err, errlen,
                                 "redirect URI %s: the host must be lower-case "
                                 "letters, digits, '-' and '.'", uri);
        }
        if (authority[host_length] == ':')
            port = authority + host_length + 1;
    }
    if (port != NULL) {
        size_t port_length = (size_t)(authority + authority_length - port);
        char digits[8];
        long long number = 0;
        if (port_length == 0 || port_length >= sizeof digits)
            return error_set(err, errlen, "redirect URI %s: bad port", uri);
        memcpy(digits, port, port_length);
        digits[port_length] = '\0';
        if (parse_integer(digits, 1, 65535, &number) != 0)
            return error_set(err, errlen, "redirect URI %s: bad port", uri);
    }
    if (!https && !is_loopback_host(host))
        return error_set(err, errlen,
                         "redirect URI %s must use https (plain http is only "
                         "for loopback hosts)", uri);
    if (host_out != NULL && string_copy(host_out, host_cap, host) != 0)
        return error_set(err, errlen, "redirect URI %s: host too long", uri);
    return 0;
}

static int
claim_is_known(const char *claim)
{
    for (size_t i = 0; i < PLATFORM_CLAIM_COUNT; i++)
        if (strcmp(PLATFORM_CLAIMS[i], claim) == 0)
            return 1;
    return 0;
}

/* Parses "a,b" into a JSON array of known, distinct claim names. */
static json_t *
parse_claims(const char *text, int *needs_legal_basis, char *err, size_t errlen)
{
    json_t *claims = json_array();
    char *copy = strdup(text ? text : "realname_verified");
    if (claims == NULL || copy == NULL)
        goto fail;
    *needs_legal_basis = 0;
    char *save = NULL;
    for (char *claim = strtok_r(copy, ",", &save); claim != NULL;
         claim = strtok_r(NULL, ",", &save)) {
        while (*claim == ' ')
            claim++;
        size_t length = strlen(claim);
        while (length > 0 && claim[length - 1] == ' ')
            claim[--length] = '\0';
        if (!claim_is_known(claim)) {
            error_set(err, errlen, "unknown claim \"%s\" (known: realname_verified, "
                      "age_over_14, age_over_18, birth_year, name, national_id)",
                      claim);
            goto fail;
        }
        size_t i;
        json_t *seen;
        json_array_foreach(claims, i, seen) {
            if (strcmp(json_string_value(seen), claim) == 0) {
                error_set(err, errlen, "claim \"%s\" is listed twice", claim);
                goto fail;
            }
        }
        if (strcmp(claim, "name") == 0 || strcmp(claim, "national_id") == 0)
            *needs_legal_basis = 1;
        json_array_append_new(claims, json_string(claim));
    }
    if (json_array_size(claims) == 0) {
        error_set(err, errlen, "at least one claim is needed");
        goto fail;
    }
    free(copy);
    return claims;
fail:
    free(copy);
    json_decref(claims);
    return NULL;
}

/* A JWKS of public keys that cjose can import. */
static int
check_jwks(const char *text, char *err, size_t errlen)
{
    if (text == NULL)
        return error_set(err, errlen, "private_key_jwt needs a JWKS (--jwks)");
    if (strlen(text) > PLATFORM_JWKS_MAX_BYTES)
        return error_set(err, errlen, "the JWKS is larger than %d bytes",
                         PLATFORM_JWKS_MAX_BYTES);
    json_t *jwks = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(jwks, "keys");
    int status = -1;
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        error_set(err, errlen, "the JWKS must be {\"keys\": [ … ]} with at least one key");
        goto cleanup;
    }
    size_t i;
    json_t *key;
    json_array_foreach(keys, i, key) {
        if (json_object_get(key, "d") != NULL) {
            error_set(err, errlen, "JWKS key %zu holds a private key; give only "
                      "public keys", i);
            goto cleanup;
        }
        char *key_text = json_dumps(key, JSON_COMPACT);
        cjose_err cjose_error;
        cjose_jwk_t *jwk = key_text ? cjose_jwk_import(key_text, strlen(key_text),
                                                       &cjose_error)
                                    : NULL;
        free(key_text);
        if (jwk == NULL) {
            error_set(err, errlen, "JWKS key %zu is not a valid JWK", i);
            goto cleanup;
        }
        cjose_jwk_release(jwk);
    }
    status = 0;
cleanup:
    json_decref(jwks);
    return status;
}

static int
random_token(size_t bytes, char *out, size_t cap)
{
    uint8_t random[64];
    if (bytes > sizeof random || RAND_bytes(random, (int)bytes) != 1)
        return -1;
    int status = base64url_encode(random, bytes, out, cap);
    secret_wipe(random, sizeof random);
    return status;
}

json_t *
platform_to_json(const struct store_platform *platform)
{
    json_t *redirect_uris = json_loads(platform->redirect_uris, 0, NULL);
    json_t *claims = json_loads(platform->claims, 0, NULL);
    return json_pack("{s:s, s:s, s:o, s:o, s:s?, s:s?, s:s, s:s, s:I, s:b, s:b, s:I}",
                     "client_id", platform->client_id, "name", platform->name,
                     "redirect_uris", redirect_uris ? redirect_uris : json_array(),
                     "claims", claims ? claims : json_array(),
                     "legal_basis", platform->legal_basis,
                     "purpose", platform->purpose,
                     "token_endpoint_auth_method", platform->auth_method,
                     "sector_identifier", platform->sector_id,
                     "refresh_reuse_seconds", (json_int_t)platform->refresh_reuse,
                     "fapi2", platform->fapi2,
                     "disabled", platform->disabled,
                     "created_at", (json_int_t)platform->created_at);
}

/* The sector a sector_identifier_uri proves (OIDC Core 8.1): the document
 * fetched from it is a JSON array of strings that lists every redirect URI
 * of the platform; the sector is the URI's host. 0, or -1 with err. */
static int
sector_from_document(const struct platform_spec *spec, const json_t *redirect_uris,
                     char *sector, size_t cap, char *err, size_t errlen)
{
    char host[HOST_MAX];
    char uri_err[256];
    if (platform_check_redirect_uri(spec->sector_identifier_uri, host, sizeof host, uri_err,
                                    sizeof uri_err) != 0)
        return error_set(err, errlen, "--sector-identifier-uri: %s", uri_err);
    json_t *listed = spec->sector_uris
                         ? json_loads(spec->sector_uris, JSON_REJECT_DUPLICATES, NULL)
                         : NULL;
    int status = -1;
    if (!json_is_array(listed)) {
        error_set(err, errlen, "the sector_identifier_uri document is not a JSON array of "
                               "redirect URIs");
        goto done;
    }
    size_t i, j;
    json_t *uri, *other;
    json_array_foreach(redirect_uris, i, uri) {
        int found = 0;
        json_array_foreach(listed, j, other) found |= json_equal(uri, other);
        if (!found) {
            error_set(err, errlen, "the sector_identifier_uri document does not list %s",
                      json_string_value(uri));
            goto done;
        }
    }
    snprintf(sector, cap, "%s", host);
    status = 0;
done:
    json_decref(listed);
    return status;
}

int
platform_add(struct store_conn *conn, const struct platform_spec *spec,
             json_t **result, char *err, size_t errlen)
{
    int status = -1;
    json_t *claims = NULL, *redirect_uris = NULL, *output = NULL;
    char secret[BASE64URL_ENCODED_SIZE(PLATFORM_SECRET_BYTES)] = "";
    struct store_platform platform = {0};
    char sector[256 + STORE_ID_MAX] = "";
    int needs_legal_basis = 0;
    const char *auth_method = spec->auth_method ? spec->auth_method
                                                : PLATFORM_AUTH_SECRET_BASIC;

    size_t name_length = spec->name ? strlen(spec->name) : 0;
    if (name_length == 0 || name_length > PLATFORM_NAME_MAX_BYTES ||
        !utf8_is_clean_text(spec->name, name_length)) {
        error_set(err, errlen, "--name must be 1 to %d bytes of UTF-8 text",
                  PLATFORM_NAME_MAX_BYTES);
        goto cleanup;
    }
    if (spec->redirect_uri_count == 0) {
        error_set(err, errlen, "at least one --redirect-uri is needed");
        goto cleanup;
    }
    redirect_uris = json_array();
    for (size_t i = 0; i < spec->redirect_uri_count; i++) {
        char host[HOST_MAX];
        if (platform_check_redirect_uri(spec->redirect_uris[i], host, sizeof host,
                                        err, errlen) != 0)
            goto cleanup;
        json_array_append_new(redirect_uris, json_string(spec->redirect_uris[i]));
    }
    claims = parse_claims(spec->claims, &needs_legal_basis, err, errlen);
    if (claims == NULL)
        goto cleanup;
    size_t basis_length = spec->legal_basis ? strlen(spec->legal_basis) : 0;
    if (needs_legal_basis && basis_length == 0) {
        error_set(err, errlen, "the claims name and national_id need "
                  "--legal-basis (the law that requires the platform to hold them)");
        goto cleanup;
    }
    if (basis_length > PLATFORM_LEGAL_BASIS_MAX_BYTES ||
        (basis_length > 0 && !utf8_is_clean_text(spec->legal_basis, basis_length))) {
        error_set(err, errlen, "--legal-basis must be at most %d bytes of text",
                  PLATFORM_LEGAL_BASIS_MAX_BYTES);
        goto cleanup;
    }
    if (spec->refresh_reuse < 0 || spec->refresh_reuse > PLATFORM_REFRESH_REUSE_MAX) {
        error_set(err, errlen, "--refresh-reuse must be 0 to %d seconds",
                  PLATFORM_REFRESH_REUSE_MAX);
        goto cleanup;
    }
    /* FAPI 2.0 Security Profile §5.3.2.1: private_key_jwt or mTLS (only
     * the first here); a rotated refresh token taken again would be a
     * replay the profile does not allow for. */
    if (spec->fapi2 && strcmp(auth_method, PLATFORM_AUTH_PRIVATE_KEY_JWT) != 0) {
        error_set(err, errlen, "--fapi2 needs --auth-method private_key_jwt");
        goto cleanup;
    }
    if (spec->fapi2 && spec->refresh_reuse != 0) {
        error_set(err, errlen, "--fapi2 platforms have no --refresh-reuse");
        goto cleanup;
    }
    size_t purpose_length = spec->purpose ? strlen(spec->purpose) : 0;
    if (spec->purpose != NULL &&
        (purpose_length == 0 || purpose_length > OIDC_PURPOSE_MAX_BYTES ||
         !utf8_is_clean_text(spec->purpose, purpose_length))) {
        error_set(err, errlen, "--purpose must be 1 to %d bytes of text",
                  OIDC_PURPOSE_MAX_BYTES);
        goto cleanup;
    }
    if ((spec->sector_id != NULL) + (spec->sector_of != NULL) +
            (spec->sector_identifier_uri != NULL) > 1) {
        error_set(err, errlen, "--sector-id, --sector-of and --sector-identifier-uri "
                               "exclude each other");
        goto cleanup;
    }
    if (spec->sector_id != NULL) {
        size_t sector_length = strlen(spec->sector_id);
        if (sector_length == 0 || sector_length > 255 ||
            !utf8_is_clean_text(spec->sector_id, sector_length) ||
            strncmp(spec->sector_id, "client:", 7) == 0) {
            error_set(err, errlen, "--sector-id must be 1 to 255 bytes of text, not "
                                   "client:… (to join a platform's sector: --sector-of)");
            goto cleanup;
        }
        snprintf(sector, sizeof sector, "%s", spec->sector_id);
    } else if (spec->sector_of != NULL) {
        struct store_platform other;
        int found = 0;
        if (store_platform_get(conn, spec->sector_of, &other, &found) != 0) {
            error_set(err, errlen, "cannot read the platforms: %s", store_last_error(conn));
            goto cleanup;
        }
        if (!found) {
            error_set(err, errlen, "--sector-of: no platform %s", spec->sector_of);
            goto cleanup;
        }
        snprintf(sector, sizeof sector, "%s", other.sector_id);
        store_platform_clear(&other);
    } else if (spec->sector_identifier_uri != NULL &&
               sector_from_document(spec, redirect_uris, sector, sizeof sector, err, errlen) !=
                   0) {
        goto cleanup;
    }

    if (strcmp(auth_method, PLATFORM_AUTH_SECRET_BASIC) == 0) {
        if (spec->jwks != NULL) {
            error_set(err, errlen, "--jwks goes with private_key_jwt only");
            goto cleanup;
        }
        if (random_token(PLATFORM_SECRET_BYTES, secret, sizeof secret) != 0)
            goto cleanup;
        /* The secret is 256 random bits, so a plain SHA-256 is as strong as
         * any slow password hash here, and keeps the token endpoint fast. */
        SHA256((const uint8_t *)secret, strlen(secret), platform.secret_hash);
        platform.has_secret = 1;
    } else if (strcmp(auth_method, PLATFORM_AUTH_PRIVATE_KEY_JWT) == 0) {
        if (check_jwks(spec->jwks, err, errlen) != 0)
            goto cleanup;
    } else {
        error_set(err, errlen, "unknown --auth-method %s (client_secret_basic or "
                  "private_key_jwt)", auth_method);
        goto cleanup;
    }

    /* A client id is typed on the operator's command line: one that began
     * with '-' would read as an option there (1 in 64 did), so draw again. */
    do {
        if (random_token(CLIENT_ID_BYTES, platform.client_id,
                         sizeof platform.client_id) != 0)
            goto cleanup;
    } while (platform.client_id[0] == '-');
    /* By default the platform is a sector of its own. */
    if (sector[0] == '\0')
        snprintf(sector, sizeof sector, "client:%s", platform.client_id);
    platform.name = (char *)spec->name;
    platform.redirect_uris = json_dumps(redirect_uris, JSON_COMPACT);
    platform.claims = json_dumps(claims, JSON_COMPACT);
    platform.legal_basis = basis_length ? (char *)spec->legal_basis : NULL;
    platform.auth_method = (char *)auth_method;
    platform.jwks = (char *)spec->jwks;
    platform.sector_id = (char *)sector;
    platform.purpose = (char *)spec->purpose;
    platform.refresh_reuse = spec->refresh_reuse;
    platform.fapi2 = spec->fapi2 != 0;
    platform.created_at = (int64_t)time(NULL);
    if (platform.redirect_uris == NULL || platform.claims == NULL)
        goto cleanup;

    char subject[AUDIT_PLATFORM_NAME_SIZE];
    if (audit_platform_name(platform.client_id, subject) != 0)
        goto cleanup;
    json_t *details = json_pack("{s:O, s:s, s:b}", "claims", claims,
                                "auth_method", auth_method, "legal_basis",
                                basis_length > 0);
    int ok = details != NULL && store_begin(conn) == 0 &&
             store_platform_insert(conn, &platform) == 0 &&
             audit_append(conn, AUDIT_ACTOR_OPERATOR, "platform.add", subject,
                          details, NULL) == 0 &&
             store_commit(conn) == 0;
    json_decref(details);
    if (!ok) {
        error_set(err, errlen, "cannot store the platform: %s", store_last_error(conn));
        store_rollback(conn);
        goto cleanup;
    }
    output = platform_to_json(&platform);
    if (output == NULL)
        goto cleanup;
    if (platform.has_secret)
        json_object_set_new(output, "client_secret", json_string(secret));
    *result = output;
    output = NULL;
    status = 0;
cleanup:
    secret_wipe(secret, sizeof secret);
    free(platform.redirect_uris);
    free(platform.claims);
    json_decref(claims);
    json_decref(redirect_uris);
    json_decref(output);
    return status;
}

static int
append_platform(void *context, const struct store_platform *platform)
{
    json_t *entry = platform_to_json(platform);
    return entry != NULL && json_array_append_new(context, entry) == 0 ? 0 : -1;
}

int
platform_list(struct store_conn *conn, json_t **result, char *err, size_t errlen)
{
    json_t *list = json_array();
    if (list == NULL || store_platform_each(conn, append_platform, list) != 0) {
        json_decref(list);
        return error_set(err, errlen, "cannot list platforms: %s",
                         store_last_error(conn));
    }
    *result = list;
    return 0;
}

int
platform_set_disabled(struct store_conn *conn, const char *client_id,
                      int disabled, char *err, size_t errlen)
{
    char subject[AUDIT_PLATFORM_NAME_SIZE];
    if (audit_platform_name(client_id, subject) != 0)
        return error_set(err, errlen, "no platform with client_id %s", client_id);
    int found = 0;
    if (store_begin(conn) != 0 ||
        store_platform_set_disabled(conn, client_id, disabled, &found) != 0)
        goto fail;
    if (!found) {
        store_rollback(conn);
        return error_set(err, errlen, "no platform with client_id %s", client_id);
    }
    if (audit_append(conn, AUDIT_ACTOR_OPERATOR,
                     disabled ? "platform.disable" : "platform.enable", subject,
                     NULL, NULL) != 0 ||
        store_commit(conn) != 0)
        goto fail;
    return 0;
fail:
    error_set(err, errlen, "cannot update the platform: %s", store_last_error(conn));
    store_rollback(conn);
    return -1;
}
