/* janitor: deletes expired rows (challenges, attempt limits, single-use
 * token ids, logins, codes, tokens) and ends the suspensions whose end
 * date has come (identity_end_suspensions) in the background of `cyberid
 * serve`,
 * so that requests never delete before they insert, and holds what
 * anonymous requests leave pending (logins, challenges) under a ceiling,
 * the oldest beyond it deleted first (store_trim_pending()). Many nodes share a database:
 * each runs a janitor, and a lease in the database (store_lease_take())
 * lets one of them work at a time; when its node stops, the lease expires
 * and another takes over. */
#ifndef CYBERID_JANITOR_H
#define CYBERID_JANITOR_H

#include "signer/signer.h"
#include "store/store.h"

#include <stdint.h>

#define JANITOR_DEFAULT_INTERVAL 60     /* seconds between rounds */
#define JANITOR_DEFAULT_CEILING 5000000 /* pending logins, and challenges */
#define JANITOR_NICE 10                 /* the janitor thread's nice value */

struct janitor;

/* Starts the janitor thread, which runs a round every `interval` seconds
 * (the first at once), holding pending rows under `ceiling` (0: no
 * ceiling). 0 and *out, or -1 with err. */
int janitor_start(struct store *store, struct signer *signer, unsigned interval, int64_t ceiling,
                  struct janitor **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* One round, for tests and for the thread: takes or renews the lease for
 * `holder` at `now` and, if held, purges, then trims pending rows to
 * `ceiling` (0: not). *held says whether it did; counts (may be NULL)
 * what went. 0, or -1 on a store failure. */
int janitor_round(struct store *store, struct signer *signer, const char *holder, int64_t now,
                  unsigned interval, int64_t ceiling, int *held,
                  struct store_purge_counts *counts) __attribute__((warn_unused_result));

/* Stops the thread (waits for a round in progress) and frees it. NULL
 * allowed. */
void janitor_stop(struct janitor *janitor);

#endif
