/* login_page: the HTML that GET /authorize answers (docs/api.md, "The login
 * page and its polling"): the platform's name, what it asks for in plain
 * words, its stated purpose, a QR code (inline SVG, from libqrencode) of
 * the login URL, the user code, and a small script that polls the login's
 * status and follows redirect_to. Also the page for a request that cannot
 * be sent back to the platform (RFC 6749 §4.1.2.1).
 *
 * The pages load nothing: no external asset, no image but the inline SVG,
 * one inline script allowed by its CSP nonce (login_page_csp()). Every text
 * that comes from a platform or a request is HTML-escaped; the script reads
 * the poll URL from a data attribute and carries no data itself. */
#ifndef CYBERID_OIDC_LOGIN_PAGE_H
#define CYBERID_OIDC_LOGIN_PAGE_H

#include "oidc/text_buffer.h"

#include <jansson.h>
#include <stddef.h>

#define LOGIN_PAGE_CONTENT_TYPE "text/html; charset=utf-8"
#define LOGIN_PAGE_QR_QUIET_ZONE 4      /* modules of white around the code */
#define LOGIN_PAGE_CSP_MAX 512

struct login_page {
    const char *platform_name;
    const json_t *claims;       /* the asked claim names, array of strings */
    const char *purpose;        /* NULL when the request gave none */
    const char *login_url;      /* what the QR code holds */
    const char *user_code;      /* shown XXXX-XXXX, normalised (8 characters) */
    const char *poll_path;      /* the status URL, relative to the page */
    const char *script_nonce;   /* the CSP nonce of the inline script */
    int lifetime_minutes;       /* "the code expires in N minutes" */
};

/* The page, malloc'd (length in *length), or NULL when out of memory or
 * when the QR code cannot be made. */
char *login_page_render(const struct login_page *page, size_t *length);

/* The page for a refused request that must not be redirected: a title and
 * a message (both HTML-escaped). malloc'd (length in *length) or NULL. */
char *login_page_error_render(const char *title, const char *message,
                              size_t *length);

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

/* What a claim means for the citizen, in plain words ("Whether you are
 * over 18"); the claim name itself when unknown. */
const char *login_page_claim_words(const char *claim);

#endif
