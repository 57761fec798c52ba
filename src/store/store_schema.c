/* store_schema: the schema as an ordered list of migrations. A migration is
 * never edited once released; a change is a new entry at the end. The SQL
 * is the common subset of SQLite and PostgreSQL (BYTEA-compatible BLOB,
 * BIGINT, TEXT), with the web number as the distribution key of per-citizen
 * tables when they come. */
#include "store/store_driver.h"

const char *const store_migrations[] = {
    /* 1: registry, platforms, audit events, enrollment challenges */
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

    /* 2: identities (web numbers), devices (web certificates), attempt
     * counters for rate limits, single-use device tokens. An identity row
     * links a web number to a random registry record id, nothing more.
     * Devices are keyed by certificate serial (OCSP asks by serial);
     * their web number is indexed for listing. */
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

    /* 3: OpenID Connect: pending logins (with their authorization code once
     * approved) and tokens, every secret kept as its SHA-256 only. A login
     * row is kept until purge_at (a while past its expiry, so that a code
     * presented twice is still recognised and its tokens revoked). */
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
    /* 4: ID token signing keys made by `cyberid keys rotate` (the data
     * folder's first key is implicit): kid and when it starts signing. */
    "CREATE TABLE token_key ("
    "  kid TEXT PRIMARY KEY,"
    "  created_at BIGINT NOT NULL,"
    "  activates_at BIGINT NOT NULL);",
    /* 5: the purpose a platform states for a login (`purpose` on
     * /authorize, shown on the page and in the app); NULL when none. */
    "ALTER TABLE oidc_login ADD COLUMN purpose TEXT;",
    /* 6: attempt rows are forgotten by time alone, whatever their key (a
     * key never tried again must not stay forever). */
    "CREATE INDEX attempt_time ON attempt (time);",
};

const size_t store_migration_count =
    sizeof store_migrations / sizeof *store_migrations;
