/* ui_lang: the pages' language from ui_locales, Accept-Language and the
 * deployment's default; see ui_lang.h. */
#include "oidc/ui_lang.h"

#include <string.h>
#include <strings.h>

#define Q_MAX 1000 /* q=1, in thousandths */

int
ui_lang_from_name(const char *name, enum ui_lang *out)
{
    if (name != NULL && strcmp(name, "en") == 0)
        *out = UI_LANG_EN;
    else if (name != NULL && strcmp(name, "zh") == 0)
        *out = UI_LANG_ZH;
    else
        return -1;
    return 0;
}

static int
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* 1 if the subtag (length bytes) equals word, ignoring case. */
static int
subtag_is(const char *subtag, size_t length, const char *word)
{
    return length == strlen(word) && strncasecmp(subtag, word, length) == 0;
}

int
ui_lang_match(const char *tag, size_t length, enum ui_lang *out)
{
    if (length == 0 || length > UI_LANG_TAG_MAX)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!is_alnum(tag[i]) && tag[i] != '-')
            return 0;
    size_t primary = 0;
    while (primary < length && tag[primary] != '-')
        primary++;
    if (subtag_is(tag, primary, "en")) {
        *out = UI_LANG_EN;
        return 1;
    }
    if (!subtag_is(tag, primary, "zh"))
        return 0;
    /* The second subtag: a script (4 letters) or a region (2 letters, 3
     * digits); later ones do not change which Chinese is written. */
    if (primary == length) {
        *out = UI_LANG_ZH;
        return 1;
    }
    const char *second = tag + primary + 1;
    size_t span = 0;
    while (primary + 1 + span < length && second[span] != '-')
        span++;
    if (subtag_is(second, span, "Hant") || subtag_is(second, span, "TW") ||
        subtag_is(second, span, "HK") || subtag_is(second, span, "MO"))
        return 0;
    if (span == 0)
        return 0; /* "zh-" or "zh--x": not a tag */
    *out = UI_LANG_ZH;
    return 1;
}

int
ui_lang_from_locales(const char *ui_locales, enum ui_lang *out)
{
    if (ui_locales == NULL || strnlen(ui_locales, UI_LANG_LOCALES_MAX + 1) >
                                  UI_LANG_LOCALES_MAX)
        return 0;
    const char *at = ui_locales;
    for (int items = 0; *at != '\0' && items < UI_LANG_ITEMS_MAX; items++) {
        at += strspn(at, " ");
        size_t span = strcspn(at, " ");
        if (span == 0)
            break;
        if (ui_lang_match(at, span, out))
            return 1;
        at += span;
    }
    return 0;
}

/* Reads a qvalue (RFC 9110 §12.4.2: "0" ["." 0-3 digits] or "1" ["." 0-3
 * zeros]) of length bytes into *q (thousandths). 0, or -1 when malformed. */
static int
parse_q(const char *text, size_t length, int *q)
{
    if (length == 0 || (text[0] != '0' && text[0] != '1'))
        return -1;
    int value = (text[0] - '0') * Q_MAX;
    if (length == 1) {
        *q = value;
        return 0;
    }
    if (text[1] != '.' || length > 5)
        return -1;
    int scale = Q_MAX / 10;
    for (size_t i = 2; i < length; i++, scale /= 10) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value += (text[i] - '0') * scale;
    }
    if (value > Q_MAX)
        return -1;
    *q = value;
    return 0;
}

/* Trims spaces and tabs around text[0..*length), moving *text. */
static void
trim(const char **text, size_t *length)
{
    while (*length > 0 && (**text == ' ' || **text == '\t')) {
        (*text)++;
        (*length)--;
    }
    while (*length > 0 && ((*text)[*length - 1] == ' ' || (*text)[*length - 1] == '\t'))
        (*length)--;
}

/* The q of one entry's parameters (after the tag's ';'): Q_MAX when it
 * names none; -1 when its q is malformed. */
static int
entry_q(const char *params, size_t length)
{
    int q = Q_MAX;
    while (length > 0) {
        size_t span = 0;
        while (span < length && params[span] != ';')
            span++;
        const char *param = params;
        size_t param_length = span;
        trim(&param, &param_length);
        if (param_length >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
            if (parse_q(param + 2, param_length - 2, &q) != 0)
                return -1;
        }
        params += span;
        length -= span;
        if (length > 0) {
            params++;
            length--;
        }
    }
    return q;
}

int
ui_lang_from_accept(const char *accept_language, enum ui_lang *out)
{
    if (accept_language == NULL ||
        strnlen(accept_language, UI_LANG_ACCEPT_MAX + 1) > UI_LANG_ACCEPT_MAX)
        return 0;
    int best_q = 0, found = 0;
    const char *at = accept_language;
    for (int items = 0; *at != '\0' && items < UI_LANG_ITEMS_MAX; items++) {
        size_t span = strcspn(at, ",");
        const char *entry = at;
        size_t entry_length = span;
        at += span;
        if (*at == ',')
            at++;
        size_t tag_length = 0;
        while (tag_length < entry_length && entry[tag_length] != ';')
            tag_length++;
        const char *tag = entry;
        size_t tag_trimmed = tag_length;
        trim(&tag, &tag_trimmed);
        int q = entry_q(entry + tag_length, entry_length - tag_length);
        enum ui_lang lang;
        /* Strictly higher: among equal weights the first listed wins. */
        if (q > best_q && ui_lang_match(tag, tag_trimmed, &lang)) {
            best_q = q;
            *out = lang;
            found = 1;
        }
    }
    return found;
}

enum ui_lang
ui_lang_choose(const char *ui_locales, const char *accept_language, enum ui_lang fallback)
{
    enum ui_lang lang = fallback;
    if (ui_lang_from_locales(ui_locales, &lang) || ui_lang_from_accept(accept_language, &lang))
        return lang;
    return fallback;
}

const char *
ui_lang_tag(enum ui_lang lang)
{
    return lang == UI_LANG_ZH ? "zh-CN" : "en";
}
