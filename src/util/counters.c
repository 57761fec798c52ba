/* counters: see counters.h. */
#include "util/counters.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUES_MAX 24

struct family {
    const char *name, *help, *label;
    const char *values[VALUES_MAX]; /* NULL-terminated; "other" is added */
    atomic_ullong counts[VALUES_MAX + 1];
};

static struct family families[COUNTER_FAMILIES] = {
    [COUNTER_ENROLL_REFUSALS] = {
        "cyberid_enroll_refusals_total", "Enrollments refused, by the answer's code.", "reason",
        {"invalid_request", "invalid_national_id", "invalid_challenge", "invalid_csr",
         "unsupported_key", "invalid_nonce_signature", "invalid_image", "no_face",
         "multiple_faces", "liveness_failed", "identity_not_verified", "name_mismatch",
         "guardian_required", "identity_not_active", "too_many_attempts",
         "temporarily_unavailable", NULL}},
    [COUNTER_FACE_CHECK_FAILURES] = {
        "cyberid_face_check_failures_total",
        "Enrollments refused by a face check, by the answer's code.", "check",
        {"invalid_image", "no_face", "multiple_faces", "liveness_failed",
         "identity_not_verified", NULL}},
    [COUNTER_LOGINS] = {
        "cyberid_logins_total", "Logins by step and result.", "result",
        {"started", "approved", "denied", "refused", "code_redeemed", NULL}},
    [COUNTER_RATE_LIMITED] = {
        "cyberid_rate_limited_total", "Requests a limit turned away, by limit.", "limit",
        {"authorize_per_address", "authorize_per_platform", "challenges_per_address",
         "enroll_per_address", "enroll_per_network", "enroll_per_device_key",
         "enroll_face_checks_busy", "connections_per_address", "body_budget", NULL}},
};

/* The slot of value in the family: its index, or the "other" slot. */
static size_t
slot(const struct family *family, const char *value)
{
    size_t i = 0;
    for (; family->values[i] != NULL; i++)
        if (value != NULL && strcmp(family->values[i], value) == 0)
            return i;
    return i;
}

void
counter_add(enum counter_family which, const char *value)
{
    struct family *family = &families[which];
    atomic_fetch_add_explicit(&family->counts[slot(family, value)], 1, memory_order_relaxed);
}

unsigned long long
counter_get(enum counter_family which, const char *value)
{
    struct family *family = &families[which];
    return atomic_load_explicit(&family->counts[slot(family, value)], memory_order_relaxed);
}

char *
counters_render(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL)
        return NULL;
    for (size_t f = 0; f < COUNTER_FAMILIES; f++) {
        const struct family *family = &families[f];
        fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", family->name, family->help,
                family->name);
        size_t i = 0;
        for (; family->values[i] != NULL; i++)
            fprintf(out, "%s{%s=\"%s\"} %llu\n", family->name, family->label,
                    family->values[i],
                    atomic_load_explicit(&family->counts[i], memory_order_relaxed));
        fprintf(out, "%s{%s=\"other\"} %llu\n", family->name, family->label,
                atomic_load_explicit(&family->counts[i], memory_order_relaxed));
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
