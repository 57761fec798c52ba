/* ui_lang: the language of the pages the service shows a browser (the
 * login page, the page of the login link, the error and logout pages):
 * Simplified Chinese or English (docs/api.md, "The pages' language").
 *
 * The choice, in order: the request's ui_locales (OpenID Connect Core
 * §3.1.2.1: a space-separated list of BCP 47 tags, the first the service
 * speaks wins), then the Accept-Language header (RFC 9110 §12.5.4: the
 * highest q-value the service speaks, the first listed among equals; q=0
 * is "not this one"), then the deployment's default (`cyberid serve
 * --default-lang`, config.json "default_lang"), English when none.
 *
 * Chinese is "zh" with no script or region, the script Hans, or a region
 * other than TW, HK and MO (zh-CN, zh-SG, zh-Hans-CN); zh-Hant and zh-TW
 * are not Simplified Chinese and are passed over. English is "en" and
 * every en-*. Matching ignores case.
 *
 * Both inputs are untrusted and bounded: a ui_locales over
 * UI_LANG_LOCALES_MAX bytes, or an Accept-Language over
 * UI_LANG_ACCEPT_MAX, is ignored whole; only the first UI_LANG_ITEMS_MAX
 * entries of either are read; a tag over UI_LANG_TAG_MAX bytes, or with
 * characters other than letters, digits and '-', matches nothing. */
#ifndef CYBERID_OIDC_UI_LANG_H
#define CYBERID_OIDC_UI_LANG_H

#include <stddef.h>

enum ui_lang { UI_LANG_EN = 0, UI_LANG_ZH };

#define UI_LANG_LOCALES_MAX 256
#define UI_LANG_ACCEPT_MAX 512
#define UI_LANG_ITEMS_MAX 32
#define UI_LANG_TAG_MAX 35  /* the longest well-formed tag a list will need */

/* A deployment setting ("en" or "zh") into *out. 0, or -1 for another. */
int ui_lang_from_name(const char *name, enum ui_lang *out)
    __attribute__((warn_unused_result));

/* 1 with *out when the tag (a BCP 47 language tag of `length` bytes, not
 * NUL-terminated) is one the service speaks, else 0. */
int ui_lang_match(const char *tag, size_t length, enum ui_lang *out);

/* 1 with *out from a ui_locales list (NULL: none), else 0. */
int ui_lang_from_locales(const char *ui_locales, enum ui_lang *out);

/* 1 with *out from an Accept-Language header (NULL: none), else 0. */
int ui_lang_from_accept(const char *accept_language, enum ui_lang *out);

/* ui_locales, else Accept-Language, else fallback (both may be NULL). */
enum ui_lang ui_lang_choose(const char *ui_locales, const char *accept_language,
                            enum ui_lang fallback);

/* The page's <html lang> and ui_locales value: "en" or "zh-CN". */
const char *ui_lang_tag(enum ui_lang lang);

/* The text in lang: en or zh. */
static inline const char *
ui_lang_pick(enum ui_lang lang, const char *en, const char *zh)
{
    return lang == UI_LANG_ZH ? zh : en;
}

#endif
