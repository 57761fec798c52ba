/* Tests of the Merkle tree math (audit/tlog.h): RFC 6962's reference
 * vectors (roots, inclusion and consistency proofs of the eight-leaf
 * tree), then every tree of up to 130 leaves built by appends alone and
 * compared with the recursive definition of RFC 9162 §2.1.1, every
 * inclusion and consistency proof of up to 70 leaves checked by the RFC
 * verifiers and refused once altered; tiles (paths, widths, contents);
 * checkpoint bodies. */
#include "audit/tlog.h"

#include "../test_support.h"

#include <stdio.h>

#define MAX_LEAVES 130
#define PROOF_LEAVES 70

/* The RFC 6962 test leaves. */
static const uint8_t leaf_bytes[] = {0x00, 0x10, 0x20, 0x21, 0x30, 0x31, 0x40, 0x41,
                                     0x42, 0x43, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
                                     0x56, 0x57, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65,
                                     0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                                     0x6e, 0x6f};
static const struct {
    size_t at, length;
} vector_leaves[8] = {{0, 0}, {0, 1}, {1, 1}, {2, 2}, {4, 2}, {6, 4}, {10, 8}, {18, 16}};

static const char *const vector_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static tlog_hash
from_hex(const char *hex)
{
    tlog_hash h;
    for (size_t i = 0; i < TLOG_HASH_BYTES; i++) {
        unsigned value = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &value), 1);
        h.bytes[i] = (uint8_t)value;
    }
    return h;
}

static int
equal(const tlog_hash *a, const tlog_hash *b)
{
    return memcmp(a->bytes, b->bytes, TLOG_HASH_BYTES) == 0;
}

/* The stored hashes of a tree, built by appends only. */
struct tree {
    tlog_hash leaves[MAX_LEAVES];
    tlog_hash stored[4 * MAX_LEAVES];
    int64_t size;
    int64_t stored_count;
};

static void
read_stored(const struct tree *tree, const int64_t *indexes, size_t count, tlog_hash *out)
{
    for (size_t i = 0; i < count; i++) {
        assert_true(indexes[i] >= 0 && indexes[i] < tree->stored_count);
        out[i] = tree->stored[indexes[i]];
    }
}

static void
append(struct tree *tree, const tlog_hash *leaf)
{
    int64_t indexes[TLOG_PROOF_MAX];
    tlog_hash read[TLOG_PROOF_MAX], added[TLOG_PROOF_MAX + 1];
    size_t count = 0, added_count = 0;
    tlog_append_indexes(tree->size, indexes, &count);
    for (size_t i = 1; i < count; i++)
        assert_true(indexes[i - 1] < indexes[i]);
    read_stored(tree, indexes, count, read);
    tlog_append_hashes(tree->size, leaf, read, added, &added_count);
    assert_int_equal(tree->stored_count, tlog_stored_count(tree->size));
    for (size_t i = 0; i < added_count; i++)
        tree->stored[tree->stored_count++] = added[i];
    tree->leaves[tree->size++] = *leaf;
    assert_int_equal(tree->stored_count, tlog_stored_count(tree->size));
}

/* RFC 9162 §2.1.1 MTH, recursively from the leaf hashes. */
static tlog_hash
naive_root(const tlog_hash *leaves, int64_t n)
{
    if (n == 0)
        return tlog_empty_hash();
    if (n == 1)
        return leaves[0];
    int64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    tlog_hash left = naive_root(leaves, k), right = naive_root(leaves + k, n - k);
    return tlog_node_hash(&left, &right);
}

static tlog_hash
root_of(const struct tree *tree, int64_t size)
{
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX];
    size_t count = 0;
    tlog_root_indexes(size, indexes, &count);
    read_stored(tree, indexes, count, read);
    return tlog_root_from(size, read);
}

static void
inclusion(const struct tree *tree, int64_t size, int64_t index, tlog_hash *proof,
          size_t *length)
{
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX];
    size_t count = 0;
    assert_int_equal(tlog_inclusion_indexes(size, index, indexes, &count), 0);
    read_stored(tree, indexes, count, read);
    tlog_inclusion_from(size, index, read, proof, length);
}

static void
consistency(const struct tree *tree, int64_t old_size, int64_t size, tlog_hash *proof,
            size_t *length)
{
    int64_t indexes[TLOG_INDEXES_MAX];
    tlog_hash read[TLOG_INDEXES_MAX];
    size_t count = 0;
    assert_int_equal(tlog_consistency_indexes(old_size, size, indexes, &count), 0);
    read_stored(tree, indexes, count, read);
    tlog_consistency_from(old_size, size, read, proof, length);
}

static struct tree *
vector_tree(void)
{
    struct tree *tree = calloc(1, sizeof *tree);
    for (size_t i = 0; i < 8; i++) {
        tlog_hash leaf = tlog_leaf_hash(leaf_bytes + vector_leaves[i].at, vector_leaves[i].length);
        append(tree, &leaf);
    }
    return tree;
}

static void
test_rfc6962_vectors(void **state)
{
    (void)state;
    tlog_hash empty = tlog_empty_hash();
    tlog_hash expected = from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_true(equal(&empty, &expected));
    struct tree *tree = vector_tree();
    for (int64_t n = 1; n <= 8; n++) {
        tlog_hash root = root_of(tree, n);
        expected = from_hex(vector_roots[n - 1]);
        assert_true(equal(&root, &expected));
    }
    tlog_hash proof[TLOG_PROOF_MAX];
    size_t length = 0;
    inclusion(tree, 8, 0, proof, &length);
    const char *leaf0[] = {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    assert_int_equal(length, 3);
    for (size_t i = 0; i < 3; i++) {
        expected = from_hex(leaf0[i]);
        assert_true(equal(&proof[i], &expected));
    }
    inclusion(tree, 7, 5, proof, &length);
    const char *leaf5[] = {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                           "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    assert_int_equal(length, 3);
    for (size_t i = 0; i < 3; i++) {
        expected = from_hex(leaf5[i]);
        assert_true(equal(&proof[i], &expected));
    }
    consistency(tree, 3, 8, proof, &length);
    const char *from3[] = {"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                           "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                           "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    assert_int_equal(length, 4);
    for (size_t i = 0; i < 4; i++) {
        expected = from_hex(from3[i]);
        assert_true(equal(&proof[i], &expected));
    }
    consistency(tree, 6, 8, proof, &length);
    const char *from6[] = {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    assert_int_equal(length, 3);
    for (size_t i = 0; i < 3; i++) {
        expected = from_hex(from6[i]);
        assert_true(equal(&proof[i], &expected));
    }
    free(tree);
}

static struct tree *
numbered_tree(int64_t size)
{
    struct tree *tree = calloc(1, sizeof *tree);
    for (int64_t i = 0; i < size; i++) {
        char text[32];
        int length = snprintf(text, sizeof text, "event %lld", (long long)i);
        tlog_hash leaf = tlog_leaf_hash(text, (size_t)length);
        append(tree, &leaf);
    }
    return tree;
}

static void
test_roots_by_appends(void **state)
{
    (void)state;
    struct tree *tree = numbered_tree(MAX_LEAVES);
    for (int64_t n = 0; n <= MAX_LEAVES; n++) {
        tlog_hash root = root_of(tree, n), expected = naive_root(tree->leaves, n);
        assert_true(equal(&root, &expected));
    }
    /* A stored index names the subtree it should: level 3, n 2 covers
     * leaves 16..23. */
    tlog_hash expected = naive_root(tree->leaves + 16, 8);
    assert_true(equal(&tree->stored[tlog_stored_index(3, 2)], &expected));
    free(tree);
}

static void
test_inclusion_proofs(void **state)
{
    (void)state;
    struct tree *tree = numbered_tree(PROOF_LEAVES);
    tlog_hash proof[TLOG_PROOF_MAX];
    size_t length = 0;
    for (int64_t size = 1; size <= PROOF_LEAVES; size++) {
        tlog_hash root = root_of(tree, size);
        for (int64_t index = 0; index < size; index++) {
            inclusion(tree, size, index, proof, &length);
            assert_true(tlog_verify_inclusion(index, size, &tree->leaves[index], proof, length,
                                              &root));
            /* Another leaf, another position, a proof cut short or
             * altered: refused. (Another size may share the path's
             * shape, leaf 0 of 3 and of 4: a checkpoint binds the size
             * to its root.) */
            int64_t other = (index + 1) % size;
            if (other != index)
                assert_false(tlog_verify_inclusion(index, size, &tree->leaves[other], proof,
                                                   length, &root));
            if (size > 1)
                assert_false(tlog_verify_inclusion(other, size, &tree->leaves[index], proof,
                                                   length, &root));
            if (length > 0) {
                assert_false(tlog_verify_inclusion(index, size, &tree->leaves[index], proof,
                                                   length - 1, &root));
                proof[length / 2].bytes[7] ^= 1;
                assert_false(tlog_verify_inclusion(index, size, &tree->leaves[index], proof,
                                                   length, &root));
            }
        }
    }
    int64_t indexes[TLOG_INDEXES_MAX];
    size_t count = 0;
    assert_int_equal(tlog_inclusion_indexes(5, 5, indexes, &count), -1);
    assert_int_equal(tlog_inclusion_indexes(0, 0, indexes, &count), -1);
    assert_int_equal(tlog_inclusion_indexes(5, -1, indexes, &count), -1);
    free(tree);
}

static void
test_consistency_proofs(void **state)
{
    (void)state;
    struct tree *tree = numbered_tree(PROOF_LEAVES);
    tlog_hash roots[PROOF_LEAVES + 1];
    for (int64_t n = 1; n <= PROOF_LEAVES; n++)
        roots[n] = root_of(tree, n);
    tlog_hash proof[TLOG_PROOF_MAX];
    size_t length = 0;
    for (int64_t size = 1; size <= PROOF_LEAVES; size++) {
        for (int64_t old_size = 1; old_size <= size; old_size++) {
            consistency(tree, old_size, size, proof, &length);
            assert_true(tlog_verify_consistency(old_size, size, &roots[old_size], &roots[size],
                                                proof, length));
            if (old_size == size) {
                assert_int_equal(length, 0);
                continue;
            }
            /* A rewritten history (another old root), the roots swapped,
             * another old size, an altered proof: refused. */
            tlog_hash forged = roots[old_size];
            forged.bytes[0] ^= 1;
            assert_false(tlog_verify_consistency(old_size, size, &forged, &roots[size], proof,
                                                 length));
            assert_false(tlog_verify_consistency(old_size, size, &roots[size],
                                                 &roots[old_size], proof, length));
            if (old_size > 1)
                assert_false(tlog_verify_consistency(old_size - 1, size, &roots[old_size - 1],
                                                     &roots[size], proof, length));
            proof[0].bytes[3] ^= 1;
            assert_false(tlog_verify_consistency(old_size, size, &roots[old_size], &roots[size],
                                                 proof, length));
        }
    }
    int64_t indexes[TLOG_INDEXES_MAX];
    size_t count = 0;
    assert_int_equal(tlog_consistency_indexes(0, 5, indexes, &count), -1);
    assert_int_equal(tlog_consistency_indexes(6, 5, indexes, &count), -1);
    assert_false(tlog_verify_consistency(0, 5, &roots[1], &roots[5], proof, 1));
    free(tree);
}

static void
test_tiles(void **state)
{
    (void)state;
    char path[TLOG_TILE_PATH_MAX];
    struct {
        int level;
        int64_t n;
        int width;
        const char *path;
    } cases[] = {
        {0, 0, 256, "tile/0/000"},
        {0, 7, 256, "tile/0/007"},
        {1, 999, 3, "tile/1/999.p/3"},
        {0, 1000, 256, "tile/0/x001/000"},
        {2, 1234067, 255, "tile/2/x001/x234/067.p/255"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(tlog_tile_path(cases[i].level, cases[i].n, cases[i].width, path), 0);
        assert_string_equal(path, cases[i].path);
        int level = -1, width = -1;
        int64_t n = -1;
        assert_int_equal(tlog_tile_parse(cases[i].path, &level, &n, &width), 0);
        assert_int_equal(level, cases[i].level);
        assert_int_equal(n, cases[i].n);
        assert_int_equal(width, cases[i].width);
    }
    const char *refused[] = {"tile/0/1",          "tile/0/0000",      "tile/0/x000/001",
                             "tile/0/001/002",    "tile/8/000",       "tile/0/000.p/0",
                             "tile/0/000.p/256",  "tile/0/000.p/012", "tile/0/000/",
                             "tile/entries/000",  "tile/0/x001",      "tile/0/000.p/3x",
                             "tile//000",         "Tile/0/000"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int level = 0, width = 0;
        int64_t n = 0;
        if (tlog_tile_parse(refused[i], &level, &n, &width) == 0)
            fail_msg("accepted %s", refused[i]);
    }
    assert_int_equal(tlog_tile_path(8, 0, 256, path), -1);
    assert_int_equal(tlog_tile_path(0, 0, 0, path), -1);

    /* In a tree of 600 leaves (enough for two level-1 hashes): */
    struct tree *tree = calloc(1, sizeof *tree);
    static tlog_hash leaves[600];
    static tlog_hash stored[1400];
    int64_t size = 0, stored_count = 0;
    for (; size < 600; size++) {
        char text[16];
        int length = snprintf(text, sizeof text, "%lld", (long long)size);
        leaves[size] = tlog_leaf_hash(text, (size_t)length);
        int64_t indexes[TLOG_PROOF_MAX];
        tlog_hash read[TLOG_PROOF_MAX], added[TLOG_PROOF_MAX + 1];
        size_t count = 0, added_count = 0;
        tlog_append_indexes(size, indexes, &count);
        for (size_t i = 0; i < count; i++)
            read[i] = stored[indexes[i]];
        tlog_append_hashes(size, &leaves[size], read, added, &added_count);
        for (size_t i = 0; i < added_count; i++)
            stored[stored_count++] = added[i];
    }
    assert_int_equal(tlog_tile_width(0, 0, size), 256);
    assert_int_equal(tlog_tile_width(0, 2, size), 600 - 512);
    assert_int_equal(tlog_tile_width(0, 3, size), 0);
    assert_int_equal(tlog_tile_width(1, 0, size), 2);
    assert_int_equal(tlog_tile_width(2, 0, size), 0);
    int64_t indexes[TLOG_TILE_WIDTH];
    tlog_tile_indexes(0, 1, 256, indexes);
    for (int i = 0; i < 256; i++)
        assert_true(equal(&stored[indexes[i]], &leaves[256 + i]));
    tlog_tile_indexes(1, 0, 2, indexes);
    tlog_hash first = naive_root(leaves, 256), second = naive_root(leaves + 256, 256);
    assert_true(equal(&stored[indexes[0]], &first));
    assert_true(equal(&stored[indexes[1]], &second));
    free(tree);
}

static void
test_checkpoints(void **state)
{
    (void)state;
    tlog_hash root = from_hex(vector_roots[7]), parsed;
    char body[TLOG_CHECKPOINT_MAX];
    assert_int_equal(tlog_checkpoint_format("id.example/log", 8, &root, body, sizeof body), 0);
    assert_string_equal(body, "id.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n");
    int64_t size = 0;
    assert_int_equal(tlog_checkpoint_parse(body, strlen(body), "id.example/log", &size, &parsed),
                     0);
    assert_int_equal(size, 8);
    assert_true(equal(&parsed, &root));
    /* Extension lines may follow. */
    char extended[TLOG_CHECKPOINT_MAX + 16];
    snprintf(extended, sizeof extended, "%sextension\n", body);
    assert_int_equal(tlog_checkpoint_parse(extended, strlen(extended), "id.example/log", &size,
                                           &parsed), 0);
    const char *refused[] = {
        "other.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "id.example/log\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "id.example/log\n-8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "id.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy=\n",
        "id.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
        "id.example/log\n99999999999999999999\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "id.example/log\n\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (tlog_checkpoint_parse(refused[i], strlen(refused[i]), "id.example/log", &size,
                                  &parsed) == 0)
            fail_msg("accepted checkpoint %zu", i);
    assert_int_equal(tlog_checkpoint_format("with space", 1, &root, body, sizeof body), -1);
    assert_int_equal(tlog_checkpoint_format("a+b", 1, &root, body, sizeof body), -1);
    assert_int_equal(tlog_checkpoint_format("", 1, &root, body, sizeof body), -1);
    assert_int_equal(tlog_checkpoint_format("id.example/log", 8, &root, body, 20), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6962_vectors),
        cmocka_unit_test(test_roots_by_appends),
        cmocka_unit_test(test_inclusion_proofs),
        cmocka_unit_test(test_consistency_proofs),
        cmocka_unit_test(test_tiles),
        cmocka_unit_test(test_checkpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
