/* cli_log: `cyberid log init|verify --data DIR`: the transparency log's key
 * and the check of the whole log (audit/log.h). */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "audit/log.h"
#include "service/service.h"
#include "util/strings.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char log_usage[] =
    "usage: cyberid log init --data DIR\n"
    "       cyberid log verify --data DIR\n"
    "init makes the checkpoint key (Ed25519: keys/log-checkpoint.key.pem, or the pair\n"
    "cyberid-log-checkpoint in the data folder's PKCS#11 token) of a data folder made\n"
    "before the log existed (cyberid init makes it); `cyberid serve` then puts every\n"
    "audit event in the log, older ones included.\n"
    "verify recomputes the tree from the stored leaves and compares every stored\n"
    "hash, checks each checkpoint's root, signature and consistency with the one\n"
    "before, and each event against its leaf (an event altered or deleted in the\n"
    "database is caught). Prints {leaves, checkpoints, events, pending, problem};\n"
    "exit 0 when everything holds, 1 on the first mismatch.\n";

int
cli_log(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("log", log_usage, "init or verify?");
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(log_usage, stdout), 0;
    int init = strcmp(action, "init") == 0;
    if (!init && strcmp(action, "verify") != 0)
        return cli_usage("log", log_usage, "unknown action %s (init or verify)", action);
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'h': return fputs(log_usage, stdout), 0;
        default: return cli_usage("log", log_usage, "an option is unknown or lacks its value");
        }
    }
    if (data_dir == NULL)
        return cli_usage("log", log_usage, "--data DIR is required");
    if (optind != argc - 1)
        return cli_usage("log", log_usage, "unexpected argument %s", argv[optind + 1]);

    char err[512];
    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0)
        return cli_fail("log", 1, "%s", err);
    int status = 1;
    char origin[SIGNER_LOG_ORIGIN_MAX], vkey[SIGNER_LOG_VKEY_MAX];
    if (init) {
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
        int verified = log_verify(conn, vkey, &report);
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
