/* Tests of DPoP (RFC 9449): the RFC 7638 thumbprint against the RFC's own
 * example, server nonces (fresh, stale, from the future, tampered) with a
 * real signer, and dpop_proof_check() against a temporary store with
 * proofs signed here by cjose: the good one, then one change at a time
 * (replay, method, URL, iat, nonce, ath, typ, alg, crit, a private key
 * in the header, a signature by another key, size). */
#include "oidc/dpop.h"

#include "util/encoding.h"

#include "../test_keys_db.h"

#include <cjose/cjose.h>
#include <openssl/sha.h>
#include <time.h>

#define URL "https://id.example/token"

struct fixture {
    struct test_keys_db *db; /* keys, signer, store, one connection */
    cjose_jwk_t *key, *other;
    int64_t now;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->db = test_keys_db_open("dpop");
    f->key = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, NULL);
    f->other = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, NULL);
    assert_non_null(f->key);
    assert_non_null(f->other);
    f->now = (int64_t)time(NULL);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    cjose_jwk_release(f->key);
    cjose_jwk_release(f->other);
    test_keys_db_close(f->db);
    free(f);
    return 0;
}

/* What a proof is made of; NULL fields are left out. */
struct proof_spec {
    const char *typ, *alg, *htm, *htu, *nonce, *ath, *jti;
    int64_t iat;
    int crit;                   /* a crit header naming "x" */
    int private_in_header;      /* the header's jwk with d */
    const cjose_jwk_t *signer;  /* NULL: the header's key */
};

/* A compact JWS made by cjose; free(). */
static char *
make_proof(const struct fixture *f, const struct proof_spec *spec)
{
    cjose_err error;
    char *key_text = cjose_jwk_to_json(f->key, spec->private_in_header != 0, &error);
    json_t *header = json_pack("{s:s, s:s, s:o}", "typ", spec->typ, "alg", spec->alg, "jwk",
                               json_loads(key_text, 0, NULL));
    free(key_text);
    if (spec->crit)
        json_object_set_new(header, "crit", json_pack("[s]", "x"));
    json_t *claims = json_pack("{s:s?, s:s?, s:s?, s:I}", "jti", spec->jti, "htm", spec->htm,
                               "htu", spec->htu, "iat", (json_int_t)spec->iat);
    if (spec->nonce != NULL)
        json_object_set_new(claims, "nonce", json_string(spec->nonce));
    if (spec->ath != NULL)
        json_object_set_new(claims, "ath", json_string(spec->ath));
    char *payload = json_dumps(claims, JSON_COMPACT);
    cjose_jws_t *jws = cjose_jws_sign(spec->signer ? spec->signer : f->key, header,
                                      (const uint8_t *)payload, strlen(payload), &error);
    assert_non_null(jws);
    const char *compact = NULL;
    assert_true(cjose_jws_export(jws, &compact, &error));
    char *copy = strdup(compact);
    cjose_jws_release(jws);
    free(payload);
    json_decref(claims);
    json_decref(header);
    return copy;
}

/* A good proof's spec, with a jti of its own. */
static struct proof_spec
good(const struct fixture *f, char jti[32])
{
    static unsigned counter;
    snprintf(jti, 32, "jti-%u-%lld", ++counter, (long long)f->now);
    return (struct proof_spec){.typ = "dpop+jwt", .alg = "ES256", .htm = "POST", .htu = URL,
                               .jti = jti, .iat = f->now};
}

/* Checks a proof; returns the result, with jkt and problem. */
static int
check(struct fixture *f, const struct proof_spec *spec, const struct dpop_expect *expect,
      char jkt[DPOP_JKT_SIZE], const char **problem)
{
    char *proof = make_proof(f, spec);
    int result = dpop_proof_check(f->db->signer, f->db->conn, proof, expect, f->now, jkt, problem);
    free(proof);
    return result;
}

static void
test_thumbprint_rfc7638(void **state)
{
    (void)state;
    /* RFC 7638 §3.1. */
    json_t *jwk = json_pack(
        "{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
        "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLy"
        "rdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
        "kEgU8awapJzKnqDKgw",
        "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
    char out[DPOP_JKT_SIZE];
    assert_int_equal(dpop_jwk_thumbprint(jwk, out), 0);
    assert_string_equal(out, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    assert_true(dpop_jkt_is_well_formed(out));
    json_object_del(jwk, "e");
    assert_int_equal(dpop_jwk_thumbprint(jwk, out), -1);
    json_decref(jwk);
    assert_false(dpop_jkt_is_well_formed("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X"));
    assert_false(dpop_jkt_is_well_formed("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X="));
}

static void
test_nonces(void **state)
{
    struct fixture *f = *state;
    char nonce[DPOP_NONCE_SIZE];
    assert_int_equal(dpop_nonce_new(f->db->signer, f->now, nonce), 0);
    assert_int_equal(dpop_nonce_is_fresh(f->db->signer, nonce, f->now), 1);
    assert_int_equal(dpop_nonce_is_fresh(f->db->signer, nonce, f->now + DPOP_NONCE_LIFETIME - 60),
                     1);
    /* Past its lifetime (one period of slack for the minute it was made in). */
    assert_int_equal(dpop_nonce_is_fresh(f->db->signer, nonce,
                                         f->now + DPOP_NONCE_LIFETIME + 2 * DPOP_NONCE_PERIOD),
                     0);
    /* Made in a minute that has not come yet. */
    assert_int_equal(dpop_nonce_is_fresh(f->db->signer, nonce, f->now - 2 * DPOP_NONCE_PERIOD), 0);
    /* One character changed. */
    nonce[20] = nonce[20] == 'A' ? 'B' : 'A';
    assert_int_equal(dpop_nonce_is_fresh(f->db->signer, nonce, f->now), 0);
    assert_int_equal(dpop_nonce_is_fresh(f->db->signer, "", f->now), 0);
    assert_int_equal(dpop_nonce_is_fresh(f->db->signer, "not base64url at all, and long enough!!",
                                         f->now), 0);
}

static void
test_good_proof_and_replay(void **state)
{
    struct fixture *f = *state;
    char jti[32], jkt[DPOP_JKT_SIZE], expected[DPOP_JKT_SIZE];
    const char *problem = NULL;
    struct proof_spec spec = good(f, jti);
    const struct dpop_expect expect = {.method = "POST", .url = URL};
    assert_int_equal(check(f, &spec, &expect, jkt, &problem), DPOP_OK);
    cjose_err error;
    char *key_text = cjose_jwk_to_json(f->key, false, &error);
    json_t *jwk = json_loads(key_text, 0, NULL);
    free(key_text);
    assert_int_equal(dpop_jwk_thumbprint(jwk, expected), 0);
    json_decref(jwk);
    assert_string_equal(jkt, expected);
    /* The same jti again (a new signature, the same proof id). */
    assert_int_equal(check(f, &spec, &expect, jkt, &problem), DPOP_INVALID);
    assert_non_null(strstr(problem, "already used"));
    assert_string_equal(jkt, "");
    /* The htu may carry a query and a fragment. */
    spec = good(f, jti);
    spec.htu = URL "?x=1#y";
    assert_int_equal(check(f, &spec, &expect, jkt, &problem), DPOP_OK);
}

static void
test_refusals(void **state)
{
    struct fixture *f = *state;
    char jti[32], jkt[DPOP_JKT_SIZE];
    const char *problem = NULL;
    const struct dpop_expect expect = {.method = "POST", .url = URL};
    struct proof_spec spec;

#define REFUSED(change, fragment)                                              \
    do {                                                                       \
        spec = good(f, jti);                                                   \
        change;                                                                \
        assert_int_equal(check(f, &spec, &expect, jkt, &problem), DPOP_INVALID); \
        assert_non_null(strstr(problem, fragment));                            \
    } while (0)
    REFUSED(spec.htm = "GET", "htm");
    REFUSED(spec.htu = "https://id.example/userinfo", "htu");
    REFUSED(spec.htu = "https://id.example/tokens", "htu");
    REFUSED(spec.iat = f->now - DPOP_PROOF_MAX_AGE - 1, "iat");
    REFUSED(spec.iat = f->now + 120, "iat");
    REFUSED(spec.jti = NULL, "jti");
    REFUSED(spec.typ = "JWT", "typ");
    REFUSED(spec.alg = "ES384", "ES256 or PS256");
    REFUSED(spec.crit = 1, "critical");
    REFUSED(spec.private_in_header = 1, "public key");
    REFUSED(spec.signer = f->other, "signature");
#undef REFUSED

    /* ath toward a resource. */
    const struct dpop_expect resource = {.method = "POST", .url = URL, .access_token = "T"};
    spec = good(f, jti);
    assert_int_equal(check(f, &spec, &resource, jkt, &problem), DPOP_INVALID);
    assert_non_null(strstr(problem, "ath"));
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char ath[BASE64URL_ENCODED_SIZE(SHA256_DIGEST_LENGTH)];
    SHA256((const unsigned char *)"T", 1, digest);
    assert_int_equal(base64url_encode(digest, sizeof digest, ath, sizeof ath), 0);
    spec = good(f, jti);
    spec.ath = ath;
    assert_int_equal(check(f, &spec, &resource, jkt, &problem), DPOP_OK);

    /* Not a JWS at all, empty, too long. */
    assert_int_equal(dpop_proof_check(f->db->signer, f->db->conn, "a.b", &expect, f->now, jkt,
                                      &problem), DPOP_INVALID);
    assert_int_equal(dpop_proof_check(f->db->signer, f->db->conn, "", &expect, f->now, jkt, &problem),
                     DPOP_INVALID);
    char *long_proof = malloc(DPOP_PROOF_MAX_BYTES + 2);
    memset(long_proof, 'a', DPOP_PROOF_MAX_BYTES + 1);
    long_proof[DPOP_PROOF_MAX_BYTES + 1] = '\0';
    assert_int_equal(dpop_proof_check(f->db->signer, f->db->conn, long_proof, &expect, f->now, jkt,
                                      &problem), DPOP_INVALID);
    free(long_proof);
}

static void
test_nonce_required(void **state)
{
    struct fixture *f = *state;
    char jti[32], jkt[DPOP_JKT_SIZE], nonce[DPOP_NONCE_SIZE];
    const char *problem = NULL;
    const struct dpop_expect expect = {.method = "POST", .url = URL, .require_nonce = 1};
    struct proof_spec spec = good(f, jti);
    assert_int_equal(check(f, &spec, &expect, jkt, &problem), DPOP_NONCE);
    assert_non_null(strstr(problem, "nonce"));
    assert_int_equal(dpop_nonce_new(f->db->signer, f->now - DPOP_NONCE_LIFETIME - 120, nonce), 0);
    spec.nonce = nonce;
    assert_int_equal(check(f, &spec, &expect, jkt, &problem), DPOP_NONCE);
    assert_int_equal(dpop_nonce_new(f->db->signer, f->now, nonce), 0);
    assert_int_equal(check(f, &spec, &expect, jkt, &problem), DPOP_OK);
    /* A nonce given where none is required is still checked. */
    const struct dpop_expect optional = {.method = "POST", .url = URL};
    spec = good(f, jti);
    spec.nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(check(f, &spec, &optional, jkt, &problem), DPOP_NONCE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thumbprint_rfc7638),
        cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_proof_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_required, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
