/* pkcs11: keys in a PKCS#11 token; see pkcs11.h.
 *
 * Why direct Cryptoki (p11-kit's pkcs11.h, the module dlopen'ed) and not
 * libp11: libp11 covers RSA and EC private keys but not secret keys, and
 * the signer needs HMAC (CKM_SHA256_HMAC) and AES-GCM (CKM_AES_GCM) with
 * keys that never leave the token as much as it needs ECDSA. One route
 * for every key is less code than libp11 plus Cryptoki for the rest.
 *
 * Why the deprecated EC_KEY_METHOD: the CA code signs certificates, OCSP
 * responses and CRLs through OpenSSL (X509_sign() and its kin), which
 * want an EVP_PKEY. A key whose method sends the digest to the token is
 * the smallest way to give them one (OpenSMTPD's ca.c does the same with
 * RSA_METHOD); an OpenSSL 3 provider would be several hundred lines of
 * dispatch tables for the same effect. The legacy method is fully
 * supported in 3.x, and only this file suppresses the warnings. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "signer/pkcs11.h"

#include "util/file.h"
#include "util/strings.h"

#include <dlfcn.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <p11-kit/pkcs11.h>
/* p11-kit's header maps the standard's field names onto its own with
 * macros of common words; the fields keep their standard names (pValue,
 * ulCount, ...), the words are ours again. */
#undef value
#undef count
#undef params
#undef parameter
#undef reserved
#include <pthread.h>
#include <stdlib.h>
#include <assert.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#define DESCRIPTOR_MAX_BYTES 8192
#define SESSIONS_IDLE_MAX 64
#define LABEL_PREFIX "cyberid-"
#define EC_POINT_BYTES 65   /* uncompressed P-256 point */
#define EC_HALF_BYTES 32

/* DER OID of prime256v1, the CKA_EC_PARAMS of every EC key made here. */
static const uint8_t p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
/* id-Ed25519 (RFC 8410), the CKA_EC_PARAMS of an Edwards key (PKCS#11 3.0). */
static const uint8_t ed25519_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};

struct pkcs11 {
    void *library;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    /* Login state lives as long as one session is open: this one is. */
    CK_SESSION_HANDLE login_session;
    int logged_in;
    pthread_mutex_t lock;
    CK_SESSION_HANDLE idle[SESSIONS_IDLE_MAX];
    size_t idle_count;
};

/* ── Process-wide module initialisation ──────────────────────────────────
 * C_Initialize and C_Finalize act on the whole process, not on a handle:
 * a second C_Initialize says CKR_CRYPTOKI_ALREADY_INITIALIZED, and one
 * C_Finalize ends every user's sessions. So they are counted per module
 * (the same library gives the same function list). */

#define MODULES_MAX 4
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    CK_FUNCTION_LIST_PTR f;
    int users;
} modules[MODULES_MAX];

static CK_RV
module_initialize(CK_FUNCTION_LIST_PTR f)
{
    CK_RV rv = CKR_OK;
    pthread_mutex_lock(&modules_lock);
    size_t free_at = MODULES_MAX;
    for (size_t i = 0; i < MODULES_MAX; i++) {
        if (modules[i].f == f) {
            modules[i].users++;
            pthread_mutex_unlock(&modules_lock);
            return CKR_OK;
        }
        if (modules[i].f == NULL && free_at == MODULES_MAX)
            free_at = i;
    }
    if (free_at == MODULES_MAX) {
        rv = CKR_HOST_MEMORY;
    } else {
        /* The signer's threads call the module at once: let it use the
         * operating system's locks. */
        CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
        rv = f->C_Initialize(&args);
        if (rv == CKR_OK) {
            modules[free_at].f = f;
            modules[free_at].users = 1;
        }
    }
    pthread_mutex_unlock(&modules_lock);
    return rv;
}

static void
module_finalize(CK_FUNCTION_LIST_PTR f)
{
    pthread_mutex_lock(&modules_lock);
    for (size_t i = 0; i < MODULES_MAX; i++)
        if (modules[i].f == f && --modules[i].users == 0) {
            f->C_Finalize(NULL);
            modules[i].f = NULL;
        }
    pthread_mutex_unlock(&modules_lock);
}

/* ── Descriptor and PIN ──────────────────────────────────────────────── */

static int
copy_member(json_t *root, const char *name, char *out, size_t size, char *err, size_t errlen)
{
    const char *value = json_string_value(json_object_get(root, name));
    if (value == NULL || value[0] == '\0' || string_copy(out, size, value) != 0)
        return error_set(err, errlen, "%s: \"%s\" must be a string of 1 to %zu bytes",
                         PKCS11_DESCRIPTOR_FILE, name, size - 1);
    return 0;
}

int
pkcs11_descriptor_read(const char *keys_dir, struct pkcs11_descriptor *out, char *err,
                       size_t errlen)
{
    char path[1024];
    struct stat info;
    memset(out, 0, sizeof *out);
    if (string_format(path, sizeof path, "%s/%s", keys_dir, PKCS11_DESCRIPTOR_FILE) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    if (stat(path, &info) != 0)
        return 0;
    uint8_t *bytes = NULL;
    size_t length = 0;
    if (file_read(path, DESCRIPTOR_MAX_BYTES, &bytes, &length, err, errlen) != 0)
        return -1;
    json_t *root = json_loadb((const char *)bytes, length, JSON_REJECT_DUPLICATES, NULL);
    free(bytes);
    int status = -1;
    if (!json_is_object(root))
        error_set(err, errlen, "%s is not a JSON object", path);
    else if (copy_member(root, "module", out->module, sizeof out->module, err, errlen) == 0 &&
             copy_member(root, "token", out->token, sizeof out->token, err, errlen) == 0 &&
             copy_member(root, "pin_file", out->pin_file, sizeof out->pin_file, err,
                         errlen) == 0)
        status = 1;
    json_decref(root);
    return status;
}

int
pkcs11_descriptor_write(const char *keys_dir, const struct pkcs11_descriptor *descriptor,
                        char *err, size_t errlen)
{
    char path[1024];
    if (string_format(path, sizeof path, "%s/%s", keys_dir, PKCS11_DESCRIPTOR_FILE) != 0)
        return error_set(err, errlen, "keys folder path is too long");
    json_t *root = json_pack("{s:s, s:s, s:s}", "module", descriptor->module, "token",
                             descriptor->token, "pin_file", descriptor->pin_file);
    char *text = root != NULL ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (text == NULL)
        return error_set(err, errlen, "cannot encode %s", path);
    int status = file_create(path, 0600, text, strlen(text), err, errlen);
    free(text);
    return status;
}

/* The PIN: the first line of the file, which only its owner may read. */
static int
read_pin(const char *path, char pin[PKCS11_PIN_MAX + 1], char *err, size_t errlen)
{
    uint8_t *bytes = NULL;
    size_t length = 0;
    if (file_read_private(path, "PIN file", PKCS11_PIN_MAX + 2, &bytes, &length, err,
                          errlen) != 0)
        return -1;
    size_t end = strcspn((const char *)bytes, "\r\n");
    int status = 0;
    if (end == 0 || end > PKCS11_PIN_MAX) {
        status = error_set(err, errlen, "PIN file %s holds no PIN of 1 to %d characters",
                           path, PKCS11_PIN_MAX);
    } else {
        memcpy(pin, bytes, end);
        pin[end] = '\0';
    }
    secret_wipe(bytes, length);
    free(bytes);
    return status;
}

/* ── Opening ─────────────────────────────────────────────────────────── */

/* Times pkcs11_open() looks for the token before it says there is none. */
#define PKCS11_OPEN_ATTEMPTS 8

/* A CK_TOKEN_INFO label: 32 bytes padded with blanks. */
static int
label_matches(const CK_UTF8CHAR padded[32], const char *label)
{
    size_t length = strlen(label);
    if (length > 32 || memcmp(padded, label, length) != 0)
        return 0;
    for (size_t i = length; i < 32; i++)
        if (padded[i] != ' ')
            return 0;
    return 1;
}

static int
find_slot(struct pkcs11 *token, const char *label, char *err, size_t errlen)
{
    CK_ULONG count = 0;
    CK_RV rv = token->f->C_GetSlotList(CK_TRUE, NULL, &count);
    if (rv != CKR_OK || count == 0)
        return error_set(err, errlen, "the PKCS#11 module has no token (0x%lx)", rv);
    CK_SLOT_ID *slots = calloc(count, sizeof *slots);
    if (slots == NULL)
        return error_set(err, errlen, "out of memory");
    int found = 0;
    rv = token->f->C_GetSlotList(CK_TRUE, slots, &count);
    for (CK_ULONG i = 0; rv == CKR_OK && i < count; i++) {
        CK_TOKEN_INFO info;
        if (token->f->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            label_matches(info.label, label)) {
            if (found++ == 0)
                token->slot = slots[i];
        }
    }
    free(slots);
    if (found != 1)
        return error_set(err, errlen, found == 0 ? "no PKCS#11 token labelled \"%s\""
                                                 : "more than one PKCS#11 token labelled \"%s\"",
                         label);
    return 0;
}

int
pkcs11_open(const struct pkcs11_descriptor *descriptor, struct pkcs11 **out, char *err,
            size_t errlen)
{
    char pin[PKCS11_PIN_MAX + 1];
    *out = NULL;
    struct pkcs11 *token = calloc(1, sizeof *token);
    if (token == NULL)
        return error_set(err, errlen, "out of memory");
    token->login_session = CK_INVALID_HANDLE;
    pthread_mutex_init(&token->lock, NULL);
    if (read_pin(descriptor->pin_file, pin, err, errlen) != 0)
        goto fail;
    token->library = dlopen(descriptor->module, RTLD_NOW | RTLD_LOCAL);
    if (token->library == NULL) {
        error_set(err, errlen, "cannot load the PKCS#11 module %s: %s", descriptor->module,
                  dlerror());
        goto fail;
    }
    CK_C_GetFunctionList get_list =
        (CK_C_GetFunctionList)dlsym(token->library, "C_GetFunctionList");
    CK_RV rv;
    if (get_list == NULL || get_list(&token->f) != CKR_OK || token->f == NULL) {
        error_set(err, errlen, "%s is not a PKCS#11 module", descriptor->module);
        token->f = NULL;
        goto fail;
    }
    if ((rv = module_initialize(token->f)) != CKR_OK) {
        error_set(err, errlen, "the PKCS#11 module did not initialise (0x%lx)", rv);
        token->f = NULL;
        goto fail;
    }
    /* SoftHSM2 reads its tokens' files when it initialises, and skips one
     * that another process is rewriting at that moment (a login updates
     * the token's flags): seen as no token. Initialise again, a few
     * times, before saying so. */
    for (int attempt = 0; find_slot(token, descriptor->token, err, errlen) != 0; attempt++) {
        if (attempt == PKCS11_OPEN_ATTEMPTS - 1)
            goto fail;
        module_finalize(token->f);
        struct timespec pause = {0, 20000000L * (attempt + 1)};
        nanosleep(&pause, NULL);
        if ((rv = module_initialize(token->f)) != CKR_OK) {
            error_set(err, errlen, "the PKCS#11 module did not initialise (0x%lx)", rv);
            token->f = NULL;
            goto fail;
        }
    }
    rv = token->f->C_OpenSession(token->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                 &token->login_session);
    if (rv != CKR_OK) {
        token->login_session = CK_INVALID_HANDLE;
        error_set(err, errlen, "cannot open a session with the PKCS#11 token (0x%lx)", rv);
        goto fail;
    }
    rv = token->f->C_Login(token->login_session, CKU_USER, (CK_UTF8CHAR_PTR)pin,
                           (CK_ULONG)strlen(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        error_set(err, errlen,
                  rv == CKR_PIN_INCORRECT ? "the PKCS#11 token refused the PIN"
                                          : "cannot log in to the PKCS#11 token (0x%lx)",
                  rv);
        goto fail;
    }
    token->logged_in = rv == CKR_OK;
    secret_wipe(pin, sizeof pin);
    *out = token;
    return 0;
fail:
    secret_wipe(pin, sizeof pin);
    pkcs11_close(token);
    return -1;
}

void
pkcs11_close(struct pkcs11 *token)
{
    if (token == NULL)
        return;
    if (token->f != NULL) {
        for (size_t i = 0; i < token->idle_count; i++)
            token->f->C_CloseSession(token->idle[i]);
        if (token->login_session != CK_INVALID_HANDLE) {
            if (token->logged_in)
                token->f->C_Logout(token->login_session);
            token->f->C_CloseSession(token->login_session);
        }
        module_finalize(token->f);
    }
    /* Not dlclose(): a module may keep thread-local state or atexit
     * handlers (SoftHSM2 does), and unloading it under them crashes. */
    pthread_mutex_destroy(&token->lock);
    free(token);
}

/* The token's label of a key: "cyberid-<name>". */
static int
label_of(const char *name, char label[PKCS11_LABEL_MAX])
{
    return string_format(label, PKCS11_LABEL_MAX, LABEL_PREFIX "%s", name);
}

/* ── Sessions ────────────────────────────────────────────────────────── */

static int
session_take(struct pkcs11 *token, CK_SESSION_HANDLE *session)
{
    pthread_mutex_lock(&token->lock);
    if (token->idle_count > 0) {
        *session = token->idle[--token->idle_count];
        pthread_mutex_unlock(&token->lock);
        return 0;
    }
    pthread_mutex_unlock(&token->lock);
    return token->f->C_OpenSession(token->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                   NULL, session) == CKR_OK
               ? 0
               : -1;
}

/* Gives a session back; one whose operation failed is closed instead (a
 * failed operation may still be active in it). */
static void
session_give(struct pkcs11 *token, CK_SESSION_HANDLE session, int clean)
{
    if (clean) {
        pthread_mutex_lock(&token->lock);
        if (token->idle_count < SESSIONS_IDLE_MAX) {
            token->idle[token->idle_count++] = session;
            session = CK_INVALID_HANDLE;
        }
        pthread_mutex_unlock(&token->lock);
    }
    if (session != CK_INVALID_HANDLE)
        token->f->C_CloseSession(session);
}

/* Objects matching template: their count (up to `room` handles kept), or
 * -1. */
static long
find_objects(struct pkcs11 *token, CK_ATTRIBUTE *template, CK_ULONG count,
             CK_OBJECT_HANDLE *found, CK_ULONG room)
{
    CK_SESSION_HANDLE session;
    if (session_take(token, &session) != 0)
        return -1;
    long total = -1;
    if (token->f->C_FindObjectsInit(session, template, count) == CKR_OK) {
        CK_OBJECT_HANDLE batch[16];
        CK_ULONG got = 0;
        total = 0;
        while (token->f->C_FindObjects(session, batch, 16, &got) == CKR_OK && got > 0) {
            for (CK_ULONG i = 0; i < got; i++, total++)
                if ((CK_ULONG)total < room)
                    found[total] = batch[i];
        }
        token->f->C_FindObjectsFinal(session);
    }
    session_give(token, session, total >= 0);
    return total;
}

static int
find_one(struct pkcs11 *token, CK_OBJECT_CLASS class, const char *label, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    return find_objects(token, template, 2, out, 1) == 1 ? 0 : -1;
}

int
pkcs11_find_secret(struct pkcs11 *token, const char *name, pkcs11_handle *out)
{
    char label[PKCS11_LABEL_MAX];
    CK_OBJECT_HANDLE handle;
    if (label_of(name, label) != 0 || find_one(token, CKO_SECRET_KEY, label, &handle) != 0)
        return -1;
    *out = handle;
    return 0;
}

static int
label_in_use(struct pkcs11 *token, const char *label)
{
    CK_ATTRIBUTE template[] = {{CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE ignored;
    return find_objects(token, template, 1, &ignored, 1) != 0;
}

int
pkcs11_has_cyberid_objects(struct pkcs11 *token)
{
    /* Every object the user sees, its label read in a second session (the
     * first one is busy finding). */
    CK_SESSION_HANDLE finding, reading;
    if (session_take(token, &finding) != 0)
        return -1;
    if (session_take(token, &reading) != 0) {
        session_give(token, finding, 1);
        return -1;
    }
    int found = -1;
    if (token->f->C_FindObjectsInit(finding, NULL, 0) == CKR_OK) {
        CK_OBJECT_HANDLE batch[16];
        CK_ULONG got = 0;
        found = 0;
        while (!found && token->f->C_FindObjects(finding, batch, 16, &got) == CKR_OK &&
               got > 0) {
            for (CK_ULONG i = 0; i < got && !found; i++) {
                char label[PKCS11_LABEL_MAX] = {0};
                CK_ATTRIBUTE attribute = {CKA_LABEL, label, sizeof label - 1};
                CK_RV rv = token->f->C_GetAttributeValue(reading, batch[i], &attribute, 1);
                /* A label longer than ours is not ours (CKR_BUFFER_TOO_SMALL). */
                if (rv == CKR_OK && attribute.ulValueLen >= strlen(LABEL_PREFIX) &&
                    memcmp(label, LABEL_PREFIX, strlen(LABEL_PREFIX)) == 0)
                    found = 1;
            }
        }
        token->f->C_FindObjectsFinal(finding);
    }
    session_give(token, finding, found >= 0);
    session_give(token, reading, 1);
    return found;
}

/* ── Operations ──────────────────────────────────────────────────────── */

/* C_Sign with mechanism over input into out (exactly out_length bytes
 * expected). 0 or -1. */
static int
sign(struct pkcs11 *token, CK_MECHANISM_TYPE type, CK_OBJECT_HANDLE key, const void *input,
     size_t length, uint8_t *out, size_t out_length)
{
    CK_SESSION_HANDLE session;
    CK_MECHANISM mechanism = {type, NULL, 0};
    static const uint8_t nothing[1] = {0};
    if (session_take(token, &session) != 0)
        return -1;
    CK_ULONG written = out_length;
    int ok = token->f->C_SignInit(session, &mechanism, key) == CKR_OK &&
             token->f->C_Sign(session, (CK_BYTE_PTR)(length > 0 ? input : nothing),
                              (CK_ULONG)length, out, &written) == CKR_OK &&
             written == out_length;
    session_give(token, session, ok);
    return ok ? 0 : -1;
}

int
pkcs11_hmac(struct pkcs11 *token, pkcs11_handle key, const void *message, size_t length,
            uint8_t out[SIGNER_HMAC_BYTES])
{
    if ((message == NULL && length > 0) ||
        sign(token, CKM_SHA256_HMAC, key, message, length, out, SIGNER_HMAC_BYTES) != 0) {
        secret_wipe(out, SIGNER_HMAC_BYTES);
        return -1;
    }
    return 0;
}

int
pkcs11_gcm(struct pkcs11 *token, int encrypt, pkcs11_handle key,
           const uint8_t nonce[SIGNER_NONCE_BYTES], const void *aad, size_t aad_length,
           const uint8_t *input, size_t length, uint8_t *output, uint8_t tag[SIGNER_TAG_BYTES])
{
    /* Cryptoki's GCM puts the tag after the ciphertext: one buffer. */
    size_t joined_length = length + SIGNER_TAG_BYTES;
    uint8_t *joined = malloc(joined_length);
    CK_SESSION_HANDLE session;
    if (joined == NULL || (aad == NULL && aad_length > 0))
        goto fail_early;
    if (session_take(token, &session) != 0)
        goto fail_early;
    CK_GCM_PARAMS params = {
        .pIv = (CK_BYTE_PTR)nonce, .ulIvLen = SIGNER_NONCE_BYTES,
        .ulIvBits = SIGNER_NONCE_BYTES * 8, .pAAD = (CK_BYTE_PTR)aad,
        .ulAADLen = (CK_ULONG)aad_length, .ulTagBits = SIGNER_TAG_BYTES * 8};
    CK_MECHANISM mechanism = {CKM_AES_GCM, &params, sizeof params};
    int ok;
    if (encrypt) {
        CK_ULONG written = joined_length;
        ok = token->f->C_EncryptInit(session, &mechanism, key) == CKR_OK &&
             token->f->C_Encrypt(session, (CK_BYTE_PTR)input, (CK_ULONG)length, joined,
                                 &written) == CKR_OK &&
             written == joined_length;
        if (ok) {
            memcpy(output, joined, length);
            memcpy(tag, joined + length, SIGNER_TAG_BYTES);
        }
    } else {
        /* Some modules (SoftHSM2) want room for the whole input in the
         * output, tag included: decrypt in place. */
        memcpy(joined, input, length);
        memcpy(joined + length, tag, SIGNER_TAG_BYTES);
        CK_ULONG written = joined_length;
        ok = token->f->C_DecryptInit(session, &mechanism, key) == CKR_OK &&
             token->f->C_Decrypt(session, joined, (CK_ULONG)joined_length, joined,
                                 &written) == CKR_OK &&
             written == length;
        if (ok)
            memcpy(output, joined, length);
    }
    session_give(token, session, ok);
    secret_wipe(joined, joined_length);
    free(joined);
    if (!ok)
        secret_wipe(output, length);
    return ok ? 0 : -1;
fail_early:
    free(joined);
    return -1;
}

/* ── EC keys as OpenSSL keys ─────────────────────────────────────────── */

/* What an EC_KEY made here carries: its token and private key handle. */
struct token_key {
    struct pkcs11 *token;
    CK_OBJECT_HANDLE handle;
};

static pthread_once_t method_once = PTHREAD_ONCE_INIT;
static EC_KEY_METHOD *method;
static int key_slot = -1;

static void
free_token_key(void *parent, void *pointer, CRYPTO_EX_DATA *ad, int index, long argl,
               void *argp)
{
    (void)parent;
    (void)ad;
    (void)index;
    (void)argl;
    (void)argp;
    free(pointer);
}

/* EC_KEY_METHOD sign: the token's r || s as a DER ECDSA-Sig-Value. 1 or
 * 0, as OpenSSL expects. */
static int
token_sign(int type, const unsigned char *digest, int digest_length, unsigned char *signature,
           unsigned int *signature_length, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *key)
{
    (void)type;
    (void)kinv;
    (void)r;
    *signature_length = 0;
    const struct token_key *tk = EC_KEY_get_ex_data(key, key_slot);
    uint8_t raw[2 * EC_HALF_BYTES];
    if (tk == NULL || digest_length != SIGNER_DIGEST_BYTES ||
        sign(tk->token, CKM_ECDSA, tk->handle, digest, (size_t)digest_length, raw,
             sizeof raw) != 0)
        return 0;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *bn_r = BN_bin2bn(raw, EC_HALF_BYTES, NULL);
    BIGNUM *bn_s = BN_bin2bn(raw + EC_HALF_BYTES, EC_HALF_BYTES, NULL);
    int ok = sig != NULL && bn_r != NULL && bn_s != NULL && ECDSA_SIG_set0(sig, bn_r, bn_s) == 1;
    if (!ok) {
        BN_free(bn_r);
        BN_free(bn_s);
    }
    int room = ECDSA_size(key);
    int needed = ok ? i2d_ECDSA_SIG(sig, NULL) : -1;
    if (ok && needed > 0 && needed <= room) {
        unsigned char *cursor = signature;
        *signature_length = (unsigned int)i2d_ECDSA_SIG(sig, &cursor);
    } else {
        ok = 0;
    }
    ECDSA_SIG_free(sig);
    return ok;
}

static ECDSA_SIG *
token_sign_sig(const unsigned char *digest, int digest_length, const BIGNUM *kinv,
               const BIGNUM *r, EC_KEY *key)
{
    unsigned char der[SIGNER_SIGNATURE_MAX_BYTES];
    unsigned int length = 0;
    if ((size_t)ECDSA_size(key) > sizeof der ||
        token_sign(0, digest, digest_length, der, &length, kinv, r, key) != 1)
        return NULL;
    const unsigned char *p = der;
    return d2i_ECDSA_SIG(NULL, &p, (long)length);
}

static void
method_init(void)
{
    key_slot = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, free_token_key);
    method = EC_KEY_METHOD_new(EC_KEY_get_default_method());
    if (method != NULL)
        /* No sign_setup: there is no private scalar here. */
        EC_KEY_METHOD_set_sign(method, token_sign, NULL, token_sign_sig);
}

/* The CKA_EC_POINT of a public key whose CKA_EC_PARAMS are `oid`: a DER
 * OCTET STRING around its `bytes` (PKCS#11 2.40 and 3.0), or the bare
 * value from older modules, whose first byte must then be `bare_first`
 * (-1: any). 0 or -1. */
static int
public_value(struct pkcs11 *token, CK_OBJECT_HANDLE public_key, const uint8_t *oid,
             size_t oid_length, int bare_first, uint8_t *out, size_t bytes)
{
    uint8_t value[EC_POINT_BYTES + 8], params[32];
    assert(bytes <= EC_POINT_BYTES && oid_length <= sizeof params);
    CK_ATTRIBUTE attributes[] = {
        {CKA_EC_POINT, value, sizeof value},
        {CKA_EC_PARAMS, params, sizeof params},
    };
    CK_SESSION_HANDLE session;
    if (session_take(token, &session) != 0)
        return -1;
    CK_RV rv = token->f->C_GetAttributeValue(session, public_key, attributes, 2);
    session_give(token, session, 1);
    if (rv != CKR_OK || attributes[1].ulValueLen != oid_length ||
        memcmp(params, oid, oid_length) != 0)
        return -1;
    CK_ULONG length = attributes[0].ulValueLen;
    if (length == bytes + 2 && value[0] == 0x04 && value[1] == bytes)
        memcpy(out, value + 2, bytes);
    else if (length == bytes && (bare_first < 0 || value[0] == bare_first))
        memcpy(out, value, bytes);
    else
        return -1;
    return 0;
}

EVP_PKEY *
pkcs11_ec_key(struct pkcs11 *token, const char *name)
{
    char label[PKCS11_LABEL_MAX];
    CK_OBJECT_HANDLE private_key, public_key;
    uint8_t point[EC_POINT_BYTES];
    if (label_of(name, label) != 0 || pthread_once(&method_once, method_init) != 0 ||
        method == NULL || key_slot < 0 ||
        find_one(token, CKO_PRIVATE_KEY, label, &private_key) != 0 ||
        find_one(token, CKO_PUBLIC_KEY, label, &public_key) != 0 ||
        public_value(token, public_key, p256_oid, sizeof p256_oid, 0x04, point,
                     EC_POINT_BYTES) != 0)
        return NULL;
    struct token_key *tk = malloc(sizeof *tk);
    EC_KEY *key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    EVP_PKEY *pkey = EVP_PKEY_new();
    if (tk == NULL || key == NULL || pkey == NULL)
        goto fail;
    tk->token = token;
    tk->handle = private_key;
    if (EC_KEY_set_ex_data(key, key_slot, tk) != 1)
        goto fail;
    tk = NULL; /* the key frees it now */
    if (EC_KEY_set_method(key, method) != 1 ||
        EC_KEY_oct2key(key, point, sizeof point, NULL) != 1 ||
        EVP_PKEY_assign_EC_KEY(pkey, key) != 1)
        goto fail;
    return pkey; /* owns key */
fail:
    free(tk);
    EC_KEY_free(key);
    EVP_PKEY_free(pkey);
    return NULL;
}

/* ── Generation ──────────────────────────────────────────────────────── */

int
pkcs11_generate_secret(struct pkcs11 *token, const char *name, enum pkcs11_secret_kind kind,
                       char *err, size_t errlen)
{
    char label[PKCS11_LABEL_MAX];
    if (label_of(name, label) != 0)
        return error_set(err, errlen, "key name %s is too long", name);
    if (label_in_use(token, label))
        return error_set(err, errlen, "the PKCS#11 token already holds a key labelled %s",
                         label);
    CK_OBJECT_CLASS class = CKO_SECRET_KEY;
    CK_KEY_TYPE type = kind == PKCS11_SECRET_AES ? CKK_AES : CKK_GENERIC_SECRET;
    CK_ULONG bytes = SIGNER_SYMMETRIC_KEY_BYTES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_BBOOL for_aes = kind == PKCS11_SECRET_AES ? CK_TRUE : CK_FALSE;
    CK_BBOOL for_hmac = kind == PKCS11_SECRET_HMAC ? CK_TRUE : CK_FALSE;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE_LEN, &bytes, sizeof bytes},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_ENCRYPT, &for_aes, sizeof for_aes},
        {CKA_DECRYPT, &for_aes, sizeof for_aes},
        {CKA_SIGN, &for_hmac, sizeof for_hmac},
        {CKA_VERIFY, &for_hmac, sizeof for_hmac},
        {CKA_WRAP, &no, sizeof no},
        {CKA_UNWRAP, &no, sizeof no},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_MECHANISM mechanism = {
        kind == PKCS11_SECRET_AES ? CKM_AES_KEY_GEN : CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE handle;
    if (session_take(token, &session) != 0)
        return error_set(err, errlen, "cannot open a session with the PKCS#11 token");
    CK_RV rv = token->f->C_GenerateKey(session, &mechanism, template,
                                       sizeof template / sizeof *template, &handle);
    session_give(token, session, rv == CKR_OK);
    if (rv != CKR_OK)
        return error_set(err, errlen, "the PKCS#11 token did not generate %s (0x%lx)", label,
                         rv);
    return 0;
}

/* A key pair made in the token under name's label: public part public,
 * private part sensitive, not extractable, for signing only (and, when
 * forbid_derive, not for derivation either). `what` names it in errors. */
static int
generate_pair(struct pkcs11 *token, const char *name, CK_MECHANISM_TYPE type,
              const uint8_t *params, size_t params_length, int forbid_derive, const char *what,
              char *err, size_t errlen)
{
    char label[PKCS11_LABEL_MAX];
    if (label_of(name, label) != 0)
        return error_set(err, errlen, "key name %s is too long", name);
    if (label_in_use(token, label))
        return error_set(err, errlen, "the PKCS#11 token already holds a key labelled %s",
                         label);
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE public_template[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_VERIFY, &yes, sizeof yes},
        {CKA_EC_PARAMS, (void *)params, params_length},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_ATTRIBUTE private_template[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_DERIVE, &no, sizeof no}, /* last: left out unless forbid_derive */
    };
    CK_ULONG private_count = sizeof private_template / sizeof *private_template -
                             (forbid_derive ? 0 : 1);
    CK_MECHANISM mechanism = {type, NULL, 0};
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE public_key, private_key;
    if (session_take(token, &session) != 0)
        return error_set(err, errlen, "cannot open a session with the PKCS#11 token");
    CK_RV rv = token->f->C_GenerateKeyPair(
        session, &mechanism, public_template, sizeof public_template / sizeof *public_template,
        private_template, private_count, &public_key, &private_key);
    session_give(token, session, rv == CKR_OK);
    if (rv != CKR_OK)
        return error_set(err, errlen, "the PKCS#11 token did not generate %s%s (0x%lx)", what,
                         label, rv);
    return 0;
}

int
pkcs11_generate_ec(struct pkcs11 *token, const char *name, char *err, size_t errlen)
{
    return generate_pair(token, name, CKM_EC_KEY_PAIR_GEN, p256_oid, sizeof p256_oid, 1, "",
                         err, errlen);
}

/* ── Ed25519 ─────────────────────────────────────────────────────────── */

int
pkcs11_generate_ed25519(struct pkcs11 *token, const char *name, char *err, size_t errlen)
{
    return generate_pair(token, name, CKM_EC_EDWARDS_KEY_PAIR_GEN, ed25519_oid,
                         sizeof ed25519_oid, 0, "the Ed25519 key ", err, errlen);
}

int
pkcs11_ed25519_key(struct pkcs11 *token, const char *name,
                   uint8_t public_key[PKCS11_ED25519_KEY_BYTES], pkcs11_handle *private_key)
{
    char label[PKCS11_LABEL_MAX];
    CK_OBJECT_HANDLE private_handle, public_handle;
    if (label_of(name, label) != 0 ||
        find_one(token, CKO_PRIVATE_KEY, label, &private_handle) != 0 ||
        find_one(token, CKO_PUBLIC_KEY, label, &public_handle) != 0)
        return -1;
    if (public_value(token, public_handle, ed25519_oid, sizeof ed25519_oid, -1, public_key,
                     PKCS11_ED25519_KEY_BYTES) != 0)
        return -1;
    *private_key = private_handle;
    return 0;
}

int
pkcs11_ed25519_sign(struct pkcs11 *token, pkcs11_handle key, const void *message, size_t length,
                    uint8_t signature[PKCS11_ED25519_SIGNATURE_BYTES])
{
    return sign(token, CKM_EDDSA, key, message, length, signature,
                PKCS11_ED25519_SIGNATURE_BYTES);
}
