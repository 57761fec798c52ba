/* cli_registry: `cyberid registry import --data DIR [--models DIR]
 * FILE.csv`. Loads the face engine once (models from --models, else
 * $CYBERID_MODELS_DIR, else the build's CYBERID_DEFAULT_MODELS_DIR), then
 * imports. Prints the import report as JSON; exits 0 when every row was
 * imported, 1 when some rows were rejected (the good ones are imported all
 * the same) or when nothing could be imported (models missing or corrupt
 * included), 2 on a usage error. */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "enroll/registry.h"
#include "face/face.h"
#include "service/service.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CYBERID_DEFAULT_MODELS_DIR
#error "CYBERID_DEFAULT_MODELS_DIR comes from the cyberid_face target"
#endif
#define MODELS_DIR_ENV "CYBERID_MODELS_DIR"

static const char registry_usage[] =
    "usage: cyberid registry import --data DIR [--models DIR] FILE.csv\n"
    "FILE.csv has the header national_id,name,birth_date,photo; photo paths\n"
    "are relative to the CSV. Each photo must hold exactly one face: its\n"
    "face descriptor is sealed with the record, the photo is not stored.\n"
    "Re-importing a person updates their record. --models DIR: the face\n"
    "model files (default $" MODELS_DIR_ENV ", else " CYBERID_DEFAULT_MODELS_DIR ").\n";

int
cli_registry(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "import") != 0) {
        fputs(registry_usage, argc >= 2 && strcmp(argv[1], "--help") == 0
                                  ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"models", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL;
    const char *models_dir = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        if (option == 'd')
            data_dir = optarg;
        else if (option == 'm')
            models_dir = optarg;
        else if (option == 'h')
            return fputs(registry_usage, stdout), 0;
        else
            return cli_usage("registry", registry_usage, "an option is unknown or lacks its value");
    }
    if (data_dir == NULL)
        return cli_usage("registry", registry_usage, "--data DIR is required");
    if (optind > argc - 2)
        return cli_usage("registry", registry_usage, "the CSV file to import is missing");
    if (optind < argc - 2)
        return cli_usage("registry", registry_usage, "unexpected argument %s",
                         argv[optind + 2]);
    const char *csv = argv[1 + optind];

    if (models_dir == NULL)
        models_dir = getenv(MODELS_DIR_ENV);
    if (models_dir == NULL || models_dir[0] == '\0')
        models_dir = CYBERID_DEFAULT_MODELS_DIR;

    char err[512];
    face_engine *engine = NULL;
    if (face_engine_load(&engine, models_dir, err, sizeof err) != FACE_OK)
        return cli_fail("registry import", 1,
                        "cannot load the face models from %s: %s; or pass "
                        "--models DIR",
                        models_dir, err);
    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0) {
        face_engine_free(engine);
        return cli_fail("registry import", 1, "%s", err);
    }
    struct registry_report report;
    int status = registry_import_csv(service.store, service.signer, engine, csv,
                                     &report, err, sizeof err);
    service_close(&service);
    face_engine_free(engine);
    if (status != 0) {
        registry_report_clear(&report);
        return cli_fail("registry import", 1, "%s; nothing was imported", err);
    }
    json_t *output = json_pack("{s:I, s:I, s:I, s:I, s:O}", "rows",
                               (json_int_t)report.rows, "inserted",
                               (json_int_t)report.inserted, "updated",
                               (json_int_t)report.updated, "rejected",
                               (json_int_t)report.rejected, "rejections",
                               report.rejections);
    size_t rejected = report.rejected, imported = report.inserted + report.updated;
    registry_report_clear(&report);
    if (cli_print_json(output) != 0)
        return 1;
    /* Say what happened: all rows rejected is not "the others imported". */
    if (rejected > 0 && imported == 0)
        fprintf(stderr, "cyberid registry import: every row (%zu) was rejected (see "
                        "\"rejections\"); nothing was imported\n", rejected);
    else if (rejected > 0)
        fprintf(stderr, "cyberid registry import: %zu row%s rejected (see \"rejections\"); "
                        "%zu imported\n", rejected, rejected == 1 ? " was" : "s were",
                imported);
    return rejected > 0 ? 1 : 0;
}
