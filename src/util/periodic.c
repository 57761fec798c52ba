/* periodic: see periodic.h. */
#include "util/periodic.h"

#include "util/clock.h"
#include "util/strings.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct periodic {
    unsigned interval_ms;
    void (*round)(void *context);
    void *context;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping; /* (lock) */
};

static void *
run(void *argument)
{
    struct periodic *p = argument;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        pthread_mutex_unlock(&p->lock);
        p->round(p->context);
        struct timespec until = clock_deadline(CLOCK_REALTIME, p->interval_ms);
        pthread_mutex_lock(&p->lock);
        while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int
periodic_start(unsigned interval_ms, void (*round)(void *context), void *context,
               struct periodic **out, char *err, size_t errlen)
{
    *out = NULL;
    assert(interval_ms > 0 && "the caller checks its interval");
    struct periodic *p = calloc(1, sizeof *p);
    if (p == NULL)
        return error_set(err, errlen, "out of memory");
    p->interval_ms = interval_ms;
    p->round = round;
    p->context = context;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    int rc = pthread_create(&p->thread, NULL, run, p);
    if (rc != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return error_set(err, errlen, "cannot start a thread: %s", strerror(rc));
    }
    *out = p;
    return 0;
}

void
periodic_stop(struct periodic *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
