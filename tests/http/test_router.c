/* Tests of route matching and the metrics exposition. */
#include "http/metrics.h"
#include "http/router.h"

#include "../test_support.h"

static int
dummy(void *app, const struct http_request *request, struct http_response *response)
{
    (void)app; (void)request; (void)response;
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/healthz", HTTP_BODY_NONE, 0, dummy},
    {"POST", "/v1/login/{code}/approve", HTTP_BODY_JSON, 0, dummy},
    {"GET", "/v1/login/{code}", HTTP_BODY_NONE, 0, dummy},
    {"POST", "/v1/me/devices/{serial}/revoke", HTTP_BODY_JSON, 0, dummy},
    {"GET", "/ocsp/{request...}", HTTP_BODY_NONE, 0, dummy},
};
#define COUNT (sizeof routes / sizeof *routes)

static void
test_matching(void **state)
{
    (void)state;
    size_t index = 99;
    struct router_params params;
    assert_int_equal(router_match(routes, COUNT, "GET", "/healthz", &index, &params),
                     ROUTER_FOUND);
    assert_int_equal(index, 0);
    assert_int_equal(router_match(routes, COUNT, "HEAD", "/healthz", &index, &params),
                     ROUTER_FOUND);
    assert_int_equal(router_match(routes, COUNT, "POST", "/healthz", &index, &params),
                     ROUTER_WRONG_METHOD);
    assert_int_equal(router_match(routes, COUNT, "GET", "/healthz/", &index, &params),
                     ROUTER_NOT_FOUND);
    assert_int_equal(router_match(routes, COUNT, "GET", "/health", &index, &params),
                     ROUTER_NOT_FOUND);
    assert_int_equal(router_match(routes, COUNT, "POST", "/v1/login/ABCD1234/approve",
                                  &index, &params), ROUTER_FOUND);
    assert_int_equal(index, 1);
    assert_int_equal(params.count, 1);
    assert_string_equal(params.values[0], "ABCD1234");
    assert_int_equal(router_match(routes, COUNT, "GET", "/v1/login/XY", &index, &params),
                     ROUTER_FOUND);
    assert_int_equal(index, 2);
    assert_string_equal(params.values[0], "XY");
    /* A parameter never spans segments and is never empty. */
    assert_int_equal(router_match(routes, COUNT, "GET", "/v1/login/a/b", &index, &params),
                     ROUTER_NOT_FOUND);
    assert_int_equal(router_match(routes, COUNT, "GET", "/v1/login/", &index, &params),
                     ROUTER_NOT_FOUND);
    /* {name...} takes the rest, slashes included, never nothing. */
    assert_int_equal(router_match(routes, COUNT, "GET", "/ocsp/MEow/wQ+a==", &index,
                                  &params), ROUTER_FOUND);
    assert_int_equal(index, 4);
    assert_string_equal(params.values[0], "MEow/wQ+a==");
    assert_int_equal(router_match(routes, COUNT, "GET", "/ocsp/", &index, &params),
                     ROUTER_NOT_FOUND);
    char rest[ROUTER_SEGMENT_MAX + 16];
    memset(rest, 'A', sizeof rest);
    memcpy(rest, "/ocsp/", 6);
    rest[6 + ROUTER_SEGMENT_MAX - 1] = '\0';
    assert_int_equal(router_match(routes, COUNT, "GET", rest, &index, &params),
                     ROUTER_FOUND);
    rest[6 + ROUTER_SEGMENT_MAX - 1] = 'A';
    rest[6 + ROUTER_SEGMENT_MAX] = '\0';
    assert_int_equal(router_match(routes, COUNT, "GET", rest, &index, &params),
                     ROUTER_NOT_FOUND);
}

static void
test_segment_limit(void **state)
{
    (void)state;
    char path[ROUTER_SEGMENT_MAX + 32];
    size_t index;
    struct router_params params;
    strcpy(path, "/v1/login/");
    size_t n = strlen(path);
    memset(path + n, 'a', ROUTER_SEGMENT_MAX - 1);
    path[n + ROUTER_SEGMENT_MAX - 1] = '\0';
    assert_int_equal(router_match(routes, COUNT, "GET", path, &index, &params),
                     ROUTER_FOUND);
    path[n + ROUTER_SEGMENT_MAX - 1] = 'a';
    path[n + ROUTER_SEGMENT_MAX] = '\0';
    assert_int_equal(router_match(routes, COUNT, "GET", path, &index, &params),
                     ROUTER_NOT_FOUND);
}

static void
test_metrics_render(void **state)
{
    (void)state;
    static struct metrics metrics;
    const char *labels[] = {"GET /healthz", "POST /v1/x"};
    assert_int_equal(metrics_init(&metrics, labels, 2), 0);
    metrics_record(&metrics, 0, 200, 100);
    metrics_record(&metrics, 0, 200, 2000000);
    metrics_record(&metrics, 1, 413, 700);
    metrics_record(&metrics, 2, 404, 10);
    metrics_record(&metrics, 1, 418, 10);
    char *text = metrics_render(&metrics);
    assert_non_null(text);
    assert_non_null(strstr(text, "cyberid_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2\n"));
    assert_non_null(strstr(text, "cyberid_http_requests_total{method=\"POST\",route=\"/v1/x\",status=\"413\"} 1\n"));
    assert_non_null(strstr(text, "status=\"other\"} 1\n"));
    assert_non_null(strstr(text, "route=\"unmatched\",status=\"404\"} 1\n"));
    assert_non_null(strstr(text, "route=\"/healthz\",le=\"0.00025\"} 1\n"));
    assert_non_null(strstr(text, "route=\"/healthz\",le=\"1\"} 1\n"));
    assert_non_null(strstr(text, "route=\"/healthz\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(text, "cyberid_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\"} 2\n"));
    free(text);
    const char *many[METRICS_ROUTES_MAX + 1];
    for (size_t i = 0; i <= METRICS_ROUTES_MAX; i++)
        many[i] = "GET /";
    assert_int_equal(metrics_init(&metrics, many, METRICS_ROUTES_MAX), 0);
    assert_int_equal(metrics_init(&metrics, many, METRICS_ROUTES_MAX + 1), -1);
}

/* RFC 9110's own example date, and the end of 2038. */
static void
test_http_date(void **state)
{
    (void)state;
    char date[64];
    assert_int_equal(http_date(784111777, date, sizeof date), 0);
    assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(http_date(2177452799LL, date, sizeof date), 0);
    assert_string_equal(date, "Fri, 31 Dec 2038 23:59:59 GMT");
    assert_int_equal(http_date(0, date, 10), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_date),
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_segment_limit),
        cmocka_unit_test(test_metrics_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
