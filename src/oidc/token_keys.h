/* token_keys: which ES256 key signs ID tokens now, and which keys
 * /jwks.json publishes, across `cyberid keys rotate`.
 *
 * A key is (kid, activates_at). The data folder's first key (the signer's
 * initial kid) is implicitly there with activates_at 0. The signing key at
 * time t is the key with the greatest activates_at <= t (ties: the newest).
 * `rotate` makes a new key that activates `activate_in` seconds later, so
 * it is published before it signs: relying parties that cache the JWKS see
 * it first. A key stops signing when its successor activates and stays
 * published TOKEN_KEYS_RETIRED_PUBLISHED seconds more, past the life of any
 * token it signed. Keys older than that are no longer published (their
 * files stay in keys/, for the record). All of this is computed from the
 * table at each request (a serve keeps the table's rows in memory and is
 * told of each change within milliseconds: store.h,
 * store_config_cache_start()), so every node agrees without a restart.
 *
 * Many nodes: the table records each rotated key's public key, so every
 * node publishes it at once. Its private key is a file in the keys/ of
 * the node that rotated; the operator copies it to the other nodes within
 * the activation delay. A node that does not hold the signing key yet
 * signs with the newest earlier key it holds that is still published
 * (logged as token_key_not_here), so its tokens keep verifying. */
#ifndef CYBERID_OIDC_TOKEN_KEYS_H
#define CYBERID_OIDC_TOKEN_KEYS_H

#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define TOKEN_KEYS_DEFAULT_ACTIVATE_IN 3600
#define TOKEN_KEYS_RETIRED_PUBLISHED (2 * 3600)

/* The kid that signs at now into kid. 0 or -1. */
int token_keys_signing_kid(struct store_conn *conn, struct signer *signer,
                           int64_t now, char kid[SIGNER_KID_MAX + 1])
    __attribute__((warn_unused_result));

/* The published keys at now as a JWKS {"keys": [{kty, crv, x, y, kid, use,
 * alg}]}, the signing key first. 0 or -1; *jwks is new. */
int token_keys_jwks(struct store_conn *conn, struct signer *signer, int64_t now,
                    json_t **jwks) __attribute__((warn_unused_result));

/* Every key with its state at now, for `cyberid keys list`: an array of
 * {kid, activates_at, state: "next"|"signing"|"published"|"retired",
 * on_this_node: whether this data folder holds its private key}. */
int token_keys_list(struct store_conn *conn, struct signer *signer, int64_t now,
                    json_t **list) __attribute__((warn_unused_result));

/* Makes a new key (keys_dir/token-<kid>.pem, kid random; signer reads it
 * back) activating at now + activate_in, records it with its public key
 * and its audit event, and copies its kid into kid. 0 or -1 with err. */
int token_keys_rotate(struct store_conn *conn, struct signer *signer,
                      const char *keys_dir, int64_t now, int64_t activate_in,
                      const char *actor, char kid[SIGNER_KID_MAX + 1], char *err,
                      size_t errlen) __attribute__((warn_unused_result));

#endif
