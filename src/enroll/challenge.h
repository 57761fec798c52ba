/* challenge: the first step of enrollment, POST /v1/enroll/challenge.
 *
 * A challenge is a random id, a random nonce the device key must sign, and
 * a random head-turn action ("turn_left": the citizen turns to their own
 * left, so in an unmirrored photo the nose moves toward the image's right
 * edge; "turn_right" the opposite). It is single use and expires after
 * CHALLENGE_LIFETIME_SECONDS. It lives in the database, so any node can
 * take a challenge another node issued. */
#ifndef CYBERID_CHALLENGE_H
#define CYBERID_CHALLENGE_H

#include "http/http.h"
#include "store/store.h"
#include "util/rate.h"

#define CHALLENGE_LIFETIME_SECONDS 120
#define CHALLENGE_ID_BYTES 16
#define CHALLENGE_NONCE_BYTES 32
#define CHALLENGE_BODY_LIMIT 4096

/* Creates and stores a challenge valid from `now`. 0 or -1. */
int challenge_create(struct store_conn *conn, int64_t now,
                     struct store_challenge *out)
    __attribute__((warn_unused_result));

/* The HTTP handler; the body must be a JSON object (it may be empty: {}).
 * per_address (NULL: none) limits the challenges one client address (an
 * IPv6 /64) is given on this node: past it, 429 too_many_requests with
 * Retry-After, nothing stored. */
int challenge_handle(struct store *store, struct rate *per_address,
                     const struct http_request *request,
                     struct http_response *response);

#endif
