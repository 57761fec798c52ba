/* signer: the one place private keys live, and the only way to use them.
 *
 * `cyberid serve` starts the signer as a process of its own (signer_start:
 * fork and exec of the same binary, as OpenSMTPD starts its ca process)
 * before it opens the listening socket. That process loads the keys; the
 * network process never opens keys/ and never holds a private, master or
 * HMAC key. They talk over socketpairs (signer_wire.h), one channel per
 * worker thread's slot, so threads do not queue behind one lock.
 *
 * There is no "sign these bytes" and no "unwrap this key". Each operation
 * is typed and the signer applies its policy (signer_ops.c):
 *  - signer_issue_certificate: the signer builds the web certificate from
 *    an SPKI and a web number with the fixed profile, signs it with the
 *    newest issuing CA generation (no other), and checks that the result
 *    parses back to that profile;
 *  - signer_sign_ocsp, signer_sign_crl: it builds and signs the response
 *    or CRL from typed entries (it never asserts "good" for a certificate
 *    of another issuer);
 *  - signer_sign_id_token: it writes the JWS header and checks iss, aud,
 *    sub, iat and exp of the claims before signing;
 *    signer_sign_id_token_pairwise the same with the sub derived by the
 *    signer: the citizen's pairwise subject at the platform's sector;
 *  - signer_seal_record, signer_open_record: AES-256-GCM inside the signer
 *    (data keys never leave it); an open returns only the fields asked
 *    for, and openings are counted against a per-minute limit;
 *  - signer_hmac: blind indexes and pairwise subjects.
 *
 * signer_open() runs the same operations, the same bytes in and out, in
 * the calling process: for tests, benchmarks and offline commands.
 *
 * Failures: -1. When the signer process was out of reach (it died, or a
 * reply made no sense and it was killed) or over its opening limit, the
 * call also marks the thread's outage flag (signer_outage_take()), so the
 * HTTP layer answers 503 with Retry-After rather than 500. A dead signer
 * is started again by the next call; past SIGNER_RESTARTS_MAX restarts in
 * a minute the handle gives up, every call fails, and on_give_up (when
 * set) is called once so the service can stop cleanly.
 *
 * Thread safety: a handle may be used from many threads at once. */
#ifndef CYBERID_SIGNER_H
#define CYBERID_SIGNER_H

#include <stddef.h>
#include <stdint.h>

enum signer_key {
    SIGNER_KEY_MASTER = 0,  /* AES-256: wraps per-record data keys */
    SIGNER_KEY_INDEX,       /* HMAC-SHA256: blind indexes (lookup by ID number) */
    SIGNER_KEY_PAIRWISE,    /* HMAC-SHA256: pairwise subject identifiers */
    SIGNER_KEY_TOKEN,       /* ECDSA P-256: the data folder's first token
                             * key; see signer_token_initial_kid() */
    SIGNER_KEY_ROOT_CA,     /* ECDSA P-256: root CA (never loaded by serve) */
    SIGNER_KEY_ISSUING_CA,  /* ECDSA P-256: issuing CA of web certificates */
    SIGNER_KEY_COUNT
};

#define SIGNER_SYMMETRIC_KEY_BYTES 32
#define SIGNER_HMAC_BYTES 32
#define SIGNER_DATA_KEY_BYTES 32
#define SIGNER_DIGEST_BYTES 32 /* SHA-256 */
#define SIGNER_NONCE_BYTES 12
#define SIGNER_TAG_BYTES 16
/* A wrapped data key: nonce | AES-256-GCM(master, data key) | tag. */
#define SIGNER_WRAPPED_KEY_BYTES \
    (SIGNER_NONCE_BYTES + SIGNER_DATA_KEY_BYTES + SIGNER_TAG_BYTES)
/* DER ECDSA-Sig-Value for P-256 is at most 72 bytes. */
#define SIGNER_SIGNATURE_MAX_BYTES 72
/* DER SubjectPublicKeyInfo of a P-256 key is 91 bytes. */
#define SIGNER_PUBLIC_KEY_MAX_BYTES 128
/* Largest message given to signer_hmac(). */
#define SIGNER_HMAC_MESSAGE_MAX_BYTES 4096
/* Largest record plaintext, record id, and sealed record overhead. */
#define SIGNER_RECORD_MAX_BYTES (1u << 20)
#define SIGNER_RECORD_ID_MAX_BYTES 128
#define SIGNER_SEAL_OVERHEAD_BYTES \
    (1 + SIGNER_WRAPPED_KEY_BYTES + SIGNER_NONCE_BYTES + SIGNER_TAG_BYTES)
/* Fields one signer_open_record() may ask for, and a field name's length
 * (names are [a-z_]). */
#define SIGNER_RECORD_FIELDS_MAX 8
#define SIGNER_FIELD_NAME_MAX 32
/* Claims text given to signer_sign_id_token(). */
#define SIGNER_CLAIMS_MAX_BYTES 16384
/* signer_sign_id_token_pairwise(): the longest web number and sector
 * identifier, and the pairwise subject's characters (oidc/subject.h). */
#define SIGNER_WEB_NUMBER_MAX_BYTES 31
#define SIGNER_SECTOR_MAX_BYTES 1024
#define SIGNER_SUBJECT_CHARS 26
#define SIGNER_SUBJECT_SIZE (SIGNER_SUBJECT_CHARS + 1)
#define SIGNER_PAIRWISE_MESSAGE_MAX (SIGNER_WEB_NUMBER_MAX_BYTES + 1 + SIGNER_SECTOR_MAX_BYTES)
/* An ID token's exp - iat may be at most this, and its iat this far from
 * the signer's clock. */
#define SIGNER_ID_TOKEN_LIFETIME_MAX 3600
#define SIGNER_CLOCK_SKEW_MAX 300
/* Record openings a signer allows per minute unless told otherwise. */
#define SIGNER_OPENS_PER_MINUTE_DEFAULT 120000
/* Restarts of a dead signer process allowed within a minute. */
#define SIGNER_RESTARTS_MAX 5
/* Issuing CA generations a data folder may hold (`cyberid ca rotate`). */
#define SIGNER_ISSUING_GENERATIONS_MAX 32
/* Channels of a signer process: at most. */
#define SIGNER_CHANNELS_MAX 256

struct signer;

/* What a signer needs besides its keys. */
struct signer_options {
    const char *keys_dir;       /* required */
    /* The CA operations: the folder of issuing-ca.pem and root-ca.pem and
     * the URLs written into certificates. NULL: they are refused. */
    const char *pki_dir;
    const char *ocsp_url;
    const char *crl_url;
    /* The issuing CA generations to load: 1..generations (0: every one
     * pki_dir holds). signer_start() fixes it at the count pki_dir holds
     * when it starts, so a signer restarted after a `cyberid ca rotate`
     * loads the generations the network side knows, no more. */
    unsigned generations;
    /* The only `iss` an ID token may carry. NULL: ID tokens and
     * certificates are refused until signer_configure(). */
    const char *issuer;
    /* Record openings per minute (0: SIGNER_OPENS_PER_MINUTE_DEFAULT). */
    unsigned opens_per_minute;
    /* signer_start only: channels (1..SIGNER_CHANNELS_MAX; 0: 16), the
     * executable to run (its `signer` command; NULL: /proc/self/exe), and
     * what to call once when the signer cannot be kept running. */
    unsigned channels;
    const char *executable;
    void (*on_give_up)(void);
};

/* Generates every key and the CA certificates of a new data folder:
 * keys_dir (created, mode 0700) receives the private keys (mode 0600),
 * pki_dir (created, 0755) the public certificates root-ca.pem and
 * issuing-ca.pem. Refuses to overwrite anything. 0 or -1 with err. */
int signer_create_keys(const char *keys_dir, const char *pki_dir, char *err,
                       size_t errlen) __attribute__((warn_unused_result));

/* The same with every key made inside a PKCS#11 token (the module's
 * shared object, the token's label, a file holding the user PIN, mode
 * 0600): EC P-256 pairs and secret keys that are sensitive and not
 * extractable. keys_dir then holds no key, only pkcs11.json saying where
 * they are (module, token, PIN file). Refuses a token that already holds
 * cyberid keys. 0 or -1 with err. */
int signer_create_keys_pkcs11(const char *keys_dir, const char *pki_dir, const char *module,
                              const char *token_label, const char *pin_file, char *err,
                              size_t errlen) __attribute__((warn_unused_result));

/* `cyberid ca rotate`: makes the next issuing CA generation of a data
 * folder under its root: a new P-256 key (keys/issuing-ca-<g>.key.pem,
 * or "cyberid-issuing-ca-<g>" in the PKCS#11 token) and its certificate,
 * signed with the root CA key (opened here and nowhere else), written
 * last to pki_dir/issuing-ca-<g>.pem. *generation is the new one. A
 * running signer uses it once started again. 0 or -1 with err. */
int signer_issuing_ca_rotate(const char *keys_dir, const char *pki_dir, unsigned *generation,
                             char *err, size_t errlen) __attribute__((warn_unused_result));

/* Starts the signer process with options and connects to it. 0, or -1
 * with err (the keys did not load: err says why). */
int signer_start(const struct signer_options *options, struct signer **out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* A signer in this process with the given options (tests, benchmarks,
 * offline commands). 0 or -1 with err. */
int signer_open_local(const struct signer_options *options, struct signer **out,
                      char *err, size_t errlen) __attribute__((warn_unused_result));

/* signer_open_local() with keys_dir alone: HMAC, records and token keys. */
int signer_open(const char *keys_dir, struct signer **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Gives the signer the one issuer its ID tokens may carry and the URLs
 * its certificates carry, when signer_options did not: `cyberid serve`
 * knows them only once it listens (the port may be chosen then), and
 * says them before it serves any request. Refused once set: no later
 * message can change them. 0 or -1. */
int signer_configure(struct signer *signer, const char *issuer, const char *ocsp_url,
                     const char *crl_url) __attribute__((warn_unused_result, nonnull));

/* Stops the process (if any), wipes and frees. NULL is allowed. */
void signer_close(struct signer *signer);

/* The process id of a started signer (0 in-process or while down). */
int signer_pid(struct signer *signer);

/* 1 when a call on this thread failed since the last take because the
 * signer was out of reach or over its limit (then cleared), else 0. */
int signer_outage_take(void);
/* The same flag, left as it is: whether a failure was the signer's. */
int signer_outage_peek(void);

/* HMAC-SHA256 under SIGNER_KEY_INDEX or SIGNER_KEY_PAIRWISE (any other key
 * is refused) of at most SIGNER_HMAC_MESSAGE_MAX_BYTES. 0, or -1 with out
 * zeroed. */
int signer_hmac(struct signer *signer, enum signer_key key, const void *message,
                size_t length, uint8_t out[SIGNER_HMAC_BYTES])
    __attribute__((warn_unused_result, nonnull(1, 5)));

/* Seals plaintext (at most SIGNER_RECORD_MAX_BYTES; a record opened with
 * signer_open_record() must be a JSON object) for record_id (1 to
 * SIGNER_RECORD_ID_MAX_BYTES). *sealed is malloc'd, length +
 * SIGNER_SEAL_OVERHEAD_BYTES. 0 or -1. */
int signer_seal_record(struct signer *signer, const char *record_id,
                       const void *plaintext, size_t length, uint8_t **sealed,
                       size_t *sealed_length)
    __attribute__((warn_unused_result, nonnull(1, 2, 5, 6)));

/* signer_hmac() under SIGNER_KEY_INDEX of message, then
 * signer_seal_record() of plaintext under the record id `prefix` followed
 * by that HMAC in lowercase hex, in one round trip instead of two (an audit
 * event's blind subject and its sealed record). prefix is 1 to
 * SIGNER_BLIND_PREFIX_MAX characters; record_id receives the id the record
 * was sealed under. 0 or -1, as signer_seal_record(). */
#define SIGNER_BLIND_PREFIX_MAX 16
#define SIGNER_BLIND_RECORD_ID_SIZE (SIGNER_BLIND_PREFIX_MAX + 2 * SIGNER_HMAC_BYTES + 1)
int signer_seal_blind(struct signer *signer, const char *prefix, const void *message,
                      size_t message_length, const void *plaintext, size_t length,
                      char record_id[SIGNER_BLIND_RECORD_ID_SIZE], uint8_t **sealed,
                      size_t *sealed_length)
    __attribute__((warn_unused_result, nonnull(1, 2, 7, 8, 9)));

/* Opens a sealed record of record_id and returns a JSON object text with
 * only the listed fields (NULL-terminated, 1..SIGNER_RECORD_FIELDS_MAX
 * names of [a-z_]; a field the record lacks is left out). *json is
 * malloc'd with a NUL; release it with signer_free_secret(). -1 when the
 * blob is malformed, altered, another record's, not a JSON object, or the
 * opening limit is reached. */
int signer_open_record(struct signer *signer, const char *record_id,
                       const uint8_t *sealed, size_t sealed_length,
                       const char *const *fields, char **json, size_t *json_length)
    __attribute__((warn_unused_result, nonnull(1, 2, 5, 6, 7)));

/* Wipes length bytes (and the NUL after them) and frees. NULL allowed. */
void signer_free_secret(void *secret, size_t length);

/* Issues the web certificate of web_number (16 Crockford base32
 * characters) for a P-256 key (DER SubjectPublicKeyInfo), valid from now
 * for 730 days, random serial, by issuing CA `generation`, which must be
 * the newest the signer has (an older one is refused: it may be the one
 * a flaw was found in). *der is malloc'd. 0 or -1. */
int signer_issue_certificate(struct signer *signer, unsigned generation,
                             const uint8_t *spki, size_t spki_length,
                             const char *web_number, int64_t now, uint8_t **der,
                             size_t *der_length)
    __attribute__((warn_unused_result, nonnull(1, 3, 5, 7, 8)));

/* Certificate states of OCSP answers. */
enum signer_cert_state { SIGNER_CERT_UNKNOWN = 0, SIGNER_CERT_GOOD, SIGNER_CERT_REVOKED };

#define SIGNER_OCSP_ENTRIES_MAX 16
#define SIGNER_OCSP_CERTID_MAX_BYTES 512
#define SIGNER_OCSP_NONCE_MAX_BYTES 8192 /* an OCSP request's whole size */

/* One SingleResponse: the request's CertID (DER) and what to say of it. A
 * state other than unknown is refused for a CertID that does not name the
 * issuing CA generation that signs the response. */
struct signer_ocsp_entry {
    const uint8_t *cert_id;
    size_t cert_id_length;
    enum signer_cert_state state;
    int64_t revoked_at;
    int reason;                 /* RFC 5280 CRLReason; 0: none given */
};

/* The OCSPResponse (DER) signed by issuing CA `generation` for
 * 1..SIGNER_OCSP_ENTRIES_MAX entries (good or revoked only for CertIDs of
 * that generation), thisUpdate now, nextUpdate an hour later, with the
 * request's nonce extension value echoed (nonce_length 0: none). *der is
 * malloc'd. 0/-1. */
int signer_sign_ocsp(struct signer *signer, unsigned generation,
                     const struct signer_ocsp_entry *entries, size_t count,
                     const uint8_t *nonce, size_t nonce_length, int64_t now, uint8_t **der,
                     size_t *der_length) __attribute__((warn_unused_result, nonnull(1, 8, 9)));

#define SIGNER_SERIAL_BYTES 16
/* One revoked certificate of the CRL. */
struct signer_crl_entry {
    uint8_t serial[SIGNER_SERIAL_BYTES];
    int64_t revoked_at;
    int reason;
};

/* The CRL (DER, v2) of issuing CA `generation` of count entries,
 * thisUpdate now, nextUpdate a day later, CRL number crl_number. *der is
 * malloc'd. 0/-1. */
int signer_sign_crl(struct signer *signer, unsigned generation,
                    const struct signer_crl_entry *entries, size_t count, int64_t crl_number,
                    int64_t now, uint8_t **der, size_t *der_length)
    __attribute__((warn_unused_result, nonnull(1, 7, 8)));

/* Signs an ID token: claims_json (a JSON object text) with iss the
 * signer's issuer, aud and sub non-empty strings, iat within
 * SIGNER_CLOCK_SKEW_MAX of the signer's clock and 0 < exp - iat <=
 * SIGNER_ID_TOKEN_LIFETIME_MAX, signed by token key kid. *token is the
 * compact JWS with header {"alg":"ES256","typ":"JWT","kid":kid} (malloc'd,
 * free()). 0, or -1 (refused or failed). */
int signer_sign_id_token(struct signer *signer, const char *kid, const char *claims_json,
                         char **token) __attribute__((warn_unused_result, nonnull(1, 2, 3, 4)));

/* signer_sign_id_token() of claims_json with no sub in it: the signer
 * puts in the pairwise subject of web_number at sector_id, the one
 * oidc/subject.h defines (lower-case base32 of HMAC-SHA256 under
 * SIGNER_KEY_PAIRWISE of web_number, a zero byte and sector_id, its first
 * SIGNER_SUBJECT_CHARS characters), and copies it into sub: one round
 * trip where signer_hmac() and signer_sign_id_token() take two. 0, or -1
 * (refused: a sub given, an empty or over-long web number or sector, the
 * checks of signer_sign_id_token(); or failed) with sub empty. */
/* The message whose HMAC under SIGNER_KEY_PAIRWISE makes a pairwise
 * subject: web_number, one zero byte (a web number never holds one, so
 * ("AB","C") and ("A","BC") stay apart), sector_id. Its length, or 0 when
 * either is empty or over its limit. The one definition that
 * oidc/subject.c and signer_sign_id_token_pairwise() share. */
size_t signer_pairwise_message(const char *web_number, const char *sector_id,
                               uint8_t out[SIGNER_PAIRWISE_MESSAGE_MAX])
    __attribute__((nonnull(1, 2, 3)));

int signer_sign_id_token_pairwise(struct signer *signer, const char *kid,
                                  const char *sector_id, const char *web_number,
                                  const char *claims_json, char sub[SIGNER_SUBJECT_SIZE],
                                  char **token)
    __attribute__((warn_unused_result, nonnull(1, 2, 3, 4, 5, 6, 7)));

/* The DER SubjectPublicKeyInfo of SIGNER_KEY_ISSUING_CA (generation 1)
 * or SIGNER_KEY_TOKEN. 0 or -1. */
int signer_public_key(struct signer *signer, enum signer_key key,
                      uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
    __attribute__((warn_unused_result, nonnull(1, 3, 4)));
/* The DER SubjectPublicKeyInfo of issuing CA `generation`. 0 or -1. */
int signer_issuing_public_key(struct signer *signer, unsigned generation,
                              uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
    __attribute__((warn_unused_result, nonnull(1, 3, 4)));

/* Operations done and refused by the signer, by operation
 * (signer_wire.h's enum signer_op), and record openings refused by the
 * limit. */
#define SIGNER_STATS_OPS 16
struct signer_stats {
    uint64_t done[SIGNER_STATS_OPS];
    uint64_t refused[SIGNER_STATS_OPS];
    uint64_t limited;
    uint64_t restarts;          /* of the process, counted by the handle */
};
int signer_stats(struct signer *signer, struct signer_stats *out)
    __attribute__((warn_unused_result, nonnull(1, 2)));
/* The name of operation i of signer_stats ("" for none). */
const char *signer_stats_name(unsigned i);

/* ── Token-signing keys by kid ─────────────────────────────────────────
 *
 * ID tokens are signed with one of several ES256 (P-256) keys, each named
 * by a kid: 1 to SIGNER_KID_MAX characters of [A-Za-z0-9_-], so a kid is
 * never more than one file-name component. A kid's private key is the file
 * keys/token-<kid>.pem (mode 0600), loaded by the signer on its first use
 * and then kept in a cache of SIGNER_TOKEN_KEYS_CACHED keys (least
 * recently used goes), so a key that `cyberid keys rotate` creates while
 * `cyberid serve` runs is usable without a restart. Which kid signs and
 * which are published is not the signer's business: that is the key
 * states in the database (oidc/token_keys.h).
 *
 * The first token key of a data folder is keys/token-signing.key.pem,
 * made by `cyberid init` (SIGNER_KEY_TOKEN); its kid is derived from its
 * public key (signer_token_initial_kid()), so folders made before kids
 * existed keep working unchanged. */

#define SIGNER_KID_MAX 64
/* Characters of the initial kid: base64url of SHA-256(DER SPKI), cut. */
#define SIGNER_INITIAL_KID_CHARS 16
#define SIGNER_TOKEN_KEYS_CACHED 16

/* 1 if kid is 1..SIGNER_KID_MAX characters of [A-Za-z0-9_-], else 0. */
int signer_kid_is_valid(const char *kid);

/* Generates a P-256 key and writes it to keys_dir/token-<kid>.pem with
 * mode 0600, or, when the keys are in a PKCS#11 token, makes the pair
 * "cyberid-token-<kid>" there. Refuses an invalid kid and an existing file
 * or label (never overwrites). An offline operation of the keys folder. 0
 * or -1 with err. */
int signer_token_key_create(const char *keys_dir, const char *kid, char *err,
                            size_t errlen) __attribute__((warn_unused_result));

/* The kid of keys/token-signing.key.pem: the first SIGNER_INITIAL_KID_CHARS
 * characters of base64url(SHA-256(its DER SubjectPublicKeyInfo)). Always
 * the same for the same key, on every node (asked of the signer once when
 * the handle is made). */
void signer_token_initial_kid(struct signer *signer, char kid[SIGNER_KID_MAX + 1])
    __attribute__((nonnull(1, 2)));

/* The DER SubjectPublicKeyInfo of token key `kid`. 0 or -1. */
int signer_token_public_key(struct signer *signer, const char *kid,
                            uint8_t out[SIGNER_PUBLIC_KEY_MAX_BYTES], size_t *length)
    __attribute__((warn_unused_result, nonnull(1, 2, 3, 4)));

/* ── The transparency log's checkpoints ───────────────────────────────────
 *
 * The log (audit/log.h) is signed by an Ed25519 key of the data folder
 * (keys/log-checkpoint.key.pem, or in the PKCS#11 token), as a C2SP
 * signed note: the checkpoint
 * body (C2SP tlog-checkpoint: origin, size, root), a blank line, one
 * signature line "— <origin> <base64 of the key hash and signature>". The
 * origin is the key's: "cyberid/" and 16 hex digits of the SHA-256 of its
 * public key, so a log keeps one origin for its whole life. */

#define SIGNER_LOG_PUBLIC_KEY_BYTES 32
#define SIGNER_LOG_SIGNATURE_BYTES 64
#define SIGNER_LOG_ORIGIN_MAX 64
/* A C2SP verifier key: "<origin>+<8 hex>+<base64 of 0x01 and the key>". */
#define SIGNER_LOG_VKEY_MAX 160
#define SIGNER_LOG_ROOT_BYTES 32
#define SIGNER_LOG_PROOF_MAX 64
#define SIGNER_NOTE_MAX 1024

/* Makes the checkpoint key of a data folder made before it existed
 * (`cyberid log init`): keys/log-checkpoint.key.pem, mode 0600, or the
 * pair "cyberid-log-checkpoint" in the data folder's PKCS#11 token.
 * Refuses an existing one. 0 or -1 with err. */
int signer_log_key_create(const char *keys_dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The log's origin and verifier key. 0, or -1 when the data folder has no
 * checkpoint key (the log is then not signed). */
int signer_log_key(struct signer *signer, char origin[SIGNER_LOG_ORIGIN_MAX],
                   char vkey[SIGNER_LOG_VKEY_MAX]) __attribute__((warn_unused_result));

/* Signs the checkpoint of the tree of `size` leaves whose root is `root`,
 * given the checkpoint signed before it (old_size, old_root; old_size 0
 * for the first) and the RFC 9162 consistency proof between them
 * (proof_length hashes of SIGNER_LOG_ROOT_BYTES). The signer checks the
 * proof, and that the old checkpoint is the last one it signed since it
 * started, if it signed any: it never signs a tree that does not extend
 * what it signed. *note is the signed note (malloc'd, free()). 0 or -1. */
int signer_sign_checkpoint(struct signer *signer, int64_t size,
                           const uint8_t root[SIGNER_LOG_ROOT_BYTES], int64_t old_size,
                           const uint8_t old_root[SIGNER_LOG_ROOT_BYTES], const uint8_t *proof,
                           size_t proof_length, char **note)
    __attribute__((warn_unused_result, nonnull(1, 3, 5, 8)));

/* The `cyberid signer` command: the signer process's main, run by
 * signer_start() through exec. Not for operators. Returns an exit code. */
int signer_process_main(int argc, char **argv);

#endif
