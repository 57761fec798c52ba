/* wallet: the wallet file; see wallet.h. */
#include "app/wallet.h"

#include "util/wipe_alloc.h"
#include "util/encoding.h"
#include "util/file.h"
#include "util/strings.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Random bytes in the temporary file's name. */
#define WALLET_TEMP_RANDOM 8
#define WALLET_PATH_MAX 4096

/* The fields in file order, with their place in struct wallet. */
static const struct {
    const char *name;
    size_t offset;
} wallet_fields[] = {
    {"server", offsetof(struct wallet, server)},
    {"web_number", offsetof(struct wallet, web_number)},
    {"serial", offsetof(struct wallet, serial)},
    {"private_key", offsetof(struct wallet, private_key)},
    {"certificate", offsetof(struct wallet, certificate)},
    {"chain", offsetof(struct wallet, chain)},
};
#define WALLET_FIELDS (sizeof(wallet_fields) / sizeof(wallet_fields[0]))

/* The optional fields, written when set and read when present. */
static const struct {
    const char *name;
    size_t offset;
} wallet_optional[] = {
    {"log_key", offsetof(struct wallet, log_key)},
    {"log_checkpoint", offsetof(struct wallet, log_checkpoint)},
    {"witness_keys", offsetof(struct wallet, witness_keys)},
    {"log_seen", offsetof(struct wallet, log_seen)},
};
#define WALLET_OPTIONAL (sizeof(wallet_optional) / sizeof(wallet_optional[0]))

static char **
optional(struct wallet *wallet, size_t i)
{
    return (char **)((char *)wallet + wallet_optional[i].offset);
}

static char **
field(struct wallet *wallet, size_t i)
{
    return (char **)((char *)wallet + wallet_fields[i].offset);
}

static const char *
field_const(const struct wallet *wallet, size_t i)
{
    return *(char *const *)((const char *)wallet + wallet_fields[i].offset);
}

void
wallet_clear(struct wallet *wallet)
{
    for (size_t i = 0; i < WALLET_FIELDS; i++) {
        char **value = field(wallet, i);
        if (*value != NULL) {
            secret_wipe(*value, strlen(*value));
            free(*value);
            *value = NULL;
        }
    }
    for (size_t i = 0; i < WALLET_OPTIONAL; i++) {
        free(*optional(wallet, i));
        *optional(wallet, i) = NULL;
    }
}

/* The directory part of path, for fsync after the rename ("." if none). */
static int
sync_directory(const char *path)
{
    char directory[WALLET_PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, status;

    if (slash == NULL)
        return string_copy(directory, sizeof(directory), ".") == 0 ? 0 : -1;
    if ((size_t)(slash - path) + 1 >= sizeof(directory))
        return -1;
    memcpy(directory, path, (size_t)(slash - path) + 1);
    directory[slash - path + 1] = '\0';
    fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    status = fsync(fd);
    close(fd);
    return status;
}

int
wallet_write(const char *path, const struct wallet *wallet, char *err,
             size_t errlen)
{
    int status = -1;
    json_t *object = json_pack("{s:i}", "version", WALLET_VERSION);
    char *text = NULL;
    char temp[WALLET_PATH_MAX];
    uint8_t random[WALLET_TEMP_RANDOM];
    char suffix[HEX_ENCODED_SIZE(WALLET_TEMP_RANDOM)];
    int created = 0;

    if (object == NULL) {
        error_set(err, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < WALLET_FIELDS; i++) {
        const char *value = field_const(wallet, i);
        if (value == NULL || value[0] == '\0' ||
            strnlen(value, WALLET_FIELD_MAX) >= WALLET_FIELD_MAX) {
            error_set(err, errlen, "wallet field %s missing or too long",
                      wallet_fields[i].name);
            goto cleanup;
        }
        if (json_object_set_new(object, wallet_fields[i].name,
                                json_string(value)) != 0) {
            error_set(err, errlen, "wallet field %s is not UTF-8",
                      wallet_fields[i].name);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < WALLET_OPTIONAL; i++) {
        const char *value = *optional((struct wallet *)wallet, i);
        if (value != NULL && (strnlen(value, WALLET_FIELD_MAX) >= WALLET_FIELD_MAX ||
                              json_object_set_new(object, wallet_optional[i].name,
                                                  json_string(value)) != 0)) {
            error_set(err, errlen, "wallet field %s is too long or not UTF-8",
                      wallet_optional[i].name);
            goto cleanup;
        }
    }
    text = json_dumps(object, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        error_set(err, errlen, "out of memory");
        goto cleanup;
    }
    if (RAND_bytes(random, sizeof(random)) != 1 ||
        hex_encode(random, sizeof(random), suffix, sizeof(suffix)) != 0 ||
        string_format(temp, sizeof(temp), "%s.%s.tmp", path, suffix) != 0) {
        error_set(err, errlen, "wallet path too long");
        goto cleanup;
    }
    if (file_create(temp, WALLET_MODE, text, strlen(text), err, errlen) != 0)
        goto cleanup;
    created = 1;
    if (rename(temp, path) != 0) {
        error_set(err, errlen, "cannot replace %s: %s", path, strerror(errno));
        goto cleanup;
    }
    created = 0;
    if (sync_directory(path) != 0) {
        error_set(err, errlen, "cannot sync the folder of %s", path);
        goto cleanup;
    }
    status = 0;
cleanup:
    if (created)
        unlink(temp);
    if (text != NULL) {
        secret_wipe(text, strlen(text));
        wipe_free(text);
    }
    json_decref(object);
    return status;
}

/* Reads the whole wallet after checking it is a private regular file. */
static int
read_private_file(const char *path, char **out, char *err, size_t errlen)
{
    int status = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat info;
    char *buffer = NULL;
    size_t done = 0;

    *out = NULL;
    if (fd < 0)
        return error_set(err, errlen, "cannot open wallet %s: %s", path,
                         strerror(errno));
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        error_set(err, errlen, "wallet %s is not a regular file", path);
        goto cleanup;
    }
    if ((info.st_mode & 077) != 0) {
        error_set(err, errlen, "refusing wallet %s: it is accessible by group "
                  "or others (mode %03o); it holds your private key, run "
                  "chmod 600 on it", path, (unsigned)(info.st_mode & 0777));
        goto cleanup;
    }
    if (info.st_uid != geteuid()) {
        error_set(err, errlen, "refusing wallet %s: owned by another user", path);
        goto cleanup;
    }
    if (info.st_size > WALLET_MAX_BYTES) {
        error_set(err, errlen, "wallet %s is larger than %d bytes", path,
                  WALLET_MAX_BYTES);
        goto cleanup;
    }
    buffer = malloc((size_t)info.st_size + 1);
    if (buffer == NULL) {
        error_set(err, errlen, "out of memory");
        goto cleanup;
    }
    while (done < (size_t)info.st_size) {
        ssize_t n = read(fd, buffer + done, (size_t)info.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            error_set(err, errlen, "cannot read wallet %s", path);
            goto cleanup;
        }
        done += (size_t)n;
    }
    buffer[done] = '\0';
    *out = buffer;
    buffer = NULL;
    status = 0;
cleanup:
    if (buffer != NULL) {
        secret_wipe(buffer, (size_t)info.st_size + 1);
        free(buffer);
    }
    close(fd);
    return status;
}

int
wallet_read(const char *path, struct wallet *wallet, char *err, size_t errlen)
{
    int status = -1;
    char *text = NULL;
    json_t *object = NULL;
    json_error_t parse_error;

    memset(wallet, 0, sizeof(*wallet));
    if (read_private_file(path, &text, err, errlen) != 0)
        return -1;
    object = json_loads(text, JSON_REJECT_DUPLICATES, &parse_error);
    if (!json_is_object(object)) {
        error_set(err, errlen, "wallet %s is not a JSON object", path);
        goto cleanup;
    }
    json_t *version = json_object_get(object, "version");
    if (!json_is_integer(version) || json_integer_value(version) != WALLET_VERSION) {
        error_set(err, errlen, "wallet %s: unsupported version", path);
        goto cleanup;
    }
    for (size_t i = 0; i < WALLET_FIELDS; i++) {
        json_t *value = json_object_get(object, wallet_fields[i].name);
        const char *string = json_string_value(value);
        if (string == NULL || string[0] == '\0' ||
            strnlen(string, WALLET_FIELD_MAX) >= WALLET_FIELD_MAX) {
            error_set(err, errlen, "wallet %s: field %s missing or invalid",
                      path, wallet_fields[i].name);
            goto cleanup;
        }
        *field(wallet, i) = strdup(string);
        if (*field(wallet, i) == NULL) {
            error_set(err, errlen, "out of memory");
            goto cleanup;
        }
    }
    for (size_t i = 0; i < WALLET_OPTIONAL; i++) {
        json_t *value = json_object_get(object, wallet_optional[i].name);
        if (value == NULL)
            continue;
        const char *string = json_string_value(value);
        if (string == NULL || strnlen(string, WALLET_FIELD_MAX) >= WALLET_FIELD_MAX ||
            (*optional(wallet, i) = strdup(string)) == NULL) {
            error_set(err, errlen, "wallet %s: field %s invalid", path,
                      wallet_optional[i].name);
            goto cleanup;
        }
    }
    status = 0;
cleanup:
    if (status != 0)
        wallet_clear(wallet);
    json_decref(object);
    secret_wipe(text, strlen(text));
    free(text);
    return status;
}
