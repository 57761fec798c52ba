/* log: the transparency log over every audit event.
 *
 * Each event (audit.h) is a leaf: its public data is a commitment,
 * SHA-256(salt || event), with the event written canonically (JSON, keys
 * sorted, no spaces: {"action","actor","details","subject","time"}, made
 * when the event is appended and stored with it; events from before
 * sealed events have "sequence" too, and the sequencer commits to them)
 * and a random 16-byte salt kept with the event (sealed, for a citizen's
 * event), so a leaf says nothing about who did what, while the event's
 * holder can show it is in the log. The tree is RFC 9162's (tlog.h), stored as hashes in the
 * database; each batch the sequencer adds is closed by a checkpoint that
 * the signer signs (signer_sign_checkpoint: C2SP signed note), after
 * checking it extends the one before.
 *
 * Appends are batched: audit_append() writes the event in the caller's
 * transaction and nothing else, so logins do not queue behind the tree;
 * log_integrate() (the sequencer, a thread of `cyberid serve` every half
 * second) takes the commitments of the events not in the tree yet, in
 * sequence order, and puts them in, one node at a time (store_log_lock);
 * it never opens a sealed event.
 *
 * log_history() answers a citizen's GET /v1/me/history: their events
 * with inclusion proofs, and the consistency proof from the checkpoint
 * their app saw last.
 *
 * Witnesses (C2SP tlog-witness, cyberid-witness) cosign the checkpoints
 * when `cyberid serve --witness` names them: service/cosigning.h sends
 * each new one with log_consistency_proof() and adds the cosignature
 * lines to the stored note (store_log_set_note); log_verify() reads such
 * notes as any other. */
#ifndef CYBERID_AUDIT_LOG_H
#define CYBERID_AUDIT_LOG_H

#include "audit/tlog.h"
#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

/* Events a batch takes at most. */
#define LOG_BATCH_MAX 4096

/* The commitment of an event with its salt (the leaf's data). 0 or -1
 * (details that are not a JSON object). */
int log_commitment(const struct store_audit_event *event,
                   const uint8_t salt[STORE_LOG_SALT_BYTES], uint8_t out[TLOG_HASH_BYTES])
    __attribute__((warn_unused_result));

/* One batch of the sequencer: up to `max` pending events into the tree
 * and a signed checkpoint over it, in one transaction. *added is how many
 * (0: nothing pending, or another node holds the lock). 0, or -1 with
 * the reason in err (nothing written). */
int log_integrate(struct store *store, struct signer *signer, int64_t max, int64_t now,
                  int64_t *added, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The RFC 9162 consistency proof from the tree of old_size leaves to the
 * tree of `size` (1 <= old_size <= size <= the log's size), read from the
 * stored hashes (what a witness is sent). 0, or -1 (sizes out of range,
 * a database failure). */
int log_consistency_proof(struct store_conn *conn, int64_t old_size, int64_t size,
                          tlog_hash proof[TLOG_PROOF_MAX], size_t *length)
    __attribute__((warn_unused_result));

/* What log_verify() found. */
struct log_report {
    int64_t leaves;         /* in the tree */
    int64_t checkpoints;    /* checked */
    int64_t events;         /* events checked against their leaves */
    int64_t pending;        /* events not in the tree yet */
    char problem[256];      /* the first mismatch, "" when none */
};

/* `cyberid log verify`: recomputes the tree from the stored leaves and
 * compares every stored hash; checks each checkpoint's root against the
 * tree at its size, its signature with the log key (vkey, C2SP verifier
 * key) and its consistency with the one before; recomputes each event's
 * commitment (opening sealed events with the signer) and compares it with
 * its leaf, and that every leaf has its event. 0 with report->problem
 * empty when all holds, 1 with the first mismatch in report->problem, -1
 * when the database could not be read. */
int log_verify(struct store_conn *conn, struct signer *signer, const char *vkey,
               struct log_report *report) __attribute__((warn_unused_result));

/* A citizen's history (GET /v1/me/history): the events of `citizens`
 * (their web number, and "registry:<record id>" for what was tried on
 * their number before they enrolled), opened with the signer, with, for
 * each one in the tree, its salt and its inclusion proof against the
 * latest checkpoint; and, when 0 < since <= its size, the consistency
 * proof from the tree of `since` leaves (the checkpoint the app saw
 * last). *out: {"checkpoint": note, "size", "consistency": [base64],
 * "entries": [{"leaf", "form" (2: committed when appended, 1: with its
 * sequence), "sequence", "time", "actor", "action", "subject", "details",
 * "salt", "proof": [base64]}], "pending": events not in it yet}. 0, 1
 * when the log has no checkpoint yet, -1. */
int log_history(struct store_conn *conn, struct signer *signer, const char *const *citizens,
                size_t citizen_count, int64_t since, json_t **out)
    __attribute__((warn_unused_result));

/* The bytes of a tile of the tree of `size` leaves (tlog-tiles: width
 * hashes, 32 bytes each), into out (width * 32 bytes). 0, 1 when the tile
 * does not exist at that size (or is wider than it), -1 on a database
 * failure. */
int log_tile(struct store_conn *conn, int64_t size, int level, int64_t n, int width,
             uint8_t *out) __attribute__((warn_unused_result));

#endif
