/* audit: the one function every state change calls.
 *
 * Each event records who acted (actor), what was done (action), on what
 * (subject: opaque ids such as a record id, a client id or a web number,
 * never a name or an ID number) and details that name things without their
 * values (claims disclosed by name, counts, reason codes). They are
 * appended in the caller's transaction, so a state change and its event
 * commit or roll back together. Each gets a random salt; the sequencer
 * then puts it in the transparency log (log.h) as a salted commitment
 * under a signed checkpoint, so an event altered or deleted afterwards is
 * caught by `cyberid log verify`. The events themselves are still plain
 * rows (issue 11: sealed events, the citizen's history). */
#ifndef CYBERID_AUDIT_H
#define CYBERID_AUDIT_H

#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define AUDIT_ACTOR_OPERATOR "operator"
/* A platform as actor or subject: "platform:<client_id>". */
#define AUDIT_PLATFORM_PREFIX "platform:"
#define AUDIT_PLATFORM_NAME_SIZE (sizeof AUDIT_PLATFORM_PREFIX + STORE_ID_MAX)

/* "platform:<client_id>" into out. 0, or -1 when client_id is longer than
 * a client id can be (out then empty). */
int audit_platform_name(const char *client_id, char out[AUDIT_PLATFORM_NAME_SIZE])
    __attribute__((warn_unused_result));

/* Appends an event at the current time. `details` is a JSON object or NULL
 * (borrowed: the caller keeps its reference). Sets *sequence (may be NULL)
 * to the event's number. Returns 0 or -1 (store_last_error(conn)). */
int audit_append(struct store_conn *conn, const char *actor, const char *action,
                 const char *subject, const json_t *details, int64_t *sequence)
    __attribute__((warn_unused_result, nonnull(1, 2, 3, 4)));

#endif
