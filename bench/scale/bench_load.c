/* bench_load: bulk-loads synthetic citizens into a data folder's database
 * for `make bench-scale`, through the same store, vault and CA code an
 * enrollment uses, minus the face engine and the network:
 *
 *   - a registry record: a valid GB 11643 number (distinct for every
 *     index), a name, the birth date the number carries and a random
 *     128-d descriptor, sealed by the vault under a fresh record id and
 *     keyed by the blind index of the number (registry_seal/_index);
 *   - an identity with a random web number;
 *   - a device with a real web certificate issued by the data folder's
 *     issuing CA for that web number;
 *   - the identity.enroll audit event an enrollment writes.
 *
 * All citizens but the sampled ones share one device key pair: a key
 * generation per citizen would double the load time and the stored row
 * is the same size either way. The `--wallets` sampled citizens, spread
 * evenly over the range, get their own key and a wallet file in
 * cyberid-app's format, for the load generator's logins.
 *
 * On SQLite the threads make their rows at once but write them one batch
 * at a time, and every CHECKPOINT_BATCHES batches the loader checkpoints
 * the WAL back to its start: with two writers always in turn, SQLite's
 * automatic checkpoint never finds a moment without a transaction and the
 * WAL grew by about 16 MB a batch (12 GB in the first 600 000 citizens).
 *
 * usage: bench_load --data DIR --issuer URL --from I --count N
 *                   [--wallets W --wallet-dir DIR] [--threads T] [--batch B]
 * Citizens I .. I+N-1 (an index names one citizen for good, so a second
 * run with --from continues the first). Prints one JSON line. */
#include "audit/audit.h"
#include "enroll/national_id.h"
#include "enroll/registry.h"
#include "enroll/web_number.h"
#include "pki/pki.h"
#include "service/service.h"
#include "util/encoding.h"
#include "util/file.h"
#include "util/strings.h"

#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAYS_SPAN 25000          /* birth dates from 1940-01-01 on */
#define WALLETS_MAX 4096
#define CHECKPOINT_BATCHES 16

/* What the threads share when the database has one writer (SQLite). */
struct writer {
    pthread_mutex_t lock;
    const char *sqlite_path;     /* NULL: PostgreSQL, no serialising */
    int64_t batches;
    char err[512];
};

struct job {
    struct service *service;
    const char *issuer;
    const char *wallet_dir;
    int64_t from, count, batch;
    int64_t wallet_step;         /* every wallet_step-th citizen; 0: none */
    int64_t first, last;         /* this thread's slice */
    const struct pki_csr *shared_key;
    struct writer *writer;
    int64_t loaded;
    char err[512];
};

static double
now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Citizen index -> a valid, distinct ID number and its birth date: three
 * sequence digits, then one day after another from 1940-01-01, then the
 * region code (25 M citizens per region). */
static int
citizen_identity(int64_t index, char national_id[NATIONAL_ID_SIZE],
                 char birth_date[REGISTRY_DATE_SIZE])
{
    int64_t sequence = index % 1000, day = (index / 1000) % DAYS_SPAN;
    int64_t region = 110000 + index / (1000 * (int64_t)DAYS_SPAN);
    time_t seconds = (time_t)(-946771200LL + day * 86400); /* 1940-01-01 UTC */
    struct tm date;
    gmtime_r(&seconds, &date);
    char digits[18];
    if (snprintf(digits, sizeof digits, "%06lld%04d%02d%02d%03lld", (long long)region,
                 date.tm_year + 1900, date.tm_mon + 1, date.tm_mday,
                 (long long)sequence) != 17)
        return -1;
    memcpy(national_id, digits, 17);
    national_id[17] = national_id_check_character(digits);
    national_id[18] = '\0';
    return string_format(birth_date, REGISTRY_DATE_SIZE, "%04d-%02d-%02d",
                         date.tm_year + 1900, date.tm_mon + 1, date.tm_mday);
}

/* A new P-256 key: its DER SPKI into key, its PKCS#8 PEM (malloc'd). */
static int
new_device_key(struct pki_csr *key, char **pem)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    if (pkey == NULL)
        return -1;
    unsigned char *cursor = key->public_key;
    int length = i2d_PUBKEY(pkey, NULL);
    int status = -1;
    if (length > 0 && (size_t)length <= sizeof key->public_key &&
        i2d_PUBKEY(pkey, &cursor) == length) {
        key->public_key_length = (size_t)length;
        status = 0;
    }
    if (status == 0 && pem != NULL) {
        BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL;
        long size = 0;
        status = -1;
        if (bio != NULL && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
            (size = BIO_get_mem_data(bio, &data)) > 0 && (*pem = strndup(data, (size_t)size)))
            status = 0;
        BIO_free(bio);
    }
    EVP_PKEY_free(pkey);
    return status;
}

static int
write_wallet(const struct job *job, int64_t index, const char *web_number,
             const struct pki_certificate *certificate, const char *private_key)
{
    char path[1200];
    json_t *wallet = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "version", 1, "server",
                               job->issuer, "web_number", web_number, "serial",
                               certificate->serial_hex, "private_key", private_key,
                               "certificate", certificate->pem, "chain",
                               pki_chain_pem(job->service->pki));
    char *text = wallet ? json_dumps(wallet, JSON_INDENT(2)) : NULL;
    json_decref(wallet);
    int status = text != NULL &&
                 string_format(path, sizeof path, "%s/wallet-%lld.json", job->wallet_dir,
                               (long long)index) == 0 &&
                 file_create(path, 0600, text, strlen(text), NULL, 0) == 0
                     ? 0
                     : -1;
    free(text);
    return status;
}

/* One citizen's rows, computed before the transaction that writes them
 * (the crypto runs outside SQLite's write lock, on every thread at once). */
struct citizen {
    struct store_person person;
    char web_number[WEB_NUMBER_SIZE];
    struct pki_certificate certificate;
    char *private_key;          /* sampled citizens only */
};

static void
citizen_clear(struct citizen *c)
{
    free(c->private_key);
    pki_certificate_clear(&c->certificate);
    store_person_clear(&c->person);
    memset(c, 0, sizeof *c);
}

static int
prepare(struct job *job, int64_t index, int64_t now, struct citizen *c)
{
    char national_id[NATIONAL_ID_SIZE], birth_date[REGISTRY_DATE_SIZE], name[64], err[256];
    float descriptor[FACE_DESCRIPTOR_DIMS];
    uint8_t random[16];
    struct pki_csr own_key;
    int wallet = job->wallet_step > 0 && (index - job->from) % job->wallet_step == 0;
    int status = -1;
    memset(c, 0, sizeof *c);
    c->person.created_at = c->person.updated_at = now;
    if (citizen_identity(index, national_id, birth_date) != 0 ||
        string_format(name, sizeof name, "合成公民%lld", (long long)index) != 0 ||
        RAND_bytes(random, sizeof random) != 1 ||
        hex_encode(random, sizeof random, c->person.id, sizeof c->person.id) != 0)
        goto done;
    uint32_t bits[FACE_DESCRIPTOR_DIMS];
    if (RAND_bytes((unsigned char *)bits, sizeof bits) != 1)
        goto done;
    for (size_t i = 0; i < FACE_DESCRIPTOR_DIMS; i++)
        descriptor[i] = ((float)(bits[i] % 20001) - 10000.0f) / 100000.0f;
    if (registry_index(job->service->signer, national_id,
                       c->person.national_id_index) != 0 ||
        registry_seal(job->service->signer, c->person.id, national_id, name, birth_date,
                      descriptor, &c->person.sealed, &c->person.sealed_length) != 0 ||
        web_number_generate(c->web_number) != 0 ||
        (wallet && new_device_key(&own_key, &c->private_key) != 0) ||
        pki_issue(job->service->pki, wallet ? &own_key : job->shared_key, c->web_number,
                  now, &c->certificate, err, sizeof err) != 0)
        goto done;
    status = 0;
done:
    secret_wipe(descriptor, sizeof descriptor);
    if (status != 0 && job->err[0] == '\0')
        snprintf(job->err, sizeof job->err, "citizen %lld: cannot make its records",
                 (long long)index);
    return status;
}

/* Writes one prepared citizen, inside the caller's transaction. A
 * collision of two random web numbers (p ~ 1e-9 at 10 M) fails the batch
 * and stops the load: not worth a lookup per citizen. */
static int
write_citizen(struct job *job, struct store_conn *conn, int64_t index, int64_t now,
              const struct citizen *c)
{
    struct store_identity identity = {.created_at = now, .updated_at = now};
    struct store_device device = {
        .certificate = c->certificate.der, .certificate_length = c->certificate.der_length,
        .created_at = now, .not_after = c->certificate.not_after, .revocation_reason = -1,
    };
    char actor[STORE_WEB_NUMBER_MAX + 16];
    int inserted = 0;
    json_t *details = json_pack("{s:s, s:b, s:s}", "serial", c->certificate.serial_hex,
                                "reenrolled", 0, "acr", "cyberid:face");
    int written =
        details != NULL && store_person_insert(conn, &c->person) == 0 &&
        string_copy(identity.web_number, sizeof identity.web_number, c->web_number) == 0 &&
        string_copy(identity.person_id, sizeof identity.person_id, c->person.id) == 0 &&
        string_copy(identity.status, sizeof identity.status, STORE_IDENTITY_ACTIVE) == 0 &&
        store_identity_insert(conn, &identity, &inserted) == 0 && inserted &&
        string_copy(device.serial, sizeof device.serial, c->certificate.serial_hex) == 0 &&
        string_copy(device.web_number, sizeof device.web_number, c->web_number) == 0 &&
        string_copy(device.status, sizeof device.status, STORE_DEVICE_ACTIVE) == 0 &&
        store_device_insert(conn, &device) == 0 &&
        string_format(actor, sizeof actor, "citizen:%s", c->web_number) == 0 &&
        audit_append(conn, actor, "identity.enroll", c->web_number, details, NULL) == 0;
    json_decref(details);
    if (!written && job->err[0] == '\0')
        snprintf(job->err, sizeof job->err, "citizen %lld: %s", (long long)index,
                 store_last_error(conn));
    return written ? 0 : -1;
}

/* Moves the WAL's pages into the database and truncates it; the caller
 * holds the write lock, so no transaction of ours is open. */
static int
checkpoint(struct writer *writer)
{
    sqlite3 *db = NULL;
    char *message = NULL;
    int status = sqlite3_open_v2(writer->sqlite_path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (status == SQLITE_OK) {
        sqlite3_busy_timeout(db, 60000);
        status = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, &message);
    }
    if (status != SQLITE_OK)
        snprintf(writer->err, sizeof writer->err, "checkpoint: %s",
                 message ? message : sqlite3_errstr(status));
    sqlite3_free(message);
    sqlite3_close(db);
    return status == SQLITE_OK ? 0 : -1;
}

/* Writes one batch in one transaction: 1, or 0 with job->err. */
static int
write_batch(struct job *job, struct store_conn *conn, int64_t start, int64_t n, int64_t now,
            const struct citizen *batch)
{
    struct writer *writer = job->writer;
    if (writer->sqlite_path != NULL)
        pthread_mutex_lock(&writer->lock);
    int ok = store_begin(conn) == 0;
    for (int64_t i = 0; ok && i < n; i++)
        ok = write_citizen(job, conn, start + i, now, &batch[i]) == 0;
    if (ok && store_commit(conn) != 0) {
        ok = 0;
        snprintf(job->err, sizeof job->err, "commit: %s", store_last_error(conn));
    }
    store_rollback(conn);
    if (writer->sqlite_path != NULL) {
        if (ok && ++writer->batches % CHECKPOINT_BATCHES == 0 && checkpoint(writer) != 0) {
            snprintf(job->err, sizeof job->err, "%s", writer->err);
            ok = 0;
        }
        pthread_mutex_unlock(&writer->lock);
    }
    return ok;
}

static void *
run(void *argument)
{
    struct job *job = argument;
    int64_t now = (int64_t)time(NULL);
    struct citizen *batch = calloc((size_t)job->batch, sizeof *batch);
    struct store_conn *conn = store_acquire(job->service->store);
    for (int64_t start = job->first; batch != NULL && start < job->last;
         start += job->batch) {
        int64_t end = start + job->batch < job->last ? start + job->batch : job->last;
        int64_t n = end - start, ready = 0, i;
        while (ready < n && prepare(job, start + ready, now, &batch[ready]) == 0)
            ready++;
        int ok = ready == n && write_batch(job, conn, start, n, now, batch);
        /* Wallets only once their citizens are committed. */
        for (i = 0; ok && i < n; i++)
            if (batch[i].private_key != NULL &&
                write_wallet(job, start + i, batch[i].web_number, &batch[i].certificate,
                             batch[i].private_key) != 0) {
                snprintf(job->err, sizeof job->err, "cannot write a wallet");
                ok = 0;
            }
        for (i = 0; i < ready; i++)
            citizen_clear(&batch[i]);
        if (!ok)
            break;
        job->loaded += n;
    }
    if (batch == NULL)
        snprintf(job->err, sizeof job->err, "out of memory");
    store_release(job->service->store, conn);
    free(batch);
    return NULL;
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},     {"issuer", required_argument, NULL, 'i'},
        {"from", required_argument, NULL, 'f'},     {"count", required_argument, NULL, 'n'},
        {"wallets", required_argument, NULL, 'w'},  {"wallet-dir", required_argument, NULL, 'D'},
        {"threads", required_argument, NULL, 't'},  {"batch", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    const char *data = NULL, *issuer = NULL, *wallet_dir = NULL;
    long long from = 0, count = 0, wallets = 0, threads = 2, batch = 5000;
    int option;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int bad = 0;
        switch (option) {
        case 'd': data = optarg; break;
        case 'i': issuer = optarg; break;
        case 'D': wallet_dir = optarg; break;
        case 'f': bad = parse_integer(optarg, 0, 1LL << 40, &from); break;
        case 'n': bad = parse_integer(optarg, 1, 1LL << 40, &count); break;
        case 'w': bad = parse_integer(optarg, 0, WALLETS_MAX, &wallets); break;
        case 't': bad = parse_integer(optarg, 1, 16, &threads); break;
        case 'b': bad = parse_integer(optarg, 1, 100000, &batch); break;
        default: bad = 1;
        }
        if (bad) {
            fprintf(stderr, "bench_load: bad option (see the top of bench/scale/bench_load.c)\n");
            return 2;
        }
    }
    if (data == NULL || issuer == NULL || count == 0 || (wallets > 0 && wallet_dir == NULL)) {
        fprintf(stderr, "usage: bench_load --data DIR --issuer URL --from I --count N "
                        "[--wallets W --wallet-dir DIR] [--threads T] [--batch B]\n");
        return 2;
    }
    char err[512], ocsp[600], crl[600];
    struct service service;
    if (service_open(data, (unsigned)threads, &service, err, sizeof err) != 0 ||
        string_format(ocsp, sizeof ocsp, "%s/ocsp", issuer) != 0 ||
        string_format(crl, sizeof crl, "%s/crl", issuer) != 0 ||
        signer_configure(service.signer, issuer, ocsp, crl) != 0 ||
        pki_open(service.config.pki_dir, service.signer, ocsp, crl, &service.pki, err,
                 sizeof err) != 0) {
        fprintf(stderr, "bench_load: %s\n", err);
        return 1;
    }
    struct pki_csr shared_key;
    if (new_device_key(&shared_key, NULL) != 0) {
        fprintf(stderr, "bench_load: no device key\n");
        service_close(&service);
        return 1;
    }
    struct writer writer = {.lock = PTHREAD_MUTEX_INITIALIZER};
    if (strncmp(service.config.database, "sqlite:", 7) == 0)
        writer.sqlite_path = service.config.database + 7;
    struct job jobs[16];
    pthread_t ids[16];
    double started = now_seconds();
    int64_t per = (count + threads - 1) / threads;
    for (long long t = 0; t < threads; t++) {
        jobs[t] = (struct job){
            .service = &service, .issuer = issuer, .wallet_dir = wallet_dir, .from = from,
            .count = count, .batch = batch, .wallet_step = wallets > 0 ? count / wallets : 0,
            .first = from + t * per, .last = from + (t + 1) * per < from + count
                                                 ? from + (t + 1) * per : from + count,
            .shared_key = &shared_key, .writer = &writer,
        };
        if (jobs[t].wallet_step == 0 && wallets > 0)
            jobs[t].wallet_step = 1;
        if (pthread_create(&ids[t], NULL, run, &jobs[t]) != 0) {
            fprintf(stderr, "bench_load: cannot start a thread\n");
            return 1;
        }
    }
    int64_t loaded = 0;
    const char *failure = NULL;
    for (long long t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        loaded += jobs[t].loaded;
        if (jobs[t].err[0] != '\0' && failure == NULL)
            failure = jobs[t].err;
    }
    double seconds = now_seconds() - started;
    printf("{\"from\":%lld,\"loaded\":%lld,\"seconds\":%.1f,\"per_second\":%.0f,"
           "\"backend\":\"%s\"}\n",
           from, (long long)loaded, seconds, (double)loaded / seconds,
           store_backend(service.store));
    if (failure != NULL)
        fprintf(stderr, "bench_load: %s\n", failure);
    service_close(&service);
    return failure == NULL && loaded == count ? 0 : 1;
}
