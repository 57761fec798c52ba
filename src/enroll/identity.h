/* identity: the operator's acts on an identity (a web number and its
 * devices). Each act is an audit event naming the actor, in the same
 * transaction as the change. Suspension names a reason code and a legal
 * basis and lasts until reinstated (appeals and an end date come with the
 * lifecycle issue); revocation is final. */
#ifndef CYBERID_IDENTITY_H
#define CYBERID_IDENTITY_H

#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stddef.h>

#define IDENTITY_REASON_MAX 48

/* A reason code: 1 to IDENTITY_REASON_MAX of [a-z0-9_]. 1 valid, 0 not. */
int identity_reason_is_valid(const char *reason);

/* The identity's status and devices as JSON (no personal data), and an
 * audit event "identity.read" by actor. *out is NULL when there is no
 * such identity. 0 or -1 with err. */
int identity_show(struct store *store, struct signer *signer, const char *web_number, const char *actor,
                  json_t **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The operator reads a citizen's events (a court's order, an inquiry),
 * under a legal basis: the reading is itself an event of the citizen
 * ("identity.events_read", {"legal_basis"}), committed before any event is
 * opened. *out is NULL when there is no such identity, else a JSON array,
 * oldest first, of {"sequence", "time", "actor", "action", "subject",
 * "details", "in_log"} with the events on their registry record from
 * before they enrolled. 0 or -1 with err. */
int identity_events(struct store *store, struct signer *signer, const char *web_number,
                    const char *legal_basis, const char *actor, json_t **out, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/* Revokes the identity, every active certificate of it (CRL reason from
 * the reason code when it names one, else privilege_withdrawn) and every
 * token of it at platforms, with an
 * audit event "identity.revoke" by actor. Returns 0 with *found and
 * *devices_revoked set, or -1 with err. */
int identity_revoke(struct store *store, struct signer *signer, const char *web_number,
                    const char *reason, const char *actor, int *found,
                    int64_t *devices_revoked, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#define IDENTITY_LEGAL_BASIS_MAX_BYTES 1000

/* 1 if text is a legal basis: 1 to IDENTITY_LEGAL_BASIS_MAX_BYTES of
 * clean UTF-8. */
int identity_legal_basis_is_valid(const char *text);

/* The operator looks an identity up by ID number (normalised, checked by
 * the caller), under a legal basis. The number goes only to the blind
 * index; the record is not opened. *out is {"found": false} when nobody
 * with that number is enrolled, else {"found": true, "web_number",
 * "status", "status_reason"?}. The lookup is itself an audit event
 * "identity.find" by actor, {"by": "national_id", "legal_basis"}, on the
 * identity found (subject "registry" when none). 0 or -1 with err. */
int identity_find(struct store *store, struct signer *signer, const char *national_id,
                  const char *legal_basis, const char *actor, json_t **out, char *err,
                  size_t errlen) __attribute__((warn_unused_result));

/* Suspends the active identity web_number: its devices stop working at
 * once (every check reads the status; certificates stay unrevoked, so
 * reinstating restores them) and its tokens at platforms are revoked for
 * good (a reinstated citizen logs in again). legal_basis is 1 to
 * IDENTITY_LEGAL_BASIS_MAX_BYTES of clean UTF-8 (the statute or order;
 * it is written to the audit event, so no personal data in it). Audit
 * event "identity.suspend". A suspension has an end, `until` (unix
 * seconds, after now and at most max_days later): it ends by itself then
 * (identity_end_suspensions()); meanwhile every certificate of the
 * identity is on hold (OCSP certificateHold, the CRL). Returns 0 with
 * *found and *changed (0 when the identity was not active), or -1 with
 * err. */
int identity_suspend(struct store *store, struct signer *signer, const char *web_number,
                     const char *reason, const char *legal_basis, int64_t until,
                     int max_days, const char *actor, int *found, int *changed, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/* Ends the suspensions whose end has come by now (the janitor's round):
 * each identity active again, audit event "identity.suspension_ended"
 * (actor "system"). *ended: how many. 0 or -1. */
int identity_end_suspensions(struct store *store, struct signer *signer, int64_t now, int64_t *ended)
    __attribute__((warn_unused_result));

/* Reinstates the suspended identity web_number (audit event
 * "identity.reinstate"). *changed is 0 when it was not suspended (a
 * revoked identity stays revoked). 0 or -1 with err. */
int identity_reinstate(struct store *store, struct signer *signer, const char *web_number,
                       const char *actor, int *found, int *changed, char *err,
                       size_t errlen) __attribute__((warn_unused_result));

/* identity_reinstate() in the caller's transaction (an appeal overturned:
 * the decision and the reinstatement commit together). 0 with *found and
 * *changed, or -1 (the caller rolls back). */
int identity_reinstate_within(struct store_conn *conn, struct signer *signer,
                              const char *web_number, const char *actor, int *found,
                              int *changed) __attribute__((warn_unused_result));

/* The citizen's own acts (POST /v1/me/lock, /v1/me/deactivate; actor
 * "citizen:<web number>"). identity_lock: active → locked, every token at
 * platforms revoked, every login and device request refused until the
 * citizen unlocks with a face check (rekey.h, POST /v1/me/unlock); event
 * "identity.lock". identity_deactivate: active or locked → deactivated,
 * every certificate revoked (cessationOfOperation) and every token; it
 * ends only when the citizen enrolls again (a face check, a new device);
 * event "identity.deactivate". *changed 0 when the identity was not in a
 * status it can leave so. 0 or -1 with err. */
int identity_lock(struct store *store, struct signer *signer, const char *web_number,
                  const char *actor, int *changed, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int identity_deactivate(struct store *store, struct signer *signer, const char *web_number,
                        const char *actor, int *changed, int64_t *devices_revoked, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

#endif
