/* signer: key loading and the private-key operations; see signer.h.
 * In-process today: the struct below is the state a separate signer
 * process would hold, and nothing outside this file sees it. */
#include "signer/signer.h"

#include "signer/signer_files.h"
#include "util/file.h"
#include "util/strings.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SIGNER_KEY_FILE_MAX_BYTES 16384

struct signer {
    uint8_t symmetric[SIGNER_KEY_COUNT][SIGNER_SYMMETRIC_KEY_BYTES];
    EVP_PKEY *asymmetric[SIGNER_KEY_COUNT];
};

static int
load_key_file(const char *keys_dir, enum signer_key key, uint8_t **bytes,
              size_t *length, char *err, size_t errlen)
{
    char path[1024];
    if (string_format(path, sizeof path, "%s/%s", keys_dir,
                      signer_key_files[key]) != 0)
        return error_set(err, errlen, "keys folder path is too long");
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

int
signer_open(const char *keys_dir, struct signer **out, char *err,
            size_t errlen)
{
    struct signer *signer = calloc(1, sizeof *signer);
    if (signer == NULL)
        return error_set(err, errlen, "out of memory");
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
            BIO *bio = BIO_new_mem_buf(bytes, (int)length);
            signer->asymmetric[key] =
                bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
            BIO_free(bio);
            ok = signer->asymmetric[key] != NULL &&
                 EVP_PKEY_is_a(signer->asymmetric[key], "EC");
        }
        secret_wipe(bytes, length);
        free(bytes);
        if (!ok) {
            error_set(err, errlen, "key file %s/%s is not a valid key",
                      keys_dir, signer_key_files[key]);
            goto fail;
        }
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
    secret_wipe(signer, sizeof *signer);
    free(signer);
}

int
signer_hmac(struct signer *signer, enum signer_key key, const void *message,
            size_t length, uint8_t out[SIGNER_HMAC_BYTES])
{
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

int
signer_sign_digest(struct signer *signer, enum signer_key key,
                   const uint8_t digest[SIGNER_DIGEST_BYTES],
                   uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES],
                   size_t *signature_length)
{
    int status = -1;
    EVP_PKEY_CTX *ctx = NULL;
    size_t length = SIGNER_SIGNATURE_MAX_BYTES;
    if (!is_asymmetric(signer, key))
        goto cleanup;
    ctx = EVP_PKEY_CTX_new(signer->asymmetric[key], NULL);
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
signer_public_key(struct signer *signer, enum signer_key key,
                  uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
{
    if (!is_asymmetric(signer, key))
        return -1;
    int needed = i2d_PUBKEY(signer->asymmetric[key], NULL);
    if (needed <= 0 || needed > SIGNER_PUBLIC_KEY_MAX_BYTES)
        return -1;
    uint8_t *cursor = out;
    if (i2d_PUBKEY(signer->asymmetric[key], &cursor) != needed)
        return -1;
    *length = (size_t)needed;
    return 0;
}
