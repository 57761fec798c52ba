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
#include <time.h>

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
oauth_token_new(char out[OAUTH_TOKEN_SIZE])
{
/* Characters of n bytes in base64url without padding. */
#define UNPADDED_CHARS(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
    _Static_assert(UNPADDED_CHARS(OAUTH_TOKEN_TIME_BYTES) == OAUTH_TOKEN_TIME_CHARS, "time part");
    _Static_assert(UNPADDED_CHARS(OAUTH_TOKEN_RANDOM_BYTES) == OAUTH_TOKEN_RANDOM_CHARS,
                   "random part");
#undef UNPADDED_CHARS
    struct timespec now;
    uint8_t time_bytes[OAUTH_TOKEN_TIME_BYTES], random[OAUTH_TOKEN_RANDOM_BYTES];
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t micros = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    for (size_t i = OAUTH_TOKEN_TIME_BYTES; i-- > 0; micros >>= 8)
        time_bytes[i] = (uint8_t)(micros & 0xff);
    int status = RAND_bytes(random, sizeof random) == 1 &&
                         base64url_encode(time_bytes, sizeof time_bytes, out,
                                          OAUTH_TOKEN_TIME_CHARS + 1) == 0 &&
                         base64url_encode(random, sizeof random, out + OAUTH_TOKEN_TIME_CHARS + 1,
                                          OAUTH_TOKEN_RANDOM_CHARS + 1) == 0
                     ? 0
                     : -1;
    out[OAUTH_TOKEN_TIME_CHARS] = '.';
    secret_wipe(random, sizeof random);
    if (status != 0)
        secret_wipe(out, OAUTH_TOKEN_SIZE);
    return status;
}

void
oauth_token_key(const char *token, uint8_t out[STORE_OIDC_HASH_BYTES])
{
    _Static_assert(STORE_OIDC_HASH_BYTES > OAUTH_TOKEN_TIME_BYTES, "key size");
    uint8_t digest[SHA256_DIGEST_LENGTH];
    uint8_t time_bytes[OAUTH_TOKEN_TIME_BYTES + 2];
    size_t length = strlen(token), decoded = 0;
    SHA256((const unsigned char *)token, length, digest);
    if (length == OAUTH_TOKEN_CHARS && token[OAUTH_TOKEN_TIME_CHARS] == '.' &&
        base64url_decode(token, OAUTH_TOKEN_TIME_CHARS, time_bytes, sizeof time_bytes,
                         &decoded) == 0 &&
        decoded == OAUTH_TOKEN_TIME_BYTES) {
        memcpy(out, time_bytes, OAUTH_TOKEN_TIME_BYTES);
        memcpy(out + OAUTH_TOKEN_TIME_BYTES, digest,
               STORE_OIDC_HASH_BYTES - OAUTH_TOKEN_TIME_BYTES);
    } else {
        memcpy(out, digest, STORE_OIDC_HASH_BYTES);
    }
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
