/* clock: the monotonic clock in milliseconds, for timeouts and back-offs
 * (never for wall-clock times, which come from time()), and the deadlines
 * of pthread's timed waits. */
#ifndef CYBERID_CLOCK_H
#define CYBERID_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t monotonic_ms(void);

/* `ms` milliseconds (>= 0) from now on `clock`: the absolute time a timed
 * wait takes (pthread_mutex_timedlock: CLOCK_REALTIME; a condition
 * variable set to CLOCK_MONOTONIC: that one). */
struct timespec clock_deadline(clockid_t clock, int64_t ms);

#endif
