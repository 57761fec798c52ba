/* cosigning: checkpoints to witnesses, cosignatures to the stored note;
 * see cosigning.h. */
#include "service/cosigning.h"

#include "audit/log.h"
#include "util/clock.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIZE_TYPE "text/x.tlog.size"
/* "old N\n", 63 proof lines of 45 bytes, "\n", the note. */
#define REQUEST_MAX (32 + 63 * 45 + 1 + STORE_NOTE_MAX)

struct witness_state {
    struct cosigning_witness config;
    int64_t cosigned_size;  /* what it said it cosigned last; 0: unknown */
    int64_t retry_at_ms;    /* monotonic; 0: now */
    int64_t pause_ms;       /* the next pause after a failure */
};

struct cosigning {
    struct witness_state witnesses[COSIGNING_WITNESSES_MAX];
    size_t count;
};

int
cosigning_parse_witness(const char *argument, struct cosigning_witness *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *equals = strchr(argument, '=');
    if (equals == NULL)
        return error_set(err, errlen, "--witness takes URL=VKEY");
    size_t url_length = (size_t)(equals - argument);
    while (url_length > 0 && argument[url_length - 1] == '/')
        url_length--;
    if (url_length >= sizeof out->url ||
        (strncmp(argument, "http://", 7) != 0 && strncmp(argument, "https://", 8) != 0) ||
        url_length <= (argument[4] == 's' ? 8u : 7u))
        return error_set(err, errlen, "--witness: the URL must be http:// or https:// and a "
                         "host, shorter than %d characters", COSIGNING_URL_MAX);
    memcpy(out->url, argument, url_length);
    out->url[url_length] = '\0';
    char name[TLOG_ORIGIN_MAX];
    uint8_t key[TLOG_KEY_BYTES];
    if (tlog_vkey_parse(equals + 1, TLOG_VKEY_COSIGNATURE, name, key) != 0 ||
        string_copy(out->vkey, sizeof out->vkey, equals + 1) != 0)
        return error_set(err, errlen, "--witness: %s is not a witness's verifier key "
                         "(NAME+ID+BASE64, type 0x04)", equals + 1);
    return 0;
}

int
cosigning_new(const struct cosigning_witness *witnesses, size_t count, struct cosigning **out,
              char *err, size_t errlen)
{
    *out = NULL;
    if (count == 0 || count > COSIGNING_WITNESSES_MAX)
        return error_set(err, errlen, "1 to %d witnesses", COSIGNING_WITNESSES_MAX);
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(witnesses[i].vkey, witnesses[j].vkey) == 0)
                return error_set(err, errlen, "the witness %s is named twice", witnesses[i].vkey);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return error_set(err, errlen, "cannot initialise libcurl");
    struct cosigning *cosigning = calloc(1, sizeof *cosigning);
    if (cosigning == NULL) {
        curl_global_cleanup();
        return error_set(err, errlen, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        cosigning->witnesses[i].config = witnesses[i];
        cosigning->witnesses[i].pause_ms = COSIGNING_RETRY_FIRST_MS;
    }
    cosigning->count = count;
    *out = cosigning;
    return 0;
}

void
cosigning_free(struct cosigning *cosigning)
{
    if (cosigning == NULL)
        return;
    free(cosigning);
    curl_global_cleanup();
}

/* ── One request ───────────────────────────────────────────────────────── */

struct answer {
    long status;
    int size_type;      /* Content-Type text/x.tlog.size */
    char body[COSIGNING_ANSWER_MAX + 1];
    size_t length;
    int too_large;
};

static size_t
on_body(char *chunk, size_t size, size_t count, void *user)
{
    struct answer *answer = user;
    size_t bytes = size * count;
    if (bytes > COSIGNING_ANSWER_MAX - answer->length) {
        answer->too_large = 1;
        return 0; /* aborts the transfer */
    }
    memcpy(answer->body + answer->length, chunk, bytes);
    answer->length += bytes;
    answer->body[answer->length] = '\0';
    return bytes;
}

/* POST url/add-checkpoint. 0 with *answer, or -1 with err (no answer). */
static int
post(const char *url, const char *body, size_t length, struct answer *answer, char *err,
     size_t errlen)
{
    char target[COSIGNING_URL_MAX + 32];
    memset(answer, 0, sizeof *answer);
    if (string_format(target, sizeof target, "%s/add-checkpoint", url) != 0)
        return error_set(err, errlen, "the URL is too long");
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: text/plain");
    int status = -1;
    if (curl == NULL || headers == NULL) {
        error_set(err, errlen, "out of memory");
        goto done;
    }
    /* CURLOPT_NOSIGNAL: the sequencer is one thread of many; a timeout
     * must not be a signal. */
    curl_easy_setopt(curl, CURLOPT_URL, target);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, COSIGNING_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, COSIGNING_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)length);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
        error_set(err, errlen, "%s", answer->too_large ? "the answer is too large"
                                                       : curl_easy_strerror(code));
        goto done;
    }
    char *type = NULL;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer->status);
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != NULL)
        answer->size_type = strncasecmp(type, SIZE_TYPE, strlen(SIZE_TYPE)) == 0;
    status = 0;
done:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

/* The body of an add-checkpoint request from old_size (the proof read
 * from the store). 0, or -1 with err. */
static int
request_body(struct store *store, int64_t old_size, const struct store_log_checkpoint *checkpoint,
             char *out, size_t cap, char *err, size_t errlen)
{
    tlog_hash proof[TLOG_PROOF_MAX];
    size_t length = 0;
    if (old_size > 0 && old_size < checkpoint->size) {
        struct store_conn *conn = store_acquire(store);
        int read = log_consistency_proof(conn, old_size, checkpoint->size, proof, &length);
        store_release(store, conn);
        if (read != 0)
            return error_set(err, errlen, "cannot read the consistency proof from %lld",
                             (long long)old_size);
    }
    int written = snprintf(out, cap, "old %lld\n", (long long)old_size);
    size_t at = written > 0 ? (size_t)written : cap;
    for (size_t i = 0; i < length && at < cap; i++) {
        char *encoded = base64_encode_alloc(proof[i].bytes, TLOG_HASH_BYTES);
        if (encoded == NULL)
            return error_set(err, errlen, "out of memory");
        written = snprintf(out + at, cap - at, "%s\n", encoded);
        free(encoded);
        at = written > 0 ? at + (size_t)written : cap;
    }
    if (at >= cap || string_format(out + at, cap - at, "\n%s", checkpoint->note) != 0)
        return error_set(err, errlen, "the request does not fit");
    return 0;
}

/* Parses a text/x.tlog.size body: a decimal and a newline. 0 or -1. */
static int
parse_size(const struct answer *answer, int64_t *size)
{
    long long value = 0;
    if (answer->length < 2 || answer->body[answer->length - 1] != '\n' || answer->length > 21)
        return -1;
    char text[24];
    memcpy(text, answer->body, answer->length - 1);
    text[answer->length - 1] = '\0';
    if (parse_integer(text, 0, INT64_MAX, &value) != 0)
        return -1;
    *size = (int64_t)value;
    return 0;
}

/* The lines of a 200 answer that are this witness's valid cosignatures of
 * the note, appended to lines (cap bytes). 0 with at least one, or -1. */
static int
valid_lines(const struct answer *answer, const char *note, const char *vkey, char *lines,
            size_t cap)
{
    size_t note_length = strlen(note), found = 0;
    char *candidate = malloc(note_length + TLOG_COSIGNATURE_LINE_MAX + 1);
    if (candidate == NULL)
        return -1;
    const char *line = answer->body, *end = answer->body + answer->length;
    while (line < end) {
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        if (newline == NULL)
            break;
        size_t length = (size_t)(newline - line) + 1;
        int64_t timestamp = 0;
        if (length < TLOG_COSIGNATURE_LINE_MAX) {
            memcpy(candidate, note, note_length);
            memcpy(candidate + note_length, line, length);
            candidate[note_length + length] = '\0';
            size_t used = strlen(lines);
            if (tlog_cosignature_verify(candidate, vkey, &timestamp) &&
                used + length < cap) {
                memcpy(lines + used, line, length);
                lines[used + length] = '\0';
                found++;
            }
        }
        line = newline + 1;
    }
    free(candidate);
    return found > 0 ? 0 : -1;
}

/* Asks one witness to cosign the checkpoint; its valid lines are
 * appended to lines. 0, or -1 with err (logged by the caller). */
static int
ask(struct witness_state *witness, struct store *store,
    const struct store_log_checkpoint *checkpoint, char *lines, size_t cap, char *err,
    size_t errlen)
{
    char *body = malloc(REQUEST_MAX);
    struct answer *answer = malloc(sizeof *answer);
    int status = -1;
    if (body == NULL || answer == NULL) {
        error_set(err, errlen, "out of memory");
        goto done;
    }
    int64_t old_size = witness->cosigned_size <= checkpoint->size ? witness->cosigned_size : 0;
    /* At most twice: once more from the size a 409 names. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (request_body(store, old_size, checkpoint, body, REQUEST_MAX, err, errlen) != 0 ||
            post(witness->config.url, body, strlen(body), answer, err, errlen) != 0)
            goto done;
        int64_t named = 0;
        if (answer->status == 409 && answer->size_type && parse_size(answer, &named) == 0) {
            witness->cosigned_size = named;
            if (named == old_size || named > checkpoint->size) {
                /* The same size with another root, or a larger tree than
                 * this checkpoint (another node's newer one): no proof
                 * from here. */
                error_set(err, errlen, "409: the witness has cosigned %lld leaves",
                          (long long)named);
                goto done;
            }
            old_size = named;
            continue;
        }
        if (answer->status != 200) {
            error_set(err, errlen, "HTTP %ld", answer->status);
            goto done;
        }
        if (valid_lines(answer, checkpoint->note, witness->config.vkey, lines, cap) != 0) {
            error_set(err, errlen, "no valid cosignature by its key in the answer");
            goto done;
        }
        witness->cosigned_size = checkpoint->size;
        status = 0;
        goto done;
    }
    error_set(err, errlen, "409 twice");
done:
    free(body);
    free(answer);
    return status;
}

int
cosigning_round(struct cosigning *cosigning, struct store *store, int *added)
{
    *added = 0;
    struct store_log_checkpoint *checkpoint = malloc(sizeof *checkpoint);
    char *note = malloc(STORE_NOTE_MAX);
    char lines[COSIGNING_WITNESSES_MAX * TLOG_COSIGNATURE_LINE_MAX + 1] = "";
    int found = 0, status = -1;
    if (checkpoint == NULL || note == NULL)
        goto done;
    struct store_conn *conn = store_acquire(store);
    int read = store_log_latest_checkpoint(conn, checkpoint, &found);
    store_release(store, conn);
    if (read != 0)
        goto done;
    status = 0;
    if (!found)
        goto done;
    int64_t now = monotonic_ms();
    for (size_t i = 0; i < cosigning->count; i++) {
        struct witness_state *witness = &cosigning->witnesses[i];
        int64_t timestamp = 0;
        if (tlog_cosignature_verify(checkpoint->note, witness->config.vkey, &timestamp)) {
            witness->cosigned_size = checkpoint->size;
            continue;
        }
        if (now < witness->retry_at_ms)
            continue;
        char err[256];
        size_t before = strlen(lines);
        if (ask(witness, store, checkpoint, lines, sizeof lines, err, sizeof err) != 0) {
            lines[before] = '\0';
            log_event(LOG_WARN, "witness_failed", "{s:s, s:I, s:s, s:I}", "witness",
                      witness->config.url, "size", (json_int_t)checkpoint->size, "error", err,
                      "retry_ms", (json_int_t)witness->pause_ms);
            witness->retry_at_ms = now + witness->pause_ms;
            witness->pause_ms = witness->pause_ms * 2 > COSIGNING_RETRY_MAX_MS
                                    ? COSIGNING_RETRY_MAX_MS
                                    : witness->pause_ms * 2;
            continue;
        }
        witness->retry_at_ms = 0;
        witness->pause_ms = COSIGNING_RETRY_FIRST_MS;
        (*added)++;
    }
    if (*added == 0)
        goto done;
    if (string_format(note, STORE_NOTE_MAX, "%s%s", checkpoint->note, lines) != 0) {
        log_event(LOG_WARN, "witness_note_full", "{s:I}", "size", (json_int_t)checkpoint->size);
        *added = 0;
        goto done;
    }
    int changed = 0;
    conn = store_acquire(store);
    if (store_log_set_note(conn, checkpoint->size, checkpoint->note, note, &changed) != 0)
        status = -1;
    store_release(store, conn);
    if (status == 0 && !changed)
        *added = 0; /* another node changed it first: the next round sees */
    if (*added > 0)
        log_event(LOG_DEBUG, "log_cosigned", "{s:I, s:i}", "size", (json_int_t)checkpoint->size,
                  "cosignatures", *added);
done:
    free(checkpoint);
    free(note);
    return status;
}
