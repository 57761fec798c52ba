/* cli_identity: `cyberid identity show|revoke --data DIR WEB_NUMBER`, the
 * operator's acts on an identity. Each one is an audit event with the
 * actor "operator" (or --actor NAME: "operator:NAME"). */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "audit/audit.h"
#include "enroll/identity.h"
#include "enroll/web_number.h"
#include "service/service.h"
#include "util/strings.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char identity_usage[] =
    "usage: cyberid identity show --data DIR [--actor NAME] WEB_NUMBER\n"
    "       cyberid identity revoke --data DIR --reason CODE [--actor NAME] WEB_NUMBER\n"
    "show prints the identity's status and devices (no personal data); revoke\n"
    "ends the identity and revokes every certificate of it at once (OCSP, CRL).\n"
    "CODE is a reason code of [a-z0-9_], e.g. key_compromise, fraud, deceased.\n"
    "Both are written to the transparency log with the actor.\n";

int
cli_identity(int argc, char **argv)
{
    if (argc < 2)
        return fputs(identity_usage, stderr), 2;
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(identity_usage, stdout), 0;
    if (strcmp(action, "show") != 0 && strcmp(action, "revoke") != 0)
        return fputs(identity_usage, stderr), 2;
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"reason", required_argument, NULL, 'r'},
        {"actor", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *reason = NULL, *actor_name = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'r': reason = optarg; break;
        case 'a': actor_name = optarg; break;
        case 'h': return fputs(identity_usage, stdout), 0;
        default: return fputs(identity_usage, stderr), 2;
        }
    }
    int revoke = strcmp(action, "revoke") == 0;
    if (data_dir == NULL || optind + 1 != argc - 1 || (revoke && reason == NULL))
        return fputs(identity_usage, stderr), 2;
    char web_number[WEB_NUMBER_SIZE];
    if (web_number_normalize(argv[optind + 1], web_number) != 0)
        return cli_fail("identity", 2, "not a valid web number (16 characters, "
                        "check character)");
    char actor[96] = AUDIT_ACTOR_OPERATOR;
    if (actor_name != NULL &&
        (!identity_reason_is_valid(actor_name) ||
         string_format(actor, sizeof actor, AUDIT_ACTOR_OPERATOR ":%s", actor_name) != 0))
        return cli_fail("identity", 2, "--actor must be a name of [a-z0-9_]");
    if (revoke && !identity_reason_is_valid(reason))
        return cli_fail("identity", 2, "--reason must be a code of [a-z0-9_], at "
                        "most %d characters", IDENTITY_REASON_MAX);

    char err[512];
    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0)
        return cli_fail("identity", 1, "%s", err);
    int status = 1;
    if (!revoke) {
        json_t *shown = NULL;
        if (identity_show(service.store, web_number, actor, &shown, err,
                          sizeof err) != 0)
            cli_fail("identity", 1, "%s", err);
        else if (shown == NULL)
            cli_fail("identity", 1, "no identity with this web number");
        else
            status = cli_print_json(shown) == 0 ? 0 : 1;
    } else {
        int found = 0;
        int64_t devices = 0;
        if (identity_revoke(service.store, web_number, reason, actor, &found, &devices,
                            err, sizeof err) != 0)
            cli_fail("identity", 1, "%s", err);
        else if (!found)
            cli_fail("identity", 1, "no identity with this web number");
        else
            status = cli_print_json(json_pack("{s:s, s:s, s:s, s:I}", "web_number",
                                              web_number, "status", "revoked",
                                              "reason", reason, "devices_revoked",
                                              (json_int_t)devices)) == 0
                         ? 0
                         : 1;
    }
    service_close(&service);
    return status;
}
