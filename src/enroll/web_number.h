/* web_number: the citizen's web number (DESIGN.md, Formats): 16 characters
 * of Crockford base32, alphabet 0123456789ABCDEFGHJKMNPQRSTVWXYZ (no I, L,
 * O, U), the first 15 random, the 16th a check character. It is never
 * derived from identity data: each of the 15 symbols is 5 bits of one byte
 * from OpenSSL's CSPRNG (RAND_bytes); 32 divides 256, so taking the low 5
 * bits of a uniform byte is itself uniform (no modulo bias).
 *
 * The check character: the Damm algorithm over the quasigroup of order 32
 *
 *     x ∘ y = (α·x) ⊕ y      in GF(2^5) = GF(2)[t] / (t^5 + t^2 + 1),
 *                            α = t (the symbol value 2), ⊕ = XOR,
 *
 * where a symbol's value is its index in the alphabet, read as a polynomial
 * over GF(2) by its bits. t^5 + t^2 + 1 is irreducible (a quintic with no
 * root in GF(2) and no quadratic factor: the only irreducible quadratic
 * t^2+t+1 does not divide it), so GF(2^5) is a field.
 *
 * Why this is a quasigroup: for fixed x, y ↦ αx ⊕ y is a bijection (XOR by
 * a constant); for fixed y, x ↦ αx ⊕ y is a bijection because α ≠ 0 has an
 * inverse in the field. So every row and column of the table is a
 * permutation: a single substituted symbol always changes the result.
 *
 * Why it is (weakly) totally anti-symmetric: for all c, x, y,
 *     (c∘x)∘y = α²c ⊕ αx ⊕ y   and   (c∘y)∘x = α²c ⊕ αy ⊕ x,
 * which are equal iff αx ⊕ y = αy ⊕ x, i.e. (α ⊕ 1)·(x ⊕ y) = 0. Since
 * α ≠ 1, α ⊕ 1 ≠ 0, and a field has no zero divisors, so x ⊕ y = 0, x = y.
 * Hence swapping two different adjacent symbols always changes the interim
 * value at that point, and every later step is a permutation of the
 * interim (columns of the table), so the final value changes too.
 *
 * Computing and checking: interim = 0; for each symbol s, interim =
 * interim ∘ s. The check symbol is chosen so that interim ∘ check = 0, i.e.
 * check = α·interim after the 15 random symbols; a number is valid when
 * running the same loop over all 16 symbols ends at 0. Detected: every
 * single-symbol substitution and every transposition of two different
 * adjacent symbols, the check symbol included (tests/enroll/
 * test_web_number.c checks both exhaustively on sample numbers).
 *
 * Threads: every function is safe to call from any thread. */
#ifndef CYBERID_WEB_NUMBER_H
#define CYBERID_WEB_NUMBER_H

#include <stddef.h>

#define WEB_NUMBER_LENGTH 16             /* characters, check included */
#define WEB_NUMBER_SIZE 17               /* WEB_NUMBER_LENGTH + NUL */
#define WEB_NUMBER_RANDOM_SYMBOLS 15     /* WEB_NUMBER_LENGTH - check */
#define WEB_NUMBER_ALPHABET_SIZE 32
/* Longest input web_number_normalize() reads (hyphens and all); longer
 * text is refused without being read further. */
#define WEB_NUMBER_INPUT_MAX_BYTES 64

/* The 32 symbols in value order (index = value), no I L O U. */
extern const char web_number_alphabet[WEB_NUMBER_ALPHABET_SIZE + 1];

/* Writes a new random web number (16 characters and a NUL) into out.
 * Returns 0, or -1 when the CSPRNG fails (out is then zeroed). Uniqueness
 * across people is the store's job (15 symbols: 75 random bits). */
int web_number_generate(char out[WEB_NUMBER_SIZE])
    __attribute__((warn_unused_result, nonnull));

/* Returns 0 when text is exactly WEB_NUMBER_LENGTH characters of the
 * alphabet (upper case only, no aliases, no hyphens) with a correct check
 * character, -1 otherwise (NULL included). Reads at most WEB_NUMBER_SIZE
 * bytes of text. */
int web_number_validate(const char *text) __attribute__((warn_unused_result));

/* Turns what a person typed into the canonical form: upper-cases, maps the
 * Crockford aliases o/O to 0 and i/I/l/L to 1, drops hyphens, then
 * validates. Returns 0 with the canonical number in out, or -1 (out zeroed)
 * for input longer than WEB_NUMBER_INPUT_MAX_BYTES, a character outside
 * the alphabet and its aliases (u/U included), the wrong length or the
 * wrong check character. */
int web_number_normalize(const char *in, char out[WEB_NUMBER_SIZE])
    __attribute__((warn_unused_result));

#endif
