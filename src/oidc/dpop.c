/* dpop: DPoP proofs, thumbprints and server nonces; see dpop.h.
 *
 * cjose parses and verifies the JWS (the key comes from the proof's own
 * header, imported with cjose_jwk_import after the private members are
 * refused); cjose has no RFC 7638 thumbprint, so it is built here from the
 * required members with jansson's sorted compact form, which is exactly
 * the RFC's canonical JSON for base64url member values. */
#include "oidc/dpop.h"

#include "oidc/oidc.h"
#include "util/encoding.h"
#include "util/strings.h"
#include "vault/vault.h"

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define DPOP_TYP "dpop+jwt"
#define NONCE_DOMAIN "dpop_nonce"
#define NONCE_MAC_BYTES 16
#define NONCE_BYTES (8 + NONCE_MAC_BYTES)
#define RSA_MIN_BITS 2048
#define JTI_PREFIX "dpop:"
#define JTI_KEY_SIZE (sizeof JTI_PREFIX + DPOP_JKT_SIZE + HEX_ENCODED_SIZE(SHA256_DIGEST_LENGTH))

_Static_assert(BASE64URL_ENCODED_SIZE(NONCE_BYTES) <= DPOP_NONCE_SIZE, "nonce size");
_Static_assert(BASE64URL_ENCODED_SIZE(SHA256_DIGEST_LENGTH) <= DPOP_JKT_SIZE, "jkt size");

int
dpop_jwk_thumbprint(const json_t *jwk, char out[DPOP_JKT_SIZE])
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    json_t *members = NULL;
    out[0] = '\0';
    if (kty != NULL && strcmp(kty, "EC") == 0) {
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        const char *x = json_string_value(json_object_get(jwk, "x"));
        const char *y = json_string_value(json_object_get(jwk, "y"));
        if (crv != NULL && x != NULL && y != NULL)
            members = json_pack("{s:s, s:s, s:s, s:s}", "crv", crv, "kty", kty, "x", x,
                                "y", y);
    } else if (kty != NULL && strcmp(kty, "RSA") == 0) {
        const char *e = json_string_value(json_object_get(jwk, "e"));
        const char *n = json_string_value(json_object_get(jwk, "n"));
        if (e != NULL && n != NULL)
            members = json_pack("{s:s, s:s, s:s}", "e", e, "kty", kty, "n", n);
    }
    char *text = members ? json_dumps(members, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(members);
    if (text == NULL)
        return -1;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)text, strlen(text), digest);
    free(text);
    return base64url_encode(digest, sizeof digest, out, DPOP_JKT_SIZE);
}

int
dpop_jkt_is_well_formed(const char *jkt)
{
    size_t length = strlen(jkt);
    if (length != DPOP_JKT_CHARS)
        return 0;
    for (size_t i = 0; i < length; i++) {
        char c = jkt[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* The nonce bytes of a minute: the minute (8 bytes, big-endian) and the
 * first bytes of its HMAC. 0 or -1. */
static int
nonce_bytes(struct signer *signer, uint64_t minute, uint8_t out[NONCE_BYTES])
{
    uint8_t mac[VAULT_INDEX_BYTES];
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(minute >> (56 - 8 * i));
    if (vault_blind_index(signer, NONCE_DOMAIN, out, 8, mac) != 0)
        return -1;
    memcpy(out + 8, mac, NONCE_MAC_BYTES);
    return 0;
}

int
dpop_nonce_new(struct signer *signer, int64_t now, char out[DPOP_NONCE_SIZE])
{
    uint8_t bytes[NONCE_BYTES];
    out[0] = '\0';
    if (now < 0 || nonce_bytes(signer, (uint64_t)now / DPOP_NONCE_PERIOD, bytes) != 0)
        return -1;
    return base64url_encode(bytes, sizeof bytes, out, DPOP_NONCE_SIZE);
}

int
dpop_nonce_is_fresh(struct signer *signer, const char *nonce, int64_t now)
{
    uint8_t given[NONCE_BYTES], expected[NONCE_BYTES];
    size_t length = strlen(nonce), decoded = 0;
    if (now < 0 || length != BASE64URL_ENCODED_SIZE(NONCE_BYTES) - 1 ||
        base64url_decode(nonce, length, given, sizeof given, &decoded) != 0 ||
        decoded != sizeof given)
        return 0;
    uint64_t minute = 0;
    for (int i = 0; i < 8; i++)
        minute = minute << 8 | given[i];
    uint64_t current = (uint64_t)now / DPOP_NONCE_PERIOD;
    if (minute > current || current - minute > DPOP_NONCE_LIFETIME / DPOP_NONCE_PERIOD)
        return 0;
    if (nonce_bytes(signer, minute, expected) != 0)
        return -1;
    return CRYPTO_memcmp(given, expected, sizeof given) == 0;
}

/* 1 if the header's jwk is a public key that fits alg: EC P-256 for
 * ES256, RSA for PS256, no private member. */
static int
header_key_fits(const json_t *jwk, const char *alg)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth",
                                                  "k"};
    if (!json_is_object(jwk))
        return 0;
    for (size_t i = 0; i < sizeof private_members / sizeof *private_members; i++)
        if (json_object_get(jwk, private_members[i]) != NULL)
            return 0;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (kty == NULL)
        return 0;
    if (strcmp(alg, "ES256") == 0)
        return strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0;
    return strcmp(kty, "RSA") == 0;
}

/* 1 if htu names url: the same, ignoring a query and fragment of htu
 * (RFC 9449 §4.3 step 9). */
static int
htu_matches(const char *htu, const char *url)
{
    size_t length = strcspn(htu, "?#");
    return length == strlen(url) && strncmp(htu, url, length) == 0;
}

/* Checks the claims of a proof whose signature verified. NULL when good
 * (then *jti is set, borrowed), else why not; *nonce_problem is 1 when
 * only the nonce is wrong. */
static const char *
claims_problem(struct signer *signer, const json_t *claims, const struct dpop_expect *expect,
               int64_t now, const char **jti, int64_t *issued, int *nonce_problem,
               int *failed)
{
    const char *id = json_string_value(json_object_get(claims, "jti"));
    const char *htm = json_string_value(json_object_get(claims, "htm"));
    const char *htu = json_string_value(json_object_get(claims, "htu"));
    const json_t *iat = json_object_get(claims, "iat");
    const char *nonce = json_string_value(json_object_get(claims, "nonce"));
    *nonce_problem = 0;
    if (id == NULL || id[0] == '\0' || strlen(id) > DPOP_JTI_MAX_BYTES)
        return "the DPoP proof needs a jti of at most 256 bytes";
    if (htm == NULL || strcmp(htm, expect->method) != 0)
        return "the DPoP proof's htm is not this request's method";
    if (htu == NULL || !htu_matches(htu, expect->url))
        return "the DPoP proof's htu is not this endpoint";
    if (!json_is_integer(iat))
        return "the DPoP proof needs an integer iat";
    *issued = json_integer_value(iat);
    if (*issued > now + OIDC_CLOCK_SKEW || *issued < now - DPOP_PROOF_MAX_AGE)
        return "the DPoP proof's iat is too old or in the future";
    if (expect->access_token != NULL) {
        uint8_t digest[SHA256_DIGEST_LENGTH];
        char ath[BASE64URL_ENCODED_SIZE(SHA256_DIGEST_LENGTH)];
        const char *given = json_string_value(json_object_get(claims, "ath"));
        SHA256((const unsigned char *)expect->access_token, strlen(expect->access_token),
               digest);
        if (base64url_encode(digest, sizeof digest, ath, sizeof ath) != 0) {
            *failed = 1;
            return "internal";
        }
        if (given == NULL || strcmp(given, ath) != 0)
            return "the DPoP proof's ath is not the access token's hash";
    }
    if (nonce != NULL || expect->require_nonce) {
        int fresh = nonce != NULL ? dpop_nonce_is_fresh(signer, nonce, now) : 0;
        if (fresh < 0) {
            *failed = 1;
            return "internal";
        }
        if (!fresh) {
            *nonce_problem = 1;
            return nonce == NULL ? "a DPoP nonce is required" : "the DPoP nonce is stale";
        }
    }
    *jti = id;
    return NULL;
}

int
dpop_proof_check(struct signer *signer, struct store_conn *conn, const char *proof,
                 const struct dpop_expect *expect, int64_t now, char jkt[DPOP_JKT_SIZE],
                 const char **problem)
{
    int result = DPOP_INVALID;
    json_t *claims = NULL;
    cjose_jwk_t *key = NULL;
    cjose_jws_t *jws = NULL;
    uint8_t *payload = NULL; /* owned by the jws */
    size_t payload_length = 0, length = strlen(proof);
    cjose_err error;
    jkt[0] = '\0';
    *problem = "the DPoP proof is not a compact JWS";
    if (length == 0 || length > DPOP_PROOF_MAX_BYTES) {
        *problem = "the DPoP proof is empty or too long";
        goto done;
    }
    jws = cjose_jws_import(proof, length, &error);
    if (jws == NULL || !cjose_jws_get_plaintext(jws, &payload, &payload_length, &error))
        goto done;
    /* cjose's header type is jansson's json_t (cjose/header.h). */
    json_t *header = (json_t *)cjose_jws_get_protected(jws);
    const char *typ = json_string_value(json_object_get(header, "typ"));
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const json_t *jwk = json_object_get(header, "jwk");
    if (typ == NULL || strcmp(typ, DPOP_TYP) != 0) {
        *problem = "the DPoP proof's typ must be dpop+jwt";
        goto done;
    }
    if (alg == NULL || (strcmp(alg, "ES256") != 0 && strcmp(alg, "PS256") != 0)) {
        *problem = "the DPoP proof must be signed with ES256 or PS256";
        goto done;
    }
    /* RFC 7515 §4.1.11: no extension here is understood. */
    if (json_object_get(header, "crit") != NULL) {
        *problem = "the DPoP proof's header names a critical extension";
        goto done;
    }
    if (!header_key_fits(jwk, alg)) {
        *problem = "the DPoP proof's jwk must be a public key for its alg";
        goto done;
    }
    char *key_text = json_dumps(jwk, JSON_COMPACT);
    if (key_text == NULL) {
        result = -1;
        goto done;
    }
    key = cjose_jwk_import(key_text, strlen(key_text), &error);
    free(key_text);
    if (key == NULL || (strcmp(alg, "PS256") == 0 &&
                        cjose_jwk_get_keysize(key, &error) < RSA_MIN_BITS)) {
        *problem = "the DPoP proof's jwk is not a usable key";
        goto done;
    }
    if (!cjose_jws_verify(jws, key, &error)) {
        *problem = "the DPoP proof's signature does not verify with its jwk";
        goto done;
    }
    if (dpop_jwk_thumbprint(jwk, jkt) != 0) {
        *problem = "the DPoP proof's jwk lacks its members";
        goto done;
    }
    claims = json_loadb((const char *)payload, payload_length, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(claims)) {
        *problem = "the DPoP proof's payload is not a JSON object";
        goto done;
    }
    const char *jti = NULL;
    int64_t issued = 0;
    int nonce_problem = 0, failed = 0;
    const char *why = claims_problem(signer, claims, expect, now, &jti, &issued,
                                     &nonce_problem, &failed);
    if (failed) {
        result = -1;
        goto done;
    }
    if (why != NULL) {
        *problem = why;
        result = nonce_problem ? DPOP_NONCE : DPOP_INVALID;
        goto done;
    }
    /* A proof is used once (RFC 9449 §11.1): its jti, per key, is kept
     * for as long as its iat would be accepted. */
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char hex[HEX_ENCODED_SIZE(SHA256_DIGEST_LENGTH)], used[JTI_KEY_SIZE];
    int fresh = 0;
    SHA256((const unsigned char *)jti, strlen(jti), digest);
    if (hex_encode(digest, sizeof digest, hex, sizeof hex) != 0 ||
        string_format(used, sizeof used, JTI_PREFIX "%s:%s", jkt, hex) != 0 ||
        store_token_use(conn, used, issued + DPOP_PROOF_MAX_AGE + OIDC_CLOCK_SKEW,
                        &fresh) != 0) {
        result = -1;
        goto done;
    }
    if (!fresh) {
        *problem = "the DPoP proof was already used (jti)";
        goto done;
    }
    result = DPOP_OK;
done:
    if (result != DPOP_OK)
        jkt[0] = '\0';
    json_decref(claims);
    cjose_jwk_release(key);
    cjose_jws_release(jws);
    return result;
}
