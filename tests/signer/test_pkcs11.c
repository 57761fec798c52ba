/* Keys in a PKCS#11 token: a SoftHSM2 token made for the test (its own
 * SOFTHSM2_CONF and token folder), `signer_create_keys_pkcs11` as `cyberid
 * init --pkcs11-...` calls it, then:
 *  - keys/ holds pkcs11.json only, and the CA certificates chain;
 *  - every key object, read back through Cryptoki by this test on its own,
 *    is sensitive, never extractable, and its value cannot be read;
 *  - the real `cyberid signer` process (seccomp filter on) uses them:
 *    HMAC, sealed records, a certificate verified by the issuing CA, an ID
 *    token verified with the token key, a CRL; a token key made by kid;
 *  - refusals with a clear reason: a token that already holds cyberid
 *    keys, a wrong PIN, a PIN file others can read, an unknown token, an
 *    existing token-key label. */
#include "signer/signer.h"

#include "../test_support.h"
#include "jws_check.h"

#include <dirent.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <time.h>

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define LABEL "cyberid-unit"
#define PIN "271828"
#define ISSUER "https://id.example"

struct fixture {
    char *dir;
    char keys[1024], pki[1024], pin_file[1024], conf[1024];
};

static void
make_token(struct fixture *f, const char *label)
{
    char command[2048];
    snprintf(command, sizeof command,
             "softhsm2-util --init-token --free --label %s --pin " PIN
             " --so-pin 31415926 >/dev/null",
             label);
    assert_int_equal(system(command), 0);
    (void)f;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = test_temp_dir("pkcs11");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->pki, sizeof f->pki, "%s/pki", f->dir);
    snprintf(f->pin_file, sizeof f->pin_file, "%s/pin", f->dir);
    snprintf(f->conf, sizeof f->conf, "%s/softhsm2.conf", f->dir);
    char text[1200];
    snprintf(text, sizeof text, "directories.tokendir = %s\nobjectstore.backend = file\n"
             "log.level = ERROR\n", f->dir);
    test_write_file(f->conf, text);
    setenv("SOFTHSM2_CONF", f->conf, 1);
    test_write_file(f->pin_file, PIN "\n");
    assert_int_equal(chmod(f->pin_file, 0600), 0);
    make_token(f, LABEL);
    char err[256];
    assert_int_equal(signer_create_keys_pkcs11(f->keys, f->pki, MODULE, LABEL, f->pin_file,
                                               err, sizeof err), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    test_remove_dir(f->dir);
    free(f);
    return 0;
}

static X509 *
read_certificate(const char *pki, const char *file)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", pki, file);
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    X509 *certificate = PEM_read_X509(in, NULL, NULL, NULL);
    fclose(in);
    assert_non_null(certificate);
    return certificate;
}

static void
test_keys_folder_and_chain(void **state)
{
    struct fixture *f = *state;
    DIR *dir = opendir(f->keys);
    assert_non_null(dir);
    struct dirent *entry;
    int files = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        files++;
        assert_string_equal(entry->d_name, "pkcs11.json");
    }
    closedir(dir);
    assert_int_equal(files, 1);
    X509 *root = read_certificate(f->pki, "root-ca.pem");
    X509 *issuing = read_certificate(f->pki, "issuing-ca.pem");
    assert_int_equal(X509_verify(root, X509_get0_pubkey(root)), 1);
    assert_int_equal(X509_verify(issuing, X509_get0_pubkey(root)), 1);
    X509_free(root);
    X509_free(issuing);
}

/* This test's own look at the token, through Cryptoki directly. */
static void
test_objects_never_leave(void **state)
{
    (void)state;
    void *library = dlopen(MODULE, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(library);
    CK_C_GetFunctionList get_list = (CK_C_GetFunctionList)dlsym(library, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR p = NULL;
    assert_int_equal(get_list(&p), CKR_OK);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    CK_SLOT_ID slots[8];
    CK_ULONG slot_count = 8;
    assert_int_equal(p->C_GetSlotList(CK_TRUE, slots, &slot_count), CKR_OK);
    CK_SLOT_ID slot = 0;
    int found = 0;
    for (CK_ULONG i = 0; i < slot_count; i++) {
        CK_TOKEN_INFO info;
        assert_int_equal(p->C_GetTokenInfo(slots[i], &info), CKR_OK);
        if (memcmp(info.label, LABEL, strlen(LABEL)) == 0 && info.label[strlen(LABEL)] == ' ') {
            slot = slots[i];
            found = 1;
        }
    }
    assert_true(found);
    CK_SESSION_HANDLE session;
    assert_int_equal(p->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session), CKR_OK);
    assert_int_equal(p->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_OK);
    assert_int_equal(p->C_FindObjectsInit(session, NULL, 0), CKR_OK);
    CK_OBJECT_HANDLE objects[64];
    CK_ULONG count = 0;
    assert_int_equal(p->C_FindObjects(session, objects, 64, &count), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(session), CKR_OK);
    /* Three secret keys and four pairs (the log's checkpoint key). */
    assert_int_equal(count, 11);
    int secret = 0, private = 0, public = 0;
    for (CK_ULONG i = 0; i < count; i++) {
        CK_OBJECT_CLASS class;
        char label[64] = {0};
        CK_ATTRIBUTE basics[] = {{CKA_CLASS, &class, sizeof class},
                                 {CKA_LABEL, label, sizeof label - 1}};
        assert_int_equal(p->C_GetAttributeValue(session, objects[i], basics, 2), CKR_OK);
        assert_memory_equal(label, "cyberid-", 8);
        if (class == CKO_PUBLIC_KEY) {
            public++;
            continue;
        }
        assert_true(class == CKO_SECRET_KEY || class == CKO_PRIVATE_KEY);
        class == CKO_SECRET_KEY ? secret++ : private++;
        CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, never = CK_FALSE;
        CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sensitive, sizeof sensitive},
                                {CKA_EXTRACTABLE, &extractable, sizeof extractable},
                                {CKA_NEVER_EXTRACTABLE, &never, sizeof never}};
        assert_int_equal(p->C_GetAttributeValue(session, objects[i], flags, 3), CKR_OK);
        assert_true(sensitive);
        assert_false(extractable);
        assert_true(never);
        uint8_t value[256];
        /* The secret value (CKA_VALUE of a secret or EC private key). */
        CK_ATTRIBUTE secret_value = {CKA_VALUE, value, sizeof value};
        assert_int_equal(p->C_GetAttributeValue(session, objects[i], &secret_value, 1),
                         CKR_ATTRIBUTE_SENSITIVE);
    }
    assert_int_equal(secret, 3);
    assert_int_equal(private, 4);
    assert_int_equal(public, 4);
    p->C_Logout(session);
    p->C_CloseSession(session);
    p->C_Finalize(NULL);
}

static struct signer *
start(struct fixture *f)
{
    char err[512];
    struct signer_options options = {.keys_dir = f->keys, .pki_dir = f->pki, .issuer = ISSUER,
                                     .ocsp_url = ISSUER "/ocsp", .crl_url = ISSUER "/crl",
                                     .channels = 2, .executable = getenv("CYBERID_BINARY")};
    struct signer *signer = NULL;
    if (signer_start(&options, &signer, err, sizeof err) != 0)
        fail_msg("signer_start: %s", err);
    return signer;
}

/* The signer process, seccomp filter and all, with the token's keys. */
static void
test_signer_process_uses_token(void **state)
{
    struct fixture *f = *state;
    struct signer *signer = start(f);
    int pid = signer_pid(signer);

    uint8_t a[SIGNER_HMAC_BYTES], b[SIGNER_HMAC_BYTES], c[SIGNER_HMAC_BYTES];
    assert_int_equal(signer_hmac(signer, SIGNER_KEY_INDEX, "x", 1, a), 0);
    assert_int_equal(signer_hmac(signer, SIGNER_KEY_INDEX, "x", 1, b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(signer_hmac(signer, SIGNER_KEY_PAIRWISE, "x", 1, c), 0);
    assert_memory_not_equal(a, c, sizeof a);
    assert_int_equal(signer_hmac(signer, SIGNER_KEY_INDEX, "", 0, c), 0);

    const char record[] = "{\"name\":\"令牌\",\"n\":1}";
    uint8_t *sealed = NULL;
    size_t sealed_length = 0, length = 0;
    char *json = NULL;
    assert_int_equal(signer_seal_record(signer, "r1", record, strlen(record), &sealed,
                                        &sealed_length), 0);
    const char *const name[] = {"name", NULL};
    assert_int_equal(signer_open_record(signer, "r1", sealed, sealed_length, name, &json,
                                        &length), 0);
    assert_string_equal(json, "{\"name\":\"令牌\"}");
    signer_free_secret(json, length);
    sealed[5] ^= 1; /* the wrapped data key: the token's GCM refuses it */
    assert_int_equal(signer_open_record(signer, "r1", sealed, sealed_length, name, &json,
                                        &length), -1);
    free(sealed);

    /* A certificate the issuing CA's certificate verifies. */
    EVP_PKEY *device = EVP_EC_gen("P-256");
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES], *cursor = spki, *der = NULL;
    size_t der_length = 0;
    int spki_length = i2d_PUBKEY(device, &cursor);
    assert_int_equal(signer_issue_certificate(signer, 1, spki, (size_t)spki_length,
                                              "0123456789ABCDEF", (int64_t)time(NULL), &der,
                                              &der_length), 0);
    const unsigned char *p = der;
    X509 *certificate = d2i_X509(NULL, &p, (long)der_length);
    X509 *issuing = read_certificate(f->pki, "issuing-ca.pem");
    assert_int_equal(X509_verify(certificate, X509_get0_pubkey(issuing)), 1);
    X509_free(certificate);
    free(der);
    EVP_PKEY_free(device);

    /* A CRL, verified the same way. */
    assert_int_equal(signer_sign_crl(signer, 1, NULL, 0, 1, (int64_t)time(NULL), &der, &der_length),
                     0);
    p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)der_length);
    assert_non_null(crl);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(issuing)), 1);
    X509_CRL_free(crl);
    free(der);
    X509_free(issuing);

    /* An ID token whose ES256 signature verifies with the token key. */
    char kid[SIGNER_KID_MAX + 1], claims[512], *token = NULL;
    signer_token_initial_kid(signer, kid);
    long long now = (long long)time(NULL);
    snprintf(claims, sizeof claims,
             "{\"iss\":\"" ISSUER "\",\"aud\":\"p\",\"sub\":\"s\",\"iat\":%lld,\"exp\":%lld}",
             now, now + 300);
    assert_int_equal(signer_sign_id_token(signer, kid, claims, &token), 0);
    assert_true(jws_verifies(signer, kid, token));
    free(token);

    /* No operation cost the signer its life (seccomp would kill it). */
    assert_false(signer_outage_take());
    assert_int_equal(signer_pid(signer), pid);
    signer_close(signer);
}

static void
test_token_key_by_kid(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(signer_token_key_create(f->keys, "second-key", err, sizeof err), 0);
    assert_int_equal(signer_token_key_create(f->keys, "second-key", err, sizeof err), -1);
    assert_non_null(strstr(err, "already holds"));
    struct signer *signer = start(f);
    uint8_t public_der[SIGNER_PUBLIC_KEY_MAX_BYTES], initial_der[SIGNER_PUBLIC_KEY_MAX_BYTES];
    size_t length = 0, initial_length = 0;
    char kid[SIGNER_KID_MAX + 1];
    signer_token_initial_kid(signer, kid);
    assert_int_equal(signer_token_public_key(signer, "second-key", public_der, &length), 0);
    assert_int_equal(signer_token_public_key(signer, kid, initial_der, &initial_length), 0);
    assert_false(length == initial_length && memcmp(public_der, initial_der, length) == 0);
    assert_int_equal(signer_token_public_key(signer, "no-such-kid", public_der, &length), -1);
    assert_false(signer_outage_take());
    signer_close(signer);
}

/* `cyberid ca rotate` with token keys: the new issuing CA's key is made
 * in the token (keys/ still holds only pkcs11.json), the root key signs it
 * there, and the signer process issues from generation 2 with it. */
static void
test_issuing_generation_in_token(void **state)
{
    struct fixture *f = *state;
    char err[512];
    unsigned generation = 0;
    assert_int_equal(signer_issuing_ca_rotate(f->keys, f->pki, &generation, err, sizeof err),
                     0);
    assert_int_equal(generation, 2);
    char path[1100];
    snprintf(path, sizeof path, "%s/issuing-ca-2.key.pem", f->keys);
    assert_int_equal(access(path, F_OK), -1);
    X509 *root = read_certificate(f->pki, "root-ca.pem");
    X509 *second = read_certificate(f->pki, "issuing-ca-2.pem");
    assert_int_equal(X509_verify(second, X509_get0_pubkey(root)), 1);
    struct signer *signer = start(f);
    EVP_PKEY *device = EVP_EC_gen("P-256");
    uint8_t spki[SIGNER_PUBLIC_KEY_MAX_BYTES], *cursor = spki, *der = NULL;
    size_t der_length = 0;
    int spki_length = i2d_PUBKEY(device, &cursor);
    assert_int_equal(signer_issue_certificate(signer, 2, spki, (size_t)spki_length,
                                              "0123456789ABCDEF", (int64_t)time(NULL), &der,
                                              &der_length), 0);
    const unsigned char *p = der;
    X509 *certificate = d2i_X509(NULL, &p, (long)der_length);
    assert_int_equal(X509_verify(certificate, X509_get0_pubkey(second)), 1);
    X509_free(certificate);
    free(der);
    assert_false(signer_outage_take());
    signer_close(signer);
    EVP_PKEY_free(device);
    X509_free(root);
    X509_free(second);
}

static void
test_refusals(void **state)
{
    struct fixture *f = *state;
    char err[512], keys[1100], pki[1100];
    snprintf(keys, sizeof keys, "%s/keys2", f->dir);
    snprintf(pki, sizeof pki, "%s/pki2", f->dir);
    /* The same token again: it holds cyberid keys already. */
    assert_int_equal(signer_create_keys_pkcs11(keys, pki, MODULE, LABEL, f->pin_file, err,
                                               sizeof err), -1);
    assert_non_null(strstr(err, "already holds cyberid keys"));
    /* No such token. */
    assert_int_equal(signer_create_keys_pkcs11(keys, pki, MODULE, "nobody", f->pin_file, err,
                                               sizeof err), -1);
    assert_non_null(strstr(err, "no PKCS#11 token labelled \"nobody\""));
    /* A wrong PIN. */
    char wrong[1100];
    snprintf(wrong, sizeof wrong, "%s/wrong-pin", f->dir);
    test_write_file(wrong, "000000\n");
    assert_int_equal(chmod(wrong, 0600), 0);
    make_token(f, "second");
    assert_int_equal(signer_create_keys_pkcs11(keys, pki, MODULE, "second", wrong, err,
                                               sizeof err), -1);
    assert_non_null(strstr(err, "refused the PIN"));
    /* A PIN file others can read. */
    assert_int_equal(chmod(f->pin_file, 0644), 0);
    assert_int_equal(signer_create_keys_pkcs11(keys, pki, MODULE, "second", f->pin_file, err,
                                               sizeof err), -1);
    assert_non_null(strstr(err, "0600"));
    struct signer *signer = NULL;
    assert_int_equal(signer_open(f->keys, &signer, err, sizeof err), -1);
    assert_non_null(strstr(err, "0600"));
    assert_int_equal(chmod(f->pin_file, 0600), 0);
    /* Not a module. */
    assert_int_equal(signer_create_keys_pkcs11(keys, pki, "/nonexistent.so", "second",
                                               f->pin_file, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot load the PKCS#11 module"));
    /* None of these left a folder behind; the second token is still
     * usable. */
    struct stat info;
    assert_int_not_equal(stat(keys, &info), 0);
    assert_int_equal(signer_create_keys_pkcs11(keys, pki, MODULE, "second", f->pin_file, err,
                                               sizeof err), 0);
    assert_int_equal(signer_open(keys, &signer, err, sizeof err), 0);
    signer_close(signer);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys_folder_and_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_objects_never_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signer_process_uses_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_key_by_kid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issuing_generation_in_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
