/* form: urlencoded bodies; see form.h. */
#include "oidc/form.h"

#include "util/encoding.h"
#include "util/strings.h"

#include <stdlib.h>
#include <string.h>

#define HEX_BASE 16


int
form_decode(char *text)
{
    char *out = text;
    for (const char *in = text; *in != '\0'; in++) {
        if (*in == '+') {
            *out++ = ' ';
        } else if (*in == '%') {
            int high = hex_digit_value(in[1]);
            int low = high < 0 ? -1 : hex_digit_value(in[2]);
            if (low < 0 || (high == 0 && low == 0))
                return -1;
            *out++ = (char)(high * HEX_BASE + low);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return 0;
}

int
form_parse(const uint8_t *body, size_t length, struct form *form)
{
    memset(form, 0, sizeof *form);
    if (memchr(body, '\0', length) != NULL)
        return -1;
    form->buffer = malloc(length + 1);
    if (form->buffer == NULL)
        return -1;
    form->buffer_length = length + 1;
    memcpy(form->buffer, body, length);
    form->buffer[length] = '\0';
    char *cursor = form->buffer;
    while (*cursor != '\0') {
        char *end = cursor + strcspn(cursor, "&");
        char *next = *end ? end + 1 : end;
        *end = '\0';
        if (*cursor != '\0') {
            char *equals = strchr(cursor, '=');
            if (equals == NULL || equals == cursor || form->count == FORM_FIELDS_MAX)
                goto fail;
            *equals = '\0';
            if (form_decode(cursor) != 0 || form_decode(equals + 1) != 0 ||
                form_get(form, cursor) != NULL)
                goto fail;
            form->fields[form->count].name = cursor;
            form->fields[form->count].value = equals + 1;
            form->count++;
        }
        cursor = next;
    }
    return 0;
fail:
    form_clear(form);
    return -1;
}

const char *
form_get(const struct form *form, const char *name)
{
    for (size_t i = 0; i < form->count; i++)
        if (strcmp(form->fields[i].name, name) == 0)
            return form->fields[i].value;
    return NULL;
}

void
form_clear(struct form *form)
{
    if (form->buffer != NULL) {
        /* The body may hold a client secret or a code verifier. */
        secret_wipe(form->buffer, form->buffer_length);
        free(form->buffer);
    }
    memset(form, 0, sizeof *form);
}
