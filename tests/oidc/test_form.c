/* Tests of urlencoded form bodies: decoding ('+', %-escapes, bad and NUL
 * escapes), duplicate names, the FORM_FIELDS_MAX limit at N and N+1,
 * empty bodies and segments, fields without '=', and form_get. */
#include "oidc/form.h"

#include "../test_support.h"

static int
parse_text(const char *text, struct form *form)
{
    return form_parse((const uint8_t *)text, strlen(text), form);
}

/* A failed parse leaves the form empty. */
static void
assert_form_empty(const struct form *form)
{
    assert_null(form->buffer);
    assert_int_equal(form->count, 0);
    assert_null(form_get(form, "a"));
}

static void
test_decode(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } good[] = {
        {"", ""},
        {"plain", "plain"},
        {"a+b", "a b"},
        {"+++", "   "},
        {"a%20b", "a b"},
        {"%2B", "+"},
        {"%2b", "+"},
        {"1+%2B+2", "1 + 2"},
        {"%25", "%"},
        {"%2520", "%20"},   /* decoded once only */
        {"%26%3D", "&="},
        {"%41%7a", "Az"},
        {"%01", "\x01"},
        {"%ff", "\xff"},
        {"%C3%A9", "\xc3\xa9"},
        {"x%20", "x "},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char buffer[64];
        strcpy(buffer, good[i].in);
        if (form_decode(buffer) != 0)
            fail_msg("%s refused", good[i].in);
        if (strcmp(buffer, good[i].out) != 0)
            fail_msg("%s decoded to %s", good[i].in, buffer);
    }
    const char *bad[] = {"%", "%4", "a%", "a%4", "%G1", "%1G", "%g0", "%%41", "%-1",
                         "% 1", "%00", "a%00b", "%0", "ok%zz", "%+1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char buffer[64];
        strcpy(buffer, bad[i]);
        if (form_decode(buffer) != -1)
            fail_msg("%s accepted", bad[i]);
    }
}

static void
test_parse_fields(void **state)
{
    (void)state;
    struct form form;
    assert_int_equal(parse_text("grant_type=authorization_code&code=a+b%2Bc"
                                "&redirect_uri=https%3A%2F%2Fs.example%2Fcb%3Fx%3D1%26y"
                                "&empty=&eq=a=b",
                                &form), 0);
    assert_int_equal(form.count, 5);
    assert_string_equal(form_get(&form, "grant_type"), "authorization_code");
    assert_string_equal(form_get(&form, "code"), "a b+c");
    assert_string_equal(form_get(&form, "redirect_uri"), "https://s.example/cb?x=1&y");
    assert_string_equal(form_get(&form, "empty"), "");
    assert_string_equal(form_get(&form, "eq"), "a=b");
    /* Names are exact: no prefix, no case folding, no decoding of the
     * looked-up name. */
    assert_null(form_get(&form, "code_verifier"));
    assert_null(form_get(&form, "cod"));
    assert_null(form_get(&form, "Code"));
    assert_null(form_get(&form, "grant%5Ftype"));
    assert_null(form_get(&form, ""));
    /* The order is kept. */
    assert_string_equal(form.fields[0].name, "grant_type");
    assert_string_equal(form.fields[4].name, "eq");
    form_clear(&form);
    assert_form_empty(&form);
    form_clear(&form); /* twice is harmless */

    /* Names are decoded too. */
    assert_int_equal(parse_text("%61b=1&c+d=2&%3D=3", &form), 0);
    assert_string_equal(form_get(&form, "ab"), "1");
    assert_string_equal(form_get(&form, "c d"), "2");
    assert_string_equal(form_get(&form, "="), "3");
    form_clear(&form);
}

static void
test_parse_bad_escapes(void **state)
{
    (void)state;
    const char *bad[] = {"a=%G1", "a=%4", "a=%", "a=%00", "a=x%00y", "%00=1", "a%4=1",
                         "a=1&b=%G1", "ok=1&b=%4", "a=%0&b=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct form form;
        memset(&form, 0x5a, sizeof form);
        if (parse_text(bad[i], &form) != -1)
            fail_msg("%s accepted", bad[i]);
        assert_form_empty(&form);
    }
    /* A raw NUL byte in the body is refused as well. */
    struct form form;
    const uint8_t body[] = {'a', '=', '1', 0, 'b', '=', '2'};
    assert_int_equal(form_parse(body, sizeof body, &form), -1);
    assert_form_empty(&form);
    const uint8_t tail[] = {'a', '=', '1', 0};
    assert_int_equal(form_parse(tail, sizeof tail, &form), -1);
    assert_form_empty(&form);
    /* The length is honoured: bytes after it are not read. */
    const char *longer = "a=1&b=%G1";
    assert_int_equal(form_parse((const uint8_t *)longer, 3, &form), 0);
    assert_int_equal(form.count, 1);
    assert_string_equal(form_get(&form, "a"), "1");
    assert_null(form_get(&form, "b"));
    form_clear(&form);
}

static void
test_duplicates_refused(void **state)
{
    (void)state;
    const char *bad[] = {"a=1&a=2", "a=1&a=1", "a=&a=", "a=1&b=2&a=3", "a=1&%61=2",
                         "a+b=1&a%20b=2", "code=x&code=x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct form form;
        if (parse_text(bad[i], &form) != -1)
            fail_msg("%s accepted", bad[i]);
        assert_form_empty(&form);
    }
    /* Different names, even close ones, are fine. */
    struct form form;
    assert_int_equal(parse_text("a=1&A=2&aa=3&a_=4", &form), 0);
    assert_int_equal(form.count, 4);
    assert_string_equal(form_get(&form, "a"), "1");
    assert_string_equal(form_get(&form, "A"), "2");
    form_clear(&form);
}

/* "f0=0&f1=1&...&f<n-1>=<n-1>", plus `extra` appended. */
static void
fields_body(size_t n, const char *extra, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + used, cap - used, "%sf%zu=%zu", i ? "&" : "", i, i);
        assert_true(w > 0 && (size_t)w < cap - used);
        used += (size_t)w;
    }
    assert_true(used + strlen(extra) < cap);
    strcat(out, extra);
}

static void
test_fields_limit(void **state)
{
    (void)state;
    char body[1024];
    struct form form;
    assert_int_equal(FORM_FIELDS_MAX, 16);
    /* N fields. */
    fields_body(FORM_FIELDS_MAX, "", body, sizeof body);
    assert_int_equal(parse_text(body, &form), 0);
    assert_int_equal(form.count, FORM_FIELDS_MAX);
    assert_string_equal(form_get(&form, "f0"), "0");
    assert_string_equal(form_get(&form, "f15"), "15");
    form_clear(&form);
    /* Empty segments do not count as fields. */
    fields_body(FORM_FIELDS_MAX, "&&&", body, sizeof body);
    assert_int_equal(parse_text(body, &form), 0);
    assert_int_equal(form.count, FORM_FIELDS_MAX);
    form_clear(&form);
    /* N+1 fields. */
    fields_body(FORM_FIELDS_MAX + 1, "", body, sizeof body);
    assert_int_equal(parse_text(body, &form), -1);
    assert_form_empty(&form);
    /* N fields and one more with an empty value still count N+1. */
    fields_body(FORM_FIELDS_MAX, "&x=", body, sizeof body);
    assert_int_equal(parse_text(body, &form), -1);
    assert_form_empty(&form);
}

static void
test_empty_and_malformed(void **state)
{
    (void)state;
    struct form form;
    /* An empty body is an empty form. */
    assert_int_equal(form_parse((const uint8_t *)"", 0, &form), 0);
    assert_int_equal(form.count, 0);
    assert_null(form_get(&form, "a"));
    form_clear(&form);
    const char *empty[] = {"&", "&&", "&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&"};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        assert_int_equal(parse_text(empty[i], &form), 0);
        assert_int_equal(form.count, 0);
        form_clear(&form);
    }
    assert_int_equal(parse_text("&a=1&&b=2&", &form), 0);
    assert_int_equal(form.count, 2);
    assert_string_equal(form_get(&form, "b"), "2");
    form_clear(&form);
    /* A field without '=' or without a name is refused. */
    const char *bad[] = {"a", "a=1&b", "b&a=1", "=1", "a=1&=2", "=", "a=1&&c&d=2", "+"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (parse_text(bad[i], &form) != -1)
            fail_msg("%s accepted", bad[i]);
        assert_form_empty(&form);
    }
    /* A name that decodes to a space is still a name. */
    assert_int_equal(parse_text("+=1", &form), 0);
    assert_string_equal(form_get(&form, " "), "1");
    form_clear(&form);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_bad_escapes),
        cmocka_unit_test(test_duplicates_refused),
        cmocka_unit_test(test_fields_limit),
        cmocka_unit_test(test_empty_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
