/* config_cache: the rows that change a few times a year, kept in memory
 * between requests: platforms and the token-key table. For a store whose
 * backend tells of changes (store_driver.h: PostgreSQL's LISTEN/NOTIFY,
 * SQLite's sqlite_notify.h). Private to the store module; store.h's
 * store_config_cache_start() is its public face.
 *
 * Why: every /authorize and every client authentication at /token reads
 * the client's platform, and every ID token signed reads the token-key
 * table (which key signs now). On PostgreSQL each read is a round trip of
 * its own (a platform's was a third of a refresh grant's); on SQLite a
 * tenth of a grant's CPU (docs/bench.md, "Platforms kept in memory").
 *
 * How it stays true: every change of either table goes through the
 * store, which notifies STORE_CONFIG_CHANNEL in the changing transaction
 * (store_config_changed(), sent when it commits). A thread of this module
 * holds one listener; each notification empties the whole cache. While
 * the listener is down (and until it listens again) the cache is
 * bypassed: every read goes to the database, as without the cache. A read
 * taken from the database is kept only if no notification arrived while
 * it ran, so a row read before a change is never kept after it. What
 * remains is the time a notification takes to arrive after its commit
 * (milliseconds): a request in that window still sees the rows as they
 * were. */
#ifndef CYBERID_CONFIG_CACHE_H
#define CYBERID_CONFIG_CACHE_H

#include "store/store.h"
#include "store/store_driver.h"

#include <stdint.h>

/* The notification channel (a PostgreSQL identifier). */
#define STORE_CONFIG_CHANNEL "cyberid_config"

/* The most token-key rows kept (a key is made by `cyberid keys rotate`,
 * a few a year; a table with more is read from the database each time). */
#define CONFIG_CACHE_KEYS_MAX 1024

struct config_cache;

/* Starts the listening thread on its own connection to `location`. The
 * cache serves nothing until that connection listens. NULL with err. */
struct config_cache *config_cache_start(const struct store_driver *driver,
                                       const char *location, char *err, size_t errlen);
/* Stops the thread, closes its connection, frees what it keeps. NULL
 * allowed. */
void config_cache_stop(struct config_cache *cache);

/* 1 with *out a copy of the kept platform (store_platform_clear()); 0
 * when not kept, with *generation to hand to config_cache_platform_put()
 * after the database read. */
int config_cache_platform_get(struct config_cache *cache, const char *client_id,
                              struct store_platform *out, uint64_t *generation);
/* Keeps a copy of a platform just read from the database, unless the
 * cache was emptied since config_cache_platform_get() gave `generation`,
 * is not listening, or is full. */
void config_cache_platform_put(struct config_cache *cache,
                               const struct store_platform *platform, uint64_t generation);

/* How many times the cache was emptied (or its listener came and went). */
uint64_t config_cache_generation(struct config_cache *cache);

/* The token-key table's rows, in the order store_token_key_each() gives
 * them: 1 with *keys a malloc'd copy of *count rows (free()), or 0 when
 * not kept, with *generation for config_cache_keys_put(). */
int config_cache_keys_get(struct config_cache *cache, struct store_token_key **keys,
                          size_t *count, uint64_t *generation);
/* Keeps a copy of the rows just read from the database, under the same
 * conditions as config_cache_platform_put() (full: more than
 * CONFIG_CACHE_KEYS_MAX rows). */
void config_cache_keys_put(struct config_cache *cache, const struct store_token_key *keys,
                           size_t count, uint64_t generation);

#endif
