/* rate: see rate.h. */
#include "util/rate.h"

#include <assert.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* Slots come in groups of GROUP (a key's candidates), groups share
 * LOCKS mutexes (a group never spans two). */
#define GROUP 8
#define GROUPS (RATE_SLOTS / GROUP)
#define LOCKS 64

struct slot {
    uint64_t fingerprint; /* 0: free */
    double tokens;
    double last;
};

struct rate {
    double per_second;
    double burst;
    uint64_t hash_key[2];
    pthread_mutex_t locks[LOCKS];
    struct slot slots[RATE_SLOTS];
};

struct rate *
rate_new(double per_second, double burst)
{
    if (!(per_second > 0) || !(burst >= 1))
        return NULL;
    struct rate *rate = calloc(1, sizeof *rate);
    if (rate == NULL)
        return NULL;
    if (RAND_bytes((unsigned char *)rate->hash_key, sizeof rate->hash_key) != 1) {
        free(rate);
        return NULL;
    }
    rate->per_second = per_second;
    rate->burst = burst;
    for (int i = 0; i < LOCKS; i++)
        pthread_mutex_init(&rate->locks[i], NULL);
    return rate;
}

void
rate_free(struct rate *rate)
{
    if (rate == NULL)
        return;
    for (int i = 0; i < LOCKS; i++)
        pthread_mutex_destroy(&rate->locks[i]);
    free(rate);
}

double
rate_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* FNV-1a from a secret basis, then a multiply-xorshift finish per half:
 * enough to spread keys nobody can see the slots of (a keyed PRF such as
 * HMAC would cost a microsecond per request for no gain here). */
static uint64_t
hash(const void *key, size_t length, uint64_t basis)
{
    const unsigned char *bytes = key;
    uint64_t h = 14695981039346656037ULL ^ basis;
    for (size_t i = 0; i < length; i++)
        h = (h ^ bytes[i]) * 1099511628211ULL;
    h ^= (uint64_t)length;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    return h;
}

/* The bucket's tokens at `now` (a clock that went back refills nothing). */
static double
refilled(const struct rate *rate, const struct slot *slot, double now)
{
    double elapsed = now > slot->last ? now - slot->last : 0;
    double tokens = slot->tokens + elapsed * rate->per_second;
    return tokens < rate->burst ? tokens : rate->burst;
}

int64_t
rate_take(struct rate *rate, const void *key, size_t length, double now)
{
    if (rate == NULL)
        return 0;
    uint64_t group = hash(key, length, rate->hash_key[0]) % GROUPS;
    uint64_t fingerprint = hash(key, length, rate->hash_key[1]);
    if (fingerprint == 0)
        fingerprint = 1;
    pthread_mutex_t *lock = &rate->locks[group % LOCKS];
    struct slot *slots = &rate->slots[group * GROUP];
    pthread_mutex_lock(lock);
    struct slot *slot = NULL, *spare = NULL;
    double spare_tokens = -1;
    for (int i = 0; i < GROUP && slot == NULL; i++) {
        if (slots[i].fingerprint == fingerprint) {
            slot = &slots[i];
        } else if (slots[i].fingerprint == 0) {
            if (spare_tokens < rate->burst + 1) {
                spare = &slots[i];
                spare_tokens = rate->burst + 1; /* a free slot beats any */
            }
        } else {
            double tokens = refilled(rate, &slots[i], now);
            if (tokens > spare_tokens) {
                spare = &slots[i];
                spare_tokens = tokens;
            }
        }
    }
    if (slot == NULL) {
        assert(spare != NULL);
        slot = spare;
        *slot = (struct slot){.fingerprint = fingerprint, .tokens = rate->burst,
                              .last = now};
    }
    double tokens = refilled(rate, slot, now);
    int64_t wait = 0;
    if (tokens >= 1) {
        tokens -= 1;
    } else {
        double seconds = (1 - tokens) / rate->per_second;
        wait = (int64_t)seconds;
        if ((double)wait < seconds)
            wait++; /* rounded up: then a token is there */
        if (wait < 1)
            wait = 1;
    }
    slot->tokens = tokens;
    if (now > slot->last)
        slot->last = now;
    pthread_mutex_unlock(lock);
    return wait;
}
