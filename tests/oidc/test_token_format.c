/* Tests of what the token endpoints say: the scope text (its capacity
 * with CLAIMS_MAX of the longest names), scope narrowing on refresh, at_hash
 * (the example of OpenID Connect Core appendix A.4), the ID token's
 * claims, the /token answer, token liveness and the /introspect answer
 * (inactive unless live and the caller's; never a claim value). */
#include "oidc/token_format.h"

#include "oidc/oidc.h"

#include "../test_support.h"

#define ISSUER "https://id.example"

static void
test_scope(void **state)
{
    (void)state;
    char scope[TOKEN_SCOPE_MAX];
    json_t *names = json_pack("[s, s]", "realname_verified", "age_over_18");
    assert_int_equal(token_scope(names, scope), 0);
    assert_string_equal(scope, "openid realname_verified age_over_18");
    json_decref(names);
    names = json_array();
    assert_int_equal(token_scope(names, scope), 0);
    assert_string_equal(scope, "openid");
    json_decref(names);

    /* CLAIMS_MAX names of CLAIMS_NAME_MAX_BYTES fit exactly. */
    char name[CLAIMS_NAME_MAX_BYTES + 2];
    memset(name, 'n', CLAIMS_NAME_MAX_BYTES);
    name[CLAIMS_NAME_MAX_BYTES] = '\0';
    names = json_array();
    for (size_t i = 0; i < CLAIMS_MAX; i++)
        json_array_append_new(names, json_string(name));
    assert_int_equal(token_scope(names, scope), 0);
    assert_int_equal(strlen(scope), TOKEN_SCOPE_MAX - 1);
    json_array_append_new(names, json_string("x"));
    assert_int_equal(token_scope(names, scope), -1);
    assert_string_equal(scope, "");
    json_decref(names);

    const char *bad[] = {"[\"a b\"]", "[\"\"]", "[1]", "{}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *value = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        assert_non_null(value);
        if (token_scope(value, scope) == 0)
            fail_msg("%s accepted", bad[i]);
        json_decref(value);
    }
    assert_int_equal(token_scope(NULL, scope), -1);
}

static void
test_scope_narrow(void **state)
{
    (void)state;
    json_t *granted = json_pack("[s, s, s]", "realname_verified", "age_over_18",
                                "birth_year");
    struct {
        const char *scope;
        int result;
        const char *names; /* compact JSON of the narrowed names */
    } cases[] = {
        {"openid", 0, "[]"},
        {"openid age_over_18", 0, "[\"age_over_18\"]"},
        {"birth_year openid realname_verified", 0, "[\"realname_verified\",\"birth_year\"]"},
        {"age_over_18 age_over_18", 0, "[\"age_over_18\"]"},
        {"openid realname_verified age_over_18 birth_year", 0,
         "[\"realname_verified\",\"age_over_18\",\"birth_year\"]"},
        /* Beyond the grant: the intersection, never more (RFC 6749 §3.3). */
        {"openid name", 0, "[]"},
        {"openid age_over_1", 0, "[]"},
        {"openid profile email age_over_18 offline_access", 0, "[\"age_over_18\"]"},
        {"openid  age_over_18 ", 0, "[\"age_over_18\"]"},
        {" openid", 0, "[]"},
        {"OPENID", 0, "[]"},
        {"realname_verified_x age_over_18x", 0, "[]"},
        /* No token at all. */
        {"", 1, NULL},
        {"   ", 1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *narrowed = NULL;
        int result = token_scope_narrow(cases[i].scope, granted, &narrowed);
        if (result != cases[i].result)
            fail_msg("\"%s\": %d", cases[i].scope, result);
        if (result == 0) {
            char *text = json_dumps(narrowed, JSON_COMPACT);
            assert_string_equal(text, cases[i].names);
            free(text);
        } else {
            assert_null(narrowed);
        }
        json_decref(narrowed);
    }
    /* At the request bound, and one byte over it. */
    char *long_scope = malloc(TOKEN_SCOPE_REQUEST_MAX + 2);
    memset(long_scope, ' ', TOKEN_SCOPE_REQUEST_MAX + 1);
    memcpy(long_scope, "birth_year", strlen("birth_year"));
    long_scope[TOKEN_SCOPE_REQUEST_MAX] = '\0';
    json_t *narrowed = NULL;
    assert_int_equal(token_scope_narrow(long_scope, granted, &narrowed), 0);
    assert_int_equal(json_array_size(narrowed), 1);
    json_decref(narrowed);
    narrowed = NULL;
    long_scope[TOKEN_SCOPE_REQUEST_MAX] = ' ';
    long_scope[TOKEN_SCOPE_REQUEST_MAX + 1] = '\0';
    assert_int_equal(token_scope_narrow(long_scope, granted, &narrowed), 1);
    assert_null(narrowed);
    free(long_scope);
    json_decref(granted);
}

static void
test_at_hash(void **state)
{
    (void)state;
    char at_hash[TOKEN_AT_HASH_SIZE];
    /* OpenID Connect Core 1.0, appendix A.4. */
    assert_int_equal(token_at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", at_hash),
                     0);
    assert_string_equal(at_hash, "77QmUPtjPfzWtF2AnpK9RQ");
    assert_int_equal(strlen(at_hash), 22);
}

static void
test_id_claims(void **state)
{
    (void)state;
    json_t *values = json_pack("{s:b, s:b, s:s}", "realname_verified", 1, "age_over_18",
                               0, "sub", "not-this");
    struct token_id_fields fields = {.issuer = ISSUER, .sub = "pairwise", .client_id = "c1",
                                     .now = 1000, .auth_time = 990, .nonce = "n-1",
                                     .at_hash = "77QmUPtjPfzWtF2AnpK9RQ"};
    json_t *claims = token_id_claims(&fields, values);
    assert_non_null(claims);
    assert_string_equal(json_string_value(json_object_get(claims, "iss")), ISSUER);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "pairwise");
    assert_string_equal(json_string_value(json_object_get(claims, "aud")), "c1");
    assert_int_equal(json_integer_value(json_object_get(claims, "iat")), 1000);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")),
                     1000 + OIDC_ID_TOKEN_LIFETIME);
    assert_int_equal(json_integer_value(json_object_get(claims, "auth_time")), 990);
    assert_string_equal(json_string_value(json_object_get(claims, "nonce")), "n-1");
    assert_string_equal(json_string_value(json_object_get(claims, "acr")), OIDC_ACR_FACE);
    assert_string_equal(json_string_value(json_object_get(claims, "at_hash")),
                        "77QmUPtjPfzWtF2AnpK9RQ");
    assert_true(json_is_true(json_object_get(claims, "realname_verified")));
    assert_true(json_is_false(json_object_get(claims, "age_over_18")));
    assert_int_equal(json_object_size(claims), 11);
    json_decref(claims);
    /* No nonce, no at_hash: the members are absent, not null. */
    fields.nonce = NULL;
    fields.at_hash = NULL;
    claims = token_id_claims(&fields, values);
    assert_null(json_object_get(claims, "nonce"));
    assert_null(json_object_get(claims, "at_hash"));
    json_decref(claims);
    json_decref(values);
}

static void
test_response(void **state)
{
    (void)state;
    json_t *body = token_response("A", "R", "I", "openid x", 0);
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char expected[256];
    snprintf(expected, sizeof expected,
             "{\"access_token\":\"A\",\"token_type\":\"Bearer\",\"expires_in\":%d,"
             "\"refresh_token\":\"R\",\"id_token\":\"I\",\"scope\":\"openid x\"}",
             OIDC_ACCESS_TOKEN_LIFETIME);
    assert_string_equal(text, expected);
    free(text);
    json_decref(body);
    body = token_response("A", "R", NULL, "openid", 0);
    assert_null(json_object_get(body, "id_token"));
    json_decref(body);
    /* Bound to a DPoP key (RFC 9449 §5). */
    body = token_response("A", "R", NULL, "openid", 1);
    assert_string_equal(json_string_value(json_object_get(body, "token_type")), "DPoP");
    json_decref(body);
}

static void
token_like(struct store_oidc_token *token, const char *kind)
{
    memset(token, 0, sizeof *token);
    strcpy(token->kind, kind);
    strcpy(token->client_id, "c1");
    strcpy(token->web_number, "W");
    strcpy(token->sub, "pairwise");
    strcpy(token->status, STORE_TOKEN_ACTIVE);
    strcpy(token->identity_status, STORE_IDENTITY_ACTIVE);
    token->claims = "[\"age_over_18\"]";
    token->auth_time = 900;
    token->created_at = 1000;
    token->expires_at = 1600;
}

static void
test_live_and_introspection(void **state)
{
    (void)state;
    struct store_oidc_token token;
    token_like(&token, STORE_TOKEN_ACCESS);
    assert_int_equal(token_is_live(&token, STORE_TOKEN_ACCESS, 1599), 1);
    assert_int_equal(token_is_live(&token, NULL, 1599), 1);
    assert_int_equal(token_is_live(&token, STORE_TOKEN_ACCESS, 1600), 0);
    assert_int_equal(token_is_live(&token, STORE_TOKEN_REFRESH, 1599), 0);

    json_t *answer = token_introspection(&token, "c1", ISSUER, 1599);
    char *text = json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\"active\":true,\"scope\":\"openid age_over_18\","
                              "\"client_id\":\"c1\",\"sub\":\"pairwise\",\"aud\":\"c1\","
                              "\"iss\":\"" ISSUER "\",\"exp\":1600,\"iat\":1000,"
                              "\"auth_time\":900,\"token_type\":\"Bearer\"}");
    free(text);
    json_decref(answer);

    /* Inactive: another caller, expired, revoked, rotated, identity
     * suspended or gone, unknown token. */
    struct store_oidc_token changed;
    const char *inactive = "{\"active\":false}";
    for (int i = 0; i < 7; i++) {
        changed = token;
        const char *caller = "c1";
        int64_t now = 1599;
        const struct store_oidc_token *asked = &changed;
        switch (i) {
        case 0: caller = "c2"; break;
        case 1: now = 1600; break;
        case 2: strcpy(changed.status, STORE_TOKEN_REVOKED); break;
        case 3: strcpy(changed.status, STORE_TOKEN_ROTATED); break;
        case 4: strcpy(changed.identity_status, STORE_IDENTITY_SUSPENDED); break;
        case 5: changed.identity_status[0] = '\0'; break;
        default: asked = NULL; break;
        }
        answer = token_introspection(asked, caller, ISSUER, now);
        text = json_dumps(answer, JSON_COMPACT);
        if (strcmp(text, inactive) != 0)
            fail_msg("case %d: %s", i, text);
        free(text);
        json_decref(answer);
    }
    token_like(&token, STORE_TOKEN_REFRESH);
    answer = token_introspection(&token, "c1", ISSUER, 1599);
    assert_string_equal(json_string_value(json_object_get(answer, "token_type")),
                        TOKEN_TYPE_REFRESH);
    json_decref(answer);
    /* Malformed stored claims are an internal failure, not an answer. */
    token.claims = "not json";
    assert_null(token_introspection(&token, "c1", ISSUER, 1599));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope),
        cmocka_unit_test(test_scope_narrow),
        cmocka_unit_test(test_at_hash),
        cmocka_unit_test(test_id_claims),
        cmocka_unit_test(test_response),
        cmocka_unit_test(test_live_and_introspection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
