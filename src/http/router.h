/* router: matches a method and path against route patterns with {name}
 * segments. Private to the http module. */
#ifndef CYBERID_HTTP_ROUTER_H
#define CYBERID_HTTP_ROUTER_H

#include "http/http.h"

#include <stddef.h>

#define ROUTER_SEGMENT_MAX 256 /* longest path segment captured */

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_WRONG_METHOD };

struct router_params {
    char values[HTTP_PATH_PARAMS_MAX][ROUTER_SEGMENT_MAX];
    size_t count;
};

/* Finds the route for method+path. On ROUTER_FOUND sets *index and fills
 * params. ROUTER_WRONG_METHOD: the path exists under another method. */
enum router_result router_match(const struct http_route *routes, size_t count,
                                const char *method, const char *path,
                                size_t *index, struct router_params *params);

#endif
