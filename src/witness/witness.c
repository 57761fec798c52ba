/* witness: the add-checkpoint decision and the state folder; see
 * witness.h. */
#include "witness/witness.h"

#include "util/encoding.h"
#include "util/file.h"
#include "util/strings.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE "witness.key.pem"
#define VKEY_FILE "witness.vkey"
#define LOCK_FILE "witness.lock"
#define LOGS_DIR "logs"
#define KEY_FILE_MAX 4096
#define PATH_MAX_BYTES 4096

struct witnessed_log {
    char origin[TLOG_ORIGIN_MAX];
    char vkey[TLOG_VKEY_MAX];
};

struct witness {
    char state_dir[PATH_MAX_BYTES];
    char name[TLOG_ORIGIN_MAX];
    char vkey[TLOG_VKEY_MAX];
    uint8_t public_key[TLOG_KEY_BYTES];
    EVP_PKEY *key;
    int lock_fd;
    struct witnessed_log logs[WITNESS_LOGS_MAX];
    size_t log_count;
    /* The check of the old size and the write of the new state are one
     * step (C2SP tlog-witness: else two requests could roll a log back). */
    pthread_mutex_t lock;
};

static int
join(char *out, const char *dir, const char *name)
{
    return string_format(out, PATH_MAX_BYTES, "%s/%s", dir, name);
}

/* ── Keys ──────────────────────────────────────────────────────────────── */

static int
raw_public_key(EVP_PKEY *key, uint8_t out[TLOG_KEY_BYTES])
{
    size_t length = TLOG_KEY_BYTES;
    return EVP_PKEY_get_raw_public_key(key, out, &length) == 1 && length == TLOG_KEY_BYTES
               ? 0
               : -1;
}

int
witness_init(const char *state_dir, const char *name, char vkey[TLOG_VKEY_MAX], char *err,
             size_t errlen)
{
    char key_path[PATH_MAX_BYTES], vkey_path[PATH_MAX_BYTES], logs_path[PATH_MAX_BYTES];
    if (join(key_path, state_dir, KEY_FILE) != 0 || join(vkey_path, state_dir, VKEY_FILE) != 0 ||
        join(logs_path, state_dir, LOGS_DIR) != 0)
        return error_set(err, errlen, "the state folder's path is too long");
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
        return error_set(err, errlen, "cannot make %s: %s", state_dir, strerror(errno));
    if (access(key_path, F_OK) == 0)
        return error_set(err, errlen, "%s already has a witness key", state_dir);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    BIO *pem = BIO_new(BIO_s_mem());
    uint8_t public_key[TLOG_KEY_BYTES];
    char *pem_data = NULL;
    long pem_length = 0;
    int status = -1;
    if (key == NULL || pem == NULL || raw_public_key(key, public_key) != 0 ||
        PEM_write_bio_PrivateKey(pem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        (pem_length = BIO_get_mem_data(pem, &pem_data)) <= 0) {
        error_set(err, errlen, "cannot make an Ed25519 key");
        goto done;
    }
    if (tlog_vkey_format(name, TLOG_VKEY_COSIGNATURE, public_key, vkey) != 0) {
        error_set(err, errlen, "the name must be 1 to %d printable ASCII characters without "
                  "spaces or \"+\"", TLOG_ORIGIN_MAX - 1);
        goto done;
    }
    if (mkdir(logs_path, 0700) != 0 && errno != EEXIST) {
        error_set(err, errlen, "cannot make %s: %s", logs_path, strerror(errno));
        goto done;
    }
    char line[TLOG_VKEY_MAX + 1];
    if (string_format(line, sizeof line, "%s\n", vkey) != 0 ||
        file_create(vkey_path, 0644, line, strlen(line), err, errlen) != 0)
        goto done;
    if (file_create(key_path, 0600, pem_data, (size_t)pem_length, err, errlen) != 0) {
        unlink(vkey_path);
        goto done;
    }
    status = 0;
done:
    /* The PEM text is the private key: wiped before the BIO frees it. */
    if (pem_data != NULL && pem_length > 0)
        secret_wipe(pem_data, (size_t)pem_length);
    BIO_free(pem);
    EVP_PKEY_free(key);
    return status;
}

static int
load_key(struct witness *witness, char *err, size_t errlen)
{
    char path[PATH_MAX_BYTES];
    uint8_t *data = NULL;
    size_t length = 0;
    if (join(path, witness->state_dir, VKEY_FILE) != 0 ||
        file_read(path, TLOG_VKEY_MAX, &data, &length, err, errlen) != 0)
        return -1;
    /* One line: the verifier key and its newline. */
    if (length > 0 && data[length - 1] == '\n')
        data[--length] = '\0';
    int parsed = memchr(data, '\0', length) == NULL &&
                 string_copy(witness->vkey, sizeof witness->vkey, (const char *)data) == 0 &&
                 tlog_vkey_parse(witness->vkey, TLOG_VKEY_COSIGNATURE, witness->name,
                                 witness->public_key) == 0;
    free(data);
    if (!parsed)
        return error_set(err, errlen, "%s is not a cosignature verifier key", path);
    if (join(path, witness->state_dir, KEY_FILE) != 0 ||
        file_read_private(path, "key file", KEY_FILE_MAX, &data, &length, err, errlen) != 0)
        return -1;
    BIO *bio = BIO_new_mem_buf(data, (int)length);
    witness->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    secret_wipe(data, length);
    free(data);
    uint8_t public_key[TLOG_KEY_BYTES];
    if (witness->key == NULL || EVP_PKEY_get_id(witness->key) != EVP_PKEY_ED25519 ||
        raw_public_key(witness->key, public_key) != 0)
        return error_set(err, errlen, "%s is not an Ed25519 private key", path);
    if (memcmp(public_key, witness->public_key, TLOG_KEY_BYTES) != 0)
        return error_set(err, errlen, "%s and %s are not one key pair", KEY_FILE, VKEY_FILE);
    return 0;
}

int
witness_open(const char *state_dir, const char *const *log_vkeys, size_t log_count,
             struct witness **out, char *err, size_t errlen)
{
    *out = NULL;
    if (log_count == 0 || log_count > WITNESS_LOGS_MAX)
        return error_set(err, errlen, "a witness follows 1 to %d logs", WITNESS_LOGS_MAX);
    struct witness *witness = calloc(1, sizeof *witness);
    if (witness == NULL)
        return error_set(err, errlen, "out of memory");
    witness->lock_fd = -1;
    pthread_mutex_init(&witness->lock, NULL);
    if (string_copy(witness->state_dir, sizeof witness->state_dir, state_dir) != 0) {
        error_set(err, errlen, "the state folder's path is too long");
        goto fail;
    }
    for (size_t i = 0; i < log_count; i++) {
        struct witnessed_log *log = &witness->logs[i];
        uint8_t key[TLOG_KEY_BYTES];
        if (tlog_vkey_parse(log_vkeys[i], TLOG_VKEY_ED25519, log->origin, key) != 0 ||
            string_copy(log->vkey, sizeof log->vkey, log_vkeys[i]) != 0) {
            error_set(err, errlen, "--log %s is not a log's Ed25519 verifier key", log_vkeys[i]);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(witness->logs[j].origin, log->origin) == 0) {
                error_set(err, errlen, "two --log keys for the origin %s", log->origin);
                goto fail;
            }
        witness->log_count++;
    }
    char path[PATH_MAX_BYTES];
    if (join(path, state_dir, LOCK_FILE) != 0) {
        error_set(err, errlen, "the state folder's path is too long");
        goto fail;
    }
    witness->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (witness->lock_fd < 0) {
        error_set(err, errlen, "cannot open %s: %s (run cyberid-witness init first)", path,
                  strerror(errno));
        goto fail;
    }
    if (flock(witness->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        error_set(err, errlen, "%s is in use by another cyberid-witness", state_dir);
        goto fail;
    }
    if (load_key(witness, err, errlen) != 0)
        goto fail;
    *out = witness;
    return 0;
fail:
    witness_close(witness);
    return -1;
}

void
witness_close(struct witness *witness)
{
    if (witness == NULL)
        return;
    EVP_PKEY_free(witness->key);
    if (witness->lock_fd >= 0)
        close(witness->lock_fd);
    pthread_mutex_destroy(&witness->lock);
    free(witness);
}

const char *
witness_vkey(const struct witness *witness)
{
    return witness->vkey;
}

/* ── State ─────────────────────────────────────────────────────────────── */

static int
state_path(const struct witness *witness, const char *origin, char out[PATH_MAX_BYTES],
           const char *suffix)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256((const uint8_t *)origin, strlen(origin), digest);
    if (hex_encode(digest, sizeof digest, hex, sizeof hex) != 0)
        return -1;
    return string_format(out, PATH_MAX_BYTES, "%s/" LOGS_DIR "/%s%s", witness->state_dir, hex,
                         suffix);
}

/* The last cosigned checkpoint of origin: 0 with *size (0 when none), or
 * -1 when the file cannot be read or is not one. */
static int
state_read(const struct witness *witness, const char *origin, int64_t *size, tlog_hash *root)
{
    char path[PATH_MAX_BYTES], err[256];
    *size = 0;
    if (state_path(witness, origin, path, "") != 0)
        return -1;
    if (access(path, F_OK) != 0)
        return errno == ENOENT ? 0 : -1;
    uint8_t *data = NULL;
    size_t length = 0;
    if (file_read(path, WITNESS_BODY_MAX, &data, &length, err, sizeof err) != 0)
        return -1;
    const char *blank = strstr((const char *)data, "\n\n");
    int status = blank != NULL && tlog_checkpoint_parse((const char *)data,
                                                        (size_t)(blank - (const char *)data) + 1,
                                                        origin, size, root) == 0
                     ? 0
                     : -1;
    free(data);
    return status;
}

static int
sync_folder(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int status = fsync(fd);
    close(fd);
    return status;
}

/* Replaces origin's state with the note: a new file, fsync, rename over
 * the old one, fsync of the folder; the old state stays whole until the
 * rename. 0 or -1. */
static int
state_write(const struct witness *witness, const char *origin, const char *note, size_t length)
{
    char path[PATH_MAX_BYTES], temp[PATH_MAX_BYTES], folder[PATH_MAX_BYTES];
    if (state_path(witness, origin, path, "") != 0 ||
        state_path(witness, origin, temp, ".new") != 0 ||
        join(folder, witness->state_dir, LOGS_DIR) != 0)
        return -1;
    /* Calls are serialised by witness->lock: one writer of temp. */
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, note + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    int ok = done == length && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(temp, path) != 0) {
        unlink(temp);
        return -1;
    }
    return sync_folder(folder);
}

int
witness_cosigned(struct witness *witness, const char *origin, int64_t *size, tlog_hash *root)
{
    size_t i = 0;
    while (i < witness->log_count && strcmp(witness->logs[i].origin, origin) != 0)
        i++;
    if (i == witness->log_count)
        return -1;
    pthread_mutex_lock(&witness->lock);
    int status = state_read(witness, origin, size, root);
    pthread_mutex_unlock(&witness->lock);
    return status;
}

/* ── add-checkpoint ────────────────────────────────────────────────────── */

static int
refuse(struct witness_reply *reply, unsigned status, const char *code, const char *why)
{
    reply->status = status;
    reply->content_type = NULL;
    reply->length = strlen(code);
    memcpy(reply->body, code, reply->length + 1);
    snprintf(reply->description, sizeof reply->description, "%s", why);
    return 0;
}

/* A decimal with no sign and no leading zero (but "0"), up to INT64_MAX,
 * ending at `end`. 0 or -1. */
static int
parse_size(const char *text, const char *end, int64_t *out)
{
    int64_t value = 0;
    if (text == end || (*text == '0' && end - text > 1))
        return -1;
    for (const char *at = text; at < end; at++) {
        if (*at < '0' || *at > '9' || value > (INT64_MAX - (*at - '0')) / 10)
            return -1;
        value = value * 10 + (*at - '0');
    }
    *out = value;
    return 0;
}

/* The request's parts: old size, proof, the checkpoint note (a
 * NUL-terminated copy, malloc'd). 0, or -1 with why. */
struct request {
    int64_t old_size;
    tlog_hash proof[WITNESS_PROOF_LINES_MAX];
    size_t proof_length;
    char *note;
    size_t note_length;
};

static int
parse_request(const char *body, size_t length, struct request *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = "the body is not \"old N\", proof lines, a blank line and a checkpoint";
    if (length > WITNESS_BODY_MAX) {
        *why = "the body is too large";
        return -1;
    }
    if (memchr(body, '\0', length) != NULL) {
        *why = "the body holds a NUL byte";
        return -1;
    }
    const char *end = body + length;
    const char *line_end = memchr(body, '\n', length);
    if (line_end == NULL || line_end - body < 5 || memcmp(body, "old ", 4) != 0 ||
        parse_size(body + 4, line_end, &out->old_size) != 0)
        return -1;
    const char *at = line_end + 1;
    for (;;) {
        if (at >= end)
            return -1;
        line_end = memchr(at, '\n', (size_t)(end - at));
        if (line_end == NULL)
            return -1;
        if (line_end == at)
            break; /* the blank line */
        if (out->proof_length == WITNESS_PROOF_LINES_MAX) {
            *why = "more than 63 consistency proof lines";
            return -1;
        }
        /* One hash: 44 characters of standard base64. */
        uint8_t *decoded = NULL;
        size_t decoded_length = 0;
        if (line_end - at != 44 ||
            base64_decode_alloc(at, 44, TLOG_HASH_BYTES, &decoded, &decoded_length) != 0) {
            *why = "a consistency proof line is not one base64 hash";
            return -1;
        }
        int ok = decoded_length == TLOG_HASH_BYTES;
        if (ok)
            memcpy(out->proof[out->proof_length++].bytes, decoded, TLOG_HASH_BYTES);
        free(decoded);
        if (!ok) {
            *why = "a consistency proof line is not one base64 hash";
            return -1;
        }
        at = line_end + 1;
    }
    at = line_end + 1;
    out->note_length = (size_t)(end - at);
    out->note = malloc(out->note_length + 1);
    if (out->note == NULL) {
        *why = "out of memory";
        return -1;
    }
    memcpy(out->note, at, out->note_length);
    out->note[out->note_length] = '\0';
    return 0;
}

/* Signs the cosignature of the checkpoint body at now into reply. 0 or -1. */
static int
cosign(struct witness *witness, const char *body, size_t body_length, int64_t now,
       struct witness_reply *reply)
{
    size_t cap = body_length + 64, length = 0, signature_length = TLOG_SIGNATURE_BYTES;
    char *message = malloc(cap);
    uint8_t signature[TLOG_SIGNATURE_BYTES];
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int ok = message != NULL && context != NULL &&
             tlog_cosignature_message(body, body_length, now, message, cap, &length) == 0 &&
             EVP_DigestSignInit(context, NULL, NULL, NULL, witness->key) == 1 &&
             EVP_DigestSign(context, signature, &signature_length, (const uint8_t *)message,
                            length) == 1 &&
             signature_length == TLOG_SIGNATURE_BYTES &&
             tlog_cosignature_line(witness->name, witness->public_key, now, signature,
                                   reply->body, sizeof reply->body) == 0;
    EVP_MD_CTX_free(context);
    free(message);
    if (!ok)
        return -1;
    reply->status = 200;
    reply->content_type = "text/plain; charset=utf-8";
    reply->length = strlen(reply->body);
    reply->description[0] = '\0';
    return 0;
}

int
witness_add_checkpoint(struct witness *witness, const char *request_body, size_t length,
                       int64_t now, struct witness_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    struct request request;
    const char *why = NULL;
    if (parse_request(request_body, length, &request, &why) != 0) {
        free(request.note);
        return refuse(reply, 400, "invalid_request", why);
    }
    int status = 0;
    const char *note = request.note;
    /* The origin, the note's first line, names the log. */
    const char *newline = strchr(note, '\n');
    size_t origin_length = newline ? (size_t)(newline - note) : 0;
    const struct witnessed_log *log = NULL;
    for (size_t i = 0; i < witness->log_count && newline != NULL; i++)
        if (strlen(witness->logs[i].origin) == origin_length &&
            memcmp(witness->logs[i].origin, note, origin_length) == 0)
            log = &witness->logs[i];
    size_t body_length = 0;
    int64_t size = 0;
    tlog_hash root;
    if (log == NULL) {
        refuse(reply, 404, "unknown_log", "this witness does not follow that log");
        goto done;
    }
    if (!tlog_note_verify(note, log->vkey, &body_length)) {
        refuse(reply, 403, "bad_signature", "no signature of the log's key verifies");
        goto done;
    }
    if (tlog_checkpoint_parse(note, body_length, log->origin, &size, &root) != 0) {
        refuse(reply, 400, "invalid_request", "the signed note is not a checkpoint");
        goto done;
    }
    if (request.old_size > size) {
        refuse(reply, 400, "invalid_request", "the old size is larger than the checkpoint's");
        goto done;
    }
    if (request.old_size == 0 && request.proof_length > 0) {
        refuse(reply, 400, "invalid_request", "a consistency proof from size 0");
        goto done;
    }
    pthread_mutex_lock(&witness->lock);
    int64_t last_size = 0;
    tlog_hash last_root;
    if (state_read(witness, log->origin, &last_size, &last_root) != 0) {
        status = -1;
    } else if (request.old_size != last_size) {
        reply->status = 409;
        reply->content_type = "text/x.tlog.size";
        snprintf(reply->body, sizeof reply->body, "%lld\n", (long long)last_size);
        reply->length = strlen(reply->body);
    } else if (last_size > 0 && size == last_size &&
               memcmp(root.bytes, last_root.bytes, TLOG_HASH_BYTES) != 0) {
        /* C2SP: the same size with another root is a conflict. */
        reply->status = 409;
        reply->content_type = "text/x.tlog.size";
        snprintf(reply->body, sizeof reply->body, "%lld\n", (long long)last_size);
        reply->length = strlen(reply->body);
    } else if (last_size > 0 &&
               !tlog_verify_consistency(last_size, size, &last_root, &root, request.proof,
                                        request.proof_length)) {
        refuse(reply, 422, "inconsistent",
               "the consistency proof does not show the checkpoint extends the one cosigned "
               "last");
    } else if (state_write(witness, log->origin, note, request.note_length) != 0 ||
               cosign(witness, note, body_length, now, reply) != 0) {
        /* A state written but no cosignature sent is harmless: the log
         * asks again with the new size (409 tells it). */
        status = -1;
    }
    pthread_mutex_unlock(&witness->lock);
done:
    free(request.note);
    return status;
}
