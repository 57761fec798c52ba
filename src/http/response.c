/* response: helpers that fill a struct http_response; see http.h. */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

static void
replace_body(struct http_response *response, char *body, size_t length)
{
    free(response->body);
    response->body = body;
    response->body_length = length;
}

int
http_respond_json(struct http_response *response, unsigned status, json_t *body)
{
    if (body == NULL)
        return -1;
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text == NULL)
        return -1;
    replace_body(response, text, strlen(text));
    response->status = status;
    response->content_type = "application/json";
    return 0;
}

int
http_respond_error(struct http_response *response, unsigned status,
                   const char *code, const char *description)
{
    return http_respond_json(response, status,
                             json_pack("{s:s, s:s}", "error", code,
                                       "error_description", description));
}

int
http_respond_bytes(struct http_response *response, unsigned status,
                   const char *content_type, const void *body, size_t length)
{
    char *copy = malloc(length + 1);
    if (copy == NULL)
        return -1;
    if (length > 0)
        memcpy(copy, body, length);
    copy[length] = '\0';
    replace_body(response, copy, length);
    response->status = status;
    response->content_type = content_type;
    return 0;
}

int
http_response_add_header(struct http_response *response, const char *name,
                         const char *value)
{
    if (response->header_count >= HTTP_RESPONSE_HEADERS_MAX)
        return -1;
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    response->headers[response->header_count].name = name;
    response->headers[response->header_count].value = copy;
    response->header_count++;
    return 0;
}
