/* enroll_checks: the checks the enrollment and the re-key share; see
 * enroll_checks.h. */
#include "enroll/enroll_checks.h"

#include "enroll/limit.h"
#include "util/counters.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/strings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct enroll_limit address_limit = {
    "enroll_limit_address", "from this address", ENROLL_FREE_PER_ADDRESS,
    ENROLL_WAIT_PER_ADDRESS, ENROLL_WINDOW_SECONDS};
static const struct enroll_limit network_limit = {
    "enroll_limit_network", "from this network", ENROLL_FREE_PER_NETWORK,
    ENROLL_WAIT_PER_NETWORK, ENROLL_WINDOW_SECONDS};
static const struct enroll_limit device_key_limit = {
    "enroll_limit_device_key", "with this device key", ENROLL_FREE_PER_DEVICE_KEY,
    ENROLL_WAIT_PER_DEVICE_KEY, ENROLL_WINDOW_SECONDS};

int
enroll_refuse(struct refusal *refusal, unsigned status, const char *code,
              const char *format, ...)
{
    refusal->status = status;
    refusal->code = code;
    va_list args;
    va_start(args, format);
    vsnprintf(refusal->description, sizeof refusal->description, format, args);
    va_end(args);
    return 1;
}

int
enroll_respond_refusal(struct http_response *response, const struct refusal *refusal)
{
    counter_add(COUNTER_ENROLL_REFUSALS, refusal->code);
    if (refusal->face_check)
        counter_add(COUNTER_FACE_CHECK_FAILURES, refusal->code);
    if (refusal->retry_after > 0) {
        char seconds[24];
        snprintf(seconds, sizeof seconds, "%lld", (long long)refusal->retry_after);
        if (http_response_add_header(response, "Retry-After", seconds) != 0)
            return -1;
    }
    return http_respond_error(response, refusal->status, refusal->code, refusal->description);
}

int
enroll_check_csr(const char *csr, struct pki_csr *key, struct refusal *refusal)
{
    char err[256];
    switch (pki_csr_check(csr, strlen(csr), key, err, sizeof err)) {
    case PKI_OK:
        return 0;
    case PKI_ERR_KEY_TYPE:
        return enroll_refuse(refusal, 400, "unsupported_key",
                             "the device key must be EC P-256: %s", err);
    case PKI_ERR_CSR_FORMAT:
    case PKI_ERR_CSR_SIGNATURE:
        return enroll_refuse(refusal, 400, "invalid_csr", "%s", err);
    default:
        return -1;
    }
}

/* Takes one attempt on a limit for value[0..length). 0 let through, 1
 * refused (refusal filled, with Retry-After), -1 internal failure. */
static int
take_attempt(const struct enroll_context *context, struct store_conn *conn,
             const struct enroll_limit *limit, const void *value, size_t length,
             int64_t now, struct refusal *refusal)
{
    int64_t wait = 0;
    int status = enroll_limit_take(limit, conn, context->signer, value, length, now, &wait);
    if (status <= 0)
        return status;
    counter_add(COUNTER_RATE_LIMITED, limit == &address_limit   ? "enroll_per_address"
                                      : limit == &network_limit ? "enroll_per_network"
                                                                : "enroll_per_device_key");
    refusal->retry_after = wait;
    return enroll_refuse(refusal, 429, "too_many_attempts",
                         "too many enrollment attempts %s: try again in %lld seconds",
                         limit->what, (long long)wait);
}

/* The limits on who sends the request: its address (an IPv6 /64) and its
 * network. */
int
enroll_take_address_attempts(const struct enroll_context *context, struct store_conn *conn,
                      const char *address, int64_t now, struct refusal *refusal)
{
    char prefix[NETADDR_PREFIX_MAX];
    netaddr_subscriber(address, prefix);
    int status = take_attempt(context, conn, &address_limit, prefix, strlen(prefix), now,
                              refusal);
    if (status == 0 && netaddr_prefix(address, 24, 48, prefix, sizeof prefix) == 0)
        status = take_attempt(context, conn, &network_limit, prefix, strlen(prefix),
                              now, refusal);
    return status;
}

int
enroll_take_device_key_attempt(const struct enroll_context *context, struct store_conn *conn,
                               const uint8_t *spki, size_t length, int64_t now,
                               struct refusal *refusal)
{
    return take_attempt(context, conn, &device_key_limit, spki, length, now, refusal);
}

/* Decodes one base64 image field into an RGB image. 0, 1 refused, -1. */
static int
decode_image(const char *field, const char *base64, face_image *image,
             struct refusal *refusal)
{
    uint8_t *bytes = NULL;
    size_t length = 0;
    if (base64_decode_alloc(base64, strlen(base64), ENROLL_IMAGE_MAX_BYTES, &bytes,
                            &length) != 0)
        return enroll_refuse(refusal, 400, "invalid_image",
                             "%s is not base64 of at most %u bytes", field,
                             ENROLL_IMAGE_MAX_BYTES);
    char err[FACE_ERROR_LEN];
    int status = face_image_decode(image, bytes, length, err, sizeof err);
    free(bytes);
    if (status == FACE_ERR_NOMEM)
        return -1;
    if (status != FACE_OK)
        return enroll_refuse(refusal, 400, "invalid_image", "%s: %s", field, err);
    return 0;
}

/* Maps a face_descriptor()/face_liveness_check() failure. */
static int
face_refusal(int status, const char *which, struct refusal *refusal)
{
    if (status == FACE_ERR_NO_FACE)
        return enroll_refuse(refusal, 400, "no_face", "no face found in the %s", which);
    if (status == FACE_ERR_MANY_FACES)
        return enroll_refuse(refusal, 400, "multiple_faces",
                             "more than one face in the %s: it must show only you", which);
    return -1;
}

/* Decodes both images and runs the face checks: the head turn, then the
 * selfie against the registry's template. Everything refused before the
 * match depends on the client's images alone; the match refuses an
 * unknown number (a decoy, has_descriptor 0, matching no face) and a face
 * that is not the record's with one answer, after the same work (a
 * record without a reference photo, from a version 1 registry, cannot be
 * verified either). 0, 1 refused, -1. */
static int
check_faces(const struct enroll_context *context, const char *selfie, const char *turn_frame,
            const char *action, const struct registry_person *person, int found,
            face_image *selfie_image, face_image *turn_image,
            float descriptor[FACE_DESCRIPTOR_DIMS], struct refusal *refusal)
{
    char err[256];
    int status = decode_image("selfie", selfie, selfie_image, refusal);
    if (status == 0)
        status = decode_image("turn_frame", turn_frame, turn_image, refusal);
    if (status != 0)
        return status;

    status = face_descriptor(context->face, selfie_image, descriptor, NULL,
                             err, sizeof err);
    if (status != FACE_OK)
        return face_refusal(status, "selfie", refusal);

    face_turn turn = strcmp(action, "turn_left") == 0 ? FACE_TURN_LEFT
                                                                     : FACE_TURN_RIGHT;
    face_liveness_result liveness;
    status = face_liveness_check(context->face, selfie_image, turn_image,
                                 turn, &liveness, err, sizeof err);
    if (status != FACE_OK)
        return face_refusal(status, "turn frame", refusal);
    if (!liveness.same_person)
        return enroll_refuse(refusal, 403, "liveness_failed",
                             "the turn frame does not show the same person as the selfie");
    if (!liveness.turned)
        return enroll_refuse(refusal, 403, "liveness_failed",
                             "the head did not turn %s as asked (or the selfie is not "
                             "frontal)",
                             turn == FACE_TURN_LEFT ? "to your left" : "to your right");

    float distance = face_distance(descriptor, person->descriptor);
    if (!found || !person->has_descriptor || !(distance < FACE_SAME_PERSON_THRESHOLD)) {
        refusal->audit_reason = !found                     ? "unknown_identity"
                                : !person->has_descriptor ? "no_reference_photo"
                                                            : "face_mismatch";
        return enroll_refuse(refusal, 403, "identity_not_verified",
                             "this face is not the registry's photo for this ID number, or "
                             "the registry has no such number: check the number and try "
                             "again in good light");
    }
    return 0;
}

int
enroll_check_faces(const struct enroll_context *context, const char *selfie,
                   const char *turn_frame, const char *action,
                   const struct registry_person *person, int found, struct refusal *refusal)
{
    /* The images decoded and the networks' tensors are the memory a face
     * check holds: only so many run at once (enroll_gate). */
    if (enroll_gate_enter(context->gate) != 0) {
        refusal->unaudited = 1; /* load, not an attempt on anyone */
        refusal->retry_after = ENROLL_BUSY_RETRY_AFTER;
        counter_add(COUNTER_RATE_LIMITED, "enroll_face_checks_busy");
        return enroll_refuse(refusal, 503, "temporarily_unavailable",
                             "too many face checks are running at once; try again "
                             "in %d seconds", ENROLL_BUSY_RETRY_AFTER);
    }
    face_image selfie_image, turn_image;
    memset(&selfie_image, 0, sizeof selfie_image);
    memset(&turn_image, 0, sizeof turn_image);
    float descriptor[FACE_DESCRIPTOR_DIMS];
    int status = check_faces(context, selfie, turn_frame, action, person, found,
                             &selfie_image, &turn_image, descriptor, refusal);
    refusal->face_check = status > 0;
    face_image_free(&selfie_image);
    face_image_free(&turn_image);
    secret_wipe(descriptor, sizeof descriptor);
    enroll_gate_leave(context->gate);
    return status;
}

int
enroll_check_issuing(const struct enroll_context *context, struct store_conn *conn,
                     struct refusal *refusal)
{
    struct store_issuer newest;
    int found = 0;
    if (store_issuer_get(conn, pki_generations(context->pki), &newest, &found) != 0)
        return -1;
    if (found && newest.held_at == 0)
        return 0;
    refusal->unaudited = 1; /* the service's state, not an attempt on anyone */
    refusal->retry_after = 3600;
    log_event(LOG_WARN, "issuing_ca_held", "{s:I}", "generation",
              (json_int_t)pki_generations(context->pki));
    return enroll_refuse(refusal, 503, "temporarily_unavailable",
                         "no certificate can be issued now (the issuing authority is "
                         "suspended); try again later");
}

int
enroll_issue_device(const struct enroll_context *context, struct store_conn *conn,
                    const struct pki_csr *key, const char *web_number, int64_t now,
                    const char *what, struct pki_certificate *certificate)
{
    char err[256];
    if (pki_issue(context->pki, key, web_number, now, certificate, err, sizeof err) != 0) {
        log_event(LOG_ERROR, what, "{s:s}", "error", err);
        return -1;
    }
    struct store_device device = {
        .certificate = certificate->der,
        .certificate_length = certificate->der_length,
        .created_at = now,
        .not_after = certificate->not_after,
        .revocation_reason = -1,
        .issuer = certificate->generation,
    };
    if (string_copy(device.serial, sizeof device.serial, certificate->serial_hex) != 0 ||
        string_copy(device.web_number, sizeof device.web_number, web_number) != 0 ||
        string_copy(device.status, sizeof device.status, STORE_DEVICE_ACTIVE) != 0 ||
        store_device_insert(conn, &device) != 0) {
        pki_certificate_clear(certificate);
        return -1;
    }
    return 0;
}
