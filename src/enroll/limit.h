/* limit: rate limits with backoff that follow whoever makes the attempts
 * (an address, a network, a device key), never the person an attempt
 * names: a limit keyed by a victim's ID number would let anyone who knows
 * the number keep its owner from enrolling.
 *
 * Each key may make `free` attempts in a window; each attempt past that
 * must wait, after the one before, twice as long as the previous wait
 * (base, 2·base, 4·base, ... at most the window); the window starts again
 * with the first attempt after it ends. An attempt refused by a limit is
 * not counted, so the Retry-After it gets is the truth: an attempt then is
 * let through. Keys are blind indexes (vault) of the value: the store
 * never holds an address or a key in the clear. */
#ifndef CYBERID_ENROLL_LIMIT_H
#define CYBERID_ENROLL_LIMIT_H

#include "signer/signer.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

struct enroll_limit {
    const char *label;   /* the blind index's label: one key space per limit */
    const char *what;    /* "from this address", for the refusal's text */
    int64_t free;        /* attempts per window without waiting */
    int64_t base_delay;  /* the first wait, in seconds */
    int64_t window;      /* seconds */
};

/* The decision for an attempt at `now` on a key in state *limit: 0 let
 * through (*limit updated: save it), or the seconds to wait (*limit
 * unchanged). Pure: the policy, tested on its own. */
int64_t enroll_limit_decide(const struct enroll_limit *rule, struct store_limit *limit,
                            int64_t now);

/* Takes one attempt on rule's key for value[0..length), in a transaction
 * of its own (committed at once, so an attempt that is later refused for
 * another reason still counts). 0 let through, 1 refused (*retry_after
 * set), -1 store or signer failure. */
int enroll_limit_take(const struct enroll_limit *rule, struct store_conn *conn,
                      struct signer *signer, const void *value, size_t length,
                      int64_t now, int64_t *retry_after) __attribute__((warn_unused_result));

#endif
