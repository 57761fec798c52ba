/* pki_issue: the web certificate (DESIGN.md, Formats), as the signer
 * builds and signs it (signer_issue_certificate; signer/signer_ca.c has
 * the profile), with its PEM, serial and validity read back for the
 * caller. */
#include "pki/pki_internal.h"

#include "util/encoding.h"
#include "util/strings.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>


/* Fills the rest of out from the signed certificate. 0 or -1. */
static int
pki_certificate_export(X509 *certificate, struct pki_certificate *out)
{
    int length = i2d_X509(certificate, NULL);
    if (length <= 0 || (out->der = malloc((size_t)length)) == NULL)
        return -1;
    unsigned char *p = out->der;
    if (i2d_X509(certificate, &p) != length)
        return -1;
    out->der_length = (size_t)length;

    BIO *bio = BIO_new(BIO_s_mem());
    if (bio != NULL && PEM_write_bio_X509(bio, certificate) == 1)
        out->pem = pki_bio_to_string(bio);
    BIO_free(bio);
    if (out->pem == NULL)
        return -1;
    if (hex_encode(out->serial, sizeof out->serial, out->serial_hex,
                   sizeof out->serial_hex) != 0 ||
        pki_time_to_int64(X509_get0_notBefore(certificate), &out->not_before) != 0 ||
        pki_time_to_int64(X509_get0_notAfter(certificate), &out->not_after) != 0)
        return -1;
    return 0;
}

int
pki_issue(const struct pki *pki, const struct pki_csr *csr, const char *web_number,
          int64_t now, struct pki_certificate *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!pki_web_number_is_valid(web_number))
        return error_set(err, errlen, "not a web number");
    if (now < 0 || now > PKI_ISSUE_NOW_MAX)
        return error_set(err, errlen, "time out of range");
    uint8_t *der = NULL;
    size_t length = 0;
    if (signer_issue_certificate(pki->signer, pki->generations, csr->public_key,
                                 csr->public_key_length, web_number, now, &der,
                                 &length) != 0)
        return error_set(err, errlen, "the signer did not issue the certificate");
    const unsigned char *p = der;
    X509 *certificate = d2i_X509(NULL, &p, (long)length);
    int status = 0;
    if (certificate == NULL || p != der + length ||
        pki_serial_from_integer(X509_get0_serialNumber(certificate), out->serial) != 0 ||
        pki_certificate_export(certificate, out) != 0) {
        pki_certificate_clear(out);
        status = error_set(err, errlen, "cannot encode the certificate");
    } else {
        out->generation = pki->generations;
    }
    X509_free(certificate);
    free(der);
    return status;
}

void
pki_certificate_clear(struct pki_certificate *certificate)
{
    if (certificate == NULL)
        return;
    free(certificate->der);
    free(certificate->pem);
    memset(certificate, 0, sizeof *certificate);
}
