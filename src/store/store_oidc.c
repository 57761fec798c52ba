/* store_oidc: pending logins, authorization codes and tokens of the OpenID
 * Connect provider, by hash only; see store.h ("OpenID Connect"). */
#include "store/store.h"

#include "store/store_internal.h"
#include "util/strings.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static struct store_value
v_hash(const uint8_t hash[STORE_OIDC_HASH_BYTES])
{
    return v_blob(hash, STORE_OIDC_HASH_BYTES);
}

static int
column_hash(const struct store_value *value, uint8_t out[STORE_OIDC_HASH_BYTES])
{
    if (value->type != STORE_VALUE_BLOB || value->length != STORE_OIDC_HASH_BYTES)
        return -1;
    memcpy(out, value->data, STORE_OIDC_HASH_BYTES);
    return 0;
}

/* Row reader for a lookup table's login hash. */
static int
read_hash(void *context, const struct store_value *columns, size_t count)
{
    if (count < 1 || column_hash(&columns[0], context) != 0)
        return -1;
    return 1;
}

/* Sets a default message when a row reader failed without one. */
static int
row_failed(struct store_conn *conn, const char *what)
{
    if (conn->error[0] == '\0')
        error_set(conn->error, sizeof conn->error, "malformed %s row", what);
    return -1;
}

/* ── Logins and codes ──────────────────────────────────────────────────── */

/* A login's columns as reads take them, each after the prefix t ("" or
 * a table alias and its dot). */
#define LOGIN_READ_COLUMNS_OF(t)                                                        \
    t "login_hash, " t "user_code_hash, " t "code_hash, " t "client_id, "               \
    t "redirect_uri, " t "claims, " t "state, " t "nonce, " t "code_challenge, "          \
    t "status, " t "web_number, " t "released, " t "created_at, " t "expires_at, "       \
    t "auth_time, " t "code_expires_at, " t "code_uses, " t "purge_at, " t "purpose, "   \
    t "opened_from, " t "dpop_jkt"
#define LOGIN_READ_COLUMNS LOGIN_READ_COLUMNS_OF("")
#define LOGIN_READ_COUNT 21

static int
read_login(void *context, const struct store_value *columns, size_t count)
{
    struct store_oidc_login *login = context;
    int failed = 0;
    memset(login, 0, sizeof *login);
    if (count != LOGIN_READ_COUNT || column_hash(&columns[0], login->login_hash) != 0 ||
        column_hash(&columns[1], login->user_code_hash) != 0 ||
        column_hash(&columns[2], login->code_hash) != 0 ||
        column_text_into(&columns[3], login->client_id, sizeof login->client_id) != 0 ||
        column_text_into(&columns[8], login->code_challenge,
                         sizeof login->code_challenge) != 0 ||
        column_text_into(&columns[9], login->status, sizeof login->status) != 0)
        return -1;
    if (columns[10].type != STORE_VALUE_NULL &&
        column_text_into(&columns[10], login->web_number,
                         sizeof login->web_number) != 0)
        return -1;
    login->redirect_uri = column_text(&columns[4], &failed);
    login->claims = column_text(&columns[5], &failed);
    login->state = column_text(&columns[6], &failed);
    login->nonce = column_text(&columns[7], &failed);
    login->released = column_text(&columns[11], &failed);
    login->created_at = column_integer(&columns[12]);
    login->expires_at = column_integer(&columns[13]);
    login->auth_time = column_integer(&columns[14]);
    login->code_expires_at = column_integer(&columns[15]);
    login->code_uses = column_integer(&columns[16]);
    login->purge_at = column_integer(&columns[17]);
    login->purpose = column_text(&columns[18], &failed);
    login->opened_from = column_text(&columns[19], &failed);
    login->dpop_jkt = column_text(&columns[20], &failed);
    if (failed || login->redirect_uri == NULL || login->claims == NULL) {
        store_oidc_login_clear(login);
        return -1;
    }
    return 1;
}

/* SQLite's insert is ON CONFLICT DO NOTHING: a taken user code (or, never
 * in practice, code or login id) writes nothing, and the caller draws
 * again. PostgreSQL's is plain, after the user code's own lookup row. */
#define LOGIN_INSERT_PLAIN_SQL                                                         \
    "INSERT INTO oidc_login (login_hash, user_code_hash, code_hash,"                   \
    " client_id, redirect_uri, claims, state, nonce, code_challenge,"                  \
    " status, created_at, expires_at, purge_at, code_uses, purpose, opened_from,"      \
    " dpop_jkt)"                                                                       \
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0,"              \
    " $14, $15, $16)"
#define LOGIN_INSERT_SQL LOGIN_INSERT_PLAIN_SQL " ON CONFLICT DO NOTHING"

int
store_oidc_login_insert(struct store_conn *conn, const struct store_oidc_login *login,
                        int *inserted)
{
    struct store_value params[] = {
        v_hash(login->login_hash), v_hash(login->user_code_hash),
        v_hash(login->code_hash), v_text(login->client_id),
        v_text(login->redirect_uri), v_text(login->claims), v_text(login->state),
        v_text(login->nonce), v_text(login->code_challenge),
        v_text(STORE_LOGIN_PENDING), v_integer(login->created_at),
        v_integer(login->expires_at), v_integer(login->purge_at),
        v_text(login->purpose), v_text(login->opened_from), v_text(login->dpop_jkt),
    };
    /* The lookups take their keys' places: ($1 login, $2 user code, $3
     * code, $13 purge_at) in the order of their statements below. */
    struct store_value user_code[] = {params[1], params[0], params[12]};
    struct store_value code[] = {params[2], params[0], params[12]};
    int64_t changes = 0;
    *inserted = 0;
    assert(!conn->in_transaction);
    /* On SQLite oidc_login's own UNIQUE user_code_hash and code_hash do
     * what the lookup tables do for PostgreSQL and Citus (find a login's
     * shard): one statement, and three B-trees fewer for each lookup. */
    if (conn->driver->dialect == STORE_DIALECT_SQLITE) {
        if (exec(conn, LOGIN_INSERT_SQL, params, sizeof params / sizeof *params, NULL, NULL,
                 &changes) != 0)
            return -1;
        *inserted = changes == 1;
        return 0;
    }
    /* PostgreSQL without Citus: one statement, one round trip, atomic
     * without BEGIN and COMMIT: the user code's lookup row unless taken,
     * then the code's and the login, only if it was written. (Citus
     * distributes the three tables by different keys, which a modifying
     * WITH cannot span.) */
    if (conn->one_database) {
        if (exec(conn,
                 "WITH user_code AS ("
                 "INSERT INTO oidc_user_code (user_code_hash, login_hash, purge_at)"
                 " VALUES ($2, $1, $13) ON CONFLICT DO NOTHING RETURNING 1),"
                 " code AS (INSERT INTO oidc_code (code_hash, login_hash, purge_at)"
                 " SELECT $3, $1, $13 FROM user_code)"
                 " INSERT INTO oidc_login (login_hash, user_code_hash, code_hash,"
                 " client_id, redirect_uri, claims, state, nonce, code_challenge,"
                 " status, created_at, expires_at, purge_at, code_uses, purpose, opened_from,"
                 " dpop_jkt)"
                 " SELECT CAST($1 AS BYTEA), CAST($2 AS BYTEA), CAST($3 AS BYTEA),"
                 " CAST($4 AS TEXT), CAST($5 AS TEXT), CAST($6 AS TEXT), CAST($7 AS TEXT),"
                 " CAST($8 AS TEXT), CAST($9 AS TEXT), CAST($10 AS TEXT),"
                 " CAST($11 AS BIGINT), CAST($12 AS BIGINT), CAST($13 AS BIGINT), 0,"
                 " CAST($14 AS TEXT), CAST($15 AS TEXT), CAST($16 AS TEXT) FROM user_code",
                 params, sizeof params / sizeof *params, NULL, NULL, &changes) != 0)
            /* A code or login key taken (keyed by hashes of random
             * secrets: a collision is for tests): nothing written, the
             * caller draws again. */
            return conn->driver->conflict != NULL && conn->driver->conflict(conn->connection)
                       ? 0
                       : -1;
        *inserted = changes == 1;
        return 0;
    }
    if (store_begin(conn) != 0)
        return -1;
    if (exec(conn,
             "INSERT INTO oidc_user_code (user_code_hash, login_hash, purge_at)"
             " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
             user_code, 3, NULL, NULL, &changes) != 0)
        goto fail;
    if (changes != 1)
        goto taken; /* a user code still in use: the likely collision */
    /* The code and the login go with the commit, in one round trip (they
     * are keyed by hashes of random secrets: a collision is for tests). A
     * key already taken fails the commit, which wrote nothing. */
    if (exec_queued(conn,
                    "INSERT INTO oidc_code (code_hash, login_hash, purge_at)"
                    " VALUES ($1, $2, $3)",
                    code, 3) != 0 ||
        exec_queued(conn, LOGIN_INSERT_PLAIN_SQL, params, sizeof params / sizeof *params) != 0)
        goto fail;
    if (store_commit(conn) != 0) {
        if (conn->driver->conflict != NULL && conn->driver->conflict(conn->connection))
            goto taken;
        goto fail;
    }
    *inserted = 1;
    return 0;
taken:
    /* Nothing written: the caller draws new secrets and tries again. */
    store_rollback(conn);
    return 0;
fail:
    store_rollback(conn);
    return -1;
}

static int
login_query(struct store_conn *conn, const char *sql,
            const uint8_t hash[STORE_OIDC_HASH_BYTES], struct store_oidc_login *out,
            int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    struct store_value param = v_hash(hash);
    int rc = exec(conn, sql, &param, 1, read_login, out, NULL);
    if (rc < 0)
        return row_failed(conn, "login");
    *found = rc == 1;
    return 0;
}

int
store_oidc_login_get(struct store_conn *conn,
                     const uint8_t login_hash[STORE_OIDC_HASH_BYTES],
                     struct store_oidc_login *out, int *found)
{
    return login_query(conn,
                       "SELECT " LOGIN_READ_COLUMNS
                       " FROM oidc_login WHERE login_hash = $1",
                       login_hash, out, found);
}

/* The platform columns that follow a login's or a token's in a joined
 * read (all NULL when no platform has its client id: *platform stays
 * zeroed). 0, or -1 for a malformed row. */
static int
read_joined_platform(const struct store_value *columns, struct store_platform *platform)
{
    if (columns[0].type == STORE_VALUE_NULL)
        return 0;
    return store_platform_fill(columns, STORE_PLATFORM_COLUMN_COUNT, platform);
}

/* A login and its platform (NULL columns when the platform is gone). */
struct login_platform {
    struct store_oidc_login *login;
    struct store_platform *platform;
};

static int
read_login_platform(void *context, const struct store_value *columns, size_t count)
{
    struct login_platform *row = context;
    if (count != LOGIN_READ_COUNT + STORE_PLATFORM_COLUMN_COUNT ||
        read_login(row->login, columns, LOGIN_READ_COUNT) != 1)
        return -1;
    if (read_joined_platform(columns + LOGIN_READ_COUNT, row->platform) != 0) {
        store_oidc_login_clear(row->login);
        return -1;
    }
    return 1;
}

#define LOGIN_PLATFORM_SELECT                                                       \
    "SELECT " LOGIN_READ_COLUMNS_OF("l.") ", " STORE_PLATFORM_COLUMNS_OF("p.")       \
    " FROM oidc_login l LEFT JOIN platform p ON p.client_id = l.client_id"

int
store_oidc_login_get_by_user_code(struct store_conn *conn,
                                  const uint8_t user_code_hash[STORE_OIDC_HASH_BYTES],
                                  struct store_oidc_login *out, struct store_platform *platform,
                                  int *found)
{
    uint8_t login_hash[STORE_OIDC_HASH_BYTES];
    memset(out, 0, sizeof *out);
    memset(platform, 0, sizeof *platform);
    *found = 0;
    struct login_platform row = {out, platform};
    struct store_value param = v_hash(user_code_hash);
    /* SQLite: the login's own user_code_hash (see store_oidc_login_insert).
     * PostgreSQL without Citus: the lookup row in the same statement. On
     * Citus the lookup row first, then the login's shard. The platform is
     * a reference table, joined everywhere. */
    const char *sql =
        conn->driver->dialect == STORE_DIALECT_SQLITE
            ? LOGIN_PLATFORM_SELECT " WHERE l.user_code_hash = $1"
            : LOGIN_PLATFORM_SELECT " WHERE l.login_hash ="
                                    " (SELECT login_hash FROM oidc_user_code"
                                    " WHERE user_code_hash = $1)";
    if (conn->driver->dialect == STORE_DIALECT_POSTGRESQL && !conn->one_database) {
        int rc = exec(conn, "SELECT login_hash FROM oidc_user_code WHERE user_code_hash = $1",
                      &param, 1, read_hash, login_hash, NULL);
        if (rc < 0)
            return row_failed(conn, "user code");
        if (rc == 0)
            return 0;
        param = v_hash(login_hash);
        sql = LOGIN_PLATFORM_SELECT " WHERE l.login_hash = $1";
    }
    int rc = exec(conn, sql, &param, 1, read_login_platform, &row, NULL);
    if (rc < 0)
        return row_failed(conn, "login");
    *found = rc == 1;
    return 0;
}

#define LOGIN_DECIDE_PARAMS 8
#define LOGIN_DECIDE_SQL                                                          \
    "UPDATE oidc_login SET status = $2, web_number = $3, released = $4,"          \
    " auth_time = $5, code_expires_at = $6"                                       \
    " WHERE login_hash = $1 AND status = $8 AND expires_at > $7"

static void
decide_params(const uint8_t login_hash[STORE_OIDC_HASH_BYTES], const char *status,
              const char *web_number, const char *released, int64_t now,
              int64_t code_expires_at, struct store_value params[LOGIN_DECIDE_PARAMS])
{
    int approve = strcmp(status, STORE_LOGIN_APPROVED) == 0;
    params[0] = v_hash(login_hash);
    params[1] = v_text(status);
    params[2] = v_text(web_number);
    params[3] = approve ? v_text(released) : v_null();
    params[4] = approve ? v_integer(now) : v_null();
    params[5] = approve ? v_integer(code_expires_at) : v_null();
    params[6] = v_integer(now);
    params[7] = v_text(STORE_LOGIN_PENDING);
}

int
store_oidc_login_decide(struct store_conn *conn,
                        const uint8_t login_hash[STORE_OIDC_HASH_BYTES],
                        const char *status, const char *web_number,
                        const char *released, int64_t now, int64_t code_expires_at,
                        int *changed)
{
    struct store_value params[LOGIN_DECIDE_PARAMS];
    decide_params(login_hash, status, web_number, released, now, code_expires_at, params);
    int64_t changes = 0;
    if (exec(conn, LOGIN_DECIDE_SQL, params, LOGIN_DECIDE_PARAMS, NULL, NULL, &changes) != 0)
        return -1;
    *changed = changes == 1;
    return 0;
}

int
store_oidc_login_decide_logged(struct store_conn *conn,
                               const uint8_t login_hash[STORE_OIDC_HASH_BYTES],
                               const char *status, const char *web_number,
                               const char *released, int64_t now, int64_t code_expires_at,
                               const struct store_audit_event *event, int *changed)
{
    assert(!conn->in_transaction && "store_oidc_login_decide_logged runs its own");
    *changed = 0;
    /* PostgreSQL without Citus: one statement, so one round trip (the
     * decision, then its event if it decided: the insert's row count is
     * the decision's). A statement is atomic without BEGIN and COMMIT.
     * Citus distributes the two tables by different keys, which a
     * modifying WITH cannot span; SQLite has no modifying WITH. */
    if (conn->driver->dialect == STORE_DIALECT_POSTGRESQL && conn->one_database) {
        struct store_value params[LOGIN_DECIDE_PARAMS + STORE_AUDIT_PARAMS];
        decide_params(login_hash, status, web_number, released, now, code_expires_at, params);
        store_audit_params(event, params + LOGIN_DECIDE_PARAMS);
        int64_t changes = 0;
        if (exec(conn,
                 "WITH decided AS (" LOGIN_DECIDE_SQL " RETURNING 1)"
                 " INSERT INTO audit_event"
                 " (time, actor, action, subject, details, salt, sealed, commitment)"
                 " SELECT CAST($9 AS BIGINT), CAST($10 AS TEXT), CAST($11 AS TEXT),"
                 " CAST($12 AS TEXT), CAST($13 AS TEXT), CAST($14 AS BYTEA),"
                 " CAST($15 AS BYTEA), CAST($16 AS BYTEA) FROM decided",
                 params, sizeof params / sizeof *params, NULL, NULL, &changes) != 0)
            return -1;
        *changed = changes == 1;
        return 0;
    }
    if (store_begin(conn) != 0)
        return -1;
    if (store_oidc_login_decide(conn, login_hash, status, web_number, released, now,
                                code_expires_at, changed) != 0)
        goto fail;
    if (!*changed) {
        store_rollback(conn); /* nothing written */
        return 0;
    }
    if (store_audit_append(conn, event, NULL) != 0 || store_commit(conn) != 0)
        goto fail;
    return 0;
fail:
    store_rollback(conn);
    *changed = 0;
    return -1;
}

/* A presented login and its identity's status (the column after the
 * login's; NULL when the identity has no row). */
struct login_status {
    struct store_oidc_login *login;
    char *status; /* STORE_STATUS_MAX */
};

static int
read_login_status(void *context, const struct store_value *columns, size_t count)
{
    struct login_status *row = context;
    if (count != LOGIN_READ_COUNT + 1 || read_login(row->login, columns, LOGIN_READ_COUNT) != 1)
        return -1;
    if (columns[LOGIN_READ_COUNT].type != STORE_VALUE_NULL &&
        column_text_into(&columns[LOGIN_READ_COUNT], row->status, STORE_STATUS_MAX) != 0) {
        store_oidc_login_clear(row->login);
        return -1;
    }
    return 1;
}

/* The presented login's columns and its identity's status (SQLite and
 * PostgreSQL without Citus). */
#define CODE_PRESENTED                                                                 \
    " RETURNING " LOGIN_READ_COLUMNS ", (SELECT status FROM identity i"               \
    " WHERE i.web_number = oidc_login.web_number)"

int
store_oidc_code_present(struct store_conn *conn,
                        const uint8_t code_hash[STORE_OIDC_HASH_BYTES],
                        struct store_oidc_login *out, int *found,
                        char identity_status[STORE_STATUS_MAX])
{
    uint8_t login_hash[STORE_OIDC_HASH_BYTES];
    memset(out, 0, sizeof *out);
    *found = 0;
    identity_status[0] = '\0';
    struct store_value lookup = v_hash(code_hash);
    struct login_status row = {out, identity_status};
    int rc;
    if (conn->driver->dialect == STORE_DIALECT_SQLITE) { /* see store_oidc_login_insert */
        struct store_value params[] = {lookup, v_text(STORE_LOGIN_APPROVED)};
        rc = exec(conn,
                  "UPDATE oidc_login SET code_uses = code_uses + 1"
                  " WHERE code_hash = $1 AND status = $2" CODE_PRESENTED,
                  params, 2, read_login_status, &row, NULL);
        if (rc < 0)
            return row_failed(conn, "login");
        *found = rc == 1;
        return 0;
    }
    if (conn->one_database) { /* as in store_oidc_login_get_by_user_code */
        struct store_value params[] = {lookup, v_text(STORE_LOGIN_APPROVED)};
        rc = exec(conn,
                  "UPDATE oidc_login SET code_uses = code_uses + 1"
                  " WHERE login_hash = (SELECT login_hash FROM oidc_code WHERE code_hash = $1)"
                  " AND code_hash = $1 AND status = $2" CODE_PRESENTED,
                  params, 2, read_login_status, &row, NULL);
        if (rc < 0)
            return row_failed(conn, "login");
        *found = rc == 1;
        return 0;
    }
    rc = exec(conn, "SELECT login_hash FROM oidc_code WHERE code_hash = $1",
              &lookup, 1, read_hash, login_hash, NULL);
    if (rc < 0)
        return row_failed(conn, "code");
    if (rc == 0)
        return 0;
    struct store_value params[] = {v_hash(login_hash), v_hash(code_hash),
                                   v_text(STORE_LOGIN_APPROVED)};
    rc = exec(conn,
              "UPDATE oidc_login SET code_uses = code_uses + 1"
              " WHERE login_hash = $1 AND code_hash = $2 AND status = $3"
              " RETURNING " LOGIN_READ_COLUMNS,
              params, 3, read_login, out, NULL);
    if (rc < 0)
        return row_failed(conn, "login");
    *found = rc == 1;
    return 0;
}

void
store_oidc_login_clear(struct store_oidc_login *login)
{
    free(login->redirect_uri);
    free(login->claims);
    free(login->state);
    free(login->nonce);
    free(login->purpose);
    free(login->opened_from);
    free(login->dpop_jkt);
    free(login->released);
    memset(login, 0, sizeof *login);
}

/* ── Pushed authorization requests ─────────────────────────────────────── */

int
store_oidc_par_insert(struct store_conn *conn, const struct store_oidc_par *par)
{
    struct store_value params[] = {
        v_hash(par->request_hash), v_text(par->client_id), v_text(par->params),
        v_text(par->dpop_jkt), v_integer(par->expires_at),
    };
    return exec(conn,
                "INSERT INTO oidc_par (request_hash, client_id, params, dpop_jkt, expires_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                params, sizeof params / sizeof *params, NULL, NULL, NULL);
}

static int
read_par(void *context, const struct store_value *columns, size_t count)
{
    struct store_oidc_par *par = context;
    int failed = 0;
    if (count != 5 || column_hash(&columns[0], par->request_hash) != 0 ||
        column_text_into(&columns[1], par->client_id, sizeof par->client_id) != 0)
        return -1;
    par->params = column_text(&columns[2], &failed);
    par->dpop_jkt = column_text(&columns[3], &failed);
    par->expires_at = column_integer(&columns[4]);
    if (failed || par->params == NULL) {
        store_oidc_par_clear(par);
        return -1;
    }
    return 1;
}

int
store_oidc_par_take(struct store_conn *conn,
                    const uint8_t request_hash[STORE_OIDC_HASH_BYTES],
                    struct store_oidc_par *out, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    struct store_value param = v_hash(request_hash);
    /* One statement: of two requests presenting the same request_uri at
     * once, one deletes the row and gets it, the other finds nothing. */
    int rc = exec(conn,
                  "DELETE FROM oidc_par WHERE request_hash = $1"
                  " RETURNING request_hash, client_id, params, dpop_jkt, expires_at",
                  &param, 1, read_par, out, NULL);
    if (rc < 0)
        return row_failed(conn, "pushed request");
    *found = rc == 1;
    return 0;
}

void
store_oidc_par_clear(struct store_oidc_par *par)
{
    if (par->params != NULL)
        secret_wipe(par->params, strlen(par->params));
    free(par->params);
    free(par->dpop_jkt);
    memset(par, 0, sizeof *par);
}

/* ── Tokens ────────────────────────────────────────────────────────────── */

#define TOKEN_COLUMNS                                                          \
    "t.token_hash, t.kind, t.grant_id, t.client_id, t.web_number, t.sub,"     \
    " t.claims, t.auth_time, t.created_at, t.expires_at, t.status, i.status," \
    " i.person_id, t.rotated_at, t.dpop_jkt"
#define TOKEN_COLUMN_COUNT 15

static int
read_token(void *context, const struct store_value *columns, size_t count)
{
    struct store_oidc_token *token = context;
    int failed = 0;
    memset(token, 0, sizeof *token);
    if (count != TOKEN_COLUMN_COUNT || column_hash(&columns[0], token->token_hash) != 0 ||
        column_text_into(&columns[1], token->kind, sizeof token->kind) != 0 ||
        column_hash(&columns[2], token->grant_id) != 0 ||
        column_text_into(&columns[3], token->client_id, sizeof token->client_id) != 0 ||
        column_text_into(&columns[4], token->web_number, sizeof token->web_number) != 0 ||
        column_text_into(&columns[5], token->sub, sizeof token->sub) != 0 ||
        column_text_into(&columns[10], token->status, sizeof token->status) != 0)
        return -1;
    /* An identity row always exists for a token; tolerate its absence as
     * "not active" rather than failing. */
    if (columns[11].type == STORE_VALUE_TEXT &&
        (column_text_into(&columns[11], token->identity_status,
                          sizeof token->identity_status) != 0 ||
         column_text_into(&columns[12], token->person_id,
                          sizeof token->person_id) != 0))
        return -1;
    token->claims = column_text(&columns[6], &failed);
    token->auth_time = column_integer(&columns[7]);
    token->created_at = column_integer(&columns[8]);
    token->expires_at = column_integer(&columns[9]);
    token->rotated_at = columns[13].type == STORE_VALUE_INTEGER ? columns[13].integer : 0;
    if (columns[14].type != STORE_VALUE_NULL &&
        column_text_into(&columns[14], token->dpop_jkt, sizeof token->dpop_jkt) != 0)
        return -1;
    if (failed || token->claims == NULL) {
        store_oidc_token_clear(token);
        return -1;
    }
    return 1;
}

int
store_oidc_token_insert(struct store_conn *conn, const struct store_oidc_token *token)
{
    struct store_value params[] = {
        v_hash(token->token_hash), v_text(token->kind), v_hash(token->grant_id),
        v_text(token->client_id), v_text(token->web_number), v_text(token->sub),
        v_text(token->claims), v_integer(token->auth_time),
        v_integer(token->created_at), v_integer(token->expires_at),
        v_text(STORE_TOKEN_ACTIVE),
        token->dpop_jkt[0] ? v_text(token->dpop_jkt) : v_null(),
    };
    struct store_value lookup[] = {params[0], params[4], params[9]};
    /* The lookup row finds a token's shard on PostgreSQL and Citus, where
     * the table is keyed by (web_number, token_hash); SQLite's oidc_token
     * is keyed by token_hash alone, and the row would only be three more
     * B-tree writes per token. */
    if (conn->driver->dialect != STORE_DIALECT_SQLITE &&
        exec_queued(conn,
                    "INSERT INTO oidc_token_hash (token_hash, web_number, expires_at)"
                    " VALUES ($1, $2, $3)",
                    lookup, 3) != 0)
        return -1;
    return exec_queued(conn,
                       "INSERT INTO oidc_token (token_hash, kind, grant_id, client_id,"
                       " web_number, sub, claims, auth_time, created_at, expires_at,"
                       " status, dpop_jkt)"
                       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                       params, sizeof params / sizeof *params);
}

/* A token and, when asked, its platform (NULL columns when gone). */
struct token_platform {
    struct store_oidc_token *token;
    struct store_platform *platform;
};

static int
read_token_platform(void *context, const struct store_value *columns, size_t count)
{
    struct token_platform *row = context;
    if (count != TOKEN_COLUMN_COUNT + STORE_PLATFORM_COLUMN_COUNT ||
        read_token(row->token, columns, TOKEN_COLUMN_COUNT) != 1)
        return -1;
    if (read_joined_platform(columns + TOKEN_COLUMN_COUNT, row->platform) != 0) {
        store_oidc_token_clear(row->token);
        return -1;
    }
    return 1;
}

/* token and identity are co-located by web number (one shard on Citus);
 * platform is a reference table. */
#define TOKEN_FROM " FROM oidc_token t LEFT JOIN identity i ON i.web_number = t.web_number"
#define TOKEN_SELECT "SELECT " TOKEN_COLUMNS TOKEN_FROM
#define TOKEN_PLATFORM_SELECT                                                     \
    "SELECT " TOKEN_COLUMNS ", " STORE_PLATFORM_COLUMNS_OF("p.") TOKEN_FROM        \
    " LEFT JOIN platform p ON p.client_id = t.client_id"
/* SQLite: keyed by token_hash, no lookup (see store_oidc_token_insert).
 * PostgreSQL without Citus: the lookup row in the same statement. Citus:
 * the lookup row first ($1 its web number, $2 the hash). */
#define TOKEN_KEY_HASH "t.token_hash = $1"
#define TOKEN_KEY_LOOKUP                                                              \
    "t.web_number = (SELECT web_number FROM oidc_token_hash WHERE token_hash = $1)"   \
    " AND t.token_hash = $1"
#define TOKEN_BY_HASH " WHERE " TOKEN_KEY_HASH
#define TOKEN_BY_LOOKUP " WHERE " TOKEN_KEY_LOOKUP
#define TOKEN_BY_SHARD " WHERE t.web_number = $1 AND t.token_hash = $2"

/* Citus: the web number of the token with this hash, from its lookup row,
 * into web_number. 1 found, 0 none, -1 failed. */
static int
token_shard(struct store_conn *conn, const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
            char web_number[STORE_ID_MAX])
{
    struct store_value param = v_hash(token_hash);
    int rc = exec(conn, "SELECT web_number FROM oidc_token_hash WHERE token_hash = $1",
                  &param, 1, read_one_key, web_number, NULL);
    return rc < 0 ? row_failed(conn, "token lookup") : rc;
}

/* store_oidc_token_get(), with the platform into *platform when not NULL. */
static int
token_get(struct store_conn *conn, const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
          struct store_oidc_token *out, struct store_platform *platform, int *found)
{
    memset(out, 0, sizeof *out);
    if (platform != NULL)
        memset(platform, 0, sizeof *platform);
    *found = 0;
    char web_number[STORE_ID_MAX] = "";
    struct store_value params[] = {v_hash(token_hash), v_hash(token_hash)};
    size_t count = 1;
    const char *sql;
    if (conn->driver->dialect == STORE_DIALECT_SQLITE)
        sql = platform ? TOKEN_PLATFORM_SELECT TOKEN_BY_HASH : TOKEN_SELECT TOKEN_BY_HASH;
    else if (conn->one_database)
        sql = platform ? TOKEN_PLATFORM_SELECT TOKEN_BY_LOOKUP : TOKEN_SELECT TOKEN_BY_LOOKUP;
    else {
        int rc = token_shard(conn, token_hash, web_number);
        if (rc <= 0)
            return rc;
        params[0] = v_text(web_number);
        count = 2;
        sql = platform ? TOKEN_PLATFORM_SELECT TOKEN_BY_SHARD : TOKEN_SELECT TOKEN_BY_SHARD;
    }
    struct token_platform row = {out, platform};
    int rc = platform ? exec(conn, sql, params, count, read_token_platform, &row, NULL)
                      : exec(conn, sql, params, count, read_token, out, NULL);
    if (rc < 0)
        return row_failed(conn, "token");
    *found = rc == 1;
    return 0;
}

int
store_oidc_token_get(struct store_conn *conn,
                     const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                     struct store_oidc_token *out, int *found)
{
    return token_get(conn, token_hash, out, NULL, found);
}

int
store_oidc_token_get_with_platform(struct store_conn *conn,
                                   const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                                   struct store_oidc_token *out,
                                   struct store_platform *platform, int *found)
{
    assert(platform != NULL);
    return token_get(conn, token_hash, out, platform, found);
}

int
store_oidc_token_set_status(struct store_conn *conn, const char *web_number,
                            const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                            const char *status, int *changed)
{
    struct store_value params[] = {v_hash(token_hash), v_text(status),
                                   v_text(STORE_TOKEN_ACTIVE), v_text(web_number)};
    int64_t changes = 0;
    *changed = 0;
    if (exec(conn,
             "UPDATE oidc_token SET status = $2"
             " WHERE web_number = $4 AND token_hash = $1 AND status = $3",
             params, 4, NULL, NULL, &changes) != 0)
        return -1;
    *changed = changes == 1;
    return 0;
}

int
store_oidc_grant_revoke(struct store_conn *conn, const char *web_number,
                        const uint8_t grant_id[STORE_OIDC_HASH_BYTES], int64_t *count)
{
    struct store_value params[] = {v_hash(grant_id), v_text(STORE_TOKEN_REVOKED),
                                   v_text(web_number)};
    int64_t changes = 0;
    if (exec(conn,
             "UPDATE oidc_token SET status = $2"
             " WHERE web_number = $3 AND grant_id = $1 AND status <> $2",
             params, 3, NULL, NULL, &changes) != 0)
        return -1;
    if (count != NULL)
        *count = changes;
    return 0;
}

int
store_oidc_identity_revoke(struct store_conn *conn, const char *web_number,
                           int64_t *count)
{
    struct store_value params[] = {v_text(web_number), v_text(STORE_TOKEN_REVOKED)};
    int64_t changes = 0;
    if (exec(conn,
             "UPDATE oidc_token SET status = $2 WHERE web_number = $1 AND status <> $2",
             params, 2, NULL, NULL, &changes) != 0)
        return -1;
    if (count != NULL)
        *count = changes;
    return 0;
}

struct grant_walk {
    int (*each)(void *, const char *, const char *, const char *, int64_t, int64_t);
    void *context;
};

static int
grant_row(void *context, const struct store_value *columns, size_t count)
{
    struct grant_walk *walk = context;
    if (count != 5 || columns[3].type != STORE_VALUE_INTEGER ||
        columns[4].type != STORE_VALUE_INTEGER)
        return -1;
    int failed = 0;
    char *client_id = column_text(&columns[0], &failed);
    char *name = column_text(&columns[1], &failed);
    char *claims = column_text(&columns[2], &failed);
    int rc = -1;
    if (!failed && client_id && name && claims)
        rc = walk->each(walk->context, client_id, name, claims, columns[3].integer,
                        columns[4].integer);
    free(client_id);
    free(name);
    free(claims);
    return rc;
}

/* store_oidc_refresh_take()'s statement: the token's columns as
 * read_token() takes them, the identity's two NULL (the EXISTS has
 * checked its status; the caller is told it is active), unqualified
 * (SQLite's RETURNING does not know the alias). $1 the token's
 * hash, $2 rotated, $3 now, $4 the refresh kind, $5 the client id, $6 the
 * token's active status, $7 the identity's; on Citus $8 its web number.
 * identity is co-located with oidc_token by web number on Citus. */
#define REFRESH_TAKE                                                                \
    "UPDATE oidc_token AS t SET status = $2, rotated_at = $3"                      \
    " WHERE t.kind = $4 AND t.client_id = $5 AND t.status = $6 AND t.expires_at > $3" \
    " AND EXISTS (SELECT 1 FROM identity i WHERE i.web_number = t.web_number"      \
    " AND i.status = $7)"
#define REFRESH_TAKEN                                                               \
    " RETURNING token_hash, kind, grant_id, client_id, web_number, sub, claims,"     \
    " auth_time, created_at, expires_at, status, NULL, NULL, rotated_at, dpop_jkt"

/* The end of a take: exec()'s rc with the taken row in *out, whose
 * identity the statement found active. 0 with *taken, or -1. */
static int
taken_row(struct store_conn *conn, int rc, struct store_oidc_token *out, int *taken)
{
    if (rc < 0)
        return row_failed(conn, "token");
    if (rc == 1 && string_copy(out->identity_status, sizeof out->identity_status,
                               STORE_IDENTITY_ACTIVE) != 0) {
        store_oidc_token_clear(out);
        return -1;
    }
    *taken = rc == 1;
    return 0;
}

int
store_oidc_refresh_take(struct store_conn *conn, const uint8_t token_hash[STORE_OIDC_HASH_BYTES],
                        const char *client_id, int64_t now, struct store_oidc_token *out,
                        int *taken)
{
    memset(out, 0, sizeof *out);
    *taken = 0;
    char web_number[STORE_ID_MAX] = "";
    struct store_value params[] = {
        v_hash(token_hash), v_text(STORE_TOKEN_ROTATED), v_integer(now),
        v_text(STORE_TOKEN_REFRESH), v_text(client_id), v_text(STORE_TOKEN_ACTIVE),
        v_text(STORE_IDENTITY_ACTIVE), v_null(),
    };
    size_t count = 7;
    const char *sql;
    /* Found by hash as token_get() finds it. */
    if (conn->driver->dialect == STORE_DIALECT_SQLITE)
        sql = REFRESH_TAKE " AND " TOKEN_KEY_HASH REFRESH_TAKEN;
    else if (conn->one_database)
        sql = REFRESH_TAKE " AND " TOKEN_KEY_LOOKUP REFRESH_TAKEN;
    else {
        int rc = token_shard(conn, token_hash, web_number);
        if (rc <= 0)
            return rc;
        params[7] = v_text(web_number);
        count = 8;
        sql = REFRESH_TAKE " AND t.web_number = $8 AND t.token_hash = $1" REFRESH_TAKEN;
    }
    return taken_row(conn, exec(conn, sql, params, count, read_token, out, NULL), out, taken);
}

int
store_oidc_token_insert_successor(struct store_conn *conn, const struct store_oidc_token *old,
                                  const uint8_t hash[STORE_OIDC_HASH_BYTES], const char *kind,
                                  const char *claims, int64_t now, int64_t expires_at)
{
    struct store_oidc_token token = *old; /* claims borrowed, not cleared */
    memcpy(token.token_hash, hash, STORE_OIDC_HASH_BYTES);
    if (string_copy(token.kind, sizeof token.kind, kind) != 0)
        return -1;
    if (claims != NULL)
        token.claims = (char *)claims;
    token.created_at = now;
    token.expires_at = expires_at;
    return store_oidc_token_insert(conn, &token);
}

int
store_oidc_refresh_rotate(struct store_conn *conn,
                          const uint8_t token_hash[STORE_OIDC_HASH_BYTES], const char *client_id,
                          int64_t now, const char *dpop_jkt,
                          const uint8_t access_hash[STORE_OIDC_HASH_BYTES],
                          int64_t access_expires_at,
                          const uint8_t refresh_hash[STORE_OIDC_HASH_BYTES],
                          int64_t refresh_expires_at, struct store_oidc_token *out, int *taken)
{
    assert(!conn->in_transaction && "store_oidc_refresh_rotate runs its own");
    memset(out, 0, sizeof *out);
    *taken = 0;
    /* PostgreSQL without Citus: the take and the four rows (two tokens,
     * their lookups) in one statement, one round trip, atomic without
     * BEGIN and COMMIT. Citus would span shards (the lookups'), SQLite has
     * no modifying WITH: there, a transaction as the caller would run. */
    if (conn->driver->dialect == STORE_DIALECT_POSTGRESQL && conn->one_database) {
        struct store_value params[] = {
            v_hash(token_hash), v_text(STORE_TOKEN_ROTATED), v_integer(now),
            v_text(STORE_TOKEN_REFRESH), v_text(client_id), v_text(STORE_TOKEN_ACTIVE),
            v_text(STORE_IDENTITY_ACTIVE), v_text(dpop_jkt[0] ? dpop_jkt : NULL),
            v_hash(access_hash), v_text(STORE_TOKEN_ACCESS), v_integer(access_expires_at),
            v_hash(refresh_hash), v_integer(refresh_expires_at),
        };
#define SUCCESSOR(hash, kind, expires)                                                   \
    "INSERT INTO oidc_token (token_hash, kind, grant_id, client_id, web_number, sub,"    \
    " claims, auth_time, created_at, expires_at, status, dpop_jkt)"                      \
    " SELECT CAST(" hash " AS BYTEA), CAST(" kind " AS TEXT), grant_id, client_id,"      \
    " web_number, sub, claims, auth_time, $3, CAST(" expires " AS BIGINT), $6, dpop_jkt" \
    " FROM taken"
        int rc = exec(conn,
                      "WITH taken AS (" REFRESH_TAKE " AND " TOKEN_KEY_LOOKUP
                      " AND (t.dpop_jkt IS NULL OR t.dpop_jkt = $8)" REFRESH_TAKEN "),"
                      " access AS (" SUCCESSOR("$9", "$10", "$11") "),"
                      " refresh AS (" SUCCESSOR("$12", "$4", "$13") "),"
                      " lookups AS (INSERT INTO oidc_token_hash"
                      " (token_hash, web_number, expires_at)"
                      " SELECT CAST($9 AS BYTEA), web_number, CAST($11 AS BIGINT) FROM taken"
                      " UNION ALL"
                      " SELECT CAST($12 AS BYTEA), web_number, CAST($13 AS BIGINT) FROM taken)"
                      " SELECT * FROM taken",
                      params, sizeof params / sizeof *params, read_token, out, NULL);
#undef SUCCESSOR
        return taken_row(conn, rc, out, taken);
    }
    if (store_begin(conn) != 0)
        return -1;
    if (store_oidc_refresh_take(conn, token_hash, client_id, now, out, taken) != 0)
        goto fail;
    if (*taken && out->dpop_jkt[0] != '\0' && strcmp(out->dpop_jkt, dpop_jkt) != 0)
        *taken = 0; /* bound to another key: told apart by the caller's read */
    if (!*taken) {
        store_oidc_token_clear(out);
        store_rollback(conn); /* nothing written */
        return 0;
    }
    if (store_oidc_token_insert_successor(conn, out, access_hash, STORE_TOKEN_ACCESS, NULL,
                                          now, access_expires_at) != 0 ||
        store_oidc_token_insert_successor(conn, out, refresh_hash, STORE_TOKEN_REFRESH, NULL,
                                          now, refresh_expires_at) != 0 ||
        store_commit(conn) != 0)
        goto fail;
    return 0;
fail:
    store_oidc_token_clear(out);
    store_rollback(conn);
    *taken = 0;
    return -1;
}

int
store_oidc_token_rotate(struct store_conn *conn, const char *web_number,
                        const uint8_t token_hash[STORE_OIDC_HASH_BYTES], int64_t now,
                        int *changed)
{
    struct store_value params[] = {v_text(web_number), v_hash(token_hash),
                                   v_text(STORE_TOKEN_ROTATED), v_integer(now),
                                   v_text(STORE_TOKEN_ACTIVE)};
    int64_t changes = 0;
    if (exec(conn,
             "UPDATE oidc_token SET status = $3, rotated_at = $4"
             " WHERE web_number = $1 AND token_hash = $2 AND status = $5",
             params, 5, NULL, NULL, &changes) != 0)
        return -1;
    *changed = changes == 1;
    return 0;
}

int
store_oidc_grants(struct store_conn *conn, const char *web_number, int64_t now,
                  int (*each)(void *, const char *, const char *, const char *, int64_t,
                              int64_t),
                  void *context)
{
    struct grant_walk walk = {each, context};
    struct store_value params[] = {v_text(web_number), v_text(STORE_TOKEN_ACTIVE),
                                   v_integer(now)};
    /* platform is a reference table on Citus: the join stays on the
     * identity's shard. */
    return exec(conn,
                "SELECT t.client_id, p.name, t.claims, t.created_at, t.expires_at"
                " FROM oidc_token t JOIN platform p ON p.client_id = t.client_id"
                " WHERE t.web_number = $1 AND t.status = $2 AND t.expires_at > $3"
                " ORDER BY t.client_id, t.created_at",
                params, 3, grant_row, &walk, NULL) < 0
               ? -1
               : 0;
}

int
store_oidc_client_revoke(struct store_conn *conn, const char *web_number, const char *client_id,
                         int64_t *count)
{
    struct store_value params[] = {v_text(web_number), v_text(client_id),
                                   v_text(STORE_TOKEN_REVOKED)};
    int64_t changes = 0;
    if (exec(conn,
             "UPDATE oidc_token SET status = $3"
             " WHERE web_number = $1 AND client_id = $2 AND status <> $3",
             params, 3, NULL, NULL, &changes) != 0)
        return -1;
    *count = changes;
    return 0;
}

struct logout_rows {
    char *web_number;
    int64_t count;
};

static int
logout_row(void *context, const struct store_value *columns, size_t count)
{
    struct logout_rows *rows = context;
    if (count != 1 ||
        column_text_into(&columns[0], rows->web_number, STORE_WEB_NUMBER_MAX) != 0)
        return -1;
    rows->count++;
    return 0;
}

int
store_oidc_logout(struct store_conn *conn, const char *client_id, const char *sub,
                  int64_t *count, char *web_number)
{
    struct logout_rows rows = {web_number, 0};
    struct store_value params[] = {v_text(client_id), v_text(sub),
                                   v_text(STORE_TOKEN_REVOKED)};
    web_number[0] = '\0';
    *count = 0;
    if (exec(conn,
             "UPDATE oidc_token SET status = $3"
             " WHERE client_id = $1 AND sub = $2 AND status <> $3 RETURNING web_number",
             params, 3, logout_row, &rows, NULL) < 0)
        return -1;
    *count = rows.count;
    return 0;
}

void
store_oidc_token_clear(struct store_oidc_token *token)
{
    free(token->claims);
    memset(token, 0, sizeof *token);
}

/* ── Registry records by identity ──────────────────────────────────────── */

struct person_row {
    struct store_person *person;
    char *status;   /* NULL: not read */
};

static int
read_person_row(void *context, const struct store_value *columns, size_t count)
{
    struct person_row *row = context;
    struct store_person *person = row->person;
    if (count != 5 ||
        column_text_into(&columns[0], person->id, sizeof person->id) != 0 ||
        columns[1].type != STORE_VALUE_BLOB || columns[1].length == 0)
        return -1;
    if (row->status != NULL &&
        column_text_into(&columns[4], row->status, STORE_STATUS_MAX) != 0)
        return -1;
    person->sealed = malloc(columns[1].length);
    if (person->sealed == NULL)
        return -1;
    memcpy(person->sealed, columns[1].data, columns[1].length);
    person->sealed_length = columns[1].length;
    person->created_at = column_integer(&columns[2]);
    person->updated_at = column_integer(&columns[3]);
    return 1;
}

static int
person_query(struct store_conn *conn, const char *sql, const char *key,
             struct store_person *out, char *status, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    struct person_row row = {out, status};
    struct store_value param = v_text(key);
    int rc = exec(conn, sql, &param, 1, read_person_row, &row, NULL);
    if (rc < 0) {
        store_person_clear(out);
        return row_failed(conn, "registry");
    }
    *found = rc == 1;
    return 0;
}

int
store_identity_person(struct store_conn *conn, const char *web_number,
                      struct store_person *out, char *status, int *found)
{
    struct store_identity identity;
    memset(out, 0, sizeof *out);
    /* One database: one statement. (On Citus the registry is not
     * co-located with identities: two single-shard reads below.) */
    if (conn->one_database)
        return person_query(conn,
                            "SELECT p.id, p.sealed, p.created_at, p.updated_at, i.status"
                            " FROM identity i JOIN registry_person p ON p.id = i.person_id"
                            " WHERE i.web_number = $1",
                            web_number, out, status, found);
    if (store_identity_get(conn, web_number, &identity, found) != 0)
        return -1;
    if (!*found)
        return 0;
    if (string_copy(status, STORE_STATUS_MAX, identity.status) != 0)
        return row_failed(conn, "identity");
    return person_query(conn,
                        "SELECT id, sealed, created_at, updated_at, NULL"
                        " FROM registry_person WHERE id = $1",
                        identity.person_id, out, NULL, found);
}

int
store_person_get(struct store_conn *conn, const char *id, struct store_person *out,
                 int *found)
{
    return person_query(conn,
                        "SELECT id, sealed, created_at, updated_at, NULL"
                        " FROM registry_person WHERE id = $1",
                        id, out, NULL, found);
}
