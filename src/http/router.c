/* router: segment-by-segment matching of paths against patterns. */
#include "http/router.h"

#include <string.h>

/* Matches one pattern; 1 on a match (params filled), else 0. A {name}
 * segment matches one non-empty path segment of at most
 * ROUTER_SEGMENT_MAX-1 bytes; a {name...} that ends the pattern matches the
 * non-empty rest of the path, slashes included (an OCSP request in
 * base64, say, whose '/' libmicrohttpd has already unescaped). */
static int
match_pattern(const char *pattern, const char *path,
              struct router_params *params)
{
    params->count = 0;
    while (*pattern != '\0' && *path != '\0') {
        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            if (close == NULL || params->count >= HTTP_PATH_PARAMS_MAX)
                return 0;
            int rest = close - pattern >= 4 && strncmp(close - 3, "...", 3) == 0 &&
                       close[1] == '\0';
            size_t length = rest ? strlen(path) : strcspn(path, "/");
            if (length == 0 || length >= ROUTER_SEGMENT_MAX)
                return 0;
            memcpy(params->values[params->count], path, length);
            params->values[params->count][length] = '\0';
            params->count++;
            pattern = close + 1;
            path += length;
        } else if (*pattern == *path) {
            pattern++;
            path++;
        } else {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

enum router_result
router_match(const struct http_route *routes, size_t count, const char *method,
             const char *path, size_t *index, struct router_params *params)
{
    enum router_result result = ROUTER_NOT_FOUND;
    for (size_t i = 0; i < count; i++) {
        if (!match_pattern(routes[i].pattern, path, params))
            continue;
        if (strcmp(routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            *index = i;
            return ROUTER_FOUND;
        }
        result = ROUTER_WRONG_METHOD;
    }
    return result;
}
