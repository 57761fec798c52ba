/* Tests of platform registration rules. */
#include "oidc/platform.h"

#include "audit/audit.h"

#include "../test_db.h"

#include <openssl/sha.h>

static int
setup(void **state)
{
    *state = test_db_store_open("platform");
    return 0;
}

static int
teardown(void **state)
{
    test_db_store_close(*state);
    return 0;
}

static void
test_redirect_uris(void **state)
{
    (void)state;
    char host[256], err[256];
    const char *good[] = {
        "https://shop.example/callback", "https://shop.example:8443/cb?x=1",
        "http://127.0.0.1:3000/cb", "http://localhost/cb", "http://[::1]:8080/cb",
        "http://127.8.9.10/cb", "https://[2001:db8::1]/cb",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (platform_check_redirect_uri(good[i], host, sizeof host, err, sizeof err) != 0)
            fail_msg("%s refused: %s", good[i], err);
    assert_int_equal(platform_check_redirect_uri("https://shop.example:8443/cb", host,
                                                 sizeof host, err, sizeof err), 0);
    assert_string_equal(host, "shop.example");
    const char *bad[] = {
        "", "shop.example/cb", "http://shop.example/cb", "ftp://shop.example/cb",
        "https://shop.example/cb#frag", "https://user@shop.example/cb",
        "https:///cb", "https://shop.example:0/cb", "https://shop.example:65536/cb",
        "https://shop example/cb", "https://Shop.Example/cb", "https://[::1/cb",
        "https://[nothex]/cb", "http://128.0.0.1/cb", "https://shop.example:/cb",
        "https://shop.example/caf\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (platform_check_redirect_uri(bad[i], host, sizeof host, err, sizeof err) == 0)
            fail_msg("%s accepted", bad[i]);
    /* The length limit, at N and N+1. */
    char *uri = malloc(PLATFORM_URI_MAX_BYTES + 2);
    strcpy(uri, "https://a/");
    size_t n = strlen(uri);
    memset(uri + n, 'x', PLATFORM_URI_MAX_BYTES - n);
    uri[PLATFORM_URI_MAX_BYTES] = '\0';
    assert_int_equal(platform_check_redirect_uri(uri, NULL, 0, err, sizeof err), 0);
    uri[PLATFORM_URI_MAX_BYTES] = 'x';
    uri[PLATFORM_URI_MAX_BYTES + 1] = '\0';
    assert_int_equal(platform_check_redirect_uri(uri, NULL, 0, err, sizeof err), -1);
    free(uri);
}

static void
test_add_default_and_secret_hashed(void **state)
{
    struct test_db_store *f = *state;
    struct platform_spec spec = {.name = "Shop",
                                 .redirect_uris = {"https://shop.example/cb"},
                                 .redirect_uri_count = 1};
    json_t *result = NULL;
    char err[256];
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), 0);
    const char *client_id = json_string_value(json_object_get(result, "client_id"));
    const char *secret = json_string_value(json_object_get(result, "client_secret"));
    assert_non_null(client_id);
    assert_non_null(secret);
    assert_true(strlen(secret) >= 43);
    json_t *claims = json_object_get(result, "claims");
    assert_int_equal(json_array_size(claims), 1);
    assert_string_equal(json_string_value(json_array_get(claims, 0)), "realname_verified");
    /* A sector of its own by default, not its host's. */
    char own_sector[96];
    snprintf(own_sector, sizeof own_sector, "client:%s", client_id);
    assert_string_equal(json_string_value(json_object_get(result, "sector_identifier")),
                        own_sector);
    assert_string_equal(json_string_value(json_object_get(result,
                        "token_endpoint_auth_method")), "client_secret_basic");

    struct store_platform stored;
    int found = 0;
    assert_int_equal(store_platform_get(f->conn, client_id, &stored, &found), 0);
    assert_true(found);
    uint8_t digest[32];
    SHA256((const uint8_t *)secret, strlen(secret), digest);
    assert_memory_equal(stored.secret_hash, digest, 32);
    store_platform_clear(&stored);

    /* The listing shows it, without a secret. */
    json_t *list = NULL;
    assert_int_equal(platform_list(f->conn, &list, err, sizeof err), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_null(json_object_get(json_array_get(list, 0), "client_secret"));
    json_decref(list);

    /* Disable, enable, and an unknown id. */
    assert_int_equal(platform_set_disabled(f->conn, client_id, 1, err, sizeof err), 0);
    assert_int_equal(store_platform_get(f->conn, client_id, &stored, &found), 0);
    assert_true(stored.disabled);
    store_platform_clear(&stored);
    assert_int_equal(platform_set_disabled(f->conn, client_id, 0, err, sizeof err), 0);
    assert_int_equal(platform_set_disabled(f->conn, "unknown", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "no platform"));
    json_decref(result);
}

static void
test_claims_rules(void **state)
{
    struct test_db_store *f = *state;
    json_t *result = NULL;
    char err[256];
    struct platform_spec spec = {.name = "Bank",
                                 .redirect_uris = {"https://bank.example/cb"},
                                 .redirect_uri_count = 1,
                                 .claims = "realname_verified,name,national_id"};
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), -1);
    assert_non_null(strstr(err, "legal-basis"));
    spec.legal_basis = "Anti-Money Laundering Law art. 16";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(result, "claims")), 3);
    json_decref(result);

    spec.claims = "realname_verified,email";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), -1);
    assert_non_null(strstr(err, "email"));
    spec.claims = "age_over_18,age_over_18";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), -1);
    spec.claims = " age_over_18 , birth_year ";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), 0);
    json_decref(result);
}

static void
test_sector_and_auth_rules(void **state)
{
    struct test_db_store *f = *state;
    json_t *result = NULL;
    char err[256];
    /* Two platforms on one host: a sector each. */
    struct platform_spec one = {.name = "Mini one", .redirect_uris = {"https://h.example/1"},
                                .redirect_uri_count = 1};
    struct platform_spec two = {.name = "Mini two", .redirect_uris = {"https://h.example/2"},
                                .redirect_uri_count = 1};
    assert_int_equal(platform_add(f->conn, &one, &result, err, sizeof err), 0);
    char first_id[64], first_sector[96];
    snprintf(first_id, sizeof first_id, "%s",
             json_string_value(json_object_get(result, "client_id")));
    snprintf(first_sector, sizeof first_sector, "%s",
             json_string_value(json_object_get(result, "sector_identifier")));
    json_decref(result);
    assert_int_equal(platform_add(f->conn, &two, &result, err, sizeof err), 0);
    assert_string_not_equal(json_string_value(json_object_get(result, "sector_identifier")),
                            first_sector);
    json_decref(result);
    /* Registered into the first one's sector: the same. */
    two.sector_of = first_id;
    assert_int_equal(platform_add(f->conn, &two, &result, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "sector_identifier")),
                        first_sector);
    json_decref(result);
    two.sector_of = "no-such-platform";
    assert_int_equal(platform_add(f->conn, &two, &result, err, sizeof err), -1);
    assert_non_null(strstr(err, "--sector-of"));
    two.sector_id = "group";
    assert_int_equal(platform_add(f->conn, &two, &result, err, sizeof err), -1);
    assert_non_null(strstr(err, "exclude"));
    two.sector_of = NULL;
    two.sector_id = "client:forged";
    assert_int_equal(platform_add(f->conn, &two, &result, err, sizeof err), -1);

    /* Different hosts need nothing now; a named group sector is kept. */
    struct platform_spec spec = {.name = "Two hosts",
                                 .redirect_uris = {"https://a.example/cb",
                                                   "https://b.example/cb"},
                                 .redirect_uri_count = 2};
    spec.sector_id = "example-group";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "sector_identifier")),
                        "example-group");
    json_decref(result);

    /* A sector_identifier_uri proves the URIs: its document must list
     * every one; the sector is its host. */
    spec.sector_id = NULL;
    spec.sector_identifier_uri = "https://sector.example/uris.json";
    spec.sector_uris = "[\"https://a.example/cb\"]";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not list https://b.example/cb"));
    spec.sector_uris = "{\"redirect_uris\": []}";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a JSON array"));
    spec.sector_uris = "[\"https://b.example/cb\", \"https://a.example/cb\", \"https://c.example/x\"]";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "sector_identifier")),
                        "sector.example");
    json_decref(result);
    spec.sector_identifier_uri = "http://sector.example/uris.json";
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), -1);
    assert_non_null(strstr(err, "--sector-identifier-uri"));

    struct platform_spec jwt = {.name = "JWT", .redirect_uris = {"https://c.example/cb"},
                                .redirect_uri_count = 1,
                                .auth_method = "private_key_jwt"};
    assert_int_equal(platform_add(f->conn, &jwt, &result, err, sizeof err), -1);
    jwt.jwks = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
               "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
               "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";
    assert_int_equal(platform_add(f->conn, &jwt, &result, err, sizeof err), 0);
    assert_null(json_object_get(result, "client_secret"));
    json_decref(result);
    jwt.jwks = "{\"keys\":[]}";
    assert_int_equal(platform_add(f->conn, &jwt, &result, err, sizeof err), -1);
    jwt.jwks = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}";
    assert_int_equal(platform_add(f->conn, &jwt, &result, err, sizeof err), -1);
    jwt.auth_method = "none";
    assert_int_equal(platform_add(f->conn, &jwt, &result, err, sizeof err), -1);

    struct platform_spec nameless = {.name = "", .redirect_uris = {"https://d/cb"},
                                     .redirect_uri_count = 1};
    assert_int_equal(platform_add(f->conn, &nameless, &result, err, sizeof err), -1);
    struct platform_spec no_uri = {.name = "X"};
    assert_int_equal(platform_add(f->conn, &no_uri, &result, err, sizeof err), -1);
}

static int
count_action(void *context, const struct store_audit_event *event)
{
    if (strncmp(event->action, "platform.", 9) == 0)
        (*(int *)context)++;
    return 0;
}

static void
test_every_change_is_audited(void **state)
{
    struct test_db_store *f = *state;
    json_t *result = NULL;
    char err[256];
    struct platform_spec spec = {.name = "Shop", .redirect_uris = {"https://s.example/cb"},
                                 .redirect_uri_count = 1};
    assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), 0);
    const char *client_id = json_string_value(json_object_get(result, "client_id"));
    assert_int_equal(platform_set_disabled(f->conn, client_id, 1, err, sizeof err), 0);
    json_decref(result);
    int count = 0;
    assert_int_equal(store_audit_each(f->conn, 0, 100, count_action, &count), 0);
    assert_int_equal(count, 2);
}

/* Client ids are typed as command-line arguments: none may begin with
 * '-' (1 in 64 random ones would; 400 draws all miss it by chance with a
 * probability under 0.2%). */
static void
test_client_ids_never_look_like_options(void **state)
{
    struct test_db_store *f = *state;
    struct platform_spec spec = {.name = "Shop",
                                 .redirect_uris = {"https://shop.example/cb"},
                                 .redirect_uri_count = 1};
    char err[256];
    for (int i = 0; i < 400; i++) {
        json_t *result = NULL;
        assert_int_equal(platform_add(f->conn, &spec, &result, err, sizeof err), 0);
        const char *client_id = json_string_value(json_object_get(result, "client_id"));
        assert_non_null(client_id);
        assert_int_not_equal(client_id[0], '-');
        json_decref(result);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_uris),
        cmocka_unit_test_setup_teardown(test_add_default_and_secret_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sector_and_auth_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_change_is_audited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_ids_never_look_like_options, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
