/* device: requests a citizen's device makes with its key, and the routes
 * that manage devices.
 *
 * A device authenticates each request with `Authorization: Device <JWS>`:
 * a compact JWS (ES256, parsed and verified with cjose) whose x5c header
 * carries the device's web certificate, and whose payload binds it to this
 * service (aud = issuer URL), this request (htm, htu), a short time (iat,
 * exp) and one use (jti, remembered in the store until it expires).
 * docs/api.md has the format. The certificate must be ours, valid, not
 * revoked, not on hold (its issuing CA generation held: refused with
 * rekey_required), and its identity active. */
#ifndef CYBERID_DEVICE_H
#define CYBERID_DEVICE_H

#include "http/http.h"

#include "pki/pki.h"

#include <jansson.h>
#include <stdint.h>
#include "store/store.h"

#define DEVICE_TOKEN_MAX_BYTES 8192
#define DEVICE_TOKEN_CLOCK_SKEW 60   /* iat may be this far from our clock */
#define DEVICE_TOKEN_MAX_LIFETIME 120
#define DEVICE_JTI_MIN 16
#define DEVICE_JTI_MAX 64

struct device_context {
    struct store *store;
    struct signer *signer;      /* seals the events of device acts */
    const struct pki *pki;
    const char *issuer;         /* e.g. "http://127.0.0.1:8080" */
};

/* Who a verified request comes from. */
struct device_caller {
    char web_number[STORE_WEB_NUMBER_MAX];
    char serial[STORE_SERIAL_MAX];
    unsigned generation;    /* of the issuing CA of its certificate */
    uint8_t public_key[SIGNER_PUBLIC_KEY_MAX_BYTES]; /* its key, DER SPKI */
    size_t public_key_length;
    int held;               /* that generation is held (re-key only) */
    int suspended;          /* the identity is suspended (status only) */
    int locked;             /* locked by its citizen (status and unlock only) */
    json_t *claims;     /* the token's verified payload (extra claims such as
                           "release" included); owned: device_caller_clear() */
};

/* Verifies the request's device token against method and path. Returns 0
 * with *caller filled (release with device_caller_clear()); 1 when refused
 * (response filled: 401 invalid_token with WWW-Authenticate); -1 on an
 * internal failure. On 1 and -1 *caller holds nothing to release. */
int device_authenticate(const struct device_context *context,
                        const struct http_request *request,
                        struct device_caller *caller,
                        struct http_response *response)
    __attribute__((warn_unused_result));

/* Verifies a compact JWS signed by a current device key, whose header is
 * {"alg":"ES256","typ":type,"x5c":[certificate]}: the certificate must be
 * ours and valid at now, its device active and its identity active, and
 * the signature must verify with its key (a certificate on hold is
 * refused, *why saying to re-key). The payload's claims are not
 * judged here (each use has its own: device_authenticate() checks the
 * request binding, /v1/verify the audience). Returns 0 with *caller
 * filled (the payload in caller->claims), 1 when refused (*why says why,
 * a static text), -1 on an internal failure; on 1 and -1 *caller holds
 * nothing to release. */
int device_verify_jws(const struct device_context *context, const char *token,
                      const char *type, int64_t now, struct device_caller *caller,
                      const char **why) __attribute__((warn_unused_result));

/* device_authenticate() for the re-key (POST /v1/me/rekey): a
 * certificate on hold because its issuing CA generation is held is
 * accepted (caller->held says so), as it is the key that proves who
 * asks; everything else is as strict. */
int device_authenticate_rekey(const struct device_context *context,
                              const struct http_request *request,
                              struct device_caller *caller,
                              struct http_response *response)
    __attribute__((warn_unused_result));

/* device_authenticate_rekey() for the unlock (POST /v1/me/unlock): an
 * identity its citizen locked is accepted too (caller->locked). */
int device_authenticate_unlock(const struct device_context *context,
                               const struct http_request *request, struct device_caller *caller,
                               struct http_response *response)
    __attribute__((warn_unused_result));

/* The answer device_authenticate() gives a device of an identity that is
 * not active, for a route that authenticated with
 * device_authenticate_any_status() to record the refusal first: 401
 * invalid_token naming the lock or the inactive identity. 1 (a refusal
 * sent) or -1. */
int device_refuse_inactive(const struct device_caller *caller, struct http_response *response)
    __attribute__((warn_unused_result));

/* device_authenticate() for the citizen's own status (GET
 * /v1/me/status, the appeal): a suspended or locked identity is accepted
 * (caller->suspended, caller->locked), so that its holder can read why
 * and until when. */
int device_authenticate_any_status(const struct device_context *context,
                                   const struct http_request *request,
                                   struct device_caller *caller,
                                   struct http_response *response)
    __attribute__((warn_unused_result));

void device_caller_clear(struct device_caller *caller);

/* GET /v1/me/devices */
int device_list_handle(const struct device_context *context,
                       const struct http_request *request,
                       struct http_response *response);

/* POST /v1/me/devices/{serial}/revoke */
int device_revoke_handle(const struct device_context *context,
                         const struct http_request *request,
                         struct http_response *response);

#endif
