/* service: opening the data folder and the route table; see service.h. */
#include "service/service.h"

#include "enroll/challenge.h"
#include "enroll/registry.h"
#include "enroll/appeal.h"
#include "enroll/rekey.h"
#include "audit/log.h"
#include "util/counters.h"
#include "util/encoding.h"
#include "enroll/identity.h"
#include "util/log.h"
#include "util/strings.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
service_open_with_signer(const char *data_dir, unsigned connections,
                         const struct signer_options *process, struct service *service,
                         char *err, size_t errlen)
{
    memset(service, 0, sizeof *service);
    if (config_load(data_dir, &service->config, err, errlen) != 0)
        return -1;
    int started;
    if (process != NULL) {
        struct signer_options options = *process;
        options.keys_dir = service->config.keys_dir;
        options.pki_dir = service->config.pki_dir;
        started = signer_start(&options, &service->signer, err, errlen);
    } else {
        /* An offline command holds the keys itself: the opening limit,
         * which bounds what a network process gone bad could read through
         * a signer process, would only stop `cyberid log verify` (which
         * opens every sealed event) on a large log. */
        struct signer_options options = {.keys_dir = service->config.keys_dir,
                                         .pki_dir = service->config.pki_dir,
                                         .opens_per_minute = UINT_MAX};
        started = signer_open_local(&options, &service->signer, err, errlen);
    }
    if (started != 0)
        return -1;
    if (store_open(service->config.database, connections, 1, &service->store,
                   err, errlen) != 0) {
        signer_close(service->signer);
        service->signer = NULL;
        return -1;
    }
    return 0;
}

int
service_open(const char *data_dir, unsigned connections, struct service *service,
             char *err, size_t errlen)
{
    return service_open_with_signer(data_dir, connections, NULL, service, err, errlen);
}

int
service_load_face(struct service *service, const char *models_dir, char *err,
                  size_t errlen)
{
    char face_err[FACE_ERROR_LEN];
    if (face_engine_load(&service->face, models_dir, face_err, sizeof face_err) !=
        FACE_OK)
        return error_set(err, errlen, "face models in %s: %s", models_dir, face_err);
    return 0;
}

/* A limit of per_second (a minute's worth at once, at least 10), or none
 * (NULL) for 0. 0 or -1. */
static int
limit_new(double per_second, struct rate **out)
{
    *out = NULL;
    if (per_second <= 0)
        return 0;
    double burst = 60 * per_second;
    *out = rate_new(per_second, burst > 10 ? burst : 10);
    return *out != NULL ? 0 : -1;
}

int
service_start_serving(struct service *service, const char *issuer, char *err,
                      size_t errlen)
{
    if (service->face == NULL)
        return error_set(err, errlen, "the face engine is not loaded");
    if ((strncmp(issuer, "http://", 7) != 0 && strncmp(issuer, "https://", 8) != 0) ||
        string_copy(service->issuer, sizeof service->issuer, issuer) != 0)
        return error_set(err, errlen, "--issuer must be an http(s) URL of at most %d "
                         "characters", SERVICE_ISSUER_MAX - 1);
    size_t length = strlen(service->issuer);
    if (length > 0 && service->issuer[length - 1] == '/')
        service->issuer[length - 1] = '\0';
    char ocsp_url[PKI_URL_MAX], crl_url[PKI_URL_MAX];
    if (string_format(ocsp_url, sizeof ocsp_url, "%s/ocsp", service->issuer) != 0 ||
        string_format(crl_url, sizeof crl_url, "%s/crl", service->issuer) != 0)
        return error_set(err, errlen, "--issuer is too long");
    if (signer_configure(service->signer, service->issuer, ocsp_url, crl_url) != 0)
        return error_set(err, errlen, "the signer refused the issuer %s", service->issuer);
    if (pki_open(service->config.pki_dir, service->signer, ocsp_url, crl_url,
                 &service->pki, err, errlen) != 0)
        return -1;
    /* Every generation this node knows has its row (hold, CRL): one made
     * by `cyberid ca rotate` on another node's folder gets it here too. */
    struct store_conn *conn = store_acquire(service->store);
    int ensured = 0;
    for (unsigned g = 1; g <= pki_generations(service->pki) && ensured == 0; g++)
        ensured = store_issuer_ensure(conn, g);
    if (ensured != 0)
        error_set(err, errlen, "cannot record the issuing CA generations: %s",
                  store_last_error(conn));
    store_release(service->store, conn);
    if (ensured != 0)
        return -1;
    /* A serving process reads the client's platform at every /authorize
     * and every client authentication, and the token keys at every ID
     * token; it keeps both, told of each change by the database or, on
     * SQLite, by a file beside it (store.h). */
    if (store_config_cache_start(service->store, err, errlen) != 0)
        return -1;
    /* As many face checks at once as there are cores: they are CPU-bound,
     * more would only hold more images in memory. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    service->enroll_gate = enroll_gate_new(cores > 0 ? (unsigned)cores : 1);
    if (service->enroll_gate == NULL)
        return error_set(err, errlen, "out of memory");
    if (limit_new(service->limits.authorize_per_address,
                  &service->authorize_per_address) != 0 ||
        limit_new(service->limits.authorize_per_platform,
                  &service->authorize_per_platform) != 0 ||
        limit_new(service->limits.challenges_per_address,
                  &service->challenges_per_address) != 0)
        return error_set(err, errlen, "out of memory");
    service->registry_decoy = registry_decoy_new(service->signer);
    if (service->registry_decoy == NULL)
        return error_set(err, errlen, "cannot seal the registry's decoy record");
    service->enroll = (struct enroll_context){
        .store = service->store, .signer = service->signer,
        .face = service->face, .pki = service->pki, .gate = service->enroll_gate,
        .decoy = service->registry_decoy};
    service->device = (struct device_context){
        .store = service->store, .signer = service->signer, .pki = service->pki, .issuer = service->issuer};
    service->oidc = (struct oidc_context){
        .store = service->store, .signer = service->signer,
        .device = &service->device, .issuer = service->issuer,
        .authorize_per_address = service->authorize_per_address,
        .authorize_per_platform = service->authorize_per_platform,
        .default_lang = service->default_lang};
    atomic_store_explicit(&service->serving, 1, memory_order_release);
    return 0;
}

void
service_close(struct service *service)
{
    pki_close(service->pki);
    enroll_gate_free(service->enroll_gate);
    registry_decoy_free(service->registry_decoy);
    rate_free(service->authorize_per_address);
    rate_free(service->authorize_per_platform);
    rate_free(service->challenges_per_address);
    face_engine_free(service->face);
    store_close(service->store);
    signer_close(service->signer);
    memset(service, 0, sizeof *service);
}

/* The service if it is ready for routes that need the CA and the face
 * engine, else NULL after answering 503. */
static struct service *
serving(void *app, struct http_response *response)
{
    struct service *service = app;
    if (atomic_load_explicit(&service->serving, memory_order_acquire))
        return service;
    (void)http_respond_error(response, 503, "temporarily_unavailable",
                            "the service is starting up");
    return NULL;
}

int
service_unavailable(void *app, unsigned *retry_after)
{
    (void)app;
    /* Both flags are taken: each is this thread's, for this request. */
    int store = store_outage_take(), signer = signer_outage_take();
    if (!store && !signer)
        return 0;
    *retry_after = STORE_RETRY_AFTER_SECONDS;
    return 1;
}

/* The signer's counters in Prometheus text, malloc'd; "" when it does
 * not answer (the scrape still gets everything else). */
static char *
signer_metrics(struct signer *signer)
{
    struct signer_stats stats;
    size_t cap = 8192, at = 0;
    char *text = malloc(cap);
    if (text == NULL)
        return NULL;
    text[0] = '\0';
    if (signer == NULL || signer_stats(signer, &stats) != 0)
        return text;
    at += (size_t)snprintf(text + at, cap - at,
                           "# HELP cyberid_signer_operations_total Operations of the signer "
                           "process, by operation and result.\n"
                           "# TYPE cyberid_signer_operations_total counter\n");
    for (unsigned i = 0; i < SIGNER_STATS_OPS && at < cap; i++) {
        const char *name = signer_stats_name(i);
        if (name[0] == '\0')
            continue;
        at += (size_t)snprintf(text + at, cap - at,
                               "cyberid_signer_operations_total{operation=\"%s\",result=\"done\"} %llu\n"
                               "cyberid_signer_operations_total{operation=\"%s\",result=\"refused\"} %llu\n",
                               name, (unsigned long long)stats.done[i], name,
                               (unsigned long long)stats.refused[i]);
    }
    if (at < cap)
        snprintf(text + at, cap - at,
                 "# HELP cyberid_signer_record_opens_limited_total Record openings the "
                 "signer refused over its per-minute limit.\n"
                 "# TYPE cyberid_signer_record_opens_limited_total counter\n"
                 "cyberid_signer_record_opens_limited_total %llu\n"
                 "# HELP cyberid_signer_restarts_total Times the signer process was "
                 "started again after it died.\n"
                 "# TYPE cyberid_signer_restarts_total counter\n"
                 "cyberid_signer_restarts_total %llu\n",
                 (unsigned long long)stats.limited, (unsigned long long)stats.restarts);
    return text;
}

/* GET /healthz: 200 when the database answers, 503 when it does not. */
static int
health(void *app, const struct http_request *request,
       struct http_response *response)
{
    (void)request;
    struct service *service = app;
    struct store_conn *conn = store_acquire(service->store);
    int64_t version = 0;
    int ok = store_schema_version(conn, &version) == 0;
    store_release(service->store, conn);
    (void)store_outage_take();
    if (!ok)
        return http_response_add_header(response, "Retry-After",
                                        STORE_RETRY_AFTER_TEXT) != 0
                   ? -1
                   : http_respond_json(response, 503,
                                       json_pack("{s:s, s:s, s:s}", "status",
                                                 "unavailable", "database", "unreachable",
                                                 "backend",
                                                 store_backend(service->store)));
    return http_respond_json(response, 200,
                             json_pack("{s:s, s:s, s:s, s:I}", "status", "ok",
                                       "database", "ok", "backend",
                                       store_backend(service->store), "schema_version",
                                       (json_int_t)version));
}

/* GET /metrics: Prometheus text. */
static int
metrics(void *app, const struct http_request *request,
        struct http_response *response)
{
    struct service *service = app;
    char *requests = http_server_metrics(request->server);
    char *counters = counters_render();
    char *signer = signer_metrics(service->signer);
    int status = -1;
    size_t first = requests ? strlen(requests) : 0, second = counters ? strlen(counters) : 0,
           third = signer ? strlen(signer) : 0;
    char *text = requests && counters && signer ? malloc(first + second + third + 1) : NULL;
    if (text != NULL) {
        memcpy(text, requests, first);
        memcpy(text + first, counters, second);
        memcpy(text + first + second, signer, third + 1);
        status = http_respond_bytes(response, 200, "text/plain; version=0.0.4; charset=utf-8",
                                    text, first + second + third);
        free(text);
    }
    free(requests);
    free(counters);
    free(signer);
    return status;
}

/* POST /v1/enroll/challenge */
static int
enroll_challenge(void *app, const struct http_request *request,
                 struct http_response *response)
{
    struct service *service = app;
    return challenge_handle(service->store, service->challenges_per_address, request,
                            response);
}

/* POST /v1/enroll */
static int
enroll(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    return service ? enroll_handle(&service->enroll, request, response) : 0;
}

/* POST /v1/me/rekey */
static int
rekey(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    return service ? rekey_handle(&service->enroll, &service->device, request, response) : 0;
}

/* POST /v1/me/unlock */
static int
unlock(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    return service ? unlock_handle(&service->enroll, &service->device, request, response) : 0;
}

/* POST /v1/me/lock and /v1/me/deactivate: the citizen's own acts on the
 * identity (enroll/identity.h). */
static int
citizen_act(void *app, const struct http_request *request, struct http_response *response,
            int deactivate)
{
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    struct device_caller caller;
    int authenticated = device_authenticate(&service->device, request, &caller, response);
    if (authenticated != 0)
        return authenticated < 0 ? -1 : 0;
    char actor[STORE_WEB_NUMBER_MAX + 16], err[256];
    snprintf(actor, sizeof actor, "citizen:%s", caller.web_number);
    int changed = 0;
    int64_t devices_revoked = 0;
    int status = deactivate ? identity_deactivate(service->store, service->signer,
                                                  caller.web_number, actor, &changed,
                                                  &devices_revoked, err, sizeof err)
                            : identity_lock(service->store, service->signer, caller.web_number,
                                            actor, &changed, err, sizeof err);
    char web_number[STORE_WEB_NUMBER_MAX];
    memcpy(web_number, caller.web_number, sizeof web_number);
    device_caller_clear(&caller);
    if (status != 0) {
        log_event(LOG_ERROR, deactivate ? "deactivate_failed" : "lock_failed", "{s:s}",
                  "error", err);
        return -1;
    }
    /* Authenticated means active: only a change made meanwhile (another
     * device of the same identity) leaves nothing to do. */
    if (!changed)
        return http_respond_error(response, 409, "identity_not_active",
                                  "this identity changed meanwhile: see cyberid-app status");
    return http_respond_json(
        response, 200,
        deactivate ? json_pack("{s:s, s:s, s:I}", "web_number", web_number, "status",
                               STORE_IDENTITY_DEACTIVATED, "devices_revoked",
                               (json_int_t)devices_revoked)
                   : json_pack("{s:s, s:s}", "web_number", web_number, "status",
                               STORE_IDENTITY_LOCKED));
}

static int
lock_route(void *app, const struct http_request *request, struct http_response *response)
{
    return citizen_act(app, request, response, 0);
}

static int
deactivate_route(void *app, const struct http_request *request, struct http_response *response)
{
    return citizen_act(app, request, response, 1);
}

/* Each entry naming a platform (details.client_id) gets its registered
 * name, "platform_name", for the table a person reads (the name is not
 * part of the event: a platform renamed later shows its name of today).
 * 0 or -1. */
static int
name_platforms(struct store_conn *conn, json_t *entries)
{
    json_t *names = json_object();
    if (names == NULL)
        return -1;
    int status = 0;
    for (size_t i = 0; status == 0 && i < json_array_size(entries); i++) {
        json_t *entry = json_array_get(entries, i);
        const char *client_id =
            json_string_value(json_object_get(json_object_get(entry, "details"), "client_id"));
        if (client_id == NULL)
            continue;
        json_t *name = json_object_get(names, client_id);
        if (name == NULL) {
            struct store_platform platform;
            int found = 0;
            if (store_platform_get(conn, client_id, &platform, &found) != 0) {
                status = -1;
                break;
            }
            name = found ? json_string(platform.name) : json_null();
            if (found)
                store_platform_clear(&platform);
            if (name == NULL || json_object_set_new(names, client_id, name) != 0) {
                status = -1;
                break;
            }
        }
        if (json_is_string(name) && json_object_set(entry, "platform_name", name) != 0)
            status = -1;
    }
    json_decref(names);
    return status;
}

/* GET /v1/me/history[?since=N]: the citizen's events from the
 * transparency log, each with its inclusion proof (audit/log.h); since:
 * the size of the checkpoint the app saw last, for a consistency proof. */
static int
history(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    int64_t since = 0;
    const char *since_text = http_request_query(request, "since");
    long long value = 0;
    if (since_text != NULL) {
        if (parse_integer(since_text, 0, INT64_MAX, &value) != 0)
            return http_respond_error(response, 400, "invalid_request",
                                      "since must be a tree size (a whole number)");
        since = value;
    }
    struct device_caller caller;
    int authenticated = device_authenticate(&service->device, request, &caller, response);
    if (authenticated != 0)
        return authenticated < 0 ? -1 : 0;
    char origin[SIGNER_LOG_ORIGIN_MAX], vkey[SIGNER_LOG_VKEY_MAX];
    if (signer_log_key(service->signer, origin, vkey) != 0) {
        device_caller_clear(&caller);
        return http_respond_error(response, 404, "not_found",
                                  "this service keeps no signed log");
    }
    struct store_conn *conn = store_acquire(service->store);
    struct store_identity identity;
    int found = 0;
    json_t *answer = NULL;
    int status = store_identity_get(conn, caller.web_number, &identity, &found);
    char registry_subject[sizeof "registry:" + STORE_ID_MAX] = "";
    if (status == 0 && found)
        status = string_format(registry_subject, sizeof registry_subject, "registry:%s",
                               identity.person_id);
    const char *subjects[] = {caller.web_number, registry_subject};
    if (status == 0)
        status = log_history(conn, service->signer, subjects, registry_subject[0] ? 2 : 1, since,
                             &answer);
    if (status == 0 && name_platforms(conn, json_object_get(answer, "entries")) != 0) {
        json_decref(answer);
        answer = NULL;
        status = -1;
    }
    store_release(service->store, conn);
    device_caller_clear(&caller);
    if (status < 0)
        return -1;
    if (status > 0)
        return http_respond_error(response, 503, "temporarily_unavailable",
                                  "the log has no checkpoint yet: try again in a second");
    if (json_object_set_new(answer, "log_key", json_string(vkey)) != 0) {
        json_decref(answer);
        return -1;
    }
    return http_respond_json(response, 200, answer);
}

/* POST /v1/me/appeal */
static int
appeal_route(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    struct appeal_context context = {service->store, service->signer, &service->device};
    return appeal_file_handle(&context, request, response);
}

/* GET /v1/me/status: the identity's status and, while suspended, the
 * reason, legal basis and end (a suspended citizen can read it). */
static int
status_route(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    struct device_caller caller;
    int authenticated = device_authenticate_any_status(&service->device, request, &caller,
                                                       response);
    if (authenticated != 0)
        return authenticated < 0 ? -1 : 0;
    struct store_conn *conn = store_acquire(service->store);
    struct store_identity identity;
    int found = 0;
    int status = store_identity_get(conn, caller.web_number, &identity, &found);
    json_t *appeals = status == 0 ? appeal_list_own(conn, caller.web_number) : NULL;
    store_release(service->store, conn);
    device_caller_clear(&caller);
    if (status != 0 || !found || appeals == NULL) {
        json_decref(appeals);
        return -1;
    }
    int suspended = identity.suspended_until != 0;
    return http_respond_json(
        response, 200,
        json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "web_number", identity.web_number,
                  "status", identity.status, "reason",
                  identity.status_reason[0] ? json_string(identity.status_reason) : json_null(),
                  "legal_basis", suspended ? json_string(identity.legal_basis) : json_null(),
                  "since", suspended ? json_integer(identity.updated_at) : json_null(),
                  "until", suspended ? json_integer(identity.suspended_until) : json_null(),
                  "appeals", appeals));
}

/* GET /v1/me/devices */
static int
devices(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    return service ? device_list_handle(&service->device, request, response) : 0;
}

/* POST /v1/me/devices/{serial}/revoke */
static int
device_revoke(void *app, const struct http_request *request,
              struct http_response *response)
{
    struct service *service = serving(app, response);
    return service ? device_revoke_handle(&service->device, request, response) : 0;
}

/* GET /ca.pem */
static int
ca_chain(void *app, const struct http_request *request, struct http_response *response)
{
    (void)request;
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    const char *pem = pki_chain_pem(service->pki);
    return http_respond_bytes(response, 200, "application/x-pem-file", pem,
                              strlen(pem));
}

/* What OCSP and the CRL say of a device: revoked with its own time and
 * reason; else, while its issuing CA generation is held or its identity
 * suspended, revoked with certificateHold from the hold (the earlier of
 * the two); else good. */
static void
device_cert_status(const struct store_device *device, struct pki_cert_status *status)
{
    status->state = PKI_CERT_GOOD;
    if (strcmp(device->status, STORE_DEVICE_REVOKED) == 0) {
        status->state = PKI_CERT_REVOKED;
        status->revoked_at = device->revoked_at;
        status->reason = device->revocation_reason;
    } else if (device->issuer_held_at != 0 || device->identity_suspended_at != 0) {
        int64_t held = device->issuer_held_at, suspended = device->identity_suspended_at;
        status->state = PKI_CERT_REVOKED;
        status->revoked_at = held != 0 && (suspended == 0 || held < suspended) ? held
                                                                                : suspended;
        status->reason = pki_reason_code("certificate_hold");
    }
}

/* OCSP status lookup over the store; context is a store connection. A
 * serial of another generation than the CertID's is unknown. */
static int
ocsp_lookup(void *context, unsigned generation, const uint8_t *serial,
            size_t serial_length, struct pki_cert_status *status)
{
    memset(status, 0, sizeof *status);
    status->state = PKI_CERT_UNKNOWN;
    char hex[HEX_ENCODED_SIZE(PKI_SERIAL_BYTES)];
    if (serial_length != PKI_SERIAL_BYTES)
        return 0; /* not a serial we issue */
    if (hex_encode(serial, serial_length, hex, sizeof hex) != 0)
        return -1;
    struct store_device device;
    int found = 0;
    if (store_device_get(context, hex, NULL, &device, &found) != 0)
        return -1;
    if (found && device.issuer == (int64_t)generation)
        device_cert_status(&device, status);
    store_device_clear(&device);
    return 0;
}

/* Answers an OCSP request (DER) from either method. `cache` (GET only):
 * the RFC 5019 §6 headers for an answer anyone may reuse until its
 * nextUpdate; a request with a nonce gets a personal answer, not cached. */
static int
ocsp_answer(struct service *service, const uint8_t *body, size_t length, int cache,
            struct http_response *response)
{
    uint8_t *der = NULL;
    size_t der_length = 0;
    char err[256];
    int64_t now = (int64_t)time(NULL);
    struct store_conn *conn = store_acquire(service->store);
    int status = pki_ocsp_respond(service->pki, body, length, ocsp_lookup, conn, now,
                                  &der, &der_length, err, sizeof err);
    store_release(service->store, conn);
    if (status != 0) {
        log_event(LOG_ERROR, "ocsp_failed", "{s:s}", "error", err);
        return -1; /* 503 when the database is out of reach, else 500 */
    }
    if (cache && pki_ocsp_request_is_cacheable(body, length)) {
        uint8_t digest[SHA256_DIGEST_LENGTH];
        char hex[HEX_ENCODED_SIZE(16)], etag[48], control[96], modified[64], expires[64];
        SHA256(der, der_length, digest);
        if (hex_encode(digest, 16, hex, sizeof hex) != 0 ||
            string_format(etag, sizeof etag, "\"%s\"", hex) != 0 ||
            string_format(control, sizeof control,
                          "max-age=%d, public, no-transform, must-revalidate",
                          PKI_OCSP_VALIDITY_SECONDS) != 0 ||
            http_date(now, modified, sizeof modified) != 0 ||
            http_date(now + PKI_OCSP_VALIDITY_SECONDS, expires, sizeof expires) != 0 ||
            http_response_add_header(response, "Cache-Control", control) != 0 ||
            http_response_add_header(response, "Last-Modified", modified) != 0 ||
            http_response_add_header(response, "Expires", expires) != 0 ||
            http_response_add_header(response, "ETag", etag) != 0) {
            free(der);
            return -1;
        }
    }
    status = http_respond_bytes(response, 200, "application/ocsp-response", der, der_length);
    free(der);
    return status;
}

/* POST /ocsp (RFC 6960, DER in and out) */
static int
ocsp(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    return service ? ocsp_answer(service, request->body, request->body_length, 0, response)
                   : 0;
}

/* GET /ocsp/{base64 of the DER request} (RFC 6960 A.1, the RFC 5019
 * profile most relying software uses for small requests): the same answer
 * as POST, cacheable. A request that is not base64 gets what any
 * unreadable request gets: malformedRequest. */
static int
ocsp_get(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    uint8_t *der = NULL;
    size_t length = 0;
    const char *text = request->params[0];
    if (base64_decode_alloc(text, strlen(text), PKI_OCSP_REQUEST_MAX_BYTES, &der, &length) != 0) {
        der = NULL;
        length = 0;
    }
    int status = ocsp_answer(service, der ? der : (const uint8_t *)"", length, 1, response);
    free(der);
    return status;
}

struct revoked_list {
    struct pki_revoked *entries;
    size_t count;
    size_t capacity;
};

static int
collect_revoked(void *context, const struct store_device *device)
{
    struct revoked_list *list = context;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        struct pki_revoked *grown = realloc(list->entries, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        list->entries = grown;
        list->capacity = capacity;
    }
    struct pki_revoked *entry = &list->entries[list->count];
    struct pki_cert_status status;
    device_cert_status(device, &status);
    if (status.state != PKI_CERT_REVOKED)
        return 0;
    if (strlen(device->serial) != 2 * PKI_SERIAL_BYTES ||
        hex_decode(device->serial, entry->serial, PKI_SERIAL_BYTES) != 0)
        return -1;
    entry->revoked_at = status.revoked_at;
    entry->reason = status.reason;
    list->count++;
    return 0;
}

/* Builds generation's next CRL from its listed devices and stores it,
 * unless another node stored one first. 0 or -1. */
static int
crl_rebuild(struct service *service, struct store_conn *conn, unsigned generation,
            const struct store_crl *old, int64_t now)
{
    struct revoked_list list = {0};
    uint8_t *der = NULL;
    size_t length = 0;
    char err[256];
    int stored = 0;
    if (store_device_each_listed(conn, generation, now, collect_revoked, &list) != 0) {
        free(list.entries);
        return -1;
    }
    int status = pki_crl_build(service->pki, generation, list.entries, list.count,
                               old->number + 1, now, &der, &length, err, sizeof err);
    free(list.entries);
    if (status != 0) {
        log_event(LOG_ERROR, "crl_failed", "{s:s}", "error", err);
        return -1;
    }
    status = store_crl_put(conn, generation, old->number + 1, old->epoch, now, der, length,
                           &stored);
    free(der);
    if (status == 0 && stored)
        log_event(LOG_INFO, "crl_built", "{s:I, s:I, s:I}", "generation",
                  (json_int_t)generation, "number", (json_int_t)(old->number + 1),
                  "revoked", (json_int_t)list.count);
    return status;
}

/* GET /crl: the CRL every node serves, from the store. It is built anew
 * when a revocation has happened since (the epoch moved) or when it is
 * older than CRL_REFRESH_SECONDS, by whichever node is asked first; its
 * number is the stored one plus one, so it only grows, on every node.
 * Otherwise the stored bytes are served as they are: a flood of /crl
 * requests costs reads, not signatures. */
#define CRL_REFRESH_SECONDS 3600
static int
crl_answer(struct service *service, unsigned generation, struct http_response *response)
{
    int64_t now = (int64_t)time(NULL);
    struct store_crl current;
    int found = 0;
    struct store_conn *conn = store_acquire(service->store);
    int status = store_crl_get(conn, generation, &current, &found);
    if (status == 0 && !found) {
        store_release(service->store, conn);
        return http_respond_error(response, 404, "not_found",
                                  "no CRL for this issuing CA generation");
    }
    for (int attempt = 0; status == 0 && attempt < 3; attempt++) {
        if (current.der != NULL && current.built_epoch == current.epoch &&
            now < current.this_update + CRL_REFRESH_SECONDS && now >= current.this_update)
            break;
        int rebuilt = crl_rebuild(service, conn, generation, &current, now);
        store_crl_clear(&current);
        status = rebuilt != 0 ? -1 : store_crl_get(conn, generation, &current, &found);
    }
    store_release(service->store, conn);
    if (status != 0 || current.der == NULL) {
        store_crl_clear(&current);
        return -1; /* 503 when the database is out of reach, else 500 */
    }
    status = http_respond_bytes(response, 200, "application/pkix-crl", current.der,
                                current.der_length);
    store_crl_clear(&current);
    return status;
}

/* GET /crl: generation 1's CRL (the distribution point its certificates
 * name). */
static int
crl(void *app, const struct http_request *request, struct http_response *response)
{
    (void)request;
    struct service *service = serving(app, response);
    return service ? crl_answer(service, 1, response) : 0;
}

/* GET /crl/{generation}: the CRL of a later generation (`cyberid ca
 * rotate`), named in its certificates. */
static int
crl_generation(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    const char *text = request->params[0];
    char *end = NULL;
    unsigned long generation = strtoul(text, &end, 10);
    if (text[0] < '1' || text[0] > '9' || *end != '\0' ||
        generation > pki_generations(service->pki))
        return http_respond_error(response, 404, "not_found",
                                  "no CRL for this issuing CA generation");
    return crl_answer(service, (unsigned)generation, response);
}

/* ── The transparency log, read-only (C2SP tlog-tiles) ─────────────────── */

/* GET /log/checkpoint: the latest signed checkpoint (a C2SP signed note). */
static int
log_checkpoint(void *app, const struct http_request *request, struct http_response *response)
{
    (void)request;
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    struct store_log_checkpoint checkpoint;
    int found = 0;
    struct store_conn *conn = store_acquire(service->store);
    int status = store_log_latest_checkpoint(conn, &checkpoint, &found);
    store_release(service->store, conn);
    if (status != 0)
        return -1;
    if (!found)
        return http_respond_error(response, 404, "not_found", "the log has no checkpoint yet");
    return http_respond_bytes(response, 200, "text/plain; charset=utf-8", checkpoint.note,
                              strlen(checkpoint.note));
}

/* GET /log/key: the log's verifier key (C2SP note verifier key). */
static int
log_key(void *app, const struct http_request *request, struct http_response *response)
{
    (void)request;
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    char origin[SIGNER_LOG_ORIGIN_MAX], vkey[SIGNER_LOG_VKEY_MAX + 1];
    if (signer_log_key(service->signer, origin, vkey) != 0)
        return http_respond_error(response, 404, "not_found", "the log is not signed here");
    size_t length = strlen(vkey);
    vkey[length] = '\n';
    return http_respond_bytes(response, 200, "text/plain; charset=utf-8", vkey, length + 1);
}

/* The size of the latest checkpoint: tiles are served for it. 0 or -1. */
static int
log_signed_size(struct store_conn *conn, int64_t *size)
{
    struct store_log_checkpoint checkpoint;
    int found = 0;
    *size = 0;
    if (store_log_latest_checkpoint(conn, &checkpoint, &found) != 0)
        return -1;
    if (found)
        *size = checkpoint.size;
    return 0;
}

/* Full tiles never change: cacheable for good; partial ones grow. */
static int
log_tile_cache(struct http_response *response, int width)
{
    return http_response_add_header(response, "Cache-Control",
                                    width == TLOG_TILE_WIDTH
                                        ? "public, max-age=31536000, immutable"
                                        : "public, max-age=10");
}

struct entry_bundle {
    uint8_t *out;
    size_t length;
};

static int
add_entry(void *context, int64_t index, const uint8_t *commitment)
{
    (void)index;
    struct entry_bundle *bundle = context;
    /* C2SP tlog-tiles entry bundle: each entry's big-endian 16-bit length,
     * then its bytes (a commitment: 32). */
    bundle->out[bundle->length++] = 0;
    bundle->out[bundle->length++] = TLOG_HASH_BYTES;
    memcpy(bundle->out + bundle->length, commitment, TLOG_HASH_BYTES);
    bundle->length += TLOG_HASH_BYTES;
    return 0;
}

/* GET /log/tile/{L}/{N}[.p/{W}] and /log/tile/entries/{N}[.p/{W}]. */
static int
log_tile_route(void *app, const struct http_request *request, struct http_response *response)
{
    struct service *service = serving(app, response);
    if (service == NULL)
        return 0;
    const char *rest = request->params[0];
    int entries = strncmp(rest, "entries/", 8) == 0;
    char path[TLOG_TILE_PATH_MAX + 16];
    int level = 0, width = 0;
    int64_t n = 0;
    if (string_format(path, sizeof path, entries ? "tile/0/%s" : "tile/%s",
                      entries ? rest + 8 : rest) != 0 ||
        tlog_tile_parse(path, &level, &n, &width) != 0)
        return http_respond_error(response, 404, "not_found", "not a tile path");
    struct store_conn *conn = store_acquire(service->store);
    int64_t size = 0;
    int status = log_signed_size(conn, &size);
    static _Thread_local uint8_t tile[TLOG_TILE_WIDTH * (TLOG_HASH_BYTES + 2)];
    size_t length = 0;
    if (status == 0 && entries) {
        if (width > tlog_tile_width(0, n, size)) {
            status = 1;
        } else {
            struct entry_bundle bundle = {.out = tile};
            status = store_log_leaves(conn, n * TLOG_TILE_WIDTH, n * TLOG_TILE_WIDTH + width,
                                      add_entry, &bundle);
            length = bundle.length;
            if (status == 0 && length != (size_t)width * (TLOG_HASH_BYTES + 2))
                status = -1;
        }
    } else if (status == 0) {
        status = log_tile(conn, size, level, n, width, tile);
        length = (size_t)width * TLOG_HASH_BYTES;
    }
    store_release(service->store, conn);
    if (status < 0)
        return -1;
    if (status > 0)
        return http_respond_error(response, 404, "not_found",
                                  "no such tile in the log's latest checkpoint");
    if (log_tile_cache(response, width) != 0)
        return -1;
    return http_respond_bytes(response, 200, "application/octet-stream", tile, length);
}

/* The OpenID Connect provider's routes: each needs the issuer URL. */
#define OIDC_ROUTE(name, handler)                                              \
    static int name(void *app, const struct http_request *request,            \
                    struct http_response *response)                           \
    {                                                                          \
        struct service *service = serving(app, response);                      \
        return service ? handler(&service->oidc, request, response) : 0;       \
    }
OIDC_ROUTE(oidc_discovery, oidc_discovery_handle)
OIDC_ROUTE(oidc_jwks, oidc_jwks_handle)
OIDC_ROUTE(oidc_authorize, oidc_authorize_handle)
OIDC_ROUTE(oidc_authorize_status, oidc_authorize_status_handle)
OIDC_ROUTE(oidc_login_show, oidc_login_show_handle)
OIDC_ROUTE(oidc_login_approve, oidc_login_approve_handle)
OIDC_ROUTE(oidc_login_deny, oidc_login_deny_handle)
OIDC_ROUTE(oidc_token, oidc_token_handle)
OIDC_ROUTE(oidc_par, oidc_par_handle)
OIDC_ROUTE(oidc_userinfo, oidc_userinfo_handle)
OIDC_ROUTE(oidc_introspect, oidc_introspect_handle)
OIDC_ROUTE(oidc_revoke, oidc_revoke_handle)
OIDC_ROUTE(oidc_verify, oidc_verify_handle)
OIDC_ROUTE(oidc_consents, oidc_consents_handle)
OIDC_ROUTE(oidc_logout, oidc_logout_handle)
OIDC_ROUTE(oidc_consent_withdraw, oidc_consent_withdraw_handle)

static const struct http_route routes[] = {
    {"GET", "/healthz", HTTP_BODY_NONE, 0, health},
    {"GET", "/metrics", HTTP_BODY_NONE, 0, metrics},
    {"POST", "/v1/enroll/challenge", HTTP_BODY_JSON, CHALLENGE_BODY_LIMIT,
     enroll_challenge},
    {"POST", "/v1/enroll", HTTP_BODY_JSON, ENROLL_BODY_LIMIT, enroll},
    {"GET", "/v1/me/devices", HTTP_BODY_NONE, 0, devices},
    {"GET", "/v1/me/history", HTTP_BODY_NONE, 0, history},
    {"GET", "/v1/me/status", HTTP_BODY_NONE, 0, status_route},
    {"POST", "/v1/me/appeal", HTTP_BODY_JSON, APPEAL_BODY_LIMIT, appeal_route},
    {"POST", "/v1/me/rekey", HTTP_BODY_JSON, REKEY_BODY_LIMIT, rekey},
    {"POST", "/v1/me/unlock", HTTP_BODY_JSON, REKEY_BODY_LIMIT, unlock},
    {"POST", "/v1/me/lock", HTTP_BODY_ANY, 4096, lock_route},
    {"POST", "/v1/me/deactivate", HTTP_BODY_ANY, 4096, deactivate_route},
    {"GET", "/v1/me/consents", HTTP_BODY_NONE, 0, oidc_consents},
    {"GET", "/logout", HTTP_BODY_NONE, 0, oidc_logout},
    {"POST", "/logout", HTTP_BODY_ANY, 16384, oidc_logout},
    {"POST", "/v1/me/consents/{client_id}/withdraw", HTTP_BODY_ANY, 4096, oidc_consent_withdraw},
    {"POST", "/v1/me/devices/{serial}/revoke", HTTP_BODY_JSON, 4096, device_revoke},
    {"GET", "/ca.pem", HTTP_BODY_NONE, 0, ca_chain},
    {"POST", "/ocsp", HTTP_BODY_ANY, PKI_OCSP_REQUEST_MAX_BYTES, ocsp},
    {"GET", "/ocsp/{request...}", HTTP_BODY_NONE, 0, ocsp_get},
    {"GET", "/crl", HTTP_BODY_NONE, 0, crl},
    {"GET", "/crl/{generation}", HTTP_BODY_NONE, 0, crl_generation},
    {"GET", "/log/checkpoint", HTTP_BODY_NONE, 0, log_checkpoint},
    {"GET", "/log/key", HTTP_BODY_NONE, 0, log_key},
    {"GET", "/log/tile/{tile...}", HTTP_BODY_NONE, 0, log_tile_route},
    {"GET", "/.well-known/openid-configuration", HTTP_BODY_NONE, 0, oidc_discovery},
    /* RFC 8414 §3: the same metadata, where OAuth clients look. */
    {"GET", "/.well-known/oauth-authorization-server", HTTP_BODY_NONE, 0, oidc_discovery},
    {"GET", "/jwks.json", HTTP_BODY_NONE, 0, oidc_jwks},
    {"GET", "/authorize", HTTP_BODY_NONE, 0, oidc_authorize},
    {"GET", "/v1/authorize/status/{login_id}", HTTP_BODY_NONE, 0, oidc_authorize_status},
    {"GET", "/v1/login/{user_code}", HTTP_BODY_NONE, 0, oidc_login_show},
    {"POST", "/v1/login/{user_code}/approve", HTTP_BODY_JSON, 4096, oidc_login_approve},
    {"POST", "/v1/login/{user_code}/deny", HTTP_BODY_JSON, 4096, oidc_login_deny},
    {"POST", "/token", HTTP_BODY_FORM, OIDC_TOKEN_BODY_LIMIT, oidc_token},
    {"POST", "/par", HTTP_BODY_FORM, OIDC_TOKEN_BODY_LIMIT, oidc_par},
    {"GET", "/userinfo", HTTP_BODY_NONE, 0, oidc_userinfo},
    {"POST", "/userinfo", HTTP_BODY_ANY, OIDC_TOKEN_BODY_LIMIT, oidc_userinfo},
    {"POST", "/introspect", HTTP_BODY_FORM, OIDC_TOKEN_BODY_LIMIT, oidc_introspect},
    {"POST", "/revoke", HTTP_BODY_FORM, OIDC_TOKEN_BODY_LIMIT, oidc_revoke},
    {"POST", "/v1/verify", HTTP_BODY_JSON, OIDC_VERIFY_BODY_LIMIT, oidc_verify},
};

const struct http_route *
service_routes(size_t *count)
{
    *count = sizeof routes / sizeof *routes;
    return routes;
}
