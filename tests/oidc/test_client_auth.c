/* Tests of platform authentication: the Basic credential's parsing (its
 * limits at N and N+1), the client assertion's claim checks, and
 * client_authenticate_at() against a temporary SQLite store with
 * registered platforms: client_secret_basic (right and wrong secret,
 * unknown, disabled, the other method), private_key_jwt with ES256, RS256
 * and PS256 keys (replay, wrong key, kid, alg, lifetime limits), and
 * requests that mix methods. */
#include "oidc/client_auth.h"

#include "oidc/platform.h"
#include "util/encoding.h"

#include "../test_db.h"

#include <cjose/cjose.h>
#include <time.h>

#define ISSUER "https://id.example"
#define GOOD_LIFE 120 /* exp - iat of the good claims */
#define ASSERTION_TYPE_FIELD "client_assertion_type=" CLIENT_ASSERTION_TYPE

struct fixture {
    struct test_db_store *db;
    struct store_conn *conn;    /* the db's */
    struct oidc_context context;
    struct http_response response;
    int64_t now;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->db = test_db_store_open("client-auth");
    f->conn = f->db->conn;
    f->context = (struct oidc_context){.store = f->db->store, .issuer = ISSUER};
    f->now = (int64_t)time(NULL);
    *state = f;
    return 0;
}

static void
response_reset(struct http_response *response)
{
    free(response->body);
    for (size_t i = 0; i < response->header_count; i++)
        free(response->headers[i].value);
    memset(response, 0, sizeof *response);
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    response_reset(&f->response);
    test_db_store_close(f->db);
    free(f);
    return 0;
}

static const char *
response_header(const struct http_response *response, const char *name)
{
    for (size_t i = 0; i < response->header_count; i++)
        if (strcmp(response->headers[i].name, name) == 0)
            return response->headers[i].value;
    return NULL;
}

/* Asserts the last answer was `status` with error `code` and a
 * description holding `fragment` (NULL: any), then resets it. */
static void
expect_refusal(struct fixture *f, unsigned status, const char *code,
               const char *fragment)
{
    assert_int_equal(f->response.status, status);
    json_t *body = json_loads(f->response.body, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "error")), code);
    const char *description =
        json_string_value(json_object_get(body, "error_description"));
    assert_non_null(description);
    if (fragment != NULL && strstr(description, fragment) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", description, fragment);
    json_decref(body);
    if (status == 401)
        assert_string_equal(response_header(&f->response, "WWW-Authenticate"),
                            "Basic realm=\"cyberid\"");
    response_reset(&f->response);
}

static void
expect_error(struct fixture *f, unsigned status, const char *code)
{
    expect_refusal(f, status, code, NULL);
}

/* "Basic " base64(text), into out. */
static void
basic_of(const char *text, char *out, size_t cap)
{
    char *encoded = base64_encode_alloc((const uint8_t *)text, strlen(text));
    assert_non_null(encoded);
    assert_true(snprintf(out, cap, "Basic %s", encoded) < (int)cap);
    free(encoded);
}

/* ── Basic parsing ─────────────────────────────────────────────────────── */

static void
test_basic_parse(void **state)
{
    (void)state;
    char header[4096], client_id[STORE_ID_MAX], secret[CLIENT_SECRET_MAX + 1];
    basic_of("shop:s3cret", header, sizeof header);
    assert_int_equal(client_basic_parse(header, client_id, secret), 0);
    assert_string_equal(client_id, "shop");
    assert_string_equal(secret, "s3cret");
    /* Both halves are form-encoded: an escaped ':' stays in the secret,
     * '+' is a space; the scheme is case-insensitive. */
    basic_of("sh%6Fp:a%3Ab+c", header, sizeof header);
    header[0] = 'b';
    assert_int_equal(client_basic_parse(header, client_id, secret), 0);
    assert_string_equal(client_id, "shop");
    assert_string_equal(secret, "a:b c");
    /* Only the first ':' splits. */
    basic_of("shop:a:b", header, sizeof header);
    assert_int_equal(client_basic_parse(header, client_id, secret), 0);
    assert_string_equal(secret, "a:b");

    const char *bad_texts[] = {"shop", ":secret", "shop:", "sh%zzop:x", "shop:%00",
                               "shop:%4"};
    for (size_t i = 0; i < sizeof bad_texts / sizeof *bad_texts; i++) {
        basic_of(bad_texts[i], header, sizeof header);
        if (client_basic_parse(header, client_id, secret) == 0)
            fail_msg("%s accepted", bad_texts[i]);
        assert_string_equal(client_id, "");
        assert_string_equal(secret, "");
    }
    const char *bad_headers[] = {"", "Basic", "Basic ", "Basicc2hvcDp4",
                                 "Bearer c2hvcDp4", "Basic !!!!",
                                 "Basic c2hvcAB4Onk=" /* "shop\0x:y" */};
    for (size_t i = 0; i < sizeof bad_headers / sizeof *bad_headers; i++)
        if (client_basic_parse(bad_headers[i], client_id, secret) == 0)
            fail_msg("%s accepted", bad_headers[i]);
    assert_int_equal(client_basic_parse(NULL, client_id, secret), -1);

    /* client_id: STORE_ID_MAX - 1 bytes fit, STORE_ID_MAX do not. */
    char text[CLIENT_BASIC_MAX_BYTES + 2];
    memset(text, 'i', STORE_ID_MAX - 1);
    strcpy(text + STORE_ID_MAX - 1, ":x");
    basic_of(text, header, sizeof header);
    assert_int_equal(client_basic_parse(header, client_id, secret), 0);
    memset(text, 'i', STORE_ID_MAX);
    strcpy(text + STORE_ID_MAX, ":x");
    basic_of(text, header, sizeof header);
    assert_int_equal(client_basic_parse(header, client_id, secret), -1);
    /* secret: CLIENT_SECRET_MAX bytes fit, one more does not. */
    strcpy(text, "c:");
    memset(text + 2, 's', CLIENT_SECRET_MAX);
    text[2 + CLIENT_SECRET_MAX] = '\0';
    basic_of(text, header, sizeof header);
    assert_int_equal(client_basic_parse(header, client_id, secret), 0);
    assert_int_equal(strlen(secret), CLIENT_SECRET_MAX);
    strcat(text, "s");
    basic_of(text, header, sizeof header);
    assert_int_equal(client_basic_parse(header, client_id, secret), -1);
    /* The decoded credential: CLIENT_BASIC_MAX_BYTES, then one more (the
     * escapes make it short once decoded, so only the raw limit speaks). */
    strcpy(text, "c:");
    for (size_t i = 2; i + 3 <= CLIENT_BASIC_MAX_BYTES; i += 3)
        memcpy(text + i, "%41", 3);
    size_t length = 2 + (CLIENT_BASIC_MAX_BYTES - 2) / 3 * 3;
    while (length < CLIENT_BASIC_MAX_BYTES)
        text[length++] = 'A';
    text[length] = '\0';
    assert_int_equal(strlen(text), CLIENT_BASIC_MAX_BYTES);
    basic_of(text, header, sizeof header);
    assert_int_equal(client_basic_parse(header, client_id, secret), 0);
    strcat(text, "A");
    basic_of(text, header, sizeof header);
    assert_int_equal(client_basic_parse(header, client_id, secret), -1);
}

/* ── Assertion claims ──────────────────────────────────────────────────── */

static json_t *
good_claims(int64_t now)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "c1", "sub", "c1", "aud",
                     ISSUER "/token", "iat", (json_int_t)now, "exp",
                     (json_int_t)(now + GOOD_LIFE), "jti", "j-1");
}

static void
test_assertion_claims(void **state)
{
    (void)state;
    int64_t now = 1700000000, expires = 0;
    const char *jti = NULL;
    json_t *claims = good_claims(now);
    assert_null(client_assertion_check(claims, "c1", ISSUER, now, &jti, &expires));
    assert_string_equal(jti, "j-1");
    assert_int_equal(expires, now + GOOD_LIFE);
    assert_non_null(client_assertion_check(claims, "c2", ISSUER, now, &jti, &expires));
    assert_null(jti);

    struct {
        const char *member;
        json_t *value;
        int good;
    } cases[] = {
        {"aud", json_string(ISSUER), 1},
        {"aud", json_pack("[s, s]", "other", ISSUER), 1},
        {"aud", json_pack("[s]", ISSUER "/token"), 1},
        {"aud", json_string(ISSUER "/"), 0},
        {"aud", json_string(ISSUER "/tokens"), 0},
        {"aud", json_string("https://id.example.evil/token"), 0},
        {"aud", json_pack("[s]", "other"), 0},
        {"aud", json_pack("[]"), 0},
        {"aud", json_integer(1), 0},
        {"sub", json_string("c2"), 0},
        {"iss", json_string("c2"), 0},
        {"exp", json_integer(now), 0},                      /* exp must pass now */
        {"exp", json_integer(now + 1), 1},
        {"exp", json_real((double)now + GOOD_LIFE), 0},
        {"iat", json_integer(now + OIDC_CLOCK_SKEW), 1},
        {"iat", json_integer(now + OIDC_CLOCK_SKEW + 1), 0},
        {"iat", json_integer(now + GOOD_LIFE - CLIENT_ASSERTION_MAX_LIFETIME), 1},
        {"iat", json_integer(now + GOOD_LIFE - CLIENT_ASSERTION_MAX_LIFETIME - 1), 0},
        {"iat", json_string("now"), 0},
        {"nbf", json_integer(now + OIDC_CLOCK_SKEW), 1},
        {"nbf", json_integer(now + OIDC_CLOCK_SKEW + 1), 0},
        {"jti", json_string(""), 0},
        {"jti", json_integer(7), 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *changed = good_claims(now);
        assert_int_equal(json_object_set_new(changed, cases[i].member, cases[i].value), 0);
        const char *why = client_assertion_check(changed, "c1", ISSUER, now, &jti, &expires);
        if ((why == NULL) != cases[i].good)
            fail_msg("case %zu (%s): %s", i, cases[i].member, why ? why : "accepted");
        json_decref(changed);
    }
    /* exp must come after iat. */
    json_t *instant = good_claims(now);
    json_object_set_new(instant, "iat", json_integer(now + 30));
    json_object_set_new(instant, "exp", json_integer(now + 30));
    assert_non_null(client_assertion_check(instant, "c1", ISSUER, now, &jti, &expires));
    json_decref(instant);
    /* Missing members. */
    const char *members[] = {"iss", "sub", "aud", "exp", "iat", "jti"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
        json_t *changed = good_claims(now);
        json_object_del(changed, members[i]);
        if (client_assertion_check(changed, "c1", ISSUER, now, &jti, &expires) == NULL)
            fail_msg("accepted without %s", members[i]);
        json_decref(changed);
    }
    /* jti length at N and N+1. */
    char long_jti[CLIENT_ASSERTION_JTI_MAX_BYTES + 2];
    memset(long_jti, 'j', CLIENT_ASSERTION_JTI_MAX_BYTES);
    long_jti[CLIENT_ASSERTION_JTI_MAX_BYTES] = '\0';
    json_object_set_new(claims, "jti", json_string(long_jti));
    assert_null(client_assertion_check(claims, "c1", ISSUER, now, &jti, &expires));
    strcat(long_jti, "j");
    json_object_set_new(claims, "jti", json_string(long_jti));
    assert_non_null(client_assertion_check(claims, "c1", ISSUER, now, &jti, &expires));
    json_decref(claims);
}

/* ── Against the store ─────────────────────────────────────────────────── */

/* Registers a platform; copies its client_id (and secret, when basic). */
static void
add_platform(struct fixture *f, const char *auth_method, const char *jwks,
             char client_id[STORE_ID_MAX], char *secret, size_t secret_cap)
{
    struct platform_spec spec = {.name = "Shop",
                                 .redirect_uris = {"https://shop.example/cb"},
                                 .redirect_uri_count = 1,
                                 .auth_method = auth_method,
                                 .jwks = jwks};
    json_t *result = NULL;
    char err[256];
    if (platform_add(f->conn, &spec, &result, err, sizeof err) != 0)
        fail_msg("platform add: %s", err);
    strcpy(client_id, json_string_value(json_object_get(result, "client_id")));
    if (secret != NULL) {
        const char *text = json_string_value(json_object_get(result, "client_secret"));
        assert_non_null(text);
        assert_true(strlen(text) < secret_cap);
        strcpy(secret, text);
    }
    json_decref(result);
}

/* Authenticates with header and body (either may be NULL). */
static int
authenticate(struct fixture *f, const char *authorization, const char *body,
             struct store_platform *platform)
{
    struct form form;
    const char *text = body ? body : "";
    assert_int_equal(form_parse((const uint8_t *)text, strlen(text), &form), 0);
    int result = client_authenticate_at(&f->context, f->conn, authorization, &form,
                                        f->now, platform, &f->response);
    form_clear(&form);
    return result;
}

static void
test_basic_store(void **state)
{
    struct fixture *f = *state;
    char client_id[STORE_ID_MAX], secret[128], other[STORE_ID_MAX], header[512],
        text[512], body[512];
    struct store_platform platform;
    add_platform(f, NULL, NULL, client_id, secret, sizeof secret);
    add_platform(f, NULL, NULL, other, NULL, 0);

    snprintf(text, sizeof text, "%s:%s", client_id, secret);
    basic_of(text, header, sizeof header);
    assert_int_equal(authenticate(f, header, NULL, &platform), 0);
    assert_string_equal(platform.client_id, client_id);
    store_platform_clear(&platform);
    /* With a client_id field naming the same platform, then another one. */
    snprintf(body, sizeof body, "grant_type=x&client_id=%s", client_id);
    assert_int_equal(authenticate(f, header, body, &platform), 0);
    store_platform_clear(&platform);
    snprintf(body, sizeof body, "client_id=%s", other);
    assert_int_equal(authenticate(f, header, body, &platform), 1);
    expect_error(f, 401, "invalid_client");
    /* A JSON endpoint passes no form. */
    assert_int_equal(client_authenticate_at(&f->context, f->conn, header, NULL, f->now,
                                            &platform, &f->response), 0);
    store_platform_clear(&platform);

    /* The wrong secret, one byte off. */
    char first = secret[0];
    secret[0] = first == 'A' ? 'B' : 'A';
    snprintf(text, sizeof text, "%s:%s", client_id, secret);
    basic_of(text, header, sizeof header);
    assert_int_equal(authenticate(f, header, NULL, &platform), 1);
    expect_error(f, 401, "invalid_client");
    /* An unknown client, an over-long one, a malformed header. */
    basic_of("nobody:secret", header, sizeof header);
    assert_int_equal(authenticate(f, header, NULL, &platform), 1);
    expect_error(f, 401, "invalid_client");
    assert_int_equal(authenticate(f, "Basic !!", NULL, &platform), 1);
    expect_error(f, 401, "invalid_client");
    /* No credentials at all, another scheme. */
    assert_int_equal(authenticate(f, NULL, NULL, &platform), 1);
    expect_error(f, 401, "invalid_client");
    assert_int_equal(authenticate(f, "Bearer abc", NULL, &platform), 1);
    expect_error(f, 401, "invalid_client");
    /* client_secret_post: the wrong secret refused, the right one taken;
     * a secret without its client id is a malformed request. */
    snprintf(body, sizeof body, "client_id=%s&client_secret=%s", client_id, secret);
    assert_int_equal(authenticate(f, NULL, body, &platform), 1);
    expect_error(f, 401, "invalid_client");
    secret[0] = first;
    snprintf(body, sizeof body, "client_id=%s&client_secret=%s", client_id, secret);
    assert_int_equal(authenticate(f, NULL, body, &platform), 0);
    assert_string_equal(platform.client_id, client_id);
    store_platform_clear(&platform);
    snprintf(body, sizeof body, "client_secret=%s", secret);
    assert_int_equal(authenticate(f, NULL, body, &platform), 1);
    expect_error(f, 400, "invalid_request");
    /* Two methods at once. */
    secret[0] = first;
    snprintf(text, sizeof text, "%s:%s", client_id, secret);
    basic_of(text, header, sizeof header);
    snprintf(body, sizeof body, "client_secret=%s", secret);
    assert_int_equal(authenticate(f, header, body, &platform), 1);
    expect_error(f, 400, "invalid_request");
    assert_int_equal(authenticate(f, header, ASSERTION_TYPE_FIELD "&client_assertion=a.b.c",
                                  &platform), 1);
    expect_error(f, 400, "invalid_request");

    /* Disabled: refused like an unknown platform; enabled again: accepted. */
    char err[256];
    assert_int_equal(platform_set_disabled(f->conn, client_id, 1, err, sizeof err), 0);
    assert_int_equal(authenticate(f, header, NULL, &platform), 1);
    expect_error(f, 401, "invalid_client");
    assert_int_equal(platform_set_disabled(f->conn, client_id, 0, err, sizeof err), 0);
    assert_int_equal(authenticate(f, header, NULL, &platform), 0);
    store_platform_clear(&platform);
}

/* A key pair and the JWKS text of its public half (kid given). */
struct key {
    cjose_jwk_t *jwk;
    char jwks[8192];
};

static void
key_new(struct key *key, const char *kind, const char *kid)
{
    cjose_err err;
    static const uint8_t exponent[] = {0x01, 0x00, 0x01};
    if (strcmp(kind, "EC") == 0)
        key->jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    else if (strcmp(kind, "RSA1024") == 0)
        key->jwk = cjose_jwk_create_RSA_random(1024, exponent, sizeof exponent, &err);
    else if (strcmp(kind, "oct") == 0)
        key->jwk = cjose_jwk_create_oct_random(256, &err);
    else
        key->jwk = cjose_jwk_create_RSA_random(2048, exponent, sizeof exponent, &err);
    assert_non_null(key->jwk);
    if (kid != NULL)
        assert_true(cjose_jwk_set_kid(key->jwk, kid, strlen(kid), &err));
    char *public = cjose_jwk_to_json(key->jwk, false, &err);
    assert_non_null(public);
    assert_true(snprintf(key->jwks, sizeof key->jwks, "{\"keys\":[%s]}", public) <
                (int)sizeof key->jwks);
    free(public);
}

/* The body of a request authenticated by an assertion signed with key
 * (alg, header kid or NULL) over claims (stolen). */
static void
assertion_body(const struct key *key, const char *alg, const char *kid, json_t *claims,
               char *body, size_t cap)
{
    cjose_err err;
    cjose_header_t *header = cjose_header_new(&err);
    assert_true(cjose_header_set(header, CJOSE_HDR_ALG, alg, &err));
    if (kid != NULL)
        assert_true(cjose_header_set(header, CJOSE_HDR_KID, kid, &err));
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    cjose_jws_t *jws = cjose_jws_sign(key->jwk, header, (const uint8_t *)payload,
                                      strlen(payload), &err);
    assert_non_null(jws);
    const char *compact = NULL;
    assert_true(cjose_jws_export(jws, &compact, &err));
    assert_true(snprintf(body, cap, ASSERTION_TYPE_FIELD "&client_assertion=%s", compact) <
                (int)cap);
    cjose_jws_release(jws);
    cjose_header_release(header);
    free(payload);
}

static json_t *
claims_for(const char *client_id, int64_t now, const char *jti)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", client_id, "sub", client_id,
                     "aud", ISSUER, "iat", (json_int_t)now, "exp", (json_int_t)(now + 120),
                     "jti", jti);
}

static void
test_private_key_jwt(void **state)
{
    struct fixture *f = *state;
    struct key ec, stranger, rsa, weak, oct;
    char client_id[STORE_ID_MAX], rsa_id[STORE_ID_MAX], weak_id[STORE_ID_MAX],
        basic_id[STORE_ID_MAX], body[16384];
    struct store_platform platform;
    key_new(&ec, "EC", "k1");
    key_new(&stranger, "EC", "k1");
    key_new(&rsa, "RSA", NULL);
    key_new(&weak, "RSA1024", NULL);
    key_new(&oct, "oct", NULL);
    add_platform(f, PLATFORM_AUTH_PRIVATE_KEY_JWT, ec.jwks, client_id, NULL, 0);
    add_platform(f, PLATFORM_AUTH_PRIVATE_KEY_JWT, rsa.jwks, rsa_id, NULL, 0);
    add_platform(f, PLATFORM_AUTH_PRIVATE_KEY_JWT, weak.jwks, weak_id, NULL, 0);
    add_platform(f, NULL, NULL, basic_id, NULL, 0);

    /* ES256 with the kid, then without it; each jti once. */
    assertion_body(&ec, "ES256", "k1", claims_for(client_id, f->now, "jti-1"), body,
                   sizeof body);
    assert_int_equal(authenticate(f, NULL, body, &platform), 0);
    assert_string_equal(platform.client_id, client_id);
    store_platform_clear(&platform);
    assert_int_equal(authenticate(f, NULL, body, &platform), 1);
    expect_refusal(f, 401, "invalid_client", "already used");
    assertion_body(&ec, "ES256", NULL, claims_for(client_id, f->now, "jti-2"), body,
                   sizeof body);
    assert_int_equal(authenticate(f, NULL, body, &platform), 0);
    store_platform_clear(&platform);
    /* The same jti at another client is another key. */
    assertion_body(&rsa, "RS256", NULL, claims_for(rsa_id, f->now, "jti-1"), body,
                   sizeof body);
    assert_int_equal(authenticate(f, NULL, body, &platform), 0);
    store_platform_clear(&platform);
    assertion_body(&rsa, "PS256", NULL, claims_for(rsa_id, f->now, "jti-ps"), body,
                   sizeof body);
    assert_int_equal(authenticate(f, NULL, body, &platform), 0);
    store_platform_clear(&platform);

    struct {
        const struct key *key;
        const char *alg, *kid, *client;
        const char *why, *says;
    } refused[] = {
        {&stranger, "ES256", "k1", client_id, "another key with the same kid",
         "does not verify"},
        {&ec, "ES256", "k2", client_id, "a kid the JWKS lacks", "does not verify"},
        {&rsa, "RS384", NULL, rsa_id, "an alg outside the list", "must be signed"},
        {&weak, "RS256", NULL, weak_id, "an RSA key under 2048 bits", "does not verify"},
        {&oct, "HS256", NULL, client_id, "HMAC", "must be signed"},
        {&rsa, "RS256", NULL, client_id, "an RSA signature for an EC client",
         "does not verify"},
        {&ec, "ES256", NULL, basic_id, "a client_secret_basic platform",
         "authenticates with its client secret"},
        {&ec, "ES256", NULL, "nobody", "an unknown client", "unknown client"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char jti[32];
        snprintf(jti, sizeof jti, "refused-%zu", i);
        assertion_body(refused[i].key, refused[i].alg, refused[i].kid,
                       claims_for(refused[i].client, f->now, jti), body, sizeof body);
        if (authenticate(f, NULL, body, &platform) != 1)
            fail_msg("accepted: %s", refused[i].why);
        expect_refusal(f, 401, "invalid_client", refused[i].says);
    }
    /* Claims are checked once the signature verifies: an expired one. */
    json_t *claims = claims_for(client_id, f->now, "jti-old");
    json_object_set_new(claims, "iat", json_integer(f->now - 200));
    json_object_set_new(claims, "exp", json_integer(f->now - 1));
    assertion_body(&ec, "ES256", "k1", claims, body, sizeof body);
    assert_int_equal(authenticate(f, NULL, body, &platform), 1);
    expect_refusal(f, 401, "invalid_client", "expired");
    /* A client_id field must agree. */
    assertion_body(&ec, "ES256", "k1", claims_for(client_id, f->now, "jti-3"), body,
                   sizeof body);
    strcat(body, "&client_id=someone");
    assert_int_equal(authenticate(f, NULL, body, &platform), 1);
    expect_error(f, 401, "invalid_client");
    /* Half of the method, the wrong type, not a JWS, too long. */
    assert_int_equal(authenticate(f, NULL, "client_assertion=a.b.c", &platform), 1);
    expect_error(f, 400, "invalid_request");
    assert_int_equal(authenticate(f, NULL, ASSERTION_TYPE_FIELD, &platform), 1);
    expect_error(f, 400, "invalid_request");
    assert_int_equal(authenticate(f, NULL, "client_assertion_type=jwt&client_assertion=a",
                                  &platform), 1);
    expect_error(f, 401, "invalid_client");
    assert_int_equal(authenticate(f, NULL, ASSERTION_TYPE_FIELD "&client_assertion=x.y.z",
                                  &platform), 1);
    expect_error(f, 401, "invalid_client");
    char *huge = malloc(CLIENT_ASSERTION_MAX_BYTES + 200);
    assert_non_null(huge);
    int prefix = snprintf(huge, 200, ASSERTION_TYPE_FIELD "&client_assertion=");
    memset(huge + prefix, 'a', CLIENT_ASSERTION_MAX_BYTES + 1);
    huge[prefix + CLIENT_ASSERTION_MAX_BYTES + 1] = '\0';
    assert_int_equal(authenticate(f, NULL, huge, &platform), 1);
    expect_error(f, 401, "invalid_client");
    free(huge);

    cjose_jwk_release(ec.jwk);
    cjose_jwk_release(stranger.jwk);
    cjose_jwk_release(rsa.jwk);
    cjose_jwk_release(weak.jwk);
    cjose_jwk_release(oct.jwk);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_parse),
        cmocka_unit_test(test_assertion_claims),
        cmocka_unit_test_setup_teardown(test_basic_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_key_jwt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
