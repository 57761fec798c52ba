/* gate: how many enrollments run their face checks at once; see enroll.h.
 * A counting semaphore with a deadline, on a mutex and a condition
 * variable (sem_timedwait would do, but its clock is the wall clock). */
#include "enroll/enroll.h"

#include "util/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct enroll_gate {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned free_slots;
};

struct enroll_gate *
enroll_gate_new(unsigned slots)
{
    struct enroll_gate *gate = calloc(1, sizeof *gate);
    if (gate == NULL)
        return NULL;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&gate->freed, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&gate->lock, NULL);
    gate->free_slots = slots > 0 ? slots : 1;
    return gate;
}

void
enroll_gate_free(struct enroll_gate *gate)
{
    if (gate == NULL)
        return;
    pthread_cond_destroy(&gate->freed);
    pthread_mutex_destroy(&gate->lock);
    free(gate);
}

int
enroll_gate_enter(struct enroll_gate *gate)
{
    if (gate == NULL)
        return 0;
    struct timespec until = clock_deadline(CLOCK_MONOTONIC, ENROLL_GATE_WAIT_MS);
    pthread_mutex_lock(&gate->lock);
    int timed_out = 0;
    while (gate->free_slots == 0 && !timed_out)
        timed_out = pthread_cond_timedwait(&gate->freed, &gate->lock, &until) == ETIMEDOUT;
    int entered = gate->free_slots > 0;
    if (entered)
        gate->free_slots--;
    pthread_mutex_unlock(&gate->lock);
    return entered ? 0 : -1;
}

void
enroll_gate_leave(struct enroll_gate *gate)
{
    if (gate == NULL)
        return;
    pthread_mutex_lock(&gate->lock);
    gate->free_slots++;
    pthread_cond_signal(&gate->freed);
    pthread_mutex_unlock(&gate->lock);
}
