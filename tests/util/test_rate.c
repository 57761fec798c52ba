/* rate: token buckets per key in fixed memory. */
#include "util/rate.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static void
test_burst_then_rate(void **state)
{
    (void)state;
    struct rate *rate = rate_new(2, 5); /* 2 a second, 5 at once */
    assert_non_null(rate);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rate_take(rate, "a", 1, 100.0), 0);
    assert_int_equal(rate_take(rate, "a", 1, 100.0), 1); /* half a second, rounded up */
    assert_int_equal(rate_take(rate, "a", 1, 100.25), 1);
    assert_int_equal(rate_take(rate, "a", 1, 100.5), 0);  /* one token back */
    assert_int_equal(rate_take(rate, "a", 1, 100.5), 1);
    /* Refused takes cost nothing: after 2.5 s, 5 tokens again, no more. */
    assert_int_equal(rate_take(rate, "a", 1, 200.0), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rate_take(rate, "a", 1, 200.0), 0);
    assert_int_equal(rate_take(rate, "a", 1, 200.0), 1);
    /* Another key has its own bucket; a key is its bytes. */
    assert_int_equal(rate_take(rate, "b", 1, 200.0), 0);
    assert_int_equal(rate_take(rate, "ab", 2, 200.0), 0);
    /* A clock that goes back refills nothing. */
    assert_int_equal(rate_take(rate, "a", 1, 150.0), 1);
    rate_free(rate);
}

static void
test_slow_rates_wait_whole_seconds(void **state)
{
    (void)state;
    struct rate *rate = rate_new(0.1, 1); /* one every 10 s */
    assert_int_equal(rate_take(rate, "k", 1, 0.0), 0);
    assert_int_equal(rate_take(rate, "k", 1, 0.0), 10);
    assert_int_equal(rate_take(rate, "k", 1, 3.5), 7); /* 6.5, rounded up */
    assert_int_equal(rate_take(rate, "k", 1, 10.5), 0);
    rate_free(rate);
}

static void
test_no_limit(void **state)
{
    (void)state;
    assert_null(rate_new(0, 10));
    assert_null(rate_new(1, 0.5));
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rate_take(NULL, "x", 1, 0.0), 0);
}

/* Many more keys than slots: the fresh ones (full buckets) are what is
 * forgotten, not the one in debt. */
static void
test_churn_keeps_debts(void **state)
{
    (void)state;
    struct rate *rate = rate_new(0.001, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rate_take(rate, "attacker", 8, 1.0), 0);
    assert_true(rate_take(rate, "attacker", 8, 1.0) > 0);
    char key[32];
    for (int i = 0; i < 4 * RATE_SLOTS; i++) {
        snprintf(key, sizeof key, "visitor-%d", i);
        assert_int_equal(rate_take(rate, key, strlen(key), 2.0), 0);
    }
    assert_true(rate_take(rate, "attacker", 8, 3.0) > 0);
    rate_free(rate);
}

#define THREADS 8
#define TAKES 50
struct race {
    struct rate *rate;
    pthread_barrier_t start;
    int through[THREADS];
    int next;
    pthread_mutex_t lock;
};

static void *
take_many(void *argument)
{
    struct race *race = argument;
    pthread_mutex_lock(&race->lock);
    int me = race->next++;
    pthread_mutex_unlock(&race->lock);
    pthread_barrier_wait(&race->start);
    for (int i = 0; i < TAKES; i++)
        if (rate_take(race->rate, "shared", 6, 5.0) == 0)
            race->through[me]++;
    return NULL;
}

/* Threads at once on one key: exactly the burst gets through. */
static void
test_threads(void **state)
{
    (void)state;
    struct race race = {.rate = rate_new(0.001, 100)};
    pthread_mutex_init(&race.lock, NULL);
    pthread_barrier_init(&race.start, NULL, THREADS);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, take_many, &race), 0);
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        total += race.through[i];
    }
    assert_int_equal(total, 100);
    pthread_barrier_destroy(&race.start);
    pthread_mutex_destroy(&race.lock);
    rate_free(race.rate);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_slow_rates_wait_whole_seconds),
        cmocka_unit_test(test_no_limit),
        cmocka_unit_test(test_churn_keeps_debts),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
