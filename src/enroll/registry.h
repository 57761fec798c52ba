/* registry: the population registry cyberid checks enrollments against
 * (a stand-in for the national one), imported from CSV by the operator.
 *
 * CSV columns: national_id,name,birth_date,photo (header row required;
 * photo is a path relative to the CSV file). Each row is validated: a
 * GB 11643 number with its check character, a birth date (YYYY-MM-DD) that
 * is real and equal to the one in the number, a non-empty UTF-8 name of at
 * most REGISTRY_NAME_MAX_CHARACTERS characters, an existing photo file.
 * Good rows are imported in one transaction; bad rows are reported with
 * their line and reason and skipped. Importing the same person again
 * updates the record (no duplicate), keyed by the blind index of the ID
 * number. Everything personal is sealed by the vault before the store sees
 * it. */
#ifndef CYBERID_REGISTRY_H
#define CYBERID_REGISTRY_H

#include "enroll/national_id.h"
#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stddef.h>

#define REGISTRY_NAME_MAX_CHARACTERS 64
#define REGISTRY_NAME_MAX_BYTES 256
#define REGISTRY_LINE_MAX_BYTES 4096
#define REGISTRY_FIELD_MAX_BYTES 1024
#define REGISTRY_DATE_SIZE 11 /* YYYY-MM-DD + NUL */

struct registry_report {
    size_t rows;        /* data rows read (header excluded) */
    size_t inserted;
    size_t updated;
    size_t rejected;
    json_t *rejections; /* [{line, error, error_description}], owned */
};

/* Imports the CSV at path. Returns 0 when the file was read and the good
 * rows committed (report says how many rows were rejected), or -1 with err
 * when nothing was imported (unreadable file, bad header, database error).
 * Release the report with registry_report_clear() in both cases. */
int registry_import_csv(struct store *store, struct signer *signer,
                        const char *path, struct registry_report *report,
                        char *err, size_t errlen)
    __attribute__((warn_unused_result));

void registry_report_clear(struct registry_report *report);

/* A person's registry record, opened from the vault. */
struct registry_person {
    char record_id[STORE_ID_MAX];
    char national_id[NATIONAL_ID_SIZE];
    char name[REGISTRY_NAME_MAX_BYTES + 1];
    char birth_date[REGISTRY_DATE_SIZE];
};

/* Looks a person up by (normalised) ID number. *found 0 or 1. Reading
 * personal data is an audited act: callers that show it to anyone append
 * the audit event. Returns 0 or -1. The record is wiped by
 * registry_person_clear(). */
int registry_find(struct store_conn *conn, struct signer *signer,
                  const char *national_id, struct registry_person *out,
                  int *found) __attribute__((warn_unused_result));

void registry_person_clear(struct registry_person *person);

#endif
