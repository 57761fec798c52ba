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
 * after signer_open() returns. Its fixed keys are read-only until
 * signer_close(); the cache of token keys by kid (below) is behind a
 * mutex. */
#ifndef CYBERID_SIGNER_H
#define CYBERID_SIGNER_H

#include <stddef.h>
#include <stdint.h>

enum signer_key {
    SIGNER_KEY_MASTER = 0,  /* AES-256: wraps per-record data keys */
    SIGNER_KEY_INDEX,       /* HMAC-SHA256: blind indexes (lookup by ID number) */
    SIGNER_KEY_PAIRWISE,    /* HMAC-SHA256: pairwise subject identifiers */
    SIGNER_KEY_TOKEN,       /* ECDSA P-256: the data folder's first token
                             * key; see signer_token_initial_kid() */
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

/* ── Token-signing keys by kid ─────────────────────────────────────────
 *
 * ID tokens are signed with one of several ES256 (P-256) keys, each named
 * by a kid: 1 to SIGNER_KID_MAX characters of [A-Za-z0-9_-], so a kid is
 * never more than one file-name component. A kid's private key is the file
 * keys/token-<kid>.pem (mode 0600), loaded on its first use and then kept
 * in a cache of SIGNER_TOKEN_KEYS_CACHED keys (least recently used goes),
 * so a key that `cyberid keys rotate` creates while `cyberid serve` runs is
 * usable without a restart. Which kid signs and which are published is not
 * the signer's business: that is the key states in the database
 * (oidc/token_keys.h).
 *
 * The first token key of a data folder is keys/token-signing.key.pem,
 * made by `cyberid init` (SIGNER_KEY_TOKEN); its kid is derived from its
 * public key (signer_token_initial_kid()), so folders made before kids
 * existed keep working unchanged. */

#define SIGNER_KID_MAX 64
/* Characters of the initial kid: base64url of SHA-256(DER SPKI), cut. */
#define SIGNER_INITIAL_KID_CHARS 16
#define SIGNER_TOKEN_KEYS_CACHED 16

/* 1 if kid is 1..SIGNER_KID_MAX characters of [A-Za-z0-9_-], else 0. */
int signer_kid_is_valid(const char *kid);

/* Generates a P-256 key and writes it to keys_dir/token-<kid>.pem with
 * mode 0600. Refuses an invalid kid and an existing file (never
 * overwrites). 0 or -1 with err. */
int signer_token_key_create(const char *keys_dir, const char *kid, char *err,
                            size_t errlen) __attribute__((warn_unused_result));

/* The kid of keys/token-signing.key.pem: the first SIGNER_INITIAL_KID_CHARS
 * characters of base64url(SHA-256(its DER SubjectPublicKeyInfo)). Always
 * the same for the same key, on every node. */
void signer_token_initial_kid(struct signer *signer,
                              char kid[SIGNER_KID_MAX + 1])
    __attribute__((nonnull(1, 2)));

/* ECDSA P-256 signature (DER) of a SHA-256 digest with the token key
 * `kid`, loading keys/token-<kid>.pem on first use (refused, like every key
 * file, unless its mode is 0600; refusals are logged with the kid). Returns
 * 0 and sets *signature_length, or -1 with the output zeroed. */
int signer_sign_token_digest(struct signer *signer, const char *kid,
                             const uint8_t digest[SIGNER_DIGEST_BYTES],
                             uint8_t signature[SIGNER_SIGNATURE_MAX_BYTES],
                             size_t *signature_length)
    __attribute__((warn_unused_result, nonnull(1, 2, 3, 4, 5)));

/* The DER SubjectPublicKeyInfo of token key `kid` (loaded as above).
 * 0 or -1. */
int signer_token_public_key(struct signer *signer, const char *kid,
                            uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES],
                            size_t *length)
    __attribute__((warn_unused_result, nonnull(1, 2, 3, 4)));

#endif
