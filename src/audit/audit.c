/* audit: event append, plain and sealed; see audit.h. */
#include "audit/audit.h"

#include "audit/tlog.h"
#include "util/encoding.h"
#include "util/strings.h"
#include "vault/vault.h"

#include <assert.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The blind index domain of a citizen's audit subject. */
#define AUDIT_SUBJECT_DOMAIN "audit_subject"

_Static_assert(STORE_LOG_SALT_BYTES == TLOG_SALT_BYTES, "one salt");
_Static_assert(STORE_LOG_HASH_BYTES == TLOG_HASH_BYTES, "one hash");

/* Sorted keys: the same details always serialise the same way. NULL
 * details are "{}". The text is malloc'd; NULL when details is not an
 * object or on failure. */
static char *
details_text(const json_t *details)
{
    if (details == NULL)
        return strdup("{}");
    if (!json_is_object(details))
        return NULL;
    return json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
}

int
audit_append(struct store_conn *conn, const char *actor, const char *action,
             const char *subject, const json_t *details, int64_t *sequence)
{
    char *text = details_text(details);
    if (text == NULL)
        return -1;
    /* The salt of the event's commitment in the transparency log
     * (audit/log.h): the public leaf then says nothing of the event. */
    uint8_t salt[STORE_LOG_SALT_BYTES], commitment[STORE_LOG_HASH_BYTES];
    struct store_audit_event event = {
        .time = (int64_t)time(NULL),
        .actor = actor,
        .action = action,
        .subject = subject,
        .details = text,
        .salt = salt,
        .leaf = -1,
        .commitment = commitment,
    };
    if (sequence != NULL)
        *sequence = 0;
    int status = RAND_bytes(salt, sizeof salt) == 1 &&
                         tlog_appended_commitment(event.time, actor, action, subject, text,
                                                  salt, commitment) == 0
                     ? store_audit_append(conn, &event, sequence)
                     : -1;
    free(text);
    return status;
}

int
audit_citizen_subject(struct signer *signer, const char *citizen,
                      char out[AUDIT_CITIZEN_SUBJECT_SIZE])
{
    uint8_t index[VAULT_INDEX_BYTES];
    _Static_assert(AUDIT_CITIZEN_SUBJECT_SIZE == sizeof AUDIT_CITIZEN_PREFIX + 2 * sizeof index,
                   "the prefix and the index in hex");
    out[0] = '\0';
    if (vault_blind_index(signer, AUDIT_SUBJECT_DOMAIN, citizen, strlen(citizen), index) != 0)
        return -1;
    memcpy(out, AUDIT_CITIZEN_PREFIX, sizeof AUDIT_CITIZEN_PREFIX - 1);
    return hex_encode(index, sizeof index, out + sizeof AUDIT_CITIZEN_PREFIX - 1,
                      AUDIT_CITIZEN_SUBJECT_SIZE - (sizeof AUDIT_CITIZEN_PREFIX - 1));
}

int
audit_seal_citizen(struct signer *signer, const char *actor, const char *action,
                   const char *citizen, const json_t *details, struct audit_sealed_event *out)
{
    memset(out, 0, sizeof *out);
    /* signer_seal_blind() checks the id it gets back: the prefix and 64
     * hex digits, what audit_citizen_subject() makes. */
    char subject[SIGNER_BLIND_RECORD_ID_SIZE];
    uint8_t salt[STORE_LOG_SALT_BYTES];
    char *text = details_text(details), *salt_text = NULL, *plaintext = NULL;
    json_t *record = NULL, *details_copy = NULL;
    uint8_t *sealed = NULL;
    size_t sealed_length = 0;
    int status = -1;
    int64_t now = (int64_t)time(NULL);
    if (text == NULL || string_copy(out->action, sizeof out->action, action) != 0 ||
        RAND_bytes(salt, sizeof salt) != 1 ||
        tlog_appended_commitment(now, actor, action, citizen, text, salt, out->commitment) != 0)
        goto done;
    salt_text = base64_encode_alloc(salt, sizeof salt);
    /* The object itself goes into the record (text proved it is one, or
     * absent); parsing text back would cost a pass for the same value. */
    details_copy = details != NULL ? json_incref((json_t *)details) : json_object();
    record = salt_text && details_copy
                 ? json_pack("{s:s, s:s, s:O, s:s}", "actor", actor, "subject", citizen,
                             "details", details_copy, "salt", salt_text)
                 : NULL;
    plaintext = record ? json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    /* The blind subject (audit_citizen_subject()) and the record sealed
     * under it, in one round trip to the signer. */
    if (plaintext == NULL ||
        vault_seal_blind(signer, AUDIT_SUBJECT_DOMAIN, citizen, strlen(citizen),
                         AUDIT_CITIZEN_PREFIX, plaintext, strlen(plaintext), subject, &sealed,
                         &sealed_length) != 0)
        goto done;
    if (sealed_length > STORE_AUDIT_SEALED_MAX)
        goto done;
    out->time = now;
    memcpy(out->subject, subject, sizeof out->subject);
    out->sealed = sealed;
    out->sealed_length = sealed_length;
    sealed = NULL;
    status = 0;
done:
    if (plaintext != NULL)
        secret_wipe(plaintext, strlen(plaintext));
    free(plaintext);
    json_decref(record);
    json_decref(details_copy);
    free(salt_text);
    if (text != NULL)
        secret_wipe(text, strlen(text));
    free(text);
    free(sealed);
    secret_wipe(salt, sizeof salt);
    if (status != 0)
        memset(out, 0, sizeof *out);
    return status;
}

void
audit_sealed_row(const struct audit_sealed_event *event, struct store_audit_event *row)
{
    assert(event->sealed != NULL && "an event from audit_seal_citizen()");
    *row = (struct store_audit_event){
        .time = event->time,
        .actor = AUDIT_SEALED_ACTOR,
        .action = event->action,
        .subject = event->subject,
        .details = "{}",
        .leaf = -1,
        .sealed = event->sealed,
        .sealed_length = event->sealed_length,
        .commitment = event->commitment,
    };
}

int
audit_append_sealed(struct store_conn *conn, const struct audit_sealed_event *event,
                    int64_t *sequence)
{
    if (sequence != NULL)
        *sequence = 0;
    struct store_audit_event row;
    audit_sealed_row(event, &row);
    return store_audit_append(conn, &row, sequence);
}

void
audit_sealed_event_clear(struct audit_sealed_event *event)
{
    if (event == NULL)
        return;
    free(event->sealed);
    memset(event, 0, sizeof *event);
}

int
audit_append_citizen(struct store_conn *conn, struct signer *signer, const char *actor,
                     const char *action, const char *citizen, const json_t *details,
                     int64_t *sequence)
{
    if (sequence != NULL)
        *sequence = 0;
    struct audit_sealed_event event;
    if (audit_seal_citizen(signer, actor, action, citizen, details, &event) != 0)
        return -1;
    int status = audit_append_sealed(conn, &event, sequence);
    audit_sealed_event_clear(&event);
    return status;
}

/* The sealed record's fields, as audit_append_citizen() wrote them. */
static int
read_opened(const char *json, struct audit_opened *out)
{
    json_t *record = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    const char *actor = NULL, *subject = NULL, *salt = NULL;
    json_t *details = NULL;
    uint8_t *salt_bytes = NULL;
    size_t salt_length = 0;
    int status = -1;
    if (record == NULL ||
        json_unpack(record, "{s:s, s:s, s:o, s:s}", "actor", &actor, "subject", &subject,
                    "details", &details, "salt", &salt) != 0 ||
        !json_is_object(details) ||
        base64_decode_alloc(salt, strlen(salt), STORE_LOG_SALT_BYTES, &salt_bytes,
                            &salt_length) != 0 ||
        salt_length != STORE_LOG_SALT_BYTES)
        goto done;
    out->actor = strdup(actor);
    out->subject = strdup(subject);
    out->details = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
    memcpy(out->salt, salt_bytes, STORE_LOG_SALT_BYTES);
    out->has_salt = 1;
    status = out->actor && out->subject && out->details ? 0 : -1;
done:
    free(salt_bytes);
    json_decref(record);
    return status;
}

int
audit_open(struct signer *signer, const struct store_audit_event *event,
           struct audit_opened *out)
{
    memset(out, 0, sizeof *out);
    int status = -1;
    if (event->sealed == NULL) {
        out->actor = strdup(event->actor);
        out->subject = strdup(event->subject);
        out->details = strdup(event->details);
        out->has_salt = event->salt != NULL;
        if (event->salt != NULL)
            memcpy(out->salt, event->salt, STORE_LOG_SALT_BYTES);
        status = out->actor && out->subject && out->details ? 0 : -1;
    } else if (signer != NULL) {
        static const char *const fields[] = {"actor", "subject", "details", "salt", NULL};
        char *json = NULL;
        size_t length = 0;
        if (signer_open_record(signer, event->subject, event->sealed, event->sealed_length,
                               fields, &json, &length) == 0)
            status = read_opened(json, out);
        signer_free_secret(json, length);
    }
    if (status != 0)
        audit_opened_clear(out);
    return status;
}

void
audit_opened_clear(struct audit_opened *opened)
{
    if (opened->details != NULL)
        secret_wipe(opened->details, strlen(opened->details));
    free(opened->actor);
    free(opened->subject);
    free(opened->details);
    memset(opened, 0, sizeof *opened);
}

int
audit_platform_name(const char *client_id, char out[AUDIT_PLATFORM_NAME_SIZE])
{
    return string_format(out, AUDIT_PLATFORM_NAME_SIZE, AUDIT_PLATFORM_PREFIX "%s",
                         client_id);
}
