/* claims: the values of the claims a citizen releases to a platform,
 * computed from the sealed registry record only when released, and only at
 * the moment a token, userinfo or verification answer needs them (the
 * database keeps claim names, never values).
 *
 *   realname_verified  true: the identity was face-verified against the
 *                      registry at enrollment (every active identity is)
 *   age_over_14/18     booleans, the age in whole years on the given date
 *   birth_year         integer
 *   name, national_id  strings (platform.c allows them only to platforms
 *                      with a legal basis) */
#ifndef CYBERID_OIDC_CLAIMS_H
#define CYBERID_OIDC_CLAIMS_H

#include "enroll/registry.h"
#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define CLAIMS_NAME_MAX_BYTES 32
#define CLAIMS_MAX 16   /* claims in one request or release */

/* 1 if name is one of PLATFORM_CLAIMS. */
int claims_is_known(const char *name);

/* 1 if names (array of strings) is an array of at most CLAIMS_MAX
 * distinct known claim names, each in allowed (array of strings). */
int claims_subset(const json_t *names, const json_t *allowed);

/* A new array with the names of `names` that are also in `allowed`, in
 * the order of names; NULL when out of memory. */
json_t *claims_intersect(const json_t *names, const json_t *allowed);

/* 1 if computing names needs the registry record (anything but
 * realname_verified). */
int claims_need_record(const json_t *names);

/* The record fields (enroll/registry.h bits) those claims are computed
 * from: the signer opens only these. */
unsigned claims_record_fields(const json_t *names);

/* Sets in `out` the value of each claim of names, computed from person
 * (NULL allowed only when claims_need_record() is 0) on the date (year,
 * month, day). 0, or -1 (unknown claim, unparsable birth date, out of
 * memory). Values may be personal data: never log `out`. */
int claims_compute(const json_t *names, const struct registry_person *person,
                   int year, int month, int day, json_t *out)
    __attribute__((warn_unused_result));

/* Computes names for the identity web_number at unix time now (UTC date)
 * into out, opening its registry record only if needed. *active is 1 when
 * the identity exists and is active; when it is 0 nothing is added. 0 or
 * -1 (store or vault failure). */
int claims_for_identity(struct store_conn *conn, struct signer *signer,
                        const char *web_number, const json_t *names,
                        int64_t now, json_t *out, int *active)
    __attribute__((warn_unused_result));

/* claims_for_identity() for an identity the caller has just read as active
 * along with what it holds (an access token, or a presented code, read
 * with its identity's status): the identity and its record are read
 * again, and the record opened, only when a claim needs the record.
 * Claims that do not (realname_verified alone, or none) touch neither the
 * store nor the signer, and conn and signer may then be NULL. */
int claims_for_active_identity(struct store_conn *conn, struct signer *signer,
                               const char *web_number, const json_t *names,
                               int64_t now, json_t *out, int *active)
    __attribute__((warn_unused_result));

#endif
