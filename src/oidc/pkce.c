/* pkce: S256 code challenges; see pkce.h. */
#include "oidc/pkce.h"

#include "util/encoding.h"
#include "util/strings.h"

#include <openssl/sha.h>
#include <string.h>

int
pkce_is_well_formed(const char *text)
{
    if (text == NULL)
        return 0;
    size_t length = strlen(text);
    if (length < PKCE_MIN_CHARS || length > PKCE_MAX_CHARS)
        return 0;
    return strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-._~") == length;
}

int
pkce_s256_matches(const char *verifier, const char *challenge)
{
    if (!pkce_is_well_formed(verifier) || challenge == NULL ||
        strlen(challenge) != PKCE_S256_CHALLENGE_CHARS)
        return 0;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char computed[BASE64URL_ENCODED_SIZE(SHA256_DIGEST_LENGTH)];
    SHA256((const unsigned char *)verifier, strlen(verifier), digest);
    if (base64url_encode(digest, sizeof digest, computed, sizeof computed) != 0 ||
        strlen(computed) != PKCE_S256_CHALLENGE_CHARS)
        return 0;
    return secret_equal(computed, challenge, PKCE_S256_CHALLENGE_CHARS);
}
