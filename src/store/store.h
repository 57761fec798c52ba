/* store: all persistent state of cyberid, behind domain functions.
 *
 * Callers never write SQL and never see which database is underneath:
 * SQLite (the embedded default, one node) or PostgreSQL (many stateless
 * nodes on one database; Citus to shard it), through the same functions
 * and the same SQL ($1-style parameters, the subset both dialects run).
 *
 * Nothing relies on SQLite's single writer: every read-then-write that
 * must happen once is one atomic statement (a conditional UPDATE, an
 * INSERT ... ON CONFLICT DO NOTHING) or first locks the row it decides on
 * (the *_lock functions), and global unique keys live in lookup tables
 * keyed by them alone, so that uniqueness also holds on Citus. Expired
 * rows are not deleted by the requests that insert: store_purge_expired()
 * does it, called by one node at a time (store_lease_take()).
 *
 * The store holds only what is safe to lose to a copy of the database:
 * personal data arrives here already sealed by the vault, lookups by ID
 * number arrive as blind indexes.
 *
 * Concurrency: a `struct store` is a pool of connections shared by threads.
 * A thread takes a connection with store_acquire(), uses it (transactions
 * included) and gives it back with store_release(). A connection is used by
 * one thread at a time. Every function returns 0 on success and -1 on error
 * (text in the connection's error buffer, store_last_error()). */
#ifndef CYBERID_STORE_H
#define CYBERID_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_ID_MAX 64           /* record ids, client ids (text) */
#define STORE_INDEX_BYTES 32      /* blind index width */
#define STORE_HASH_BYTES 32       /* SHA-256 of a client secret */
#define STORE_ERROR_MAX 256

struct store;
struct store_conn;

/* Opens a pool of `connections` to `location`: "sqlite:/path/file.db" or a
 * libpq URI ("postgresql://..."). Applies pending schema migrations when
 * `migrate` is set (one node at a time: PostgreSQL takes an advisory lock)
 * and, on a Citus coordinator, distributes the tables (store_schema.c).
 * A PostgreSQL connection that is lost is replaced at its next use, so the
 * pool outlives a database restart. 0 or -1. */
int store_open(const char *location, unsigned connections, int migrate,
               struct store **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Checks a database location before it is recorded: a known scheme and,
 * for PostgreSQL, a URI libpq parses that carries no password (that goes
 * in a password file). 0 or -1 with err. */
int store_location_check(const char *location, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Keeps the platforms that store_platform_get() reads, and the rows
 * store_token_key_each() walks, in memory for a long-running process
 * (`serve`): a thread of the store listens for the notification that each
 * change of either table sends when it commits (store_platform_insert(),
 * store_platform_set_disabled(), store_token_key_insert(); PostgreSQL's
 * NOTIFY, or on SQLite a write of a file beside the database, watched
 * with inotify) and empties the cache on each; while its listener is
 * down, every read goes to the database. A change is seen by every
 * running serve as soon as its notification arrives (milliseconds after
 * the commit); a row changed in the database by other means than the
 * store is not seen until the next change or a restart. Called once,
 * before the connections are used. 0 or -1 with err. */
int store_config_cache_start(struct store *store, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Closes every connection. All must have been released. NULL allowed. */
void store_close(struct store *store);

/* "sqlite", "postgresql" or "citus" (PostgreSQL with the tables
 * distributed), for logs and /healthz. */
const char *store_backend(const struct store *store);

/* Whether a store call on this thread failed because the database was out
 * of reach (not because of the request) since the thread's last
 * store_acquire(); reading it clears it. The service answers such a
 * failure with 503 and Retry-After instead of 500. */
int store_outage_take(void);

/* What such a 503 says in Retry-After, in seconds: long enough for a
 * restarting database, short enough that clients do not wait in vain. */
#define STORE_RETRY_AFTER_SECONDS 5
#define STORE_RETRY_AFTER_TEXT "5"


/* Takes a free connection, waiting for one if all are busy. */
struct store_conn *store_acquire(struct store *store);
/* Returns a connection to the pool; rolls back a transaction left open. */
void store_release(struct store *store, struct store_conn *conn);

/* The message of the last failure on this connection. */
const char *store_last_error(const struct store_conn *conn);

/* Whether the database holds a cyberid schema (*exists 0 or 1): `cyberid
 * init` refuses a database that another data folder made. */
int store_schema_exists(struct store_conn *conn, int *exists)
    __attribute__((warn_unused_result));

/* The schema version in the database. */
int store_schema_version(struct store_conn *conn, int64_t *version)
    __attribute__((warn_unused_result));

/* Transactions. On SQLite begin takes the write lock at once (so two
 * writers never deadlock upgrading a read lock); on PostgreSQL it is READ
 * COMMITTED, and what must be decided once locks its row first. A failed
 * statement ends the transaction on PostgreSQL: roll back after any -1.
 * Some plain inserts (a token, an audit event whose number is not asked
 * for) may be sent with the transaction's next statement or its commit,
 * in one round trip: a -1 from a later call or from store_commit() may be
 * theirs, and a failed commit wrote nothing. */
int store_begin(struct store_conn *conn) __attribute__((warn_unused_result));
int store_commit(struct store_conn *conn) __attribute__((warn_unused_result));
int store_rollback(struct store_conn *conn);

/* ── Population registry ───────────────────────────────────────────────── */

struct store_person {
    char id[STORE_ID_MAX];                   /* random record id */
    uint8_t national_id_index[STORE_INDEX_BYTES];
    uint8_t *sealed;                         /* vault blob; owned */
    size_t sealed_length;
    int64_t created_at;
    int64_t updated_at;
};

/* Finds the person whose blind index is `index` (through the index's
 * lookup table). Sets *found to 0 or 1; on 1 fills *out (release with
 * store_person_clear()). */
int store_person_find(struct store_conn *conn,
                      const uint8_t index[STORE_INDEX_BYTES],
                      struct store_person *out, int *found)
    __attribute__((warn_unused_result));

/* Inserts a new person with its blind index; -1 (nothing written, the
 * transaction still usable) when a person has that index. Update replaces
 * the sealed data of the person with the same id. */
int store_person_insert(struct store_conn *conn, const struct store_person *person)
    __attribute__((warn_unused_result));
int store_person_update(struct store_conn *conn, const struct store_person *person)
    __attribute__((warn_unused_result));
int store_person_count(struct store_conn *conn, int64_t *count)
    __attribute__((warn_unused_result));
void store_person_clear(struct store_person *person);

/* ── Platforms (OpenID Connect relying parties) ────────────────────────── */

struct store_platform {
    char client_id[STORE_ID_MAX];
    char *name;                 /* display name */
    char *redirect_uris;        /* JSON array of strings */
    char *claims;               /* JSON array of allowed claim names */
    char *legal_basis;          /* NULL when none */
    char *auth_method;          /* client_secret_basic | private_key_jwt */
    char *jwks;                 /* JSON, NULL unless private_key_jwt */
    char *sector_id;
    char *purpose;              /* what it asks for, as registered, shown to
                                   citizens; NULL when none */
    int64_t refresh_reuse;      /* seconds a rotated refresh token may be
                                   presented again (0: never) */
    int fapi2;                  /* held to the FAPI 2.0 Security Profile */
    uint8_t secret_hash[STORE_HASH_BYTES];
    int has_secret;
    int disabled;
    int64_t created_at;
};

int store_platform_insert(struct store_conn *conn,
                          const struct store_platform *platform)
    __attribute__((warn_unused_result));
/* *found 0 or 1; on 1 *out is filled (store_platform_clear()). */
int store_platform_get(struct store_conn *conn, const char *client_id,
                       struct store_platform *out, int *found)
    __attribute__((warn_unused_result));
/* Calls each() for every platform in creation order; the platform passed
 * is only valid during the call. A non-zero return from each() stops the
 * walk and is returned. */
int store_platform_each(struct store_conn *conn,
                        int (*each)(void *context, const struct store_platform *),
                        void *context) __attribute__((warn_unused_result));
/* Sets the disabled flag; *found says whether the platform exists. */
int store_platform_set_disabled(struct store_conn *conn, const char *client_id,
                                int disabled, int *found)
    __attribute__((warn_unused_result));
void store_platform_clear(struct store_platform *platform);

/* ── Enrollment challenges ─────────────────────────────────────────────── */

#define STORE_CHALLENGE_TEXT_MAX 64

struct store_challenge {
    char id[STORE_CHALLENGE_TEXT_MAX];
    char nonce[STORE_CHALLENGE_TEXT_MAX];
    char action[STORE_CHALLENGE_TEXT_MAX];
    int64_t expires_at;
};

/* Stores a new challenge (store_purge_expired() deletes it once expired). */
int store_challenge_insert(struct store_conn *conn,
                           const struct store_challenge *challenge)
    __attribute__((warn_unused_result));

/* Takes the challenge `id` if it exists, is unused and has not expired at
 * `now`, marking it used in the same statement (so two requests can never
 * both take it). *taken 0 or 1; on 1, *out is filled. */
int store_challenge_take(struct store_conn *conn, const char *id, int64_t now,
                         struct store_challenge *out, int *taken)
    __attribute__((warn_unused_result));

/* ── Identities (web numbers) ──────────────────────────────────────────── */

#define STORE_STATUS_MAX 32
#define STORE_WEB_NUMBER_MAX 32

/* Identity statuses. */
#define STORE_IDENTITY_ACTIVE "active"
#define STORE_IDENTITY_SUSPENDED "suspended"
#define STORE_IDENTITY_REVOKED "revoked"
/* The citizen's own: every login and token refused until they unlock
 * with a face check (POST /v1/me/unlock). */
#define STORE_IDENTITY_LOCKED "locked"
/* The citizen's own: every device revoked; ends only when they enroll
 * again with a face check. */
#define STORE_IDENTITY_DEACTIVATED "deactivated"

#define STORE_LEGAL_BASIS_MAX 1001
struct store_identity {
    char web_number[STORE_WEB_NUMBER_MAX];
    char person_id[STORE_ID_MAX];       /* the registry record's random id */
    char status[STORE_STATUS_MAX];
    char status_reason[STORE_STATUS_MAX * 2]; /* a reason code, "" if none */
    int64_t created_at;
    int64_t updated_at;
    /* While suspended: when the suspension ends by itself, and the
     * statute or order it rests on (0 and "" otherwise). */
    int64_t suspended_until;
    char legal_basis[STORE_LEGAL_BASIS_MAX];
};

/* *found 0 or 1; on 1 *out is filled. */
int store_identity_get(struct store_conn *conn, const char *web_number,
                       struct store_identity *out, int *found)
    __attribute__((warn_unused_result));
/* The identity of a registry record (through its lookup table). */
int store_identity_find_by_person(struct store_conn *conn, const char *person_id,
                                  struct store_identity *out, int *found)
    __attribute__((warn_unused_result));
/* Like store_identity_get(), and locks the row until the transaction ends,
 * so that what the caller decides from it (a status change, a new device)
 * cannot interleave with another request's. Call inside a transaction. */
int store_identity_lock(struct store_conn *conn, const char *web_number,
                        struct store_identity *out, int *found)
    __attribute__((warn_unused_result));
/* Inserts a new identity for its person. *inserted is 0, with nothing
 * written, when that person has an identity already (another request made
 * it first: read it with store_identity_find_by_person()). -1 also when
 * the web number is taken. One person never gets two web numbers, even
 * when two nodes enroll them at once. */
int store_identity_insert(struct store_conn *conn,
                          const struct store_identity *identity, int *inserted)
    __attribute__((warn_unused_result));
/* Suspends an identity until `until` (a status change like
 * store_identity_set_status(), with its end and legal basis kept), and
 * bumps the CRLs' epoch (its certificates are on hold from now). */
int store_identity_suspend(struct store_conn *conn, const char *web_number, const char *reason,
                           const char *legal_basis, int64_t until, int64_t now, int *found)
    __attribute__((warn_unused_result));
/* Calls each() with the web number of every suspended identity whose
 * suspension has ended at now (at most `limit`). */
int store_identity_ended_suspensions(struct store_conn *conn, int64_t now, int64_t limit,
                                     int (*each)(void *context, const char *web_number),
                                     void *context) __attribute__((warn_unused_result));
/* Sets status and reason (NULL: none), clearing any suspension's end and
 * legal basis (and bumping the CRLs' epoch when it was suspended);
 * *found says whether it exists. */
int store_identity_set_status(struct store_conn *conn, const char *web_number,
                              const char *status, const char *reason,
                              int64_t now, int *found)
    __attribute__((warn_unused_result));

/* ── Appeals against suspensions ───────────────────────────────────────── */

#define STORE_APPEAL_PENDING "pending"
#define STORE_APPEAL_UPHELD "upheld"
#define STORE_APPEAL_OVERTURNED "overturned"
#define STORE_DECISION_MAX 1001

struct store_appeal {
    char id[STORE_ID_MAX];                  /* random */
    char web_number[STORE_WEB_NUMBER_MAX];
    uint8_t *sealed;                        /* the citizen's text, sealed; owned */
    size_t sealed_length;
    char status[STORE_STATUS_MAX];
    int64_t created_at;
    int64_t decided_at;                     /* 0 while pending */
    char decided_by[STORE_ID_MAX];
    char decision_reason[STORE_DECISION_MAX];
};

int store_appeal_insert(struct store_conn *conn, const struct store_appeal *appeal)
    __attribute__((warn_unused_result));
/* By id; *found 0 or 1 (store_appeal_clear() on 1). */
int store_appeal_get(struct store_conn *conn, const char *id, struct store_appeal *out,
                     int *found) __attribute__((warn_unused_result));
/* The appeals of web_number, or every pending one when it is NULL, oldest
 * first; the appeal is valid only during the call. */
int store_appeal_each(struct store_conn *conn, const char *web_number,
                      int (*each)(void *context, const struct store_appeal *),
                      void *context) __attribute__((warn_unused_result));
/* Decides a pending appeal. *changed 0 when it was not pending. */
int store_appeal_decide(struct store_conn *conn, const char *id, const char *web_number,
                        const char *status, int64_t now, const char *by, const char *reason,
                        int *changed) __attribute__((warn_unused_result));
void store_appeal_clear(struct store_appeal *appeal);

/* ── Devices (web certificates) ────────────────────────────────────────── */

#define STORE_SERIAL_MAX 65
#define STORE_DEVICE_ACTIVE "active"
#define STORE_DEVICE_REVOKED "revoked"

struct store_device {
    char serial[STORE_SERIAL_MAX];      /* lower-case hex */
    char web_number[STORE_WEB_NUMBER_MAX];
    uint8_t *certificate;               /* DER; owned (store_device_clear) */
    size_t certificate_length;
    char status[STORE_STATUS_MAX];
    int64_t created_at;
    int64_t not_after;
    int64_t revoked_at;                 /* 0 unless revoked */
    int revocation_reason;              /* RFC 5280 CRLReason, -1 unless revoked */
    int64_t issuer;                     /* issuing CA generation (1..) */
    /* Read, never written: when its identity was suspended, 0 when it
     * is not (its certificates are on hold meanwhile). */
    int64_t identity_suspended_at;
    /* Read, never written: when its issuing CA generation was put on
     * hold (store_issuer_hold), 0 when it is not. */
    int64_t issuer_held_at;
};

int store_device_insert(struct store_conn *conn, const struct store_device *device)
    __attribute__((warn_unused_result));
/* By serial, of web_number when the caller knows it (a presented
 * certificate names it: one shard), else through the serial's lookup
 * table (OCSP). *found 0 or 1; on 1 *out is filled (store_device_clear()). */
int store_device_get(struct store_conn *conn, const char *serial,
                     const char *web_number, struct store_device *out, int *found)
    __attribute__((warn_unused_result));
/* store_device_get() of the device of a presented certificate (web_number
 * is required) and its identity, in one statement. *identity_found 0 when
 * the device is not found or has no identity; on 1 *identity is filled as
 * store_identity_get() fills it. */
int store_device_get_with_identity(struct store_conn *conn, const char *serial,
                                   const char *web_number, struct store_device *device,
                                   int *found, struct store_identity *identity,
                                   int *identity_found)
    __attribute__((warn_unused_result));
/* store_token_use() of a device-signed request's token id and
 * store_device_get_with_identity() of its device: on PostgreSQL without
 * Citus in one statement (a round trip fewer for every device-signed
 * request), elsewhere one after the other. The token id is recorded
 * whether or not the device is found; *fresh as store_token_use(). */
int store_device_get_using(struct store_conn *conn, const char *serial,
                           const char *web_number, const char *jti, int64_t jti_expires_at,
                           int *fresh, struct store_device *device, int *found,
                           struct store_identity *identity, int *identity_found)
    __attribute__((warn_unused_result));
/* Calls each() for the devices of web_number, oldest first (without the
 * certificate bytes). The device is valid only during the call; a
 * non-zero return stops the walk and is returned. */
int store_device_each(struct store_conn *conn, const char *web_number,
                      int (*each)(void *context, const struct store_device *),
                      void *context) __attribute__((warn_unused_result));
/* The same for what the CRL of issuing CA generation `issuer` lists: its
 * revoked devices, its devices still valid at now when it is held, and
 * those of suspended identities. */
int store_device_each_listed(struct store_conn *conn, int64_t issuer, int64_t now,
                             int (*each)(void *context, const struct store_device *),
                             void *context) __attribute__((warn_unused_result));
/* Revokes the active device `serial` (of web_number when not NULL) at now
 * with an RFC 5280 reason. *changed is 1 when it was active, 0 otherwise. */
int store_device_revoke(struct store_conn *conn, const char *serial,
                        const char *web_number, int64_t now, int reason,
                        int *changed) __attribute__((warn_unused_result));
/* Revokes every active device of web_number; *count is how many. */
int store_device_revoke_all(struct store_conn *conn, const char *web_number,
                            int64_t now, int reason, int64_t *count)
    __attribute__((warn_unused_result));
void store_device_clear(struct store_device *device);

/* ── Issuing CA generations ────────────────────────────────────────────── */

struct store_issuer {
    int64_t generation;
    int64_t held_at;        /* 0: not held */
};

/* Makes the row of a generation if it has none (what `cyberid ca rotate`
 * and `cyberid serve` do for every generation they know). 0 or -1. */
int store_issuer_ensure(struct store_conn *conn, int64_t generation)
    __attribute__((warn_unused_result));
/* Puts every certificate of a generation on hold from now, in one row:
 * OCSP and the CRL then say certificateHold for each. *changed 0 when it
 * was held already or does not exist (*found says which). 0 or -1. */
int store_issuer_hold(struct store_conn *conn, int64_t generation, int64_t now,
                      int *found, int *changed) __attribute__((warn_unused_result));
/* *found 0 or 1; on 1 *out is filled. */
int store_issuer_get(struct store_conn *conn, int64_t generation, struct store_issuer *out,
                     int *found) __attribute__((warn_unused_result));

/* ── The CRLs every node serves ─────────────────────────────────────────
 * One per issuing CA generation. store_device_revoke(),
 * store_device_revoke_all() and store_issuer_hold() bump the revocation
 * epoch when they change anything (call them inside a transaction, so the
 * two commit together). A node serves the stored CRL while it was built
 * at the current epoch and is fresh enough, else builds the next one. */

struct store_crl {
    int64_t epoch;          /* revocations so far */
    int64_t built_epoch;    /* the epoch the stored CRL was built at; -1: none */
    int64_t number;         /* its CRL number (0: none yet); only grows */
    int64_t this_update;
    uint8_t *der;           /* owned (store_crl_clear); NULL: none yet */
    size_t der_length;
};

/* The CRL state of a generation; *found 0 when it has no row. */
int store_crl_get(struct store_conn *conn, int64_t issuer, struct store_crl *out, int *found)
    __attribute__((warn_unused_result));
/* Stores the CRL built at `built_epoch` as number `number`, if the stored
 * number is still number - 1 (one atomic statement: of two nodes building
 * at once one stores, the other reads the winner's). *stored 0 or 1. */
int store_crl_put(struct store_conn *conn, int64_t issuer, int64_t number,
                  int64_t built_epoch, int64_t this_update, const uint8_t *der,
                  size_t der_length, int *stored) __attribute__((warn_unused_result));
void store_crl_clear(struct store_crl *crl);

/* ── Attempt limits (rate limits with backoff) ─────────────────────────── */

/* The state of one limit's key; what it means is the caller's policy
 * (enroll/limit.h). */
struct store_limit {
    int64_t window_start; /* when the current window began */
    int64_t strikes;      /* attempts let through in it */
    int64_t next_at;      /* no attempt before this time */
};

/* Inside a transaction: reads the state of key (a blind index, never a
 * raw address or personal value) and locks it until the transaction ends,
 * so attempts on one key are decided one at a time on every backend. A
 * key seen for the first time reads {now, 0, now}. */
int store_limit_lock(struct store_conn *conn, const uint8_t key[STORE_INDEX_BYTES],
                     int64_t now, struct store_limit *out)
    __attribute__((warn_unused_result));
/* Writes the key's state back; store_purge_expired() forgets the row
 * after purge_at. */
int store_limit_save(struct store_conn *conn, const uint8_t key[STORE_INDEX_BYTES],
                     const struct store_limit *limit, int64_t purge_at)
    __attribute__((warn_unused_result));

/* ── Single-use tokens ─────────────────────────────────────────────────── */

/* Marks token id `jti` used until expires_at, in one atomic statement.
 * *fresh is 1 the first time, 0 when it was already used. */
int store_token_use(struct store_conn *conn, const char *jti,
                    int64_t expires_at, int *fresh)
    __attribute__((warn_unused_result));

/* ── Audit events ──────────────────────────────────────────────────────── */

struct store_audit_event {
    int64_t sequence;           /* assigned by the database, increasing
                                   (gaps where a transaction rolled back) */
    int64_t time;               /* unix seconds */
    const char *actor;          /* "operator", "platform:<id>", "citizen:<web number>" */
    const char *action;         /* "registry.import", "platform.add", … */
    const char *subject;        /* what it acted on: opaque ids only */
    const char *details;        /* JSON object text, no personal data */
    /* The transparency log (audit/log.h): the event's random salt
     * (STORE_LOG_SALT_BYTES; NULL for an event from before the log, which
     * the sequencer gives one, and for a sealed event, whose salt is in
     * the seal), and its leaf number, -1 until the sequencer has put it
     * in the tree. */
    const uint8_t *salt;
    int64_t leaf;
    /* A citizen's event (audit.h, audit_append_citizen): actor, subject,
     * details and salt sealed by the signer; the row's subject is then a
     * blind index and its actor and details say nothing. NULL for an
     * operator-level event. */
    const uint8_t *sealed;
    size_t sealed_length;
    /* The leaf's commitment, made when the event was appended
     * (STORE_LOG_HASH_BYTES, tlog_appended_commitment); NULL for an event
     * from before sealed events, whose commitment the sequencer makes. */
    const uint8_t *commitment;
};
#define STORE_LOG_SALT_BYTES 16
/* A sealed event's size at most. */
#define STORE_AUDIT_SEALED_MAX (64 * 1024)

/* Appends an event; *sequence gets its number. With a NULL `sequence`,
 * inside a transaction, the insert may go to the database with the
 * transaction's next statement or its commit, which then reports its
 * failure (store_begin()). */
int store_audit_append(struct store_conn *conn,
                       const struct store_audit_event *event,
                       int64_t *sequence) __attribute__((warn_unused_result));
/* Walks events with sequence > after, oldest first, at most `limit`. */
int store_audit_each(struct store_conn *conn, int64_t after, int64_t limit,
                     int (*each)(void *context, const struct store_audit_event *),
                     void *context) __attribute__((warn_unused_result));

/* ── The transparency log's rows (store_log.c; audit/log.c calls them) ──
 * Leaves, stored hashes and checkpoints are written only by the
 * sequencer, in one transaction per batch with the events' leaf numbers,
 * after store_log_lock(). */

#define STORE_LOG_HASH_BYTES 32
#define STORE_NOTE_MAX 1024

/* Takes the log's write lock until the transaction ends (PostgreSQL: an
 * advisory lock, so one node appends at a time; SQLite's write
 * transaction is one already). *taken 0 when another holds it. */
int store_log_lock(struct store_conn *conn, int *taken) __attribute__((warn_unused_result));
/* Walks the events not in the tree yet, oldest first, at most `limit`. */
int store_log_pending(struct store_conn *conn, int64_t limit,
                      int (*each)(void *context, const struct store_audit_event *),
                      void *context) __attribute__((warn_unused_result));
/* Walks the events of one subject (a web number, "registry:<id>"),
 * oldest first. */
int store_audit_by_subject(struct store_conn *conn, const char *subject,
                           int (*each)(void *context, const struct store_audit_event *),
                           void *context) __attribute__((warn_unused_result));
/* Walks the events in the tree (leaf >= 0), by leaf. */
int store_log_events(struct store_conn *conn,
                     int (*each)(void *context, const struct store_audit_event *),
                     void *context) __attribute__((warn_unused_result));
/* Gives an event its leaf (and its salt, when it had none). *changed 0
 * when it already had a leaf. */
int store_log_assign(struct store_conn *conn, const char *subject, int64_t sequence,
                     int64_t leaf, const uint8_t salt[STORE_LOG_SALT_BYTES], int *changed)
    __attribute__((warn_unused_result));
/* Gives events their leaves at once: sequences[i] gets leaves[i], for
 * events that have a salt or a commitment and no leaf yet. *changed: how
 * many did. */
int store_log_assign_many(struct store_conn *conn, const int64_t *sequences,
                          const int64_t *leaves, size_t count, int64_t *changed)
    __attribute__((warn_unused_result));
/* Stores `count` leaves (commitments) or stored hashes at first,
 * first + 1, ... in a few multi-row statements. */
int store_log_put_leaves(struct store_conn *conn, int64_t first,
                         const uint8_t (*commitments)[STORE_LOG_HASH_BYTES], size_t count)
    __attribute__((warn_unused_result));
int store_log_put_hashes(struct store_conn *conn, int64_t first,
                         const uint8_t (*hashes)[STORE_LOG_HASH_BYTES], size_t count)
    __attribute__((warn_unused_result));
/* The number of leaves. */
int store_log_size(struct store_conn *conn, int64_t *size) __attribute__((warn_unused_result));
int store_log_put_leaf(struct store_conn *conn, int64_t index,
                       const uint8_t commitment[STORE_LOG_HASH_BYTES])
    __attribute__((warn_unused_result));
/* Leaves [from, to), in order. */
int store_log_leaves(struct store_conn *conn, int64_t from, int64_t to,
                     int (*each)(void *context, int64_t index, const uint8_t *commitment),
                     void *context) __attribute__((warn_unused_result));
int store_log_put_hash(struct store_conn *conn, int64_t index,
                       const uint8_t hash[STORE_LOG_HASH_BYTES])
    __attribute__((warn_unused_result));
/* Stored hashes [from, to], in order (a tile's, a walk's). */
int store_log_hash_range(struct store_conn *conn, int64_t from, int64_t to,
                         int (*each)(void *context, int64_t index, const uint8_t *hash),
                         void *context) __attribute__((warn_unused_result));
/* The stored hashes at `indexes` (distinct), into out[i], a query per
 * 128 of them. *complete 0 when one is missing (a tree with a hole). */
int store_log_hashes(struct store_conn *conn, const int64_t *indexes, size_t count,
                     uint8_t (*out)[STORE_LOG_HASH_BYTES], int *complete)
    __attribute__((warn_unused_result));

struct store_log_checkpoint {
    int64_t size;
    uint8_t root[STORE_LOG_HASH_BYTES];
    char note[STORE_NOTE_MAX];
    int64_t created_at;
};
int store_log_put_checkpoint(struct store_conn *conn, const struct store_log_checkpoint *checkpoint)
    __attribute__((warn_unused_result));
/* Replaces the note of the checkpoint of `size` leaves, if it is still
 * old_note, with `note` (the same note with witnesses' cosignature lines
 * added: service/cosigning.h). *changed 0 when it was not old_note. */
int store_log_set_note(struct store_conn *conn, int64_t size, const char *old_note,
                       const char *note, int *changed) __attribute__((warn_unused_result));
/* The latest (largest) checkpoint; *found 0 when there is none. */
int store_log_latest_checkpoint(struct store_conn *conn, struct store_log_checkpoint *out,
                                int *found) __attribute__((warn_unused_result));
/* Every checkpoint, oldest first. */
int store_log_checkpoints(struct store_conn *conn,
                          int (*each)(void *context, const struct store_log_checkpoint *),
                          void *context) __attribute__((warn_unused_result));

/* ══ OpenID Connect: pending logins, authorization codes, tokens ══════════
 * (store_oidc.c; the oidc module is its only caller.)
 *
 * Nothing secret is stored in the clear: login ids, user codes,
 * authorization codes and tokens are kept as their SHA-256
 * (STORE_OIDC_HASH_BYTES), so a copy of the database holds no usable
 * credential. A login row is the pending login, then the approved grant
 * with its authorization code; tokens point back at it by grant id (the
 * login row's hash). User codes, codes and token hashes are found through
 * lookup tables keyed by them. Expired rows go with store_purge_expired(). */

#define STORE_OIDC_HASH_BYTES 32
#define STORE_OIDC_CHALLENGE_MAX 129   /* PKCE code_challenge, 43-128 chars */
#define STORE_OIDC_SUB_MAX 32          /* pairwise subject, 26 chars */
#define STORE_DPOP_JKT_MAX 45          /* a JWK SHA-256 thumbprint, 43 chars */

/* Login statuses. */
#define STORE_LOGIN_PENDING "pending"
#define STORE_LOGIN_APPROVED "approved"
#define STORE_LOGIN_DENIED "denied"

struct store_oidc_login {
    uint8_t login_hash[STORE_OIDC_HASH_BYTES];      /* key; also the grant id */
    uint8_t user_code_hash[STORE_OIDC_HASH_BYTES];  /* unique among rows kept */
    uint8_t code_hash[STORE_OIDC_HASH_BYTES];       /* the authorization code's */
    char client_id[STORE_ID_MAX];
    char *redirect_uri;         /* owned (store_oidc_login_clear) */
    char *claims;               /* asked claims, JSON array text; owned */
    char *state;                /* NULL when the request had none; owned */
    char *nonce;                /* NULL when the request had none; owned */
    char *purpose;              /* the platform's registered purpose, clean
                                   UTF-8; NULL when none; owned */
    char *opened_from;          /* the network the login page was opened
                                   from ("203.0.113.0/24", an IPv6 /48),
                                   shown to the app; NULL; owned */
    char code_challenge[STORE_OIDC_CHALLENGE_MAX];
    char status[STORE_STATUS_MAX];
    char web_number[STORE_WEB_NUMBER_MAX];  /* "" until decided */
    char *released;             /* released claims, JSON array; NULL until approved */
    int64_t created_at;
    int64_t expires_at;         /* end of the pending phase */
    int64_t auth_time;          /* approval time, 0 until approved */
    int64_t code_expires_at;    /* 0 until approved */
    int64_t code_uses;          /* times the code was presented */
    int64_t purge_at;           /* the row is deleted after this */
    char *dpop_jkt;             /* the DPoP key its code is bound to (RFC
                                   9449 §10), NULL when none; owned */
};

/* Inserts a pending login with its user code and code lookups, in a
 * transaction of its own. *inserted is 0 (nothing written) when its user
 * code (or, never in practice, its code or login id) is already taken:
 * draw another and retry. */
int store_oidc_login_insert(struct store_conn *conn,
                            const struct store_oidc_login *login,
                            int *inserted) __attribute__((warn_unused_result));

/* By login hash (the page's poll) or by user code hash (the app, which
 * also needs the login's platform: read in the same statement, *platform
 * zeroed, its client_id empty, when no platform has the login's client
 * id; store_platform_clear() in any case). *found 0 or 1; on 1 *out is
 * filled (store_oidc_login_clear()). Rows past purge_at may still be
 * returned: callers compare times themselves. */
int store_oidc_login_get(struct store_conn *conn,
                         const uint8_t login_hash[STORE_OIDC_HASH_BYTES],
                         struct store_oidc_login *out, int *found)
    __attribute__((warn_unused_result));
int store_oidc_login_get_by_user_code(struct store_conn *conn,
                                      const uint8_t user_code_hash[STORE_OIDC_HASH_BYTES],
                                      struct store_oidc_login *out,
                                      struct store_platform *platform, int *found)
    __attribute__((warn_unused_result));

/* Decides the pending, unexpired (expires_at > now) login `login_hash`:
 * status STORE_LOGIN_APPROVED or STORE_LOGIN_DENIED, by web_number; on
 * approval also released (JSON array text), auth_time = now and
 * code_expires_at. One atomic statement: *changed is 0 when it was not
 * pending any more. */
int store_oidc_login_decide(struct store_conn *conn,
                            const uint8_t login_hash[STORE_OIDC_HASH_BYTES],
                            const char *status, const char *web_number,
                            const char *released, int64_t now,
                            int64_t code_expires_at, int *changed)
    __attribute__((warn_unused_result));
/* store_oidc_login_decide() and, when it decided, store_audit_append() of
 * `event` (no sequence asked), both or neither: its own transaction (the
 * caller holds none), or on PostgreSQL without Citus one statement, one
 * round trip. *changed as store_oidc_login_decide()'s; 0 writes nothing. */
int store_oidc_login_decide_logged(struct store_conn *conn,
                                   const uint8_t login_hash[STORE_OIDC_HASH_BYTES],
                                   const char *status, const char *web_number,
                                   const char *released, int64_t now,
                                   int64_t code_expires_at,
                                   const struct store_audit_event *event, int *changed)
    __attribute__((warn_unused_result));

/* Presents an authorization code: counts the use on the approved login
 * with this code hash and returns the row as updated (code_uses 1 the first
 * time), in one atomic statement that locks the row until the caller's
 * transaction ends: inside one, a second presentation waits for the
 * first to finish. *found 0 when no approved login has this code. The
 * caller judges expiry (code_expires_at) and reuse (code_uses > 1).
 * identity_status is the status of the login's identity, read by the same
 * statement where the store can (SQLite, PostgreSQL without Citus); ""
 * where it cannot (Citus: the login's shard is not its identity's) or
 * when the identity has no row: read it then. */
int store_oidc_code_present(struct store_conn *conn,
                            const uint8_t code_hash[STORE_OIDC_HASH_BYTES],
                            struct store_oidc_login *out, int *found,
                            char identity_status[STORE_STATUS_MAX])
    __attribute__((warn_unused_result));

void store_oidc_login_clear(struct store_oidc_login *login);

/* Token kinds and statuses. */
#define STORE_TOKEN_ACCESS "access"
#define STORE_TOKEN_REFRESH "refresh"
#define STORE_TOKEN_ACTIVE "active"
#define STORE_TOKEN_ROTATED "rotated"  /* a refresh token already exchanged */
#define STORE_TOKEN_REVOKED "revoked"

struct store_oidc_token {
    uint8_t token_hash[STORE_OIDC_HASH_BYTES];
    char kind[STORE_STATUS_MAX];
    uint8_t grant_id[STORE_OIDC_HASH_BYTES];
    char client_id[STORE_ID_MAX];
    char web_number[STORE_WEB_NUMBER_MAX];
    char sub[STORE_OIDC_SUB_MAX];
    char *claims;               /* released claim names, JSON array; owned */
    int64_t auth_time;
    int64_t created_at;
    int64_t expires_at;
    char status[STORE_STATUS_MAX];
    int64_t rotated_at;         /* when a refresh token was rotated; 0 */
    char dpop_jkt[STORE_DPOP_JKT_MAX]; /* the DPoP key it is bound to; "" */
    /* Read only (joined on lookup): the identity's status and registry
     * record id. */
    char identity_status[STORE_STATUS_MAX];
    char person_id[STORE_ID_MAX];
};

/* ── Pushed authorization requests (RFC 9126) ──────────────────────────── */

struct store_oidc_par {
    uint8_t request_hash[STORE_OIDC_HASH_BYTES]; /* of its request_uri */
    char client_id[STORE_ID_MAX];
    char *params;               /* the request's parameters, JSON object */
    char *dpop_jkt;             /* NULL when none */
    int64_t expires_at;
};

/* Stores a pushed request. 0 or -1. */
int store_oidc_par_insert(struct store_conn *conn, const struct store_oidc_par *par)
    __attribute__((warn_unused_result));

/* Takes a pushed request: deletes it and returns it, so that a
 * request_uri is used once. *found 0 or 1 (then *out is filled,
 * store_oidc_par_clear()); an expired one is returned too: the caller
 * compares times. */
int store_oidc_par_take(struct store_conn *conn,
                        const uint8_t request_hash[STORE_OIDC_HASH_BYTES],
                        struct store_oidc_par *out, int *found)
    __attribute__((warn_unused_result));
void store_oidc_par_clear(struct store_oidc_par *par);

/* Inserts a token (status active) with its hash's lookup row. */
int store_oidc_token_insert(struct store_conn *conn,
                            const struct store_oidc_token *token)
    __attribute__((warn_unused_result));
/* Inserts a token like `old` (its grant, client, web number, sub,
 * auth_time and DPoP binding) with its own hash and kind, claims (JSON
 * array text; NULL: old's), created at now and expiring at expires_at. */
int store_oidc_token_insert_successor(struct store_conn *conn,
                                      const struct store_oidc_token *old,
                                      const uint8_t hash[STORE_OIDC_HASH_BYTES],
                                      const char *kind, const char *claims, int64_t now,
                                      int64_t expires_at) __attribute__((warn_unused_result));

/* By hash, joined with its identity. *found 0 or 1; on 1 *out is filled
 * (store_oidc_token_clear()). */
int store_oidc_token_get(struct store_conn *conn,
                         const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                         struct store_oidc_token *out, int *found)
    __attribute__((warn_unused_result));

/* store_oidc_token_get() with the token's platform in the same statement
 * (/userinfo needs both): *platform zeroed, its client_id empty, when no
 * platform has the token's client id; store_platform_clear() in any
 * case. */
int store_oidc_token_get_with_platform(struct store_conn *conn,
                                       const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                                       struct store_oidc_token *out,
                                       struct store_platform *platform, int *found)
    __attribute__((warn_unused_result));

/* Sets the status of one token of web_number if it is active, in one
 * atomic statement (a refresh token is rotated once); *changed 0 or 1. */
int store_oidc_token_set_status(struct store_conn *conn, const char *web_number,
                                const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                                const char *status, int *changed)
    __attribute__((warn_unused_result));

/* Revokes every token of a grant of web_number that is still active or
 * rotated; *count (may be NULL) is how many. */
int store_oidc_grant_revoke(struct store_conn *conn, const char *web_number,
                            const uint8_t grant_id[STORE_OIDC_HASH_BYTES],
                            int64_t *count) __attribute__((warn_unused_result));

/* Revokes every token of the identity web_number (a suspension or a
 * revocation ends them for good: reinstating does not bring them back);
 * *count (may be NULL) is how many. */
int store_oidc_identity_revoke(struct store_conn *conn, const char *web_number,
                               int64_t *count) __attribute__((warn_unused_result));

/* The refresh grant's usual case in one statement, inside the caller's
 * transaction: if token_hash is an unexpired, active refresh token of
 * client_id whose identity is active, marks it rotated at now and fills
 * *out (store_oidc_token_clear(); identity_status "active", person_id
 * empty) with *taken 1. Otherwise nothing changes and *taken is 0: the
 * caller rolls back and reads the token (store_oidc_token_get()) to tell
 * why. A second take of the same token waits for the first's transaction
 * (PostgreSQL: the row's lock; SQLite: one writer) and then finds it
 * rotated. */
int store_oidc_refresh_take(struct store_conn *conn,
                            const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                            const char *client_id, int64_t now, struct store_oidc_token *out,
                            int *taken) __attribute__((warn_unused_result));
/* A refresh grant that narrows no scope, whole: takes the token as
 * store_oidc_refresh_take() does, if it is bound to no DPoP key or to
 * dpop_jkt ("" for none), and writes its two successors, an access token
 * (access_hash) and a refresh token (refresh_hash) of its grant, client,
 * web number, sub, claims, auth_time and binding, created at now and
 * expiring as given; all or nothing, committed. In a transaction of its own
 * (the caller holds none); on PostgreSQL without Citus one statement, one
 * round trip. *taken 0 when nothing was written: the caller reads the
 * token to tell why. */
int store_oidc_refresh_rotate(struct store_conn *conn,
                              const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                              const char *client_id, int64_t now, const char *dpop_jkt,
                              const uint8_t access_hash[STORE_OIDC_HASH_BYTES],
                              int64_t access_expires_at,
                              const uint8_t refresh_hash[STORE_OIDC_HASH_BYTES],
                              int64_t refresh_expires_at, struct store_oidc_token *out,
                              int *taken) __attribute__((warn_unused_result));

/* Marks an active refresh token rotated at now (its successor is being
 * issued); *changed 0 when it was not active any more (a race). */
int store_oidc_token_rotate(struct store_conn *conn, const char *web_number,
                            const uint8_t token_hash[STORE_OIDC_HASH_BYTES], int64_t now,
                            int *changed) __attribute__((warn_unused_result));

/* The citizen's grants (GET /v1/me/consents): each active, unexpired
 * token of web_number with its platform's name, by client id then age:
 * each(context, client_id, platform name, claims (JSON array text),
 * created_at, expires_at); each returns 0 or -1 (stop). 0 or -1. */
int store_oidc_grants(struct store_conn *conn, const char *web_number, int64_t now,
                      int (*each)(void *context, const char *client_id, const char *name,
                                  const char *claims, int64_t created_at, int64_t expires_at),
                      void *context) __attribute__((warn_unused_result));

/* Revokes every token of web_number at one platform (the citizen
 * withdraws their consent); *count is how many. */
int store_oidc_client_revoke(struct store_conn *conn, const char *web_number,
                             const char *client_id, int64_t *count)
    __attribute__((warn_unused_result));

/* RP-initiated logout: revokes every token of the citizen whose pairwise
 * subject at client_id is sub (on Citus a statement on every shard: the
 * subject does not say the web number). *count is how many; web_number
 * (STORE_WEB_NUMBER_MAX) is the citizen's when count > 0. */
int store_oidc_logout(struct store_conn *conn, const char *client_id, const char *sub,
                      int64_t *count, char *web_number) __attribute__((warn_unused_result));

void store_oidc_token_clear(struct store_oidc_token *token);

/* ── Token-signing keys (oidc/token_keys.h decides what they mean) ────── */

#define STORE_KID_MAX 65   /* a kid (SIGNER_KID_MAX) and its NUL */
#define STORE_PUBLIC_KEY_MAX 256

struct store_token_key {
    char kid[STORE_KID_MAX];
    int64_t created_at;
    int64_t activates_at;
    uint8_t public_key[STORE_PUBLIC_KEY_MAX];   /* DER SPKI */
    size_t public_key_length;                   /* 0: not recorded */
};

int store_token_key_insert(struct store_conn *conn,
                           const struct store_token_key *key)
    __attribute__((warn_unused_result));

/* Calls each() for every key, by activates_at then created_at, oldest
 * first; a non-zero return stops the walk and is returned. */
int store_token_key_each(struct store_conn *conn,
                         int (*each)(void *context, const struct store_token_key *),
                         void *context) __attribute__((warn_unused_result));

/* The sealed registry record of the identity web_number, with the
 * identity's status (one join on SQLite and PostgreSQL; two single-shard
 * reads on Citus, where the registry is not co-located with identities).
 * *found 0 or 1; on 1 *out (store_person_clear()) and status (capacity
 * STORE_STATUS_MAX) are filled. */
int store_identity_person(struct store_conn *conn, const char *web_number,
                          struct store_person *out, char *status, int *found)
    __attribute__((warn_unused_result));

/* The registry record with this random record id. *found 0 or 1; on 1
 * *out is filled (store_person_clear()). */
int store_person_get(struct store_conn *conn, const char *id,
                     struct store_person *out, int *found)
    __attribute__((warn_unused_result));

/* ── Expiry and the janitor's lease ────────────────────────────────────── */

struct store_purge_counts {
    int64_t challenges, attempts, used_tokens, logins, tokens;
    int64_t trimmed_logins, trimmed_challenges; /* store_trim_pending() */
};

/* Deletes what has expired at `now` (challenges, attempt limits past
 * their purge_at, single-use token ids, logins past purge_at and their
 * code lookups, tokens and their lookups), in statements of at most 500
 * rows, each its own transaction (no long transaction, and requests'
 * writes go in between), none for a table where nothing expired. */
int store_purge_expired(struct store_conn *conn, int64_t now,
                        struct store_purge_counts *counts)
    __attribute__((warn_unused_result));

/* The global ceiling on what anonymous requests leave pending: if more
 * than `ceiling` logins are pending (not decided, not expired at `now`),
 * the oldest beyond it are deleted (their pages and apps then find them
 * gone, as if expired), with their user codes' lookup rows, in one
 * transaction; the same for unused, unexpired enrollment challenges.
 * *logins and *challenges: how many went. Runs a count over
 * each table: for the janitor, not for requests. 0 or -1. */
int store_trim_pending(struct store_conn *conn, int64_t now, int64_t ceiling,
                       int64_t *logins, int64_t *challenges)
    __attribute__((warn_unused_result));

/* Takes or renews the lease `name` for `holder` until now + seconds, if it
 * is free, expired or already the holder's, in one atomic statement; *held
 * says whether holder has it. */
int store_lease_take(struct store_conn *conn, const char *name, const char *holder,
                     int64_t now, int64_t seconds, int *held)
    __attribute__((warn_unused_result));

#endif
