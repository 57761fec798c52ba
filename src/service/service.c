/* service: opening the data folder and the route table; see service.h. */
#include "service/service.h"

#include "enroll/challenge.h"
#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

int
service_open(const char *data_dir, unsigned connections, struct service *service,
             char *err, size_t errlen)
{
    memset(service, 0, sizeof *service);
    if (config_load(data_dir, &service->config, err, errlen) != 0)
        return -1;
    if (signer_open(service->config.keys_dir, &service->signer, err, errlen) != 0)
        return -1;
    if (store_open(service->config.database, connections, 1, &service->store,
                   err, errlen) != 0) {
        signer_close(service->signer);
        service->signer = NULL;
        return -1;
    }
    return 0;
}

void
service_close(struct service *service)
{
    store_close(service->store);
    signer_close(service->signer);
    memset(service, 0, sizeof *service);
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
    if (!ok)
        return http_respond_json(response, 503,
                                 json_pack("{s:s, s:s}", "status", "unavailable",
                                           "database", "unreachable"));
    return http_respond_json(response, 200,
                             json_pack("{s:s, s:s, s:I}", "status", "ok",
                                       "database", "ok", "schema_version",
                                       (json_int_t)version));
}

/* GET /metrics: Prometheus text. */
static int
metrics(void *app, const struct http_request *request,
        struct http_response *response)
{
    (void)app;
    char *text = http_server_metrics(request->server);
    if (text == NULL)
        return -1;
    int status = http_respond_bytes(response, 200,
                                    "text/plain; version=0.0.4; charset=utf-8",
                                    text, strlen(text));
    free(text);
    return status;
}

/* POST /v1/enroll/challenge */
static int
enroll_challenge(void *app, const struct http_request *request,
                 struct http_response *response)
{
    struct service *service = app;
    return challenge_handle(service->store, request, response);
}

static const struct http_route routes[] = {
    {"GET", "/healthz", HTTP_BODY_NONE, 0, health},
    {"GET", "/metrics", HTTP_BODY_NONE, 0, metrics},
    {"POST", "/v1/enroll/challenge", HTTP_BODY_JSON, CHALLENGE_BODY_LIMIT,
     enroll_challenge},
};

const struct http_route *
service_routes(size_t *count)
{
    *count = sizeof routes / sizeof *routes;
    return routes;
}
