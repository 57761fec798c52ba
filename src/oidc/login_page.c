/* login_page: the login page's HTML and its QR code; see login_page.h. */
#include "oidc/login_page.h"

#include "oidc/user_code.h"
#include "util/strings.h"

#include <assert.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define QR_PIXELS 220           /* drawn size of the QR code, CSS pixels */
#define QR_VERSION_ANY 0        /* the smallest version that holds the text */
#define QR_CASE_SENSITIVE 1

/* One style for both pages: a card in the middle, light or dark as the
 * browser prefers; the QR code stays black on white. */
static const char PAGE_STYLE[] =
    ":root{color-scheme:light dark;--fg:#1c2330;--muted:#5a6474;--bg:#f2f4f7;"
    "--card:#fff;--line:#dde2e9}"
    "@media (prefers-color-scheme:dark){:root{--fg:#e7eaf0;--muted:#a2aab8;"
    "--bg:#11141a;--card:#1a1f28;--line:#2b3240}}"
    "*{box-sizing:border-box}"
    "body{margin:0;min-height:100vh;display:flex;align-items:center;"
    "justify-content:center;padding:24px;background:var(--bg);color:var(--fg);"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}"
    "main{width:100%;max-width:420px;padding:28px;background:var(--card);"
    "border:1px solid var(--line);border-radius:16px;text-align:center}"
    ".brand{margin:0 0 6px;font-size:13px;font-weight:600;letter-spacing:.08em;"
    "text-transform:uppercase;color:var(--muted)}"
    "h1{margin:0 0 20px;font-size:22px;line-height:1.3;overflow-wrap:anywhere}"
    ".qr{display:inline-block;line-height:0;border-radius:10px;overflow:hidden}"
    ".how{margin:16px 0 2px;color:var(--muted)}"
    "#user-code{margin:0;font:600 30px/1.25 ui-monospace,SFMono-Regular,Menlo,"
    "Consolas,monospace;letter-spacing:.1em}"
    ".expiry{margin:2px 0 0;font-size:14px;color:var(--muted)}"
    "section{margin-top:18px;padding-top:14px;border-top:1px solid var(--line);"
    "text-align:left}"
    "h2{margin:0 0 6px;font-size:15px;overflow-wrap:anywhere}"
    "ul{margin:0;padding-left:20px}"
    "section p{margin:0;overflow-wrap:anywhere}"
    "a{color:inherit}"
    ".app{display:block;margin:16px 0 6px;padding:12px 16px;border-radius:10px;"
    "background:#1d5fd1;color:#fff;font-weight:600;text-decoration:none}"
    ".fallback{margin:0;font-size:14px;color:var(--muted)}"
    "ol{margin:0;padding-left:20px;text-align:left}"
    "li{margin:4px 0}"
    ".note{margin:18px 0 0;font-size:14px;color:var(--muted);text-align:left}";

/* Polls the status URL every second; follows redirect_to once the login is
 * decided; stops on 404 (the login is gone). Carries no data: the URL is
 * the data-poll attribute of <main>, the texts (in the page's language)
 * its data-gone and data-returning. */
static const char PAGE_SCRIPT[] =
    "(function(){"
    "var main=document.getElementById('login'),"
    "status=document.getElementById('status'),"
    "url=main.getAttribute('data-poll');"
    "function later(){setTimeout(poll,1000);}"
    "function poll(){"
    "fetch(url,{cache:'no-store',credentials:'omit'}).then(function(r){"
    "if(r.status===404){status.textContent=main.getAttribute('data-gone');return;}"
    "return r.json().then(function(a){"
    "if(a&&typeof a.redirect_to==='string'){"
    "status.textContent=main.getAttribute('data-returning');"
    "location.replace(a.redirect_to);}"
    "else later();});"
    "}).catch(later);}"
    "later();"
    "})();";

static const struct {
    const char *claim;
    const char *en, *zh;
} CLAIM_WORDS[] = {
    {"realname_verified", "That your identity is verified (not your name)",
     "您已通过实名认证（不含您的姓名）"},
    {"age_over_14", "Whether you are over 14", "您是否已满14周岁"},
    {"age_over_18", "Whether you are over 18", "您是否已满18周岁"},
    {"birth_year", "Your year of birth", "您的出生年份"},
    {"name", "Your full name", "您的姓名"},
    {"national_id", "Your national ID number", "您的身份证号码"},
};

const char *
login_page_claim_words(const char *claim, enum ui_lang lang)
{
    for (size_t i = 0; i < sizeof CLAIM_WORDS / sizeof *CLAIM_WORDS; i++)
        if (strcmp(CLAIM_WORDS[i].claim, claim) == 0)
            return ui_lang_pick(lang, CLAIM_WORDS[i].en, CLAIM_WORDS[i].zh);
    return claim;
}

int
login_page_app_link(const char *issuer, const char *user_code, char *out, size_t cap)
{
    struct text_buffer link;
    text_buffer_init(&link);
    text_buffer_append(&link, LOGIN_PAGE_APP_LINK_PREFIX);
    text_buffer_append_percent(&link, issuer);
    text_buffer_append(&link, "&code=");
    text_buffer_append_percent(&link, user_code);
    size_t length = 0;
    char *text = text_buffer_finish(&link, &length);
    int status = text != NULL && length < cap ? 0 : -1;
    if (status == 0)
        memcpy(out, text, length + 1);
    free(text);
    return status;
}

enum ui_lang
login_page_lang(const struct http_request *request, const char *ui_locales,
                enum ui_lang fallback)
{
    return ui_lang_choose(ui_locales, http_request_header(request, "Accept-Language"),
                          fallback);
}

int
login_page_is_phone(const char *user_agent)
{
    static const char *const words[] = {"Android", "iPhone", "iPad", "Mobile"};
    if (user_agent == NULL)
        return 0;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(user_agent, words[i]) != NULL)
            return 1;
    return 0;
}

int
login_page_csp(const char *script_nonce, char *out, size_t cap)
{
    static const char COMMON[] =
        "style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'";
    if (script_nonce == NULL)
        return string_format(out, cap, "default-src 'none'; %s", COMMON);
    return string_format(out, cap,
                         "default-src 'none'; script-src 'nonce-%s'; "
                         "connect-src 'self'; %s",
                         script_nonce, COMMON);
}

/* Longest decimal of a module coordinate or run: a version 40 code is
 * 177 modules wide, plus the quiet zone. */
#define QR_NUMBER_MAX 16

/* Appends "M<x> <y>h<run>v1h-<run>z", the bytes text_buffer_format() gave
 * for it, without a vsnprintf() per run: the page has a few hundred runs,
 * and formatting them was a fifth of the page's cost. Numbers are >= 0. */
static void
qr_append_run(struct text_buffer *out, int x, int y, int run)
{
    assert(x >= 0 && y >= 0 && run > 0);
    char text[4 * QR_NUMBER_MAX + 8];
    size_t length = 0;
    const int numbers[] = {x, y, run, run};
    const char *const before[] = {"M", " ", "h", "v1h-"};
    for (size_t n = 0; n < sizeof numbers / sizeof numbers[0]; n++) {
        for (const char *c = before[n]; *c != '\0'; c++)
            text[length++] = *c;
        char digits[QR_NUMBER_MAX];
        size_t count = 0;
        unsigned value = (unsigned)numbers[n];
        do {
            digits[count++] = (char)('0' + value % 10);
            value /= 10;
        } while (value != 0 && count < sizeof digits);
        while (count > 0)
            text[length++] = digits[--count];
    }
    text[length++] = 'z';
    text_buffer_append_bytes(out, text, length);
}

/* login_page_qr_svg() with the image's accessible name. */
static int
qr_svg(const char *text, const char *label, struct text_buffer *out)
{
    QRcode *qr = QRcode_encodeString(text, QR_VERSION_ANY, QR_ECLEVEL_M, QR_MODE_8,
                                     QR_CASE_SENSITIVE);
    if (qr == NULL)
        return -1;
    int width = qr->width;
    int size = width + 2 * LOGIN_PAGE_QR_QUIET_ZONE;
    text_buffer_format(out,
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
                       " width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\""
                       " role=\"img\" aria-label=\"",
                       size, size, QR_PIXELS, QR_PIXELS);
    text_buffer_append_html(out, label);
    text_buffer_append(out, "\">");
    text_buffer_format(out, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", size,
                       size);
    text_buffer_append(out, "<path fill=\"#000\" d=\"");
    /* Each horizontal run of dark modules is one rectangle. */
    for (int y = 0; y < width; y++) {
        const unsigned char *row = qr->data + (size_t)y * (size_t)width;
        for (int x = 0; x < width;) {
            if (!(row[x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < width && (row[x + run] & 1))
                run++;
            qr_append_run(out, x + LOGIN_PAGE_QR_QUIET_ZONE, y + LOGIN_PAGE_QR_QUIET_ZONE,
                          run);
            x += run;
        }
    }
    text_buffer_append(out, "\"/></svg>");
    QRcode_free(qr);
    return out->failed ? -1 : 0;
}

int
login_page_qr_svg(const char *text, struct text_buffer *out)
{
    return qr_svg(text, "QR code of the login link", out);
}

/* Appends a format whose only conversions are %s, each piece of any
 * length (text_buffer_format() takes short pieces only); the arguments
 * end with NULL. Nothing is escaped: the pieces are the page's own. */
static void
append_pieces(struct text_buffer *out, const char *format, ...)
{
    va_list pieces;
    va_start(pieces, format);
    for (const char *at = format; *at != '\0';) {
        const char *next = strstr(at, "%s");
        if (next == NULL) {
            text_buffer_append(out, at);
            break;
        }
        text_buffer_append_bytes(out, at, (size_t)(next - at));
        const char *piece = va_arg(pieces, const char *);
        assert(piece != NULL);
        text_buffer_append(out, piece);
        at = next + 2;
    }
    va_end(pieces);
}

/* <!DOCTYPE …> up to <body>, in lang, with the title (escaped): title,
 * then title_name unless NULL. */
static void
page_head(struct text_buffer *page, enum ui_lang lang, const char *title,
          const char *title_name)
{
    text_buffer_format(page,
                       "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
                       "<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, "
                       "initial-scale=1\">\n"
                       "<meta name=\"referrer\" content=\"no-referrer\">\n"
                       "<title>",
                       ui_lang_tag(lang));
    text_buffer_append_html(page, title);
    if (title_name != NULL)
        text_buffer_append_html(page, title_name);
    text_buffer_append(page, " \xc2\xb7 cyberid</title>\n<style>");
    text_buffer_append(page, PAGE_STYLE);
    text_buffer_append(page, "</style>\n</head>\n<body>\n");
}

/* "Log in to <name>" in lang, escaped. */
static void
append_log_in_to(struct text_buffer *html, enum ui_lang lang, const char *name)
{
    text_buffer_append(html, ui_lang_pick(lang, "Log in to ", "登录 "));
    text_buffer_append_html(html, name);
}

/* The same-device block: the link that opens the app, and the https
 * fallback for a device without it. */
static void
append_app_link(struct text_buffer *html, const struct login_page *page)
{
    enum ui_lang lang = page->lang;
    text_buffer_append(html, "<a class=\"app\" id=\"app-link\" href=\"");
    text_buffer_append_html(html, page->app_link);
    text_buffer_append(html, "\">");
    text_buffer_append(html, ui_lang_pick(lang, "On this phone? Open the cyberid app",
                                          "在本手机上？打开 cyberid 应用"));
    text_buffer_append(html, "</a>\n<p class=\"fallback\">");
    text_buffer_append(html, ui_lang_pick(lang, "No app on this device? ",
                                          "本设备上没有应用？"));
    text_buffer_append(html, "<a id=\"app-fallback\" href=\"");
    text_buffer_append_html(html, page->login_url);
    text_buffer_append(html, "\">");
    text_buffer_append(html, ui_lang_pick(lang, "What to do", "查看怎么办"));
    text_buffer_append(html, "</a></p>\n");
}

char *
login_page_render(const struct login_page *page, size_t *length)
{
    struct text_buffer html;
    char shown[USER_CODE_DISPLAY_SIZE];
    size_t i;
    const json_t *claim;
    enum ui_lang lang = page->lang;

    text_buffer_init(&html);
    page_head(&html, lang, ui_lang_pick(lang, "Log in to ", "登录 "), page->platform_name);
    text_buffer_append(&html, "<main id=\"login\" data-poll=\"");
    text_buffer_append_html(&html, page->poll_path);
    text_buffer_append(&html, "\" data-gone=\"");
    text_buffer_append_html(&html, ui_lang_pick(lang,
                                                "This login is no longer valid. Go back to "
                                                "the site and start again.",
                                                "此登录已失效。请返回网站重新开始。"));
    text_buffer_append(&html, "\" data-returning=\"");
    text_buffer_append_html(&html, ui_lang_pick(lang, "Returning you to the site...",
                                                "正在返回网站……"));
    text_buffer_append(&html, "\">\n<p class=\"brand\">cyberid</p>\n<h1>");
    append_log_in_to(&html, lang, page->platform_name);
    text_buffer_append(&html, "</h1>\n");
    if (page->phone)
        append_app_link(&html, page);
    text_buffer_append(&html, "<div class=\"qr\">");
    if (qr_svg(page->login_url, ui_lang_pick(lang, "QR code of the login link",
                                             "登录链接的二维码"),
               &html) != 0) {
        text_buffer_clear(&html);
        return NULL;
    }
    assert(strlen(page->user_code) == USER_CODE_CHARS);
    user_code_display(page->user_code, shown);
    append_pieces(&html, "</div>\n<p class=\"how\">%s</p>\n<p id=\"user-code\">",
                       ui_lang_pick(lang,
                                    "Scan the code with the cyberid app, or open the app "
                                    "and enter this code",
                                    "用 cyberid 应用扫描二维码，或打开应用输入此代码"), (const char *)NULL);
    text_buffer_append_html(&html, shown);
    text_buffer_append(&html, "</p>\n<p class=\"expiry\">");
    if (lang == UI_LANG_ZH)
        text_buffer_format(&html, "此代码 %d 分钟后失效。", page->lifetime_minutes);
    else
        text_buffer_format(&html, "The code expires in %d minutes.", page->lifetime_minutes);
    text_buffer_append(&html, "</p>\n");
    if (!page->phone)
        append_app_link(&html, page);

    text_buffer_append(&html, "<section>\n<h2>");
    text_buffer_append_html(&html, page->platform_name);
    append_pieces(&html, "%s</h2>\n<ul>\n<li>%s</li>\n",
                       ui_lang_pick(lang, " asks for", " 请求获取"),
                       ui_lang_pick(lang, "A sign-in identifier for this site only",
                                    "仅用于本网站的登录标识"), (const char *)NULL);
    json_array_foreach(page->claims, i, claim) {
        const char *name = json_string_value(claim);
        if (name == NULL)
            continue;
        text_buffer_append(&html, "<li>");
        text_buffer_append_html(&html, login_page_claim_words(name, lang));
        text_buffer_append(&html, "</li>\n");
    }
    text_buffer_append(&html, "</ul>\n</section>\n");
    if (page->purpose != NULL) {
        text_buffer_append(&html, "<section>\n<h2>");
        if (lang == UI_LANG_ZH) {
            text_buffer_append_html(&html, page->platform_name);
            text_buffer_append(&html, " 说明的用途");
        } else {
            text_buffer_append(&html, "Purpose stated by ");
            text_buffer_append_html(&html, page->platform_name);
        }
        text_buffer_append(&html, "</h2>\n<p>");
        text_buffer_append_html(&html, page->purpose);
        text_buffer_append(&html, "</p>\n</section>\n");
    }
    append_pieces(&html,
                       "<p class=\"note\">%s</p>\n"
                       "<p class=\"note\" id=\"status\" role=\"status\">%s</p>\n"
                       "<noscript><p class=\"note\">%s</p></noscript>\n"
                       "</main>\n<script nonce=\"",
                       ui_lang_pick(lang,
                                    "You choose in the app, item by item, what to share. "
                                    "Nothing is shared until you approve there.",
                                    "您在应用中逐项选择要提供的信息。在应用中批准之前，"
                                    "不会提供任何信息。"),
                       ui_lang_pick(lang, "Waiting for your approval in the app&hellip;",
                                    "正在等待您在应用中批准&hellip;"),
                       ui_lang_pick(lang,
                                    "This page needs JavaScript to take you back to the "
                                    "site once you approve.",
                                    "此页面需要 JavaScript，才能在您批准后带您返回网站。"), (const char *)NULL);
    text_buffer_append_html(&html, page->script_nonce);
    text_buffer_append(&html, "\">");
    text_buffer_append(&html, PAGE_SCRIPT);
    text_buffer_append(&html, "</script>\n</body>\n</html>\n");
    return text_buffer_finish(&html, length);
}

char *
login_page_error_render(enum ui_lang lang, const char *title, const char *message,
                        int advice, size_t *length)
{
    struct text_buffer html;
    text_buffer_init(&html);
    page_head(&html, lang, title, NULL);
    text_buffer_append(&html, "<main>\n<p class=\"brand\">cyberid</p>\n<h1>");
    text_buffer_append_html(&html, title);
    text_buffer_append(&html, "</h1>\n<p>");
    text_buffer_append_html(&html, message);
    text_buffer_append(&html, "</p>\n");
    if (advice)
        append_pieces(&html, "<p class=\"note\">%s</p>\n",
                           ui_lang_pick(lang,
                                        "Go back to the site you came from and try again. "
                                        "If this keeps happening, the site's login is set "
                                        "up wrongly: tell the site.",
                                        "请返回您来自的网站再试一次。如果一再出现此问题，"
                                        "说明该网站的登录设置有误：请告知该网站。"), (const char *)NULL);
    text_buffer_append(&html, "</main>\n</body>\n</html>\n");
    return text_buffer_finish(&html, length);
}

char *
login_page_link_render(enum ui_lang lang, const char *user_code, const char *app_link,
                       size_t *length)
{
    struct text_buffer html;
    char shown[USER_CODE_DISPLAY_SIZE];
    assert(strlen(user_code) == USER_CODE_CHARS);
    user_code_display(user_code, shown);
    text_buffer_init(&html);
    page_head(&html, lang, ui_lang_pick(lang, "Open this login in the cyberid app",
                                        "请在 cyberid 应用中打开此登录"),
              NULL);
    append_pieces(&html,
                       "<main id=\"login-link\">\n<p class=\"brand\">cyberid</p>\n"
                       "<h1>%s</h1>\n<p>%s</p>\n<a class=\"app\" id=\"app-link\" href=\"",
                       ui_lang_pick(lang, "Open this login in the cyberid app",
                                    "请在 cyberid 应用中打开此登录"),
                       ui_lang_pick(lang,
                                    "This is a login link of cyberid, the national online "
                                    "identity. It works in the cyberid app, not in a browser.",
                                    "这是 cyberid（国家网络身份认证）的登录链接，"
                                    "需要在 cyberid 应用中使用，不能在浏览器中使用。"), (const char *)NULL);
    text_buffer_append_html(&html, app_link);
    append_pieces(&html, "\">%s</a>\n<ol>\n<li>%s</li>\n<li>%s",
                       ui_lang_pick(lang, "Open the cyberid app", "打开 cyberid 应用"),
                       ui_lang_pick(lang,
                                    "If the cyberid app is on this device, the button "
                                    "above opens this login in it.",
                                    "如果本设备上已安装 cyberid 应用，点上面的按钮即可在应用中"
                                    "打开此登录。"),
                       ui_lang_pick(lang,
                                    "If you scanned the login page's QR code with a camera: "
                                    "open the cyberid app and scan it there, or enter this "
                                    "code in the app:",
                                    "如果您是用相机扫描了登录页面上的二维码：请打开 cyberid "
                                    "应用，在应用中扫描，或在应用中输入此代码："), (const char *)NULL);
    text_buffer_append(&html, "<p id=\"user-code\">");
    text_buffer_append_html(&html, shown);
    append_pieces(&html,
                       "</p></li>\n<li>%s</li>\n</ol>\n<p class=\"note\">%s</p>\n"
                       "</main>\n</body>\n</html>\n",
                       ui_lang_pick(lang,
                                    "No app yet? Install the cyberid app from your phone's "
                                    "app store and enroll once with your national ID card, "
                                    "then go back to the site and log in again.",
                                    "还没有应用？请从手机的应用商店安装 cyberid 应用，"
                                    "用身份证完成一次注册，然后返回网站重新登录。"),
                       ui_lang_pick(lang,
                                    "Nothing is shared until you approve in the app, "
                                    "item by item.",
                                    "在应用中逐项批准之前，不会提供任何信息。"), (const char *)NULL);
    return text_buffer_finish(&html, length);
}
