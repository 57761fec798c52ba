/* app_controls: the citizen's own controls: `lock`, `unlock` (app_enroll.c:
 * a re-key that ends the lock), `consents [withdraw CLIENT_ID]` and
 * `deactivate`. Each is a device-signed request; see docs/api.md. */
#include "app/app.h"

#include <stdio.h>
#include <string.h>

/* Takes no options besides --help (handled by main.c). */
static int
no_arguments(const char *command, int argc)
{
    if (argc == 1)
        return 0;
    fprintf(stderr, "cyberid-app %s: takes no arguments\n", command);
    return APP_EXIT_USAGE;
}

/* One POST without a body whose 200 answer is printed, with a sentence on
 * stderr. */
static int
post_act(const struct app_options *options, const char *command, const char *path,
         const char *refused, const char *done)
{
    struct http_response response = {0};
    int status = app_device_request(options, "POST", path, NULL, &response);
    if (status != APP_EXIT_OK)
        return status;
    if (response.status == 200) {
        status = app_print_json_answer(&response);
        if (status == APP_EXIT_OK)
            fprintf(stderr, "%s\n", done);
    } else {
        app_print_service_error(refused, &response);
        status = APP_EXIT_FAILED;
    }
    (void)command;
    http_response_free(&response);
    return status;
}

int
app_lock(const struct app_options *options, int argc, char **argv)
{
    (void)argv;
    int status = no_arguments("lock", argc);
    if (status != 0)
        return status;
    return post_act(options, "lock", "/v1/me/lock", "cannot lock",
                    "Your identity is locked: every login and every platform's token is "
                    "refused. To unlock: cyberid-app unlock with a new face check.");
}

int
app_deactivate(const struct app_options *options, int argc, char **argv)
{
    (void)argv;
    int status = no_arguments("deactivate", argc);
    if (status != 0)
        return status;
    return post_act(options, "deactivate", "/v1/me/deactivate", "cannot deactivate",
                    "Your identity is deactivated: every device's certificate and every "
                    "platform's token is revoked. It stays so until you enroll again "
                    "(cyberid-app enroll, with a face check).");
}

int
app_consents(const struct app_options *options, int argc, char **argv)
{
    struct http_response response = {0};
    int status;
    if (argc == 3 && strcmp(argv[1], "withdraw") == 0) {
        /* A client id goes into the path: the service's characters only. */
        const char *client_id = argv[2];
        size_t length = strlen(client_id);
        if (length == 0 || length > 64 || strspn(client_id,
                                                 "abcdefghijklmnopqrstuvwxyz"
                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                                                  length) {
            fprintf(stderr, "cyberid-app consents withdraw: not a client id\n");
            return APP_EXIT_USAGE;
        }
        char path[128];
        snprintf(path, sizeof path, "/v1/me/consents/%s/withdraw", client_id);
        return post_act(options, "consents", path, "cannot withdraw the consent",
                        "Consent withdrawn: the platform's tokens are revoked; it must ask "
                        "you to log in again.");
    }
    if (argc != 1) {
        fprintf(stderr, "usage: cyberid-app consents [withdraw CLIENT_ID]\n");
        return APP_EXIT_USAGE;
    }
    status = app_device_request(options, "GET", "/v1/me/consents", NULL, &response);
    if (status != APP_EXIT_OK)
        return status;
    if (response.status == 200) {
        status = app_print_json_answer(&response);
        /* And in words, for a person: who holds what, until when. */
        json_t *answer = json_loadb(response.body, response.length, 0, NULL);
        const json_t *consents = json_object_get(answer, "consents");
        int zh = options->lang == APP_LANG_ZH;
        if (json_array_size(consents) == 0)
            fprintf(stderr, "%s\n", zh ? "没有平台持有您的授权。" : "No platform holds a grant of yours.");
        for (size_t i = 0; i < json_array_size(consents); i++) {
            const json_t *consent = json_array_get(consents, i);
            char name[128], id[80], claims[256], cleaned[256], until[48];
            const char *name_text = json_string_value(json_object_get(consent, "name"));
            const char *id_text = json_string_value(json_object_get(consent, "client_id"));
            app_clean_text(name_text ? name_text : "?", name, sizeof name);
            app_clean_text(id_text ? id_text : "?", id, sizeof id);
            words_claims(json_object_get(consent, "claims"), options->lang, claims, sizeof claims);
            app_clean_text(claims, cleaned, sizeof cleaned);
            words_time(json_integer_value(json_object_get(consent, "until")), options->lang, until,
                       sizeof until);
            fprintf(stderr, zh ? "%s（%s）：%s；至 %s\n" : "%s (%s): %s; until %s\n", name, id,
                    cleaned, until);
        }
        json_decref(answer);
    } else {
        app_print_service_error("cannot list the consents", &response);
        status = APP_EXIT_FAILED;
    }
    http_response_free(&response);
    return status;
}
