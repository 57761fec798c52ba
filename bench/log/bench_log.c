/* bench_log: the transparency log under load. Producer threads append
 * audit events as requests do (audit_append_citizen in a transaction of
 * their own, a citizen's claims.disclosed event, sealed by the signer:
 * in this process, where `cyberid serve` asks its signer process over a
 * socket); a sequencer thread runs as
 * `cyberid serve` runs it (log_integrate: batches back to back while
 * events wait, else one every SEQUENCER_DEFAULT_INTERVAL_MS), each batch closed by a checkpoint the
 * signer signs. Prints events appended a second, events the sequencer puts
 * in the tree a second of its own time, and the p50/p99 time from an
 * event's commit to its inclusion in a signed checkpoint, beside the
 * published references: Sunlight's 1 s p99 integration, Tessera's
 * 2,000-3,000 entries/s on one machine.
 *
 * usage: bench_log [SECONDS, default 10] [PRODUCERS, default 2]
 *                  [DATABASE: a postgresql:// URI; default SQLite]
 * Keys and the SQLite database are made in a temporary folder and
 * removed. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "audit/audit.h"
#include "audit/log.h"
#include "service/sequencer.h" /* its interval, nothing else */
#include "signer/signer.h"
#include "store/store.h"

#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PRODUCERS_MAX 64
#define SEQUENCER_INTERVAL_NS (SEQUENCER_DEFAULT_INTERVAL_MS * 1000000LL)

struct appended {
    int64_t sequence;
    int64_t at;     /* monotonic ns after the commit */
};

struct producer {
    struct store *store;
    struct signer *signer;
    atomic_int *stop;
    struct appended *items;
    size_t count, capacity;
    int failed;
};

struct batch {
    int64_t size;   /* leaves after the batch */
    int64_t at;     /* monotonic ns after its commit */
};

struct sequencer {
    struct store *store;
    struct signer *signer;
    atomic_int *stop;
    struct batch *batches;
    size_t count, capacity;
    int64_t busy_ns;        /* time inside batches that added events */
    int64_t integrated;
    int failed;
};

static int64_t
now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int
remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void)info;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void *
produce(void *argument)
{
    struct producer *p = argument;
    json_t *details = json_pack("{s:[s], s:s}", "claims", "realname_verified", "platform",
                                "bench-platform");
    unsigned long long n = 0;
    while (!atomic_load(p->stop)) {
        char subject[32];
        snprintf(subject, sizeof subject, "BENCH%011llX", (unsigned long long)(n++ % 100000));
        struct store_conn *conn = store_acquire(p->store);
        int64_t sequence = 0;
        int ok = store_begin(conn) == 0 &&
                 audit_append_citizen(conn, p->signer, "platform:bench", "claims.disclosed",
                                      subject, details, &sequence) == 0 &&
                 store_commit(conn) == 0;
        if (!ok)
            store_rollback(conn);
        store_release(p->store, conn);
        if (!ok) {
            p->failed = 1;
            break;
        }
        if (p->count == p->capacity) {
            size_t capacity = p->capacity ? p->capacity * 2 : 4096;
            struct appended *grown = realloc(p->items, capacity * sizeof *grown);
            if (grown == NULL) {
                p->failed = 1;
                break;
            }
            p->items = grown;
            p->capacity = capacity;
        }
        p->items[p->count++] = (struct appended){sequence, now_ns()};
    }
    json_decref(details);
    return NULL;
}

/* One batch, timed and recorded. The number of events it added, or -1. */
static int64_t
sequence_once(struct sequencer *s)
{
    int64_t added = 0, size = 0;
    char err[256];
    int64_t start = now_ns();
    if (log_integrate(s->store, s->signer, LOG_BATCH_MAX, (int64_t)time(NULL), &added, err,
                      sizeof err) != 0) {
        fprintf(stderr, "bench_log: %s\n", err);
        return -1;
    }
    int64_t end = now_ns();
    if (added == 0)
        return 0;
    struct store_conn *conn = store_acquire(s->store);
    int status = store_log_size(conn, &size);
    store_release(s->store, conn);
    if (status != 0)
        return -1;
    if (s->count == s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 1024;
        struct batch *grown = realloc(s->batches, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        s->batches = grown;
        s->capacity = capacity;
    }
    s->batches[s->count++] = (struct batch){size, end};
    s->busy_ns += end - start;
    s->integrated += added;
    return added;
}

static void *
sequence(void *argument)
{
    struct sequencer *s = argument;
    int64_t next = now_ns();
    while (!atomic_load(s->stop)) {
        int64_t added = sequence_once(s);
        if (added < 0) {
            s->failed = 1;
            break;
        }
        if (added == LOG_BATCH_MAX)
            continue;
        /* As serve: the next round an interval after this one began. */
        next += SEQUENCER_INTERVAL_NS;
        int64_t wait = next - now_ns();
        if (wait > 0) {
            struct timespec pause = {wait / 1000000000LL, wait % 1000000000LL};
            nanosleep(&pause, NULL);
        } else {
            next = now_ns();
        }
    }
    return NULL;
}

struct leaf_map {
    int64_t *leaf_by_sequence;
    int64_t max_sequence;
};

static int
map_leaf(void *context, const struct store_audit_event *event)
{
    struct leaf_map *m = context;
    if (event->sequence >= 0 && event->sequence <= m->max_sequence)
        m->leaf_by_sequence[event->sequence] = event->leaf;
    return 0;
}

static int
compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 10;
    int producers = argc > 2 ? atoi(argv[2]) : 2;
    const char *database = argc > 3 ? argv[3] : NULL;
    if (seconds < 1 || producers < 1 || producers > PRODUCERS_MAX) {
        fprintf(stderr, "usage: bench_log [SECONDS] [PRODUCERS 1..%d] [postgresql:// URI]\n",
                PRODUCERS_MAX);
        return 2;
    }
    char dir[] = "/tmp/cyberid-bench-log-XXXXXX", keys[256], pki[256], location[512];
    char err[512];
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(pki, sizeof pki, "%s/pki", dir);
    if (database != NULL)
        snprintf(location, sizeof location, "%s", database);
    else
        snprintf(location, sizeof location, "sqlite:%s/bench.db", dir);
    struct signer *signer = NULL;
    struct store *store = NULL;
    int status = 1;
    if (signer_create_keys(keys, pki, err, sizeof err) != 0 ||
        signer_open(keys, &signer, err, sizeof err) != 0 ||
        store_open(location, (unsigned)producers + 2, 1, &store, err, sizeof err) != 0) {
        fprintf(stderr, "bench_log: %s\n", err);
        goto done;
    }
    atomic_int stop = 0;
    struct producer p[PRODUCERS_MAX] = {0};
    struct sequencer s = {.store = store, .signer = signer, .stop = &stop};
    pthread_t threads[PRODUCERS_MAX], sequencer_thread;
    for (int i = 0; i < producers; i++) {
        p[i] = (struct producer){.store = store, .signer = signer, .stop = &stop};
        pthread_create(&threads[i], NULL, produce, &p[i]);
    }
    pthread_create(&sequencer_thread, NULL, sequence, &s);
    int64_t started = now_ns();
    sleep((unsigned)seconds);
    atomic_store(&stop, 1);
    for (int i = 0; i < producers; i++)
        pthread_join(threads[i], NULL);
    int64_t produced_ns = now_ns() - started;
    pthread_join(sequencer_thread, NULL);
    /* What is left goes in as the sequencer would take it: at once. */
    int64_t added = 0;
    while ((added = sequence_once(&s)) > 0)
        ;
    int64_t appended = 0, max_sequence = 0;
    int failed = s.failed || added < 0;
    for (int i = 0; i < producers; i++) {
        failed |= p[i].failed;
        appended += (int64_t)p[i].count;
        for (size_t j = 0; j < p[i].count; j++)
            if (p[i].items[j].sequence > max_sequence)
                max_sequence = p[i].items[j].sequence;
    }
    if (failed || appended == 0) {
        fprintf(stderr, "bench_log: a producer or the sequencer failed\n");
        goto free_all;
    }
    struct leaf_map map = {.leaf_by_sequence = calloc((size_t)max_sequence + 1, sizeof(int64_t)),
                           .max_sequence = max_sequence};
    int64_t *latency = calloc((size_t)appended, sizeof *latency);
    struct store_conn *conn = store_acquire(store);
    int read = map.leaf_by_sequence && latency && store_log_events(conn, map_leaf, &map) == 0;
    store_release(store, conn);
    if (!read) {
        fprintf(stderr, "bench_log: cannot read the events back\n");
        free(map.leaf_by_sequence);
        free(latency);
        goto free_all;
    }
    size_t n = 0;
    for (int i = 0; i < producers; i++)
        for (size_t j = 0; j < p[i].count; j++) {
            int64_t leaf = map.leaf_by_sequence[p[i].items[j].sequence];
            size_t b = 0;
            while (b < s.count && s.batches[b].size <= leaf)
                b++;
            if (b < s.count)
                latency[n++] = s.batches[b].at - p[i].items[j].at;
        }
    qsort(latency, n, sizeof *latency, compare_int64);
    double rate = (double)appended / ((double)produced_ns / 1e9);
    double integration = s.busy_ns > 0 ? (double)s.integrated / ((double)s.busy_ns / 1e9) : 0;
    printf("backend %s, %d producers, %d s, %lld events, %zu checkpoints\n",
           database ? "postgresql" : "sqlite", producers, seconds, (long long)appended, s.count);
    printf("appended: %.0f events/s (each its own transaction, as a request writes it)\n",
           rate);
    printf("sequencer: %.0f events/s of its own time into the tree, checkpoint signed "
           "(Tessera's reference: 2000-3000 entries/s)\n",
           integration);
    printf("commit to signed checkpoint: p50 %.0f ms, p99 %.0f ms, max %.0f ms "
           "(Sunlight's reference: 1 s p99; the sequencer runs every %d ms)\n",
           (double)latency[n / 2] / 1e6, (double)latency[(n * 99) / 100] / 1e6,
           (double)latency[n - 1] / 1e6, SEQUENCER_DEFAULT_INTERVAL_MS);
    status = 0;
    free(map.leaf_by_sequence);
    free(latency);
free_all:
    for (int i = 0; i < producers; i++)
        free(p[i].items);
    free(s.batches);
done:
    store_close(store);
    signer_close(signer);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return status;
}
