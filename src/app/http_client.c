/* http_client: libcurl requests; see http_client.h. */
#include "app/http_client.h"

#include "util/strings.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_CLIENT_RETRY_AFTER_NAME "retry-after:"

struct body_sink {
    char *data;
    size_t length;
    int too_large;
};

static size_t
on_body(char *chunk, size_t size, size_t count, void *user)
{
    struct body_sink *sink = user;
    size_t bytes = size * count;

    if (bytes > HTTP_CLIENT_MAX_RESPONSE - sink->length) {
        sink->too_large = 1;
        return 0; /* aborts the transfer */
    }
    char *grown = realloc(sink->data, sink->length + bytes + 1);
    if (grown == NULL)
        return 0;
    sink->data = grown;
    memcpy(sink->data + sink->length, chunk, bytes);
    sink->length += bytes;
    sink->data[sink->length] = '\0';
    return bytes;
}

/* Keeps the Retry-After header's value (digits only). */
static size_t
on_header(char *line, size_t size, size_t count, void *user)
{
    struct http_response *response = user;
    size_t bytes = size * count, name = strlen(HTTP_CLIENT_RETRY_AFTER_NAME);

    if (bytes > name && strncasecmp(line, HTTP_CLIENT_RETRY_AFTER_NAME, name) == 0) {
        size_t i = name, o = 0;
        while (i < bytes && line[i] == ' ')
            i++;
        while (i < bytes && isdigit((unsigned char)line[i]) &&
               o + 1 < sizeof(response->retry_after))
            response->retry_after[o++] = line[i++];
        response->retry_after[o] = '\0';
    }
    return bytes;
}

int
http_client_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
http_client_cleanup(void)
{
    curl_global_cleanup();
}

int
http_client_request(const char *method, const char *url,
                    const char *authorization, const char *json_body,
                    struct http_response *response, char *err, size_t errlen)
{
    int status = -1;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL, *added;
    struct body_sink sink = {0};
    char header[HTTP_CLIENT_HEADER_MAX];
    char curl_error[CURL_ERROR_SIZE] = "";
    CURLcode code;

    memset(response, 0, sizeof(*response));
    if (curl == NULL)
        return error_set(err, errlen, "cannot start an HTTP request");
    if (authorization != NULL) {
        if (string_format(header, sizeof(header), "Authorization: %s",
                          authorization) != 0) {
            error_set(err, errlen, "authorization header too long");
            goto cleanup;
        }
        if ((added = curl_slist_append(headers, header)) == NULL)
            goto out_of_memory;
        headers = added;
    }
    if (json_body != NULL) {
        if ((added = curl_slist_append(headers, "Content-Type: application/json")) == NULL)
            goto out_of_memory;
        headers = added;
    }
    /* No "Expect: 100-continue" round trip for large bodies. */
    if ((added = curl_slist_append(headers, "Expect:")) == NULL)
        goto out_of_memory;
    headers = added;
    if ((added = curl_slist_append(headers, "Accept: application/json")) == NULL)
        goto out_of_memory;
    headers = added;

    code = curl_easy_setopt(curl, CURLOPT_URL, url);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    /* A service whose TLS certificate comes from a CA of its own (a test
     * or a closed network): trust that CA's PEM instead of the system's. */
    const char *ca_file = getenv(HTTP_CLIENT_CA_FILE_ENV);
    if (code == CURLE_OK && ca_file != NULL && ca_file[0] != '\0')
        code = curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (code == CURLE_OK && json_body != NULL) {
        code = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body);
        if (code == CURLE_OK)
            code = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                    (curl_off_t)strlen(json_body));
    }
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, HTTP_CLIENT_CONNECT_TIMEOUT_S);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_TIMEOUT, HTTP_CLIENT_TOTAL_TIMEOUT_S);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_HEADERDATA, response);
    if (code == CURLE_OK)
        code = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    if (code != CURLE_OK) {
        error_set(err, errlen, "cannot set up the HTTP request: %s",
                  curl_easy_strerror(code));
        goto cleanup;
    }
    code = curl_easy_perform(curl);
    if (sink.too_large) {
        error_set(err, errlen, "the service's answer is larger than %d bytes",
                  HTTP_CLIENT_MAX_RESPONSE);
        goto cleanup;
    }
    if (code != CURLE_OK) {
        error_set(err, errlen, "cannot reach the service: %s",
                  curl_error[0] ? curl_error : curl_easy_strerror(code));
        goto cleanup;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    if (sink.data == NULL && (sink.data = calloc(1, 1)) == NULL)
        goto out_of_memory;
    response->body = sink.data;
    response->length = sink.length;
    sink.data = NULL;
    status = 0;
    goto cleanup;
out_of_memory:
    error_set(err, errlen, "out of memory");
cleanup:
    free(sink.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

void
http_response_free(struct http_response *response)
{
    free(response->body);
    memset(response, 0, sizeof(*response));
}
