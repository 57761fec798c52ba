/* tlog: the Merkle tree of the transparency log (RFC 9162 §2.1), kept as
 * "stored hashes", the C2SP tlog-tiles layout, checkpoints as C2SP
 * signed-note bodies.
 *
 * Hashing (RFC 9162 §2.1.1): a leaf is SHA-256(0x00 || data), an interior
 * node SHA-256(0x01 || left || right), the empty tree SHA-256(""). The
 * tree of n leaves splits at k, the largest power of two smaller than n.
 *
 * Stored hashes: a tree is kept as the sequence of every leaf hash and
 * every complete subtree's hash, in the order they become known: leaf n's
 * hash, then the hashes of the subtrees leaf n completes (as many as
 * n + 1 has trailing zero bits). Appending a leaf adds about two hashes
 * and never changes one already stored, so the sequence suits an
 * append-only table; the root, an inclusion proof and a consistency proof
 * each read O(log n) of them (tlog_*_indexes() say which, so a caller
 * fetches them in one query). This is the scheme of Go's
 * golang.org/x/mod/sumdb/tlog and of the tlog-tiles servers (Sunlight,
 * Tessera); Debian ships no C library for it, hence this file.
 *
 * The proofs are RFC 9162's (§2.1.3, §2.1.4); the checks below follow
 * RFC 9162's verification algorithms step by step and do not share code
 * with the builders, so each tests the other.
 *
 * No state, no allocation, no locks: pure functions of their inputs. */
#ifndef CYBERID_TLOG_H
#define CYBERID_TLOG_H

#include <stddef.h>
#include <stdint.h>

#define TLOG_HASH_BYTES 32
/* A proof has at most one hash per level of a tree of 2^63 leaves. */
#define TLOG_PROOF_MAX 64
/* Stored hashes a root, a proof or an append reads: at most. */
#define TLOG_INDEXES_MAX 128
/* tlog-tiles: tiles of 2^8 hashes. */
#define TLOG_TILE_HEIGHT 8
#define TLOG_TILE_WIDTH 256
/* "tile/<L>/<N>[.p/<W>]" with N in groups of 3 digits: at most. */
#define TLOG_TILE_PATH_MAX 96

typedef struct {
    uint8_t bytes[TLOG_HASH_BYTES];
} tlog_hash;

/* RFC 9162 leaf and node hashes, and the empty tree's. */
tlog_hash tlog_leaf_hash(const void *data, size_t length);
tlog_hash tlog_node_hash(const tlog_hash *left, const tlog_hash *right);
tlog_hash tlog_empty_hash(void);

/* The position in the stored sequence of the hash of the subtree at
 * `level` (0: a leaf) numbered n from the left (covering leaves
 * n*2^level .. (n+1)*2^level - 1). */
int64_t tlog_stored_index(int level, int64_t n);

/* How many hashes a tree of `size` leaves has stored. */
int64_t tlog_stored_count(int64_t size);

/* Appending leaf number `size` (the tree has `size` leaves before it):
 * the stored hashes it needs to read (indexes[*count], sorted
 * ascending), then, given them in that order, the hashes it adds, to be
 * stored at tlog_stored_count(size) onwards: out[0] is the leaf hash,
 * then one per subtree it completes. *added is at most TLOG_PROOF_MAX. */
void tlog_append_indexes(int64_t size, int64_t indexes[TLOG_PROOF_MAX], size_t *count);
void tlog_append_hashes(int64_t size, const tlog_hash *leaf, const tlog_hash *read,
                        tlog_hash out[TLOG_PROOF_MAX + 1], size_t *added);

/* The root of a tree of `size` leaves: the stored hashes to read, then
 * the root from them. size 0 reads nothing and is the empty hash. */
void tlog_root_indexes(int64_t size, int64_t indexes[TLOG_INDEXES_MAX], size_t *count);
tlog_hash tlog_root_from(int64_t size, const tlog_hash *read);

/* RFC 9162 §2.1.3.1: the inclusion proof of leaf `index` in a tree of
 * `size` leaves (0 <= index < size), from the stored hashes named by
 * tlog_inclusion_indexes(). -1 for indexes out of range. */
int tlog_inclusion_indexes(int64_t size, int64_t index, int64_t indexes[TLOG_INDEXES_MAX],
                           size_t *count) __attribute__((warn_unused_result));
void tlog_inclusion_from(int64_t size, int64_t index, const tlog_hash *read,
                         tlog_hash proof[TLOG_PROOF_MAX], size_t *length);

/* RFC 9162 §2.1.4.1: the consistency proof of the tree of `old_size`
 * leaves with the tree of `size` leaves (1 <= old_size <= size). -1 for
 * sizes out of range. */
int tlog_consistency_indexes(int64_t old_size, int64_t size,
                             int64_t indexes[TLOG_INDEXES_MAX], size_t *count)
    __attribute__((warn_unused_result));
void tlog_consistency_from(int64_t old_size, int64_t size, const tlog_hash *read,
                           tlog_hash proof[TLOG_PROOF_MAX], size_t *length);

/* RFC 9162 §2.1.3.2: 1 when proof shows leaf_hash at index in the tree
 * of `size` leaves whose root is `root`, else 0. */
int tlog_verify_inclusion(int64_t index, int64_t size, const tlog_hash *leaf_hash,
                          const tlog_hash *proof, size_t length, const tlog_hash *root)
    __attribute__((warn_unused_result));

/* RFC 9162 §2.1.4.2: 1 when proof shows the tree of old_size leaves with
 * root old_root is a prefix of the tree of size leaves with root root
 * (equal sizes: an empty proof and equal roots), else 0. */
int tlog_verify_consistency(int64_t old_size, int64_t size, const tlog_hash *old_root,
                            const tlog_hash *root, const tlog_hash *proof, size_t length)
    __attribute__((warn_unused_result));

/* ── C2SP tlog-tiles ──────────────────────────────────────────────────── */

/* The tile at `level` (hashes of subtrees at tree level 8*level), index
 * n, of `width` hashes (1..256; 256 is a full tile): its path,
 * "tile/<level>/<n>" with n written in groups of three digits, all but
 * the last prefixed "x" ("x001/x234/067"), and ".p/<width>" for a partial
 * tile. 0, or -1 when out of range. */
int tlog_tile_path(int level, int64_t n, int width, char out[TLOG_TILE_PATH_MAX])
    __attribute__((warn_unused_result));
/* Parses such a path (without a leading "/"): 0 with level, n, width, or
 * -1 when it is not one (non-canonical forms included). */
int tlog_tile_parse(const char *path, int *level, int64_t *n, int *width)
    __attribute__((warn_unused_result));
/* The stored hash indexes a tile's bytes are made of, in order (width of
 * them): its hashes are those subtree hashes, concatenated. The tile
 * exists for a tree of `size` leaves when those subtrees are complete:
 * tlog_tile_width() says its width there (0: not yet). */
void tlog_tile_indexes(int level, int64_t n, int width, int64_t indexes[TLOG_TILE_WIDTH]);
int tlog_tile_width(int level, int64_t n, int64_t size);

/* ── C2SP tlog-checkpoint ─────────────────────────────────────────────── */

/* The checkpoint body (a signed note's text, signatures not included):
 * "<origin>\n<size>\n<base64 root>\n". origin: 1..255 characters of
 * printable ASCII without spaces or "+" (C2SP: a schema-less URL). *out
 * is NUL-terminated. 0, or -1 (origin refused, or cap too small). */
#define TLOG_CHECKPOINT_MAX 512
int tlog_checkpoint_format(const char *origin, int64_t size, const tlog_hash *root,
                           char *out, size_t cap) __attribute__((warn_unused_result));
/* Parses a checkpoint body (the text before the blank line of a note),
 * which must be exactly the three lines above, optionally followed by
 * extension lines: 0 with size and root, or -1. The origin must equal
 * `origin`. */
int tlog_checkpoint_parse(const char *body, size_t length, const char *origin, int64_t *size,
                          tlog_hash *root) __attribute__((warn_unused_result));

/* ── Events and signed notes ────────────────────────────────────────── */

#define TLOG_SALT_BYTES 16
#define TLOG_KEY_BYTES 32         /* Ed25519 public key */
#define TLOG_SIGNATURE_BYTES 64   /* Ed25519 signature */
#define TLOG_ORIGIN_MAX 64

/* The commitment of an audit event (a log leaf's data, audit/log.h):
 * SHA-256(salt || the event as JSON with sorted keys, no spaces:
 * {"action","actor","details","sequence","subject","time"}, details being
 * details_text parsed, a JSON object). The service and the citizen's app
 * compute it alike. 0, or -1 when details_text is not a JSON object. */
int tlog_event_commitment(int64_t sequence, int64_t time, const char *actor, const char *action,
                          const char *subject, const char *details_text,
                          const uint8_t salt[TLOG_SALT_BYTES], uint8_t out[TLOG_HASH_BYTES])
    __attribute__((warn_unused_result));

/* The commitment of an event made when it is appended (form 2, every
 * event since sealed events): the same without "sequence", which the
 * database assigns only once the row is written, so that the commitment
 * is stored with the row and the sequencer never opens a sealed event:
 * SHA-256(salt || {"action","actor","details","subject","time"}). */
int tlog_appended_commitment(int64_t time, const char *actor, const char *action,
                             const char *subject, const char *details_text,
                             const uint8_t salt[TLOG_SALT_BYTES], uint8_t out[TLOG_HASH_BYTES])
    __attribute__((warn_unused_result));

/* Signed-note signature types (the first byte of a verifier key's key
 * material, hashed into its key ID): a log's Ed25519 key, and a
 * witness's Ed25519 cosignature/v1 key (C2SP tlog-cosignature). */
#define TLOG_VKEY_ED25519 0x01
#define TLOG_VKEY_COSIGNATURE 0x04
/* A verifier key "<name>+<8 hex key ID>+<base64 of type and key>": at
 * most, with its NUL. */
#define TLOG_VKEY_MAX 160

/* The key ID of a signed-note key: the first 4 bytes of
 * SHA-256(name || "\n" || type || key). */
void tlog_key_id(const char *name, uint8_t type, const uint8_t key[TLOG_KEY_BYTES],
                 uint8_t out[4]);

/* Parses a verifier key of the given type: 0 with its name (a checkpoint
 * origin's characters, shorter than TLOG_ORIGIN_MAX) and key, or -1 when
 * it is malformed, of another type, or its key ID is not its key's. */
int tlog_vkey_parse(const char *vkey, uint8_t type, char name[TLOG_ORIGIN_MAX],
                    uint8_t key[TLOG_KEY_BYTES]) __attribute__((warn_unused_result));
/* The verifier key of (name, type, key). 0, or -1 for a name refused. */
int tlog_vkey_format(const char *name, uint8_t type, const uint8_t key[TLOG_KEY_BYTES],
                     char out[TLOG_VKEY_MAX]) __attribute__((warn_unused_result));

/* Verifies a C2SP signed note with a log's verifier key (type 0x01): 1
 * when a signature line of that key verifies over the note's text, else
 * 0. On 1, *body_length is the text's length (what
 * tlog_checkpoint_parse() reads). */
int tlog_note_verify(const char *note, const char *vkey, size_t *body_length)
    __attribute__((warn_unused_result));

/* ── Cosignatures (C2SP tlog-cosignature, Ed25519 cosignature/v1) ──────
 *
 * A witness's statement that, at `timestamp`, the checkpoint is the
 * largest consistent one it has seen of its log. The signed message is
 * "cosignature/v1\ntime <timestamp>\n" and the checkpoint body (the
 * note's text with its last newline); the signature line is
 * "— <name> base64(key ID (4) || timestamp (8, big endian) || Ed25519
 * signature (64))". */
#define TLOG_COSIGNATURE_BYTES (8 + TLOG_SIGNATURE_BYTES)
/* A cosignature line: "— ", a name, a space, 104 base64 characters,
 * "\n": at most, with its NUL. */
#define TLOG_COSIGNATURE_LINE_MAX (4 + TLOG_ORIGIN_MAX + 104 + 2)

/* The message a witness signs over a checkpoint body of body_length
 * bytes, into out (cap bytes, NUL-terminated); *length without the NUL.
 * 0, or -1 when it does not fit or the timestamp is negative. */
int tlog_cosignature_message(const char *body, size_t body_length, int64_t timestamp, char *out,
                             size_t cap, size_t *length) __attribute__((warn_unused_result));
/* The signature line of a witness named `name` with public key `key`.
 * 0, or -1 (name refused, or cap too small). */
int tlog_cosignature_line(const char *name, const uint8_t key[TLOG_KEY_BYTES], int64_t timestamp,
                          const uint8_t signature[TLOG_SIGNATURE_BYTES], char *out, size_t cap)
    __attribute__((warn_unused_result));
/* 1 when a signature line of the witness whose verifier key (type 0x04)
 * is `vkey` verifies over the note's text, with its timestamp in
 * *timestamp; else 0. */
int tlog_cosignature_verify(const char *note, const char *vkey, int64_t *timestamp)
    __attribute__((warn_unused_result));

#endif
