/* janitor: the expiry of rows, one node at a time; see janitor.h. */
#include "service/janitor.h"

#include "enroll/identity.h"

#include "util/encoding.h"
#include "util/log.h"
#include "util/periodic.h"
#include "util/strings.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LEASE_NAME "janitor"
#define HOLDER_MAX 128

struct janitor {
    struct store *store;
    struct signer *signer;      /* seals the events of ended suspensions */
    unsigned interval;
    int64_t ceiling;
    char holder[HOLDER_MAX];
    struct periodic *thread;
};

int
janitor_round(struct store *store, struct signer *signer, const char *holder, int64_t now, unsigned interval,
              int64_t ceiling, int *held, struct store_purge_counts *counts)
{
    struct store_purge_counts ignored;
    if (counts == NULL)
        counts = &ignored;
    memset(counts, 0, sizeof *counts);
    *held = 0;
    struct store_conn *conn = store_acquire(store);
    /* The lease outlives two missed rounds, so a slow round does not let
     * a second janitor in, and a stopped node is replaced within three. */
    int status = store_lease_take(conn, LEASE_NAME, holder, now, 3 * (int64_t)interval,
                                  held);
    if (status == 0 && *held)
        status = store_purge_expired(conn, now, counts);
    if (status == 0 && *held && ceiling > 0) {
        status = store_trim_pending(conn, now, ceiling, &counts->trimmed_logins,
                                    &counts->trimmed_challenges);
        /* The operator should know the service is turning logins away. */
        if (status == 0 && (counts->trimmed_logins > 0 || counts->trimmed_challenges > 0))
            log_event(LOG_WARN, "pending_ceiling_reached", "{s:I, s:I, s:I}", "ceiling",
                      (json_int_t)ceiling, "logins_dropped",
                      (json_int_t)counts->trimmed_logins, "challenges_dropped",
                      (json_int_t)counts->trimmed_challenges);
    }
    if (status != 0)
        log_event(LOG_WARN, "janitor_failed", "{s:s}", "error", store_last_error(conn));
    store_release(store, conn);
    /* Suspensions whose end date has come end by themselves. */
    int64_t ended = 0;
    if (status == 0 && *held) {
        status = identity_end_suspensions(store, signer, now, &ended);
        if (status != 0)
            log_event(LOG_WARN, "janitor_failed", "{s:s}", "error",
                      "cannot end the suspensions that are due");
        else if (ended > 0)
            log_event(LOG_INFO, "suspensions_ended", "{s:I}", "identities", (json_int_t)ended);
    }
    return status;
}

/* One round of the thread. */
static void
run(void *argument)
{
    struct janitor *janitor = argument;
    /* Purging is background work: on a busy core the requests go first
     * (docs/bench.md, "The janitor's purge"). On Linux a thread id names
     * the one thread (setpriority(2), "BUGS"); lowering its priority needs
     * no privilege. A batch it is preempted in holds SQLite's writer, but
     * the requests that then wait for it sleep and leave it the core. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), JANITOR_NICE) != 0)
        log_event(LOG_WARN, "janitor_priority", "{s:s}", "error", strerror(errno));
    int held = 0;
    struct store_purge_counts counts;
    if (janitor_round(janitor->store, janitor->signer, janitor->holder, (int64_t)time(NULL),
                      janitor->interval, janitor->ceiling, &held, &counts) == 0 &&
        held)
        log_event(LOG_DEBUG, "janitor_purged", "{s:I, s:I, s:I, s:I, s:I}", "challenges",
                  (json_int_t)counts.challenges, "attempts", (json_int_t)counts.attempts,
                  "used_tokens", (json_int_t)counts.used_tokens, "logins",
                  (json_int_t)counts.logins, "tokens", (json_int_t)counts.tokens);
}

int
janitor_start(struct store *store, struct signer *signer, unsigned interval, int64_t ceiling,
              struct janitor **out, char *err, size_t errlen)
{
    if (interval == 0 || interval > UINT_MAX / 1000)
        return error_set(err, errlen, "the janitor's interval must be 1 to %u s",
                         UINT_MAX / 1000);
    if (ceiling < 0)
        return error_set(err, errlen, "the pending ceiling must not be negative");
    struct janitor *janitor = calloc(1, sizeof *janitor);
    if (janitor == NULL)
        return error_set(err, errlen, "out of memory");
    janitor->store = store;
    janitor->signer = signer;
    janitor->interval = interval;
    janitor->ceiling = ceiling;
    /* Who holds the lease, for an operator reading the table: host, pid
     * and a random tag (two nodes may share a host name and a pid). */
    uint8_t tag[6];
    char tag_hex[HEX_ENCODED_SIZE(sizeof tag)];
    char host[64] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    if (RAND_bytes(tag, sizeof tag) != 1 || hex_encode(tag, sizeof tag, tag_hex,
                                                       sizeof tag_hex) != 0 ||
        string_format(janitor->holder, sizeof janitor->holder, "%s:%ld:%s", host,
                      (long)getpid(), tag_hex) != 0) {
        free(janitor);
        return error_set(err, errlen, "cannot name the janitor");
    }
    if (periodic_start(interval * 1000, run, janitor, &janitor->thread, err, errlen) != 0) {
        free(janitor);
        return -1;
    }
    *out = janitor;
    return 0;
}

void
janitor_stop(struct janitor *janitor)
{
    if (janitor == NULL)
        return;
    periodic_stop(janitor->thread);
    free(janitor);
}
