/* Tests of the signer process from outside, as a network process gone bad
 * would talk to it: `cyberid signer` is started on a socketpair of the
 * test's own (descriptor 3, as signer_start() does) and sent raw messages.
 * Out-of-policy requests (a certificate for a name that is not a web
 * number, an ID token with a foreign issuer, one with a sub of the
 * caller's where the signer derives it, HMAC with the master key, a
 * second configuration) are refused and the process keeps serving;
 * malformed ones (a message cut short, an unknown operation, a reserved
 * word set, fields that do not add up, a length over the maximum, bytes
 * sent after a message before its answer) end the
 * process with exit code 3 and no answer. Also through signer_start(): a
 * killed signer fails the call with the outage flag set, the next call is
 * served by a new one, a caller's out-of-bounds argument is refused
 * without reaching the process, and past SIGNER_RESTARTS_MAX restarts the handle
 * gives up and says so once. The binary comes from CYBERID_BINARY. */
#include "signer/signer.h"
#include "signer/signer_wire.h"

#include "../test_support.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ISSUER "https://id.example"

struct fixture {
    char *dir;
    char keys[1024], pki[1024];
    pid_t pid;
    int fd;
};

/* Starts `cyberid signer` with one channel on a socketpair; reads its
 * hello. */
static void
start(struct fixture *f)
{
    const char *binary = getenv("CYBERID_BINARY");
    assert_non_null(binary);
    int pair[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        if (dup2(pair[1], 3) < 0)
            _exit(127);
        execl(binary, binary, "signer", "--keys", f->keys, "--pki", f->pki, "--issuer",
              ISSUER, "--ocsp-url", ISSUER "/ocsp", "--crl-url", ISSUER "/crl",
              "--channels", "1", (char *)NULL);
        _exit(127);
    }
    close(pair[1]);
    f->fd = pair[0];
    struct signer_wire_header hello;
    char kid[SIGNER_KID_MAX + 1];
    assert_int_equal(signer_wire_read(f->fd, &hello, sizeof hello), 0);
    assert_int_equal(hello.status, SIGNER_STATUS_OK);
    assert_true(hello.length > 0 && hello.length <= SIGNER_KID_MAX);
    assert_int_equal(signer_wire_read(f->fd, kid, hello.length), 0);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    f->dir = test_temp_dir("signer-process");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->pki, sizeof f->pki, "%s/pki", f->dir);
    assert_int_equal(signer_create_keys(f->keys, f->pki, err, sizeof err), 0);
    start(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    if (f->fd >= 0)
        close(f->fd);
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

/* Sends op with payload; returns the reply's status (its payload is read
 * and dropped), or -1 when the channel ended without a reply. */
static int
request(struct fixture *f, unsigned op, const struct signer_buffer *payload)
{
    static uint32_t id = 100;
    struct signer_wire_header header = {.id = ++id, .op = (uint16_t)op,
                                        .length = (uint32_t)payload->length};
    assert_int_equal(signer_wire_write(f->fd, &header, sizeof header), 0);
    if (payload->length > 0)
        assert_int_equal(signer_wire_write(f->fd, payload->bytes, payload->length), 0);
    struct signer_wire_header reply;
    if (signer_wire_read(f->fd, &reply, sizeof reply) != 0)
        return -1;
    assert_int_equal(reply.id, id);
    assert_int_equal(reply.op, op);
    if (reply.length > 0) {
        uint8_t *bytes = malloc(reply.length);
        assert_int_equal(signer_wire_read(f->fd, bytes, reply.length), 0);
        free(bytes);
    }
    return reply.status;
}

/* The process's exit code after it ended by itself (-1: killed by a
 * signal, e.g. its seccomp filter). */
static int
exit_code(struct fixture *f)
{
    int status = 0;
    assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
    f->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_out_of_policy_refused(void **state)
{
    struct fixture *f = *state;
    struct signer_buffer b = {0};
    /* HMAC with the index key: served. With the master key: refused. */
    signer_buffer_u64(&b, SIGNER_KEY_INDEX);
    signer_buffer_field(&b, "x", 1, SIGNER_WIRE_PAYLOAD_MAX);
    assert_int_equal(request(f, SIGNER_OP_HMAC, &b), SIGNER_STATUS_OK);
    signer_buffer_clear(&b);
    signer_buffer_u64(&b, SIGNER_KEY_MASTER);
    signer_buffer_field(&b, "x", 1, SIGNER_WIRE_PAYLOAD_MAX);
    assert_int_equal(request(f, SIGNER_OP_HMAC, &b), SIGNER_STATUS_REFUSED);
    signer_buffer_clear(&b);

    /* A certificate for a name that is not a web number. */
    EVP_PKEY *device = EVP_EC_gen("P-256");
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES], *cursor = spki;
    int spki_length = i2d_PUBKEY(device, &cursor);
    EVP_PKEY_free(device);
    const char *names[] = {"Zhang San", "CN=0123456789ABCDEF", "0123456789ABCDEF"};
    int expected[] = {SIGNER_STATUS_REFUSED, SIGNER_STATUS_REFUSED, SIGNER_STATUS_OK};
    for (size_t i = 0; i < 3; i++) {
        signer_buffer_u64(&b, 1); /* the issuing CA generation */
        signer_buffer_field(&b, spki, (size_t)spki_length, SIGNER_WIRE_PAYLOAD_MAX);
        signer_buffer_text(&b, names[i], SIGNER_WIRE_PAYLOAD_MAX);
        signer_buffer_u64(&b, (uint64_t)time(NULL));
        assert_int_equal(request(f, SIGNER_OP_ISSUE_CERTIFICATE, &b), expected[i]);
        signer_buffer_clear(&b);
    }
    /* A good name by a generation that is not the newest (none here). */
    for (uint64_t generation = 0; generation <= 2; generation += 2) {
        signer_buffer_u64(&b, generation);
        signer_buffer_field(&b, spki, (size_t)spki_length, SIGNER_WIRE_PAYLOAD_MAX);
        signer_buffer_text(&b, "0123456789ABCDEF", SIGNER_WIRE_PAYLOAD_MAX);
        signer_buffer_u64(&b, (uint64_t)time(NULL));
        assert_int_equal(request(f, SIGNER_OP_ISSUE_CERTIFICATE, &b), SIGNER_STATUS_REFUSED);
        signer_buffer_clear(&b);
    }

    /* An ID token with a foreign issuer, and one with ours. */
    long long now = (long long)time(NULL);
    const char *issuers[] = {"https://evil.example", ISSUER};
    char claims[256];
    struct signer *local = NULL;
    char err[256], initial[SIGNER_KID_MAX + 1];
    assert_int_equal(signer_open(f->keys, &local, err, sizeof err), 0);
    signer_token_initial_kid(local, initial);
    signer_close(local);
    for (size_t i = 0; i < 2; i++) {
        snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"aud\":\"p\",\"sub\":\"s\","
                 "\"iat\":%lld,\"exp\":%lld}", issuers[i], now, now + 60);
        signer_buffer_text(&b, initial, SIGNER_WIRE_PAYLOAD_MAX);
        signer_buffer_text(&b, claims, SIGNER_WIRE_PAYLOAD_MAX);
        assert_int_equal(request(f, SIGNER_OP_SIGN_ID_TOKEN, &b),
                         i == 0 ? SIGNER_STATUS_REFUSED : SIGNER_STATUS_OK);
        signer_buffer_clear(&b);
    }
    /* The one whose sub the signer derives: refused with a sub of the
     * caller's or a foreign issuer; then a good one. (An empty text is
     * malformed on the wire, as everywhere.) */
    char with_sub[256], without_sub[256], foreign[256];
    snprintf(with_sub, sizeof with_sub, "{\"iss\":\"%s\",\"aud\":\"p\",\"sub\":\"s\","
             "\"iat\":%lld,\"exp\":%lld}", ISSUER, now, now + 60);
    snprintf(without_sub, sizeof without_sub, "{\"iss\":\"%s\",\"aud\":\"p\","
             "\"iat\":%lld,\"exp\":%lld}", ISSUER, now, now + 60);
    snprintf(foreign, sizeof foreign, "{\"iss\":\"https://evil.example\",\"aud\":\"p\","
             "\"iat\":%lld,\"exp\":%lld}", now, now + 60);
    const struct {
        const char *sector, *web, *claims;
        uint16_t status;
    } pairwise[] = {
        {"shop.example", "W1", with_sub, SIGNER_STATUS_REFUSED},
        {"shop.example", "W1", foreign, SIGNER_STATUS_REFUSED},
        {"shop.example", "W1", without_sub, SIGNER_STATUS_OK},
    };
    for (size_t i = 0; i < sizeof pairwise / sizeof *pairwise; i++) {
        signer_buffer_text(&b, initial, SIGNER_WIRE_PAYLOAD_MAX);
        signer_buffer_text(&b, pairwise[i].sector, SIGNER_WIRE_PAYLOAD_MAX);
        signer_buffer_text(&b, pairwise[i].web, SIGNER_WIRE_PAYLOAD_MAX);
        signer_buffer_field(&b, pairwise[i].claims, strlen(pairwise[i].claims),
                            SIGNER_WIRE_PAYLOAD_MAX);
        assert_int_equal(request(f, SIGNER_OP_SIGN_ID_TOKEN_PAIRWISE, &b), pairwise[i].status);
        signer_buffer_clear(&b);
    }

    /* Another issuer, said after the first: refused. */
    signer_buffer_text(&b, "https://evil.example", SIGNER_WIRE_PAYLOAD_MAX);
    signer_buffer_text(&b, "https://evil.example/ocsp", SIGNER_WIRE_PAYLOAD_MAX);
    signer_buffer_text(&b, "https://evil.example/crl", SIGNER_WIRE_PAYLOAD_MAX);
    assert_int_equal(request(f, SIGNER_OP_CONFIGURE, &b), SIGNER_STATUS_REFUSED);
    signer_buffer_clear(&b);

    /* Still serving after all of it. */
    signer_buffer_u64(&b, SIGNER_KEY_PAIRWISE);
    signer_buffer_field(&b, "y", 1, SIGNER_WIRE_PAYLOAD_MAX);
    assert_int_equal(request(f, SIGNER_OP_HMAC, &b), SIGNER_STATUS_OK);
    signer_buffer_clear(&b);
}

/* One malformed message: no reply, exit code 3. */
static void
expect_death(struct fixture *f, const void *bytes, size_t length, int close_after)
{
    assert_int_equal(signer_wire_write(f->fd, bytes, length), 0);
    if (close_after)
        shutdown(f->fd, SHUT_WR);
    struct signer_wire_header reply;
    assert_int_not_equal(signer_wire_read(f->fd, &reply, sizeof reply), 0);
    assert_int_equal(exit_code(f), 3);
    close(f->fd);
    f->fd = -1;
}

static void
test_malformed_kills(void **state)
{
    struct fixture *f = *state;
    struct {
        struct signer_wire_header header;
        uint8_t payload[64];
    } m;
    for (int kind = 0; kind < 7; kind++) {
        if (f->fd < 0)
            start(f);
        memset(&m, 0, sizeof m);
        m.header = (struct signer_wire_header){.id = 1, .op = SIGNER_OP_HMAC};
        size_t length = sizeof m.header;
        int close_after = 0;
        uint32_t count = 1;
        switch (kind) {
        case 0: /* a message cut short: 40 bytes announced, 10 sent */
            m.header.length = 40;
            length += 10;
            close_after = 1;
            break;
        case 1: /* an unknown operation */
            m.header.op = 999;
            break;
        case 2: /* the reserved word set */
            m.header.zero = 1;
            break;
        case 3: /* a status in a request */
            m.header.status = SIGNER_STATUS_OK + 1;
            break;
        case 4: /* HMAC's fields with a byte left over */
            memcpy(m.payload, &count, 4);
            m.payload[4] = SIGNER_KEY_INDEX; /* 1 byte where 8 are due */
            m.header.length = 5 + 1;
            length += m.header.length;
            break;
        case 5: /* a length over the maximum */
            m.header.length = SIGNER_WIRE_PAYLOAD_MAX + 1;
            break;
        case 6: /* an empty stats request and, before its answer, more bytes */
            m.header.op = SIGNER_OP_STATS;
            memset(m.payload, 0xab, 8);
            length += 8;
            break;
        }
        expect_death(f, &m, length, close_after);
    }
}

/* ── Through signer_start() ────────────────────────────────────────────── */

static int gave_up;

static void
note_give_up(void)
{
    gave_up++;
}

/* Arguments the signer's reader would take for a malformed message (an
 * empty or over-long record id, field name, kid or claims, too many
 * fields, a key number out of range) are refused by the sending side: the
 * call fails, nothing is sent, and the same signer process goes on. */
static void
test_bad_arguments_not_sent(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct signer_options options = {.keys_dir = f->keys, .pki_dir = f->pki,
                                     .issuer = ISSUER, .ocsp_url = ISSUER "/ocsp",
                                     .crl_url = ISSUER "/crl", .channels = 2,
                                     .executable = getenv("CYBERID_BINARY")};
    struct signer *signer = NULL;
    assert_int_equal(signer_start(&options, &signer, err, sizeof err), 0);
    int pid = signer_pid(signer);
    char long_text[SIGNER_CLAIMS_MAX_BYTES + 2];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    uint8_t *sealed = NULL, mac[SIGNER_HMAC_BYTES];
    size_t sealed_length = 0, length = 0;
    char *json = NULL, *token = NULL;
    assert_int_equal(signer_seal_record(signer, "", "{}", 2, &sealed, &sealed_length), -1);
    assert_int_equal(signer_seal_record(signer, long_text, "{}", 2, &sealed, &sealed_length),
                     -1);
    assert_int_equal(signer_seal_record(signer, "r", "{\"a\":1}", 7, &sealed, &sealed_length),
                     0);
    const char *const long_field[] = {long_text, NULL};
    const char *const empty_field[] = {"", NULL};
    const char *const many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
    assert_int_equal(signer_open_record(signer, "r", sealed, sealed_length, long_field, &json,
                                        &length), -1);
    assert_int_equal(signer_open_record(signer, "r", sealed, sealed_length, empty_field, &json,
                                        &length), -1);
    assert_int_equal(signer_open_record(signer, "r", sealed, sealed_length, many, &json,
                                        &length), -1);
    assert_int_equal(signer_hmac(signer, (enum signer_key)SIGNER_KEY_COUNT, "v", 1, mac), -1);
    assert_int_equal(signer_sign_id_token(signer, "", "{}", &token), -1);
    assert_int_equal(signer_sign_id_token(signer, "k", long_text, &token), -1);
    assert_null(token);
    assert_false(signer_outage_take());
    assert_int_equal(signer_pid(signer), pid);
    /* And the signer still answers. */
    const char *const a[] = {"a", NULL};
    assert_int_equal(signer_open_record(signer, "r", sealed, sealed_length, a, &json, &length),
                     0);
    assert_string_equal(json, "{\"a\":1}");
    signer_free_secret(json, length);
    free(sealed);

    /* The blind seal through the process: the record id is the prefix and
     * the index HMAC of the message, and the record opens under it. */
    char blind[SIGNER_BLIND_RECORD_ID_SIZE], expected[SIGNER_BLIND_RECORD_ID_SIZE] = "c:";
    uint8_t index[SIGNER_HMAC_BYTES];
    assert_int_equal(signer_seal_blind(signer, "c:", "m", 1, "{\"a\":2}", 7, blind, &sealed,
                                       &sealed_length), 0);
    assert_int_equal(signer_hmac(signer, SIGNER_KEY_INDEX, "m", 1, index), 0);
    for (size_t i = 0; i < sizeof index; i++)
        snprintf(expected + 2 + 2 * i, 3, "%02x", index[i]);
    assert_string_equal(blind, expected);
    assert_int_equal(signer_open_record(signer, blind, sealed, sealed_length, a, &json,
                                        &length), 0);
    assert_string_equal(json, "{\"a\":2}");
    signer_free_secret(json, length);
    free(sealed);
    signer_close(signer);
}

static void
test_restart_and_give_up(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct signer_options options = {.keys_dir = f->keys, .pki_dir = f->pki,
                                     .issuer = ISSUER, .ocsp_url = ISSUER "/ocsp",
                                     .crl_url = ISSUER "/crl", .channels = 2,
                                     .executable = getenv("CYBERID_BINARY"),
                                     .on_give_up = note_give_up};
    struct signer *signer = NULL;
    assert_int_equal(signer_start(&options, &signer, err, sizeof err), 0);
    uint8_t mac[SIGNER_HMAC_BYTES], again[SIGNER_HMAC_BYTES];
    assert_int_equal(signer_hmac(signer, SIGNER_KEY_INDEX, "v", 1, mac), 0);
    assert_false(signer_outage_take());
    for (int death = 0; death <= SIGNER_RESTARTS_MAX; death++) {
        int pid = signer_pid(signer);
        assert_true(pid > 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
        /* The call that finds it dead fails and says why. */
        assert_int_equal(signer_hmac(signer, SIGNER_KEY_INDEX, "v", 1, again), -1);
        assert_true(signer_outage_take());
        if (death < SIGNER_RESTARTS_MAX) {
            /* A new signer, the same keys. */
            assert_int_equal(signer_hmac(signer, SIGNER_KEY_INDEX, "v", 1, again), 0);
            assert_memory_equal(mac, again, sizeof mac);
            assert_int_not_equal(signer_pid(signer), pid);
            assert_int_equal(gave_up, 0);
        }
    }
    /* The sixth death in a minute: given up, said once, every call fails. */
    assert_int_equal(gave_up, 1);
    assert_int_equal(signer_pid(signer), 0);
    assert_int_equal(signer_hmac(signer, SIGNER_KEY_INDEX, "v", 1, again), -1);
    assert_true(signer_outage_take());
    assert_int_equal(gave_up, 1);
    signer_close(signer);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_out_of_policy_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments_not_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_give_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
