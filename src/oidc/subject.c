/* subject: pairwise subjects; see subject.h. */
#include "oidc/subject.h"

#include "store/store.h"
#include "util/strings.h"

#include <string.h>

#define BASE32_BITS 5
#define BASE32_MASK 0x1f
#define BITS_PER_BYTE 8

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

int
subject_base32(const uint8_t *bytes, size_t length, size_t chars, char *out,
               size_t cap)
{
    if (cap <= chars || chars > (length * BITS_PER_BYTE + BASE32_BITS - 1) / BASE32_BITS)
        return -1;
    unsigned buffer = 0, bits = 0;
    size_t used = 0, written = 0;
    while (written < chars) {
        if (bits < BASE32_BITS) {
            buffer = (buffer << BITS_PER_BYTE) | (used < length ? bytes[used] : 0);
            used++;
            bits += BITS_PER_BYTE;
        }
        out[written++] = base32_alphabet[(buffer >> (bits - BASE32_BITS)) & BASE32_MASK];
        bits -= BASE32_BITS;
    }
    out[written] = '\0';
    return 0;
}

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
        status = subject_base32(mac, sizeof mac, SUBJECT_CHARS, out, SUBJECT_SIZE);
    secret_wipe(mac, sizeof mac);
    if (status != 0)
        out[0] = '\0';
    return status;
}
