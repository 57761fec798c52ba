/* witness: a C2SP tlog-witness (https://c2sp.org/tlog-witness) for the
 * transparency logs it is told to follow: the decision of
 * POST /add-checkpoint and the witness's state folder.
 *
 * A witness keeps, per log (by origin), the last checkpoint it cosigned.
 * It cosigns a new checkpoint of that log only when the log's key signed
 * it and an RFC 9162 consistency proof shows it extends the one it
 * cosigned last; so two citizens shown two different trees cannot both
 * get the same witness's cosignature, and a log that rewrote its history
 * gets none. The first checkpoint of a log is taken on trust (old size 0).
 *
 * The state folder (mode 0700) holds:
 *   witness.key.pem   the Ed25519 private key (PKCS#8 PEM, mode 0600)
 *   witness.vkey      the verifier key, "<name>+<key ID>+<base64>"
 *                     (signature type 0x04, cosignature/v1)
 *   logs/<SHA-256 of the origin, hex>
 *                     the last checkpoint cosigned for that origin, as
 *                     the log signed it, replaced atomically (a new file,
 *                     fsync, rename, fsync of the folder) before the
 *                     cosignature leaves
 *   witness.lock      held (flock) by the process serving the folder, so
 *                     two processes never cosign from one state.
 *
 * Threading: witness_add_checkpoint() may be called from many threads at
 * once; the check of the old size and the write of the new state happen
 * under one lock (C2SP: a smaller tree must never replace a larger one). */
#ifndef CYBERID_WITNESS_H
#define CYBERID_WITNESS_H

#include "audit/tlog.h"

#include <stddef.h>
#include <stdint.h>

/* Logs one witness follows, at most. */
#define WITNESS_LOGS_MAX 16
/* A request body: "old N\n", at most 63 proof lines of 45 bytes, a blank
 * line and a checkpoint with a few signatures fit well under this. */
#define WITNESS_BODY_MAX (16 * 1024)
/* C2SP tlog-witness: "The client MUST NOT send more than 63 consistency
 * proof lines." */
#define WITNESS_PROOF_LINES_MAX 63
#define WITNESS_REPLY_MAX 512

struct witness;

/* `cyberid-witness init`: makes the state folder (it may exist, empty of
 * a key), a new Ed25519 key and the verifier key of `name` (a checkpoint
 * origin's characters: printable ASCII without space or "+", shorter than
 * TLOG_ORIGIN_MAX), written to vkey. Refuses a folder that has a key.
 * 0, or -1 with err (nothing half made is left as a key). */
int witness_init(const char *state_dir, const char *name, char vkey[TLOG_VKEY_MAX], char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* Opens a state folder made by witness_init() to witness the logs whose
 * verifier keys (type 0x01, one origin each, no origin twice) are
 * log_vkeys. 0 and *out, or -1 with err (a folder another process
 * serves is refused). */
int witness_open(const char *state_dir, const char *const *log_vkeys, size_t log_count,
                 struct witness **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Releases the key and the lock. NULL allowed. */
void witness_close(struct witness *witness);

/* The witness's verifier key (owned by the witness). */
const char *witness_vkey(const struct witness *witness);

/* The answer to one add-checkpoint request. */
struct witness_reply {
    unsigned status;
    /* 200: the cosignature line(s); 409: the size cosigned last and a
     * newline (Content-Type text/x.tlog.size); otherwise an error code
     * (invalid_request, unknown_log, bad_signature, inconsistent). */
    const char *content_type;   /* for 200 and 409; NULL otherwise */
    char body[WITNESS_REPLY_MAX];
    size_t length;
    char description[256];      /* why, for a 4xx other than 409 */
};

/* POST /add-checkpoint with `request` (length bytes, untrusted) at unix
 * time `now` (the cosignature's timestamp). reply->status:
 *   200 cosigned, after the new state was written
 *   400 a malformed request, old size larger than the checkpoint's, or a
 *       proof given with old size 0
 *   403 no signature of the log's key verifies
 *   404 the origin is not a log this witness follows
 *   409 old size is not the size last cosigned (body: that size), or the
 *       same size with another root
 *   422 the consistency proof does not verify
 * 0 with *reply filled, or -1 when the state could not be read or
 * written or the key could not sign (nothing cosigned, state unchanged). */
int witness_add_checkpoint(struct witness *witness, const char *request, size_t length,
                           int64_t now, struct witness_reply *reply)
    __attribute__((warn_unused_result));

/* The checkpoint last cosigned for origin: *size 0 when none (root then
 * untouched). 0 or -1 (unknown origin, unreadable state). */
int witness_cosigned(struct witness *witness, const char *origin, int64_t *size,
                     tlog_hash *root) __attribute__((warn_unused_result));

#endif
