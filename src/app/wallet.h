/* wallet: the citizen's wallet file: one JSON object
 * {"version":1, "server", "web_number", "serial", "private_key" (PKCS#8
 * PEM), "certificate" (PEM), "chain" (PEM)} and, once `history` has run,
 * "log_key", "log_checkpoint" and "log_seen", and once `witness add` has run,
 * "witness_keys"; created mode 0600 and
 * replaced atomically (new file, then rename). A wallet readable by group
 * or others is refused. */
#ifndef CYBERID_APP_WALLET_H
#define CYBERID_APP_WALLET_H

#include <stddef.h>

#define WALLET_VERSION 1
#define WALLET_MODE 0600
/* Largest wallet file read. */
#define WALLET_MAX_BYTES (64 * 1024)
/* Longest field kept (PEM blocks included). */
#define WALLET_FIELD_MAX 16384

/* Every field is a malloc'd NUL-terminated string; private_key is a
 * secret, wiped by wallet_clear. */
struct wallet {
    char *server;      /* service URL, no trailing slash */
    char *web_number;
    char *serial;
    char *private_key; /* PKCS#8 PEM */
    char *certificate; /* the web certificate, PEM */
    char *chain;       /* issuing CA then root, PEM */
    /* Optional (NULL until `history` ran): the transparency log's
     * verifier key, pinned at first sight, and the last checkpoint
     * verified, "<size> <base64 root>". */
    char *log_key;
    char *log_checkpoint;
    /* Optional (NULL until `witness add`): the verifier keys of the
     * witnesses whose cosignature `history` requires, one a line. */
    char *witness_keys;
    /* Optional (NULL until `history` ran): the leaves of the citizen's own
     * events in the last history verified, "3,17,42" (the latest
     * WALLET_SEEN_MAX): one gone from a later history was deleted. */
    char *log_seen;
};
#define WALLET_SEEN_MAX 1000

/* Writes the wallet to path, replacing any file there: the JSON goes into
 * a new file created O_EXCL with WALLET_MODE beside path, which is then
 * renamed over path. Every field must be set. 0 or -1 with err (path is
 * then untouched). */
int wallet_write(const char *path, const struct wallet *wallet, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* Reads a wallet into *wallet (zeroed first). Refuses a file that is not a
 * regular file, is readable or writable by group or others, is larger than
 * WALLET_MAX_BYTES, or is not a version-1 wallet with every field. On
 * failure *wallet holds nothing. 0 or -1 with err. */
int wallet_read(const char *path, struct wallet *wallet, char *err,
                size_t errlen) __attribute__((warn_unused_result));

/* Wipes and frees every field; the struct is then empty. */
void wallet_clear(struct wallet *wallet);

#endif
