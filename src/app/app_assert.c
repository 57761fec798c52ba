/* app_assert: `cyberid-app assert --audience CLIENT_ID [--nonce N]
 * [--release claim,...]`: prints the assertion a platform verifies with
 * POST /v1/verify (docs/api.md, "Direct verification"). No request is
 * sent: the citizen hands the assertion to the platform. */
#include "app/app.h"

#include "app/assertion.h"
#include "app/device_key.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
app_assert(const struct app_options *global, int argc, char **argv)
{
    static const struct option longs[] = {
        {"server", required_argument, NULL, 'S'},
        {"wallet", required_argument, NULL, 'W'},
        {"audience", required_argument, NULL, 'a'},
        {"nonce", required_argument, NULL, 'n'},
        {"release", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    struct app_options options = *global;
    const char *audience = NULL, *nonce = NULL, *release_option = NULL;
    char server[HTTP_CLIENT_URL_MAX], err[APP_ERROR_MAX];
    struct wallet wallet = {0};
    EVP_PKEY *key = NULL;
    json_t *release = NULL;
    char *token = NULL;
    int option, status;

    optind = 1;
    while ((option = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        if (option == 'S')
            options.server = optarg;
        else if (option == 'W')
            options.wallet = optarg;
        else if (option == 'a' && audience == NULL)
            audience = optarg;
        else if (option == 'n' && nonce == NULL)
            nonce = optarg;
        else if (option == 'r' && release_option == NULL)
            release_option = optarg;
        else {
            fprintf(stderr, "cyberid-app assert: unknown or repeated option, or a "
                    "missing value\n");
            return APP_EXIT_USAGE;
        }
    }
    if (optind != argc || audience == NULL || options.wallet == NULL) {
        fprintf(stderr, "cyberid-app assert: needs --wallet FILE and --audience "
                "CLIENT_ID, and takes no arguments\n");
        return APP_EXIT_USAGE;
    }
    if (!assertion_text_is_valid(audience) ||
        (nonce != NULL && !assertion_text_is_valid(nonce))) {
        fprintf(stderr, "cyberid-app assert: --audience and --nonce are 1 to %d "
                "characters with no control character\n", ASSERTION_TEXT_MAX);
        return APP_EXIT_USAGE;
    }
    if (release_option != NULL &&
        app_claim_list_parse(release_option, &release, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app assert: --release: %s\n", err);
        return APP_EXIT_USAGE;
    }
    /* The server URL is not signed; reading it still checks --server. */
    if ((status = app_open_wallet(&options, &wallet, server, sizeof(server))) != 0)
        goto cleanup;
    status = APP_EXIT_FAILED;
    if (device_key_from_pem(wallet.private_key, &key, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app assert: wallet %s: %s\n", options.wallet, err);
        goto cleanup;
    }
    if (assertion_create(key, wallet.certificate, audience, nonce, release,
                         time(NULL), &token, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app assert: %s\n", err);
        goto cleanup;
    }
    printf("%s\n", token);
    status = APP_EXIT_OK;
cleanup:
    free(token);
    EVP_PKEY_free(key);
    json_decref(release);
    wallet_clear(&wallet);
    return status;
}
