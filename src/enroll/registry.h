/* registry: the population registry cyberid checks enrollments against
 * (a stand-in for the national one), imported from CSV by the operator.
 *
 * CSV columns: national_id,name,birth_date,photo (header row required;
 * photo is a path relative to the CSV file). Each row is validated: a
 * GB 11643 number with its check character, a birth date (YYYY-MM-DD) that
 * is real and equal to the one in the number, a non-empty UTF-8 name of at
 * most REGISTRY_NAME_MAX_CHARACTERS characters, an existing photo file
 * (at most REGISTRY_PHOTO_MAX_BYTES) that decodes as a JPEG, PNG or WebP
 * image holding exactly one face. Good rows are imported in one
 * transaction; bad rows are reported with their line and reason and
 * skipped. Importing the same person again updates the record (no
 * duplicate), keyed by the blind index of the ID number. Everything
 * personal is sealed by the vault before the store sees it.
 *
 * Photo rejections, after the photo_not_found of a missing file:
 *   photo_unreadable     the file exists but cannot be read
 *   photo_invalid_image  not a JPEG/PNG/WebP, corrupt, or over the size or
 *                        pixel limits of the face engine
 *   no_face              no face found
 *   multiple_faces       more than one face found
 *
 * The face template: the face engine's 128-d descriptor of the reference
 * photo is computed at import and sealed inside the record; the photo
 * itself is never stored (its bytes and pixels are wiped after use).
 *
 * Sealed plaintext (REGISTRY_RECORD_VERSION 2), a JSON object:
 *   {"v":2, "national_id":"…", "name":"…", "birth_date":"YYYY-MM-DD",
 *    "descriptor":"<base64url, no padding, of the 128 float32 values in
 *                   little-endian byte order: REGISTRY_DESCRIPTOR_BYTES>"}
 * Version 1 records (imported before templates existed) have no
 * "descriptor"; registry_find() returns them with has_descriptor 0. */
#ifndef CYBERID_REGISTRY_H
#define CYBERID_REGISTRY_H

#include "enroll/national_id.h"
#include "face/face.h"
#include "signer/signer.h"
#include "store/store.h"

#include <jansson.h>
#include <stddef.h>

#define REGISTRY_NAME_MAX_CHARACTERS 64
#define REGISTRY_NAME_MAX_BYTES 256
#define REGISTRY_LINE_MAX_BYTES 4096
#define REGISTRY_FIELD_MAX_BYTES 1024
#define REGISTRY_DATE_SIZE 11 /* YYYY-MM-DD + NUL */
#define REGISTRY_RECORD_VERSION 2
#define REGISTRY_FLOAT_BYTES 4
#define REGISTRY_DESCRIPTOR_BYTES (FACE_DESCRIPTOR_DIMS * REGISTRY_FLOAT_BYTES)
#define REGISTRY_PHOTO_MAX_BYTES FACE_IMAGE_MAX_BYTES

struct registry_report {
    size_t rows;        /* data rows read (header excluded) */
    size_t inserted;
    size_t updated;
    size_t rejected;
    json_t *rejections; /* [{line, error, error_description}], owned */
};

/* Imports the CSV at path, computing each reference photo's descriptor
 * with engine (loaded once by the caller; NULL is refused). Returns 0 when
 * the file was read and the good rows committed (report says how many rows
 * were rejected), or -1 with err when nothing was imported (no engine,
 * unreadable file, bad header, database error, out of memory). Release the
 * report with registry_report_clear() in both cases. Photos are turned into
 * descriptors two at a time on two threads sharing engine (face_engine is
 * safe for that); rejections are reported in line order all the same. */
int registry_import_csv(struct store *store, struct signer *signer,
                        const face_engine *engine, const char *path,
                        struct registry_report *report, char *err,
                        size_t errlen)
    __attribute__((warn_unused_result));

void registry_report_clear(struct registry_report *report);

/* A person's registry record, opened from the vault. Everything in it is
 * personal data, the descriptor included: wipe it with
 * registry_person_clear(). */
struct registry_person {
    char record_id[STORE_ID_MAX];
    char national_id[NATIONAL_ID_SIZE];
    char name[REGISTRY_NAME_MAX_BYTES + 1];
    char birth_date[REGISTRY_DATE_SIZE];
    float descriptor[FACE_DESCRIPTOR_DIMS]; /* the reference photo's */
    int has_descriptor; /* 0: a version 1 record, descriptor all zero */
};

/* Looks a person up by (normalised) ID number. *found 0 or 1. Reading
 * personal data is an audited act: callers that show it to anyone append
 * the audit event. Returns 0 or -1 (a record that does not open or parse,
 * a descriptor of the wrong size included). The record is wiped by
 * registry_person_clear(). */
int registry_find(struct store_conn *conn, struct signer *signer,
                  const char *national_id, struct registry_person *out,
                  int *found) __attribute__((warn_unused_result));

/* A decoy record: sealed at creation under a random record id no row
 * has, with made-up fields and a descriptor that matches no face. Lets
 * registry_find_or_decoy() do for a number nobody has the work it does
 * for one somebody has. NULL on failure. */
struct registry_decoy;
struct registry_decoy *registry_decoy_new(struct signer *signer);
void registry_decoy_free(struct registry_decoy *decoy);

/* registry_find() of the listed fields (registry_field bits) for answers
 * to strangers, whose timing must not tell
 * whether a number is in the registry: when no record has it, the same
 * round trips are made (the record's query, for the decoy's id, which no
 * row has) and the decoy is opened as a record would be, then wiped but
 * for its record id, which no identity has either. *found 0: *out holds
 * only that id (has_descriptor 0). 0 or -1 as registry_find(). */
int registry_find_or_decoy(struct store_conn *conn, struct signer *signer,
                           const struct registry_decoy *decoy, const char *national_id,
                           unsigned fields, struct registry_person *out, int *found)
    __attribute__((warn_unused_result));

/* The fields of a record, for registry_open(): the signer returns only
 * those asked for (signer_open_record). */
enum registry_field {
    REGISTRY_NATIONAL_ID = 1u << 0,
    REGISTRY_NAME = 1u << 1,
    REGISTRY_BIRTH_DATE = 1u << 2,
    REGISTRY_DESCRIPTOR = 1u << 3,
    REGISTRY_FIELDS_ALL = (1u << 4) - 1,
};

/* Opens the listed fields (registry_field bits, at least one) of a
 * registry row (read from the store) into *out; the others stay empty.
 * 0, or -1 (a record that does not open or parse, or lacks a field asked
 * for but the descriptor) with *out wiped. Wipe it with
 * registry_person_clear(). */
int registry_open(struct signer *signer, const struct store_person *person,
                  unsigned fields, struct registry_person *out)
    __attribute__((warn_unused_result));

/* Looks a person up by the registry record's random id (what identities
 * keep as person_id) and opens it. *found 0 or 1. 0 or -1 as
 * registry_find(). */
int registry_get_by_record_id(struct store_conn *conn, struct signer *signer,
                              const char *record_id, struct registry_person *out,
                              int *found) __attribute__((warn_unused_result));

/* The blind index of a (normalised) ID number: what the store keys a
 * registry record by. 0 or -1. */
int registry_index(struct signer *signer, const char *national_id,
                   uint8_t index[STORE_INDEX_BYTES]) __attribute__((warn_unused_result));

/* Seals a record's fields (the format above) under record_id, as the
 * import does; *sealed is malloc'd (free()). For the import and for
 * tools that load synthetic registries (bench/scale). 0 or -1. */
int registry_seal(struct signer *signer, const char *record_id, const char *national_id,
                  const char *name, const char *birth_date,
                  const float descriptor[FACE_DESCRIPTOR_DIMS], uint8_t **sealed,
                  size_t *sealed_length) __attribute__((warn_unused_result));

/* Wipes the whole record (descriptor included). */
void registry_person_clear(struct registry_person *person);

#endif
