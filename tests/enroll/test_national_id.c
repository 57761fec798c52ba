/* Tests of GB 11643-1999 validation. */
#include "enroll/national_id.h"

#include "../test_support.h"

static void
check(const char *text, enum national_id_status expected)
{
    struct national_id id;
    enum national_id_status got =
        national_id_parse(text, strlen(text), 2026, 11, 24, &id);
    if (got != expected)
        fail_msg("%s: expected %s, got %s", text, national_id_status_code(expected),
                 national_id_status_code(got));
}

static void
test_valid_numbers(void **state)
{
    (void)state;
    /* The example printed in GB 11643-1999 itself, with an X check. */
    check("11010519491231002X", NATIONAL_ID_OK);
    check("440524188001010014", NATIONAL_ID_OK);
    check("110105200001010016", NATIONAL_ID_OK);
    struct national_id id;
    assert_int_equal(national_id_parse("11010519491231002X", 18, 2026, 11, 24, &id),
                     NATIONAL_ID_OK);
    assert_string_equal(id.text, "11010519491231002X");
    assert_int_equal(id.birth_year, 1949);
    assert_int_equal(id.birth_month, 12);
    assert_int_equal(id.birth_day, 31);
    assert_false(id.male); /* sequence 002: even */
    assert_int_equal(national_id_parse("440524188001010014", 18, 2026, 11, 24, &id),
                     NATIONAL_ID_OK);
    assert_true(id.male); /* sequence 001: odd */
}

static void
test_lower_case_x_is_normalised(void **state)
{
    (void)state;
    struct national_id id;
    assert_int_equal(national_id_parse("11010519491231002x", 18, 2026, 11, 24, &id),
                     NATIONAL_ID_OK);
    assert_string_equal(id.text, "11010519491231002X");
}

static void
test_check_character(void **state)
{
    (void)state;
    assert_int_equal(national_id_check_character("11010519491231002"), 'X');
    assert_int_equal(national_id_check_character("44052418800101001"), '4');
    assert_int_equal(national_id_check_character("4405241880010100A"), 0);
    /* Every wrong check character is refused, each right one accepted. */
    char text[19] = "11010519491231002X";
    const char *alphabet = "0123456789X";
    for (const char *c = alphabet; *c; c++) {
        text[17] = *c;
        check(text, *c == 'X' ? NATIONAL_ID_OK : NATIONAL_ID_BAD_CHECK);
    }
}

static void
test_wrong_length(void **state)
{
    (void)state;
    check("", NATIONAL_ID_BAD_LENGTH);
    check("11010519491231002", NATIONAL_ID_BAD_LENGTH);     /* 17 */
    check("11010519491231002X1", NATIONAL_ID_BAD_LENGTH);   /* 19 */
    check("110105491231002", NATIONAL_ID_BAD_LENGTH);       /* old 15-digit form */
}

static void
test_bad_characters(void **state)
{
    (void)state;
    check("1101051949123100X2", NATIONAL_ID_BAD_CHARACTER); /* X not last */
    check("11010519491231002Y", NATIONAL_ID_BAD_CHARACTER);
    check("11010519491231 02X", NATIONAL_ID_BAD_CHARACTER);
    check("１1010519491231002", NATIONAL_ID_BAD_LENGTH);     /* fullwidth digit: 19 bytes */
}

static void
test_bad_dates(void **state)
{
    (void)state;
    char text[19];
    /* Build numbers with a correct check character so only the date is wrong. */
    const char *bodies[] = {
        "11010519490230002", /* 30 February */
        "11010519491301002", /* month 13 */
        "11010519490000002", /* month 0 */
        "11010519000229002", /* 1900 was not a leap year */
        "11010520271124002", /* in the future */
        "11010518500101002", /* before 1880 */
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        memcpy(text, bodies[i], 17);
        text[17] = national_id_check_character(bodies[i]);
        text[18] = '\0';
        check(text, NATIONAL_ID_BAD_DATE);
    }
    memcpy(text, "11010520000229002", 17); /* 2000 was a leap year */
    text[17] = national_id_check_character("11010520000229002");
    text[18] = '\0';
    check(text, NATIONAL_ID_OK);
    memcpy(text, "11010520261124002", 17); /* born today: valid */
    text[17] = national_id_check_character("11010520261124002");
    check(text, NATIONAL_ID_OK);
}

static void
test_bad_region(void **state)
{
    (void)state;
    char text[19];
    memcpy(text, "00010519491231002", 17);
    text[17] = national_id_check_character("00010519491231002");
    text[18] = '\0';
    check(text, NATIONAL_ID_BAD_REGION);
}

static void
test_codes_and_messages_are_distinct(void **state)
{
    (void)state;
    for (int a = NATIONAL_ID_OK; a <= NATIONAL_ID_BAD_CHECK; a++)
        for (int b = a + 1; b <= NATIONAL_ID_BAD_CHECK; b++)
            assert_string_not_equal(national_id_status_code(a),
                                    national_id_status_code(b));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_numbers),
        cmocka_unit_test(test_lower_case_x_is_normalised),
        cmocka_unit_test(test_check_character),
        cmocka_unit_test(test_wrong_length),
        cmocka_unit_test(test_bad_characters),
        cmocka_unit_test(test_bad_dates),
        cmocka_unit_test(test_bad_region),
        cmocka_unit_test(test_codes_and_messages_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
