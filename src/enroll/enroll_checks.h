/* enroll_checks: what the enrollment (enroll.c) and the re-key (rekey.c)
 * both check, each once: the refusal they answer with, the attempt limits
 * on who asks (address, network, device key), and the face checks of a
 * selfie and a head-turn frame against a registry record. Private to the
 * enroll part. */
#ifndef CYBERID_ENROLL_CHECKS_H
#define CYBERID_ENROLL_CHECKS_H

#include "enroll/enroll.h"
#include "enroll/registry.h"

#include <stdint.h>

/* A refusal: status, code and a description for the citizen. */
struct refusal {
    unsigned status;
    const char *code;
    char description[256];
    int64_t retry_after;
    int unaudited;      /* the address and network limits', and load */
    /* The audit event's reason when it says more than the answer may
     * (unknown_identity behind identity_not_verified): the event is read
     * by the operator and the citizen, never by the stranger. */
    const char *audit_reason;
    int face_check;     /* refused by a face check (enroll_check_faces) */
};

/* Fills the refusal; returns 1 (what a refused check returns). */
int enroll_refuse(struct refusal *refusal, unsigned status, const char *code,
                  const char *format, ...) __attribute__((format(printf, 4, 5)));

/* Answers a refusal: counts it (and a face check's among the face check
 * failures), a Retry-After header when it has one, the JSON error. What
 * http_respond_error() returns, or -1. */
int enroll_respond_refusal(struct http_response *response, const struct refusal *refusal)
    __attribute__((warn_unused_result));

/* Checks the request's CSR (PEM, an EC P-256 key, its own signature) into
 * key. 0, 1 refused (400 unsupported_key or invalid_csr), -1. */
int enroll_check_csr(const char *csr, struct pki_csr *key, struct refusal *refusal)
    __attribute__((warn_unused_result));

/* The limits on who sends the request: its address (an IPv6 /64) and its
 * network. 0 let through, 1 refused (429 with Retry-After), -1. */
int enroll_take_address_attempts(const struct enroll_context *context,
                                 struct store_conn *conn, const char *address, int64_t now,
                                 struct refusal *refusal) __attribute__((warn_unused_result));

/* One attempt with a device key (DER SPKI): one phone cannot try face
 * after face. 0, 1 refused, -1. */
int enroll_take_device_key_attempt(const struct enroll_context *context,
                                   struct store_conn *conn, const uint8_t *spki,
                                   size_t length, int64_t now, struct refusal *refusal)
    __attribute__((warn_unused_result));

/* Whether the newest issuing CA generation may issue: not when it is held
 * (`cyberid ca hold` before `cyberid ca rotate`): what it issued would be
 * on hold at once. 0 yes, 1 refused (503, unaudited), -1. */
int enroll_check_issuing(const struct enroll_context *context, struct store_conn *conn,
                         struct refusal *refusal) __attribute__((warn_unused_result));

/* Issues the web certificate of web_number for key by the newest issuing
 * CA generation and records it as an active device, in the caller's
 * transaction; a failed issuance is logged as event `what`. 0 (the
 * certificate filled), or -1 (cleared). */
int enroll_issue_device(const struct enroll_context *context, struct store_conn *conn,
                        const struct pki_csr *key, const char *web_number, int64_t now,
                        const char *what, struct pki_certificate *certificate)
    __attribute__((warn_unused_result));

/* Decodes the two base64 images (selfie, the frame of the head turn
 * `action` asked for: "turn_left" or "turn_right") and runs the face
 * checks: the turn, then the selfie against person's template. An unknown
 * record (found 0: a decoy, matching no face), a record without a
 * reference photo and a face that is not the record's get one answer,
 * identity_not_verified, after the same work. The gate (enroll_gate)
 * bounds how many run at once: past it, 503. 0 passed, 1 refused, -1. */
int enroll_check_faces(const struct enroll_context *context, const char *selfie,
                       const char *turn_frame, const char *action,
                       const struct registry_person *person, int found,
                       struct refusal *refusal) __attribute__((warn_unused_result));

#endif
