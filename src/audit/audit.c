/* audit: event append; see audit.h. */
#include "audit/audit.h"

#include "util/strings.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <time.h>

int
audit_append(struct store_conn *conn, const char *actor, const char *action,
             const char *subject, const json_t *details, int64_t *sequence)
{
    char *details_text = NULL;
    if (details != NULL) {
        if (!json_is_object(details))
            return -1;
        /* Sorted keys: the same event always serialises the same way, which
         * the Merkle leaf hash will rely on. */
        details_text = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
        if (details_text == NULL)
            return -1;
    }
    /* The salt of the event's commitment in the transparency log
     * (audit/log.h): the public leaf then says nothing of the event. */
    uint8_t salt[STORE_LOG_SALT_BYTES];
    if (RAND_bytes(salt, sizeof salt) != 1) {
        free(details_text);
        return -1;
    }
    struct store_audit_event event = {
        .time = (int64_t)time(NULL),
        .actor = actor,
        .action = action,
        .subject = subject,
        .details = details_text ? details_text : "{}",
        .salt = salt,
        .leaf = -1,
    };
    int64_t assigned = 0;
    int status = store_audit_append(conn, &event, &assigned);
    free(details_text);
    if (sequence != NULL)
        *sequence = assigned;
    return status;
}

int
audit_platform_name(const char *client_id, char out[AUDIT_PLATFORM_NAME_SIZE])
{
    return string_format(out, AUDIT_PLATFORM_NAME_SIZE, AUDIT_PLATFORM_PREFIX "%s",
                         client_id);
}
