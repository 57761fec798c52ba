/* signer_ops: reading each operation's fields, its policy, and the answer;
 * see signer_ops.h. Every field has a bound and an order; anything else is
 * malformed (-1: the process dies). A well-formed request against the
 * policy is refused (SIGNER_STATUS_REFUSED) and counted. */
#include "signer/signer_ops.h"

#include "signer/keyring.h"
#include "pki/pki_x509.h"
#include "signer/signer_ca.h"
#include "audit/tlog.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/strings.h"

#include <assert.h>
#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(SIGNER_OP_END <= SIGNER_STATS_OPS, "stats cover every op");

#define ES256_HALF_BYTES 32
#define ES256_SIGNATURE_BYTES (2 * ES256_HALF_BYTES)
#define ID_TOKEN_TEXT_MAX 255    /* aud, sub: longest accepted */
/* One CRL entry on the wire: serial | revoked_at (8) | reason (8). */
#define CRL_ENTRY_BYTES (SIGNER_SERIAL_BYTES + 16)

struct signer_ops {
    struct keyring *keyring;
    /* The issuing CA generations 1..generations (0: no CA operations);
     * the newest issues, each signs its own OCSP responses and CRL. */
    struct signer_ca *ca[SIGNER_ISSUING_GENERATIONS_MAX + 1];
    unsigned generations;
    /* Set once (options or SIGNER_OP_CONFIGURE), then read-only: the
     * issuer of ID tokens and the CA's URLs. Until then ID tokens and
     * certificates are refused. */
    pthread_mutex_t configure_lock;
    _Atomic int configured;
    char issuer[SIGNER_WIRE_ISSUER_MAX + 1];
    char initial_kid[SIGNER_KID_MAX + 1];
    /* Record openings: a fixed window of one minute. */
    pthread_mutex_t window_lock;
    int window_lock_ready;
    int64_t window_minute;
    uint64_t window_opens;
    uint64_t opens_per_minute;
    /* The log: its origin (from its key), and the last checkpoint signed
     * since the process started (size 0: none yet). */
    int has_log_key;
    char log_origin[SIGNER_LOG_ORIGIN_MAX];
    char log_vkey[SIGNER_LOG_VKEY_MAX];
    uint8_t log_key_hash[4];
    pthread_mutex_t log_lock;
    int log_lock_ready;
    int64_t log_size;
    tlog_hash log_root;
    _Atomic uint64_t done[SIGNER_STATS_OPS];
    _Atomic uint64_t refused[SIGNER_STATS_OPS];
    _Atomic uint64_t limited;
};

/* Sets the issuer and the CA's URLs, once. With a CA, the URLs are
 * required; without, they are ignored. 0, or -1 (already set, or
 * invalid). */
static int
configure(struct signer_ops *ops, const char *issuer, const char *ocsp_url,
          const char *crl_url)
{
    int status = -1;
    pthread_mutex_lock(&ops->configure_lock);
    if (!atomic_load(&ops->configured) &&
        (strncmp(issuer, "http://", 7) == 0 || strncmp(issuer, "https://", 8) == 0) &&
        string_copy(ops->issuer, sizeof ops->issuer, issuer) == 0 &&
        (ops->generations == 0 || (ocsp_url != NULL && crl_url != NULL))) {
        status = 0;
        for (unsigned g = 1; g <= ops->generations && status == 0; g++)
            status = signer_ca_set_urls(ops->ca[g], ocsp_url, crl_url);
        if (status == 0)
            atomic_store_explicit(&ops->configured, 1, memory_order_release);
    }
    pthread_mutex_unlock(&ops->configure_lock);
    return status;
}

static int
is_configured(struct signer_ops *ops)
{
    return atomic_load_explicit(&ops->configured, memory_order_acquire);
}

/* Every issuing CA generation of pki_dir, each with its key. 0 or -1. */
static int
open_generations(struct signer_ops *ops, const char *pki_dir, unsigned wanted, char *err,
                 size_t errlen)
{
    _Static_assert(SIGNER_ISSUING_GENERATIONS_MAX == PKI_GENERATIONS_MAX, "one bound");
    unsigned count = pki_issuing_generations(pki_dir);
    if (count == 0)
        return error_set(err, errlen, "%s/issuing-ca.pem is missing", pki_dir);
    if (wanted > count)
        return error_set(err, errlen, "%s holds %u issuing CA generations, not %u", pki_dir,
                         count, wanted);
    if (wanted > 0)
        count = wanted;
    for (unsigned g = 1; g <= count; g++) {
        if (g >= 2 && keyring_load_issuing(ops->keyring, g, err, errlen) != 0)
            return -1;
        if (signer_ca_open(pki_dir, g, keyring_issuing_key(ops->keyring, g), &ops->ca[g], err,
                           errlen) != 0)
            return -1;
        ops->generations = g;
    }
    return 0;
}

/* The log's origin, verifier key and key hash, when the keyring has a
 * checkpoint key (C2SP signed-note: key hash = the first four bytes of
 * SHA-256(name, "\n", 0x01, public key)). 0 or -1. */
static int
open_log_key(struct signer_ops *ops)
{
    if (pthread_mutex_init(&ops->log_lock, NULL) != 0)
        return -1;
    ops->log_lock_ready = 1;
    uint8_t public_key[SIGNER_LOG_PUBLIC_KEY_BYTES], digest[SHA256_DIGEST_LENGTH];
    if (!keyring_log_public_key(ops->keyring, public_key))
        return 0;
    char hex[HEX_ENCODED_SIZE(8)];
    SHA256(public_key, sizeof public_key, digest);
    if (hex_encode(digest, 8, hex, sizeof hex) != 0 ||
        string_format(ops->log_origin, sizeof ops->log_origin, "cyberid/%s", hex) != 0)
        return -1;
    uint8_t hashed[SIGNER_LOG_ORIGIN_MAX + 2 + SIGNER_LOG_PUBLIC_KEY_BYTES];
    size_t origin_length = strlen(ops->log_origin);
    memcpy(hashed, ops->log_origin, origin_length);
    hashed[origin_length] = '\n';
    hashed[origin_length + 1] = 0x01; /* Ed25519 */
    memcpy(hashed + origin_length + 2, public_key, sizeof public_key);
    SHA256(hashed, origin_length + 2 + sizeof public_key, digest);
    memcpy(ops->log_key_hash, digest, sizeof ops->log_key_hash);
    uint8_t typed[1 + SIGNER_LOG_PUBLIC_KEY_BYTES];
    typed[0] = 0x01;
    memcpy(typed + 1, public_key, sizeof public_key);
    char *encoded = base64_encode_alloc(typed, sizeof typed);
    char hash_hex[HEX_ENCODED_SIZE(4)];
    int status = encoded != NULL && hex_encode(ops->log_key_hash, 4, hash_hex,
                                               sizeof hash_hex) == 0 &&
                         string_format(ops->log_vkey, sizeof ops->log_vkey, "%s+%s+%s",
                                       ops->log_origin, hash_hex, encoded) == 0
                     ? 0
                     : -1;
    free(encoded);
    ops->has_log_key = status == 0;
    return status;
}

int
signer_ops_open(const struct signer_options *options, struct signer_ops **out, char *err,
                size_t errlen)
{
    *out = NULL;
    struct signer_ops *ops = calloc(1, sizeof *ops);
    if (ops == NULL)
        return error_set(err, errlen, "out of memory");
    if (pthread_mutex_init(&ops->window_lock, NULL) != 0) {
        free(ops);
        return error_set(err, errlen, "cannot create a lock");
    }
    if (pthread_mutex_init(&ops->configure_lock, NULL) != 0) {
        pthread_mutex_destroy(&ops->window_lock);
        free(ops);
        return error_set(err, errlen, "cannot create a lock");
    }
    ops->window_lock_ready = 1;
    ops->opens_per_minute = options->opens_per_minute > 0 ? options->opens_per_minute
                                                          : SIGNER_OPENS_PER_MINUTE_DEFAULT;
    if (keyring_open(options->keys_dir, &ops->keyring, err, errlen) != 0)
        goto fail;
    keyring_initial_kid(ops->keyring, ops->initial_kid);
    if (options->pki_dir != NULL &&
        open_generations(ops, options->pki_dir, options->generations, err, errlen) != 0)
        goto fail;
    if (open_log_key(ops) != 0) {
        error_set(err, errlen, "cannot set up the log's checkpoint key");
        goto fail;
    }
    if (options->issuer != NULL &&
        configure(ops, options->issuer, options->ocsp_url, options->crl_url) != 0) {
        error_set(err, errlen, "the issuer or the OCSP and CRL URLs are not valid");
        goto fail;
    }
    *out = ops;
    return 0;
fail:
    signer_ops_close(ops);
    return -1;
}

void
signer_ops_close(struct signer_ops *ops)
{
    if (ops == NULL)
        return;
    for (unsigned g = 1; g <= ops->generations; g++)
        signer_ca_close(ops->ca[g]);
    keyring_close(ops->keyring);
    if (ops->window_lock_ready) {
        pthread_mutex_destroy(&ops->window_lock);
        pthread_mutex_destroy(&ops->configure_lock);
    }
    if (ops->log_lock_ready)
        pthread_mutex_destroy(&ops->log_lock);
    free(ops);
}

/* A field holding an unsigned value below `bound`. */
static int
read_below(struct signer_reader *reader, uint64_t bound, uint64_t *value)
{
    if (signer_reader_u64(reader, value) != 0)
        return -1;
    if (*value >= bound) {
        reader->bad = 1;
        return -1;
    }
    return 0;
}

/* ── HMAC ───────────────────────────────────────────────────────────────── */

static int
op_hmac(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    uint64_t key = 0;
    const uint8_t *message = NULL;
    size_t length = 0;
    if (read_below(in, SIGNER_KEY_COUNT, &key) != 0 ||
        signer_reader_field(in, SIGNER_HMAC_MESSAGE_MAX_BYTES, &message, &length) != 0 ||
        signer_reader_end(in) != 0)
        return -1;
    if (key != SIGNER_KEY_INDEX && key != SIGNER_KEY_PAIRWISE)
        return SIGNER_STATUS_REFUSED;
    uint8_t mac[SIGNER_HMAC_BYTES];
    if (keyring_hmac(ops->keyring, (enum signer_key)key, message, length, mac) != 0)
        return SIGNER_STATUS_FAILED;
    signer_buffer_field(out, mac, sizeof mac, SIGNER_WIRE_PAYLOAD_MAX);
    secret_wipe(mac, sizeof mac);
    return SIGNER_STATUS_OK;
}

/* ── Records ────────────────────────────────────────────────────────────── */

static int
op_seal(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    char record_id[SIGNER_RECORD_ID_MAX_BYTES + 1];
    const uint8_t *plaintext = NULL;
    size_t length = 0;
    if (signer_reader_text(in, SIGNER_RECORD_ID_MAX_BYTES, record_id) != 0 ||
        signer_reader_field(in, SIGNER_RECORD_MAX_BYTES, &plaintext, &length) != 0 ||
        signer_reader_end(in) != 0)
        return -1;
    uint8_t *sealed = NULL;
    size_t sealed_length = 0;
    if (keyring_seal(ops->keyring, record_id, plaintext, length, &sealed, &sealed_length) != 0)
        return SIGNER_STATUS_FAILED;
    signer_buffer_field(out, sealed, sealed_length, SIGNER_WIRE_PAYLOAD_MAX);
    free(sealed);
    return SIGNER_STATUS_OK;
}

/* op_hmac() under the index key and op_seal() under the record id prefix +
 * hex(HMAC) in one message (signer_seal_blind()); it may do nothing the
 * two could not. Replies the record id, then the sealed record. */
static int
op_seal_blind(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    char prefix[SIGNER_BLIND_PREFIX_MAX + 1];
    const uint8_t *message = NULL, *plaintext = NULL;
    size_t message_length = 0, length = 0;
    if (signer_reader_text(in, SIGNER_BLIND_PREFIX_MAX, prefix) != 0 ||
        signer_reader_field(in, SIGNER_HMAC_MESSAGE_MAX_BYTES, &message, &message_length) != 0 ||
        signer_reader_field(in, SIGNER_RECORD_MAX_BYTES, &plaintext, &length) != 0 ||
        signer_reader_end(in) != 0)
        return -1;
    size_t prefix_length = strlen(prefix);
    if (prefix_length == 0)
        return SIGNER_STATUS_REFUSED;
    uint8_t mac[SIGNER_HMAC_BYTES];
    char record_id[SIGNER_BLIND_RECORD_ID_SIZE];
    _Static_assert(SIGNER_BLIND_RECORD_ID_SIZE - 1 <= SIGNER_RECORD_ID_MAX_BYTES,
                   "a blind record id is a record id");
    uint8_t *sealed = NULL;
    size_t sealed_length = 0;
    int status = SIGNER_STATUS_FAILED;
    memcpy(record_id, prefix, prefix_length);
    if (keyring_hmac(ops->keyring, SIGNER_KEY_INDEX, message, message_length, mac) == 0 &&
        hex_encode(mac, sizeof mac, record_id + prefix_length,
                   sizeof record_id - prefix_length) == 0 &&
        keyring_seal(ops->keyring, record_id, plaintext, length, &sealed, &sealed_length) ==
            0) {
        signer_buffer_text(out, record_id, SIGNER_BLIND_RECORD_ID_SIZE - 1);
        signer_buffer_field(out, sealed, sealed_length, SIGNER_WIRE_PAYLOAD_MAX);
        status = SIGNER_STATUS_OK;
    }
    secret_wipe(mac, sizeof mac);
    free(sealed);
    return status;
}

/* 1 for a field name of 1..SIGNER_FIELD_NAME_MAX characters of [a-z_]. */
static int
field_name_is_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > SIGNER_FIELD_NAME_MAX)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_'))
            return 0;
    return 1;
}

/* Counts one opening against the minute's limit: 1 when allowed. */
static int
opening_allowed(struct signer_ops *ops)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t minute = (int64_t)now.tv_sec / 60;
    pthread_mutex_lock(&ops->window_lock);
    if (minute != ops->window_minute) {
        ops->window_minute = minute;
        ops->window_opens = 0;
    }
    int allowed = ops->window_opens < ops->opens_per_minute;
    if (allowed)
        ops->window_opens++;
    pthread_mutex_unlock(&ops->window_lock);
    return allowed;
}

static int
op_open(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    char record_id[SIGNER_RECORD_ID_MAX_BYTES + 1];
    char fields[SIGNER_RECORD_FIELDS_MAX][SIGNER_FIELD_NAME_MAX + 1];
    const uint8_t *sealed = NULL;
    size_t sealed_length = 0;
    uint64_t count = 0;
    if (signer_reader_text(in, SIGNER_RECORD_ID_MAX_BYTES, record_id) != 0 ||
        signer_reader_field(in, SIGNER_RECORD_MAX_BYTES + SIGNER_SEAL_OVERHEAD_BYTES,
                            &sealed, &sealed_length) != 0 ||
        read_below(in, SIGNER_RECORD_FIELDS_MAX + 1, &count) != 0)
        return -1;
    for (uint64_t i = 0; i < count; i++)
        if (signer_reader_text(in, SIGNER_FIELD_NAME_MAX, fields[i]) != 0)
            return -1;
    if (signer_reader_end(in) != 0)
        return -1;
    if (count == 0)
        return SIGNER_STATUS_REFUSED;
    for (uint64_t i = 0; i < count; i++)
        if (!field_name_is_valid(fields[i]))
            return SIGNER_STATUS_REFUSED;
    if (!opening_allowed(ops))
        return SIGNER_STATUS_LIMITED;

    uint8_t *plaintext = NULL;
    size_t length = 0;
    if (keyring_unseal(ops->keyring, record_id, sealed, sealed_length, &plaintext,
                       &length) != 0)
        return SIGNER_STATUS_REFUSED; /* altered, or another record's */
    int status = SIGNER_STATUS_REFUSED;
    /* The parsed copies are freed through jansson, which does not wipe;
     * in cyberid's processes every free wipes (util/wipe_alloc.h). */
    json_t *record = json_loadb((const char *)plaintext, length, JSON_REJECT_DUPLICATES, NULL);
    json_t *chosen = json_object();
    char *text = NULL;
    if (json_is_object(record) && chosen != NULL) {
        status = SIGNER_STATUS_FAILED;
        int ok = 1;
        for (uint64_t i = 0; i < count && ok; i++) {
            json_t *value = json_object_get(record, fields[i]);
            if (value != NULL)
                ok = json_object_set(chosen, fields[i], value) == 0;
        }
        if (ok && (text = json_dumps(chosen, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
            signer_buffer_field(out, text, strlen(text), SIGNER_WIRE_PAYLOAD_MAX);
            status = SIGNER_STATUS_OK;
        }
    }
    if (text != NULL) {
        secret_wipe(text, strlen(text));
        free(text);
    }
    json_decref(chosen);
    json_decref(record);
    secret_wipe(plaintext, length + 1);
    free(plaintext);
    return status;
}

/* ── The CA ─────────────────────────────────────────────────────────────── */

/* A signer_ca result as a wire status, with der appended when done. */
static int
ca_answer(int result, uint8_t *der, size_t der_length, struct signer_buffer *out)
{
    if (result == 0)
        signer_buffer_field(out, der, der_length, SIGNER_WIRE_PAYLOAD_MAX);
    free(der);
    return result == 0 ? SIGNER_STATUS_OK
                       : result == SIGNER_CA_REFUSED ? SIGNER_STATUS_REFUSED
                                                     : SIGNER_STATUS_FAILED;
}

static int
op_issue(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    const uint8_t *spki = NULL;
    size_t spki_length = 0;
    char web_number[SIGNER_WIRE_WEB_NUMBER_MAX + 1];
    uint64_t now = 0, generation = 0;
    if (read_below(in, SIGNER_ISSUING_GENERATIONS_MAX + 1, &generation) != 0 ||
        signer_reader_field(in, SIGNER_PUBLIC_KEY_MAX_BYTES, &spki, &spki_length) != 0 ||
        signer_reader_text(in, SIGNER_WIRE_WEB_NUMBER_MAX, web_number) != 0 ||
        signer_reader_u64(in, &now) != 0 || signer_reader_end(in) != 0)
        return -1;
    /* Only the newest generation issues: an older one may be the one a
     * flaw was found in. */
    if (ops->generations == 0 || generation != ops->generations || !is_configured(ops))
        return SIGNER_STATUS_REFUSED;
    uint8_t *der = NULL;
    size_t der_length = 0;
    int result = signer_ca_issue(ops->ca[generation], spki, spki_length, web_number,
                                 (int64_t)now, &der, &der_length);
    return ca_answer(result, der, der_length, out);
}

static int
op_ocsp(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    struct signer_ocsp_entry entries[SIGNER_OCSP_ENTRIES_MAX];
    const uint8_t *nonce = NULL;
    size_t nonce_length = 0;
    uint64_t now = 0, count = 0, generation = 0;
    if (read_below(in, SIGNER_ISSUING_GENERATIONS_MAX + 1, &generation) != 0 ||
        signer_reader_u64(in, &now) != 0 ||
        signer_reader_field(in, SIGNER_OCSP_NONCE_MAX_BYTES, &nonce, &nonce_length) != 0 ||
        read_below(in, SIGNER_OCSP_ENTRIES_MAX + 1, &count) != 0)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t state = 0, revoked_at = 0, reason = 0;
        if (signer_reader_field(in, SIGNER_OCSP_CERTID_MAX_BYTES, &entries[i].cert_id,
                                &entries[i].cert_id_length) != 0 ||
            read_below(in, SIGNER_CERT_REVOKED + 1, &state) != 0 ||
            signer_reader_u64(in, &revoked_at) != 0 || read_below(in, 64, &reason) != 0)
            return -1;
        entries[i].state = (enum signer_cert_state)state;
        entries[i].revoked_at = (int64_t)revoked_at;
        entries[i].reason = (int)reason;
    }
    if (signer_reader_end(in) != 0)
        return -1;
    if (generation == 0 || generation > ops->generations)
        return SIGNER_STATUS_REFUSED;
    uint8_t *der = NULL;
    size_t der_length = 0;
    int result = signer_ca_ocsp(ops->ca[generation], entries, (size_t)count, nonce, nonce_length,
                                (int64_t)now, &der, &der_length);
    return ca_answer(result, der, der_length, out);
}

static int
op_crl(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    uint64_t now = 0, number = 0, generation = 0;
    const uint8_t *packed = NULL;
    size_t packed_length = 0;
    if (read_below(in, SIGNER_ISSUING_GENERATIONS_MAX + 1, &generation) != 0 ||
        signer_reader_u64(in, &now) != 0 || signer_reader_u64(in, &number) != 0 ||
        signer_reader_field(in, SIGNER_WIRE_PAYLOAD_MAX, &packed, &packed_length) != 0 ||
        signer_reader_end(in) != 0 || packed_length % CRL_ENTRY_BYTES != 0)
        return -1;
    if (generation == 0 || generation > ops->generations)
        return SIGNER_STATUS_REFUSED;
    size_t count = packed_length / CRL_ENTRY_BYTES;
    struct signer_crl_entry *entries = count > 0 ? calloc(count, sizeof *entries) : NULL;
    if (count > 0 && entries == NULL)
        return SIGNER_STATUS_FAILED;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *at = packed + i * CRL_ENTRY_BYTES;
        uint64_t reason = 0;
        memcpy(entries[i].serial, at, SIGNER_SERIAL_BYTES);
        memcpy(&entries[i].revoked_at, at + SIGNER_SERIAL_BYTES, 8);
        memcpy(&reason, at + SIGNER_SERIAL_BYTES + 8, 8);
        entries[i].reason = reason < 64 ? (int)reason : -1;
    }
    uint8_t *der = NULL;
    size_t der_length = 0;
    int result = signer_ca_crl(ops->ca[generation], entries, count, (int64_t)number, (int64_t)now, &der,
                               &der_length);
    free(entries);
    return ca_answer(result, der, der_length, out);
}

/* ── ID tokens ──────────────────────────────────────────────────────────── */

/* A string claim of 1..ID_TOKEN_TEXT_MAX bytes. */
static int
claim_text(const json_t *claims, const char *name)
{
    const char *value = json_string_value(json_object_get(claims, name));
    size_t length = value != NULL ? strlen(value) : 0;
    return length > 0 && length <= ID_TOKEN_TEXT_MAX;
}

/* The policy of an ID token's claims: 1 when they may be signed. */
static int
id_token_allowed(struct signer_ops *ops, const json_t *claims)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    json_t *iat = json_object_get(claims, "iat"), *exp = json_object_get(claims, "exp");
    if (!json_is_object(claims) || !is_configured(ops) || iss == NULL ||
        strcmp(iss, ops->issuer) != 0 || !claim_text(claims, "aud") ||
        !claim_text(claims, "sub") || !json_is_integer(iat) || !json_is_integer(exp))
        return 0;
    json_int_t issued = json_integer_value(iat), expires = json_integer_value(exp);
    json_int_t now = (json_int_t)time(NULL);
    return issued >= now - SIGNER_CLOCK_SKEW_MAX && issued <= now + SIGNER_CLOCK_SKEW_MAX &&
           expires > issued && expires - issued <= SIGNER_ID_TOKEN_LIFETIME_MAX;
}

/* Appends base64url(bytes) to text at *at (room checked by the caller). */
static int
append_base64url(char *text, size_t cap, size_t *at, const void *bytes, size_t length)
{
    if (base64url_encode(bytes, length, text + *at, cap - *at) != 0)
        return -1;
    *at += strlen(text + *at);
    return 0;
}

/* DER ECDSA-Sig-Value to the 64-byte R || S of JWS (RFC 7518 §3.4). */
static int
der_to_raw(const uint8_t *der, size_t length, uint8_t raw[ES256_SIGNATURE_BYTES])
{
    const unsigned char *cursor = der;
    ECDSA_SIG *signature = d2i_ECDSA_SIG(NULL, &cursor, (long)length);
    if (signature == NULL)
        return -1;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(signature, &r, &s);
    int ok = BN_bn2binpad(r, raw, ES256_HALF_BYTES) == ES256_HALF_BYTES &&
             BN_bn2binpad(s, raw + ES256_HALF_BYTES, ES256_HALF_BYTES) == ES256_HALF_BYTES;
    ECDSA_SIG_free(signature);
    return ok ? 0 : -1;
}

/* The compact JWS of header and payload (their JSON texts) signed with
 * token key kid: written here rather than with cjose because cjose signs
 * only with a key of its own type, and the key is the keyring's. */
static int
sign_compact(struct signer_ops *ops, const char *kid, const char *header,
             const uint8_t *payload, size_t payload_length, struct signer_buffer *out)
{
    size_t header_length = strlen(header);
    size_t cap = BASE64URL_ENCODED_SIZE(header_length) + 1 +
                 BASE64URL_ENCODED_SIZE(payload_length) + 1 +
                 BASE64URL_ENCODED_SIZE(ES256_SIGNATURE_BYTES);
    char *token = malloc(cap);
    uint8_t digest[SIGNER_DIGEST_BYTES], der[SIGNER_SIGNATURE_MAX_BYTES];
    uint8_t raw[ES256_SIGNATURE_BYTES];
    size_t at = 0, der_length = 0;
    int status = SIGNER_STATUS_FAILED;
    if (token == NULL || append_base64url(token, cap, &at, header, header_length) != 0)
        goto cleanup;
    token[at++] = '.';
    if (append_base64url(token, cap, &at, payload, payload_length) != 0)
        goto cleanup;
    SHA256((const unsigned char *)token, at, digest);
    if (keyring_sign_token(ops->keyring, kid, digest, der, &der_length) != 0) {
        status = SIGNER_STATUS_REFUSED; /* no such kid, or its file refused */
        goto cleanup;
    }
    if (der_to_raw(der, der_length, raw) != 0)
        goto cleanup;
    token[at++] = '.';
    if (append_base64url(token, cap, &at, raw, sizeof raw) != 0)
        goto cleanup;
    signer_buffer_field(out, token, at, SIGNER_WIRE_PAYLOAD_MAX);
    status = SIGNER_STATUS_OK;
cleanup:
    free(token);
    return status;
}

/* The ID token of claims already checked (their JSON text, signed as they
 * are: not a re-encoding) by token key kid, header {alg, typ, kid}. */
static int
sign_id_token(struct signer_ops *ops, const char *kid, const uint8_t *claims_text,
              size_t claims_length, struct signer_buffer *out)
{
    json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT", "kid", kid);
    char *header_text = header != NULL ? json_dumps(header, JSON_COMPACT) : NULL;
    json_decref(header);
    if (header_text == NULL)
        return SIGNER_STATUS_FAILED;
    int status = sign_compact(ops, kid, header_text, claims_text, claims_length, out);
    free(header_text);
    return status;
}

static int
op_id_token(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    char kid[SIGNER_KID_MAX + 1];
    const uint8_t *claims_text = NULL;
    size_t claims_length = 0;
    if (signer_reader_text(in, SIGNER_KID_MAX, kid) != 0 ||
        signer_reader_field(in, SIGNER_CLAIMS_MAX_BYTES, &claims_text, &claims_length) != 0 ||
        signer_reader_end(in) != 0)
        return -1;
    if (!signer_kid_is_valid(kid))
        return SIGNER_STATUS_REFUSED;
    json_t *claims = json_loadb((const char *)claims_text, claims_length,
                                JSON_REJECT_DUPLICATES, NULL);
    int allowed = claims != NULL && id_token_allowed(ops, claims);
    json_decref(claims);
    if (!allowed) {
        log_event(LOG_WARN, "signer.id_token_refused", "{s:s}", "kid", kid);
        return SIGNER_STATUS_REFUSED;
    }
    return sign_id_token(ops, kid, claims_text, claims_length, out);
}

/* The pairwise subject of oidc/subject.h, computed here for
 * op_id_token_pairwise(); oidc/subject.c computes the same through
 * signer_hmac() (tests/signer checks that they agree). */
static int
pairwise_subject(struct signer_ops *ops, const char *web_number, const char *sector_id,
                 char out[SIGNER_SUBJECT_SIZE])
{
    uint8_t message[SIGNER_PAIRWISE_MESSAGE_MAX], mac[SIGNER_HMAC_BYTES];
    size_t length = signer_pairwise_message(web_number, sector_id, message);
    /* The reader bounded both texts, and the wire has no empty one. */
    assert(length > 0);
    int status = keyring_hmac(ops->keyring, SIGNER_KEY_PAIRWISE, message, length, mac);
    if (status == 0)
        status = base32_lower_encode(mac, sizeof mac, SIGNER_SUBJECT_CHARS, out,
                                     SIGNER_SUBJECT_SIZE);
    secret_wipe(mac, sizeof mac);
    return status;
}

/* op_id_token() with the sub put in by the signer. Replies the sub, then
 * the token. */
static int
op_id_token_pairwise(struct signer_ops *ops, struct signer_reader *in,
                     struct signer_buffer *out)
{
    char kid[SIGNER_KID_MAX + 1], sector_id[SIGNER_SECTOR_MAX_BYTES + 1];
    char web_number[SIGNER_WEB_NUMBER_MAX_BYTES + 1], sub[SIGNER_SUBJECT_SIZE];
    const uint8_t *claims_text = NULL;
    size_t claims_length = 0;
    if (signer_reader_text(in, SIGNER_KID_MAX, kid) != 0 ||
        signer_reader_text(in, SIGNER_SECTOR_MAX_BYTES, sector_id) != 0 ||
        signer_reader_text(in, SIGNER_WEB_NUMBER_MAX_BYTES, web_number) != 0 ||
        signer_reader_field(in, SIGNER_CLAIMS_MAX_BYTES, &claims_text, &claims_length) != 0 ||
        signer_reader_end(in) != 0)
        return -1;
    /* (The wire has no empty text: sector and web number are not empty.) */
    if (!signer_kid_is_valid(kid))
        return SIGNER_STATUS_REFUSED;
    json_t *claims = json_loadb((const char *)claims_text, claims_length,
                                JSON_REJECT_DUPLICATES, NULL);
    int status = SIGNER_STATUS_REFUSED;
    char *payload = NULL;
    if (!json_is_object(claims) || json_object_get(claims, "sub") != NULL)
        goto done;
    if (pairwise_subject(ops, web_number, sector_id, sub) != 0 ||
        json_object_set_new(claims, "sub", json_string(sub)) != 0) {
        status = SIGNER_STATUS_FAILED;
        goto done;
    }
    if (!id_token_allowed(ops, claims))
        goto done;
    /* The claims checked, with the sub, are the bytes signed. */
    payload = json_dumps(claims, JSON_COMPACT);
    status = SIGNER_STATUS_FAILED;
    if (payload != NULL) {
        signer_buffer_text(out, sub, SIGNER_SUBJECT_CHARS);
        status = sign_id_token(ops, kid, (const uint8_t *)payload, strlen(payload), out);
    }
done:
    if (status == SIGNER_STATUS_REFUSED)
        log_event(LOG_WARN, "signer.id_token_refused", "{s:s}", "kid", kid);
    if (payload != NULL) {
        secret_wipe(payload, strlen(payload)); /* the released claim values */
        free(payload);
    }
    json_decref(claims);
    return status;
}

/* ── The log's checkpoints ──────────────────────────────────────────────── */

static int
op_log_key(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    if (signer_reader_end(in) != 0)
        return -1;
    if (!ops->has_log_key)
        return SIGNER_STATUS_REFUSED;
    signer_buffer_text(out, ops->log_origin, SIGNER_LOG_ORIGIN_MAX - 1);
    signer_buffer_text(out, ops->log_vkey, SIGNER_LOG_VKEY_MAX - 1);
    return SIGNER_STATUS_OK;
}

/* A field of exactly one hash. */
static int
read_hash(struct signer_reader *in, tlog_hash *out)
{
    const uint8_t *bytes = NULL;
    size_t length = 0;
    if (signer_reader_field(in, TLOG_HASH_BYTES, &bytes, &length) != 0 ||
        length != TLOG_HASH_BYTES)
        return -1;
    memcpy(out->bytes, bytes, TLOG_HASH_BYTES);
    return 0;
}

/* The policy: the new tree extends the old one (RFC 9162 consistency),
 * and the old one is the last this process signed, if any; then the note
 * is the checkpoint body, a blank line and the signature line. */
static int
op_sign_checkpoint(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    uint64_t size = 0, old_size = 0;
    tlog_hash root, old_root, proof[SIGNER_LOG_PROOF_MAX];
    const uint8_t *packed = NULL;
    size_t packed_length = 0;
    if (signer_reader_u64(in, &size) != 0 || read_hash(in, &root) != 0 ||
        signer_reader_u64(in, &old_size) != 0 || read_hash(in, &old_root) != 0 ||
        signer_reader_field(in, SIGNER_LOG_PROOF_MAX * TLOG_HASH_BYTES, &packed,
                            &packed_length) != 0 ||
        signer_reader_end(in) != 0 || packed_length % TLOG_HASH_BYTES != 0)
        return -1;
    size_t proof_length = packed_length / TLOG_HASH_BYTES;
    memcpy(proof, packed, packed_length);
    if (!ops->has_log_key || size > INT64_MAX || old_size > size)
        return SIGNER_STATUS_REFUSED;
    int status = SIGNER_STATUS_REFUSED;
    pthread_mutex_lock(&ops->log_lock);
    int extends = old_size == 0
                      ? proof_length == 0
                      : tlog_verify_consistency((int64_t)old_size, (int64_t)size, &old_root,
                                                &root, proof, proof_length);
    int follows = ops->log_size == 0 ||
                  ((int64_t)old_size == ops->log_size &&
                   memcmp(old_root.bytes, ops->log_root.bytes, TLOG_HASH_BYTES) == 0) ||
                  ((int64_t)size == ops->log_size &&
                   memcmp(root.bytes, ops->log_root.bytes, TLOG_HASH_BYTES) == 0);
    char body[TLOG_CHECKPOINT_MAX];
    uint8_t signature[4 + SIGNER_LOG_SIGNATURE_BYTES];
    if (extends && follows &&
        tlog_checkpoint_format(ops->log_origin, (int64_t)size, &root, body, sizeof body) == 0) {
        status = SIGNER_STATUS_FAILED;
        memcpy(signature, ops->log_key_hash, 4);
        if (keyring_log_sign(ops->keyring, body, strlen(body), signature + 4) == 0) {
            char *encoded = base64_encode_alloc(signature, sizeof signature);
            char note[SIGNER_NOTE_MAX];
            /* C2SP signed-note: the text, a blank line, "\u2014 name sig". */
            if (encoded != NULL &&
                string_format(note, sizeof note, "%s\n\xe2\x80\x94 %s %s\n", body,
                              ops->log_origin, encoded) == 0) {
                signer_buffer_text(out, note, SIGNER_NOTE_MAX - 1);
                ops->log_size = (int64_t)size;
                ops->log_root = root;
                status = SIGNER_STATUS_OK;
            }
            free(encoded);
        }
    }
    pthread_mutex_unlock(&ops->log_lock);
    return status;
}

/* ── Public keys, stats ─────────────────────────────────────────────────── */

static int
op_public_key(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    uint64_t key = 0, generation = 0;
    if (read_below(in, SIGNER_KEY_COUNT, &key) != 0 ||
        read_below(in, SIGNER_ISSUING_GENERATIONS_MAX + 1, &generation) != 0 ||
        signer_reader_end(in) != 0)
        return -1;
    uint8_t der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0;
    int known = key == SIGNER_KEY_ISSUING_CA
                    ? keyring_issuing_public_key(ops->keyring, (unsigned)generation, der,
                                                 &length) == 0
                    : key == SIGNER_KEY_TOKEN && generation == 1 &&
                          keyring_public_key(ops->keyring, SIGNER_KEY_TOKEN, der, &length) == 0;
    if (!known)
        return SIGNER_STATUS_REFUSED;
    signer_buffer_field(out, der, length, SIGNER_WIRE_PAYLOAD_MAX);
    return SIGNER_STATUS_OK;
}

static int
op_token_public_key(struct signer_ops *ops, struct signer_reader *in,
                    struct signer_buffer *out)
{
    char kid[SIGNER_KID_MAX + 1];
    if (signer_reader_text(in, SIGNER_KID_MAX, kid) != 0 || signer_reader_end(in) != 0)
        return -1;
    uint8_t der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0;
    if (!signer_kid_is_valid(kid) ||
        keyring_token_public_key(ops->keyring, kid, der, &length) != 0)
        return SIGNER_STATUS_REFUSED;
    signer_buffer_field(out, der, length, SIGNER_WIRE_PAYLOAD_MAX);
    return SIGNER_STATUS_OK;
}

static int
op_stats(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    if (signer_reader_end(in) != 0)
        return -1;
    for (size_t i = 0; i < SIGNER_STATS_OPS; i++)
        signer_buffer_u64(out, atomic_load(&ops->done[i]));
    for (size_t i = 0; i < SIGNER_STATS_OPS; i++)
        signer_buffer_u64(out, atomic_load(&ops->refused[i]));
    signer_buffer_u64(out, atomic_load(&ops->limited));
    return SIGNER_STATUS_OK;
}

static int
op_configure(struct signer_ops *ops, struct signer_reader *in, struct signer_buffer *out)
{
    char issuer[SIGNER_WIRE_ISSUER_MAX + 1], ocsp_url[SIGNER_WIRE_URL_MAX + 1],
        crl_url[SIGNER_WIRE_URL_MAX + 1];
    (void)out;
    if (signer_reader_text(in, SIGNER_WIRE_ISSUER_MAX, issuer) != 0 ||
        signer_reader_text(in, SIGNER_WIRE_URL_MAX, ocsp_url) != 0 ||
        signer_reader_text(in, SIGNER_WIRE_URL_MAX, crl_url) != 0 ||
        signer_reader_end(in) != 0)
        return -1;
    if (configure(ops, issuer, ocsp_url, crl_url) != 0) {
        log_event(LOG_WARN, "signer.configure_refused", NULL);
        return SIGNER_STATUS_REFUSED;
    }
    return SIGNER_STATUS_OK;
}

typedef int (*op_handler)(struct signer_ops *, struct signer_reader *,
                          struct signer_buffer *);

static const op_handler handlers[SIGNER_OP_END] = {
    [SIGNER_OP_HMAC] = op_hmac,
    [SIGNER_OP_SEAL_RECORD] = op_seal,
    [SIGNER_OP_OPEN_RECORD] = op_open,
    [SIGNER_OP_ISSUE_CERTIFICATE] = op_issue,
    [SIGNER_OP_SIGN_OCSP] = op_ocsp,
    [SIGNER_OP_SIGN_CRL] = op_crl,
    [SIGNER_OP_SIGN_ID_TOKEN] = op_id_token,
    [SIGNER_OP_PUBLIC_KEY] = op_public_key,
    [SIGNER_OP_TOKEN_PUBLIC_KEY] = op_token_public_key,
    [SIGNER_OP_STATS] = op_stats,
    [SIGNER_OP_CONFIGURE] = op_configure,
    [SIGNER_OP_SIGN_CHECKPOINT] = op_sign_checkpoint,
    [SIGNER_OP_LOG_KEY] = op_log_key,
    [SIGNER_OP_SEAL_BLIND] = op_seal_blind,
    [SIGNER_OP_SIGN_ID_TOKEN_PAIRWISE] = op_id_token_pairwise,
};

void
signer_ops_initial_kid(const struct signer_ops *ops, char kid[SIGNER_KID_MAX + 1])
{
    memcpy(kid, ops->initial_kid, sizeof ops->initial_kid);
}

int
signer_ops_keys_in_token(const struct signer_ops *ops)
{
    return keyring_in_token(ops->keyring);
}

int
signer_ops_run(struct signer_ops *ops, unsigned op, const uint8_t *payload, size_t length,
               uint16_t *status, struct signer_buffer *reply)
{
    *status = SIGNER_STATUS_FAILED;
    if (op == 0 || op >= SIGNER_OP_END || handlers[op] == NULL)
        return -1;
    struct signer_reader in = {.at = payload, .left = length};
    int result = handlers[op](ops, &in, reply);
    if (result < 0)
        return -1;
    if (reply->failed)
        result = SIGNER_STATUS_FAILED;
    if (result != SIGNER_STATUS_OK)
        signer_buffer_clear(reply);
    if (result == SIGNER_STATUS_OK)
        atomic_fetch_add(&ops->done[op], 1);
    else if (result == SIGNER_STATUS_LIMITED)
        atomic_fetch_add(&ops->limited, 1);
    else
        atomic_fetch_add(&ops->refused[op], 1);
    *status = (uint16_t)result;
    return 0;
}
