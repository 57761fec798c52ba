/* cli_keys: `cyberid keys rotate|list --data DIR`: the ID token signing
 * keys (oidc/token_keys.h has the rules). A running `cyberid serve` sees a
 * rotation within milliseconds (the notification its commit sends):
 * nothing to restart. */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "audit/audit.h"
#include "oidc/token_keys.h"
#include "service/service.h"
#include "util/strings.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ACTIVATE_IN_MAX (366LL * 24 * 3600)

static const char keys_usage[] =
    "usage: cyberid keys rotate --data DIR [--activate-in SECONDS]\n"
    "       cyberid keys list --data DIR\n"
    "rotate makes a new ES256 key, published in /jwks.json at once and signing\n"
    "ID tokens SECONDS later (default 3600, so that platforms caching the JWKS\n"
    "see it before it signs); the key it replaces stays published 7200 s more,\n"
    "past the life of any token it signed. list prints every key with its state:\n"
    "next, signing, published (retired, still in the JWKS) or retired, and\n"
    "on_this_node: whether DIR/keys (or the data folder's PKCS#11 token) holds its\n"
    "private key. On more than one node, copy keys/token-KID.pem to every other\n"
    "node before it activates; until then they sign with the key before it. A\n"
    "key in a PKCS#11 token is made there and cannot be copied.\n";

int
cli_keys(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("keys", keys_usage, "rotate or list?");
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(keys_usage, stdout), 0;
    int rotate = strcmp(action, "rotate") == 0;
    if (!rotate && strcmp(action, "list") != 0)
        return cli_usage("keys", keys_usage, "unknown action %s (rotate or list)", action);
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"activate-in", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *activate_text = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'i': activate_text = optarg; break;
        case 'h': return fputs(keys_usage, stdout), 0;
        default: return cli_usage("keys", keys_usage, "an option is unknown or lacks its value");
        }
    }
    if (data_dir == NULL)
        return cli_usage("keys", keys_usage, "--data DIR is required");
    if (optind != argc - 1)
        return cli_usage("keys", keys_usage, "unexpected argument %s", argv[optind + 1]);
    if (!rotate && activate_text != NULL)
        return cli_usage("keys", keys_usage, "--activate-in goes with rotate only");
    long long activate_in = TOKEN_KEYS_DEFAULT_ACTIVATE_IN;
    if (activate_text != NULL &&
        parse_integer(activate_text, 0, ACTIVATE_IN_MAX, &activate_in) != 0)
        return cli_fail("keys", 2, "--activate-in takes seconds from 0 to %lld",
                        ACTIVATE_IN_MAX);

    char err[512];
    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0)
        return cli_fail("keys", 1, "%s", err);
    int status = 1;
    int64_t now = (int64_t)time(NULL);
    struct store_conn *conn = store_acquire(service.store);
    if (rotate) {
        char kid[SIGNER_KID_MAX + 1];
        if (token_keys_rotate(conn, service.signer, service.config.keys_dir, now,
                              activate_in,
                              AUDIT_ACTOR_OPERATOR, kid, err, sizeof err) != 0)
            cli_fail("keys", 1, "%s", err);
        else
            status = cli_print_json(json_pack("{s:s, s:I}", "kid", kid, "activates_at",
                                              (json_int_t)(now + activate_in))) == 0
                         ? 0
                         : 1;
    } else {
        json_t *list = NULL;
        if (token_keys_list(conn, service.signer, now, &list) != 0)
            cli_fail("keys", 1, "cannot read the keys: %s", store_last_error(conn));
        else
            status = cli_print_json(list) == 0 ? 0 : 1;
    }
    store_release(service.store, conn);
    service_close(&service);
    return status;
}
