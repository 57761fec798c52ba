/* counters: fixed series per family; unknown values go to "other". */
#include "util/counters.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void
test_add_and_render(void **state)
{
    (void)state;
    unsigned long long before = counter_get(COUNTER_LOGINS, "approved");
    counter_add(COUNTER_LOGINS, "approved");
    counter_add(COUNTER_LOGINS, "approved");
    assert_int_equal(counter_get(COUNTER_LOGINS, "approved"), before + 2);
    /* A value outside the list (or none) cannot add a series. */
    unsigned long long other = counter_get(COUNTER_LOGINS, "other");
    counter_add(COUNTER_LOGINS, "attacker-chosen\"}\nfake 1");
    counter_add(COUNTER_LOGINS, NULL);
    assert_int_equal(counter_get(COUNTER_LOGINS, "other"), other + 2);
    counter_add(COUNTER_ENROLL_REFUSALS, "identity_not_verified");

    char *text = counters_render();
    assert_non_null(text);
    assert_non_null(strstr(text, "# TYPE cyberid_logins_total counter\n"));
    assert_non_null(strstr(text, "cyberid_logins_total{result=\"approved\"} 2\n"));
    assert_non_null(strstr(text, "cyberid_logins_total{result=\"other\"} 2\n"));
    assert_non_null(strstr(text, "cyberid_enroll_refusals_total{reason=\"identity_not_verified\"} 1\n"));
    assert_non_null(strstr(text, "cyberid_rate_limited_total{limit=\"body_budget\"} 0\n"));

    assert_null(strstr(text, "attacker"));
    assert_null(strstr(text, "fake"));
    /* Every line is a comment or "name{label=\"value\"} number". */
    size_t series = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        series++;
        assert_non_null(strstr(line, "{"));
        assert_non_null(strstr(line, "\"} "));
    }
    assert_int_equal(series, 16 + 1 + 5 + 1 + 5 + 1 + 9 + 1);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
