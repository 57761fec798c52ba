/* keyring: the keys of the data folder and what is done with them; see
 * keyring.h. Only the signer process (and signer_open() in tests and
 * offline commands) holds one. */
#include "signer/keyring.h"

#include "signer/pkcs11.h"
#include "signer/signer_files.h"
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
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIGNER_KEY_FILE_MAX_BYTES 16384
#define SIGNER_GROUP_NAME_MAX 32

/* One token key loaded by kid; `used` orders the cache for eviction. */
struct token_slot {
    char kid[SIGNER_KID_MAX + 1];
    EVP_PKEY *key;  /* NULL: free slot */
    uint64_t used;
};

struct keyring {
    /* Keys from files: the secret keys' bytes. From a PKCS#11 token
     * (keys/pkcs11.json): `token` and the secret keys' handles; the EC
     * keys below then sign through the token. */
    struct pkcs11 *token;
    pkcs11_handle secret[SIGNER_KEY_COUNT];
    uint8_t symmetric[SIGNER_KEY_COUNT][SIGNER_SYMMETRIC_KEY_BYTES];
    EVP_PKEY *asymmetric[SIGNER_KEY_COUNT];
    EVP_PKEY *log_key;  /* Ed25519 from its file, optional */
    /* ... or the token's pair "cyberid-log-checkpoint", optional. */
    int log_in_token;
    pkcs11_handle log_handle;
    uint8_t log_public[SIGNER_LOG_PUBLIC_KEY_BYTES];
    /* Issuing CA generations 2.. (1 is asymmetric[SIGNER_KEY_ISSUING_CA]). */
    EVP_PKEY *issuing[SIGNER_ISSUING_GENERATIONS_MAX + 1];
    char keys_dir[SIGNER_PATH_MAX];
    char initial_kid[SIGNER_KID_MAX + 1];
    /* The token keys by kid, loaded on first use. */
    pthread_mutex_t token_lock;
    int token_lock_ready;
    struct token_slot tokens[SIGNER_TOKEN_KEYS_CACHED];
    uint64_t token_clock;
};

static int
load_key_file(const char *keys_dir, enum signer_key key, uint8_t **bytes,
              size_t *length, char *err, size_t errlen)
{
    char path[SIGNER_PATH_MAX];
    if (string_format(path, sizeof path, "%s/%s", keys_dir,
                      signer_key_files[key]) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    return file_read_private(path, "key file", SIGNER_KEY_FILE_MAX_BYTES, bytes, length, err,
                             errlen);
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

/* The keys of a PKCS#11 token: handles of the secret keys, token-signing
 * OpenSSL keys of the EC ones. The root CA's is not looked up. */
static int
open_token_keys(struct keyring *keyring, const struct pkcs11_descriptor *descriptor,
                char *err, size_t errlen)
{
    if (pkcs11_open(descriptor, &keyring->token, err, errlen) != 0)
        return -1;
    for (int key = 0; key < SIGNER_KEY_COUNT; key++) {
        if (key == SIGNER_KEY_ROOT_CA)
            continue;
        int ok;
        if (signer_key_is_symmetric(key)) {
            ok = pkcs11_find_secret(keyring->token, signer_key_names[key],
                                    &keyring->secret[key]) == 0;
        } else {
            keyring->asymmetric[key] = pkcs11_ec_key(keyring->token, signer_key_names[key]);
            ok = keyring->asymmetric[key] != NULL;
        }
        if (!ok)
            return error_set(err, errlen,
                             "the PKCS#11 token \"%s\" has no usable key cyberid-%s",
                             descriptor->token, signer_key_names[key]);
    }
    return 0;
}

/* keys/log-checkpoint.key.pem when it exists (mode 0600, Ed25519). 0
 * (loaded or absent) or -1. */
static int
load_log_key(struct keyring *keyring, char *err, size_t errlen)
{
    char path[SIGNER_PATH_MAX];
    if (string_format(path, sizeof path, "%s/%s", keyring->keys_dir, SIGNER_LOG_KEY_FILE) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    if (access(path, F_OK) != 0)
        return 0;
    uint8_t *bytes = NULL;
    size_t length = 0;
    if (file_read_private(path, "key file", SIGNER_KEY_FILE_MAX_BYTES, &bytes, &length, err,
                          errlen) != 0)
        return -1;
    BIO *bio = BIO_new_mem_buf(bytes, (int)length);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    secret_wipe(bytes, length);
    free(bytes);
    if (pkey == NULL || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        return error_set(err, errlen, "%s is not an Ed25519 private key", path);
    }
    keyring->log_key = pkey;
    return 0;
}

int
keyring_open(const char *keys_dir, struct keyring **out, char *err,
            size_t errlen)
{
    struct keyring *keyring = calloc(1, sizeof *keyring);
    if (keyring == NULL)
        return error_set(err, errlen, "out of memory");
    if (string_copy(keyring->keys_dir, sizeof keyring->keys_dir, keys_dir) != 0) {
        error_set(err, errlen, "keys folder path is too long");
        goto fail;
    }
    if (pthread_mutex_init(&keyring->token_lock, NULL) != 0) {
        error_set(err, errlen, "cannot create the token key lock");
        goto fail;
    }
    keyring->token_lock_ready = 1;
    struct pkcs11_descriptor descriptor;
    int in_token = pkcs11_descriptor_read(keys_dir, &descriptor, err, errlen);
    if (in_token < 0)
        goto fail;
    if (in_token && open_token_keys(keyring, &descriptor, err, errlen) != 0)
        goto fail;
    /* The checkpoint key, when the token has one (a folder made before
     * the log, or by a cyberid that made none there, has not). */
    if (in_token && pkcs11_ed25519_key(keyring->token, SIGNER_LOG_KEY_NAME, keyring->log_public,
                                       &keyring->log_handle) == 0)
        keyring->log_in_token = 1;
    for (int key = 0; key < SIGNER_KEY_COUNT && !in_token; key++) {
        /* The root CA key signs issuing CAs only: the offline commands
         * that do it open it themselves; the signer never holds it. */
        if (key == SIGNER_KEY_ROOT_CA)
            continue;
        uint8_t *bytes = NULL;
        size_t length = 0;
        if (load_key_file(keys_dir, key, &bytes, &length, err, errlen) != 0)
            goto fail;
        int ok;
        if (signer_key_is_symmetric(key)) {
            ok = length == SIGNER_SYMMETRIC_KEY_BYTES;
            if (ok)
                memcpy(keyring->symmetric[key], bytes, length);
        } else {
            keyring->asymmetric[key] = parse_p256_key(bytes, length);
            ok = keyring->asymmetric[key] != NULL;
        }
        secret_wipe(bytes, length);
        free(bytes);
        if (!ok) {
            error_set(err, errlen, "key file %s/%s is not a valid key",
                      keys_dir, signer_key_files[key]);
            goto fail;
        }
    }
    if (!in_token && load_log_key(keyring, err, errlen) != 0)
        goto fail;
    if (derive_initial_kid(keyring->asymmetric[SIGNER_KEY_TOKEN],
                           keyring->initial_kid) != 0) {
        error_set(err, errlen, "cannot derive the initial token key id");
        goto fail;
    }
    *out = keyring;
    return 0;
fail:
    keyring_close(keyring);
    return -1;
}

void
keyring_close(struct keyring *keyring)
{
    if (keyring == NULL)
        return;
    for (int key = 0; key < SIGNER_KEY_COUNT; key++)
        EVP_PKEY_free(keyring->asymmetric[key]);
    for (size_t g = 0; g <= SIGNER_ISSUING_GENERATIONS_MAX; g++)
        EVP_PKEY_free(keyring->issuing[g]);
    EVP_PKEY_free(keyring->log_key);
    for (size_t i = 0; i < SIGNER_TOKEN_KEYS_CACHED; i++)
        EVP_PKEY_free(keyring->tokens[i].key);
    pkcs11_close(keyring->token); /* after the keys that sign through it */
    if (keyring->token_lock_ready)
        pthread_mutex_destroy(&keyring->token_lock);
    secret_wipe(keyring, sizeof *keyring);
    free(keyring);
}

int
keyring_hmac(struct keyring *keyring, enum signer_key key, const void *message,
            size_t length, uint8_t out[SIGNER_HMAC_BYTES])
{
    unsigned int out_length = 0;
    if (keyring->token != NULL && (key == SIGNER_KEY_INDEX || key == SIGNER_KEY_PAIRWISE))
        return pkcs11_hmac(keyring->token, keyring->secret[key], message, length, out);
    if ((key == SIGNER_KEY_INDEX || key == SIGNER_KEY_PAIRWISE) &&
        (message != NULL || length == 0) &&
        HMAC(EVP_sha256(), keyring->symmetric[key], SIGNER_SYMMETRIC_KEY_BYTES,
             message, length, out, &out_length) != NULL &&
        out_length == SIGNER_HMAC_BYTES)
        return 0;
    secret_wipe(out, SIGNER_HMAC_BYTES);
    return -1;
}

/* AES-256-GCM of length bytes (0 allowed) under key, with aad; `encrypt`
 * selects the direction. The tag is written when encrypting and checked
 * when decrypting. Both layers of a sealed record use it. 0 or -1. */
static int
gcm(int encrypt, const uint8_t key[SIGNER_SYMMETRIC_KEY_BYTES],
    const uint8_t nonce[SIGNER_NONCE_BYTES], const void *aad, size_t aad_length,
    const uint8_t *input, size_t length, uint8_t *output, uint8_t tag[SIGNER_TAG_BYTES])
{
    int status = -1;
    int n = 0, written = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || aad_length > KEYRING_AAD_MAX_BYTES || (aad == NULL && aad_length > 0) ||
        EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, encrypt) != 1 ||
        (aad_length > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_length) != 1) ||
        (length > 0 && EVP_CipherUpdate(ctx, output, &written, input, (int)length) != 1))
        goto cleanup;
    if (!encrypt &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SIGNER_TAG_BYTES, tag) != 1)
        goto cleanup;
    if (EVP_CipherFinal_ex(ctx, output + written, &n) != 1)
        goto cleanup;
    if (encrypt &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SIGNER_TAG_BYTES, tag) != 1)
        goto cleanup;
    status = 0;
cleanup:
    EVP_CIPHER_CTX_free(ctx);
    return status;
}

/* A data key under the master key; `wrapped` is nonce | ciphertext | tag
 * (a fresh nonce when encrypting). */
static int
master_key_crypt(struct keyring *keyring, int encrypt, const uint8_t *input,
                 uint8_t *output, const void *aad, size_t aad_length,
                 uint8_t wrapped[SIGNER_WRAPPED_KEY_BYTES])
{
    if (encrypt && RAND_bytes(wrapped, SIGNER_NONCE_BYTES) != 1)
        return -1;
    if (keyring->token != NULL)
        return pkcs11_gcm(keyring->token, encrypt, keyring->secret[SIGNER_KEY_MASTER], wrapped,
                          aad, aad_length, input, SIGNER_DATA_KEY_BYTES, output,
                          wrapped + SIGNER_NONCE_BYTES + SIGNER_DATA_KEY_BYTES);
    return gcm(encrypt, keyring->symmetric[SIGNER_KEY_MASTER], wrapped, aad, aad_length,
               input, SIGNER_DATA_KEY_BYTES, output,
               wrapped + SIGNER_NONCE_BYTES + SIGNER_DATA_KEY_BYTES);
}

static int
wrap_data_key(struct keyring *keyring, const uint8_t data_key[SIGNER_DATA_KEY_BYTES],
              const void *aad, size_t aad_length, uint8_t out[SIGNER_WRAPPED_KEY_BYTES])
{
    if (master_key_crypt(keyring, 1, data_key, out + SIGNER_NONCE_BYTES, aad,
                         aad_length, out) == 0)
        return 0;
    secret_wipe(out, SIGNER_WRAPPED_KEY_BYTES);
    return -1;
}

static int
unwrap_data_key(struct keyring *keyring, const uint8_t wrapped[SIGNER_WRAPPED_KEY_BYTES],
                const void *aad, size_t aad_length, uint8_t data_key[SIGNER_DATA_KEY_BYTES])
{
    uint8_t copy[SIGNER_WRAPPED_KEY_BYTES];
    memcpy(copy, wrapped, sizeof copy);
    int status = master_key_crypt(keyring, 0, copy + SIGNER_NONCE_BYTES,
                                  data_key, aad, aad_length, copy);
    if (status != 0)
        secret_wipe(data_key, SIGNER_DATA_KEY_BYTES);
    secret_wipe(copy, sizeof copy);
    return status;
}

/* ── Sealed records ──────────────────────────────────────────────────────
 * Each record is sealed under its own random data key (AES-256-GCM), and
 * that key is kept wrapped by the master key beside it; the record id is
 * the associated data of both layers, so a sealed blob moved to another
 * record fails to open. Data keys exist only here, for the time of one
 * seal or open. */

#define WRAP_LABEL "cyberid-data-key|"

/* AAD of the wrapped key: a label and the record id, so a wrapped key is
 * usable only for the record it was made for. */
static int
wrap_aad(const char *record_id, char *aad, size_t cap, size_t *length)
{
    size_t id_length = strnlen(record_id, KEYRING_RECORD_ID_MAX_BYTES + 1);
    if (id_length == 0 || id_length > KEYRING_RECORD_ID_MAX_BYTES)
        return -1;
    if (string_format(aad, cap, "%s%s", WRAP_LABEL, record_id) != 0)
        return -1;
    *length = strlen(aad);
    return 0;
}

int
keyring_seal(struct keyring *keyring, const char *record_id, const void *plaintext,
             size_t length, uint8_t **sealed, size_t *sealed_length)
{
    int status = -1;
    uint8_t data_key[SIGNER_DATA_KEY_BYTES];
    char aad[sizeof WRAP_LABEL + KEYRING_RECORD_ID_MAX_BYTES];
    size_t aad_length = 0;
    uint8_t *out = NULL;

    *sealed = NULL;
    *sealed_length = 0;
    if (length > KEYRING_PLAINTEXT_MAX_BYTES || (plaintext == NULL && length > 0) ||
        wrap_aad(record_id, aad, sizeof aad, &aad_length) != 0)
        goto cleanup;
    out = malloc(length + KEYRING_SEAL_OVERHEAD_BYTES);
    if (out == NULL)
        goto cleanup;
    uint8_t *wrapped = out + 1;
    uint8_t *nonce = wrapped + SIGNER_WRAPPED_KEY_BYTES;
    uint8_t *ciphertext = nonce + SIGNER_NONCE_BYTES;
    uint8_t *tag = ciphertext + length;
    out[0] = KEYRING_SEAL_FORMAT_VERSION;
    if (RAND_priv_bytes(data_key, sizeof data_key) != 1 ||
        RAND_bytes(nonce, SIGNER_NONCE_BYTES) != 1 ||
        wrap_data_key(keyring, data_key, aad, aad_length, wrapped) != 0 ||
        gcm(1, data_key, nonce, record_id, strlen(record_id), plaintext, length, ciphertext,
            tag) != 0)
        goto cleanup;
    *sealed = out;
    *sealed_length = length + KEYRING_SEAL_OVERHEAD_BYTES;
    out = NULL;
    status = 0;
cleanup:
    secret_wipe(data_key, sizeof data_key);
    free(out);
    return status;
}

int
keyring_unseal(struct keyring *keyring, const char *record_id, const uint8_t *sealed,
               size_t sealed_length, uint8_t **plaintext, size_t *length)
{
    int status = -1;
    uint8_t data_key[SIGNER_DATA_KEY_BYTES];
    char aad[sizeof WRAP_LABEL + KEYRING_RECORD_ID_MAX_BYTES];
    size_t aad_length = 0;
    uint8_t *out = NULL;
    size_t out_length = 0;

    *plaintext = NULL;
    *length = 0;
    if (sealed == NULL || sealed_length < KEYRING_SEAL_OVERHEAD_BYTES ||
        sealed_length - KEYRING_SEAL_OVERHEAD_BYTES > KEYRING_PLAINTEXT_MAX_BYTES ||
        sealed[0] != KEYRING_SEAL_FORMAT_VERSION ||
        wrap_aad(record_id, aad, sizeof aad, &aad_length) != 0)
        goto cleanup;
    out_length = sealed_length - KEYRING_SEAL_OVERHEAD_BYTES;
    out = malloc(out_length + 1);
    if (out == NULL)
        goto cleanup;
    const uint8_t *wrapped = sealed + 1;
    const uint8_t *nonce = wrapped + SIGNER_WRAPPED_KEY_BYTES;
    const uint8_t *ciphertext = nonce + SIGNER_NONCE_BYTES;
    uint8_t tag[SIGNER_TAG_BYTES];
    memcpy(tag, ciphertext + out_length, sizeof tag);
    if (unwrap_data_key(keyring, wrapped, aad, aad_length, data_key) != 0 ||
        gcm(0, data_key, nonce, record_id, strlen(record_id), ciphertext, out_length, out,
            tag) != 0)
        goto cleanup;
    out[out_length] = '\0';
    *plaintext = out;
    *length = out_length;
    out = NULL;
    status = 0;
cleanup:
    secret_wipe(data_key, sizeof data_key);
    if (out != NULL) {
        secret_wipe(out, out_length + 1);
        free(out);
    }
    return status;
}

int
keyring_in_token(const struct keyring *keyring)
{
    return keyring->token != NULL;
}

int
keyring_load_issuing(struct keyring *keyring, unsigned generation, char *err, size_t errlen)
{
    assert(generation >= 2 && generation <= SIGNER_ISSUING_GENERATIONS_MAX &&
           keyring->issuing[generation] == NULL);
    if (keyring->token != NULL) {
        char name[32];
        if (string_format(name, sizeof name, SIGNER_ISSUING_KEY_NAME_FORMAT, generation) == 0)
            keyring->issuing[generation] = pkcs11_ec_key(keyring->token, name);
        if (keyring->issuing[generation] == NULL)
            return error_set(err, errlen,
                             "the PKCS#11 token has no usable key cyberid-issuing-ca-%u",
                             generation);
        return 0;
    }
    char path[SIGNER_PATH_MAX];
    uint8_t *bytes = NULL;
    size_t length = 0;
    if (string_format(path, sizeof path, SIGNER_ISSUING_KEY_FILE_FORMAT, keyring->keys_dir,
                      generation) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    if (file_read_private(path, "key file", SIGNER_KEY_FILE_MAX_BYTES, &bytes, &length, err,
                          errlen) != 0)
        return -1;
    keyring->issuing[generation] = parse_p256_key(bytes, length);
    secret_wipe(bytes, length);
    free(bytes);
    if (keyring->issuing[generation] == NULL)
        return error_set(err, errlen, "key file %s is not a valid P-256 key", path);
    return 0;
}

EVP_PKEY *
keyring_issuing_key(struct keyring *keyring, unsigned generation)
{
    if (generation == 1)
        return keyring->asymmetric[SIGNER_KEY_ISSUING_CA];
    return generation <= SIGNER_ISSUING_GENERATIONS_MAX ? keyring->issuing[generation] : NULL;
}

static int
is_asymmetric(struct keyring *keyring, enum signer_key key)
{
    return key >= 0 && key < SIGNER_KEY_COUNT && !signer_key_is_symmetric(key) &&
           keyring->asymmetric[key] != NULL;
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
keyring_public_key(struct keyring *keyring, enum signer_key key,
                  uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    if (!is_asymmetric(keyring, key))
        return -1;
    return public_key_der(keyring->asymmetric[key], out, length);
}

int
keyring_issuing_public_key(struct keyring *keyring, unsigned generation,
                           uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    EVP_PKEY *pkey = keyring_issuing_key(keyring, generation);
    return pkey != NULL ? public_key_der(pkey, out, length) : -1;
}

int
keyring_log_public_key(struct keyring *keyring, uint8_t out[SIGNER_LOG_PUBLIC_KEY_BYTES])
{
    _Static_assert(SIGNER_LOG_PUBLIC_KEY_BYTES == PKCS11_ED25519_KEY_BYTES, "Ed25519");
    if (keyring->log_in_token) {
        memcpy(out, keyring->log_public, SIGNER_LOG_PUBLIC_KEY_BYTES);
        return 1;
    }
    size_t length = SIGNER_LOG_PUBLIC_KEY_BYTES;
    return keyring->log_key != NULL &&
           EVP_PKEY_get_raw_public_key(keyring->log_key, out, &length) == 1 &&
           length == SIGNER_LOG_PUBLIC_KEY_BYTES;
}

int
keyring_log_sign(struct keyring *keyring, const void *message, size_t length,
                 uint8_t signature[SIGNER_LOG_SIGNATURE_BYTES])
{
    if (keyring->log_in_token)
        return pkcs11_ed25519_sign(keyring->token, keyring->log_handle, message, length,
                                   signature);
    if (keyring->log_key == NULL)
        return -1;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    size_t signature_length = SIGNER_LOG_SIGNATURE_BYTES;
    int ok = context != NULL &&
             EVP_DigestSignInit(context, NULL, NULL, NULL, keyring->log_key) == 1 &&
             EVP_DigestSign(context, signature, &signature_length, message, length) == 1 &&
             signature_length == SIGNER_LOG_SIGNATURE_BYTES;
    EVP_MD_CTX_free(context);
    return ok ? 0 : -1;
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
keyring_initial_kid(struct keyring *keyring, char kid[SIGNER_KID_MAX + 1])
{
    memcpy(kid, keyring->initial_kid, sizeof keyring->initial_kid);
}

/* The cached key of kid with a reference taken, or NULL. Lock held. */
static EVP_PKEY *
token_cache_find(struct keyring *keyring, const char *kid)
{
    for (size_t i = 0; i < SIGNER_TOKEN_KEYS_CACHED; i++) {
        struct token_slot *slot = &keyring->tokens[i];
        if (slot->key != NULL && strcmp(slot->kid, kid) == 0 &&
            EVP_PKEY_up_ref(slot->key) == 1) {
            slot->used = ++keyring->token_clock;
            return slot->key;
        }
    }
    return NULL;
}

/* Puts pkey (whose reference the cache takes over) in a free slot or in
 * the least recently used one. Lock held. */
static void
token_cache_put(struct keyring *keyring, const char *kid, EVP_PKEY *pkey)
{
    struct token_slot *victim = &keyring->tokens[0];
    for (size_t i = 0; i < SIGNER_TOKEN_KEYS_CACHED; i++) {
        struct token_slot *slot = &keyring->tokens[i];
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
    victim->used = ++keyring->token_clock;
}

/* keys/token-<kid>.pem, or NULL (said in the log) when it is missing,
 * readable by others or not a P-256 key. */
static EVP_PKEY *
token_key_file(struct keyring *keyring, const char *kid)
{
    char path[SIGNER_PATH_MAX], err[SIGNER_PATH_MAX + 128];
    uint8_t *bytes = NULL;
    size_t length = 0;
    if (string_format(path, sizeof path, SIGNER_TOKEN_KEY_FILE_FORMAT,
                      keyring->keys_dir, kid) != 0) {
        log_event(LOG_WARN, "signer.token_key_refused", "{s:s, s:s}", "kid", kid,
                  "reason", "keys folder path is too long");
        return NULL;
    }
    if (file_read_private(path, "key file", SIGNER_KEY_FILE_MAX_BYTES, &bytes, &length, err,
                          sizeof err) != 0) {
        log_event(LOG_WARN, "signer.token_key_refused", "{s:s, s:s}", "kid", kid,
                  "reason", err);
        return NULL;
    }
    EVP_PKEY *loaded = parse_p256_key(bytes, length);
    secret_wipe(bytes, length);
    free(bytes);
    if (loaded == NULL)
        log_event(LOG_WARN, "signer.token_key_refused", "{s:s, s:s}", "kid", kid,
                  "reason", "not a P-256 private key");
    return loaded;
}

/* The private key of kid with a reference the caller frees, loading it
 * (outside the lock: file or token I/O) when it is not cached: from
 * keys/token-<kid>.pem, or the token's "cyberid-token-<kid>" pair. NULL
 * when the kid is invalid or its key missing or refused. */
static EVP_PKEY *
token_key_get(struct keyring *keyring, const char *kid)
{
    if (!signer_kid_is_valid(kid))
        return NULL;
    if (strcmp(kid, keyring->initial_kid) == 0)
        return EVP_PKEY_up_ref(keyring->asymmetric[SIGNER_KEY_TOKEN]) == 1
                   ? keyring->asymmetric[SIGNER_KEY_TOKEN]
                   : NULL;
    pthread_mutex_lock(&keyring->token_lock);
    EVP_PKEY *pkey = token_cache_find(keyring, kid);
    pthread_mutex_unlock(&keyring->token_lock);
    if (pkey != NULL)
        return pkey;

    EVP_PKEY *loaded = NULL;
    if (keyring->token != NULL) {
        char name[SIGNER_KID_MAX + 16];
        if (string_format(name, sizeof name, SIGNER_TOKEN_KEY_NAME_FORMAT, kid) == 0)
            loaded = pkcs11_ec_key(keyring->token, name);
        if (loaded == NULL) {
            log_event(LOG_WARN, "signer.token_key_refused", "{s:s, s:s}", "kid", kid,
                      "reason", "no such key pair in the PKCS#11 token");
            return NULL;
        }
    } else if ((loaded = token_key_file(keyring, kid)) == NULL) {
        return NULL;
    }

    pthread_mutex_lock(&keyring->token_lock);
    pkey = token_cache_find(keyring, kid); /* another thread may have won */
    if (pkey == NULL && EVP_PKEY_up_ref(loaded) == 1) {
        token_cache_put(keyring, kid, loaded);
        pkey = loaded;
        loaded = NULL;
    }
    pthread_mutex_unlock(&keyring->token_lock);
    EVP_PKEY_free(loaded);
    return pkey;
}

int
keyring_sign_token(struct keyring *keyring, const char *kid,
                         const uint8_t digest[SIGNER_DIGEST_BYTES],
                         uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES],
                         size_t *signature_length)
{
    EVP_PKEY *pkey = token_key_get(keyring, kid);
    int status = sign_with(pkey, digest, signature, signature_length);
    EVP_PKEY_free(pkey);
    return status;
}

int
keyring_token_public_key(struct keyring *keyring, const char *kid,
                        uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    EVP_PKEY *pkey = token_key_get(keyring, kid);
    int status = pkey != NULL ? public_key_der(pkey, out, length) : -1;
    EVP_PKEY_free(pkey);
    return status;
}
