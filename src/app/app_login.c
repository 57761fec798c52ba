/* app_login: `cyberid-app login CODE_OR_URL_OR_LINK [--approve|--deny]
 * [--release claim,...]` and `cyberid-app open LINK`: the citizen's side
 * of a platform login (docs/api.md, "The app's side"). Shows who asks for
 * what, in words, in the citizen's language; asks claim by claim what to
 * share unless --release says; then approves (the device token of the
 * approval carries "user_code" and "release", so the signature covers the
 * choice) or denies. Only an explicit answer decides: a bare Enter asks
 * again, no answer leaves the login pending. */
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
/* Longest answer read at the prompt, and how often a question is asked
 * before the command gives up without deciding. */
#define LOGIN_ANSWER_MAX 32
#define LOGIN_ASK_TRIES 5

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

/* The text in the citizen's language (a macro: printf checks both). */
#define SAY(lang, en, zh) ((lang) == APP_LANG_ZH ? (zh) : (en))

/* A claim in words for the citizen, else its name cleaned, into out. */
static void
claim_words(const char *claim, enum app_lang lang, char *out, size_t cap)
{
    const char *words = words_claim_asked(claim, lang);
    app_clean_text(words != NULL ? words : claim, out, cap);
}

/* Shows the platform, the claims it asks for (in words) and its purpose on
 * stderr, every piece from the network cleaned of control characters. */
static void
show_login_request(const struct login_request *request, enum app_lang lang)
{
    char text[LOGIN_TEXT_MAX];
    size_t i;
    json_t *claim;

    app_clean_text(request->platform_name, text, sizeof(text));
    fprintf(stderr, SAY(lang, "Log in to: %s\n", "登录：%s\n"), text);
    app_clean_text(json_string_value(json_object_get(request->platform, "client_id")),
                   text, sizeof(text));
    fprintf(stderr, SAY(lang, "Platform id: %s\n", "平台标识：%s\n"), text);
    fprintf(stderr, "%s\n  - %s\n", SAY(lang, "It asks for:", "它请求获取："),
            SAY(lang, "a sign-in identifier for this site only (always given)",
                "仅用于本网站的登录标识（总会提供）"));
    json_array_foreach(request->claims, i, claim) {
        claim_words(json_string_value(claim), lang, text, sizeof(text));
        fprintf(stderr, "  - %s\n", text);
    }
    if (request->purpose != NULL) {
        app_clean_text(request->purpose, text, sizeof(text));
        fprintf(stderr, SAY(lang, "Purpose (as the platform registered it): %s\n",
                            "用途（平台登记的）：%s\n"), text);
    }
    /* What tells a citizen their own login from one someone else started
     * and sent them (RFC 10027): where the browser goes back to, and when
     * and from which network the page was opened. */
    const char *returns_to = json_string_value(json_object_get(request->platform, "returns_to"));
    if (returns_to != NULL && returns_to[0] != '\0') {
        app_clean_text(returns_to, text, sizeof(text));
        fprintf(stderr, SAY(lang, "After it, your browser goes back to: %s\n",
                            "之后，您的浏览器将返回：%s\n"), text);
    }
    const json_t *opened_at = json_object_get(request->answer, "opened_at");
    const char *opened_from = json_string_value(json_object_get(request->answer, "opened_from"));
    if (json_is_integer(opened_at)) {
        char when[48], from[64];
        words_time(json_integer_value(opened_at), lang, when, sizeof when);
        app_clean_text(opened_from ? opened_from
                                   : SAY(lang, "an unknown network", "未知网络"),
                       from, sizeof from);
        fprintf(stderr, SAY(lang, "The login page was opened at %s from %s: if that was not "
                            "you, deny.\n",
                            "登录页面于 %s 从 %s 打开：如果不是您本人，请拒绝。\n"),
                when, from);
    }
}

/* 1 if word (lower case) is one of the NULL-terminated words. */
static int
is_one_of(const char *word, const char *const *words)
{
    for (; *words != NULL; words++)
        if (strcmp(word, *words) == 0)
            return 1;
    return 0;
}

static const char *const YES[] = {"y", "yes", "是", "提供", "批准", NULL};
static const char *const NO[] = {"n", "no", "否", "不", "不提供", "拒绝", NULL};

/* Asks a yes/no question on stderr and reads the answer from in until it
 * is one: an empty line (a bare Enter) or any other text asks again, at
 * most LOGIN_ASK_TRIES times. 1 yes, 0 no, -1 no answer (end of input, or
 * too many tries): never a decision. */
static int
ask_yes_no(FILE *in, enum app_lang lang, const char *question)
{
    char answer[LOGIN_ANSWER_MAX];

    for (int tries = 0; tries < LOGIN_ASK_TRIES; tries++) {
        fprintf(stderr, "%s", question);
        fflush(stderr);
        if (fgets(answer, sizeof(answer), in) == NULL) {
            fprintf(stderr, "\n");
            return -1;
        }
        size_t end = strcspn(answer, "\r\n");
        int whole = answer[end] != '\0' || feof(in);
        if (!whole) {
            /* Longer than any answer: read the rest of the line away. */
            int c;
            while ((c = fgetc(in)) != EOF && c != '\n')
                ;
        }
        answer[end] = '\0';
        for (char *c = answer; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        if (whole && is_one_of(answer, YES))
            return 1;
        if (whole && is_one_of(answer, NO))
            return 0;
        fprintf(stderr, "%s", SAY(lang, "Please answer y or n (Enter alone is not an answer).\n",
                                  "请回答 y 或 n（只按回车不算回答）。\n"));
    }
    return -1;
}

/* Asks, claim by claim, which of the asked claims to share: *release is
 * the new array of the chosen ones. 0, or -1 when an answer did not come
 * (nothing chosen then) or out of memory. */
static int
ask_release(FILE *in, const struct login_request *request, enum app_lang lang,
            json_t **release)
{
    char words[LOGIN_TEXT_MAX], question[LOGIN_TEXT_MAX + 128];
    size_t i;
    json_t *claim;

    *release = json_array();
    if (*release == NULL)
        return -1;
    json_array_foreach(request->claims, i, claim) {
        claim_words(json_string_value(claim), lang, words, sizeof(words));
        snprintf(question, sizeof(question),
                 SAY(lang, "Share %s? [y = share / n = do not share] ",
                     "提供「%s」？[y = 提供 / n = 不提供] "),
                 words);
        int answer = ask_yes_no(in, lang, question);
        if (answer < 0 || (answer == 1 && json_array_append(*release, claim) != 0)) {
            json_decref(*release);
            *release = NULL;
            return -1;
        }
    }
    return 0;
}

/* Asks for the decision, showing the code the page must show and what is
 * shared (release). LOGIN_APPROVE, LOGIN_DENY, or LOGIN_ASK when no
 * answer came: only an explicit n denies. */
static enum login_decision
ask(FILE *in, const char *code, const struct login_request *request, const json_t *release,
    enum app_lang lang)
{
    char name[LOGIN_TEXT_MAX], shared[LOGIN_TEXT_MAX], words[LOGIN_TEXT_MAX];
    char question[3 * LOGIN_TEXT_MAX];
    size_t i, at = 0;
    json_t *claim;

    /* The code the page shows must be this one: a login someone else
     * opened shows another code on the citizen's screen, or none. */
    fprintf(stderr, SAY(lang, "Check: the page you opened shows the code %.4s-%.4s.\n",
                        "请核对：您打开的页面显示的代码是 %.4s-%.4s。\n"),
            code, strlen(code) > 4 ? code + 4 : "");
    app_clean_text(request->platform_name, name, sizeof(name));
    shared[0] = '\0';
    json_array_foreach(release, i, claim) {
        claim_words(json_string_value(claim), lang, words, sizeof(words));
        int n = snprintf(shared + at, sizeof(shared) - at, "%s%s",
                         i == 0 ? "" : SAY(lang, ", ", "、"), words);
        if (n < 0 || (size_t)n >= sizeof(shared) - at)
            break;
        at += (size_t)n;
    }
    if (at == 0)
        snprintf(shared, sizeof(shared), "%s",
                 SAY(lang, "only the sign-in identifier", "仅登录标识"));
    snprintf(question, sizeof(question),
             SAY(lang, "Approve the login to %s, sharing %s? [y = approve / n = deny] ",
                 "批准登录 %s，并提供：%s？[y = 批准 / n = 拒绝] "),
             name, shared);
    int answer = ask_yes_no(in, lang, question);
    return answer < 0 ? LOGIN_ASK : answer ? LOGIN_APPROVE : LOGIN_DENY;
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
    if (strcmp(argv[0], "open") == 0 &&
        strncmp(argv[optind], LOGIN_CODE_LINK_PREFIX, strlen(LOGIN_CODE_LINK_PREFIX)) != 0) {
        fprintf(stderr, "cyberid-app open: takes a login link " LOGIN_CODE_LINK_PREFIX "...\n");
        return APP_EXIT_USAGE;
    }
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
    if (decision == LOGIN_ASK) {
        /* Questions go to the terminal when there is one, else stdin. */
        FILE *terminal = fopen("/dev/tty", "r");
        FILE *in = terminal ? terminal : stdin;
        if (release != NULL || ask_release(in, &request, options.lang, &release) == 0)
            decision = ask(in, code, &request, release, options.lang);
        if (terminal != NULL)
            fclose(terminal);
        if (decision == LOGIN_ASK) {
            fprintf(stderr, "%s", SAY(options.lang,
                                      "No answer: nothing was sent; the login stays pending "
                                      "until it expires.\n",
                                      "没有回答：未发送任何内容；此登录在过期前保持待定。\n"));
            goto cleanup;
        }
    }
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
