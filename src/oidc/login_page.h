/* login_page: the HTML that GET /authorize answers (docs/api.md, "The login
 * page and its polling"): the platform's name, what it asks for in plain
 * words, its stated purpose, a QR code (inline SVG, from libqrencode) of
 * the login URL, the user code, a link that opens the app on this device
 * (cyberid://login?…), and a small script that polls the login's status
 * and follows redirect_to. Also the page the login URL itself shows a
 * browser (what to do with it), and the page for a request that cannot
 * be sent back to the platform (RFC 6749 §4.1.2.1) or a logout.
 *
 * Every page is in English or Simplified Chinese (ui_lang.h), every text
 * of it, the script's included (the page carries them in data attributes).
 *
 * The pages load nothing: no external asset, no image but the inline SVG,
 * one inline script allowed by its CSP nonce (login_page_csp()). Every text
 * that comes from a platform or a request is HTML-escaped; the script reads
 * the poll URL from a data attribute and carries no data itself. */
#ifndef CYBERID_OIDC_LOGIN_PAGE_H
#define CYBERID_OIDC_LOGIN_PAGE_H

#include "http/http.h"
#include "oidc/text_buffer.h"
#include "oidc/ui_lang.h"

#include <jansson.h>
#include <stddef.h>

#define LOGIN_PAGE_CONTENT_TYPE "text/html; charset=utf-8"
#define LOGIN_PAGE_QR_QUIET_ZONE 4      /* modules of white around the code */
#define LOGIN_PAGE_CSP_MAX 512
/* The app's own URL scheme: cyberid://login?server=<issuer, percent-
 * encoded>&code=<the 8 letters> (docs/api.md, "Same-device login"). */
#define LOGIN_PAGE_APP_LINK_PREFIX "cyberid://login?server="
#define LOGIN_PAGE_APP_LINK_MAX 2048

struct login_page {
    enum ui_lang lang;
    const char *platform_name;
    const json_t *claims;       /* the asked claim names, array of strings */
    const char *purpose;        /* NULL when the request gave none */
    const char *login_url;      /* what the QR code holds; also the link's
                                   https fallback */
    const char *app_link;       /* login_page_app_link() */
    int phone;                  /* the browser is a phone's: the app link
                                   comes first (it is there for everyone) */
    const char *user_code;      /* shown XXXX-XXXX, normalised (8 characters) */
    const char *poll_path;      /* the status URL, relative to the page */
    const char *script_nonce;   /* the CSP nonce of the inline script */
    int lifetime_minutes;       /* "the code expires in N minutes" */
};

/* The page, malloc'd (length in *length), or NULL when out of memory or
 * when the QR code cannot be made. */
char *login_page_render(const struct login_page *page, size_t *length);

/* The page for a refused request that must not be redirected, or a
 * logout's: a title and a message (both HTML-escaped, both already in
 * lang); with advice set, the advice to go back to the site. malloc'd
 * (length in *length) or NULL. */
char *login_page_error_render(enum ui_lang lang, const char *title, const char *message,
                              int advice, size_t *length);

/* The page of the login URL opened in a browser (GET /v1/login/{code}
 * asking for text/html): it is a login for the cyberid app, how to open it
 * there (app_link, the code to type), and what to do without the app.
 * user_code: the 8 letters, normalised. malloc'd (length in *length) or
 * NULL. */
char *login_page_link_render(enum ui_lang lang, const char *user_code, const char *app_link,
                             size_t *length);

/* The same-device link of a login into out (capacity cap):
 * LOGIN_PAGE_APP_LINK_PREFIX, the issuer percent-encoded, "&code=" and the
 * user code (8 letters). 0, or -1 when it does not fit. */
int login_page_app_link(const char *issuer, const char *user_code, char *out, size_t cap)
    __attribute__((warn_unused_result));

/* The language of a page answering request: ui_locales (the request's
 * parameter, NULL when none), then its Accept-Language, then fallback
 * (ui_lang_choose()). */
enum ui_lang login_page_lang(const struct http_request *request, const char *ui_locales,
                             enum ui_lang fallback);

/* 1 if a User-Agent is a phone's or a tablet's browser (it names
 * Android, iPhone, iPad or Mobile), else 0; NULL is 0. */
int login_page_is_phone(const char *user_agent);

/* The Content-Security-Policy of a page into out (capacity cap): with
 * script_nonce, the login page's (its one script allowed); with NULL, a
 * page without script. 0, or -1 when it does not fit. */
int login_page_csp(const char *script_nonce, char *out, size_t cap)
    __attribute__((warn_unused_result));

/* Appends an <svg> of the QR code (error correction level M, 8-bit mode)
 * of text, one <path> of dark modules on a white square with a quiet zone
 * of LOGIN_PAGE_QR_QUIET_ZONE modules. 0, or -1 (text too long for a QR
 * code, or out of memory). */
int login_page_qr_svg(const char *text, struct text_buffer *out)
    __attribute__((warn_unused_result));

/* What a claim means for the citizen, in plain words, in lang ("Whether
 * you are over 18"); the claim name itself when unknown. */
const char *login_page_claim_words(const char *claim, enum ui_lang lang);

#endif
