/* web_number: generation, validation and normalisation of web numbers; the
 * check character and why it works are in web_number.h. */
#include "enroll/web_number.h"

#include "util/strings.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

/* t^5 + t^2 + 1: bit 5 and bits 2 and 0. */
#define GF32_POLYNOMIAL 0x25u
#define GF32_HIGH_BIT 0x20u
#define GF32_MASK 0x1fu
/* Symbol values are < 32: the low 5 bits of a byte. */
#define SYMBOL_BITS_MASK 0x1fu
#define NO_SYMBOL (-1)

const char web_number_alphabet[WEB_NUMBER_ALPHABET_SIZE + 1] =
    "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

_Static_assert(WEB_NUMBER_SIZE == WEB_NUMBER_LENGTH + 1, "sizes");
_Static_assert(WEB_NUMBER_RANDOM_SYMBOLS == WEB_NUMBER_LENGTH - 1, "sizes");
_Static_assert(256 % WEB_NUMBER_ALPHABET_SIZE == 0,
               "the low bits of a uniform byte must be uniform");

/* α·x in GF(2^5) with α = t: shift, and reduce by the polynomial. */
static unsigned
gf32_times_alpha(unsigned x)
{
    x <<= 1;
    if (x & GF32_HIGH_BIT)
        x ^= GF32_POLYNOMIAL;
    return x & GF32_MASK;
}

/* The quasigroup operation x ∘ y = α·x ⊕ y. */
static unsigned
damm_step(unsigned interim, unsigned symbol)
{
    return gf32_times_alpha(interim) ^ symbol;
}

/* Value of an upper-case alphabet character, or NO_SYMBOL. */
static int
symbol_value(char c)
{
    if (c == '\0')
        return NO_SYMBOL;
    const char *at = memchr(web_number_alphabet, c, WEB_NUMBER_ALPHABET_SIZE);
    return at == NULL ? NO_SYMBOL : (int)(at - web_number_alphabet);
}

int
web_number_generate(char out[WEB_NUMBER_SIZE])
{
    uint8_t random[WEB_NUMBER_RANDOM_SYMBOLS];
    if (RAND_bytes(random, sizeof random) != 1) {
        memset(out, 0, WEB_NUMBER_SIZE);
        return -1;
    }
    unsigned interim = 0;
    for (size_t i = 0; i < WEB_NUMBER_RANDOM_SYMBOLS; i++) {
        unsigned value = random[i] & SYMBOL_BITS_MASK;
        out[i] = web_number_alphabet[value];
        interim = damm_step(interim, value);
    }
    /* interim ∘ check = α·interim ⊕ check = 0. */
    out[WEB_NUMBER_RANDOM_SYMBOLS] = web_number_alphabet[gf32_times_alpha(interim)];
    out[WEB_NUMBER_LENGTH] = '\0';
    secret_wipe(random, sizeof random);
    return 0;
}

int
web_number_validate(const char *text)
{
    if (text == NULL || strnlen(text, WEB_NUMBER_SIZE) != WEB_NUMBER_LENGTH)
        return -1;
    unsigned interim = 0;
    for (size_t i = 0; i < WEB_NUMBER_LENGTH; i++) {
        int value = symbol_value(text[i]);
        if (value == NO_SYMBOL)
            return -1;
        interim = damm_step(interim, (unsigned)value);
    }
    return interim == 0 ? 0 : -1;
}

/* The canonical character for c (aliases mapped, case folded), '-' for a
 * hyphen, or '\0' for a character that cannot be part of a web number. */
static char
canonical_character(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    switch (c) {
    case 'O':
        return '0';
    case 'I':
    case 'L':
        return '1';
    case '-':
        return '-';
    default:
        return symbol_value(c) == NO_SYMBOL ? '\0' : c;
    }
}

int
web_number_normalize(const char *in, char out[WEB_NUMBER_SIZE])
{
    memset(out, 0, WEB_NUMBER_SIZE);
    if (in == NULL)
        return -1;
    size_t in_length = strnlen(in, WEB_NUMBER_INPUT_MAX_BYTES + 1);
    if (in_length > WEB_NUMBER_INPUT_MAX_BYTES)
        return -1;
    size_t length = 0;
    for (size_t i = 0; i < in_length; i++) {
        char c = canonical_character(in[i]);
        if (c == '-')
            continue;
        if (c == '\0' || length == WEB_NUMBER_LENGTH) {
            memset(out, 0, WEB_NUMBER_SIZE);
            return -1;
        }
        out[length++] = c;
    }
    if (web_number_validate(out) != 0) {
        memset(out, 0, WEB_NUMBER_SIZE);
        return -1;
    }
    return 0;
}
