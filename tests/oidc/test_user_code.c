/* Tests of login user codes: the alphabet, a sanity check of the
 * distribution of fresh codes, normalisation (dash, case, length, vowels
 * and other characters refused) and the XXXX-XXXX display. */
#include "oidc/user_code.h"

#include "../test_support.h"

#include <ctype.h>

#define ALPHABET_CHARS (sizeof USER_CODE_ALPHABET - 1)
#define DRAWS 40000

static void
test_alphabet(void **state)
{
    (void)state;
    assert_int_equal(ALPHABET_CHARS, 20);
    for (size_t i = 0; i < ALPHABET_CHARS; i++) {
        char c = USER_CODE_ALPHABET[i];
        assert_true(c >= 'A' && c <= 'Z');
        /* No vowels (so no words), and not Y either. */
        assert_null(strchr("AEIOUY", c));
        /* Each character once. */
        assert_ptr_equal(strchr(USER_CODE_ALPHABET, c), USER_CODE_ALPHABET + i);
    }
    assert_int_equal(USER_CODE_SIZE, USER_CODE_CHARS + 1);
    assert_int_equal(USER_CODE_DISPLAY_SIZE, USER_CODE_CHARS + 2);
}

static void
test_new_codes(void **state)
{
    (void)state;
    size_t counts[256] = {0};
    size_t position_counts[USER_CODE_CHARS][ALPHABET_CHARS];
    memset(position_counts, 0, sizeof position_counts);
    char first[USER_CODE_SIZE] = "";
    int differs = 0;
    for (size_t draw = 0; draw < DRAWS; draw++) {
        char code[USER_CODE_SIZE + 1];
        memset(code, '#', sizeof code);
        assert_int_equal(user_code_new(code), 0);
        assert_int_equal(code[USER_CODE_CHARS], '\0');
        assert_int_equal(code[USER_CODE_SIZE], '#'); /* nothing past the NUL */
        assert_int_equal(strlen(code), USER_CODE_CHARS);
        for (size_t i = 0; i < USER_CODE_CHARS; i++) {
            const char *at = strchr(USER_CODE_ALPHABET, code[i]);
            if (at == NULL || code[i] == '\0')
                fail_msg("character 0x%02x outside the alphabet in %s",
                         (unsigned char)code[i], code);
            counts[(unsigned char)code[i]]++;
            position_counts[i][at - USER_CODE_ALPHABET]++;
        }
        /* A fresh code normalises to itself. */
        char normal[USER_CODE_SIZE];
        assert_int_equal(user_code_normalize(code, normal), 0);
        assert_string_equal(normal, code);
        if (draw == 0)
            memcpy(first, code, sizeof first);
        else if (strcmp(first, code) != 0)
            differs = 1;
    }
    assert_true(differs);
    /* Only alphabet characters, and every one of them. */
    const size_t total = (size_t)DRAWS * USER_CODE_CHARS;
    for (size_t c = 0; c < 256; c++) {
        int in_alphabet = c != 0 && strchr(USER_CODE_ALPHABET, (int)c) != NULL;
        if (in_alphabet)
            assert_true(counts[c] > 0);
        else
            assert_int_equal(counts[c], 0);
    }
    /* Chi-square over the 20 symbols (19 degrees of freedom): a uniform
     * draw exceeds 90 with probability about 3e-11. Taking byte % 20
     * without rejecting bytes >= 240 gives 16 symbols 13/256 and 4 symbols
     * 12/256, which over 320000 characters makes about 330. */
    const double expected = (double)total / (double)ALPHABET_CHARS;
    double chi_square = 0;
    for (size_t s = 0; s < ALPHABET_CHARS; s++) {
        double d = (double)counts[(unsigned char)USER_CODE_ALPHABET[s]] - expected;
        chi_square += d * d / expected;
    }
    if (chi_square > 90)
        fail_msg("chi-square %.1f over %zu characters: not uniform", chi_square, total);
    /* Every position draws every symbol about evenly (2000 expected, standard
     * deviation about 44). */
    for (size_t i = 0; i < USER_CODE_CHARS; i++)
        for (size_t s = 0; s < ALPHABET_CHARS; s++)
            if (position_counts[i][s] < 1650 || position_counts[i][s] > 2350)
                fail_msg("'%c' at position %zu: %zu times", USER_CODE_ALPHABET[s], i,
                         position_counts[i][s]);
}

static void
test_normalize_accepts(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } good[] = {
        {"BCDFGHJK", "BCDFGHJK"},
        {"BCDF-GHJK", "BCDFGHJK"},
        {"bcdfghjk", "BCDFGHJK"},
        {"bcdf-ghjk", "BCDFGHJK"},
        {"bCdF-gHjK", "BCDFGHJK"},
        {"LMNP-QRST", "LMNPQRST"},
        {"vwxz-vwxz", "VWXZVWXZ"},
        {"ZZZZZZZZ", "ZZZZZZZZ"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char out[USER_CODE_SIZE];
        if (user_code_normalize(good[i].in, out) != 0)
            fail_msg("%s refused", good[i].in);
        assert_string_equal(out, good[i].out);
    }
    /* Every alphabet character in either case. */
    for (size_t i = 0; i < ALPHABET_CHARS; i++) {
        char in[USER_CODE_SIZE], out[USER_CODE_SIZE];
        memset(in, tolower((unsigned char)USER_CODE_ALPHABET[i]), USER_CODE_CHARS);
        in[USER_CODE_CHARS] = '\0';
        assert_int_equal(user_code_normalize(in, out), 0);
        for (size_t j = 0; j < USER_CODE_CHARS; j++)
            assert_int_equal(out[j], USER_CODE_ALPHABET[i]);
    }
}

static void
test_normalize_refuses(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "B", "BCDFGHJ", "BCDF-GHJ", "BCDFGHJKL", "BCDF-GHJKL", "BCDFGHJKB",
        "-BCDFGHJK", "BCDFGHJK-", "BCD-FGHJK", "BCDFG-HJK", "BCDF--GHJK", "BCDF-GHJ-K",
        "BC-DF-GHJK", "-", "----", "BCDF GHJK", " BCDFGHJK", "BCDFGHJK ", "BCDF_GHJK",
        "ACDFGHJK", "BCDFGHJE", "BCDFIHJK", "BCDFOHJK", "BCDFGUJK", "BCDFGHJY",
        "bcdfghja", "bcdfghje", "bcdfghji", "bcdfghjo", "bcdfghju",
        "BCDFGHJ0", "BCDFGHJ1", "2CDFGHJK", "BCDFGHJ\xc3", "BCDFGHJ\xff", "BCDFGHJ\t",
        "BCDFGHJK\n", "BCDF\xe2\x80\x90GHJK", /* U+2010 hyphen */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[USER_CODE_SIZE];
        memcpy(out, "ZZZZZZZZ", USER_CODE_SIZE);
        if (user_code_normalize(bad[i], out) != -1)
            fail_msg("\"%s\" accepted as %s", bad[i], out);
        assert_int_equal(out[0], '\0'); /* nothing usable left */
    }
    char out[USER_CODE_SIZE];
    memcpy(out, "ZZZZZZZZ", USER_CODE_SIZE);
    assert_int_equal(user_code_normalize(NULL, out), -1);
    assert_int_equal(out[0], '\0');
    /* A long input is refused without overflowing out. */
    char long_input[256];
    memset(long_input, 'B', sizeof long_input - 1);
    long_input[sizeof long_input - 1] = '\0';
    assert_int_equal(user_code_normalize(long_input, out), -1);
}

static void
test_display(void **state)
{
    (void)state;
    char out[USER_CODE_DISPLAY_SIZE + 1];
    memset(out, '#', sizeof out);
    user_code_display("BCDFGHJK", out);
    assert_string_equal(out, "BCDF-GHJK");
    assert_int_equal(strlen(out), USER_CODE_DISPLAY_SIZE - 1);
    assert_int_equal(out[USER_CODE_DISPLAY_SIZE], '#'); /* within its size */
    /* Display and normalise are inverses on fresh codes. */
    for (int i = 0; i < 50; i++) {
        char code[USER_CODE_SIZE], shown[USER_CODE_DISPLAY_SIZE], back[USER_CODE_SIZE];
        assert_int_equal(user_code_new(code), 0);
        user_code_display(code, shown);
        assert_int_equal(shown[4], '-');
        assert_memory_equal(shown, code, 4);
        assert_memory_equal(shown + 5, code + 4, 4);
        assert_int_equal(user_code_normalize(shown, back), 0);
        assert_string_equal(back, code);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alphabet),
        cmocka_unit_test(test_new_codes),
        cmocka_unit_test(test_normalize_accepts),
        cmocka_unit_test(test_normalize_refuses),
        cmocka_unit_test(test_display),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
