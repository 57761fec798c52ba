/* registry: CSV import and lookup of the population registry; see
 * registry.h. CSV parsing is libcsv's (RFC 4180 quoting, CRLF); this file
 * feeds it one bounded line at a time so that every row keeps its line
 * number for the report. Each good row's reference photo goes through the
 * face engine once; only the descriptor is kept, sealed with the record.
 *
 * Pipeline: rows that pass the cheap checks (and the duplicate check) are
 * queued; every IMPORT_BATCH_ROWS rows, and at the end of the file, the
 * queued photos are turned into descriptors by IMPORT_THREADS threads (the
 * engine is read-only and thread-safe), then the rows are sealed and
 * written in line order by this thread alone (the connection is not shared).
 * Rejections are sorted by line before the report is returned. */
#include "enroll/registry.h"

#include "audit/audit.h"
#include "util/encoding.h"
#include "util/file.h"
#include "util/strings.h"
#include "vault/vault.h"

#include <assert.h>
#include <csv.h>
#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define REGISTRY_COLUMNS 4
#define RECORD_ID_BYTES 16
#define INDEX_DOMAIN "national_id"
#define PHOTO_PATH_MAX 2048
#define DESCRIPTOR_TEXT_SIZE BASE64URL_ENCODED_SIZE(REGISTRY_DESCRIPTOR_BYTES)
#define BITS_PER_BYTE 8
/* What photo_template() found: a descriptor, a rejected row, or a failure
 * that stops the import. */
#define PHOTO_OK 0
#define PHOTO_REJECTED 1
#define PHOTO_FAILED (-1)
#define IMPORT_THREADS 2
#define IMPORT_BATCH_ROWS 32
#define RGB_BYTES 3

static const char *const expected_header[REGISTRY_COLUMNS] = {
    "national_id", "name", "birth_date", "photo"};

struct csv_row {
    char fields[REGISTRY_COLUMNS][REGISTRY_FIELD_MAX_BYTES + 1];
    size_t count;           /* fields seen, may exceed REGISTRY_COLUMNS */
    int field_too_long;
    size_t line;            /* line the row started on */
};

/* A row that passed the cheap checks, waiting for its photo's descriptor.
 * Personal data: wiped after use. */
struct pending_row {
    size_t line;
    struct national_id id;
    char name[REGISTRY_NAME_MAX_BYTES + 1];
    char birth_date[REGISTRY_DATE_SIZE];
    char photo[REGISTRY_FIELD_MAX_BYTES + 1];
    uint8_t index[VAULT_INDEX_BYTES];
    /* Filled by photo_template(): */
    int photo_status;
    const char *reject_code;        /* static strings */
    const char *reject_message;
    char err[FACE_ERROR_LEN];
    float descriptor[FACE_DESCRIPTOR_DIMS];
};

struct import {
    struct store_conn *conn;
    struct signer *signer;
    const face_engine *engine;
    char csv_dir[1024];
    size_t line;            /* current input line, from 1 */
    int header_done;
    int failed;             /* database or vault failure: abort */
    char *err;
    size_t errlen;
    int64_t now;
    json_t *seen;           /* hex(blind index) -> first line, duplicates */
    struct registry_report *report;
    struct csv_row row;
    struct pending_row pending[IMPORT_BATCH_ROWS];
    size_t pending_count;
};

static void
reject_line(struct import *import, size_t line, const char *code,
            const char *message)
{
    import->report->rejected++;
    json_array_append_new(import->report->rejections,
                          json_pack("{s:I, s:s, s:s}", "line", (json_int_t)line,
                                    "error", code, "error_description", message));
}

static void
reject(struct import *import, const char *code, const char *message)
{
    reject_line(import, import->row.line, code, message);
}

/* libcsv: one field complete. */
static void
on_field(void *data, size_t length, void *context)
{
    struct import *import = context;
    struct csv_row *row = &import->row;
    if (row->count == 0)
        row->line = import->line;
    if (row->count < REGISTRY_COLUMNS) {
        if (length > REGISTRY_FIELD_MAX_BYTES) {
            row->field_too_long = 1;
            length = 0;
        }
        if (length > 0)
            memcpy(row->fields[row->count], data, length);
        row->fields[row->count][length] = '\0';
    }
    row->count++;
}

static int
parse_date(const char *text, int *year, int *month, int *day)
{
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
            return -1;
    *year = atoi(text);
    *month = atoi(text + 5);
    *day = atoi(text + 8);
    return calendar_date_is_valid(*year, *month, *day) ? 0 : -1;
}

static void
trim_spaces(char *text)
{
    size_t length = strlen(text);
    while (length > 0 && text[length - 1] == ' ')
        text[--length] = '\0';
    size_t start = strspn(text, " ");
    if (start > 0)
        memmove(text, text + start, length - start + 1);
}

/* The photo's path: absolute as written, else relative to the CSV. */
static int
photo_path(const struct import *import, const char *photo, char *path,
           size_t cap)
{
    if (photo[0] == '/')
        return string_copy(path, cap, photo);
    return string_format(path, cap, "%s/%s", import->csv_dir, photo);
}

static int
photo_exists(const struct import *import, const char *photo)
{
    char path[PHOTO_PATH_MAX];
    struct stat info;
    return photo_path(import, photo, path, sizeof path) == 0 &&
           stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

static int
photo_rejected(struct pending_row *row, const char *code, const char *message)
{
    row->reject_code = code;
    row->reject_message = message;
    return PHOTO_REJECTED;
}

/* Computes the descriptor of the one face in the row's photo into
 * row->descriptor. Returns PHOTO_OK, PHOTO_REJECTED (row->reject_code and
 * reject_message say why) or PHOTO_FAILED with row->err (out of memory, an
 * engine failure: the import stops). Touches nothing but the row, so rows
 * may be processed in parallel. The photo's bytes and pixels are wiped
 * before they are freed; the descriptor is zeroed unless PHOTO_OK. */
static int
photo_template(const struct import *import, struct pending_row *row)
{
    int status = PHOTO_FAILED;
    char path[PHOTO_PATH_MAX];
    uint8_t *bytes = NULL;
    size_t length = 0;
    face_image image = {0};
    struct stat info;

    memset(row->descriptor, 0, sizeof row->descriptor);
    if (photo_path(import, row->photo, path, sizeof path) != 0 ||
        stat(path, &info) != 0 || !S_ISREG(info.st_mode)) {
        status = photo_rejected(row, "photo_unreadable",
                                "the photo file cannot be read");
        goto cleanup;
    }
    if ((uint64_t)info.st_size > REGISTRY_PHOTO_MAX_BYTES) {
        status = photo_rejected(row, "photo_invalid_image",
                                "the photo is larger than 16 MiB");
        goto cleanup;
    }
    if (file_read(path, REGISTRY_PHOTO_MAX_BYTES, &bytes, &length, NULL, 0) != 0) {
        status = photo_rejected(row, "photo_unreadable",
                                "the photo file cannot be read");
        goto cleanup;
    }
    int engine_status = face_image_decode(&image, bytes, length, row->err,
                                          sizeof row->err);
    if (engine_status == FACE_ERR_NOMEM)
        goto cleanup;
    if (engine_status != FACE_OK) {
        status = photo_rejected(
            row, "photo_invalid_image",
            engine_status == FACE_ERR_IMAGE_FORMAT
                ? "the photo is not a JPEG, PNG or WebP image"
                : "the photo is corrupt or over the image size limits");
        goto cleanup;
    }
    engine_status = face_descriptor(import->engine, &image, row->descriptor,
                                    NULL, row->err, sizeof row->err);
    if (engine_status == FACE_OK)
        status = PHOTO_OK;
    else if (engine_status == FACE_ERR_NO_FACE)
        status = photo_rejected(row, "no_face", "no face was found in the photo");
    else if (engine_status == FACE_ERR_MANY_FACES)
        status = photo_rejected(row, "multiple_faces",
                                "the photo holds more than one face; it must "
                                "show exactly one");
cleanup:
    if (status != PHOTO_OK)
        secret_wipe(row->descriptor, sizeof row->descriptor);
    if (image.rgb != NULL)
        secret_wipe(image.rgb,
                    (size_t)image.width * (size_t)image.height * RGB_BYTES);
    face_image_free(&image);
    if (bytes != NULL) {
        secret_wipe(bytes, length);
        free(bytes);
    }
    row->photo_status = status;
    return status;
}

struct photo_worker {
    struct import *import;
    size_t first;           /* rows first, first + IMPORT_THREADS, ... */
};

static void *
photo_worker_run(void *context)
{
    struct photo_worker *worker = context;
    struct import *import = worker->import;
    for (size_t i = worker->first; i < import->pending_count; i += IMPORT_THREADS)
        (void)photo_template(import, &import->pending[i]);
    return NULL;
}

/* Computes the descriptors of every queued row, IMPORT_THREADS at a time
 * (on this thread alone when a thread cannot be started). */
static void
compute_templates(struct import *import)
{
    struct photo_worker workers[IMPORT_THREADS];
    pthread_t threads[IMPORT_THREADS];
    int started[IMPORT_THREADS] = {0};
    for (size_t t = 1; t < IMPORT_THREADS && t < import->pending_count; t++) {
        workers[t] = (struct photo_worker){import, t};
        started[t] = pthread_create(&threads[t], NULL, photo_worker_run,
                                    &workers[t]) == 0;
    }
    workers[0] = (struct photo_worker){import, 0};
    photo_worker_run(&workers[0]);
    for (size_t t = 1; t < IMPORT_THREADS; t++) {
        if (started[t]) {
            pthread_join(threads[t], NULL);
        } else {
            for (size_t i = t; i < import->pending_count; i += IMPORT_THREADS)
                (void)photo_template(import, &import->pending[i]);
        }
    }
}

/* The descriptor as little-endian float32 bytes, whatever the host. */
static void
descriptor_to_bytes(const float descriptor[FACE_DESCRIPTOR_DIMS],
                    uint8_t bytes[REGISTRY_DESCRIPTOR_BYTES])
{
    for (size_t i = 0; i < FACE_DESCRIPTOR_DIMS; i++) {
        uint32_t bits;
        memcpy(&bits, &descriptor[i], sizeof bits);
        for (size_t b = 0; b < REGISTRY_FLOAT_BYTES; b++)
            bytes[i * REGISTRY_FLOAT_BYTES + b] =
                (uint8_t)(bits >> (BITS_PER_BYTE * b));
    }
}

/* The inverse; -1 for a value that is not a finite number. */
static int
descriptor_from_bytes(const uint8_t bytes[REGISTRY_DESCRIPTOR_BYTES],
                      float descriptor[FACE_DESCRIPTOR_DIMS])
{
    for (size_t i = 0; i < FACE_DESCRIPTOR_DIMS; i++) {
        uint32_t bits = 0;
        for (size_t b = 0; b < REGISTRY_FLOAT_BYTES; b++)
            bits |= (uint32_t)bytes[i * REGISTRY_FLOAT_BYTES + b]
                    << (BITS_PER_BYTE * b);
        memcpy(&descriptor[i], &bits, sizeof bits);
        if (!isfinite(descriptor[i]))
            return -1;
    }
    return 0;
}

_Static_assert(sizeof(float) == REGISTRY_FLOAT_BYTES, "float32");

int
registry_index(struct signer *signer, const char *national_id,
               uint8_t index[STORE_INDEX_BYTES])
{
    _Static_assert(STORE_INDEX_BYTES == VAULT_INDEX_BYTES, "index width");
    return vault_blind_index(signer, INDEX_DOMAIN, national_id, strlen(national_id),
                             index);
}

int
registry_seal(struct signer *signer, const char *record_id, const char *national_id,
              const char *name, const char *birth_date,
              const float descriptor[FACE_DESCRIPTOR_DIMS], uint8_t **sealed,
              size_t *sealed_length)
{
    uint8_t descriptor_bytes[REGISTRY_DESCRIPTOR_BYTES];
    char descriptor_text[DESCRIPTOR_TEXT_SIZE];
    char *plaintext = NULL;
    json_t *record = NULL;
    int status = -1;
    *sealed = NULL;
    *sealed_length = 0;
    descriptor_to_bytes(descriptor, descriptor_bytes);
    if (base64url_encode(descriptor_bytes, sizeof descriptor_bytes, descriptor_text,
                         sizeof descriptor_text) != 0)
        goto cleanup;
    /* jansson copies the strings and frees them without wiping: the
     * copies live only until json_decref below. */
    record = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", REGISTRY_RECORD_VERSION,
                       "national_id", national_id, "name", name, "birth_date",
                       birth_date, "descriptor", descriptor_text);
    plaintext = record ? json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (plaintext != NULL &&
        signer_seal_record(signer, record_id, plaintext, strlen(plaintext), sealed,
                           sealed_length) == 0)
        status = 0;
cleanup:
    json_decref(record);
    if (plaintext != NULL) {
        secret_wipe(plaintext, strlen(plaintext));
        free(plaintext);
    }
    secret_wipe(descriptor_bytes, sizeof descriptor_bytes);
    secret_wipe(descriptor_text, sizeof descriptor_text);
    return status;
}

/* Seals a row whose descriptor is ready and inserts or updates the
 * person's record. Returns 0 or -1 with err (the import stops). */
static int
store_person(struct import *import, const struct pending_row *row)
{
    int status = -1;
    struct store_person existing = {0};
    struct store_person person = {0};
    int found = 0;

    if (store_person_find(import->conn, row->index, &existing, &found) != 0) {
        error_set(import->err, import->errlen, "registry lookup: %s",
                  store_last_error(import->conn));
        goto cleanup;
    }
    if (found) {
        memcpy(person.id, existing.id, sizeof person.id);
        person.created_at = existing.created_at;
    } else {
        uint8_t random_id[RECORD_ID_BYTES];
        if (RAND_bytes(random_id, sizeof random_id) != 1 ||
            hex_encode(random_id, sizeof random_id, person.id, sizeof person.id) != 0)
            goto cleanup;
        person.created_at = import->now;
    }
    person.updated_at = import->now;
    memcpy(person.national_id_index, row->index, sizeof row->index);

    if (registry_seal(import->signer, person.id, row->id.text, row->name,
                      row->birth_date, row->descriptor, &person.sealed,
                      &person.sealed_length) != 0) {
        error_set(import->err, import->errlen, "sealing a registry record failed");
        goto cleanup;
    }
    if ((found ? store_person_update(import->conn, &person)
               : store_person_insert(import->conn, &person)) != 0) {
        error_set(import->err, import->errlen, "registry write: %s",
                  store_last_error(import->conn));
        goto cleanup;
    }
    if (found)
        import->report->updated++;
    else
        import->report->inserted++;
    status = 0;
cleanup:
    store_person_clear(&existing);
    store_person_clear(&person);
    return status;
}

/* Computes the queued rows' templates, then reports or stores each row in
 * line order, and empties (wipes) the queue. Returns 0 or -1 with err. */
static int
flush_pending(struct import *import)
{
    int status = 0;
    if (import->pending_count > 0)
        compute_templates(import);
    for (size_t i = 0; i < import->pending_count && status == 0; i++) {
        struct pending_row *row = &import->pending[i];
        if (row->photo_status == PHOTO_REJECTED)
            reject_line(import, row->line, row->reject_code, row->reject_message);
        else if (row->photo_status == PHOTO_FAILED)
            status = error_set(import->err, import->errlen,
                               "line %zu: face engine: %s", row->line,
                               row->err[0] ? row->err : "out of memory");
        else
            status = store_person(import, row);
    }
    secret_wipe(import->pending, sizeof import->pending);
    import->pending_count = 0;
    return status;
}

/* Checks the ID number against the rows already seen (no number twice in
 * one file) and queues the row for its template. Returns 0 (queued or
 * rejected) or -1 with err. */
static int
queue_row(struct import *import, const struct national_id *id,
          const char *name, const char *birth_date, const char *photo)
{
    struct pending_row *row = &import->pending[import->pending_count];
    memset(row, 0, sizeof *row);
    if (registry_index(import->signer, id->text, row->index) != 0)
        return error_set(import->err, import->errlen, "blind index failed");
    char index_hex[HEX_ENCODED_SIZE(VAULT_INDEX_BYTES)];
    if (hex_encode(row->index, sizeof row->index, index_hex, sizeof index_hex) != 0)
        return error_set(import->err, import->errlen, "blind index encoding failed");
    json_t *first_line = json_object_get(import->seen, index_hex);
    if (first_line != NULL) {
        char message[96];
        snprintf(message, sizeof message,
                 "the same ID number is already on line %lld",
                 (long long)json_integer_value(first_line));
        reject(import, "duplicate_national_id", message);
        return 0;
    }
    if (json_object_set_new(import->seen, index_hex,
                            json_integer((json_int_t)import->row.line)) != 0)
        return error_set(import->err, import->errlen, "out of memory");
    row->line = import->row.line;
    row->id = *id;
    if (string_copy(row->name, sizeof row->name, name) != 0 ||
        string_copy(row->birth_date, sizeof row->birth_date, birth_date) != 0 ||
        string_copy(row->photo, sizeof row->photo, photo) != 0)
        return error_set(import->err, import->errlen, "row too long");
    import->pending_count++;
    if (import->pending_count == IMPORT_BATCH_ROWS)
        return flush_pending(import);
    return 0;
}

static void
process_row(struct import *import)
{
    struct csv_row *row = &import->row;
    if (!import->header_done) {
        import->header_done = 1;
        int ok = row->count == REGISTRY_COLUMNS;
        for (size_t i = 0; ok && i < REGISTRY_COLUMNS; i++) {
            trim_spaces(row->fields[i]);
            ok = strcmp(row->fields[i], expected_header[i]) == 0;
        }
        if (!ok) {
            import->failed = 1;
            error_set(import->err, import->errlen,
                      "line %zu: the header must be "
                      "national_id,name,birth_date,photo",
                      row->line);
        }
        return;
    }
    import->report->rows++;
    if (row->count != REGISTRY_COLUMNS) {
        reject(import, "wrong_column_count",
               "a row must have 4 columns: national_id,name,birth_date,photo");
        return;
    }
    if (row->field_too_long) {
        reject(import, "field_too_long", "a field is longer than 1024 bytes");
        return;
    }
    for (size_t i = 0; i < REGISTRY_COLUMNS; i++)
        trim_spaces(row->fields[i]);

    struct national_id id;
    enum national_id_status id_status =
        national_id_parse_now(row->fields[0], strlen(row->fields[0]), &id);
    if (id_status != NATIONAL_ID_OK) {
        reject(import, national_id_status_code(id_status),
               national_id_status_message(id_status));
        return;
    }
    const char *name = row->fields[1];
    size_t name_bytes = strlen(name);
    if (name_bytes == 0) {
        reject(import, "missing_name", "the name is empty");
        return;
    }
    if (!utf8_is_clean_text(name, name_bytes)) {
        reject(import, "invalid_name",
               "the name must be UTF-8 text without control characters");
        return;
    }
    if (name_bytes > REGISTRY_NAME_MAX_BYTES ||
        utf8_length(name, name_bytes) > REGISTRY_NAME_MAX_CHARACTERS) {
        reject(import, "name_too_long", "the name is longer than 64 characters");
        return;
    }
    int year, month, day;
    if (parse_date(row->fields[2], &year, &month, &day) != 0) {
        reject(import, "invalid_birth_date",
               "birth_date must be a real date written YYYY-MM-DD");
        return;
    }
    if (year != id.birth_year || month != id.birth_month || day != id.birth_day) {
        reject(import, "birth_date_mismatch",
               "birth_date differs from the birth date in the ID number");
        return;
    }
    if (row->fields[3][0] == '\0' || !photo_exists(import, row->fields[3])) {
        reject(import, "photo_not_found",
               "the photo file does not exist (paths are relative to the CSV)");
        return;
    }
    if (queue_row(import, &id, name, row->fields[2], row->fields[3]) != 0)
        import->failed = 1;
    secret_wipe(&id, sizeof id);
    secret_wipe(row->fields, sizeof row->fields);
}

/* libcsv: one record complete. */
static void
on_record(int terminator, void *context)
{
    (void)terminator;
    struct import *import = context;
    if (!import->failed)
        process_row(import);
    memset(&import->row, 0, sizeof import->row);
}

static void
set_csv_dir(struct import *import, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(import->csv_dir, sizeof import->csv_dir, ".");
    } else if (slash == path) {
        snprintf(import->csv_dir, sizeof import->csv_dir, "/");
    } else {
        int length = (int)(slash - path);
        snprintf(import->csv_dir, sizeof import->csv_dir, "%.*s", length, path);
    }
}

/* Reads the file line by line into libcsv. Lines longer than
 * REGISTRY_LINE_MAX_BYTES are rejected whole. */
static int
feed_file(FILE *file, struct csv_parser *parser, struct import *import)
{
    char line[REGISTRY_LINE_MAX_BYTES + 2];
    while (!import->failed && fgets(line, sizeof line, file) != NULL) {
        import->line++;
        size_t length = strlen(line);
        if (length == sizeof line - 1 && line[length - 1] != '\n') {
            /* Too long: skip the rest of it and report the row. */
            int c;
            while ((c = fgetc(file)) != EOF && c != '\n')
                ;
            csv_fini(parser, NULL, NULL, NULL);
            memset(&import->row, 0, sizeof import->row);
            import->row.line = import->line;
            if (!import->header_done) {
                return error_set(import->err, import->errlen,
                                 "line 1: header line too long");
            }
            import->report->rows++;
            reject(import, "line_too_long", "the line is longer than 4096 bytes");
            continue;
        }
        const char *start = line;
        if (import->line == 1 && length >= 3 &&
            memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            start += 3; /* UTF-8 byte order mark */
            length -= 3;
        }
        if (csv_parse(parser, start, length, on_field, on_record, import) != length)
            return error_set(import->err, import->errlen, "line %zu: %s",
                             import->line, csv_strerror(csv_error(parser)));
    }
    if (ferror(file))
        return error_set(import->err, import->errlen, "read error");
    if (!import->failed && csv_fini(parser, on_field, on_record, import) != 0)
        return error_set(import->err, import->errlen, "line %zu: %s",
                         import->line, csv_strerror(csv_error(parser)));
    return import->failed ? -1 : 0;
}

static int
compare_rejection_lines(const void *a, const void *b)
{
    json_int_t line_a = json_integer_value(json_object_get(*(json_t *const *)a, "line"));
    json_int_t line_b = json_integer_value(json_object_get(*(json_t *const *)b, "line"));
    return (line_a > line_b) - (line_a < line_b);
}

/* Rows whose photo was rejected are reported when their batch is done,
 * after later rows' cheap rejections: put the report back in line order
 * (each line has at most one rejection). 0 or -1 (out of memory). */
static int
sort_rejections(json_t *rejections)
{
    size_t count = json_array_size(rejections);
    if (count < 2)
        return 0;
    json_t **entries = calloc(count, sizeof *entries);
    if (entries == NULL)
        return -1;
    for (size_t i = 0; i < count; i++)
        entries[i] = json_incref(json_array_get(rejections, i));
    qsort(entries, count, sizeof *entries, compare_rejection_lines);
    json_array_clear(rejections);
    int status = 0;
    for (size_t i = 0; i < count; i++)
        if (json_array_append_new(rejections, entries[i]) != 0)
            status = -1;
    free(entries);
    return status;
}

int
registry_import_csv(struct store *store, struct signer *signer,
                    const face_engine *engine, const char *path,
                    struct registry_report *report, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    if (engine == NULL)
        return error_set(err, errlen, "no face engine: the import computes "
                                      "each photo's face template");
    report->rejections = json_array();
    struct import *import = calloc(1, sizeof *import);
    if (import == NULL || report->rejections == NULL) {
        free(import);
        return error_set(err, errlen, "out of memory");
    }
    int status = -1;
    struct csv_parser parser;
    int parser_ready = 0;
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        error_set(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        error_set(err, errlen, "out of memory");
        goto cleanup;
    }
    parser_ready = 1;
    import->signer = signer;
    import->engine = engine;
    import->err = err;
    import->errlen = errlen;
    import->now = (int64_t)time(NULL);
    import->report = report;
    import->seen = json_object();
    set_csv_dir(import, path);
    import->conn = store_acquire(store);
    if (import->seen == NULL || store_begin(import->conn) != 0) {
        error_set(err, errlen, "cannot start the import: %s",
                  store_last_error(import->conn));
        goto cleanup;
    }
    if (feed_file(file, &parser, import) != 0)
        goto cleanup;
    if (!import->header_done) {
        error_set(err, errlen, "%s is empty (no header line)", path);
        goto cleanup;
    }
    if (flush_pending(import) != 0)
        goto cleanup;
    if (sort_rejections(report->rejections) != 0) {
        error_set(err, errlen, "out of memory");
        goto cleanup;
    }
    json_t *details = json_pack("{s:I, s:I, s:I, s:I}", "rows",
                                (json_int_t)report->rows, "inserted",
                                (json_int_t)report->inserted, "updated",
                                (json_int_t)report->updated, "rejected",
                                (json_int_t)report->rejected);
    int audited = details != NULL &&
                  audit_append(import->conn, AUDIT_ACTOR_OPERATOR,
                               "registry.import", "registry", details, NULL) == 0;
    json_decref(details);
    if (!audited || store_commit(import->conn) != 0) {
        error_set(err, errlen, "cannot commit the import: %s",
                  store_last_error(import->conn));
        goto cleanup;
    }
    status = 0;
cleanup:
    if (status != 0) {
        /* Nothing was imported: the counts must not say otherwise. */
        report->inserted = 0;
        report->updated = 0;
    }
    if (import->conn != NULL)
        store_release(store, import->conn); /* rolls back if still open */
    if (parser_ready)
        csv_free(&parser);
    if (file != NULL)
        fclose(file);
    json_decref(import->seen);
    secret_wipe(&import->row, sizeof import->row);
    secret_wipe(import->pending, sizeof import->pending);
    free(import);
    return status;
}

void
registry_report_clear(struct registry_report *report)
{
    json_decref(report->rejections);
    memset(report, 0, sizeof *report);
}

int
registry_open(struct signer *signer, const struct store_person *person, unsigned fields,
              struct registry_person *out)
{
    static const struct {
        unsigned bit;
        const char *name;
    } known[] = {
        {REGISTRY_NATIONAL_ID, "national_id"}, {REGISTRY_NAME, "name"},
        {REGISTRY_BIRTH_DATE, "birth_date"}, {REGISTRY_DESCRIPTOR, "descriptor"},
    };
    const char *names[sizeof known / sizeof *known + 1] = {0};
    size_t count = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (fields & known[i].bit)
            names[count++] = known[i].name;
    assert(count > 0 && (fields & ~REGISTRY_FIELDS_ALL) == 0);

    int status = -1;
    char *text = NULL;
    size_t length = 0;
    json_t *record = NULL;
    memset(out, 0, sizeof *out);
    if (signer_open_record(signer, person->id, person->sealed, person->sealed_length,
                           names, &text, &length) != 0)
        goto cleanup;
    record = json_loadb(text, length, 0, NULL);
    const char *id = json_string_value(json_object_get(record, "national_id"));
    const char *name = json_string_value(json_object_get(record, "name"));
    const char *birth = json_string_value(json_object_get(record, "birth_date"));
    json_t *descriptor = json_object_get(record, "descriptor");
    if (descriptor != NULL) {
        const char *encoded = json_string_value(descriptor);
        uint8_t bytes[REGISTRY_DESCRIPTOR_BYTES];
        size_t decoded = 0;
        int ok = encoded != NULL &&
                 base64url_decode(encoded, strlen(encoded), bytes, sizeof bytes,
                                  &decoded) == 0 &&
                 decoded == sizeof bytes &&
                 descriptor_from_bytes(bytes, out->descriptor) == 0;
        secret_wipe(bytes, sizeof bytes);
        if (!ok)
            goto cleanup;
        out->has_descriptor = 1;
    }
    /* Every field asked for is there (a version 1 record has no
     * descriptor: has_descriptor says so). */
    if (string_copy(out->record_id, sizeof out->record_id, person->id) != 0 ||
        ((fields & REGISTRY_NATIONAL_ID) &&
         (id == NULL || string_copy(out->national_id, sizeof out->national_id, id) != 0)) ||
        ((fields & REGISTRY_NAME) &&
         (name == NULL || string_copy(out->name, sizeof out->name, name) != 0)) ||
        ((fields & REGISTRY_BIRTH_DATE) &&
         (birth == NULL || string_copy(out->birth_date, sizeof out->birth_date, birth) != 0)))
        goto cleanup;
    status = 0;
cleanup:
    if (status != 0)
        registry_person_clear(out);
    json_decref(record); /* jansson frees its strings without wiping */
    signer_free_secret(text, length);
    return status;
}

/* registry_find() of the given fields. */
static int
find_fields(struct store_conn *conn, struct signer *signer, const char *national_id,
            unsigned fields, struct registry_person *out, int *found)
{
    int status = -1;
    uint8_t index[VAULT_INDEX_BYTES];
    struct store_person person = {0};
    memset(out, 0, sizeof *out);
    *found = 0;
    if (registry_index(signer, national_id, index) != 0 ||
        store_person_find(conn, index, &person, found) != 0)
        goto cleanup;
    status = *found ? registry_open(signer, &person, fields, out) : 0;
cleanup:
    if (status != 0)
        *found = 0;
    store_person_clear(&person);
    return status;
}

int
registry_find(struct store_conn *conn, struct signer *signer,
              const char *national_id, struct registry_person *out, int *found)
{
    return find_fields(conn, signer, national_id, REGISTRY_FIELDS_ALL, out, found);
}

struct registry_decoy {
    struct store_person person; /* id and sealed set */
};

struct registry_decoy *
registry_decoy_new(struct signer *signer)
{
    struct registry_decoy *decoy = calloc(1, sizeof *decoy);
    uint8_t random_id[RECORD_ID_BYTES];
    /* A real record's size: a name of common length, a full descriptor
     * (one that no face is near: a descriptor is unit length, this one
     * is zero). The ID number passes its checksum, as every stored one. */
    static const float nothing[FACE_DESCRIPTOR_DIMS];
    if (decoy == NULL || RAND_bytes(random_id, sizeof random_id) != 1 ||
        hex_encode(random_id, sizeof random_id, decoy->person.id,
                   sizeof decoy->person.id) != 0 ||
        registry_seal(signer, decoy->person.id, "110105194912319999", "Decoy Record",
                      "1949-12-31", nothing, &decoy->person.sealed,
                      &decoy->person.sealed_length) != 0) {
        registry_decoy_free(decoy);
        return NULL;
    }
    return decoy;
}

void
registry_decoy_free(struct registry_decoy *decoy)
{
    if (decoy == NULL)
        return;
    store_person_clear(&decoy->person);
    free(decoy);
}

int
registry_find_or_decoy(struct store_conn *conn, struct signer *signer,
                       const struct registry_decoy *decoy, const char *national_id,
                       unsigned fields, struct registry_person *out, int *found)
{
    assert(decoy != NULL);
    if (find_fields(conn, signer, national_id, fields, out, found) != 0)
        return -1;
    if (*found)
        return 0;
    struct store_person none = {0};
    int none_found = 0;
    int status = store_person_get(conn, decoy->person.id, &none, &none_found);
    store_person_clear(&none);
    if (status == 0)
        status = registry_open(signer, &decoy->person, fields, out);
    registry_person_clear(out);
    if (status == 0)
        status = string_copy(out->record_id, sizeof out->record_id, decoy->person.id);
    return status == 0 && !none_found ? 0 : -1;
}

int
registry_get_by_record_id(struct store_conn *conn, struct signer *signer,
                          const char *record_id, struct registry_person *out,
                          int *found)
{
    struct store_person person = {0};
    memset(out, 0, sizeof *out);
    int status = store_person_get(conn, record_id, &person, found);
    if (status == 0 && *found)
        status = registry_open(signer, &person, REGISTRY_FIELDS_ALL, out);
    if (status != 0)
        *found = 0;
    store_person_clear(&person);
    return status;
}

void
registry_person_clear(struct registry_person *person)
{
    secret_wipe(person, sizeof *person);
}
