/* device_key: the citizen's device key (EC P-256, made on the device and
 * never sent anywhere), its PKCS#10 request, its PKCS#8 PEM form for the
 * wallet, and the enrollment's proof of possession (an ECDSA-SHA256
 * signature over the challenge nonce). */
#ifndef CYBERID_APP_DEVICE_KEY_H
#define CYBERID_APP_DEVICE_KEY_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* Largest PEM accepted for a private key, a request or a certificate. */
#define DEVICE_KEY_PEM_MAX 16384
/* Characters of a base64url DER ECDSA P-256 signature (72 bytes at most),
 * NUL included. */
#define DEVICE_KEY_SIGNATURE_B64_MAX 100

/* Makes a new P-256 key into *key (caller frees with EVP_PKEY_free).
 * 0 or -1 with err. */
int device_key_generate(EVP_PKEY **key, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* 1 if key is an EC key on P-256, else 0. */
int device_key_is_p256(const EVP_PKEY *key);

/* The private key as unencrypted PKCS#8 PEM, in a new NUL-terminated
 * buffer that is a secret: the caller releases it with device_key_pem_free
 * (which wipes). 0 or -1 with err. */
int device_key_to_pem(EVP_PKEY *key, char **pem, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Wipes and frees a buffer from device_key_to_pem; NULL is a no-op. */
void device_key_pem_free(char *pem);

/* Reads a PKCS#8 PEM private key; refuses any key that is not P-256.
 * 0 or -1 with err. */
int device_key_from_pem(const char *pem, EVP_PKEY **key, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

/* A PKCS#10 request for key, subject CN=cyberid-device, self-signed with
 * ECDSA-SHA256, as PEM in a new buffer the caller frees with free().
 * 0 or -1 with err. */
int device_key_csr_pem(EVP_PKEY *key, char **pem, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* 1 if the PEM certificate holds key's public key, else 0. */
int device_key_matches_certificate(EVP_PKEY *key, const char *certificate_pem);

/* Signs message[0..length) with ECDSA-SHA256 and writes the DER signature
 * base64url (no padding) into out (capacity cap, DEVICE_KEY_SIGNATURE_B64_MAX
 * is enough). 0 or -1 with err (out is then empty). */
int device_key_sign(EVP_PKEY *key, const uint8_t *message, size_t length,
                    char *out, size_t cap, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
