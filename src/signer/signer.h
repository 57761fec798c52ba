/* signer: the one place private keys live.
 *
 * Every private-key operation of cyberid goes through this interface,
 * addressed by key id: HMAC for blind indexes and pairwise subjects,
 * wrapping and unwrapping per-record data keys under the master key, and
 * ECDSA P-256 signatures for tokens and certificates. Callers never see key
 * bytes, and every argument and result is plain bytes, so the
 * implementation can move into its own process (a socketpair, as OpenSSH and
 * OpenSMTPD do) or onto a PKCS#11 token without touching any caller.
 *
 * Thread safety: a signer handle may be used from many threads at once
 * after signer_open() returns; it is read-only until signer_close(). */
#ifndef CYBERID_SIGNER_H
#define CYBERID_SIGNER_H

#include <stddef.h>
#include <stdint.h>

enum signer_key {
    SIGNER_KEY_MASTER = 0,  /* AES-256: wraps per-record data keys */
    SIGNER_KEY_INDEX,       /* HMAC-SHA256: blind indexes (lookup by ID number) */
    SIGNER_KEY_PAIRWISE,    /* HMAC-SHA256: pairwise subject identifiers */
    SIGNER_KEY_TOKEN,       /* ECDSA P-256: ID token signatures (ES256) */
    SIGNER_KEY_ROOT_CA,     /* ECDSA P-256: root CA */
    SIGNER_KEY_ISSUING_CA,  /* ECDSA P-256: issuing CA of web certificates */
    SIGNER_KEY_COUNT
};

#define SIGNER_SYMMETRIC_KEY_BYTES 32
#define SIGNER_HMAC_BYTES 32
#define SIGNER_DATA_KEY_BYTES 32
#define SIGNER_DIGEST_BYTES 32 /* SHA-256 */
#define SIGNER_NONCE_BYTES 12
#define SIGNER_TAG_BYTES 16
/* A wrapped data key: nonce | AES-256-GCM(master, data key) | tag. */
#define SIGNER_WRAPPED_KEY_BYTES \
    (SIGNER_NONCE_BYTES + SIGNER_DATA_KEY_BYTES + SIGNER_TAG_BYTES)
/* DER ECDSA-Sig-Value for P-256 is at most 72 bytes. */
#define SIGNER_SIGNATURE_MAX_BYTES 72
/* DER SubjectPublicKeyInfo of a P-256 key is 91 bytes. */
#define SIGNER_PUBLIC_KEY_MAX_BYTES 128
/* Bytes of associated data accepted by wrap/unwrap. */
#define SIGNER_AAD_MAX_BYTES 256

struct signer;

/* Generates every key and the CA certificates of a new data folder:
 * keys_dir (created, mode 0700) receives the private keys (mode 0600),
 * pki_dir (created, 0755) the public certificates root-ca.pem and
 * issuing-ca.pem. Refuses to overwrite anything. 0 or -1 with err. */
int signer_create_keys(const char *keys_dir, const char *pki_dir, char *err,
                       size_t errlen) __attribute__((warn_unused_result));

/* Loads the keys from keys_dir. Refuses key files readable by group or
 * others. On success *out is a handle to release with signer_close(). */
int signer_open(const char *keys_dir, struct signer **out, char *err,
                size_t errlen) __attribute__((warn_unused_result));

/* Wipes and frees every key. NULL is allowed. */
void signer_close(struct signer *signer);

/* HMAC-SHA256 under SIGNER_KEY_INDEX or SIGNER_KEY_PAIRWISE (any other key
 * id is refused). Returns 0, or -1 with out zeroed. */
int signer_hmac(struct signer *signer, enum signer_key key,
                const void *message, size_t length,
                uint8_t out[SIGNER_HMAC_BYTES])
    __attribute__((warn_unused_result, nonnull(1, 5)));

/* Wraps a data key under the master key with a fresh random nonce; `aad`
 * (at most SIGNER_AAD_MAX_BYTES) binds the wrapped key to its record.
 * Returns 0, or -1 with out zeroed. */
int signer_wrap_data_key(struct signer *signer,
                         const uint8_t data_key[SIGNER_DATA_KEY_BYTES],
                         const void *aad, size_t aad_length,
                         uint8_t out[SIGNER_WRAPPED_KEY_BYTES])
    __attribute__((warn_unused_result, nonnull(1, 2, 5)));

/* Unwraps; fails (-1, data_key zeroed) if the wrapped key or the aad was
 * altered in any bit. */
int signer_unwrap_data_key(struct signer *signer,
                           const uint8_t wrapped[SIGNER_WRAPPED_KEY_BYTES],
                           const void *aad, size_t aad_length,
                           uint8_t data_key[SIGNER_DATA_KEY_BYTES])
    __attribute__((warn_unused_result, nonnull(1, 2, 5)));

/* ECDSA P-256 signature (DER) of a SHA-256 digest with an asymmetric key.
 * Returns 0 and sets *signature_length, or -1 with the output zeroed. */
int signer_sign_digest(struct signer *signer, enum signer_key key,
                       const uint8_t digest[SIGNER_DIGEST_BYTES],
                       uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES],
                       size_t *signature_length)
    __attribute__((warn_unused_result, nonnull(1, 3, 4, 5)));

/* The DER SubjectPublicKeyInfo of an asymmetric key. 0 or -1. */
int signer_public_key(struct signer *signer, enum signer_key key,
                      uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES],
                      size_t *length)
    __attribute__((warn_unused_result, nonnull(1, 3, 4)));

#endif
