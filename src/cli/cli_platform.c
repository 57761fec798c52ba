/* cli_platform: `cyberid platform add|list|disable|enable --data DIR`. */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "oidc/platform.h"
#include "service/service.h"
#include "util/file.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char platform_usage[] =
    "usage: cyberid platform add --data DIR --name NAME --redirect-uri URI\n"
    "                            [--redirect-uri URI …] [--claims a,b]\n"
    "                            [--legal-basis TEXT] [--sector-id ID]\n"
    "                            [--auth-method client_secret_basic|private_key_jwt]\n"
    "                            [--jwks FILE]\n"
    "       cyberid platform list --data DIR\n"
    "       cyberid platform disable|enable --data DIR CLIENT_ID\n"
    "Claims: realname_verified (default), age_over_14, age_over_18, birth_year,\n"
    "name and national_id (the last two need --legal-basis).\n";

int
cli_platform(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("platform", platform_usage, "add, list, disable or enable?");
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(platform_usage, stdout), 0;
    if (strcmp(action, "add") != 0 && strcmp(action, "list") != 0 &&
        strcmp(action, "disable") != 0 && strcmp(action, "enable") != 0)
        return cli_usage("platform", platform_usage,
                         "unknown action %s (add, list, disable or enable)", action);

    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"redirect-uri", required_argument, NULL, 'r'},
        {"claims", required_argument, NULL, 'c'},
        {"legal-basis", required_argument, NULL, 'b'},
        {"sector-id", required_argument, NULL, 's'},
        {"auth-method", required_argument, NULL, 'a'},
        {"jwks", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct platform_spec spec = {0};
    const char *data_dir = NULL;
    const char *jwks_file = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'n': spec.name = optarg; break;
        case 'r':
            if (spec.redirect_uri_count == PLATFORM_REDIRECT_URIS_MAX)
                return cli_fail("platform", 2, "at most %d --redirect-uri",
                                PLATFORM_REDIRECT_URIS_MAX);
            spec.redirect_uris[spec.redirect_uri_count++] = optarg;
            break;
        case 'c': spec.claims = optarg; break;
        case 'b': spec.legal_basis = optarg; break;
        case 's': spec.sector_id = optarg; break;
        case 'a': spec.auth_method = optarg; break;
        case 'j': jwks_file = optarg; break;
        case 'h': return fputs(platform_usage, stdout), 0;
        default: return cli_usage("platform", platform_usage, "an option is unknown or lacks its value");
        }
    }
    int positional = argc - 1 - optind;
    int wants_id = strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0;
    if (data_dir == NULL)
        return cli_usage("platform", platform_usage, "--data DIR is required");
    if (wants_id && positional == 0)
        return cli_usage("platform", platform_usage, "%s needs the CLIENT_ID", action);
    if (positional > (wants_id ? 1 : 0))
        return cli_usage("platform", platform_usage, "unexpected argument %s",
                         argv[argc - 1]);

    char err[512];
    uint8_t *jwks = NULL;
    size_t jwks_length = 0;
    if (jwks_file != NULL) {
        if (file_read(jwks_file, PLATFORM_JWKS_MAX_BYTES, &jwks, &jwks_length, err,
                      sizeof err) != 0)
            return cli_fail("platform", 1, "%s", err);
        spec.jwks = (const char *)jwks;
    }

    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0) {
        free(jwks);
        return cli_fail("platform", 1, "%s", err);
    }
    struct store_conn *conn = store_acquire(service.store);
    json_t *result = NULL;
    int status;
    if (strcmp(action, "add") == 0)
        status = platform_add(conn, &spec, &result, err, sizeof err);
    else if (strcmp(action, "list") == 0)
        status = platform_list(conn, &result, err, sizeof err);
    else {
        const char *client_id = argv[1 + optind];
        int disabled = strcmp(action, "disable") == 0;
        status = platform_set_disabled(conn, client_id, disabled, err, sizeof err);
        if (status == 0)
            result = json_pack("{s:s, s:b}", "client_id", client_id, "disabled",
                               disabled);
    }
    store_release(service.store, conn);
    service_close(&service);
    free(jwks);
    if (status != 0)
        return cli_fail("platform", 1, "%s", err);
    return cli_print_json(result) == 0 ? 0 : 1;
}
