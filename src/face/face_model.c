/*
 * face_model.c: loads a tfjs weight manifest and its .bin shards into a
 * table of named float tensors, dequantising uint8 values as tfjs does
 * (value = byte * scale + min, computed in double, stored as float).
 * Every file read is checked against its SHA-256 in models.sha256 (compiled
 * in as face_model_sums.h) before it is parsed, so a truncated, damaged or
 * substituted model file stops the load with a message naming it.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"
#include "face_model_sums.h" /* generated from models.sha256 by CMake */

#define FACE_MANIFEST_MAX_BYTES (1024L * 1024L)
#define FACE_BIN_MAX_BYTES (64L * 1024L * 1024L)
#define FACE_PATH_MAX 4096
#define FACE_SHA256_HEX_LEN 64

static int check_sum(const char *path, const char *name,
                     const unsigned char *data, size_t len, char *err,
                     size_t err_len);
static int read_file(const char *path, const char *name, long max,
                     unsigned char **data_out, size_t *len_out, char *err,
                     size_t err_len);
static int parse_weight(face_weight *weight, json_t *spec,
                        const unsigned char *bin, size_t bin_len,
                        size_t *offset, char *err, size_t err_len);

/* Checks data (the file at path, listed as name) against the SHA-256 of
 * name in models.sha256. FACE_OK or FACE_ERR_MODEL (the message names the
 * file). */
static int
check_sum(const char *path, const char *name, const unsigned char *data,
          size_t len, char *err, size_t err_len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    char actual[FACE_SHA256_HEX_LEN + 1];
    unsigned int md_len = 0, i;
    const char *expected = NULL;
    size_t s;

    for (s = 0; s < sizeof(face_model_sums) / sizeof(face_model_sums[0]); s++)
        if (strcmp(face_model_sums[s].file, name) == 0)
            expected = face_model_sums[s].sha256;
    if (expected == NULL)
        return face_error(err, err_len, FACE_ERR_MODEL,
                          "model file %s is not listed in models.sha256", path);
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len * 2 != FACE_SHA256_HEX_LEN)
        return face_error(err, err_len, FACE_ERR_MODEL,
                          "cannot compute the SHA-256 of %s", path);
    for (i = 0; i < md_len; i++) {
        actual[2 * i] = hex[md[i] >> 4];
        actual[2 * i + 1] = hex[md[i] & 0x0f];
    }
    actual[FACE_SHA256_HEX_LEN] = '\0';
    if (strcmp(actual, expected) != 0)
        return face_error(err, err_len, FACE_ERR_MODEL,
                          "model file %s is corrupt: its SHA-256 does not "
                          "match models.sha256 (run `make models`)", path);
    return FACE_OK;
}

/* Reads a whole file of at most max bytes into a new buffer and checks it
 * against the SHA-256 of name (its file name) in models.sha256. */
static int
read_file(const char *path, const char *name, long max,
          unsigned char **data_out, size_t *len_out, char *err,
          size_t err_len)
{
    int status = FACE_ERR_MODEL;
    FILE *file = NULL;
    unsigned char *data = NULL;
    long size;

    *data_out = NULL;
    *len_out = 0;
    file = fopen(path, "rb");
    if (file == NULL) {
        face_error(err, err_len, FACE_ERR_MODEL, "cannot open model file %s: %s"
                   " (run `make models`)", path, strerror(errno));
        goto cleanup;
    }
    if (fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 ||
        fseek(file, 0, SEEK_SET) != 0) {
        face_error(err, err_len, FACE_ERR_MODEL, "cannot size %s", path);
        goto cleanup;
    }
    if (size > max) {
        face_error(err, err_len, FACE_ERR_MODEL, "%s is too large (%ld bytes)",
                   path, size);
        goto cleanup;
    }
    data = malloc(size > 0 ? (size_t)size : 1);
    if (data == NULL) {
        status = face_error(err, err_len, FACE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if (fread(data, 1, (size_t)size, file) != (size_t)size) {
        face_error(err, err_len, FACE_ERR_MODEL, "cannot read %s", path);
        goto cleanup;
    }
    if (check_sum(path, name, data, (size_t)size, err, err_len) != FACE_OK)
        goto cleanup;
    *data_out = data;
    *len_out = (size_t)size;
    data = NULL;
    status = FACE_OK;
cleanup:
    free(data);
    if (file != NULL)
        fclose(file);
    return status;
}

/* Parses one manifest entry and dequantises its values from bin at *offset,
 * advancing *offset. */
static int
parse_weight(face_weight *weight, json_t *spec, const unsigned char *bin,
             size_t bin_len, size_t *offset, char *err, size_t err_len)
{
    const char *name = json_string_value(json_object_get(spec, "name"));
    const char *dtype = json_string_value(json_object_get(spec, "dtype"));
    json_t *shape = json_object_get(spec, "shape");
    json_t *quant = json_object_get(spec, "quantization");
    size_t count = 1, bytes, i;

    if (name == NULL || dtype == NULL || !json_is_array(shape) ||
        json_array_size(shape) > 4 || strcmp(dtype, "float32") != 0)
        return face_error(err, err_len, FACE_ERR_MODEL,
                          "bad weight entry in manifest");
    weight->dims = (int)json_array_size(shape);
    for (i = 0; i < json_array_size(shape); i++) {
        json_int_t n = json_integer_value(json_array_get(shape, i));
        if (n <= 0 || n > 65536 || face_mul_size(count, (size_t)n, &count) != 0)
            return face_error(err, err_len, FACE_ERR_MODEL,
                              "bad shape for weight %s", name);
        weight->shape[i] = (int)n;
    }
    weight->count = count;
    weight->name = strdup(name);
    weight->values = malloc(count * sizeof(float));
    if (weight->name == NULL || weight->values == NULL)
        return face_error(err, err_len, FACE_ERR_NOMEM, "out of memory");

    if (quant != NULL) {
        const char *qtype = json_string_value(json_object_get(quant, "dtype"));
        double scale = json_number_value(json_object_get(quant, "scale"));
        double min = json_number_value(json_object_get(quant, "min"));
        if (qtype == NULL || strcmp(qtype, "uint8") != 0)
            return face_error(err, err_len, FACE_ERR_MODEL,
                              "unsupported quantization for %s", name);
        bytes = count;
        if (*offset > bin_len || bin_len - *offset < bytes)
            return face_error(err, err_len, FACE_ERR_MODEL,
                              "weights file too short for %s", name);
        for (i = 0; i < count; i++)
            weight->values[i] = (float)(bin[*offset + i] * scale + min);
    } else {
        if (face_mul_size(count, 4, &bytes) != 0 || *offset > bin_len ||
            bin_len - *offset < bytes)
            return face_error(err, err_len, FACE_ERR_MODEL,
                              "weights file too short for %s", name);
        /* float32 little-endian, possibly unaligned (x86 and ARM hosts are
         * little-endian, as the build targets). */
        memcpy(weight->values, bin + *offset, bytes);
    }
    *offset += bytes;
    return FACE_OK;
}

int
face_weights_load(face_weights *weights, const char *dir, const char *model,
                  char *err, size_t err_len)
{
    int status = FACE_ERR_MODEL;
    char path[FACE_PATH_MAX], name[FACE_PATH_MAX];
    unsigned char *manifest_text = NULL, *bin = NULL, *shard = NULL;
    size_t manifest_len = 0, bin_len = 0, shard_len, offset = 0, total = 0;
    size_t g, p, i;
    json_t *manifest = NULL;
    json_error_t json_err;
    int n;

    memset(weights, 0, sizeof(*weights));
    n = snprintf(name, sizeof(name), "%s-weights_manifest.json", model);
    if (n < 0 || (size_t)n >= sizeof(name))
        return face_error(err, err_len, FACE_ERR_MODEL, "model name too long");
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return face_error(err, err_len, FACE_ERR_MODEL, "model path too long");
    status = read_file(path, name, FACE_MANIFEST_MAX_BYTES, &manifest_text,
                       &manifest_len, err, err_len);
    if (status != FACE_OK)
        goto cleanup;
    status = FACE_ERR_MODEL;
    manifest = json_loadb((const char *)manifest_text, manifest_len, 0,
                          &json_err);
    if (!json_is_array(manifest)) {
        face_error(err, err_len, FACE_ERR_MODEL, "%s: not a weight manifest",
                   path);
        goto cleanup;
    }
    /* Concatenate all shards and count the tensors. */
    for (g = 0; g < json_array_size(manifest); g++) {
        json_t *group = json_array_get(manifest, g);
        json_t *paths = json_object_get(group, "paths");
        json_t *specs = json_object_get(group, "weights");
        if (!json_is_array(paths) || !json_is_array(specs)) {
            face_error(err, err_len, FACE_ERR_MODEL, "%s: bad group", path);
            goto cleanup;
        }
        total += json_array_size(specs);
        for (p = 0; p < json_array_size(paths); p++) {
            const char *file = json_string_value(json_array_get(paths, p));
            unsigned char *grown;
            if (file == NULL || strchr(file, '/') != NULL || file[0] == '.') {
                face_error(err, err_len, FACE_ERR_MODEL, "%s: bad shard name",
                           path);
                goto cleanup;
            }
            n = snprintf(path, sizeof(path), "%s/%s", dir, file);
            if (n < 0 || (size_t)n >= sizeof(path)) {
                face_error(err, err_len, FACE_ERR_MODEL, "path too long");
                goto cleanup;
            }
            status = read_file(path, file, FACE_BIN_MAX_BYTES, &shard,
                               &shard_len, err, err_len);
            if (status != FACE_OK)
                goto cleanup;
            status = FACE_ERR_MODEL;
            if (shard_len > FACE_BIN_MAX_BYTES - bin_len) {
                face_error(err, err_len, FACE_ERR_MODEL, "weights too large");
                goto cleanup;
            }
            grown = realloc(bin, bin_len + shard_len + 1);
            if (grown == NULL) {
                status = face_error(err, err_len, FACE_ERR_NOMEM,
                                    "out of memory");
                goto cleanup;
            }
            bin = grown;
            memcpy(bin + bin_len, shard, shard_len);
            bin_len += shard_len;
            free(shard);
            shard = NULL;
        }
    }
    weights->items = calloc(total > 0 ? total : 1, sizeof(face_weight));
    if (weights->items == NULL) {
        status = face_error(err, err_len, FACE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (g = 0; g < json_array_size(manifest); g++) {
        json_t *specs = json_object_get(json_array_get(manifest, g), "weights");
        for (i = 0; i < json_array_size(specs); i++) {
            face_weight *weight = &weights->items[weights->count++];
            status = parse_weight(weight, json_array_get(specs, i), bin,
                                  bin_len, &offset, err, err_len);
            if (status != FACE_OK)
                goto cleanup;
        }
    }
    if (offset != bin_len) {
        status = face_error(err, err_len, FACE_ERR_MODEL,
                            "%s: %zu bytes of weights left over", model,
                            bin_len - offset);
        goto cleanup;
    }
    status = FACE_OK;
cleanup:
    if (status != FACE_OK)
        face_weights_free(weights);
    json_decref(manifest);
    free(manifest_text);
    free(shard);
    free(bin);
    return status;
}

void
face_weights_free(face_weights *weights)
{
    size_t i;

    if (weights == NULL)
        return;
    for (i = 0; i < weights->count; i++) {
        free(weights->items[i].name);
        free(weights->items[i].values);
    }
    free(weights->items);
    weights->items = NULL;
    weights->count = 0;
}

const float *
face_weights_get(const face_weights *weights, const char *name, int dims,
                 const int *shape, char *err, size_t err_len)
{
    size_t i;
    int d;

    for (i = 0; i < weights->count; i++) {
        const face_weight *weight = &weights->items[i];
        if (strcmp(weight->name, name) != 0)
            continue;
        if (weight->dims != dims)
            break;
        for (d = 0; d < dims; d++)
            if (weight->shape[d] != shape[d])
                break;
        if (d != dims)
            break;
        return weight->values;
    }
    face_error(err, err_len, FACE_ERR_MODEL,
               "model tensor %s is missing or has the wrong shape", name);
    return NULL;
}
