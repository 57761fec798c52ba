/* enroll: POST /v1/enroll, the citizen's one-time enrollment.
 *
 * Takes the answer to a challenge (see challenge.h): national ID number,
 * name, a PKCS#10 request for a P-256 key made on the device, a frontal
 * selfie, the frame answering the head-turn challenge and the device key's
 * signature over the challenge nonce. Checks them in the order documented
 * in docs/api.md, then allocates (or reuses) the person's web number,
 * issues the web certificate and records the device, all in one
 * transaction with its audit event.
 *
 * A stranger learns nothing about the registry: until the face check has
 * passed for the record the number names, an unknown number and a known
 * one get the same answers after the same work (registry_find_or_decoy,
 * the face check run either way), and whether the name matches, the
 * person's age and the identity's status are told only after it. The rate
 * limits follow whoever makes the attempts (limit.h), never the number.
 *
 * What is kept: the identity (web number ↔ random registry record id), the
 * device (certificate), an audit event, attempt limits keyed by blind
 * indexes. What is never kept: the images, the descriptors computed from
 * them, the ID number or the name in any readable form. */
#ifndef CYBERID_ENROLL_H
#define CYBERID_ENROLL_H

#include "face/face.h"
#include "http/http.h"
#include "pki/pki.h"
#include "signer/signer.h"
#include "store/store.h"

/* The largest enrollment request: two photos of up to 8 MiB each, in
 * base64 (4/3), plus the small fields. */
#define ENROLL_IMAGE_MAX_BYTES (8u * 1024u * 1024u)
#define ENROLL_BODY_LIMIT (24u * 1024u * 1024u)
/* Refused below this age: a guardian applies in person. */
#define ENROLL_MINIMUM_AGE 14
/* Rate limits (limit.h): attempts per window let through at once, then
 * waits that double from the first one given. Per client address (an IPv4
 * address, an IPv6 /64) and per network (IPv4 /24, IPv6 /48), counted
 * before anything else: high, because many phones share an address behind
 * carrier-grade NAT. Per device key: the face check must not be tried
 * again and again from one phone. */
#define ENROLL_WINDOW_SECONDS (15 * 60)
#define ENROLL_FREE_PER_ADDRESS 60
#define ENROLL_WAIT_PER_ADDRESS 10
#define ENROLL_FREE_PER_NETWORK 600
#define ENROLL_WAIT_PER_NETWORK 1
#define ENROLL_FREE_PER_DEVICE_KEY 5
#define ENROLL_WAIT_PER_DEVICE_KEY 60
/* Tries at a fresh random web number before giving up (a collision among
 * 32^15 values is already unlikely once). */
#define ENROLL_WEB_NUMBER_TRIES 8

struct enroll_gate;
struct registry_decoy;

struct enroll_context {
    struct store *store;
    struct signer *signer;
    const face_engine *face;
    const struct pki *pki;
    struct enroll_gate *gate;   /* NULL: no limit */
    const struct registry_decoy *decoy; /* registry_decoy_new(signer) */
};

/* The face checks of an enrollment decode two images (up to 40
 * megapixels each) and run three networks: the gate lets only so many run
 * at once, so a flood of enrollments is bounded in memory. One that waits
 * longer than ENROLL_GATE_WAIT_MS is refused with 503 and Retry-After:
 * ENROLL_BUSY_RETRY_AFTER (not an audit event: it is load, not an attempt
 * on anyone). */
#define ENROLL_GATE_WAIT_MS 3000
#define ENROLL_BUSY_RETRY_AFTER 2
struct enroll_gate *enroll_gate_new(unsigned slots);
void enroll_gate_free(struct enroll_gate *gate);
/* 0 entered (leave it with enroll_gate_leave), -1 no slot in time. A NULL
 * gate always lets in. */
int enroll_gate_enter(struct enroll_gate *gate);
void enroll_gate_leave(struct enroll_gate *gate);

/* The handler. The request body is a parsed JSON object. Returns 0 with
 * the response filled (201 or a 4xx), or -1 on an internal failure. */
int enroll_handle(const struct enroll_context *context,
                  const struct http_request *request,
                  struct http_response *response);

/* Age in whole years on (year, month, day) of someone born on
 * birth_date ("YYYY-MM-DD"); -1 when the date does not parse. */
int enroll_age_on(const char *birth_date, int year, int month, int day);

#endif
