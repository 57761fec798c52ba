/* cyberid: the service and the operator's command line in one binary.
 * This file only dispatches to the sub-commands in src/cli/. */
#include "cli/cli.h"
#include "signer/signer.h"

#include "util/wipe_alloc.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", cli_init, "create a data folder: database, keys, CA certificates"},
    {"serve", cli_serve, "run the HTTP service"},
    {"registry", cli_registry, "import the population registry from CSV"},
    {"platform", cli_platform, "register, list, disable platforms (relying parties)"},
    {"identity", cli_identity, "show, suspend, reinstate or revoke an identity (web number)"},
    {"keys", cli_keys, "rotate or list the ID token signing keys"},
    {"ca", cli_ca, "rotate, hold or list the issuing CA generations"},
    {"log", cli_log, "make the transparency log's key, or verify the whole log"},
    {"appeal", cli_appeal, "list or decide citizens' appeals against suspensions"},
#ifdef CYBERID_HAVE_FACE
    {"face", cli_face, "detect and compare faces in images"},
#endif
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: cyberid COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`cyberid COMMAND --help` describes a command's options.\n");
}

int
main(int argc, char **argv)
{
    /* Everything cyberid creates (database, keys, exports) is private to
     * the service's user. */
    umask(077);
    /* Before any jansson, cjose or OpenSSL allocation: every block they
     * free from now on is wiped first (request bodies parsed as JSON,
     * claims, sealed records opened, keys), so personal data and secrets
     * do not linger in freed memory. */
    wipe_alloc_install();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("cyberid %s\n", CYBERID_VERSION);
        return 0;
    }
    /* The key-holding process `serve` starts (signer.h): not an
     * operator's command, so not in the list. */
    if (strcmp(argv[1], "signer") == 0)
        return signer_process_main(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cyberid: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
