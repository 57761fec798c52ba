/* cli_common: what several sub-commands share: printing JSON results and
 * errors the same way. Private to src/cli. */
#ifndef CYBERID_CLI_COMMON_H
#define CYBERID_CLI_COMMON_H

#include <jansson.h>

/* Prints value as indented JSON on stdout and releases it. 0 or -1. */
int cli_print_json(json_t *value);

/* A usage error: prints "cyberid COMMAND: problem" (what is missing or
 * wrong, by name), then the usage text, on stderr; returns 2. */
int cli_usage(const char *command, const char *usage, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints "cyberid COMMAND: message" on stderr and returns `status`. */
int cli_fail(const char *command, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
