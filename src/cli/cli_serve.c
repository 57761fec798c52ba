/* cli_serve: `cyberid serve`: the HTTP service in the foreground until
 * SIGTERM or SIGINT, after which requests in flight finish, everything is
 * released and the process exits 0. */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "http/http.h"
#include "service/cosigning.h"
#include "service/janitor.h"
#include "service/sequencer.h"
#include "service/service.h"
#include "util/log.h"
#include "util/strings.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CYBERID_DEFAULT_MODELS_DIR
#error "CYBERID_DEFAULT_MODELS_DIR comes from the cyberid_face target"
#endif
#define MODELS_DIR_ENV "CYBERID_MODELS_DIR"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_THREADS 4
#define THREADS_MAX 64
#define POOL_MAX 64
#define JANITOR_INTERVAL_MAX 86400
#define RATE_MAX 1000000
#define CEILING_MAX 1000000000000LL

static const char serve_usage[] =
    "usage: cyberid serve --data DIR [--listen HOST:PORT] [--threads N]\n"
    "                     [--db-pool N] [--janitor-interval SECONDS]\n"
    "                     [--connections-per-address N] [--body-budget-mb N]\n"
    "                     [--authorize-per-address N] [--authorize-per-platform N]\n"
    "                     [--challenges-per-address N] [--pending-ceiling N]\n"
    "                     [--trusted-proxy CIDR]... [--signer-opens-per-minute N]\n"
    "                     [--issuer URL] [--models DIR] [--witness URL=VKEY]...\n"
    "                     [--default-lang en|zh]\n"
    "                     [--log-level debug|info|warn|error] [--hint]\n"
    "Serves HTTP on HOST:PORT (default " DEFAULT_LISTEN "; port 0 picks a free\n"
    "port, logged in the \"listening\" line). Stops cleanly on SIGTERM/SIGINT.\n"
    "--db-pool N: database connections (default: threads + 3, for the janitor\n"
    "and the log's sequencer; at most 64; on PostgreSQL one more listens for\n"
    "changes of the platforms and the token keys, which serve keeps in memory).\n"
    "--janitor-interval: seconds between purges of expired rows (default 60;\n"
    "one node of those sharing a database at a time).\n"
    "--connections-per-address: open connections one client address may hold\n"
    "(an IPv6 address by its /64; default 64; trusted proxies are exempt).\n"
    "--body-budget-mb: MiB of request bodies held at once by all connections\n"
    "(default 256); a request whose body does not fit gets 503 and Retry-After.\n"
    "--authorize-per-address, --authorize-per-platform: logins /authorize\n"
    "starts on this node a second per client address and per platform (a\n"
    "minute's worth at once; defaults 5 and 2000; 0: no limit); past them the\n"
    "browser goes back with error=temporarily_unavailable. Each is a row until\n"
    "purged. --challenges-per-address: enrollment challenges a second (default\n"
    "1); past it 429.\n"
    "--trusted-proxy CIDR (repeatable, at most 32): a reverse proxy in front,\n"
    "as 10.0.0.0/8, 2001:db8::/32 or one address. A request from one is taken\n"
    "to come from the address its X-Forwarded-For names, read right to left\n"
    "through trusted proxies only (what the client wrote itself is never\n"
    "read); per-address limits then follow the client. Without it, or from\n"
    "any other peer, X-Forwarded-For is ignored: behind an untrusted proxy\n"
    "every request counts as the proxy's.\n"
    "--pending-ceiling: pending logins, and unused challenges, the database\n"
    "keeps at most (default 5000000; 0: no ceiling); the janitor deletes the\n"
    "oldest beyond it each round.\n"
    "--issuer URL: the service's public URL (tokens' aud and iss, the OCSP and\n"
    "CRL URLs in certificates); default http://HOST:PORT of --listen.\n"
    "--models DIR: the face model files (default $" MODELS_DIR_ENV ", else\n"
    CYBERID_DEFAULT_MODELS_DIR ").\n"
    "The keys stay in a signer process of their own, started first; if it dies\n"
    "the requests that needed it get 503 and it is started again, and past 5\n"
    "restarts in a minute serve stops (exit 1).\n"
    "--signer-opens-per-minute N: personal records the signer opens a minute\n"
    "at most (claims at login, enrollments; default 120000); past it 503.\n"
    "--witness URL=VKEY (repeatable, at most 4): a C2SP tlog-witness (e.g.\n"
    "cyberid-witness) and its verifier key. Each new checkpoint of the log is\n"
    "posted to URL/add-checkpoint with the consistency proof from the size that\n"
    "witness cosigned last; the cosignatures that verify with VKEY are added to\n"
    "the stored note, which /log/checkpoint and the citizens' history serve.\n"
    "A witness that is down or refuses is logged (witness_failed) and tried\n"
    "again after a pause (1 s, doubling to 60 s); each request times out\n"
    "after 5 s. The log goes on meanwhile, its checkpoints not cosigned.\n"
    "--default-lang en|zh: the language of the login page, the login link's\n"
    "page and the error and logout pages when the request's ui_locales and\n"
    "Accept-Language name neither English nor Simplified Chinese (default:\n"
    "config.json's \"default_lang\", else en).\n";

static void
print_hint(const char *data_dir, const char *listen, unsigned port)
{
    printf("cyberid is serving on http://%.*s:%u (data folder %s)\n"
           "Next steps, in another terminal:\n"
           "  1. import a population registry:\n"
           "       build/cyberid registry import --data %s registry.csv\n"
           "     (columns national_id,name,birth_date,photo; photo paths relative "
           "to the CSV)\n"
           "  2. register a platform:\n"
           "       build/cyberid platform add --data %s --name \"Example Shop\" \\\n"
           "         --redirect-uri https://shop.example/callback "
           "--claims realname_verified,age_over_18\n"
           "  3. enroll a citizen with the app:\n"
           "       build/cyberid-app --server http://%.*s:%u --wallet me.json enroll ...\n"
           "  4. log in: the platform's OpenID Connect client discovers\n"
           "       http://%.*s:%u/.well-known/openid-configuration\n"
           "     and the citizen approves the code its login page shows:\n"
           "       build/cyberid-app --wallet me.json login CODE\n"
           "Health: curl http://%.*s:%u/healthz   Stop: Ctrl-C\n",
           (int)strcspn(listen, ":"), listen, port, data_dir, data_dir, data_dir,
           (int)strcspn(listen, ":"), listen, port, (int)strcspn(listen, ":"), listen,
           port, (int)strcspn(listen, ":"), listen, port);
    fflush(stdout);
}

static pthread_t main_thread;

/* Runs only in a thread that did not block the stop signals (see
 * cli_serve()); pthread_kill() is async-signal-safe. */
/* Set when the signer could not be kept running (signer.h on_give_up). */
static volatile sig_atomic_t signer_gave_up;

/* Called once, from a worker: serve stops as on SIGTERM, then exits 1. */
static void
give_up(void)
{
    signer_gave_up = 1;
    kill(getpid(), SIGTERM);
}

static void
forward_to_main(int signal_number)
{
    pthread_kill(main_thread, signal_number);
}

static int
parse_level(const char *text, enum log_level *level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(text, names[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    return -1;
}

int
cli_serve(int argc, char **argv)
{
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"db-pool", required_argument, NULL, 'p'},
        {"janitor-interval", required_argument, NULL, 'j'},
        {"connections-per-address", required_argument, NULL, 'c'},
        {"body-budget-mb", required_argument, NULL, 'B'},
        {"authorize-per-address", required_argument, NULL, 'A'},
        {"authorize-per-platform", required_argument, NULL, 'P'},
        {"challenges-per-address", required_argument, NULL, 'C'},
        {"pending-ceiling", required_argument, NULL, 'E'},
        {"log-level", required_argument, NULL, 'L'},
        {"hint", no_argument, NULL, 'H'},
        {"issuer", required_argument, NULL, 'i'},
        {"models", required_argument, NULL, 'm'},
        {"trusted-proxy", required_argument, NULL, 'T'},
        {"signer-opens-per-minute", required_argument, NULL, 'O'},
        {"witness", required_argument, NULL, 'W'},
        {"default-lang", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL;
    const char *listen = DEFAULT_LISTEN;
    const char *issuer = NULL;
    const char *default_lang = NULL;
    const char *models_dir = getenv(MODELS_DIR_ENV);
    long long threads = DEFAULT_THREADS;
    long long pool = 0;
    long long janitor_interval = JANITOR_DEFAULT_INTERVAL;
    long long per_address = HTTP_DEFAULT_CONNECTIONS_PER_ADDRESS;
    long long budget_mb = (long long)(HTTP_DEFAULT_BODY_BUDGET >> 20);
    long long authorize_per_address = SERVICE_AUTHORIZE_PER_ADDRESS;
    long long authorize_per_platform = SERVICE_AUTHORIZE_PER_PLATFORM;
    long long challenges_per_address = SERVICE_CHALLENGES_PER_ADDRESS;
    long long pending_ceiling = JANITOR_DEFAULT_CEILING;
    long long opens_per_minute = SIGNER_OPENS_PER_MINUTE_DEFAULT;
    struct netaddr_cidr trusted[HTTP_TRUSTED_PROXIES_MAX];
    size_t trusted_count = 0;
    struct cosigning_witness witnesses[COSIGNING_WITNESSES_MAX];
    size_t witness_count = 0;
    int hint = 0;
    enum log_level level = LOG_INFO;
    int option;
    optind = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'l': listen = optarg; break;
        case 'H': hint = 1; break;
        case 'i': issuer = optarg; break;
        case 'm': models_dir = optarg; break;
        case 'g':
            if (strcmp(optarg, "en") != 0 && strcmp(optarg, "zh") != 0)
                return cli_fail("serve", 2, "--default-lang must be en or zh");
            default_lang = optarg;
            break;
        case 't':
            if (parse_integer(optarg, 1, THREADS_MAX, &threads) != 0)
                return cli_fail("serve", 2, "--threads must be 1 to %d", THREADS_MAX);
            break;
        case 'p':
            if (parse_integer(optarg, 1, POOL_MAX, &pool) != 0)
                return cli_fail("serve", 2, "--db-pool must be 1 to %d", POOL_MAX);
            break;
        case 'j':
            if (parse_integer(optarg, 1, JANITOR_INTERVAL_MAX, &janitor_interval) != 0)
                return cli_fail("serve", 2, "--janitor-interval must be 1 to %d",
                                JANITOR_INTERVAL_MAX);
            break;
        case 'c':
            if (parse_integer(optarg, 1, 65535, &per_address) != 0)
                return cli_fail("serve", 2, "--connections-per-address must be 1 to 65535");
            break;
        case 'B':
            if (parse_integer(optarg, 24, 1 << 20, &budget_mb) != 0)
                return cli_fail("serve", 2, "--body-budget-mb must be 24 (the largest "
                                "enrollment) to %d", 1 << 20);
            break;
        case 'A':
            if (parse_integer(optarg, 0, RATE_MAX, &authorize_per_address) != 0)
                return cli_fail("serve", 2, "--authorize-per-address must be 0 to %d",
                                RATE_MAX);
            break;
        case 'P':
            if (parse_integer(optarg, 0, RATE_MAX, &authorize_per_platform) != 0)
                return cli_fail("serve", 2, "--authorize-per-platform must be 0 to %d",
                                RATE_MAX);
            break;
        case 'C':
            if (parse_integer(optarg, 0, RATE_MAX, &challenges_per_address) != 0)
                return cli_fail("serve", 2, "--challenges-per-address must be 0 to %d",
                                RATE_MAX);
            break;
        case 'E':
            if (parse_integer(optarg, 0, CEILING_MAX, &pending_ceiling) != 0)
                return cli_fail("serve", 2, "--pending-ceiling must be 0 to %lld",
                                (long long)CEILING_MAX);
            break;
        case 'O':
            if (parse_integer(optarg, 1, UINT32_MAX, &opens_per_minute) != 0)
                return cli_fail("serve", 2, "--signer-opens-per-minute must be 1 to %u",
                                UINT32_MAX);
            break;
        case 'T':
            if (trusted_count == HTTP_TRUSTED_PROXIES_MAX)
                return cli_fail("serve", 2, "at most %d --trusted-proxy networks",
                                HTTP_TRUSTED_PROXIES_MAX);
            if (netaddr_cidr_parse(optarg, &trusted[trusted_count]) != 0)
                return cli_fail("serve", 2, "--trusted-proxy %s is not an address or a "
                                "network ADDRESS/BITS with its host bits zero", optarg);
            trusted_count++;
            break;
        case 'W': {
            char reason[512];
            if (witness_count == COSIGNING_WITNESSES_MAX)
                return cli_fail("serve", 2, "at most %d --witness", COSIGNING_WITNESSES_MAX);
            if (cosigning_parse_witness(optarg, &witnesses[witness_count], reason,
                                        sizeof reason) != 0)
                return cli_fail("serve", 2, "%s", reason);
            witness_count++;
            break;
        }
        case 'L':
            if (parse_level(optarg, &level) != 0)
                return cli_fail("serve", 2, "unknown --log-level %s", optarg);
            break;
        case 'h': fputs(serve_usage, stdout); return 0;
        default: return cli_usage("serve", serve_usage, "an option is unknown or lacks its value");
        }
    }
    if (data_dir == NULL)
        return cli_usage("serve", serve_usage, "--data DIR is required");
    if (optind != argc)
        return cli_usage("serve", serve_usage, "unexpected argument %s", argv[optind]);
    log_set_level(level);
    if (models_dir == NULL || models_dir[0] == '\0')
        models_dir = CYBERID_DEFAULT_MODELS_DIR;

    /* Block the stop signals before any thread starts, so every worker
     * inherits the mask and only sigwait() below receives them. A thread
     * made before main() (OpenBLAS starts its pool from a library
     * constructor) has them unblocked: a stop signal the kernel gives it
     * would kill the process unclean, so the handler there hands it to
     * the main thread, which is waiting for it. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    main_thread = pthread_self();
    struct sigaction forward = {.sa_handler = forward_to_main};
    sigemptyset(&forward.sa_mask);
    sigaction(SIGTERM, &forward, NULL);
    sigaction(SIGINT, &forward, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    struct service service;
    /* By default one database connection per worker, one for the
     * janitor, one for the log's sequencer and one spare. */
    if (pool == 0)
        pool = threads + 3 > POOL_MAX ? POOL_MAX : threads + 3;
    /* A channel per worker, the janitor, the sequencer and the main
     * thread, so workers never wait for each other at the signer. */
    struct signer_options signer = {
        .channels = (unsigned)threads + 3, .opens_per_minute = (unsigned)opens_per_minute,
        .on_give_up = give_up};
    if (service_open_with_signer(data_dir, (unsigned)pool, &signer, &service, err,
                                 sizeof err) != 0)
        return cli_fail("serve", 1, "%s", err);
    if (service_load_face(&service, models_dir, err, sizeof err) != 0) {
        service_close(&service);
        return cli_fail("serve", 1, "%s (fetch them with scripts/fetch-models.sh, "
                        "or pass --models DIR)", err);
    }

    size_t route_count = 0;
    const struct http_route *routes = service_routes(&route_count);
    struct http_server_options server_options = {
        .listen = listen, .threads = (unsigned)threads,
        .unavailable = service_unavailable,
        .connections_per_address = (unsigned)per_address,
        .body_budget = (size_t)budget_mb << 20,
        .trusted_proxies = trusted, .trusted_proxy_count = trusted_count,
    };
    struct http_server *server = NULL;
    if (http_server_start(&server_options, routes, route_count, &service, &server,
                          err, sizeof err) != 0) {
        service_close(&service);
        return cli_fail("serve", 1, "%s", err);
    }
    char default_issuer[SERVICE_ISSUER_MAX];
    if (issuer == NULL) {
        /* http_server_start() accepted listen, so it has a host:port colon. */
        const char *colon = strrchr(listen, ':');
        if (colon == NULL ||
            string_format(default_issuer, sizeof default_issuer, "http://%.*s:%u",
                          (int)(colon - listen), listen,
                          (unsigned)http_server_port(server)) != 0) {
            http_server_stop(server);
            service_close(&service);
            return cli_fail("serve", 1, "cannot form the issuer URL: pass --issuer");
        }
        issuer = default_issuer;
    }
    /* The flag, else config.json, else English. */
    if (default_lang == NULL && service.config.default_lang[0] != '\0')
        default_lang = service.config.default_lang;
    if (default_lang != NULL && ui_lang_from_name(default_lang, &service.default_lang) != 0)
        service.default_lang = UI_LANG_EN; /* both were checked above */
    service.limits = (struct service_limits){
        .authorize_per_address = (double)authorize_per_address,
        .authorize_per_platform = (double)authorize_per_platform,
        .challenges_per_address = (double)challenges_per_address,
    };
    if (service_start_serving(&service, issuer, err, sizeof err) != 0) {
        http_server_stop(server);
        service_close(&service);
        return cli_fail("serve", 1, "%s", err);
    }
    struct janitor *janitor = NULL;
    if (janitor_start(service.store, service.signer, (unsigned)janitor_interval, pending_ceiling, &janitor,
                      err, sizeof err) != 0) {
        http_server_stop(server);
        service_close(&service);
        return cli_fail("serve", 1, "%s", err);
    }
    /* The transparency log is signed only with a checkpoint key. */
    struct sequencer *sequencer = NULL;
    struct cosigning *cosigning = NULL;
    char origin[SIGNER_LOG_ORIGIN_MAX], vkey[SIGNER_LOG_VKEY_MAX];
    if (signer_log_key(service.signer, origin, vkey) != 0) {
        log_event(LOG_WARN, "log_unsigned", "{s:s}", "reason",
                  "no checkpoint key: events are not put in the transparency log "
                  "(cyberid log init makes the key)");
        if (witness_count > 0) {
            janitor_stop(janitor);
            http_server_stop(server);
            service_close(&service);
            return cli_fail("serve", 1, "--witness needs the log's checkpoint key "
                            "(cyberid log init)");
        }
    } else if ((witness_count > 0 &&
                cosigning_new(witnesses, witness_count, &cosigning, err, sizeof err) != 0) ||
               sequencer_start(service.store, service.signer, cosigning,
                               SEQUENCER_DEFAULT_INTERVAL_MS, &sequencer, err, sizeof err) != 0) {
        cosigning_free(cosigning);
        janitor_stop(janitor);
        http_server_stop(server);
        service_close(&service);
        return cli_fail("serve", 1, "%s", err);
    }
    log_event(LOG_INFO, "listening", "{s:s, s:i, s:i, s:s, s:s, s:i, s:i, s:i}", "listen",
              listen, "port", (int)http_server_port(server), "threads", (int)threads,
              "issuer", service.issuer, "database", store_backend(service.store),
              "db_pool", (int)pool, "trusted_proxies", (int)trusted_count, "witnesses",
              (int)witness_count);
    if (hint)
        print_hint(data_dir, listen, http_server_port(server));

    int received = 0;
    sigwait(&stop_signals, &received);
    log_event(LOG_INFO, "stopping", "{s:s}", "signal",
              signer_gave_up ? "signer_gave_up"
              : received == SIGTERM ? "SIGTERM" : "SIGINT");
    http_server_stop(server);
    sequencer_stop(sequencer);
    cosigning_free(cosigning);
    janitor_stop(janitor);
    service_close(&service);
    log_event(LOG_INFO, "stopped", NULL);
    return signer_gave_up ? 1 : 0;
}
