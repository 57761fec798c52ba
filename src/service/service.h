/* service: what `cyberid serve` runs: the shared state every handler uses
 * (store pool, signer, configuration) and the table of HTTP routes. Each
 * part of DESIGN.md contributes its routes here as it arrives. */
#ifndef CYBERID_SERVICE_H
#define CYBERID_SERVICE_H

#include "config/config.h"
#include "http/http.h"
#include "signer/signer.h"
#include "store/store.h"

#include <stddef.h>

struct service {
    struct config config;
    struct store *store;
    struct signer *signer;
};

/* Opens the data folder: config, signer (keys), store (pool of
 * `connections`, migrated). Returns 0 or -1 with err; on failure nothing
 * stays open. */
int service_open(const char *data_dir, unsigned connections,
                 struct service *service, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Closes what service_open() opened. */
void service_close(struct service *service);

/* The routes `cyberid serve` answers; handlers take the struct service as
 * their app pointer. */
const struct http_route *service_routes(size_t *count);

#endif
