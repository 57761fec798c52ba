/* counters: what the service counts besides requests, for /metrics. Each
 * family has one label whose values are all fixed in counters.c, so no
 * request can add a series (a value not in the list counts as "other"),
 * and no value says more than the service's public answers do: the
 * exposition is served to anyone who can reach /metrics. Process-wide
 * atomics, as Redis keeps its stat_ fields: adding takes no lock. */
#ifndef CYBERID_COUNTERS_H
#define CYBERID_COUNTERS_H

enum counter_family {
    /* cyberid_enroll_refusals_total{reason}: the refusal's public code. */
    COUNTER_ENROLL_REFUSALS,
    /* cyberid_face_check_failures_total{check}: enrollments refused by a
     * face check (the public code: identity_not_verified covers a face
     * that is not the record's and a number not in the registry alike). */
    COUNTER_FACE_CHECK_FAILURES,
    /* cyberid_logins_total{result}: started (a login page), approved,
     * denied, refused (the app's decision refused), code_redeemed. */
    COUNTER_LOGINS,
    /* cyberid_rate_limited_total{limit}: requests a limit turned away. */
    COUNTER_RATE_LIMITED,
    COUNTER_FAMILIES
};

/* Adds one to the family's series for value (one of its fixed values;
 * any other, or NULL, counts as "other"). */
void counter_add(enum counter_family family, const char *value);

/* The current value of one series (tests). */
unsigned long long counter_get(enum counter_family family, const char *value);

/* The Prometheus text exposition of every family, every series present
 * (zeros included, so that rates start at the first scrape), malloc'd;
 * NULL when out of memory. */
char *counters_render(void);

#endif
