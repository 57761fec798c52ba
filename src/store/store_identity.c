/* store_identity: identities (web numbers), devices (web certificates),
 * attempt counters and single-use token ids; see store.h. */
#include "store/store.h"

#include "store/store_internal.h"
#include "util/strings.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a lookup row without its identity is read again (above). */
#define LOOKUP_RACE_TRIES 50
#define LOOKUP_RACE_WAIT_MS 20

static int crl_bump(struct store_conn *conn);

/* ── Identities ────────────────────────────────────────────────────────── */

/* The identity's columns, each prefixed by t (a table alias and its dot,
 * or ""), in read_identity()'s order. */
#define IDENTITY_COLUMNS_OF(t)                                                    \
    t "web_number, " t "person_id, " t "status, " t "status_reason, " t            \
    "created_at, " t "updated_at, " t "suspended_until, " t "legal_basis"
#define IDENTITY_COLUMNS IDENTITY_COLUMNS_OF("")

static int
read_identity(void *context, const struct store_value *columns, size_t count)
{
    struct store_identity *identity = context;
    if (count != 8 ||
        column_text_into(&columns[0], identity->web_number,
                         sizeof identity->web_number) != 0 ||
        column_text_into(&columns[1], identity->person_id,
                         sizeof identity->person_id) != 0 ||
        column_text_into(&columns[2], identity->status, sizeof identity->status) != 0)
        return -1;
    if (columns[3].type != STORE_VALUE_NULL &&
        column_text_into(&columns[3], identity->status_reason,
                         sizeof identity->status_reason) != 0)
        return -1;
    identity->created_at = columns[4].integer;
    identity->updated_at = columns[5].integer;
    identity->suspended_until = column_integer(&columns[6]);
    if (columns[7].type != STORE_VALUE_NULL &&
        column_text_into(&columns[7], identity->legal_basis, sizeof identity->legal_basis) != 0)
        return -1;
    return 1;
}

static int
identity_query(struct store_conn *conn, const char *sql, const char *key,
               struct store_identity *out, int *found)
{
    /* The key may be a field of *out (a caller re-reading an identity it
     * holds): copy it before *out is cleared. */
    char copy[STORE_ID_MAX];
    *found = 0;
    if (string_copy(copy, sizeof copy, key) != 0) {
        memset(out, 0, sizeof *out);
        return 0; /* longer than any web number: no such identity */
    }
    memset(out, 0, sizeof *out);
    struct store_value param = v_text(copy);
    int rc = exec(conn, sql, &param, 1, read_identity, out, NULL);
    if (rc < 0) {
        if (conn->error[0] == '\0')
            error_set(conn->error, sizeof conn->error, "malformed identity row");
        return -1;
    }
    *found = rc == 1;
    return 0;
}

int
store_identity_get(struct store_conn *conn, const char *web_number,
                   struct store_identity *out, int *found)
{
    return identity_query(conn,
                          "SELECT " IDENTITY_COLUMNS
                          " FROM identity WHERE web_number = $1",
                          web_number, out, found);
}

int
store_identity_find_by_person(struct store_conn *conn, const char *person_id,
                              struct store_identity *out, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    char web_number[STORE_ID_MAX] = "";
    struct store_value param = v_text(person_id);
    int rc = exec(conn, "SELECT web_number FROM identity_person WHERE person_id = $1",
                  &param, 1, read_one_key, web_number, NULL);
    if (rc <= 0)
        return rc;
    /* On Citus the lookup row and the identity may live on two workers,
     * and the transaction that wrote both commits on each in turn (two-
     * phase commit, no distributed snapshot): a request that waited on the
     * lookup's key (a concurrent enrollment of the same person) can see it
     * before the identity. The identity is then read again, briefly. */
    for (int attempt = 0;; attempt++) {
        if (store_identity_get(conn, web_number, out, found) != 0)
            return -1;
        if (*found || attempt == LOOKUP_RACE_TRIES)
            return 0;
        nanosleep(&(struct timespec){.tv_nsec = LOOKUP_RACE_WAIT_MS * 1000000L}, NULL);
    }
}

int
store_identity_lock(struct store_conn *conn, const char *web_number,
                    struct store_identity *out, int *found)
{
    /* An UPDATE that changes nothing takes the row lock on PostgreSQL
     * (SELECT ... FOR UPDATE is not SQLite), and is harmless under
     * SQLite's BEGIN IMMEDIATE, which holds the whole database already. */
    return identity_query(conn,
                          "UPDATE identity SET updated_at = updated_at"
                          " WHERE web_number = $1 RETURNING " IDENTITY_COLUMNS,
                          web_number, out, found);
}

int
store_identity_insert(struct store_conn *conn, const struct store_identity *identity,
                      int *inserted)
{
    struct store_value params[] = {
        v_text(identity->web_number), v_text(identity->person_id),
        v_text(identity->status),
        identity->status_reason[0] ? v_text(identity->status_reason) : v_null(),
        v_integer(identity->created_at), v_integer(identity->updated_at), v_null(), v_null(),
    };
    int64_t claimed = 0;
    *inserted = 0;
    /* The person's lookup row is the claim: a concurrent insert for the
     * same person waits on its key, then finds it taken. */
    if (exec(conn,
             "INSERT INTO identity_person (web_number, person_id) VALUES ($1, $2)"
             " ON CONFLICT DO NOTHING",
             params, 2, NULL, NULL, &claimed) != 0)
        return -1;
    if (claimed != 1)
        return 0;
    if (exec(conn,
             "INSERT INTO identity (" IDENTITY_COLUMNS ")"
             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
             params, 8, NULL, NULL, NULL) != 0)
        return -1;
    *inserted = 1;
    return 0;
}

int
store_identity_set_status(struct store_conn *conn, const char *web_number,
                          const char *status, const char *reason, int64_t now,
                          int *found)
{
    struct store_value params[] = {
        v_text(web_number), v_text(status), reason ? v_text(reason) : v_null(),
        v_integer(now),
    };
    int64_t changes = 0, suspended = 0;
    struct store_value key = v_text(web_number);
    /* Whether it was suspended: its certificates were on hold, the CRLs
     * change with it. */
    if (exec(conn,
             "SELECT COUNT(*) FROM identity WHERE web_number = $1 AND"
             " suspended_until IS NOT NULL",
             &key, 1, read_one_integer, &suspended, NULL) != 1 ||
        exec(conn,
             "UPDATE identity SET status = $2, status_reason = $3, updated_at = $4,"
             " suspended_until = NULL, legal_basis = NULL WHERE web_number = $1",
             params, 4, NULL, NULL, &changes) != 0 ||
        (suspended > 0 && crl_bump(conn) != 0))
        return -1;
    *found = changes == 1;
    return 0;
}

int
store_identity_suspend(struct store_conn *conn, const char *web_number, const char *reason,
                       const char *legal_basis, int64_t until, int64_t now, int *found)
{
    struct store_value params[] = {
        v_text(web_number), v_text(STORE_IDENTITY_SUSPENDED), v_text(reason), v_integer(now),
        v_integer(until), v_text(legal_basis),
    };
    int64_t changes = 0;
    if (exec(conn,
             "UPDATE identity SET status = $2, status_reason = $3, updated_at = $4,"
             " suspended_until = $5, legal_basis = $6 WHERE web_number = $1",
             params, 6, NULL, NULL, &changes) != 0 ||
        (changes == 1 && crl_bump(conn) != 0))
        return -1;
    *found = changes == 1;
    return 0;
}

struct key_walk {
    int (*each)(void *, const char *);
    void *context;
};

static int
walk_key(void *context, const struct store_value *columns, size_t count)
{
    struct key_walk *walk = context;
    char key[STORE_ID_MAX];
    if (count != 1 || column_text_into(&columns[0], key, sizeof key) != 0)
        return -1;
    return walk->each(walk->context, key);
}

int
store_identity_ended_suspensions(struct store_conn *conn, int64_t now, int64_t limit,
                                 int (*each)(void *, const char *), void *context)
{
    struct key_walk walk = {each, context};
    struct store_value params[] = {v_integer(now), v_integer(limit)};
    return exec(conn,
                "SELECT web_number FROM identity WHERE suspended_until IS NOT NULL"
                " AND suspended_until <= $1 ORDER BY suspended_until LIMIT $2",
                params, 2, walk_key, &walk, NULL) < 0
               ? -1
               : 0;
}

/* ── Devices ───────────────────────────────────────────────────────────── */

/* A revocation happened: the stored CRLs are out of date. Every
 * generation's epoch moves (a handful of rows): finding the device's own
 * generation first would be one more statement on every revocation, and
 * a CRL built once more costs less. */
static int
crl_bump(struct store_conn *conn)
{
    return exec(conn, "UPDATE ca_issuer SET epoch = epoch + 1", NULL, 0, NULL, NULL, NULL);
}

#define DEVICE_COLUMNS                                                    \
    "serial, web_number, certificate, status, created_at, not_after,"     \
    " revoked_at, revocation_reason, issuer"
/* The same read through the join with the device's issuing CA (a
 * reference table on Citus: the join stays on the device's shard). */
#define DEVICE_SELECT_COLUMNS                                                 \
    "SELECT d.serial, d.web_number, d.certificate, d.status, d.created_at,"  \
    " d.not_after, d.revoked_at, d.revocation_reason, d.issuer, i.held_at,"   \
    " CASE WHEN x.suspended_until IS NOT NULL THEN x.updated_at END"
#define DEVICE_SELECT_FROM                                                    \
    " FROM device d LEFT JOIN ca_issuer i ON i.generation = d.issuer"         \
    " LEFT JOIN identity x ON x.web_number = d.web_number"
#define DEVICE_SELECT DEVICE_SELECT_COLUMNS DEVICE_SELECT_FROM
#define DEVICE_SELECT_LIGHT                                                   \
    "SELECT d.serial, d.web_number, NULL, d.status, d.created_at,"           \
    " d.not_after, d.revoked_at, d.revocation_reason, d.issuer, i.held_at,"   \
    " CASE WHEN x.suspended_until IS NOT NULL THEN x.updated_at END"          \
    " FROM device d LEFT JOIN ca_issuer i ON i.generation = d.issuer"         \
    " LEFT JOIN identity x ON x.web_number = d.web_number"

/* Fills a device from a row; with_certificate 0 skips the DER copy. */
static int
fill_device(const struct store_value *columns, size_t count,
            struct store_device *device, int with_certificate)
{
    memset(device, 0, sizeof *device);
    device->revocation_reason = -1;
    if (count != 11 ||
        column_text_into(&columns[0], device->serial, sizeof device->serial) != 0 ||
        column_text_into(&columns[1], device->web_number,
                         sizeof device->web_number) != 0 ||
        column_text_into(&columns[3], device->status, sizeof device->status) != 0)
        return -1;
    if (with_certificate) {
        if (columns[2].type != STORE_VALUE_BLOB || columns[2].length == 0)
            return -1;
        device->certificate = malloc(columns[2].length);
        if (device->certificate == NULL)
            return -1;
        memcpy(device->certificate, columns[2].data, columns[2].length);
        device->certificate_length = columns[2].length;
    }
    device->created_at = columns[4].integer;
    device->not_after = columns[5].integer;
    if (columns[6].type == STORE_VALUE_INTEGER)
        device->revoked_at = columns[6].integer;
    if (columns[7].type == STORE_VALUE_INTEGER)
        device->revocation_reason = (int)columns[7].integer;
    if (columns[8].type != STORE_VALUE_INTEGER || columns[8].integer < 1)
        return -1;
    device->issuer = columns[8].integer;
    if (columns[9].type == STORE_VALUE_INTEGER)
        device->issuer_held_at = columns[9].integer;
    if (columns[10].type == STORE_VALUE_INTEGER)
        device->identity_suspended_at = columns[10].integer;
    return 0;
}

static int
read_device(void *context, const struct store_value *columns, size_t count)
{
    return fill_device(columns, count, context, 1) == 0 ? 1 : -1;
}

int
store_device_insert(struct store_conn *conn, const struct store_device *device)
{
    struct store_value lookup[] = {v_text(device->serial), v_text(device->web_number)};
    if (exec(conn, "INSERT INTO device_serial (serial, web_number) VALUES ($1, $2)",
             lookup, 2, NULL, NULL, NULL) != 0)
        return -1;
    struct store_value params[] = {
        v_text(device->serial), v_text(device->web_number),
        v_blob(device->certificate, device->certificate_length),
        v_text(device->status), v_integer(device->created_at),
        v_integer(device->not_after),
        device->revoked_at ? v_integer(device->revoked_at) : v_null(),
        device->revocation_reason >= 0 ? v_integer(device->revocation_reason)
                                       : v_null(),
        v_integer(device->issuer > 0 ? device->issuer : 1),
    };
    return exec(conn,
                "INSERT INTO device (" DEVICE_COLUMNS ")"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                params, 9, NULL, NULL, NULL);
}

int
store_device_get(struct store_conn *conn, const char *serial, const char *web_number,
                 struct store_device *out, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    char owner[STORE_ID_MAX] = "";
    if (web_number == NULL) {
        struct store_value param = v_text(serial);
        int rc = exec(conn, "SELECT web_number FROM device_serial WHERE serial = $1",
                      &param, 1, read_one_key, owner, NULL);
        if (rc <= 0)
            return rc;
        web_number = owner;
    }
    struct store_value params[] = {v_text(web_number), v_text(serial)};
    int rc = exec(conn, DEVICE_SELECT " WHERE d.web_number = $1 AND d.serial = $2",
                  params, 2, read_device, out, NULL);
    if (rc < 0) {
        store_device_clear(out);
        if (conn->error[0] == '\0')
            error_set(conn->error, sizeof conn->error, "malformed device row");
        return -1;
    }
    *found = rc == 1;
    return 0;
}

struct device_with_identity {
    struct store_device *device;
    struct store_identity *identity;
    int identity_found;
};

/* The device's 11 columns, then the identity's 8 (NULL when it has none). */
static int
read_device_with_identity(void *context, const struct store_value *columns, size_t count)
{
    struct device_with_identity *read = context;
    if (count != 19 || fill_device(columns, 11, read->device, 1) != 0)
        return -1;
    if (columns[11].type == STORE_VALUE_NULL)
        return 1;
    if (read_identity(read->identity, &columns[11], 8) != 1)
        return -1;
    read->identity_found = 1;
    return 1;
}

/* The device of a presented certificate ($1 its web number, $2 its
 * serial) with its identity. The device and its identity share a shard on
 * Citus (both by web number, co-located): one statement on one worker. */
#define DEVICE_WITH_IDENTITY_SELECT                                           \
    DEVICE_SELECT_COLUMNS ", " IDENTITY_COLUMNS_OF("x.") DEVICE_SELECT_FROM    \
    " WHERE d.web_number = $1 AND d.serial = $2"

/* Runs a statement whose row reader fills *device and *identity (zeroed
 * first, cleared again if it fails). exec()'s result, or -1. */
static int
read_device_statement(struct store_conn *conn, const char *sql,
                      const struct store_value *params, size_t count, store_row_fn row,
                      void *context, struct store_device *device,
                      struct store_identity *identity)
{
    memset(device, 0, sizeof *device);
    memset(identity, 0, sizeof *identity);
    int rc = exec(conn, sql, params, count, row, context, NULL);
    if (rc < 0) {
        store_device_clear(device);
        memset(identity, 0, sizeof *identity);
        if (conn->error[0] == '\0')
            error_set(conn->error, sizeof conn->error, "malformed device row");
        return -1;
    }
    return rc;
}

int
store_device_get_with_identity(struct store_conn *conn, const char *serial,
                               const char *web_number, struct store_device *device,
                               int *found, struct store_identity *identity,
                               int *identity_found)
{
    assert(web_number != NULL);
    *found = 0;
    *identity_found = 0;
    struct device_with_identity read = {.device = device, .identity = identity};
    struct store_value params[] = {v_text(web_number), v_text(serial)};
    int rc = read_device_statement(conn, DEVICE_WITH_IDENTITY_SELECT, params, 2,
                                   read_device_with_identity, &read, device, identity);
    if (rc < 0)
        return -1;
    *found = rc == 1;
    *identity_found = *found && read.identity_found;
    return 0;
}

struct device_using {
    struct device_with_identity read;
    int64_t fresh;
};

/* The row of store_device_get_using()'s statement: whether the token id
 * was new, then the device with its identity, NULL when there is none. */
static int
read_device_using(void *context, const struct store_value *columns, size_t count)
{
    struct device_using *using = context;
    if (count < 2 || columns[0].type != STORE_VALUE_INTEGER)
        return -1;
    using->fresh = columns[0].integer;
    if (columns[1].type == STORE_VALUE_NULL)
        return 1; /* no such device: the token id is recorded all the same */
    return read_device_with_identity(&using->read, columns + 1, count - 1) == 1 ? 2 : -1;
}

int
store_device_get_using(struct store_conn *conn, const char *serial, const char *web_number,
                       const char *jti, int64_t jti_expires_at, int *fresh,
                       struct store_device *device, int *found,
                       struct store_identity *identity, int *identity_found)
{
    assert(web_number != NULL && jti != NULL);
    *fresh = 0;
    /* SQLite has no INSERT in a WITH, and on Citus the token id's shard is
     * not the device's: the two in a row. */
    if (conn->driver->dialect == STORE_DIALECT_SQLITE || !conn->one_database) {
        if (store_token_use(conn, jti, jti_expires_at, fresh) != 0)
            return -1;
        return store_device_get_with_identity(conn, serial, web_number, device, found,
                                              identity, identity_found);
    }
    *found = 0;
    *identity_found = 0;
    struct device_using using = {.read = {.device = device, .identity = identity}};
    struct store_value params[] = {v_text(web_number), v_text(serial), v_text(jti),
                                   v_integer(jti_expires_at)};
    /* PostgreSQL: one statement, one round trip. The insert runs whether
     * or not the device is found (a WITH's data change always does); the
     * outer row is there either way, the device's columns NULL without
     * one. */
    int rc = read_device_statement(
        conn,
        "WITH used AS (INSERT INTO used_token (jti, expires_at) VALUES ($3, $4)"
        " ON CONFLICT (jti) DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM used), q.* FROM (SELECT 1) one"
        " LEFT JOIN (" DEVICE_WITH_IDENTITY_SELECT ") q ON true",
        params, 4, read_device_using, &using, device, identity);
    if (rc < 0)
        return -1;
    *fresh = using.fresh == 1;
    *found = rc == 2;
    *identity_found = *found && using.read.identity_found;
    return 0;
}

struct device_walk {
    int (*each)(void *, const struct store_device *);
    void *context;
};

static int
walk_device(void *context, const struct store_value *columns, size_t count)
{
    struct device_walk *walk = context;
    struct store_device device;
    if (fill_device(columns, count, &device, 0) != 0)
        return -1;
    return walk->each(walk->context, &device);
}

int
store_device_each(struct store_conn *conn, const char *web_number,
                  int (*each)(void *, const struct store_device *), void *context)
{
    struct device_walk walk = {each, context};
    struct store_value param = v_text(web_number);
    return exec(conn,
                DEVICE_SELECT_LIGHT " WHERE d.web_number = $1"
                " ORDER BY d.created_at, d.serial",
                &param, 1, walk_device, &walk, NULL);
}

int
store_device_each_listed(struct store_conn *conn, int64_t issuer, int64_t now,
                         int (*each)(void *, const struct store_device *), void *context)
{
    struct device_walk walk = {each, context};
    struct store_issuer state;
    int found = 0;
    if (store_issuer_get(conn, issuer, &state, &found) != 0)
        return -1;
    struct store_value params[] = {v_integer(issuer), v_text(STORE_DEVICE_REVOKED),
                                   v_integer(now), v_text(STORE_DEVICE_ACTIVE)};
    /* Held: every certificate of the generation that has not expired.
     * Otherwise its revoked ones (the issuer index), and those of
     * suspended identities (from the few suspended identities, by their
     * index). */
    if (found && state.held_at != 0)
        return exec(conn,
                    DEVICE_SELECT_LIGHT " WHERE d.issuer = $1 AND (d.status = $2 OR"
                    " d.not_after >= $3) ORDER BY d.serial",
                    params, 3, walk_device, &walk, NULL);
    return exec(conn,
                DEVICE_SELECT_LIGHT " WHERE d.issuer = $1 AND d.status = $2"
                " UNION " DEVICE_SELECT_LIGHT " WHERE x.suspended_until IS NOT NULL"
                " AND d.issuer = $1 AND d.status = $4 AND d.not_after >= $3"
                " ORDER BY 1",
                params, 4, walk_device, &walk, NULL);
}

int
store_device_revoke(struct store_conn *conn, const char *serial,
                    const char *web_number, int64_t now, int reason, int *changed)
{
    *changed = 0;
    char owner[STORE_ID_MAX] = "";
    if (web_number == NULL) {
        struct store_value param = v_text(serial);
        int rc = exec(conn, "SELECT web_number FROM device_serial WHERE serial = $1",
                      &param, 1, read_one_key, owner, NULL);
        if (rc <= 0)
            return rc;
        web_number = owner;
    }
    struct store_value params[] = {
        v_text(serial), v_text(STORE_DEVICE_REVOKED), v_integer(now),
        v_integer(reason), v_text(STORE_DEVICE_ACTIVE), v_text(web_number),
    };
    int64_t changes = 0;
    if (exec(conn,
             "UPDATE device SET status = $2, revoked_at = $3, revocation_reason = $4"
             " WHERE web_number = $6 AND serial = $1 AND status = $5",
             params, 6, NULL, NULL, &changes) != 0 ||
        (changes > 0 && crl_bump(conn) != 0))
        return -1;
    *changed = changes == 1;
    return 0;
}

int
store_device_revoke_all(struct store_conn *conn, const char *web_number,
                        int64_t now, int reason, int64_t *count)
{
    struct store_value params[] = {
        v_text(web_number), v_text(STORE_DEVICE_REVOKED), v_integer(now),
        v_integer(reason), v_text(STORE_DEVICE_ACTIVE),
    };
    *count = 0;
    if (exec(conn,
             "UPDATE device SET status = $2, revoked_at = $3,"
             " revocation_reason = $4"
             " WHERE web_number = $1 AND status = $5",
             params, 5, NULL, NULL, count) != 0)
        return -1;
    return *count > 0 ? crl_bump(conn) : 0;
}

void
store_device_clear(struct store_device *device)
{
    free(device->certificate);
    memset(device, 0, sizeof *device);
}

/* ── Attempts ──────────────────────────────────────────────────────────── */

static int
read_limit(void *context, const struct store_value *columns, size_t count)
{
    struct store_limit *out = context;
    if (count != 3)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (columns[i].type != STORE_VALUE_INTEGER)
            return -1;
    out->window_start = columns[0].integer;
    out->strikes = columns[1].integer;
    out->next_at = columns[2].integer;
    return 1;
}

int
store_limit_lock(struct store_conn *conn, const uint8_t key[STORE_INDEX_BYTES],
                 int64_t now, struct store_limit *out)
{
    assert(conn->in_transaction && "store_limit_lock outside a transaction");
    struct store_value params[] = {v_blob(key, STORE_INDEX_BYTES), v_integer(now)};
    *out = (struct store_limit){0};
    /* One statement creates the row or, through an update that changes
     * nothing, takes its lock (SELECT ... FOR UPDATE is not SQLite, whose
     * BEGIN IMMEDIATE holds the whole database already), and reads it. */
    int rc = exec(conn,
                  "INSERT INTO attempt_limit"
                  " (limit_key, window_start, strikes, next_at, purge_at)"
                  " VALUES ($1, $2, 0, $2, $2)"
                  " ON CONFLICT (limit_key) DO UPDATE SET strikes = attempt_limit.strikes"
                  " RETURNING window_start, strikes, next_at",
                  params, 2, read_limit, out, NULL);
    if (rc != 1 && conn->error[0] == '\0')
        error_set(conn->error, sizeof conn->error, "attempt limit: malformed row");
    return rc == 1 ? 0 : -1;
}

int
store_limit_save(struct store_conn *conn, const uint8_t key[STORE_INDEX_BYTES],
                 const struct store_limit *limit, int64_t purge_at)
{
    struct store_value params[] = {
        v_blob(key, STORE_INDEX_BYTES), v_integer(limit->window_start),
        v_integer(limit->strikes), v_integer(limit->next_at), v_integer(purge_at),
    };
    return exec(conn,
                "UPDATE attempt_limit SET window_start = $2, strikes = $3, next_at = $4,"
                " purge_at = $5 WHERE limit_key = $1",
                params, 5, NULL, NULL, NULL) == 0 ? 0 : -1;
}

/* ── Single-use tokens ─────────────────────────────────────────────────── */

int
store_token_use(struct store_conn *conn, const char *jti, int64_t expires_at,
                int *fresh)
{
    struct store_value params[] = {v_text(jti), v_integer(expires_at)};
    int64_t changes = 0;
    *fresh = 0;
    if (exec(conn,
             "INSERT INTO used_token (jti, expires_at) VALUES ($1, $2)"
             " ON CONFLICT (jti) DO NOTHING",
             params, 2, NULL, NULL, &changes) != 0)
        return -1;
    *fresh = changes == 1;
    return 0;
}

/* ── Issuing CA generations ────────────────────────────────────────────── */

int
store_issuer_ensure(struct store_conn *conn, int64_t generation)
{
    struct store_value param = v_integer(generation);
    return exec(conn,
                "INSERT INTO ca_issuer (generation, held_at, epoch, built_epoch, number,"
                " this_update, der) VALUES ($1, NULL, 0, -1, 0, 0, NULL)"
                " ON CONFLICT (generation) DO NOTHING",
                &param, 1, NULL, NULL, NULL);
}

static int
read_issuer(void *context, const struct store_value *columns, size_t count)
{
    struct store_issuer *out = context;
    if (count != 2 || columns[0].type != STORE_VALUE_INTEGER)
        return -1;
    out->generation = columns[0].integer;
    out->held_at = columns[1].type == STORE_VALUE_INTEGER ? columns[1].integer : 0;
    return 1;
}

int
store_issuer_get(struct store_conn *conn, int64_t generation, struct store_issuer *out,
                 int *found)
{
    memset(out, 0, sizeof *out);
    struct store_value param = v_integer(generation);
    int rc = exec(conn, "SELECT generation, held_at FROM ca_issuer WHERE generation = $1",
                  &param, 1, read_issuer, out, NULL);
    *found = rc == 1;
    return rc < 0 ? -1 : 0;
}

int
store_issuer_hold(struct store_conn *conn, int64_t generation, int64_t now, int *found,
                  int *changed)
{
    struct store_issuer issuer;
    *changed = 0;
    if (store_issuer_get(conn, generation, &issuer, found) != 0)
        return -1;
    if (!*found)
        return 0;
    struct store_value params[] = {v_integer(generation), v_integer(now)};
    int64_t changes = 0;
    if (exec(conn,
             "UPDATE ca_issuer SET held_at = $2, epoch = epoch + 1"
             " WHERE generation = $1 AND held_at IS NULL",
             params, 2, NULL, NULL, &changes) != 0)
        return -1;
    *changed = changes == 1;
    return 0;
}

/* ── The CRLs ──────────────────────────────────────────────────────────── */

static int
read_crl(void *context, const struct store_value *columns, size_t count)
{
    struct store_crl *crl = context;
    if (count != 5)
        return -1;
    crl->epoch = column_integer(&columns[0]);
    crl->built_epoch = column_integer(&columns[1]);
    crl->number = column_integer(&columns[2]);
    crl->this_update = column_integer(&columns[3]);
    if (columns[4].type == STORE_VALUE_BLOB && columns[4].length > 0) {
        crl->der = malloc(columns[4].length);
        if (crl->der == NULL)
            return -1;
        memcpy(crl->der, columns[4].data, columns[4].length);
        crl->der_length = columns[4].length;
    }
    return 1;
}

int
store_crl_get(struct store_conn *conn, int64_t issuer, struct store_crl *out, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    struct store_value param = v_integer(issuer);
    int rc = exec(conn,
                  "SELECT epoch, built_epoch, number, this_update, der FROM ca_issuer"
                  " WHERE generation = $1",
                  &param, 1, read_crl, out, NULL);
    if (rc < 0) {
        store_crl_clear(out);
        return -1;
    }
    *found = rc == 1;
    return 0;
}

int
store_crl_put(struct store_conn *conn, int64_t issuer, int64_t number, int64_t built_epoch,
              int64_t this_update, const uint8_t *der, size_t der_length, int *stored)
{
    struct store_value params[] = {v_integer(number), v_integer(built_epoch),
                                   v_integer(this_update), v_blob(der, der_length),
                                   v_integer(number - 1), v_integer(issuer)};
    int64_t changes = 0;
    *stored = 0;
    if (exec(conn,
             "UPDATE ca_issuer SET number = $1, built_epoch = $2, this_update = $3,"
             " der = $4 WHERE generation = $6 AND number = $5",
             params, 6, NULL, NULL, &changes) != 0)
        return -1;
    *stored = changes == 1;
    return 0;
}

void
store_crl_clear(struct store_crl *crl)
{
    free(crl->der);
    memset(crl, 0, sizeof *crl);
}

/* ── Appeals ───────────────────────────────────────────────────────────── */

#define APPEAL_COLUMNS                                                          \
    "id, web_number, sealed, status, created_at, decided_at, decided_by,"      \
    " decision_reason"

static int
fill_appeal(const struct store_value *columns, size_t count, struct store_appeal *out,
            int with_sealed)
{
    memset(out, 0, sizeof *out);
    if (count != 8 || column_text_into(&columns[0], out->id, sizeof out->id) != 0 ||
        column_text_into(&columns[1], out->web_number, sizeof out->web_number) != 0 ||
        column_text_into(&columns[3], out->status, sizeof out->status) != 0 ||
        columns[2].type != STORE_VALUE_BLOB)
        return -1;
    if (with_sealed) {
        out->sealed = malloc(columns[2].length);
        if (out->sealed == NULL)
            return -1;
        memcpy(out->sealed, columns[2].data, columns[2].length);
        out->sealed_length = columns[2].length;
    }
    out->created_at = column_integer(&columns[4]);
    out->decided_at = column_integer(&columns[5]);
    if ((columns[6].type != STORE_VALUE_NULL &&
         column_text_into(&columns[6], out->decided_by, sizeof out->decided_by) != 0) ||
        (columns[7].type != STORE_VALUE_NULL &&
         column_text_into(&columns[7], out->decision_reason, sizeof out->decision_reason) != 0))
        return -1;
    return 0;
}

static int
read_appeal(void *context, const struct store_value *columns, size_t count)
{
    return fill_appeal(columns, count, context, 1) == 0 ? 1 : -1;
}

int
store_appeal_insert(struct store_conn *conn, const struct store_appeal *appeal)
{
    struct store_value params[] = {
        v_text(appeal->id), v_text(appeal->web_number),
        v_blob(appeal->sealed, appeal->sealed_length), v_text(STORE_APPEAL_PENDING),
        v_integer(appeal->created_at),
    };
    return exec(conn,
                "INSERT INTO appeal (id, web_number, sealed, status, created_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                params, 5, NULL, NULL, NULL);
}

int
store_appeal_get(struct store_conn *conn, const char *id, struct store_appeal *out, int *found)
{
    struct store_value param = v_text(id);
    memset(out, 0, sizeof *out);
    int rc = exec(conn, "SELECT " APPEAL_COLUMNS " FROM appeal WHERE id = $1", &param, 1,
                  read_appeal, out, NULL);
    if (rc < 0) {
        store_appeal_clear(out);
        return -1;
    }
    *found = rc == 1;
    return 0;
}

struct appeal_walk {
    int (*each)(void *, const struct store_appeal *);
    void *context;
};

static int
walk_appeal(void *context, const struct store_value *columns, size_t count)
{
    struct appeal_walk *walk = context;
    struct store_appeal appeal;
    if (fill_appeal(columns, count, &appeal, 1) != 0) {
        store_appeal_clear(&appeal);
        return -1;
    }
    int status = walk->each(walk->context, &appeal);
    store_appeal_clear(&appeal);
    return status;
}

int
store_appeal_each(struct store_conn *conn, const char *web_number,
                  int (*each)(void *, const struct store_appeal *), void *context)
{
    struct appeal_walk walk = {each, context};
    struct store_value param = web_number ? v_text(web_number) : v_text(STORE_APPEAL_PENDING);
    int rc = web_number
                 ? exec(conn, "SELECT " APPEAL_COLUMNS " FROM appeal WHERE web_number = $1"
                              " ORDER BY created_at, id",
                        &param, 1, walk_appeal, &walk, NULL)
                 : exec(conn, "SELECT " APPEAL_COLUMNS " FROM appeal WHERE status = $1"
                              " ORDER BY created_at, id",
                        &param, 1, walk_appeal, &walk, NULL);
    return rc < 0 ? -1 : 0;
}

int
store_appeal_decide(struct store_conn *conn, const char *id, const char *web_number,
                    const char *status, int64_t now, const char *by, const char *reason,
                    int *changed)
{
    struct store_value params[] = {v_text(id), v_text(status), v_integer(now), v_text(by),
                                   v_text(reason), v_text(STORE_APPEAL_PENDING),
                                   v_text(web_number)};
    int64_t changes = 0;
    *changed = 0;
    if (exec(conn,
             "UPDATE appeal SET status = $2, decided_at = $3, decided_by = $4,"
             " decision_reason = $5 WHERE id = $1 AND status = $6 AND web_number = $7",
             params, 7, NULL, NULL, &changes) != 0)
        return -1;
    *changed = changes == 1;
    return 0;
}

void
store_appeal_clear(struct store_appeal *appeal)
{
    free(appeal->sealed);
    memset(appeal, 0, sizeof *appeal);
}
