/* login_page: the login page's HTML and its QR code; see login_page.h. */
#include "oidc/login_page.h"

#include "oidc/user_code.h"
#include "util/strings.h"

#include <assert.h>
#include <qrencode.h>
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
    ".note{margin:18px 0 0;font-size:14px;color:var(--muted);text-align:left}";

/* Polls the status URL every second; follows redirect_to once the login is
 * decided; stops on 404 (the login is gone). Carries no data: the URL is
 * the data-poll attribute of <main>. */
static const char PAGE_SCRIPT[] =
    "(function(){"
    "var main=document.getElementById('login'),"
    "status=document.getElementById('status'),"
    "url=main.getAttribute('data-poll');"
    "function later(){setTimeout(poll,1000);}"
    "function poll(){"
    "fetch(url,{cache:'no-store',credentials:'omit'}).then(function(r){"
    "if(r.status===404){status.textContent='This login is no longer valid. '+"
    "'Go back to the site and start again.';return;}"
    "return r.json().then(function(a){"
    "if(a&&typeof a.redirect_to==='string'){"
    "status.textContent='Returning you to the site...';"
    "location.replace(a.redirect_to);}"
    "else later();});"
    "}).catch(later);}"
    "later();"
    "})();";

static const struct {
    const char *claim;
    const char *words;
} CLAIM_WORDS[] = {
    {"realname_verified", "That your identity is verified (not your name)"},
    {"age_over_14", "Whether you are over 14"},
    {"age_over_18", "Whether you are over 18"},
    {"birth_year", "Your year of birth"},
    {"name", "Your full name"},
    {"national_id", "Your national ID number"},
};

const char *
login_page_claim_words(const char *claim)
{
    for (size_t i = 0; i < sizeof CLAIM_WORDS / sizeof *CLAIM_WORDS; i++)
        if (strcmp(CLAIM_WORDS[i].claim, claim) == 0)
            return CLAIM_WORDS[i].words;
    return claim;
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

int
login_page_qr_svg(const char *text, struct text_buffer *out)
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
                       " role=\"img\" aria-label=\"QR code of the login link\">",
                       size, size, QR_PIXELS, QR_PIXELS);
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

/* <!DOCTYPE …> up to <body>, with the title (escaped). */
static void
page_head(struct text_buffer *page, const char *title_start, const char *title_name)
{
    text_buffer_append(page,
                       "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                       "<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, "
                       "initial-scale=1\">\n"
                       "<meta name=\"referrer\" content=\"no-referrer\">\n"
                       "<title>");
    text_buffer_append_html(page, title_start);
    if (title_name != NULL)
        text_buffer_append_html(page, title_name);
    text_buffer_append(page, " \xc2\xb7 cyberid</title>\n<style>");
    text_buffer_append(page, PAGE_STYLE);
    text_buffer_append(page, "</style>\n</head>\n<body>\n");
}

char *
login_page_render(const struct login_page *page, size_t *length)
{
    struct text_buffer html;
    char shown[USER_CODE_DISPLAY_SIZE];
    size_t i;
    const json_t *claim;

    text_buffer_init(&html);
    page_head(&html, "Log in to ", page->platform_name);
    text_buffer_append(&html, "<main id=\"login\" data-poll=\"");
    text_buffer_append_html(&html, page->poll_path);
    text_buffer_append(&html, "\">\n<p class=\"brand\">cyberid</p>\n<h1>Log in to ");
    text_buffer_append_html(&html, page->platform_name);
    text_buffer_append(&html, "</h1>\n<div class=\"qr\">");
    if (login_page_qr_svg(page->login_url, &html) != 0) {
        text_buffer_clear(&html);
        return NULL;
    }
    assert(strlen(page->user_code) == USER_CODE_CHARS);
    user_code_display(page->user_code, shown);
    text_buffer_append(&html,
                       "</div>\n<p class=\"how\">Scan the code with the cyberid app, "
                       "or open the app and enter this code</p>\n<p id=\"user-code\">");
    text_buffer_append_html(&html, shown);
    text_buffer_format(&html,
                       "</p>\n<p class=\"expiry\">The code expires in %d minutes.</p>\n",
                       page->lifetime_minutes);

    text_buffer_append(&html, "<section>\n<h2>");
    text_buffer_append_html(&html, page->platform_name);
    text_buffer_append(&html, " asks for</h2>\n<ul>\n"
                              "<li>A sign-in identifier for this site only</li>\n");
    json_array_foreach(page->claims, i, claim) {
        const char *name = json_string_value(claim);
        if (name == NULL)
            continue;
        text_buffer_append(&html, "<li>");
        text_buffer_append_html(&html, login_page_claim_words(name));
        text_buffer_append(&html, "</li>\n");
    }
    text_buffer_append(&html, "</ul>\n</section>\n");
    if (page->purpose != NULL) {
        text_buffer_append(&html, "<section>\n<h2>Purpose stated by ");
        text_buffer_append_html(&html, page->platform_name);
        text_buffer_append(&html, "</h2>\n<p>");
        text_buffer_append_html(&html, page->purpose);
        text_buffer_append(&html, "</p>\n</section>\n");
    }
    text_buffer_append(&html,
                       "<p class=\"note\">You choose in the app what to share. "
                       "Nothing is shared until you approve there.</p>\n"
                       "<p class=\"note\" id=\"status\" role=\"status\">Waiting for "
                       "your approval in the app&hellip;</p>\n"
                       "<noscript><p class=\"note\">This page needs JavaScript to "
                       "take you back to the site once you approve.</p></noscript>\n"
                       "</main>\n<script nonce=\"");
    text_buffer_append_html(&html, page->script_nonce);
    text_buffer_append(&html, "\">");
    text_buffer_append(&html, PAGE_SCRIPT);
    text_buffer_append(&html, "</script>\n</body>\n</html>\n");
    return text_buffer_finish(&html, length);
}

char *
login_page_error_render(const char *title, const char *message, size_t *length)
{
    struct text_buffer html;
    text_buffer_init(&html);
    page_head(&html, title, NULL);
    text_buffer_append(&html, "<main>\n<p class=\"brand\">cyberid</p>\n<h1>");
    text_buffer_append_html(&html, title);
    text_buffer_append(&html, "</h1>\n<p>");
    text_buffer_append_html(&html, message);
    text_buffer_append(&html,
                       "</p>\n<p class=\"note\">Go back to the site you came from and "
                       "try again. If this keeps happening, the site's login is set "
                       "up wrongly: tell the site.</p>\n</main>\n</body>\n</html>\n");
    return text_buffer_finish(&html, length);
}
