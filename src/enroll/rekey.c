/* rekey: POST /v1/me/rekey; see rekey.h and docs/api.md. */
#include "enroll/rekey.h"

#include "audit/audit.h"
#include "enroll/enroll_checks.h"
#include "enroll/registry.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONCE_SIGNATURE_MAX_BYTES 128

/* What one re-key request carries, decoded. */
struct rekey {
    const char *challenge_id;
    const char *csr;
    const char *selfie;
    const char *turn_frame;
    const char *nonce_signature;
    struct store_challenge challenge;
    struct pki_csr key;
    struct registry_person person;
    /* POST /v1/me/unlock: the identity must be locked (not active), and
     * is active again with the new device. */
    int unlock;
    const char *status; /* the identity status this request needs */
};

/* 1 when the old key's token names this CSR (base64url of its SHA-256)
 * and this challenge: its signature then covers both. */
static int
bound_to_request(const json_t *claims, const struct rekey *r)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char expected[BASE64URL_ENCODED_SIZE(SHA256_DIGEST_LENGTH)];
    const char *csr_sha256 = json_string_value(json_object_get(claims, "csr_sha256"));
    const char *challenge_id = json_string_value(json_object_get(claims, "challenge_id"));
    SHA256((const unsigned char *)r->csr, strlen(r->csr), digest);
    return csr_sha256 != NULL && challenge_id != NULL &&
           base64url_encode(digest, sizeof digest, expected, sizeof expected) == 0 &&
           strcmp(csr_sha256, expected) == 0 && strcmp(challenge_id, r->challenge_id) == 0;
}

/* Every check before anything is written. 0 all passed, 1 refused, -1. */
static int
check(const struct enroll_context *context, struct store_conn *conn,
      const struct http_request *request, const struct device_caller *caller,
      struct rekey *r, int64_t now, struct refusal *refusal)
{
    int limited = enroll_take_address_attempts(context, conn, request->client_address, now,
                                               refusal);
    if (limited != 0) {
        refusal->unaudited = limited > 0;
        return limited;
    }
    const json_t *body = request->json;
    r->challenge_id = json_string_value(json_object_get(body, "challenge_id"));
    r->csr = json_string_value(json_object_get(body, "csr"));
    r->selfie = json_string_value(json_object_get(body, "selfie"));
    r->turn_frame = json_string_value(json_object_get(body, "turn_frame"));
    r->nonce_signature = json_string_value(json_object_get(body, "nonce_signature"));
    static const char *const names[] = {"challenge_id", "csr", "selfie", "turn_frame",
                                        "nonce_signature"};
    const char *values[] = {r->challenge_id, r->csr, r->selfie, r->turn_frame,
                            r->nonce_signature};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (values[i] == NULL || values[i][0] == '\0')
            return enroll_refuse(refusal, 400, "invalid_request",
                                 "\"%s\" is missing or not a non-empty string", names[i]);
    if (!bound_to_request(caller->claims, r))
        return enroll_refuse(refusal, 400, "invalid_request",
                             "the device token must carry csr_sha256 (base64url of the "
                             "SHA-256 of csr) and challenge_id of this request");

    int found = 0;
    int issuing = enroll_check_issuing(context, conn, refusal);
    if (issuing != 0)
        return issuing;

    int taken = 0;
    if (store_challenge_take(conn, r->challenge_id, now, &r->challenge, &taken) != 0)
        return -1;
    if (!taken)
        return enroll_refuse(refusal, 400, "invalid_challenge",
                             "the challenge is unknown, already used or expired: "
                             "ask for a new one");
    int csr_status = enroll_check_csr(r->csr, &r->key, refusal);
    if (csr_status != 0)
        return csr_status;
    if (r->key.public_key_length == caller->public_key_length &&
        memcmp(r->key.public_key, caller->public_key, caller->public_key_length) == 0)
        return enroll_refuse(refusal, 400, "invalid_csr",
                             "the new key is the old one: a re-key needs a new key");
    uint8_t signature[NONCE_SIGNATURE_MAX_BYTES];
    size_t signature_length = 0;
    if (base64url_decode(r->nonce_signature, strlen(r->nonce_signature), signature,
                         sizeof signature, &signature_length) != 0 ||
        pki_verify_signature(r->key.public_key, r->key.public_key_length,
                             r->challenge.nonce, strlen(r->challenge.nonce), signature,
                             signature_length) != PKI_OK)
        return enroll_refuse(refusal, 400, "invalid_nonce_signature",
                             "the nonce signature does not verify with the CSR's key");
    limited = enroll_take_device_key_attempt(context, conn, r->key.public_key,
                                             r->key.public_key_length, now, refusal);
    if (limited != 0)
        return limited;

    /* The face must be the one of the record behind this web number. */
    struct store_identity identity;
    if (store_identity_get(conn, caller->web_number, &identity, &found) != 0)
        return -1;
    if (!found || strcmp(identity.status, r->status) != 0)
        return r->unlock ? enroll_refuse(refusal, 409, "not_locked",
                                         "this identity is not locked by its citizen")
                         : enroll_refuse(refusal, 403, "identity_not_active",
                                         "this identity is not active: see your history or "
                                         "appeal");
    int in_registry = 0;
    if (registry_get_by_record_id(conn, context->signer, identity.person_id, &r->person,
                                  &in_registry) != 0)
        return -1;
    return enroll_check_faces(context, r->selfie, r->turn_frame, r->challenge.action,
                              &r->person, in_registry, refusal);
}

/* Records the new device and supersedes the old in one transaction. 0
 * done (certificate filled), 1 refused, -1 failure. */
static int
commit(const struct enroll_context *context, struct store_conn *conn,
       const struct device_caller *caller, const struct rekey *r, int64_t now,
       struct pki_certificate *certificate, struct refusal *refusal)
{
    struct store_identity identity;
    int found = 0, changed = 0;
    if (store_begin(conn) != 0)
        return -1;
    /* Locked: a suspension committed meanwhile is seen here. */
    if (store_identity_lock(conn, caller->web_number, &identity, &found) != 0)
        goto fail;
    if (!found || strcmp(identity.status, r->status) != 0) {
        store_rollback(conn);
        return r->unlock ? enroll_refuse(refusal, 409, "not_locked",
                                         "this identity is not locked by its citizen")
                         : enroll_refuse(refusal, 403, "identity_not_active",
                                         "this identity is not active");
    }
    /* Still the device's to replace: revoked meanwhile (another re-key
     * won), nothing is issued. */
    if (store_device_revoke(conn, caller->serial, caller->web_number, now,
                            pki_reason_code("superseded"), &changed) != 0)
        goto fail;
    if (!changed) {
        store_rollback(conn);
        return enroll_refuse(refusal, 409, "device_revoked",
                             "this device's certificate was revoked meanwhile");
    }
    if (enroll_issue_device(context, conn, &r->key, caller->web_number, now,
                            "rekey_issue_failed", certificate) != 0)
        goto fail;
    char actor[STORE_WEB_NUMBER_MAX + 16];
    snprintf(actor, sizeof actor, "citizen:%s", caller->web_number);
    json_t *details = json_pack("{s:s, s:s, s:I, s:I, s:b, s:s}", "serial",
                                certificate->serial_hex, "replaces", caller->serial,
                                "from_generation", (json_int_t)caller->generation,
                                "generation", (json_int_t)certificate->generation,
                                "was_on_hold", caller->held, "acr", "cyberid:face");
    int appended = details != NULL &&
                   audit_append_citizen(conn, context->signer, actor, "device.rekey",
                                        caller->web_number, details,
                                NULL) == 0;
    json_decref(details);
    if (!appended)
        goto fail;
    if (r->unlock) {
        /* The face check passed: the citizen's lock ends with it. */
        int exists = 0;
        json_t *unlocked = json_pack("{s:s, s:s}", "serial", certificate->serial_hex, "acr",
                                     "cyberid:face");
        appended = unlocked != NULL &&
                   store_identity_set_status(conn, caller->web_number, STORE_IDENTITY_ACTIVE,
                                             NULL, now, &exists) == 0 &&
                   exists &&
                   audit_append_citizen(conn, context->signer, actor, "identity.unlock",
                                        caller->web_number, unlocked, NULL) == 0;
        json_decref(unlocked);
        if (!appended)
            goto fail;
    }
    if (store_commit(conn) != 0)
        goto fail;
    return 0;
fail:
    log_event(LOG_ERROR, "rekey_store_failed", "{s:s}", "error", store_last_error(conn));
    store_rollback(conn);
    pki_certificate_clear(certificate);
    return -1;
}

/* The re-key, or the unlock (a re-key of a locked identity that ends the
 * lock). */
static int
renew(const struct enroll_context *context, const struct device_context *device,
      const struct http_request *request, struct http_response *response, int unlock)
{
    if (context->face == NULL || context->pki == NULL)
        return http_respond_error(response, 503, "temporarily_unavailable",
                                  "the re-key is starting up");
    struct device_caller caller;
    int authenticated = unlock ? device_authenticate_unlock(device, request, &caller, response)
                               : device_authenticate_rekey(device, request, &caller, response);
    if (authenticated != 0)
        return authenticated < 0 ? -1 : 0;
    struct rekey r;
    memset(&r, 0, sizeof r);
    r.unlock = unlock;
    r.status = unlock ? STORE_IDENTITY_LOCKED : STORE_IDENTITY_ACTIVE;
    struct refusal refusal = {0};
    struct pki_certificate certificate;
    memset(&certificate, 0, sizeof certificate);
    int64_t now = (int64_t)time(NULL);
    int result = -1;
    struct store_conn *conn = store_acquire(context->store);
    int status = check(context, conn, request, &caller, &r, now, &refusal);
    if (status == 0)
        status = commit(context, conn, &caller, &r, now, &certificate, &refusal);
    if (status < 0)
        goto done;
    if (status > 0) {
        if (!refusal.unaudited) {
            json_t *details = json_pack("{s:s, s:s}", "reason",
                                        refusal.audit_reason ? refusal.audit_reason
                                                             : refusal.code,
                                        "serial", caller.serial);
            if (details == NULL ||
                audit_append_citizen(conn, context->signer, "applicant",
                                     unlock ? "identity.unlock_refused"
                                            : "device.rekey_refused",
                                     caller.web_number, details, NULL) != 0)
                log_event(LOG_ERROR, "audit_failed", "{s:s}", "action",
                          unlock ? "identity.unlock_refused" : "device.rekey_refused");
            json_decref(details);
        }
        log_event(LOG_INFO, "rekey_refused", "{s:s}", "reason", refusal.code);
        result = enroll_respond_refusal(response, &refusal);
        goto done;
    }
    log_event(LOG_INFO, unlock ? "unlocked" : "rekeyed", "{s:I, s:b}", "generation",
              (json_int_t)certificate.generation, "was_on_hold", caller.held);
    result = http_respond_json(
        response, 201,
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "web_number", caller.web_number, "serial",
                  certificate.serial_hex, "certificate", certificate.pem, "chain",
                  pki_issuing_chain_pem(context->pki), "replaces", caller.serial));
done:
    store_release(context->store, conn);
    pki_certificate_clear(&certificate);
    registry_person_clear(&r.person);
    device_caller_clear(&caller);
    return result;
}

int
rekey_handle(const struct enroll_context *context, const struct device_context *device,
             const struct http_request *request, struct http_response *response)
{
    return renew(context, device, request, response, 0);
}

int
unlock_handle(const struct enroll_context *context, const struct device_context *device,
              const struct http_request *request, struct http_response *response)
{
    return renew(context, device, request, response, 1);
}
