/* config: the data folder's layout and its config.json.
 *
 *   DIR/config.json        settings (format version, database location)
 *   DIR/cyberid.db         SQLite database (WAL), the embedded default
 *   DIR/keys/              private keys, mode 0700/0600: read by the signer only
 *   DIR/pki/               public certificates (CA chain, token key)
 */
#ifndef CYBERID_CONFIG_H
#define CYBERID_CONFIG_H

#include <stddef.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_FORMAT_VERSION 1

struct config {
    char data_dir[CONFIG_PATH_MAX];
    char config_file[CONFIG_PATH_MAX];
    char keys_dir[CONFIG_PATH_MAX];
    char pki_dir[CONFIG_PATH_MAX];
    /* "sqlite:<path>" by default, or a postgresql:// URL. */
    char database[CONFIG_PATH_MAX];
};

/* Fills the paths for data folder `data_dir` without touching the disk.
 * Returns 0, or -1 when a path would not fit. */
int config_paths(const char *data_dir, struct config *out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* Writes DIR/config.json for a new data folder (refuses to overwrite). */
int config_write_new(const struct config *config, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Reads DIR/config.json and fills *out. Returns 0 or -1 with err set (a
 * missing folder says to run `cyberid init`). */
int config_load(const char *data_dir, struct config *out, char *err,
                size_t errlen) __attribute__((warn_unused_result));

#endif
