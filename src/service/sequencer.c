/* sequencer: the transparency log's batches; see sequencer.h. */
#include "service/sequencer.h"

#include "audit/log.h"
#include "util/log.h"
#include "util/strings.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct sequencer {
    struct store *store;
    struct signer *signer;
    struct cosigning *cosigning;
    unsigned interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
};

static void *
run(void *argument)
{
    struct sequencer *sequencer = argument;
    pthread_mutex_lock(&sequencer->lock);
    while (!sequencer->stopping) {
        pthread_mutex_unlock(&sequencer->lock);
        int64_t added = 0;
        char err[256];
        /* Batches back to back while events wait, then a pause. */
        do {
            if (log_integrate(sequencer->store, sequencer->signer, LOG_BATCH_MAX,
                              (int64_t)time(NULL), &added, err, sizeof err) != 0) {
                log_event(LOG_WARN, "log_integrate_failed", "{s:s}", "error", err);
                added = 0;
            } else if (added > 0) {
                log_event(LOG_DEBUG, "log_integrated", "{s:I}", "events", (json_int_t)added);
            }
        } while (added == LOG_BATCH_MAX);
        int cosigned = 0;
        if (sequencer->cosigning != NULL &&
            cosigning_round(sequencer->cosigning, sequencer->store, &cosigned) != 0)
            log_event(LOG_WARN, "log_cosigning_failed", "{s:s}", "error",
                      "the log's store could not be read or written");
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(sequencer->interval_ms % 1000) * 1000000L;
        until.tv_sec += sequencer->interval_ms / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&sequencer->lock);
        while (!sequencer->stopping &&
               pthread_cond_timedwait(&sequencer->wake, &sequencer->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&sequencer->lock);
    return NULL;
}

int
sequencer_start(struct store *store, struct signer *signer, struct cosigning *cosigning,
                unsigned interval_ms, struct sequencer **out, char *err, size_t errlen)
{
    *out = NULL;
    if (interval_ms == 0)
        return error_set(err, errlen, "the sequencer's interval must be at least 1 ms");
    struct sequencer *sequencer = calloc(1, sizeof *sequencer);
    if (sequencer == NULL)
        return error_set(err, errlen, "out of memory");
    sequencer->store = store;
    sequencer->signer = signer;
    sequencer->cosigning = cosigning;
    sequencer->interval_ms = interval_ms;
    pthread_mutex_init(&sequencer->lock, NULL);
    pthread_cond_init(&sequencer->wake, NULL);
    if (pthread_create(&sequencer->thread, NULL, run, sequencer) != 0) {
        pthread_cond_destroy(&sequencer->wake);
        pthread_mutex_destroy(&sequencer->lock);
        free(sequencer);
        return error_set(err, errlen, "cannot start the sequencer thread");
    }
    *out = sequencer;
    return 0;
}

void
sequencer_stop(struct sequencer *sequencer)
{
    if (sequencer == NULL)
        return;
    pthread_mutex_lock(&sequencer->lock);
    sequencer->stopping = 1;
    pthread_cond_signal(&sequencer->wake);
    pthread_mutex_unlock(&sequencer->lock);
    pthread_join(sequencer->thread, NULL);
    pthread_cond_destroy(&sequencer->wake);
    pthread_mutex_destroy(&sequencer->lock);
    free(sequencer);
}
