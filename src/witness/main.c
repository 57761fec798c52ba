/* cyberid-witness: a C2SP tlog-witness for cyberid's transparency log (or
 * any log that signs Ed25519 checkpoints): `init` makes its key, `serve`
 * answers POST /add-checkpoint over HTTP (witness.h has the decision). A
 * program of its own, so that it can run on another machine, under
 * another operator, than the log it watches. */
#include "http/http.h"
#include "util/log.h"
#include "util/strings.h"
#include "witness/witness.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_LISTEN "127.0.0.1:8090"
#define DEFAULT_THREADS 2
#define THREADS_MAX 16

static const char usage[] =
    "usage: cyberid-witness init --state DIR --name NAME\n"
    "       cyberid-witness serve --state DIR --log VKEY [--log VKEY]...\n"
    "                             [--listen HOST:PORT] [--threads N]\n"
    "A C2SP tlog-witness (https://c2sp.org/tlog-witness): it cosigns a\n"
    "transparency log's checkpoints, each only if it extends the last one it\n"
    "cosigned of that log, so a log cannot show two histories under one\n"
    "witness's cosignature.\n"
    "\n"
    "init: makes the state folder DIR (mode 0700), an Ed25519 key in\n"
    "DIR/witness.key.pem (mode 0600) and prints the witness's verifier key,\n"
    "NAME+<key ID>+<base64> (signature type 0x04, cosignature/v1), also kept\n"
    "in DIR/witness.vkey. NAME: 1 to 63 printable ASCII characters without\n"
    "spaces or \"+\", e.g. witness.example.org/w1. Refuses a folder with a key.\n"
    "\n"
    "serve: answers POST /add-checkpoint on HTTP (default " DEFAULT_LISTEN ";\n"
    "port 0 picks a free port, logged in the \"listening\" line) until SIGTERM\n"
    "or SIGINT. --log VKEY (repeatable, at most 16): a log to witness, by its\n"
    "Ed25519 verifier key (a cyberid service's GET /log/key). The body:\n"
    "\"old N\", the consistency proof from size N (one base64 hash a line, at\n"
    "most 63), a blank line, the checkpoint signed by the log (at most 16 KiB\n"
    "in all). Answers: 200 with the cosignature line, after the checkpoint is\n"
    "written to DIR/logs/ (a new file, fsync, rename); 409 with the size last\n"
    "cosigned (Content-Type text/x.tlog.size) when N is not that size, or\n"
    "when the size is the same and the root is not; 422 when the proof does\n"
    "not verify; 403 when no signature of the log's key verifies; 404 for an\n"
    "unknown log; 400 for a malformed body. The first checkpoint of a log\n"
    "(N = 0) is taken on trust. --threads N: HTTP workers (default 2).\n"
    "\n"
    "Exit status: 0 done, 1 failed (reason on stderr), 2 usage.\n";

static int
fail(int status, const char *message)
{
    fprintf(stderr, "cyberid-witness: %s\n", message);
    return status;
}

static int
witness_init_command(int argc, char **argv)
{
    static const struct option options[] = {
        {"state", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    const char *state = NULL, *name = NULL;
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 's': state = optarg; break;
        case 'n': name = optarg; break;
        default: return fail(2, "init: an option is unknown or lacks its value (see --help)");
        }
    }
    if (state == NULL || name == NULL || optind != argc)
        return fail(2, "init takes --state DIR and --name NAME (see --help)");
    char vkey[TLOG_VKEY_MAX], err[512];
    if (witness_init(state, name, vkey, err, sizeof err) != 0)
        return fail(1, err);
    printf("%s\n", vkey);
    return 0;
}

static int
add_checkpoint(void *app, const struct http_request *request, struct http_response *response)
{
    struct witness_reply reply;
    if (witness_add_checkpoint(app, (const char *)request->body, request->body_length,
                               (int64_t)time(NULL), &reply) != 0) {
        log_event(LOG_ERROR, "witness_state_failed", NULL);
        return -1;
    }
    if (reply.content_type != NULL)
        return http_respond_bytes(response, reply.status, reply.content_type, reply.body,
                                  reply.length);
    return http_respond_error(response, reply.status, reply.body, reply.description);
}

static const struct http_route routes[] = {
    {"POST", "/add-checkpoint", HTTP_BODY_ANY, WITNESS_BODY_MAX, add_checkpoint},
};

static int
witness_serve_command(int argc, char **argv)
{
    static const struct option options[] = {
        {"state", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"log", required_argument, NULL, 'g'},
        {"threads", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    const char *state = NULL, *listen = DEFAULT_LISTEN;
    const char *logs[WITNESS_LOGS_MAX];
    size_t log_count = 0;
    long long threads = DEFAULT_THREADS;
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 's': state = optarg; break;
        case 'l': listen = optarg; break;
        case 'g':
            if (log_count == WITNESS_LOGS_MAX)
                return fail(2, "serve: at most 16 --log keys");
            logs[log_count++] = optarg;
            break;
        case 't':
            if (parse_integer(optarg, 1, THREADS_MAX, &threads) != 0)
                return fail(2, "serve: --threads must be 1 to 16");
            break;
        default: return fail(2, "serve: an option is unknown or lacks its value (see --help)");
        }
    }
    if (state == NULL || log_count == 0 || optind != argc)
        return fail(2, "serve takes --state DIR and at least one --log VKEY (see --help)");

    /* The stop signals go to sigwait() below only: blocked before any
     * thread starts, so every worker inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    struct witness *witness = NULL;
    if (witness_open(state, logs, log_count, &witness, err, sizeof err) != 0)
        return fail(1, err);
    struct http_server_options server_options = {.listen = listen,
                                                 .threads = (unsigned)threads};
    struct http_server *server = NULL;
    if (http_server_start(&server_options, routes, sizeof routes / sizeof *routes, witness,
                          &server, err, sizeof err) != 0) {
        witness_close(witness);
        return fail(1, err);
    }
    log_event(LOG_INFO, "listening", "{s:s, s:i, s:s, s:i}", "listen", listen, "port",
              (int)http_server_port(server), "vkey", witness_vkey(witness), "logs",
              (int)log_count);
    int received = 0;
    sigwait(&stop_signals, &received);
    log_event(LOG_INFO, "stopping", "{s:s}", "signal", received == SIGTERM ? "SIGTERM" : "SIGINT");
    http_server_stop(server);
    witness_close(witness);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        return fail(2, "a command is required: init or serve (see --help)");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    if (strcmp(argv[1], "init") == 0)
        return witness_init_command(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return witness_serve_command(argc - 1, argv + 1);
    return fail(2, "unknown command (see --help): init or serve");
}
