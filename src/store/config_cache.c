/* config_cache: platforms and token keys kept in memory, emptied on every
 * change the database notifies; see config_cache.h.
 *
 * Platforms: a small open-addressing table under one mutex: entries are
 * never removed one by one, only all at once (a notification), so linear
 * probing needs no tombstones. Token keys: the table's rows as one array.
 * A lookup copies out under the lock, as the database read it replaces
 * would have made a copy. */
#define _GNU_SOURCE 1 /* pipe2 */
#include "store/config_cache.h"

#include "util/log.h"
#include "util/strings.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Slots in the table; at most three quarters are used (a service with
 * more platforms reads the rest from the database, as without a cache). */
#define CACHE_SLOTS 4096
#define CACHE_FILL_MAX (CACHE_SLOTS / 4 * 3)
/* Between attempts to connect the listening connection again. */
#define RETRY_MS 1000

struct config_cache {
    const struct store_driver *driver;
    char *location;
    pthread_t thread;
    int wake[2];                /* a byte written to [1] stops the thread */
    pthread_mutex_t lock;
    /* Guarded by lock. */
    uint64_t generation;        /* counts the times the cache was emptied */
    int listening;              /* the connection listens: entries may be kept */
    unsigned used;
    struct {
        int used;
        struct store_platform platform;
    } slots[CACHE_SLOTS];
    struct store_token_key *keys; /* NULL: not kept */
    size_t key_count;
};

/* FNV-1a: client ids are random, any spread will do. */
static size_t
slot_of(const char *client_id)
{
    uint32_t hash = 2166136261u;
    for (const unsigned char *c = (const unsigned char *)client_id; *c; c++)
        hash = (hash ^ *c) * 16777619u;
    return hash % CACHE_SLOTS;
}

static int
copy_text(char **to, const char *from)
{
    *to = NULL;
    if (from == NULL)
        return 0;
    *to = strdup(from);
    return *to != NULL ? 0 : -1;
}

/* A deep copy of a platform. 0, or -1 (out of memory; *to cleared). */
static int
platform_copy(struct store_platform *to, const struct store_platform *from)
{
    *to = *from;
    int failed = copy_text(&to->name, from->name) | copy_text(&to->redirect_uris, from->redirect_uris) |
                 copy_text(&to->claims, from->claims) | copy_text(&to->legal_basis, from->legal_basis) |
                 copy_text(&to->auth_method, from->auth_method) | copy_text(&to->jwks, from->jwks) |
                 copy_text(&to->sector_id, from->sector_id) | copy_text(&to->purpose, from->purpose);
    if (failed) {
        store_platform_clear(to);
        return -1;
    }
    return 0;
}

/* Empties the cache and says whether it may keep entries from now on.
 * Takes the lock. */
static void
empty(struct config_cache *cache, int listening)
{
    pthread_mutex_lock(&cache->lock);
    for (size_t i = 0; i < CACHE_SLOTS && cache->used > 0; i++)
        if (cache->slots[i].used) {
            store_platform_clear(&cache->slots[i].platform);
            cache->slots[i].used = 0;
            cache->used--;
        }
    free(cache->keys);
    cache->keys = NULL;
    cache->key_count = 0;
    cache->generation++;
    cache->listening = listening;
    pthread_mutex_unlock(&cache->lock);
}

/* Waits up to timeout_ms for the connection's socket (fd, or none: -1) or
 * the wake pipe. 1 when woken to stop, 0 otherwise. */
static int
wait_for(struct config_cache *cache, int fd, int timeout_ms)
{
    struct pollfd pollers[2] = {{.fd = cache->wake[0], .events = POLLIN},
                                {.fd = fd, .events = POLLIN}};
    int rc = poll(pollers, fd >= 0 ? 2 : 1, timeout_ms);
    return rc > 0 && (pollers[0].revents & POLLIN) != 0;
}

/* The listening thread: listens, empties the cache on each notification;
 * on a lost listener bypasses the cache until it listens again (and
 * empties it then: notifications were missed meanwhile). */
static void *
listen_loop(void *argument)
{
    struct config_cache *cache = argument;
    const struct store_driver *driver = cache->driver;
    void *listener = NULL;
    int was_down = 0;
    for (;;) {
        if (listener == NULL) {
            char err[STORE_ERROR_MAX];
            listener = driver->listen_open(cache->location, STORE_CONFIG_CHANNEL, err,
                                           sizeof err);
            if (listener == NULL) {
                if (!was_down)
                    log_event(LOG_WARN, "config_cache.down", "{s:s}", "error", err);
                was_down = 1;
                if (wait_for(cache, -1, RETRY_MS))
                    break;
                continue;
            }
            empty(cache, 1);
            if (was_down)
                log_event(LOG_INFO, "config_cache.up", "{}");
            was_down = 0;
        }
        if (wait_for(cache, driver->listen_fd(listener), -1))
            break;
        int count = driver->listen_read(listener);
        if (count < 0) {
            empty(cache, 0);
            driver->listen_close(listener);
            listener = NULL;
            log_event(LOG_WARN, "config_cache.down", "{s:s}", "error",
                      "the listener was lost");
            was_down = 1;
        } else if (count > 0) {
            empty(cache, 1);
        }
    }
    if (listener != NULL)
        driver->listen_close(listener);
    return NULL;
}

struct config_cache *
config_cache_start(const struct store_driver *driver, const char *location, char *err,
                   size_t errlen)
{
    /* store_config_cache_start() keeps nothing for such a backend. */
    assert(driver->listen_open != NULL && driver->listen_fd != NULL &&
           driver->listen_read != NULL && driver->listen_close != NULL);
    struct config_cache *cache = calloc(1, sizeof *cache);
    if (cache == NULL || (cache->location = strdup(location)) == NULL) {
        free(cache);
        error_set(err, errlen, "out of memory");
        return NULL;
    }
    cache->driver = driver;
    pthread_mutex_init(&cache->lock, NULL);
    if (pipe2(cache->wake, O_CLOEXEC) != 0) {
        error_set(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&cache->thread, NULL, listen_loop, cache) != 0) {
        error_set(err, errlen, "cannot start the config cache's thread");
        close(cache->wake[0]);
        close(cache->wake[1]);
        goto fail;
    }
    return cache;
fail:
    pthread_mutex_destroy(&cache->lock);
    free(cache->location);
    free(cache);
    return NULL;
}

void
config_cache_stop(struct config_cache *cache)
{
    if (cache == NULL)
        return;
    ssize_t written;
    do
        written = write(cache->wake[1], "", 1);
    while (written < 0 && errno == EINTR);
    pthread_join(cache->thread, NULL);
    close(cache->wake[0]);
    close(cache->wake[1]);
    empty(cache, 0);
    pthread_mutex_destroy(&cache->lock);
    free(cache->location);
    free(cache);
}

int
config_cache_platform_get(struct config_cache *cache, const char *client_id,
                          struct store_platform *out, uint64_t *generation)
{
    int found = 0;
    pthread_mutex_lock(&cache->lock);
    *generation = cache->generation;
    if (cache->listening)
        for (size_t i = slot_of(client_id); cache->slots[i].used; i = (i + 1) % CACHE_SLOTS)
            if (strcmp(cache->slots[i].platform.client_id, client_id) == 0) {
                found = platform_copy(out, &cache->slots[i].platform) == 0;
                break;
            }
    pthread_mutex_unlock(&cache->lock);
    return found;
}

void
config_cache_platform_put(struct config_cache *cache, const struct store_platform *platform,
                          uint64_t generation)
{
    pthread_mutex_lock(&cache->lock);
    if (cache->listening && cache->generation == generation && cache->used < CACHE_FILL_MAX) {
        size_t i = slot_of(platform->client_id);
        while (cache->slots[i].used &&
               strcmp(cache->slots[i].platform.client_id, platform->client_id) != 0)
            i = (i + 1) % CACHE_SLOTS;
        /* Two threads may read the same platform at once: the first kept. */
        if (!cache->slots[i].used && platform_copy(&cache->slots[i].platform, platform) == 0) {
            cache->slots[i].used = 1;
            cache->used++;
        }
    }
    pthread_mutex_unlock(&cache->lock);
}

uint64_t
config_cache_generation(struct config_cache *cache)
{
    pthread_mutex_lock(&cache->lock);
    uint64_t generation = cache->generation;
    pthread_mutex_unlock(&cache->lock);
    return generation;
}

int
config_cache_keys_get(struct config_cache *cache, struct store_token_key **keys, size_t *count,
                      uint64_t *generation)
{
    int found = 0;
    *keys = NULL;
    *count = 0;
    pthread_mutex_lock(&cache->lock);
    *generation = cache->generation;
    if (cache->listening && cache->keys != NULL) {
        /* One row at least, so that malloc(0) never stands for "none". */
        *keys = malloc((cache->key_count + 1) * sizeof **keys);
        if (*keys != NULL) {
            memcpy(*keys, cache->keys, cache->key_count * sizeof **keys);
            *count = cache->key_count;
            found = 1;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    return found;
}

void
config_cache_keys_put(struct config_cache *cache, const struct store_token_key *keys,
                      size_t count, uint64_t generation)
{
    pthread_mutex_lock(&cache->lock);
    if (cache->listening && cache->generation == generation && cache->keys == NULL &&
        count <= CONFIG_CACHE_KEYS_MAX) {
        cache->keys = malloc((count + 1) * sizeof *keys);
        if (cache->keys != NULL) {
            if (count > 0)
                memcpy(cache->keys, keys, count * sizeof *keys);
            cache->key_count = count;
        }
    }
    pthread_mutex_unlock(&cache->lock);
}
