/* vault: personal data at rest.
 *
 * Each record is sealed under its own random data key (AES-256-GCM), and
 * that key is stored wrapped by the signer's master key, so a copy of the
 * database alone reveals nothing. The record id is the associated data of
 * both layers: a sealed blob moved to another record fails to open.
 *
 * Sealed layout (VAULT_FORMAT_VERSION 1):
 *   version(1) | wrapped data key (SIGNER_WRAPPED_KEY_BYTES) |
 *   nonce(12) | ciphertext(n) | tag(16)
 *
 * Lookups by a personal value (the national ID number) go through a blind
 * index: HMAC-SHA256 under the signer's index key, with a domain label so
 * that indexes of different kinds of value never collide. */
#ifndef CYBERID_VAULT_H
#define CYBERID_VAULT_H

#include "signer/signer.h"

#include <stddef.h>
#include <stdint.h>

#define VAULT_FORMAT_VERSION 1
#define VAULT_OVERHEAD_BYTES \
    (1 + SIGNER_WRAPPED_KEY_BYTES + SIGNER_NONCE_BYTES + SIGNER_TAG_BYTES)
#define VAULT_PLAINTEXT_MAX_BYTES (1u << 20)
#define VAULT_RECORD_ID_MAX_BYTES 128
#define VAULT_INDEX_BYTES SIGNER_HMAC_BYTES

/* Seals plaintext[0..length) for record_id. On success *sealed is malloc'd
 * (length + VAULT_OVERHEAD_BYTES, in *sealed_length) and owned by the
 * caller (free()). Returns 0 or -1. */
int vault_seal(struct signer *signer, const char *record_id,
               const void *plaintext, size_t length, uint8_t **sealed,
               size_t *sealed_length)
    __attribute__((warn_unused_result, nonnull(1, 2, 5, 6)));

/* Opens a sealed blob of record_id. On success *plaintext is malloc'd with
 * a NUL after the data (not counted in *length); release it with
 * vault_free_plaintext(), which wipes it. Returns 0, or -1 if the blob is
 * malformed, altered, or sealed for another record. */
int vault_open(struct signer *signer, const char *record_id,
               const uint8_t *sealed, size_t sealed_length,
               uint8_t **plaintext, size_t *length)
    __attribute__((warn_unused_result, nonnull(1, 2, 5, 6)));

/* Wipes and frees a plaintext returned by vault_open(). NULL is allowed. */
void vault_free_plaintext(uint8_t *plaintext, size_t length);

/* Blind index of value under a domain label such as "national_id". */
int vault_blind_index(struct signer *signer, const char *domain,
                      const void *value, size_t length,
                      uint8_t out[VAULT_INDEX_BYTES])
    __attribute__((warn_unused_result, nonnull(1, 2, 5)));

#endif
