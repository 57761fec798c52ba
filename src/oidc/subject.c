/* subject: pairwise subjects; see subject.h. */
#include "oidc/subject.h"

#include "store/store.h"
#include "util/encoding.h"
#include "util/strings.h"

#include <string.h>

/* The signer derives the same subject (signer_sign_id_token_pairwise). */
_Static_assert(SUBJECT_SIZE == SIGNER_SUBJECT_SIZE, "one subject length");
_Static_assert(SUBJECT_SECTOR_MAX_BYTES == SIGNER_SECTOR_MAX_BYTES, "one sector limit");
_Static_assert(STORE_WEB_NUMBER_MAX - 1 == SIGNER_WEB_NUMBER_MAX_BYTES, "one web number limit");

int
subject_pairwise(struct signer *signer, const char *web_number, const char *sector_id,
                 char out[SUBJECT_SIZE])
{
    size_t web_length = strlen(web_number), sector_length = strlen(sector_id);
    uint8_t message[STORE_WEB_NUMBER_MAX + 1 + SUBJECT_SECTOR_MAX_BYTES];
    uint8_t mac[SIGNER_HMAC_BYTES];
    out[0] = '\0';
    if (web_length == 0 || web_length >= STORE_WEB_NUMBER_MAX || sector_length == 0 ||
        sector_length > SUBJECT_SECTOR_MAX_BYTES)
        return -1;
    memcpy(message, web_number, web_length);
    message[web_length] = 0x00;
    memcpy(message + web_length + 1, sector_id, sector_length);
    int status = signer_hmac(signer, SIGNER_KEY_PAIRWISE, message,
                             web_length + 1 + sector_length, mac);
    if (status == 0)
        status = base32_lower_encode(mac, sizeof mac, SUBJECT_CHARS, out, SUBJECT_SIZE);
    secret_wipe(mac, sizeof mac);
    if (status != 0)
        out[0] = '\0';
    return status;
}
