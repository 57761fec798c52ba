/* Tests of claim names and values: known names, subsets (duplicates,
 * unknown names, the CLAIMS_MAX limit), intersections, which claims need
 * the registry record, and the values computed from a registry record,
 * ages at the 14 and 18 boundaries included. */
#include "oidc/claims.h"

#include "enroll/enroll.h"
#include "oidc/platform.h"

#include "../test_support.h"

static const char *const KNOWN[] = {"realname_verified", "age_over_14", "age_over_18",
                                    "birth_year",        "name",        "national_id"};
#define KNOWN_COUNT (sizeof KNOWN / sizeof *KNOWN)

/* A JSON array of the comma-separated names ("" is the empty array). */
static json_t *
names_of(const char *list)
{
    json_t *array = json_array();
    assert_non_null(array);
    char copy[512];
    assert_true(strlen(list) < sizeof copy);
    strcpy(copy, list);
    char *save = NULL;
    for (char *name = strtok_r(copy, ",", &save); name != NULL;
         name = strtok_r(NULL, ",", &save))
        assert_int_equal(json_array_append_new(array, json_string(name)), 0);
    return array;
}

static json_t *
all_known(void)
{
    json_t *array = json_array();
    for (size_t i = 0; i < KNOWN_COUNT; i++)
        assert_int_equal(json_array_append_new(array, json_string(KNOWN[i])), 0);
    return array;
}

static void
person_born(struct registry_person *person, const char *birth_date)
{
    memset(person, 0, sizeof *person);
    strcpy(person->record_id, "rec-1");
    strcpy(person->national_id, "11010520080515001X");
    strcpy(person->name, "\xe5\xbc\xa0\xe4\xb8\x89"); /* 张三 */
    strcpy(person->birth_date, birth_date);
}

static void
test_is_known(void **state)
{
    (void)state;
    assert_int_equal(PLATFORM_CLAIM_COUNT, KNOWN_COUNT);
    for (size_t i = 0; i < KNOWN_COUNT; i++)
        assert_int_equal(claims_is_known(KNOWN[i]), 1);
    const char *unknown[] = {"", "email", "sub", "Name", "NAME", "name ", " name",
                             "age_over_21", "age_over_1", "age_over_140",
                             "realname", "realname_verified_", "national", "birth"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        if (claims_is_known(unknown[i]))
            fail_msg("%s is known", unknown[i]);
    assert_int_equal(claims_is_known(NULL), 0);
}

static void
test_subset(void **state)
{
    (void)state;
    json_t *allowed = names_of("realname_verified,age_over_18,birth_year");
    json_t *all = all_known();
    struct {
        const char *names;
        int expected;
    } cases[] = {
        {"", 1},
        {"realname_verified", 1},
        {"birth_year,realname_verified", 1},
        {"realname_verified,age_over_18,birth_year", 1},
        {"age_over_14", 0},                     /* known, not allowed */
        {"realname_verified,name", 0},
        {"realname_verified,realname_verified", 0}, /* duplicate */
        {"age_over_18,birth_year,age_over_18", 0},
        {"email", 0},                           /* unknown */
        {"realname_verified,email", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *names = names_of(cases[i].names);
        if (claims_subset(names, allowed) != cases[i].expected)
            fail_msg("[%s] should give %d", cases[i].names, cases[i].expected);
        json_decref(names);
    }
    /* An unknown name is refused even when allowed lists it. */
    json_t *loose = names_of("realname_verified,email");
    json_t *email = names_of("email");
    assert_int_equal(claims_subset(email, loose), 0);
    json_decref(email);
    json_decref(loose);
    /* Every known claim, against everything allowed. */
    assert_int_equal(claims_subset(all, all), 1);
    /* Not an array, or holding a non-string. */
    json_t *object = json_object();
    assert_int_equal(claims_subset(object, all), 0);
    assert_int_equal(claims_subset(NULL, all), 0);
    json_t *mixed = json_pack("[s, i]", "realname_verified", 1);
    assert_int_equal(claims_subset(mixed, all), 0);
    json_t *only_number = json_pack("[i]", 1);
    assert_int_equal(claims_subset(only_number, all), 0);
    json_decref(only_number);
    json_decref(mixed);
    json_decref(object);
    /* Nothing allowed (or no allowed array): only the empty request. */
    json_t *none = json_array(), *empty = json_array(), *one = names_of("name");
    assert_int_equal(claims_subset(one, none), 0);
    assert_int_equal(claims_subset(empty, none), 1);
    assert_int_equal(claims_subset(one, NULL), 0);
    json_decref(one);
    json_decref(empty);
    json_decref(none);
    json_decref(all);
    json_decref(allowed);
}

static void
test_subset_limit(void **state)
{
    (void)state;
    /* With 6 known names only 6 distinct claims exist, so any request of
     * 7 up to CLAIMS_MAX (16) and CLAIMS_MAX + 1 names repeats one and is
     * refused: at N and N+1 the answer is the same (0) by construction. */
    assert_true(KNOWN_COUNT <= CLAIMS_MAX);
    json_t *all = all_known();
    for (size_t n = KNOWN_COUNT + 1; n <= CLAIMS_MAX + 1; n++) {
        json_t *names = json_array();
        for (size_t i = 0; i < n; i++)
            assert_int_equal(json_array_append_new(names,
                                                   json_string(KNOWN[i % KNOWN_COUNT])), 0);
        assert_int_equal(claims_subset(names, all), 0);
        json_decref(names);
    }
    json_decref(all);
}

static void
test_intersect(void **state)
{
    (void)state;
    json_t *allowed = names_of("realname_verified,age_over_18,birth_year");
    struct {
        const char *names, *expected;
    } cases[] = {
        {"", ""},
        {"name", ""},
        {"birth_year,realname_verified", "birth_year,realname_verified"}, /* order of names */
        {"email,age_over_18,name,realname_verified", "age_over_18,realname_verified"},
        {"age_over_18,age_over_18,birth_year,age_over_18", "age_over_18,birth_year"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *names = names_of(cases[i].names);
        json_t *expected = names_of(cases[i].expected);
        json_t *got = claims_intersect(names, allowed);
        assert_non_null(got);
        assert_ptr_not_equal(got, names);
        if (!json_equal(got, expected)) {
            char *text = json_dumps(got, 0);
            fail_msg("[%s] gave %s, expected [%s]", cases[i].names, text,
                     cases[i].expected);
        }
        json_decref(got);
        json_decref(expected);
        json_decref(names);
    }
    /* Non-strings are skipped; names is left as it was. */
    json_t *mixed = json_pack("[i, s, n, s]", 3, "birth_year", "name");
    json_t *got = claims_intersect(mixed, allowed);
    json_t *expected = names_of("birth_year");
    assert_true(json_equal(got, expected));
    assert_int_equal(json_array_size(mixed), 4);
    json_decref(expected);
    json_decref(got);
    json_decref(mixed);
    /* Not an array: the empty array. */
    json_t *object = json_object();
    got = claims_intersect(object, allowed);
    assert_non_null(got);
    assert_true(json_is_array(got));
    assert_int_equal(json_array_size(got), 0);
    json_decref(got);
    json_decref(object);
    json_decref(allowed);
}

static void
test_need_record(void **state)
{
    (void)state;
    struct {
        const char *names;
        int expected;
    } cases[] = {
        {"", 0},
        {"realname_verified", 0},
        {"realname_verified,realname_verified", 0},
        {"age_over_14", 1},
        {"age_over_18", 1},
        {"birth_year", 1},
        {"name", 1},
        {"national_id", 1},
        {"realname_verified,age_over_18", 1},
        {"age_over_18,realname_verified", 1},
        {"email", 1}, /* unknown: not known to be record-free */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *names = names_of(cases[i].names);
        if (claims_need_record(names) != cases[i].expected)
            fail_msg("[%s] should give %d", cases[i].names, cases[i].expected);
        json_decref(names);
    }
    json_t *number = json_pack("[i]", 1);
    assert_int_equal(claims_need_record(number), 1);
    json_decref(number);
}

/* The boolean age_over_<age> claim of someone born on birth_date, on the
 * date; fails the test if it is not computed. */
static int
age_claim(const char *claim, const char *birth_date, int year, int month, int day)
{
    struct registry_person person;
    person_born(&person, birth_date);
    json_t *names = json_array(), *out = json_object();
    assert_int_equal(json_array_append_new(names, json_string(claim)), 0);
    if (claims_compute(names, &person, year, month, day, out) != 0)
        fail_msg("%s for %s on %04d-%02d-%02d not computed", claim, birth_date, year,
                 month, day);
    json_t *value = json_object_get(out, claim);
    assert_true(json_is_boolean(value));
    assert_int_equal(json_object_size(out), 1);
    int result = json_is_true(value);
    json_decref(out);
    json_decref(names);
    return result;
}

static void
test_age_boundaries(void **state)
{
    (void)state;
    /* 18: the day before the birthday, the birthday, the day after. */
    assert_int_equal(age_claim("age_over_18", "2008-05-15", 2026, 5, 14), 0);
    assert_int_equal(age_claim("age_over_18", "2008-05-15", 2026, 5, 15), 1);
    assert_int_equal(age_claim("age_over_18", "2008-05-15", 2026, 5, 16), 1);
    assert_int_equal(age_claim("age_over_18", "2008-05-15", 2025, 5, 15), 0);
    /* Across a month and a year end. */
    assert_int_equal(age_claim("age_over_18", "2008-06-01", 2026, 5, 31), 0);
    assert_int_equal(age_claim("age_over_18", "2008-06-01", 2026, 6, 1), 1);
    assert_int_equal(age_claim("age_over_18", "2008-01-01", 2025, 12, 31), 0);
    assert_int_equal(age_claim("age_over_18", "2008-01-01", 2026, 1, 1), 1);
    assert_int_equal(age_claim("age_over_18", "2007-12-31", 2025, 12, 30), 0);
    assert_int_equal(age_claim("age_over_18", "2007-12-31", 2025, 12, 31), 1);
    /* 14, the same way: a 14-to-17-year-old is over 14 but not over 18. */
    assert_int_equal(age_claim("age_over_14", "2012-05-15", 2026, 5, 14), 0);
    assert_int_equal(age_claim("age_over_14", "2012-05-15", 2026, 5, 15), 1);
    assert_int_equal(age_claim("age_over_18", "2012-05-15", 2026, 5, 15), 0);
    assert_int_equal(age_claim("age_over_14", "2008-05-15", 2026, 5, 14), 1);
    assert_int_equal(age_claim("age_over_14", "2012-01-01", 2025, 12, 31), 0);
    assert_int_equal(age_claim("age_over_14", "2012-01-01", 2026, 1, 1), 1);
    /* Older and younger by far. */
    assert_int_equal(age_claim("age_over_14", "1950-07-01", 2026, 1, 1), 1);
    assert_int_equal(age_claim("age_over_18", "1950-07-01", 2026, 1, 1), 1);
    assert_int_equal(age_claim("age_over_14", "2026-01-01", 2026, 1, 1), 0);
    assert_int_equal(age_claim("age_over_18", "2026-01-01", 2026, 1, 1), 0);
}

static void
test_age_leap_day(void **state)
{
    (void)state;
    /* Born on 29 February: claims.h says the age is in whole years on the
     * date, computed by enroll_age_on() (month, then day, compared), so in
     * a year without 29 February the birthday is 1 March: on 28 February
     * the person is still a year younger. */
    assert_int_equal(age_claim("age_over_18", "2008-02-29", 2026, 2, 28), 0);
    assert_int_equal(age_claim("age_over_18", "2008-02-29", 2026, 3, 1), 1);
    assert_int_equal(age_claim("age_over_14", "2012-02-29", 2026, 2, 28), 0);
    assert_int_equal(age_claim("age_over_14", "2012-02-29", 2026, 3, 1), 1);
    /* 14 and 18 are not multiples of 4, so those birthdays never fall in a
     * leap year; in one, enroll_age_on() has the birthday on the day. */
    assert_int_equal(enroll_age_on("2008-02-29", 2024, 2, 28), 15);
    assert_int_equal(enroll_age_on("2008-02-29", 2024, 2, 29), 16);
    assert_int_equal(enroll_age_on("2008-02-29", 2025, 2, 28), 16);
    assert_int_equal(enroll_age_on("2008-02-29", 2025, 3, 1), 17);
    assert_int_equal(age_claim("age_over_18", "2004-02-29", 2024, 2, 28), 1); /* 19 */
    assert_int_equal(age_claim("age_over_14", "2008-02-29", 2024, 2, 28), 1); /* 15 */
}

static void
test_values(void **state)
{
    (void)state;
    struct registry_person person;
    person_born(&person, "2008-05-15");
    json_t *names = all_known(), *out = json_object();
    assert_int_equal(claims_compute(names, &person, 2026, 7, 1, out), 0);
    assert_int_equal(json_object_size(out), KNOWN_COUNT);
    assert_true(json_is_true(json_object_get(out, "realname_verified")));
    assert_true(json_is_true(json_object_get(out, "age_over_14")));
    assert_true(json_is_true(json_object_get(out, "age_over_18")));
    json_t *year = json_object_get(out, "birth_year");
    assert_true(json_is_integer(year));
    assert_int_equal(json_integer_value(year), 2008);
    assert_string_equal(json_string_value(json_object_get(out, "name")),
                        "\xe5\xbc\xa0\xe4\xb8\x89");
    assert_string_equal(json_string_value(json_object_get(out, "national_id")),
                        "11010520080515001X");
    json_decref(out);
    json_decref(names);

    /* Only the asked-for claims are set. */
    names = names_of("birth_year");
    out = json_object();
    person_born(&person, "1999-12-31");
    assert_int_equal(claims_compute(names, &person, 2026, 1, 1, out), 0);
    assert_int_equal(json_object_size(out), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "birth_year")), 1999);
    json_decref(out);
    json_decref(names);

    /* No claims: nothing set. */
    names = json_array();
    out = json_object();
    assert_int_equal(claims_compute(names, NULL, 2026, 1, 1, out), 0);
    assert_int_equal(json_object_size(out), 0);
    json_decref(out);
    json_decref(names);
}

/* For an identity known to be active: claims that need no record are
 * computed without the store or the signer (none given here: a read or an
 * opening would crash the test). */
static void
test_active_identity_without_record(void **state)
{
    (void)state;
    json_t *names = names_of("realname_verified"), *out = json_object();
    int active = 0;
    assert_int_equal(claims_for_active_identity(NULL, NULL, "WN", names, 1767225600, out,
                                                &active),
                     0);
    assert_int_equal(active, 1);
    assert_int_equal(json_object_size(out), 1);
    assert_true(json_is_true(json_object_get(out, "realname_verified")));
    json_decref(out);
    json_decref(names);

    names = json_array();
    out = json_object();
    active = 0;
    assert_int_equal(claims_for_active_identity(NULL, NULL, "WN", names, 1767225600, out,
                                                &active),
                     0);
    assert_int_equal(active, 1);
    assert_int_equal(json_object_size(out), 0);
    json_decref(out);
    json_decref(names);
}

static void
test_compute_refusals(void **state)
{
    (void)state;
    struct registry_person person;
    person_born(&person, "2008-05-15");
    json_t *out = json_object();
    /* realname_verified needs no record. */
    json_t *names = names_of("realname_verified");
    assert_int_equal(claims_compute(names, NULL, 2026, 1, 1, out), 0);
    assert_true(json_is_true(json_object_get(out, "realname_verified")));
    json_decref(names);
    /* Everything else does. */
    for (size_t i = 1; i < KNOWN_COUNT; i++) {
        names = names_of(KNOWN[i]);
        json_object_clear(out);
        if (claims_compute(names, NULL, 2026, 1, 1, out) != -1)
            fail_msg("%s computed without a record", KNOWN[i]);
        json_decref(names);
    }
    /* Unknown names and non-strings. */
    const char *unknown[] = {"email", "age_over_21", "", "Name"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        names = json_pack("[s]", unknown[i]);
        if (claims_compute(names, &person, 2026, 1, 1, out) != -1)
            fail_msg("%s computed", unknown[i]);
        json_decref(names);
    }
    names = json_pack("[i]", 7);
    assert_int_equal(claims_compute(names, &person, 2026, 1, 1, out), -1);
    json_decref(names);
    /* Unparsable birth dates, and a date before the birth. */
    const char *dates[] = {"", "2008", "x008-05-15", "born 2008"};
    for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
        person_born(&person, dates[i]);
        names = names_of("age_over_18");
        if (claims_compute(names, &person, 2026, 1, 1, out) != -1)
            fail_msg("age from \"%s\" computed", dates[i]);
        json_decref(names);
        names = names_of("birth_year");
        if (claims_compute(names, &person, 2026, 1, 1, out) != -1)
            fail_msg("birth_year from \"%s\" computed", dates[i]);
        json_decref(names);
    }
    person_born(&person, "2030-01-01");
    names = names_of("age_over_14");
    assert_int_equal(claims_compute(names, &person, 2026, 1, 1, out), -1);
    json_decref(names);
    json_decref(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_known),
        cmocka_unit_test(test_subset),
        cmocka_unit_test(test_subset_limit),
        cmocka_unit_test(test_intersect),
        cmocka_unit_test(test_need_record),
        cmocka_unit_test(test_age_boundaries),
        cmocka_unit_test(test_age_leap_day),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_compute_refusals),
        cmocka_unit_test(test_active_identity_without_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
