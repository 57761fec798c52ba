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
};

const size_t store_migration_count =
    sizeof store_migrations / sizeof *store_migrations;
