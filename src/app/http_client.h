/* http_client: one HTTP request to the service with libcurl: JSON body
 * out, body back capped at HTTP_CLIENT_MAX_RESPONSE, bounded connect and
 * total time, no redirects, http and https only. */
#ifndef CYBERID_APP_HTTP_CLIENT_H
#define CYBERID_APP_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_CLIENT_CONNECT_TIMEOUT_S 10L
#define HTTP_CLIENT_TOTAL_TIMEOUT_S 60L
#define HTTP_CLIENT_MAX_RESPONSE (1024 * 1024)
/* Longest URL or Authorization header built. */
#define HTTP_CLIENT_URL_MAX 4096
#define HTTP_CLIENT_HEADER_MAX 16384
#define HTTP_CLIENT_RETRY_AFTER_MAX 32
/* Names a PEM file of CAs trusted for https instead of the system's. */
#define HTTP_CLIENT_CA_FILE_ENV "CYBERID_CA_FILE"

struct http_response {
    long status;                                  /* HTTP status code */
    char *body;                                   /* NUL-terminated, malloc'd */
    size_t length;                                /* bytes in body */
    char retry_after[HTTP_CLIENT_RETRY_AFTER_MAX]; /* Retry-After, or "" */
};

/* Initialises libcurl once per process; 0 or -1. */
int http_client_init(void) __attribute__((warn_unused_result));
void http_client_cleanup(void);

/* Sends `method` to url with an optional JSON body (NULL: none) and an
 * optional `Authorization` value (NULL: none). On success (any HTTP status)
 * *response holds the answer; the caller releases it with
 * http_response_free. -1 with err when no answer arrived (connection,
 * timeout, an answer over HTTP_CLIENT_MAX_RESPONSE). */
int http_client_request(const char *method, const char *url,
                        const char *authorization, const char *json_body,
                        struct http_response *response, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

void http_response_free(struct http_response *response);

#endif
