/* metrics: request counters by route and status, and a latency histogram
 * per route, kept in fixed arrays of atomics so that recording a request
 * takes no lock. Private to the http module. */
#ifndef CYBERID_HTTP_METRICS_H
#define CYBERID_HTTP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_ROUTES_MAX 64
#define METRICS_STATUS_SLOTS 20
#define METRICS_BUCKETS 12

struct metrics_route {
    atomic_uint_fast64_t by_status[METRICS_STATUS_SLOTS];
    atomic_uint_fast64_t buckets[METRICS_BUCKETS]; /* non-cumulative */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_microseconds;
};

struct metrics {
    size_t route_count;                 /* slot route_count is "unmatched" */
    const char *labels[METRICS_ROUTES_MAX + 1];
    struct metrics_route routes[METRICS_ROUTES_MAX + 1];
};

/* labels: "GET /healthz"-style names of the routes, borrowed. 0 or -1 when
 * there are more than METRICS_ROUTES_MAX routes. */
int metrics_init(struct metrics *metrics, const char *const *labels,
                 size_t route_count);

/* route: index of the route, or route_count for an unmatched request. */
void metrics_record(struct metrics *metrics, size_t route, unsigned status,
                    uint64_t microseconds);

/* The Prometheus text exposition (version 0.0.4), malloc'd. */
char *metrics_render(const struct metrics *metrics);

#endif
