/* app_devices: `cyberid-app show`, `devices` and `revoke-device`: the
 * wallet's contents and the device list of the identity (docs/api.md,
 * "Devices"). */
#include "app/app.h"

#include "util/wipe_alloc.h"
#include "util/strings.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest serial accepted on the command line (the service's are 32 hex). */
#define APP_SERIAL_MAX 64
#define APP_REASON_MAX 64

/* Parses --server/--wallet (and --reason when reason is not NULL) after
 * the command name; leaves positional arguments from optind on. */
static int
parse_common(int argc, char **argv, struct app_options *options,
             const char **reason)
{
    static const struct option longs[] = {
        {"server", required_argument, NULL, 'S'},
        {"wallet", required_argument, NULL, 'W'},
        {"reason", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    int option;

    optind = 1;
    while ((option = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        if (option == 'S')
            options->server = optarg;
        else if (option == 'W')
            options->wallet = optarg;
        else if (option == 'R' && reason != NULL)
            *reason = optarg;
        else {
            fprintf(stderr, "cyberid-app %s: unknown option or missing value\n",
                    argv[0]);
            return APP_EXIT_USAGE;
        }
    }
    if (options->wallet == NULL) {
        fprintf(stderr, "cyberid-app %s: --wallet FILE is required\n", argv[0]);
        return APP_EXIT_USAGE;
    }
    return 0;
}

int
app_show(const struct app_options *global, int argc, char **argv)
{
    struct app_options options = *global;
    struct wallet wallet = {0};
    char err[APP_ERROR_MAX];
    json_t *shown = NULL;
    char *text = NULL;
    int status;

    if ((status = parse_common(argc, argv, &options, NULL)) != 0)
        return status;
    if (optind != argc) {
        fprintf(stderr, "cyberid-app show: takes no arguments\n");
        return APP_EXIT_USAGE;
    }
    if (wallet_read(options.wallet, &wallet, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app: %s\n", err);
        return APP_EXIT_FAILED;
    }
    /* Never the private key. */
    shown = json_pack("{s:s, s:s, s:s, s:s}", "web_number", wallet.web_number,
                      "serial", wallet.serial, "certificate", wallet.certificate,
                      "server", wallet.server);
    text = shown ? json_dumps(shown, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text != NULL) {
        printf("%s\n", text);
        status = APP_EXIT_OK;
    } else {
        fprintf(stderr, "cyberid-app show: out of memory\n");
        status = APP_EXIT_FAILED;
    }
    wipe_free(text);
    json_decref(shown);
    wallet_clear(&wallet);
    return status;
}

int
app_devices(const struct app_options *global, int argc, char **argv)
{
    struct app_options options = *global;
    struct http_response response;
    int status;

    if ((status = parse_common(argc, argv, &options, NULL)) != 0)
        return status;
    if (optind != argc) {
        fprintf(stderr, "cyberid-app devices: takes no arguments\n");
        return APP_EXIT_USAGE;
    }
    status = app_device_request(&options, "GET", "/v1/me/devices", NULL, &response);
    if (status != APP_EXIT_OK)
        return status;
    if (response.status == 200) {
        status = app_print_json_answer(&response);
    } else {
        app_print_service_error("cannot list the devices", &response);
        status = APP_EXIT_FAILED;
    }
    http_response_free(&response);
    return status;
}

int
app_status(const struct app_options *global, int argc, char **argv)
{
    struct app_options options = *global;
    struct http_response response;
    int status;

    if ((status = parse_common(argc, argv, &options, NULL)) != 0)
        return status;
    if (optind != argc) {
        fprintf(stderr, "cyberid-app status: takes no arguments\n");
        return APP_EXIT_USAGE;
    }
    status = app_device_request(&options, "GET", "/v1/me/status", NULL, &response);
    if (status != APP_EXIT_OK)
        return status;
    if (response.status != 200) {
        app_print_service_error("cannot read the status", &response);
        http_response_free(&response);
        return APP_EXIT_FAILED;
    }
    status = app_print_json_answer(&response);
    json_t *answer = json_loadb(response.body, response.length, 0, NULL);
    const char *state = json_string_value(json_object_get(answer, "status"));
    const json_t *until = json_object_get(answer, "until");
    if (state != NULL && json_is_integer(until)) {
        char since_text[64], until_text[64], reason[64], basis[1024];
        words_time(json_integer_value(json_object_get(answer, "since")), options.lang,
                   since_text, sizeof since_text);
        words_time(json_integer_value(until), options.lang, until_text, sizeof until_text);
        const char *reason_text = json_string_value(json_object_get(answer, "reason"));
        const char *basis_text = json_string_value(json_object_get(answer, "legal_basis"));
        app_clean_text(reason_text ? reason_text : "", reason, sizeof reason);
        app_clean_text(basis_text ? basis_text : "", basis, sizeof basis);
        if (options.lang == APP_LANG_ZH)
            fprintf(stderr, "您的身份自 %s 起被暂停，至 %s 止（届时自动结束）。原因：%s。"
                    "法律依据：%s。申诉：cyberid-app appeal --text 文本。\n",
                    since_text, until_text, reason, basis);
        else
            fprintf(stderr, "Your identity is suspended since %s, until %s (it ends by "
                    "itself then). Reason: %s. Legal basis: %s. To appeal: cyberid-app appeal "
                    "--text TEXT.\n",
                    since_text, until_text, reason, basis);
    } else if (state != NULL) {
        static const struct {
            const char *state, *en, *zh;
        } states[] = {
            {"active", "active", "正常"},
            {"locked", "locked by you (cyberid-app unlock)", "已由您锁定（cyberid-app unlock 解锁）"},
            {"suspended", "suspended", "暂停"},
            {"deactivated", "deactivated", "已停用"},
            {"revoked", "revoked", "已注销"},
        };
        char text[32];
        app_clean_text(state, text, sizeof text);
        const char *said = text;
        for (size_t i = 0; i < sizeof states / sizeof *states; i++)
            if (strcmp(states[i].state, state) == 0)
                said = options.lang == APP_LANG_ZH ? states[i].zh : states[i].en;
        fprintf(stderr, options.lang == APP_LANG_ZH ? "您的身份状态：%s。\n"
                                                    : "Your identity is %s.\n", said);
    }
    json_decref(answer);
    http_response_free(&response);
    return status;
}

int
app_appeal(const struct app_options *global, int argc, char **argv)
{
    struct app_options options = *global;
    static const struct option longs[] = {
        {"text", required_argument, NULL, 't'},
        {"server", required_argument, NULL, 'S'},
        {"wallet", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    const char *text = NULL;
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        switch (option) {
        case 't': text = optarg; break;
        case 'S': options.server = optarg; break;
        case 'W': options.wallet = optarg; break;
        default:
            fprintf(stderr, "cyberid-app appeal: unknown option or missing value\n");
            return APP_EXIT_USAGE;
        }
    }
    if (optind != argc || text == NULL || options.wallet == NULL) {
        fprintf(stderr, "cyberid-app appeal: needs --wallet FILE and --text TEXT\n");
        return APP_EXIT_USAGE;
    }
    json_t *body = json_pack("{s:s}", "text", text);
    char *body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (body_text == NULL) {
        fprintf(stderr, "cyberid-app appeal: the text must be UTF-8\n");
        return APP_EXIT_USAGE;
    }
    struct http_response response;
    int status = app_device_request(&options, "POST", "/v1/me/appeal", body_text, &response);
    free(body_text);
    if (status != APP_EXIT_OK)
        return status;
    if (response.status == 201) {
        status = app_print_json_answer(&response);
        fprintf(stderr, "Appeal filed; its decision will show in cyberid-app status.\n");
    } else {
        app_print_service_error("appeal refused", &response);
        status = APP_EXIT_FAILED;
    }
    http_response_free(&response);
    return status;
}

/* 1 if serial is 1 to APP_SERIAL_MAX hex digits (it goes into a path). */
static int
serial_is_valid(const char *serial)
{
    size_t length = strnlen(serial, APP_SERIAL_MAX + 1);

    if (length == 0 || length > APP_SERIAL_MAX)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!isxdigit((unsigned char)serial[i]))
            return 0;
    return 1;
}

int
app_revoke_device(const struct app_options *global, int argc, char **argv)
{
    struct app_options options = *global;
    struct http_response response;
    const char *reason = NULL;
    char path[HTTP_CLIENT_URL_MAX];
    json_t *body = NULL;
    char *body_text = NULL;
    int status;

    if ((status = parse_common(argc, argv, &options, &reason)) != 0)
        return status;
    if (argc - optind != 1 || !serial_is_valid(argv[optind])) {
        fprintf(stderr, "cyberid-app revoke-device: needs one SERIAL (hex digits, "
                "as listed by `devices`)\n");
        return APP_EXIT_USAGE;
    }
    if (reason != NULL && (strnlen(reason, APP_REASON_MAX) >= APP_REASON_MAX ||
                           reason[0] == '\0')) {
        fprintf(stderr, "cyberid-app revoke-device: --reason is empty or too long\n");
        return APP_EXIT_USAGE;
    }
    body = reason ? json_pack("{s:s}", "reason", reason) : json_object();
    body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body_text == NULL ||
        string_format(path, sizeof(path), "/v1/me/devices/%s/revoke",
                      argv[optind]) != 0) {
        fprintf(stderr, "cyberid-app revoke-device: bad reason or out of memory\n");
        status = APP_EXIT_USAGE;
        goto cleanup;
    }
    status = app_device_request(&options, "POST", path, body_text, &response);
    if (status != APP_EXIT_OK)
        goto cleanup;
    if (response.status == 200) {
        status = app_print_json_answer(&response);
    } else {
        app_print_service_error("cannot revoke the device", &response);
        status = APP_EXIT_FAILED;
    }
    http_response_free(&response);
cleanup:
    wipe_free(body_text);
    json_decref(body);
    return status;
}
