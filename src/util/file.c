/* file: bounded reads and exclusive creation; see file.h. */
#include "util/file.h"

#include "util/strings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
file_read(const char *path, size_t max_bytes, uint8_t **out, size_t *length,
          char *err, size_t errlen)
{
    int status = -1;
    uint8_t *buffer = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error_set(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto cleanup;
    }
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        error_set(err, errlen, "%s is not a regular file", path);
        goto cleanup;
    }
    if ((uint64_t)info.st_size > max_bytes) {
        error_set(err, errlen, "%s is larger than %zu bytes (%zu MiB), the most accepted",
                  path, max_bytes, max_bytes >> 20);
        goto cleanup;
    }
    size_t size = (size_t)info.st_size;
    buffer = malloc(size + 1);
    if (buffer == NULL) {
        error_set(err, errlen, "out of memory reading %s", path);
        goto cleanup;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, buffer + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            error_set(err, errlen, "cannot read %s", path);
            goto cleanup;
        }
        done += (size_t)n;
    }
    buffer[size] = '\0';
    *out = buffer;
    *length = size;
    buffer = NULL;
    status = 0;
cleanup:
    free(buffer);
    if (fd >= 0)
        close(fd);
    return status;
}

int
file_read_private(const char *path, const char *what, size_t max_bytes, uint8_t **out,
                  size_t *length, char *err, size_t errlen)
{
    struct stat info;
    if (stat(path, &info) != 0)
        return error_set(err, errlen, "missing %s %s", what, path);
    if ((info.st_mode & 077) != 0)
        return error_set(err, errlen,
                         "%s %s is accessible by group or others (mode %03o); it must be 0600",
                         what, path, (unsigned)(info.st_mode & 0777));
    return file_read(path, max_bytes, out, length, err, errlen);
}

int
file_create(const char *path, mode_t mode, const void *data, size_t length,
            char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return error_set(err, errlen, "cannot create %s: %s", path,
                         strerror(errno));
    /* open() applies the umask; the mode asked for is the mode we get. */
    int status = fchmod(fd, mode);
    const uint8_t *bytes = data;
    size_t done = 0;
    while (status == 0 && done < length) {
        ssize_t n = write(fd, bytes + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            status = -1;
        else
            done += (size_t)n;
    }
    if (status == 0)
        status = fsync(fd);
    if (close(fd) != 0)
        status = -1;
    if (status != 0) {
        unlink(path);
        return error_set(err, errlen, "cannot write %s", path);
    }
    return 0;
}
