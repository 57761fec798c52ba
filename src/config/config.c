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
                      data_dir) != 0 ||
        string_format(out->database, sizeof out->database,
                      "sqlite:%s/cyberid.db", data_dir) != 0)
        return error_set(err, errlen, "data folder path is too long");
    return 0;
}

int
config_write_new(const struct config *config, char *err, size_t errlen)
{
    json_t *document = json_pack("{s:i, s:s}", "format", CONFIG_FORMAT_VERSION,
                                 "database", config->database);
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
    if (format != CONFIG_FORMAT_VERSION) {
        error_set(err, errlen, "%s: unsupported format %lld (expected %d)",
                  out->config_file, (long long)format, CONFIG_FORMAT_VERSION);
    } else if (database == NULL ||
               string_copy(out->database, sizeof out->database, database) != 0) {
        error_set(err, errlen, "%s: \"database\" missing or too long",
                  out->config_file);
    } else {
        status = 0;
    }
    json_decref(document);
    return status;
}
