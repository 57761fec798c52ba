/* signer_wire: the messages between the network process and the signer
 * process, and between a signer handle and its operations in-process
 * (signer_open(): the same bytes, no socket), so both take one path.
 *
 * A message is a fixed header and a payload of fields:
 *   header: id (u32) | op (u16) | status (u16) | length (u32) | zero (u32)
 *   payload: `length` bytes, a sequence of fields, each
 *            byte count (u32) | bytes
 * Integers in host order: both ends are the same binary on one machine.
 * A request carries status 0; its reply the same id and op. A reader
 * takes the fields of an operation in their fixed order, each with its
 * own bound, and a message with bytes left over, a field past the end, a
 * length over its bound or a nonzero reserved word is malformed: the
 * signer process dies on one, as OpenSSH's monitor does (fatal on an
 * unexpected message), rather than guessing what the sender meant. */
#ifndef CYBERID_SIGNER_WIRE_H
#define CYBERID_SIGNER_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Largest payload in either direction: a CRL of the whole issuing CA
 * (about 40 bytes per entry) is the biggest message. */
#define SIGNER_WIRE_PAYLOAD_MAX (64u << 20)
/* Bounds of text fields that have none in signer.h. A web number field
 * is longer than any web number, so a wrong one is refused by the policy
 * rather than taken for a malformed message; so are the URLs (the CA
 * refuses long ones). */
#define SIGNER_WIRE_WEB_NUMBER_MAX 64
#define SIGNER_WIRE_ISSUER_MAX 511
#define SIGNER_WIRE_URL_MAX 1023

struct signer_wire_header {
    uint32_t id;
    uint16_t op;
    uint16_t status;
    uint32_t length;
    uint32_t zero;
};
_Static_assert(sizeof(struct signer_wire_header) == 16, "wire header");

/* The operations. Their fields are listed in signer_ops.c. */
enum signer_op {
    SIGNER_OP_HMAC = 1,
    SIGNER_OP_SEAL_RECORD,
    SIGNER_OP_OPEN_RECORD,
    SIGNER_OP_ISSUE_CERTIFICATE,
    SIGNER_OP_SIGN_OCSP,
    SIGNER_OP_SIGN_CRL,
    SIGNER_OP_SIGN_ID_TOKEN,
    SIGNER_OP_PUBLIC_KEY,
    SIGNER_OP_TOKEN_PUBLIC_KEY,
    SIGNER_OP_STATS,
    SIGNER_OP_CONFIGURE,
    SIGNER_OP_SIGN_CHECKPOINT,
    SIGNER_OP_LOG_KEY,
    SIGNER_OP_SEAL_BLIND,
    SIGNER_OP_SIGN_ID_TOKEN_PAIRWISE,
    SIGNER_OP_END
};

/* Reply status. */
enum signer_wire_status {
    SIGNER_STATUS_OK = 0,
    SIGNER_STATUS_REFUSED = 1,      /* against the operation's policy */
    SIGNER_STATUS_FAILED = 2,       /* a key or OpenSSL failure */
    SIGNER_STATUS_LIMITED = 3,      /* over the record-opening limit */
};

/* Sends one message, header and payload (header->length bytes) in one
 * system call when the channel takes it all (sendmsg; retrying short
 * writes and EINTR, never raising SIGPIPE). 0 or -1. */
int signer_wire_send(int fd, const struct signer_wire_header *header, const void *payload);
/* Receives one message: the header, and the payload into *payload
 * (malloc'd, header->length bytes; NULL when empty). A small message
 * takes one read. 0; 1 when the channel ended before the first byte; -1
 * when it ended in the middle or failed, the length is over max, or more
 * bytes came than one message holds (each side sends one message and
 * waits for the answer, so that is a broken peer). */
int signer_wire_receive(int fd, struct signer_wire_header *header, uint8_t **payload,
                        size_t max);

/* Writes all of bytes to a channel (retrying short writes and EINTR,
 * never raising SIGPIPE). 0 or -1. */
int signer_wire_write(int fd, const void *bytes, size_t length);
/* Reads exactly length bytes: 0; 1 when the channel ended before the
 * first byte (the other side closed between messages); -1 when it ended
 * in the middle or failed. */
int signer_wire_read(int fd, void *bytes, size_t length);

/* Name of an operation for logs and metrics ("other" when unknown). */
const char *signer_op_name(unsigned op);

/* A payload being built: grows on the heap; wiped when freed (it may
 * carry personal data or a record's plaintext). */
struct signer_buffer {
    uint8_t *bytes;
    size_t length;
    size_t capacity;
    int failed;         /* an append ran out of memory or over the max */
};

/* Appends one field. Failure is remembered in buffer->failed, and a field
 * the reader at the other end would take for malformed (over `max` bytes,
 * an empty text, a value not below `bound`) is a failure here: the sender
 * refuses the call rather than kill the signer with its caller's bad
 * argument. Each `max` is the one the operation's reader uses. */
void signer_buffer_field(struct signer_buffer *buffer, const void *bytes,
                         size_t length, size_t max);
void signer_buffer_u64(struct signer_buffer *buffer, uint64_t value);
void signer_buffer_u64_below(struct signer_buffer *buffer, uint64_t value,
                             uint64_t bound);
void signer_buffer_text(struct signer_buffer *buffer, const char *text, size_t max);
/* Wipes and frees the bytes; the buffer is empty again. */
void signer_buffer_clear(struct signer_buffer *buffer);

/* A payload being read. */
struct signer_reader {
    const uint8_t *at;
    size_t left;
    int bad;            /* malformed: a field missing, too long, or bytes
                         * left at signer_reader_end() */
};

/* The next field, at most `max` bytes: *bytes points into the payload. 0,
 * or -1 (and reader->bad) when it is missing or longer. */
int signer_reader_field(struct signer_reader *reader, size_t max,
                        const uint8_t **bytes, size_t *length);
/* The next field as exactly 8 bytes. */
int signer_reader_u64(struct signer_reader *reader, uint64_t *value);
/* The next field as text of 1..max bytes without NUL, copied with a NUL
 * into out (room for max + 1). */
int signer_reader_text(struct signer_reader *reader, size_t max, char *out);
/* 0 when every byte was read and nothing was bad, else -1. */
int signer_reader_end(struct signer_reader *reader);

#endif
