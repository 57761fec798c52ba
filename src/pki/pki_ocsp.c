/* pki_ocsp: the OCSP responder (RFC 6960). The request comes from anyone
 * on the network: it is parsed strictly (DER, nothing after it, a bounded
 * number of single requests) and anything else gets a malformedRequest
 * response. The responding issuing CA generation is the one the first
 * CertID names (pki.h); each CertID whose issuer name and key hashes are
 * that generation's is answered from the caller's lookup; any other is
 * "unknown". The signer builds and signs the response with that
 * generation's key
 * (signer_sign_ocsp: responder id by key hash, the issuing CA certificate
 * included, the nonce echoed). */
#include "pki/pki_internal.h"

#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

/* Single requests answered per OCSP request; more is malformed. */
#define PKI_OCSP_MAX_SINGLE_REQUESTS 16

/* The issuing CA generation a CertID names by its issuer name and key
 * hashes, or 0 (another issuer, or a hash we do not compute). */
static unsigned
pki_ocsp_generation(const struct pki *pki, OCSP_CERTID *id)
{
    ASN1_OBJECT *algorithm = NULL;
    if (OCSP_id_get0_info(NULL, &algorithm, NULL, NULL, id) != 1)
        return 0;
    enum pki_ocsp_hash hash;
    switch (OBJ_obj2nid(algorithm)) {
    case NID_sha1: hash = PKI_OCSP_SHA1; break;
    case NID_sha256: hash = PKI_OCSP_SHA256; break;
    default: return 0;
    }
    for (unsigned g = 1; g <= pki->generations; g++)
        if (OCSP_id_issuer_cmp(pki->issuers[g].ocsp_ids[hash], id) == 0)
            return g;
    return 0;
}

/* The status of one CertID: unknown unless it names issuing CA generation
 * `generation` and a serial the lookup knows of it. 0, or -1 when the
 * lookup fails. */
static int
pki_ocsp_single_status(const struct pki *pki, unsigned generation, OCSP_CERTID *id,
                       pki_status_lookup lookup, void *context,
                       struct pki_cert_status *status)
{
    ASN1_INTEGER *serial = NULL;
    memset(status, 0, sizeof *status);
    status->state = PKI_CERT_UNKNOWN;
    if (pki_ocsp_generation(pki, id) != generation ||
        OCSP_id_get0_info(NULL, NULL, NULL, &serial, id) != 1)
        return 0;
    int length = ASN1_STRING_length(serial);
    if (ASN1_STRING_type(serial) != V_ASN1_INTEGER || length <= 0 ||
        length > PKI_SERIAL_BYTES)
        return 0; /* negative, zero or too long: never one of ours */
    if (lookup(context, generation, ASN1_STRING_get0_data(serial), (size_t)length,
               status) != 0)
        return -1;
    if (status->state != PKI_CERT_GOOD && status->state != PKI_CERT_REVOKED)
        status->state = PKI_CERT_UNKNOWN;
    return 0;
}

/* Parses the request: DER, every byte, 1..PKI_OCSP_MAX_SINGLE_REQUESTS
 * single requests. NULL when malformed. */
static OCSP_REQUEST *
pki_ocsp_parse(const uint8_t *request, size_t length)
{
    if (request == NULL || length == 0 || length > PKI_OCSP_REQUEST_MAX_BYTES)
        return NULL;
    const unsigned char *p = request;
    OCSP_REQUEST *parsed = d2i_OCSP_REQUEST(NULL, &p, (long)length);
    if (parsed == NULL)
        return NULL;
    int count = OCSP_request_onereq_count(parsed);
    if (p != request + length || count <= 0 ||
        count > PKI_OCSP_MAX_SINGLE_REQUESTS) {
        OCSP_REQUEST_free(parsed);
        return NULL;
    }
    return parsed;
}

/* The status of every single request, with its CertID as DER for the
 * signer. 0, or -1 with err. */
static int
pki_ocsp_entries(const struct pki *pki, unsigned generation, OCSP_REQUEST *request,
                 pki_status_lookup lookup, void *context,
                 struct signer_ocsp_entry *entries, uint8_t **ids, size_t *count, char *err,
                 size_t errlen)
{
    int n = OCSP_request_onereq_count(request);
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, i));
        struct pki_cert_status status;
        if (pki_ocsp_single_status(pki, generation, id, lookup, context, &status) != 0)
            return error_set(err, errlen, "certificate status lookup failed");
        int length = i2d_OCSP_CERTID(id, &ids[i]);
        if (length <= 0 || length > SIGNER_OCSP_CERTID_MAX_BYTES)
            return error_set(err, errlen, "cannot encode a CertID");
        *count = (size_t)i + 1;
        entries[i] = (struct signer_ocsp_entry){
            .cert_id = ids[i], .cert_id_length = (size_t)length,
            .state = status.state == PKI_CERT_GOOD      ? SIGNER_CERT_GOOD
                     : status.state == PKI_CERT_REVOKED ? SIGNER_CERT_REVOKED
                                                        : SIGNER_CERT_UNKNOWN,
            .revoked_at = status.revoked_at,
            /* RFC 5280 §5.3.1: no reason rather than "unspecified". */
            .reason = status.reason != 0 && pki_reason_is_known(status.reason)
                          ? status.reason : 0};
    }
    return 0;
}

/* The signed response (DER) for a parsed request, by the signer. 0 or -1
 * with err. */
static int
pki_ocsp_signed(const struct pki *pki, OCSP_REQUEST *request, pki_status_lookup lookup,
                void *context, int64_t now, uint8_t **response, size_t *response_length,
                char *err, size_t errlen)
{
    struct signer_ocsp_entry entries[PKI_OCSP_MAX_SINGLE_REQUESTS];
    uint8_t *ids[PKI_OCSP_MAX_SINGLE_REQUESTS] = {0};
    size_t count = 0;
    const uint8_t *nonce = NULL;
    size_t nonce_length = 0;
    _Static_assert(PKI_OCSP_MAX_SINGLE_REQUESTS <= SIGNER_OCSP_ENTRIES_MAX, "entries");
    /* One response has one signer: the generation of the first CertID
     * that names one of ours (relying parties ask one at a time). */
    unsigned generation = 0;
    int n = OCSP_request_onereq_count(request);
    for (int i = 0; i < n && generation == 0; i++)
        generation = pki_ocsp_generation(
            pki, OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, i)));
    if (generation == 0)
        generation = 1;
    int status = pki_ocsp_entries(pki, generation, request, lookup, context, entries, ids,
                                  &count, err, errlen);
    int at = OCSP_REQUEST_get_ext_by_NID(request, NID_id_pkix_OCSP_Nonce, -1);
    if (status == 0 && at >= 0) {
        const ASN1_OCTET_STRING *value =
            X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(request, at));
        nonce = ASN1_STRING_get0_data(value);
        nonce_length = (size_t)ASN1_STRING_length(value);
        if (nonce_length == 0 || nonce_length > SIGNER_OCSP_NONCE_MAX_BYTES)
            status = error_set(err, errlen, "the OCSP nonce is empty or too long");
    }
    if (status == 0 && signer_sign_ocsp(pki->signer, generation, entries, count, nonce, nonce_length,
                                        now, response, response_length) != 0)
        status = error_set(err, errlen, "the signer did not sign the OCSP response");
    for (size_t i = 0; i < PKI_OCSP_MAX_SINGLE_REQUESTS; i++)
        OPENSSL_free(ids[i]);
    return status;
}

int
pki_ocsp_respond(const struct pki *pki, const uint8_t *request,
                 size_t request_length, pki_status_lookup lookup,
                 void *context, int64_t now, uint8_t **response,
                 size_t *response_length, char *err, size_t errlen)
{
    *response = NULL;
    *response_length = 0;
    if (lookup == NULL)
        return error_set(err, errlen, "pki_ocsp_respond: no lookup");
    if (now < 0 || now > PKI_TIME_MAX - PKI_OCSP_VALIDITY_SECONDS)
        return error_set(err, errlen, "time out of range");

    OCSP_REQUEST *parsed = pki_ocsp_parse(request, request_length);
    if (parsed != NULL) {
        int signed_status = pki_ocsp_signed(pki, parsed, lookup, context, now, response,
                                            response_length, err, errlen);
        OCSP_REQUEST_free(parsed);
        return signed_status;
    }
    /* Unsigned: a malformedRequest answer carries no response bytes. */
    int status = -1;
    OCSP_RESPONSE *answer = OCSP_response_create(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, NULL);
    int length = answer ? i2d_OCSP_RESPONSE(answer, NULL) : -1;
    if (length <= 0 || (*response = malloc((size_t)length)) == NULL) {
        error_set(err, errlen, "cannot encode the OCSP response");
        goto cleanup;
    }
    unsigned char *p = *response;
    if (i2d_OCSP_RESPONSE(answer, &p) != length) {
        free(*response);
        *response = NULL;
        error_set(err, errlen, "cannot encode the OCSP response");
        goto cleanup;
    }
    *response_length = (size_t)length;
    status = 0;
cleanup:
    OCSP_RESPONSE_free(answer);
    return status;
}

int
pki_ocsp_request_is_cacheable(const uint8_t *request, size_t request_length)
{
    OCSP_REQUEST *parsed = pki_ocsp_parse(request, request_length);
    if (parsed == NULL)
        return 0;
    int cacheable = OCSP_REQUEST_get_ext_by_NID(parsed, NID_id_pkix_OCSP_Nonce, -1) < 0;
    OCSP_REQUEST_free(parsed);
    return cacheable;
}
