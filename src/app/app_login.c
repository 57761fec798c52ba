/* app_login: `cyberid-app login CODE_OR_URL [--approve|--deny]
 * [--release claim,...]`: the citizen's side of a platform login
 * (docs/api.md, "The app's side"). Shows who asks for what, then approves
 * (the device token of the approval carries "user_code" and "release", so
 * the signature covers the choice) or denies. */
#include "app/app.h"

#include "app/login_code.h"
#include "util/wipe_alloc.h"
#include "util/strings.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Longest platform name, client id or purpose shown. */
#define LOGIN_TEXT_MAX 1024
/* Longest answer read at the prompt. */
#define LOGIN_ANSWER_MAX 16

enum login_decision { LOGIN_ASK, LOGIN_APPROVE, LOGIN_DENY };

/* What GET /v1/login/{code} answered, checked. */
struct login_request {
    json_t *answer;          /* owns everything below */
    json_t *platform;        /* {"client_id", "name"} */
    const char *platform_name;
    json_t *claims;          /* the asked claims, array of strings */
    const char *purpose;     /* NULL when none */
};

/* 1 if the JSON array of strings `set` holds name. */
static int
holds_claim(const json_t *set, const char *name)
{
    size_t i;
    json_t *claim;

    json_array_foreach(set, i, claim)
        if (strcmp(json_string_value(claim), name) == 0)
            return 1;
    return 0;
}

/* Checks the service's answer to GET /v1/login/{code}: untrusted. */
static int
read_login_request(const struct http_response *response,
                   struct login_request *request)
{
    size_t i;
    json_t *claim, *purpose;

    memset(request, 0, sizeof(*request));
    request->answer = json_loadb(response->body, response->length,
                                 JSON_REJECT_DUPLICATES, NULL);
    request->platform = json_object_get(request->answer, "platform");
    request->platform_name =
        json_string_value(json_object_get(request->platform, "name"));
    request->claims = json_object_get(request->answer, "claims");
    purpose = json_object_get(request->answer, "purpose");
    request->purpose = json_string_value(purpose);
    if (request->platform_name == NULL ||
        !json_is_string(json_object_get(request->platform, "client_id")) ||
        !json_is_array(request->claims) ||
        json_array_size(request->claims) > APP_CLAIMS_MAX ||
        (purpose != NULL && !json_is_null(purpose) && request->purpose == NULL))
        goto bad;
    json_array_foreach(request->claims, i, claim)
        if (!json_is_string(claim) ||
            strlen(json_string_value(claim)) > APP_CLAIM_NAME_MAX)
            goto bad;
    return 0;
bad:
    fprintf(stderr, "cyberid-app login: the service's answer is not a login request\n");
    json_decref(request->answer);
    memset(request, 0, sizeof(*request));
    return -1;
}

/* Shows the platform, the claims it asks for and its purpose on stderr,
 * every piece from the network cleaned of control characters. */
static void
show_login_request(const struct login_request *request, enum app_lang lang)
{
    char text[LOGIN_TEXT_MAX];
    size_t i;
    json_t *claim;

    app_clean_text(request->platform_name, text, sizeof(text));
    fprintf(stderr, "Log in to: %s\n", text);
    app_clean_text(json_string_value(json_object_get(request->platform, "client_id")),
                   text, sizeof(text));
    fprintf(stderr, "Platform id: %s\n", text);
    fprintf(stderr, "It asks for:");
    if (json_array_size(request->claims) == 0)
        fprintf(stderr, " (no claim: only that you are a registered person)");
    json_array_foreach(request->claims, i, claim) {
        app_clean_text(json_string_value(claim), text, sizeof(text));
        fprintf(stderr, "%s %s", i == 0 ? "" : ",", text);
    }
    fprintf(stderr, "\n");
    if (request->purpose != NULL) {
        app_clean_text(request->purpose, text, sizeof(text));
        fprintf(stderr, "Purpose (as the platform registered it): %s\n", text);
    }
    /* What tells a citizen their own login from one someone else started
     * and sent them (RFC 10027): where the browser goes back to, and when
     * and from which network the page was opened. */
    const char *returns_to = json_string_value(json_object_get(request->platform, "returns_to"));
    if (returns_to != NULL && returns_to[0] != '\0') {
        app_clean_text(returns_to, text, sizeof(text));
        fprintf(stderr, "After it, your browser goes back to: %s\n", text);
    }
    const json_t *opened_at = json_object_get(request->answer, "opened_at");
    const char *opened_from = json_string_value(json_object_get(request->answer, "opened_from"));
    if (json_is_integer(opened_at)) {
        char when[48], from[64];
        words_time(json_integer_value(opened_at), lang, when, sizeof when);
        app_clean_text(opened_from ? opened_from : "an unknown network", from, sizeof from);
        fprintf(stderr, "The login page was opened at %s from %s: if that was not you, deny.\n",
                when, from);
    }
}

/* Asks "Approve? [y/N]" on the terminal (else standard input); anything
 * but y or yes, or no answer, is a denial. */
static enum login_decision
ask(const char *code)
{
    char answer[LOGIN_ANSWER_MAX];
    FILE *terminal = fopen("/dev/tty", "r");
    FILE *in = terminal ? terminal : stdin;
    enum login_decision decision = LOGIN_DENY;

    /* The code the page shows must be this one: a login someone else
     * opened shows another code on the citizen's screen, or none. */
    fprintf(stderr, "The page you opened shows the code %.4s-%.4s. Approve? [y/N] ", code,
            strlen(code) > 4 ? code + 4 : "");
    fflush(stderr);
    if (fgets(answer, sizeof(answer), in) != NULL) {
        answer[strcspn(answer, "\r\n")] = '\0';
        for (char *c = answer; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        if (strcmp(answer, "y") == 0 || strcmp(answer, "yes") == 0)
            decision = LOGIN_APPROVE;
    } else {
        fprintf(stderr, "\n");
    }
    if (terminal != NULL)
        fclose(terminal);
    return decision;
}

/* Prints {"status", "platform", "released"} on stdout. */
static int
print_result(const char *status_word, json_t *platform, json_t *released)
{
    json_t *result = json_pack("{s:s, s:O, s:O}", "status", status_word,
                               "platform", platform, "released", released);
    char *text = result ? json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    int status = APP_EXIT_FAILED;

    if (text != NULL) {
        printf("%s\n", text);
        status = APP_EXIT_OK;
    }
    wipe_free(text);
    json_decref(result);
    return status;
}

/* The login URL's issuer must be the service this wallet talks to. */
static int
check_issuer(const struct app_options *options, const char *issuer)
{
    struct wallet wallet;
    char server[HTTP_CLIENT_URL_MAX], shown[LOGIN_TEXT_MAX];
    int status = app_open_wallet(options, &wallet, server, sizeof(server));

    if (status != 0)
        return status;
    wallet_clear(&wallet);
    if (strcmp(issuer, server) != 0) {
        app_clean_text(issuer, shown, sizeof(shown));
        fprintf(stderr, "cyberid-app login: the login URL is for %s, not for this "
                "wallet's service %s: refused\n", shown, server);
        return APP_EXIT_FAILED;
    }
    return 0;
}

/* Parses the options after `login`. */
static int
parse_options(int argc, char **argv, struct app_options *options,
              enum login_decision *decision, const char **release)
{
    static const struct option longs[] = {
        {"server", required_argument, NULL, 'S'},
        {"wallet", required_argument, NULL, 'W'},
        {"approve", no_argument, NULL, 'A'},
        {"deny", no_argument, NULL, 'D'},
        {"release", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    int option;

    optind = 1;
    while ((option = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        if (option == 'S')
            options->server = optarg;
        else if (option == 'W')
            options->wallet = optarg;
        else if ((option == 'A' || option == 'D') && *decision == LOGIN_ASK)
            *decision = option == 'A' ? LOGIN_APPROVE : LOGIN_DENY;
        else if (option == 'R' && *release == NULL)
            *release = optarg;
        else {
            fprintf(stderr, "cyberid-app login: unknown, repeated or conflicting "
                    "option, or a missing value\n");
            return APP_EXIT_USAGE;
        }
    }
    if (options->wallet == NULL || argc - optind != 1) {
        fprintf(stderr, "cyberid-app login: needs --wallet FILE and one CODE_OR_URL\n");
        return APP_EXIT_USAGE;
    }
    if (*decision == LOGIN_DENY && *release != NULL) {
        fprintf(stderr, "cyberid-app login: --release goes with approving, not --deny\n");
        return APP_EXIT_USAGE;
    }
    return 0;
}

int
app_login(const struct app_options *global, int argc, char **argv)
{
    struct app_options options = *global;
    enum login_decision decision = LOGIN_ASK;
    const char *release_option = NULL;
    char code[LOGIN_CODE_SIZE], issuer[HTTP_CLIENT_URL_MAX], err[APP_ERROR_MAX];
    char path[HTTP_CLIENT_URL_MAX];
    struct http_response response = {0};
    struct login_request request = {0};
    json_t *release = NULL, *extra = NULL, *decided = NULL;
    const char *status_word;
    size_t i;
    json_t *claim;
    int status;

    if ((status = parse_options(argc, argv, &options, &decision, &release_option)) != 0)
        return status;
    if (login_code_parse(argv[optind], code, issuer, sizeof(issuer), err,
                         sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app login: %s\n", err);
        return APP_EXIT_USAGE;
    }
    if (release_option != NULL &&
        app_claim_list_parse(release_option, &release, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app login: --release: %s\n", err);
        return APP_EXIT_USAGE;
    }
    if (issuer[0] != '\0' && (status = check_issuer(&options, issuer)) != 0)
        goto cleanup;

    status = APP_EXIT_FAILED;
    if (string_format(path, sizeof(path), "%s%s", LOGIN_CODE_URL_PATH, code) != 0)
        goto cleanup;
    if ((status = app_device_request(&options, "GET", path, NULL, &response)) != 0)
        goto cleanup;
    status = APP_EXIT_FAILED;
    if (response.status != 200) {
        app_print_service_error("cyberid-app login: cannot read the login", &response);
        goto cleanup;
    }
    if (read_login_request(&response, &request) != 0)
        goto cleanup;
    http_response_free(&response);
    show_login_request(&request, options.lang);

    if (release != NULL)
        json_array_foreach(release, i, claim)
            if (!holds_claim(request.claims, json_string_value(claim))) {
                fprintf(stderr, "cyberid-app login: --release names %s, which the "
                        "platform does not ask for: refused\n",
                        json_string_value(claim));
                goto cleanup;
            }
    if (decision == LOGIN_ASK)
        decision = ask(code);
    if (decision == LOGIN_APPROVE) {
        if (release == NULL)
            release = json_deep_copy(request.claims);
        extra = release ? json_pack("{s:s, s:O}", "user_code", code, "release", release)
                        : NULL;
        if (extra == NULL) {
            fprintf(stderr, "cyberid-app login: out of memory\n");
            goto cleanup;
        }
    } else {
        json_decref(release);
        release = json_array();
    }
    if (string_format(path, sizeof(path), "%s%s/%s", LOGIN_CODE_URL_PATH, code,
                      decision == LOGIN_APPROVE ? "approve" : "deny") != 0)
        goto cleanup;
    if ((status = app_device_request_extra(&options, "POST", path, extra, "{}",
                                           &response)) != 0)
        goto cleanup;
    status = APP_EXIT_FAILED;
    if (response.status != 200) {
        app_print_service_error(decision == LOGIN_APPROVE
                                    ? "cyberid-app login: approval refused"
                                    : "cyberid-app login: denial refused",
                                &response);
        goto cleanup;
    }
    decided = json_loadb(response.body, response.length, JSON_REJECT_DUPLICATES, NULL);
    status_word = json_string_value(json_object_get(decided, "status"));
    if (status_word == NULL ||
        strcmp(status_word, decision == LOGIN_APPROVE ? "approved" : "denied") != 0) {
        fprintf(stderr, "cyberid-app login: the service's answer is not the "
                "expected status\n");
        goto cleanup;
    }
    status = print_result(status_word, request.platform, release);
cleanup:
    json_decref(decided);
    json_decref(extra);
    json_decref(release);
    json_decref(request.answer);
    http_response_free(&response);
    return status;
}
