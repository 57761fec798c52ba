/* sequencer: the transparency log's batches; see sequencer.h. */
#include "service/sequencer.h"

#include "audit/log.h"
#include "util/log.h"
#include "util/periodic.h"
#include "util/strings.h"

#include <jansson.h>
#include <stdlib.h>
#include <time.h>

struct sequencer {
    struct store *store;
    struct signer *signer;
    struct cosigning *cosigning;
    struct periodic *thread;
};

/* One round: batches back to back while events wait, then cosigning. */
static void
run(void *argument)
{
    struct sequencer *sequencer = argument;
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
    if (periodic_start(interval_ms, run, sequencer, &sequencer->thread, err, errlen) != 0) {
        free(sequencer);
        return -1;
    }
    *out = sequencer;
    return 0;
}

void
sequencer_stop(struct sequencer *sequencer)
{
    if (sequencer == NULL)
        return;
    periodic_stop(sequencer->thread);
    free(sequencer);
}
