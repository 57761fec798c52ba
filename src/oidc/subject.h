/* subject: pairwise subject identifiers (OpenID Connect Core §8.1).
 *
 *   sub = base32(HMAC-SHA256(pairwise_key, web_number || 0x00 || sector_id))[:26]
 *
 * The message is the web number's ASCII bytes, one zero byte, then the
 * sector identifier's bytes (the zero byte keeps ("AB","C") and ("A","BC")
 * apart: a web number never holds one). base32 is RFC 4648 §6 with the
 * lower-case alphabet "abcdefghijklmnopqrstuvwxyz234567", most significant
 * bit first, no padding; the first 26 characters (130 bits) are the sub.
 * The key is the signer's SIGNER_KEY_PAIRWISE, so the web number cannot be
 * recovered from a sub, and two sectors cannot link their subs. */
#ifndef CYBERID_OIDC_SUBJECT_H
#define CYBERID_OIDC_SUBJECT_H

#include "signer/signer.h"

#include <stddef.h>

#define SUBJECT_CHARS 26
#define SUBJECT_SIZE (SUBJECT_CHARS + 1)
#define SUBJECT_SECTOR_MAX_BYTES 1024

/* The pairwise sub of web_number for sector_id into out. 0, or -1 (empty
 * or over-long inputs, signer failure) with out emptied. */
int subject_pairwise(struct signer *signer, const char *web_number,
                     const char *sector_id, char out[SUBJECT_SIZE])
    __attribute__((warn_unused_result));

#endif
