/* signer_files: the file name of each key in the keys folder. Private to
 * the signer (signer.c loads them, signer_keys.c creates them). */
#ifndef CYBERID_SIGNER_FILES_H
#define CYBERID_SIGNER_FILES_H

#include "signer/signer.h"

static const char *const signer_key_files[SIGNER_KEY_COUNT] = {
    [SIGNER_KEY_MASTER] = "master.key",
    [SIGNER_KEY_INDEX] = "index-hmac.key",
    [SIGNER_KEY_PAIRWISE] = "pairwise-hmac.key",
    [SIGNER_KEY_TOKEN] = "token-signing.key.pem",
    [SIGNER_KEY_ROOT_CA] = "root-ca.key.pem",
    [SIGNER_KEY_ISSUING_CA] = "issuing-ca.key.pem",
};

/* The same keys in a PKCS#11 token: labelled "cyberid-<name>" (pkcs11.h),
 * and a token key by kid "cyberid-token-<kid>". */
static const char *const signer_key_names[SIGNER_KEY_COUNT] = {
    [SIGNER_KEY_MASTER] = "master",
    [SIGNER_KEY_INDEX] = "index-hmac",
    [SIGNER_KEY_PAIRWISE] = "pairwise-hmac",
    [SIGNER_KEY_TOKEN] = "token-signing",
    [SIGNER_KEY_ROOT_CA] = "root-ca",
    [SIGNER_KEY_ISSUING_CA] = "issuing-ca",
};
#define SIGNER_TOKEN_KEY_NAME_FORMAT "token-%s"
/* Issuing CA generation g >= 2 (`cyberid ca rotate`): keys/issuing-ca-<g>.key.pem,
 * or the token's "cyberid-issuing-ca-<g>"; generation 1 is SIGNER_KEY_ISSUING_CA. */
#define SIGNER_ISSUING_KEY_FILE_FORMAT "%s/issuing-ca-%u.key.pem"
#define SIGNER_ISSUING_KEY_NAME_FORMAT "issuing-ca-%u"

/* The transparency log's checkpoint key (Ed25519, PEM): made by `cyberid
 * init` and, for a folder made before it, `cyberid log init`; optional
 * (without it the log is not signed). In a token: the pair
 * "cyberid-log-checkpoint". */
#define SIGNER_LOG_KEY_FILE "log-checkpoint.key.pem"
#define SIGNER_LOG_KEY_NAME "log-checkpoint"

/* Token keys by kid: keys/token-<kid>.pem (the kid is checked first by
 * signer_kid_is_valid(), so it is one file-name component). */
#define SIGNER_TOKEN_KEY_FILE_FORMAT "%s/token-%s.pem"
#define SIGNER_PATH_MAX 1024

/* Symmetric keys are raw bytes; the others are PEM private keys. */
static inline int
signer_key_is_symmetric(enum signer_key key)
{
    return key == SIGNER_KEY_MASTER || key == SIGNER_KEY_INDEX ||
           key == SIGNER_KEY_PAIRWISE;
}

#endif
