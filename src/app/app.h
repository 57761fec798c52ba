/* app: the sub-commands of cyberid-app, the reference citizen app, and
 * what they share. Each command takes the global options and its own
 * arguments (argv[0] is the command name) and returns the exit status:
 * 0 done, 1 refused or failed (message on stderr), 2 usage. */
#ifndef CYBERID_APP_H
#define CYBERID_APP_H

#include "app/http_client.h"
#include "app/wallet.h"
#include "app/words.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define APP_EXIT_OK 0
#define APP_EXIT_FAILED 1
#define APP_EXIT_USAGE 2

/* Largest image file read (selfie, turn frames). */
#define APP_IMAGE_MAX_BYTES (16 * 1024 * 1024)
/* The service's limit on an enrollment body (ENROLL_BODY_LIMIT). */
#define APP_ENROLL_BODY_LIMIT (24 * 1024 * 1024)
#define APP_ERROR_MAX 512
/* Claims named in one --release list, and the longest claim name. */
#define APP_CLAIMS_MAX 16
#define APP_CLAIM_NAME_MAX 64

struct app_options {
    const char *server; /* --server, or NULL: the wallet's */
    const char *wallet; /* --wallet */
    enum app_lang lang; /* --lang, else the environment's */
};

int app_enroll(const struct app_options *options, int argc, char **argv);
int app_rekey(const struct app_options *options, int argc, char **argv);
int app_history(const struct app_options *options, int argc, char **argv);
int app_witness(const struct app_options *options, int argc, char **argv);
int app_status(const struct app_options *options, int argc, char **argv);
int app_appeal(const struct app_options *options, int argc, char **argv);
int app_lock(const struct app_options *options, int argc, char **argv);
int app_unlock(const struct app_options *options, int argc, char **argv);
int app_consents(const struct app_options *options, int argc, char **argv);
int app_deactivate(const struct app_options *options, int argc, char **argv);
int app_show(const struct app_options *options, int argc, char **argv);
int app_devices(const struct app_options *options, int argc, char **argv);
int app_revoke_device(const struct app_options *options, int argc, char **argv);
int app_login(const struct app_options *options, int argc, char **argv);
int app_assert(const struct app_options *options, int argc, char **argv);

/* Writes the usage text to `out`. */
void app_usage(FILE *out);

/* Copies a service URL into out (capacity cap) without trailing slashes,
 * after checking it starts with http:// or https:// and has a host.
 * 0 or -1 with err. */
int app_server_url(const char *server, char *out, size_t cap, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* Copies text from the network into out (capacity cap, truncating),
 * replacing control characters with '?'. */
void app_clean_text(const char *text, char *out, size_t cap);

/* Parses a comma-separated claim list ("realname_verified,age_over_18")
 * into *claims, a new JSON array of strings: 1 to APP_CLAIMS_MAX names of
 * 1 to APP_CLAIM_NAME_MAX characters [a-z0-9_], none twice; "" is the
 * empty list. 0 or -1 with err (*claims then NULL). */
int app_claim_list_parse(const char *list, json_t **claims, char *err,
                         size_t errlen) __attribute__((warn_unused_result));

/* Prints "<what>: <error>: <error_description>" on stderr from a JSON
 * error answer (or the HTTP status when the answer is not one), with
 * control characters from the network replaced, and the Retry-After delay
 * when there is one. */
void app_print_service_error(const char *what, const struct http_response *response);

/* Sends an authenticated device request: reads the wallet, makes a device
 * token for (method, path) and sends it with the optional JSON body.
 * The answer is in *response (release with http_response_free).
 * Returns 0, or an exit status (1, or 2 for a usage problem) after
 * printing the reason. */
int app_device_request(const struct app_options *options, const char *method,
                       const char *path, const char *json_body,
                       struct http_response *response);

/* app_device_request whose device token also carries the members of
 * `extra` (a JSON object, NULL for none; see device_token_create_extra). */
int app_device_request_extra(const struct app_options *options,
                             const char *method, const char *path,
                             json_t *extra, const char *json_body,
                             struct http_response *response);

/* Reads the wallet named by options (--wallet required) into *wallet and
 * the service URL (--server, else the wallet's) into server (capacity
 * cap). Returns 0, or an exit status after printing the reason. */
int app_open_wallet(const struct app_options *options, struct wallet *wallet,
                    char *server, size_t cap);

/* Pretty-prints a JSON answer on stdout; 0, or 1 (with a message) when the
 * answer is not JSON. */
int app_print_json_answer(const struct http_response *response);

#endif
