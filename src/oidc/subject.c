/* subject: pairwise subjects; see subject.h. */
#include "oidc/subject.h"

#include "store/store.h"
#include "util/encoding.h"
#include "util/strings.h"

#include <string.h>

/* The signer derives the same subject (signer_sign_id_token_pairwise),
 * from the same message (signer_pairwise_message) and limits. */
_Static_assert(SUBJECT_SIZE == SIGNER_SUBJECT_SIZE, "one subject length");
_Static_assert(SUBJECT_SECTOR_MAX_BYTES == SIGNER_SECTOR_MAX_BYTES, "one sector limit");
_Static_assert(STORE_WEB_NUMBER_MAX - 1 == SIGNER_WEB_NUMBER_MAX_BYTES, "one web number limit");

int
subject_pairwise(struct signer *signer, const char *web_number, const char *sector_id,
                 char out[SUBJECT_SIZE])
{
    uint8_t message[SIGNER_PAIRWISE_MESSAGE_MAX], mac[SIGNER_HMAC_BYTES];
    out[0] = '\0';
    size_t length = signer_pairwise_message(web_number, sector_id, message);
    if (length == 0)
        return -1;
    int status = signer_hmac(signer, SIGNER_KEY_PAIRWISE, message, length, mac);
    if (status == 0)
        status = base32_lower_encode(mac, sizeof mac, SUBJECT_CHARS, out, SUBJECT_SIZE);
    secret_wipe(mac, sizeof mac);
    if (status != 0)
        out[0] = '\0';
    return status;
}
