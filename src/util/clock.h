/* clock: the monotonic clock in milliseconds, for timeouts and back-offs
 * (never for wall-clock times, which come from time()). */
#ifndef CYBERID_CLOCK_H
#define CYBERID_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t monotonic_ms(void);

#endif
