/* sqlite_notify: change notifications between the processes that share a
 * SQLite database (`cyberid serve` and the operator's commands), for the
 * SQLite driver's notify and listen functions (store_driver.h). Private
 * to the store module.
 *
 * SQLite has no LISTEN/NOTIFY. A notification on a channel is a write of
 * an empty file beside the database, "<database>-<channel>"; a listener
 * is an inotify watch on that file, which the kernel wakes at each write
 * (IN_CLOSE_WRITE). Nothing is polled. */
#ifndef CYBERID_SQLITE_NOTIFY_H
#define CYBERID_SQLITE_NOTIFY_H

#include <stddef.h>

/* Writes the channel's file (created if missing, mode 0600). 0, or -1
 * with err. */
int sqlite_notify_send(const char *database_path, const char *channel, char *err,
                       size_t errlen);

/* A watch on the channel's file (created if missing). NULL with err. */
void *sqlite_notify_listen(const char *location, const char *channel, char *err,
                           size_t errlen);
/* The descriptor to poll for input. */
int sqlite_notify_fd(void *listener);
/* The notifications read since the last call (0 or more), or -1 when the
 * watch is lost (the file deleted or moved, or the kernel's queue
 * overflowed): close it and listen again. */
int sqlite_notify_read(void *listener);
void sqlite_notify_close(void *listener);

#endif
