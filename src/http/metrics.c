/* metrics: lock-free counters and their Prometheus rendering. */
#include "http/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned tracked_statuses[METRICS_STATUS_SLOTS - 1] = {
    200, 201, 204, 302, 303, 304, 400, 401, 403, 404,
    405, 409, 413, 415, 422, 429, 431, 500, 503};

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const uint64_t bucket_bounds[METRICS_BUCKETS - 1] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

int
metrics_init(struct metrics *metrics, const char *const *labels,
             size_t route_count)
{
    if (route_count > METRICS_ROUTES_MAX)
        return -1;
    memset(metrics, 0, sizeof *metrics);
    metrics->route_count = route_count;
    for (size_t i = 0; i < route_count; i++)
        metrics->labels[i] = labels[i];
    metrics->labels[route_count] = "unmatched";
    return 0;
}

static size_t
status_slot(unsigned status)
{
    for (size_t i = 0; i < METRICS_STATUS_SLOTS - 1; i++)
        if (tracked_statuses[i] == status)
            return i;
    return METRICS_STATUS_SLOTS - 1;
}

void
metrics_record(struct metrics *metrics, size_t route, unsigned status,
               uint64_t microseconds)
{
    if (route > metrics->route_count)
        route = metrics->route_count;
    struct metrics_route *slot = &metrics->routes[route];
    atomic_fetch_add_explicit(&slot->by_status[status_slot(status)], 1,
                              memory_order_relaxed);
    size_t bucket = 0;
    while (bucket < METRICS_BUCKETS - 1 && microseconds > bucket_bounds[bucket])
        bucket++;
    atomic_fetch_add_explicit(&slot->buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&slot->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&slot->sum_microseconds, microseconds,
                              memory_order_relaxed);
}

/* The label "GET /x" is split back into method and route. */
static void
split_label(const char *label, char *method, size_t method_cap,
            const char **route)
{
    const char *space = strchr(label, ' ');
    if (space == NULL || (size_t)(space - label) >= method_cap) {
        snprintf(method, method_cap, "%s", "");
        *route = label;
        return;
    }
    memcpy(method, label, (size_t)(space - label));
    method[space - label] = '\0';
    *route = space + 1;
}

char *
metrics_render(const struct metrics *metrics)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL)
        return NULL;
    fputs("# HELP cyberid_http_requests_total HTTP requests by route and status.\n"
          "# TYPE cyberid_http_requests_total counter\n", out);
    for (size_t r = 0; r <= metrics->route_count; r++) {
        char method[16];
        const char *route;
        split_label(metrics->labels[r], method, sizeof method, &route);
        for (size_t s = 0; s < METRICS_STATUS_SLOTS; s++) {
            uint64_t n = atomic_load(&metrics->routes[r].by_status[s]);
            if (n == 0)
                continue;
            char status[8];
            if (s < METRICS_STATUS_SLOTS - 1)
                snprintf(status, sizeof status, "%u", tracked_statuses[s]);
            else
                snprintf(status, sizeof status, "other");
            fprintf(out,
                    "cyberid_http_requests_total{method=\"%s\",route=\"%s\","
                    "status=\"%s\"} %llu\n",
                    method, route, status, (unsigned long long)n);
        }
    }
    fputs("# HELP cyberid_http_request_duration_seconds Time from request "
          "start to response sent.\n"
          "# TYPE cyberid_http_request_duration_seconds histogram\n", out);
    for (size_t r = 0; r <= metrics->route_count; r++) {
        const struct metrics_route *slot = &metrics->routes[r];
        uint64_t count = atomic_load(&slot->count);
        if (count == 0)
            continue;
        char method[16];
        const char *route;
        split_label(metrics->labels[r], method, sizeof method, &route);
        uint64_t cumulative = 0;
        for (size_t b = 0; b < METRICS_BUCKETS; b++) {
            cumulative += atomic_load(&slot->buckets[b]);
            char bound[32];
            if (b < METRICS_BUCKETS - 1)
                snprintf(bound, sizeof bound, "%g", (double)bucket_bounds[b] / 1e6);
            else
                snprintf(bound, sizeof bound, "+Inf");
            fprintf(out,
                    "cyberid_http_request_duration_seconds_bucket{method=\"%s\","
                    "route=\"%s\",le=\"%s\"} %llu\n",
                    method, route, bound, (unsigned long long)cumulative);
        }
        fprintf(out,
                "cyberid_http_request_duration_seconds_sum{method=\"%s\","
                "route=\"%s\"} %.6f\n"
                "cyberid_http_request_duration_seconds_count{method=\"%s\","
                "route=\"%s\"} %llu\n",
                method, route,
                (double)atomic_load(&slot->sum_microseconds) / 1e6, method,
                route, (unsigned long long)count);
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
