/* audit: the functions every state change calls.
 *
 * Each event records who acted (actor), what was done (action), on what
 * (subject: opaque ids such as a record id, a client id or a web number,
 * never a name or an ID number) and details that name things without their
 * values (claims disclosed by name, counts, reason codes). They are
 * appended in the caller's transaction, so a state change and its event
 * commit or roll back together.
 *
 * Two kinds:
 *  - an operator-level event (audit_append: the service set up, a platform
 *    added, a key rotated, a registry imported) is a plain row;
 *  - a citizen's event (audit_append_citizen: anything done to or by one
 *    identity, or tried on one registry record) is sealed: its actor,
 *    subject, details and salt are one record sealed by the signer
 *    (signer_seal_record), and the row's subject is a blind index of the
 *    citizen (audit_citizen_subject), so that a copy of the database says
 *    neither whose events these are nor which platform asked for what.
 *    What stays readable: the time and the action ("login.approved").
 *
 * Each event gets a random salt and its commitment (tlog.h, form 2) when
 * it is appended; the sequencer then puts the commitment in the
 * transparency log (log.h) under a signed checkpoint, so an event altered
 * or deleted afterwards is caught by `cyberid log verify`, and the citizen
 * who is shown an event and its salt can check it is the one in the log. */
#ifndef CYBERID_AUDIT_H
#define CYBERID_AUDIT_H

#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define AUDIT_ACTOR_OPERATOR "operator"
/* A platform as actor or subject: "platform:<client_id>". */
#define AUDIT_PLATFORM_PREFIX "platform:"
#define AUDIT_PLATFORM_NAME_SIZE (sizeof AUDIT_PLATFORM_PREFIX + STORE_ID_MAX)
/* The row actor and the blind subject's prefix of a sealed event. */
#define AUDIT_SEALED_ACTOR "sealed"
#define AUDIT_CITIZEN_PREFIX "c:"
/* "c:" and 64 hex digits, with the NUL. */
#define AUDIT_CITIZEN_SUBJECT_SIZE (sizeof AUDIT_CITIZEN_PREFIX + 64)

/* "platform:<client_id>" into out. 0, or -1 when client_id is longer than
 * a client id can be (out then empty). */
int audit_platform_name(const char *client_id, char out[AUDIT_PLATFORM_NAME_SIZE])
    __attribute__((warn_unused_result));

/* Appends an operator-level event at the current time. `details` is a
 * JSON object or NULL (borrowed: the caller keeps its reference). Sets
 * *sequence (may be NULL) to the event's number; without it, inside a
 * transaction, the row may reach the database only with the transaction's
 * next statement or its commit (store_audit_append()), which then report
 * its failure. Returns 0 or -1 (store_last_error(conn)). The subject must
 * not be a citizen's (a web number, "registry:<id>"): those are
 * audit_append_citizen()'s. */
int audit_append(struct store_conn *conn, const char *actor, const char *action,
                 const char *subject, const json_t *details, int64_t *sequence)
    __attribute__((warn_unused_result, nonnull(1, 2, 3, 4)));

/* Appends a citizen's event, sealed. `citizen` is the web number, or
 * "registry:<record id>" for what was tried on a registry record before
 * its person enrolled. As audit_append() otherwise; -1 also when the
 * signer could not index or seal it (nothing written). */
int audit_append_citizen(struct store_conn *conn, struct signer *signer, const char *actor,
                         const char *action, const char *citizen, const json_t *details,
                         int64_t *sequence)
    __attribute__((warn_unused_result, nonnull(1, 2, 3, 4, 5)));

/* audit_append_citizen() in two steps, so that the signer's round trip
 * can come before the caller's transaction rather than inside it, where
 * the write lock waits for it (SQLite holds one writer at a time): seal
 * the event first (the time is taken then), append it in the transaction,
 * then clear it, whatever happened. An event is appended once. */
#define AUDIT_ACTION_MAX 64
struct audit_sealed_event {
    int64_t time;
    char action[AUDIT_ACTION_MAX];
    char subject[SIGNER_BLIND_RECORD_ID_SIZE]; /* the blind subject */
    uint8_t commitment[STORE_LOG_HASH_BYTES];
    uint8_t *sealed;
    size_t sealed_length;
};

/* Seals a citizen's event as audit_append_citizen() would append it. 0, or
 * -1 when the signer could not index or seal it or the action is longer
 * than AUDIT_ACTION_MAX - 1 (out then cleared). */
int audit_seal_citizen(struct signer *signer, const char *actor, const char *action,
                       const char *citizen, const json_t *details,
                       struct audit_sealed_event *out)
    __attribute__((warn_unused_result, nonnull(1, 2, 3, 4, 6)));

/* Appends a sealed event in the caller's transaction, or on its own
 * outside one; *sequence (may be NULL) as audit_append(). 0 or -1
 * (store_last_error(conn)). */
int audit_append_sealed(struct store_conn *conn, const struct audit_sealed_event *event,
                        int64_t *sequence)
    __attribute__((warn_unused_result, nonnull(1, 2)));

/* The audit_event row a sealed event is appended as, for a store call
 * that appends it along with its own change (store_oidc_login_decide_logged()).
 * The row points into event, which must outlive it. */
void audit_sealed_row(const struct audit_sealed_event *event, struct store_audit_event *row)
    __attribute__((nonnull(1, 2)));

/* Frees what audit_seal_citizen() made; a cleared event stays cleared. */
void audit_sealed_event_clear(struct audit_sealed_event *event);

/* The blind subject under which a citizen's events are stored. 0 or -1. */
int audit_citizen_subject(struct signer *signer, const char *citizen,
                          char out[AUDIT_CITIZEN_SUBJECT_SIZE])
    __attribute__((warn_unused_result, nonnull(1, 2, 3)));

/* An event as it was appended: a sealed one opened, a plain one copied. */
struct audit_opened {
    char *actor, *subject, *details; /* malloc'd */
    uint8_t salt[STORE_LOG_SALT_BYTES];
    int has_salt; /* 0: an event from before the log, not salted yet */
};

/* Opens (or copies) one stored event; the signer is needed only for a
 * sealed one (an opening counted against its limit). 0, or -1 when the
 * seal does not open or its contents are malformed (an altered row). */
int audit_open(struct signer *signer, const struct store_audit_event *event,
               struct audit_opened *out) __attribute__((warn_unused_result, nonnull(2, 3)));
/* Wipes and frees what audit_open() filled. */
void audit_opened_clear(struct audit_opened *opened);

/* `cyberid log events`: the operator opens every event (of one action,
 * when action is not NULL) for an inquiry under a legal basis. Each
 * citizen whose events are opened gets an event "log.events_read"
 * ({"legal_basis", "action"}) committed before anything is returned. It
 * walks the whole table: an inquiry tool, not a request path. *out: a
 * JSON array, oldest first, of {"sequence", "time", "actor", "action",
 * "subject", "details", "sealed", "in_log"}. 0, or -1 with err (an event
 * that does not open is an error: the log may have been altered). */
int audit_inquiry(struct store *store, struct signer *signer, const char *action,
                  const char *legal_basis, const char *actor, json_t **out, char *err,
                  size_t errlen) __attribute__((warn_unused_result, nonnull(1, 2, 4, 5, 6)));

#endif
