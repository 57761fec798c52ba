/* tlog: Merkle tree math, tiles and checkpoints; see tlog.h. The stored
 * hash numbering and the recursive walks that name which stored hashes a
 * root or a proof needs follow the design of Go's sumdb/tlog (written
 * here from RFC 9162 and that design, not translated); the verifiers are
 * RFC 9162 §2.1.3.2 and §2.1.4.2 step by step. */
/* OpenSSL's low-level SHA256_Init/Update/Final, deprecated in 3.0 for the
 * EVP interface, hash on the stack and cannot fail; EVP_MD_CTX_new() can,
 * and a hash that could fail would make every function here return a
 * status for an allocation. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "audit/tlog.h"

#include "util/encoding.h"

#include <assert.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tlog_hash
tlog_leaf_hash(const void *data, size_t length)
{
    tlog_hash out;
    SHA256_CTX context;
    const uint8_t prefix = 0x00;
    SHA256_Init(&context);
    SHA256_Update(&context, &prefix, 1);
    SHA256_Update(&context, data, length);
    SHA256_Final(out.bytes, &context);
    return out;
}

tlog_hash
tlog_node_hash(const tlog_hash *left, const tlog_hash *right)
{
    tlog_hash out;
    SHA256_CTX context;
    const uint8_t prefix = 0x01;
    SHA256_Init(&context);
    SHA256_Update(&context, &prefix, 1);
    SHA256_Update(&context, left->bytes, TLOG_HASH_BYTES);
    SHA256_Update(&context, right->bytes, TLOG_HASH_BYTES);
    SHA256_Final(out.bytes, &context);
    return out;
}

tlog_hash
tlog_empty_hash(void)
{
    tlog_hash out;
    SHA256((const unsigned char *)"", 0, out.bytes);
    return out;
}

int64_t
tlog_stored_index(int level, int64_t n)
{
    assert(level >= 0 && level < 63 && n >= 0);
    /* The hash at (level, n) is stored right after the one at
     * (level - 1, 2n + 1), its right child: walk down to level 0. */
    for (int l = level; l > 0; l--)
        n = 2 * n + 1;
    /* Before leaf n come the n leaves and the n/2 + n/4 + ... subtrees
     * they completed. */
    int64_t index = 0;
    for (; n > 0; n >>= 1)
        index += n;
    return index + level;
}

int64_t
tlog_stored_count(int64_t size)
{
    assert(size >= 0);
    if (size == 0)
        return 0;
    int64_t count = tlog_stored_index(0, size - 1) + 1;
    for (uint64_t i = (uint64_t)(size - 1); i & 1; i >>= 1)
        count++;
    return count;
}

/* The number of trailing one bits of n: the subtrees leaf n completes. */
static int
completed_by(int64_t n)
{
    int count = 0;
    for (uint64_t i = (uint64_t)n; i & 1; i >>= 1)
        count++;
    return count;
}

void
tlog_append_indexes(int64_t size, int64_t indexes[TLOG_PROOF_MAX], size_t *count)
{
    assert(size >= 0);
    int m = completed_by(size);
    /* The left sibling at each level the new leaf closes, sorted. */
    for (int i = 0; i < m; i++)
        indexes[m - 1 - i] = tlog_stored_index(i, (size >> i) - 1);
    *count = (size_t)m;
}

void
tlog_append_hashes(int64_t size, const tlog_hash *leaf, const tlog_hash *read,
                   tlog_hash out[TLOG_PROOF_MAX + 1], size_t *added)
{
    int m = completed_by(size);
    tlog_hash h = *leaf;
    out[0] = h;
    for (int i = 0; i < m; i++) {
        h = tlog_node_hash(&read[m - 1 - i], &h);
        out[i + 1] = h;
    }
    *added = (size_t)m + 1;
}

/* The largest power of two smaller than n (n >= 2), and its log. */
static int64_t
split(int64_t n, int *log)
{
    int l = 0;
    while (((int64_t)1 << (l + 1)) < n)
        l++;
    if (log != NULL)
        *log = l;
    return (int64_t)1 << l;
}

/* Names the complete subtrees that make up leaves [lo, hi), left to
 * right: each is the largest power of two that fits. */
static void
subtree_indexes(int64_t lo, int64_t hi, int64_t *indexes, size_t *count)
{
    while (lo < hi) {
        int level = 0;
        int64_t k = split(hi - lo + 1, &level); /* largest power of two <= hi - lo */
        assert((lo & (k - 1)) == 0);
        assert(*count < TLOG_INDEXES_MAX);
        indexes[(*count)++] = tlog_stored_index(level, lo >> level);
        lo += k;
    }
}

/* The hash of leaves [lo, hi) from the hashes subtree_indexes() named,
 * taken from *read onwards (advanced past them). */
static tlog_hash
subtree_hash(int64_t lo, int64_t hi, const tlog_hash **read)
{
    size_t trees = 0;
    for (int64_t at = lo; at < hi; trees++)
        at += split(hi - at + 1, NULL);
    const tlog_hash *hashes = *read;
    tlog_hash h = hashes[trees - 1];
    for (size_t i = trees - 1; i-- > 0;)
        h = tlog_node_hash(&hashes[i], &h);
    *read += trees;
    return h;
}

void
tlog_root_indexes(int64_t size, int64_t indexes[TLOG_INDEXES_MAX], size_t *count)
{
    assert(size >= 0);
    *count = 0;
    subtree_indexes(0, size, indexes, count);
}

tlog_hash
tlog_root_from(int64_t size, const tlog_hash *read)
{
    if (size == 0)
        return tlog_empty_hash();
    return subtree_hash(0, size, &read);
}

/* ── Inclusion ─────────────────────────────────────────────────────────── */

static void
inclusion_indexes(int64_t lo, int64_t hi, int64_t n, int64_t *indexes, size_t *count)
{
    if (lo + 1 == hi)
        return;
    int64_t k = split(hi - lo, NULL);
    if (n < lo + k) {
        inclusion_indexes(lo, lo + k, n, indexes, count);
        subtree_indexes(lo + k, hi, indexes, count);
    } else {
        subtree_indexes(lo, lo + k, indexes, count);
        inclusion_indexes(lo + k, hi, n, indexes, count);
    }
}

/* RFC 9162 PATH(m, D[lo:hi]): the path below, then the sibling here. */
static void
inclusion_path(int64_t lo, int64_t hi, int64_t n, const tlog_hash **read, tlog_hash *proof,
               size_t *length)
{
    if (lo + 1 == hi)
        return;
    int64_t k = split(hi - lo, NULL);
    tlog_hash sibling;
    if (n < lo + k) {
        inclusion_path(lo, lo + k, n, read, proof, length);
        sibling = subtree_hash(lo + k, hi, read);
    } else {
        sibling = subtree_hash(lo, lo + k, read);
        inclusion_path(lo + k, hi, n, read, proof, length);
    }
    assert(*length < TLOG_PROOF_MAX);
    proof[(*length)++] = sibling;
}

int
tlog_inclusion_indexes(int64_t size, int64_t index, int64_t indexes[TLOG_INDEXES_MAX],
                       size_t *count)
{
    *count = 0;
    if (size < 1 || index < 0 || index >= size)
        return -1;
    inclusion_indexes(0, size, index, indexes, count);
    return 0;
}

void
tlog_inclusion_from(int64_t size, int64_t index, const tlog_hash *read,
                    tlog_hash proof[TLOG_PROOF_MAX], size_t *length)
{
    assert(size >= 1 && index >= 0 && index < size);
    *length = 0;
    inclusion_path(0, size, index, &read, proof, length);
}

/* ── Consistency ───────────────────────────────────────────────────────── */

static void
consistency_indexes(int64_t lo, int64_t hi, int64_t n, int64_t *indexes, size_t *count)
{
    if (n == hi) {
        if (lo != 0)
            subtree_indexes(lo, hi, indexes, count);
        return;
    }
    int64_t k = split(hi - lo, NULL);
    if (n <= lo + k) {
        consistency_indexes(lo, lo + k, n, indexes, count);
        subtree_indexes(lo + k, hi, indexes, count);
    } else {
        subtree_indexes(lo, lo + k, indexes, count);
        consistency_indexes(lo + k, hi, n, indexes, count);
    }
}

/* RFC 9162 SUBPROOF(m, D[lo:hi], lo == 0). */
static void
consistency_path(int64_t lo, int64_t hi, int64_t n, const tlog_hash **read, tlog_hash *proof,
                 size_t *length)
{
    if (n == hi) {
        if (lo != 0) {
            assert(*length < TLOG_PROOF_MAX);
            proof[(*length)++] = subtree_hash(lo, hi, read);
        }
        return;
    }
    int64_t k = split(hi - lo, NULL);
    tlog_hash sibling;
    if (n <= lo + k) {
        consistency_path(lo, lo + k, n, read, proof, length);
        sibling = subtree_hash(lo + k, hi, read);
    } else {
        sibling = subtree_hash(lo, lo + k, read);
        consistency_path(lo + k, hi, n, read, proof, length);
    }
    assert(*length < TLOG_PROOF_MAX);
    proof[(*length)++] = sibling;
}

int
tlog_consistency_indexes(int64_t old_size, int64_t size, int64_t indexes[TLOG_INDEXES_MAX],
                         size_t *count)
{
    *count = 0;
    if (old_size < 1 || old_size > size)
        return -1;
    consistency_indexes(0, size, old_size, indexes, count);
    return 0;
}

void
tlog_consistency_from(int64_t old_size, int64_t size, const tlog_hash *read,
                      tlog_hash proof[TLOG_PROOF_MAX], size_t *length)
{
    assert(old_size >= 1 && old_size <= size);
    *length = 0;
    consistency_path(0, size, old_size, &read, proof, length);
}

/* ── Verification (RFC 9162) ───────────────────────────────────────────── */

static int
hash_equal(const tlog_hash *a, const tlog_hash *b)
{
    return memcmp(a->bytes, b->bytes, TLOG_HASH_BYTES) == 0;
}

int
tlog_verify_inclusion(int64_t index, int64_t size, const tlog_hash *leaf_hash,
                      const tlog_hash *proof, size_t length, const tlog_hash *root)
{
    if (index < 0 || size < 1 || index >= size || length > TLOG_PROOF_MAX)
        return 0;
    uint64_t fn = (uint64_t)index, sn = (uint64_t)size - 1;
    tlog_hash r = *leaf_hash;
    for (size_t i = 0; i < length; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            r = tlog_node_hash(&proof[i], &r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            r = tlog_node_hash(&r, &proof[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && hash_equal(&r, root);
}

int
tlog_verify_consistency(int64_t old_size, int64_t size, const tlog_hash *old_root,
                        const tlog_hash *root, const tlog_hash *proof, size_t length)
{
    if (old_size < 1 || old_size > size || length > TLOG_PROOF_MAX)
        return 0;
    if (old_size == size)
        return length == 0 && hash_equal(old_root, root);
    if (length == 0)
        return 0;
    /* The path, with old_root first when old_size is a power of two. */
    tlog_hash path[TLOG_PROOF_MAX + 1];
    size_t count = 0;
    if ((old_size & (old_size - 1)) == 0)
        path[count++] = *old_root;
    memcpy(path + count, proof, length * sizeof *proof);
    count += length;
    uint64_t fn = (uint64_t)old_size - 1, sn = (uint64_t)size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    tlog_hash fr = path[0], sr = path[0];
    for (size_t i = 1; i < count; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            fr = tlog_node_hash(&path[i], &fr);
            sr = tlog_node_hash(&path[i], &sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            sr = tlog_node_hash(&sr, &path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return hash_equal(&fr, old_root) && hash_equal(&sr, root) && sn == 0;
}

/* ── Tiles ─────────────────────────────────────────────────────────────── */

int
tlog_tile_path(int level, int64_t n, int width, char out[TLOG_TILE_PATH_MAX])
{
    if (level < 0 || level > 7 || n < 0 || width < 1 || width > TLOG_TILE_WIDTH)
        return -1;
    char digits[32], number[64] = "";
    int length = snprintf(digits, sizeof digits, "%lld", (long long)n);
    /* Left-pad to a multiple of three, then split in groups. */
    int padded = (length + 2) / 3 * 3;
    char groups[32];
    memset(groups, '0', (size_t)(padded - length));
    memcpy(groups + (padded - length), digits, (size_t)length + 1);
    size_t at = 0;
    for (int i = 0; i < padded; i += 3) {
        int last = i + 3 == padded;
        at += (size_t)snprintf(number + at, sizeof number - at, "%s%.3s%s", last ? "" : "x",
                               groups + i, last ? "" : "/");
    }
    int written = width == TLOG_TILE_WIDTH
                      ? snprintf(out, TLOG_TILE_PATH_MAX, "tile/%d/%s", level, number)
                      : snprintf(out, TLOG_TILE_PATH_MAX, "tile/%d/%s.p/%d", level, number,
                                 width);
    return written > 0 && written < TLOG_TILE_PATH_MAX ? 0 : -1;
}

int
tlog_tile_parse(const char *path, int *level, int64_t *n, int *width)
{
    if (strncmp(path, "tile/", 5) != 0 || path[5] < '0' || path[5] > '7' || path[6] != '/')
        return -1;
    *level = path[5] - '0';
    const char *at = path + 7;
    int64_t value = 0;
    int groups = 0;
    for (;;) {
        int prefixed = *at == 'x';
        if (prefixed)
            at++;
        if (at[0] < '0' || at[0] > '9' || at[1] < '0' || at[1] > '9' || at[2] < '0' ||
            at[2] > '9')
            return -1;
        if (groups == 6) /* past 10^18: more than any tree */
            return -1;
        value = value * 1000 + (at[0] - '0') * 100 + (at[1] - '0') * 10 + (at[2] - '0');
        /* The first group has no useless leading zeros (but "000"). */
        if (groups == 0 && prefixed && value == 0)
            return -1;
        groups++;
        at += 3;
        if (prefixed) {
            if (*at != '/')
                return -1;
            at++;
            continue;
        }
        break;
    }
    *n = value;
    *width = TLOG_TILE_WIDTH;
    if (*at == '\0')
        return 0;
    if (strncmp(at, ".p/", 3) != 0)
        return -1;
    at += 3;
    int w = 0;
    if (*at < '1' || *at > '9')
        return -1;
    for (; *at >= '0' && *at <= '9'; at++) {
        w = w * 10 + (*at - '0');
        if (w >= TLOG_TILE_WIDTH)
            return -1;
    }
    if (*at != '\0')
        return -1;
    *width = w;
    return 0;
}

void
tlog_tile_indexes(int level, int64_t n, int width, int64_t indexes[TLOG_TILE_WIDTH])
{
    assert(level >= 0 && level <= 7 && n >= 0 && width >= 1 && width <= TLOG_TILE_WIDTH);
    for (int i = 0; i < width; i++)
        indexes[i] = tlog_stored_index(level * TLOG_TILE_HEIGHT, n * TLOG_TILE_WIDTH + i);
}

int
tlog_tile_width(int level, int64_t n, int64_t size)
{
    if (level < 0 || level > 7 || n < 0 || size < 0)
        return 0;
    int64_t complete = size >> (level * TLOG_TILE_HEIGHT);
    int64_t first = n * TLOG_TILE_WIDTH;
    if (complete <= first)
        return 0;
    return complete - first >= TLOG_TILE_WIDTH ? TLOG_TILE_WIDTH : (int)(complete - first);
}

/* ── Checkpoints ───────────────────────────────────────────────────────── */

static int
origin_is_valid(const char *origin)
{
    size_t length = strnlen(origin, 256);
    if (length == 0 || length > 255)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (origin[i] <= ' ' || origin[i] > '~' || origin[i] == '+')
            return 0;
    return 1;
}

int
tlog_checkpoint_format(const char *origin, int64_t size, const tlog_hash *root, char *out,
                       size_t cap)
{
    if (!origin_is_valid(origin) || size < 0)
        return -1;
    char *encoded = base64_encode_alloc(root->bytes, TLOG_HASH_BYTES);
    if (encoded == NULL)
        return -1;
    int written = snprintf(out, cap, "%s\n%lld\n%s\n", origin, (long long)size, encoded);
    free(encoded);
    return written > 0 && (size_t)written < cap ? 0 : -1;
}

int
tlog_checkpoint_parse(const char *body, size_t length, const char *origin, int64_t *size,
                      tlog_hash *root)
{
    size_t origin_length = strlen(origin);
    if (length < origin_length + 1 || memcmp(body, origin, origin_length) != 0 ||
        body[origin_length] != '\n')
        return -1;
    const char *at = body + origin_length + 1, *end = body + length;
    /* The size: decimal, no sign, no leading zero but "0". */
    int64_t value = 0;
    const char *start = at;
    for (; at < end && *at >= '0' && *at <= '9'; at++) {
        if (value > (INT64_MAX - 9) / 10)
            return -1;
        value = value * 10 + (*at - '0');
    }
    if (at == start || (*start == '0' && at - start > 1) || at >= end || *at != '\n')
        return -1;
    at++;
    const char *line_end = memchr(at, '\n', (size_t)(end - at));
    if (line_end == NULL)
        return -1;
    /* 32 bytes in standard base64: 44 characters, one "=". */
    enum { ENCODED = 44 };
    if (line_end - at != ENCODED)
        return -1;
    uint8_t *decoded = NULL;
    size_t decoded_length = 0;
    if (base64_decode_alloc(at, ENCODED, TLOG_HASH_BYTES, &decoded, &decoded_length) != 0)
        return -1;
    int ok = decoded_length == TLOG_HASH_BYTES;
    if (ok)
        memcpy(root->bytes, decoded, TLOG_HASH_BYTES);
    free(decoded);
    if (!ok)
        return -1;
    *size = value;
    return 0;
}

/* ── Events and signed notes ──────────────────────────────────────────── */

/* Both forms: numbered (form 1) names the sequence, form 2 does not. */
static int
event_commitment(int numbered, int64_t sequence, int64_t time, const char *actor,
                 const char *action, const char *subject, const char *details_text,
                 const uint8_t salt[TLOG_SALT_BYTES], uint8_t out[TLOG_HASH_BYTES])
{
    json_t *details = json_loads(details_text ? details_text : "{}", JSON_REJECT_DUPLICATES,
                                 NULL);
    if (!json_is_object(details)) {
        json_decref(details);
        return -1;
    }
    json_t *canonical = json_pack("{s:s, s:s, s:o, s:s, s:I}", "action", action, "actor",
                                  actor, "details", details, "subject", subject, "time",
                                  (json_int_t)time);
    if (canonical != NULL && numbered &&
        json_object_set_new(canonical, "sequence", json_integer(sequence)) != 0) {
        json_decref(canonical);
        canonical = NULL;
    }
    char *text = canonical ? json_dumps(canonical, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(canonical);
    if (text == NULL)
        return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int length = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, salt, TLOG_SALT_BYTES) == 1 &&
             EVP_DigestUpdate(md, text, strlen(text)) == 1 &&
             EVP_DigestFinal_ex(md, out, &length) == 1 && length == TLOG_HASH_BYTES;
    EVP_MD_CTX_free(md);
    free(text);
    return ok ? 0 : -1;
}

int
tlog_event_commitment(int64_t sequence, int64_t time, const char *actor, const char *action,
                      const char *subject, const char *details_text,
                      const uint8_t salt[TLOG_SALT_BYTES], uint8_t out[TLOG_HASH_BYTES])
{
    return event_commitment(1, sequence, time, actor, action, subject, details_text, salt, out);
}

int
tlog_appended_commitment(int64_t time, const char *actor, const char *action,
                         const char *subject, const char *details_text,
                         const uint8_t salt[TLOG_SALT_BYTES], uint8_t out[TLOG_HASH_BYTES])
{
    return event_commitment(0, 0, time, actor, action, subject, details_text, salt, out);
}

/* The em dash that starts a signature line of a signed note. */
#define NOTE_DASH "\xe2\x80\x94 "

void
tlog_key_id(const char *name, uint8_t type, const uint8_t key[TLOG_KEY_BYTES], uint8_t out[4])
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256_CTX context;
    const uint8_t newline = '\n';
    SHA256_Init(&context);
    SHA256_Update(&context, name, strlen(name));
    SHA256_Update(&context, &newline, 1);
    SHA256_Update(&context, &type, 1);
    SHA256_Update(&context, key, TLOG_KEY_BYTES);
    SHA256_Final(digest, &context);
    memcpy(out, digest, 4);
}

/* A C2SP verifier key "<name>+<8 hex>+<base64 of the type and 32 bytes>". */
struct vkey {
    char name[TLOG_ORIGIN_MAX];
    uint8_t hash[4];
    uint8_t key[TLOG_KEY_BYTES];
};

static int
parse_vkey(const char *text, uint8_t type, struct vkey *out)
{
    const char *plus = strchr(text, '+');
    if (plus == NULL || plus == text || (size_t)(plus - text) >= sizeof out->name)
        return -1;
    memcpy(out->name, text, (size_t)(plus - text));
    out->name[plus - text] = '\0';
    if (!origin_is_valid(out->name))
        return -1;
    const char *hex = plus + 1, *second = strchr(hex, '+');
    char hash_hex[9];
    if (second == NULL || second - hex != 8)
        return -1;
    memcpy(hash_hex, hex, 8);
    hash_hex[8] = '\0';
    if (hex_decode(hash_hex, out->hash, 4) != 0)
        return -1;
    uint8_t *decoded = NULL;
    size_t length = 0;
    if (base64_decode_alloc(second + 1, strlen(second + 1), 64, &decoded, &length) != 0)
        return -1;
    int ok = length == 1 + TLOG_KEY_BYTES && decoded[0] == type;
    if (ok)
        memcpy(out->key, decoded + 1, TLOG_KEY_BYTES);
    free(decoded);
    if (!ok)
        return -1;
    /* The hash is the key's ID: a key pasted under another name or hash
     * is refused here rather than never matching a signature line. */
    uint8_t id[4];
    tlog_key_id(out->name, type, out->key, id);
    return memcmp(id, out->hash, 4) == 0 ? 0 : -1;
}

int
tlog_vkey_parse(const char *text, uint8_t type, char name[TLOG_ORIGIN_MAX],
                uint8_t key[TLOG_KEY_BYTES])
{
    struct vkey vkey;
    if (strnlen(text, TLOG_VKEY_MAX) >= TLOG_VKEY_MAX || parse_vkey(text, type, &vkey) != 0)
        return -1;
    memcpy(name, vkey.name, sizeof vkey.name);
    memcpy(key, vkey.key, TLOG_KEY_BYTES);
    return 0;
}

int
tlog_vkey_format(const char *name, uint8_t type, const uint8_t key[TLOG_KEY_BYTES],
                 char out[TLOG_VKEY_MAX])
{
    if (strnlen(name, TLOG_ORIGIN_MAX) >= TLOG_ORIGIN_MAX || !origin_is_valid(name))
        return -1;
    uint8_t id[4], typed[1 + TLOG_KEY_BYTES];
    char id_hex[9];
    tlog_key_id(name, type, key, id);
    typed[0] = type;
    memcpy(typed + 1, key, TLOG_KEY_BYTES);
    char *encoded = base64_encode_alloc(typed, sizeof typed);
    if (encoded == NULL || hex_encode(id, 4, id_hex, sizeof id_hex) != 0) {
        free(encoded);
        return -1;
    }
    int written = snprintf(out, TLOG_VKEY_MAX, "%s+%s+%s", name, id_hex, encoded);
    free(encoded);
    return written > 0 && written < TLOG_VKEY_MAX ? 0 : -1;
}

static int
ed25519_verifies(const uint8_t key[TLOG_KEY_BYTES], const void *message,
                 size_t length, const uint8_t signature[TLOG_SIGNATURE_BYTES])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key,
                                                 TLOG_KEY_BYTES);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int ok = pkey != NULL && context != NULL &&
             EVP_DigestVerifyInit(context, NULL, NULL, NULL, pkey) == 1 &&
             EVP_DigestVerify(context, signature, TLOG_SIGNATURE_BYTES, message, length) ==
                 1;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(pkey);
    return ok;
}

/* Walks the signature lines of a signed note by vkey's name whose bytes
 * decode and begin with vkey's key ID, giving each (decoded, key ID first)
 * to accept() until one returns 1. The note's text, what its signatures
 * cover, is its first text_length bytes. 1 when one was accepted, else 0. */
static int
signature_lines(const char *note, const struct vkey *vkey,
                int (*accept)(void *context, const char *note, size_t text_length,
                              const uint8_t *decoded, size_t length),
                void *context, size_t *text_length)
{
    const char *blank = strstr(note, "\n\n");
    if (blank == NULL)
        return 0;
    *text_length = (size_t)(blank - note) + 1;
    size_t dash = strlen(NOTE_DASH), name_length = strlen(vkey->name);
    for (const char *line = blank + 2; *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (end == NULL)
            return 0;
        if (strncmp(line, NOTE_DASH, dash) == 0 &&
            strncmp(line + dash, vkey->name, name_length) == 0 && line[dash + name_length] == ' ') {
            const char *encoded = line + dash + name_length + 1;
            uint8_t *decoded = NULL;
            size_t length = 0;
            if (base64_decode_alloc(encoded, (size_t)(end - encoded), 128, &decoded, &length) == 0) {
                int ok = length >= 4 && memcmp(decoded, vkey->hash, 4) == 0 &&
                         accept(context, note, *text_length, decoded, length) == 1;
                free(decoded);
                if (ok)
                    return 1;
            }
        }
        line = end + 1;
    }
    return 0;
}

/* A log's signature: key ID, then the Ed25519 signature of the text. */
static int
accept_log_signature(void *context, const char *note, size_t text_length,
                     const uint8_t *decoded, size_t length)
{
    const struct vkey *vkey = context;
    return length == 4 + TLOG_SIGNATURE_BYTES &&
           ed25519_verifies(vkey->key, note, text_length, decoded + 4);
}

int
tlog_note_verify(const char *note, const char *vkey_text, size_t *body_length)
{
    struct vkey vkey;
    size_t text_length = 0;
    if (parse_vkey(vkey_text, TLOG_VKEY_ED25519, &vkey) != 0 ||
        !signature_lines(note, &vkey, accept_log_signature, &vkey, &text_length))
        return 0;
    *body_length = text_length;
    return 1;
}

/* ── Cosignatures (C2SP tlog-cosignature, cosignature/v1) ─────────────── */

#define COSIGNATURE_HEADER "cosignature/v1\ntime "

int
tlog_cosignature_message(const char *body, size_t body_length, int64_t timestamp, char *out,
                         size_t cap, size_t *length)
{
    if (timestamp < 0)
        return -1;
    int head = snprintf(out, cap, COSIGNATURE_HEADER "%lld\n", (long long)timestamp);
    if (head < 0 || (size_t)head >= cap || cap - (size_t)head <= body_length)
        return -1;
    memcpy(out + head, body, body_length);
    out[(size_t)head + body_length] = '\0';
    *length = (size_t)head + body_length;
    return 0;
}

int
tlog_cosignature_line(const char *name, const uint8_t key[TLOG_KEY_BYTES], int64_t timestamp,
                      const uint8_t signature[TLOG_SIGNATURE_BYTES], char *out, size_t cap)
{
    if (timestamp < 0 || strnlen(name, TLOG_ORIGIN_MAX) >= TLOG_ORIGIN_MAX ||
        !origin_is_valid(name))
        return -1;
    uint8_t raw[4 + TLOG_COSIGNATURE_BYTES];
    tlog_key_id(name, TLOG_VKEY_COSIGNATURE, key, raw);
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (uint8_t)((uint64_t)timestamp >> (56 - 8 * i));
    memcpy(raw + 12, signature, TLOG_SIGNATURE_BYTES);
    char *encoded = base64_encode_alloc(raw, sizeof raw);
    if (encoded == NULL)
        return -1;
    int written = snprintf(out, cap, NOTE_DASH "%s %s\n", name, encoded);
    free(encoded);
    return written > 0 && (size_t)written < cap ? 0 : -1;
}

/* A witness's cosignature: key ID, the big-endian timestamp, then the
 * Ed25519 signature of the cosignature/v1 message for that time. */
struct cosigned {
    const struct vkey *vkey;
    int64_t timestamp;
};

static int
accept_cosignature(void *context, const char *note, size_t body_length,
                   const uint8_t *decoded, size_t length)
{
    struct cosigned *c = context;
    if (length != 4 + TLOG_COSIGNATURE_BYTES)
        return 0;
    uint64_t when = 0;
    for (int i = 0; i < 8; i++)
        when = when << 8 | decoded[4 + i];
    /* C2SP: the timestamp is at most 2^63 - 1. */
    if (when > (uint64_t)INT64_MAX)
        return 0;
    /* The message is bounded by the note's length, which a caller reads
     * with a cap. */
    size_t cap = body_length + 64, message_length = 0;
    char *message = malloc(cap);
    int ok = message != NULL &&
             tlog_cosignature_message(note, body_length, (int64_t)when, message, cap,
                                      &message_length) == 0 &&
             ed25519_verifies(c->vkey->key, message, message_length, decoded + 12);
    free(message);
    if (ok)
        c->timestamp = (int64_t)when;
    return ok;
}

int
tlog_cosignature_verify(const char *note, const char *vkey_text, int64_t *timestamp)
{
    struct vkey vkey;
    size_t body_length = 0;
    if (parse_vkey(vkey_text, TLOG_VKEY_COSIGNATURE, &vkey) != 0)
        return 0;
    struct cosigned c = {.vkey = &vkey};
    if (!signature_lines(note, &vkey, accept_cosignature, &c, &body_length))
        return 0;
    *timestamp = c.timestamp;
    return 1;
}
