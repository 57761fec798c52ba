/* limit: see limit.h. */
#include "enroll/limit.h"

#include "vault/vault.h"

#include <assert.h>

/* The wait after the attempt that made `strikes` (0 while free). */
static int64_t
delay_after(const struct enroll_limit *rule, int64_t strikes)
{
    if (strikes < rule->free)
        return 0;
    int64_t delay = rule->base_delay;
    for (int64_t i = rule->free; i < strikes && delay < rule->window; i++)
        delay *= 2;
    return delay < rule->window ? delay : rule->window;
}

int64_t
enroll_limit_decide(const struct enroll_limit *rule, struct store_limit *limit, int64_t now)
{
    assert(rule->free >= 1 && rule->base_delay >= 1 && rule->window >= rule->base_delay);
    struct store_limit next = *limit;
    if (now - next.window_start >= rule->window) {
        next.window_start = now;
        next.strikes = 0;
    }
    if (now < next.next_at)
        return next.next_at - now;
    next.strikes++;
    /* A free attempt leaves next_at where it was: requests take their `now`
     * before they queue for the row, so one that read the clock a second
     * before another got the row after it, and must not be told to wait
     * for a second that was never a wait. */
    int64_t delay = delay_after(rule, next.strikes);
    if (delay > 0)
        next.next_at = now + delay;
    *limit = next;
    return 0;
}

int
enroll_limit_take(const struct enroll_limit *rule, struct store_conn *conn,
                  struct signer *signer, const void *value, size_t length, int64_t now,
                  int64_t *retry_after)
{
    uint8_t key[VAULT_INDEX_BYTES];
    _Static_assert(VAULT_INDEX_BYTES == STORE_INDEX_BYTES, "one index size");
    *retry_after = 0;
    if (vault_blind_index(signer, rule->label, value, length, key) != 0 ||
        store_begin(conn) != 0)
        return -1;
    struct store_limit limit;
    if (store_limit_lock(conn, key, now, &limit) != 0)
        goto fail;
    int64_t wait = enroll_limit_decide(rule, &limit, now);
    if (wait > 0) {
        *retry_after = wait;
        store_rollback(conn);
        return 1;
    }
    /* Forgotten once neither the window nor the wait says anything. */
    int64_t window_end = limit.window_start + rule->window;
    if (store_limit_save(conn, key, &limit,
                         window_end > limit.next_at ? window_end : limit.next_at) != 0 ||
        store_commit(conn) != 0)
        goto fail;
    return 0;
fail:
    store_rollback(conn);
    return -1;
}
