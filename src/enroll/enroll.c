/* enroll: POST /v1/enroll; see enroll.h and docs/api.md. */
#include "enroll/enroll.h"

#include "audit/audit.h"
#include "enroll/enroll_checks.h"
#include "enroll/national_id.h"
#include "enroll/registry.h"
#include "enroll/web_number.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONCE_SIGNATURE_MAX_BYTES 128
#define NAME_FIELD_MAX_BYTES 1024

/* What one enrollment request carries, decoded. */
struct enrollment {
    const char *challenge_id;
    const char *national_id;
    const char *name;
    const char *csr;
    const char *selfie;
    const char *turn_frame;
    const char *nonce_signature;
    struct store_challenge challenge;
    struct national_id id;
    struct registry_person person;
    struct pki_csr key;
    /* The subject of a refusal's audit event: the web number when the
     * number's record is enrolled, else "registry:" and the record's
     * random id (so that the citizen's history, once they enroll, can
     * hold what was tried on their number), else "enrollment". */
    char subject[sizeof "registry:" + STORE_ID_MAX];
};

int
enroll_age_on(const char *birth_date, int year, int month, int day)
{
    int birth_year, birth_month, birth_day;
    char tail;
    if (birth_date == NULL ||
        sscanf(birth_date, "%4d-%2d-%2d%c", &birth_year, &birth_month,
               &birth_day, &tail) != 3)
        return -1;
    int age = year - birth_year;
    if (month < birth_month || (month == birth_month && day < birth_day))
        age--;
    return age < 0 ? -1 : age;
}

/* Trims ASCII spaces at both ends into out. -1 when it does not fit. */
static int
trim_into(const char *text, char *out, size_t cap)
{
    while (*text == ' ')
        text++;
    size_t length = strlen(text);
    while (length > 0 && text[length - 1] == ' ')
        length--;
    if (length >= cap)
        return -1;
    memcpy(out, text, length);
    out[length] = '\0';
    return 0;
}

/* Every check before anything is written. 0 all passed, 1 refused, -1. */
static int
check(const struct enroll_context *context, struct store_conn *conn,
      const struct http_request *request, struct enrollment *e, int64_t now,
      struct refusal *refusal)
{
    /* Every request counts against its address and network first,
     * whatever it holds: each refusal below is an audit event, so an
     * address that could send malformed requests without limit could
     * flood the log. These limits' own refusals are not audited (they
     * name no one, and auditing them would reopen the flood). */
    int limited = enroll_take_address_attempts(context, conn, request->client_address, now,
                                               refusal);
    if (limited != 0) {
        refusal->unaudited = limited > 0;
        return limited;
    }

    const json_t *body = request->json;
    e->challenge_id = json_string_value(json_object_get(body, "challenge_id"));
    e->national_id = json_string_value(json_object_get(body, "national_id"));
    e->name = json_string_value(json_object_get(body, "name"));
    e->csr = json_string_value(json_object_get(body, "csr"));
    e->selfie = json_string_value(json_object_get(body, "selfie"));
    e->turn_frame = json_string_value(json_object_get(body, "turn_frame"));
    e->nonce_signature = json_string_value(json_object_get(body, "nonce_signature"));
    static const char *const names[] = {"challenge_id", "national_id", "name",
                                        "csr", "selfie", "turn_frame",
                                        "nonce_signature"};
    const char *values[] = {e->challenge_id, e->national_id, e->name, e->csr,
                            e->selfie, e->turn_frame, e->nonce_signature};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (values[i] == NULL || values[i][0] == '\0')
            return enroll_refuse(refusal, 400, "invalid_request",
                                 "\"%s\" is missing or not a non-empty string", names[i]);

    int taken = 0;
    if (store_challenge_take(conn, e->challenge_id, now, &e->challenge, &taken) != 0)
        return -1;
    if (!taken)
        return enroll_refuse(refusal, 400, "invalid_challenge",
                             "the challenge is unknown, already used or expired: "
                             "ask for a new one");

    /* The number's form only (its check character): no registry yet. */
    enum national_id_status id_status =
        national_id_parse_now(e->national_id, strlen(e->national_id), &e->id);
    if (id_status != NATIONAL_ID_OK)
        return enroll_refuse(refusal, 400, "invalid_national_id", "%s",
                             national_id_status_message(id_status));

    int csr_status = enroll_check_csr(e->csr, &e->key, refusal);
    if (csr_status != 0)
        return csr_status;

    uint8_t signature[NONCE_SIGNATURE_MAX_BYTES];
    size_t signature_length = 0;
    if (base64url_decode(e->nonce_signature, strlen(e->nonce_signature), signature,
                         sizeof signature, &signature_length) != 0 ||
        pki_verify_signature(e->key.public_key, e->key.public_key_length,
                             e->challenge.nonce, strlen(e->challenge.nonce),
                             signature, signature_length) != PKI_OK)
        return enroll_refuse(refusal, 400, "invalid_nonce_signature",
                             "the nonce signature does not verify with the CSR's key");

    /* The key proved it signs: from here each attempt also counts against
     * it, so one phone cannot try face after face. */
    limited = enroll_take_device_key_attempt(context, conn, e->key.public_key,
                                             e->key.public_key_length, now, refusal);
    if (limited != 0)
        return limited;

    /* The same work whether or not the number is in the registry: the
     * lookups (a decoy's when it is not), then the face checks. */
    int found = 0;
    if (registry_find_or_decoy(conn, context->signer, context->decoy, e->id.text,
                               REGISTRY_NAME | REGISTRY_BIRTH_DATE | REGISTRY_DESCRIPTOR,
                               &e->person, &found) != 0)
        return -1;
    struct store_identity identity;
    int enrolled = 0;
    if (store_identity_find_by_person(conn, e->person.record_id, &identity,
                                      &enrolled) != 0)
        return -1;
    int failed = 0;
    if (enrolled)
        failed = string_copy(e->subject, sizeof e->subject, identity.web_number);
    else if (found)
        failed = string_format(e->subject, sizeof e->subject, "registry:%s",
                               e->person.record_id);
    if (failed)
        return -1;

    int status = enroll_check_issuing(context, conn, refusal);
    if (status != 0)
        return status;
    status = enroll_check_faces(context, e->selfie, e->turn_frame, e->challenge.action,
                                &e->person, found, refusal);
    if (status != 0)
        return status;

    /* The face is the record's: what the record says may be told now. */
    char name[NAME_FIELD_MAX_BYTES];
    if (trim_into(e->name, name, sizeof name) != 0 ||
        strcmp(name, e->person.name) != 0) {
        secret_wipe(name, sizeof name);
        return enroll_refuse(refusal, 400, "name_mismatch",
                             "the name does not match the registry's record for this "
                             "ID number");
    }
    secret_wipe(name, sizeof name);

    time_t seconds = (time_t)now;
    struct tm today;
    gmtime_r(&seconds, &today);
    int age = enroll_age_on(e->person.birth_date, today.tm_year + 1900,
                            today.tm_mon + 1, today.tm_mday);
    if (age < 0)
        return -1;
    if (age < ENROLL_MINIMUM_AGE)
        return enroll_refuse(refusal, 403, "guardian_required",
                             "under %d: a guardian must apply for this person in person",
                             ENROLL_MINIMUM_AGE);

    /* A citizen who deactivated their identity comes back by enrolling
     * again (commit_enrollment() makes it active). */
    if (enrolled && strcmp(identity.status, STORE_IDENTITY_ACTIVE) != 0 &&
        strcmp(identity.status, STORE_IDENTITY_DEACTIVATED) != 0)
        return enroll_refuse(refusal, 403, "identity_not_active",
                             "this identity is %s: see your history or appeal",
                             identity.status);
    return 0;
}

/* Allocates a fresh web number no identity has. 0 or -1. */
static int
new_web_number(struct store_conn *conn, char out[WEB_NUMBER_SIZE])
{
    for (int i = 0; i < ENROLL_WEB_NUMBER_TRIES; i++) {
        struct store_identity existing;
        int found = 1;
        if (web_number_generate(out) != 0 ||
            store_identity_get(conn, out, &existing, &found) != 0)
            return -1;
        if (!found)
            return 0;
    }
    return -1;
}

/* Writes the enrollment in one transaction. 0 done (certificate filled),
 * 1 refused (identity no longer active), -1 failure. */
static int
commit_enrollment(const struct enroll_context *context, struct store_conn *conn,
                  struct enrollment *e, int64_t now, char web_number[WEB_NUMBER_SIZE],
                  int *reenrolled, struct pki_certificate *certificate,
                  struct refusal *refusal)
{
    if (store_begin(conn) != 0)
        return -1;
    struct store_identity identity;
    int found = 0, inserted = 0;
    if (store_identity_find_by_person(conn, e->person.record_id, &identity,
                                      &found) != 0)
        goto fail;
    if (!found) {
        struct store_identity fresh = {.created_at = now, .updated_at = now};
        if (new_web_number(conn, web_number) != 0 ||
            string_copy(fresh.web_number, sizeof fresh.web_number, web_number) != 0 ||
            string_copy(fresh.person_id, sizeof fresh.person_id,
                        e->person.record_id) != 0 ||
            string_copy(fresh.status, sizeof fresh.status, STORE_IDENTITY_ACTIVE) != 0 ||
            store_identity_insert(conn, &fresh, &inserted) != 0)
            goto fail;
        /* Not inserted: the same person enrolled at the same moment
         * through another request (another node, say) and got the web
         * number first. It is theirs and ours: this becomes a re-enrollment
         * under it. */
        if (!inserted &&
            (store_identity_find_by_person(conn, e->person.record_id, &identity,
                                           &found) != 0 ||
             !found))
            goto fail;
        if (!inserted)
            log_event(LOG_INFO, "enroll_concurrent", "{s:s}", "outcome",
                      "joined the web number another request had just made");
    }
    *reenrolled = !inserted;
    if (!inserted) {
        /* Lock the identity: a suspension committed meanwhile is seen
         * here, and one that comes later waits for this enrollment. */
        if (string_copy(web_number, WEB_NUMBER_SIZE, identity.web_number) != 0 ||
            store_identity_lock(conn, web_number, &identity, &found) != 0 || !found)
            goto fail;
        int deactivated = strcmp(identity.status, STORE_IDENTITY_DEACTIVATED) == 0;
        if (strcmp(identity.status, STORE_IDENTITY_ACTIVE) != 0 && !deactivated) {
            store_rollback(conn);
            return enroll_refuse(refusal, 403, "identity_not_active",
                                 "this identity is %s", identity.status);
        }
        /* Deactivated by its citizen: this enrollment (its face check
         * passed) makes it active again, with the new device only. */
        int exists = 0;
        char citizen[STORE_WEB_NUMBER_MAX + 16];
        snprintf(citizen, sizeof citizen, "citizen:%s", web_number);
        if (deactivated &&
            (store_identity_set_status(conn, web_number, STORE_IDENTITY_ACTIVE, NULL, now,
                                       &exists) != 0 ||
             !exists ||
             audit_append_citizen(conn, context->signer, citizen, "identity.reactivate",
                                  web_number, NULL, NULL) != 0))
            goto fail;
    }
    if (enroll_issue_device(context, conn, &e->key, web_number, now, "enroll_issue_failed",
                            certificate) != 0)
        goto fail;
    char actor[STORE_WEB_NUMBER_MAX + 16];
    snprintf(actor, sizeof actor, "citizen:%s", web_number);
    json_t *details = json_pack("{s:s, s:b, s:s}", "serial", certificate->serial_hex,
                                "reenrolled", *reenrolled, "acr", "cyberid:face");
    int appended = details != NULL &&
                   audit_append_citizen(conn, context->signer, actor, *reenrolled ? "device.enroll"
                                                         : "identity.enroll",
                                web_number, details, NULL) == 0;
    json_decref(details);
    if (!appended || store_commit(conn) != 0)
        goto fail;
    return 0;
fail:
    log_event(LOG_ERROR, "enroll_store_failed", "{s:s}", "error",
              store_last_error(conn));
    store_rollback(conn);
    pki_certificate_clear(certificate);
    return -1;
}

/* Records a refusal in the audit log: the reason code only (the precise
 * one, where the answer had to be vague), under e->subject. */
static void
audit_refusal(struct store_conn *conn, struct signer *signer, const struct enrollment *e,
              const struct refusal *refusal)
{
    json_t *details = json_pack("{s:s}", "reason",
                                refusal->audit_reason ? refusal->audit_reason
                                                      : refusal->code);
    /* A refusal before the number was found (a malformed request, a limit)
     * is nobody's: a plain event. */
    if (details == NULL ||
        (e->subject[0] ? audit_append_citizen(conn, signer, "applicant", "enroll.refused",
                                              e->subject, details, NULL)
                       : audit_append(conn, "applicant", "enroll.refused", "enrollment",
                                      details, NULL)) != 0)
        log_event(LOG_ERROR, "audit_failed", "{s:s}", "action", "enroll.refused");
    json_decref(details);
}

static void
enrollment_clear(struct enrollment *e)
{
    registry_person_clear(&e->person);
    secret_wipe(&e->id, sizeof e->id);
}

int
enroll_handle(const struct enroll_context *context,
              const struct http_request *request, struct http_response *response)
{
    if (context->face == NULL || context->pki == NULL)
        return http_respond_error(response, 503, "temporarily_unavailable",
                                  "enrollment is starting up");
    struct enrollment e;
    memset(&e, 0, sizeof e);
    struct refusal refusal = {0};
    struct pki_certificate certificate;
    memset(&certificate, 0, sizeof certificate);
    char web_number[WEB_NUMBER_SIZE] = "";
    int reenrolled = 0;
    int64_t now = (int64_t)time(NULL);
    int result = -1;

    struct store_conn *conn = store_acquire(context->store);
    int status = check(context, conn, request, &e, now, &refusal);
    if (status == 0)
        status = commit_enrollment(context, conn, &e, now, web_number, &reenrolled,
                                   &certificate, &refusal);
    if (status < 0)
        goto done;
    if (status > 0) {
        if (!refusal.unaudited)
            audit_refusal(conn, context->signer, &e, &refusal);
        log_event(LOG_INFO, "enroll_refused", "{s:s}", "reason", refusal.code);
        result = enroll_respond_refusal(response, &refusal);
        goto done;
    }
    log_event(LOG_INFO, "enrolled", "{s:b}", "reenrolled", reenrolled);
    result = http_respond_json(
        response, 201,
        json_pack("{s:s, s:s, s:s, s:s, s:b}", "web_number", web_number, "serial",
                  certificate.serial_hex, "certificate", certificate.pem, "chain",
                  pki_issuing_chain_pem(context->pki), "reenrolled", reenrolled));
done:
    store_release(context->store, conn);
    pki_certificate_clear(&certificate);
    enrollment_clear(&e);
    return result;
}
