/* log: one JSON object per line on stderr; see log.h for the rules. */
#include "util/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int minimum_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_set_level(enum log_level level)
{
    atomic_store(&minimum_level, (int)level);
}

void
log_event(enum log_level level, const char *event, const char *format, ...)
{
    if ((int)level < atomic_load(&minimum_level))
        return;

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r(&now.tv_sec, &utc);
    char stamp[40];
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", now.tv_nsec / 1000000L);

    json_t *line = json_pack("{s:s, s:s, s:s}", "time", stamp, "level",
                             level_names[level], "event", event);
    if (line == NULL)
        return;
    if (format != NULL) {
        va_list args;
        va_start(args, format);
        json_t *fields = json_vpack_ex(NULL, 0, format, args);
        va_end(args);
        /* The fixed keys win: a field cannot pass itself off as the level. */
        if (json_is_object(fields))
            json_object_update_missing(line, fields);
        json_decref(fields);
    }

    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    size_t length = strlen(text);
    text[length] = '\n'; /* replaces the NUL: write() takes a length */
    ssize_t written = write(STDERR_FILENO, text, length + 1);
    (void)written; /* nowhere left to report a failed log write */
    free(text);
}
