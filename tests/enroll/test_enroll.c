/* Tests of the pure rules of enrollment and identity acts: ages at their
 * boundaries (the under-14 refusal depends on them) and reason codes. The
 * whole enrollment runs end to end in tests/integration/enroll.test.mjs. */
#include "enroll/enroll.h"
#include "enroll/identity.h"

#include "../test_support.h"

static void
test_age_boundaries(void **state)
{
    (void)state;
    /* The day before the 14th birthday, the day itself. */
    assert_int_equal(enroll_age_on("2010-06-15", 2024, 6, 14), 13);
    assert_int_equal(enroll_age_on("2010-06-15", 2024, 6, 15), 14);
    assert_int_equal(enroll_age_on("2010-06-15", 2024, 5, 31), 13);
    assert_int_equal(enroll_age_on("2010-06-15", 2024, 7, 1), 14);
    /* Born on 29 February: 14 on 1 March of a common year. */
    assert_int_equal(enroll_age_on("2008-02-29", 2022, 2, 28), 13);
    assert_int_equal(enroll_age_on("2008-02-29", 2022, 3, 1), 14);
    assert_int_equal(enroll_age_on("2008-02-29", 2024, 2, 29), 16);
    assert_int_equal(enroll_age_on("1949-12-31", 2026, 11, 25), 76);
    /* Malformed dates and births after the day. */
    assert_int_equal(enroll_age_on("2010-06", 2024, 6, 15), -1);
    assert_int_equal(enroll_age_on("2010-06-15x", 2024, 6, 15), -1);
    assert_int_equal(enroll_age_on("", 2024, 6, 15), -1);
    assert_int_equal(enroll_age_on(NULL, 2024, 6, 15), -1);
    assert_int_equal(enroll_age_on("2025-01-01", 2024, 6, 15), -1);
}

static void
test_reason_codes(void **state)
{
    (void)state;
    assert_true(identity_reason_is_valid("key_compromise"));
    assert_true(identity_reason_is_valid("fraud2"));
    assert_false(identity_reason_is_valid(""));
    assert_false(identity_reason_is_valid("Fraud"));
    assert_false(identity_reason_is_valid("a b"));
    assert_false(identity_reason_is_valid("x\n"));
    char longest[IDENTITY_REASON_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[IDENTITY_REASON_MAX] = '\0';
    assert_true(identity_reason_is_valid(longest));
    longest[IDENTITY_REASON_MAX] = 'a';
    longest[IDENTITY_REASON_MAX + 1] = '\0';
    assert_false(identity_reason_is_valid(longest));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_age_boundaries),
        cmocka_unit_test(test_reason_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
