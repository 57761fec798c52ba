/* store_schema: the schema as an ordered list of migrations, each with
 * its SQL per dialect. A migration is never edited once released; a change
 * is a new entry at the end, written for both dialects. Migrations 1-6
 * predate PostgreSQL support: PostgreSQL starts at 7 with the whole
 * schema. The domain queries (store*.c) run unchanged on both.
 *
 * store_placements says where each table lives on a Citus cluster; the
 * reasons, table by table, are in docs/scale.md. */
#include "store/store_driver.h"

const struct store_migration store_migrations[] = {
    /* 1: registry, platforms, audit events, enrollment challenges */
    {.sqlite =
        "CREATE TABLE registry_person ("
        "  id TEXT PRIMARY KEY,"
        "  national_id_index BLOB NOT NULL UNIQUE,"
        "  sealed BLOB NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  updated_at BIGINT NOT NULL);"
        "CREATE TABLE platform ("
        "  client_id TEXT PRIMARY KEY,"
        "  name TEXT NOT NULL,"
        "  redirect_uris TEXT NOT NULL,"
        "  claims TEXT NOT NULL,"
        "  legal_basis TEXT,"
        "  auth_method TEXT NOT NULL,"
        "  jwks TEXT,"
        "  sector_id TEXT NOT NULL,"
        "  secret_hash BLOB,"
        "  disabled INTEGER NOT NULL DEFAULT 0,"
        "  created_at BIGINT NOT NULL);"
        "CREATE TABLE audit_event ("
        "  sequence BIGINT PRIMARY KEY,"
        "  time BIGINT NOT NULL,"
        "  actor TEXT NOT NULL,"
        "  action TEXT NOT NULL,"
        "  subject TEXT NOT NULL,"
        "  details TEXT NOT NULL);"
        "CREATE INDEX audit_event_subject ON audit_event (subject, sequence);"
        "CREATE TABLE enroll_challenge ("
        "  id TEXT PRIMARY KEY,"
        "  nonce TEXT NOT NULL,"
        "  action TEXT NOT NULL,"
        "  expires_at BIGINT NOT NULL,"
        "  used INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX enroll_challenge_expiry ON enroll_challenge (expires_at);",
     .postgresql = NULL},
    /* 2: identities (web numbers), devices (web certificates), attempt
     * counters for rate limits, single-use device tokens. An identity row
     * links a web number to a random registry record id, nothing more.
     * Devices are keyed by certificate serial (OCSP asks by serial);
     * their web number is indexed for listing. */
    {.sqlite =
        "CREATE TABLE identity ("
        "  web_number TEXT PRIMARY KEY,"
        "  person_id TEXT NOT NULL UNIQUE,"
        "  status TEXT NOT NULL,"
        "  status_reason TEXT,"
        "  created_at BIGINT NOT NULL,"
        "  updated_at BIGINT NOT NULL);"
        "CREATE TABLE device ("
        "  serial TEXT PRIMARY KEY,"
        "  web_number TEXT NOT NULL,"
        "  certificate BLOB NOT NULL,"
        "  status TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  not_after BIGINT NOT NULL,"
        "  revoked_at BIGINT,"
        "  revocation_reason INTEGER);"
        "CREATE INDEX device_web_number ON device (web_number, created_at);"
        "CREATE INDEX device_revoked ON device (status, revoked_at);"
        "CREATE TABLE attempt ("
        "  attempt_key BLOB NOT NULL,"
        "  time BIGINT NOT NULL);"
        "CREATE INDEX attempt_key_time ON attempt (attempt_key, time);"
        "CREATE TABLE used_token ("
        "  jti TEXT PRIMARY KEY,"
        "  expires_at BIGINT NOT NULL);"
        "CREATE INDEX used_token_expiry ON used_token (expires_at);",
     .postgresql = NULL},
    /* 3: OpenID Connect: pending logins (with their authorization code once
     * approved) and tokens, every secret kept as its SHA-256 only. A login
     * row is kept until purge_at (a while past its expiry, so that a code
     * presented twice is still recognised and its tokens revoked). */
    {.sqlite =
        "CREATE TABLE oidc_login ("
        "  login_hash BLOB PRIMARY KEY,"
        "  user_code_hash BLOB NOT NULL UNIQUE,"
        "  code_hash BLOB NOT NULL UNIQUE,"
        "  client_id TEXT NOT NULL,"
        "  redirect_uri TEXT NOT NULL,"
        "  claims TEXT NOT NULL,"
        "  state TEXT,"
        "  nonce TEXT,"
        "  code_challenge TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  web_number TEXT,"
        "  released TEXT,"
        "  created_at BIGINT NOT NULL,"
        "  expires_at BIGINT NOT NULL,"
        "  auth_time BIGINT,"
        "  code_expires_at BIGINT,"
        "  code_uses BIGINT NOT NULL DEFAULT 0,"
        "  purge_at BIGINT NOT NULL);"
        "CREATE INDEX oidc_login_purge ON oidc_login (purge_at);"
        "CREATE TABLE oidc_token ("
        "  token_hash BLOB PRIMARY KEY,"
        "  kind TEXT NOT NULL,"
        "  grant_id BLOB NOT NULL,"
        "  client_id TEXT NOT NULL,"
        "  web_number TEXT NOT NULL,"
        "  sub TEXT NOT NULL,"
        "  claims TEXT NOT NULL,"
        "  auth_time BIGINT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  expires_at BIGINT NOT NULL,"
        "  status TEXT NOT NULL);"
        "CREATE INDEX oidc_token_grant ON oidc_token (grant_id);"
        "CREATE INDEX oidc_token_expiry ON oidc_token (expires_at);",
     .postgresql = NULL},
    /* 4: ID token signing keys made by `cyberid keys rotate` (the data
     * folder's first key is implicit): kid and when it starts signing. */
    {.sqlite =
        "CREATE TABLE token_key ("
        "  kid TEXT PRIMARY KEY,"
        "  created_at BIGINT NOT NULL,"
        "  activates_at BIGINT NOT NULL);",
     .postgresql = NULL},
    /* 5: the purpose a platform states for a login (`purpose` on
     * /authorize, shown on the page and in the app); NULL when none. */
    {.sqlite =
        "ALTER TABLE oidc_login ADD COLUMN purpose TEXT;",
     .postgresql = NULL},
    /* 6: attempt rows are forgotten by time alone, whatever their key (a
     * key never tried again must not stay forever). */
    {.sqlite =
        "CREATE INDEX attempt_time ON attempt (time);",
     .postgresql = NULL},
    /* 7: the schema that shards (docs/scale.md), and PostgreSQL.
     *
     * Every global unique key becomes a lookup table keyed by it alone
     * (the blind index of the ID number, the person behind an identity,
     * device serials, user codes, authorization codes, token hashes), so
     * that on Citus each lookup routes to one shard and uniqueness holds
     * (Citus enforces a unique key only when it contains the distribution
     * column). Tables about an identity are keyed by its web number
     * first. Audit sequence numbers come from the database (SQLite's
     * rowid, a PostgreSQL sequence) instead of MAX()+1 under the write
     * lock. The janitor's lease lets one node at a time purge expired
     * rows.
     *
     * SQLite keeps its tables and their (now redundant) unique keys and
     * gains the lookup tables, filled from what is there; PostgreSQL
     * starts here with the whole schema, typed for it (BYTEA, BIGINT). */
    {.sqlite =
        "CREATE TABLE registry_index ("
        "  national_id_index BLOB PRIMARY KEY,"
        "  person_id TEXT NOT NULL);"
        "INSERT INTO registry_index (national_id_index, person_id)"
        "  SELECT national_id_index, id FROM registry_person;"
        "CREATE TABLE identity_person ("
        "  person_id TEXT PRIMARY KEY,"
        "  web_number TEXT NOT NULL);"
        "INSERT INTO identity_person (person_id, web_number)"
        "  SELECT person_id, web_number FROM identity;"
        "CREATE TABLE device_serial ("
        "  serial TEXT PRIMARY KEY,"
        "  web_number TEXT NOT NULL);"
        "INSERT INTO device_serial (serial, web_number)"
        "  SELECT serial, web_number FROM device;"
        "CREATE TABLE oidc_user_code ("
        "  user_code_hash BLOB PRIMARY KEY,"
        "  login_hash BLOB NOT NULL,"
        "  purge_at BIGINT NOT NULL);"
        "INSERT INTO oidc_user_code (user_code_hash, login_hash, purge_at)"
        "  SELECT user_code_hash, login_hash, purge_at FROM oidc_login;"
        "CREATE INDEX oidc_user_code_purge ON oidc_user_code (purge_at);"
        "CREATE TABLE oidc_code ("
        "  code_hash BLOB PRIMARY KEY,"
        "  login_hash BLOB NOT NULL,"
        "  purge_at BIGINT NOT NULL);"
        "INSERT INTO oidc_code (code_hash, login_hash, purge_at)"
        "  SELECT code_hash, login_hash, purge_at FROM oidc_login;"
        "CREATE INDEX oidc_code_purge ON oidc_code (purge_at);"
        "CREATE TABLE oidc_token_hash ("
        "  token_hash BLOB PRIMARY KEY,"
        "  web_number TEXT NOT NULL,"
        "  expires_at BIGINT NOT NULL);"
        "INSERT INTO oidc_token_hash (token_hash, web_number, expires_at)"
        "  SELECT token_hash, web_number, expires_at FROM oidc_token;"
        "CREATE INDEX oidc_token_hash_expiry ON oidc_token_hash (expires_at);"
        "CREATE INDEX oidc_token_identity ON oidc_token (web_number, grant_id);"
        "CREATE TABLE audit_event_numbered ("
        "  sequence INTEGER PRIMARY KEY,"
        "  time BIGINT NOT NULL,"
        "  actor TEXT NOT NULL,"
        "  action TEXT NOT NULL,"
        "  subject TEXT NOT NULL,"
        "  details TEXT NOT NULL);"
        "INSERT INTO audit_event_numbered"
        "  SELECT sequence, time, actor, action, subject, details FROM audit_event;"
        "DROP TABLE audit_event;"
        "ALTER TABLE audit_event_numbered RENAME TO audit_event;"
        "CREATE INDEX audit_event_subject ON audit_event (subject, sequence);"
        "CREATE TABLE janitor_lease ("
        "  name TEXT PRIMARY KEY,"
        "  holder TEXT NOT NULL,"
        "  expires_at BIGINT NOT NULL);",
     .postgresql =
        "CREATE TABLE registry_person ("
        "  id TEXT PRIMARY KEY,"
        "  national_id_index BYTEA NOT NULL,"
        "  sealed BYTEA NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  updated_at BIGINT NOT NULL);"
        "CREATE TABLE registry_index ("
        "  national_id_index BYTEA PRIMARY KEY,"
        "  person_id TEXT NOT NULL);"
        "CREATE TABLE platform ("
        "  client_id TEXT PRIMARY KEY,"
        "  name TEXT NOT NULL,"
        "  redirect_uris TEXT NOT NULL,"
        "  claims TEXT NOT NULL,"
        "  legal_basis TEXT,"
        "  auth_method TEXT NOT NULL,"
        "  jwks TEXT,"
        "  sector_id TEXT NOT NULL,"
        "  secret_hash BYTEA,"
        "  disabled BIGINT NOT NULL DEFAULT 0,"
        "  created_at BIGINT NOT NULL);"
        "CREATE TABLE audit_event ("
        "  sequence BIGSERIAL,"
        "  time BIGINT NOT NULL,"
        "  actor TEXT NOT NULL,"
        "  action TEXT NOT NULL,"
        "  subject TEXT NOT NULL,"
        "  details TEXT NOT NULL,"
        "  PRIMARY KEY (subject, sequence));"
        "CREATE INDEX audit_event_sequence ON audit_event (sequence);"
        "CREATE TABLE enroll_challenge ("
        "  id TEXT PRIMARY KEY,"
        "  nonce TEXT NOT NULL,"
        "  action TEXT NOT NULL,"
        "  expires_at BIGINT NOT NULL,"
        "  used BIGINT NOT NULL DEFAULT 0);"
        "CREATE INDEX enroll_challenge_expiry ON enroll_challenge (expires_at);"
        "CREATE TABLE identity ("
        "  web_number TEXT PRIMARY KEY,"
        "  person_id TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  status_reason TEXT,"
        "  created_at BIGINT NOT NULL,"
        "  updated_at BIGINT NOT NULL);"
        "CREATE TABLE identity_person ("
        "  person_id TEXT PRIMARY KEY,"
        "  web_number TEXT NOT NULL);"
        "CREATE TABLE device ("
        "  web_number TEXT NOT NULL,"
        "  serial TEXT NOT NULL,"
        "  certificate BYTEA NOT NULL,"
        "  status TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  not_after BIGINT NOT NULL,"
        "  revoked_at BIGINT,"
        "  revocation_reason BIGINT,"
        "  PRIMARY KEY (web_number, serial));"
        "CREATE INDEX device_revoked ON device (status, revoked_at);"
        "CREATE TABLE device_serial ("
        "  serial TEXT PRIMARY KEY,"
        "  web_number TEXT NOT NULL);"
        "CREATE TABLE attempt ("
        "  attempt_key BYTEA NOT NULL,"
        "  time BIGINT NOT NULL);"
        "CREATE INDEX attempt_key_time ON attempt (attempt_key, time);"
        "CREATE INDEX attempt_time ON attempt (time);"
        "CREATE TABLE used_token ("
        "  jti TEXT PRIMARY KEY,"
        "  expires_at BIGINT NOT NULL);"
        "CREATE INDEX used_token_expiry ON used_token (expires_at);"
        "CREATE TABLE oidc_login ("
        "  login_hash BYTEA PRIMARY KEY,"
        "  user_code_hash BYTEA NOT NULL,"
        "  code_hash BYTEA NOT NULL,"
        "  client_id TEXT NOT NULL,"
        "  redirect_uri TEXT NOT NULL,"
        "  claims TEXT NOT NULL,"
        "  state TEXT,"
        "  nonce TEXT,"
        "  code_challenge TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  web_number TEXT,"
        "  released TEXT,"
        "  created_at BIGINT NOT NULL,"
        "  expires_at BIGINT NOT NULL,"
        "  auth_time BIGINT,"
        "  code_expires_at BIGINT,"
        "  code_uses BIGINT NOT NULL DEFAULT 0,"
        "  purge_at BIGINT NOT NULL,"
        "  purpose TEXT);"
        "CREATE INDEX oidc_login_purge ON oidc_login (purge_at);"
        "CREATE TABLE oidc_user_code ("
        "  user_code_hash BYTEA PRIMARY KEY,"
        "  login_hash BYTEA NOT NULL,"
        "  purge_at BIGINT NOT NULL);"
        "CREATE INDEX oidc_user_code_purge ON oidc_user_code (purge_at);"
        "CREATE TABLE oidc_code ("
        "  code_hash BYTEA PRIMARY KEY,"
        "  login_hash BYTEA NOT NULL,"
        "  purge_at BIGINT NOT NULL);"
        "CREATE INDEX oidc_code_purge ON oidc_code (purge_at);"
        "CREATE TABLE oidc_token ("
        "  web_number TEXT NOT NULL,"
        "  token_hash BYTEA NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  grant_id BYTEA NOT NULL,"
        "  client_id TEXT NOT NULL,"
        "  sub TEXT NOT NULL,"
        "  claims TEXT NOT NULL,"
        "  auth_time BIGINT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  expires_at BIGINT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  PRIMARY KEY (web_number, token_hash));"
        "CREATE INDEX oidc_token_identity ON oidc_token (web_number, grant_id);"
        "CREATE INDEX oidc_token_expiry ON oidc_token (expires_at);"
        "CREATE TABLE oidc_token_hash ("
        "  token_hash BYTEA PRIMARY KEY,"
        "  web_number TEXT NOT NULL,"
        "  expires_at BIGINT NOT NULL);"
        "CREATE INDEX oidc_token_hash_expiry ON oidc_token_hash (expires_at);"
        "CREATE TABLE token_key ("
        "  kid TEXT PRIMARY KEY,"
        "  created_at BIGINT NOT NULL,"
        "  activates_at BIGINT NOT NULL);"
        "CREATE TABLE janitor_lease ("
        "  name TEXT PRIMARY KEY,"
        "  holder TEXT NOT NULL,"
        "  expires_at BIGINT NOT NULL);"},
    /* 8: a rotated token key's public key (DER SPKI), so that every node
     * publishes it, whether or not its private key file has reached that
     * node's keys/ yet. NULL for keys rotated before: read from the file. */
    {.sqlite = "ALTER TABLE token_key ADD COLUMN public_key BLOB;",
     .postgresql = "ALTER TABLE token_key ADD COLUMN public_key BYTEA;"},
    /* 9: the CRL every node serves: one row with the last CRL built (its
     * number only grows, on every node), and an epoch that each revocation
     * bumps in its own transaction, so a node knows when to build anew. */
    {.sqlite =
        "CREATE TABLE crl_state ("
        "  id INTEGER PRIMARY KEY CHECK (id = 1),"
        "  epoch BIGINT NOT NULL,"
        "  built_epoch BIGINT NOT NULL,"
        "  number BIGINT NOT NULL,"
        "  this_update BIGINT NOT NULL,"
        "  der BLOB);"
        "INSERT INTO crl_state VALUES (1, 0, -1, 0, 0, NULL);",
     .postgresql =
        "CREATE TABLE crl_state ("
        "  id BIGINT PRIMARY KEY CHECK (id = 1),"
        "  epoch BIGINT NOT NULL,"
        "  built_epoch BIGINT NOT NULL,"
        "  number BIGINT NOT NULL,"
        "  this_update BIGINT NOT NULL,"
        "  der BYTEA);"
        "INSERT INTO crl_state VALUES (1, 0, -1, 0, 0, NULL);"},
    /* 10: rate limits with backoff, one row per key (a blind index of an
     * address, a network or a device key) instead of a row per attempt:
     * taking an attempt locks the key's row, so concurrent attempts on
     * one key are counted one after the other on every backend. The old
     * per-attempt rows only ever held the last 15 minutes: dropped. */
    {.sqlite =
        "DROP TABLE attempt;"
        "CREATE TABLE attempt_limit ("
        "  limit_key BLOB PRIMARY KEY,"
        "  window_start BIGINT NOT NULL,"
        "  strikes BIGINT NOT NULL,"
        "  next_at BIGINT NOT NULL,"
        "  purge_at BIGINT NOT NULL);"
        "CREATE INDEX attempt_limit_purge ON attempt_limit (purge_at);",
     .postgresql =
        "DROP TABLE attempt;"
        "CREATE TABLE attempt_limit ("
        "  limit_key BYTEA PRIMARY KEY,"
        "  window_start BIGINT NOT NULL,"
        "  strikes BIGINT NOT NULL,"
        "  next_at BIGINT NOT NULL,"
        "  purge_at BIGINT NOT NULL);"
        "CREATE INDEX attempt_limit_purge ON attempt_limit (purge_at);"},
    /* 11: issuing CA generations (`cyberid ca rotate`, `cyberid ca hold`).
     * Each device remembers the generation that issued its certificate
     * (all before this one: 1). One row per generation says whether it is
     * held (every certificate it issued answers certificateHold from
     * held_at: one row written, however many certificates) and keeps that
     * generation's CRL, as crl_state kept the only one (moved into
     * generation 1's row, so its CRL number keeps growing). */
    {.sqlite =
        "ALTER TABLE device ADD COLUMN issuer BIGINT NOT NULL DEFAULT 1;"
        "CREATE TABLE ca_issuer ("
        "  generation BIGINT PRIMARY KEY,"
        "  held_at BIGINT,"
        "  epoch BIGINT NOT NULL,"
        "  built_epoch BIGINT NOT NULL,"
        "  number BIGINT NOT NULL,"
        "  this_update BIGINT NOT NULL,"
        "  der BLOB);"
        "INSERT INTO ca_issuer (generation, held_at, epoch, built_epoch, number,"
        "  this_update, der)"
        "  SELECT 1, NULL, epoch, built_epoch, number, this_update, der FROM crl_state;"
        "DROP TABLE crl_state;",
     .postgresql =
        "ALTER TABLE device ADD COLUMN issuer BIGINT NOT NULL DEFAULT 1;"
        "CREATE TABLE ca_issuer ("
        "  generation BIGINT PRIMARY KEY,"
        "  held_at BIGINT,"
        "  epoch BIGINT NOT NULL,"
        "  built_epoch BIGINT NOT NULL,"
        "  number BIGINT NOT NULL,"
        "  this_update BIGINT NOT NULL,"
        "  der BYTEA);"
        "INSERT INTO ca_issuer (generation, held_at, epoch, built_epoch, number,"
        "  this_update, der)"
        "  SELECT 1, NULL, epoch, built_epoch, number, this_update, der FROM crl_state;"
        "DROP TABLE crl_state;"},
    /* 12: the index of a generation's CRL walk (its revoked devices), in
     * a migration of its own: Citus sends a CREATE INDEX on a distributed
     * table to its workers as the statement's whole query string, which
     * it refuses when that string holds more than one command. */
    {.sqlite = "CREATE INDEX device_issuer ON device (issuer, status);",
     .postgresql = "CREATE INDEX device_issuer ON device (issuer, status);"},
    /* 13: the transparency log (audit/log.h). Each audit event gets a
     * random salt and, once the sequencer has put it in the tree, its leaf
     * number; log_leaf holds the public leaves (salted commitments to the
     * events, nothing readable), log_hash the tree as stored hashes
     * (audit/tlog.h), log_checkpoint every signed checkpoint. */
    {.sqlite =
        "ALTER TABLE audit_event ADD COLUMN salt BLOB;"
        "ALTER TABLE audit_event ADD COLUMN leaf BIGINT;"
        "CREATE TABLE log_leaf ("
        "  idx BIGINT PRIMARY KEY,"
        "  commitment BLOB NOT NULL);"
        "CREATE TABLE log_hash ("
        "  idx BIGINT PRIMARY KEY,"
        "  hash BLOB NOT NULL);"
        "CREATE TABLE log_checkpoint ("
        "  size BIGINT PRIMARY KEY,"
        "  root BLOB NOT NULL,"
        "  note TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL);",
     .postgresql =
        "ALTER TABLE audit_event ADD COLUMN salt BYTEA;"
        "ALTER TABLE audit_event ADD COLUMN leaf BIGINT;"
        "CREATE TABLE log_leaf ("
        "  idx BIGINT PRIMARY KEY,"
        "  commitment BYTEA NOT NULL);"
        "CREATE TABLE log_hash ("
        "  idx BIGINT PRIMARY KEY,"
        "  hash BYTEA NOT NULL);"
        "CREATE TABLE log_checkpoint ("
        "  size BIGINT PRIMARY KEY,"
        "  root BYTEA NOT NULL,"
        "  note TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL);"},
    /* 14: the sequencer's walk of the events not in the tree yet (apart
     * from 13, for Citus: see 12). */
    {.sqlite = "CREATE INDEX audit_event_leaf ON audit_event (leaf, sequence);",
     .postgresql = "CREATE INDEX audit_event_leaf ON audit_event (leaf, sequence);"},
    /* 15: due process: a suspension ends by itself at suspended_until and
     * names the statute or order it rests on (both NULL unless
     * suspended). */
    {.sqlite = "ALTER TABLE identity ADD COLUMN suspended_until BIGINT;"
               "ALTER TABLE identity ADD COLUMN legal_basis TEXT;",
     .postgresql = "ALTER TABLE identity ADD COLUMN suspended_until BIGINT;"
                   "ALTER TABLE identity ADD COLUMN legal_basis TEXT;"},
    /* 16: the janitor's walk of the suspensions that ended (apart, for
     * Citus: see 12). */
    {.sqlite = "CREATE INDEX identity_suspended ON identity (suspended_until);",
     .postgresql = "CREATE INDEX identity_suspended ON identity (suspended_until);"},
    /* 17: appeals against suspensions: the citizen's text sealed (under
     * the appeal's id), the operator's decision with who and why. Keyed
     * with the identity (its shard on Citus). */
    {.sqlite =
        "CREATE TABLE appeal ("
        "  id TEXT NOT NULL,"
        "  web_number TEXT NOT NULL,"
        "  sealed BLOB NOT NULL,"
        "  status TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  decided_at BIGINT,"
        "  decided_by TEXT,"
        "  decision_reason TEXT,"
        "  PRIMARY KEY (web_number, id));",
     .postgresql =
        "CREATE TABLE appeal ("
        "  id TEXT NOT NULL,"
        "  web_number TEXT NOT NULL,"
        "  sealed BYTEA NOT NULL,"
        "  status TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  decided_at BIGINT,"
        "  decided_by TEXT,"
        "  decision_reason TEXT,"
        "  PRIMARY KEY (web_number, id));"},
    /* 18: sealed events (audit/audit.h): a citizen's event keeps its
     * actor, subject, details and salt sealed, its row's subject becomes a
     * blind index; every event's commitment is made when it is appended
     * and stored with it, so the sequencer never opens one. */
    {.sqlite = "ALTER TABLE audit_event ADD COLUMN sealed BLOB;"
               "ALTER TABLE audit_event ADD COLUMN commitment BLOB;",
     .postgresql = "ALTER TABLE audit_event ADD COLUMN sealed BYTEA;"
                   "ALTER TABLE audit_event ADD COLUMN commitment BYTEA;"},
    /* 19: a platform's purpose, registered with it: what the login page
     * and the app show (never a text from the login request). */
    {.sqlite = "ALTER TABLE platform ADD COLUMN purpose TEXT;",
     .postgresql = "ALTER TABLE platform ADD COLUMN purpose TEXT;"},
    /* 20, 21: parallel refreshes (oidc/token.c): a platform's reuse
     * interval for a rotated refresh token, and when each was rotated (one
     * table a migration: a reference and a distributed table on Citus). */
    {.sqlite = "ALTER TABLE platform ADD COLUMN refresh_reuse BIGINT NOT NULL DEFAULT 0;",
     .postgresql = "ALTER TABLE platform ADD COLUMN refresh_reuse BIGINT NOT NULL DEFAULT 0;"},
    {.sqlite = "ALTER TABLE oidc_token ADD COLUMN rotated_at BIGINT;",
     .postgresql = "ALTER TABLE oidc_token ADD COLUMN rotated_at BIGINT;"},
    /* 22: roughly where a login page was opened (its network, not the
     * address), which the citizen's app shows beside the platform's
     * domain (cross-device consent phishing, RFC 10027). */
    {.sqlite = "ALTER TABLE oidc_login ADD COLUMN opened_from TEXT;",
     .postgresql = "ALTER TABLE oidc_login ADD COLUMN opened_from TEXT;"},
    /* 23-26: FAPI 2.0 (oidc/par.c, oidc/dpop.h): platforms held to the
     * profile; the DPoP key a login's code and a token are bound to (its
     * RFC 7638 thumbprint); pushed authorization requests, single use,
     * keyed by the hash of their request_uri. */
    {.sqlite = "ALTER TABLE platform ADD COLUMN fapi2 BIGINT NOT NULL DEFAULT 0;",
     .postgresql = "ALTER TABLE platform ADD COLUMN fapi2 BIGINT NOT NULL DEFAULT 0;"},
    {.sqlite = "ALTER TABLE oidc_login ADD COLUMN dpop_jkt TEXT;",
     .postgresql = "ALTER TABLE oidc_login ADD COLUMN dpop_jkt TEXT;"},
    {.sqlite = "ALTER TABLE oidc_token ADD COLUMN dpop_jkt TEXT;",
     .postgresql = "ALTER TABLE oidc_token ADD COLUMN dpop_jkt TEXT;"},
    {.sqlite =
        "CREATE TABLE oidc_par ("
        "  request_hash BLOB PRIMARY KEY,"
        "  client_id TEXT NOT NULL,"
        "  params TEXT NOT NULL,"
        "  dpop_jkt TEXT,"
        "  expires_at BIGINT NOT NULL);"
        "CREATE INDEX oidc_par_expiry ON oidc_par (expires_at);",
     .postgresql =
        "CREATE TABLE oidc_par ("
        "  request_hash BYTEA PRIMARY KEY,"
        "  client_id TEXT NOT NULL,"
        "  params TEXT NOT NULL,"
        "  dpop_jkt TEXT,"
        "  expires_at BIGINT NOT NULL);"
        "CREATE INDEX oidc_par_expiry ON oidc_par (expires_at);"},
    /* 27: on SQLite, oidc_token loses its index on grant_id alone: every
     * statement that names a grant names its web number too, and
     * oidc_token_identity (web_number, grant_id) serves them, so a token
     * written goes into four B-trees, not five. (PostgreSQL's oidc_token
     * never had it.) */
    {.sqlite = "DROP INDEX oidc_token_grant;", .postgresql = NULL},
};

const size_t store_migration_count =
    sizeof store_migrations / sizeof *store_migrations;

/* Identity-centred tables are co-located with identity (joins between
 * them, and every write of one citizen's login, stay on one shard); each
 * lookup table is distributed by its own key; what every node reads and
 * only the operator writes is a reference table; the schema version and
 * the janitor's lease stay on the coordinator, which every node talks to. */
const struct store_placement store_placements[] = {
    {"identity", "web_number", NULL, 0},
    {"device", "web_number", "identity", 0},
    {"appeal", "web_number", "identity", 0},
    {"oidc_token", "web_number", "identity", 0},
    {"audit_event", "subject", "identity", 0},
    {"identity_person", "person_id", NULL, 0},
    {"registry_person", "id", NULL, 0},
    {"registry_index", "national_id_index", NULL, 0},
    {"device_serial", "serial", NULL, 0},
    {"oidc_login", "login_hash", NULL, 0},
    {"oidc_user_code", "user_code_hash", NULL, 0},
    {"oidc_code", "code_hash", NULL, 0},
    {"oidc_token_hash", "token_hash", NULL, 0},
    {"oidc_par", "request_hash", NULL, 0},
    {"enroll_challenge", "id", NULL, 0},
    {"attempt_limit", "limit_key", NULL, 0},
    {"used_token", "jti", NULL, 0},
    {"platform", NULL, NULL, 0},
    {"token_key", NULL, NULL, 0},
    {"ca_issuer", NULL, NULL, 0},
    {"schema_version", NULL, NULL, 1},
    {"janitor_lease", NULL, NULL, 1},
    {"log_leaf", NULL, NULL, 1},
    {"log_hash", NULL, NULL, 1},
    {"log_checkpoint", NULL, NULL, 1},
};

const size_t store_placement_count =
    sizeof store_placements / sizeof *store_placements;
