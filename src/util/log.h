/* log: structured log lines (one JSON object per line on stderr).
 *
 * Log lines are for operators and may be shipped anywhere, so they must never
 * carry personal data, secrets, tokens, names or ID numbers: callers pass
 * route names, status codes, counts and opaque record ids only. */
#ifndef CYBERID_LOG_H
#define CYBERID_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Lines below `level` are dropped before their fields are built. */
void log_set_level(enum log_level level);

/* Writes {"time":…,"level":…,"event":event, …fields} as one line with a
 * single write(2), so lines from many threads never interleave. `format` is
 * a jansson json_pack() format for an object ("{s:s, s:i}") or NULL. */
void log_event(enum log_level level, const char *event, const char *format, ...);

#endif
