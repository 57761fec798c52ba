/* Tests of web numbers: random and well-formed, the check character
 * catches every single substitution and every adjacent transposition,
 * Crockford aliases normalise, bad input is refused. */
#include "enroll/web_number.h"

#include "../test_support.h"

#define SAMPLE_COUNT 10000
#define EXHAUSTIVE_NUMBERS 8
#define TRANSPOSITION_NUMBERS 2000

static int
compare_numbers(const void *a, const void *b)
{
    return memcmp(a, b, WEB_NUMBER_SIZE);
}

/* The one character that completes a 15-symbol prefix into a valid number;
 * fails the test unless exactly one of the 32 does. */
static void
complete_with_check(char number[WEB_NUMBER_SIZE])
{
    int valid = 0;
    char found = 0;
    number[WEB_NUMBER_LENGTH] = '\0';
    for (size_t v = 0; v < WEB_NUMBER_ALPHABET_SIZE; v++) {
        number[WEB_NUMBER_RANDOM_SYMBOLS] = web_number_alphabet[v];
        if (web_number_validate(number) == 0) {
            valid++;
            found = web_number_alphabet[v];
        }
    }
    assert_int_equal(valid, 1);
    number[WEB_NUMBER_RANDOM_SYMBOLS] = found;
}

static void
test_known_answers(void **state)
{
    (void)state;
    /* 0 ∘ ... ∘ 0 = 0, check 0. */
    assert_int_equal(web_number_validate("0000000000000000"), 0);
    /* interim 1 after the prefix: check α·1 = 2. */
    assert_int_equal(web_number_validate("0000000000000012"), 0);
    /* 1 then 14 zeros: interim α^14 = 29, check α^15 = 31 = 'Z' in
     * GF(2)[t]/(t^5+t^2+1). */
    assert_int_equal(web_number_validate("100000000000000Z"), 0);
    assert_int_equal(web_number_validate("100000000000000Y"), -1);
    assert_string_equal(web_number_alphabet, "0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    assert_int_equal(strlen(web_number_alphabet), WEB_NUMBER_ALPHABET_SIZE);
}

static void
test_generated_numbers_are_valid_distinct_and_uniform(void **state)
{
    (void)state;
    char (*numbers)[WEB_NUMBER_SIZE] = calloc(SAMPLE_COUNT, WEB_NUMBER_SIZE);
    assert_non_null(numbers);
    int seen[WEB_NUMBER_RANDOM_SYMBOLS][WEB_NUMBER_ALPHABET_SIZE] = {{0}};
    for (size_t n = 0; n < SAMPLE_COUNT; n++) {
        assert_int_equal(web_number_generate(numbers[n]), 0);
        assert_int_equal(strlen(numbers[n]), WEB_NUMBER_LENGTH);
        assert_int_equal(web_number_validate(numbers[n]), 0);
        for (size_t i = 0; i < WEB_NUMBER_RANDOM_SYMBOLS; i++) {
            const char *at = strchr(web_number_alphabet, numbers[n][i]);
            assert_non_null(at);
            seen[i][at - web_number_alphabet]++;
        }
    }
    /* Each (position, symbol) is expected 312 times; missing one has
     * probability (31/32)^10000 < 1e-130, so a gap means bias. */
    for (size_t i = 0; i < WEB_NUMBER_RANDOM_SYMBOLS; i++)
        for (size_t v = 0; v < WEB_NUMBER_ALPHABET_SIZE; v++)
            if (seen[i][v] == 0)
                fail_msg("symbol %c never appeared at position %zu",
                         web_number_alphabet[v], i);
    qsort(numbers, SAMPLE_COUNT, WEB_NUMBER_SIZE, compare_numbers);
    for (size_t n = 1; n < SAMPLE_COUNT; n++)
        assert_int_not_equal(memcmp(numbers[n - 1], numbers[n], WEB_NUMBER_SIZE), 0);
    free(numbers);
}

static void
test_every_substitution_is_detected(void **state)
{
    (void)state;
    size_t tried = 0;
    for (size_t n = 0; n < EXHAUSTIVE_NUMBERS; n++) {
        char number[WEB_NUMBER_SIZE];
        assert_int_equal(web_number_generate(number), 0);
        if (n == 0)
            memcpy(number, "0000000000000000", WEB_NUMBER_SIZE);
        for (size_t i = 0; i < WEB_NUMBER_LENGTH; i++) {
            char original = number[i];
            for (size_t v = 0; v < WEB_NUMBER_ALPHABET_SIZE; v++) {
                if (web_number_alphabet[v] == original)
                    continue;
                number[i] = web_number_alphabet[v];
                if (web_number_validate(number) == 0)
                    fail_msg("%s: substitution at %zu not detected", number, i);
                tried++;
            }
            number[i] = original;
            assert_int_equal(web_number_validate(number), 0);
        }
    }
    assert_int_equal(tried, EXHAUSTIVE_NUMBERS * WEB_NUMBER_LENGTH *
                                (WEB_NUMBER_ALPHABET_SIZE - 1));
}

/* Swaps number[i] and number[i+1] when they differ and requires the result
 * to be invalid. Returns 1 when a swap was tried. */
static int
expect_transposition_detected(char number[WEB_NUMBER_SIZE], size_t i)
{
    if (number[i] == number[i + 1])
        return 0;
    char swapped[WEB_NUMBER_SIZE];
    memcpy(swapped, number, WEB_NUMBER_SIZE);
    swapped[i] = number[i + 1];
    swapped[i + 1] = number[i];
    if (web_number_validate(swapped) == 0)
        fail_msg("%s -> %s: transposition at %zu not detected", number, swapped, i);
    return 1;
}

static void
test_every_adjacent_transposition_is_detected(void **state)
{
    (void)state;
    /* Every pair of different symbols at every adjacent position (the check
     * character included), in otherwise random numbers. */
    size_t tried = 0;
    for (size_t i = 0; i + 1 < WEB_NUMBER_LENGTH; i++) {
        for (size_t x = 0; x < WEB_NUMBER_ALPHABET_SIZE; x++) {
            for (size_t y = 0; y < WEB_NUMBER_ALPHABET_SIZE; y++) {
                if (x == y)
                    continue;
                char number[WEB_NUMBER_SIZE];
                assert_int_equal(web_number_generate(number), 0);
                if (i + 1 < WEB_NUMBER_RANDOM_SYMBOLS) {
                    number[i] = web_number_alphabet[x];
                    number[i + 1] = web_number_alphabet[y];
                    complete_with_check(number);
                } else {
                    /* The last pair ends with the check: the check is a
                     * bijection of the symbol before the pair, so exactly
                     * one choice of it makes the check y. */
                    number[i] = web_number_alphabet[x];
                    for (size_t s = 0; s < WEB_NUMBER_ALPHABET_SIZE; s++) {
                        number[i - 1] = web_number_alphabet[s];
                        complete_with_check(number);
                        if (number[i + 1] == web_number_alphabet[y])
                            break;
                    }
                    assert_int_equal(number[i + 1], web_number_alphabet[y]);
                }
                assert_int_equal(web_number_validate(number), 0);
                tried += (size_t)expect_transposition_detected(number, i);
            }
        }
    }
    assert_int_equal(tried, (WEB_NUMBER_LENGTH - 1) * WEB_NUMBER_ALPHABET_SIZE *
                                (WEB_NUMBER_ALPHABET_SIZE - 1));
    /* And in many random numbers, at every position. */
    for (size_t n = 0; n < TRANSPOSITION_NUMBERS; n++) {
        char number[WEB_NUMBER_SIZE];
        assert_int_equal(web_number_generate(number), 0);
        for (size_t i = 0; i + 1 < WEB_NUMBER_LENGTH; i++)
            (void)expect_transposition_detected(number, i);
    }
}

static void
test_normalize_maps_aliases(void **state)
{
    (void)state;
    char out[WEB_NUMBER_SIZE];
    /* 1 then 14 zeros, check Z (see test_known_answers). */
    assert_int_equal(web_number_normalize("100000000000000Z", out), 0);
    assert_string_equal(out, "100000000000000Z");
    assert_int_equal(web_number_normalize("i0oO-0000-0000-000z", out), 0);
    assert_string_equal(out, "100000000000000Z");
    assert_int_equal(web_number_normalize("L000-0000-0000-000Z", out), 0);
    assert_string_equal(out, "100000000000000Z");
    assert_int_equal(web_number_normalize("l00000000000000z", out), 0);
    assert_string_equal(out, "100000000000000Z");
    assert_int_equal(web_number_normalize("--I000000000000000--Z", out), -1);
    for (size_t n = 0; n < 200; n++) {
        char number[WEB_NUMBER_SIZE], typed[WEB_NUMBER_INPUT_MAX_BYTES + 1];
        assert_int_equal(web_number_generate(number), 0);
        /* Lower case, grouped by four with hyphens. */
        size_t at = 0;
        for (size_t i = 0; i < WEB_NUMBER_LENGTH; i++) {
            if (i > 0 && i % 4 == 0)
                typed[at++] = '-';
            char c = number[i];
            typed[at++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        typed[at] = '\0';
        assert_int_equal(web_number_normalize(typed, out), 0);
        assert_string_equal(out, number);
        /* Lower case is not canonical: validate refuses it when there is a
         * letter to lower. */
        if (strcmp(typed, number) != 0 && strchr(typed, '-') == NULL)
            assert_int_equal(web_number_validate(typed), -1);
    }
}

static void
test_bad_input_is_refused(void **state)
{
    (void)state;
    char out[WEB_NUMBER_SIZE];
    const char *bad[] = {
        "",                  /* empty */
        "000000000000000",   /* 15 */
        "00000000000000000", /* 17 */
        "100000000000000z",  /* lower case: not canonical */
        "I00000000000000Z",  /* aliases are not canonical */
        "L00000000000000Z",
        "0000000000000O00",
        "U000000000000000",  /* U is not in the alphabet */
        "0000-00000000000",  /* hyphen */
        "0000000000000 00",  /* space */
        "0000000000000\xc3\x98" "0", /* a non-ASCII character */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (web_number_validate(bad[i]) == 0)
            fail_msg("validate accepted \"%s\"", bad[i]);
    assert_int_equal(web_number_validate(NULL), -1);

    const char *bad_typed[] = {
        "",
        "10000000000000",          /* 14 */
        "100000000000000",         /* 15 */
        "100000000000000Z0",       /* 17 */
        "u00000000000000Z",        /* u is no alias */
        "100000000000000Y",        /* wrong check */
        "1000 0000 0000 000Z",     /* spaces are not dropped */
        "1000_0000_0000_000Z",
        "100000000000000Z\n",
    };
    for (size_t i = 0; i < sizeof bad_typed / sizeof *bad_typed; i++) {
        memset(out, 'x', sizeof out);
        if (web_number_normalize(bad_typed[i], out) == 0)
            fail_msg("normalize accepted \"%s\"", bad_typed[i]);
        for (size_t b = 0; b < sizeof out; b++)
            assert_int_equal(out[b], 0);
    }
    assert_int_equal(web_number_normalize(NULL, out), -1);

    /* Input length: WEB_NUMBER_INPUT_MAX_BYTES is read, one more is not. */
    char typed[WEB_NUMBER_INPUT_MAX_BYTES + 2];
    size_t hyphens = WEB_NUMBER_INPUT_MAX_BYTES - WEB_NUMBER_LENGTH;
    memset(typed, '-', hyphens);
    memcpy(typed + hyphens, "100000000000000Z", WEB_NUMBER_SIZE);
    assert_int_equal(strlen(typed), WEB_NUMBER_INPUT_MAX_BYTES);
    assert_int_equal(web_number_normalize(typed, out), 0);
    assert_string_equal(out, "100000000000000Z");
    memmove(typed + 1, typed, WEB_NUMBER_INPUT_MAX_BYTES + 1);
    typed[0] = '-';
    assert_int_equal(strlen(typed), WEB_NUMBER_INPUT_MAX_BYTES + 1);
    assert_int_equal(web_number_normalize(typed, out), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_generated_numbers_are_valid_distinct_and_uniform),
        cmocka_unit_test(test_every_substitution_is_detected),
        cmocka_unit_test(test_every_adjacent_transposition_is_detected),
        cmocka_unit_test(test_normalize_maps_aliases),
        cmocka_unit_test(test_bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
