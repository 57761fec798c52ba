/* config: data folder layout and config.json; see config.h. */
#include "config/config.h"

#include "util/file.h"
#include "util/strings.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_FILE_MAX_BYTES 65536
#define SQLITE_SCHEME "sqlite:"
#define CONFIG_SQLITE_DEFAULT "sqlite:cyberid.db"

int
config_paths(const char *data_dir, struct config *out, char *err,
             size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (string_copy(out->data_dir, sizeof out->data_dir, data_dir) != 0 ||
        string_format(out->config_file, sizeof out->config_file,
                      "%s/config.json", data_dir) != 0 ||
        string_format(out->keys_dir, sizeof out->keys_dir, "%s/keys",
                      data_dir) != 0 ||
        string_format(out->pki_dir, sizeof out->pki_dir, "%s/pki",
                      data_dir) != 0)
        return error_set(err, errlen, "data folder path is too long");
    return config_set_database(out, CONFIG_SQLITE_DEFAULT, err, errlen);
}

int
config_set_database(struct config *config, const char *setting, char *err,
                    size_t errlen)
{
    if (string_copy(config->database_setting, sizeof config->database_setting,
                    setting) != 0)
        return error_set(err, errlen, "the database location is too long");
    if (strncmp(setting, SQLITE_SCHEME, strlen(SQLITE_SCHEME)) == 0) {
        const char *file = setting + strlen(SQLITE_SCHEME);
        if (file[0] == '\0')
            return error_set(err, errlen, "sqlite: names no file");
        if (file[0] == '/')
            return string_copy(config->database, sizeof config->database, setting) == 0
                       ? 0
                       : error_set(err, errlen, "the database location is too long");
        if (string_format(config->database, sizeof config->database, "%s%s/%s",
                          SQLITE_SCHEME, config->data_dir, file) != 0)
            return error_set(err, errlen, "the database location is too long");
        return 0;
    }
    if (strncmp(setting, "postgresql://", 13) == 0 ||
        strncmp(setting, "postgres://", 11) == 0)
        return string_copy(config->database, sizeof config->database, setting) == 0
                   ? 0
                   : error_set(err, errlen, "the database location is too long");
    return error_set(err, errlen,
                     "unknown database location: expected sqlite:FILE or a "
                     "postgresql:// URI");
}

int
config_write_new(const struct config *config, char *err, size_t errlen)
{
    json_t *document = json_pack("{s:i, s:s}", "format", CONFIG_FORMAT_VERSION,
                                 "database", config->database_setting);
    if (document == NULL)
        return error_set(err, errlen, "out of memory");
    char *text = json_dumps(document, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(document);
    if (text == NULL)
        return error_set(err, errlen, "out of memory");
    int status = file_create(config->config_file, 0600, text, strlen(text),
                             err, errlen);
    free(text);
    return status;
}

int
config_load(const char *data_dir, struct config *out, char *err,
            size_t errlen)
{
    if (config_paths(data_dir, out, err, errlen) != 0)
        return -1;
    struct stat info;
    if (stat(out->config_file, &info) != 0)
        return error_set(err, errlen,
                         "%s is not a cyberid data folder (no config.json); "
                         "create one with: cyberid init --data %s",
                         data_dir, data_dir);

    uint8_t *text = NULL;
    size_t length = 0;
    if (file_read(out->config_file, CONFIG_FILE_MAX_BYTES, &text, &length, err,
                  errlen) != 0)
        return -1;
    json_error_t parse_error;
    json_t *document = json_loadb((const char *)text, length, 0, &parse_error);
    free(text);
    if (document == NULL)
        return error_set(err, errlen, "%s: line %d: %s", out->config_file,
                         parse_error.line, parse_error.text);
    int status = -1;
    json_int_t format = json_integer_value(json_object_get(document, "format"));
    const char *database =
        json_string_value(json_object_get(document, "database"));
    if (format != 1 && format != CONFIG_FORMAT_VERSION) {
        error_set(err, errlen, "%s: unsupported format %lld (expected %d)",
                  out->config_file, (long long)format, CONFIG_FORMAT_VERSION);
    } else if (database == NULL) {
        error_set(err, errlen, "%s: \"database\" missing", out->config_file);
    } else if (format == 1) {
        /* Format 1 wrote "sqlite:" + the folder as given to init + the
         * file name, relative to a working directory nobody remembers; it
         * only ever named the folder's own cyberid.db. */
        status = 0; /* config_paths() set exactly that */
    } else {
        status = config_set_database(out, database, err, errlen);
    }
    json_t *max_days = json_object_get(document, "suspension_max_days");
    out->suspension_max_days = CONFIG_SUSPENSION_MAX_DAYS_DEFAULT;
    if (status == 0 && max_days != NULL) {
        json_int_t days = json_integer_value(max_days);
        if (!json_is_integer(max_days) || days < 1 || days > CONFIG_SUSPENSION_MAX_DAYS_LIMIT)
            status = error_set(err, errlen, "%s: \"suspension_max_days\" must be 1 to %d",
                               out->config_file, CONFIG_SUSPENSION_MAX_DAYS_LIMIT);
        else
            out->suspension_max_days = (int)days;
    }
    const json_t *lang = json_object_get(document, "default_lang");
    out->default_lang[0] = '\0';
    if (status == 0 && lang != NULL) {
        const char *name = json_string_value(lang);
        if (name == NULL || (strcmp(name, "en") != 0 && strcmp(name, "zh") != 0))
            status = error_set(err, errlen, "%s: \"default_lang\" must be \"en\" or \"zh\"",
                               out->config_file);
        else
            memcpy(out->default_lang, name, strlen(name) + 1);
    }
    json_decref(document);
    return status;
}
