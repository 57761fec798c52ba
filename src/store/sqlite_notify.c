/* sqlite_notify: a notification is a write of a file beside the database,
 * a listener an inotify watch on it; see sqlite_notify.h. */
#include "store/sqlite_notify.h"

#include "util/strings.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define SCHEME "sqlite:"
#define WATCHED (IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)

struct sqlite_listener {
    int fd;
};

static int
channel_path(const char *database_path, const char *channel, char path[PATH_MAX], char *err,
             size_t errlen)
{
    if (string_format(path, PATH_MAX, "%s-%s", database_path, channel) != 0)
        return error_set(err, errlen, "the notification file's path is too long");
    return 0;
}

/* Opens the file for writing and closes it (created if missing): the
 * watches see IN_CLOSE_WRITE. 0 or -1 with err. */
static int
write_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return error_set(err, errlen, "%s: %s", path, strerror(errno));
    if (close(fd) != 0)
        return error_set(err, errlen, "%s: %s", path, strerror(errno));
    return 0;
}

int
sqlite_notify_send(const char *database_path, const char *channel, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (channel_path(database_path, channel, path, err, errlen) != 0)
        return -1;
    return write_file(path, err, errlen);
}

void *
sqlite_notify_listen(const char *location, const char *channel, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (strncmp(location, SCHEME, strlen(SCHEME)) != 0) {
        error_set(err, errlen, "not a SQLite location");
        return NULL;
    }
    if (channel_path(location + strlen(SCHEME), channel, path, err, errlen) != 0)
        return NULL;
    /* Created before it is watched (a watch needs the file), opened for
     * reading only: its closing is no notification to other listeners. */
    int created = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (created < 0) {
        error_set(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    close(created);
    struct sqlite_listener *listener = malloc(sizeof *listener);
    if (listener == NULL) {
        error_set(err, errlen, "out of memory");
        return NULL;
    }
    listener->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (listener->fd < 0 || inotify_add_watch(listener->fd, path, WATCHED) < 0) {
        error_set(err, errlen, "cannot watch %s: %s", path, strerror(errno));
        if (listener->fd >= 0)
            close(listener->fd);
        free(listener);
        return NULL;
    }
    return listener;
}

int
sqlite_notify_fd(void *listener)
{
    return ((struct sqlite_listener *)listener)->fd;
}

int
sqlite_notify_read(void *listener)
{
    struct sqlite_listener *l = listener;
    /* inotify's own alignment for its records (inotify(7)'s example). */
    char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int count = 0;
    for (;;) {
        ssize_t length = read(l->fd, buffer, sizeof buffer);
        if (length < 0)
            return errno == EAGAIN || errno == EINTR ? count : -1;
        if (length == 0)
            return -1;
        for (ssize_t at = 0; at < length;) {
            const struct inotify_event *event = (const struct inotify_event *)(buffer + at);
            if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_Q_OVERFLOW))
                return -1;
            if (event->mask & IN_CLOSE_WRITE)
                count++;
            at += (ssize_t)(sizeof *event + event->len);
        }
    }
}

void
sqlite_notify_close(void *listener)
{
    struct sqlite_listener *l = listener;
    if (l == NULL)
        return;
    close(l->fd);
    free(l);
}
