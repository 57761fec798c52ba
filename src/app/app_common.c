/* app_common: what the commands share: the service URL, error printing,
 * authenticated device requests, usage; see app.h. */
#include "app/app.h"

#include "app/device_key.h"
#include "app/device_token.h"
#include "util/wipe_alloc.h"
#include "util/strings.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APP_DESCRIPTION_MAX 1024

void
app_usage(FILE *out)
{
    fputs(
        "usage: cyberid-app [--server URL] [--wallet FILE] [--lang en|zh] COMMAND [options]\n"
        "\n"
        "The reference citizen app of cyberid: enrolls this device, manages\n"
        "the devices of your identity and approves logins to platforms, over\n"
        "the service's HTTP API.\n"
        "\n"
        "  enroll --id NATIONAL_ID --name NAME --selfie IMAGE\n"
        "         --turn-left IMAGE --turn-right IMAGE\n"
        "      Asks the service for a challenge, makes a new P-256 device key and\n"
        "      certificate request, and sends your ID number, name, a frontal\n"
        "      selfie and the head-turn frame the service asked for. On success\n"
        "      writes the wallet (mode 0600; an existing wallet is replaced).\n"
        "      A phone would capture the turn frame after showing the prompt; this\n"
        "      command line takes both turn frames (your head turned to your own\n"
        "      left, and to your own right) up front and sends the one asked for.\n"
        "      Images: JPEG, PNG or WebP, at most 16 MiB each.\n"
        "  rekey --selfie IMAGE --turn-left IMAGE --turn-right IMAGE\n"
        "      Replaces this device's key and certificate: a new P-256 key, proved\n"
        "      by the wallet's key and a new face check (the same images as\n"
        "      enroll; no ID number). What a login refused with rekey_required\n"
        "      asks for: the authority that issued the old certificate was\n"
        "      suspended. On success the wallet holds the new key and certificate\n"
        "      and the old certificate is revoked (superseded).\n"
        "  status\n"
        "      Your identity's status; while it is suspended, since and until when,\n"
        "      the reason and the legal basis (readable while suspended), and your\n"
        "      appeals with their decisions.\n"
        "  lock\n"
        "      Locks your identity at once (a lost phone, say): every login and\n"
        "      every platform's token is refused, the platforms' tokens revoked.\n"
        "  unlock --selfie IMAGE --turn-left IMAGE --turn-right IMAGE\n"
        "      Unlocks it with a new face check (as rekey: this device gets a new\n"
        "      key and certificate).\n"
        "  consents [withdraw CLIENT_ID]\n"
        "      The platforms that hold a grant of yours (tokens), with the claims\n"
        "      released and until when; withdraw revokes one platform's tokens at\n"
        "      once (its next refresh or userinfo fails).\n"
        "  deactivate\n"
        "      Deactivates your identity: every device's certificate and every\n"
        "      platform's token revoked; it stays so until you enroll again (with\n"
        "      a face check).\n"
        "  appeal --text TEXT\n"
        "      Appeals against the suspension of your identity (your text is kept\n"
        "      sealed; the operator reads it, and that reading is in your history).\n"
        "  history [--json]\n"
        "      Your events from the service's transparency log, each checked\n"
        "      before it is shown: the log's signature (its key pinned in the\n"
        "      wallet at first use), that the log extends the one this wallet saw\n"
        "      last, and each event's inclusion proof. Prints a table (local\n"
        "      time, what, by whom), or with --json the verified entries; exit 1\n"
        "      with log_inconsistent when any check fails. With witnesses in the\n"
        "      wallet, the checkpoint must carry a valid cosignature of each, else\n"
        "      exit 1 with witness_missing.\n"
        "  witness add VKEY | remove VKEY | list\n"
        "      The witnesses (C2SP tlog-witness, e.g. cyberid-witness) whose\n"
        "      cosignature history requires, by verifier key (NAME+ID+BASE64, as\n"
        "      cyberid-witness init prints it; at most 8), kept in the wallet: a\n"
        "      witness cosigns a checkpoint only if it extends the one it cosigned\n"
        "      before, so a log shown to you alone is refused.\n"
        "  show\n"
        "      Prints the wallet's web number, serial, certificate and server\n"
        "      (never the private key).\n"
        "  devices\n"
        "      Lists the devices of your identity.\n"
        "  revoke-device SERIAL [--reason key_compromise]\n"
        "      Revokes one of your devices' certificates.\n"
        "  login CODE_OR_URL [--approve | --deny] [--release CLAIM,...]\n"
        "      A platform's login page shows a code (XXXX-XXXX, any case, hyphen\n"
        "      optional), a QR code of its login URL and a link cyberid://login?...;\n"
        "      give any. Shows the platform, the claims it asks for in words and\n"
        "      its purpose, then approves or denies as the flag says, or else asks\n"
        "      claim by claim whether to share it, then whether to approve\n"
        "      (y or n; a bare Enter asks again; no answer sends nothing and the\n"
        "      login stays pending, exit 1). --release gives away only the named\n"
        "      claims (naming one not asked is refused). Prints\n"
        "      {status, platform, released}.\n"
        "  open cyberid://login?server=URL&code=CODE [login's options]\n"
        "      What a phone does with the login page's \"open the app\" link:\n"
        "      login with that link.\n"
        "  assert --audience CLIENT_ID [--nonce N] [--release CLAIM,...]\n"
        "      Prints an assertion for one platform (valid 60 s, usable once):\n"
        "      the platform posts it to the service's /v1/verify and learns\n"
        "      your pseudonym for it and the released claims. No nonce: a\n"
        "      random one. No --release: no claim.\n"
        "\n"
        "Options:\n"
        "  --server URL   the service, e.g. http://127.0.0.1:8080 (after enroll,\n"
        "                 the wallet's server is the default)\n"
        "  --wallet FILE  the wallet file (required)\n"
        "  --lang en|zh   the language of what is said to you (history, status,\n"
        "                 consents, login: events, claims and actors in words, dates in\n"
        "                 local time); default: Chinese when LC_ALL, LC_MESSAGES\n"
        "                 or LANG starts with zh, else English\n"
        "  --help         this text\n"
        "\n"
        "Environment: CYBERID_CA_FILE names a PEM file of the CAs to trust for an\n"
        "https server, instead of the system's (a service with a CA of its own).\n"
        "\n"
        "Exit status: 0 done, 1 refused or failed (reason on stderr), 2 usage.\n",
        out);
}

int
app_server_url(const char *server, char *out, size_t cap, char *err,
               size_t errlen)
{
    size_t length, scheme;

    if (strncmp(server, "http://", 7) == 0)
        scheme = 7;
    else if (strncmp(server, "https://", 8) == 0)
        scheme = 8;
    else
        return error_set(err, errlen, "the server URL must start with http:// or https://");
    if (string_copy(out, cap, server) != 0)
        return error_set(err, errlen, "the server URL is too long");
    length = strlen(out);
    while (length > scheme && out[length - 1] == '/')
        out[--length] = '\0';
    if (length == scheme)
        return error_set(err, errlen, "the server URL has no host");
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)out[i] <= ' ' || out[i] == 0x7f || out[i] == '?' ||
            out[i] == '#')
            return error_set(err, errlen, "the server URL holds a space, control "
                             "character, query or fragment");
    return 0;
}

void
app_clean_text(const char *text, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; text[i] != '\0' && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)text[i];
        out[o++] = c < ' ' || c == 0x7f ? '?' : (char)c;
    }
    out[o] = '\0';
}

void
app_print_service_error(const char *what, const struct http_response *response)
{
    json_t *answer = json_loadb(response->body, response->length,
                                JSON_REJECT_DUPLICATES, NULL);
    const char *code = json_string_value(json_object_get(answer, "error"));
    const char *description =
        json_string_value(json_object_get(answer, "error_description"));
    char clean_code[APP_DESCRIPTION_MAX], clean_description[APP_DESCRIPTION_MAX];

    if (code != NULL) {
        app_clean_text(code, clean_code, sizeof(clean_code));
        app_clean_text(description ? description : "", clean_description,
                       sizeof(clean_description));
        fprintf(stderr, "%s: %s: %s (HTTP %ld)\n", what, clean_code,
                clean_description, response->status);
    } else {
        fprintf(stderr, "%s: the service answered HTTP %ld\n", what,
                response->status);
    }
    if (response->retry_after[0] != '\0')
        fprintf(stderr, "%s: try again in %s seconds\n", what,
                response->retry_after);
    json_decref(answer);
}

int
app_print_json_answer(const struct http_response *response)
{
    json_t *answer = json_loadb(response->body, response->length,
                                JSON_REJECT_DUPLICATES, NULL);
    char *text = answer ? json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    int status = APP_EXIT_FAILED;

    if (text == NULL) {
        fprintf(stderr, "the service's answer is not JSON\n");
    } else {
        printf("%s\n", text);
        status = APP_EXIT_OK;
    }
    wipe_free(text);
    json_decref(answer);
    return status;
}

int
app_claim_list_parse(const char *list, json_t **claims, char *err, size_t errlen)
{
    json_t *array = json_array();
    size_t i;
    json_t *seen;

    *claims = NULL;
    if (array == NULL)
        return error_set(err, errlen, "out of memory");
    for (const char *start = list; *list != '\0'; start += strcspn(start, ",") + 1) {
        size_t length = strcspn(start, ",");
        if (length == 0 || length > APP_CLAIM_NAME_MAX) {
            error_set(err, errlen, "a claim name is empty or longer than %d",
                      APP_CLAIM_NAME_MAX);
            goto fail;
        }
        if (strspn(start, "abcdefghijklmnopqrstuvwxyz0123456789_") < length) {
            error_set(err, errlen, "a claim name uses only a-z, 0-9 and _");
            goto fail;
        }
        if (json_array_size(array) == APP_CLAIMS_MAX) {
            error_set(err, errlen, "at most %d claims", APP_CLAIMS_MAX);
            goto fail;
        }
        json_array_foreach(array, i, seen)
            if (strlen(json_string_value(seen)) == length &&
                strncmp(json_string_value(seen), start, length) == 0) {
                error_set(err, errlen, "claim %.*s named twice", (int)length, start);
                goto fail;
            }
        if (json_array_append_new(array, json_stringn(start, length)) != 0) {
            error_set(err, errlen, "out of memory");
            goto fail;
        }
        if (start[length] == '\0')
            break;
    }
    *claims = array;
    return 0;
fail:
    json_decref(array);
    return -1;
}

int
app_open_wallet(const struct app_options *options, struct wallet *wallet,
                char *server, size_t cap)
{
    char err[APP_ERROR_MAX];

    memset(wallet, 0, sizeof(*wallet));
    if (options->wallet == NULL) {
        fprintf(stderr, "cyberid-app: --wallet FILE is required\n");
        return APP_EXIT_USAGE;
    }
    if (wallet_read(options->wallet, wallet, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app: %s\n", err);
        return APP_EXIT_FAILED;
    }
    if (app_server_url(options->server ? options->server : wallet->server,
                       server, cap, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app: %s\n", err);
        wallet_clear(wallet);
        return options->server ? APP_EXIT_USAGE : APP_EXIT_FAILED;
    }
    return 0;
}

int
app_device_request(const struct app_options *options, const char *method,
                   const char *path, const char *json_body,
                   struct http_response *response)
{
    return app_device_request_extra(options, method, path, NULL, json_body,
                                    response);
}

int
app_device_request_extra(const struct app_options *options, const char *method,
                         const char *path, json_t *extra, const char *json_body,
                         struct http_response *response)
{
    int status;
    struct wallet wallet = {0};
    EVP_PKEY *key = NULL;
    char *token = NULL;
    char server[HTTP_CLIENT_URL_MAX], url[HTTP_CLIENT_URL_MAX];
    char authorization[HTTP_CLIENT_HEADER_MAX];
    char err[APP_ERROR_MAX];

    memset(response, 0, sizeof(*response));
    status = app_open_wallet(options, &wallet, server, sizeof(server));
    if (status != 0)
        return status;
    status = APP_EXIT_FAILED;
    /* The token binds the path without its query (htu). */
    char htu[HTTP_CLIENT_URL_MAX];
    size_t path_length = strcspn(path, "?");
    if (string_format(url, sizeof(url), "%s%s", server, path) != 0 ||
        path_length >= sizeof htu) {
        fprintf(stderr, "cyberid-app: URL too long\n");
        goto cleanup;
    }
    memcpy(htu, path, path_length);
    htu[path_length] = '\0';
    if (device_key_from_pem(wallet.private_key, &key, err, sizeof(err)) != 0 ||
        device_token_create_extra(key, wallet.certificate, server, method, htu,
                                  time(NULL), extra, &token, err,
                                  sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app: wallet %s: %s\n", options->wallet, err);
        goto cleanup;
    }
    if (string_format(authorization, sizeof(authorization), "Device %s", token) != 0) {
        fprintf(stderr, "cyberid-app: device token too long\n");
        goto cleanup;
    }
    if (http_client_request(method, url, authorization, json_body, response,
                            err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app: %s\n", err);
        goto cleanup;
    }
    status = APP_EXIT_OK;
cleanup:
    free(token);
    EVP_PKEY_free(key);
    wallet_clear(&wallet);
    return status;
}
