/* cli_init: `cyberid init --data DIR [--db URI]`: a new data folder with
 * its keys, CA certificates, config and migrated database (SQLite in the
 * folder, or the PostgreSQL / Citus database of the URI). */
#include "cli/cli.h"

#include "audit/audit.h"
#include "cli/cli_common.h"
#include "config/config.h"
#include "signer/signer.h"
#include "store/store.h"
#include "util/strings.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char init_usage[] =
    "usage: cyberid init --data DIR [--db postgresql://...]\n"
    "                    [--pkcs11-module PATH --pkcs11-token LABEL --pkcs11-pin-file FILE]\n"
    "Creates DIR (or fills it if it exists and is empty) with config.json,\n"
    "keys/ (mode 0700) and pki/, and the database: SQLite in DIR by default,\n"
    "or the PostgreSQL database of --db (a libpq URI; on a Citus coordinator\n"
    "the tables are distributed). The URI must not carry a password: libpq\n"
    "reads it from PGPASSFILE, ~/.pgpass or passfile=FILE in the URI. A\n"
    "database that already holds a cyberid schema is refused: to add a node,\n"
    "copy a data folder instead (cp -a). Never overwrites.\n"
    "With the three --pkcs11 options every key is made inside that PKCS#11\n"
    "token (sensitive, not extractable) and keys/ holds only pkcs11.json,\n"
    "which names the module, the token and the PIN file (the user PIN on one\n"
    "line, mode 0600), read by the signer process when it starts. The token\n"
    "must hold no cyberid keys yet.\n";

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
        {"db", required_argument, NULL, 'b'},
        {"pkcs11-module", required_argument, NULL, 'm'},
        {"pkcs11-token", required_argument, NULL, 't'},
        {"pkcs11-pin-file", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL;
    const char *database = NULL;
    const char *module = NULL, *token = NULL, *pin_file = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (option == 'd')
            data_dir = optarg;
        else if (option == 'b')
            database = optarg;
        else if (option == 'm')
            module = optarg;
        else if (option == 't')
            token = optarg;
        else if (option == 'p')
            pin_file = optarg;
        else if (option == 'h')
            return fputs(init_usage, stdout), 0;
        else
            return cli_usage("init", init_usage, "an option is unknown or lacks its value");
    }
    if (data_dir == NULL)
        return cli_usage("init", init_usage, "--data DIR is required");
    if (optind != argc)
        return cli_usage("init", init_usage, "unexpected argument %s", argv[optind]);
    int pkcs11_given = (module != NULL) + (token != NULL) + (pin_file != NULL);
    if (pkcs11_given != 0 && pkcs11_given != 3)
        return cli_usage("init", init_usage,
                         "--pkcs11-module, --pkcs11-token and --pkcs11-pin-file go together");

    char err[512];
    struct config config;
    if (config_paths(data_dir, &config, err, sizeof err) != 0)
        return cli_fail("init", 1, "%s", err);
    if (database != NULL) {
        if (store_location_check(database, err, sizeof err) != 0 ||
            config_set_database(&config, database, err, sizeof err) != 0)
            return cli_fail("init", 2, "--db: %s", err);
        /* Before anything is written: is the database reachable, and not
         * another deployment's? */
        struct store *probe = NULL;
        int exists = 0;
        if (store_open(config.database, 1, 0, &probe, err, sizeof err) != 0)
            return cli_fail("init", 1, "%s", err);
        struct store_conn *conn = store_acquire(probe);
        int checked = store_schema_exists(conn, &exists);
        if (checked != 0 && string_copy(err, sizeof err, store_last_error(conn)) != 0)
            err[0] = '\0';
        store_release(probe, conn);
        store_close(probe);
        if (checked != 0)
            return cli_fail("init", 1, "cannot read the database: %s", err);
        if (exists)
            return cli_fail("init", 1,
                            "the database already holds a cyberid schema (another data "
                            "folder's); to add a node, copy that data folder (cp -a) "
                            "instead");
    }
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

    int keys_made = module != NULL
                        ? signer_create_keys_pkcs11(config.keys_dir, config.pki_dir, module,
                                                    token, pin_file, err, sizeof err)
                        : signer_create_keys(config.keys_dir, config.pki_dir, err, sizeof err);
    if (keys_made != 0 ||
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

    return cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s}", "data", data_dir,
                                    "database", config.database_setting, "keys",
                                    config.keys_dir, "ca_certificates", config.pki_dir,
                                    "key_store", module != NULL ? "pkcs11" : "files")) == 0
               ? 0
               : 1;
}
