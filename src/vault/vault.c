/* vault: blind indexes; see vault.h. */
#include "vault/vault.h"

#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

/* The message a blind index is the HMAC of: domain | 0x00 | value (the NUL
 * keeps "a"+"bc" apart from "ab"+"c"). malloc'd, *message_length set;
 * NULL for a domain or value over its limit, or out of memory. */
static uint8_t *
index_message(const char *domain, const void *value, size_t length, size_t *message_length)
{
    size_t domain_length = strlen(domain);
    if (length > VAULT_VALUE_MAX_BYTES || domain_length > VAULT_DOMAIN_MAX ||
        (value == NULL && length > 0))
        return NULL;
    uint8_t *message = malloc(domain_length + 1 + length);
    if (message == NULL)
        return NULL;
    memcpy(message, domain, domain_length + 1);
    if (length > 0)
        memcpy(message + domain_length + 1, value, length);
    *message_length = domain_length + 1 + length;
    return message;
}

int
vault_blind_index(struct signer *signer, const char *domain, const void *value,
                  size_t length, uint8_t out[VAULT_INDEX_BYTES])
{
    size_t message_length = 0;
    uint8_t *message = index_message(domain, value, length, &message_length);
    if (message == NULL)
        return -1;
    int status = signer_hmac(signer, SIGNER_KEY_INDEX, message, message_length, out);
    secret_wipe(message, message_length);
    free(message);
    return status;
}

int
vault_seal_blind(struct signer *signer, const char *domain, const void *value,
                 size_t length, const char *prefix, const void *plaintext,
                 size_t plaintext_length, char record_id[SIGNER_BLIND_RECORD_ID_SIZE],
                 uint8_t **sealed, size_t *sealed_length)
{
    *sealed = NULL;
    *sealed_length = 0;
    record_id[0] = '\0';
    size_t message_length = 0;
    uint8_t *message = index_message(domain, value, length, &message_length);
    if (message == NULL)
        return -1;
    int status = signer_seal_blind(signer, prefix, message, message_length, plaintext,
                                   plaintext_length, record_id, sealed, sealed_length);
    secret_wipe(message, message_length);
    free(message);
    return status;
}
