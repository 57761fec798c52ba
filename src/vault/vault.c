/* vault: blind indexes; see vault.h. */
#include "vault/vault.h"

#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

int
vault_blind_index(struct signer *signer, const char *domain, const void *value,
                  size_t length, uint8_t out[VAULT_INDEX_BYTES])
{
    /* domain | 0x00 | value: the NUL keeps "a"+"bc" apart from "ab"+"c". */
    size_t domain_length = strlen(domain);
    if (length > VAULT_VALUE_MAX_BYTES || domain_length > VAULT_DOMAIN_MAX ||
        (value == NULL && length > 0))
        return -1;
    uint8_t *message = malloc(domain_length + 1 + length);
    if (message == NULL)
        return -1;
    memcpy(message, domain, domain_length + 1);
    if (length > 0)
        memcpy(message + domain_length + 1, value, length);
    int status = signer_hmac(signer, SIGNER_KEY_INDEX, message,
                             domain_length + 1 + length, out);
    secret_wipe(message, domain_length + 1 + length);
    free(message);
    return status;
}
