/* signer_client: a signer handle, in this process or talking to the signer
 * process, and the typed calls of signer.h as messages; see signer.h.
 *
 * Channels: the process gets SIGNER channels (socketpairs), each served by
 * a thread of its own there. A calling thread takes the channel of its
 * slot (given once per thread, round robin), so two workers share a
 * channel only when there are more workers than channels, and no lock is
 * common to all calls. A channel's lock covers one request and its reply,
 * so replies never cross; the reply must still carry the request's id and
 * op, and anything else means the signer is not the one we started: it is
 * killed and started again. */
#define _GNU_SOURCE 1 /* close_range */
#include "signer/signer.h"

#include "pki/pki_x509.h"
#include "signer/signer_ops.h"
#include "signer/signer_wire.h"
#include "util/log.h"
#include "util/strings.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CHANNELS 16
#define ARGS_MAX 24
#define OPTION_TEXT_MAX 1024
/* How long a stopping signer may take to exit before it is killed. */
#define STOP_WAIT_MS 2000
/* Token public keys remembered (a kid names one key for good). */
#define PUBLIC_KEY_CACHE_SIZE 8

extern char **environ;

struct channel {
    pthread_mutex_t lock;
    int fd;                     /* -1: none (down) */
    uint64_t generation;        /* of the process fd belongs to */
};

struct signer {
    struct signer_ops *ops;     /* in-process; NULL for a process */
    /* A process: */
    pid_t pid;
    struct channel *channels;
    unsigned channel_count;
    pthread_mutex_t restart_lock;
    _Atomic uint64_t generation;
    int64_t restart_times[SIGNER_RESTARTS_MAX];
    unsigned restart_count;
    _Atomic int given_up;
    _Atomic uint32_t next_id;
    _Atomic uint64_t restarts;
    char *argv[ARGS_MAX];
    char **envp;
    void (*on_give_up)(void);
    char initial_kid[SIGNER_KID_MAX + 1];
    /* What signer_configure() said, said again to a restarted process
     * (under restart_lock; empty until then). */
    char *configuration[3];
    /* Token public keys the signer has given (public, and a kid names one
     * key for good): choosing the signing key of every ID token asks
     * whether the signer holds it, and the answer, once yes, stays yes
     * without a round trip. Only found keys are kept: a key file copied
     * to this node later is found when it is there. */
    pthread_mutex_t public_key_lock;
    struct {
        char kid[SIGNER_KID_MAX + 1];
        uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES];
        size_t length;
    } public_keys[PUBLIC_KEY_CACHE_SIZE];
    unsigned public_key_count, public_key_next;
};

static _Thread_local int outage;
static _Thread_local unsigned thread_slot;
static _Atomic unsigned next_slot;

int
signer_outage_take(void)
{
    int was = outage;
    outage = 0;
    return was;
}

int
signer_outage_peek(void)
{
    return outage;
}

/* ── Talking to the process ─────────────────────────────────────────────── */

/* One request and its reply on fd. 0 with *status and reply filled; -1
 * when the channel broke or the reply is not the answer to this request. */
static int
exchange(int fd, uint32_t id, unsigned op, const struct signer_buffer *request,
         uint16_t *status, struct signer_buffer *reply)
{
    struct signer_wire_header header = {
        .id = id, .op = (uint16_t)op, .length = (uint32_t)request->length};
    uint8_t *payload = NULL;
    if (signer_wire_send(fd, &header, request->bytes) != 0 ||
        signer_wire_receive(fd, &header, &payload, SIGNER_WIRE_PAYLOAD_MAX) != 0)
        return -1;
    if (header.id != id || header.op != op || header.zero != 0 ||
        (header.status != SIGNER_STATUS_OK && header.length != 0)) {
        log_event(LOG_ERROR, "signer.bad_reply", "{s:s}", "op", signer_op_name(op));
        if (payload != NULL) {
            secret_wipe(payload, header.length);
            free(payload);
        }
        return -1;
    }
    reply->bytes = payload;
    reply->capacity = reply->length = header.length;
    *status = header.status;
    return 0;
}

static int64_t
monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec;
}

/* Makes the channels' socketpairs, forks and execs `cyberid signer`, and
 * reads its hello on channel 0: OK with the initial kid, or the reason the
 * keys did not load. On success ours[i] are this side's ends. */
static int
spawn(struct signer *signer, int *ours, pid_t *pid, char *err, size_t errlen)
{
    unsigned n = signer->channel_count;
    int *theirs = calloc(n, sizeof *theirs);
    if (theirs == NULL)
        return error_set(err, errlen, "out of memory");
    for (unsigned i = 0; i < n; i++)
        ours[i] = theirs[i] = -1;
    int status = -1;
    for (unsigned i = 0; i < n; i++) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
            error_set(err, errlen, "socketpair: %s", strerror(errno));
            goto cleanup;
        }
        ours[i] = pair[0];
        theirs[i] = pair[1];
    }
    *pid = fork();
    if (*pid < 0) {
        error_set(err, errlen, "fork: %s", strerror(errno));
        goto cleanup;
    }
    if (*pid == 0) {
        /* The child: only async-signal-safe calls until exec. Their ends
         * go to 3..3+n-1 (first above that range, so no dup2 overwrites
         * an end not yet moved), everything else is closed. */
        int lifted[SIGNER_CHANNELS_MAX];
        for (unsigned i = 0; i < n; i++)
            if ((lifted[i] = fcntl(theirs[i], F_DUPFD, 3 + (int)n)) < 0)
                _exit(127);
        for (unsigned i = 0; i < n; i++)
            if (dup2(lifted[i], 3 + (int)i) < 0)
                _exit(127);
        close_range(3 + n, ~0u, 0);
        execve(signer->argv[0], signer->argv, signer->envp);
        _exit(127);
    }
    for (unsigned i = 0; i < n; i++) {
        close(theirs[i]);
        theirs[i] = -1;
    }
    /* The hello: id 0, op 0; OK and the initial kid, or the error text. */
    struct signer_wire_header hello;
    char text[512];
    if (signer_wire_read(ours[0], &hello, sizeof hello) != 0 || hello.id != 0 || hello.op != 0 ||
        hello.zero != 0 || hello.length == 0 || hello.length >= sizeof text ||
        signer_wire_read(ours[0], text, hello.length) != 0) {
        error_set(err, errlen, "the signer process (%s) exited before it was ready",
                  signer->argv[0]);
        goto reap;
    }
    text[hello.length] = '\0';
    if (hello.status != SIGNER_STATUS_OK) {
        error_set(err, errlen, "%s", text);
        goto reap;
    }
    if (!signer_kid_is_valid(text)) {
        error_set(err, errlen, "the signer process said hello with a bad kid");
        goto reap;
    }
    memcpy(signer->initial_kid, text, strlen(text) + 1);
    if (signer->configuration[0] != NULL) {
        struct signer_buffer request = {0}, reply = {0};
        uint16_t said = SIGNER_STATUS_FAILED;
        signer_buffer_text(&request, signer->configuration[0], SIGNER_WIRE_ISSUER_MAX);
        signer_buffer_text(&request, signer->configuration[1], SIGNER_WIRE_URL_MAX);
        signer_buffer_text(&request, signer->configuration[2], SIGNER_WIRE_URL_MAX);
        int sent = !request.failed &&
                   exchange(ours[0], 0, SIGNER_OP_CONFIGURE, &request, &said, &reply) == 0 &&
                   said == SIGNER_STATUS_OK;
        signer_buffer_clear(&request);
        signer_buffer_clear(&reply);
        if (!sent) {
            error_set(err, errlen, "the restarted signer refused its configuration");
            goto reap;
        }
    }
    status = 0;
    goto cleanup;
reap:
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
cleanup:
    for (unsigned i = 0; i < n; i++) {
        if (theirs[i] >= 0)
            close(theirs[i]);
        if (status != 0 && ours[i] >= 0) {
            close(ours[i]);
            ours[i] = -1;
        }
    }
    free(theirs);
    return status;
}

/* Waits up to STOP_WAIT_MS for pid to exit on its own, then kills it. */
static void
stop_process(pid_t pid, int kill_now)
{
    if (pid <= 0)
        return;
    if (kill_now)
        kill(pid, SIGKILL);
    for (int waited = 0; waited < STOP_WAIT_MS; waited += 10) {
        pid_t done = waitpid(pid, NULL, WNOHANG);
        if (done == pid || (done < 0 && errno == ECHILD))
            return;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* After a call saw its channel break (seen: the generation the channel had
 * then): kills the process and starts another, unless another thread has
 * done it since, or the restart budget of a minute is spent: then the
 * handle gives up and on_give_up is called once. */
static void
restart(struct signer *signer, uint64_t seen)
{
    pthread_mutex_lock(&signer->restart_lock);
    if (atomic_load(&signer->generation) != seen || atomic_load(&signer->given_up)) {
        pthread_mutex_unlock(&signer->restart_lock);
        return;
    }
    stop_process(signer->pid, 1);
    signer->pid = 0;
    int64_t now = monotonic_seconds();
    unsigned recent = 0;
    for (unsigned i = 0; i < signer->restart_count; i++)
        if (now - signer->restart_times[i] < 60)
            signer->restart_times[recent++] = signer->restart_times[i];
    signer->restart_count = recent;

    int *ours = calloc(signer->channel_count, sizeof *ours);
    pid_t pid = 0;
    char err[512] = "out of memory";
    int started = recent < SIGNER_RESTARTS_MAX && ours != NULL &&
                  spawn(signer, ours, &pid, err, sizeof err) == 0;
    uint64_t next = seen + 1;
    for (unsigned i = 0; i < signer->channel_count; i++) {
        struct channel *channel = &signer->channels[i];
        pthread_mutex_lock(&channel->lock);
        if (channel->fd >= 0)
            close(channel->fd);
        channel->fd = started ? ours[i] : -1;
        channel->generation = next;
        pthread_mutex_unlock(&channel->lock);
    }
    free(ours);
    atomic_store(&signer->generation, next);
    if (started) {
        signer->pid = pid;
        signer->restart_times[signer->restart_count++] = now;
        atomic_fetch_add(&signer->restarts, 1);
        log_event(LOG_WARN, "signer.restarted", "{s:i}", "pid", (int)pid);
        pthread_mutex_unlock(&signer->restart_lock);
        return;
    }
    atomic_store(&signer->given_up, 1);
    log_event(LOG_ERROR, "signer.given_up", "{s:s, s:i}", "reason",
              recent >= SIGNER_RESTARTS_MAX ? "restarted too often" : err, "restarts",
              (int)recent);
    pthread_mutex_unlock(&signer->restart_lock);
    if (signer->on_give_up != NULL)
        signer->on_give_up();
}

/* Sends one request: 0 with the reply (OK status), or -1 (refused, failed
 * or out of reach; the outage flag says which were out of reach). */
static int
call(struct signer *signer, unsigned op, struct signer_buffer *request,
     struct signer_buffer *reply)
{
    memset(reply, 0, sizeof *reply);
    uint16_t status = SIGNER_STATUS_FAILED;
    if (request->failed) {
        signer_buffer_clear(request);
        return -1;
    }
    if (signer->ops != NULL) {
        int rc = signer_ops_run(signer->ops, op, request->bytes, request->length, &status,
                                reply);
        /* Our own encoder made the request: malformed is a bug here. */
        assert(rc == 0);
        (void)rc;
    } else {
        if (thread_slot == 0)
            thread_slot = atomic_fetch_add(&next_slot, 1) + 1;
        struct channel *channel = &signer->channels[thread_slot % signer->channel_count];
        pthread_mutex_lock(&channel->lock);
        uint64_t seen = channel->generation;
        int broken = channel->fd < 0 ||
                     exchange(channel->fd, atomic_fetch_add(&signer->next_id, 1) + 1, op,
                              request, &status, reply) != 0;
        pthread_mutex_unlock(&channel->lock);
        if (broken) {
            signer_buffer_clear(reply);
            outage = 1;
            restart(signer, seen);
            status = SIGNER_STATUS_FAILED;
        }
    }
    signer_buffer_clear(request);
    if (status == SIGNER_STATUS_LIMITED)
        outage = 1;
    if (status != SIGNER_STATUS_OK) {
        signer_buffer_clear(reply);
        return -1;
    }
    return 0;
}

/* ── Opening ────────────────────────────────────────────────────────────── */

static void
free_args(struct signer *signer)
{
    for (size_t i = 0; i < ARGS_MAX; i++)
        free(signer->argv[i]);
    if (signer->envp != NULL) {
        for (size_t i = 0; signer->envp[i] != NULL; i++)
            free(signer->envp[i]);
        free(signer->envp);
    }
}

/* argv and envp of the process, made before any fork (the child may only
 * make async-signal-safe calls). OpenBLAS, linked into the same binary,
 * starts a thread pool from a constructor: one thread is enough there. */
static int
build_args(struct signer *signer, const struct signer_options *options)
{
    char number[32];
    size_t at = 0;
    const char *pairs[][2] = {
        {"--keys", options->keys_dir},  {"--pki", options->pki_dir},
        {"--ocsp-url", options->ocsp_url}, {"--crl-url", options->crl_url},
        {"--issuer", options->issuer},
    };
    signer->argv[at++] = strdup(options->executable ? options->executable : "/proc/self/exe");
    signer->argv[at++] = strdup("signer");
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        if (pairs[i][1] == NULL)
            continue;
        if (strnlen(pairs[i][1], OPTION_TEXT_MAX) == OPTION_TEXT_MAX)
            return -1;
        signer->argv[at++] = strdup(pairs[i][0]);
        signer->argv[at++] = strdup(pairs[i][1]);
    }
    if (options->pki_dir != NULL) {
        unsigned generations = options->generations > 0
                                   ? options->generations
                                   : pki_issuing_generations(options->pki_dir);
        snprintf(number, sizeof number, "%u", generations);
        signer->argv[at++] = strdup("--generations");
        signer->argv[at++] = strdup(number);
    }
    snprintf(number, sizeof number, "%u", signer->channel_count);
    signer->argv[at++] = strdup("--channels");
    signer->argv[at++] = strdup(number);
    snprintf(number, sizeof number, "%u", options->opens_per_minute);
    signer->argv[at++] = strdup("--opens-per-minute");
    signer->argv[at++] = strdup(number);
    snprintf(number, sizeof number, "%d", (int)getpid());
    signer->argv[at++] = strdup("--parent");
    signer->argv[at++] = strdup(number);
    for (size_t i = 0; i < at; i++)
        if (signer->argv[i] == NULL)
            return -1;

    size_t count = 0;
    while (environ[count] != NULL)
        count++;
    signer->envp = calloc(count + 2, sizeof *signer->envp);
    if (signer->envp == NULL)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "OPENBLAS_NUM_THREADS=", 21) != 0 &&
            (signer->envp[kept++] = strdup(environ[i])) == NULL)
            return -1;
    return (signer->envp[kept] = strdup("OPENBLAS_NUM_THREADS=1")) != NULL ? 0 : -1;
}

int
signer_start(const struct signer_options *options, struct signer **out, char *err,
             size_t errlen)
{
    *out = NULL;
    if (options->keys_dir == NULL || options->channels > SIGNER_CHANNELS_MAX)
        return error_set(err, errlen, "signer_start: no keys folder, or too many channels");
    struct signer *signer = calloc(1, sizeof *signer);
    if (signer == NULL)
        return error_set(err, errlen, "out of memory");
    signer->channel_count = options->channels > 0 ? options->channels : DEFAULT_CHANNELS;
    signer->on_give_up = options->on_give_up;
    signer->channels = calloc(signer->channel_count, sizeof *signer->channels);
    int *ours = calloc(signer->channel_count, sizeof *ours);
    if (signer->channels == NULL || ours == NULL ||
        pthread_mutex_init(&signer->restart_lock, NULL) != 0) {
        free(ours);
        free(signer->channels);
        free(signer);
        return error_set(err, errlen, "out of memory");
    }
    pthread_mutex_init(&signer->public_key_lock, NULL);
    for (unsigned i = 0; i < signer->channel_count; i++) {
        signer->channels[i].fd = -1;
        pthread_mutex_init(&signer->channels[i].lock, NULL);
    }
    if (build_args(signer, options) != 0) {
        error_set(err, errlen, "out of memory, or an option over %d bytes", OPTION_TEXT_MAX);
        goto fail;
    }
    if (spawn(signer, ours, &signer->pid, err, errlen) != 0)
        goto fail;
    for (unsigned i = 0; i < signer->channel_count; i++)
        signer->channels[i].fd = ours[i];
    free(ours);
    *out = signer;
    return 0;
fail:
    free(ours);
    signer_close(signer);
    return -1;
}

int
signer_open_local(const struct signer_options *options, struct signer **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    struct signer *signer = calloc(1, sizeof *signer);
    if (signer == NULL)
        return error_set(err, errlen, "out of memory");
    if (signer_ops_open(options, &signer->ops, err, errlen) != 0) {
        free(signer);
        return -1;
    }
    pthread_mutex_init(&signer->public_key_lock, NULL);
    signer_ops_initial_kid(signer->ops, signer->initial_kid);
    *out = signer;
    return 0;
}

int
signer_open(const char *keys_dir, struct signer **out, char *err, size_t errlen)
{
    struct signer_options options = {.keys_dir = keys_dir};
    return signer_open_local(&options, out, err, errlen);
}

void
signer_close(struct signer *signer)
{
    if (signer == NULL)
        return;
    signer_ops_close(signer->ops);
    if (signer->channels != NULL) {
        /* Closing the channels is the signer's signal to exit. */
        for (unsigned i = 0; i < signer->channel_count; i++) {
            if (signer->channels[i].fd >= 0)
                close(signer->channels[i].fd);
            pthread_mutex_destroy(&signer->channels[i].lock);
        }
        stop_process(signer->pid, 0);
        pthread_mutex_destroy(&signer->restart_lock);
    }
    pthread_mutex_destroy(&signer->public_key_lock);
    free(signer->channels);
    free_args(signer);
    for (size_t i = 0; i < 3; i++)
        free(signer->configuration[i]);
    free(signer);
}

int
signer_pid(struct signer *signer)
{
    if (signer->ops != NULL)
        return 0;
    pthread_mutex_lock(&signer->restart_lock);
    int pid = (int)signer->pid;
    pthread_mutex_unlock(&signer->restart_lock);
    return pid;
}

/* ── The typed calls ────────────────────────────────────────────────────── */

/* The single field of an OK reply, copied into a fresh malloc'd buffer
 * with a NUL after it. 0 or -1. */
static int
reply_bytes(struct signer_buffer *reply, uint8_t **out, size_t *length, size_t max)
{
    struct signer_reader in = {.at = reply->bytes, .left = reply->length};
    const uint8_t *bytes = NULL;
    size_t count = 0;
    *out = NULL;
    *length = 0;
    int status = -1;
    if (signer_reader_field(&in, max, &bytes, &count) == 0 && signer_reader_end(&in) == 0 &&
        (*out = malloc(count + 1)) != NULL) {
        memcpy(*out, bytes, count);
        (*out)[count] = '\0';
        *length = count;
        status = 0;
    }
    signer_buffer_clear(reply);
    return status;
}

/* The single field of an OK reply into out (exactly `exact` bytes, or at
 * most `max` when exact is 0). 0 or -1. */
static int
reply_into(struct signer_buffer *reply, void *out, size_t exact, size_t max, size_t *length)
{
    struct signer_reader in = {.at = reply->bytes, .left = reply->length};
    const uint8_t *bytes = NULL;
    size_t count = 0;
    int status = -1;
    if (signer_reader_field(&in, exact ? exact : max, &bytes, &count) == 0 &&
        signer_reader_end(&in) == 0 && (exact == 0 || count == exact)) {
        memcpy(out, bytes, count);
        if (length != NULL)
            *length = count;
        status = 0;
    }
    signer_buffer_clear(reply);
    return status;
}

int
signer_hmac(struct signer *signer, enum signer_key key, const void *message, size_t length,
            uint8_t out[SIGNER_HMAC_BYTES])
{
    struct signer_buffer request = {0}, reply = {0};
    memset(out, 0, SIGNER_HMAC_BYTES);
    if ((message == NULL && length > 0) || length > SIGNER_HMAC_MESSAGE_MAX_BYTES)
        return -1;
    signer_buffer_u64_below(&request, (uint64_t)key, SIGNER_KEY_COUNT);
    signer_buffer_field(&request, message, length, SIGNER_HMAC_MESSAGE_MAX_BYTES);
    if (call(signer, SIGNER_OP_HMAC, &request, &reply) != 0 ||
        reply_into(&reply, out, SIGNER_HMAC_BYTES, 0, NULL) != 0) {
        memset(out, 0, SIGNER_HMAC_BYTES);
        return -1;
    }
    return 0;
}

int
signer_seal_record(struct signer *signer, const char *record_id, const void *plaintext,
                   size_t length, uint8_t **sealed, size_t *sealed_length)
{
    struct signer_buffer request = {0}, reply = {0};
    *sealed = NULL;
    *sealed_length = 0;
    if ((plaintext == NULL && length > 0) || length > SIGNER_RECORD_MAX_BYTES)
        return -1;
    signer_buffer_text(&request, record_id, SIGNER_RECORD_ID_MAX_BYTES);
    signer_buffer_field(&request, plaintext, length, SIGNER_RECORD_MAX_BYTES);
    if (call(signer, SIGNER_OP_SEAL_RECORD, &request, &reply) != 0)
        return -1;
    return reply_bytes(&reply, sealed, sealed_length,
                       SIGNER_RECORD_MAX_BYTES + SIGNER_SEAL_OVERHEAD_BYTES);
}

int
signer_seal_blind(struct signer *signer, const char *prefix, const void *message,
                  size_t message_length, const void *plaintext, size_t length,
                  char record_id[SIGNER_BLIND_RECORD_ID_SIZE], uint8_t **sealed,
                  size_t *sealed_length)
{
    struct signer_buffer request = {0}, reply = {0};
    *sealed = NULL;
    *sealed_length = 0;
    record_id[0] = '\0';
    size_t prefix_length = strlen(prefix);
    if (prefix_length == 0 || prefix_length > SIGNER_BLIND_PREFIX_MAX ||
        (message == NULL && message_length > 0) ||
        message_length > SIGNER_HMAC_MESSAGE_MAX_BYTES ||
        (plaintext == NULL && length > 0) || length > SIGNER_RECORD_MAX_BYTES)
        return -1;
    signer_buffer_text(&request, prefix, SIGNER_BLIND_PREFIX_MAX);
    signer_buffer_field(&request, message, message_length, SIGNER_HMAC_MESSAGE_MAX_BYTES);
    signer_buffer_field(&request, plaintext, length, SIGNER_RECORD_MAX_BYTES);
    if (call(signer, SIGNER_OP_SEAL_BLIND, &request, &reply) != 0)
        return -1;
    /* The reply: the record id, then the sealed record. */
    struct signer_reader in = {.at = reply.bytes, .left = reply.length};
    const uint8_t *bytes = NULL;
    size_t count = 0;
    int status = -1;
    if (signer_reader_text(&in, SIGNER_BLIND_RECORD_ID_SIZE - 1, record_id) == 0 &&
        strncmp(record_id, prefix, prefix_length) == 0 &&
        strlen(record_id) == prefix_length + 2 * SIGNER_HMAC_BYTES &&
        signer_reader_field(&in, SIGNER_RECORD_MAX_BYTES + SIGNER_SEAL_OVERHEAD_BYTES, &bytes,
                            &count) == 0 &&
        signer_reader_end(&in) == 0 && count == length + SIGNER_SEAL_OVERHEAD_BYTES &&
        (*sealed = malloc(count)) != NULL) {
        memcpy(*sealed, bytes, count);
        *sealed_length = count;
        status = 0;
    }
    if (status != 0)
        record_id[0] = '\0';
    signer_buffer_clear(&reply);
    return status;
}

int
signer_open_record(struct signer *signer, const char *record_id, const uint8_t *sealed,
                   size_t sealed_length, const char *const *fields, char **json,
                   size_t *json_length)
{
    struct signer_buffer request = {0}, reply = {0};
    size_t count = 0;
    *json = NULL;
    *json_length = 0;
    while (fields[count] != NULL)
        count++;
    signer_buffer_text(&request, record_id, SIGNER_RECORD_ID_MAX_BYTES);
    signer_buffer_field(&request, sealed, sealed_length,
                        SIGNER_RECORD_MAX_BYTES + SIGNER_SEAL_OVERHEAD_BYTES);
    signer_buffer_u64_below(&request, count, SIGNER_RECORD_FIELDS_MAX + 1);
    for (size_t i = 0; i < count && !request.failed; i++)
        signer_buffer_text(&request, fields[i], SIGNER_FIELD_NAME_MAX);
    if (call(signer, SIGNER_OP_OPEN_RECORD, &request, &reply) != 0)
        return -1;
    return reply_bytes(&reply, (uint8_t **)json, json_length, SIGNER_RECORD_MAX_BYTES);
}

void
signer_free_secret(void *secret, size_t length)
{
    if (secret == NULL)
        return;
    secret_wipe(secret, length + 1);
    free(secret);
}

int
signer_issue_certificate(struct signer *signer, unsigned generation, const uint8_t *spki,
                         size_t spki_length, const char *web_number, int64_t now,
                         uint8_t **der, size_t *der_length)
{
    struct signer_buffer request = {0}, reply = {0};
    *der = NULL;
    *der_length = 0;
    signer_buffer_u64_below(&request, generation, SIGNER_ISSUING_GENERATIONS_MAX + 1);
    signer_buffer_field(&request, spki, spki_length, SIGNER_PUBLIC_KEY_MAX_BYTES);
    signer_buffer_text(&request, web_number, SIGNER_WIRE_WEB_NUMBER_MAX);
    signer_buffer_u64(&request, (uint64_t)now);
    if (call(signer, SIGNER_OP_ISSUE_CERTIFICATE, &request, &reply) != 0)
        return -1;
    return reply_bytes(&reply, der, der_length, SIGNER_WIRE_PAYLOAD_MAX);
}

int
signer_sign_ocsp(struct signer *signer, unsigned generation,
                 const struct signer_ocsp_entry *entries, size_t count, const uint8_t *nonce,
                 size_t nonce_length, int64_t now, uint8_t **der, size_t *der_length)
{
    struct signer_buffer request = {0}, reply = {0};
    *der = NULL;
    *der_length = 0;
    if (count > SIGNER_OCSP_ENTRIES_MAX || (count > 0 && entries == NULL))
        return -1;
    signer_buffer_u64_below(&request, generation, SIGNER_ISSUING_GENERATIONS_MAX + 1);
    signer_buffer_u64(&request, (uint64_t)now);
    signer_buffer_field(&request, nonce, nonce_length, SIGNER_OCSP_NONCE_MAX_BYTES);
    signer_buffer_u64_below(&request, count, SIGNER_OCSP_ENTRIES_MAX + 1);
    for (size_t i = 0; i < count; i++) {
        signer_buffer_field(&request, entries[i].cert_id, entries[i].cert_id_length,
                            SIGNER_OCSP_CERTID_MAX_BYTES);
        signer_buffer_u64_below(&request, (uint64_t)entries[i].state, SIGNER_CERT_REVOKED + 1);
        signer_buffer_u64(&request, (uint64_t)entries[i].revoked_at);
        signer_buffer_u64(&request, (uint64_t)(entries[i].reason >= 0 ? entries[i].reason : 63));
    }
    if (call(signer, SIGNER_OP_SIGN_OCSP, &request, &reply) != 0)
        return -1;
    return reply_bytes(&reply, der, der_length, SIGNER_WIRE_PAYLOAD_MAX);
}

int
signer_sign_crl(struct signer *signer, unsigned generation,
                const struct signer_crl_entry *entries, size_t count, int64_t crl_number,
                int64_t now, uint8_t **der, size_t *der_length)
{
    struct signer_buffer request = {0}, reply = {0};
    enum { ENTRY = SIGNER_SERIAL_BYTES + 16 };
    *der = NULL;
    *der_length = 0;
    if ((count > 0 && entries == NULL) || count > SIGNER_WIRE_PAYLOAD_MAX / ENTRY)
        return -1;
    uint8_t *packed = count > 0 ? malloc(count * ENTRY) : NULL;
    if (count > 0 && packed == NULL)
        return -1;
    for (size_t i = 0; i < count; i++) {
        uint8_t *at = packed + i * ENTRY;
        uint64_t reason = entries[i].reason >= 0 ? (uint64_t)entries[i].reason : 63;
        memcpy(at, entries[i].serial, SIGNER_SERIAL_BYTES);
        memcpy(at + SIGNER_SERIAL_BYTES, &entries[i].revoked_at, 8);
        memcpy(at + SIGNER_SERIAL_BYTES + 8, &reason, 8);
    }
    signer_buffer_u64_below(&request, generation, SIGNER_ISSUING_GENERATIONS_MAX + 1);
    signer_buffer_u64(&request, (uint64_t)now);
    signer_buffer_u64(&request, (uint64_t)crl_number);
    signer_buffer_field(&request, packed, count * ENTRY, SIGNER_WIRE_PAYLOAD_MAX);
    free(packed);
    if (call(signer, SIGNER_OP_SIGN_CRL, &request, &reply) != 0)
        return -1;
    return reply_bytes(&reply, der, der_length, SIGNER_WIRE_PAYLOAD_MAX);
}

int
signer_sign_id_token(struct signer *signer, const char *kid, const char *claims_json,
                     char **token)
{
    struct signer_buffer request = {0}, reply = {0};
    size_t length = 0;
    *token = NULL;
    signer_buffer_text(&request, kid, SIGNER_KID_MAX);
    signer_buffer_field(&request, claims_json, strlen(claims_json),
                        SIGNER_CLAIMS_MAX_BYTES);
    if (call(signer, SIGNER_OP_SIGN_ID_TOKEN, &request, &reply) != 0)
        return -1;
    return reply_bytes(&reply, (uint8_t **)token, &length, SIGNER_WIRE_PAYLOAD_MAX);
}

size_t
signer_pairwise_message(const char *web_number, const char *sector_id,
                        uint8_t out[SIGNER_PAIRWISE_MESSAGE_MAX])
{
    size_t web_length = strlen(web_number), sector_length = strlen(sector_id);
    if (web_length == 0 || web_length > SIGNER_WEB_NUMBER_MAX_BYTES || sector_length == 0 ||
        sector_length > SIGNER_SECTOR_MAX_BYTES)
        return 0;
    memcpy(out, web_number, web_length);
    out[web_length] = 0x00;
    memcpy(out + web_length + 1, sector_id, sector_length);
    return web_length + 1 + sector_length;
}

int
signer_sign_id_token_pairwise(struct signer *signer, const char *kid, const char *sector_id,
                              const char *web_number, const char *claims_json,
                              char sub[SIGNER_SUBJECT_SIZE], char **token)
{
    struct signer_buffer request = {0}, reply = {0};
    const uint8_t *field = NULL;
    size_t length = 0;
    *token = NULL;
    sub[0] = '\0';
    signer_buffer_text(&request, kid, SIGNER_KID_MAX);
    signer_buffer_text(&request, sector_id, SIGNER_SECTOR_MAX_BYTES);
    signer_buffer_text(&request, web_number, SIGNER_WEB_NUMBER_MAX_BYTES);
    signer_buffer_field(&request, claims_json, strlen(claims_json), SIGNER_CLAIMS_MAX_BYTES);
    if (call(signer, SIGNER_OP_SIGN_ID_TOKEN_PAIRWISE, &request, &reply) != 0)
        return -1;
    /* The reply: the sub, then the token. */
    struct signer_reader in = {.at = reply.bytes, .left = reply.length};
    int status = -1;
    if (signer_reader_text(&in, SIGNER_SUBJECT_CHARS, sub) == 0 &&
        strlen(sub) == SIGNER_SUBJECT_CHARS &&
        signer_reader_field(&in, SIGNER_WIRE_PAYLOAD_MAX, &field, &length) == 0 &&
        signer_reader_end(&in) == 0 && (*token = malloc(length + 1)) != NULL) {
        memcpy(*token, field, length);
        (*token)[length] = '\0';
        status = 0;
    }
    signer_buffer_clear(&reply);
    if (status != 0)
        sub[0] = '\0';
    return status;
}

int
signer_public_key(struct signer *signer, enum signer_key key,
                  uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    struct signer_buffer request = {0}, reply = {0};
    signer_buffer_u64_below(&request, (uint64_t)key, SIGNER_KEY_COUNT);
    signer_buffer_u64_below(&request, 1, SIGNER_ISSUING_GENERATIONS_MAX + 1);
    if (call(signer, SIGNER_OP_PUBLIC_KEY, &request, &reply) != 0)
        return -1;
    return reply_into(&reply, out, 0, SIGNER_PUBLIC_KEY_MAX_BYTES, length);
}

int
signer_issuing_public_key(struct signer *signer, unsigned generation,
                          uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    struct signer_buffer request = {0}, reply = {0};
    signer_buffer_u64_below(&request, SIGNER_KEY_ISSUING_CA, SIGNER_KEY_COUNT);
    signer_buffer_u64_below(&request, generation, SIGNER_ISSUING_GENERATIONS_MAX + 1);
    if (call(signer, SIGNER_OP_PUBLIC_KEY, &request, &reply) != 0)
        return -1;
    return reply_into(&reply, out, 0, SIGNER_PUBLIC_KEY_MAX_BYTES, length);
}

int
signer_token_public_key(struct signer *signer, const char *kid,
                        uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    struct signer_buffer request = {0}, reply = {0};
    if (!signer_kid_is_valid(kid))
        return -1;
    int found = 0;
    pthread_mutex_lock(&signer->public_key_lock);
    for (unsigned i = 0; i < signer->public_key_count && !found; i++) {
        if (strcmp(signer->public_keys[i].kid, kid) == 0) {
            memcpy(out, signer->public_keys[i].spki, signer->public_keys[i].length);
            *length = signer->public_keys[i].length;
            found = 1;
        }
    }
    pthread_mutex_unlock(&signer->public_key_lock);
    if (found)
        return 0;
    signer_buffer_text(&request, kid, SIGNER_KID_MAX);
    if (call(signer, SIGNER_OP_TOKEN_PUBLIC_KEY, &request, &reply) != 0 ||
        reply_into(&reply, out, 0, SIGNER_PUBLIC_KEY_MAX_BYTES, length) != 0)
        return -1;
    /* signer_kid_is_valid() bounded kid by SIGNER_KID_MAX. */
    pthread_mutex_lock(&signer->public_key_lock);
    unsigned slot = signer->public_key_count < PUBLIC_KEY_CACHE_SIZE
                        ? signer->public_key_count++
                        : signer->public_key_next++ % PUBLIC_KEY_CACHE_SIZE;
    memcpy(signer->public_keys[slot].kid, kid, strlen(kid) + 1);
    memcpy(signer->public_keys[slot].spki, out, *length);
    signer->public_keys[slot].length = *length;
    pthread_mutex_unlock(&signer->public_key_lock);
    return 0;
}

int
signer_configure(struct signer *signer, const char *issuer, const char *ocsp_url,
                 const char *crl_url)
{
    struct signer_buffer request = {0}, reply = {0};
    signer_buffer_text(&request, issuer, SIGNER_WIRE_ISSUER_MAX);
    signer_buffer_text(&request, ocsp_url, SIGNER_WIRE_URL_MAX);
    signer_buffer_text(&request, crl_url, SIGNER_WIRE_URL_MAX);
    if (call(signer, SIGNER_OP_CONFIGURE, &request, &reply) != 0)
        return -1;
    signer_buffer_clear(&reply);
    if (signer->ops != NULL)
        return 0;
    pthread_mutex_lock(&signer->restart_lock);
    const char *said[3] = {issuer, ocsp_url, crl_url};
    int status = 0;
    for (size_t i = 0; i < 3; i++) {
        free(signer->configuration[i]);
        if ((signer->configuration[i] = strdup(said[i])) == NULL)
            status = -1;
    }
    pthread_mutex_unlock(&signer->restart_lock);
    return status;
}

void
signer_token_initial_kid(struct signer *signer, char kid[SIGNER_KID_MAX + 1])
{
    memcpy(kid, signer->initial_kid, sizeof signer->initial_kid);
}

int
signer_stats(struct signer *signer, struct signer_stats *out)
{
    struct signer_buffer request = {0}, reply = {0};
    memset(out, 0, sizeof *out);
    if (call(signer, SIGNER_OP_STATS, &request, &reply) != 0)
        return -1;
    struct signer_reader in = {.at = reply.bytes, .left = reply.length};
    for (size_t i = 0; i < SIGNER_STATS_OPS; i++)
        (void)signer_reader_u64(&in, &out->done[i]);
    for (size_t i = 0; i < SIGNER_STATS_OPS; i++)
        (void)signer_reader_u64(&in, &out->refused[i]);
    (void)signer_reader_u64(&in, &out->limited);
    int status = signer_reader_end(&in);
    signer_buffer_clear(&reply);
    if (signer->ops == NULL)
        out->restarts = atomic_load(&signer->restarts);
    return status;
}

const char *
signer_stats_name(unsigned i)
{
    return i > 0 && i < SIGNER_OP_END ? signer_op_name(i) : "";
}

int
signer_log_key(struct signer *signer, char origin[SIGNER_LOG_ORIGIN_MAX],
               char vkey[SIGNER_LOG_VKEY_MAX])
{
    struct signer_buffer request = {0}, reply = {0};
    origin[0] = vkey[0] = '\0';
    if (call(signer, SIGNER_OP_LOG_KEY, &request, &reply) != 0)
        return -1;
    struct signer_reader in = {.at = reply.bytes, .left = reply.length};
    int status = signer_reader_text(&in, SIGNER_LOG_ORIGIN_MAX - 1, origin) == 0 &&
                         signer_reader_text(&in, SIGNER_LOG_VKEY_MAX - 1, vkey) == 0 &&
                         signer_reader_end(&in) == 0
                     ? 0
                     : -1;
    signer_buffer_clear(&reply);
    return status;
}

int
signer_sign_checkpoint(struct signer *signer, int64_t size,
                       const uint8_t root[SIGNER_LOG_ROOT_BYTES], int64_t old_size,
                       const uint8_t old_root[SIGNER_LOG_ROOT_BYTES], const uint8_t *proof,
                       size_t proof_length, char **note)
{
    struct signer_buffer request = {0}, reply = {0};
    size_t length = 0;
    *note = NULL;
    if (size < 0 || old_size < 0 || proof_length > SIGNER_LOG_PROOF_MAX ||
        (proof_length > 0 && proof == NULL))
        return -1;
    signer_buffer_u64(&request, (uint64_t)size);
    signer_buffer_field(&request, root, SIGNER_LOG_ROOT_BYTES, SIGNER_LOG_ROOT_BYTES);
    signer_buffer_u64(&request, (uint64_t)old_size);
    signer_buffer_field(&request, old_root, SIGNER_LOG_ROOT_BYTES, SIGNER_LOG_ROOT_BYTES);
    signer_buffer_field(&request, proof, proof_length * SIGNER_LOG_ROOT_BYTES,
                        SIGNER_LOG_PROOF_MAX * SIGNER_LOG_ROOT_BYTES);
    if (call(signer, SIGNER_OP_SIGN_CHECKPOINT, &request, &reply) != 0)
        return -1;
    struct signer_reader in = {.at = reply.bytes, .left = reply.length};
    const uint8_t *bytes = NULL;
    int status = -1;
    if (signer_reader_field(&in, SIGNER_NOTE_MAX - 1, &bytes, &length) == 0 &&
        signer_reader_end(&in) == 0 && (*note = malloc(length + 1)) != NULL) {
        memcpy(*note, bytes, length);
        (*note)[length] = '\0';
        status = 0;
    }
    signer_buffer_clear(&reply);
    return status;
}
