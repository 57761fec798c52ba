/* vault: envelope encryption of personal records; see vault.h. */
#include "vault/vault.h"

#include "util/strings.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define WRAP_LABEL "cyberid-data-key|"

/* AAD of the wrapped key: a label and the record id, so a wrapped key is
 * usable only for the record it was made for. */
static int
wrap_aad(const char *record_id, char *aad, size_t cap, size_t *length)
{
    size_t id_length = strlen(record_id);
    if (id_length == 0 || id_length > VAULT_RECORD_ID_MAX_BYTES)
        return -1;
    if (string_format(aad, cap, "%s%s", WRAP_LABEL, record_id) != 0)
        return -1;
    *length = strlen(aad);
    return 0;
}

static int
gcm(int encrypt, const uint8_t key[SIGNER_DATA_KEY_BYTES], const uint8_t *nonce,
    const char *record_id, const uint8_t *input, size_t length,
    uint8_t *output, uint8_t *tag)
{
    int status = -1;
    int n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL ||
        EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, encrypt) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)record_id,
                         (int)strlen(record_id)) != 1 ||
        (length > 0 &&
         EVP_CipherUpdate(ctx, output, &n, input, (int)length) != 1))
        goto cleanup;
    if (!encrypt &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SIGNER_TAG_BYTES, tag) != 1)
        goto cleanup;
    if (EVP_CipherFinal_ex(ctx, output + (length > 0 ? n : 0), &n) != 1)
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
vault_seal(struct signer *signer, const char *record_id, const void *plaintext,
           size_t length, uint8_t **sealed, size_t *sealed_length)
{
    int status = -1;
    uint8_t data_key[SIGNER_DATA_KEY_BYTES];
    char aad[sizeof WRAP_LABEL + VAULT_RECORD_ID_MAX_BYTES];
    size_t aad_length = 0;
    uint8_t *out = NULL;

    if (length > VAULT_PLAINTEXT_MAX_BYTES || (plaintext == NULL && length > 0) ||
        wrap_aad(record_id, aad, sizeof aad, &aad_length) != 0)
        goto cleanup;
    out = malloc(length + VAULT_OVERHEAD_BYTES);
    if (out == NULL)
        goto cleanup;
    uint8_t *wrapped = out + 1;
    uint8_t *nonce = wrapped + SIGNER_WRAPPED_KEY_BYTES;
    uint8_t *ciphertext = nonce + SIGNER_NONCE_BYTES;
    uint8_t *tag = ciphertext + length;
    out[0] = VAULT_FORMAT_VERSION;
    if (RAND_priv_bytes(data_key, sizeof data_key) != 1 ||
        RAND_bytes(nonce, SIGNER_NONCE_BYTES) != 1 ||
        signer_wrap_data_key(signer, data_key, aad, aad_length, wrapped) != 0 ||
        gcm(1, data_key, nonce, record_id, plaintext, length, ciphertext, tag) != 0)
        goto cleanup;
    *sealed = out;
    *sealed_length = length + VAULT_OVERHEAD_BYTES;
    out = NULL;
    status = 0;
cleanup:
    secret_wipe(data_key, sizeof data_key);
    free(out);
    return status;
}

int
vault_open(struct signer *signer, const char *record_id, const uint8_t *sealed,
           size_t sealed_length, uint8_t **plaintext, size_t *length)
{
    int status = -1;
    uint8_t data_key[SIGNER_DATA_KEY_BYTES];
    char aad[sizeof WRAP_LABEL + VAULT_RECORD_ID_MAX_BYTES];
    size_t aad_length = 0;
    uint8_t *out = NULL;
    size_t out_length = 0;

    if (sealed == NULL || sealed_length < VAULT_OVERHEAD_BYTES ||
        sealed_length - VAULT_OVERHEAD_BYTES > VAULT_PLAINTEXT_MAX_BYTES ||
        sealed[0] != VAULT_FORMAT_VERSION ||
        wrap_aad(record_id, aad, sizeof aad, &aad_length) != 0)
        goto cleanup;
    out_length = sealed_length - VAULT_OVERHEAD_BYTES;
    out = malloc(out_length + 1);
    if (out == NULL)
        goto cleanup;
    const uint8_t *wrapped = sealed + 1;
    const uint8_t *nonce = wrapped + SIGNER_WRAPPED_KEY_BYTES;
    const uint8_t *ciphertext = nonce + SIGNER_NONCE_BYTES;
    uint8_t tag[SIGNER_TAG_BYTES];
    memcpy(tag, ciphertext + out_length, sizeof tag);
    if (signer_unwrap_data_key(signer, wrapped, aad, aad_length, data_key) != 0 ||
        gcm(0, data_key, nonce, record_id, ciphertext, out_length, out, tag) != 0)
        goto cleanup;
    out[out_length] = '\0';
    *plaintext = out;
    *length = out_length;
    out = NULL;
    status = 0;
cleanup:
    secret_wipe(data_key, sizeof data_key);
    if (out != NULL)
        vault_free_plaintext(out, out_length);
    return status;
}

void
vault_free_plaintext(uint8_t *plaintext, size_t length)
{
    if (plaintext == NULL)
        return;
    secret_wipe(plaintext, length + 1);
    free(plaintext);
}

int
vault_blind_index(struct signer *signer, const char *domain, const void *value,
                  size_t length, uint8_t out[VAULT_INDEX_BYTES])
{
    /* domain | 0x00 | value: the NUL keeps "a"+"bc" apart from "ab"+"c". */
    size_t domain_length = strlen(domain);
    if (length > VAULT_PLAINTEXT_MAX_BYTES || domain_length > 64 ||
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
