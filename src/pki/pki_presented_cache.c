/* pki_presented_cache: the bounded LRU of presented certificates that
 * passed every check that depends only on their bytes (see pki.h). Parsing
 * a certificate with OpenSSL 3 and verifying its CA signature was the
 * largest single cost of a device-signed request, and a device presents the
 * same certificate on every request for two years.
 *
 * Entries live in one array allocated at creation; a chained hash table of
 * indices finds them by key and a doubly linked list of indices keeps them
 * in order of use, so neither a hit nor an eviction allocates. One mutex
 * guards everything: a hit is a few hundred nanoseconds of work, far below
 * what finer locking would be worth. */
#include "pki/pki_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_NONE UINT32_MAX
/* Largest capacity accepted: keeps indices and the bucket count in 32 bits
 * and the arrays well under a gigabyte. */
#define CACHE_CAPACITY_MAX ((size_t)1 << 20)

struct cache_entry {
    uint8_t key[PKI_PRESENTED_KEY_BYTES];
    struct pki_presented_facts facts;
    uint32_t bucket_next;       /* next entry in the same bucket */
    uint32_t newer, older;      /* neighbours in order of use */
};

struct pki_presented_cache {
    pthread_mutex_t lock;
    struct cache_entry *entries;
    uint32_t *buckets;          /* first entry of each bucket, or CACHE_NONE */
    uint32_t bucket_mask;
    uint32_t capacity, count;
    uint32_t newest, oldest;
    uint64_t hits, misses;
};

struct pki_presented_cache *
pki_presented_cache_new(size_t capacity)
{
    if (capacity == 0 || capacity > CACHE_CAPACITY_MAX)
        return NULL;
    /* Twice as many buckets as entries (a power of two): chains stay short
     * and the key's first bytes, a SHA-256, index them uniformly. */
    size_t buckets = 1;
    while (buckets < 2 * capacity)
        buckets <<= 1;
    struct pki_presented_cache *cache = calloc(1, sizeof *cache);
    if (cache == NULL)
        return NULL;
    cache->entries = calloc(capacity, sizeof *cache->entries);
    cache->buckets = malloc(buckets * sizeof *cache->buckets);
    if (cache->entries == NULL || cache->buckets == NULL ||
        pthread_mutex_init(&cache->lock, NULL) != 0) {
        free(cache->entries);
        free(cache->buckets);
        free(cache);
        return NULL;
    }
    for (size_t i = 0; i < buckets; i++)
        cache->buckets[i] = CACHE_NONE;
    cache->bucket_mask = (uint32_t)(buckets - 1);
    cache->capacity = (uint32_t)capacity;
    cache->newest = cache->oldest = CACHE_NONE;
    return cache;
}

void
pki_presented_cache_free(struct pki_presented_cache *cache)
{
    if (cache == NULL)
        return;
    pthread_mutex_destroy(&cache->lock);
    free(cache->entries);
    free(cache->buckets);
    free(cache);
}

static uint32_t *
bucket_of(struct pki_presented_cache *cache, const uint8_t *key)
{
    uint32_t hash;
    memcpy(&hash, key, sizeof hash);
    return &cache->buckets[hash & cache->bucket_mask];
}

/* The index of key's entry, or CACHE_NONE. Caller holds the lock. */
static uint32_t
find(struct pki_presented_cache *cache, const uint8_t *key)
{
    for (uint32_t i = *bucket_of(cache, key); i != CACHE_NONE;
         i = cache->entries[i].bucket_next)
        if (memcmp(cache->entries[i].key, key, PKI_PRESENTED_KEY_BYTES) == 0)
            return i;
    return CACHE_NONE;
}

static void
lru_unlink(struct pki_presented_cache *cache, uint32_t i)
{
    struct cache_entry *entry = &cache->entries[i];
    if (entry->newer != CACHE_NONE)
        cache->entries[entry->newer].older = entry->older;
    else
        cache->newest = entry->older;
    if (entry->older != CACHE_NONE)
        cache->entries[entry->older].newer = entry->newer;
    else
        cache->oldest = entry->newer;
    entry->newer = entry->older = CACHE_NONE;
}

static void
lru_push_newest(struct pki_presented_cache *cache, uint32_t i)
{
    struct cache_entry *entry = &cache->entries[i];
    entry->newer = CACHE_NONE;
    entry->older = cache->newest;
    if (cache->newest != CACHE_NONE)
        cache->entries[cache->newest].newer = i;
    cache->newest = i;
    if (cache->oldest == CACHE_NONE)
        cache->oldest = i;
}

/* Takes entry i out of its bucket's chain. Caller holds the lock. */
static void
bucket_unlink(struct pki_presented_cache *cache, uint32_t i)
{
    uint32_t *link = bucket_of(cache, cache->entries[i].key);
    while (*link != i)
        link = &cache->entries[*link].bucket_next;
    *link = cache->entries[i].bucket_next;
}

int
pki_presented_cache_get(struct pki_presented_cache *cache,
                        const uint8_t key[PKI_PRESENTED_KEY_BYTES],
                        struct pki_presented_facts *out)
{
    pthread_mutex_lock(&cache->lock);
    uint32_t i = find(cache, key);
    if (i != CACHE_NONE) {
        *out = cache->entries[i].facts;
        lru_unlink(cache, i);
        lru_push_newest(cache, i);
        cache->hits++;
    } else {
        cache->misses++;
    }
    pthread_mutex_unlock(&cache->lock);
    return i != CACHE_NONE;
}

void
pki_presented_cache_put(struct pki_presented_cache *cache,
                        const uint8_t key[PKI_PRESENTED_KEY_BYTES],
                        const struct pki_presented_facts *facts)
{
    pthread_mutex_lock(&cache->lock);
    /* Two threads that missed the same certificate both put it: the second
     * refreshes the first's entry rather than adding a twin. */
    uint32_t i = find(cache, key);
    if (i != CACHE_NONE) {
        lru_unlink(cache, i);
    } else {
        if (cache->count < cache->capacity) {
            i = cache->count++;
        } else {
            i = cache->oldest;
            lru_unlink(cache, i);
            bucket_unlink(cache, i);
        }
        memcpy(cache->entries[i].key, key, PKI_PRESENTED_KEY_BYTES);
        uint32_t *bucket = bucket_of(cache, key);
        cache->entries[i].bucket_next = *bucket;
        *bucket = i;
    }
    cache->entries[i].facts = *facts;
    lru_push_newest(cache, i);
    pthread_mutex_unlock(&cache->lock);
}

void
pki_presented_cache_read_stats(struct pki_presented_cache *cache,
                               struct pki_presented_cache_stats *out)
{
    pthread_mutex_lock(&cache->lock);
    out->hits = cache->hits;
    out->misses = cache->misses;
    out->entries = cache->count;
    out->capacity = cache->capacity;
    pthread_mutex_unlock(&cache->lock);
}
