/* service: what `cyberid serve` runs: the shared state every handler uses
 * (store pool, signer, configuration) and the table of HTTP routes. Each
 * part of DESIGN.md contributes its routes here as it arrives. */
#ifndef CYBERID_SERVICE_H
#define CYBERID_SERVICE_H

#include "config/config.h"
#include "enroll/device.h"
#include "enroll/enroll.h"
#include "face/face.h"
#include "http/http.h"
#include "oidc/oidc.h"
#include "pki/pki.h"
#include "signer/signer.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stddef.h>

#define SERVICE_ISSUER_MAX 512

/* What anonymous requests that leave a pending row may start on one node,
 * per second (a minute's worth at once, at least 10; 0: no limit):
 * logins per client address and per platform (/authorize), enrollment
 * challenges per client address. A client address is an IPv4 address or
 * an IPv6 /64. */
struct service_limits {
    double authorize_per_address;
    double authorize_per_platform;
    double challenges_per_address;
};
#define SERVICE_AUTHORIZE_PER_ADDRESS 5
#define SERVICE_AUTHORIZE_PER_PLATFORM 2000
#define SERVICE_CHALLENGES_PER_ADDRESS 1

struct service {
    struct config config;
    struct store *store;
    struct signer *signer;
    /* What only `cyberid serve` loads (service_start_serving()). */
    face_engine *face;
    struct pki *pki;
    char issuer[SERVICE_ISSUER_MAX];    /* no trailing slash */
    struct enroll_gate *enroll_gate;
    struct registry_decoy *registry_decoy;
    struct service_limits limits;  /* set before service_start_serving() */
    enum ui_lang default_lang;     /* the pages' default; set before it too */
    struct rate *authorize_per_address;
    struct rate *authorize_per_platform;
    struct rate *challenges_per_address;
    struct enroll_context enroll;
    struct device_context device;
    struct oidc_context oidc;
    /* Set (release) once everything above is in place; handlers that need
     * it read it (acquire) first and answer 503 until then: with port 0 the
     * issuer URL, which certificates carry, is known only after binding. */
    atomic_bool serving;
};

/* Opens the data folder: config, signer (keys, in this process: for the
 * offline commands), store (pool of `connections`, migrated). Returns 0
 * or -1 with err; on failure nothing stays open. */
int service_open(const char *data_dir, unsigned connections,
                 struct service *service, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* service_open() with the signer as a process of its own (signer_start;
 * the keys and pki folders come from the config, the rest from
 * `process`), started before the store is opened. */
int service_open_with_signer(const char *data_dir, unsigned connections,
                             const struct signer_options *process,
                             struct service *service, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Loads the face engine from models_dir. 0 or -1 with err. */
int service_load_face(struct service *service, const char *models_dir, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/* Sets the issuer URL (http(s)://host[:port], a trailing slash dropped),
 * opens the CA with its OCSP and CRL URLs under it, and marks the service
 * ready for the routes that need them. Call after service_load_face().
 * 0 or -1 with err. */
int service_start_serving(struct service *service, const char *issuer, char *err,
                          size_t errlen) __attribute__((warn_unused_result));

/* Closes what service_open() (and the two above) opened. */
void service_close(struct service *service);

/* The routes `cyberid serve` answers; handlers take the struct service as
 * their app pointer. */
const struct http_route *service_routes(size_t *count);

/* The HTTP server's `unavailable` hook: a handler that failed because the
 * database was out of reach gets 503 and Retry-After, not 500. */
int service_unavailable(void *app, unsigned *retry_after);

#endif
