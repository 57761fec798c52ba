/* Tests of the registry CSV import: validation with line numbers, one
 * transaction, idempotent re-import, and no plaintext at rest. */
#include "enroll/registry.h"

#include "signer/signer.h"
#include "store/store.h"

#include "../test_support.h"

#include <sys/stat.h>

struct fixture {
    char *dir;
    char keys[1100], pki[1100], database[1200], db_file[1100], csv[1100];
    struct signer *signer;
    struct store *store;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("registry");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->pki, sizeof f->pki, "%s/pki", f->dir);
    snprintf(f->db_file, sizeof f->db_file, "%s/cyberid.db", f->dir);
    snprintf(f->database, sizeof f->database, "sqlite:%s", f->db_file);
    snprintf(f->csv, sizeof f->csv, "%s/registry.csv", f->dir);
    assert_int_equal(signer_create_keys(f->keys, f->pki, err, sizeof err), 0);
    assert_int_equal(signer_open(f->keys, &f->signer, err, sizeof err), 0);
    assert_int_equal(store_open(f->database, 2, 1, &f->store, err, sizeof err), 0);
    char photo[1200];
    snprintf(photo, sizeof photo, "%s/photo.jpg", f->dir);
    test_write_file(photo, "not really a photo; the face engine checks content");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
    signer_close(f->signer);
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

static const char good_rows[] =
    "national_id,name,birth_date,photo\n"
    "11010519491231002X,张三,1949-12-31,photo.jpg\n"
    "440524188001010014,\"Li, Si\",1880-01-01,photo.jpg\n"
    "110105200001010016,Ōtomo Wang,2000-01-01,photo.jpg\n";

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
        "11010519491231002X,张三,1949-12-31,photo.jpg\n"          /* 2 good */
        "110105194912310021,李四,1949-12-31,photo.jpg\n"          /* 3 check */
        "11010519491231002,王五,1949-12-31,photo.jpg\n"           /* 4 length */
        "440524188001010014,,1880-01-01,photo.jpg\n"              /* 5 no name */
        "440524188001010014,赵六,1880-01-02,photo.jpg\n"          /* 6 mismatch */
        "440524188001010014,赵六,1880-01-01,missing.jpg\n"        /* 7 photo */
        "440524188001010014,赵六,1880-01-01\n"                    /* 8 columns */
        "440524188001010014,\"Zhao Liu\",1880-01-01,photo.jpg\n"  /* 9 good */
        "11010519491231002X,张三,1949-12-31,photo.jpg\n"          /* 10 dup */
        "110105200001010016,\"\x01" "bad\",2000-01-01,photo.jpg\n"   /* 11 control */
        "110105200001010016,\xff\xfe,2000-01-01,photo.jpg\n"      /* 12 not UTF-8 */
        "110105200001010016,Wang,2000-02-30,photo.jpg\n");        /* 13 date */
    struct registry_report report;
    char err[256];
    assert_int_equal(registry_import_csv(f->store, f->signer, f->csv, &report, err,
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
    assert_int_equal(registry_import_csv(f->store, f->signer, f->csv, &report, err,
                                         sizeof err), 0);
    assert_int_equal(report.inserted, 3);
    registry_report_clear(&report);

    test_write_file(f->csv,
                    "national_id,name,birth_date,photo\r\n"
                    "11010519491231002x,张三丰,1949-12-31,photo.jpg\r\n");
    assert_int_equal(registry_import_csv(f->store, f->signer, f->csv, &report, err,
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
    registry_person_clear(&person);
    assert_int_equal(registry_find(conn, f->signer, "440524188001010014", &person,
                                   &found), 0);
    assert_true(found);
    assert_string_equal(person.name, "Li, Si");
    registry_person_clear(&person);
    assert_int_equal(registry_find(conn, f->signer, "110105200001010024", &person,
                                   &found), 0);
    assert_false(found);
    store_release(f->store, conn);
}

static void
test_no_plaintext_at_rest(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256];
    test_write_file(f->csv, good_rows);
    assert_int_equal(registry_import_csv(f->store, f->signer, f->csv, &report, err,
                                         sizeof err), 0);
    assert_int_equal(report.inserted, 3);
    registry_report_clear(&report);

    const char *secrets[] = {"11010519491231002X", "440524188001010014",
                             "110105200001010016", "张三", "Li, Si", "Ōtomo Wang",
                             "1949-12-31", "2000-01-01", "19491231"};
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t s = 0; s < sizeof suffixes / sizeof *suffixes; s++) {
        char path[1200];
        snprintf(path, sizeof path, "%s%s", f->db_file, suffixes[s]);
        for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
            if (test_file_contains(path, secrets[i], strlen(secrets[i])))
                fail_msg("%s holds \"%s\" in plaintext", path, secrets[i]);
    }
    /* The check itself works: the same search finds what is there (the
     * schema, in the database or still in its write-ahead log). */
    char wal[1200];
    snprintf(wal, sizeof wal, "%s-wal", f->db_file);
    assert_true(test_file_contains(f->db_file, "registry_person", 15) ||
                test_file_contains(wal, "registry_person", 15));
}

static void
test_file_level_errors_import_nothing(void **state)
{
    struct fixture *f = *state;
    struct registry_report report;
    char err[256];
    test_write_file(f->csv, "id,name,birth,photo\n11010519491231002X,A,1949-12-31,photo.jpg\n");
    assert_int_equal(registry_import_csv(f->store, f->signer, f->csv, &report, err,
                                         sizeof err), -1);
    assert_non_null(strstr(err, "header"));
    registry_report_clear(&report);

    test_write_file(f->csv, "");
    assert_int_equal(registry_import_csv(f->store, f->signer, f->csv, &report, err,
                                         sizeof err), -1);
    registry_report_clear(&report);

    char missing[1200];
    snprintf(missing, sizeof missing, "%s/nope.csv", f->dir);
    assert_int_equal(registry_import_csv(f->store, f->signer, missing, &report, err,
                                         sizeof err), -1);
    registry_report_clear(&report);

    test_write_file(f->csv, "national_id,name,birth_date,photo\n\"unterminated,x\n");
    assert_int_equal(registry_import_csv(f->store, f->signer, f->csv, &report, err,
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
             "11010519491231002X,%s,1949-12-31,photo.jpg\n"
             "440524188001010014,%s,1880-01-01,photo.jpg\n"
             "110105200001010016,%s,2000-01-01,photo.jpg\n",
             name64, name65, long_line);
    test_write_file(f->csv, csv);
    free(csv);
    free(long_line);
    assert_int_equal(registry_import_csv(f->store, f->signer, f->csv, &report, err,
                                         sizeof err), 0);
    assert_int_equal(report.inserted, 1);
    assert_int_equal(report.rejected, 2);
    expect_rejection(report.rejections, 0, 3, "name_too_long");
    expect_rejection(report.rejections, 1, 4, "line_too_long");
    registry_report_clear(&report);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
