/*
 * oidc_stubs.c: the store, HTTP and OAuth-answer functions that
 * src/oidc/client_auth.c calls from client_authenticate(), which the fuzz
 * targets never call (they drive client_basic_parse() and
 * client_assertion_check() only). Linking these instead of the store
 * keeps the targets free of SQLite; each aborts, so reaching one is a
 * finding in the harness itself.
 */
#include "http/http.h"
#include "oidc/oauth.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>

static void __attribute__((noreturn))
stub_reached(const char *name)
{
    fprintf(stderr, "fuzz stub %s reached\n", name);
    abort();
}

int
oauth_error(struct http_response *response, unsigned status, const char *code,
            const char *description, int basic_challenge)
{
    (void)response, (void)status, (void)code, (void)description, (void)basic_challenge;
    stub_reached("oauth_error");
}

int
store_platform_get(struct store_conn *conn, const char *client_id,
                   struct store_platform *out, int *found)
{
    (void)conn, (void)client_id, (void)out, (void)found;
    stub_reached("store_platform_get");
}

void
store_platform_clear(struct store_platform *platform)
{
    (void)platform;
    stub_reached("store_platform_clear");
}

int
store_token_use(struct store_conn *conn, const char *jti, int64_t expires_at,
                int64_t now, int *fresh)
{
    (void)conn, (void)jti, (void)expires_at, (void)now, (void)fresh;
    stub_reached("store_token_use");
}

const char *
http_request_header(const struct http_request *request, const char *name)
{
    (void)request, (void)name;
    stub_reached("http_request_header");
}
