/* app_history: `cyberid-app history [--json]`: the citizen's events from
 * the service's transparency log, each checked before it is shown
 * (docs/api.md, "The citizen's history"):
 *  - the checkpoint's signature, with the log key pinned in the wallet at
 *    first sight (another key later is refused);
 *  - the new checkpoint extends the last one this wallet verified (an RFC
 *    9162 consistency proof; a smaller tree is refused): a log rewritten
 *    since is caught;
 *  - each event's commitment (its salt and its fields, audit/tlog.h) is
 *    a leaf of that tree (an inclusion proof);
 *  - when the wallet names witnesses (`witness add`, app_witness.c), the
 *    checkpoint carries a valid cosignature (C2SP cosignature/v1) of each:
 *    a witness cosigns only a tree that extends the one it cosigned
 *    before, so a history shown to this citizen alone (a split view)
 *    lacks it.
 * A missing cosignature prints witness_missing, any other failure
 * log_inconsistent, and exits 1; the wallet then keeps what it had. On
 * success the wallet keeps the new checkpoint. */
#include "app/app.h"

#include "audit/tlog.h"
#include "util/encoding.h"
#include "util/strings.h"
#include "util/wipe_alloc.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the app says of an action, in words; NULL: the code itself. */
/* base64 of exactly TLOG_HASH_BYTES (or `bytes`) into out. 0 or -1. */
static int
decode_exact(const char *text, uint8_t *out, size_t bytes)
{
    uint8_t *decoded = NULL;
    size_t length = 0;
    if (text == NULL || base64_decode_alloc(text, strlen(text), bytes, &decoded, &length) != 0)
        return -1;
    int ok = length == bytes;
    if (ok)
        memcpy(out, decoded, bytes);
    free(decoded);
    return ok ? 0 : -1;
}

/* A JSON array of base64 hashes into proof. 0 or -1. */
static int
decode_proof(const json_t *array, tlog_hash proof[TLOG_PROOF_MAX], size_t *length)
{
    *length = json_array_size(array);
    if (!json_is_array(array) || *length > TLOG_PROOF_MAX)
        return -1;
    for (size_t i = 0; i < *length; i++)
        if (decode_exact(json_string_value(json_array_get(array, i)), proof[i].bytes,
                         TLOG_HASH_BYTES) != 0)
            return -1;
    return 0;
}

/* Checks one entry against the tree (size, root). NULL when it holds,
 * else why not. */
static const char *
check_entry(const json_t *entry, int64_t size, const tlog_hash *root)
{
    const json_t *leaf = json_object_get(entry, "leaf");
    const json_t *sequence = json_object_get(entry, "sequence");
    const json_t *time_value = json_object_get(entry, "time");
    const char *actor = json_string_value(json_object_get(entry, "actor"));
    const char *action = json_string_value(json_object_get(entry, "action"));
    const char *subject = json_string_value(json_object_get(entry, "subject"));
    const json_t *details = json_object_get(entry, "details");
    uint8_t salt[TLOG_SALT_BYTES], commitment[TLOG_HASH_BYTES];
    tlog_hash proof[TLOG_PROOF_MAX];
    if (json_is_true(json_object_get(entry, "unopenable")))
        return "an event of yours was altered in the database: it no longer opens";
    size_t length = 0;
    if (!json_is_integer(leaf) || !json_is_integer(sequence) || !json_is_integer(time_value) ||
        actor == NULL || action == NULL || subject == NULL || !json_is_object(details) ||
        decode_exact(json_string_value(json_object_get(entry, "salt")), salt,
                     sizeof salt) != 0 ||
        decode_proof(json_object_get(entry, "proof"), proof, &length) != 0)
        return "an entry is malformed";
    /* Form 2 (committed when the event was appended, tlog.h) or, for an
     * event from before, form 1 with its sequence. */
    const json_t *form = json_object_get(entry, "form");
    int appended = json_is_integer(form) && json_integer_value(form) == 2;
    if (form != NULL && !appended && !(json_is_integer(form) && json_integer_value(form) == 1))
        return "an entry is malformed";
    char *details_text = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
    int made = details_text != NULL &&
               (appended ? tlog_appended_commitment(json_integer_value(time_value), actor, action,
                                                    subject, details_text, salt, commitment)
                         : tlog_event_commitment(json_integer_value(sequence),
                                                 json_integer_value(time_value), actor, action,
                                                 subject, details_text, salt, commitment)) == 0;
    free(details_text);
    if (!made)
        return "an entry is malformed";
    tlog_hash hash = tlog_leaf_hash(commitment, sizeof commitment);
    if (!tlog_verify_inclusion(json_integer_value(leaf), size, &hash, proof, length, root))
        return "an entry is not in the signed log (its inclusion proof fails)";
    return NULL;
}

/* NULL when the note carries a valid cosignature of every witness key
 * of the wallet (one a line), else why not (in why, cap bytes). */
static const char *
check_witnesses(const char *note, const char *keys, char *why, size_t cap)
{
    for (const char *key = keys; key != NULL && *key != '\0';) {
        const char *end = strchr(key, '\n');
        size_t length = end ? (size_t)(end - key) : strlen(key);
        char vkey[TLOG_VKEY_MAX];
        int64_t timestamp = 0;
        if (length == 0 || length >= sizeof vkey)
            return "the wallet's witness keys are malformed";
        memcpy(vkey, key, length);
        vkey[length] = '\0';
        if (!tlog_cosignature_verify(note, vkey, &timestamp)) {
            snprintf(why, cap, "the checkpoint has no valid cosignature by the witness %.*s",
                     (int)strcspn(vkey, "+"), vkey);
            return why;
        }
        key = end ? end + 1 : key + length;
    }
    return NULL;
}

/* The checks of the whole answer; NULL when all hold, else why not
 * (static text, or in detail, cap bytes), and *code the error code
 * (log_inconsistent, witness_missing). *size and *root are the verified
 * checkpoint's. */
static const char *
check_answer(const json_t *answer, const struct wallet *wallet, int64_t *size, tlog_hash *root,
             const char **code, char *detail, size_t cap)
{
    *code = "log_inconsistent";
    const char *note = json_string_value(json_object_get(answer, "checkpoint"));
    const char *key = json_string_value(json_object_get(answer, "log_key"));
    if (note == NULL || key == NULL)
        return "the answer has no checkpoint or key";
    if (wallet->log_key != NULL && strcmp(wallet->log_key, key) != 0)
        return "the log is signed by another key than the one this wallet knows";
    size_t body_length = 0;
    char origin[TLOG_ORIGIN_MAX] = "";
    const char *plus = strchr(key, '+');
    if (plus == NULL || (size_t)(plus - key) >= sizeof origin)
        return "the log key is malformed";
    memcpy(origin, key, (size_t)(plus - key));
    if (!tlog_note_verify(note, key, &body_length) ||
        tlog_checkpoint_parse(note, body_length, origin, size, root) != 0)
        return "the checkpoint's signature does not verify";
    const char *unwitnessed = check_witnesses(note, wallet->witness_keys, detail, cap);
    if (unwitnessed != NULL) {
        *code = "witness_missing";
        return unwitnessed;
    }
    if (json_integer_value(json_object_get(answer, "size")) != *size)
        return "the answer's size is not its checkpoint's";
    if (wallet->log_checkpoint != NULL) {
        long long old_size = 0;
        char old_root_text[64];
        tlog_hash old_root, proof[TLOG_PROOF_MAX];
        size_t length = 0;
        if (sscanf(wallet->log_checkpoint, "%lld %63s", &old_size, old_root_text) != 2 ||
            decode_exact(old_root_text, old_root.bytes, TLOG_HASH_BYTES) != 0)
            return "the wallet's last checkpoint is malformed";
        if (*size < old_size)
            return "the log is smaller than when this wallet last saw it";
        if (decode_proof(json_object_get(answer, "consistency"), proof, &length) != 0 ||
            !tlog_verify_consistency(old_size, *size, &old_root, root, proof, length))
            return "the log is not an extension of the one this wallet saw last: it was "
                   "rewritten";
    }
    const json_t *entries = json_object_get(answer, "entries");
    if (!json_is_array(entries))
        return "the answer has no entries";
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const char *why = check_entry(json_array_get(entries, i), *size, root);
        if (why != NULL)
            return why;
    }
    return NULL;
}

/* Every leaf the wallet saw of the citizen's own events (below the new
 * size: the log only grows) must be in this history too: a row deleted
 * from the database since is caught here. NULL when it holds. */
static const char *
check_seen(const char *seen, const json_t *entries, int64_t size)
{
    for (const char *at = seen; at != NULL && *at != '\0';) {
        char *end = NULL;
        long long leaf = strtoll(at, &end, 10);
        if (end == at || leaf < 0)
            return "the wallet's list of events seen is malformed";
        int found = leaf >= size;
        for (size_t i = 0; !found && i < json_array_size(entries); i++)
            found = json_integer_value(json_object_get(json_array_get(entries, i), "leaf")) ==
                    leaf;
        if (!found)
            return "an event of yours that this wallet saw before is gone from your history: "
                   "it was deleted or hidden";
        at = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0')
            return "the wallet's list of events seen is malformed";
    }
    return NULL;
}

/* The leaves of entries, the latest WALLET_SEEN_MAX, "3,17,42"; NULL on
 * failure. */
static char *
seen_list(const json_t *entries)
{
    size_t count = json_array_size(entries);
    size_t first = count > WALLET_SEEN_MAX ? count - WALLET_SEEN_MAX : 0;
    size_t cap = (count - first) * 21 + 1, at = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (size_t i = first; i < count; i++) {
        int n = snprintf(out + at, cap - at, "%s%lld", at ? "," : "",
                         (long long)json_integer_value(
                             json_object_get(json_array_get(entries, i), "leaf")));
        if (n < 0 || (size_t)n >= cap - at) {
            free(out);
            return NULL;
        }
        at += (size_t)n;
    }
    return out;
}

static void
print_table(const json_t *entries, const char *web_number, enum app_lang lang)
{
    char own[64];
    snprintf(own, sizeof own, "citizen:%s", web_number);
    if (lang == APP_LANG_ZH)
        printf("%-22s  %s  /  %s\n", "时间（本地）", "事件", "由谁");
    else
        printf("%-19s  %-52s  %s\n", "when (local time)", "what", "by");
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const json_t *entry = json_array_get(entries, i);
        char date[48];
        words_time(json_integer_value(json_object_get(entry, "time")), lang, date, sizeof date);
        const char *action = json_string_value(json_object_get(entry, "action"));
        const char *actor = json_string_value(json_object_get(entry, "actor"));
        const char *words = words_action(action, lang);
        char what[256], by[128], who[128];
        app_clean_text(words ? words : action, what, sizeof what);
        /* The platform's registered name, from the service beside the
         * verified entry (display only: not part of what the log commits
         * to). */
        const char *platform = json_string_value(json_object_get(entry, "platform_name"));
        words_actor(actor, own, platform, lang, who, sizeof who);
        app_clean_text(who, by, sizeof by);
        if (platform != NULL && actor != NULL && strncmp(actor, "platform:", 9) != 0) {
            char named[160];
            app_clean_text(platform, named, sizeof named);
            size_t used = strlen(what);
            snprintf(what + used, sizeof what - used, lang == APP_LANG_ZH ? "（%s）" : " (%s)",
                     named);
        }
        /* Which claims, in words (never their values: the log has none):
         * what was released, and what the platform asked when the event
         * says (a login's approval or denial). */
        const json_t *details = json_object_get(entry, "details");
        const json_t *claims = json_object_get(details, "claims");
        const json_t *asked = json_object_get(details, "asked");
        if (json_is_array(claims) && json_array_size(claims) > 0) {
            char named[160], cleaned[160];
            words_claims(claims, lang, named, sizeof named);
            app_clean_text(named, cleaned, sizeof cleaned);
            size_t used = strlen(what);
            snprintf(what + used, sizeof what - used, "%s%s", lang == APP_LANG_ZH ? "：" : ": ",
                     cleaned);
        }
        if (json_is_array(asked) && !json_equal(asked, claims)) {
            char named[160], cleaned[160];
            words_claims(asked, lang, named, sizeof named);
            app_clean_text(named, cleaned, sizeof cleaned);
            size_t used = strlen(what);
            snprintf(what + used, sizeof what - used,
                     lang == APP_LANG_ZH ? "（平台要求：%s）" : " (asked: %s)", cleaned);
        }
        if (lang == APP_LANG_ZH)
            printf("%-22s  %s  /  %s\n", date, what, by);
        else
            printf("%-19s  %-52s  %s\n", date, what, by);
    }
}

int
app_history(const struct app_options *global, int argc, char **argv)
{
    struct app_options options = *global;
    static const struct option longs[] = {
        {"json", no_argument, NULL, 'j'},
        {"server", required_argument, NULL, 'S'},
        {"wallet", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, option;
    optind = 1;
    while ((option = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        switch (option) {
        case 'j': as_json = 1; break;
        case 'S': options.server = optarg; break;
        case 'W': options.wallet = optarg; break;
        default:
            fprintf(stderr, "cyberid-app history: unknown option or missing value\n");
            return APP_EXIT_USAGE;
        }
    }
    if (optind != argc || options.wallet == NULL) {
        fprintf(stderr, "cyberid-app history: takes --wallet FILE and [--json] only\n");
        return APP_EXIT_USAGE;
    }
    struct wallet wallet = {0};
    char server[HTTP_CLIENT_URL_MAX], path[64], err[APP_ERROR_MAX];
    int status = app_open_wallet(&options, &wallet, server, sizeof server);
    if (status != 0)
        return status;
    long long since = 0;
    if (wallet.log_checkpoint != NULL)
        (void)sscanf(wallet.log_checkpoint, "%lld", &since);
    snprintf(path, sizeof path, "/v1/me/history?since=%lld", since);
    struct http_response response = {0};
    json_t *answer = NULL;
    status = app_device_request(&options, "GET", path, NULL, &response);
    if (status != 0)
        goto done;
    status = APP_EXIT_FAILED;
    if (response.status != 200) {
        app_print_service_error("history refused", &response);
        goto done;
    }
    answer = json_loadb(response.body, response.length, JSON_REJECT_DUPLICATES, NULL);
    int64_t size = 0;
    tlog_hash root;
    const char *code = "log_inconsistent";
    char detail[TLOG_VKEY_MAX + 96];
    const char *why = json_is_object(answer)
                          ? check_answer(answer, &wallet, &size, &root, &code, detail,
                                         sizeof detail)
                          : "the answer is not JSON";
    if (why == NULL)
        why = check_seen(wallet.log_seen, json_object_get(answer, "entries"), size);
    if (why != NULL) {
        fprintf(stderr, "cyberid-app history: %s: %s\n", code, why);
        if (as_json)
            printf("{\"error\": \"%s\"}\n", code);
        goto done;
    }
    /* Keep what was verified: the key (pinned) and this checkpoint. */
    char *root_text = base64_encode_alloc(root.bytes, TLOG_HASH_BYTES);
    char checkpoint[128];
    char *key = strdup(json_string_value(json_object_get(answer, "log_key")));
    if (root_text == NULL || key == NULL ||
        string_format(checkpoint, sizeof checkpoint, "%" PRId64 " %s", size, root_text) != 0) {
        free(root_text);
        free(key);
        fprintf(stderr, "cyberid-app history: out of memory\n");
        goto done;
    }
    free(root_text);
    free(wallet.log_key);
    free(wallet.log_checkpoint);
    free(wallet.log_seen);
    wallet.log_key = key;
    wallet.log_checkpoint = strdup(checkpoint);
    wallet.log_seen = seen_list(json_object_get(answer, "entries"));
    if (wallet.log_checkpoint == NULL || wallet.log_seen == NULL ||
        wallet_write(options.wallet, &wallet, err, sizeof err) != 0) {
        fprintf(stderr, "cyberid-app history: verified, but %s\n",
                wallet.log_checkpoint && wallet.log_seen ? err : "out of memory");
        goto done;
    }
    const json_t *entries = json_object_get(answer, "entries");
    if (as_json) {
        json_t *shown = json_pack("{s:b, s:I, s:O, s:I}", "verified", 1, "checkpoint_size",
                                  (json_int_t)size, "entries", entries, "pending",
                                  json_integer_value(json_object_get(answer, "pending")));
        char *text = shown ? json_dumps(shown, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        json_decref(shown);
    } else {
        print_table(entries, wallet.web_number, options.lang);
        fprintf(stderr, "%zu events, each verified in the signed log of %" PRId64
                        " entries%s\n",
                json_array_size(entries), size,
                json_integer_value(json_object_get(answer, "pending")) > 0
                    ? " (newer ones are not in it yet)"
                    : "");
    }
    status = APP_EXIT_OK;
done:
    json_decref(answer);
    http_response_free(&response);
    wallet_clear(&wallet);
    return status;
}
