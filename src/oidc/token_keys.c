/* token_keys: signing and published token keys over time; see
 * token_keys.h. */
#include "oidc/token_keys.h"

#include "audit/audit.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_MAX 256            /* keys ever made; rotation is rare */
#define NEW_KID_BYTES 16        /* 22 base64url characters */
#define P256_COORDINATE_BYTES 32

/* The keys in order of activation, the initial key first. */
struct key_list {
    struct store_token_key keys[KEYS_MAX];
    size_t count;
};

static int
add_key(void *context, const struct store_token_key *key)
{
    struct key_list *list = context;
    if (list->count == KEYS_MAX)
        return -1;
    list->keys[list->count++] = *key;
    return 0;
}

static int
load_keys(struct store_conn *conn, struct signer *signer, struct key_list *list)
{
    char kid[SIGNER_KID_MAX + 1];
    signer_token_initial_kid(signer, kid);
    memset(list, 0, sizeof *list);
    _Static_assert(STORE_KID_MAX >= SIGNER_KID_MAX + 1, "kid size");
    memcpy(list->keys[0].kid, kid, sizeof kid);
    list->count = 1;
    return store_token_key_each(conn, add_key, list) == 0 ? 0 : -1;
}

enum key_state { KEY_NEXT, KEY_SIGNING, KEY_PUBLISHED, KEY_RETIRED };

static const char *const key_state_names[] = {
    [KEY_NEXT] = "next", [KEY_SIGNING] = "signing",
    [KEY_PUBLISHED] = "published", [KEY_RETIRED] = "retired"};

/* Key i's state at now: it signs from its activation until the next key's
 * (list order breaks ties), then stays published a while. */
static enum key_state
key_state(const struct key_list *list, size_t i, int64_t now)
{
    if (list->keys[i].activates_at > now)
        return KEY_NEXT;
    if (i + 1 == list->count || list->keys[i + 1].activates_at > now)
        return KEY_SIGNING;
    int64_t superseded = list->keys[i + 1].activates_at;
    return now < superseded + TOKEN_KEYS_RETIRED_PUBLISHED ? KEY_PUBLISHED
                                                           : KEY_RETIRED;
}

/* Index of the signing key at now (there is always one: the initial key
 * activates at 0). */
static size_t
signing_index(const struct key_list *list, int64_t now)
{
    size_t index = 0;
    for (size_t i = 0; i < list->count; i++)
        if (key_state(list, i, now) == KEY_SIGNING)
            index = i;
    return index;
}

/* 1 if this node's signer holds kid's private key. */
static int
key_is_here(struct signer *signer, const char *kid)
{
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0;
    return signer_token_public_key(signer, kid, spki, &length) == 0;
}

int
token_keys_signing_kid(struct store_conn *conn, struct signer *signer, int64_t now,
                       char kid[SIGNER_KID_MAX + 1])
{
    struct key_list *list = malloc(sizeof *list);
    if (list == NULL || load_keys(conn, signer, list) != 0) {
        free(list);
        return -1;
    }
    /* Each node reads its private keys from its own keys/. A key rotated
     * on another node signs here once its file has been copied; until
     * then this node signs with the newest earlier key it holds that is
     * still published, so its tokens still verify. */
    size_t signing = signing_index(list, now);
    size_t chosen = signing;
    while (!key_is_here(signer, list->keys[chosen].kid) && chosen > 0 &&
           key_state(list, chosen - 1, now) != KEY_RETIRED)
        chosen--;
    int status = -1;
    if (!key_is_here(signer, list->keys[chosen].kid))
        log_event(LOG_ERROR, "token_key_missing", "{s:s}", "kid", list->keys[signing].kid);
    else
        status = string_copy(kid, SIGNER_KID_MAX + 1, list->keys[chosen].kid);
    if (status == 0 && chosen != signing)
        log_event(LOG_WARN, "token_key_not_here", "{s:s, s:s}", "kid",
                  list->keys[signing].kid, "signing_with", list->keys[chosen].kid);
    free(list);
    return status;
}

/* A public key's JWK coordinates, base64url. */
struct coordinates {
    char x[BASE64URL_ENCODED_SIZE(P256_COORDINATE_BYTES)];
    char y[BASE64URL_ENCODED_SIZE(P256_COORDINATE_BYTES)];
};

/* The coordinates of the public keys this process has published, by their
 * DER SPKI. Decoding an SPKI through OpenSSL 3's decoders costs about
 * 0.2 ms (provider and decoder lookups under read-write locks), which
 * every /jwks.json and every id_token_hint paid for each key: 3 700
 * /jwks.json a second on one core against 27 000 /healthz. Keyed by the
 * bytes, not the kid, so that a kid can never be answered with another
 * key's coordinates; a key that no longer fits is decoded every time. */
#define COORDINATES_MEMO_SIZE KEYS_MAX
static struct {
    pthread_mutex_t lock;
    size_t count;
    struct {
        uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES];
        size_t length;
        struct coordinates coordinates;
    } entries[COORDINATES_MEMO_SIZE];
} memo = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The entry of an SPKI, or memo.count when none (memo.lock held). */
static size_t
memo_index(const uint8_t *spki, size_t length)
{
    size_t i = 0;
    while (i < memo.count &&
           (memo.entries[i].length != length || memcmp(memo.entries[i].spki, spki, length) != 0))
        i++;
    return i;
}

static int
memo_find(const uint8_t *spki, size_t length, struct coordinates *out)
{
    pthread_mutex_lock(&memo.lock);
    size_t i = memo_index(spki, length);
    int found = i < memo.count;
    if (found)
        *out = memo.entries[i].coordinates;
    pthread_mutex_unlock(&memo.lock);
    return found;
}

static void
memo_add(const uint8_t *spki, size_t length, const struct coordinates *coordinates)
{
    pthread_mutex_lock(&memo.lock);
    if (memo_index(spki, length) == memo.count && memo.count < COORDINATES_MEMO_SIZE) {
        memcpy(memo.entries[memo.count].spki, spki, length);
        memo.entries[memo.count].length = length;
        memo.entries[memo.count].coordinates = *coordinates;
        memo.count++;
    }
    pthread_mutex_unlock(&memo.lock);
}

/* An SPKI's P-256 coordinates, decoded by OpenSSL. */
static int
decode_coordinates(const uint8_t *spki, size_t length, struct coordinates *out)
{
    const unsigned char *cursor = spki;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &cursor, (long)length);
    BIGNUM *x = NULL, *y = NULL;
    uint8_t x_bytes[P256_COORDINATE_BYTES], y_bytes[P256_COORDINATE_BYTES];
    int status = -1;
    if (key != NULL && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
        BN_bn2binpad(x, x_bytes, sizeof x_bytes) == (int)sizeof x_bytes &&
        BN_bn2binpad(y, y_bytes, sizeof y_bytes) == (int)sizeof y_bytes &&
        base64url_encode(x_bytes, sizeof x_bytes, out->x, sizeof out->x) == 0 &&
        base64url_encode(y_bytes, sizeof y_bytes, out->y, sizeof out->y) == 0)
        status = 0;
    BN_free(x);
    BN_free(y);
    EVP_PKEY_free(key);
    return status;
}

/* The public JWK of a key (RFC 7518 §6.2), from the public key the table
 * records, else from the key file; NULL when neither has it. */
static json_t *
public_jwk(struct signer *signer, const struct store_token_key *record)
{
    const char *kid = record->kid;
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0;
    if (record->public_key_length > 0 && record->public_key_length <= sizeof spki) {
        memcpy(spki, record->public_key, record->public_key_length);
        length = record->public_key_length;
    } else if (signer_token_public_key(signer, kid, spki, &length) != 0) {
        return NULL;
    }
    struct coordinates coordinates;
    if (!memo_find(spki, length, &coordinates)) {
        if (decode_coordinates(spki, length, &coordinates) != 0)
            return NULL;
        memo_add(spki, length, &coordinates);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x",
                     coordinates.x, "y", coordinates.y, "kid", kid, "use", "sig", "alg",
                     "ES256");
}

int
token_keys_jwks(struct store_conn *conn, struct signer *signer, int64_t now,
                json_t **jwks)
{
    *jwks = NULL;
    struct key_list *list = malloc(sizeof *list);
    json_t *keys = json_array();
    int status = -1;
    if (list == NULL || keys == NULL || load_keys(conn, signer, list) != 0)
        goto cleanup;
    size_t signing = signing_index(list, now);
    if (json_array_append_new(keys, public_jwk(signer, &list->keys[signing])) != 0)
        goto cleanup;
    for (size_t i = 0; i < list->count; i++) {
        enum key_state state = key_state(list, i, now);
        if (i == signing || state == KEY_RETIRED)
            continue;
        if (json_array_append_new(keys, public_jwk(signer, &list->keys[i])) != 0)
            goto cleanup;
    }
    *jwks = json_pack("{s:O}", "keys", keys);
    status = *jwks != NULL ? 0 : -1;
cleanup:
    json_decref(keys);
    free(list);
    return status;
}

int
token_keys_list(struct store_conn *conn, struct signer *signer, int64_t now,
                json_t **out)
{
    *out = NULL;
    struct key_list *list = malloc(sizeof *list);
    json_t *keys = json_array();
    int status = -1;
    if (list == NULL || keys == NULL || load_keys(conn, signer, list) != 0)
        goto cleanup;
    for (size_t i = 0; i < list->count; i++) {
        json_t *entry = json_pack(
            "{s:s, s:I, s:s, s:b}", "kid", list->keys[i].kid, "activates_at",
            (json_int_t)list->keys[i].activates_at, "state",
            key_state_names[key_state(list, i, now)], "on_this_node",
            key_is_here(signer, list->keys[i].kid));
        if (json_array_append_new(keys, entry) != 0)
            goto cleanup;
    }
    *out = keys;
    keys = NULL;
    status = 0;
cleanup:
    json_decref(keys);
    free(list);
    return status;
}

int
token_keys_rotate(struct store_conn *conn, struct signer *signer, const char *keys_dir,
                  int64_t now, int64_t activate_in, const char *actor,
                  char kid[SIGNER_KID_MAX + 1], char *err, size_t errlen)
{
    uint8_t random[NEW_KID_BYTES];
    struct store_token_key key = {.created_at = now, .activates_at = now + activate_in};
    _Static_assert(BASE64URL_ENCODED_SIZE(NEW_KID_BYTES) <= STORE_KID_MAX, "kid size");
    if (activate_in < 0)
        return error_set(err, errlen, "the activation delay must not be negative");
    if (RAND_bytes(random, sizeof random) != 1 ||
        base64url_encode(random, sizeof random, key.kid, sizeof key.kid) != 0)
        return error_set(err, errlen, "no randomness for a key id");
    /* The key file first: a row never names a key that does not exist. A
     * file left by a failed insert below is never used (no row names it). */
    if (signer_token_key_create(keys_dir, key.kid, err, errlen) != 0)
        return -1;
    /* Its public key goes in the table: every node publishes it. */
    _Static_assert(STORE_PUBLIC_KEY_MAX >= SIGNER_PUBLIC_KEY_MAX_BYTES, "SPKI size");
    if (signer_token_public_key(signer, key.kid, key.public_key,
                                &key.public_key_length) != 0)
        return error_set(err, errlen, "cannot read the new key %s back", key.kid);
    json_t *details = json_pack("{s:I}", "activates_at", (json_int_t)key.activates_at);
    int ok = details != NULL && store_begin(conn) == 0 &&
             store_token_key_insert(conn, &key) == 0 &&
             audit_append(conn, actor, "keys.rotate", key.kid, details, NULL) == 0 &&
             store_commit(conn) == 0;
    json_decref(details);
    if (!ok) {
        error_set(err, errlen, "database: %s", store_last_error(conn));
        store_rollback(conn);
        return -1;
    }
    memcpy(kid, key.kid, strlen(key.kid) + 1);
    return 0;
}
