/* signer_process: `cyberid signer`, the process that holds the keys; see
 * signer.h. signer_start() execs it with its channels on descriptors 3 to
 * 3+N-1 and nothing else open but the standard ones.
 *
 * Start: load the keys (signer_ops_open), say hello on channel 0 (the
 * initial kid, or why the keys did not load), start a thread per channel,
 * then drop what it will never need: PR_SET_NO_NEW_PRIVS, and a seccomp
 * filter (libseccomp) on every thread that allows only the system calls
 * the operations use; any other kills the process. It opens no socket.
 *
 * Serving: each thread reads a request, runs it, writes the reply. A
 * malformed message (bad header, unknown op, fields that do not add up) or
 * a channel cut mid-message ends the process at once, as OpenSSH's
 * monitor does on a message it did not expect: the sender is the network
 * process, and a network process that sends garbage is not to be
 * reasoned with. The end of a channel between messages is the parent
 * closing: the process exits. It also dies with its parent
 * (PR_SET_PDEATHSIG). */
#include "signer/signer.h"

#include "signer/signer_ops.h"
#include "signer/signer_wire.h"
#include "util/log.h"
#include "util/strings.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIRST_CHANNEL_FD 3
#define EXIT_MALFORMED 3

struct serving {
    struct signer_ops *ops;
    int fd;
    pthread_barrier_t *filtered;    /* passed once the filter is on */
};

static _Noreturn void
die_malformed(const char *what)
{
    log_event(LOG_ERROR, "signer.malformed_request", "{s:s}", "what", what);
    _exit(EXIT_MALFORMED);
}

/* Serves one channel until its end. Never returns: the process exits. */
static void *
serve_channel(void *argument)
{
    struct serving *serving = argument;
    pthread_barrier_wait(serving->filtered);
    for (;;) {
        struct signer_wire_header header;
        uint8_t *payload = NULL;
        int got = signer_wire_receive(serving->fd, &header, &payload, SIGNER_WIRE_PAYLOAD_MAX);
        if (got == 1)
            _exit(0); /* the network process closed: it is stopping */
        if (got != 0)
            die_malformed("a message cut short, too long or followed by more");
        if (header.status != 0 || header.zero != 0 || header.op == 0 ||
            header.op >= SIGNER_OP_END)
            die_malformed("a bad header");
        struct signer_buffer reply = {0};
        uint16_t status = 0;
        if (signer_ops_run(serving->ops, header.op, payload, header.length, &status,
                           &reply) != 0)
            die_malformed(signer_op_name(header.op));
        if (header.length > 0) {
            secret_wipe(payload, header.length);
            free(payload);
        }
        header.status = status;
        header.length = (uint32_t)reply.length;
        int sent = signer_wire_send(serving->fd, &header, reply.bytes) == 0;
        signer_buffer_clear(&reply);
        if (!sent)
            _exit(0); /* the network process is gone */
    }
}

/* The system calls the serving threads make: their reads and writes,
 * memory, time, randomness, locks, and reading a token key file the first
 * time a kid is used (keys/token-<kid>.pem: read-only opens only). With
 * keys in a PKCS#11 token (in_token), also what a software token's module
 * does on each operation: SoftHSM2 re-reads its object files when another
 * process changed them, under file locks (fcntl, flock) and listing its
 * folder (getdents64); still read-only opens. A module that reports a
 * failed operation to syslog (SoftHSM2 does, e.g. a GCM tag that does not
 * match) gets EACCES from socket(): the message is lost, the signer keeps
 * no socket and lives. */
static int
install_filter(int in_token)
{
    static const int allowed[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(readv),
        SCMP_SYS(writev),
        SCMP_SYS(close), SCMP_SYS(futex), SCMP_SYS(mmap), SCMP_SYS(munmap),
        SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(brk),
        SCMP_SYS(getrandom), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
        SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(exit),
        SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(sched_yield), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
        SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(lseek),
        /* A thread made just before the filter may only start running
         * after it (TSYNC covers it): glibc's start of a thread. */
        SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
#ifdef __SANITIZE_ADDRESS__
        /* What the sanitizer runtime does on a report. */
        SCMP_SYS(sigaltstack), SCMP_SYS(prctl), SCMP_SYS(readlink), SCMP_SYS(getppid),
        SCMP_SYS(sched_getaffinity), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
#endif
    };
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (filter == NULL)
        return -1;
    int status = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1);
    for (size_t i = 0; status == 0 && i < sizeof allowed / sizeof *allowed; i++)
        status = seccomp_rule_add(filter, SCMP_ACT_ALLOW, allowed[i], 0);
    static const int token_allowed[] = {SCMP_SYS(fcntl), SCMP_SYS(flock),
                                        SCMP_SYS(getdents64)};
    for (size_t i = 0; in_token && status == 0 && i < sizeof token_allowed / sizeof *token_allowed;
         i++)
        status = seccomp_rule_add(filter, SCMP_ACT_ALLOW, token_allowed[i], 0);
    if (in_token && status == 0)
        status = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
    if (status == 0)
        status = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                                  SCMP_A2(SCMP_CMP_MASKED_EQ,
                                          O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND,
                                          O_RDONLY));
    if (status == 0)
        status = seccomp_load(filter);
    seccomp_release(filter);
    return status == 0 ? 0 : -1;
}

/* The hello on channel 0: OK and the initial kid, or FAILED and why. */
static int
hello(int fd, int ok, const char *text)
{
    size_t length = strlen(text);
    struct signer_wire_header header = {
        .status = ok ? SIGNER_STATUS_OK : SIGNER_STATUS_FAILED,
        .length = (uint32_t)length};
    return signer_wire_write(fd, &header, sizeof header) == 0 && signer_wire_write(fd, text, length) == 0
               ? 0
               : -1;
}

int
signer_process_main(int argc, char **argv)
{
    struct signer_options options = {0};
    unsigned long channels = 0, opens = 0, generations = 0;
    long parent = 0;
    static const struct option long_options[] = {
        {"keys", required_argument, NULL, 'k'},
        {"pki", required_argument, NULL, 'p'},
        {"ocsp-url", required_argument, NULL, 'o'},
        {"crl-url", required_argument, NULL, 'c'},
        {"issuer", required_argument, NULL, 'i'},
        {"channels", required_argument, NULL, 'n'},
        {"opens-per-minute", required_argument, NULL, 'm'},
        {"parent", required_argument, NULL, 'P'},
        {"generations", required_argument, NULL, 'g'},
        {NULL, 0, NULL, 0},
    };
    int option;
    while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (option) {
        case 'k': options.keys_dir = optarg; break;
        case 'p': options.pki_dir = optarg; break;
        case 'o': options.ocsp_url = optarg; break;
        case 'c': options.crl_url = optarg; break;
        case 'i': options.issuer = optarg; break;
        case 'n': channels = strtoul(optarg, NULL, 10); break;
        case 'm': opens = strtoul(optarg, NULL, 10); break;
        case 'P': parent = strtol(optarg, NULL, 10); break;
        case 'g': generations = strtoul(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "cyberid signer: internal; started by `cyberid serve`\n");
            return 2;
        }
    }
    if (options.keys_dir == NULL || channels == 0 || channels > SIGNER_CHANNELS_MAX ||
        opens > UINT32_MAX || generations > SIGNER_ISSUING_GENERATIONS_MAX) {
        fprintf(stderr, "cyberid signer: internal; started by `cyberid serve`\n");
        return 2;
    }
    for (unsigned long i = 0; i < channels; i++) {
        struct stat info;
        if (fstat(FIRST_CHANNEL_FD + (int)i, &info) != 0 || !S_ISSOCK(info.st_mode)) {
            fprintf(stderr, "cyberid signer: descriptor %lu is not a channel\n",
                    FIRST_CHANNEL_FD + i);
            return 2;
        }
    }
    options.opens_per_minute = (unsigned)opens;
    options.generations = (unsigned)generations;
    /* Die with the network process; and if it is already gone, now. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || (parent > 0 && getppid() != parent))
        return 1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        (void)hello(FIRST_CHANNEL_FD, 0, "the signer cannot set no_new_privs");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* jansson seeds its hash function on first use: from /dev/urandom,
     * before the filter. */
    json_object_seed(0);

    char err[512];
    struct signer_ops *ops = NULL;
    if (signer_ops_open(&options, &ops, err, sizeof err) != 0) {
        (void)hello(FIRST_CHANNEL_FD, 0, err);
        return 1;
    }
    struct serving *serving = calloc(channels, sizeof *serving);
    pthread_barrier_t filtered;
    if (serving == NULL || pthread_barrier_init(&filtered, NULL, (unsigned)channels) != 0) {
        (void)hello(FIRST_CHANNEL_FD, 0, "out of memory");
        return 1;
    }
    for (unsigned long i = 0; i < channels; i++)
        serving[i] = (struct serving){.ops = ops, .fd = FIRST_CHANNEL_FD + (int)i,
                                      .filtered = &filtered};
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    for (unsigned long i = 1; i < channels; i++) {
        pthread_t thread;
        if (pthread_create(&thread, &attributes, serve_channel, &serving[i]) != 0) {
            (void)hello(FIRST_CHANNEL_FD, 0, "cannot start the signer's threads");
            return 1;
        }
    }
    pthread_attr_destroy(&attributes);
    char kid[SIGNER_KID_MAX + 1];
    signer_ops_initial_kid(ops, kid);
    if (install_filter(signer_ops_keys_in_token(ops)) != 0) {
        (void)hello(FIRST_CHANNEL_FD, 0, "the signer cannot install its seccomp filter");
        return 1;
    }
    if (hello(FIRST_CHANNEL_FD, 1, kid) != 0)
        return 1;
    log_event(LOG_INFO, "signer.ready", "{s:i, s:i}", "pid", (int)getpid(), "channels",
              (int)channels);
    serve_channel(&serving[0]);
    return 0; /* not reached: serve_channel() exits the process */
}
