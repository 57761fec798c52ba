/* signer: key loading and the private-key operations; see signer.h.
 * In-process today: the struct below is the state a separate signer
 * process would hold, and nothing outside this file sees it. */
#include "signer/signer.h"

#include "signer/signer_files.h"
#include "util/counters.h"
#include "util/encoding.h"
#include "util/file.h"
#include "util/log.h"
#include "util/strings.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SIGNER_KEY_FILE_MAX_BYTES 16384
#define SIGNER_GROUP_NAME_MAX 32

/* One token key loaded by kid; `used` orders the cache for eviction. */
struct token_slot {
    char kid[SIGNER_KID_MAX + 1];
    EVP_PKEY *key;  /* NULL: free slot */
    uint64_t used;
};

struct signer {
    uint8_t symmetric[SIGNER_KEY_COUNT][SIGNER_SYMMETRIC_KEY_BYTES];
    EVP_PKEY *asymmetric[SIGNER_KEY_COUNT];
    char keys_dir[SIGNER_PATH_MAX];
    char initial_kid[SIGNER_KID_MAX + 1];
    /* The token keys by kid, loaded on first use. */
    pthread_mutex_t token_lock;
    int token_lock_ready;
    struct token_slot tokens[SIGNER_TOKEN_KEYS_CACHED];
    uint64_t token_clock;
};

static int
load_private_file(const char *path, uint8_t **bytes, size_t *length, char *err,
                  size_t errlen)
{
    struct stat info;
    if (stat(path, &info) != 0)
        return error_set(err, errlen, "missing key file %s", path);
    /* Like ssh with its identity files: a key others can read is not
     * trusted to be secret any more, so refuse to start with it. */
    if ((info.st_mode & 077) != 0)
        return error_set(err, errlen,
                         "key file %s is accessible by group or others "
                         "(mode %03o); it must be 0600",
                         path, (unsigned)(info.st_mode & 0777));
    return file_read(path, SIGNER_KEY_FILE_MAX_BYTES, bytes, length, err,
                     errlen);
}

static int
load_key_file(const char *keys_dir, enum signer_key key, uint8_t **bytes,
              size_t *length, char *err, size_t errlen)
{
    char path[SIGNER_PATH_MAX];
    if (string_format(path, sizeof path, "%s/%s", keys_dir,
                      signer_key_files[key]) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    return load_private_file(path, bytes, length, err, errlen);
}

/* Parses a PEM private key and accepts only EC P-256. NULL otherwise. */
static EVP_PKEY *
parse_p256_key(const uint8_t *bytes, size_t length)
{
    if (length > SIGNER_KEY_FILE_MAX_BYTES)
        return NULL;
    BIO *bio = BIO_new_mem_buf(bytes, (int)length);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    char group[SIGNER_GROUP_NAME_MAX];
    if (pkey != NULL &&
        (!EVP_PKEY_is_a(pkey, "EC") ||
         EVP_PKEY_get_group_name(pkey, group, sizeof group, NULL) != 1 ||
         strcmp(group, SN_X9_62_prime256v1) != 0)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

static int
public_key_der(EVP_PKEY *pkey, uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES],
               size_t *length)
{
    int needed = i2d_PUBKEY(pkey, NULL);
    if (needed <= 0 || needed > SIGNER_PUBLIC_KEY_MAX_BYTES)
        return -1;
    uint8_t *cursor = out;
    if (i2d_PUBKEY(pkey, &cursor) != needed)
        return -1;
    *length = (size_t)needed;
    return 0;
}

/* The initial kid: base64url(SHA-256(DER SPKI)) cut to
 * SIGNER_INITIAL_KID_CHARS. */
static int
derive_initial_kid(EVP_PKEY *pkey, char kid[SIGNER_KID_MAX + 1])
{
    uint8_t der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char encoded[BASE64URL_ENCODED_SIZE(SHA256_DIGEST_LENGTH)];
    size_t length = 0;
    if (public_key_der(pkey, der, &length) != 0 ||
        SHA256(der, length, digest) == NULL ||
        base64url_encode(digest, sizeof digest, encoded, sizeof encoded) != 0)
        return -1;
    _Static_assert(SIGNER_INITIAL_KID_CHARS <= SIGNER_KID_MAX, "kid size");
    memcpy(kid, encoded, SIGNER_INITIAL_KID_CHARS);
    kid[SIGNER_INITIAL_KID_CHARS] = '\0';
    return 0;
}

int
signer_open(const char *keys_dir, struct signer **out, char *err,
            size_t errlen)
{
    struct signer *signer = calloc(1, sizeof *signer);
    if (signer == NULL)
        return error_set(err, errlen, "out of memory");
    if (string_copy(signer->keys_dir, sizeof signer->keys_dir, keys_dir) != 0) {
        error_set(err, errlen, "keys folder path is too long");
        goto fail;
    }
    if (pthread_mutex_init(&signer->token_lock, NULL) != 0) {
        error_set(err, errlen, "cannot create the token key lock");
        goto fail;
    }
    signer->token_lock_ready = 1;
    for (int key = 0; key < SIGNER_KEY_COUNT; key++) {
        uint8_t *bytes = NULL;
        size_t length = 0;
        if (load_key_file(keys_dir, key, &bytes, &length, err, errlen) != 0)
            goto fail;
        int ok;
        if (signer_key_is_symmetric(key)) {
            ok = length == SIGNER_SYMMETRIC_KEY_BYTES;
            if (ok)
                memcpy(signer->symmetric[key], bytes, length);
        } else {
            signer->asymmetric[key] = parse_p256_key(bytes, length);
            ok = signer->asymmetric[key] != NULL;
        }
        secret_wipe(bytes, length);
        free(bytes);
        if (!ok) {
            error_set(err, errlen, "key file %s/%s is not a valid key",
                      keys_dir, signer_key_files[key]);
            goto fail;
        }
    }
    if (derive_initial_kid(signer->asymmetric[SIGNER_KEY_TOKEN],
                           signer->initial_kid) != 0) {
        error_set(err, errlen, "cannot derive the initial token key id");
        goto fail;
    }
    *out = signer;
    return 0;
fail:
    signer_close(signer);
    return -1;
}

void
signer_close(struct signer *signer)
{
    if (signer == NULL)
        return;
    for (int key = 0; key < SIGNER_KEY_COUNT; key++)
        EVP_PKEY_free(signer->asymmetric[key]);
    for (size_t i = 0; i < SIGNER_TOKEN_KEYS_CACHED; i++)
        EVP_PKEY_free(signer->tokens[i].key);
    if (signer->token_lock_ready)
        pthread_mutex_destroy(&signer->token_lock);
    secret_wipe(signer, sizeof *signer);
    free(signer);
}

int
signer_hmac(struct signer *signer, enum signer_key key, const void *message,
            size_t length, uint8_t out[SIGNER_HMAC_BYTES])
{
    counter_add(COUNTER_SIGNER_OPERATIONS, "hmac");
    unsigned int out_length = 0;
    if ((key == SIGNER_KEY_INDEX || key == SIGNER_KEY_PAIRWISE) &&
        (message != NULL || length == 0) &&
        HMAC(EVP_sha256(), signer->symmetric[key], SIGNER_SYMMETRIC_KEY_BYTES,
             message, length, out, &out_length) != NULL &&
        out_length == SIGNER_HMAC_BYTES)
        return 0;
    secret_wipe(out, SIGNER_HMAC_BYTES);
    return -1;
}

/* AES-256-GCM under the master key; `encrypt` selects the direction. The
 * layout of `wrapped` is nonce | ciphertext | tag. */
static int
master_key_crypt(struct signer *signer, int encrypt, const uint8_t *input,
                 uint8_t *output, const void *aad, size_t aad_length,
                 uint8_t wrapped[SIGNER_WRAPPED_KEY_BYTES])
{
    int status = -1;
    int n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t *nonce = wrapped;
    uint8_t *tag = wrapped + SIGNER_NONCE_BYTES + SIGNER_DATA_KEY_BYTES;
    if (ctx == NULL || aad_length > SIGNER_AAD_MAX_BYTES ||
        (aad == NULL && aad_length > 0))
        goto cleanup;
    if (encrypt && RAND_bytes(nonce, SIGNER_NONCE_BYTES) != 1)
        goto cleanup;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL,
                          signer->symmetric[SIGNER_KEY_MASTER], nonce,
                          encrypt) != 1)
        goto cleanup;
    if (aad_length > 0 &&
        EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_length) != 1)
        goto cleanup;
    if (EVP_CipherUpdate(ctx, output, &n, input, SIGNER_DATA_KEY_BYTES) != 1)
        goto cleanup;
    if (!encrypt &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SIGNER_TAG_BYTES, tag) != 1)
        goto cleanup;
    if (EVP_CipherFinal_ex(ctx, output + n, &n) != 1)
        goto cleanup;
    if (encrypt &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SIGNER_TAG_BYTES, tag) != 1)
        goto cleanup;
    status = 0;
cleanup:
    EVP_CIPHER_CTX_free(ctx);
    return status;
}

int
signer_wrap_data_key(struct signer *signer,
                     const uint8_t data_key[SIGNER_DATA_KEY_BYTES],
                     const void *aad, size_t aad_length,
                     uint8_t out[SIGNER_WRAPPED_KEY_BYTES])
{
    counter_add(COUNTER_SIGNER_OPERATIONS, "wrap_data_key");
    if (master_key_crypt(signer, 1, data_key, out + SIGNER_NONCE_BYTES, aad,
                         aad_length, out) == 0)
        return 0;
    secret_wipe(out, SIGNER_WRAPPED_KEY_BYTES);
    return -1;
}

int
signer_unwrap_data_key(struct signer *signer,
                       const uint8_t wrapped[SIGNER_WRAPPED_KEY_BYTES],
                       const void *aad, size_t aad_length,
                       uint8_t data_key[SIGNER_DATA_KEY_BYTES])
{
    counter_add(COUNTER_SIGNER_OPERATIONS, "unwrap_data_key");
    uint8_t copy[SIGNER_WRAPPED_KEY_BYTES];
    memcpy(copy, wrapped, sizeof copy);
    int status = master_key_crypt(signer, 0, copy + SIGNER_NONCE_BYTES,
                                  data_key, aad, aad_length, copy);
    if (status != 0)
        secret_wipe(data_key, SIGNER_DATA_KEY_BYTES);
    secret_wipe(copy, sizeof copy);
    return status;
}

static int
is_asymmetric(struct signer *signer, enum signer_key key)
{
    return key >= 0 && key < SIGNER_KEY_COUNT && !signer_key_is_symmetric(key) &&
           signer->asymmetric[key] != NULL;
}

/* ECDSA with pkey (NULL fails); on failure the output is zeroed. */
static int
sign_with(EVP_PKEY *pkey, const uint8_t digest[SIGNER_DIGEST_BYTES],
          uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES], size_t *signature_length)
{
    int status = -1;
    EVP_PKEY_CTX *ctx = NULL;
    size_t length = SIGNER_SIGNATURE_MAX_BYTES;
    if (pkey == NULL)
        goto cleanup;
    ctx = EVP_PKEY_CTX_new(pkey, NULL);
    if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_sign(ctx, signature, &length, digest, SIGNER_DIGEST_BYTES) != 1)
        goto cleanup;
    *signature_length = length;
    status = 0;
cleanup:
    EVP_PKEY_CTX_free(ctx);
    if (status != 0) {
        secret_wipe(signature, SIGNER_SIGNATURE_MAX_BYTES);
        *signature_length = 0;
    }
    return status;
}

int
signer_sign_digest(struct signer *signer, enum signer_key key,
                   const uint8_t digest[SIGNER_DIGEST_BYTES],
                   uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES],
                   size_t *signature_length)
{
    counter_add(COUNTER_SIGNER_OPERATIONS, "sign_digest");
    return sign_with(is_asymmetric(signer, key) ? signer->asymmetric[key] : NULL,
                     digest, signature, signature_length);
}

int
signer_public_key(struct signer *signer, enum signer_key key,
                  uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    if (!is_asymmetric(signer, key))
        return -1;
    return public_key_der(signer->asymmetric[key], out, length);
}

/* ── Token keys by kid ─────────────────────────────────────────────────── */

int
signer_kid_is_valid(const char *kid)
{
    size_t length = strnlen(kid, SIGNER_KID_MAX + 1);
    if (length == 0 || length > SIGNER_KID_MAX)
        return 0;
    for (size_t i = 0; i < length; i++) {
        char c = kid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void
signer_token_initial_kid(struct signer *signer, char kid[SIGNER_KID_MAX + 1])
{
    memcpy(kid, signer->initial_kid, sizeof signer->initial_kid);
}

/* The cached key of kid with a reference taken, or NULL. Lock held. */
static EVP_PKEY *
token_cache_find(struct signer *signer, const char *kid)
{
    for (size_t i = 0; i < SIGNER_TOKEN_KEYS_CACHED; i++) {
        struct token_slot *slot = &signer->tokens[i];
        if (slot->key != NULL && strcmp(slot->kid, kid) == 0 &&
            EVP_PKEY_up_ref(slot->key) == 1) {
            slot->used = ++signer->token_clock;
            return slot->key;
        }
    }
    return NULL;
}

/* Puts pkey (whose reference the cache takes over) in a free slot or in
 * the least recently used one. Lock held. */
static void
token_cache_put(struct signer *signer, const char *kid, EVP_PKEY *pkey)
{
    struct token_slot *victim = &signer->tokens[0];
    for (size_t i = 0; i < SIGNER_TOKEN_KEYS_CACHED; i++) {
        struct token_slot *slot = &signer->tokens[i];
        if (slot->key == NULL) {
            victim = slot;
            break;
        }
        if (slot->used < victim->used)
            victim = slot;
    }
    /* A caller signing with the evicted key holds its own reference. */
    EVP_PKEY_free(victim->key);
    memcpy(victim->kid, kid, strlen(kid) + 1);
    victim->key = pkey;
    victim->used = ++signer->token_clock;
}

/* The private key of kid with a reference the caller frees, loading
 * keys/token-<kid>.pem (outside the lock: file I/O) when it is not
 * cached. NULL when the kid is invalid or its file missing or refused. */
static EVP_PKEY *
token_key_get(struct signer *signer, const char *kid)
{
    if (!signer_kid_is_valid(kid))
        return NULL;
    if (strcmp(kid, signer->initial_kid) == 0)
        return EVP_PKEY_up_ref(signer->asymmetric[SIGNER_KEY_TOKEN]) == 1
                   ? signer->asymmetric[SIGNER_KEY_TOKEN]
                   : NULL;
    pthread_mutex_lock(&signer->token_lock);
    EVP_PKEY *pkey = token_cache_find(signer, kid);
    pthread_mutex_unlock(&signer->token_lock);
    if (pkey != NULL)
        return pkey;

    char path[SIGNER_PATH_MAX], err[SIGNER_PATH_MAX + 128];
    uint8_t *bytes = NULL;
    size_t length = 0;
    if (string_format(path, sizeof path, SIGNER_TOKEN_KEY_FILE_FORMAT,
                      signer->keys_dir, kid) != 0) {
        log_event(LOG_WARN, "signer.token_key_refused", "{s:s, s:s}", "kid", kid,
                  "reason", "keys folder path is too long");
        return NULL;
    }
    if (load_private_file(path, &bytes, &length, err, sizeof err) != 0) {
        log_event(LOG_WARN, "signer.token_key_refused", "{s:s, s:s}", "kid", kid,
                  "reason", err);
        return NULL;
    }
    EVP_PKEY *loaded = parse_p256_key(bytes, length);
    secret_wipe(bytes, length);
    free(bytes);
    if (loaded == NULL) {
        log_event(LOG_WARN, "signer.token_key_refused", "{s:s, s:s}", "kid", kid,
                  "reason", "not a P-256 private key");
        return NULL;
    }

    pthread_mutex_lock(&signer->token_lock);
    pkey = token_cache_find(signer, kid); /* another thread may have won */
    if (pkey == NULL && EVP_PKEY_up_ref(loaded) == 1) {
        token_cache_put(signer, kid, loaded);
        pkey = loaded;
        loaded = NULL;
    }
    pthread_mutex_unlock(&signer->token_lock);
    EVP_PKEY_free(loaded);
    return pkey;
}

int
signer_sign_token_digest(struct signer *signer, const char *kid,
                         const uint8_t digest[SIGNER_DIGEST_BYTES],
                         uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES],
                         size_t *signature_length)
{
    counter_add(COUNTER_SIGNER_OPERATIONS, "sign_token");
    EVP_PKEY *pkey = token_key_get(signer, kid);
    int status = sign_with(pkey, digest, signature, signature_length);
    EVP_PKEY_free(pkey);
    return status;
}

int
signer_token_public_key(struct signer *signer, const char *kid,
                        uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    EVP_PKEY *pkey = token_key_get(signer, kid);
    int status = pkey != NULL ? public_key_der(pkey, out, length) : -1;
    EVP_PKEY_free(pkey);
    return status;
}
