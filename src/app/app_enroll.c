/* app_enroll: `cyberid-app enroll`: challenge, device key, CSR, proof of
 * possession, images, POST /v1/enroll, wallet (docs/api.md, "Enrollment");
 * and `cyberid-app rekey`: the same with a new key for an enrolled device,
 * proved by the old one (POST /v1/me/rekey, docs/api.md, "Re-key"); and
 * `cyberid-app unlock`, the same request that also ends the citizen's own
 * lock (POST /v1/me/unlock). */
#include "app/app.h"

#include "app/device_key.h"
#include "util/encoding.h"
#include "util/wipe_alloc.h"
#include "util/file.h"
#include "util/strings.h"

#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ENROLL_ACTION_LEFT "turn_left"
#define ENROLL_ACTION_RIGHT "turn_right"
/* Longest challenge id or nonce taken from the service. */
#define ENROLL_CHALLENGE_FIELD_MAX 256

struct enroll_args {
    const char *national_id, *name, *selfie, *turn_left, *turn_right;
};

struct challenge {
    char id[ENROLL_CHALLENGE_FIELD_MAX];
    char nonce[ENROLL_CHALLENGE_FIELD_MAX];
    int left; /* 1: turn_left, 0: turn_right */
};

/* Parses the command's options; 0, or APP_EXIT_USAGE after a message. */
static int
parse_args(int argc, char **argv, struct app_options *options,
           struct enroll_args *args)
{
    static const struct option longs[] = {
        {"id", required_argument, NULL, 'i'},
        {"name", required_argument, NULL, 'n'},
        {"selfie", required_argument, NULL, 's'},
        {"turn-left", required_argument, NULL, 'l'},
        {"turn-right", required_argument, NULL, 'r'},
        {"server", required_argument, NULL, 'S'},
        {"wallet", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    int option;

    memset(args, 0, sizeof(*args));
    optind = 1;
    while ((option = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        switch (option) {
        case 'i': args->national_id = optarg; break;
        case 'n': args->name = optarg; break;
        case 's': args->selfie = optarg; break;
        case 'l': args->turn_left = optarg; break;
        case 'r': args->turn_right = optarg; break;
        case 'S': options->server = optarg; break;
        case 'W': options->wallet = optarg; break;
        default:
            fprintf(stderr, "cyberid-app enroll: unknown option or missing value\n");
            return APP_EXIT_USAGE;
        }
    }
    if (argc > 0 && (strcmp(argv[0], "rekey") == 0 || strcmp(argv[0], "unlock") == 0)) {
        if (optind != argc || args->national_id != NULL || args->name != NULL ||
            args->selfie == NULL || args->turn_left == NULL || args->turn_right == NULL) {
            fprintf(stderr, "cyberid-app %s: needs --selfie, --turn-left and "
                    "--turn-right, and no --id or --name (see --help)\n", argv[0]);
            return APP_EXIT_USAGE;
        }
    } else if (optind != argc || args->national_id == NULL || args->name == NULL ||
               args->selfie == NULL || args->turn_left == NULL ||
               args->turn_right == NULL) {
        fprintf(stderr, "cyberid-app enroll: needs --id, --name, --selfie, "
                "--turn-left and --turn-right (see --help)\n");
        return APP_EXIT_USAGE;
    }
    if (options->wallet == NULL) {
        fprintf(stderr, "cyberid-app enroll: --wallet FILE is required\n");
        return APP_EXIT_USAGE;
    }
    return 0;
}

/* The service URL: --server, else the server of the wallet being replaced. */
static int
resolve_server(const struct app_options *options, char *server, size_t cap)
{
    struct wallet old = {0};
    char err[APP_ERROR_MAX];
    struct stat info;
    int status;

    if (options->server != NULL) {
        if (app_server_url(options->server, server, cap, err, sizeof(err)) != 0) {
            fprintf(stderr, "cyberid-app enroll: %s\n", err);
            return APP_EXIT_USAGE;
        }
        return 0;
    }
    if (stat(options->wallet, &info) != 0) {
        fprintf(stderr, "cyberid-app enroll: --server URL is required for a "
                "new wallet\n");
        return APP_EXIT_USAGE;
    }
    if (wallet_read(options->wallet, &old, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app enroll: %s\n", err);
        return APP_EXIT_FAILED;
    }
    /* The old wallet's key is wiped here; only its server is kept. */
    status = app_server_url(old.server, server, cap, err, sizeof(err));
    wallet_clear(&old);
    if (status != 0) {
        fprintf(stderr, "cyberid-app enroll: wallet %s: %s\n", options->wallet, err);
        return APP_EXIT_FAILED;
    }
    return 0;
}

/* Reads an image file and returns its standard base64 (malloc'd). */
static int
read_image_base64(const char *label, const char *path, char **out)
{
    uint8_t *bytes = NULL;
    size_t length = 0;
    char err[APP_ERROR_MAX];

    *out = NULL;
    /* file_read says what went wrong: a missing file is not a big one. */
    if (file_read(path, APP_IMAGE_MAX_BYTES, &bytes, &length, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app enroll: %s image: %s\n", label, err);
        return -1;
    }
    if (length == 0) {
        fprintf(stderr, "cyberid-app enroll: %s image %s is empty\n", label, path);
        free(bytes);
        return -1;
    }
    *out = malloc((length + 2) / 3 * 4 + 1);
    if (*out == NULL) {
        fprintf(stderr, "cyberid-app enroll: out of memory\n");
        free(bytes);
        return -1;
    }
    EVP_EncodeBlock((unsigned char *)*out, bytes, (int)length);
    free(bytes);
    return 0;
}

/* POST /v1/enroll/challenge and check the answer's fields. */
static int
get_challenge(const char *server, struct challenge *challenge)
{
    char url[HTTP_CLIENT_URL_MAX], err[APP_ERROR_MAX];
    struct http_response response;
    json_t *answer = NULL;
    int status = APP_EXIT_FAILED;

    if (string_format(url, sizeof(url), "%s/v1/enroll/challenge", server) != 0) {
        fprintf(stderr, "cyberid-app enroll: URL too long\n");
        return APP_EXIT_FAILED;
    }
    if (http_client_request("POST", url, NULL, "{}", &response, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app enroll: %s\n", err);
        return APP_EXIT_FAILED;
    }
    if (response.status != 201) {
        app_print_service_error("no enrollment challenge", &response);
        goto cleanup;
    }
    answer = json_loadb(response.body, response.length, JSON_REJECT_DUPLICATES, NULL);
    const char *id = json_string_value(json_object_get(answer, "challenge_id"));
    const char *nonce = json_string_value(json_object_get(answer, "nonce"));
    const char *action = json_string_value(json_object_get(answer, "action"));
    if (id == NULL || nonce == NULL || action == NULL ||
        string_copy(challenge->id, sizeof(challenge->id), id) != 0 ||
        string_copy(challenge->nonce, sizeof(challenge->nonce), nonce) != 0 ||
        (strcmp(action, ENROLL_ACTION_LEFT) != 0 &&
         strcmp(action, ENROLL_ACTION_RIGHT) != 0)) {
        fprintf(stderr, "cyberid-app enroll: the service's challenge is malformed\n");
        goto cleanup;
    }
    challenge->left = strcmp(action, ENROLL_ACTION_LEFT) == 0;
    status = 0;
cleanup:
    json_decref(answer);
    http_response_free(&response);
    return status;
}

/* Builds the wallet from a 201 answer and writes it. */
static int
save_wallet(const char *path, const char *server, const char *key_pem,
            EVP_PKEY *key, const struct http_response *response, const struct wallet *keep)
{
    json_t *answer = json_loadb(response->body, response->length,
                                JSON_REJECT_DUPLICATES, NULL);
    char err[APP_ERROR_MAX];
    int status = APP_EXIT_FAILED;
    struct wallet wallet = {
        .server = (char *)server,
        .web_number = (char *)json_string_value(json_object_get(answer, "web_number")),
        .serial = (char *)json_string_value(json_object_get(answer, "serial")),
        .private_key = (char *)key_pem,
        .certificate = (char *)json_string_value(json_object_get(answer, "certificate")),
        .chain = (char *)json_string_value(json_object_get(answer, "chain")),
        /* A re-key keeps what the wallet knows of the log. */
        .log_key = keep ? keep->log_key : NULL,
        .log_checkpoint = keep ? keep->log_checkpoint : NULL,
        .witness_keys = keep ? keep->witness_keys : NULL,
        .log_seen = keep ? keep->log_seen : NULL,
    };

    if (wallet.web_number == NULL || wallet.serial == NULL ||
        wallet.certificate == NULL || wallet.chain == NULL) {
        fprintf(stderr, "cyberid-app enroll: the service's answer is malformed\n");
        goto cleanup;
    }
    if (!device_key_matches_certificate(key, wallet.certificate)) {
        fprintf(stderr, "cyberid-app enroll: the certificate the service issued "
                "is not for this device's key\n");
        goto cleanup;
    }
    if (wallet_write(path, &wallet, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app enroll: enrolled, but %s\n", err);
        goto cleanup;
    }
    const char *replaces = json_string_value(json_object_get(answer, "replaces"));
    json_t *summary =
        replaces != NULL
            ? json_pack("{s:s, s:s, s:s, s:s}", "web_number", wallet.web_number, "serial",
                        wallet.serial, "replaces", replaces, "wallet", path)
            : json_pack("{s:s, s:s, s:b, s:s}", "web_number", wallet.web_number, "serial",
                        wallet.serial, "reenrolled",
                        json_is_true(json_object_get(answer, "reenrolled")), "wallet",
                        path);
    char *text = summary ? json_dumps(summary, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text != NULL)
        printf("%s\n", text);
    wipe_free(text);
    json_decref(summary);
    if (replaces != NULL)
        fprintf(stderr, "Re-keyed: a new key and certificate for web number %s; wallet "
                "written to %s\n", wallet.web_number, path);
    else
        fprintf(stderr, "Enrolled: your web number is %s; wallet written to %s\n",
                wallet.web_number, path);
    status = APP_EXIT_OK;
cleanup:
    json_decref(answer);
    return status;
}

/* What an enrollment and a re-key both send: the images, the answer to a
 * challenge, and a new device key with its CSR and its signature of the
 * challenge's nonce. */
struct face_proof {
    char *selfie, *turn_left, *turn_right;
    struct challenge challenge;
    EVP_PKEY *key;
    char *csr, *key_pem;
    char signature[DEVICE_KEY_SIGNATURE_B64_MAX];
};

static void
face_proof_clear(struct face_proof *p)
{
    device_key_pem_free(p->key_pem);
    free(p->csr);
    EVP_PKEY_free(p->key);
    free(p->selfie);
    free(p->turn_left);
    free(p->turn_right);
    memset(p, 0, sizeof *p);
}

/* Reads the images, asks the service for a challenge, says which way to
 * turn, makes the key, its CSR and the nonce's signature. 0, or -1 after
 * a message naming `command`; *p is cleared with face_proof_clear() either
 * way. */
static int
face_proof_make(const char *command, const struct enroll_args *args, const char *server,
                struct face_proof *p)
{
    char err[APP_ERROR_MAX];
    memset(p, 0, sizeof *p);
    if (read_image_base64("selfie", args->selfie, &p->selfie) != 0 ||
        read_image_base64("turn-left", args->turn_left, &p->turn_left) != 0 ||
        read_image_base64("turn-right", args->turn_right, &p->turn_right) != 0 ||
        get_challenge(server, &p->challenge) != 0)
        return -1;
    fprintf(stderr, "The service asks you to turn your head to your %s\n",
            p->challenge.left ? "left" : "right");
    if (device_key_generate(&p->key, err, sizeof(err)) != 0 ||
        device_key_csr_pem(p->key, &p->csr, err, sizeof(err)) != 0 ||
        device_key_to_pem(p->key, &p->key_pem, err, sizeof(err)) != 0 ||
        device_key_sign(p->key, (const uint8_t *)p->challenge.nonce,
                        strlen(p->challenge.nonce), p->signature, sizeof(p->signature), err,
                        sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app %s: %s\n", command, err);
        return -1;
    }
    return 0;
}

/* 1 when a request body fits what the service takes, else 0 after a
 * message naming `command`. */
static int
body_fits(const char *command, const char *body)
{
    if (strlen(body) <= APP_ENROLL_BODY_LIMIT)
        return 1;
    fprintf(stderr, "cyberid-app %s: the selfie and the turn frame are too "
            "large together (the service takes %d MiB of request); send "
            "smaller photos\n", command, APP_ENROLL_BODY_LIMIT / (1024 * 1024));
    return 0;
}

int
app_enroll(const struct app_options *global, int argc, char **argv)
{
    struct app_options options = *global;
    struct enroll_args args;
    struct face_proof proof = {0};
    char server[HTTP_CLIENT_URL_MAX], url[HTTP_CLIENT_URL_MAX], err[APP_ERROR_MAX];
    char *body = NULL;
    json_t *request = NULL;
    struct http_response response = {0};
    int status;

    if ((status = parse_args(argc, argv, &options, &args)) != 0)
        return status;
    if ((status = resolve_server(&options, server, sizeof(server))) != 0)
        return status;
    status = APP_EXIT_FAILED;
    if (face_proof_make("enroll", &args, server, &proof) != 0)
        goto cleanup;
    request = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                        "challenge_id", proof.challenge.id,
                        "national_id", args.national_id, "name", args.name,
                        "csr", proof.csr, "selfie", proof.selfie,
                        "turn_frame", proof.challenge.left ? proof.turn_left : proof.turn_right,
                        "nonce_signature", proof.signature);
    if (request == NULL) {
        fprintf(stderr, "cyberid-app enroll: the ID number and name must be UTF-8 text\n");
        status = APP_EXIT_USAGE;
        goto cleanup;
    }
    body = json_dumps(request, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (body == NULL) {
        fprintf(stderr, "cyberid-app enroll: out of memory\n");
        goto cleanup;
    }
    if (!body_fits("enroll", body))
        goto cleanup;
    if (string_format(url, sizeof(url), "%s/v1/enroll", server) != 0) {
        fprintf(stderr, "cyberid-app enroll: URL too long\n");
        goto cleanup;
    }
    if (http_client_request("POST", url, NULL, body, &response, err, sizeof(err)) != 0) {
        fprintf(stderr, "cyberid-app enroll: %s\n", err);
        goto cleanup;
    }
    if (response.status != 201) {
        app_print_service_error("enrollment refused", &response);
        goto cleanup;
    }
    status = save_wallet(options.wallet, server, proof.key_pem, proof.key, &response, NULL);
cleanup:
    http_response_free(&response);
    wipe_free(body);
    json_decref(request);
    face_proof_clear(&proof);
    return status;
}

/* The device token's binding of the re-key: the new CSR (base64url of its
 * SHA-256) and the challenge, under the old key's signature. NULL on
 * failure. */
static json_t *
rekey_binding(const char *csr, const char *challenge_id)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char encoded[BASE64URL_ENCODED_SIZE(SHA256_DIGEST_LENGTH)];
    SHA256((const unsigned char *)csr, strlen(csr), digest);
    if (base64url_encode(digest, sizeof digest, encoded, sizeof encoded) != 0)
        return NULL;
    return json_pack("{s:s, s:s}", "csr_sha256", encoded, "challenge_id", challenge_id);
}

/* The re-key, or the unlock (the same request to /v1/me/unlock). */
static int
renew(const char *command, const char *path, const struct app_options *global, int argc,
      char **argv)
{
    struct app_options options = *global;
    struct enroll_args args;
    struct face_proof proof = {0};
    char server[HTTP_CLIENT_URL_MAX], err[APP_ERROR_MAX];
    char *body = NULL;
    json_t *request = NULL, *binding = NULL;
    struct http_response response = {0};
    int status;

    if ((status = parse_args(argc, argv, &options, &args)) != 0)
        return status;
    /* The wallet must exist: its key proves who asks. */
    struct stat info;
    if (stat(options.wallet, &info) != 0) {
        fprintf(stderr, "cyberid-app %s: no wallet %s: enroll first\n", command, options.wallet);
        return APP_EXIT_FAILED;
    }
    if ((status = resolve_server(&options, server, sizeof(server))) != 0)
        return status;
    options.server = server;
    status = APP_EXIT_FAILED;
    if (face_proof_make(command, &args, server, &proof) != 0)
        goto cleanup;
    request = json_pack("{s:s, s:s, s:s, s:s, s:s}", "challenge_id", proof.challenge.id, "csr",
                        proof.csr, "selfie", proof.selfie, "turn_frame",
                        proof.challenge.left ? proof.turn_left : proof.turn_right,
                        "nonce_signature", proof.signature);
    binding = rekey_binding(proof.csr, proof.challenge.id);
    body = request ? json_dumps(request, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (body == NULL || binding == NULL) {
        fprintf(stderr, "cyberid-app %s: out of memory\n", command);
        goto cleanup;
    }
    if (!body_fits(command, body))
        goto cleanup;
    /* Signed by the old key, whose wallet is replaced only on success. */
    status = app_device_request_extra(&options, "POST", path, binding, body,
                                      &response);
    if (status != 0)
        goto cleanup;
    status = APP_EXIT_FAILED;
    if (response.status != 201) {
        app_print_service_error(strcmp(command, "unlock") == 0 ? "unlock refused" : "re-key refused",
                                &response);
        goto cleanup;
    }
    struct wallet old = {0};
    if (wallet_read(options.wallet, &old, err, sizeof err) != 0) {
        fprintf(stderr, "cyberid-app %s: re-keyed, but %s\n", command, err);
        goto cleanup;
    }
    status = save_wallet(options.wallet, server, proof.key_pem, proof.key, &response, &old);
    wallet_clear(&old);
cleanup:
    http_response_free(&response);
    wipe_free(body);
    json_decref(request);
    json_decref(binding);
    face_proof_clear(&proof);
    return status;
}

int
app_rekey(const struct app_options *global, int argc, char **argv)
{
    return renew("rekey", "/v1/me/rekey", global, argc, argv);
}

int
app_unlock(const struct app_options *global, int argc, char **argv)
{
    return renew("unlock", "/v1/me/unlock", global, argc, argv);
}
