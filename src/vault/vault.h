/* vault: lookups by a personal value without keeping the value.
 *
 * Personal records themselves are sealed and opened by the signer
 * (signer_seal_record, signer_open_record: AES-256-GCM under a per-record
 * data key wrapped by the master key, which never leave the signer), so a
 * copy of the database alone reveals nothing. Lookups by a personal value
 * (the national ID number) go through a blind index: HMAC-SHA256 under the
 * signer's index key, with a domain label so that indexes of different
 * kinds of value never collide. */
#ifndef CYBERID_VAULT_H
#define CYBERID_VAULT_H

#include "signer/signer.h"

#include <stddef.h>
#include <stdint.h>

#define VAULT_INDEX_BYTES SIGNER_HMAC_BYTES
/* Longest domain label and value. */
#define VAULT_DOMAIN_MAX 64
#define VAULT_VALUE_MAX_BYTES (SIGNER_HMAC_MESSAGE_MAX_BYTES - VAULT_DOMAIN_MAX - 1)

/* Blind index of value under a domain label such as "national_id". */
int vault_blind_index(struct signer *signer, const char *domain,
                      const void *value, size_t length,
                      uint8_t out[VAULT_INDEX_BYTES])
    __attribute__((warn_unused_result, nonnull(1, 2, 5)));

/* Seals plaintext under the record id `prefix` followed by the blind index
 * of value (in lowercase hex), which goes into record_id: what
 * vault_blind_index() then signer_seal_record() would do, in one round
 * trip to the signer (signer_seal_blind()). 0 or -1. */
int vault_seal_blind(struct signer *signer, const char *domain, const void *value,
                     size_t length, const char *prefix, const void *plaintext,
                     size_t plaintext_length, char record_id[SIGNER_BLIND_RECORD_ID_SIZE],
                     uint8_t **sealed, size_t *sealed_length)
    __attribute__((warn_unused_result, nonnull(1, 2, 5, 8, 9, 10)));

#endif
