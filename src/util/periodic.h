/* periodic: a background thread that runs a round of work at once and
 * then every interval until it is stopped (the janitor's purges, the log
 * sequencer's batches). A stop wakes the thread from its wait at once and
 * returns when the round under way, if any, has ended. */
#ifndef CYBERID_PERIODIC_H
#define CYBERID_PERIODIC_H

#include <stddef.h>

struct periodic;

/* Starts the thread: round(context) now, then interval_ms (> 0) after the
 * end of each round. 0, or -1 with err (nothing started). */
int periodic_start(unsigned interval_ms, void (*round)(void *context), void *context,
                   struct periodic **out, char *err, size_t errlen)
    __attribute__((warn_unused_result, nonnull(2, 4)));

/* Stops the thread, waits for it and frees it. NULL allowed. */
void periodic_stop(struct periodic *periodic);

#endif
