/* claims: claim values from the registry record; see claims.h. */
#include "oidc/claims.h"

#include "enroll/enroll.h"
#include "oidc/platform.h"
#include "util/strings.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define BIRTH_YEAR_DIGITS 4
#define ADULT_AGE 18
#define YOUTH_AGE 14
#define TM_YEAR_BASE 1900

int
claims_is_known(const char *name)
{
    for (size_t i = 0; name != NULL && i < PLATFORM_CLAIM_COUNT; i++)
        if (strcmp(name, PLATFORM_CLAIMS[i]) == 0)
            return 1;
    return 0;
}

static int
array_has(const json_t *array, const char *name)
{
    size_t i;
    const json_t *value;
    json_array_foreach(array, i, value) {
        const char *text = json_string_value(value);
        if (text != NULL && strcmp(text, name) == 0)
            return 1;
    }
    return 0;
}

int
claims_subset(const json_t *names, const json_t *allowed)
{
    if (!json_is_array(names) || json_array_size(names) > CLAIMS_MAX)
        return 0;
    size_t i;
    const json_t *value;
    json_array_foreach(names, i, value) {
        const char *name = json_string_value(value);
        if (!claims_is_known(name) || !array_has(allowed, name))
            return 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(names, j)), name) == 0)
                return 0;
    }
    return 1;
}

json_t *
claims_intersect(const json_t *names, const json_t *allowed)
{
    json_t *out = json_array();
    size_t i;
    const json_t *value;
    json_array_foreach(names, i, value) {
        const char *name = json_string_value(value);
        if (out != NULL && name != NULL && array_has(allowed, name) &&
            !array_has(out, name) && json_array_append(out, (json_t *)value) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

int
claims_need_record(const json_t *names)
{
    size_t i;
    const json_t *value;
    json_array_foreach(names, i, value) {
        const char *name = json_string_value(value);
        if (name == NULL || strcmp(name, "realname_verified") != 0)
            return 1;
    }
    return 0;
}

unsigned
claims_record_fields(const json_t *names)
{
    unsigned fields = 0;
    size_t i;
    const json_t *value;
    json_array_foreach(names, i, value) {
        const char *name = json_string_value(value);
        if (name == NULL || strcmp(name, "realname_verified") == 0)
            continue;
        if (strcmp(name, "name") == 0)
            fields |= REGISTRY_NAME;
        else if (strcmp(name, "national_id") == 0)
            fields |= REGISTRY_NATIONAL_ID;
        else
            fields |= REGISTRY_BIRTH_DATE; /* age_over_14, age_over_18, birth_year */
    }
    return fields;
}

int
claims_compute(const json_t *names, const struct registry_person *person, int year,
               int month, int day, json_t *out)
{
    size_t i;
    const json_t *value;
    json_array_foreach(names, i, value) {
        const char *name = json_string_value(value);
        json_t *claim = NULL;
        if (name == NULL)
            return -1;
        if (strcmp(name, "realname_verified") == 0) {
            claim = json_true();
        } else if (person == NULL) {
            return -1;
        } else if (strcmp(name, "age_over_14") == 0 || strcmp(name, "age_over_18") == 0) {
            int age = enroll_age_on(person->birth_date, year, month, day);
            if (age < 0)
                return -1;
            int threshold = strcmp(name, "age_over_14") == 0 ? YOUTH_AGE : ADULT_AGE;
            claim = json_boolean(age >= threshold);
        } else if (strcmp(name, "birth_year") == 0) {
            int birth_year = 0;
            char tail;
            if (sscanf(person->birth_date, "%4d-%c", &birth_year, &tail) != 2)
                return -1;
            claim = json_integer(birth_year);
        } else if (strcmp(name, "name") == 0) {
            claim = json_string(person->name);
        } else if (strcmp(name, "national_id") == 0) {
            claim = json_string(person->national_id);
        } else {
            return -1;
        }
        if (claim == NULL || json_object_set_new(out, name, claim) != 0)
            return -1;
    }
    return 0;
}

/* claims_compute() on the UTC date of unix time now. */
static int
compute_on(const json_t *names, const struct registry_person *person, int64_t now,
           json_t *out)
{
    time_t seconds = (time_t)now;
    struct tm date;
    if (gmtime_r(&seconds, &date) == NULL)
        return -1;
    return claims_compute(names, person, date.tm_year + TM_YEAR_BASE, date.tm_mon + 1,
                          date.tm_mday, out);
}

int
claims_for_identity(struct store_conn *conn, struct signer *signer,
                    const char *web_number, const json_t *names, int64_t now,
                    json_t *out, int *active)
{
    struct store_person record;
    struct registry_person person;
    char status[STORE_STATUS_MAX] = "";
    int found = 0, result = -1, opened = 0;
    *active = 0;
    memset(&person, 0, sizeof person);
    if (store_identity_person(conn, web_number, &record, status, &found) != 0)
        return -1;
    if (!found || strcmp(status, STORE_IDENTITY_ACTIVE) != 0) {
        result = 0;
        goto done;
    }
    if (claims_need_record(names)) {
        if (registry_open(signer, &record, claims_record_fields(names), &person) != 0)
            goto done;
        opened = 1;
    }
    if (compute_on(names, opened ? &person : NULL, now, out) != 0)
        goto done;
    *active = 1;
    result = 0;
done:
    registry_person_clear(&person);
    store_person_clear(&record);
    return result;
}

int
claims_for_active_identity(struct store_conn *conn, struct signer *signer,
                           const char *web_number, const json_t *names, int64_t now,
                           json_t *out, int *active)
{
    if (claims_need_record(names))
        return claims_for_identity(conn, signer, web_number, names, now, out, active);
    *active = 0;
    if (compute_on(names, NULL, now, out) != 0)
        return -1;
    *active = 1;
    return 0;
}
