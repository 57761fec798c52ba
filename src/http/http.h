/* http: the network-facing front of cyberid, on libmicrohttpd.
 *
 * The server owns the sockets, the thread pool, request size limits,
 * content-type checks, metrics and the access log; routes are plain
 * functions that receive a fully read, size-checked request and fill a
 * response. Every input is untrusted: handlers get bounded bodies and parse
 * them with jansson; every error leaves as JSON
 * {"error": code, "error_description": text} with a 4xx status.
 *
 * Threading: handlers run on the pool's threads, many at once; the `app`
 * pointer given to http_server_start() is passed to every handler and must
 * be safe to share. */
#ifndef CYBERID_HTTP_H
#define CYBERID_HTTP_H

#include "util/netaddr.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct http_server;

#define HTTP_PATH_PARAMS_MAX 4
#define HTTP_DEFAULT_BODY_LIMIT (64 * 1024)
#define HTTP_HEADER_LIMIT (16 * 1024)       /* request line + headers */
#define HTTP_RESPONSE_HEADERS_MAX 8

enum http_body {
    HTTP_BODY_NONE = 0,     /* no body expected (GET) */
    HTTP_BODY_JSON,         /* application/json, parsed to an object */
    HTTP_BODY_FORM,         /* application/x-www-form-urlencoded */
    HTTP_BODY_ANY,          /* raw bytes of any type (e.g. OCSP) */
};

struct http_request {
    const char *method;
    const char *path;
    /* Values of the {name} segments of the route pattern, in order. */
    const char *params[HTTP_PATH_PARAMS_MAX];
    const uint8_t *body;        /* NUL-terminated copy; length below */
    size_t body_length;
    json_t *json;               /* parsed body for HTTP_BODY_JSON routes */
    const char *client_address; /* textual peer address */
    void *connection;           /* for http_request_header() */
    const struct http_server *server; /* for http_server_metrics() */
};

#define HTTP_CLIENT_ID_MAX 64

struct http_response {
    unsigned status;
    const char *content_type;
    char *body;                 /* malloc'd; freed by the server */
    size_t body_length;
    struct {
        const char *name;
        char *value;            /* malloc'd; freed by the server */
    } headers[HTTP_RESPONSE_HEADERS_MAX];
    size_t header_count;
    /* The registered platform the request came from, when the handler
     * knows it: the access log names it on a 4xx answer (the platform's
     * integrator asks why). "" when unknown. */
    char client_id[HTTP_CLIENT_ID_MAX];
};

/* A route handler fills `response` (status and body). Returns 0; -1 means
 * an internal failure, which the server turns into a 500 JSON error. */
typedef int (*http_handler)(void *app, const struct http_request *request,
                            struct http_response *response);

struct http_route {
    const char *method;     /* "GET", "POST", … */
    const char *pattern;    /* "/v1/login/{code}/approve"; a last "{name...}"
                               takes the rest of the path, '/' included */
    enum http_body body;
    size_t body_limit;      /* 0: HTTP_DEFAULT_BODY_LIMIT */
    http_handler handler;
};


#define HTTP_DEFAULT_CONNECTIONS_PER_ADDRESS 64
#define HTTP_DEFAULT_BODY_BUDGET ((size_t)256 << 20)

struct http_server_options {
    const char *listen;     /* "127.0.0.1:8080", "[::1]:0" (0: any free port) */
    unsigned threads;       /* size of the worker pool */
    /* Open connections one address may hold (an IPv6 address by its /64);
     * past it a new connection is closed unanswered. 0: the default. */
    unsigned connections_per_address;
    /* Bytes of request bodies held in memory at once, all connections
     * together; a request whose body does not fit gets 503 and
     * Retry-After. 0: the default. */
    size_t body_budget;
    /* Asked when a handler returns -1: nonzero when the failure was a
     * dependency out of reach (the database), and the server then answers
     * 503 with Retry-After: *retry_after seconds instead of 500. NULL:
     * always 500. Called on the handler's thread. */
    int (*unavailable)(void *app, unsigned *retry_after);
    /* The reverse proxies in front (--trusted-proxy; at most
     * HTTP_TRUSTED_PROXIES_MAX networks, copied). A request from one of
     * them is taken to come from the client its X-Forwarded-For names
     * (netaddr_forwarded_client: through trusted hops only, right to
     * left), and answered 400 when a trusted hop forwarded something that
     * is not an address. Their own connections are not capped by
     * connections_per_address: each carries many clients. */
    const struct netaddr_cidr *trusted_proxies;
    size_t trusted_proxy_count;
};

#define HTTP_TRUSTED_PROXIES_MAX 32

/* Starts serving `routes` (the array must outlive the server) in
 * background threads. Returns 0 and sets *out, or -1 with err. */
int http_server_start(const struct http_server_options *options,
                      const struct http_route *routes, size_t route_count,
                      void *app, struct http_server **out, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *server);

/* Stops accepting, finishes requests in flight, frees everything. */
void http_server_stop(struct http_server *server);

/* The Prometheus text exposition of the server's metrics, malloc'd. */
char *http_server_metrics(const struct http_server *server);

/* ── Helpers for handlers ──────────────────────────────────────────────── */

/* A request header (case-insensitive name) or NULL. */
const char *http_request_header(const struct http_request *request,
                                const char *name);

/* A query-string argument or NULL. */
const char *http_request_query(const struct http_request *request,
                               const char *name);

/* How many times the query string names `name` (with or without a value),
 * for endpoints that must refuse a parameter given twice (RFC 6749 §3.1). */
size_t http_request_query_count(const struct http_request *request,
                                const char *name);

/* How many times a header (case-insensitive name) is given, for headers
 * that must come once (RFC 9449 §4.3: one DPoP header). */
size_t http_request_header_count(const struct http_request *request,
                                 const char *name);

/* Sets a JSON body (the reference to `body` is stolen) and status. Returns
 * 0, or -1 when the body cannot be serialised. */
int http_respond_json(struct http_response *response, unsigned status,
                      json_t *body);

/* Sets {"error": code, "error_description": description} and status. */
int http_respond_error(struct http_response *response, unsigned status,
                       const char *code, const char *description);

/* 429 {"error": "too_many_requests", "error_description": description}
 * with Retry-After: seconds (at least 1). 0 or -1. */
int http_respond_limited(struct http_response *response, int64_t seconds,
                         const char *description);

/* Copies `length` bytes as the body with the given content type. */
int http_respond_bytes(struct http_response *response, unsigned status,
                       const char *content_type, const void *body,
                       size_t length);

/* An HTTP date (RFC 9110 §5.6.7 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37
 * GMT") of unix seconds, for Last-Modified and Expires. 0 or -1. */
int http_date(int64_t seconds, char *out, size_t cap);

/* Names the registered platform behind the request (see struct
 * http_response); a longer id is cut. */
void http_response_set_client_id(struct http_response *response, const char *client_id);

/* Adds a response header (value copied). 0 or -1 when full. */
int http_response_add_header(struct http_response *response, const char *name,
                             const char *value);

#endif
