/* Tests of the pages' language: ui_locales, Accept-Language with its
 * q-values, the deployment's default, and the bounds on both inputs. */
#include "oidc/ui_lang.h"

#include "../test_support.h"

#include <string.h>

enum { NONE = -1 };

/* What a list gives: UI_LANG_EN, UI_LANG_ZH, or NONE. */
static int
locales(const char *list)
{
    enum ui_lang lang = UI_LANG_EN;
    return ui_lang_from_locales(list, &lang) ? (int)lang : NONE;
}

static int
accept(const char *header)
{
    enum ui_lang lang = UI_LANG_EN;
    return ui_lang_from_accept(header, &lang) ? (int)lang : NONE;
}

static void
test_tags(void **state)
{
    (void)state;
    const struct {
        const char *tag;
        int lang;
    } cases[] = {
        {"zh", UI_LANG_ZH},         {"zh-CN", UI_LANG_ZH},      {"zh-cn", UI_LANG_ZH},
        {"ZH-Hans", UI_LANG_ZH},    {"zh-Hans-CN", UI_LANG_ZH}, {"zh-SG", UI_LANG_ZH},
        {"zh-Hant", NONE},          {"zh-TW", NONE},            {"zh-HK", NONE},
        {"zh-Hant-CN", NONE},       {"en", UI_LANG_EN},         {"en-US", UI_LANG_EN},
        {"EN-gb", UI_LANG_EN},      {"fr", NONE},               {"zhx", NONE},
        {"e", NONE},                {"", NONE},                 {"zh-", NONE},
        {"zh_CN", NONE},            {"*", NONE},                {"zh-<b>", NONE},
        {"en-aaaaaaaa-bbbbbbbb-cccccccc-ddddd", UI_LANG_EN},  /* 35 bytes */
        {"en-aaaaaaaa-bbbbbbbb-cccccccc-dddddd", NONE},       /* 36 bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        enum ui_lang lang = UI_LANG_EN;
        int got = ui_lang_match(cases[i].tag, strlen(cases[i].tag), &lang) ? (int)lang : NONE;
        if (got != cases[i].lang)
            fail_msg("tag %s: %d, expected %d", cases[i].tag, got, cases[i].lang);
    }
    /* Only length bytes are read. */
    enum ui_lang lang = UI_LANG_EN;
    assert_int_equal(ui_lang_match("zh-TW", 2, &lang), 1);
    assert_int_equal(lang, UI_LANG_ZH);
}

static void
test_ui_locales(void **state)
{
    (void)state;
    assert_int_equal(locales(NULL), NONE);
    assert_int_equal(locales(""), NONE);
    assert_int_equal(locales("zh-CN"), UI_LANG_ZH);
    assert_int_equal(locales("zh-Hans en"), UI_LANG_ZH);
    assert_int_equal(locales("en zh-CN"), UI_LANG_EN);
    /* The first the service speaks wins. */
    assert_int_equal(locales("fr-CA fr zh"), UI_LANG_ZH);
    assert_int_equal(locales("  de   zh-TW  en-GB "), UI_LANG_EN);
    assert_int_equal(locales("fr de"), NONE);
    /* At most UI_LANG_LOCALES_MAX bytes, UI_LANG_ITEMS_MAX entries. */
    char list[UI_LANG_LOCALES_MAX + 2];
    memset(list, ' ', sizeof list);
    memcpy(list + UI_LANG_LOCALES_MAX - 2, "zh", 2);
    list[UI_LANG_LOCALES_MAX] = '\0';
    assert_int_equal(locales(list), UI_LANG_ZH);
    memcpy(list + UI_LANG_LOCALES_MAX - 2, " zh", 3);
    list[UI_LANG_LOCALES_MAX + 1] = '\0';
    assert_int_equal(locales(list), NONE);
    char many[UI_LANG_LOCALES_MAX];
    many[0] = '\0';
    for (int i = 0; i < UI_LANG_ITEMS_MAX; i++)
        strcat(many, "fr ");
    strcat(many, "zh");
    assert_int_equal(locales(many), NONE);
    many[strlen(many) - 5] = '\0';
    strcat(many, "zh");      /* now entry number UI_LANG_ITEMS_MAX */
    assert_int_equal(locales(many), UI_LANG_ZH);
}

static void
test_accept_language(void **state)
{
    (void)state;
    assert_int_equal(accept(NULL), NONE);
    assert_int_equal(accept(""), NONE);
    assert_int_equal(accept("zh-CN"), UI_LANG_ZH);
    assert_int_equal(accept("zh-CN;q=0.9,en;q=0.5"), UI_LANG_ZH);
    assert_int_equal(accept("zh-CN;q=0.5,en;q=0.9"), UI_LANG_EN);
    assert_int_equal(accept("zh-CN;q=0.5, en-US ; q=0.501"), UI_LANG_EN);
    /* A missing q is 1; equal weights: the first listed. */
    assert_int_equal(accept("en;q=0.8, zh"), UI_LANG_ZH);
    assert_int_equal(accept("zh, en"), UI_LANG_ZH);
    assert_int_equal(accept("en;q=0.7, zh;q=0.7"), UI_LANG_EN);
    /* Unsupported, q=0, Traditional Chinese: passed over. */
    assert_int_equal(accept("fr-FR, fr;q=0.9, zh;q=0.2"), UI_LANG_ZH);
    assert_int_equal(accept("zh;q=0, en;q=0.1"), UI_LANG_EN);
    assert_int_equal(accept("zh-TW, zh-HK;q=0.9, en;q=0.3"), UI_LANG_EN);
    assert_int_equal(accept("*"), NONE);
    assert_int_equal(accept("de;q=1.0"), NONE);
    /* Malformed weights make their entry count for nothing. */
    assert_int_equal(accept("zh;q=2, en;q=0.1"), UI_LANG_EN);
    assert_int_equal(accept("zh;q=1.5, en;q=0.1"), UI_LANG_EN);
    assert_int_equal(accept("zh;q=0.9999, en;q=0.1"), UI_LANG_EN);
    assert_int_equal(accept("zh;q=, en;q=0.1"), UI_LANG_EN);
    assert_int_equal(accept("zh;q=-1, en;q=0.1"), UI_LANG_EN);
    assert_int_equal(accept("zh;q=1.000, en;q=0.1"), UI_LANG_ZH);
    assert_int_equal(accept("zh;Q=0.3;x=y, en;q=0.2"), UI_LANG_ZH);
    assert_int_equal(accept(",,, ;q=1, zh"), UI_LANG_ZH);
    assert_int_equal(accept("zh\t;\tq=0.9"), UI_LANG_ZH);
    /* At most UI_LANG_ACCEPT_MAX bytes. */
    char header[UI_LANG_ACCEPT_MAX + 2];
    memset(header, ' ', sizeof header);
    memcpy(header + UI_LANG_ACCEPT_MAX - 2, "zh", 2);
    header[UI_LANG_ACCEPT_MAX] = '\0';
    assert_int_equal(accept(header), UI_LANG_ZH);
    memcpy(header + UI_LANG_ACCEPT_MAX - 2, " zh", 3);
    header[UI_LANG_ACCEPT_MAX + 1] = '\0';
    assert_int_equal(accept(header), NONE);
}

static void
test_choose(void **state)
{
    (void)state;
    assert_int_equal(ui_lang_choose(NULL, NULL, UI_LANG_EN), UI_LANG_EN);
    assert_int_equal(ui_lang_choose(NULL, NULL, UI_LANG_ZH), UI_LANG_ZH);
    assert_int_equal(ui_lang_choose("fr", "de", UI_LANG_ZH), UI_LANG_ZH);
    assert_int_equal(ui_lang_choose("en", "zh", UI_LANG_ZH), UI_LANG_EN);
    assert_int_equal(ui_lang_choose("fr", "zh;q=0.9,en;q=0.5", UI_LANG_EN), UI_LANG_ZH);
    assert_int_equal(ui_lang_choose(NULL, "en-US,en;q=0.9", UI_LANG_ZH), UI_LANG_EN);
    enum ui_lang lang = UI_LANG_EN;
    assert_int_equal(ui_lang_from_name("zh", &lang), 0);
    assert_int_equal(lang, UI_LANG_ZH);
    assert_int_equal(ui_lang_from_name("en", &lang), 0);
    assert_int_equal(lang, UI_LANG_EN);
    assert_int_equal(ui_lang_from_name("zh-CN", &lang), -1);
    assert_int_equal(ui_lang_from_name(NULL, &lang), -1);
    assert_string_equal(ui_lang_tag(UI_LANG_ZH), "zh-CN");
    assert_string_equal(ui_lang_tag(UI_LANG_EN), "en");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_ui_locales),
        cmocka_unit_test(test_accept_language),
        cmocka_unit_test(test_choose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
