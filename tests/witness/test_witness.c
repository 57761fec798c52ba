/* Tests of the witness's add-checkpoint decision (witness/witness.h)
 * against a log made here: an Ed25519 log key, trees of test leaves, their
 * checkpoints signed as C2SP signed notes and RFC 9162 consistency proofs
 * from audit/tlog.h. The witness cosigns the first checkpoint and a
 * growing log (each cosignature checked with its verifier key), and
 * refuses: a stale old size (409 with its size), a proof altered or of
 * another tree (422), another key's signature or an altered note (403),
 * an unknown log (404), malformed bodies (400); a refusal leaves the
 * state as it was, and the state outlives the process. */
#include "witness/witness.h"

#include "audit/tlog.h"
#include "util/encoding.h"

#include "../test_support.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>

#define ORIGIN "cyberid/00112233aabbccdd"
#define LEAVES_MAX 64
#define NOW 1700000000

struct log_key {
    EVP_PKEY *key;
    uint8_t public_key[TLOG_KEY_BYTES];
    char vkey[TLOG_VKEY_MAX];
};

static void
log_key_make(struct log_key *out, const char *origin)
{
    out->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(out->key);
    size_t length = TLOG_KEY_BYTES;
    assert_int_equal(EVP_PKEY_get_raw_public_key(out->key, out->public_key, &length), 1);
    assert_int_equal(tlog_vkey_format(origin, TLOG_VKEY_ED25519, out->public_key, out->vkey), 0);
}

/* A tree of `size` leaves, the leaves' data being their index and a tag
 * byte (so two tags make two different trees). */
static void
tree(int64_t size, uint8_t tag, tlog_hash *root, int64_t old_size, tlog_hash proof[TLOG_PROOF_MAX],
     size_t *proof_length)
{
    static tlog_hash stored[4 * LEAVES_MAX];
    int64_t count = 0;
    assert_true(size <= LEAVES_MAX);
    for (int64_t n = 0; n < size; n++) {
        uint8_t data[2] = {(uint8_t)n, tag};
        tlog_hash leaf = tlog_leaf_hash(data, sizeof data), read[TLOG_PROOF_MAX],
                  added[TLOG_PROOF_MAX + 1];
        int64_t indexes[TLOG_PROOF_MAX];
        size_t index_count = 0, added_count = 0;
        tlog_append_indexes(n, indexes, &index_count);
        for (size_t i = 0; i < index_count; i++)
            read[i] = stored[indexes[i]];
        tlog_append_hashes(n, &leaf, read, added, &added_count);
        for (size_t i = 0; i < added_count; i++)
            stored[count++] = added[i];
    }
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX];
    size_t index_count = 0;
    tlog_root_indexes(size, indexes, &index_count);
    for (size_t i = 0; i < index_count; i++)
        read[i] = stored[indexes[i]];
    *root = tlog_root_from(size, read);
    *proof_length = 0;
    if (old_size > 0 && old_size < size) {
        assert_int_equal(tlog_consistency_indexes(old_size, size, indexes, &index_count), 0);
        for (size_t i = 0; i < index_count; i++)
            read[i] = stored[indexes[i]];
        tlog_consistency_from(old_size, size, read, proof, proof_length);
    }
}

/* The signed note of a checkpoint, as the log's signer makes it. */
static void
signed_note(const struct log_key *key, const char *origin, int64_t size, const tlog_hash *root,
            char *out, size_t cap)
{
    char body[TLOG_CHECKPOINT_MAX];
    assert_int_equal(tlog_checkpoint_format(origin, size, root, body, sizeof body), 0);
    uint8_t raw[4 + TLOG_SIGNATURE_BYTES];
    size_t length = TLOG_SIGNATURE_BYTES;
    tlog_key_id(origin, TLOG_VKEY_ED25519, key->public_key, raw);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    assert_non_null(context);
    assert_int_equal(EVP_DigestSignInit(context, NULL, NULL, NULL, key->key), 1);
    assert_int_equal(EVP_DigestSign(context, raw + 4, &length, (const uint8_t *)body,
                                    strlen(body)), 1);
    EVP_MD_CTX_free(context);
    char *encoded = base64_encode_alloc(raw, sizeof raw);
    assert_non_null(encoded);
    snprintf(out, cap, "%s\n\xe2\x80\x94 %s %s\n", body, origin, encoded);
    free(encoded);
}

/* An add-checkpoint body. */
static void
request(int64_t old_size, const tlog_hash *proof, size_t proof_length, const char *note,
        char *out, size_t cap)
{
    size_t at = (size_t)snprintf(out, cap, "old %lld\n", (long long)old_size);
    for (size_t i = 0; i < proof_length; i++) {
        char *encoded = base64_encode_alloc(proof[i].bytes, TLOG_HASH_BYTES);
        assert_non_null(encoded);
        at += (size_t)snprintf(out + at, cap - at, "%s\n", encoded);
        free(encoded);
    }
    snprintf(out + at, cap - at, "\n%s", note);
    assert_true(strlen(out) < cap - 1);
}

struct fixture {
    char *dir;
    char vkey[TLOG_VKEY_MAX];
    struct log_key log, other;
    struct witness *witness;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = test_temp_dir("witness");
    char err[256], path[1100];
    snprintf(path, sizeof path, "%s/state", f->dir);
    assert_int_equal(witness_init(path, "witness.test/w1", f->vkey, err, sizeof err), 0);
    log_key_make(&f->log, ORIGIN);
    /* Another key claiming the same origin: a forger's. */
    log_key_make(&f->other, ORIGIN);
    const char *logs[] = {f->log.vkey};
    assert_int_equal(witness_open(path, logs, 1, &f->witness, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    witness_close(f->witness);
    EVP_PKEY_free(f->log.key);
    EVP_PKEY_free(f->other.key);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

/* Submits the checkpoint of the tagged tree of `size` leaves with the
 * proof from `old_size` (of the same tree) signed by `key`. */
static unsigned
submit(struct fixture *f, const struct log_key *key, int64_t old_size, int64_t size, uint8_t tag,
       struct witness_reply *reply, char *note, size_t note_cap)
{
    tlog_hash root, proof[TLOG_PROOF_MAX];
    size_t proof_length = 0;
    char body[WITNESS_BODY_MAX];
    tree(size, tag, &root, old_size, proof, &proof_length);
    signed_note(key, ORIGIN, size, &root, note, note_cap);
    request(old_size, proof, proof_length, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, reply), 0);
    return reply->status;
}

static int64_t
cosigned_size(struct fixture *f)
{
    int64_t size = -1;
    tlog_hash root;
    assert_int_equal(witness_cosigned(f->witness, ORIGIN, &size, &root), 0);
    return size;
}

/* The cosignature line verifies with the witness's key over the note. */
static void
assert_cosigned(struct fixture *f, const char *note, const struct witness_reply *reply)
{
    assert_int_equal(reply->status, 200);
    assert_string_equal(reply->content_type, "text/plain; charset=utf-8");
    assert_true(strncmp(reply->body, "\xe2\x80\x94 witness.test/w1 ", 20) == 0);
    char cosigned[2048];
    snprintf(cosigned, sizeof cosigned, "%s%s", note, reply->body);
    int64_t timestamp = 0;
    assert_int_equal(tlog_cosignature_verify(cosigned, f->vkey, &timestamp), 1);
    assert_int_equal(timestamp, NOW);
    /* Not by another witness's key, and not over another checkpoint. */
    char *changed = strstr(cosigned, "\n\n") - 2;
    *changed ^= 1;
    assert_int_equal(tlog_cosignature_verify(cosigned, f->vkey, &timestamp), 0);
}

static void
test_cosigns_a_growing_log(void **state)
{
    struct fixture *f = *state;
    struct witness_reply reply;
    char note[1024];
    assert_int_equal(cosigned_size(f), 0);
    assert_int_equal(submit(f, &f->log, 0, 5, 0, &reply, note, sizeof note), 200);
    assert_cosigned(f, note, &reply);
    assert_int_equal(cosigned_size(f), 5);
    assert_int_equal(submit(f, &f->log, 5, 13, 0, &reply, note, sizeof note), 200);
    assert_cosigned(f, note, &reply);
    assert_int_equal(cosigned_size(f), 13);
    /* The same checkpoint again: cosigned again. */
    assert_int_equal(submit(f, &f->log, 13, 13, 0, &reply, note, sizeof note), 200);
    assert_int_equal(submit(f, &f->log, 13, 40, 0, &reply, note, sizeof note), 200);
    assert_int_equal(cosigned_size(f), 40);
}

static void
test_stale_old_size_is_a_conflict(void **state)
{
    struct fixture *f = *state;
    struct witness_reply reply;
    char note[1024];
    assert_int_equal(submit(f, &f->log, 0, 7, 0, &reply, note, sizeof note), 200);
    /* From 0 again, and from a size it never cosigned. */
    assert_int_equal(submit(f, &f->log, 0, 9, 0, &reply, note, sizeof note), 409);
    assert_string_equal(reply.content_type, "text/x.tlog.size");
    assert_string_equal(reply.body, "7\n");
    assert_int_equal(reply.length, 2);
    assert_int_equal(submit(f, &f->log, 3, 9, 0, &reply, note, sizeof note), 409);
    assert_string_equal(reply.body, "7\n");
    /* The same size with another root: a conflict too. */
    assert_int_equal(submit(f, &f->log, 7, 7, 1, &reply, note, sizeof note), 409);
    assert_int_equal(cosigned_size(f), 7);
    /* The size it answered is the one to use. */
    assert_int_equal(submit(f, &f->log, 7, 9, 0, &reply, note, sizeof note), 200);
}

static void
test_bad_proof_is_refused(void **state)
{
    struct fixture *f = *state;
    struct witness_reply reply;
    char note[1024], body[WITNESS_BODY_MAX];
    assert_int_equal(submit(f, &f->log, 0, 6, 0, &reply, note, sizeof note), 200);
    /* Another tree of 11 leaves (a split view), signed by the log, with
     * its own proof from 6: not an extension of what was cosigned. */
    assert_int_equal(submit(f, &f->log, 6, 11, 1, &reply, note, sizeof note), 422);
    assert_null(reply.content_type);
    assert_string_equal(reply.body, "inconsistent");
    assert_int_equal(cosigned_size(f), 6);
    /* The right tree with one proof hash altered, then one dropped. */
    tlog_hash root, proof[TLOG_PROOF_MAX];
    size_t length = 0;
    tree(11, 0, &root, 6, proof, &length);
    assert_true(length >= 2);
    signed_note(&f->log, ORIGIN, 11, &root, note, sizeof note);
    proof[1].bytes[0] ^= 0x80;
    request(6, proof, length, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
    assert_int_equal(reply.status, 422);
    proof[1].bytes[0] ^= 0x80;
    request(6, proof, length - 1, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
    assert_int_equal(reply.status, 422);
    assert_int_equal(cosigned_size(f), 6);
    /* And whole, it passes. */
    request(6, proof, length, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
    assert_int_equal(reply.status, 200);
    assert_int_equal(cosigned_size(f), 11);
}

static void
test_bad_signature_is_forbidden(void **state)
{
    struct fixture *f = *state;
    struct witness_reply reply;
    char note[1024], body[WITNESS_BODY_MAX];
    /* A checkpoint signed by another key under the log's origin. */
    assert_int_equal(submit(f, &f->other, 0, 4, 0, &reply, note, sizeof note), 403);
    assert_string_equal(reply.body, "bad_signature");
    assert_int_equal(cosigned_size(f), 0);
    /* The log's note with its size changed after signing. */
    tlog_hash root;
    size_t length = 0;
    tree(4, 0, &root, 0, NULL, &length);
    signed_note(&f->log, ORIGIN, 4, &root, note, sizeof note);
    char *size_line = strchr(note, '\n') + 1;
    *size_line = '5';
    request(0, NULL, 0, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
    assert_int_equal(reply.status, 403);
    assert_int_equal(cosigned_size(f), 0);
    /* A log it does not follow. */
    struct log_key stranger;
    log_key_make(&stranger, "elsewhere.example/log");
    signed_note(&stranger, "elsewhere.example/log", 4, &root, note, sizeof note);
    request(0, NULL, 0, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
    assert_int_equal(reply.status, 404);
    EVP_PKEY_free(stranger.key);
}

static void
test_malformed_requests(void **state)
{
    struct fixture *f = *state;
    struct witness_reply reply;
    char note[1024], body[WITNESS_BODY_MAX];
    tlog_hash root, proof[TLOG_PROOF_MAX];
    size_t length = 0;
    tree(8, 0, &root, 0, proof, &length);
    signed_note(&f->log, ORIGIN, 8, &root, note, sizeof note);
    const char *bad[] = {
        "",
        "old 0\n",
        "old x\n\n",
        "old 01\n\n",
        "old -1\n\n",
        "old 0 \n\n",
        "new 0\n\n",
        "old 99999999999999999999\n\n",
        "old 0\nnot a hash\n\n",
        "old 0\nAAAA\n\n",
        "old 9\n\n",   /* larger than the checkpoint */
        "old 0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n", /* a proof from 0 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* The prefixes that end in a blank line get the note after it. */
        size_t prefix = strlen(bad[i]);
        snprintf(body, sizeof body, "%s%s", bad[i],
                 prefix >= 2 && strcmp(bad[i] + prefix - 2, "\n\n") == 0 ? note : "");
        assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
        if (reply.status != 400)
            fail_msg("body %zu: %u", i, reply.status);
        assert_string_equal(reply.body, "invalid_request");
    }
    /* A NUL byte inside. */
    request(0, NULL, 0, note, body, sizeof body);
    size_t body_length = strlen(body);
    body[3] = '\0';
    assert_int_equal(witness_add_checkpoint(f->witness, body, body_length, NOW, &reply), 0);
    assert_int_equal(reply.status, 400);
    /* 63 proof lines are allowed (then the proof is wrong: 422 once a
     * size is cosigned), 64 are not. */
    request(0, NULL, 0, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
    assert_int_equal(reply.status, 200);
    tree(9, 0, &root, 8, proof, &length);
    signed_note(&f->log, ORIGIN, 9, &root, note, sizeof note);
    for (size_t i = 0; i < TLOG_PROOF_MAX; i++)
        proof[i] = root;
    request(8, proof, WITNESS_PROOF_LINES_MAX, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
    assert_int_equal(reply.status, 422);
    request(8, proof, WITNESS_PROOF_LINES_MAX + 1, note, body, sizeof body);
    assert_int_equal(witness_add_checkpoint(f->witness, body, strlen(body), NOW, &reply), 0);
    assert_int_equal(reply.status, 400);
    /* Over the size limit. */
    char *large = calloc(1, WITNESS_BODY_MAX + 2);
    assert_non_null(large);
    memset(large, 'A', WITNESS_BODY_MAX + 1);
    memcpy(large, "old 0\n", 6);
    assert_int_equal(witness_add_checkpoint(f->witness, large, WITNESS_BODY_MAX + 1, NOW, &reply),
                     0);
    assert_int_equal(reply.status, 400);
    free(large);
    assert_int_equal(cosigned_size(f), 8);
}

static void
test_state_outlives_the_process(void **state)
{
    struct fixture *f = *state;
    struct witness_reply reply;
    char note[1024], err[256], path[1100];
    assert_int_equal(submit(f, &f->log, 0, 10, 0, &reply, note, sizeof note), 200);
    snprintf(path, sizeof path, "%s/state", f->dir);
    /* One process at a time on a state folder. */
    const char *logs[] = {f->log.vkey};
    struct witness *second = NULL;
    assert_int_equal(witness_open(path, logs, 1, &second, err, sizeof err), -1);
    assert_non_null(strstr(err, "in use"));
    witness_close(f->witness);
    f->witness = NULL;
    assert_int_equal(witness_open(path, logs, 1, &f->witness, err, sizeof err), 0);
    assert_int_equal(cosigned_size(f), 10);
    assert_int_equal(submit(f, &f->log, 0, 12, 0, &reply, note, sizeof note), 409);
    assert_string_equal(reply.body, "10\n");
    /* The key is private to its owner; init refuses a folder with one. */
    char key_path[1200];
    struct stat info;
    snprintf(key_path, sizeof key_path, "%s/witness.key.pem", path);
    assert_int_equal(stat(key_path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
    char vkey[TLOG_VKEY_MAX];
    assert_int_equal(witness_init(path, "witness.test/w2", vkey, err, sizeof err), -1);
    /* Names and keys refused. */
    snprintf(path, sizeof path, "%s/other", f->dir);
    assert_int_equal(witness_init(path, "has space", vkey, err, sizeof err), -1);
    assert_int_equal(witness_init(path, "a+b", vkey, err, sizeof err), -1);
    const char *not_log_keys[] = {f->vkey}; /* a cosignature key, type 0x04 */
    snprintf(path, sizeof path, "%s/state", f->dir);
    witness_close(f->witness);
    f->witness = NULL;
    assert_int_equal(witness_open(path, not_log_keys, 1, &f->witness, err, sizeof err), -1);
    const char *twice[] = {f->log.vkey, f->other.vkey};
    assert_int_equal(witness_open(path, twice, 2, &f->witness, err, sizeof err), -1);
    assert_null(f->witness);
}

static void
test_vkeys(void **state)
{
    (void)state;
    uint8_t key[TLOG_KEY_BYTES] = {1, 2, 3}, parsed[TLOG_KEY_BYTES];
    char vkey[TLOG_VKEY_MAX], name[TLOG_ORIGIN_MAX];
    assert_int_equal(tlog_vkey_format("w.example/1", TLOG_VKEY_COSIGNATURE, key, vkey), 0);
    assert_int_equal(tlog_vkey_parse(vkey, TLOG_VKEY_COSIGNATURE, name, parsed), 0);
    assert_string_equal(name, "w.example/1");
    assert_memory_equal(parsed, key, TLOG_KEY_BYTES);
    /* Of another type, under another name, with another key ID. */
    assert_int_equal(tlog_vkey_parse(vkey, TLOG_VKEY_ED25519, name, parsed), -1);
    vkey[0] = 'W';
    assert_int_equal(tlog_vkey_parse(vkey, TLOG_VKEY_COSIGNATURE, name, parsed), -1);
    vkey[0] = 'w';
    char *id = strchr(vkey, '+') + 1;
    *id = *id == '0' ? '1' : '0';
    assert_int_equal(tlog_vkey_parse(vkey, TLOG_VKEY_COSIGNATURE, name, parsed), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vkeys),
        cmocka_unit_test_setup_teardown(test_cosigns_a_growing_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_old_size_is_a_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_proof_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_signature_is_forbidden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_outlives_the_process, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
