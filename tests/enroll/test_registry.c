/* Tests of the registry CSV import: validation with line numbers, face
 * templates from real photos (real face engine, photos from
 * $CYBERID_SHARED_DIR/faces), one transaction, idempotent re-import, and
 * no plaintext at rest: no name, no ID number, no descriptor bytes. */
#include "enroll/registry.h"

#include "signer/signer.h"
#include "store/store.h"
#include "util/encoding.h"

#include "../test_db.h"

#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#define BLANK_SIDE 160 /* a blank PNG: an image without a face */
#define RGB_BYTES 3
#define SLICE_BYTES 16

struct fixture {
    char *dir;
    char keys[1100], pki[1100], database[TEST_DB_LOCATION_MAX], csv[1100];
    struct signer *signer;
    struct store *store;
};

/* One engine for the whole run: loading it is the slow part. */
static face_engine *engine;

static const char *
shared_dir(void)
{
    const char *dir = getenv("CYBERID_SHARED_DIR");
    return dir != NULL ? dir : CYBERID_SHARED_DIR_DEFAULT;
}

static int
load_engine(void **state)
{
    (void)state;
    const char *models = getenv("CYBERID_MODELS_DIR");
    char err[FACE_ERROR_LEN];
    if (face_engine_load(&engine, models ? models : CYBERID_DEFAULT_MODELS_DIR,
                         err, sizeof err) != FACE_OK) {
        fprintf(stderr, "cannot load the face models: %s\n", err);
        return -1;
    }
    return 0;
}

static int
free_engine(void **state)
{
    (void)state;
    face_engine_free(engine);
    engine = NULL;
    return 0;
}

static void
append_chunk(uint8_t *png, size_t *at, const char type[4], const uint8_t *data,
             uint32_t length)
{
    uint8_t *start = png + *at;
    start[0] = (uint8_t)(length >> 24);
    start[1] = (uint8_t)(length >> 16);
    start[2] = (uint8_t)(length >> 8);
    start[3] = (uint8_t)length;
    memcpy(start + 4, type, 4);
    if (length > 0)
        memcpy(start + 8, data, length);
    uLong crc = crc32(0, start + 4, 4 + length);
    start[8 + length] = (uint8_t)(crc >> 24);
    start[9 + length] = (uint8_t)(crc >> 16);
    start[10 + length] = (uint8_t)(crc >> 8);
    start[11 + length] = (uint8_t)crc;
    *at += 12 + length;
}

/* Writes a uniform grey RGB PNG: a valid image with no face in it. */
static void
write_blank_png(const char *path)
{
    size_t raw_size = BLANK_SIDE * (1 + BLANK_SIDE * RGB_BYTES);
    uint8_t *raw = malloc(raw_size);
    assert_non_null(raw);
    memset(raw, 0x80, raw_size);
    for (size_t y = 0; y < BLANK_SIDE; y++)
        raw[y * (1 + BLANK_SIDE * RGB_BYTES)] = 0; /* filter: none */
    uLongf packed_size = compressBound(raw_size);
    uint8_t *packed = malloc(packed_size);
    assert_non_null(packed);
    assert_int_equal(compress(packed, &packed_size, raw, raw_size), Z_OK);
    uint8_t *png = malloc(packed_size + 128);
    assert_non_null(png);
    size_t at = 0;
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    at = 8;
    const uint8_t header[13] = {0, 0, 0, BLANK_SIDE, 0, 0, 0, BLANK_SIDE,
                                8 /* bits */, 2 /* RGB */, 0, 0, 0};
    append_chunk(png, &at, "IHDR", header, sizeof header);
    append_chunk(png, &at, "IDAT", packed, (uint32_t)packed_size);
    append_chunk(png, &at, "IEND", NULL, 0);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(png, 1, at, file), at);
    assert_int_equal(fclose(file), 0);
    free(png);
    free(packed);
    free(raw);
}

/* The descriptor the face engine gives a photo of the shared set. */
static void
photo_descriptor(const char *photo, float descriptor[FACE_DESCRIPTOR_DIMS])
{
    char path[1200], err[FACE_ERROR_LEN];
    snprintf(path, sizeof path, "%s/faces/deepface/%s", shared_dir(), photo);
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    uint8_t *bytes = malloc(REGISTRY_PHOTO_MAX_BYTES);
    assert_non_null(bytes);
    size_t length = fread(bytes, 1, REGISTRY_PHOTO_MAX_BYTES, file);
    fclose(file);
    face_image image = {0};
    assert_int_equal(face_image_decode(&image, bytes, length, err, sizeof err), FACE_OK);
    assert_int_equal(face_descriptor(engine, &image, descriptor, NULL, err,
                                     sizeof err), FACE_OK);
    face_image_free(&image);
    free(bytes);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("registry");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->pki, sizeof f->pki, "%s/pki", f->dir);
    test_db_location(f->dir, f->database, sizeof f->database);
    snprintf(f->csv, sizeof f->csv, "%s/registry.csv", f->dir);
    assert_int_equal(signer_create_keys(f->keys, f->pki, err, sizeof err), 0);
    assert_int_equal(signer_open(f->keys, &f->signer, err, sizeof err), 0);
    assert_int_equal(store_open(f->database, 2, 1, &f->store, err, sizeof err), 0);
    char path[1200], faces[1200];
    snprintf(path, sizeof path, "%s/photo.jpg", f->dir);
    test_write_file(path, "not really a photo; the face engine checks content");
    snprintf(path, sizeof path, "%s/blank.png", f->dir);
    write_blank_png(path);
    snprintf(path, sizeof path, "%s/photos", f->dir);
    snprintf(faces, sizeof faces, "%s/faces/deepface", shared_dir());
    assert_int_equal(symlink(faces, path), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
    test_db_drop(f->database);
    signer_close(f->signer);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

static const char good_rows[] =
    "national_id,name,birth_date,photo\n"
    "11010519491231002X,张三,1949-12-31,photos/img1.jpg\n"
    "440524188001010014,\"Li, Si\",1880-01-01,photos/img3.jpg\n"
    "110105200001010016,Ōtomo Wang,2000-01-01,photos/img8.jpg\n";
static const char *const good_ids[] = {"11010519491231002X", "440524188001010014",
                                       "110105200001010016"};
static const char *const good_photos[] = {"img1.jpg", "img3.jpg", "img8.jpg"};

static int64_t
person_count(struct fixture *f)
{
    struct store_conn *conn = store_acquire(f->store);
    int64_t count = -1;
    assert_int_equal(store_person_count(conn, &count), 0);
    store_release(f->store, conn);
    return count;
}

static void
expect_rejection(json_t *rejections, size_t index, int line, const char *code)
{
    json_t *entry = json_array_get(rejections, index);
    assert_non_null(entry);
    assert_int_equal(json_integer_value(json_object_get(entry, "line")), line);
    assert_string_equal(json_string_value(json_object_get(entry, "error")), code);
    assert_non_null(json_string_value(json_object_get(entry, "error_description")));
}

static void
test_mixed_good_and_bad_rows(void **state)
{
    struct fixture *f = *state;
    test_write_file(f->csv,
        "national_id,name,birth_date,photo\n"
        "11010519491231002X,张三,1949-12-31,photos/img1.jpg\n"   /* 2 good */
        "110105194912310021,李四,1949-12-31,photo.jpg\n"          /* 3 check */
        "11010519491231002,王五,1949-12-31,photo.jpg\n"           /* 4 length */
        "440524188001010014,,1880-01-01,photo.jpg\n"              /* 5 no name */
        "440524188001010014,赵六,1880-01-02,photo.jpg\n"          /* 6 mismatch */
        "440524188001010014,赵六,1880-01-01,missing.jpg\n"        /* 7 photo */
        "440524188001010014,赵六,1880-01-01\n"                    /* 8 columns */
        "440524188001010014,\"Zhao Liu\",1880-01-01,photos/img3.jpg\n" /* 9 good */
        "11010519491231002X,张三,1949-12-31,photo.jpg\n"          /* 10 dup */
        "110105200001010016,\"\x01" "bad\",2000-01-01,photo.jpg\n"   /* 11 control */
        "110105200001010016,\xff\xfe,2000-01-01,photo.jpg\n"      /* 12 not UTF-8 */
        "110105200001010016,Wang,2000-02-30,photo.jpg\n");        /* 13 date */
    struct registry_report report;
    char err[256];
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv, &report, err,
                                         sizeof err), 0);
    assert_int_equal(report.rows, 12);
    assert_int_equal(report.inserted, 2);
    assert_int_equal(report.updated, 0);
    assert_int_equal(report.rejected, 10);
    expect_rejection(report.rejections, 0, 3, "invalid_check_character");
    expect_rejection(report.rejections, 1, 4, "invalid_length");
    expect_rejection(report.rejections, 2, 5, "missing_name");
    expect_rejection(report.rejections, 3, 6, "birth_date_mismatch");
    expect_rejection(report.rejections, 4, 7, "photo_not_found");
    expect_rejection(report.rejections, 5, 8, "wrong_column_count");
    expect_rejection(report.rejections, 6, 10, "duplicate_national_id");
    expect_rejection(report.rejections, 7, 11, "invalid_name");
    expect_rejection(report.rejections, 8, 12, "invalid_name");
    expect_rejection(report.rejections, 9, 13, "invalid_birth_date");
    registry_report_clear(&report);
    assert_int_equal(person_count(f), 2);
}

static void
test_reimport_updates_without_duplicates(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256];
    test_write_file(f->csv, good_rows);
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv, &report, err,
                                         sizeof err), 0);
    assert_int_equal(report.inserted, 3);
    registry_report_clear(&report);

    test_write_file(f->csv,
                    "national_id,name,birth_date,photo\r\n"
                    "11010519491231002x,张三丰,1949-12-31,photos/img2.jpg\r\n");
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv, &report, err,
                                         sizeof err), 0);
    assert_int_equal(report.inserted, 0);
    assert_int_equal(report.updated, 1);
    assert_int_equal(report.rejected, 0);
    registry_report_clear(&report);
    assert_int_equal(person_count(f), 3);

    struct store_conn *conn = store_acquire(f->store);
    struct registry_person person;
    int found = 0;
    assert_int_equal(registry_find(conn, f->signer, "11010519491231002X", &person,
                                   &found), 0);
    assert_true(found);
    assert_string_equal(person.name, "张三丰");
    assert_string_equal(person.birth_date, "1949-12-31");
    /* The template follows the new photo. */
    float expected[FACE_DESCRIPTOR_DIMS];
    photo_descriptor("img2.jpg", expected);
    assert_true(person.has_descriptor);
    assert_true(face_distance(person.descriptor, expected) < 1e-5f);
    photo_descriptor("img1.jpg", expected);
    assert_true(face_distance(person.descriptor, expected) > 1e-3f);
    registry_person_clear(&person);
    for (size_t i = 0; i < sizeof *person.descriptor * FACE_DESCRIPTOR_DIMS; i++)
        assert_int_equal(((const uint8_t *)person.descriptor)[i], 0);
    assert_false(person.has_descriptor);
    assert_int_equal(registry_find(conn, f->signer, "440524188001010014", &person,
                                   &found), 0);
    assert_true(found);
    assert_string_equal(person.name, "Li, Si");
    registry_person_clear(&person);
    assert_int_equal(registry_find(conn, f->signer, "110105200001010024", &person,
                                   &found), 0);
    assert_false(found);

    /* For strangers: a known number reads as registry_find() reads it; an
     * unknown one leaves only the decoy's record id, which no record and
     * no identity has. */
    struct registry_decoy *decoy = registry_decoy_new(f->signer);
    assert_non_null(decoy);
    assert_int_equal(registry_find_or_decoy(conn, f->signer, decoy, "440524188001010014", REGISTRY_FIELDS_ALL,
                                            &person, &found), 0);
    assert_true(found);
    assert_string_equal(person.name, "Li, Si");
    assert_true(person.has_descriptor);
    registry_person_clear(&person);
    assert_int_equal(registry_find_or_decoy(conn, f->signer, decoy, "110105200001010024", REGISTRY_FIELDS_ALL,
                                            &person, &found), 0);
    assert_false(found);
    assert_false(person.has_descriptor);
    assert_string_equal(person.name, "");
    assert_string_equal(person.national_id, "");
    assert_int_equal(strlen(person.record_id), 32);
    struct store_person none;
    assert_int_equal(store_person_get(conn, person.record_id, &none, &found), 0);
    assert_false(found);
    store_person_clear(&none);
    struct store_identity identity;
    assert_int_equal(store_identity_find_by_person(conn, person.record_id, &identity,
                                                   &found), 0);
    assert_false(found);
    registry_person_clear(&person);
    registry_decoy_free(decoy);
    store_release(f->store, conn);
}

static void
test_no_plaintext_at_rest(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256];
    test_write_file(f->csv, good_rows);
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv, &report, err,
                                         sizeof err), 0);
    assert_int_equal(report.inserted, 3);
    registry_report_clear(&report);

    const char *secrets[] = {"11010519491231002X", "440524188001010014",
                             "110105200001010016", "张三", "Li, Si", "Ōtomo Wang",
                             "1949-12-31", "2000-01-01", "19491231"};
    /* The templates as the store would hold them in the clear: the raw
     * 512-byte float arrays (little-endian, as on this host and in the
     * sealed format), 16-byte slices of them, and their base64url text. */
    _Static_assert(sizeof(float) == 4, "float32");
    uint8_t raw[3][REGISTRY_DESCRIPTOR_BYTES];
    char text[3][BASE64URL_ENCODED_SIZE(REGISTRY_DESCRIPTOR_BYTES)];
    struct store_conn *conn = store_acquire(f->store);
    for (size_t p = 0; p < 3; p++) {
        struct registry_person person;
        int found = 0;
        assert_int_equal(registry_find(conn, f->signer, good_ids[p], &person, &found), 0);
        assert_true(found);
        assert_true(person.has_descriptor);
        memcpy(raw[p], person.descriptor, sizeof raw[p]);
        registry_person_clear(&person);
        assert_int_equal(base64url_encode(raw[p], sizeof raw[p], text[p],
                                          sizeof text[p]), 0);
    }
    store_release(f->store, conn);
    /* A raw copy of the database: the SQLite file and its companions, or
     * every file of the PostgreSQL server's data folder (test_db.h). */
    const char *where = f->database;
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        if (test_db_raw_contains(where, secrets[i], strlen(secrets[i])))
            fail_msg("%s holds \"%s\" in plaintext", where, secrets[i]);
    for (size_t p = 0; p < 3; p++) {
        if (test_db_raw_contains(where, raw[p], sizeof raw[p]))
            fail_msg("%s holds descriptor %zu", where, p);
        for (size_t at = 0; at + SLICE_BYTES <= sizeof raw[p]; at += 8 * SLICE_BYTES)
            if (test_db_raw_contains(where, raw[p] + at, SLICE_BYTES))
                fail_msg("%s holds bytes %zu..%zu of descriptor %zu", where, at,
                         at + SLICE_BYTES, p);
        if (test_db_raw_contains(where, text[p], SLICE_BYTES))
            fail_msg("%s holds descriptor %zu in base64url", where, p);
    }
    /* The check itself works: the same search finds what is there (the
     * schema, in the database or still in its write-ahead log). */
    assert_true(test_db_raw_contains(where, "registry_person", 15));
}

static void
test_file_level_errors_import_nothing(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256];
    test_write_file(f->csv, "id,name,birth,photo\n11010519491231002X,A,1949-12-31,photo.jpg\n");
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv, &report, err,
                                         sizeof err), -1);
    assert_non_null(strstr(err, "header"));
    registry_report_clear(&report);

    test_write_file(f->csv, "");
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv, &report, err,
                                         sizeof err), -1);
    registry_report_clear(&report);

    char missing[1200];
    snprintf(missing, sizeof missing, "%s/nope.csv", f->dir);
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, missing, &report, err,
                                         sizeof err), -1);
    registry_report_clear(&report);

    test_write_file(f->csv, "national_id,name,birth_date,photo\n\"unterminated,x\n");
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv, &report, err,
                                         sizeof err), -1);
    registry_report_clear(&report);
    assert_int_equal(person_count(f), 0);
}

static void
test_limits(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256];
    /* 64 characters of name is the limit; 65 is refused. 64 CJK characters
     * are 192 bytes, under the byte limit. */
    char name64[64 * 3 + 1] = "", name65[65 * 3 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(name64, "张");
    snprintf(name65, sizeof name65, "%s张", name64);
    char *long_line = malloc(5000);
    memset(long_line, 'a', 4999);
    long_line[4999] = '\0';
    char *csv = malloc(12000);
    snprintf(csv, 12000,
             "national_id,name,birth_date,photo\n"
             "11010519491231002X,%s,1949-12-31,photos/img1.jpg\n"
             "440524188001010014,%s,1880-01-01,photos/img3.jpg\n"
             "110105200001010016,%s,2000-01-01,photo.jpg\n",
             name64, name65, long_line);
    test_write_file(f->csv, csv);
    free(csv);
    free(long_line);
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv, &report, err,
                                         sizeof err), 0);
    assert_int_equal(report.inserted, 1);
    assert_int_equal(report.rejected, 2);
    expect_rejection(report.rejections, 0, 3, "name_too_long");
    expect_rejection(report.rejections, 1, 4, "line_too_long");
    registry_report_clear(&report);
}

static void
test_descriptors_are_sealed_with_the_record(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256];
    test_write_file(f->csv, good_rows);
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv,
                                         &report, err, sizeof err), 0);
    assert_int_equal(report.inserted, 3);
    assert_int_equal(report.rejected, 0);
    registry_report_clear(&report);

    struct store_conn *conn = store_acquire(f->store);
    float first[FACE_DESCRIPTOR_DIMS];
    for (size_t p = 0; p < 3; p++) {
        struct registry_person person;
        int found = 0;
        float expected[FACE_DESCRIPTOR_DIMS];
        photo_descriptor(good_photos[p], expected);
        assert_int_equal(registry_find(conn, f->signer, good_ids[p], &person, &found), 0);
        assert_true(found);
        assert_true(person.has_descriptor);
        float distance = face_distance(person.descriptor, expected);
        if (!(distance < 1e-5f))
            fail_msg("%s: stored descriptor is %g from the photo's", good_photos[p],
                     (double)distance);
        if (p == 0)
            memcpy(first, person.descriptor, sizeof first);
        else /* different people, different templates */
            assert_true(face_distance(person.descriptor, first) > FACE_SAME_PERSON_THRESHOLD);
        registry_person_clear(&person);
    }
    store_release(f->store, conn);
}

static void
test_photo_rejections(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256];
    test_write_file(f->csv,
        "national_id,name,birth_date,photo\n"
        "11010519491231002X,张三,1949-12-31,blank.png\n"             /* 2 */
        "440524188001010014,Li Si,1880-01-01,photos/couple.jpg\n"    /* 3 */
        "110105200001010016,Wang,2000-01-01,photo.jpg\n"             /* 4 */
        "110105194912310011,Zhao,1949-12-31,photos/selfie-many-people.jpg\n" /* 5 */
        "110105198001010016,Qian,1980-01-01,photos/img1.jpg\n"      /* 6 good */
        "110105194912310021,Sun,1949-12-31,photos/img3.jpg\n");      /* 7 check */
    int status = registry_import_csv(f->store, f->signer, engine, f->csv, &report,
                                     err, sizeof err);
    assert_int_equal(status, 0);
    assert_int_equal(report.rows, 6);
    assert_int_equal(report.inserted, 1);
    assert_int_equal(report.rejected, 5);
    /* In line order, although photos are judged after the cheap checks. */
    expect_rejection(report.rejections, 0, 2, "no_face");
    expect_rejection(report.rejections, 1, 3, "multiple_faces");
    expect_rejection(report.rejections, 2, 4, "photo_invalid_image");
    expect_rejection(report.rejections, 3, 5, "multiple_faces");
    expect_rejection(report.rejections, 4, 7, "invalid_check_character");
    registry_report_clear(&report);
    assert_int_equal(person_count(f), 1);

    /* A file that exists but cannot be read (only without root's
     * override of file modes). */
    if (geteuid() != 0) {
        char path[1200];
        snprintf(path, sizeof path, "%s/locked.jpg", f->dir);
        test_write_file(path, "x");
        assert_int_equal(chmod(path, 0), 0);
        test_write_file(f->csv, "national_id,name,birth_date,photo\n"
                                "11010519491231002X,张三,1949-12-31,locked.jpg\n");
        assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv,
                                             &report, err, sizeof err), 0);
        assert_int_equal(report.rejected, 1);
        expect_rejection(report.rejections, 0, 2, "photo_unreadable");
        registry_report_clear(&report);
    }
}

static void
test_no_engine_is_refused(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256] = "";
    test_write_file(f->csv, good_rows);
    assert_int_equal(registry_import_csv(f->store, f->signer, NULL, f->csv, &report,
                                         err, sizeof err), -1);
    assert_non_null(strstr(err, "face engine"));
    assert_int_equal(report.inserted, 0);
    registry_report_clear(&report);
    assert_int_equal(person_count(f), 0);
}

/* The ID number 110105 20000101 (100 + row) and its check character. */
static void
speed_row_id(int row, char id[NATIONAL_ID_SIZE])
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    snprintf(id, NATIONAL_ID_SIZE, "11010520000101%03d", (100 + row) % 1000);
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (id[i] - '0') * weights[i];
    id[17] = "10X98765432"[sum % 11];
    id[18] = '\0';
}

/* More rows than one batch (IMPORT_BATCH_ROWS, 32), with a bad photo and
 * a duplicate across the batch boundary; prints how fast the import goes. */
static void
test_import_speed(void **state)
{
    struct fixture *f = *state;
    static const char *const photos[] = {"img1.jpg", "img3.jpg", "img8.jpg",
                                         "img13.jpg", "img17.jpg", "img18.jpg",
                                         "img20.jpg", "img2.jpg"};
    enum { SPEED_ROWS = 40, BAD_PHOTO_ROW = 35, DUPLICATE_ROW = 38 };
    char *csv = malloc(SPEED_ROWS * 128 + 64);
    assert_non_null(csv);
    size_t at = (size_t)sprintf(csv, "national_id,name,birth_date,photo\n");
    for (int row = 0; row < SPEED_ROWS; row++) {
        char id[NATIONAL_ID_SIZE];
        speed_row_id(row == DUPLICATE_ROW ? 0 : row, id);
        int bad = row == BAD_PHOTO_ROW;
        at += (size_t)sprintf(csv + at, "%s,Person %d,2000-01-01,%s%s\n", id, row,
                              bad ? "" : "photos/",
                              bad ? "blank.png"
                                  : photos[row % (sizeof photos / sizeof *photos)]);
    }
    test_write_file(f->csv, csv);
    free(csv);
    struct registry_report report;
    char err[256];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(registry_import_csv(f->store, f->signer, engine, f->csv,
                                         &report, err, sizeof err), 0);
    clock_gettime(CLOCK_MONOTONIC, &end);
    assert_int_equal(report.inserted, SPEED_ROWS - 2);
    assert_int_equal(report.rejected, 2);
    /* Lines are rows + 2 (header, then from 0). */
    expect_rejection(report.rejections, 0, BAD_PHOTO_ROW + 2, "no_face");
    expect_rejection(report.rejections, 1, DUPLICATE_ROW + 2, "duplicate_national_id");
    registry_report_clear(&report);
    assert_int_equal(person_count(f), SPEED_ROWS - 2);
    double seconds = (double)(end.tv_sec - start.tv_sec) +
                     (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("registry import: %d rows in %.2f s, %.1f rows/s\n", SPEED_ROWS, seconds,
           SPEED_ROWS / seconds);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mixed_good_and_bad_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reimport_updates_without_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_at_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_level_errors_import_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptors_are_sealed_with_the_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_photo_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_engine_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_speed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, load_engine, free_engine);
}
