/* Tests of token-signing keys over time (oidc/token_keys.h) and of the
 * ID tokens signed with them (oidc/jws.h): the states are a function of
 * the time given, so rotation is tested at chosen instants, no sleeping. */
#include "oidc/jws.h"
#include "oidc/subject.h"
#include "oidc/token_keys.h"

#include "../test_keys_db.h"

#include <cjose/cjose.h>
#include <time.h>
#include <sys/stat.h>


/* The state of kid in `cyberid keys list` at now, or NULL. */
static const char *
state_of(struct test_keys_db *f, const char *kid, int64_t now)
{
    json_t *list = NULL;
    assert_int_equal(token_keys_list(f->conn, f->signer, now, &list), 0);
    static char state[32];
    state[0] = '\0';
    size_t i;
    json_t *entry;
    json_array_foreach(list, i, entry)
        if (strcmp(json_string_value(json_object_get(entry, "kid")), kid) == 0)
            snprintf(state, sizeof state, "%s",
                     json_string_value(json_object_get(entry, "state")));
    json_decref(list);
    return state[0] ? state : NULL;
}

/* The kids of /jwks.json at now, in order, comma-separated. */
static void
jwks_kids(struct test_keys_db *f, int64_t now, char *out, size_t cap)
{
    json_t *jwks = NULL;
    assert_int_equal(token_keys_jwks(f->conn, f->signer, now, &jwks), 0);
    out[0] = '\0';
    size_t i;
    json_t *key;
    json_array_foreach(json_object_get(jwks, "keys"), i, key) {
        assert_string_equal(json_string_value(json_object_get(key, "kty")), "EC");
        assert_string_equal(json_string_value(json_object_get(key, "crv")), "P-256");
        assert_string_equal(json_string_value(json_object_get(key, "alg")), "ES256");
        assert_null(json_object_get(key, "d")); /* never a private part */
        if (i > 0)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, json_string_value(json_object_get(key, "kid")), cap - strlen(out) - 1);
    }
    json_decref(jwks);
}

/* Signs an ID token at now and verifies it with the published key named by
 * its kid; checks that its sub, which the signer put in, is the pairwise
 * subject subject.c computes; returns that kid (static). */
static const char *
sign_and_verify(struct test_keys_db *f, int64_t now)
{
    /* `now` picks the key (the rotation's clock); the claims carry the
     * real time, which the signer checks against its own. */
    json_int_t issued = (json_int_t)time(NULL);
    json_t *claims = json_pack("{s:s, s:s, s:I, s:I}", "iss", "http://127.0.0.1:1",
                               "aud", "platform", "iat", issued, "exp", issued + 600);
    char *token = NULL, sub[SUBJECT_SIZE], expected[SUBJECT_SIZE];
    assert_int_equal(jws_sign_id_token(f->conn, f->signer, claims, "shop.example",
                                       "0123456789ABCDEF", now, sub, &token),
                     0);
    assert_int_equal(subject_pairwise(f->signer, "0123456789ABCDEF", "shop.example", expected),
                     0);
    assert_string_equal(sub, expected);
    assert_int_equal(json_object_set_new(claims, "sub", json_string(sub)), 0);
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), NULL);
    assert_non_null(jws);
    json_t *header = (json_t *)cjose_jws_get_protected(jws);
    assert_string_equal(json_string_value(json_object_get(header, "alg")), "ES256");
    static char kid[SIGNER_KID_MAX + 1];
    snprintf(kid, sizeof kid, "%s", json_string_value(json_object_get(header, "kid")));

    json_t *jwks = NULL;
    assert_int_equal(token_keys_jwks(f->conn, f->signer, now, &jwks), 0);
    json_t *key = NULL, *candidate;
    size_t i;
    json_array_foreach(json_object_get(jwks, "keys"), i, candidate)
        if (strcmp(json_string_value(json_object_get(candidate, "kid")), kid) == 0)
            key = candidate;
    assert_non_null(key);
    char *key_text = json_dumps(key, 0);
    cjose_jwk_t *jwk = cjose_jwk_import(key_text, strlen(key_text), NULL);
    assert_non_null(jwk);
    assert_true(cjose_jws_verify(jws, jwk, NULL));
    uint8_t *payload = NULL;
    size_t length = 0;
    assert_true(cjose_jws_get_plaintext(jws, &payload, &length, NULL));
    json_t *decoded = json_loadb((const char *)payload, length, 0, NULL);
    assert_true(json_equal(decoded, claims));

    /* One flipped signature bit and it no longer verifies. */
    size_t last = strlen(token) - 2;
    token[last] = token[last] == 'A' ? 'B' : 'A';
    cjose_jws_t *forged = cjose_jws_import(token, strlen(token), NULL);
    assert_non_null(forged);
    assert_false(cjose_jws_verify(forged, jwk, NULL));

    cjose_jws_release(forged);
    json_decref(decoded);
    cjose_jwk_release(jwk);
    free(key_text);
    json_decref(jwks);
    cjose_jws_release(jws);
    free(token);
    json_decref(claims);
    return kid;
}

static void
test_initial_key_signs(void **state)
{
    struct test_keys_db *f = *state;
    char initial[SIGNER_KID_MAX + 1], kid[SIGNER_KID_MAX + 1], kids[512];
    signer_token_initial_kid(f->signer, initial);
    assert_int_equal(token_keys_signing_kid(f->conn, f->signer, 1000, kid), 0);
    assert_string_equal(kid, initial);
    jwks_kids(f, 1000, kids, sizeof kids);
    assert_string_equal(kids, initial);
    assert_string_equal(state_of(f, initial, 1000), "signing");
    assert_string_equal(sign_and_verify(f, 1000), initial);
}

static void
test_rotation_publishes_first_and_retires_late(void **state)
{
    struct test_keys_db *f = *state;
    char initial[SIGNER_KID_MAX + 1], next[SIGNER_KID_MAX + 1], kids[512], expected[512];
    char err[256];
    const int64_t t = 1700000000;
    signer_token_initial_kid(f->signer, initial);
    assert_int_equal(token_keys_rotate(f->conn, f->signer, f->keys, t, 100, "operator", next, err,
                                       sizeof err), 0);
    assert_int_equal(signer_kid_is_valid(next), 1);
    assert_string_not_equal(next, initial);

    /* Before activation: published, not signing. */
    assert_string_equal(state_of(f, next, t), "next");
    assert_string_equal(state_of(f, initial, t + 99), "signing");
    snprintf(expected, sizeof expected, "%s,%s", initial, next);
    jwks_kids(f, t + 99, kids, sizeof kids);
    assert_string_equal(kids, expected);
    assert_string_equal(sign_and_verify(f, t + 99), initial);

    /* From activation: the new key signs, the old one stays published for
     * TOKEN_KEYS_RETIRED_PUBLISHED seconds, then leaves the JWKS. */
    assert_string_equal(state_of(f, next, t + 100), "signing");
    assert_string_equal(state_of(f, initial, t + 100), "published");
    snprintf(expected, sizeof expected, "%s,%s", next, initial);
    jwks_kids(f, t + 100, kids, sizeof kids);
    assert_string_equal(kids, expected);
    assert_string_equal(sign_and_verify(f, t + 100), next);
    jwks_kids(f, t + 100 + TOKEN_KEYS_RETIRED_PUBLISHED - 1, kids, sizeof kids);
    assert_string_equal(kids, expected);
    assert_string_equal(state_of(f, initial, t + 100 + TOKEN_KEYS_RETIRED_PUBLISHED),
                        "retired");
    jwks_kids(f, t + 100 + TOKEN_KEYS_RETIRED_PUBLISHED, kids, sizeof kids);
    assert_string_equal(kids, next);

    /* The new key's file is private. */
    char path[1300];
    struct stat info;
    snprintf(path, sizeof path, "%s/token-%s.pem", f->keys, next);
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
}

static void
test_two_rotations(void **state)
{
    struct test_keys_db *f = *state;
    char first[SIGNER_KID_MAX + 1], second[SIGNER_KID_MAX + 1], kid[SIGNER_KID_MAX + 1];
    char err[256];
    const int64_t t = 1700000000;
    assert_int_equal(token_keys_rotate(f->conn, f->signer, f->keys, t, 0, "operator", first, err,
                                       sizeof err), 0);
    assert_int_equal(token_keys_rotate(f->conn, f->signer, f->keys, t + 10, 50, "operator", second,
                                       err, sizeof err), 0);
    assert_int_equal(token_keys_signing_kid(f->conn, f->signer, t, kid), 0);
    assert_string_equal(kid, first);
    assert_int_equal(token_keys_signing_kid(f->conn, f->signer, t + 59, kid), 0);
    assert_string_equal(kid, first);
    assert_int_equal(token_keys_signing_kid(f->conn, f->signer, t + 60, kid), 0);
    assert_string_equal(kid, second);
    assert_string_equal(sign_and_verify(f, t + 60), second);
    /* A negative delay is refused and makes no key. */
    assert_int_equal(token_keys_rotate(f->conn, f->signer, f->keys, t, -1, "operator", kid, err,
                                       sizeof err), -1);
    json_t *list = NULL;
    assert_int_equal(token_keys_list(f->conn, f->signer, t, &list), 0);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
}

/* Another node (a copy of the data folder made before the rotation): it
 * publishes the new key from the table at once, and until the key file
 * reaches its keys/ it signs with the newest key it holds that is still
 * published, whose tokens still verify. */
static void
test_a_node_without_the_new_key_file(void **state)
{
    struct test_keys_db *f = *state;
    char initial[SIGNER_KID_MAX + 1], next[SIGNER_KID_MAX + 1], kid[SIGNER_KID_MAX + 1];
    char kids[512], expected[512], err[256], path[1300], away[1300];
    const int64_t t = 1700000000;
    signer_token_initial_kid(f->signer, initial);
    assert_int_equal(token_keys_rotate(f->conn, f->signer, f->keys, t, 10, "operator", next,
                                       err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/token-%s.pem", f->keys, next);
    snprintf(away, sizeof away, "%s/elsewhere.pem", f->dir);
    assert_int_equal(rename(path, away), 0);
    struct signer *other = NULL;
    struct signer_options options = {.keys_dir = f->keys, .issuer = "http://127.0.0.1:1"};
    assert_int_equal(signer_open_local(&options, &other, err, sizeof err), 0);
    struct signer *mine = f->signer;
    f->signer = other;
    snprintf(expected, sizeof expected, "%s,%s", next, initial);
    jwks_kids(f, t + 10, kids, sizeof kids);
    assert_string_equal(kids, expected); /* published from the table */
    assert_int_equal(token_keys_signing_kid(f->conn, other, t + 10, kid), 0);
    assert_string_equal(kid, initial);
    assert_string_equal(sign_and_verify(f, t + 10), initial);
    json_t *list = NULL;
    assert_int_equal(token_keys_list(f->conn, other, t + 10, &list), 0);
    assert_false(json_is_true(json_object_get(json_array_get(list, 1), "on_this_node")));
    assert_true(json_is_true(json_object_get(json_array_get(list, 0), "on_this_node")));
    json_decref(list);
    /* Once the old key is retired there is nothing left to sign with. */
    assert_int_equal(token_keys_signing_kid(f->conn, other,
                                            t + 10 + TOKEN_KEYS_RETIRED_PUBLISHED, kid),
                     -1);
    /* The file arrives: the new key signs. */
    assert_int_equal(rename(away, path), 0);
    assert_int_equal(token_keys_signing_kid(f->conn, other, t + 10, kid), 0);
    assert_string_equal(kid, next);
    f->signer = mine;
    signer_close(other);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initial_key_signs, test_keys_db_setup,
                                        test_keys_db_teardown),
        cmocka_unit_test_setup_teardown(test_rotation_publishes_first_and_retires_late,
                                        test_keys_db_setup, test_keys_db_teardown),
        cmocka_unit_test_setup_teardown(test_two_rotations, test_keys_db_setup,
                                        test_keys_db_teardown),
        cmocka_unit_test_setup_teardown(test_a_node_without_the_new_key_file, test_keys_db_setup,
                                        test_keys_db_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
