/* sequencer: puts the audit events into the transparency log (audit/log.h)
 * in the background of `cyberid serve`, a batch every interval (one node
 * at a time: the log's lock), so that no request waits for the tree. It
 * runs only when the data folder has a checkpoint key. After its batches
 * it has the latest checkpoint cosigned by the witnesses, if any
 * (cosigning.h; a slow witness delays the next batch by its timeouts at
 * most). */
#ifndef CYBERID_SEQUENCER_H
#define CYBERID_SEQUENCER_H

#include "service/cosigning.h"
#include "signer/signer.h"
#include "store/store.h"

#define SEQUENCER_DEFAULT_INTERVAL_MS 500

struct sequencer;

/* Starts the thread; cosigning (NULL: no witness) is used by it alone
 * until sequencer_stop(), and stays the caller's. 0 and *out, or -1 with
 * err. */
int sequencer_start(struct store *store, struct signer *signer, struct cosigning *cosigning,
                    unsigned interval_ms, struct sequencer **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Stops it (a batch in progress finishes) and frees it. NULL allowed. */
void sequencer_stop(struct sequencer *sequencer);

#endif
