/* challenge: issuing enrollment challenges; see challenge.h. */
#include "enroll/challenge.h"

#include "util/counters.h"
#include "util/encoding.h"
#include "util/netaddr.h"
#include "util/strings.h"

#include <openssl/rand.h>
#include <string.h>
#include <time.h>

int
challenge_create(struct store_conn *conn, int64_t now, struct store_challenge *out)
{
    uint8_t id[CHALLENGE_ID_BYTES];
    uint8_t nonce[CHALLENGE_NONCE_BYTES];
    uint8_t coin;
    if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(nonce, sizeof nonce) != 1 ||
        RAND_bytes(&coin, 1) != 1)
        return -1;
    if (base64url_encode(id, sizeof id, out->id, sizeof out->id) != 0 ||
        base64url_encode(nonce, sizeof nonce, out->nonce, sizeof out->nonce) != 0 ||
        string_copy(out->action, sizeof out->action,
                    (coin & 1) ? "turn_left" : "turn_right") != 0)
        return -1;
    out->expires_at = now + CHALLENGE_LIFETIME_SECONDS;
    return store_challenge_insert(conn, out);
}

int
challenge_handle(struct store *store, struct rate *per_address,
                 const struct http_request *request, struct http_response *response)
{
    /* The body is an object with no required member. Each challenge is a
     * row until it expires: a client address gets only so many. */
    char subscriber[NETADDR_PREFIX_MAX];
    netaddr_subscriber(request->client_address, subscriber);
    int64_t wait = rate_take(per_address, subscriber, strlen(subscriber), rate_now());
    if (wait > 0) {
        counter_add(COUNTER_RATE_LIMITED, "challenges_per_address");
        return http_respond_limited(response, wait,
                                    "too many enrollment challenges from this address");
    }
    struct store_challenge challenge;
    struct store_conn *conn = store_acquire(store);
    int status = challenge_create(conn, (int64_t)time(NULL), &challenge);
    store_release(store, conn);
    if (status != 0)
        return -1;
    return http_respond_json(
        response, 201,
        json_pack("{s:s, s:s, s:s, s:I}", "challenge_id", challenge.id, "nonce",
                  challenge.nonce, "action", challenge.action, "expires_at",
                  (json_int_t)challenge.expires_at));
}
