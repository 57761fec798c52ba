/* cyberid-app: the reference citizen app. Global options, then one
 * command; see app_usage() in app_common.c. */
#include "app/app.h"

#include "util/wipe_alloc.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(const struct app_options *, int, char **);
};

static const struct command commands[] = {
    {"enroll", app_enroll},
    {"rekey", app_rekey},
    {"history", app_history},
    {"witness", app_witness},
    {"status", app_status},
    {"appeal", app_appeal},
    {"lock", app_lock},
    {"unlock", app_unlock},
    {"consents", app_consents},
    {"deactivate", app_deactivate},
    {"show", app_show},
    {"devices", app_devices},
    {"revoke-device", app_revoke_device},
    {"login", app_login},
    {"open", app_login}, /* a same-device link: login's, the link only */
    {"assert", app_assert},
};

int
main(int argc, char **argv)
{
    struct app_options options = {0};
    int i = 1, status, lang_given = 0;

    /* Before any jansson, cjose, OpenSSL or libcurl allocation. */
    wipe_alloc_install();
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
            strcmp(argv[i], "help") == 0) {
            app_usage(stdout);
            return APP_EXIT_OK;
        }
        if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
            options.server = argv[++i];
        else if (strcmp(argv[i], "--wallet") == 0 && i + 1 < argc)
            options.wallet = argv[++i];
        else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc) {
            if (words_language(argv[++i], &options.lang) != 0) {
                fprintf(stderr, "cyberid-app: --lang takes en or zh\n");
                return APP_EXIT_USAGE;
            }
            lang_given = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "cyberid-app: unknown option %s (see --help)\n", argv[i]);
            return APP_EXIT_USAGE;
        } else
            break;
    }
    if (i == argc) {
        app_usage(stderr);
        return APP_EXIT_USAGE;
    }
    if (!lang_given)
        (void)words_language(NULL, &options.lang);
    for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
        if (strcmp(argv[i], commands[c].name) != 0)
            continue;
        for (int a = i + 1; a < argc; a++)
            if (strcmp(argv[a], "--help") == 0) {
                app_usage(stdout);
                return APP_EXIT_OK;
            }
        if (http_client_init() != 0) {
            fprintf(stderr, "cyberid-app: cannot initialise libcurl\n");
            return APP_EXIT_FAILED;
        }
        status = commands[c].run(&options, argc - i, argv + i);
        http_client_cleanup();
        return status;
    }
    fprintf(stderr, "cyberid-app: unknown command %s (see --help)\n", argv[i]);
    return APP_EXIT_USAGE;
}
