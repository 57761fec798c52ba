/* file: whole-file reads with a size cap, and creation of new files with a
 * given mode that never overwrites (O_EXCL). */
#ifndef CYBERID_FILE_H
#define CYBERID_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads the whole file, refusing files over max_bytes. On success *out is a
 * malloc'd buffer (one extra NUL byte after the data, not counted in
 * *length) that the caller frees. Returns 0 or -1 with err set. */
int file_read(const char *path, size_t max_bytes, uint8_t **out,
              size_t *length, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* file_read() of a file that must be private to its owner: refused when
 * group or others have any access to it (as ssh refuses such identity
 * files: a secret others could read is no longer trusted), with its mode
 * in err; `what` names it in messages ("key file", "PIN file"). */
int file_read_private(const char *path, const char *what, size_t max_bytes, uint8_t **out,
                      size_t *length, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Creates path (which must not exist) with `mode`, writes the data and
 * fsyncs. On failure nothing is left behind. Returns 0 or -1 with err. */
int file_create(const char *path, mode_t mode, const void *data,
                size_t length, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
