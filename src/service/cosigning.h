/* cosigning: the transparency log's checkpoints sent to witnesses (C2SP
 * tlog-witness, e.g. cyberid-witness), and their cosignatures added to
 * the stored note, so that GET /log/checkpoint and a citizen's history
 * carry them. A citizen whose app requires a witness's cosignature then
 * knows the tree it was shown is the one that witness saw: the operator
 * cannot show one citizen another history without that witness refusing
 * to cosign it.
 *
 * The sequencer (sequencer.h) runs a round after its batches. A round
 * reads the latest checkpoint and sends it to each witness whose valid
 * cosignature it lacks, with the consistency proof from the size that
 * witness cosigned last: at first (or after a restart) from 0 with no
 * proof; on 409 the witness names its size and the request is sent once
 * more from there. The cosignature lines that verify with the witness's
 * configured key are appended to the stored note (only over the note
 * read: store_log_set_note). A witness that fails (down, slow, refusing)
 * is logged (warn) and tried again after a pause that doubles from 1 s
 * to 60 s; the log goes on meanwhile, its checkpoints uncosigned. Each
 * request is bounded: COSIGNING_CONNECT_TIMEOUT_MS to connect,
 * COSIGNING_TIMEOUT_MS in all, COSIGNING_ANSWER_MAX bytes of answer.
 *
 * Not thread-safe: one caller (the sequencer's thread). */
#ifndef CYBERID_COSIGNING_H
#define CYBERID_COSIGNING_H

#include "audit/tlog.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

/* Witnesses at most: each adds a line of up to TLOG_COSIGNATURE_LINE_MAX
 * to a note stored in STORE_NOTE_MAX bytes. */
#define COSIGNING_WITNESSES_MAX 4
#define COSIGNING_URL_MAX 512
#define COSIGNING_CONNECT_TIMEOUT_MS 2000L
#define COSIGNING_TIMEOUT_MS 5000L
#define COSIGNING_ANSWER_MAX 4096
#define COSIGNING_RETRY_FIRST_MS 1000
#define COSIGNING_RETRY_MAX_MS 60000

struct cosigning_witness {
    char url[COSIGNING_URL_MAX];     /* its submission prefix, no trailing slash */
    char vkey[TLOG_VKEY_MAX];        /* its cosignature/v1 verifier key */
};

/* Parses `cyberid serve --witness URL=VKEY`: an http:// or https:// URL
 * without "=" (requests go to URL/add-checkpoint) and the witness's
 * verifier key (type 0x04). 0, or -1 with err. */
int cosigning_parse_witness(const char *argument, struct cosigning_witness *out, char *err,
                            size_t errlen) __attribute__((warn_unused_result));

struct cosigning;

/* The witnesses (1 to COSIGNING_WITNESSES_MAX, copied; no key twice).
 * Initialises libcurl. 0 and *out, or -1 with err. */
int cosigning_new(const struct cosigning_witness *witnesses, size_t count,
                  struct cosigning **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* NULL allowed. */
void cosigning_free(struct cosigning *cosigning);

/* One round (above). *added: the cosignatures added to the stored note.
 * 0, or -1 when the database could not be read or written (a witness's
 * failure is not one: it is logged, and retried later). */
int cosigning_round(struct cosigning *cosigning, struct store *store, int *added)
    __attribute__((warn_unused_result));

#endif
