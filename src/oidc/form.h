/* form: application/x-www-form-urlencoded bodies (the OAuth endpoints'
 * requests, RFC 6749 appendix B) and the parts of an HTTP Basic
 * credential (RFC 6749 §2.3.1).
 *
 * A body is at most FORM_FIELDS_MAX fields; a name given twice is refused
 * (RFC 6749 §3.1: "parameters MUST NOT be included more than once"), and so
 * is any value that decodes to a NUL byte or holds a bad %-escape. */
#ifndef CYBERID_OIDC_FORM_H
#define CYBERID_OIDC_FORM_H

#include <stddef.h>
#include <stdint.h>

#define FORM_FIELDS_MAX 16

struct form {
    char *buffer;               /* the decoded copy; owned */
    size_t buffer_length;
    struct {
        const char *name;       /* into buffer */
        const char *value;
    } fields[FORM_FIELDS_MAX];
    size_t count;
};

/* Parses body[0..length). 0, or -1 (malformed, duplicate, too many
 * fields, out of memory) with *form empty. Release with form_clear(). */
int form_parse(const uint8_t *body, size_t length, struct form *form)
    __attribute__((warn_unused_result));

/* The value of name, or NULL. */
const char *form_get(const struct form *form, const char *name);

void form_clear(struct form *form);

/* Percent-decodes text in place ('+' is a space). 0, or -1 on a bad
 * escape or an escaped NUL. */
int form_decode(char *text) __attribute__((warn_unused_result));

#endif
