/* cli_log: `cyberid log init|verify|events --data DIR`: the transparency
 * log's key, the check of the whole log (audit/log.h) and the operator's
 * reading of events under a legal basis (audit.h, audit_inquiry). */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "audit/audit.h"
#include "audit/log.h"
#include "enroll/identity.h"
#include "service/service.h"
#include "util/strings.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char log_usage[] =
    "usage: cyberid log init --data DIR\n"
    "       cyberid log verify --data DIR\n"
    "       cyberid log events --data DIR --legal-basis TEXT [--action ACTION]\n"
    "                          [--actor NAME]\n"
    "init makes the checkpoint key (Ed25519: keys/log-checkpoint.key.pem, or the pair\n"
    "cyberid-log-checkpoint in the data folder's PKCS#11 token) of a data folder made\n"
    "before the log existed (cyberid init makes it); `cyberid serve` then puts every\n"
    "audit event in the log, older ones included.\n"
    "verify recomputes the tree from the stored leaves and compares every stored\n"
    "hash, checks each checkpoint's root, signature and consistency with the one\n"
    "before, and each event against its leaf (an event altered or deleted in the\n"
    "database is caught). Prints {leaves, checkpoints, events, pending, problem};\n"
    "exit 0 when everything holds, 1 on the first mismatch.\n"
    "events opens and prints every event (of ACTION, e.g. enroll.refused), oldest\n"
    "first, for an inquiry: each citizen whose sealed events are opened gets an\n"
    "event log.events_read with the legal basis and the actor (\"operator\", or\n"
    "\"operator:NAME\"), written before anything is printed.\n";

int
cli_log(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("log", log_usage, "init or verify?");
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(log_usage, stdout), 0;
    int init = strcmp(action, "init") == 0, events = strcmp(action, "events") == 0;
    if (!init && !events && strcmp(action, "verify") != 0)
        return cli_usage("log", log_usage, "unknown action %s (init, verify or events)",
                         action);
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"legal-basis", required_argument, NULL, 'b'},
        {"action", required_argument, NULL, 'a'},
        {"actor", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *legal_basis = NULL, *only = NULL, *actor_name = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'b': legal_basis = optarg; break;
        case 'a': only = optarg; break;
        case 'o': actor_name = optarg; break;
        case 'h': return fputs(log_usage, stdout), 0;
        default: return cli_usage("log", log_usage, "an option is unknown or lacks its value");
        }
    }
    if (data_dir == NULL)
        return cli_usage("log", log_usage, "--data DIR is required");
    if (optind != argc - 1)
        return cli_usage("log", log_usage, "unexpected argument %s", argv[optind + 1]);
    if (!events && (legal_basis || only || actor_name))
        return cli_usage("log", log_usage, "--legal-basis, --action and --actor go with events");
    char actor[96] = AUDIT_ACTOR_OPERATOR;
    if (events) {
        if (legal_basis == NULL)
            return cli_usage("log", log_usage, "events needs --legal-basis TEXT");
        if (!identity_legal_basis_is_valid(legal_basis))
            return cli_fail("log", 2, "--legal-basis must be 1 to %d bytes of text",
                            IDENTITY_LEGAL_BASIS_MAX_BYTES);
        if (actor_name != NULL &&
            (!identity_reason_is_valid(actor_name) ||
             string_format(actor, sizeof actor, AUDIT_ACTOR_OPERATOR ":%s", actor_name) != 0))
            return cli_fail("log", 2, "--actor must be a name of [a-z0-9_]");
        if (only != NULL && (only[0] == '\0' || strlen(only) > 64))
            return cli_fail("log", 2, "--action names one action, e.g. enroll.refused");
    }

    char err[512];
    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0)
        return cli_fail("log", 1, "%s", err);
    int status = 1;
    char origin[SIGNER_LOG_ORIGIN_MAX], vkey[SIGNER_LOG_VKEY_MAX];
    if (events) {
        json_t *opened = NULL;
        if (audit_inquiry(service.store, service.signer, only, legal_basis, actor, &opened, err,
                          sizeof err) != 0)
            cli_fail("log", 1, "%s", err);
        else
            status = cli_print_json(opened) == 0 ? 0 : 1;
    } else if (init) {
        if (signer_log_key_create(service.config.keys_dir, err, sizeof err) != 0)
            cli_fail("log", 1, "%s", err);
        else
            status = cli_print_json(json_pack("{s:s}", "key", "keys/log-checkpoint.key.pem")) == 0
                         ? 0
                         : 1;
    } else if (signer_log_key(service.signer, origin, vkey) != 0) {
        cli_fail("log", 1, "the data folder has no checkpoint key: nothing is signed to check "
                 "(cyberid log init)");
    } else {
        struct log_report report;
        struct store_conn *conn = store_acquire(service.store);
        int verified = log_verify(conn, service.signer, vkey, &report);
        store_release(service.store, conn);
        if (verified < 0) {
            cli_fail("log", 1, "cannot read the log: %s", "database error");
        } else {
            if (cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "origin", origin,
                                         "key", vkey, "leaves", (json_int_t)report.leaves,
                                         "checkpoints", (json_int_t)report.checkpoints,
                                         "events", (json_int_t)report.events, "pending",
                                         (json_int_t)report.pending, "problem",
                                         report.problem[0] ? json_string(report.problem)
                                                           : json_null())) == 0)
                status = verified;
            if (verified == 1)
                fprintf(stderr, "cyberid log: %s\n", report.problem);
        }
    }
    service_close(&service);
    return status;
}
