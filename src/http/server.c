/* server: libmicrohttpd glue: listening, reading bounded bodies, routing,
 * content-type and size checks, dispatch, metrics and the access log. */
#include "http/http.h"

#include "http/admission.h"
#include "http/metrics.h"
#include "http/router.h"
#include "util/counters.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/wipe_alloc.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <unistd.h>
#include <microhttpd.h>
#if MHD_VERSION < 0x01000100
#error "libmicrohttpd 1.0.1 or later (scripts/install-libmicrohttpd.sh): 0.9.75 mis-frames malformed requests"
#endif
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#define CONNECTION_TIMEOUT_SECONDS 30
/* libmicrohttpd reads each connection's request line, headers and body
 * chunks into a memory pool of this size. Above 32 KiB it maps the pool
 * with mmap() and unmaps it when the connection ends, so a request body
 * (ID numbers, names, photos) that passed through it leaves no copy in
 * freed heap memory; a pool of 32 KiB or less comes from malloc() and
 * stays readable after free (tests/integration/memory.test.mjs). It also
 * bounds the request line and headers (431 past it). */
#define CONNECTION_POOL_BYTES ((size_t)HTTP_HEADER_LIMIT * 2 + 4096)
#define CONNECTION_LIMIT 4096
#define ROUTE_LABEL_MAX 160
/* How long a stop waits for the requests in flight to complete. */
#define STOP_DRAIN_MS 5000
/* X-Forwarded-For headers of one request, joined: far more hops than any
 * chain of proxies has; past it the request is refused (400). */
#define FORWARDED_MAX 2048

struct http_server {
    struct MHD_Daemon *daemon;
    const struct http_route *routes;
    size_t route_count;
    void *app;
    int (*unavailable)(void *app, unsigned *retry_after);
    struct admission *admission;
    uint16_t port;
    struct netaddr_cidr trusted[HTTP_TRUSTED_PROXIES_MAX];
    size_t trusted_count;
    char labels[METRICS_ROUTES_MAX][ROUTE_LABEL_MAX];
    struct metrics metrics;
    /* Requests begun and not completed (their answer not yet sent):
     * http_server_stop() waits for them. */
    atomic_long in_flight;
};

/* Per-request state, from the first call of the access handler to the
 * completion callback. */
struct request_state {
    struct timespec started;
    size_t route;           /* index, or route_count when unmatched */
    unsigned status;
    int responded;          /* a response is queued: discard any body */
    int too_large;
    int over_budget;        /* the body budget could not hold the body */
    size_t reserved;        /* bytes of the body budget held */
    size_t limit;
    size_t declared;        /* Content-Length, 0 when absent (chunked) */
    uint8_t *body;
    size_t length;
    size_t capacity;
    struct router_params params;
    char method[16];        /* for the access log (cut) */
    char request_id[17];    /* random, hex; X-Request-Id of the answer */
    char client_id[HTTP_CLIENT_ID_MAX];
};

static uint64_t
microseconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t us = (int64_t)(now.tv_sec - start->tv_sec) * 1000000 +
                 (now.tv_nsec - start->tv_nsec) / 1000;
    return us < 0 ? 0 : (uint64_t)us;
}

/* 1 when the client has closed its side (FIN) with nothing unread after
 * it. libmicrohttpd (0.9.75 and 1.0.1 alike) misses a FIN that arrives
 * together with a request's last bytes (its edge-triggered epoll read stops
 * before the end of the stream) and then holds the connection until the
 * idle timeout; the server looks for itself where that matters. */
static int
client_closed(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == NULL)
        return 0;
    char byte;
    return recv(info->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static enum MHD_Result
queue(struct MHD_Connection *connection, struct request_state *state,
      struct http_response *response)
{
    enum MHD_Result result = MHD_NO;
    /* Bodies carry tokens and claim values: wiped when MHD is done. */
    struct MHD_Response *reply =
        response->body ? MHD_create_response_from_buffer_with_free_callback(
                             response->body_length, response->body, wipe_free)
                       : MHD_create_response_from_buffer(0, (char *)"",
                                                         MHD_RESPMEM_PERSISTENT);
    if (reply == NULL) {
        free(response->body);
        goto cleanup;
    }
    response->body = NULL; /* MHD owns it now */
    if (response->content_type != NULL)
        MHD_add_response_header(reply, MHD_HTTP_HEADER_CONTENT_TYPE,
                                response->content_type);
    MHD_add_response_header(reply, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(reply, "X-Request-Id", state->request_id);
    memcpy(state->client_id, response->client_id, sizeof state->client_id);
    state->client_id[sizeof state->client_id - 1] = '\0';
    int has_cache_control = 0, has_connection = 0;
    for (size_t i = 0; i < response->header_count; i++) {
        MHD_add_response_header(reply, response->headers[i].name,
                                response->headers[i].value);
        if (strcasecmp(response->headers[i].name, "Cache-Control") == 0)
            has_cache_control = 1;
        if (strcasecmp(response->headers[i].name, MHD_HTTP_HEADER_CONNECTION) == 0)
            has_connection = 1;
    }
    /* Responses carry personal data or tokens more often than not. */
    if (!has_cache_control)
        MHD_add_response_header(reply, "Cache-Control", "no-store");
    /* A client that has sent its FIN sends no further request: close after
     * this answer rather than hold the connection to the idle timeout. */
    if (!has_connection && client_closed(connection))
        MHD_add_response_header(reply, MHD_HTTP_HEADER_CONNECTION, "close");
    state->status = response->status;
    state->responded = 1;
    result = MHD_queue_response(connection, response->status, reply);
    MHD_destroy_response(reply);
cleanup:
    for (size_t i = 0; i < response->header_count; i++)
        free(response->headers[i].value);
    response->header_count = 0;
    return result;
}

static enum MHD_Result
queue_error(struct MHD_Connection *connection, struct request_state *state,
            unsigned status, const char *code, const char *description)
{
    struct http_response response = {0};
    if (http_respond_error(&response, status, code, description) != 0)
        return MHD_NO;
    return queue(connection, state, &response);
}

/* The same, then the connection is closed: after a request whose framing
 * cannot be trusted, nothing else on the connection can be either. */
static enum MHD_Result
queue_error_and_close(struct MHD_Connection *connection, struct request_state *state,
                      unsigned status, const char *code, const char *description)
{
    struct http_response response = {0};
    if (http_respond_error(&response, status, code, description) != 0 ||
        http_response_add_header(&response, MHD_HTTP_HEADER_CONNECTION, "close") != 0) {
        free(response.body);
        for (size_t i = 0; i < response.header_count; i++)
            free(response.headers[i].value);
        return MHD_NO;
    }
    return queue(connection, state, &response);
}

/* libmicrohttpd's unescaping of paths and query values, except that %00
 * stays as it is: a decoded NUL would end the C string there, and
 * /healthz%00.json would be routed as /healthz. Returns the new length. */
static size_t
unescape(void *cls, struct MHD_Connection *connection, char *text)
{
    (void)cls;
    (void)connection;
    char *out = text;
    for (const char *in = text; *in != '\0'; in++) {
        int high, low;
        if (in[0] == '%' && (high = hex_digit_value(in[1])) >= 0 &&
            (low = hex_digit_value(in[2])) >= 0 && (high | low) != 0) {
            *out++ = (char)(high << 4 | low);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return (size_t)(out - text);
}

/* 1 if the Content-Type header names `expected` (parameters allowed). */
static int
content_type_is(struct MHD_Connection *connection, const char *expected)
{
    const char *value = MHD_lookup_connection_value(
        connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (value == NULL)
        return 0;
    size_t length = strlen(expected);
    if (strncasecmp(value, expected, length) != 0)
        return 0;
    return value[length] == '\0' || value[length] == ';' || value[length] == ' ';
}

/* 503 for a request the body budget cannot hold now: the connection is
 * closed (its body is not read), and the client told when to come back. */
#define BUSY_RETRY_AFTER "2"
static enum MHD_Result
queue_busy(struct MHD_Connection *connection, struct request_state *state)
{
    struct http_response response = {0};
    counter_add(COUNTER_RATE_LIMITED, "body_budget");
    if (http_respond_error(&response, 503, "temporarily_unavailable",
                           "the service is busy with other requests' bodies; try again "
                           "shortly") != 0 ||
        http_response_add_header(&response, "Retry-After", BUSY_RETRY_AFTER) != 0 ||
        http_response_add_header(&response, MHD_HTTP_HEADER_CONNECTION, "close") != 0) {
        free(response.body);
        for (size_t i = 0; i < response.header_count; i++)
            free(response.headers[i].value);
        return MHD_NO;
    }
    return queue(connection, state, &response);
}

/* Counts the Content-Length fields of a request, and how many differ from
 * the first. */
struct content_lengths {
    unsigned count, differing;
    const char *first;
};

static enum MHD_Result
count_content_length(void *cls, enum MHD_ValueKind kind, const char *key,
                     const char *value)
{
    (void)kind;
    struct content_lengths *seen = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0 || value == NULL)
        return MHD_YES;
    if (seen->count++ == 0)
        seen->first = value;
    else if (strcmp(value, seen->first) != 0)
        seen->differing++;
    return MHD_YES;
}

/* First call for a request: route it and check what can be checked from
 * the headers alone, answering at once when the request is refused. */
static enum MHD_Result
begin_request(struct http_server *server, struct MHD_Connection *connection,
              struct request_state *state, const char *method, const char *url)
{
    /* An HTTP/1.1 request without Host (RFC 9112 §3.2) and a
     * Transfer-Encoding other than chunked (§6.3) never get here:
     * libmicrohttpd 1.0.1 answers them 400 itself and closes.
     * RFC 9112 §6.3: Content-Length fields that disagree leave the body's
     * length unknown (a request smuggled behind a front that read the
     * other one); libmicrohttpd reads the first. */
    struct content_lengths lengths = {0};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, count_content_length, &lengths);
    if (lengths.differing > 0)
        return queue_error_and_close(connection, state, 400, "invalid_request",
                                     "the Content-Length fields disagree");
    size_t index = 0;
    switch (router_match(server->routes, server->route_count, method, url,
                         &index, &state->params)) {
    case ROUTER_NOT_FOUND:
        return queue_error(connection, state, 404, "not_found",
                           "no such endpoint");
    case ROUTER_WRONG_METHOD:
        return queue_error(connection, state, 405, "method_not_allowed",
                           "this endpoint does not accept this method");
    case ROUTER_FOUND:
        break;
    }
    state->route = index;
    const struct http_route *route = &server->routes[index];
    state->limit = route->body == HTTP_BODY_NONE ? 0
                   : route->body_limit ? route->body_limit
                                       : HTTP_DEFAULT_BODY_LIMIT;
    if (route->body == HTTP_BODY_JSON && !content_type_is(connection, "application/json"))
        return queue_error(connection, state, 415, "unsupported_media_type",
                           "the body must be application/json");
    if (route->body == HTTP_BODY_FORM &&
        !content_type_is(connection, "application/x-www-form-urlencoded"))
        return queue_error(connection, state, 415, "unsupported_media_type",
                           "the body must be application/x-www-form-urlencoded");
    const char *declared = MHD_lookup_connection_value(
        connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long length = 0;
    if (declared != NULL &&
        (parse_integer(declared, 0, (long long)1 << 62, &length) != 0 ||
         (unsigned long long)length > state->limit))
        return queue_error(connection, state, 413, "request_too_large",
                           "the request body exceeds this endpoint's limit");
    /* The declared body is held in memory whole: it must fit in what all
     * requests may hold at once, or the request waits for another day. */
    if (length > 0) {
        if (admission_reserve(server->admission, (size_t)length + 1) != 0)
            return queue_busy(connection, state);
        state->reserved = (size_t)length + 1;
        state->declared = (size_t)length;
    }
    return MHD_YES;
}

/* Appends an upload chunk, never growing past the route's limit nor the
 * server's body budget (a chunked body reserves as it grows). */
static void
append_body(struct http_server *server, struct request_state *state, const char *data,
            size_t size)
{
    if (state->too_large || state->over_budget)
        return;
    if (size > state->limit - state->length) {
        state->too_large = 1;
        return;
    }
    if (state->length + size + 1 > state->capacity) {
        /* A declared body was reserved whole: take it in one allocation
         * (no copies on the way up); a chunked one grows by doubling. */
        size_t capacity = state->capacity ? state->capacity
                          : state->reserved > 0 ? state->reserved
                                                : 4096;
        while (capacity < state->length + size + 1)
            capacity *= 2;
        if (capacity > state->limit + 1)
            capacity = state->limit + 1;
        if (capacity > state->reserved) {
            if (admission_reserve(server->admission, capacity - state->reserved) != 0) {
                state->over_budget = 1;
                return;
            }
            state->reserved = capacity;
        }
        /* Not realloc(): it would free the old copy of the body (ID
         * numbers, names, photos) without wiping it. */
        uint8_t *grown = malloc(capacity);
        if (grown == NULL) {
            state->too_large = 1;
            return;
        }
        if (state->body != NULL) {
            memcpy(grown, state->body, state->length);
            secret_wipe(state->body, state->capacity);
            free(state->body);
        }
        state->body = grown;
        state->capacity = capacity;
    }
    memcpy(state->body + state->length, data, size);
    state->length += size;
    state->body[state->length] = '\0';
}

/* The numeric text of a socket address, or "". */
static void
address_text(const struct sockaddr *address, char *out, size_t cap)
{
    out[0] = '\0';
    if (address == NULL)
        return;
    socklen_t length = address->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                      : sizeof(struct sockaddr_in);
    if (getnameinfo(address, length, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0)
        out[0] = '\0';
}

/* Nonzero when the connection comes from a trusted proxy. */
static int
from_trusted_proxy(const struct http_server *server, const struct sockaddr *address)
{
    if (server->trusted_count == 0)
        return 0;
    char text[64];
    address_text(address, text, sizeof text);
    return netaddr_cidr_contains(server->trusted, server->trusted_count, text);
}

struct forwarded {
    char list[FORWARDED_MAX];
    size_t length;
    int present, overflow;
};

/* Joins every X-Forwarded-For header in order (RFC 9110 §5.3: several
 * lines of a list header are one list). */
static enum MHD_Result
collect_forwarded(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct forwarded *forwarded = cls;
    if (key == NULL || strcasecmp(key, "X-Forwarded-For") != 0 || value == NULL)
        return MHD_YES;
    size_t length = strlen(value), separator = forwarded->present ? 1 : 0;
    if (forwarded->length + separator + length >= sizeof forwarded->list) {
        forwarded->overflow = 1;
        return MHD_NO;
    }
    if (separator)
        forwarded->list[forwarded->length++] = ',';
    memcpy(forwarded->list + forwarded->length, value, length);
    forwarded->length += length;
    forwarded->list[forwarded->length] = '\0';
    forwarded->present = 1;
    return MHD_YES;
}

/* The client's address: the peer's, or behind trusted proxies the one
 * X-Forwarded-For gives (see http_server_options). 0, or -1 when a
 * trusted hop forwarded a list that is not addresses. */
static int
client_address(const struct http_server *server, struct MHD_Connection *connection,
               char *out, size_t cap)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    address_text(info != NULL ? info->client_addr : NULL, out, cap);
    if (server->trusted_count == 0 ||
        !netaddr_cidr_contains(server->trusted, server->trusted_count, out))
        return 0;
    struct forwarded forwarded = {.length = 0};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_forwarded, &forwarded);
    char peer[64];
    if (forwarded.overflow || string_copy(peer, sizeof peer, out) != 0)
        return -1;
    return netaddr_forwarded_client(peer, forwarded.present ? forwarded.list : NULL,
                                    server->trusted, server->trusted_count, out, cap);
}

/* 1 when the body is still incomplete and the client has closed its side:
 * it never completes. */
static int
body_cut_off(struct MHD_Connection *connection, const struct request_state *state)
{
    /* Only a declared length says the body is incomplete: a client may
     * send a whole body and then its FIN, and that request is answered. */
    if (state->declared <= state->length || state->too_large)
        return 0;
    return client_closed(connection);
}

/* Final call: the whole body is here; run the handler. */
static enum MHD_Result
dispatch(struct http_server *server, struct MHD_Connection *connection,
         struct request_state *state, const char *method, const char *url)
{
    const struct http_route *route = &server->routes[state->route];
    if (state->too_large)
        return queue_error(connection, state, 413, "request_too_large",
                           "the request body exceeds this endpoint's limit");
    if (state->over_budget)
        return queue_busy(connection, state);

    char address[64];
    if (client_address(server, connection, address, sizeof address) != 0)
        return queue_error(connection, state, 400, "invalid_request",
                           "X-Forwarded-For, as a trusted proxy passed it, is not a list "
                           "of addresses");
    struct http_request request = {
        .method = method,
        .path = url,
        .body = state->body ? state->body : (const uint8_t *)"",
        .body_length = state->length,
        .client_address = address,
        .connection = connection,
        .server = server,
    };
    for (size_t i = 0; i < state->params.count; i++)
        request.params[i] = state->params.values[i];

    if (route->body == HTTP_BODY_JSON) {
        json_error_t error;
        request.json = json_loadb((const char *)request.body, request.body_length,
                                  JSON_REJECT_DUPLICATES, &error);
        if (request.json == NULL || !json_is_object(request.json)) {
            json_decref(request.json);
            return queue_error(connection, state, 400, "invalid_request",
                               "the body must be a JSON object");
        }
    }

    struct http_response response = {.status = 200};
    int rc = route->handler(server->app, &request, &response);
    json_decref(request.json);
    if (rc != 0 || response.status < 100 || response.status > 599) {
        free(response.body);
        for (size_t i = 0; i < response.header_count; i++)
            free(response.headers[i].value);
        unsigned retry_after = 0;
        if (rc != 0 && server->unavailable != NULL &&
            server->unavailable(server->app, &retry_after)) {
            /* A dependency was out of reach, not a fault of the request or
             * of the code: say so, and when to come back. */
            log_event(LOG_WARN, "handler_unavailable", "{s:s}", "route", route->pattern);
            struct http_response busy = {0};
            char seconds[16];
            if (string_format(seconds, sizeof seconds, "%u", retry_after) != 0 ||
                http_respond_error(&busy, 503, "temporarily_unavailable",
                                   "the service is temporarily unavailable; try again "
                                   "shortly") != 0 ||
                http_response_add_header(&busy, "Retry-After", seconds) != 0) {
                free(busy.body);
                for (size_t i = 0; i < busy.header_count; i++)
                    free(busy.headers[i].value);
                return MHD_NO;
            }
            return queue(connection, state, &busy);
        }
        log_event(LOG_ERROR, "handler_failed", "{s:s}", "route", route->pattern);
        return queue_error(connection, state, 500, "server_error",
                           "the service could not complete the request");
    }
    return queue(connection, state, &response);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *connection, const char *url,
               const char *method, const char *version,
               const char *upload_data, size_t *upload_data_size,
               void **con_cls)
{
    (void)version; /* HTTP/1.1 without Host is libmicrohttpd's to refuse */
    struct http_server *server = cls;
    struct request_state *state = *con_cls;
    if (state == NULL) {
        state = calloc(1, sizeof *state);
        if (state == NULL)
            return MHD_NO;
        atomic_fetch_add(&server->in_flight, 1);
        clock_gettime(CLOCK_MONOTONIC, &state->started);
        state->route = server->route_count;
        snprintf(state->method, sizeof state->method, "%s", method);
        uint8_t id[8];
        if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id ||
            hex_encode(id, sizeof id, state->request_id, sizeof state->request_id) != 0)
            snprintf(state->request_id, sizeof state->request_id, "%s", "unknown");
        *con_cls = state;
        return begin_request(server, connection, state, method, url);
    }
    if (state->responded) {
        *upload_data_size = 0; /* refused early: drop the body */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        append_body(server, state, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (body_cut_off(connection, state))
            return queue_error_and_close(connection, state, 400, "invalid_request",
                                         "the connection was closed before the whole "
                                         "request body arrived");
        return MHD_YES;
    }
    return dispatch(server, connection, state, method, url);
}

static void
request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                  enum MHD_RequestTerminationCode code)
{
    (void)connection;
    struct http_server *server = cls;
    struct request_state *state = *con_cls;
    if (state == NULL)
        return;
    uint64_t us = microseconds_since(&state->started);
    unsigned status = state->status ? state->status : 499;
    metrics_record(&server->metrics, state->route, status, us);
    const char *route = state->route < server->route_count
                            ? server->routes[state->route].pattern
                            : "unmatched";
    /* The platform only on a 4xx: what its integrator asks about. */
    const char *client_id = status >= 400 && status < 500 && state->client_id[0] != '\0'
                                ? state->client_id
                                : NULL;
    log_event(status >= 500 ? LOG_WARN : LOG_INFO, "request",
              "{s:s, s:s, s:s, s:i, s:I, s:b, s:s*}", "request_id", state->request_id,
              "method", state->method, "route", route, "status", (int)status,
              "duration_us", (json_int_t)us, "completed",
              code == MHD_REQUEST_TERMINATED_COMPLETED_OK, "client_id", client_id);
    if (state->body != NULL)
        secret_wipe(state->body, state->capacity);
    free(state->body);
    if (state->reserved > 0)
        admission_release(server->admission, state->reserved);
    free(state);
    *con_cls = NULL;
    atomic_fetch_sub(&server->in_flight, 1);
}

/* libmicrohttpd's accept policy: refuse a connection past the address's
 * share (the socket is closed without an answer). The slot is taken here,
 * not when the connection's STARTED notice comes: the pool's threads
 * accept at once, and a check here with a count there let a third
 * connection of an address through before the second was counted. The
 * slot is given back by the CLOSED notice; if libmicrohttpd drops a
 * connection between the two without one (an allocation failure), the
 * slot stays taken: a refusal too many, never one too few. */
static enum MHD_Result
accept_policy(void *cls, const struct sockaddr *address, socklen_t length)
{
    (void)length;
    struct http_server *server = cls;
    if (from_trusted_proxy(server, address))
        return MHD_YES;
    if (admission_connect(server->admission, address))
        return MHD_YES;
    counter_add(COUNTER_RATE_LIMITED, "connections_per_address");
    return MHD_NO;
}

/* Gives back the slot accept_policy() took when a connection closes. */
static void
connection_notice(void *cls, struct MHD_Connection *connection, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
    (void)socket_context;
    struct http_server *server = cls;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL ||
        from_trusted_proxy(server, info->client_addr))
        return;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        admission_disconnected(server->admission, info->client_addr);
}

static int
parse_listen(const char *listen, struct sockaddr_storage *address,
             socklen_t *length, char *err, size_t errlen)
{
    char host[256];
    const char *port;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':' ||
            (size_t)(close - listen - 1) >= sizeof host)
            return error_set(err, errlen, "listen address %s: expected [v6]:port", listen);
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
            return error_set(err, errlen, "listen address %s: expected host:port", listen);
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        port = colon + 1;
    }
    long long port_number = 0;
    if (parse_integer(port, 0, 65535, &port_number) != 0)
        return error_set(err, errlen, "listen address %s: bad port", listen);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    if (getaddrinfo(host, port, &hints, &found) != 0 || found == NULL)
        return error_set(err, errlen, "listen address %s: cannot resolve %s",
                         listen, host);
    memcpy(address, found->ai_addr, found->ai_addrlen);
    *length = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
}

int
http_server_start(const struct http_server_options *options,
                  const struct http_route *routes, size_t route_count,
                  void *app, struct http_server **out, char *err, size_t errlen)
{
    if (route_count > METRICS_ROUTES_MAX)
        return error_set(err, errlen, "too many routes");
    struct sockaddr_storage address;
    socklen_t address_length = 0;
    if (parse_listen(options->listen, &address, &address_length, err, errlen) != 0)
        return -1;
    struct http_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        return error_set(err, errlen, "out of memory");
    server->routes = routes;
    server->route_count = route_count;
    server->app = app;
    server->unavailable = options->unavailable;
    if (options->trusted_proxy_count > HTTP_TRUSTED_PROXIES_MAX) {
        free(server);
        return error_set(err, errlen, "at most %d trusted proxy networks",
                         HTTP_TRUSTED_PROXIES_MAX);
    }
    if (options->trusted_proxy_count > 0)
        memcpy(server->trusted, options->trusted_proxies,
               options->trusted_proxy_count * sizeof *server->trusted);
    server->trusted_count = options->trusted_proxy_count;
    server->admission = admission_new(
        options->connections_per_address ? options->connections_per_address
                                         : HTTP_DEFAULT_CONNECTIONS_PER_ADDRESS,
        options->body_budget ? options->body_budget : HTTP_DEFAULT_BODY_BUDGET);
    if (server->admission == NULL) {
        free(server);
        return error_set(err, errlen, "out of memory");
    }
    const char *labels[METRICS_ROUTES_MAX];
    for (size_t i = 0; i < route_count; i++) {
        if (string_format(server->labels[i], ROUTE_LABEL_MAX, "%s %s",
                          routes[i].method, routes[i].pattern) != 0) {
            admission_free(server->admission);
            free(server);
            return error_set(err, errlen, "route pattern too long");
        }
        labels[i] = server->labels[i];
    }
    metrics_init(&server->metrics, labels, route_count);

    /* ITC: so that http_server_stop() can quiesce the daemon. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    if (address.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    server->daemon = MHD_start_daemon(
        flags, 0, accept_policy, server, access_handler, server,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(options->threads ? options->threads : 1),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_POOL_BYTES,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_SECONDS,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, server,
        MHD_OPTION_NOTIFY_CONNECTION, connection_notice, server,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_END);
    if (server->daemon == NULL) {
        admission_free(server->admission);
        free(server);
        return error_set(err, errlen, "cannot listen on %s (address in use or "
                         "not permitted)", options->listen);
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : 0;
    *out = server;
    return 0;
}

uint16_t
http_server_port(const struct http_server *server)
{
    return server->port;
}

void
http_server_stop(struct http_server *server)
{
    if (server == NULL)
        return;
    /* Stop accepting, then give the requests in flight (a handler still
     * running, an answer still being written) up to STOP_DRAIN_MS to
     * complete: MHD_stop_daemon() closes every connection as it stands. */
    MHD_socket listening = MHD_quiesce_daemon(server->daemon);
    for (int waited = 0; waited < STOP_DRAIN_MS && atomic_load(&server->in_flight) > 0;
         waited += 10) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    MHD_stop_daemon(server->daemon);
    if (listening != MHD_INVALID_SOCKET)
        close(listening); /* quiesced: the daemon leaves it to us */
    admission_free(server->admission);
    free(server);
}

char *
http_server_metrics(const struct http_server *server)
{
    return metrics_render(&server->metrics);
}

const char *
http_request_header(const struct http_request *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, name);
}

const char *
http_request_query(const struct http_request *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection,
                                       MHD_GET_ARGUMENT_KIND, name);
}

struct query_count {
    const char *name;
    size_t count;
};

static enum MHD_Result
count_query_name(void *context, enum MHD_ValueKind kind, const char *key,
                 const char *value)
{
    (void)kind;
    (void)value;
    struct query_count *query = context;
    if (key != NULL && strcmp(key, query->name) == 0)
        query->count++;
    return MHD_YES;
}

static enum MHD_Result
count_header_name(void *context, enum MHD_ValueKind kind, const char *key,
                  const char *value)
{
    (void)kind;
    (void)value;
    struct query_count *query = context;
    if (key != NULL && strcasecmp(key, query->name) == 0)
        query->count++;
    return MHD_YES;
}

size_t
http_request_header_count(const struct http_request *request, const char *name)
{
    struct query_count query = {name, 0};
    (void)MHD_get_connection_values(request->connection, MHD_HEADER_KIND,
                                    count_header_name, &query);
    return query.count;
}

size_t
http_request_query_count(const struct http_request *request, const char *name)
{
    struct query_count query = {name, 0};
    (void)MHD_get_connection_values(request->connection, MHD_GET_ARGUMENT_KIND,
                                    count_query_name, &query);
    return query.count;
}
