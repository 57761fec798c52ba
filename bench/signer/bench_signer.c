/* bench_signer: operations per second through the signer process
 * (signer_start: socketpair channels, one per thread) against the same
 * operations in-process (signer_open_local: the same code without the
 * channel), same keys, same threads, one run. The target is at least 80%
 * for signatures (ID tokens, certificates); HMAC and record openings are
 * printed too, as the cheapest operations show the channel's cost most.
 *
 * Then the transport's ceiling for an ID token: the same threads, each
 * with its own channel (an AF_UNIX SEQPACKET socketpair, as signer_start()
 * makes) to a forked process whose thread per channel spends on each
 * request the CPU an ID token costs in-process (measured in the same run)
 * before it answers. What that gives against in-process is the most a
 * synchronous request and answer over this machine's channels can reach
 * for an operation of that cost, with nothing of the signer in the way.
 *
 * usage: bench_signer BINARY [SECONDS per case, default 3] [THREADS,
 * default the cores]. BINARY is the cyberid executable (its `signer`
 * command). Keys are made in a temporary folder and removed. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "signer/signer.h"

#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define ISSUER "https://bench.example"
#define THREADS_MAX 64

enum bench_op { OP_ID_TOKEN, OP_CERTIFICATE, OP_HMAC, OP_OPEN_RECORD, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"sign_id_token", "issue_certificate", "hmac",
                                               "open_record"};

struct shared {
    struct signer *signer;
    enum bench_op op;
    char kid[SIGNER_KID_MAX + 1];
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t spki_length;
    uint8_t *sealed;
    size_t sealed_length;
    atomic_int stop;
    atomic_ullong done;
    atomic_ullong failed;
};

static int
remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void)info;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
one(struct shared *s)
{
    switch (s->op) {
    case OP_ID_TOKEN: {
        char claims[256], *token = NULL;
        long long now = (long long)time(NULL);
        snprintf(claims, sizeof claims, "{\"iss\":\"" ISSUER "\",\"aud\":\"platform\","
                 "\"sub\":\"ABCDEFGHJKMNPQRSTVWXYZ0123\",\"iat\":%lld,\"exp\":%lld,"
                 "\"nonce\":\"n-0123456789\"}", now, now + 600);
        int status = signer_sign_id_token(s->signer, s->kid, claims, &token);
        free(token);
        return status;
    }
    case OP_CERTIFICATE: {
        uint8_t *der = NULL;
        size_t length = 0;
        int status = signer_issue_certificate(s->signer, 1, s->spki, s->spki_length,
                                              "0123456789ABCDEF", (int64_t)time(NULL), &der,
                                              &length);
        free(der);
        return status;
    }
    case OP_HMAC: {
        uint8_t mac[SIGNER_HMAC_BYTES];
        return signer_hmac(s->signer, SIGNER_KEY_PAIRWISE, "0123456789ABCDEF|platform", 25,
                           mac);
    }
    case OP_OPEN_RECORD: {
        const char *const fields[] = {"name", "birth_date", NULL};
        char *json = NULL;
        size_t length = 0;
        int status = signer_open_record(s->signer, "record-1", s->sealed, s->sealed_length,
                                        fields, &json, &length);
        signer_free_secret(json, length);
        return status;
    }
    default:
        return -1;
    }
}

static void *
worker(void *argument)
{
    struct shared *s = argument;
    while (!atomic_load(&s->stop)) {
        if (one(s) == 0)
            atomic_fetch_add(&s->done, 1);
        else
            atomic_fetch_add(&s->failed, 1);
    }
    return NULL;
}

/* Operations per second of op on signer with threads for seconds. */
static double
measure(struct shared *s, enum bench_op op, unsigned threads, unsigned seconds)
{
    pthread_t ids[THREADS_MAX];
    s->op = op;
    atomic_store(&s->stop, 0);
    atomic_store(&s->done, 0);
    atomic_store(&s->failed, 0);
    for (unsigned i = 0; i < 50; i++) /* warm up: token key cache, channels */
        (void)one(s);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&ids[i], NULL, worker, s);
    sleep(seconds);
    atomic_store(&s->stop, 1);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double elapsed = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    if (atomic_load(&s->failed) > 0)
        fprintf(stderr, "bench_signer: %llu %s operations failed\n",
                (unsigned long long)atomic_load(&s->failed), op_names[op]);
    return (double)atomic_load(&s->done) / elapsed;
}

/* The transport's ceiling (see the top of this file). */
struct echo_channel {
    int fd;
    long work_ns;
};

static long long
thread_cpu_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* In the forked process: answers each request after work_ns of CPU. */
static void *
echo_serve(void *argument)
{
    struct echo_channel *channel = argument;
    unsigned char message[256];
    for (;;) {
        ssize_t got = recv(channel->fd, message, sizeof message, 0);
        if (got <= 0)
            _exit(0);
        long long until = thread_cpu_ns() + channel->work_ns;
        while (thread_cpu_ns() < until)
            ;
        if (send(channel->fd, message, (size_t)got, 0) != got)
            _exit(0);
    }
}

struct echo_client {
    int fd;
    atomic_int *stop;
    atomic_ullong *done;
};

static void *
echo_ask(void *argument)
{
    struct echo_client *client = argument;
    unsigned char message[64] = {0};
    while (!atomic_load(client->stop)) {
        if (send(client->fd, message, sizeof message, 0) != (ssize_t)sizeof message ||
            recv(client->fd, message, sizeof message, 0) != (ssize_t)sizeof message)
            return NULL;
        atomic_fetch_add(client->done, 1);
    }
    return NULL;
}

/* Requests per second through `threads` channels to a process that spends
 * work_ns of CPU on each; -1 if the process cannot be made. Called with no
 * other thread running (the measures' are joined), so the forked child may
 * start threads of its own. */
static double
measure_ceiling(unsigned threads, unsigned seconds, long work_ns)
{
    int pairs[THREADS_MAX][2];
    unsigned made = 0;
    while (made < threads && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
                                        pairs[made]) == 0)
        made++;
    pid_t child = made == threads ? fork() : -1;
    if (child < 0) {
        for (unsigned i = 0; i < made; i++) {
            close(pairs[i][0]);
            close(pairs[i][1]);
        }
        return -1;
    }
    if (child == 0) {
        static struct echo_channel channels[THREADS_MAX];
        for (unsigned i = 0; i < threads; i++) {
            close(pairs[i][0]);
            channels[i] = (struct echo_channel){.fd = pairs[i][1], .work_ns = work_ns};
            pthread_t thread;
            if (pthread_create(&thread, NULL, echo_serve, &channels[i]) != 0)
                _exit(1);
        }
        for (;;)
            pause();
    }
    atomic_int stop = 0;
    atomic_ullong done = 0;
    struct echo_client clients[THREADS_MAX];
    pthread_t ids[THREADS_MAX];
    for (unsigned i = 0; i < threads; i++) {
        close(pairs[i][1]);
        clients[i] = (struct echo_client){.fd = pairs[i][0], .stop = &stop, .done = &done};
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&ids[i], NULL, echo_ask, &clients[i]);
    sleep(seconds);
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    for (unsigned i = 0; i < threads; i++)
        close(pairs[i][0]);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    double elapsed = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    return (double)atomic_load(&done) / elapsed;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_signer BINARY [SECONDS] [THREADS]\n");
        return 2;
    }
    unsigned seconds = argc > 2 ? (unsigned)atoi(argv[2]) : 3;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : (unsigned)(cores > 0 ? cores : 1);
    if (seconds == 0 || threads == 0 || threads > THREADS_MAX) {
        fprintf(stderr, "bench_signer: SECONDS and THREADS (1..%d) must be positive\n",
                THREADS_MAX);
        return 2;
    }
    char dir[] = "/tmp/cyberid-bench-signer-XXXXXX", keys[128], pki[128], err[512];
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(pki, sizeof pki, "%s/pki", dir);
    if (signer_create_keys(keys, pki, err, sizeof err) != 0) {
        fprintf(stderr, "bench_signer: %s\n", err);
        return 1;
    }
    struct signer_options options = {
        .keys_dir = keys, .pki_dir = pki, .issuer = ISSUER, .ocsp_url = ISSUER "/ocsp",
        .crl_url = ISSUER "/crl", .channels = threads + 1, .executable = argv[1],
        .opens_per_minute = UINT32_MAX /* the limit is not what is measured */};
    struct signer *local = NULL, *process = NULL;
    if (signer_open_local(&options, &local, err, sizeof err) != 0 ||
        signer_start(&options, &process, err, sizeof err) != 0) {
        fprintf(stderr, "bench_signer: %s\n", err);
        return 1;
    }
    static struct shared in_process, through;
    struct shared *cases[2] = {&in_process, &through};
    in_process.signer = local;
    through.signer = process;
    EVP_PKEY *device = EVP_EC_gen("P-256");
    const char record[] = "{\"name\":\"Bench Person\",\"birth_date\":\"1990-01-01\","
                          "\"national_id\":\"11010519900101001X\"}";
    for (int i = 0; i < 2; i++) {
        struct shared *s = cases[i];
        signer_token_initial_kid(s->signer, s->kid);
        uint8_t *cursor = s->spki;
        s->spki_length = (size_t)i2d_PUBKEY(device, &cursor);
        if (signer_seal_record(s->signer, "record-1", record, strlen(record), &s->sealed,
                               &s->sealed_length) != 0) {
            fprintf(stderr, "bench_signer: cannot seal the record\n");
            return 1;
        }
    }
    EVP_PKEY_free(device);

    printf("signer operations per second, %u threads, %u s each (in-process | process | "
           "ratio; target >= 0.80 for signatures)\n", threads, seconds);
    int below = 0;
    double id_token_in_process = 0;
    for (enum bench_op op = 0; op < OP_COUNT; op++) {
        double a = measure(&in_process, op, threads, seconds);
        double b = measure(&through, op, threads, seconds);
        if (op == OP_ID_TOKEN)
            id_token_in_process = a;
        double ratio = a > 0 ? b / a : 0;
        int signature = op == OP_ID_TOKEN || op == OP_CERTIFICATE;
        if (signature && ratio < 0.80)
            below = 1;
        printf("%-18s %10.0f | %10.0f | %5.2f%s\n", op_names[op], a, b, ratio,
               signature ? (ratio >= 0.80 ? "  ok" : "  BELOW TARGET") : "");
    }
    /* An ID token's CPU in-process: the threads kept min(threads, cores)
     * cores busy. */
    unsigned ncores = cores > 0 ? (unsigned)cores : 1;
    unsigned busy = threads < ncores ? threads : ncores;
    if (id_token_in_process > 0) {
        long work_ns = (long)(busy * 1e9 / id_token_in_process);
        double c = measure_ceiling(threads, seconds, work_ns);
        if (c < 0)
            fprintf(stderr, "bench_signer: cannot measure the transport's ceiling\n");
        else
            printf("%-18s %10.0f | %10.0f | %5.2f  (a process that answers after %.1f us of "
                   "CPU: the most a synchronous channel gives here)\n",
                   "transport_ceiling", id_token_in_process, c, c / id_token_in_process,
                   work_ns / 1e3);
    }
    free(in_process.sealed);
    free(through.sealed);
    signer_close(local);
    signer_close(process);
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench_signer: could not remove %s\n", dir);
    return below ? 1 : 0;
}
