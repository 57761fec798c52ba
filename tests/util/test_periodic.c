/* Tests of util/periodic: the first round runs at once and the next ones
 * every interval; a stop wakes the thread from its wait (a stop during a
 * minute-long interval returns at once) and waits for a round under way. */
#include "util/clock.h"
#include "util/periodic.h"

#include "../test_support.h"

#include <stdatomic.h>
#include <unistd.h>

struct counter {
    atomic_int rounds;
    atomic_int in_round;
    unsigned sleep_ms;
};

static void
count_round(void *context)
{
    struct counter *c = context;
    atomic_store(&c->in_round, 1);
    if (c->sleep_ms > 0)
        usleep(c->sleep_ms * 1000);
    atomic_fetch_add(&c->rounds, 1);
    atomic_store(&c->in_round, 0);
}

static void
test_rounds_every_interval(void **state)
{
    (void)state;
    struct counter c = {0};
    struct periodic *p = NULL;
    char err[128];
    assert_int_equal(periodic_start(20, count_round, &c, &p, err, sizeof err), 0);
    usleep(300 * 1000);
    periodic_stop(p);
    int rounds = atomic_load(&c.rounds);
    assert_true(rounds >= 3);  /* 16 at most in 300 ms */
    assert_true(rounds <= 16);
    usleep(50 * 1000);
    assert_int_equal(atomic_load(&c.rounds), rounds); /* none after the stop */
}

static void
test_stop_wakes_the_wait(void **state)
{
    (void)state;
    struct counter c = {0};
    struct periodic *p = NULL;
    char err[128];
    assert_int_equal(periodic_start(60000, count_round, &c, &p, err, sizeof err), 0);
    while (atomic_load(&c.rounds) == 0)
        usleep(1000);
    int64_t started = monotonic_ms();
    periodic_stop(p);
    assert_true(monotonic_ms() - started < 2000);
    assert_int_equal(atomic_load(&c.rounds), 1);
}

static void
test_stop_waits_for_the_round(void **state)
{
    (void)state;
    struct counter c = {.sleep_ms = 200};
    struct periodic *p = NULL;
    char err[128];
    assert_int_equal(periodic_start(60000, count_round, &c, &p, err, sizeof err), 0);
    while (atomic_load(&c.in_round) == 0)
        usleep(1000);
    periodic_stop(p);
    assert_int_equal(atomic_load(&c.rounds), 1);
    assert_int_equal(atomic_load(&c.in_round), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounds_every_interval),
        cmocka_unit_test(test_stop_wakes_the_wait),
        cmocka_unit_test(test_stop_waits_for_the_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
