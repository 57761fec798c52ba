/* rekey: POST /v1/me/rekey, a device's new key and certificate.
 *
 * The remote re-key of the ROCA drill (docs/deployment.md, "The mass re-key drill"): when an
 * issuing CA generation is held (`cyberid ca hold`), its certificates
 * refuse every login with rekey_required, and the citizen's app makes a
 * new key and gets a certificate from the newest generation here, without
 * an ID number or a visit: the request is signed by the old key (its
 * certificate may be on hold, not revoked), binds the new CSR and the
 * challenge (claims csr_sha256 and challenge_id of the device token), and
 * passes a new face check (selfie and head-turn frame against the registry
 * record of the web number, 1:1). The old certificate is then revoked as
 * superseded in the transaction that records the new one. A device whose
 * certificate is not held may re-key the same way (a new key for the same
 * phone). docs/api.md has the format. */
#ifndef CYBERID_REKEY_H
#define CYBERID_REKEY_H

#include "enroll/device.h"
#include "enroll/enroll.h"

/* The largest re-key request: as an enrollment's. */
#define REKEY_BODY_LIMIT ENROLL_BODY_LIMIT

/* The handler. The body is a parsed JSON object. 0 with the response
 * filled (201 or a 4xx/503), or -1 on an internal failure. */
int rekey_handle(const struct enroll_context *context, const struct device_context *device,
                 const struct http_request *request, struct http_response *response);

/* POST /v1/me/unlock: the same request, from a device of an identity its
 * citizen locked (identity.h, identity_lock): the face check that passes
 * gives the phone a new key and certificate and ends the lock, in one
 * transaction (events device.rekey and identity.unlock). 409 not_locked
 * when the identity is not locked. */
int unlock_handle(const struct enroll_context *context, const struct device_context *device,
                  const struct http_request *request, struct http_response *response);

#endif
