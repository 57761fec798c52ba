/* loadgen: the closed-loop load generator of `make bench-oidc`, in C.
 *
 * The same flows, command line and output line as bench/oidc/bench.mjs (the
 * Node generator, kept as the cross-check), at a fraction of its CPU per
 * login: keep-alive HTTP/1.1 written here over non-blocking sockets and
 * epoll, one event loop per thread (THREADS, default 1), C connections
 * shared out between the threads, each connection one closed-loop worker
 * that starts its next operation when the last one ends.
 *
 * Flows (each request's status checked as bench.mjs checks it):
 *   cyberid-login   GET /authorize (user code and login id read from the
 *                   page), POST /v1/login/{code}/approve with a fresh
 *                   device-signed ES256 JWS (OpenSSL; worker w signs with
 *                   wallet w % n of the config's wallets), GET
 *                   /v1/authorize/status/{login_id}, POST /token
 *                   (client_secret_basic, PKCE), GET /userinfo
 *   cyberid-refresh the refresh_token grant alone, each worker rotating its
 *                   own refresh token (the first from a login)
 *   peer-login      oidc-provider: /auth with login_hint, its programmatic
 *                   interaction redirects with their cookies, /token, /me
 *   peer-cc         oidc-provider: client_credentials at /token
 *
 * usage: [WARMUP=S] [THREADS=N] [RATE=R] loadgen FLOW C D CONFIG.json
 * RATE: an open loop in the timed window: R operations a second in all,
 * started on a schedule (each on a free one of the C connections), each
 * operation's latency counted from when it was due, its wait for a free
 * connection included; the output then says "rate". Without it, closed
 * loop.
 * CONFIG.json: {"url", "issuer", "wallets": [wallet files], "client_id",
 * "client_secret", "redirect_uri"} for cyberid, {"url"} for the peer.
 * Prints one JSON line: flow, concurrency, seconds, ok, errors, per_sec,
 * p50_ms, p99_ms, generator_cpu_ms_per_op (getrusage of this process over
 * the timed window) and, with SERVER_PID and CLK_TCK set, wall_s,
 * server_cpu_s and server_cpu_ms_per_op (utime+stime from /proc/PID/stat:
 * the server's own and reaped children's, and its live children's), and
 * with DB_PIDS (comma-separated postmaster PIDs) db_cpu_ms_per_op (each
 * postmaster's own, reaped children's and live children's) and
 * total_cpu_ms_per_op. Exits 1 when more than 1% of the operations failed.
 *
 * Responses are read into a bounded buffer per connection (LG_RESP_MAX):
 * Content-Length, chunked, or delimited by the server's close; a
 * `Connection: close` answer closes the socket and the next request opens
 * a new one. A request sent on a reused connection that the server had
 * closed meanwhile (no byte of answer) is sent once more on a new one. */
#define _GNU_SOURCE 1 /* memmem */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#define LG_REQ_MAX 16384            /* one request, header and body */
#define LG_RESP_MAX (256 * 1024)    /* one response, header and body */
#define LG_HEADERS_MAX 64           /* header fields kept per response */
#define LG_TOKEN_MAX 4096           /* an access or refresh token */
#define LG_PATH_MAX 4096            /* a request target */
#define LG_FORM_MAX 8192            /* a form body */
#define LG_COOKIES_MAX 16           /* cookies of one peer login */
#define LG_COOKIE_MAX 1024          /* one cookie, name=value */
#define LG_CODE_MAX 1024            /* an authorization code */
#define LG_USER_CODE_MAX 16         /* the user code's letters */
#define LG_LOGIN_ID_MAX 128         /* a login id */
#define LG_JWS_MAX 8192             /* a device token */
#define LG_HOPS_MAX 5               /* the peer's redirects, as bench.mjs */
#define LG_THREADS_MAX 64
#define LG_CONCURRENCY_MAX 100000
#define LG_EVENTS 64                /* epoll events taken per wait */
#define LG_TIMEOUT_S 30.0           /* a request without an answer fails */
#define LG_ERRORS_SHOWN 2           /* error messages printed, as bench.mjs */
#define LG_STAT_MAX 1024            /* /proc/PID/stat read */
#define LG_DB_PIDS_MAX 16
#define LG_VERIFIER_BYTES 32        /* PKCE verifier's randomness */
#define LG_JTI_BYTES 18             /* device token jti's randomness */
#define LG_PEER_RP_BASIC "Basic cnA6cnAtc2VjcmV0"  /* rp:rp-secret */
#define LG_PEER_CC_BASIC "Basic Y2M6Y2Mtc2VjcmV0"  /* cc:cc-secret */
#define LG_PEER_REDIRECT "http://127.0.0.1:8080/cb"
#define LG_LOGIN_HINTS 10000

enum lg_flow { FLOW_CYBERID_LOGIN, FLOW_CYBERID_REFRESH, FLOW_PEER_LOGIN, FLOW_PEER_CC };
static const char *const lg_flow_names[] = {"cyberid-login", "cyberid-refresh", "peer-login",
                                            "peer-cc"};

/* What a flow's step answers: another request is ready to send, the
 * operation succeeded, or it failed (the message set). */
enum lg_step { STEP_MORE, STEP_DONE, STEP_FAIL };

enum lg_stage {
    ST_AUTHORIZE, ST_APPROVE, ST_STATUS, ST_TOKEN, ST_USERINFO, ST_REFRESH,
    ST_PEER_HOP, ST_PEER_TOKEN, ST_PEER_ME, ST_PEER_CC
};

enum lg_conn_state { CONN_IDLE, CONN_CONNECTING, CONN_SENDING, CONN_RECEIVING };
enum lg_body_mode { BODY_LENGTH, BODY_CHUNKED, BODY_EOF };
enum lg_phase { PHASE_ONCE, PHASE_WARMUP, PHASE_TIMED };

struct lg_wallet {
    EVP_PKEY *key;
    char *header_b64; /* base64url of the JWS header, x5c included */
};

struct lg_config {
    enum lg_flow flow;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[300]; /* Host header: host[:port] */
    char *issuer_json; /* the issuer as a JSON string, quotes included */
    char *client_id_form;
    char *redirect_uri;
    char *redirect_form;
    char *basic; /* "Basic ..." for the cyberid platform */
    struct lg_wallet *wallets;
    size_t wallet_count;
};

struct lg_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct lg_resp {
    int status;
    const char *body; /* NUL-terminated */
    size_t body_len;
    struct lg_header headers[LG_HEADERS_MAX];
    size_t header_count;
};

struct lg_conn {
    int fd;
    enum lg_conn_state state;
    uint32_t events;   /* registered with epoll */
    bool reused;       /* the request went on a connection used before */
    bool retried;      /* sent again once already */
    bool close_after;  /* the answer said Connection: close */
    char *out;         /* LG_REQ_MAX */
    size_t out_len;
    size_t out_sent;
    char *in;          /* LG_RESP_MAX + 1 */
    size_t in_len;
    size_t head_len;   /* 0 until the header is complete */
    enum lg_body_mode body_mode;
    size_t content_length;
    size_t body_len;   /* decoded body length, once complete */
    struct lg_resp resp;
};

struct lg_cookie {
    size_t name_len;
    char pair[LG_COOKIE_MAX]; /* name=value */
};

struct lg_thread;

struct lg_worker {
    struct lg_thread *thread;
    struct lg_conn conn;
    size_t index; /* the worker's number across threads */
    bool busy;    /* an operation is under way */
    bool ready;   /* in the thread's ready list */
    enum lg_stage stage;
    bool then_refresh; /* the login is the refresh flow's first */
    double op_start;
    double req_start;
    uint64_t op_index; /* i of bench.mjs: login_hint for the peer */
    int hops;
    char verifier[64];
    char user_code[LG_USER_CODE_MAX + 1];
    char login_id[LG_LOGIN_ID_MAX + 1];
    char refresh[LG_TOKEN_MAX];
    bool have_refresh;
    size_t cookie_count;
    struct lg_cookie cookies[LG_COOKIES_MAX];
    char error[256];
};

struct lg_run;

struct lg_thread {
    pthread_t tid;
    struct lg_run *run;
    int ep;
    struct lg_worker *workers;
    size_t worker_count;
    struct lg_worker **ready; /* workers whose operation ended */
    size_t ready_count;
    struct lg_worker **batch; /* the ready list being started */
    size_t busy;
    EVP_MD *sha256;
    EVP_PKEY_CTX **sign; /* one per wallet */
    enum lg_phase phase;
    double deadline;
    double *latencies;
    size_t latency_count;
    size_t latency_cap;
    uint64_t errors;
    double last_sweep;
    double interval;   /* RATE: seconds between starts on this thread; 0 closed loop */
    double next_start; /* RATE: when the next operation is due */
};

struct lg_run {
    struct lg_config *config;
    size_t concurrency;
    double duration;
    double warmup;
    pthread_barrier_t barrier;
    double end; /* the timed window's deadline, set between two barriers */
    atomic_ullong ok;
    atomic_ullong warm_steps;
    atomic_uint errors_shown;
};

/* ---- static prototypes ---- */
static double lg_now(void);
static int lg_b64(char *out, size_t out_max, const uint8_t *in, size_t in_len, bool url);
static int lg_form_encode(char *out, size_t out_max, const char *in, size_t in_len, bool component);
static int lg_url_decode(char *out, size_t out_max, const char *in, size_t in_len);
static int lg_query_param(const char *url, const char *name, char *out, size_t out_max);
static int lg_config_load(struct lg_config *config, const char *file);
static void lg_config_free(struct lg_config *config);
static int lg_wallet_load(struct lg_wallet *wallet, const char *file);
static int lg_thread_init(struct lg_thread *t, struct lg_run *run);
static void lg_thread_free(struct lg_thread *t);
static void *lg_thread_main(void *arg);
static void lg_thread_phase(struct lg_thread *t, enum lg_phase phase, double deadline);
static void lg_op_begin(struct lg_worker *w, double start);
static void lg_op_end(struct lg_worker *w, bool ok);
static void lg_fail(struct lg_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void lg_conn_close(struct lg_worker *w);
static void lg_conn_send(struct lg_worker *w);
static void lg_conn_event(struct lg_worker *w, uint32_t events);
static int lg_conn_read(struct lg_worker *w);
static int lg_conn_parse(struct lg_worker *w, bool eof, bool *complete);
static void lg_on_response(struct lg_worker *w);
static const struct lg_header *lg_header_find(const struct lg_resp *r, const char *name,
                                              size_t *from);
static int lg_req(struct lg_worker *w, const char *method, const char *path,
                  const char *authorization, const char *content_type, const char *body,
                  size_t body_len);
static enum lg_step lg_flow_start(struct lg_worker *w);
static enum lg_step lg_flow_next(struct lg_worker *w, const struct lg_resp *r);
static enum lg_step lg_cyberid_authorize(struct lg_worker *w);
static enum lg_step lg_cyberid_refresh(struct lg_worker *w);
static enum lg_step lg_peer_auth(struct lg_worker *w);
static int lg_device_token(struct lg_worker *w, const char *path, char *out, size_t out_max);
static int lg_pkce(struct lg_worker *w, char *challenge, size_t challenge_max);
static int lg_json_string(const struct lg_resp *r, const char *key, char *out, size_t out_max);
static int lg_cpu_read(pid_t server, const pid_t *db, size_t db_count, long clk_tck,
                       double *server_s, double *db_s);
static int lg_stat_fields(const char *pid, long long *ppid, long long ticks[4]);
static int lg_double_cmp(const void *a, const void *b);

/* ---- small helpers ---- */

static double
lg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Base64 (url: the URL-safe alphabet without padding) of in into out,
 * NUL-terminated. Returns the length written, -1 if out_max is too small. */
static int
lg_b64(char *out, size_t out_max, const uint8_t *in, size_t in_len, bool url)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *alphabet = url ? safe : std;
    size_t need = url ? (in_len * 4 + 2) / 3 : (in_len + 2) / 3 * 4;
    if (need + 1 > out_max)
        return -1;
    size_t o = 0, i = 0;
    for (; i + 3 <= in_len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < in_len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < in_len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        if (i + 1 < in_len)
            out[o++] = alphabet[v >> 6 & 63];
        else if (!url)
            out[o++] = '=';
        if (!url)
            out[o++] = '=';
    }
    out[o] = '\0';
    return (int)o;
}

/* Percent-encodes in as URLSearchParams does (component false: space as
 * '+', only *-._ and alphanumerics kept) or as encodeURIComponent does
 * (component true: -_.!~*'() and alphanumerics kept). Returns the length
 * written, -1 if out_max is too small. */
static int
lg_form_encode(char *out, size_t out_max, const char *in, size_t in_len, bool component)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < in_len; i++) {
        unsigned char c = (unsigned char)in[i];
        bool keep = isalnum(c) || c == '-' || c == '_' || c == '.' || c == '*' ||
                    (component && (c == '!' || c == '~' || c == '\'' || c == '(' || c == ')'));
        if (keep || (!component && c == ' ')) {
            if (o + 2 > out_max)
                return -1;
            out[o++] = c == ' ' ? '+' : (char)c;
        } else {
            if (o + 4 > out_max)
                return -1;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o + 1 > out_max)
        return -1;
    out[o] = '\0';
    return (int)o;
}

/* Decodes a query value (%XX and '+' for space). Returns the length
 * written, -1 on a bad escape or if out_max is too small. */
static int
lg_url_decode(char *out, size_t out_max, const char *in, size_t in_len)
{
    size_t o = 0;
    for (size_t i = 0; i < in_len; i++) {
        if (o + 2 > out_max)
            return -1;
        if (in[i] == '%') {
            if (i + 2 >= in_len || !isxdigit((unsigned char)in[i + 1]) ||
                !isxdigit((unsigned char)in[i + 2]))
                return -1;
            char hex[3] = {in[i + 1], in[i + 2], '\0'};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = in[i] == '+' ? ' ' : in[i];
        }
    }
    out[o] = '\0';
    return (int)o;
}

/* The decoded value of query parameter name in url (the first). Returns its
 * length, -1 when absent, malformed or longer than out_max - 1. */
static int
lg_query_param(const char *url, const char *name, char *out, size_t out_max)
{
    const char *q = strchr(url, '?');
    if (q == NULL)
        return -1;
    size_t name_len = strlen(name);
    for (const char *p = q + 1; *p != '\0' && *p != '#';) {
        size_t len = strcspn(p, "&#");
        if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=')
            return lg_url_decode(out, out_max, p + name_len + 1, len - name_len - 1);
        p += len;
        if (*p == '&')
            p++;
    }
    return -1;
}

static int
lg_double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- configuration and wallets ---- */

/* Loads a wallet file: its private key (PKCS#8 PEM) and its certificate,
 * whose PEM base64 becomes the x5c of the JWS header made once here.
 * Returns 0, or -1 with a message on stderr. */
static int
lg_wallet_load(struct lg_wallet *wallet, const char *file)
{
    json_error_t jerr;
    json_t *root = json_load_file(file, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "loadgen: %s: %s\n", file, jerr.text);
        return -1;
    }
    int rc = -1;
    char *cert = NULL, *header = NULL;
    const char *pem = json_string_value(json_object_get(root, "private_key"));
    const char *cert_pem = json_string_value(json_object_get(root, "certificate"));
    if (pem == NULL || cert_pem == NULL) {
        fprintf(stderr, "loadgen: %s: no private_key or certificate\n", file);
        goto out;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL)
        goto out;
    wallet->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (wallet->key == NULL) {
        fprintf(stderr, "loadgen: %s: unreadable private key\n", file);
        goto out;
    }
    /* The certificate's base64: the PEM without its armour lines and
     * whitespace, as bench.mjs takes it. */
    size_t cert_len = strlen(cert_pem);
    cert = malloc(cert_len + 1);
    if (cert == NULL)
        goto out;
    size_t c = 0;
    for (const char *line = cert_pem; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        if (strncmp(line, "-----", 5) != 0)
            for (size_t k = 0; k < len; k++)
                if (!isspace((unsigned char)line[k]))
                    cert[c++] = line[k];
        line += len;
        if (*line == '\n')
            line++;
    }
    cert[c] = '\0';
    size_t header_max = c + 128;
    header = malloc(header_max);
    if (header == NULL)
        goto out;
    int header_len = snprintf(header, header_max,
                              "{\"alg\":\"ES256\",\"typ\":\"cyberid-device+jwt\",\"x5c\":[\"%s\"]}",
                              cert);
    if (header_len < 0 || (size_t)header_len >= header_max)
        goto out;
    size_t b64_max = (size_t)header_len * 4 / 3 + 4;
    wallet->header_b64 = malloc(b64_max);
    if (wallet->header_b64 == NULL ||
        lg_b64(wallet->header_b64, b64_max, (const uint8_t *)header, (size_t)header_len, true) < 0)
        goto out;
    rc = 0;
out:
    free(cert);
    free(header);
    json_decref(root);
    return rc;
}

static char *
lg_encode_dup(const char *in, bool component)
{
    size_t max = strlen(in) * 3 + 1;
    char *out = malloc(max);
    if (out != NULL && lg_form_encode(out, max, in, strlen(in), component) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* Reads CONFIG.json: the server's URL (http://host:port, resolved once
 * here), and for the cyberid flows the issuer, the platform and the
 * wallets. Returns 0, or -1 with a message on stderr. */
static int
lg_config_load(struct lg_config *config, const char *file)
{
    json_error_t jerr;
    json_t *root = json_load_file(file, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "loadgen: %s: %s\n", file, jerr.text);
        return -1;
    }
    int rc = -1;
    char *id_enc = NULL, *secret_enc = NULL, *pair = NULL;
    const char *url = json_string_value(json_object_get(root, "url"));
    char host[256], port[16] = "80";
    if (url == NULL || strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "loadgen: %s: url must be http://HOST[:PORT]\n", file);
        goto out;
    }
    const char *authority = url + 7;
    size_t auth_len = strcspn(authority, "/?#");
    if (auth_len == 0 || auth_len >= sizeof host || authority[0] == '[') {
        fprintf(stderr, "loadgen: %s: unsupported url %s\n", file, url);
        goto out;
    }
    memcpy(host, authority, auth_len);
    host[auth_len] = '\0';
    memcpy(config->host, host, auth_len + 1);
    char *colon = strchr(host, ':');
    if (colon != NULL) {
        if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port)
            goto out;
        strcpy(port, colon + 1);
        *colon = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "loadgen: %s: %s\n", host, gai_strerror(gai));
        goto out;
    }
    memcpy(&config->addr, ai->ai_addr, ai->ai_addrlen);
    config->addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);

    if (config->flow == FLOW_CYBERID_LOGIN || config->flow == FLOW_CYBERID_REFRESH) {
        json_t *issuer = json_object_get(root, "issuer");
        const char *client_id = json_string_value(json_object_get(root, "client_id"));
        const char *secret = json_string_value(json_object_get(root, "client_secret"));
        const char *redirect = json_string_value(json_object_get(root, "redirect_uri"));
        json_t *wallets = json_object_get(root, "wallets");
        if (wallets == NULL)
            wallets = json_object_get(root, "wallet");
        if (!json_is_string(issuer) || client_id == NULL || secret == NULL || redirect == NULL ||
            wallets == NULL) {
            fprintf(stderr, "loadgen: %s: issuer, client_id, client_secret, redirect_uri and "
                            "wallets are needed\n", file);
            goto out;
        }
        config->issuer_json = json_dumps(issuer, JSON_ENCODE_ANY);
        config->client_id_form = lg_encode_dup(client_id, false);
        config->redirect_uri = strdup(redirect);
        config->redirect_form = lg_encode_dup(redirect, false);
        id_enc = lg_encode_dup(client_id, true);
        secret_enc = lg_encode_dup(secret, true);
        if (config->issuer_json == NULL || config->client_id_form == NULL ||
            config->redirect_uri == NULL || config->redirect_form == NULL || id_enc == NULL ||
            secret_enc == NULL)
            goto out;
        size_t pair_len = strlen(id_enc) + 1 + strlen(secret_enc);
        pair = malloc(pair_len + 1);
        size_t basic_max = pair_len * 4 / 3 + 16;
        config->basic = malloc(basic_max);
        if (pair == NULL || config->basic == NULL)
            goto out;
        snprintf(pair, pair_len + 1, "%s:%s", id_enc, secret_enc);
        memcpy(config->basic, "Basic ", 6);
        if (lg_b64(config->basic + 6, basic_max - 6, (const uint8_t *)pair, pair_len, false) < 0)
            goto out;
        size_t n = json_is_array(wallets) ? json_array_size(wallets) : 1;
        if (n == 0) {
            fprintf(stderr, "loadgen: %s: no wallet\n", file);
            goto out;
        }
        config->wallets = calloc(n, sizeof *config->wallets);
        if (config->wallets == NULL)
            goto out;
        config->wallet_count = n;
        for (size_t i = 0; i < n; i++) {
            json_t *f = json_is_array(wallets) ? json_array_get(wallets, i) : wallets;
            if (!json_is_string(f) || lg_wallet_load(&config->wallets[i], json_string_value(f)) != 0)
                goto out;
        }
    }
    rc = 0;
out:
    free(id_enc);
    free(secret_enc);
    free(pair);
    json_decref(root);
    return rc;
}

static void
lg_config_free(struct lg_config *config)
{
    for (size_t i = 0; i < config->wallet_count; i++) {
        EVP_PKEY_free(config->wallets[i].key);
        free(config->wallets[i].header_b64);
    }
    free(config->wallets);
    free(config->issuer_json);
    free(config->client_id_form);
    free(config->redirect_uri);
    free(config->redirect_form);
    free(config->basic);
}

/* ---- HTTP/1.1 over non-blocking sockets ---- */

static void
lg_conn_close(struct lg_worker *w)
{
    struct lg_conn *c = &w->conn;
    if (c->fd >= 0) {
        epoll_ctl(w->thread->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->events = 0;
    c->state = CONN_IDLE;
}

static int
lg_conn_watch(struct lg_worker *w, uint32_t events)
{
    struct lg_conn *c = &w->conn;
    if (c->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(w->thread->ep, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return -1;
    c->events = events;
    return 0;
}

/* Formats the request into the worker's out buffer: request line, Host,
 * the optional Authorization and Content-Type, Content-Length when there
 * is a body, then the body. Returns 0, -1 if it does not fit. */
static int
lg_req(struct lg_worker *w, const char *method, const char *path, const char *authorization,
       const char *content_type, const char *body, size_t body_len)
{
    struct lg_conn *c = &w->conn;
    int n = snprintf(c->out, LG_REQ_MAX, "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%s%s", method,
                     path, w->thread->run->config->host,
                     authorization != NULL ? "Authorization: " : "",
                     authorization != NULL ? authorization : "", authorization != NULL ? "\r\n" : "",
                     content_type != NULL ? "Content-Type: " : "",
                     content_type != NULL ? content_type : "", content_type != NULL ? "\r\n" : "");
    if (n < 0 || (size_t)n >= LG_REQ_MAX)
        return -1;
    size_t len = (size_t)n;
    if (w->stage == ST_PEER_HOP && w->cookie_count > 0) {
        n = snprintf(c->out + len, LG_REQ_MAX - len, "Cookie: ");
        if (n < 0 || (size_t)n >= LG_REQ_MAX - len)
            return -1;
        len += (size_t)n;
        for (size_t i = 0; i < w->cookie_count; i++) {
            n = snprintf(c->out + len, LG_REQ_MAX - len, "%s%s", i > 0 ? "; " : "",
                         w->cookies[i].pair);
            if (n < 0 || (size_t)n >= LG_REQ_MAX - len)
                return -1;
            len += (size_t)n;
        }
        if (len + 2 >= LG_REQ_MAX)
            return -1;
        memcpy(c->out + len, "\r\n", 2);
        len += 2;
    }
    if (body != NULL)
        n = snprintf(c->out + len, LG_REQ_MAX - len, "Content-Length: %zu\r\n\r\n", body_len);
    else
        n = snprintf(c->out + len, LG_REQ_MAX - len, "\r\n");
    if (n < 0 || (size_t)n >= LG_REQ_MAX - len)
        return -1;
    len += (size_t)n;
    if (body != NULL) {
        if (body_len > LG_REQ_MAX - len)
            return -1;
        memcpy(c->out + len, body, body_len);
        len += body_len;
    }
    c->out_len = len;
    return 0;
}

/* Sends the request in the out buffer, connecting first if the worker has
 * no open connection; failures end the operation. */
static void
lg_conn_send(struct lg_worker *w)
{
    struct lg_conn *c = &w->conn;
    const struct lg_config *config = w->thread->run->config;
    c->out_sent = 0;
    c->in_len = 0;
    c->head_len = 0;
    w->req_start = lg_now();
    if (c->fd < 0) {
        c->reused = false;
        c->fd = socket(config->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
            lg_fail(w, "socket: %s", strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (const struct sockaddr *)&config->addr, config->addr_len) != 0) {
            if (errno != EINPROGRESS) {
                lg_fail(w, "connect: %s", strerror(errno));
                return;
            }
            c->state = CONN_CONNECTING;
            if (lg_conn_watch(w, EPOLLOUT) != 0)
                lg_fail(w, "epoll_ctl: %s", strerror(errno));
            return;
        }
    } else {
        c->reused = true;
    }
    c->state = CONN_SENDING;
    lg_conn_event(w, EPOLLOUT);
}

/* Reads what the socket holds into the in buffer. Returns 1 on end of
 * stream, 0 after data or nothing to read, -1 on an error or a response
 * larger than LG_RESP_MAX. */
static int
lg_conn_read(struct lg_worker *w)
{
    struct lg_conn *c = &w->conn;
    if (c->in_len == LG_RESP_MAX)
        return -1;
    ssize_t n = recv(c->fd, c->in + c->in_len, LG_RESP_MAX - c->in_len, 0);
    if (n > 0) {
        c->in_len += (size_t)n;
        return 0;
    }
    if (n == 0)
        return 1;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return -1;
}

/* Whether the chunked body from offset start of the in buffer is complete;
 * when it is, decodes it in place (the body then follows the header) and
 * sets body_len. Returns 0 (complete or not yet), -1 if malformed. */
static int
lg_chunked(struct lg_conn *c, bool *complete)
{
    size_t p = c->head_len, out = c->head_len;
    *complete = false;
    for (;;) {
        const char *line = c->in + p;
        const char *eol = memmem(line, c->in_len - p, "\r\n", 2);
        if (eol == NULL)
            return 0;
        char *end;
        errno = 0;
        unsigned long long size = strtoull(line, &end, 16);
        if (end == line || errno != 0 || size > LG_RESP_MAX || (*end != '\r' && *end != ';'))
            return -1;
        p = (size_t)(eol - c->in) + 2;
        if (size == 0) {
            /* Trailer fields, then an empty line. */
            for (;;) {
                const char *t = memmem(c->in + p, c->in_len - p, "\r\n", 2);
                if (t == NULL)
                    return 0;
                size_t len = (size_t)(t - (c->in + p));
                p += len + 2;
                if (len == 0)
                    break;
            }
            if (p != c->in_len)
                return -1; /* bytes after the response: we never pipeline */
            /* Decode: the chunks are copied down over the size lines. */
            size_t q = c->head_len;
            for (;;) {
                unsigned long long sz = strtoull(c->in + q, NULL, 16);
                q = (size_t)((const char *)memmem(c->in + q, c->in_len - q, "\r\n", 2) - c->in) + 2;
                if (sz == 0)
                    break;
                memmove(c->in + out, c->in + q, (size_t)sz);
                out += (size_t)sz;
                q += (size_t)sz + 2;
            }
            c->body_len = out - c->head_len;
            *complete = true;
            return 0;
        }
        if (c->in_len - p < size + 2)
            return 0;
        if (memcmp(c->in + p + size, "\r\n", 2) != 0)
            return -1;
        p += (size_t)size + 2;
    }
}

/* Parses the response in the in buffer: the header once complete, then
 * whether the body is. Returns 0 (complete set when the whole response is
 * in), -1 if malformed. */
static int
lg_conn_parse(struct lg_worker *w, bool eof, bool *complete)
{
    struct lg_conn *c = &w->conn;
    struct lg_resp *r = &c->resp;
    *complete = false;
    if (c->head_len == 0) {
        const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (end == NULL)
            return 0;
        c->head_len = (size_t)(end - c->in) + 4;
        if (c->in_len < 12 || strncmp(c->in, "HTTP/1.", 7) != 0 || c->in[8] != ' ' ||
            !isdigit((unsigned char)c->in[9]) || !isdigit((unsigned char)c->in[10]) ||
            !isdigit((unsigned char)c->in[11]))
            return -1;
        r->status = (c->in[9] - '0') * 100 + (c->in[10] - '0') * 10 + (c->in[11] - '0');
        c->close_after = c->in[7] == '0';
        c->body_mode = BODY_EOF;
        c->content_length = 0;
        r->header_count = 0;
        const char *p = (const char *)memchr(c->in, '\n', c->head_len) + 1;
        const char *stop = c->in + c->head_len - 2;
        while (p < stop) {
            const char *eol = memmem(p, (size_t)(stop - p) + 2, "\r\n", 2);
            const char *colon = memchr(p, ':', (size_t)(eol - p));
            if (colon == NULL || colon == p)
                return -1;
            if (r->header_count == LG_HEADERS_MAX)
                return -1;
            struct lg_header *h = &r->headers[r->header_count++];
            h->name = p;
            h->name_len = (size_t)(colon - p);
            const char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            h->value = v;
            h->value_len = (size_t)(ve - v);
            if (h->name_len == 14 && strncasecmp(p, "content-length", 14) == 0) {
                char *e;
                errno = 0;
                unsigned long long len = strtoull(v, &e, 10);
                if (e == v || e != ve || errno != 0 || len > LG_RESP_MAX)
                    return -1;
                if (c->body_mode != BODY_CHUNKED)
                    c->body_mode = BODY_LENGTH;
                c->content_length = (size_t)len;
            } else if (h->name_len == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
                if (h->value_len != 7 || strncasecmp(v, "chunked", 7) != 0)
                    return -1;
                c->body_mode = BODY_CHUNKED;
            } else if (h->name_len == 10 && strncasecmp(p, "connection", 10) == 0) {
                if (h->value_len == 5 && strncasecmp(v, "close", 5) == 0)
                    c->close_after = true;
            }
            p = eol + 2;
        }
        if (r->status == 204 || r->status == 304 || r->status / 100 == 1) {
            c->body_mode = BODY_LENGTH;
            c->content_length = 0;
        }
    }
    switch (c->body_mode) {
    case BODY_LENGTH:
        if (c->in_len - c->head_len < c->content_length)
            return 0; /* the caller fails a closed connection */
        if (c->in_len - c->head_len > c->content_length)
            return -1;
        c->body_len = c->content_length;
        *complete = true;
        return 0;
    case BODY_CHUNKED:
        return lg_chunked(c, complete);
    case BODY_EOF:
        c->body_len = c->in_len - c->head_len;
        c->close_after = true;
        *complete = eof;
        return 0;
    }
    return -1;
}

/* Handles readiness of the worker's socket: connect completion, sending
 * what is left of the request, reading the answer; a complete answer goes
 * to the flow. */
static void
lg_conn_event(struct lg_worker *w, uint32_t events)
{
    struct lg_conn *c = &w->conn;
    if (c->state == CONN_IDLE) {
        /* An idle keep-alive connection: the server closed it (or sent
         * what we did not ask for). */
        lg_conn_close(w);
        return;
    }
    if (c->state == CONN_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err != 0) {
            lg_fail(w, "connect: %s", strerror(err));
            return;
        }
        c->state = CONN_SENDING;
    }
    if (c->state == CONN_SENDING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        while (c->out_sent < c->out_len) {
            ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
            if (n > 0) {
                c->out_sent += (size_t)n;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (lg_conn_watch(w, EPOLLOUT) != 0)
                    lg_fail(w, "epoll_ctl: %s", strerror(errno));
                return;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (c->reused && !c->retried) {
                /* The server had closed the kept-alive connection. */
                c->retried = true;
                lg_conn_close(w);
                lg_conn_send(w);
                return;
            }
            lg_fail(w, "send: %s", strerror(errno));
            return;
        }
        c->state = CONN_RECEIVING;
        if (lg_conn_watch(w, EPOLLIN) != 0)
            lg_fail(w, "epoll_ctl: %s", strerror(errno));
        return; /* the answer comes with a later event */
    }
    /* CONN_RECEIVING */
    int rc = lg_conn_read(w);
    if (rc < 0 && c->in_len == LG_RESP_MAX) {
        lg_fail(w, "response larger than %d bytes", LG_RESP_MAX);
        return;
    }
    if (rc != 0 && c->in_len == 0 && c->reused && !c->retried) {
        c->retried = true;
        lg_conn_close(w);
        lg_conn_send(w);
        return;
    }
    if (rc < 0) {
        lg_fail(w, "recv: %s", strerror(errno));
        return;
    }
    bool complete;
    if (lg_conn_parse(w, rc == 1, &complete) != 0) {
        lg_fail(w, "malformed response (%zu bytes)", c->in_len);
        return;
    }
    if (!complete) {
        if (rc == 1)
            lg_fail(w, "connection closed before the response ended");
        return;
    }
    lg_on_response(w);
}

static const struct lg_header *
lg_header_find(const struct lg_resp *r, const char *name, size_t *from)
{
    size_t len = strlen(name);
    for (size_t i = from != NULL ? *from : 0; i < r->header_count; i++)
        if (r->headers[i].name_len == len && strncasecmp(r->headers[i].name, name, len) == 0) {
            if (from != NULL)
                *from = i + 1;
            return &r->headers[i];
        }
    return NULL;
}

/* A complete answer: hands it to the flow, then sends the flow's next
 * request or ends the operation. */
static void
lg_on_response(struct lg_worker *w)
{
    struct lg_conn *c = &w->conn;
    c->resp.body = c->in + c->head_len;
    c->resp.body_len = c->body_len;
    c->in[c->head_len + c->body_len] = '\0';
    c->state = CONN_IDLE;
    c->retried = false;
    if (c->close_after)
        lg_conn_close(w);
    enum lg_step step = lg_flow_next(w, &c->resp);
    if (step == STEP_MORE)
        lg_conn_send(w);
    else if (step == STEP_DONE)
        lg_op_end(w, true);
    else
        lg_op_end(w, false);
}

/* ---- the flows ---- */

static void
lg_fail(struct lg_worker *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
    if (w->conn.state != CONN_IDLE)
        lg_conn_close(w); /* mid-request: the connection's state is unknown */
    lg_op_end(w, false);
}

/* A fresh PKCE verifier in w->verifier and its S256 challenge. */
static int
lg_pkce(struct lg_worker *w, char *challenge, size_t challenge_max)
{
    uint8_t random[LG_VERIFIER_BYTES], digest[32];
    unsigned int digest_len = 0;
    if (RAND_bytes(random, sizeof random) != 1 ||
        lg_b64(w->verifier, sizeof w->verifier, random, sizeof random, true) < 0 ||
        EVP_Digest(w->verifier, strlen(w->verifier), digest, &digest_len, w->thread->sha256,
                   NULL) != 1 ||
        lg_b64(challenge, challenge_max, digest, digest_len, true) < 0)
        return -1;
    return 0;
}

/* A device token for POST path approving w->user_code, releasing
 * realname_verified, signed by wallet index % n: "Device <JWS>". */
static int
lg_device_token(struct lg_worker *w, const char *path, char *out, size_t out_max)
{
    const struct lg_config *config = w->thread->run->config;
    size_t wallet = w->index % config->wallet_count;
    uint8_t random[LG_JTI_BYTES];
    char jti[32], payload[1024], payload_b64[1500];
    if (RAND_bytes(random, sizeof random) != 1 ||
        lg_b64(jti, sizeof jti, random, sizeof random, true) < 0)
        return -1;
    long long now = (long long)time(NULL);
    int n = snprintf(payload, sizeof payload,
                     "{\"aud\":%s,\"htm\":\"POST\",\"htu\":\"%s\",\"iat\":%lld,\"exp\":%lld,"
                     "\"jti\":\"%s\",\"user_code\":\"%s\",\"release\":[\"realname_verified\"]}",
                     config->issuer_json, path, now, now + 60, jti, w->user_code);
    if (n < 0 || (size_t)n >= sizeof payload ||
        lg_b64(payload_b64, sizeof payload_b64, (const uint8_t *)payload, (size_t)n, true) < 0)
        return -1;
    n = snprintf(out, out_max, "Device %s.%s", config->wallets[wallet].header_b64, payload_b64);
    if (n < 0 || (size_t)n >= out_max)
        return -1;
    size_t len = (size_t)n;
    const char *input = out + 7; /* header.payload */
    uint8_t digest[32], der[80], raw[64];
    unsigned int digest_len = 0;
    size_t der_len = sizeof der;
    if (EVP_Digest(input, len - 7, digest, &digest_len, w->thread->sha256, NULL) != 1 ||
        EVP_PKEY_sign(w->thread->sign[wallet], der, &der_len, digest, digest_len) != 1)
        return -1;
    const uint8_t *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL)
        return -1;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    if (!ok || len + 2 > out_max)
        return -1;
    out[len++] = '.';
    if (lg_b64(out + len, out_max - len, raw, sizeof raw, true) < 0)
        return -1;
    return 0;
}

/* The string member key of the JSON body, copied into out. */
static int
lg_json_string(const struct lg_resp *r, const char *key, char *out, size_t out_max)
{
    json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
    const char *value = json_string_value(json_object_get(root, key));
    int rc = -1;
    if (value != NULL && strlen(value) < out_max) {
        strcpy(out, value);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* A body's first bytes, for error messages. */
#define LG_SNIP(r) (int)((r)->body_len < 200 ? (r)->body_len : 200), (r)->body

static enum lg_step
lg_cyberid_authorize(struct lg_worker *w)
{
    const struct lg_config *config = w->thread->run->config;
    char challenge[64], path[LG_PATH_MAX];
    if (lg_pkce(w, challenge, sizeof challenge) != 0) {
        snprintf(w->error, sizeof w->error, "pkce");
        return STEP_FAIL;
    }
    int n = snprintf(path, sizeof path,
                     "/authorize?client_id=%s&response_type=code&scope=openid+realname_verified"
                     "&redirect_uri=%s&code_challenge=%s&code_challenge_method=S256&state=s&nonce=n",
                     config->client_id_form, config->redirect_form, challenge);
    w->stage = ST_AUTHORIZE;
    if (n < 0 || (size_t)n >= sizeof path || lg_req(w, "GET", path, NULL, NULL, NULL, 0) != 0) {
        snprintf(w->error, sizeof w->error, "request too large");
        return STEP_FAIL;
    }
    return STEP_MORE;
}

static enum lg_step
lg_cyberid_refresh(struct lg_worker *w)
{
    const struct lg_config *config = w->thread->run->config;
    char body[LG_FORM_MAX], token[LG_TOKEN_MAX * 3];
    w->stage = ST_REFRESH;
    if (lg_form_encode(token, sizeof token, w->refresh, strlen(w->refresh), false) < 0)
        return STEP_FAIL;
    int n = snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s", token);
    if (n < 0 || (size_t)n >= sizeof body ||
        lg_req(w, "POST", "/token", config->basic, "application/x-www-form-urlencoded", body,
               (size_t)n) != 0) {
        snprintf(w->error, sizeof w->error, "request too large");
        return STEP_FAIL;
    }
    return STEP_MORE;
}

static enum lg_step
lg_peer_auth(struct lg_worker *w)
{
    char challenge[64], path[LG_PATH_MAX];
    if (lg_pkce(w, challenge, sizeof challenge) != 0) {
        snprintf(w->error, sizeof w->error, "pkce");
        return STEP_FAIL;
    }
    w->cookie_count = 0;
    w->hops = 0;
    w->stage = ST_PEER_HOP;
    int n = snprintf(path, sizeof path,
                     "/auth?client_id=rp&response_type=code&scope=openid"
                     "&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A8080%%2Fcb&code_challenge=%s"
                     "&code_challenge_method=S256&state=s&nonce=n&login_hint=user-%llu",
                     challenge, (unsigned long long)(w->op_index % LG_LOGIN_HINTS));
    if (n < 0 || (size_t)n >= sizeof path || lg_req(w, "GET", path, NULL, NULL, NULL, 0) != 0)
        return STEP_FAIL;
    return STEP_MORE;
}

/* The operation's first request. */
static enum lg_step
lg_flow_start(struct lg_worker *w)
{
    w->error[0] = '\0';
    switch (w->thread->run->config->flow) {
    case FLOW_CYBERID_LOGIN:
        w->then_refresh = false;
        return lg_cyberid_authorize(w);
    case FLOW_CYBERID_REFRESH:
        if (w->have_refresh)
            return lg_cyberid_refresh(w);
        w->then_refresh = true;
        return lg_cyberid_authorize(w);
    case FLOW_PEER_LOGIN:
        return lg_peer_auth(w);
    case FLOW_PEER_CC: {
        static const char body[] = "grant_type=client_credentials&scope=api%3Aread";
        w->stage = ST_PEER_CC;
        if (lg_req(w, "POST", "/token", LG_PEER_CC_BASIC, "application/x-www-form-urlencoded",
                   body, sizeof body - 1) != 0)
            return STEP_FAIL;
        return STEP_MORE;
    }
    }
    return STEP_FAIL;
}

/* Stores the Set-Cookie pairs of r in the worker's jar (a name set again
 * replaces its value). */
static int
lg_cookies_take(struct lg_worker *w, const struct lg_resp *r)
{
    size_t from = 0;
    const struct lg_header *h;
    while ((h = lg_header_find(r, "set-cookie", &from)) != NULL) {
        size_t pair_len = 0;
        while (pair_len < h->value_len && h->value[pair_len] != ';')
            pair_len++;
        const char *eq = memchr(h->value, '=', pair_len);
        if (eq == NULL || pair_len >= LG_COOKIE_MAX)
            return -1;
        size_t name_len = (size_t)(eq - h->value);
        struct lg_cookie *slot = NULL;
        for (size_t i = 0; i < w->cookie_count; i++)
            if (w->cookies[i].name_len == name_len &&
                memcmp(w->cookies[i].pair, h->value, name_len) == 0)
                slot = &w->cookies[i];
        if (slot == NULL) {
            if (w->cookie_count == LG_COOKIES_MAX)
                return -1;
            slot = &w->cookies[w->cookie_count++];
        }
        slot->name_len = name_len;
        memcpy(slot->pair, h->value, pair_len);
        slot->pair[pair_len] = '\0';
    }
    return 0;
}

/* The flow's step after an answer: the next request into the out buffer
 * (STEP_MORE), the end of the operation (STEP_DONE), or a failure with
 * w->error set (STEP_FAIL). */
static enum lg_step
lg_flow_next(struct lg_worker *w, const struct lg_resp *r)
{
    const struct lg_config *config = w->thread->run->config;
    char path[LG_PATH_MAX], body[LG_FORM_MAX], token[LG_TOKEN_MAX], auth[LG_JWS_MAX];
    char code[LG_CODE_MAX], code_form[LG_CODE_MAX * 3];
    int n;
#define FAIL(...) do { snprintf(w->error, sizeof w->error, __VA_ARGS__); return STEP_FAIL; } while (0)
    switch (w->stage) {
    case ST_AUTHORIZE: {
        if (r->status != 200)
            FAIL("authorize %d", r->status);
        const char *p = strstr(r->body, "id=\"user-code\"");
        const char *gt = p != NULL ? strchr(p, '>') : NULL;
        const char *lt = gt != NULL ? strchr(gt, '<') : NULL;
        if (lt == NULL)
            FAIL("authorize: no user code in the page");
        size_t k = 0;
        for (const char *q = gt + 1; q < lt; q++)
            if (*q >= 'A' && *q <= 'Z') {
                if (k == LG_USER_CODE_MAX)
                    FAIL("authorize: user code too long");
                w->user_code[k++] = *q;
            }
        w->user_code[k] = '\0';
        const char *s = strstr(r->body, "v1/authorize/status/");
        if (s == NULL)
            FAIL("authorize: no status path in the page");
        s += strlen("v1/authorize/status/");
        size_t id_len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
        if (id_len == 0 || id_len > LG_LOGIN_ID_MAX)
            FAIL("authorize: bad login id");
        memcpy(w->login_id, s, id_len);
        w->login_id[id_len] = '\0';
        n = snprintf(path, sizeof path, "/v1/login/%s/approve", w->user_code);
        if (n < 0 || (size_t)n >= sizeof path || lg_device_token(w, path, auth, sizeof auth) != 0)
            FAIL("device token");
        w->stage = ST_APPROVE;
        if (lg_req(w, "POST", path, auth, "application/json", "{}", 2) != 0)
            FAIL("request too large");
        return STEP_MORE;
    }
    case ST_APPROVE:
        if (r->status != 200)
            FAIL("approve %d %.*s", r->status, LG_SNIP(r));
        n = snprintf(path, sizeof path, "/v1/authorize/status/%s", w->login_id);
        w->stage = ST_STATUS;
        if (n < 0 || (size_t)n >= sizeof path || lg_req(w, "GET", path, NULL, NULL, NULL, 0) != 0)
            FAIL("request too large");
        return STEP_MORE;
    case ST_STATUS: {
        if (r->status != 200)
            FAIL("status %d %.*s", r->status, LG_SNIP(r));
        char redirect[LG_PATH_MAX];
        if (lg_json_string(r, "redirect_to", redirect, sizeof redirect) != 0 ||
            lg_query_param(redirect, "code", code, sizeof code) < 0)
            FAIL("status: no code in %.*s", LG_SNIP(r));
        if (lg_form_encode(code_form, sizeof code_form, code, strlen(code), false) < 0)
            FAIL("code too long");
        n = snprintf(body, sizeof body,
                     "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s",
                     code_form, config->redirect_form, w->verifier);
        w->stage = ST_TOKEN;
        if (n < 0 || (size_t)n >= sizeof body ||
            lg_req(w, "POST", "/token", config->basic, "application/x-www-form-urlencoded", body,
                   (size_t)n) != 0)
            FAIL("request too large");
        return STEP_MORE;
    }
    case ST_TOKEN: {
        if (r->status != 200)
            FAIL("token %d %.*s", r->status, LG_SNIP(r));
        if (lg_json_string(r, "access_token", token, sizeof token) != 0)
            FAIL("token: no access_token");
        if (w->then_refresh && lg_json_string(r, "refresh_token", w->refresh, sizeof w->refresh) != 0)
            FAIL("token: no refresh_token");
        n = snprintf(auth, sizeof auth, "Bearer %s", token);
        w->stage = ST_USERINFO;
        if (n < 0 || (size_t)n >= sizeof auth ||
            lg_req(w, "GET", "/userinfo", auth, NULL, NULL, 0) != 0)
            FAIL("request too large");
        return STEP_MORE;
    }
    case ST_USERINFO:
        if (r->status != 200)
            FAIL("userinfo %d %.*s", r->status, LG_SNIP(r));
        if (w->then_refresh) {
            w->have_refresh = true;
            w->then_refresh = false;
            return lg_cyberid_refresh(w);
        }
        return STEP_DONE;
    case ST_REFRESH:
        if (r->status != 200)
            FAIL("refresh %d %.*s", r->status, LG_SNIP(r));
        if (lg_json_string(r, "refresh_token", w->refresh, sizeof w->refresh) != 0)
            FAIL("refresh: no refresh_token");
        return STEP_DONE;
    case ST_PEER_HOP: {
        if (lg_cookies_take(w, r) != 0)
            FAIL("hop %d: too many or too long cookies", w->hops);
        const struct lg_header *loc = lg_header_find(r, "location", NULL);
        if (loc == NULL || loc->value_len >= sizeof path)
            FAIL("hop %d: %d without a usable Location", w->hops, r->status);
        char location[LG_PATH_MAX];
        memcpy(location, loc->value, loc->value_len);
        location[loc->value_len] = '\0';
        if (strncmp(location, LG_PEER_REDIRECT, strlen(LG_PEER_REDIRECT)) == 0) {
            if (lg_query_param(location, "code", code, sizeof code) < 0 ||
                lg_form_encode(code_form, sizeof code_form, code, strlen(code), false) < 0)
                FAIL("peer: no code in %.200s", location);
            n = snprintf(body, sizeof body,
                         "grant_type=authorization_code&code=%s"
                         "&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A8080%%2Fcb&code_verifier=%s",
                         code_form, w->verifier);
            w->stage = ST_PEER_TOKEN;
            if (n < 0 || (size_t)n >= sizeof body ||
                lg_req(w, "POST", "/token", LG_PEER_RP_BASIC, "application/x-www-form-urlencoded",
                       body, (size_t)n) != 0)
                FAIL("request too large");
            return STEP_MORE;
        }
        if (++w->hops == LG_HOPS_MAX)
            FAIL("peer: no redirect to the client after %d hops", LG_HOPS_MAX);
        /* Another hop on the server: an absolute URL of this server, or a
         * path. */
        const char *next = location;
        size_t host_len = strlen(config->host);
        if (strncmp(next, "http://", 7) == 0) {
            if (strncmp(next + 7, config->host, host_len) != 0 ||
                (next[7 + host_len] != '/' && next[7 + host_len] != '\0'))
                FAIL("peer: redirect elsewhere: %.200s", location);
            next += 7 + host_len;
        }
        if (next[0] != '/')
            FAIL("peer: unsupported Location %.200s", location);
        memcpy(path, next, strlen(next) + 1);
        if (lg_req(w, "GET", path, NULL, NULL, NULL, 0) != 0)
            FAIL("request too large");
        return STEP_MORE;
    }
    case ST_PEER_TOKEN:
        if (r->status != 200)
            FAIL("peer token %d %.*s", r->status, LG_SNIP(r));
        if (lg_json_string(r, "access_token", token, sizeof token) != 0)
            FAIL("peer token: no access_token");
        n = snprintf(auth, sizeof auth, "Bearer %s", token);
        w->stage = ST_PEER_ME;
        if (n < 0 || (size_t)n >= sizeof auth || lg_req(w, "GET", "/me", auth, NULL, NULL, 0) != 0)
            FAIL("request too large");
        return STEP_MORE;
    case ST_PEER_ME:
        if (r->status != 200)
            FAIL("userinfo %d %.*s", r->status, LG_SNIP(r));
        return STEP_DONE;
    case ST_PEER_CC:
        if (r->status != 200)
            FAIL("cc %d %.*s", r->status, LG_SNIP(r));
        return STEP_DONE;
    }
#undef FAIL
    return STEP_FAIL;
}

/* ---- operations and phases ---- */

/* Starts an operation on an idle worker. */
/* Starts the worker's next operation; its latency counts from start (now,
 * or with RATE the time it was due, so that an operation that waited for
 * a free connection counts its wait). */
static void
lg_op_begin(struct lg_worker *w, double start)
{
    struct lg_thread *t = w->thread;
    struct lg_run *run = t->run;
    w->busy = true;
    w->conn.retried = false;
    t->busy++;
    w->op_start = start;
    switch (t->phase) {
    case PHASE_ONCE:
        w->op_index = w->index;
        break;
    case PHASE_WARMUP:
        w->op_index = atomic_fetch_add(&run->warm_steps, 1);
        break;
    case PHASE_TIMED:
        w->op_index = atomic_load(&run->ok);
        break;
    }
    enum lg_step step = lg_flow_start(w);
    if (step == STEP_MORE)
        lg_conn_send(w);
    else
        lg_op_end(w, step == STEP_DONE);
}

/* Ends the worker's operation, counted in the timed phase; the worker goes
 * to the ready list, from which the loop starts its next one. */
static void
lg_op_end(struct lg_worker *w, bool ok)
{
    struct lg_thread *t = w->thread;
    struct lg_run *run = t->run;
    if (!w->busy)
        return;
    w->busy = false;
    t->busy--;
    if (t->phase == PHASE_TIMED) {
        if (ok) {
            if (t->latency_count == t->latency_cap) {
                size_t cap = t->latency_cap ? t->latency_cap * 2 : 4096;
                double *grown = realloc(t->latencies, cap * sizeof *grown);
                if (grown == NULL) {
                    fprintf(stderr, "loadgen: out of memory\n");
                    exit(2);
                }
                t->latencies = grown;
                t->latency_cap = cap;
            }
            t->latencies[t->latency_count++] = (lg_now() - w->op_start) * 1000.0;
            atomic_fetch_add(&run->ok, 1);
        } else {
            t->errors++;
            if (atomic_fetch_add(&run->errors_shown, 1) < LG_ERRORS_SHOWN)
                fprintf(stderr, "%s\n", w->error[0] != '\0' ? w->error : "error");
        }
    }
    if (!w->ready) {
        w->ready = true;
        t->ready[t->ready_count++] = w;
    }
}

/* Waits up to timeout ms for the thread's connections and handles what
 * came; once a second, fails the operations with no answer for
 * LG_TIMEOUT_S. */
static void
lg_thread_poll(struct lg_thread *t, int timeout)
{
    struct epoll_event events[LG_EVENTS];
    int n = epoll_wait(t->ep, events, LG_EVENTS, timeout);
    if (n < 0 && errno != EINTR) {
        perror("loadgen: epoll_wait");
        exit(2);
    }
    for (int i = 0; i < n; i++)
        lg_conn_event(events[i].data.ptr, events[i].events);
    double now = lg_now();
    if (now - t->last_sweep >= 1.0) {
        t->last_sweep = now;
        for (size_t i = 0; i < t->worker_count; i++) {
            struct lg_worker *w = &t->workers[i];
            if (w->busy && w->conn.state != CONN_IDLE && now - w->req_start > LG_TIMEOUT_S)
                lg_fail(w, "no answer in %.0f s", LG_TIMEOUT_S);
        }
    }
}

/* Runs one phase on the thread's workers: PHASE_ONCE, one operation each;
 * the others, operations started until deadline, the last ones awaited. */
static void
lg_thread_phase(struct lg_thread *t, enum lg_phase phase, double deadline)
{
    t->phase = phase;
    t->deadline = deadline;
    t->ready_count = 0;
    for (size_t i = 0; i < t->worker_count; i++) {
        t->workers[i].ready = true;
        t->ready[t->ready_count++] = &t->workers[i];
    }
    bool first = true;
    t->last_sweep = lg_now();
    /* RATE: the timed window starts operations on a schedule, one every
     * `interval` on this thread, each on a free connection (open loop). */
    bool paced = phase == PHASE_TIMED && t->interval > 0;
    t->next_start = lg_now();
    for (;;) {
        if (paced) {
            double now = lg_now();
            while (t->ready_count > 0 && t->next_start <= now && t->next_start < deadline) {
                struct lg_worker *w = t->ready[--t->ready_count];
                w->ready = false;
                lg_op_begin(w, t->next_start);
                t->next_start += t->interval;
            }
            if (t->next_start >= deadline && t->busy == 0)
                break;
            int timeout = 1000;
            if (t->next_start < deadline && t->ready_count > 0)
                timeout = t->next_start <= now ? 0 : (int)((t->next_start - now) * 1000.0);
            lg_thread_poll(t, timeout);
            continue;
        }
        /* Start the ready workers' next operations (new ones appended
         * meanwhile wait for the next turn). */
        struct lg_worker **batch = t->ready;
        size_t count = t->ready_count;
        t->ready = t->batch;
        t->batch = batch;
        t->ready_count = 0;
        double now = lg_now();
        for (size_t i = 0; i < count; i++) {
            struct lg_worker *w = batch[i];
            w->ready = false;
            if (phase == PHASE_ONCE ? first : now < deadline)
                lg_op_begin(w, now);
        }
        first = false;
        if (t->busy == 0 && t->ready_count == 0)
            break;
        if (t->busy == 0)
            continue;
        lg_thread_poll(t, t->ready_count > 0 ? 0 : 1000);
    }
}

static int
lg_thread_init(struct lg_thread *t, struct lg_run *run)
{
    const struct lg_config *config = run->config;
    t->run = run;
    t->ep = epoll_create1(EPOLL_CLOEXEC);
    t->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    t->ready = calloc(t->worker_count ? t->worker_count : 1, sizeof *t->ready);
    t->batch = calloc(t->worker_count ? t->worker_count : 1, sizeof *t->batch);
    t->sign = calloc(config->wallet_count ? config->wallet_count : 1, sizeof *t->sign);
    if (t->ep < 0 || t->sha256 == NULL || t->ready == NULL || t->batch == NULL || t->sign == NULL)
        return -1;
    for (size_t i = 0; i < config->wallet_count; i++) {
        t->sign[i] = EVP_PKEY_CTX_new_from_pkey(NULL, config->wallets[i].key, NULL);
        if (t->sign[i] == NULL || EVP_PKEY_sign_init(t->sign[i]) != 1 ||
            EVP_PKEY_CTX_set_signature_md(t->sign[i], t->sha256) != 1)
            return -1;
    }
    for (size_t i = 0; i < t->worker_count; i++) {
        struct lg_worker *w = &t->workers[i];
        w->thread = t;
        w->conn.fd = -1;
        w->conn.out = malloc(LG_REQ_MAX);
        w->conn.in = malloc(LG_RESP_MAX + 1);
        if (w->conn.out == NULL || w->conn.in == NULL)
            return -1;
    }
    return 0;
}

static void
lg_thread_free(struct lg_thread *t)
{
    for (size_t i = 0; i < t->worker_count; i++) {
        struct lg_worker *w = &t->workers[i];
        if (w->thread != NULL)
            lg_conn_close(w);
        free(w->conn.out);
        free(w->conn.in);
        OPENSSL_cleanse(w->refresh, sizeof w->refresh);
    }
    if (t->sign != NULL)
        for (size_t i = 0; i < t->run->config->wallet_count; i++)
            EVP_PKEY_CTX_free(t->sign[i]);
    free(t->sign);
    free(t->ready);
    free(t->batch);
    EVP_MD_free(t->sha256);
    if (t->ep >= 0)
        close(t->ep);
    free(t->latencies);
}

/* A thread: one operation per worker, the warm-up, then (between the
 * barriers where the main thread reads the CPU counters and sets the end)
 * the timed window. */
static void *
lg_thread_main(void *arg)
{
    struct lg_thread *t = arg;
    struct lg_run *run = t->run;
    lg_thread_phase(t, PHASE_ONCE, 0);
    pthread_barrier_wait(&run->barrier);
    pthread_barrier_wait(&run->barrier); /* main sets the warm-up's end */
    if (run->warmup > 0)
        lg_thread_phase(t, PHASE_WARMUP, run->end);
    pthread_barrier_wait(&run->barrier);
    pthread_barrier_wait(&run->barrier); /* main reads the counters, sets the end */
    lg_thread_phase(t, PHASE_TIMED, run->end);
    return NULL;
}

/* ---- CPU time of the server and the database, from /proc ---- */

/* Fields of /proc/PID/stat after the command name: ppid and utime, stime,
 * cutime, cstime in ticks. Returns 0, -1 if the process is gone. */
static int
lg_stat_fields(const char *pid, long long *ppid, long long ticks[4])
{
    char path[64], buf[LG_STAT_MAX];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return -1;
    p += 2;
    /* [0] state, [1] ppid, ..., [11] utime, [12] stime, [13] cutime,
     * [14] cstime */
    for (int field = 0; field <= 14; field++) {
        char *end = strchr(p, ' ');
        if (field == 1)
            *ppid = strtoll(p, NULL, 10);
        else if (field >= 11)
            ticks[field - 11] = strtoll(p, NULL, 10);
        if (field == 14)
            break;
        if (end == NULL)
            return -1;
        p = end + 1;
    }
    return 0;
}

/* The server's CPU seconds (its own and reaped children's, and its live
 * children's own) and the database's (each postmaster's own and reaped
 * children's, and its live children's own), as bench.mjs counts them. */
static int
lg_cpu_read(pid_t server, const pid_t *db, size_t db_count, long clk_tck, double *server_s,
            double *db_s)
{
    long long ppid, ticks[4], server_ticks = 0, db_ticks = 0;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)server);
    if (lg_stat_fields(pid, &ppid, ticks) != 0)
        return -1;
    server_ticks = ticks[0] + ticks[1] + ticks[2] + ticks[3];
    for (size_t i = 0; i < db_count; i++) {
        snprintf(pid, sizeof pid, "%d", (int)db[i]);
        if (lg_stat_fields(pid, &ppid, ticks) != 0)
            return -1;
        db_ticks += ticks[0] + ticks[1] + ticks[2] + ticks[3];
    }
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(proc)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]) ||
            lg_stat_fields(e->d_name, &ppid, ticks) != 0)
            continue;
        if (ppid == server)
            server_ticks += ticks[0] + ticks[1];
        for (size_t i = 0; i < db_count; i++)
            if (ppid == db[i])
                db_ticks += ticks[0] + ticks[1];
    }
    closedir(proc);
    *server_s = (double)server_ticks / (double)clk_tck;
    *db_s = (double)db_ticks / (double)clk_tck;
    return 0;
}

static double
lg_rusage_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A positive decimal from the environment or argv, bounded. */
static int
lg_number(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: [WARMUP=S] [THREADS=N] [RATE=R] loadgen FLOW C D CONFIG.json\n"
                        "FLOW: cyberid-login, cyberid-refresh, peer-login, peer-cc\n");
        return 2;
    }
    struct lg_config config = {0};
    size_t f = 0;
    for (; f < sizeof lg_flow_names / sizeof *lg_flow_names; f++)
        if (strcmp(argv[1], lg_flow_names[f]) == 0)
            break;
    if (f == sizeof lg_flow_names / sizeof *lg_flow_names) {
        fprintf(stderr, "unknown flow %s\n", argv[1]);
        return 2;
    }
    config.flow = (enum lg_flow)f;
    double concurrency, duration, warmup = 0, threads = 1, clk_tck = 100, rate = 0;
    const char *env;
    if (lg_number(argv[2], 1, LG_CONCURRENCY_MAX, &concurrency) != 0 ||
        concurrency != floor(concurrency) || lg_number(argv[3], 0.001, 86400, &duration) != 0 ||
        ((env = getenv("WARMUP")) != NULL && *env != '\0' &&
         lg_number(env, 0, 86400, &warmup) != 0) ||
        ((env = getenv("THREADS")) != NULL && *env != '\0' &&
         lg_number(env, 1, LG_THREADS_MAX, &threads) != 0) ||
        ((env = getenv("CLK_TCK")) != NULL && *env != '\0' &&
         lg_number(env, 1, 1e6, &clk_tck) != 0) ||
        ((env = getenv("RATE")) != NULL && *env != '\0' &&
         lg_number(env, 0.001, 1e7, &rate) != 0)) {
        fprintf(stderr, "loadgen: bad C, D, WARMUP, THREADS, CLK_TCK or RATE\n");
        return 2;
    }
    pid_t server = 0, db[LG_DB_PIDS_MAX];
    size_t db_count = 0;
    if ((env = getenv("SERVER_PID")) != NULL && *env != '\0') {
        double v;
        if (lg_number(env, 1, INT32_MAX, &v) != 0) {
            fprintf(stderr, "loadgen: bad SERVER_PID\n");
            return 2;
        }
        server = (pid_t)v;
    }
    if ((env = getenv("DB_PIDS")) != NULL) {
        for (const char *p = env; *p != '\0';) {
            size_t len = strcspn(p, ",");
            char one[32];
            double v;
            if (len > 0) {
                if (len >= sizeof one || db_count == LG_DB_PIDS_MAX) {
                    fprintf(stderr, "loadgen: bad DB_PIDS\n");
                    return 2;
                }
                memcpy(one, p, len);
                one[len] = '\0';
                if (lg_number(one, 1, INT32_MAX, &v) != 0) {
                    fprintf(stderr, "loadgen: bad DB_PIDS\n");
                    return 2;
                }
                db[db_count++] = (pid_t)v;
            }
            p += len;
            if (*p == ',')
                p++;
        }
    }
    if (lg_config_load(&config, argv[4]) != 0) {
        lg_config_free(&config);
        return 2;
    }

    struct lg_run run = {.config = &config, .concurrency = (size_t)concurrency,
                         .duration = duration, .warmup = warmup};
    size_t thread_count = (size_t)threads;
    if (thread_count > run.concurrency)
        thread_count = run.concurrency;
    struct lg_worker *workers = calloc(run.concurrency, sizeof *workers);
    struct lg_thread *ts = calloc(thread_count, sizeof *ts);
    if (workers == NULL || ts == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 2;
    }
    /* Worker w goes to thread w % T; each thread's workers are contiguous
     * in the array, numbered across threads. */
    size_t next = 0;
    int status = 2;
    size_t started = 0;
    for (size_t i = 0; i < thread_count; i++) {
        ts[i].ep = -1;
        ts[i].workers = &workers[next];
        ts[i].worker_count = run.concurrency / thread_count + (i < run.concurrency % thread_count);
        for (size_t k = 0; k < ts[i].worker_count; k++)
            workers[next + k].index = next + k;
        next += ts[i].worker_count;
        ts[i].run = &run;
        ts[i].interval = rate > 0 ? (double)thread_count / rate : 0;
        if (lg_thread_init(&ts[i], &run) != 0) {
            fprintf(stderr, "loadgen: thread setup failed\n");
            goto out;
        }
    }
    if (pthread_barrier_init(&run.barrier, NULL, (unsigned)thread_count + 1) != 0)
        goto out;
    for (; started < thread_count; started++)
        if (pthread_create(&ts[started].tid, NULL, lg_thread_main, &ts[started]) != 0) {
            fprintf(stderr, "loadgen: pthread_create failed\n");
            exit(2);
        }
    pthread_barrier_wait(&run.barrier); /* one operation each done */
    run.end = lg_now() + warmup;
    pthread_barrier_wait(&run.barrier);
    pthread_barrier_wait(&run.barrier); /* warm-up done */
    double cpu0 = 0, db0 = 0, cpu1 = 0, db1 = 0;
    if (server != 0 && lg_cpu_read(server, db, db_count, (long)clk_tck, &cpu0, &db0) != 0) {
        fprintf(stderr, "loadgen: cannot read /proc/%d/stat\n", (int)server);
        exit(2);
    }
    double self0 = lg_rusage_s();
    double t0 = lg_now();
    run.end = t0 + duration;
    pthread_barrier_wait(&run.barrier);
    for (size_t i = 0; i < started; i++)
        pthread_join(ts[i].tid, NULL);
    /* The generator's CPU before the scan of /proc: its load only. */
    double self1 = lg_rusage_s();
    if (server != 0 && lg_cpu_read(server, db, db_count, (long)clk_tck, &cpu1, &db1) != 0) {
        fprintf(stderr, "loadgen: cannot read /proc/%d/stat\n", (int)server);
        exit(2);
    }
    double wall = lg_now() - t0;
    pthread_barrier_destroy(&run.barrier);

    size_t n = 0;
    uint64_t errors = 0;
    for (size_t i = 0; i < thread_count; i++) {
        n += ts[i].latency_count;
        errors += ts[i].errors;
    }
    double *lat = malloc((n ? n : 1) * sizeof *lat);
    if (lat == NULL)
        goto out;
    size_t k = 0;
    for (size_t i = 0; i < thread_count; i++) {
        if (ts[i].latency_count > 0)
            memcpy(lat + k, ts[i].latencies, ts[i].latency_count * sizeof *lat);
        k += ts[i].latency_count;
    }
    qsort(lat, n, sizeof *lat, lg_double_cmp);
    printf("{\"flow\":\"%s\",\"generator\":\"c\",\"concurrency\":%zu,\"seconds\":%g,\"ok\":%zu,"
           "\"errors\":%llu,\"per_sec\":%.1f",
           argv[1], run.concurrency, duration, n, (unsigned long long)errors,
           (double)n / duration);
    if (rate > 0)
        printf(",\"rate\":%g", rate);
    if (n > 0)
        printf(",\"p50_ms\":\"%.1f\",\"p99_ms\":\"%.1f\"", lat[(size_t)floor((double)n * 0.5)],
               lat[(size_t)floor((double)n * 0.99)]);
    if (n > 0)
        printf(",\"generator_cpu_ms_per_op\":%.3f", (self1 - self0) * 1000.0 / (double)n);
    if (server != 0) {
        printf(",\"wall_s\":%.3f,\"server_cpu_s\":%.2f", wall, cpu1 - cpu0);
        if (n > 0)
            printf(",\"server_cpu_ms_per_op\":%.3f", (cpu1 - cpu0) * 1000.0 / (double)n);
        if (db_count > 0 && n > 0) {
            double server_ms = (cpu1 - cpu0) * 1000.0 / (double)n;
            double db_ms = (db1 - db0) * 1000.0 / (double)n;
            printf(",\"db_cpu_ms_per_op\":%.3f,\"total_cpu_ms_per_op\":%.3f", db_ms,
                   server_ms + db_ms);
        }
    }
    printf("}\n");
    fflush(stdout);
    free(lat);
    status = errors * 100 > n ? 1 : 0;
out:
    for (size_t i = 0; i < thread_count; i++)
        if (ts[i].run != NULL)
            lg_thread_free(&ts[i]);
    free(ts);
    free(workers);
    lg_config_free(&config);
    return status;
}
