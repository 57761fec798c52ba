/* signer_wire: fields of the signer's messages; see signer_wire.h. */
#include "signer/signer_wire.h"

#include "util/strings.h"

/* What one read takes beyond the header: most messages fit (an ID
 * token's claims, a sealed record), so they cost one read. */
#define RECEIVE_AHEAD 4096

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *const op_names[SIGNER_OP_END] = {
    [SIGNER_OP_HMAC] = "hmac",
    [SIGNER_OP_SEAL_RECORD] = "seal_record",
    [SIGNER_OP_OPEN_RECORD] = "open_record",
    [SIGNER_OP_ISSUE_CERTIFICATE] = "issue_certificate",
    [SIGNER_OP_SIGN_OCSP] = "sign_ocsp",
    [SIGNER_OP_SIGN_CRL] = "sign_crl",
    [SIGNER_OP_SIGN_ID_TOKEN] = "sign_id_token",
    [SIGNER_OP_PUBLIC_KEY] = "public_key",
    [SIGNER_OP_TOKEN_PUBLIC_KEY] = "token_public_key",
    [SIGNER_OP_STATS] = "stats",
    [SIGNER_OP_CONFIGURE] = "configure",
    [SIGNER_OP_SIGN_CHECKPOINT] = "sign_checkpoint",
    [SIGNER_OP_LOG_KEY] = "log_key",
    [SIGNER_OP_SEAL_BLIND] = "seal_blind",
    [SIGNER_OP_SIGN_ID_TOKEN_PAIRWISE] = "sign_id_token_pairwise",
};

int
signer_wire_write(int fd, const void *bytes, size_t length)
{
    const uint8_t *at = bytes;
    while (length > 0) {
        ssize_t n = send(fd, at, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        at += n;
        length -= (size_t)n;
    }
    return 0;
}

int
signer_wire_send(int fd, const struct signer_wire_header *header, const void *payload)
{
    struct iovec parts[2] = {
        {.iov_base = (void *)header, .iov_len = sizeof *header},
        {.iov_base = (void *)payload, .iov_len = header->length},
    };
    struct iovec *at = parts;
    size_t count = header->length > 0 ? 2 : 1;
    while (count > 0) {
        struct msghdr message = {.msg_iov = at, .msg_iovlen = count};
        ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        size_t sent = (size_t)n;
        while (count > 0 && sent >= at->iov_len) {
            sent -= at->iov_len;
            at++;
            count--;
        }
        if (count > 0) {
            at->iov_base = (uint8_t *)at->iov_base + sent;
            at->iov_len -= sent;
        }
    }
    return 0;
}

int
signer_wire_receive(int fd, struct signer_wire_header *header, uint8_t **payload, size_t max)
{
    uint8_t first[sizeof *header + RECEIVE_AHEAD];
    size_t have = 0;
    int status = -1;
    *payload = NULL;
    while (have < sizeof *header) {
        ssize_t n = read(fd, first + have, sizeof first - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && have == 0)
            return 1;
        if (n <= 0)
            goto done;
        have += (size_t)n;
    }
    memcpy(header, first, sizeof *header);
    size_t ahead = have - sizeof *header;
    if (header->length > max || ahead > header->length)
        goto done;
    if (header->length > 0) {
        uint8_t *bytes = malloc(header->length);
        if (bytes == NULL)
            goto done;
        memcpy(bytes, first + sizeof *header, ahead);
        if (ahead < header->length &&
            signer_wire_read(fd, bytes + ahead, header->length - ahead) != 0) {
            secret_wipe(bytes, header->length);
            free(bytes);
            goto done;
        }
        *payload = bytes;
    }
    status = 0;
done:
    /* It may have held a record's plaintext. */
    secret_wipe(first, have);
    return status;
}

int
signer_wire_read(int fd, void *bytes, size_t length)
{
    uint8_t *at = bytes;
    size_t wanted = length;
    while (length > 0) {
        ssize_t n = read(fd, at, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && length == wanted)
            return 1;
        if (n <= 0)
            return -1;
        at += n;
        length -= (size_t)n;
    }
    return 0;
}

const char *
signer_op_name(unsigned op)
{
    return op > 0 && op < SIGNER_OP_END ? op_names[op] : "other";
}

static int
reserve(struct signer_buffer *buffer, size_t more)
{
    if (buffer->failed)
        return -1;
    if (more > SIGNER_WIRE_PAYLOAD_MAX - buffer->length) {
        buffer->failed = 1;
        return -1;
    }
    size_t needed = buffer->length + more;
    if (needed <= buffer->capacity)
        return 0;
    size_t capacity = buffer->capacity < 256 ? 256 : buffer->capacity;
    while (capacity < needed)
        capacity *= 2;
    /* Not realloc(): the old block may hold a record's plaintext, and
     * realloc would free it unwiped when it moves. */
    uint8_t *bytes = malloc(capacity);
    if (bytes == NULL) {
        buffer->failed = 1;
        return -1;
    }
    if (buffer->length > 0)
        memcpy(bytes, buffer->bytes, buffer->length);
    if (buffer->bytes != NULL) {
        secret_wipe(buffer->bytes, buffer->capacity);
        free(buffer->bytes);
    }
    buffer->bytes = bytes;
    buffer->capacity = capacity;
    return 0;
}

void
signer_buffer_field(struct signer_buffer *buffer, const void *bytes, size_t length,
                    size_t max)
{
    if (length > max || length > UINT32_MAX || (bytes == NULL && length > 0) ||
        reserve(buffer, 4 + length) != 0) {
        buffer->failed = 1;
        return;
    }
    uint32_t count = (uint32_t)length;
    memcpy(buffer->bytes + buffer->length, &count, 4);
    if (length > 0)
        memcpy(buffer->bytes + buffer->length + 4, bytes, length);
    buffer->length += 4 + length;
}

void
signer_buffer_u64(struct signer_buffer *buffer, uint64_t value)
{
    signer_buffer_field(buffer, &value, sizeof value, sizeof value);
}

void
signer_buffer_u64_below(struct signer_buffer *buffer, uint64_t value, uint64_t bound)
{
    if (value >= bound)
        buffer->failed = 1;
    signer_buffer_u64(buffer, value);
}

void
signer_buffer_text(struct signer_buffer *buffer, const char *text, size_t max)
{
    size_t length = text != NULL ? strlen(text) : 0;
    if (length == 0)
        buffer->failed = 1;
    signer_buffer_field(buffer, text, length, max);
}

void
signer_buffer_clear(struct signer_buffer *buffer)
{
    if (buffer->bytes != NULL) {
        secret_wipe(buffer->bytes, buffer->capacity);
        free(buffer->bytes);
    }
    memset(buffer, 0, sizeof *buffer);
}

int
signer_reader_field(struct signer_reader *reader, size_t max,
                    const uint8_t **bytes, size_t *length)
{
    uint32_t count = 0;
    if (reader->bad || reader->left < 4)
        goto bad;
    memcpy(&count, reader->at, 4);
    if (count > max || count > reader->left - 4)
        goto bad;
    *bytes = reader->at + 4;
    *length = count;
    reader->at += 4 + (size_t)count;
    reader->left -= 4 + (size_t)count;
    return 0;
bad:
    reader->bad = 1;
    *bytes = NULL;
    *length = 0;
    return -1;
}

int
signer_reader_u64(struct signer_reader *reader, uint64_t *value)
{
    const uint8_t *bytes = NULL;
    size_t length = 0;
    *value = 0;
    if (signer_reader_field(reader, sizeof *value, &bytes, &length) != 0)
        return -1;
    if (length != sizeof *value) {
        reader->bad = 1;
        return -1;
    }
    memcpy(value, bytes, sizeof *value);
    return 0;
}

int
signer_reader_text(struct signer_reader *reader, size_t max, char *out)
{
    const uint8_t *bytes = NULL;
    size_t length = 0;
    out[0] = '\0';
    if (signer_reader_field(reader, max, &bytes, &length) != 0)
        return -1;
    if (length == 0 || memchr(bytes, '\0', length) != NULL) {
        reader->bad = 1;
        return -1;
    }
    memcpy(out, bytes, length);
    out[length] = '\0';
    return 0;
}

int
signer_reader_end(struct signer_reader *reader)
{
    if (reader->left != 0)
        reader->bad = 1;
    return reader->bad ? -1 : 0;
}
