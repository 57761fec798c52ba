/* store_pg: the PostgreSQL backend of the store (libpq), for more than one
 * node: every `cyberid serve` keeps its state here, and a Citus coordinator
 * is reached the same way (store.c distributes the tables).
 *
 * One PGconn per pooled connection. Statements are prepared once per
 * connection (cached by the address of their SQL literal, as the SQLite
 * driver does) and described, so that each parameter is sent in the
 * binary form of the type the server inferred for it; results come back
 * binary too (BIGINT as 8 bytes, BYTEA raw), which spares the hex round
 * trip of text-format BYTEA.
 *
 * Nothing waits forever on the server: every round trip runs on the
 * non-blocking interface with a deadline (the statement timeout set in the
 * session, plus a margin for the network), past which the connection is
 * dropped. A connection that failed is replaced by a new one at its next
 * use outside a transaction, at most once a second, so that a database
 * that is down costs a refused connect, not a storm of them.
 *
 * A transaction's BEGIN is not a round trip of its own: pg_begin() only
 * marks it due, and it goes to the server with the transaction's first
 * statement, both in one libpq pipeline (one write, one wait). Each round
 * trip costs both processes a wake-up; on the benchmark machine a login's
 * three transactions spent three of its 39 round trips on BEGIN
 * (docs/bench.md, "PostgreSQL: BEGIN rides with the first statement"). A transaction that
 * ends before any statement never reaches the server.
 *
 * The same pipeline carries the writes the store queues (pg_queue: plain
 * inserts whose rows nobody reads, such as a login's token rows and audit
 * events): they are written to the connection at once but their results
 * are read with the transaction's next statement or its COMMIT, which
 * then reports the first failure among them (the server skips what
 * follows a failed command up to the pipeline's sync). A code exchange's
 * five inserts and COMMIT are one round trip instead of six. */
#include "store/store_driver.h"

#include "util/clock.h"
#include "util/log.h"
#include "util/strings.h"

#include <assert.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define STATEMENT_CACHE_SIZE 128
#define STRINGIFY_(x) #x
#define STRINGIFY_MS(x) STRINGIFY_(x)
/* The server ends a statement (lock waits included) after this long... */
#define STATEMENT_TIMEOUT_MS 5000
/* ...and the client gives up on the server this much later. */
#define DEADLINE_MARGIN_MS 2000
#define CONNECT_TIMEOUT_SECONDS "3"
#define RECONNECT_INTERVAL_MS 1000
/* A transaction left open by a client that hangs while still connected
 * ends on the server (one whose connection drops ends at once). Generous:
 * `registry import` computes face templates between its statements, in
 * one transaction (32 photos took over a minute under the sanitizers). */
#define IDLE_IN_TRANSACTION_TIMEOUT_MS 600000 /* 10 minutes */

/* Type OIDs of pg_type.h (server headers are not a client dependency). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_NAME 19
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_UNKNOWN 705
#define OID_BPCHAR 1042
#define OID_VARCHAR 1043
#define OID_VOID 2278

struct statement {
    const char *sql;            /* the literal's address; NULL: free slot */
    char name[16];
    int param_count;
    Oid param_types[STORE_PARAMS_MAX];
};

struct pg_connection {
    PGconn *conn;
    char *location;
    int in_transaction;
    int begin_due;              /* in_transaction, BEGIN not sent yet */
    unsigned queued;            /* commands in the open pipeline whose
                                   results are not read yet (pg_queue) */
    int broken;                 /* lost: replace before the next use */
    int unavailable;            /* the last failure was an outage */
    int conflict;               /* the last failure was a unique key taken */
    int64_t last_connect_ms;
    unsigned statement_count;   /* names handed out on this PGconn */
    struct statement cache[STATEMENT_CACHE_SIZE];
};

static int
pg_accepts(const char *location)
{
    return strncmp(location, "postgresql://", 13) == 0 ||
           strncmp(location, "postgres://", 11) == 0;
}

/* ── Connections ───────────────────────────────────────────────────────── */

/* A location must parse as a libpq URI and carry no password: one on a
 * command line is in every process listing and shell history, one in
 * config.json in every copy of the data folder. */
static int
pg_check(const char *location, char *err, size_t errlen)
{
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse(location, &message);
    if (options == NULL) {
        /* libpq's message quotes no password: there is none to quote, or
         * the URI would have parsed. */
        error_set(err, errlen, "not a valid PostgreSQL URI: %s",
                  message ? message : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQfreemem(message);
        return -1;
    }
    int has_password = 0;
    for (PQconninfoOption *option = options; option->keyword != NULL; option++)
        if (strcmp(option->keyword, "password") == 0 && option->val != NULL &&
            option->val[0] != '\0')
            has_password = 1;
    PQconninfoFree(options);
    if (has_password)
        return error_set(err, errlen,
                         "the database URI carries a password: put it in a password "
                         "file instead (PGPASSFILE, ~/.pgpass, or passfile=FILE in the "
                         "URI)");
    return 0;
}

/* SQLSTATE classes that mean "the database is out of reach, try later":
 * 08 connection exception, 53 insufficient resources, 57P01-57P03 admin
 * shutdown / crash shutdown / cannot connect now, 57014 query canceled
 * (the statement timeout), 40001 and 40P01 (serialization failure and
 * deadlock: the same request retried later succeeds). */
static int
sqlstate_is_outage(const char *state)
{
    if (state == NULL)
        return 1; /* no SQLSTATE: libpq lost the connection itself */
    return strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
           strncmp(state, "57P0", 4) == 0 || strcmp(state, "57014") == 0 ||
           strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

static void
drop_connection(struct pg_connection *pg)
{
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    pg->conn = NULL;
    pg->broken = 1;
    pg->queued = 0;
    memset(pg->cache, 0, sizeof pg->cache);
    pg->statement_count = 0;
}

/* libpq prints notices on stderr by default, which would break the
 * service's one-JSON-object-per-line log. Only warnings reach here (the
 * session sets client_min_messages); they become log lines with their
 * SQLSTATE and primary message, which name objects, never row values. */
static void
log_notice(void *context, const PGresult *result)
{
    (void)context;
    const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const char *message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    log_event(LOG_WARN, "database_notice", "{s:s, s:s}", "sqlstate", state ? state : "",
              "message", message ? message : "");
}

static int
open_connection(struct pg_connection *pg, char *err, size_t errlen)
{
    /* The location is a whole libpq URI (expand_dbname); the keywords
     * after it override what it says of them. The password is never in
     * the location: config.c refuses one, and libpq reads PGPASSFILE,
     * ~/.pgpass or the URI's passfile= parameter. */
    const char *const keywords[] = {"dbname", "connect_timeout", "application_name",
                                    "client_encoding", NULL};
    const char *const values[] = {pg->location, CONNECT_TIMEOUT_SECONDS, "cyberid",
                                  "UTF8", NULL};
    pg->last_connect_ms = monotonic_ms();
    pg->conn = PQconnectdbParams(keywords, values, 1);
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password. */
        const char *message = pg->conn ? PQerrorMessage(pg->conn) : "out of memory";
        size_t length = strcspn(message, "\n");
        error_set(err, errlen, "cannot connect to PostgreSQL: %.*s", (int)length,
                  message);
        drop_connection(pg);
        pg->unavailable = 1;
        return -1;
    }
    PQsetNoticeReceiver(pg->conn, log_notice, NULL);
    PGresult *result = PQexec(pg->conn,
                              "SET client_min_messages = warning;"
                              " SET statement_timeout = " STRINGIFY_MS(STATEMENT_TIMEOUT_MS)
                              "; SET idle_in_transaction_session_timeout = "
                              STRINGIFY_MS(IDLE_IN_TRANSACTION_TIMEOUT_MS)
                              "; SET TIME ZONE 'UTC'");
    int ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok)
        error_set(err, errlen, "cannot configure the PostgreSQL session: %s",
                  PQresultErrorMessage(result));
    PQclear(result);
    if (!ok) {
        drop_connection(pg);
        pg->unavailable = 1; /* a server that takes connections but not SETs */
        return -1;
    }
    if (PQsetnonblocking(pg->conn, 1) != 0) {
        error_set(err, errlen, "cannot make the connection non-blocking");
        drop_connection(pg);
        return -1;
    }
    pg->broken = 0;
    return 0;
}

static void *
pg_connect(const char *location, void *shared, char *err, size_t errlen)
{
    (void)shared; /* PostgreSQL's driver has no start() */
    struct pg_connection *pg = calloc(1, sizeof *pg);
    if (pg == NULL || (pg->location = strdup(location)) == NULL) {
        free(pg);
        error_set(err, errlen, "out of memory");
        return NULL;
    }
    if (open_connection(pg, err, errlen) != 0) {
        free(pg->location);
        free(pg);
        return NULL;
    }
    return pg;
}

static void
pg_disconnect(void *connection)
{
    struct pg_connection *pg = connection;
    if (pg == NULL)
        return;
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    free(pg->location);
    free(pg);
}

/* A pooled connection may have sat idle while its server went away: the
 * server's goodbye (a FATAL message, then end of file) waits unread in the
 * socket, and libpq would only find it after sending the next statement,
 * which would then fail although a new connection would succeed. So a
 * connection between transactions that has anything to read is read now,
 * and dropped if that was its end. One poll() with no wait. */
static void
check_idle(struct pg_connection *pg)
{
    if (pg->in_transaction || pg->broken || pg->conn == NULL)
        return;
    struct pollfd poller = {.fd = PQsocket(pg->conn), .events = POLLIN};
    if (poller.fd < 0 || poll(&poller, 1, 0) <= 0)
        return;
    if ((poller.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0 ||
        PQconsumeInput(pg->conn) == 0 || PQstatus(pg->conn) != CONNECTION_OK ||
        PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        drop_connection(pg);
        pg->last_connect_ms = 0; /* it was not a failed connect: retry now */
        return;
    }
    PGnotify *notify;
    while ((notify = PQnotifies(pg->conn)) != NULL)
        PQfreemem(notify);
}

/* Makes sure the connection is usable: a lost one is replaced, but never
 * inside a transaction (its statements would silently run outside it)
 * and at most once per RECONNECT_INTERVAL_MS. 0 or -1 with err. */
static int
ensure_connected(struct pg_connection *pg, char *err, size_t errlen)
{
    check_idle(pg);
    if (!pg->broken && pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
        return 0;
    pg->unavailable = 1;
    if (pg->in_transaction)
        return error_set(err, errlen, "the database connection was lost in a "
                         "transaction");
    if (pg->conn != NULL)
        drop_connection(pg);
    if (monotonic_ms() - pg->last_connect_ms < RECONNECT_INTERVAL_MS)
        return error_set(err, errlen, "the database is unreachable");
    if (open_connection(pg, err, errlen) != 0)
        return -1;
    pg->unavailable = pg->conflict = 0;
    return 0;
}

/* ── Round trips with a deadline ───────────────────────────────────────── */

/* Waits for the socket until `deadline` (monotonic ms). 0 ready, -1 not. */
static int
wait_socket(struct pg_connection *pg, short events, int64_t deadline)
{
    int fd = PQsocket(pg->conn);
    if (fd < 0)
        return -1;
    for (;;) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            return -1;
        struct pollfd poller = {.fd = fd, .events = events};
        int rc = poll(&poller, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* Sends what libpq has buffered and collects the results of one command,
 * or in pipeline mode of every command up to the pipeline's sync (then
 * leaves pipeline mode); returns the first error, else the last result
 * (the caller clears it), or NULL when the server did not answer in time
 * or the connection failed (then it is dropped). */
static PGresult *
finish_round_trip(struct pg_connection *pg, char *err, size_t errlen)
{
    int pipelined = PQpipelineStatus(pg->conn) != PQ_PIPELINE_OFF;
    int64_t deadline = monotonic_ms() + STATEMENT_TIMEOUT_MS + DEADLINE_MARGIN_MS;
    int flushed;
    while ((flushed = PQflush(pg->conn)) == 1) {
        if (wait_socket(pg, POLLOUT | POLLIN, deadline) != 0 ||
            PQconsumeInput(pg->conn) == 0)
            goto lost;
    }
    if (flushed < 0)
        goto lost;
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(pg->conn)) {
            if (wait_socket(pg, POLLIN, deadline) != 0 || PQconsumeInput(pg->conn) == 0) {
                PQclear(last);
                goto lost;
            }
        }
        PGresult *result = PQgetResult(pg->conn);
        if (result == NULL) {
            if (pipelined)
                continue; /* the end of one command's results */
            break;
        }
        if (PQresultStatus(result) == PGRES_PIPELINE_SYNC) {
            PQclear(result);
            if (PQexitPipelineMode(pg->conn) == 1)
                break;
            PQclear(last);
            goto lost;
        }
        /* Keep the first error, else the last result. */
        if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
            PQclear(result);
            continue;
        }
        PQclear(last);
        last = result;
    }
    if (last == NULL) {
        error_set(err, errlen, "no result from PostgreSQL");
        return NULL;
    }
    if (PQstatus(pg->conn) != CONNECTION_OK)
        pg->broken = 1;
    return last;
lost:
    error_set(err, errlen, "the database did not answer: %s",
              pg->conn ? PQerrorMessage(pg->conn) : "connection closed");
    err[strcspn(err, "\n")] = '\0';
    drop_connection(pg);
    pg->unavailable = 1;
    return NULL;
}

/* libpq could not even queue a command: the connection is gone. -1. */
static int
send_failed(struct pg_connection *pg, char *err, size_t errlen)
{
    error_set(err, errlen, "cannot send to the database: %s", PQerrorMessage(pg->conn));
    err[strcspn(err, "\n")] = '\0';
    drop_connection(pg);
    pg->unavailable = 1;
    return -1;
}

/* Turns a result into 0 (one of the `ok` statuses) or -1 with err and the
 * outage flag set from its SQLSTATE. */
static int
check_result(struct pg_connection *pg, const PGresult *result, ExecStatusType ok,
             ExecStatusType also_ok, char *err, size_t errlen)
{
    ExecStatusType status = PQresultStatus(result);
    if (status == ok || status == also_ok)
        return 0;
    const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    pg->unavailable = sqlstate_is_outage(state);
    pg->conflict = state != NULL && strcmp(state, "23505") == 0; /* unique_violation */
    if (PQstatus(pg->conn) != CONNECTION_OK)
        pg->broken = pg->unavailable = 1;
    const char *message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    error_set(err, errlen, "%s%s%s", state ? state : "", state ? ": " : "",
              message ? message : PQresStatus(status));
    return -1;
}

/* Runs a parameterless command (BEGIN, COMMIT, a migration script).
 * `tag`, when not NULL, is the command tag the last command must answer
 * (COMMIT of a transaction that failed earlier answers ROLLBACK, with no
 * error). After queued commands it goes in their pipeline (then it must
 * be a single command: the extended protocol runs one a message), and a
 * failure among them is its failure. */
static int
simple_command(struct pg_connection *pg, const char *sql, const char *tag, char *err,
               size_t errlen)
{
    pg->unavailable = pg->conflict = 0;
    if (ensure_connected(pg, err, errlen) != 0)
        return -1;
    int sent;
    if (pg->queued > 0) {
        pg->queued = 0;
        sent = PQsendQueryParams(pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1 &&
               PQpipelineSync(pg->conn) == 1;
    } else {
        sent = PQsendQuery(pg->conn, sql) == 1;
    }
    if (!sent)
        return send_failed(pg, err, errlen);
    PGresult *result = finish_round_trip(pg, err, errlen);
    if (result == NULL)
        return -1;
    int status = check_result(pg, result, PGRES_COMMAND_OK, PGRES_TUPLES_OK, err, errlen);
    if (status == 0 && tag != NULL && strcmp(PQcmdStatus(result), tag) != 0)
        status = error_set(err, errlen, "the database answered %s to %s",
                           PQcmdStatus(result), sql);
    PQclear(result);
    return status;
}

/* ── Statements ────────────────────────────────────────────────────────── */

/* Ends the open pipeline of queued commands and reads their results: 0,
 * or -1 with the first failure among them. */
static int
sync_queued(struct pg_connection *pg, char *err, size_t errlen)
{
    pg->queued = 0;
    if (PQpipelineSync(pg->conn) != 1)
        return send_failed(pg, err, errlen);
    PGresult *result = finish_round_trip(pg, err, errlen);
    if (result == NULL)
        return -1;
    int status = check_result(pg, result, PGRES_COMMAND_OK, PGRES_TUPLES_OK, err, errlen);
    PQclear(result);
    return status;
}

/* Opens the pipeline a statement joins (if it is not open yet) and puts a
 * due BEGIN first in it. 0, or -1 when libpq cannot queue. */
static int
join_pipeline(struct pg_connection *pg)
{
    if (PQpipelineStatus(pg->conn) == PQ_PIPELINE_OFF && PQenterPipelineMode(pg->conn) != 1)
        return -1;
    if (pg->begin_due) {
        pg->begin_due = 0; /* from here on COMMIT and ROLLBACK go to the server */
        if (PQsendQueryParams(pg->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) != 1)
            return -1;
    }
    return 0;
}

/* The prepared, described statement for `sql`, preparing it on first use.
 * NULL with err set. */
static struct statement *
prepare(struct pg_connection *pg, const char *sql, char *err, size_t errlen)
{
    struct statement *slot = NULL;
    for (size_t i = 0; i < STATEMENT_CACHE_SIZE; i++) {
        if (pg->cache[i].sql == sql)
            return &pg->cache[i];
        if (pg->cache[i].sql == NULL && slot == NULL)
            slot = &pg->cache[i];
    }
    /* The cache is sized for every statement of the store; past it, the
     * oldest-named slot is reused (its server-side statement stays, named,
     * until the connection ends: a bounded leak of one per overflow). */
    if (slot == NULL)
        slot = &pg->cache[pg->statement_count % STATEMENT_CACHE_SIZE];
    /* Preparing waits for the server's answer: what is queued goes first
     * (once per statement and connection). */
    if (pg->queued > 0 && sync_queued(pg, err, errlen) != 0)
        return NULL;
    memset(slot, 0, sizeof *slot);
    if (string_format(slot->name, sizeof slot->name, "s%u", pg->statement_count++) != 0)
        return NULL;
    if (PQsendPrepare(pg->conn, slot->name, sql, 0, NULL) == 0)
        goto not_sent;
    PGresult *result = finish_round_trip(pg, err, errlen);
    if (result == NULL)
        return NULL;
    int status = check_result(pg, result, PGRES_COMMAND_OK, PGRES_COMMAND_OK, err, errlen);
    PQclear(result);
    if (status != 0)
        return NULL;
    if (PQsendDescribePrepared(pg->conn, slot->name) == 0)
        goto not_sent;
    if ((result = finish_round_trip(pg, err, errlen)) == NULL)
        return NULL;
    status = check_result(pg, result, PGRES_COMMAND_OK, PGRES_COMMAND_OK, err, errlen);
    int count = status == 0 ? PQnparams(result) : 0;
    if (status == 0 && count > STORE_PARAMS_MAX)
        status = error_set(err, errlen, "a statement takes %d parameters", count);
    for (int i = 0; status == 0 && i < count; i++)
        slot->param_types[i] = PQparamtype(result, i);
    PQclear(result);
    if (status != 0)
        return NULL;
    slot->param_count = count;
    slot->sql = sql;
    return slot;
not_sent:
    send_failed(pg, err, errlen);
    return NULL;
}

static void
put_be(uint8_t *out, uint64_t value, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        out[i] = (uint8_t)(value >> (8 * (bytes - 1 - i)));
}

static uint64_t
get_be(const uint8_t *in, size_t bytes)
{
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; i++)
        value = value << 8 | in[i];
    return value;
}

/* One parameter in the wire form its inferred type takes. `scratch` holds
 * integers and text copies (24 bytes each: 8 for binary integers, 21 for
 * a decimal one). */
struct wire_params {
    const char *values[STORE_PARAMS_MAX];
    int lengths[STORE_PARAMS_MAX];
    int formats[STORE_PARAMS_MAX];
    char scratch[STORE_PARAMS_MAX][24];
};

static int
encode_param(const struct store_value *value, Oid type, size_t i,
             struct wire_params *wire, char *err, size_t errlen)
{
    char *scratch = wire->scratch[i];
    wire->formats[i] = 1;
    switch (value->type) {
    case STORE_VALUE_NULL:
        wire->values[i] = NULL;
        wire->lengths[i] = 0;
        return 0;
    case STORE_VALUE_INTEGER: {
        int64_t n = value->integer;
        size_t bytes;
        switch (type) {
        case OID_INT8: bytes = 8; break;
        case OID_INT4: bytes = 4; break;
        case OID_INT2: bytes = 2; break;
        case OID_BOOL: bytes = 1; n = n != 0; break;
        default:
            /* Any other type (NUMERIC, unknown) parses the decimal text. */
            wire->formats[i] = 0;
            if (string_format(scratch, sizeof wire->scratch[i], "%lld", (long long)n) != 0)
                return error_set(err, errlen, "parameter $%zu: bad integer", i + 1);
            wire->values[i] = scratch;
            wire->lengths[i] = (int)strlen(scratch);
            return 0;
        }
        if (bytes < 8 && (n < -((int64_t)1 << (8 * bytes - 1)) ||
                          n >= ((int64_t)1 << (8 * bytes - 1))))
            return error_set(err, errlen, "parameter $%zu: %lld does not fit", i + 1,
                             (long long)n);
        put_be((uint8_t *)scratch, (uint64_t)n, bytes);
        wire->values[i] = scratch;
        wire->lengths[i] = (int)bytes;
        return 0;
    }
    case STORE_VALUE_TEXT:
        if (value->length > INT32_MAX ||
            (value->length > 0 && memchr(value->data, '\0', value->length) != NULL))
            return error_set(err, errlen, "parameter $%zu: text with a NUL byte", i + 1);
        /* The binary form of text types is the bytes themselves; others
         * (unknown, numeric) take text format, NUL-terminated: every TEXT
         * value comes from a C string (v_text). */
        if (type != OID_TEXT && type != OID_VARCHAR && type != OID_BPCHAR &&
            type != OID_NAME && type != OID_BYTEA)
            wire->formats[i] = 0;
        wire->values[i] = value->data;
        wire->lengths[i] = (int)value->length;
        return 0;
    case STORE_VALUE_BLOB:
        if (type != OID_BYTEA)
            return error_set(err, errlen, "parameter $%zu: bytes for a non-BYTEA column",
                             i + 1);
        if (value->length > INT32_MAX)
            return error_set(err, errlen, "parameter $%zu: too long", i + 1);
        wire->values[i] = value->length ? value->data : "";
        wire->lengths[i] = (int)value->length;
        return 0;
    }
    return error_set(err, errlen, "parameter $%zu: unknown value type", i + 1);
}

/* One column of a binary result row as a store value. */
static int
decode_column(const PGresult *result, int row, int column, struct store_value *out)
{
    memset(out, 0, sizeof *out);
    if (PQgetisnull(result, row, column)) {
        out->type = STORE_VALUE_NULL;
        return 0;
    }
    const uint8_t *data = (const uint8_t *)PQgetvalue(result, row, column);
    size_t length = (size_t)PQgetlength(result, row, column);
    switch (PQftype(result, column)) {
    case OID_INT8:
    case OID_INT4:
    case OID_INT2:
        if (length != 8 && length != 4 && length != 2)
            return -1;
        out->type = STORE_VALUE_INTEGER;
        /* Sign-extend from the wire width. */
        out->integer = (int64_t)(get_be(data, length) << (64 - 8 * length)) >>
                       (64 - 8 * length);
        return 0;
    case OID_BOOL:
        if (length != 1)
            return -1;
        out->type = STORE_VALUE_INTEGER;
        out->integer = data[0] != 0;
        return 0;
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME:
    case OID_UNKNOWN:
        out->type = STORE_VALUE_TEXT;
        out->data = data;
        out->length = length;
        return 0;
    case OID_BYTEA:
        out->type = STORE_VALUE_BLOB;
        out->data = data;
        out->length = length;
        return 0;
    case OID_VOID: /* what a function returning nothing (a lock) returns */
        out->type = STORE_VALUE_NULL;
        return 0;
    default:
        return -1;
    }
}

/* What pg_exec() and pg_queue() do before sending: a usable connection,
 * the statement prepared, its parameters in wire form. NULL with err. */
static struct statement *
bind_statement(struct pg_connection *pg, const char *sql, const struct store_value *params,
               size_t param_count, struct wire_params *wire, char *err, size_t errlen)
{
    pg->unavailable = pg->conflict = 0;
    if (param_count > STORE_PARAMS_MAX) {
        error_set(err, errlen, "too many parameters");
        return NULL;
    }
    if (ensure_connected(pg, err, errlen) != 0)
        return NULL;
    struct statement *statement = prepare(pg, sql, err, errlen);
    if (statement == NULL)
        return NULL;
    if ((size_t)statement->param_count != param_count) {
        error_set(err, errlen, "the statement takes %d parameters, %zu given",
                  statement->param_count, param_count);
        return NULL;
    }
    for (size_t i = 0; i < param_count; i++)
        if (encode_param(&params[i], statement->param_types[i], i, wire, err, errlen) != 0)
            return NULL;
    return statement;
}

static int
pg_exec(void *connection, const char *sql, const struct store_value *params,
        size_t param_count, store_row_fn row, void *context, int64_t *changes,
        char *err, size_t errlen)
{
    struct pg_connection *pg = connection;
    struct wire_params wire;
    struct statement *statement = bind_statement(pg, sql, params, param_count, &wire, err,
                                                 errlen);
    if (statement == NULL)
        return -1;
    /* A due BEGIN and what is queued go first, in the same pipeline (the
     * file's comment). */
    int pipelined = pg->begin_due || pg->queued > 0;
    pg->queued = 0;
    if (pipelined && join_pipeline(pg) != 0)
        return send_failed(pg, err, errlen);
    if (PQsendQueryPrepared(pg->conn, statement->name, (int)param_count, wire.values,
                            wire.lengths, wire.formats, 1) == 0 ||
        (pipelined && PQpipelineSync(pg->conn) != 1)) {
        return send_failed(pg, err, errlen);
    }
    PGresult *result = finish_round_trip(pg, err, errlen);
    if (result == NULL)
        return -1;
    int status = check_result(pg, result, PGRES_TUPLES_OK, PGRES_COMMAND_OK, err, errlen);
    if (status == 0 && PQresultStatus(result) == PGRES_TUPLES_OK) {
        int rows = PQntuples(result);
        int columns = PQnfields(result);
        if (columns > STORE_PARAMS_MAX)
            columns = STORE_PARAMS_MAX;
        struct store_value values[STORE_PARAMS_MAX];
        for (int r = 0; status == 0 && r < rows; r++) {
            for (int c = 0; c < columns; c++)
                if (decode_column(result, r, c, &values[c]) != 0) {
                    status = error_set(err, errlen, "column %d: unsupported type %u", c,
                                       (unsigned)PQftype(result, c));
                    break;
                }
            if (status == 0 && row != NULL)
                status = row(context, values, (size_t)columns);
        }
    }
    if (status == 0 && changes != NULL) {
        const char *tuples = PQcmdTuples(result);
        *changes = tuples[0] ? strtoll(tuples, NULL, 10) : 0;
    }
    PQclear(result);
    return status;
}

/* A transaction's pipeline holds at most this many queued commands: past
 * it they are synced, so that the answers the server writes while no one
 * reads them stay within the socket's buffers. */
#define QUEUED_MAX 32

static int
pg_queue(void *connection, const char *sql, const struct store_value *params,
         size_t param_count, char *err, size_t errlen)
{
    struct pg_connection *pg = connection;
    assert(pg->in_transaction && "pg_queue outside a transaction");
    pg->unavailable = pg->conflict = 0;
    if (pg->queued >= QUEUED_MAX && sync_queued(pg, err, errlen) != 0)
        return -1;
    struct wire_params wire;
    struct statement *statement = bind_statement(pg, sql, params, param_count, &wire, err,
                                                 errlen);
    if (statement == NULL)
        return -1;
    if (join_pipeline(pg) != 0 ||
        PQsendQueryPrepared(pg->conn, statement->name, (int)param_count, wire.values,
                            wire.lengths, wire.formats, 1) == 0)
        return send_failed(pg, err, errlen);
    pg->queued++;
    return 0;
}

static int
pg_exec_script(void *connection, const char *sql, char *err, size_t errlen)
{
    struct pg_connection *pg = connection;
    /* A script cannot share a pipeline: what is queued is synced first,
     * and a due BEGIN goes on its own. */
    if (pg->queued > 0 && sync_queued(pg, err, errlen) != 0)
        return -1;
    if (pg->begin_due) {
        pg->begin_due = 0;
        if (simple_command(pg, "BEGIN", NULL, err, errlen) != 0)
            return -1;
    }
    return simple_command(pg, sql, NULL, err, errlen);
}

/* Makes sure of the connection now, while a lost one may still be replaced
 * (not inside the transaction), and leaves BEGIN due. */
static int
pg_begin(void *connection, char *err, size_t errlen)
{
    struct pg_connection *pg = connection;
    pg->unavailable = pg->conflict = 0;
    if (ensure_connected(pg, err, errlen) != 0)
        return -1;
    pg->in_transaction = 1;
    pg->begin_due = 1;
    return 0;
}

/* Ends a transaction the server may still hold open after a failure (a
 * COMMIT skipped because a queued command before it failed leaves it
 * aborted, not ended), or one whose commands are still queued: those must
 * never ride with a later transaction. */
static void
end_aborted(struct pg_connection *pg)
{
    if (pg->broken || pg->conn == NULL ||
        (pg->queued == 0 && PQtransactionStatus(pg->conn) == PQTRANS_IDLE))
        return;
    char ignored[128];
    int unavailable = pg->unavailable, conflict = pg->conflict;
    (void)simple_command(pg, "ROLLBACK", NULL, ignored, sizeof ignored);
    pg->unavailable = unavailable; /* keep the cause of the failure */
    pg->conflict = conflict;
}

static int
pg_commit(void *connection, char *err, size_t errlen)
{
    struct pg_connection *pg = connection;
    int status = 0;
    if (!pg->begin_due) /* else nothing of the transaction was sent */
        status = simple_command(pg, "COMMIT", "COMMIT", err, errlen);
    pg->in_transaction = pg->begin_due = 0;
    if (status != 0)
        end_aborted(pg);
    return status;
}

static void
pg_rollback(void *connection)
{
    struct pg_connection *pg = connection;
    if (!pg->in_transaction)
        return;
    int sent = !pg->begin_due;
    pg->in_transaction = pg->begin_due = 0;
    if (!sent)
        return;
    /* With commands queued the ROLLBACK joins their pipeline; if one of
     * them failed, the server skipped it and a second one ends the
     * transaction. */
    end_aborted(pg);
    end_aborted(pg);
}

static int
pg_unavailable(void *connection)
{
    return ((struct pg_connection *)connection)->unavailable;
}

static int
pg_conflict(void *connection)
{
    return ((struct pg_connection *)connection)->conflict;
}

/* NOTIFY, which PostgreSQL delivers when the transaction commits. */
static int
pg_notify(void *connection, const char *channel, char *err, size_t errlen)
{
    struct store_value param = {.type = STORE_VALUE_TEXT, .data = channel,
                                .length = strlen(channel)};
    return pg_exec(connection, "SELECT pg_notify($1, '')", &param, 1, NULL, NULL, NULL, err,
                   errlen);
}

/* A connection of its own that LISTENs. The channel is a fixed identifier
 * of the store's, never a value from a request, so it is written into the
 * command as it is. */
static void *
pg_listen_open(const char *location, const char *channel, char *err, size_t errlen)
{
    char command[80];
    if (string_format(command, sizeof command, "LISTEN %s", channel) != 0) {
        error_set(err, errlen, "channel name too long");
        return NULL;
    }
    struct pg_connection *pg = pg_connect(location, NULL, err, errlen);
    if (pg != NULL && simple_command(pg, command, "LISTEN", err, errlen) != 0) {
        pg_disconnect(pg);
        return NULL;
    }
    return pg;
}

static int
pg_listen_fd(void *listener)
{
    struct pg_connection *pg = listener;
    return pg->conn != NULL ? PQsocket(pg->conn) : -1;
}

static int
pg_listen_read(void *listener)
{
    struct pg_connection *pg = listener;
    if (pg->conn == NULL || PQconsumeInput(pg->conn) == 0 ||
        PQstatus(pg->conn) != CONNECTION_OK) {
        drop_connection(pg);
        return -1;
    }
    int count = 0;
    PGnotify *notify;
    while ((notify = PQnotifies(pg->conn)) != NULL) {
        PQfreemem(notify);
        count++;
    }
    return count;
}

const struct store_driver store_pg_driver = {
    .name = "postgresql",
    .dialect = STORE_DIALECT_POSTGRESQL,
    .accepts = pg_accepts,
    .check = pg_check,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .queue = pg_queue,
    .exec_script = pg_exec_script,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .unavailable = pg_unavailable,
    .conflict = pg_conflict,
    .notify = pg_notify,
    .listen_open = pg_listen_open,
    .listen_fd = pg_listen_fd,
    .listen_read = pg_listen_read,
    .listen_close = pg_disconnect,
};
