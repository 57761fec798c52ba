/* cli_init: `cyberid init --data DIR`: a new data folder with its keys,
 * CA certificates, config and migrated database. */
#include "cli/cli.h"

#include "audit/audit.h"
#include "cli/cli_common.h"
#include "config/config.h"
#include "signer/signer.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char init_usage[] =
    "usage: cyberid init --data DIR\n"
    "Creates DIR (or fills it if it exists and is empty) with config.json,\n"
    "the SQLite database, keys/ (mode 0700) and pki/. Never overwrites.\n";

/* 1 if path is an existing directory with no entries. */
static int
is_empty_directory(const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return 0;
    int empty = 1;
    struct dirent *entry;
    while (empty && (entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, ".."))
            empty = 0;
    closedir(dir);
    return empty;
}

int
cli_init(int argc, char **argv)
{
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (option == 'd')
            data_dir = optarg;
        else if (option == 'h')
            return fputs(init_usage, stdout), 0;
        else
            return fputs(init_usage, stderr), 2;
    }
    if (data_dir == NULL || optind != argc)
        return fputs(init_usage, stderr), 2;

    char err[512];
    struct config config;
    if (config_paths(data_dir, &config, err, sizeof err) != 0)
        return cli_fail("init", 1, "%s", err);
    struct stat info;
    if (stat(data_dir, &info) == 0) {
        if (!is_empty_directory(data_dir))
            return cli_fail("init", 1,
                            "%s already exists and is not empty; refusing to "
                            "overwrite it", data_dir);
        if (chmod(data_dir, 0700) != 0)
            return cli_fail("init", 1, "cannot chmod %s: %s", data_dir,
                            strerror(errno));
    } else if (mkdir(data_dir, 0700) != 0) {
        return cli_fail("init", 1, "cannot create %s: %s", data_dir,
                        strerror(errno));
    }

    if (signer_create_keys(config.keys_dir, config.pki_dir, err, sizeof err) != 0 ||
        config_write_new(&config, err, sizeof err) != 0)
        return cli_fail("init", 1, "%s (remove %s before trying again)", err,
                        data_dir);

    struct store *store = NULL;
    if (store_open(config.database, 1, 1, &store, err, sizeof err) != 0)
        return cli_fail("init", 1, "%s (remove %s before trying again)", err,
                        data_dir);
    struct store_conn *conn = store_acquire(store);
    int audited = audit_append(conn, AUDIT_ACTOR_OPERATOR, "service.init",
                               "service", NULL, NULL) == 0;
    store_release(store, conn);
    store_close(store);
    if (!audited)
        return cli_fail("init", 1, "cannot write the first audit event");

    return cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "data", data_dir,
                                    "database", config.database, "keys",
                                    config.keys_dir, "ca_certificates",
                                    config.pki_dir)) == 0
               ? 0
               : 1;
}
