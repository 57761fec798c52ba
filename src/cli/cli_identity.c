/* cli_identity: `cyberid identity show|events|suspend|reinstate|revoke --data
 * DIR WEB_NUMBER`, the
 * operator's acts on an identity. Each one is an audit event with the
 * actor "operator" (or --actor NAME: "operator:NAME"). */
#define _GNU_SOURCE 1 /* strptime, timegm */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "audit/audit.h"
#include "enroll/identity.h"
#include "enroll/national_id.h"
#include "enroll/web_number.h"
#include "service/service.h"
#include "util/strings.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char identity_usage[] =
    "usage: cyberid identity show --data DIR [--actor NAME] WEB_NUMBER\n"
    "       cyberid identity events --data DIR --legal-basis TEXT [--actor NAME]\n"
    "                               WEB_NUMBER\n"
    "       cyberid identity find --data DIR --national-id N --legal-basis TEXT\n"
    "                             [--actor NAME]\n"
    "       cyberid identity suspend --data DIR --reason CODE --legal-basis TEXT\n"
    "                                --until DATE [--actor NAME] WEB_NUMBER\n"
    "       cyberid identity reinstate --data DIR [--actor NAME] WEB_NUMBER\n"
    "       cyberid identity revoke --data DIR --reason CODE [--actor NAME] WEB_NUMBER\n"
    "show prints the identity's status and devices (no personal data). events\n"
    "opens and prints the identity's events (a citizen's events are sealed in\n"
    "the database), oldest first; the reading and its legal basis are an event\n"
    "of the identity first, which the citizen sees in their history. find\n"
    "prints the web number and status of the person with ID number N, if\n"
    "enrolled, and records the lookup with its legal basis. suspend\n"
    "stops the identity at once (no enrollment, device request, login approval,\n"
    "token, userinfo or verification until reinstated; introspection answers\n"
    "inactive; its certificates on hold: OCSP certificateHold, the CRL) and names\n"
    "the statute or order it rests on; it ends by itself at --until (YYYY-MM-DD,\n"
    "midnight UTC, or YYYY-MM-DDTHH:MM:SSZ; at most suspension_max_days of\n"
    "config.json ahead, default 90), within the janitor's interval. reinstate lifts\n"
    "a suspension at once. revoke ends the identity and revokes every certificate of it at\n"
    "once (OCSP, CRL). CODE is a reason code of [a-z0-9_], e.g. key_compromise,\n"
    "fraud, deceased, court_order. Every act is an audit event that names the\n"
    "actor.\n";

/* --until: a day (its midnight UTC) or an instant in UTC. 0 or -1. */
static int
parse_until(const char *text, int64_t *out)
{
    struct tm parts;
    memset(&parts, 0, sizeof parts);
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    if (end == NULL || *end != '\0') {
        memset(&parts, 0, sizeof parts);
        end = strptime(text, "%Y-%m-%d", &parts);
        if (end == NULL || *end != '\0')
            return -1;
    }
    time_t seconds = timegm(&parts);
    if (seconds == (time_t)-1)
        return -1;
    *out = (int64_t)seconds;
    return 0;
}

/* `identity find`: the arguments after the options are checked here. */
static int
find_identity(int argc, char **argv, const char *data_dir, const char *national_id,
              const char *legal_basis, const char *actor_name)
{
    if (optind + 1 < argc)
        return cli_usage("identity", identity_usage, "unexpected argument %s",
                         argv[argc - 1]);
    if (national_id == NULL)
        return cli_usage("identity", identity_usage, "find needs --national-id N");
    if (legal_basis == NULL)
        return cli_usage("identity", identity_usage, "find needs --legal-basis TEXT");
    if (!identity_legal_basis_is_valid(legal_basis))
        return cli_fail("identity", 2, "--legal-basis must be 1 to %d bytes of text",
                        IDENTITY_LEGAL_BASIS_MAX_BYTES);
    struct national_id id;
    if (national_id_parse_now(national_id, strlen(national_id), &id) != NATIONAL_ID_OK)
        return cli_fail("identity", 2, "--national-id is not a valid ID number "
                        "(GB 11643: 18 characters, check character)");
    char actor[96] = AUDIT_ACTOR_OPERATOR;
    if (actor_name != NULL &&
        (!identity_reason_is_valid(actor_name) ||
         string_format(actor, sizeof actor, AUDIT_ACTOR_OPERATOR ":%s", actor_name) != 0)) {
        secret_wipe(&id, sizeof id);
        return cli_fail("identity", 2, "--actor must be a name of [a-z0-9_]");
    }
    char err[512];
    struct service service;
    json_t *found = NULL;
    int status = 1;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0) {
        secret_wipe(&id, sizeof id);
        return cli_fail("identity", 1, "%s", err);
    }
    if (identity_find(service.store, service.signer, id.text, legal_basis, actor, &found,
                      err, sizeof err) != 0)
        cli_fail("identity", 1, "%s", err);
    else
        status = cli_print_json(found) == 0 ? 0 : 1;
    secret_wipe(&id, sizeof id);
    service_close(&service);
    return status;
}

int
cli_identity(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("identity", identity_usage,
                         "show, suspend, reinstate or revoke?");
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(identity_usage, stdout), 0;
    int show = strcmp(action, "show") == 0, revoke = strcmp(action, "revoke") == 0;
    int suspend = strcmp(action, "suspend") == 0;
    int reinstate = strcmp(action, "reinstate") == 0;
    int find = strcmp(action, "find") == 0, events = strcmp(action, "events") == 0;
    if (!show && !revoke && !suspend && !reinstate && !find && !events)
        return cli_usage("identity", identity_usage,
                         "unknown action %s (show, events, find, suspend, reinstate or revoke)",
                         action);
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"reason", required_argument, NULL, 'r'},
        {"actor", required_argument, NULL, 'a'},
        {"legal-basis", required_argument, NULL, 'b'},
        {"national-id", required_argument, NULL, 'n'},
        {"until", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *reason = NULL, *actor_name = NULL;
    const char *legal_basis = NULL, *national_id = NULL, *until_text = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'r': reason = optarg; break;
        case 'a': actor_name = optarg; break;
        case 'b': legal_basis = optarg; break;
        case 'n': national_id = optarg; break;
        case 'u': until_text = optarg; break;
        case 'h': return fputs(identity_usage, stdout), 0;
        default: return cli_usage("identity", identity_usage, "an option is unknown or lacks its value");
        }
    }
    int needs_reason = revoke || suspend;
    if (data_dir == NULL)
        return cli_usage("identity", identity_usage, "--data DIR is required");
    if (find)
        return find_identity(argc, argv, data_dir, national_id, legal_basis, actor_name);
    if (national_id != NULL)
        return cli_usage("identity", identity_usage, "--national-id goes with find only");
    if (optind + 1 > argc - 1)
        return cli_usage("identity", identity_usage, "the WEB_NUMBER is missing");
    if (optind + 1 < argc - 1)
        return cli_usage("identity", identity_usage, "unexpected argument %s",
                         argv[argc - 1]);
    if (needs_reason && reason == NULL)
        return cli_usage("identity", identity_usage, "%s needs --reason CODE", action);
    if (!needs_reason && reason != NULL)
        return cli_usage("identity", identity_usage, "--reason goes with suspend and "
                         "revoke only");
    if ((suspend || events) && legal_basis == NULL)
        return cli_usage("identity", identity_usage, "%s needs --legal-basis TEXT", action);
    if (!suspend && !events && legal_basis != NULL)
        return cli_usage("identity", identity_usage,
                         "--legal-basis goes with suspend, events and find only");
    if (legal_basis != NULL && !identity_legal_basis_is_valid(legal_basis))
        return cli_fail("identity", 2, "--legal-basis must be 1 to %d bytes of text",
                        IDENTITY_LEGAL_BASIS_MAX_BYTES);
    if (suspend && until_text == NULL)
        return cli_usage("identity", identity_usage,
                         "suspend needs --until DATE: every suspension has an end");
    if (!suspend && until_text != NULL)
        return cli_usage("identity", identity_usage, "--until goes with suspend only");
    int64_t until = 0;
    if (suspend && parse_until(until_text, &until) != 0)
        return cli_fail("identity", 2, "--until takes YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    char web_number[WEB_NUMBER_SIZE];
    if (web_number_normalize(argv[optind + 1], web_number) != 0)
        return cli_fail("identity", 2, "not a valid web number (16 characters, "
                        "check character)");
    char actor[96] = AUDIT_ACTOR_OPERATOR;
    if (actor_name != NULL &&
        (!identity_reason_is_valid(actor_name) ||
         string_format(actor, sizeof actor, AUDIT_ACTOR_OPERATOR ":%s", actor_name) != 0))
        return cli_fail("identity", 2, "--actor must be a name of [a-z0-9_]");
    if (needs_reason && !identity_reason_is_valid(reason))
        return cli_fail("identity", 2, "--reason must be a code of [a-z0-9_], at "
                        "most %d characters", IDENTITY_REASON_MAX);

    char err[512];
    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0)
        return cli_fail("identity", 1, "%s", err);
    int status = 1;
    if (suspend || reinstate) {
        int found = 0, changed = 0;
        int failed = suspend ? identity_suspend(service.store, service.signer, web_number, reason,
                                                legal_basis, until,
                                                service.config.suspension_max_days, actor,
                                                &found, &changed, err, sizeof err)
                             : identity_reinstate(service.store, service.signer, web_number, actor,
                                                  &found, &changed, err, sizeof err);
        if (failed)
            cli_fail("identity", 1, "%s", err);
        else if (!found)
            cli_fail("identity", 1, "no identity with this web number");
        else if (!changed)
            cli_fail("identity", 1, suspend ? "the identity is not active"
                                            : "the identity is not suspended");
        else
            status = cli_print_json(json_pack("{s:s, s:s}", "web_number", web_number,
                                              "status", suspend ? "suspended"
                                                                : "active")) == 0
                         ? 0
                         : 1;
    } else if (events) {
        json_t *opened = NULL;
        if (identity_events(service.store, service.signer, web_number, legal_basis, actor,
                            &opened, err, sizeof err) != 0)
            cli_fail("identity", 1, "%s", err);
        else if (opened == NULL)
            cli_fail("identity", 1, "no identity with this web number");
        else
            status = cli_print_json(opened) == 0 ? 0 : 1;
    } else if (show) {
        json_t *shown = NULL;
        if (identity_show(service.store, service.signer, web_number, actor, &shown, err,
                          sizeof err) != 0)
            cli_fail("identity", 1, "%s", err);
        else if (shown == NULL)
            cli_fail("identity", 1, "no identity with this web number");
        else
            status = cli_print_json(shown) == 0 ? 0 : 1;
    } else {
        int found = 0;
        int64_t devices = 0;
        if (identity_revoke(service.store, service.signer, web_number, reason, actor, &found, &devices,
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
