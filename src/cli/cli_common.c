/* cli_common: shared output helpers of the sub-commands. */
#include "cli/cli_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int
cli_print_json(json_t *value)
{
    if (value == NULL)
        return -1;
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(value);
    if (text == NULL)
        return -1;
    puts(text);
    free(text);
    return fflush(stdout) == 0 ? 0 : -1;
}

int
cli_fail(const char *command, int status, const char *format, ...)
{
    fprintf(stderr, "cyberid %s: ", command);
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    return status;
}

int
cli_usage(const char *command, const char *usage, const char *format, ...)
{
    fprintf(stderr, "cyberid %s: ", command);
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return 2;
}
