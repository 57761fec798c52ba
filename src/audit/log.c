/* log: the sequencer, the verifier and the tiles of the transparency log;
 * see log.h. */
#include "audit/log.h"

#include "audit/audit.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

int
log_commitment(const struct store_audit_event *event, const uint8_t salt[STORE_LOG_SALT_BYTES],
               uint8_t out[TLOG_HASH_BYTES])
{
    _Static_assert(STORE_LOG_SALT_BYTES == TLOG_SALT_BYTES, "one salt");
    return tlog_event_commitment(event->sequence, event->time, event->actor, event->action,
                                 event->subject, event->details, salt, out);
}

/* ── The sequencer ─────────────────────────────────────────────────────── */

struct pending {
    struct store_audit_event event; /* strings owned below */
    char *actor, *action, *subject, *details;
    uint8_t salt[STORE_LOG_SALT_BYTES];
    int had_salt;       /* 0: an event from before the log, salted now */
    /* Made when the event was appended (every event since sealed
     * events): taken as it is, the event is not read, a sealed one not
     * opened. */
    uint8_t commitment[TLOG_HASH_BYTES];
    int has_commitment;
};

struct pending_list {
    struct pending *items;
    size_t count, capacity;
};

static int
collect_pending(void *context, const struct store_audit_event *event)
{
    struct pending_list *list = context;
    if (list->count == list->capacity)
        return -1; /* the query's LIMIT is the capacity */
    struct pending *p = &list->items[list->count];
    memset(p, 0, sizeof *p);
    if (event->commitment != NULL) {
        memcpy(p->commitment, event->commitment, TLOG_HASH_BYTES);
        p->has_commitment = 1;
        p->had_salt = 1;
        p->event.sequence = event->sequence;
        p->event.leaf = event->leaf;
        list->count++;
        return 0;
    }
    p->actor = strdup(event->actor);
    p->action = strdup(event->action);
    p->subject = strdup(event->subject);
    p->details = strdup(event->details);
    if (p->actor == NULL || p->action == NULL || p->subject == NULL || p->details == NULL)
        goto fail;
    /* An event from before the log has no salt: it gets one now. */
    p->had_salt = event->salt != NULL;
    if (p->had_salt)
        memcpy(p->salt, event->salt, STORE_LOG_SALT_BYTES);
    else if (RAND_bytes(p->salt, sizeof p->salt) != 1)
        goto fail;
    p->event = *event;
    p->event.actor = p->actor;
    p->event.action = p->action;
    p->event.subject = p->subject;
    p->event.details = p->details;
    p->event.salt = p->salt;
    list->count++;
    return 0;
fail:
    free(p->actor);
    free(p->action);
    free(p->subject);
    free(p->details);
    return -1;
}

static void
pending_free(struct pending_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].actor);
        free(list->items[i].action);
        free(list->items[i].subject);
        free(list->items[i].details);
    }
    free(list->items);
}

/* Reads stored hashes by index, a query per 128 of them. 0 or -1. */
static int
read_hashes(struct store_conn *conn, const int64_t *indexes, size_t count, tlog_hash *out)
{
    _Static_assert(sizeof(tlog_hash) == STORE_LOG_HASH_BYTES, "a hash is its bytes");
    int complete = 0;
    if (count == 0)
        return 0;
    if (store_log_hashes(conn, indexes, count, (uint8_t(*)[STORE_LOG_HASH_BYTES])out,
                         &complete) != 0)
        return -1;
    return complete ? 0 : -1; /* a tree with a hole: log verify says where */
}

/* Where the sequencer reads stored hashes during a batch: those it wrote
 * in this batch from memory (stored hashes are appended in index order,
 * so they are contiguous from `base`), older ones from the store, once
 * each (an append reads the tree's right edge: a few dozen at most). */
#define SOURCE_CACHED_MAX 256
struct hash_source {
    struct store_conn *conn;
    int64_t base;
    tlog_hash *written;
    size_t written_count, written_capacity;
    int64_t cached_index[SOURCE_CACHED_MAX];
    tlog_hash cached[SOURCE_CACHED_MAX];
    size_t cached_count;
};

static int
source_read(struct hash_source *s, const int64_t *indexes, size_t count, tlog_hash *out)
{
    for (size_t i = 0; i < count; i++) {
        if (indexes[i] >= s->base) {
            size_t at = (size_t)(indexes[i] - s->base);
            if (at >= s->written_count)
                return -1;
            out[i] = s->written[at];
            continue;
        }
        size_t c = 0;
        while (c < s->cached_count && s->cached_index[c] != indexes[i])
            c++;
        if (c == s->cached_count) {
            if (read_hashes(s->conn, &indexes[i], 1, &out[i]) != 0)
                return -1;
            if (s->cached_count < SOURCE_CACHED_MAX) {
                s->cached_index[s->cached_count] = indexes[i];
                s->cached[s->cached_count++] = out[i];
            }
            continue;
        }
        out[i] = s->cached[c];
    }
    return 0;
}

static int
source_write(struct hash_source *s, const tlog_hash *hashes, size_t count)
{
    if (s->written_count + count > s->written_capacity) {
        size_t capacity = s->written_capacity ? s->written_capacity * 2 : 1024;
        while (capacity < s->written_count + count)
            capacity *= 2;
        tlog_hash *grown = realloc(s->written, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        s->written = grown;
        s->written_capacity = capacity;
    }
    memcpy(s->written + s->written_count, hashes, count * sizeof *hashes);
    s->written_count += count;
    return 0;
}

/* Appends one leaf to the tree of *size leaves, in memory. 0 or -1. */
static int
append_leaf(struct hash_source *source, int64_t *size, const uint8_t commitment[TLOG_HASH_BYTES])
{
    int64_t indexes[TLOG_PROOF_MAX];
    tlog_hash read[TLOG_PROOF_MAX], added[TLOG_PROOF_MAX + 1];
    size_t count = 0, added_count = 0;
    tlog_hash leaf = tlog_leaf_hash(commitment, TLOG_HASH_BYTES);
    tlog_append_indexes(*size, indexes, &count);
    if (source_read(source, indexes, count, read) != 0)
        return -1;
    tlog_append_hashes(*size, &leaf, read, added, &added_count);
    if (source_write(source, added, added_count) != 0)
        return -1;
    (*size)++;
    return 0;
}

/* The events' leaves, the tree's new leaves and hashes, in a few
 * statements. 0, or -1 (the store's error; or an event taken meanwhile). */
static int
write_batch(struct store_conn *conn, const struct pending_list *list, int64_t old_size,
            const uint8_t (*commitments)[TLOG_HASH_BYTES], const struct hash_source *source)
{
    int64_t *sequences = calloc(list->count, sizeof *sequences);
    int64_t *leaves = calloc(list->count, sizeof *leaves);
    size_t salted = 0;
    int status = -1;
    if (sequences == NULL || leaves == NULL)
        goto done;
    for (size_t i = 0; i < list->count; i++) {
        int64_t leaf = old_size + (int64_t)i;
        if (list->items[i].had_salt) {
            sequences[salted] = list->items[i].event.sequence;
            leaves[salted++] = leaf;
            continue;
        }
        /* An event from before the log: its new salt goes with its leaf. */
        int changed = 0;
        if (store_log_assign(conn, list->items[i].event.subject, list->items[i].event.sequence,
                             leaf, list->items[i].salt, &changed) != 0 || !changed)
            goto done;
    }
    int64_t changed = 0;
    if (store_log_assign_many(conn, sequences, leaves, salted, &changed) != 0 ||
        changed != (int64_t)salted ||
        store_log_put_leaves(conn, old_size, commitments, list->count) != 0 ||
        store_log_put_hashes(conn, source->base, (const uint8_t(*)[TLOG_HASH_BYTES])source->written,
                             source->written_count) != 0)
        goto done;
    status = 0;
done:
    free(sequences);
    free(leaves);
    return status;
}

int
log_integrate(struct store *store, struct signer *signer, int64_t max, int64_t now,
              int64_t *added, char *err, size_t errlen)
{
    _Static_assert(sizeof(tlog_hash) == TLOG_HASH_BYTES, "a hash is its bytes");
    *added = 0;
    if (max < 1 || max > LOG_BATCH_MAX)
        max = LOG_BATCH_MAX;
    struct pending_list list = {.items = calloc((size_t)max, sizeof *list.items),
                                .capacity = (size_t)max};
    uint8_t(*commitments)[TLOG_HASH_BYTES] = calloc((size_t)max, TLOG_HASH_BYTES);
    if (list.items == NULL || commitments == NULL) {
        free(list.items);
        free(commitments);
        return error_set(err, errlen, "out of memory");
    }
    struct store_conn *conn = store_acquire(store);
    struct hash_source source = {.conn = conn};
    char *note = NULL;
    int taken = 0, found = 0, status = -1;
    int64_t size = 0;
    struct store_log_checkpoint latest;
    if (store_begin(conn) != 0 || store_log_lock(conn, &taken) != 0)
        goto fail;
    if (!taken) {
        store_rollback(conn);
        status = 0;
        goto done;
    }
    if (store_log_pending(conn, max, collect_pending, &list) != 0)
        goto fail;
    if (list.count == 0) {
        store_rollback(conn);
        status = 0;
        goto done;
    }
    if (store_log_size(conn, &size) != 0 ||
        store_log_latest_checkpoint(conn, &latest, &found) != 0)
        goto fail;
    if ((found && latest.size != size) || (!found && size != 0)) {
        error_set(err, errlen, "the log holds %lld leaves but its last checkpoint says %lld",
                  (long long)size, (long long)(found ? latest.size : 0));
        store_rollback(conn);
        goto done;
    }
    int64_t old_size = size;
    source.base = tlog_stored_count(size);
    for (size_t i = 0; i < list.count; i++) {
        if (list.items[i].has_commitment)
            memcpy(commitments[i], list.items[i].commitment, TLOG_HASH_BYTES);
        else if (log_commitment(&list.items[i].event, list.items[i].salt, commitments[i]) != 0) {
            error_set(err, errlen, "event %lld does not serialise",
                      (long long)list.items[i].event.sequence);
            store_rollback(conn);
            goto done;
        }
        if (append_leaf(&source, &size, commitments[i]) != 0)
            goto fail;
    }
    if (write_batch(conn, &list, old_size, (const uint8_t(*)[TLOG_HASH_BYTES])commitments,
                    &source) != 0)
        goto fail;
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX], proof[TLOG_PROOF_MAX];
    size_t count = 0, proof_length = 0;
    tlog_root_indexes(size, indexes, &count);
    if (source_read(&source, indexes, count, read) != 0)
        goto fail;
    tlog_hash root = tlog_root_from(size, read);
    if (old_size > 0) {
        if (tlog_consistency_indexes(old_size, size, indexes, &count) != 0 ||
            source_read(&source, indexes, count, read) != 0)
            goto fail;
        tlog_consistency_from(old_size, size, read, proof, &proof_length);
    }
    static const uint8_t zero[TLOG_HASH_BYTES];
    if (signer_sign_checkpoint(signer, size, root.bytes, old_size,
                               old_size > 0 ? latest.root : zero, (const uint8_t *)proof,
                               proof_length, &note) != 0) {
        error_set(err, errlen, "the signer did not sign the checkpoint of %lld leaves",
                  (long long)size);
        store_rollback(conn);
        goto done;
    }
    struct store_log_checkpoint checkpoint = {.size = size, .created_at = now};
    memcpy(checkpoint.root, root.bytes, TLOG_HASH_BYTES);
    if (string_copy(checkpoint.note, sizeof checkpoint.note, note) != 0 ||
        store_log_put_checkpoint(conn, &checkpoint) != 0 || store_commit(conn) != 0)
        goto fail;
    *added = (int64_t)list.count;
    status = 0;
    goto done;
fail:
    error_set(err, errlen, "the log's store: %s", store_last_error(conn));
    store_rollback(conn);
done:
    free(note);
    free(source.written);
    free(commitments);
    store_release(store, conn);
    pending_free(&list);
    return status;
}

int
log_consistency_proof(struct store_conn *conn, int64_t old_size, int64_t size,
                      tlog_hash proof[TLOG_PROOF_MAX], size_t *length)
{
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX];
    size_t count = 0;
    *length = 0;
    if (tlog_consistency_indexes(old_size, size, indexes, &count) != 0 ||
        read_hashes(conn, indexes, count, read) != 0)
        return -1;
    tlog_consistency_from(old_size, size, read, proof, length);
    return 0;
}

/* ── Verification of the whole log ─────────────────────────────────────── */

struct rebuilt {
    tlog_hash *stored;          /* every stored hash, recomputed */
    int64_t stored_count, stored_capacity;
    uint8_t (*leaves)[TLOG_HASH_BYTES];
    int64_t size, leaf_capacity;
    uint8_t *seen;              /* per leaf: its event was found */
    int64_t compared;
    struct log_report *report;
    struct signer *signer;      /* opens sealed events */
};

static int
problem(struct log_report *report, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int
problem(struct log_report *report, const char *format, ...)
{
    if (report->problem[0] == '\0') {
        va_list args;
        va_start(args, format);
        vsnprintf(report->problem, sizeof report->problem, format, args);
        va_end(args);
    }
    return 1;
}

static int
grow(void **items, int64_t *capacity, int64_t needed, size_t size)
{
    if (needed <= *capacity)
        return 0;
    int64_t next = *capacity > 0 ? *capacity * 2 : 1024;
    while (next < needed)
        next *= 2;
    void *grown = realloc(*items, (size_t)next * size);
    if (grown == NULL)
        return -1;
    *items = grown;
    *capacity = next;
    return 0;
}

/* Each stored leaf, in order, appended to the tree rebuilt in memory. */
static int
rebuild_leaf(void *context, int64_t index, const uint8_t *commitment)
{
    struct rebuilt *r = context;
    if (index != r->size)
        return problem(r->report, "leaf %lld is missing", (long long)r->size);
    if (grow((void **)&r->leaves, &r->leaf_capacity, r->size + 1, TLOG_HASH_BYTES) != 0 ||
        grow((void **)&r->stored, &r->stored_capacity, r->stored_count + TLOG_PROOF_MAX + 1,
             sizeof *r->stored) != 0)
        return -1;
    memcpy(r->leaves[r->size], commitment, TLOG_HASH_BYTES);
    int64_t indexes[TLOG_PROOF_MAX];
    tlog_hash read[TLOG_PROOF_MAX], added[TLOG_PROOF_MAX + 1];
    size_t count = 0, added_count = 0;
    tlog_hash leaf = tlog_leaf_hash(commitment, TLOG_HASH_BYTES);
    tlog_append_indexes(r->size, indexes, &count);
    for (size_t i = 0; i < count; i++)
        read[i] = r->stored[indexes[i]];
    tlog_append_hashes(r->size, &leaf, read, added, &added_count);
    for (size_t i = 0; i < added_count; i++)
        r->stored[r->stored_count++] = added[i];
    r->size++;
    return 0;
}

static int
compare_stored(void *context, int64_t index, const uint8_t *hash)
{
    struct rebuilt *r = context;
    if (index != r->compared || index >= r->stored_count ||
        memcmp(hash, r->stored[index].bytes, TLOG_HASH_BYTES) != 0)
        return problem(r->report, "stored hash %lld does not match the leaves",
                       (long long)index);
    r->compared++;
    return 0;
}

struct checkpoint_check {
    struct rebuilt *tree;
    const char *vkey;
    int64_t previous_size;
    tlog_hash previous_root;
};

static tlog_hash
root_at(const struct rebuilt *r, int64_t size)
{
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX];
    size_t count = 0;
    tlog_root_indexes(size, indexes, &count);
    for (size_t i = 0; i < count; i++)
        read[i] = r->stored[indexes[i]];
    return tlog_root_from(size, read);
}

static int
check_checkpoint(void *context, const struct store_log_checkpoint *checkpoint)
{
    struct checkpoint_check *c = context;
    struct rebuilt *r = c->tree;
    struct log_report *report = r->report;
    if (checkpoint->size > r->size)
        return problem(report, "checkpoint of %lld leaves, but the log has %lld",
                       (long long)checkpoint->size, (long long)r->size);
    tlog_hash root = root_at(r, checkpoint->size), noted;
    if (memcmp(root.bytes, checkpoint->root, TLOG_HASH_BYTES) != 0)
        return problem(report, "the checkpoint of %lld leaves has another root than the tree",
                       (long long)checkpoint->size);
    size_t body_length = 0;
    int64_t noted_size = -1;
    char origin[SIGNER_LOG_ORIGIN_MAX] = "";
    const char *plus = strchr(c->vkey, '+');
    if (plus != NULL && (size_t)(plus - c->vkey) < sizeof origin)
        memcpy(origin, c->vkey, (size_t)(plus - c->vkey));
    if (!tlog_note_verify(checkpoint->note, c->vkey, &body_length) ||
        tlog_checkpoint_parse(checkpoint->note, body_length, origin, &noted_size, &noted) != 0 ||
        noted_size != checkpoint->size || memcmp(noted.bytes, root.bytes, TLOG_HASH_BYTES) != 0)
        return problem(report, "the checkpoint of %lld leaves is not signed by the log key",
                       (long long)checkpoint->size);
    if (c->previous_size > 0) {
        int64_t indexes[TLOG_INDEXES_MAX];
        tlog_hash read[TLOG_INDEXES_MAX], proof[TLOG_PROOF_MAX];
        size_t count = 0, length = 0;
        if (tlog_consistency_indexes(c->previous_size, checkpoint->size, indexes, &count) != 0)
            return problem(report, "checkpoints out of order");
        for (size_t i = 0; i < count; i++)
            read[i] = r->stored[indexes[i]];
        tlog_consistency_from(c->previous_size, checkpoint->size, read, proof, &length);
        if (!tlog_verify_consistency(c->previous_size, checkpoint->size, &c->previous_root,
                                     &root, proof, length))
            return problem(report, "the checkpoint of %lld leaves does not extend the one "
                                   "before", (long long)checkpoint->size);
    }
    c->previous_size = checkpoint->size;
    c->previous_root = root;
    report->checkpoints++;
    return 0;
}

static int
check_event(void *context, const struct store_audit_event *event)
{
    struct rebuilt *r = context;
    uint8_t commitment[TLOG_HASH_BYTES];
    if (event->leaf < 0 || event->leaf >= r->size)
        return problem(r->report, "event %lld names leaf %lld, which the log does not have",
                       (long long)event->sequence, (long long)event->leaf);
    if (r->seen[event->leaf])
        return problem(r->report, "two events name leaf %lld", (long long)event->leaf);
    r->seen[event->leaf] = 1;
    int same = 0;
    if (event->commitment == NULL) {
        /* An event from before sealed events: form 1, with its sequence. */
        same = event->salt != NULL && log_commitment(event, event->salt, commitment) == 0 &&
               memcmp(commitment, r->leaves[event->leaf], TLOG_HASH_BYTES) == 0;
    } else if (memcmp(event->commitment, r->leaves[event->leaf], TLOG_HASH_BYTES) == 0) {
        /* The stored commitment is the leaf's; the event, opened, must
         * still be what it commits to. */
        struct audit_opened opened;
        if (audit_open(r->signer, event, &opened) != 0)
            return problem(r->report, "event %lld does not open: its seal was altered",
                           (long long)event->sequence);
        same = opened.has_salt &&
               tlog_appended_commitment(event->time, opened.actor, event->action,
                                        opened.subject, opened.details, opened.salt,
                                        commitment) == 0 &&
               memcmp(commitment, r->leaves[event->leaf], TLOG_HASH_BYTES) == 0;
        audit_opened_clear(&opened);
    }
    if (!same)
        return problem(r->report, "event %lld is not what leaf %lld commits to",
                       (long long)event->sequence, (long long)event->leaf);
    r->report->events++;
    return 0;
}

static int
count_pending(void *context, const struct store_audit_event *event)
{
    (void)event;
    ((struct log_report *)context)->pending++;
    return 0;
}

int
log_verify(struct store_conn *conn, struct signer *signer, const char *vkey,
           struct log_report *report)
{
    memset(report, 0, sizeof *report);
    struct rebuilt r = {.report = report, .signer = signer};
    struct checkpoint_check c = {.tree = &r, .vkey = vkey};
    int status = -1;
    if (store_log_leaves(conn, 0, INT64_MAX, rebuild_leaf, &r) != 0 && !report->problem[0])
        goto done;
    report->leaves = r.size;
    if (!report->problem[0] &&
        store_log_hash_range(conn, 0, INT64_MAX, compare_stored, &r) != 0 && !report->problem[0])
        goto done;
    if (!report->problem[0] && r.compared != r.stored_count)
        problem(report, "the log stores %lld hashes for %lld leaves, not %lld",
                (long long)r.compared, (long long)r.size, (long long)r.stored_count);
    if (!report->problem[0] && store_log_checkpoints(conn, check_checkpoint, &c) != 0 &&
        !report->problem[0])
        goto done;
    if (!report->problem[0] && r.size > 0 && c.previous_size != r.size)
        problem(report, "no checkpoint covers the last %lld leaves",
                (long long)(r.size - c.previous_size));
    if (!report->problem[0]) {
        r.seen = calloc((size_t)(r.size > 0 ? r.size : 1), 1);
        if (r.seen == NULL)
            goto done;
        if (store_log_events(conn, check_event, &r) != 0 && !report->problem[0])
            goto done;
        for (int64_t i = 0; i < r.size && !report->problem[0]; i++)
            if (!r.seen[i])
                problem(report, "leaf %lld has no event: the event was deleted", (long long)i);
    }
    if (store_log_pending(conn, INT64_MAX, count_pending, report) != 0)
        goto done;
    status = report->problem[0] ? 1 : 0;
done:
    free(r.stored);
    free(r.leaves);
    free(r.seen);
    return status;
}

/* ── Tiles ─────────────────────────────────────────────────────────────── */

struct tile_fill {
    const int64_t *indexes;
    int width;
    uint8_t *out;
    int filled;
};

static int
fill_tile(void *context, int64_t index, const uint8_t *hash)
{
    struct tile_fill *t = context;
    /* The indexes are increasing: each hash of the range is one of them
     * or an interior hash in between. */
    if (t->filled < t->width && index == t->indexes[t->filled]) {
        memcpy(t->out + (size_t)t->filled * TLOG_HASH_BYTES, hash, TLOG_HASH_BYTES);
        t->filled++;
    }
    return 0;
}

int
log_tile(struct store_conn *conn, int64_t size, int level, int64_t n, int width, uint8_t *out)
{
    if (width < 1 || width > tlog_tile_width(level, n, size))
        return 1;
    int64_t indexes[TLOG_TILE_WIDTH];
    tlog_tile_indexes(level, n, width, indexes);
    struct tile_fill t = {.indexes = indexes, .width = width, .out = out};
    if (store_log_hash_range(conn, indexes[0], indexes[width - 1], fill_tile, &t) != 0)
        return -1;
    return t.filled == width ? 0 : -1;
}

/* ── A citizen's history ───────────────────────────────────────────────── */

static json_t *
hashes_json(const tlog_hash *hashes, size_t count)
{
    json_t *array = json_array();
    for (size_t i = 0; array != NULL && i < count; i++) {
        char *encoded = base64_encode_alloc(hashes[i].bytes, TLOG_HASH_BYTES);
        if (encoded == NULL || json_array_append_new(array, json_string(encoded)) != 0) {
            free(encoded);
            json_decref(array);
            return NULL;
        }
        free(encoded);
    }
    return array;
}

struct history {
    struct store_conn *conn;
    struct signer *signer;
    int64_t size;
    json_t *entries;
    int64_t pending;
    int failed;
};

static int
add_history_event(void *context, const struct store_audit_event *event)
{
    struct history *h = context;
    if (event->leaf < 0 || event->leaf >= h->size ||
        (event->salt == NULL && event->sealed == NULL)) {
        h->pending++;
        return 0;
    }
    struct audit_opened opened;
    if (audit_open(h->signer, event, &opened) != 0 || !opened.has_salt) {
        audit_opened_clear(&opened);
        if (event->sealed == NULL || signer_outage_peek()) {
            h->failed = 1;
            return -1;
        }
        /* A seal that does not open was altered: the citizen is told so
         * (their app reports the log inconsistent) rather than shown a
         * history without it. */
        json_t *entry = json_pack("{s:I, s:I, s:I, s:s, s:b}", "leaf", (json_int_t)event->leaf,
                                  "sequence", (json_int_t)event->sequence, "time",
                                  (json_int_t)event->time, "action", event->action,
                                  "unopenable", 1);
        if (entry == NULL || json_array_append_new(h->entries, entry) != 0) {
            h->failed = 1;
            return -1;
        }
        return 0;
    }
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX], proof[TLOG_PROOF_MAX];
    size_t count = 0, length = 0;
    if (tlog_inclusion_indexes(h->size, event->leaf, indexes, &count) != 0 ||
        read_hashes(h->conn, indexes, count, read) != 0) {
        audit_opened_clear(&opened);
        h->failed = 1;
        return -1;
    }
    tlog_inclusion_from(h->size, event->leaf, read, proof, &length);
    char *salt = base64_encode_alloc(opened.salt, STORE_LOG_SALT_BYTES);
    json_t *details = json_loads(opened.details, JSON_REJECT_DUPLICATES, NULL);
    json_t *entry = NULL;
    /* form 2: committed when appended, without the sequence (tlog.h). */
    if (salt == NULL || details == NULL)
        json_decref(details);
    else
        entry = json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:o, s:s, s:o}", "leaf",
                          (json_int_t)event->leaf, "form", (json_int_t)(event->commitment ? 2 : 1),
                          "sequence", (json_int_t)event->sequence, "time",
                          (json_int_t)event->time, "actor", opened.actor, "action",
                          event->action, "subject", opened.subject, "details", details, "salt",
                          salt, "proof", hashes_json(proof, length));
    free(salt);
    audit_opened_clear(&opened);
    if (entry == NULL || json_array_append_new(h->entries, entry) != 0) {
        h->failed = 1;
        return -1;
    }
    return 0;
}

int
log_history(struct store_conn *conn, struct signer *signer, const char *const *citizens,
            size_t citizen_count, int64_t since, json_t **out)
{
    *out = NULL;
    struct store_log_checkpoint checkpoint;
    int found = 0;
    if (store_log_latest_checkpoint(conn, &checkpoint, &found) != 0)
        return -1;
    if (!found)
        return 1;
    struct history h = {.conn = conn, .signer = signer, .size = checkpoint.size,
                        .entries = json_array()};
    if (h.entries == NULL)
        return -1;
    /* Each citizen's events from before sealed events (plain, under the
     * citizen), then the sealed ones (under the blind subject): in each,
     * oldest first. */
    for (size_t i = 0; i < citizen_count && !h.failed; i++) {
        char blind[AUDIT_CITIZEN_SUBJECT_SIZE];
        if (store_audit_by_subject(conn, citizens[i], add_history_event, &h) != 0 ||
            audit_citizen_subject(signer, citizens[i], blind) != 0 ||
            store_audit_by_subject(conn, blind, add_history_event, &h) != 0)
            h.failed = 1;
    }
    json_t *consistency = NULL;
    if (!h.failed && since > 0 && since <= checkpoint.size) {
        int64_t indexes[TLOG_INDEXES_MAX];
        tlog_hash read[TLOG_INDEXES_MAX], proof[TLOG_PROOF_MAX];
        size_t count = 0, length = 0;
        if (tlog_consistency_indexes(since, checkpoint.size, indexes, &count) != 0 ||
            read_hashes(conn, indexes, count, read) != 0) {
            h.failed = 1;
        } else {
            tlog_consistency_from(since, checkpoint.size, read, proof, &length);
            consistency = hashes_json(proof, length);
            h.failed = consistency == NULL;
        }
    }
    if (h.failed) {
        json_decref(h.entries);
        json_decref(consistency);
        return -1;
    }
    *out = json_pack("{s:s, s:I, s:o, s:o, s:I}", "checkpoint", checkpoint.note, "size",
                     (json_int_t)checkpoint.size, "consistency",
                     consistency ? consistency : json_array(), "entries", h.entries,
                     "pending", (json_int_t)h.pending);
    return *out != NULL ? 0 : -1;
}
