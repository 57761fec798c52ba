/* Regression tests for what fuzzing the login parsers found
 * (fuzz/fuzz_oidc_parsers.c, docs/fuzz.md): each case is the input that
 * broke a property, turned into a unit test.
 *
 * - client_assertion_check() computed exp - iat in int64_t: an iat near
 *   INT64_MIN overflowed it (undefined behaviour; in practice a negative
 *   difference), so an assertion living far longer than
 *   CLIENT_ASSERTION_MAX_LIFETIME passed the lifetime check. */
#include "oidc/client_auth.h"

#include "../test_support.h"

#include <stdint.h>

#define ISSUER "https://id.example"
#define NOW INT64_C(1800000000)

/* Good claims of client c1 but with the iat and exp given. */
static json_t *
claims_with(int64_t iat, int64_t exp)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "c1", "sub", "c1", "aud",
                     ISSUER, "iat", (json_int_t)iat, "exp", (json_int_t)exp, "jti",
                     "j-1");
}

static const char *
check(int64_t iat, int64_t exp)
{
    const char *jti = "unset";
    int64_t expires = -1;
    json_t *claims = claims_with(iat, exp);
    assert_non_null(claims);
    const char *why = client_assertion_check(claims, "c1", ISSUER, NOW, &jti, &expires);
    if (why != NULL) {
        assert_null(jti);
        assert_int_equal(expires, 0);
    } else {
        assert_string_equal(jti, "j-1");
        assert_int_equal(expires, exp);
    }
    json_decref(claims);
    return why;
}

static void
test_assertion_lifetime_overflow(void **state)
{
    (void)state;
    /* The fuzzer's input: exp - iat does not fit in int64_t. */
    assert_non_null(check(INT64_MIN, NOW + 120));
    assert_non_null(check(INT64_MIN, INT64_MAX));
    assert_non_null(check(INT64_MIN + 1, NOW + 1));
    assert_non_null(check(-1, INT64_MAX));
    /* Just inside int64_t, still far too long. */
    assert_non_null(check(NOW + 1 - INT64_MAX, NOW + 1));
    /* The limit itself, at N and N+1, is unchanged. */
    assert_null(check(NOW, NOW + CLIENT_ASSERTION_MAX_LIFETIME));
    assert_non_null(check(NOW - 1, NOW + CLIENT_ASSERTION_MAX_LIFETIME));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assertion_lifetime_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
