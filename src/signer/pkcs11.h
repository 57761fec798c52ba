/* pkcs11: the data folder's keys inside a PKCS#11 token (an HSM; SoftHSM2
 * in the tests). Private to the signer part: keyring.c uses a token
 * instead of key files when keys/pkcs11.json names one, and
 * signer_keys.c creates the keys there for `cyberid init --pkcs11-...`.
 *
 * Every key is made inside the token and never leaves it: EC P-256 pairs
 * and the secret keys (AES-256 master, generic-secret HMAC keys) carry
 * CKA_SENSITIVE and not CKA_EXTRACTABLE, and are used through
 * CKM_ECDSA, CKM_SHA256_HMAC and CKM_AES_GCM. Callers name a key
 * ("master", "token-<kid>"); in the token it is labelled "cyberid-<name>".
 *
 * keys/pkcs11.json is a descriptor, not a key:
 *   {"module": "/usr/lib/softhsm/libsofthsm2.so", "token": "LABEL",
 *    "pin_file": "/path/to/pin"}
 * The PIN file (mode 0600, refused otherwise, as key files are) holds the
 * user PIN on one line.
 *
 * Threads: a struct pkcs11 may be used from many threads: each operation
 * takes a session of its own from a small pool (a Cryptoki session runs
 * one operation at a time). */
#ifndef CYBERID_SIGNER_PKCS11_H
#define CYBERID_SIGNER_PKCS11_H

#include "signer/signer.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define PKCS11_DESCRIPTOR_FILE "pkcs11.json"
#define PKCS11_LABEL_MAX 96
#define PKCS11_PIN_MAX 128

struct pkcs11;

/* What keys/pkcs11.json says. */
struct pkcs11_descriptor {
    char module[1024];
    char token[33];     /* CK_TOKEN_INFO label: at most 32 characters */
    char pin_file[1024];
};

/* Reads keys_dir/pkcs11.json: 1 when there is one (filled in), 0 when
 * there is none (the keys are files), -1 with err when it is unreadable
 * or wrong. */
int pkcs11_descriptor_read(const char *keys_dir, struct pkcs11_descriptor *out, char *err,
                           size_t errlen) __attribute__((warn_unused_result));
/* Writes it (mode 0600; never over an existing one). 0 or -1. */
int pkcs11_descriptor_write(const char *keys_dir, const struct pkcs11_descriptor *descriptor,
                            char *err, size_t errlen) __attribute__((warn_unused_result));

/* Loads the module, finds the token by label and logs in with the PIN of
 * the PIN file. 0 or -1 with err. */
int pkcs11_open(const struct pkcs11_descriptor *descriptor, struct pkcs11 **out, char *err,
                size_t errlen) __attribute__((warn_unused_result));
/* Logs out, finalizes and unloads. NULL is allowed. Any EVP_PKEY from
 * pkcs11_ec_key() must be freed before. */
void pkcs11_close(struct pkcs11 *token);

typedef unsigned long pkcs11_handle;

/* The secret key of a name: 0, or -1 when there is none or more than
 * one. */
int pkcs11_find_secret(struct pkcs11 *token, const char *name, pkcs11_handle *out)
    __attribute__((warn_unused_result));
/* 1 when the token holds any object whose label starts with "cyberid-",
 * 0 when none, -1 when it cannot tell. */
int pkcs11_has_cyberid_objects(struct pkcs11 *token);

/* HMAC-SHA256 with a secret key. 0, or -1 with out zeroed. */
int pkcs11_hmac(struct pkcs11 *token, pkcs11_handle key, const void *message, size_t length,
                uint8_t out[SIGNER_HMAC_BYTES]) __attribute__((warn_unused_result));
/* AES-256-GCM of length bytes with an AES key, nonce and aad; the tag is
 * written when encrypting and checked when decrypting. 0 or -1. */
int pkcs11_gcm(struct pkcs11 *token, int encrypt, pkcs11_handle key,
               const uint8_t nonce[SIGNER_NONCE_BYTES], const void *aad, size_t aad_length,
               const uint8_t *input, size_t length, uint8_t *output,
               uint8_t tag[SIGNER_TAG_BYTES]) __attribute__((warn_unused_result));

/* The EC P-256 key pair of a name as an OpenSSL key that holds
 * only the public point: its signatures are made by the token
 * (CKM_ECDSA), so OpenSSL's EVP_PKEY_sign(), X509_sign(),
 * OCSP_basic_sign() and X509_CRL_sign() work with it unchanged. The
 * token must outlive it. NULL when there is no such pair. */
EVP_PKEY *pkcs11_ec_key(struct pkcs11 *token, const char *name);

/* Key generation in the token (a name already in use is refused). */
enum pkcs11_secret_kind { PKCS11_SECRET_AES, PKCS11_SECRET_HMAC };
int pkcs11_generate_secret(struct pkcs11 *token, const char *name,
                           enum pkcs11_secret_kind kind, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int pkcs11_generate_ec(struct pkcs11 *token, const char *name, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Ed25519 (the transparency log's checkpoint key): a pair made in the
 * token (CKM_EC_EDWARDS_KEY_PAIR_GEN, sensitive, not extractable), its
 * raw public key and private handle by name, and a signature of a message
 * (CKM_EDDSA, pure Ed25519). 0 or -1. */
#define PKCS11_ED25519_KEY_BYTES 32
#define PKCS11_ED25519_SIGNATURE_BYTES 64
int pkcs11_generate_ed25519(struct pkcs11 *token, const char *name, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int pkcs11_ed25519_key(struct pkcs11 *token, const char *name,
                       uint8_t public_key[PKCS11_ED25519_KEY_BYTES], pkcs11_handle *private_key)
    __attribute__((warn_unused_result));
int pkcs11_ed25519_sign(struct pkcs11 *token, pkcs11_handle key, const void *message,
                        size_t length, uint8_t signature[PKCS11_ED25519_SIGNATURE_BYTES])
    __attribute__((warn_unused_result));

#endif
