/* cli_platform: `cyberid platform add|list|disable|enable --data DIR`. */
#include "cli/cli.h"

#include "cli/cli_common.h"
#include "oidc/platform.h"
#include "service/service.h"
#include "util/file.h"
#include "util/strings.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char platform_usage[] =
    "usage: cyberid platform add --data DIR --name NAME --redirect-uri URI\n"
    "                            [--redirect-uri URI …] [--claims a,b]\n"
    "                            [--legal-basis TEXT] [--purpose TEXT]\n"
    "                            [--refresh-reuse SECONDS]\n"
    "                            [--sector-of CLIENT_ID | --sector-identifier-uri URL\n"
    "                             | --sector-id ID]\n"
    "                            [--auth-method client_secret_basic|private_key_jwt]\n"
    "                            [--jwks FILE] [--fapi2]\n"
    "       cyberid platform list --data DIR\n"
    "       cyberid platform disable|enable --data DIR CLIENT_ID\n"
    "Claims: realname_verified (default), age_over_14, age_over_18, birth_year,\n"
    "name and national_id (the last two need --legal-basis). --purpose: what the\n"
    "platform asks for, in a sentence (at most 300 bytes), shown on the login page\n"
    "and in the citizen's app; nothing a login request says is shown instead.\n"
    "--refresh-reuse: for a client that refreshes in parallel, the seconds a\n"
    "rotated refresh token is still taken (another pair of the same grant); past\n"
    "them, or with 0 (the default), a second use is a replay and ends the grant.\n"
    "Within them a stolen refresh token used at once is not caught.\n"
    "Pairwise subjects: each platform is a sector of its own, so two platforms\n"
    "(on one host too) never see the same sub for a citizen. --sector-of puts the\n"
    "new platform in the sector of a registered one (they see the same subs);\n"
    "--sector-identifier-uri URL fetches URL (OIDC Core 8.1: a JSON array that\n"
    "must list every --redirect-uri) and makes the sector its host; --sector-id\n"
    "names a sector for a group the operator registers together.\n"
    "--fapi2: the platform is held to the FAPI 2.0 Security Profile: it pushes\n"
    "its authorization requests (PAR, /par), binds its code and tokens to a DPoP\n"
    "key, and authenticates with private_key_jwt (ES256 or PS256) only.\n";

struct fetched {
    char *bytes;
    size_t length;
};

static size_t
collect(char *data, size_t size, size_t count, void *context)
{
    struct fetched *f = context;
    size_t n = size * count;
    if (n > PLATFORM_SECTOR_DOCUMENT_MAX_BYTES - f->length)
        return 0; /* too large: libcurl stops with a write error */
    memcpy(f->bytes + f->length, data, n);
    f->length += n;
    return n;
}

/* GET url (the redirect URIs' rules checked before: https, or http on
 * loopback), at most PLATFORM_SECTOR_DOCUMENT_MAX_BYTES, no redirects,
 * 10 s: *out is the body, NUL-terminated (free()). 0 or -1 with err. */
static int
fetch_document(const char *url, char **out, char *err, size_t errlen)
{
    struct fetched f = {malloc(PLATFORM_SECTOR_DOCUMENT_MAX_BYTES + 1), 0};
    CURL *curl = curl_easy_init();
    long code = 0;
    int status = -1;
    if (f.bytes == NULL || curl == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "--sector-identifier-uri: %s%s", curl_easy_strerror(rc),
                 rc == CURLE_WRITE_ERROR ? " (the document is over 64 KiB)" : "");
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        snprintf(err, errlen, "--sector-identifier-uri answered HTTP %ld, not 200", code);
        goto done;
    }
    f.bytes[f.length] = '\0';
    *out = f.bytes;
    f.bytes = NULL;
    status = 0;
done:
    if (curl != NULL)
        curl_easy_cleanup(curl);
    free(f.bytes);
    return status;
}

int
cli_platform(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("platform", platform_usage, "add, list, disable or enable?");
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0)
        return fputs(platform_usage, stdout), 0;
    if (strcmp(action, "add") != 0 && strcmp(action, "list") != 0 &&
        strcmp(action, "disable") != 0 && strcmp(action, "enable") != 0)
        return cli_usage("platform", platform_usage,
                         "unknown action %s (add, list, disable or enable)", action);

    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"redirect-uri", required_argument, NULL, 'r'},
        {"claims", required_argument, NULL, 'c'},
        {"legal-basis", required_argument, NULL, 'b'},
        {"sector-id", required_argument, NULL, 's'},
        {"sector-of", required_argument, NULL, 'o'},
        {"purpose", required_argument, NULL, 'p'},
        {"refresh-reuse", required_argument, NULL, 'R'},
        {"sector-identifier-uri", required_argument, NULL, 'u'},
        {"auth-method", required_argument, NULL, 'a'},
        {"jwks", required_argument, NULL, 'j'},
        {"fapi2", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct platform_spec spec = {0};
    const char *data_dir = NULL;
    const char *jwks_file = NULL;
    int option;
    optind = 0;
    while ((option = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
        switch (option) {
        case 'd': data_dir = optarg; break;
        case 'n': spec.name = optarg; break;
        case 'r':
            if (spec.redirect_uri_count == PLATFORM_REDIRECT_URIS_MAX)
                return cli_fail("platform", 2, "at most %d --redirect-uri",
                                PLATFORM_REDIRECT_URIS_MAX);
            spec.redirect_uris[spec.redirect_uri_count++] = optarg;
            break;
        case 'c': spec.claims = optarg; break;
        case 'b': spec.legal_basis = optarg; break;
        case 's': spec.sector_id = optarg; break;
        case 'o': spec.sector_of = optarg; break;
        case 'p': spec.purpose = optarg; break;
        case 'R':
            if (parse_integer(optarg, 0, PLATFORM_REFRESH_REUSE_MAX, &spec.refresh_reuse) != 0)
                return cli_fail("platform", 2, "--refresh-reuse takes 0 to %d seconds",
                                PLATFORM_REFRESH_REUSE_MAX);
            break;
        case 'u': spec.sector_identifier_uri = optarg; break;
        case 'a': spec.auth_method = optarg; break;
        case 'j': jwks_file = optarg; break;
        case 'F': spec.fapi2 = 1; break;
        case 'h': return fputs(platform_usage, stdout), 0;
        default: return cli_usage("platform", platform_usage, "an option is unknown or lacks its value");
        }
    }
    int positional = argc - 1 - optind;
    int wants_id = strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0;
    if (data_dir == NULL)
        return cli_usage("platform", platform_usage, "--data DIR is required");
    if (wants_id && positional == 0)
        return cli_usage("platform", platform_usage, "%s needs the CLIENT_ID", action);
    if (positional > (wants_id ? 1 : 0))
        return cli_usage("platform", platform_usage, "unexpected argument %s",
                         argv[argc - 1]);

    char err[512];
    uint8_t *jwks = NULL;
    size_t jwks_length = 0;
    if (jwks_file != NULL) {
        if (file_read(jwks_file, PLATFORM_JWKS_MAX_BYTES, &jwks, &jwks_length, err,
                      sizeof err) != 0)
            return cli_fail("platform", 1, "%s", err);
        spec.jwks = (const char *)jwks;
    }

    char *document = NULL;
    if (spec.sector_identifier_uri != NULL) {
        char uri_err[256];
        if (platform_check_redirect_uri(spec.sector_identifier_uri, NULL, 0, uri_err,
                                        sizeof uri_err) != 0) {
            free(jwks);
            return cli_fail("platform", 2, "--sector-identifier-uri: %s", uri_err);
        }
        if (fetch_document(spec.sector_identifier_uri, &document, err, sizeof err) != 0) {
            free(jwks);
            return cli_fail("platform", 1, "%s", err);
        }
        spec.sector_uris = document;
    }

    struct service service;
    if (service_open(data_dir, 1, &service, err, sizeof err) != 0) {
        free(jwks);
        free(document);
        return cli_fail("platform", 1, "%s", err);
    }
    struct store_conn *conn = store_acquire(service.store);
    json_t *result = NULL;
    int status;
    if (strcmp(action, "add") == 0)
        status = platform_add(conn, &spec, &result, err, sizeof err);
    else if (strcmp(action, "list") == 0)
        status = platform_list(conn, &result, err, sizeof err);
    else {
        const char *client_id = argv[1 + optind];
        int disabled = strcmp(action, "disable") == 0;
        status = platform_set_disabled(conn, client_id, disabled, err, sizeof err);
        if (status == 0)
            result = json_pack("{s:s, s:b}", "client_id", client_id, "disabled",
                               disabled);
    }
    store_release(service.store, conn);
    service_close(&service);
    free(jwks);
    free(document);
    if (status != 0)
        return cli_fail("platform", 1, "%s", err);
    return cli_print_json(result) == 0 ? 0 : 1;
}
