/* rate: token buckets in memory, one per key, for the limits one node
 * enforces on its own where a database row per request would cost more
 * than the request (anonymous requests that create pending rows: see
 * docs/api.md, "Limits"). A key's bucket holds at most `burst` tokens and
 * gains `per_second`; each request takes one.
 *
 * Memory is fixed: RATE_SLOTS buckets, found by a keyed hash of the key
 * (the hash key is random per process, so nobody can aim two keys at one
 * slot). A key seen for the first time takes a free slot of its group, or
 * the one whose bucket has refilled the most: what is forgotten is then
 * the smallest debt. Thread-safe. */
#ifndef CYBERID_RATE_H
#define CYBERID_RATE_H

#include <stddef.h>
#include <stdint.h>

#define RATE_SLOTS 65536

struct rate;

/* NULL on failure (or per_second <= 0: no limit, which rate_take()
 * reads as let through). burst >= 1. */
struct rate *rate_new(double per_second, double burst);
void rate_free(struct rate *rate);

/* Takes one token from key's bucket at monotonic time `now` (seconds):
 * 0 taken, else the whole seconds until one will be there (at least 1),
 * nothing taken. A NULL rate always lets through. */
int64_t rate_take(struct rate *rate, const void *key, size_t length, double now);

/* CLOCK_MONOTONIC in seconds, for `now`. */
double rate_now(void);

#endif
