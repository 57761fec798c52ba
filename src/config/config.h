/* config: the data folder's layout and its config.json.
 *
 *   DIR/config.json        settings (format version, database location,
 *                          optional: suspension_max_days, default_lang)
 *   DIR/cyberid.db         SQLite database (WAL), the embedded default
 *   DIR/keys/              private keys, mode 0700/0600: read by the signer only
 *   DIR/pki/               public certificates (CA chain, token key)
 *
 * A data folder is self-contained: a copy of it (`cp -a`) is a second node
 * of the same deployment. So the SQLite file is recorded relative to the
 * folder ("sqlite:cyberid.db") and resolved against wherever the folder
 * is now; a PostgreSQL database is recorded as its libpq URI, which every
 * copy shares.
 */
#ifndef CYBERID_CONFIG_H
#define CYBERID_CONFIG_H

#include <stddef.h>

#define CONFIG_PATH_MAX 1024
/* 1: the SQLite path as given to `cyberid init` (relative to the working
 * directory of that day); 2: relative to the data folder, or a URI. */
#define CONFIG_FORMAT_VERSION 2

#define CONFIG_LANG_SIZE 3

struct config {
    char data_dir[CONFIG_PATH_MAX];
    char config_file[CONFIG_PATH_MAX];
    char keys_dir[CONFIG_PATH_MAX];
    char pki_dir[CONFIG_PATH_MAX];
    /* What config.json records: "sqlite:cyberid.db" (relative to the data
     * folder), "sqlite:/absolute/file.db", or a postgresql:// URI. */
    char database_setting[CONFIG_PATH_MAX];
    /* What the store opens: the setting with a relative SQLite path
     * resolved against data_dir. */
    char database[CONFIG_PATH_MAX + 16];
    /* The longest suspension an operator may order, in days: config.json's
     * optional "suspension_max_days" (1 to 3650), else the default. */
    int suspension_max_days;
    /* The language of the service's pages when a request names none it
     * speaks: config.json's optional "default_lang", "en" or "zh"; ""
     * when unset (`cyberid serve --default-lang` overrides it). */
    char default_lang[CONFIG_LANG_SIZE];
};
#define CONFIG_SUSPENSION_MAX_DAYS_DEFAULT 90
#define CONFIG_SUSPENSION_MAX_DAYS_LIMIT 3650

/* Fills the paths for data folder `data_dir` without touching the disk,
 * with the default database (SQLite, DIR/cyberid.db). Returns 0, or -1
 * when a path would not fit. */
int config_paths(const char *data_dir, struct config *out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* Records `setting` ("sqlite:FILE" or a postgresql:// URI) as the
 * database, resolving a relative SQLite file against the data folder.
 * 0, or -1 with err when it does not fit or names no known database. */
int config_set_database(struct config *config, const char *setting, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

/* Writes DIR/config.json for a new data folder (refuses to overwrite). */
int config_write_new(const struct config *config, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Reads DIR/config.json and fills *out. Returns 0 or -1 with err set (a
 * missing folder says to run `cyberid init`). A format 1 file (always
 * SQLite at DIR/cyberid.db) is read as the same database. */
int config_load(const char *data_dir, struct config *out, char *err,
                size_t errlen) __attribute__((warn_unused_result));

#endif
