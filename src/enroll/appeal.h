/* appeal: a suspended citizen's appeal, and the operator's decision.
 *
 * POST /v1/me/appeal (device-authenticated; a suspended identity may:
 * that is when it appeals) files an appeal against the identity's current
 * suspension: the citizen's text is sealed under the appeal's id (it may
 * hold anything: no plaintext of it at rest). `cyberid appeal list` opens
 * the pending ones for the operator (each opening an audit event on the
 * identity), `cyberid appeal decide ID --uphold|--overturn --reason TEXT`
 * decides one with who and why; overturning reinstates the identity at
 * once. Every step is an audit event of the identity (so in the citizen's
 * history): appeal.filed, appeal.read, appeal.decided. */
#ifndef CYBERID_APPEAL_H
#define CYBERID_APPEAL_H

#include "enroll/device.h"
#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>

#define APPEAL_TEXT_MAX_BYTES 4000
#define APPEAL_BODY_LIMIT 16384

struct appeal_context {
    struct store *store;
    struct signer *signer;
    const struct device_context *device;
};

/* POST /v1/me/appeal {"text"}: 201 {"id", "status": "pending"}; 409
 * not_suspended when the identity is not suspended; 400 for a text that
 * is empty, not clean UTF-8 or over APPEAL_TEXT_MAX_BYTES. */
int appeal_file_handle(const struct appeal_context *context, const struct http_request *request,
                       struct http_response *response);

/* The identity's appeals for its status: [{"id", "status", "created_at",
 * "decided_at", "decision_reason"}] (the texts stay sealed). NULL on a
 * failure. */
json_t *appeal_list_own(struct store_conn *conn, const char *web_number);

/* `cyberid appeal list`: every pending appeal with its text opened, each
 * opening an audit event (appeal.read) by actor on the identity. 0 with
 * *out, or -1 with err. */
int appeal_list_pending(struct store *store, struct signer *signer, const char *actor,
                        json_t **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* `cyberid appeal decide`: uphold (the suspension stands) or overturn (the
 * identity is reinstated at once) with a reason (1 to
 * STORE_DECISION_MAX - 1 bytes of clean UTF-8). *found 0 for an unknown
 * id, *changed 0 when it was decided already. 0 or -1 with err. */
int appeal_decide(struct store *store, struct signer *signer, const char *id, int overturn, const char *reason,
                  const char *actor, int *found, int *changed, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
