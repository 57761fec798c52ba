/* signer_ops: the signer's operations and their policy, one request at a
 * time: the fields of each operation are read in their fixed order with
 * their bounds (signer_wire.h), checked against the operation's policy,
 * and answered. The signer process runs them for its channels; a signer
 * in-process (signer_open()) runs the very same bytes. Private to the
 * signer part.
 *
 * Thread safety: signer_ops_run() may run on many threads at once. */
#ifndef CYBERID_SIGNER_OPS_H
#define CYBERID_SIGNER_OPS_H

#include "signer/signer.h"
#include "signer/signer_wire.h"

struct signer_ops;

/* Loads the keys (and the CA, when options->pki_dir is set). 0 or -1 with
 * err. */
int signer_ops_open(const struct signer_options *options, struct signer_ops **out,
                    char *err, size_t errlen) __attribute__((warn_unused_result));
void signer_ops_close(struct signer_ops *ops);

/* The kid of the data folder's first token key (the signer process says
 * it in its hello). */
void signer_ops_initial_kid(const struct signer_ops *ops, char kid[SIGNER_KID_MAX + 1]);
/* 1 when the keys are in a PKCS#11 token (the process's seccomp filter
 * then allows what the token's module does), 0 when they are files. */
int signer_ops_keys_in_token(const struct signer_ops *ops);

/* Runs request `op` with its payload: 0 with *status and the reply's
 * fields appended to reply (empty unless *status is SIGNER_STATUS_OK), or
 * -1 when the request is malformed: an unknown op, a field missing, too
 * long or left over. */
int signer_ops_run(struct signer_ops *ops, unsigned op, const uint8_t *payload,
                   size_t length, uint16_t *status, struct signer_buffer *reply)
    __attribute__((warn_unused_result));

#endif
