/* pki_crl: an issuing CA generation's CRL (RFC 5280 §5): v2, thisUpdate = now,
 * nextUpdate a day later, crlNumber and authorityKeyIdentifier extensions,
 * one entry per revoked certificate with its reasonCode (left out for
 * "unspecified", as §5.3.1 asks). The entries are checked here and the
 * signer builds and signs it (signer_sign_crl). */
#include "pki/pki_internal.h"

#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

int
pki_crl_build(const struct pki *pki, unsigned generation, const struct pki_revoked *revoked,
              size_t count, int64_t crl_number, int64_t now, uint8_t **der,
              size_t *der_length, char *err, size_t errlen)
{
    *der = NULL;
    *der_length = 0;
    if (count > 0 && revoked == NULL)
        return error_set(err, errlen, "pki_crl_build: no entries");
    if (generation == 0 || generation > pki->generations)
        return error_set(err, errlen, "no issuing CA generation %u", generation);
    if (crl_number < 0)
        return error_set(err, errlen, "negative CRL number");
    if (now < 0 || now > PKI_TIME_MAX - PKI_CRL_VALIDITY_SECONDS)
        return error_set(err, errlen, "time out of range");
    for (size_t i = 0; i < count; i++)
        if (!pki_reason_is_known(revoked[i].reason) ||
            revoked[i].revoked_at < 0 || revoked[i].revoked_at > PKI_TIME_MAX)
            return error_set(err, errlen, "CRL entry %zu: bad reason or time",
                             i);

    struct signer_crl_entry *entries = count > 0 ? calloc(count, sizeof *entries) : NULL;
    if (count > 0 && entries == NULL)
        return error_set(err, errlen, "out of memory");
    _Static_assert(SIGNER_SERIAL_BYTES == PKI_SERIAL_BYTES, "serial width");
    for (size_t i = 0; i < count; i++) {
        memcpy(entries[i].serial, revoked[i].serial, PKI_SERIAL_BYTES);
        entries[i].revoked_at = revoked[i].revoked_at;
        entries[i].reason = revoked[i].reason;
    }
    int status = signer_sign_crl(pki->signer, generation, entries, count, crl_number, now, der,
                                 der_length);
    free(entries);
    if (status != 0)
        return error_set(err, errlen, "the signer did not sign the CRL");
    return 0;
}
