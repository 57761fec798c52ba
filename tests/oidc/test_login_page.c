/* Tests of the login page's pieces: the text buffer and its escapings, the
 * redirect URLs, the QR code's SVG and the rendered pages. */
#include "oidc/login_page.h"
#include "oidc/redirect.h"
#include "oidc/text_buffer.h"

#include "../test_support.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

static char *
escaped_html(const char *text)
{
    struct text_buffer buffer;
    text_buffer_init(&buffer);
    text_buffer_append_html(&buffer, text);
    char *out = text_buffer_finish(&buffer, NULL);
    assert_non_null(out);
    return out;
}

static char *
escaped_percent(const char *text)
{
    struct text_buffer buffer;
    text_buffer_init(&buffer);
    text_buffer_append_percent(&buffer, text);
    char *out = text_buffer_finish(&buffer, NULL);
    assert_non_null(out);
    return out;
}

static void
test_html_escape(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"plain", "plain"},
        {"<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
        {"a & b \"c\"", "a &amp; b &quot;c&quot;"},
        {"&amp;", "&amp;amp;"},
        {"\xc3\x9c" "n\xc3\xaf" "code", "\xc3\x9c" "n\xc3\xaf" "code"}, /* UTF-8 untouched */
        {"<<>>", "&lt;&lt;&gt;&gt;"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = escaped_html(cases[i].in);
        assert_string_equal(out, cases[i].out);
        free(out);
    }
}

static void
test_percent_encoding(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"AZaz09-._~", "AZaz09-._~"},
        {"a b", "a%20b"},
        {"a&b=c?d#e+f/g", "a%26b%3Dc%3Fd%23e%2Bf%2Fg"},
        {"%", "%25"},
        {"\xc3\xa9\x7f\x01", "%C3%A9%7F%01"},
        {"http://127.0.0.1:8080", "http%3A%2F%2F127.0.0.1%3A8080"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = escaped_percent(cases[i].in);
        assert_string_equal(out, cases[i].out);
        free(out);
    }
}

static void
test_buffer_limit(void **state)
{
    (void)state;
    char *chunk = malloc(TEXT_BUFFER_MAX);
    assert_non_null(chunk);
    memset(chunk, 'x', TEXT_BUFFER_MAX);
    struct text_buffer buffer;
    size_t length = 0;

    /* Exactly TEXT_BUFFER_MAX bytes: kept. */
    text_buffer_init(&buffer);
    text_buffer_append_bytes(&buffer, chunk, TEXT_BUFFER_MAX - 1);
    text_buffer_append(&buffer, "y");
    char *text = text_buffer_finish(&buffer, &length);
    assert_non_null(text);
    assert_int_equal(length, TEXT_BUFFER_MAX);
    assert_int_equal(text[TEXT_BUFFER_MAX - 1], 'y');
    assert_int_equal(text[TEXT_BUFFER_MAX], '\0');
    free(text);

    /* One more: the buffer fails, and stays failed. */
    text_buffer_init(&buffer);
    text_buffer_append_bytes(&buffer, chunk, TEXT_BUFFER_MAX);
    text_buffer_append(&buffer, "y");
    text_buffer_append(&buffer, "");
    assert_int_equal(buffer.failed, 1);
    assert_null(text_buffer_finish(&buffer, &length));
    assert_null(buffer.data);

    /* A format piece of TEXT_BUFFER_FORMAT_MAX - 1 bytes is kept, one more
     * fails the buffer; an empty buffer finishes as "". */
    char piece[TEXT_BUFFER_FORMAT_MAX + 1];
    memset(piece, 'x', TEXT_BUFFER_FORMAT_MAX);
    piece[TEXT_BUFFER_FORMAT_MAX - 1] = '\0';
    text_buffer_init(&buffer);
    text_buffer_format(&buffer, "%s", piece);
    assert_int_equal(buffer.failed, 0);
    assert_int_equal(buffer.length, TEXT_BUFFER_FORMAT_MAX - 1);
    piece[TEXT_BUFFER_FORMAT_MAX - 1] = 'x';
    piece[TEXT_BUFFER_FORMAT_MAX] = '\0';
    text_buffer_format(&buffer, "%s", piece);
    assert_int_equal(buffer.failed, 1);
    text_buffer_clear(&buffer);
    text = text_buffer_finish(&buffer, &length);
    assert_non_null(text);
    assert_string_equal(text, "");
    assert_int_equal(length, 0);
    free(text);
    free(chunk);
}

static void
test_redirects(void **state)
{
    (void)state;
    const struct redirect_param params[] = {
        {"code", "a b&c"}, {"state", NULL}, {"iss", "https://id.example"}};
    const struct {
        const char *base, *out;
    } cases[] = {
        {"https://shop.example/cb",
         "https://shop.example/cb?code=a%20b%26c&iss=https%3A%2F%2Fid.example"},
        {"https://shop.example/cb?x=1",
         "https://shop.example/cb?x=1&code=a%20b%26c&iss=https%3A%2F%2Fid.example"},
        {"https://shop.example/cb?",
         "https://shop.example/cb?code=a%20b%26c&iss=https%3A%2F%2Fid.example"},
        {"https://shop.example/cb?x=1&",
         "https://shop.example/cb?x=1&code=a%20b%26c&iss=https%3A%2F%2Fid.example"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *url = redirect_build(cases[i].base, params, sizeof params / sizeof *params);
        assert_non_null(url);
        assert_string_equal(url, cases[i].out);
        free(url);
    }
    char *none = redirect_build("https://shop.example/cb", params + 1, 1);
    assert_string_equal(none, "https://shop.example/cb");
    free(none);

    char *error = redirect_error("http://127.0.0.1:9/cb", "access_denied",
                                 "the citizen denied the login", "s=1", "http://id");
    assert_string_equal(error, "http://127.0.0.1:9/cb?error=access_denied&error_description="
                               "the%20citizen%20denied%20the%20login&state=s%3D1"
                               "&iss=http%3A%2F%2Fid");
    free(error);
    error = redirect_error("http://127.0.0.1:9/cb", "login_required", "d", NULL, "http://id");
    assert_string_equal(error, "http://127.0.0.1:9/cb?error=login_required&error_description=d"
                               "&iss=http%3A%2F%2Fid");
    free(error);
}

/* Sums the area of the SVG path's rectangles ("Mx yhNv1h-Nz" each) and
 * checks each lies inside the quiet zone. */
static long
svg_dark_area(const char *svg, int size)
{
    const char *path = strstr(svg, " d=\"");
    assert_non_null(path);
    path += 4;
    long area = 0;
    int x, y, run, back, used;
    while (sscanf(path, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &back, &used) == 4) {
        assert_int_equal(run, back);
        assert_true(x >= LOGIN_PAGE_QR_QUIET_ZONE && y >= LOGIN_PAGE_QR_QUIET_ZONE);
        assert_true(x + run <= size - LOGIN_PAGE_QR_QUIET_ZONE);
        assert_true(y < size - LOGIN_PAGE_QR_QUIET_ZONE);
        area += run;
        path += used;
    }
    assert_int_equal(*path, '"');
    return area;
}

static void
test_qr_svg(void **state)
{
    (void)state;
    const char *text = "https://id.example/v1/login/BCDFGHJK";
    struct text_buffer buffer;
    text_buffer_init(&buffer);
    assert_int_equal(login_page_qr_svg(text, &buffer), 0);
    char *svg = text_buffer_finish(&buffer, NULL);
    assert_non_null(svg);

    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_non_null(qr);
    long dark = 0;
    for (int i = 0; i < qr->width * qr->width; i++)
        dark += qr->data[i] & 1;
    int size = qr->width + 2 * LOGIN_PAGE_QR_QUIET_ZONE;
    char view_box[64];
    snprintf(view_box, sizeof view_box, "viewBox=\"0 0 %d %d\"", size, size);
    assert_non_null(strstr(svg, view_box));
    assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    assert_int_equal(svg_dark_area(svg, size), dark);
    assert_non_null(strstr(svg, "</svg>"));
    QRcode_free(qr);
    free(svg);

    /* Past what a QR code holds (2331 bytes at level M): refused. */
    char *huge = malloc(4000);
    assert_non_null(huge);
    memset(huge, 'a', 3999);
    huge[3999] = '\0';
    text_buffer_init(&buffer);
    assert_int_equal(login_page_qr_svg(huge, &buffer), -1);
    text_buffer_clear(&buffer);
    free(huge);
}

static void
test_login_page(void **state)
{
    (void)state;
    json_t *claims = json_pack("[s, s]", "age_over_18", "realname_verified");
    const struct login_page page = {
        .platform_name = "Shop <b>&amp;</b>",
        .claims = claims,
        .purpose = "Age \"check\" <script>",
        .login_url = "https://id.example/v1/login/BCDFGHJK",
        .app_link = "cyberid://login?server=https%3A%2F%2Fid.example&code=BCDFGHJK",
        .user_code = "BCDFGHJK",
        .poll_path = "v1/authorize/status/abc_DEF-123",
        .script_nonce = "nOnCe_-1",
        .lifetime_minutes = 5,
    };
    size_t length = 0;
    char *html = login_page_render(&page, &length);
    assert_non_null(html);
    assert_int_equal(strlen(html), length);
    assert_non_null(strstr(html, "<p id=\"user-code\">BCDF-GHJK</p>"));
    assert_non_null(strstr(html, "Log in to Shop &lt;b&gt;&amp;amp;&lt;/b&gt;</h1>"));
    assert_null(strstr(html, "<b>"));
    assert_non_null(strstr(html, "Age &quot;check&quot; &lt;script&gt;"));
    assert_non_null(strstr(html, "data-poll=\"v1/authorize/status/abc_DEF-123\""));
    assert_non_null(strstr(html, "<script nonce=\"nOnCe_-1\">"));
    assert_non_null(strstr(html, "Whether you are over 18"));
    assert_non_null(strstr(html, "expires in 5 minutes"));
    assert_non_null(strstr(html, "<svg "));
    /* One script only, and no external asset. */
    const char *first = strstr(html, "<script");
    assert_null(strstr(first + 1, "<script"));
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, "<link"));
    assert_non_null(strstr(html, "<html lang=\"en\">"));
    /* The app link, for everyone; after the code on a computer. */
    const char *link = strstr(html, "id=\"app-link\" href=\"cyberid://login?server="
                                    "https%3A%2F%2Fid.example&amp;code=BCDFGHJK\"");
    assert_non_null(link);
    assert_true(link > strstr(html, "id=\"user-code\""));
    assert_non_null(strstr(html, "id=\"app-fallback\" href=\"https://id.example/v1/login/"
                                 "BCDFGHJK\""));
    free(html);

    /* On a phone the link comes before the QR code; in Chinese, every
     * text is, the script's included. */
    struct login_page zh = page;
    zh.lang = UI_LANG_ZH;
    zh.phone = 1;
    html = login_page_render(&zh, &length);
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(html, "<h1>登录 Shop &lt;b&gt;&amp;amp;&lt;/b&gt;</h1>"));
    assert_non_null(strstr(html, "您是否已满18周岁"));
    assert_non_null(strstr(html, "此代码 5 分钟后失效。"));
    assert_non_null(strstr(html, "data-gone=\"此登录已失效。"));
    assert_non_null(strstr(html, "说明的用途"));
    assert_true(strstr(html, "id=\"app-link\"") < strstr(html, "<svg "));
    assert_null(strstr(html, "Log in"));
    assert_null(strstr(html, "Whether"));
    free(html);

    /* No purpose: no purpose section. */
    struct login_page plain = page;
    plain.purpose = NULL;
    html = login_page_render(&plain, &length);
    assert_non_null(html);
    assert_null(strstr(html, "Purpose stated"));
    free(html);
    json_decref(claims);
}

static void
test_error_page_and_csp(void **state)
{
    (void)state;
    size_t length = 0;
    char *html = login_page_error_render(UI_LANG_EN, "Refused", "bad <input>", 1, &length);
    assert_non_null(html);
    assert_non_null(strstr(html, "<h1>Refused</h1>"));
    assert_non_null(strstr(html, "bad &lt;input&gt;"));
    assert_non_null(strstr(html, "Go back to the site"));
    assert_null(strstr(html, "<script"));
    free(html);
    html = login_page_error_render(UI_LANG_ZH, "拒绝", "<x>", 0, &length);
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(html, "<h1>拒绝</h1>"));
    assert_non_null(strstr(html, "&lt;x&gt;"));
    assert_null(strstr(html, "Go back"));
    assert_null(strstr(html, "请返回"));
    free(html);

    /* The login URL's own page: the link and the code; no script. */
    char link[LOGIN_PAGE_APP_LINK_MAX];
    assert_int_equal(login_page_app_link("https://id.example/a b", "BCDFGHJK", link,
                                         sizeof link), 0);
    assert_string_equal(link, "cyberid://login?server=https%3A%2F%2Fid.example%2Fa%20b"
                              "&code=BCDFGHJK");
    assert_int_equal(login_page_app_link("https://id.example", "BCDFGHJK", link, 62), 0);
    assert_int_equal(login_page_app_link("https://id.example", "BCDFGHJK", link, 61), -1);
    html = login_page_link_render(UI_LANG_ZH, "BCDFGHJK", link, &length);
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(html, "请在 cyberid 应用中打开此登录"));
    assert_non_null(strstr(html, "<p id=\"user-code\">BCDF-GHJK</p>"));
    assert_non_null(strstr(html, "href=\"cyberid://login?server=https%3A%2F%2Fid.example"
                                 "&amp;code=BCDFGHJK\""));
    assert_null(strstr(html, "<script"));
    free(html);
    html = login_page_link_render(UI_LANG_EN, "BCDFGHJK", link, &length);
    assert_non_null(html);
    assert_non_null(strstr(html, "Open this login in the cyberid app"));
    assert_non_null(strstr(html, "Install the cyberid app"));
    free(html);
    assert_int_equal(login_page_is_phone("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac "
                                         "OS X) Mobile/15E148"), 1);
    assert_int_equal(login_page_is_phone("Mozilla/5.0 (Linux; Android 14; Pixel 8)"), 1);
    assert_int_equal(login_page_is_phone("Mozilla/5.0 (X11; Linux x86_64) Chrome/120"), 0);
    assert_int_equal(login_page_is_phone(NULL), 0);

    char csp[LOGIN_PAGE_CSP_MAX];
    assert_int_equal(login_page_csp("abc", csp, sizeof csp), 0);
    assert_string_equal(csp, "default-src 'none'; script-src 'nonce-abc'; connect-src "
                             "'self'; style-src 'unsafe-inline'; img-src data:; "
                             "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    assert_int_equal(login_page_csp(NULL, csp, sizeof csp), 0);
    assert_null(strstr(csp, "script-src"));
    assert_int_equal(login_page_csp("abc", csp, 16), -1);
    assert_string_equal(login_page_claim_words("birth_year", UI_LANG_EN), "Your year of birth");
    assert_string_equal(login_page_claim_words("birth_year", UI_LANG_ZH), "您的出生年份");
    assert_string_equal(login_page_claim_words("other", UI_LANG_ZH), "other");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_percent_encoding),
        cmocka_unit_test(test_buffer_limit),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_qr_svg),
        cmocka_unit_test(test_login_page),
        cmocka_unit_test(test_error_page_and_csp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
