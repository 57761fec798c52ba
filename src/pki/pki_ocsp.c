/* pki_ocsp: the OCSP responder (RFC 6960). The request comes from anyone
 * on the network: it is parsed strictly (DER, nothing after it, a bounded
 * number of single requests) and anything else gets a malformedRequest
 * response. Each CertID whose issuer name and key hashes are our issuing
 * CA's is answered from the caller's lookup; any other is "unknown". The
 * response is signed by the issuing CA itself (responder id by key hash,
 * the issuing CA certificate included) and echoes the nonce. */
#include "pki/pki_internal.h"

#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

/* Single requests answered per OCSP request; more is malformed. */
#define PKI_OCSP_MAX_SINGLE_REQUESTS 16
/* nextUpdate - thisUpdate. */

/* The status of one CertID: unknown unless it names our issuer and a
 * serial the lookup knows. 0, or -1 when the lookup fails. */
static int
pki_ocsp_single_status(const struct pki *pki, OCSP_CERTID *id,
                       pki_status_lookup lookup, void *context,
                       struct pki_cert_status *status)
{
    ASN1_OBJECT *algorithm = NULL;
    ASN1_INTEGER *serial = NULL;
    const OCSP_CERTID *ours = NULL;

    memset(status, 0, sizeof *status);
    status->state = PKI_CERT_UNKNOWN;
    if (OCSP_id_get0_info(NULL, &algorithm, NULL, &serial, id) != 1)
        return 0;
    switch (OBJ_obj2nid(algorithm)) {
    case NID_sha1:
        ours = pki->ocsp_ids[PKI_OCSP_SHA1];
        break;
    case NID_sha256:
        ours = pki->ocsp_ids[PKI_OCSP_SHA256];
        break;
    default:
        return 0; /* a hash we do not compute is not a match */
    }
    if (OCSP_id_issuer_cmp(ours, id) != 0)
        return 0;
    int length = ASN1_STRING_length(serial);
    if (ASN1_STRING_type(serial) != V_ASN1_INTEGER || length <= 0 ||
        length > PKI_SERIAL_BYTES)
        return 0; /* negative, zero or too long: never one of ours */
    if (lookup(context, ASN1_STRING_get0_data(serial), (size_t)length,
               status) != 0)
        return -1;
    if (status->state != PKI_CERT_GOOD && status->state != PKI_CERT_REVOKED)
        status->state = PKI_CERT_UNKNOWN;
    return 0;
}

/* Adds the SingleResponse for id with status. 0 or -1. */
static int
pki_ocsp_add(OCSP_BASICRESP *basic, OCSP_CERTID *id,
             const struct pki_cert_status *status, ASN1_TIME *this_update,
             ASN1_TIME *next_update)
{
    int code = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    ASN1_TIME *revoked_at = NULL;
    if (status->state == PKI_CERT_GOOD)
        code = V_OCSP_CERTSTATUS_GOOD;
    if (status->state == PKI_CERT_REVOKED) {
        code = V_OCSP_CERTSTATUS_REVOKED;
        revoked_at = ASN1_GENERALIZEDTIME_set(NULL, (time_t)status->revoked_at);
        if (revoked_at == NULL)
            return -1;
        /* RFC 5280 §5.3.1: no reason rather than "unspecified". */
        if (status->reason != 0 && pki_reason_is_known(status->reason))
            reason = status->reason;
    }
    OCSP_SINGLERESP *single = OCSP_basic_add1_status(
        basic, id, code, reason, revoked_at, this_update, next_update);
    ASN1_TIME_free(revoked_at);
    return single != NULL ? 0 : -1;
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

/* The signed BasicOCSPResponse for a parsed request. NULL with err. */
static OCSP_BASICRESP *
pki_ocsp_basic(const struct pki *pki, OCSP_REQUEST *request,
               pki_status_lookup lookup, void *context, int64_t now,
               char *err, size_t errlen)
{
    OCSP_BASICRESP *basic = OCSP_BASICRESP_new();
    ASN1_TIME *this_update = ASN1_GENERALIZEDTIME_set(NULL, (time_t)now);
    ASN1_TIME *next_update = ASN1_GENERALIZEDTIME_set(
        NULL, (time_t)(now + PKI_OCSP_VALIDITY_SECONDS));
    EVP_PKEY *signing_key = NULL;
    int ok = 0;

    if (basic == NULL || this_update == NULL || next_update == NULL) {
        error_set(err, errlen, "cannot build the OCSP response");
        goto cleanup;
    }
    int count = OCSP_request_onereq_count(request);
    for (int i = 0; i < count; i++) {
        OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, i));
        struct pki_cert_status status;
        if (pki_ocsp_single_status(pki, id, lookup, context, &status) != 0) {
            error_set(err, errlen, "certificate status lookup failed");
            goto cleanup;
        }
        if (pki_ocsp_add(basic, id, &status, this_update, next_update) != 0) {
            error_set(err, errlen, "cannot build the OCSP response");
            goto cleanup;
        }
    }
    if (OCSP_copy_nonce(basic, request) <= 0) {
        error_set(err, errlen, "cannot copy the OCSP nonce");
        goto cleanup;
    }
    signing_key = pki_signing_key_new(pki);
    if (signing_key == NULL ||
        OCSP_basic_sign(basic, pki->issuing, signing_key, EVP_sha256(), NULL,
                        OCSP_RESPID_KEY) != 1) {
        error_set(err, errlen, "the signer did not sign the OCSP response");
        goto cleanup;
    }
    ok = 1;
cleanup:
    EVP_PKEY_free(signing_key);
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
    if (!ok) {
        OCSP_BASICRESP_free(basic);
        return NULL;
    }
    return basic;
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

    int status = -1;
    OCSP_BASICRESP *basic = NULL;
    OCSP_RESPONSE *answer = NULL;
    OCSP_REQUEST *parsed = pki_ocsp_parse(request, request_length);
    if (parsed == NULL) {
        answer = OCSP_response_create(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, NULL);
    } else {
        basic = pki_ocsp_basic(pki, parsed, lookup, context, now, err, errlen);
        if (basic == NULL)
            goto cleanup;
        answer = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
    }
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
    OCSP_BASICRESP_free(basic);
    OCSP_REQUEST_free(parsed);
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
