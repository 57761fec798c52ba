/* keyring: the keys of a data folder, held in memory, and the few things
 * done with them directly. Private to the signer part: only the signer
 * process holds a keyring in `cyberid serve` (signer_process.c), and
 * signer_open() for tests, benchmarks and offline commands; everything
 * else asks through signer.h.
 *
 * It loads the master, index, pairwise, first token and issuing CA keys
 * (and, through keyring_load_issuing(), later issuing CA generations):
 * from their files, or, when keys/pkcs11.json names a PKCS#11 token, as
 * handles of the token's keys (pkcs11.h), which then does every HMAC,
 * master-key GCM and ECDSA operation; the per-record data keys stay in
 * software either way. The root CA key is never loaded: it signs issuing
 * CAs, which only the offline commands do.
 *
 * Sealed record layout (format 1):
 *   version(1) | wrapped data key (SIGNER_WRAPPED_KEY_BYTES) |
 *   nonce(12) | ciphertext(n) | tag(16)
 * with the wrapped data key = nonce(12) | AES-256-GCM(master, data key) |
 * tag(16), both layers bound to the record id.
 *
 * Thread safety: as signer.h says of a signer handle. */
#ifndef CYBERID_SIGNER_KEYRING_H
#define CYBERID_SIGNER_KEYRING_H

#include "signer/signer.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define KEYRING_SEAL_FORMAT_VERSION 1
#define KEYRING_SEAL_OVERHEAD_BYTES \
    (1 + SIGNER_WRAPPED_KEY_BYTES + SIGNER_NONCE_BYTES + SIGNER_TAG_BYTES)
#define KEYRING_PLAINTEXT_MAX_BYTES SIGNER_RECORD_MAX_BYTES
#define KEYRING_RECORD_ID_MAX_BYTES SIGNER_RECORD_ID_MAX_BYTES
/* Associated data of a wrapped data key: a label and the record id. */
#define KEYRING_AAD_MAX_BYTES 256

struct keyring;

/* Loads the keys of keys_dir (or of the token its pkcs11.json names);
 * refuses key and PIN files readable by group or others. 0 or -1 with
 * err. */
int keyring_open(const char *keys_dir, struct keyring **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Wipes and frees. NULL is allowed. */
void keyring_close(struct keyring *keyring);

/* HMAC-SHA256 under SIGNER_KEY_INDEX or SIGNER_KEY_PAIRWISE (others are
 * refused). 0, or -1 with out zeroed. */
int keyring_hmac(struct keyring *keyring, enum signer_key key, const void *message,
                 size_t length, uint8_t out[SIGNER_HMAC_BYTES])
    __attribute__((warn_unused_result));

/* Seals plaintext for record_id (layout above); *sealed is malloc'd. 0/-1. */
int keyring_seal(struct keyring *keyring, const char *record_id, const void *plaintext,
                 size_t length, uint8_t **sealed, size_t *sealed_length)
    __attribute__((warn_unused_result));
/* Opens a sealed record of record_id; *plaintext is malloc'd with a NUL
 * after it (to wipe and free). -1 when malformed, altered or another
 * record's. */
int keyring_unseal(struct keyring *keyring, const char *record_id, const uint8_t *sealed,
                   size_t sealed_length, uint8_t **plaintext, size_t *length)
    __attribute__((warn_unused_result));

/* 1 when the keys are in a PKCS#11 token, 0 when they are files. */
int keyring_in_token(const struct keyring *keyring);

/* Loads the private key of issuing CA generation g (2 to
 * SIGNER_ISSUING_GENERATIONS_MAX; 1 is loaded by keyring_open()):
 * keys/issuing-ca-<g>.key.pem (mode 0600), or the token's
 * "cyberid-issuing-ca-<g>". Once, before the keyring is shared. 0 or -1
 * with err. */
int keyring_load_issuing(struct keyring *keyring, unsigned generation, char *err,
                         size_t errlen) __attribute__((warn_unused_result));

/* The private key of issuing CA generation g, borrowed (signer_ca.c signs
 * with it); NULL when not loaded. */
EVP_PKEY *keyring_issuing_key(struct keyring *keyring, unsigned generation);

/* DER SubjectPublicKeyInfo of SIGNER_KEY_TOKEN or SIGNER_KEY_ISSUING_CA. */
int keyring_public_key(struct keyring *keyring, enum signer_key key,
                       uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
    __attribute__((warn_unused_result));

/* DER SubjectPublicKeyInfo of issuing CA generation g (loaded). 0 or -1. */
int keyring_issuing_public_key(struct keyring *keyring, unsigned generation,
                               uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
    __attribute__((warn_unused_result));

/* The transparency log's checkpoint key (Ed25519), when the data folder
 * has one (keys/log-checkpoint.key.pem, or the token's pair
 * "cyberid-log-checkpoint", which then signs; loaded by keyring_open()).
 * 1 with its raw public key, or 0 when there is none. */
int keyring_log_public_key(struct keyring *keyring, uint8_t out[SIGNER_LOG_PUBLIC_KEY_BYTES]);
/* Ed25519 of message with it. 0, or -1 (no key, or a failure). */
int keyring_log_sign(struct keyring *keyring, const void *message, size_t length,
                     uint8_t signature[SIGNER_LOG_SIGNATURE_BYTES])
    __attribute__((warn_unused_result));

/* The kid of keys/token-signing.key.pem (signer.h says how it is made). */
void keyring_initial_kid(struct keyring *keyring, char kid[SIGNER_KID_MAX + 1]);

/* ECDSA P-256 (DER) of a SHA-256 digest with token key kid, loading
 * keys/token-<kid>.pem on first use (mode 0600 or refused). 0 or -1. */
int keyring_sign_token(struct keyring *keyring, const char *kid,
                       const uint8_t digest[SIGNER_DIGEST_BYTES],
                       uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES],
                       size_t *signature_length) __attribute__((warn_unused_result));
int keyring_token_public_key(struct keyring *keyring, const char *kid,
                             uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
    __attribute__((warn_unused_result));

#endif
