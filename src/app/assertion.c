/* assertion: the app's assertion for direct verification; see assertion.h. */
#include "app/assertion.h"

#include "app/device_token.h"
#include "util/encoding.h"
#include "util/strings.h"

#include <openssl/rand.h>
#include <string.h>

int
assertion_text_is_valid(const char *text)
{
    size_t length = strnlen(text, ASSERTION_TEXT_MAX + 1);

    return length > 0 && length <= ASSERTION_TEXT_MAX &&
           utf8_is_clean_text(text, length);
}

int
assertion_create(EVP_PKEY *key, const char *certificate_pem,
                 const char *audience, const char *nonce, json_t *release,
                 time_t now, char **token, char *err, size_t errlen)
{
    uint8_t nonce_bytes[ASSERTION_NONCE_BYTES];
    char random_nonce[BASE64URL_ENCODED_SIZE(ASSERTION_NONCE_BYTES)];
    char jti[DEVICE_TOKEN_JTI_SIZE];
    json_t *claims = NULL, *released = NULL;
    size_t i;
    json_t *claim;
    int status = -1;

    *token = NULL;
    if (!assertion_text_is_valid(audience))
        return error_set(err, errlen, "the audience must be 1 to %d characters "
                         "with no control character", ASSERTION_TEXT_MAX);
    if (nonce != NULL && !assertion_text_is_valid(nonce))
        return error_set(err, errlen, "the nonce must be 1 to %d characters "
                         "with no control character", ASSERTION_TEXT_MAX);
    if (release != NULL) {
        if (!json_is_array(release))
            return error_set(err, errlen, "the released claims are not a list");
        json_array_foreach(release, i, claim)
            if (!json_is_string(claim))
                return error_set(err, errlen, "a released claim is not a name");
    }
    if (nonce == NULL) {
        if (RAND_bytes(nonce_bytes, sizeof(nonce_bytes)) != 1 ||
            base64url_encode(nonce_bytes, sizeof(nonce_bytes), random_nonce,
                             sizeof(random_nonce)) != 0)
            return error_set(err, errlen, "no randomness for the nonce");
        nonce = random_nonce;
    }
    if (device_token_jti(jti, sizeof(jti)) != 0)
        return error_set(err, errlen, "no randomness for the assertion id");
    released = release != NULL ? json_deep_copy(release) : json_array();
    claims = released ? json_pack("{s:s, s:s, s:I, s:I, s:s, s:O}", "aud", audience,
                                  "nonce", nonce, "iat", (json_int_t)now, "exp",
                                  (json_int_t)now + ASSERTION_LIFETIME, "jti", jti,
                                  "release", released)
                      : NULL;
    if (claims == NULL) {
        error_set(err, errlen, "cannot build the assertion claims");
        goto cleanup;
    }
    status = device_jws_sign(key, certificate_pem, ASSERTION_TYPE, claims, token,
                             err, errlen);
cleanup:
    json_decref(claims);
    json_decref(released);
    return status;
}
