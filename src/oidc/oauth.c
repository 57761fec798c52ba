/* oauth: errors, credentials and hashes shared by the endpoints; see
 * oauth.h. */
#include "oidc/oauth.h"

#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#define CODE_LABEL "cyberid authorization code"

int
oauth_error(struct http_response *response, unsigned status, const char *code,
            const char *description, int basic_challenge)
{
    if (status == 401) {
        char challenge[128];
        if (basic_challenge ? string_copy(challenge, sizeof challenge,
                                          "Basic realm=\"cyberid\"") != 0
                            : string_format(challenge, sizeof challenge,
                                            "Bearer error=\"%s\"", code) != 0)
            return -1;
        if (http_response_add_header(response, "WWW-Authenticate", challenge) != 0)
            return -1;
    }
    return http_respond_error(response, status, code, description);
}

int
oauth_secret_new(char out[OAUTH_SECRET_SIZE])
{
    uint8_t bytes[OAUTH_SECRET_BYTES];
    _Static_assert(BASE64URL_ENCODED_SIZE(OAUTH_SECRET_BYTES) - 1 >= OAUTH_SECRET_CHARS,
                   "secret size");
    int status = RAND_bytes(bytes, sizeof bytes) == 1 &&
                         base64url_encode(bytes, sizeof bytes, out, OAUTH_SECRET_SIZE) == 0
                     ? 0
                     : -1;
    secret_wipe(bytes, sizeof bytes);
    if (status != 0)
        out[0] = '\0';
    return status;
}

void
oauth_hash(const char *text, uint8_t out[STORE_OIDC_HASH_BYTES])
{
    _Static_assert(STORE_OIDC_HASH_BYTES == SHA256_DIGEST_LENGTH, "hash size");
    SHA256((const unsigned char *)text, strlen(text), out);
}

int
oauth_code_for_login(const char *login_id, char out[OAUTH_SECRET_SIZE])
{
    uint8_t mac[SHA256_DIGEST_LENGTH];
    unsigned int length = 0;
    int status = -1;
    if (HMAC(EVP_sha256(), login_id, (int)strlen(login_id),
             (const unsigned char *)CODE_LABEL, strlen(CODE_LABEL), mac,
             &length) != NULL &&
        length == sizeof mac &&
        base64url_encode(mac, sizeof mac, out, OAUTH_SECRET_SIZE) == 0)
        status = 0;
    secret_wipe(mac, sizeof mac);
    if (status != 0)
        out[0] = '\0';
    return status;
}

int
oauth_store_failed(struct store_conn *conn, const char *what,
                   struct http_response *response)
{
    log_event(LOG_ERROR, "oidc.store_failed", "{s:s, s:s}", "step", what, "error",
              conn ? store_last_error(conn) : "no connection");
    if (store_outage_take()) {
        /* The database is out of reach: a retry later may succeed. */
        if (http_response_add_header(response, "Retry-After",
                                     STORE_RETRY_AFTER_TEXT) != 0)
            return -1;
        return http_respond_error(response, 503, "temporarily_unavailable",
                                  "the service's database is unavailable; try again "
                                  "shortly");
    }
    return http_respond_error(response, 500, "server_error",
                              "the service could not complete the request");
}

const char *
oauth_bearer(const struct http_request *request)
{
    const char *header = http_request_header(request, "Authorization");
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    size_t length = strlen(token);
    return length > 0 && length <= OAUTH_CREDENTIAL_MAX ? token : NULL;
}
