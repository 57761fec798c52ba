/* response: helpers that fill a struct http_response; see http.h. */
#include "http/http.h"

#include "util/strings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
http_respond_limited(struct http_response *response, int64_t seconds,
                     const char *description)
{
    char value[24];
    snprintf(value, sizeof value, "%lld", (long long)(seconds > 0 ? seconds : 1));
    if (http_response_add_header(response, "Retry-After", value) != 0)
        return -1;
    char text[256];
    snprintf(text, sizeof text, "%s: try again in %s seconds", description, value);
    return http_respond_error(response, 429, "too_many_requests", text);
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

void
http_response_set_client_id(struct http_response *response, const char *client_id)
{
    snprintf(response->client_id, sizeof response->client_id, "%s",
             client_id != NULL ? client_id : "");
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

int
http_date(int64_t seconds, char *out, size_t cap)
{
    /* Names spelled out: strftime's %a and %b follow the locale. */
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)seconds;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
        tm.tm_mon > 11)
        return -1;
    return string_format(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                         tm.tm_min, tm.tm_sec);
}
