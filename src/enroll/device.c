/* device: device-signed requests and device management; see device.h. */
#include "enroll/device.h"

#include "audit/audit.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEVICE_SCHEME "Device "
#define DEVICE_TOKEN_TYPE "cyberid-device+jwt"

/* A cjose JWK of a P-256 public key given as DER SubjectPublicKeyInfo in
 * pki's canonical form, or NULL. cjose wants the coordinates; they are read
 * off the canonical bytes rather than through d2i_PUBKEY(), whose OpenSSL 3
 * decoder lookup was a tenth of the cost of a login. cjose checks the point
 * on the curve when it builds its key. */
static cjose_jwk_t *
jwk_from_spki(const uint8_t *spki, size_t length)
{
    uint8_t x_bytes[PKI_P256_COORDINATE_BYTES], y_bytes[PKI_P256_COORDINATE_BYTES];
    if (pki_spki_p256_coordinates(spki, length, x_bytes, y_bytes) != 0)
        return NULL;
    cjose_jwk_ec_keyspec spec = {.crv = CJOSE_JWK_EC_P_256,
                                 .x = x_bytes, .xlen = sizeof x_bytes,
                                 .y = y_bytes, .ylen = sizeof y_bytes};
    return cjose_jwk_create_EC_spec(&spec, NULL);
}

static int
unauthorized_code(struct http_response *response, const char *code, const char *description)
{
    char challenge[64];
    snprintf(challenge, sizeof challenge, "Device error=\"%s\"", code);
    if (http_response_add_header(response, "WWW-Authenticate", challenge) != 0 ||
        http_respond_error(response, 401, code, description) != 0)
        return -1;
    return 1;
}

static int
unauthorized(struct http_response *response, const char *description)
{
    return unauthorized_code(response, "invalid_token", description);
}

#define LOCKED_WHY \
    "this identity is locked by its citizen: unlock it with a face check (cyberid-app unlock)"

int
device_refuse_inactive(const struct device_caller *caller, struct http_response *response)
{
    return unauthorized(response, caller->locked ? LOCKED_WHY : "this identity is not active");
}

/* Refusals of verify_jws() besides 1: the device's certificate is on hold
 * because its issuing CA generation is (`cyberid ca hold`). */
#define REFUSED_HELD 2
#define HELD_WHY                                                                  \
    "this device's certificate is on hold: the authority that issued it was "   \
    "suspended. Re-key this device (cyberid-app rekey: a new key, a new face "   \
    "check, a new certificate) and try again"

/* Checks the payload claims. NULL when good, else why not. */
static const char *
check_claims(const json_t *claims, const struct device_context *context,
             const struct http_request *request, int64_t now, const char **jti,
             int64_t *expires_at)
{
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    const char *htm = json_string_value(json_object_get(claims, "htm"));
    const char *htu = json_string_value(json_object_get(claims, "htu"));
    const json_t *iat = json_object_get(claims, "iat");
    const json_t *exp = json_object_get(claims, "exp");
    *jti = json_string_value(json_object_get(claims, "jti"));
    if (aud == NULL || strcmp(aud, context->issuer) != 0)
        return "the token is not for this service (aud)";
    if (htm == NULL || strcmp(htm, request->method) != 0 || htu == NULL ||
        strcmp(htu, request->path) != 0)
        return "the token is not for this request (htm, htu)";
    if (!json_is_integer(iat) || !json_is_integer(exp))
        return "iat and exp must be integers";
    int64_t issued = json_integer_value(iat), expires = json_integer_value(exp);
    if (issued > now + DEVICE_TOKEN_CLOCK_SKEW || issued < now - DEVICE_TOKEN_CLOCK_SKEW)
        return "iat is too far from the service's clock";
    if (expires <= now || expires < issued || expires - issued > DEVICE_TOKEN_MAX_LIFETIME)
        return "the token has expired or lives too long";
    size_t jti_length = *jti ? strlen(*jti) : 0;
    if (jti_length < DEVICE_JTI_MIN || jti_length > DEVICE_JTI_MAX)
        return "jti must be 16 to 64 characters";
    *expires_at = expires;
    return NULL;
}

/* What a route accepts besides the strict rule. */
enum {
    ALLOW_HELD = 1,         /* a certificate of a held generation (the re-key) */
    ALLOW_SUSPENDED = 2,    /* a suspended identity (its own status) */
    ALLOW_LOCKED = 4,       /* an identity its citizen locked (status, unlock) */
};

/* device_verify_jws(), with a certificate on hold accepted when `allow`
 * says ALLOW_HELD (else refused with REFUSED_HELD), and a suspended
 * identity when it says ALLOW_SUSPENDED. With `request` (a device-signed
 * request, not an assertion) the claims must also bind the token to that
 * request (check_claims()) and its jti is spent, in the statement that
 * reads the device (store_device_get_using()): a token seen before is
 * refused, after every other check so that the refusal says what else is
 * wrong first, as it did when the jti was spent apart. */
static int
verify_jws(const struct device_context *context, const char *token, const char *type,
           int64_t now, int allow, const struct http_request *request,
           struct device_caller *caller, const char **why)
{
    memset(caller, 0, sizeof *caller);
    *why = NULL;
    size_t token_length = strlen(token);
    if (token_length == 0 || token_length > DEVICE_TOKEN_MAX_BYTES) {
        *why = "the device token is empty or too long";
        return 1;
    }
    int result = -1;
    uint8_t *certificate = NULL;
    uint8_t *payload = NULL; /* owned by the jws (cjose_jws_get_plaintext) */
    size_t certificate_length = 0, payload_length = 0;
    cjose_jwk_t *jwk = NULL;
    json_t *claims = NULL;
    struct store_conn *conn = NULL;
    cjose_jws_t *jws = cjose_jws_import(token, token_length, NULL);
    if (jws == NULL) {
        *why = "the device token is not a compact JWS";
        goto refuse;
    }
    /* cjose's header type is jansson's json_t (cjose/header.h). */
    json_t *protected_header = (json_t *)cjose_jws_get_protected(jws);
    const char *alg = json_string_value(json_object_get(protected_header, "alg"));
    const char *typ = json_string_value(json_object_get(protected_header, "typ"));
    const char *x5c = json_string_value(
        json_array_get(json_object_get(protected_header, "x5c"), 0));
    if (alg == NULL || strcmp(alg, "ES256") != 0 || typ == NULL ||
        strcmp(typ, type) != 0 || x5c == NULL) {
        *why = "the token header must have alg ES256, the expected typ and x5c";
        goto refuse;
    }
    /* RFC 7515 §4.1.11: a "crit" header names extensions the recipient
     * must understand or reject the JWS; cyberid implements none. */
    if (json_object_get(protected_header, "crit") != NULL) {
        *why = "the token header names critical extensions (crit) this service does "
               "not implement";
        goto refuse;
    }
    struct pki_presented presented;
    char err[256];
    if (base64_decode_alloc(x5c, strlen(x5c), PKI_CERTIFICATE_MAX_BYTES, &certificate,
                            &certificate_length) != 0 ||
        pki_check_presented(context->pki, certificate, certificate_length, now,
                            &presented, err, sizeof err) != 0) {
        *why = "the certificate in x5c is not a valid web certificate";
        goto refuse;
    }
    jwk = jwk_from_spki(presented.public_key, presented.public_key_length);
    if (jwk == NULL)
        goto done;
    if (!cjose_jws_verify(jws, jwk, NULL) ||
        !cjose_jws_get_plaintext(jws, &payload, &payload_length, NULL)) {
        *why = "the token's signature does not verify";
        goto refuse;
    }
    claims = json_loadb((const char *)payload, payload_length, JSON_REJECT_DUPLICATES,
                        NULL);
    if (!json_is_object(claims)) {
        *why = "the token's payload is not a JSON object";
        goto refuse;
    }
    const char *jti = NULL;
    int64_t jti_expires_at = 0;
    if (request != NULL &&
        (*why = check_claims(claims, context, request, now, &jti, &jti_expires_at)) != NULL)
        goto refuse;

    conn = store_acquire(context->store);
    struct store_device device;
    struct store_identity identity;
    int found_device = 0, found_identity = 0, fresh = 1;
    /* The certificate names its web number: the device row is read from
     * that identity's shard, and is this identity's by construction; the
     * identity comes with it, in the same statement. */
    if ((request != NULL
             ? store_device_get_using(conn, presented.serial_hex, presented.web_number, jti,
                                      jti_expires_at, &fresh, &device, &found_device,
                                      &identity, &found_identity)
             : store_device_get_with_identity(conn, presented.serial_hex,
                                              presented.web_number, &device, &found_device,
                                              &identity, &found_identity)) != 0)
        goto done;
    int device_active = found_device && strcmp(device.status, STORE_DEVICE_ACTIVE) == 0 &&
                        strcmp(device.web_number, presented.web_number) == 0;
    int held = found_device && device.issuer_held_at != 0;
    store_device_clear(&device);
    if (!device_active) {
        *why = "this device's certificate is revoked or unknown";
        goto refuse;
    }
    if (held && !(allow & ALLOW_HELD)) {
        *why = HELD_WHY;
        result = REFUSED_HELD;
        goto done;
    }
    caller->held = held;
    int suspended = found_identity && strcmp(identity.status, STORE_IDENTITY_SUSPENDED) == 0;
    int locked = found_identity && strcmp(identity.status, STORE_IDENTITY_LOCKED) == 0;
    if (!found_identity || (strcmp(identity.status, STORE_IDENTITY_ACTIVE) != 0 &&
                            !(suspended && (allow & ALLOW_SUSPENDED)) &&
                            !(locked && (allow & ALLOW_LOCKED)))) {
        *why = locked ? LOCKED_WHY : "this identity is not active";
        goto refuse;
    }
    if (!fresh) {
        *why = "this device token was already used";
        goto refuse;
    }
    caller->suspended = suspended;
    caller->locked = locked;
    if (string_copy(caller->web_number, sizeof caller->web_number,
                    presented.web_number) != 0 ||
        string_copy(caller->serial, sizeof caller->serial, presented.serial_hex) != 0)
        goto done;
    caller->generation = presented.generation;
    memcpy(caller->public_key, presented.public_key, presented.public_key_length);
    caller->public_key_length = presented.public_key_length;
    caller->claims = claims;
    claims = NULL;
    result = 0;
    goto done;
refuse:
    result = 1;
done:
    if (conn != NULL) {
        if (result < 0)
            log_event(LOG_ERROR, "device_auth_failed", "{s:s}", "error",
                      store_last_error(conn));
        store_release(context->store, conn);
    }
    if (result != 0)
        memset(caller, 0, sizeof *caller);
    json_decref(claims);
    free(certificate);
    cjose_jwk_release(jwk);
    cjose_jws_release(jws);
    return result;
}

int
device_verify_jws(const struct device_context *context, const char *token,
                  const char *type, int64_t now, struct device_caller *caller,
                  const char **why)
{
    int result = verify_jws(context, token, type, now, 0, NULL, caller, why);
    return result == REFUSED_HELD ? 1 : result;
}

static int
authenticate(const struct device_context *context, const struct http_request *request,
             int allow, struct device_caller *caller, struct http_response *response)
{
    memset(caller, 0, sizeof *caller);
    if (context->pki == NULL)
        return http_respond_error(response, 503, "temporarily_unavailable",
                                  "the service is starting up") == 0 ? 1 : -1;
    const char *header = http_request_header(request, "Authorization");
    size_t scheme = strlen(DEVICE_SCHEME);
    if (header == NULL || strncasecmp(header, DEVICE_SCHEME, scheme) != 0)
        return unauthorized(response, "a Device authorization is required");

    int64_t now = (int64_t)time(NULL);
    const char *why = NULL;
    int verified = verify_jws(context, header + scheme, DEVICE_TOKEN_TYPE, now, allow,
                              request, caller, &why);
    if (verified == REFUSED_HELD)
        return unauthorized_code(response, "rekey_required", why);
    if (verified != 0)
        return verified < 0 ? -1 : unauthorized(response, why);
    return 0;
}

int
device_authenticate(const struct device_context *context,
                    const struct http_request *request, struct device_caller *caller,
                    struct http_response *response)
{
    return authenticate(context, request, 0, caller, response);
}

int
device_authenticate_rekey(const struct device_context *context,
                          const struct http_request *request, struct device_caller *caller,
                          struct http_response *response)
{
    return authenticate(context, request, ALLOW_HELD, caller, response);
}

int
device_authenticate_any_status(const struct device_context *context,
                               const struct http_request *request,
                               struct device_caller *caller, struct http_response *response)
{
    return authenticate(context, request, ALLOW_SUSPENDED | ALLOW_LOCKED, caller, response);
}

int
device_authenticate_unlock(const struct device_context *context,
                           const struct http_request *request, struct device_caller *caller,
                           struct http_response *response)
{
    return authenticate(context, request, ALLOW_HELD | ALLOW_LOCKED, caller, response);
}

void
device_caller_clear(struct device_caller *caller)
{
    json_decref(caller->claims);
    memset(caller, 0, sizeof *caller);
}

/* ── GET /v1/me/devices ────────────────────────────────────────────────── */

struct device_list {
    json_t *devices;
    const char *current;
};

static int
add_device(void *context, const struct store_device *device)
{
    struct device_list *list = context;
    const char *reason = NULL;
    if (device->revocation_reason >= 0)
        reason = pki_reason_name(device->revocation_reason);
    json_t *entry = json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:o, s:b, s:b}", "serial", device->serial, "status",
        device->status, "created_at", (json_int_t)device->created_at, "not_after",
        (json_int_t)device->not_after, "revoked_at",
        device->revoked_at ? json_integer(device->revoked_at) : json_null(),
        "revocation_reason", reason ? json_string(reason) : json_null(), "current",
        strcmp(device->serial, list->current) == 0, "on_hold",
        device->issuer_held_at != 0 && strcmp(device->status, STORE_DEVICE_ACTIVE) == 0);
    if (entry == NULL || json_array_append_new(list->devices, entry) != 0)
        return -1;
    return 0;
}

int
device_list_handle(const struct device_context *context,
                   const struct http_request *request, struct http_response *response)
{
    struct device_caller caller;
    int status = device_authenticate(context, request, &caller, response);
    if (status != 0)
        return status < 0 ? -1 : 0;
    struct device_list list = {json_array(), caller.serial};
    struct store_conn *conn = store_acquire(context->store);
    int ok = list.devices != NULL &&
             store_device_each(conn, caller.web_number, add_device, &list) == 0;
    store_release(context->store, conn);
    if (ok)
        ok = http_respond_json(response, 200,
                               json_pack("{s:s, s:O}", "web_number", caller.web_number,
                                         "devices", list.devices)) == 0;
    json_decref(list.devices);
    device_caller_clear(&caller);
    return ok ? 0 : -1;
}

/* ── POST /v1/me/devices/{serial}/revoke ───────────────────────────────── */

int
device_revoke_handle(const struct device_context *context,
                     const struct http_request *request, struct http_response *response)
{
    struct device_caller caller;
    int status = device_authenticate(context, request, &caller, response);
    if (status != 0)
        return status < 0 ? -1 : 0;
    const char *serial = request->params[0];
    const json_t *reason_value = json_object_get(request->json, "reason");
    const char *reason_name = "cessation_of_operation";
    if (reason_value != NULL) {
        reason_name = json_string_value(reason_value);
        if (reason_name == NULL || pki_reason_code(reason_name) < 0) {
            device_caller_clear(&caller);
            return http_respond_error(response, 400, "invalid_request",
                                      "reason must be one of unspecified, "
                                      "key_compromise, superseded, "
                                      "cessation_of_operation");
        }
    }
    int reason = pki_reason_code(reason_name);
    int64_t now = (int64_t)time(NULL);
    struct store_conn *conn = store_acquire(context->store);
    int changed = 0, result = -1;
    char actor[STORE_WEB_NUMBER_MAX + 16];
    snprintf(actor, sizeof actor, "citizen:%s", caller.web_number);
    json_t *details = json_pack("{s:s, s:s}", "serial", serial, "reason", reason_name);
    if (details == NULL || store_begin(conn) != 0)
        goto done;
    if (store_device_revoke(conn, serial, caller.web_number, now, reason, &changed) != 0)
        goto fail;
    if (!changed) {
        store_rollback(conn);
        result = http_respond_error(response, 404, "not_found",
                                    "no active device with this serial on your "
                                    "identity");
        goto done;
    }
    if (audit_append_citizen(conn, context->signer, actor, "device.revoke", caller.web_number,
                             details, NULL) != 0 ||
        store_commit(conn) != 0)
        goto fail;
    result = http_respond_json(response, 200,
                               json_pack("{s:s, s:s}", "serial", serial, "status",
                                         STORE_DEVICE_REVOKED));
    goto done;
fail:
    log_event(LOG_ERROR, "device_revoke_failed", "{s:s}", "error",
              store_last_error(conn));
    store_rollback(conn);
done:
    json_decref(details);
    store_release(context->store, conn);
    device_caller_clear(&caller);
    return result;
}
