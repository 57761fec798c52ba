/* platform_cache: platforms kept in memory between requests, for a store
 * whose backend tells of changes (store_driver.h: PostgreSQL's
 * LISTEN/NOTIFY, SQLite's sqlite_notify.h). Private to the store module;
 * store.h's store_platform_cache_start() is its public face.
 *
 * Why: every /authorize and every client authentication at /token reads
 * the client's platform, a row that changes a few times a year. On
 * PostgreSQL that read is a round trip of its own, a third of a refresh
 * grant's; on SQLite a tenth of a grant's CPU (docs/bench.md, "Platforms
 * kept in memory").
 *
 * How it stays true: every change of the platform table goes through
 * store.c, which notifies STORE_PLATFORM_CHANNEL in the changing
 * transaction (sent when it commits). A thread of this module holds one
 * listener; each notification empties the cache. While the listener is
 * down (and until it listens again) the cache is bypassed: every read
 * goes to the database, as without the cache. A read taken from the
 * database is kept only if no notification arrived while it ran, so a row
 * read before a change is never kept after it. What remains is the time a
 * notification takes to arrive after its commit (milliseconds): a request
 * in that window still sees the platform as it was. */
#ifndef CYBERID_PLATFORM_CACHE_H
#define CYBERID_PLATFORM_CACHE_H

#include "store/store.h"
#include "store/store_driver.h"

#include <stdint.h>

/* The notification channel (a PostgreSQL identifier). */
#define STORE_PLATFORM_CHANNEL "cyberid_platform"

struct platform_cache;

/* Starts the listening thread on its own connection to `location`. The
 * cache serves nothing until that connection listens. NULL with err. */
struct platform_cache *platform_cache_start(const struct store_driver *driver,
                                            const char *location, char *err,
                                            size_t errlen);
/* Stops the thread, closes its connection, frees every platform. NULL
 * allowed. */
void platform_cache_stop(struct platform_cache *cache);

/* 1 with *out a copy of the kept platform (store_platform_clear()); 0 when
 * not kept, with *generation to hand to platform_cache_put() after the
 * database read. */
int platform_cache_get(struct platform_cache *cache, const char *client_id,
                       struct store_platform *out, uint64_t *generation);
/* Keeps a copy of a platform just read from the database, unless the
 * cache was emptied since platform_cache_get() gave `generation`, is not
 * listening, or is full. */
void platform_cache_put(struct platform_cache *cache, const struct store_platform *platform,
                        uint64_t generation);

#endif
