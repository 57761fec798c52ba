/* cli_appeal: `cyberid appeal list|decide --data DIR`: the operator's side
 * of a citizen's appeal against a suspension (enroll/appeal.h). */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "audit/audit.h"
#include "enroll/appeal.h"
#include "enroll/identity.h"
#include "service/service.h"
#include "util/strings.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char appeal_usage[] =
    "usage: cyberid appeal list --data DIR [--actor NAME]\n"
    "       cyberid appeal decide --data DIR (--uphold | --overturn) --reason TEXT\n"
    "                             [--actor NAME] APPEAL_ID\n"
    "list prints the pending appeals with their texts; each reading is an audit\n"
    "event (appeal.read) of the citizen's identity, with the actor. decide upholds\n"
    "the suspension or overturns it, which reinstates the identity at once; the\n"
    "reason is kept and shown to the citizen (cyberid-app status), and the\n"
    "decision is an audit event (appeal.decided).\n";

int
cli_appeal(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("appeal", appeal_usage, "list or decide?");
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(appeal_usage, stdout), 0;
    int decide = strcmp(action, "decide") == 0;
    if (!decide && strcmp(action, "list") != 0)
        return cli_usage("appeal", appeal_usage, "unknown action %s (list or decide)", action);
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"actor", required_argument, NULL, 'a'},
        {"reason", required_argument, NULL, 'r'},
        {"uphold", no_argument, NULL, 'u'},
        {"overturn", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *actor_name = NULL, *reason = NULL;
    int uphold = 0, overturn = 0, option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'a': actor_name = optarg; break;
        case 'r': reason = optarg; break;
        case 'u': uphold = 1; break;
        case 'o': overturn = 1; break;
        case 'h': return fputs(appeal_usage, stdout), 0;
        default: return cli_usage("appeal", appeal_usage, "an option is unknown or lacks its value");
        }
    }
    if (data_dir == NULL)
        return cli_usage("appeal", appeal_usage, "--data DIR is required");
    const char *id = NULL;
    if (decide) {
        if (optind + 1 != argc - 1)
            return cli_usage("appeal", appeal_usage, "decide needs the APPEAL_ID");
        id = argv[optind + 1];
        if (uphold == overturn)
            return cli_usage("appeal", appeal_usage, "decide needs --uphold or --overturn");
        if (reason == NULL)
            return cli_usage("appeal", appeal_usage, "decide needs --reason TEXT");
    } else if (optind != argc - 1 || uphold || overturn || reason != NULL) {
        return cli_usage("appeal", appeal_usage, "list takes --data and --actor only");
    }
    char actor[96] = AUDIT_ACTOR_OPERATOR;
    if (actor_name != NULL &&
        (!identity_reason_is_valid(actor_name) ||
         string_format(actor, sizeof actor, AUDIT_ACTOR_OPERATOR ":%s", actor_name) != 0))
        return cli_fail("appeal", 2, "--actor must be a name of [a-z0-9_]");

    char err[512];
    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0)
        return cli_fail("appeal", 1, "%s", err);
    int status = 1;
    if (decide) {
        int found = 0, changed = 0;
        if (appeal_decide(service.store, service.signer, id, overturn, reason, actor, &found, &changed, err,
                          sizeof err) != 0)
            cli_fail("appeal", 1, "%s", err);
        else if (!found)
            cli_fail("appeal", 1, "no appeal %s", id);
        else if (!changed)
            cli_fail("appeal", 1, "appeal %s was decided already", id);
        else
            status = cli_print_json(json_pack("{s:s, s:s}", "id", id, "decision",
                                              overturn ? "overturned" : "upheld")) == 0
                         ? 0
                         : 1;
    } else {
        json_t *list = NULL;
        if (appeal_list_pending(service.store, service.signer, actor, &list, err, sizeof err) !=
            0)
            cli_fail("appeal", 1, "%s", err);
        else
            status = cli_print_json(list) == 0 ? 0 : 1;
    }
    service_close(&service);
    return status;
}
