/* app_witness: `cyberid-app witness add VKEY | remove VKEY | list`: the
 * witnesses whose cosignature `history` requires on the log's checkpoint
 * (app_history.c), kept in the wallet's "witness_keys", one verifier key
 * a line. A citizen adds the key of a witness they trust (published by
 * its operator, who is not the log's), so that a history the log shows
 * them alone, which that witness would not cosign, is refused. */
#include "app/app.h"

#include "audit/tlog.h"
#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

/* Witness keys one wallet keeps, at most. */
#define APP_WITNESSES_MAX 8

/* 1 when keys (one a line) has key. */
static int
has_key(const char *keys, const char *key)
{
    size_t length = strlen(key);
    for (const char *at = keys; at != NULL && *at != '\0';) {
        const char *end = strchr(at, '\n');
        size_t line = end ? (size_t)(end - at) : strlen(at);
        if (line == length && memcmp(at, key, length) == 0)
            return 1;
        at = end ? end + 1 : at + line;
    }
    return 0;
}

/* keys (one a line) without key: a new string, or NULL (out of memory). */
static char *
without_key(const char *keys, const char *key)
{
    char *out = calloc(1, strlen(keys) + 1);
    size_t length = strlen(key), used = 0;
    for (const char *at = keys; out != NULL && *at != '\0';) {
        const char *end = strchr(at, '\n');
        size_t line = end ? (size_t)(end - at) : strlen(at);
        if (!(line == length && memcmp(at, key, length) == 0)) {
            memcpy(out + used, at, line);
            used += line;
            out[used++] = '\n';
        }
        at = end ? end + 1 : at + line;
    }
    if (out != NULL && used > 0)
        out[used - 1] = '\0'; /* no newline after the last */
    return out;
}

static size_t
key_count(const char *keys)
{
    size_t count = keys != NULL && *keys != '\0';
    for (const char *at = keys; at != NULL && *at != '\0'; at++)
        count += *at == '\n';
    return count;
}

int
app_witness(const struct app_options *options, int argc, char **argv)
{
    const char *verb = argc >= 2 ? argv[1] : "";
    int list = strcmp(verb, "list") == 0, add = strcmp(verb, "add") == 0,
        remove = strcmp(verb, "remove") == 0;
    if (!(list && argc == 2) && !((add || remove) && argc == 3)) {
        fprintf(stderr, "cyberid-app witness: add VKEY, remove VKEY or list\n");
        return APP_EXIT_USAGE;
    }
    if (options->wallet == NULL) {
        fprintf(stderr, "cyberid-app: --wallet FILE is required\n");
        return APP_EXIT_USAGE;
    }
    const char *key = argc == 3 ? argv[2] : NULL;
    char name[TLOG_ORIGIN_MAX];
    uint8_t raw[TLOG_KEY_BYTES];
    if (add && tlog_vkey_parse(key, TLOG_VKEY_COSIGNATURE, name, raw) != 0) {
        fprintf(stderr, "cyberid-app witness: %s is not a witness's verifier key "
                        "(NAME+ID+BASE64, cosignature type 0x04)\n", key);
        return APP_EXIT_USAGE;
    }
    struct wallet wallet = {0};
    char err[APP_ERROR_MAX];
    if (wallet_read(options->wallet, &wallet, err, sizeof err) != 0) {
        fprintf(stderr, "cyberid-app: %s\n", err);
        return APP_EXIT_FAILED;
    }
    int status = APP_EXIT_FAILED;
    const char *keys = wallet.witness_keys ? wallet.witness_keys : "";
    if (list) {
        if (*keys != '\0')
            printf("%s\n", keys);
        status = APP_EXIT_OK;
        goto done;
    }
    char *changed = NULL;
    if (add) {
        if (has_key(keys, key)) {
            status = APP_EXIT_OK;
            goto done;
        }
        if (key_count(keys) == APP_WITNESSES_MAX) {
            fprintf(stderr, "cyberid-app witness: at most %d witnesses\n", APP_WITNESSES_MAX);
            goto done;
        }
        size_t length = strlen(keys) + strlen(key) + 2;
        changed = malloc(length);
        if (changed != NULL &&
            string_format(changed, length, "%s%s%s", keys, *keys ? "\n" : "", key) != 0) {
            free(changed);
            changed = NULL;
        }
    } else {
        if (!has_key(keys, key)) {
            fprintf(stderr, "cyberid-app witness: the wallet has no such witness\n");
            goto done;
        }
        changed = without_key(keys, key);
    }
    if (changed == NULL) {
        fprintf(stderr, "cyberid-app witness: out of memory\n");
        goto done;
    }
    free(wallet.witness_keys);
    /* No key left: the field goes (history then requires no witness). */
    if (*changed == '\0') {
        free(changed);
        changed = NULL;
    }
    wallet.witness_keys = changed;
    if (wallet_write(options->wallet, &wallet, err, sizeof err) != 0) {
        fprintf(stderr, "cyberid-app witness: %s\n", err);
        goto done;
    }
    status = APP_EXIT_OK;
done:
    wallet_clear(&wallet);
    return status;
}
