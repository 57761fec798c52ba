/* cli_ca: `cyberid ca rotate|hold|list --data DIR`: the issuing CA
 * generations of the web PKI, and the mass suspension of one of them (the
 * ROCA drill, docs/deployment.md). */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "audit/audit.h"
#include "pki/pki_x509.h"
#include "service/service.h"
#include "util/strings.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HOLD_REASON_MAX 200

static const char ca_usage[] =
    "usage: cyberid ca rotate --data DIR\n"
    "       cyberid ca hold --data DIR --issuer GENERATION --reason TEXT\n"
    "       cyberid ca list --data DIR\n"
    "rotate makes the next issuing CA generation under the root CA (the root key\n"
    "is opened by this command only): a new key in keys/ (or in the data folder's\n"
    "PKCS#11 token) and pki/issuing-ca-G.pem. `cyberid serve` issues from it once\n"
    "restarted; on more than one node, copy pki/issuing-ca-G.pem and the key to\n"
    "every node first. Certificates of earlier generations stay valid.\n"
    "hold puts every certificate that generation GENERATION issued on hold at\n"
    "once, however many: OCSP answers revoked with reason certificateHold, the\n"
    "generation's CRL lists them, and their logins are refused with\n"
    "rekey_required; citizens re-key (cyberid-app rekey) to a certificate of the\n"
    "newest generation. The reason is kept in the audit log. Rotate before\n"
    "holding the newest generation: no certificate is issued from a held one.\n"
    "list prints every generation with its subject, end date and hold.\n";

/* The generation of --issuer: 1..the generations DIR holds. */
static int
parse_generation(const char *text, unsigned generations, unsigned *out)
{
    long long value = 0;
    if (text == NULL || parse_integer(text, 1, generations, &value) != 0)
        return -1;
    *out = (unsigned)value;
    return 0;
}

static int
ca_rotate(struct service *service, struct store_conn *conn)
{
    char err[512];
    unsigned generation = 0;
    if (signer_issuing_ca_rotate(service->config.keys_dir, service->config.pki_dir,
                                 &generation, err, sizeof err) != 0)
        return cli_fail("ca", 1, "%s", err);
    json_t *details = json_pack("{s:I}", "generation", (json_int_t)generation);
    char subject[32];
    snprintf(subject, sizeof subject, "ca:issuing-%u", generation);
    int done = details != NULL && store_begin(conn) == 0 &&
               store_issuer_ensure(conn, generation) == 0 &&
               audit_append(conn, AUDIT_ACTOR_OPERATOR, "ca.rotate", subject, details,
                            NULL) == 0 &&
               store_commit(conn) == 0;
    json_decref(details);
    if (!done) {
        store_rollback(conn);
        return cli_fail("ca", 1, "generation %u was made (pki/issuing-ca-%u.pem) but not "
                        "recorded: %s; `cyberid serve` records it when it starts",
                        generation, generation, store_last_error(conn));
    }
    char file[PKI_CA_FILE_NAME_MAX];
    pki_issuing_ca_file(generation, file);
    return cli_print_json(json_pack("{s:I, s:s, s:s}", "generation", (json_int_t)generation,
                                    "certificate", file, "next",
                                    "restart cyberid serve to issue from it")) == 0
               ? 0
               : 1;
}

static int
ca_hold(struct store_conn *conn, unsigned generation, const char *reason)
{
    int64_t now = (int64_t)time(NULL);
    int found = 0, changed = 0;
    char subject[32];
    snprintf(subject, sizeof subject, "ca:issuing-%u", generation);
    json_t *details = json_pack("{s:I, s:s}", "generation", (json_int_t)generation,
                                "reason", reason);
    int done = details != NULL && store_begin(conn) == 0 &&
               store_issuer_ensure(conn, generation) == 0 &&
               store_issuer_hold(conn, generation, now, &found, &changed) == 0 &&
               (!changed || audit_append(conn, AUDIT_ACTOR_OPERATOR, "ca.hold", subject,
                                         details, NULL) == 0) &&
               store_commit(conn) == 0;
    json_decref(details);
    if (!done) {
        store_rollback(conn);
        return cli_fail("ca", 1, "cannot hold generation %u: %s", generation,
                        store_last_error(conn));
    }
    struct store_issuer issuer;
    if (store_issuer_get(conn, generation, &issuer, &found) != 0 || !found)
        return cli_fail("ca", 1, "cannot read generation %u back", generation);
    return cli_print_json(json_pack("{s:I, s:I, s:b}", "generation", (json_int_t)generation,
                                    "held_at", (json_int_t)issuer.held_at, "already_held",
                                    !changed)) == 0
               ? 0
               : 1;
}

static int
ca_list(struct service *service, struct store_conn *conn)
{
    unsigned generations = pki_issuing_generations(service->config.pki_dir);
    json_t *list = json_array();
    for (unsigned g = 1; list != NULL && g <= generations; g++) {
        char file[PKI_CA_FILE_NAME_MAX], err[256], subject[256] = "";
        pki_issuing_ca_file(g, file);
        X509 *certificate = pki_load_certificate(service->config.pki_dir, file, err,
                                                 sizeof err);
        int64_t not_after = 0;
        if (certificate != NULL) {
            X509_NAME_oneline(X509_get_subject_name(certificate), subject, sizeof subject);
            if (pki_time_to_int64(X509_get0_notAfter(certificate), &not_after) != 0)
                not_after = 0;
            X509_free(certificate);
        }
        struct store_issuer issuer;
        int found = 0;
        if (store_issuer_get(conn, g, &issuer, &found) != 0) {
            json_decref(list);
            return cli_fail("ca", 1, "cannot read the generations: %s",
                            store_last_error(conn));
        }
        json_array_append_new(
            list, json_pack("{s:I, s:s, s:s, s:I, s:o, s:b}", "generation", (json_int_t)g,
                            "certificate", file, "subject", subject, "not_after",
                            (json_int_t)not_after, "held_at",
                            found && issuer.held_at ? json_integer(issuer.held_at)
                                                    : json_null(),
                            "issuing", g == generations));
    }
    return cli_print_json(list) == 0 ? 0 : 1;
}

int
cli_ca(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("ca", ca_usage, "rotate, hold or list?");
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(ca_usage, stdout), 0;
    int rotate = strcmp(action, "rotate") == 0, hold = strcmp(action, "hold") == 0;
    if (!rotate && !hold && strcmp(action, "list") != 0)
        return cli_usage("ca", ca_usage, "unknown action %s (rotate, hold or list)", action);
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"issuer", required_argument, NULL, 'i'},
        {"reason", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *issuer_text = NULL, *reason = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'i': issuer_text = optarg; break;
        case 'r': reason = optarg; break;
        case 'h': return fputs(ca_usage, stdout), 0;
        default: return cli_usage("ca", ca_usage, "an option is unknown or lacks its value");
        }
    }
    if (data_dir == NULL)
        return cli_usage("ca", ca_usage, "--data DIR is required");
    if (optind != argc - 1)
        return cli_usage("ca", ca_usage, "unexpected argument %s", argv[optind + 1]);
    if (!hold && (issuer_text != NULL || reason != NULL))
        return cli_usage("ca", ca_usage, "--issuer and --reason go with hold only");
    if (hold) {
        size_t length = reason ? strlen(reason) : 0;
        if (issuer_text == NULL || length == 0 || length > HOLD_REASON_MAX)
            return cli_usage("ca", ca_usage, "hold needs --issuer GENERATION and --reason "
                             "TEXT (1 to %d characters)", HOLD_REASON_MAX);
    }

    char err[512];
    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0)
        return cli_fail("ca", 1, "%s", err);
    int status = 1;
    struct store_conn *conn = store_acquire(service.store);
    if (rotate) {
        status = ca_rotate(&service, conn);
    } else if (hold) {
        unsigned generation = 0;
        unsigned generations = pki_issuing_generations(service.config.pki_dir);
        if (parse_generation(issuer_text, generations, &generation) != 0)
            status = cli_fail("ca", 2, "--issuer takes a generation from 1 to %u", generations);
        else
            status = ca_hold(conn, generation, reason);
    } else {
        status = ca_list(&service, conn);
    }
    store_release(service.store, conn);
    service_close(&service);
    return status;
}
