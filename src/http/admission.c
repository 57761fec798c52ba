/* admission: connection and body-memory limits; see admission.h.
 *
 * Connections are counted per address in a fixed table of counters
 * indexed by a keyed hash of the address (a random key drawn at start, so
 * no one can aim at another's counter). Two addresses that share a
 * counter share its limit: with 65536 counters that is rare, costs only
 * strictness, and keeps the table's memory fixed whatever the number of
 * addresses, where a table of addresses would grow with an attacker's. */
#include "http/admission.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COUNTERS 65536

struct admission {
    unsigned per_address;
    size_t body_budget;
    atomic_size_t in_flight;
    uint64_t key;
    pthread_mutex_t lock;
    uint16_t counts[COUNTERS];
};

struct admission *
admission_new(unsigned per_address, size_t body_budget)
{
    struct admission *admission = calloc(1, sizeof *admission);
    if (admission == NULL)
        return NULL;
    if (RAND_bytes((unsigned char *)&admission->key, sizeof admission->key) != 1) {
        free(admission);
        return NULL;
    }
    admission->per_address = per_address > UINT16_MAX ? UINT16_MAX : per_address;
    admission->body_budget = body_budget;
    atomic_init(&admission->in_flight, 0);
    pthread_mutex_init(&admission->lock, NULL);
    return admission;
}

void
admission_free(struct admission *admission)
{
    if (admission == NULL)
        return;
    pthread_mutex_destroy(&admission->lock);
    free(admission);
}

/* The counter of an address: IPv4 whole, IPv6 by its /64 (an IPv4 mapped
 * into IPv6 as the IPv4 it is). FNV-1a over the key and the bytes, then a
 * multiply-xorshift finish. */
static size_t
counter_of(const struct admission *admission, const struct sockaddr *address)
{
    uint8_t bytes[8];
    size_t length = 0;
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        memcpy(bytes, &v4->sin_addr, 4);
        length = 4;
    } else if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            memcpy(bytes, &v6->sin6_addr.s6_addr[12], 4);
            length = 4;
        } else {
            memcpy(bytes, &v6->sin6_addr, 8);
            length = 8;
        }
    }
    uint64_t hash = 14695981039346656037ULL ^ admission->key;
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ bytes[i]) * 1099511628211ULL;
    hash ^= (uint64_t)length;
    hash *= 0x9e3779b97f4a7c15ULL;
    hash ^= hash >> 31;
    return (size_t)(hash % COUNTERS);
}

int
admission_connect(struct admission *admission, const struct sockaddr *address)
{
    size_t counter = counter_of(admission, address);
    pthread_mutex_lock(&admission->lock);
    int may = admission->counts[counter] < admission->per_address;
    if (may)
        admission->counts[counter]++;
    pthread_mutex_unlock(&admission->lock);
    return may;
}

void
admission_disconnected(struct admission *admission, const struct sockaddr *address)
{
    size_t counter = counter_of(admission, address);
    pthread_mutex_lock(&admission->lock);
    if (admission->counts[counter] > 0)
        admission->counts[counter]--;
    pthread_mutex_unlock(&admission->lock);
}

int
admission_reserve(struct admission *admission, size_t bytes)
{
    size_t held = atomic_load(&admission->in_flight);
    do {
        if (bytes > admission->body_budget || held > admission->body_budget - bytes)
            return -1;
    } while (!atomic_compare_exchange_weak(&admission->in_flight, &held, held + bytes));
    return 0;
}

void
admission_release(struct admission *admission, size_t bytes)
{
    atomic_fetch_sub(&admission->in_flight, bytes);
}
