/* sqlite_vfs: SQLite's default (unix) VFS, with the WAL frames of a commit
 * gathered into one write.
 *
 * Why: SQLite writes each WAL frame with two pwrite()s, its 24-byte header
 * and then the page (wal.c, walWriteOneFrame), so a commit of eight pages
 * is sixteen system calls, and it offers no setting that writes them
 * together. On the benchmark machine a system call costs far more than
 * the copy in it (docs/bench.md, "A commit's frames in one write"). This
 * shim buffers what a commit appends to the WAL and writes it with one
 * pwrite() when the commit frame is complete, before SQLite goes on to
 * publish the commit in the WAL index, so readers (other connections, other
 * processes) never see a frame that is not in the file, and an
 * acknowledged commit is in the file (the kernel's page cache) exactly
 * when it was without the shim: it survives kill -9. Syncs are unchanged:
 * the buffer is written before any xSync.
 *
 * The rules, for the WAL file of a connection (every other file, and every
 * other method, goes straight to the unix VFS):
 * - Only appends are gathered: writes at or past the end of what this
 *   handle has written (its frontier). SQLite's rewrites within a
 *   transaction (a page written again in place, the checksums redone
 *   after one: walRewriteChecksums) land below it and go straight to the
 *   file, after what is gathered. A new WAL header (32 bytes at offset 0:
 *   the log starting over) moves the frontier back to the start.
 * - A frame header whose commit field (bytes 4-7, the database's size in
 *   pages after the commit) is not zero marks the commit frame: the write
 *   after it (its page) is gathered and then everything is written.
 * - Anything else on the file (a read, a write elsewhere, sync, truncate,
 *   size, file control, close) first writes what is gathered: SQLite
 *   reads back frames of its own transaction when its page cache spilled.
 * - A gathered write that fails fails the call that made it: SQLite then
 *   rolls back the transaction those frames were for; they are dropped.
 * - Without memory for the buffer, the handle writes each frame as SQLite
 *   does. */
#include "store/sqlite_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VFS_NAME "cyberid"
#define WAL_HEADER_BYTES 32
#define FRAME_HEADER_BYTES 24
/* A commit of up to 29 pages of 4 KiB in one write; a larger one is
 * written in pieces of about this size. The unix VFS writes at most
 * 128 KiB - 1 bytes in one call (os_unix.c, seekAndWrite: a larger write
 * comes back short, SQLITE_FULL). Allocated at a handle's first append:
 * only a handle that writes has one. */
#define GATHER_BYTES (120 * 1024)

struct gather_file {
    sqlite3_file base;        /* pMethods = &gather_methods */
    sqlite3_file *real;       /* the unix VFS's file, right after this struct */
    bool wal;
    bool commit_next;         /* the next append is the commit frame's page */
    unsigned char *buffer;    /* GATHER_BYTES, or NULL */
    size_t used;
    sqlite3_int64 start;      /* the file offset of buffer[0] */
    sqlite3_int64 frontier;   /* the end of what this handle has appended */
};

static sqlite3_vfs gather_vfs;
static sqlite3_vfs *real_vfs;
static pthread_once_t registered = PTHREAD_ONCE_INIT;
static bool register_ok;

static sqlite3_file *
real_of(sqlite3_file *file)
{
    return ((struct gather_file *)file)->real;
}

/* Writes what is gathered. On failure it is dropped (see above). A
 * commit frame still waiting for its page stays marked: when the buffer
 * fills between the two, the page starts the next buffer and is written
 * at its commit all the same (tests/store/test_sqlite_vfs.c, "across the
 * buffer"). */
static int
flush(struct gather_file *g)
{
    if (g->used == 0)
        return SQLITE_OK;
    int status = g->real->pMethods->xWrite(g->real, g->buffer, (int)g->used, g->start);
    g->used = 0;
    return status;
}

static uint32_t
big_endian_32(const unsigned char *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
           (uint32_t)bytes[3];
}

static int
wal_write(struct gather_file *g, const void *data, int amount, sqlite3_int64 offset)
{
    sqlite3_file *real = g->real;
    int status;
    if (offset == 0 && amount == WAL_HEADER_BYTES) {
        if ((status = flush(g)) != SQLITE_OK)
            return status;
        g->frontier = 0;
    }
    if (offset < g->frontier || (size_t)amount > GATHER_BYTES) {
        if ((status = flush(g)) != SQLITE_OK)
            return status;
        if (offset + amount > g->frontier)
            g->frontier = offset + amount;
        return real->pMethods->xWrite(real, data, amount, offset);
    }
    if (g->used > 0 &&
        (offset != g->start + (sqlite3_int64)g->used || g->used + (size_t)amount > GATHER_BYTES) &&
        (status = flush(g)) != SQLITE_OK)
        return status;
    if (g->buffer == NULL && (g->buffer = malloc(GATHER_BYTES)) == NULL) {
        g->wal = false; /* out of memory: this handle writes as SQLite does */
        return real->pMethods->xWrite(real, data, amount, offset);
    }
    if (g->used == 0)
        g->start = offset;
    memcpy(g->buffer + g->used, data, (size_t)amount);
    g->used += (size_t)amount;
    g->frontier = offset + amount;
    if (g->commit_next) {
        g->commit_next = false;
        return flush(g);
    }
    if (amount == FRAME_HEADER_BYTES && big_endian_32((const unsigned char *)data + 4) != 0)
        g->commit_next = true;
    return SQLITE_OK;
}

static int
gather_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    struct gather_file *g = (struct gather_file *)file;
    if (g->wal)
        return wal_write(g, data, amount, offset);
    return g->real->pMethods->xWrite(g->real, data, amount, offset);
}

static int
gather_close(sqlite3_file *file)
{
    struct gather_file *g = (struct gather_file *)file;
    int flushed = flush(g);
    int closed = g->real->pMethods->xClose(g->real);
    free(g->buffer);
    g->buffer = NULL;
    return flushed != SQLITE_OK ? flushed : closed;
}

static int
gather_read(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    int status = flush((struct gather_file *)file);
    return status != SQLITE_OK ? status
                               : real_of(file)->pMethods->xRead(real_of(file), data, amount, offset);
}

static int
gather_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    struct gather_file *g = (struct gather_file *)file;
    int status = flush(g);
    if (status != SQLITE_OK)
        return status;
    if (g->frontier > size)
        g->frontier = size;
    return g->real->pMethods->xTruncate(g->real, size);
}

static int
gather_sync(sqlite3_file *file, int flags)
{
    int status = flush((struct gather_file *)file);
    return status != SQLITE_OK ? status : real_of(file)->pMethods->xSync(real_of(file), flags);
}

static int
gather_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    int status = flush((struct gather_file *)file);
    return status != SQLITE_OK ? status : real_of(file)->pMethods->xFileSize(real_of(file), size);
}

static int
gather_lock(sqlite3_file *file, int level)
{
    return real_of(file)->pMethods->xLock(real_of(file), level);
}

static int
gather_unlock(sqlite3_file *file, int level)
{
    return real_of(file)->pMethods->xUnlock(real_of(file), level);
}

static int
gather_check_reserved_lock(sqlite3_file *file, int *out)
{
    return real_of(file)->pMethods->xCheckReservedLock(real_of(file), out);
}

static int
gather_file_control(sqlite3_file *file, int op, void *argument)
{
    int status = flush((struct gather_file *)file);
    return status != SQLITE_OK ? status
                               : real_of(file)->pMethods->xFileControl(real_of(file), op, argument);
}

static int
gather_sector_size(sqlite3_file *file)
{
    return real_of(file)->pMethods->xSectorSize(real_of(file));
}

static int
gather_device_characteristics(sqlite3_file *file)
{
    return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file));
}

static int
gather_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
    return real_of(file)->pMethods->xShmMap(real_of(file), page, size, extend, out);
}

static int
gather_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    return real_of(file)->pMethods->xShmLock(real_of(file), offset, n, flags);
}

static void
gather_shm_barrier(sqlite3_file *file)
{
    real_of(file)->pMethods->xShmBarrier(real_of(file));
}

static int
gather_shm_unmap(sqlite3_file *file, int delete_flag)
{
    return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag);
}

static int
gather_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
    return real_of(file)->pMethods->xFetch(real_of(file), offset, amount, out);
}

static int
gather_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    return real_of(file)->pMethods->xUnfetch(real_of(file), offset, page);
}

static const sqlite3_io_methods gather_methods = {
    .iVersion = 3,
    .xClose = gather_close,
    .xRead = gather_read,
    .xWrite = gather_write,
    .xTruncate = gather_truncate,
    .xSync = gather_sync,
    .xFileSize = gather_file_size,
    .xLock = gather_lock,
    .xUnlock = gather_unlock,
    .xCheckReservedLock = gather_check_reserved_lock,
    .xFileControl = gather_file_control,
    .xSectorSize = gather_sector_size,
    .xDeviceCharacteristics = gather_device_characteristics,
    .xShmMap = gather_shm_map,
    .xShmLock = gather_shm_lock,
    .xShmBarrier = gather_shm_barrier,
    .xShmUnmap = gather_shm_unmap,
    .xFetch = gather_fetch,
    .xUnfetch = gather_unfetch,
};

static int
gather_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    (void)vfs;
    struct gather_file *g = (struct gather_file *)file;
    memset(g, 0, sizeof *g);
    g->real = (sqlite3_file *)(g + 1);
    g->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int status = real_vfs->xOpen(real_vfs, name, g->real, flags, out_flags);
    /* SQLite calls xClose after a failed xOpen that set pMethods. */
    if (g->real->pMethods == NULL)
        return status != SQLITE_OK ? status : SQLITE_CANTOPEN;
    g->base.pMethods = &gather_methods;
    /* The methods above forward version 3's; the unix VFS's files (POSIX
     * locks) have them. A file without is not opened through this VFS. */
    if (status == SQLITE_OK && g->real->pMethods->iVersion < 3)
        return SQLITE_CANTOPEN;
    return status;
}

static void
register_once(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (real_vfs == NULL)
        return;
    /* The rest of the unix VFS (paths, access, randomness, time, system
     * calls) is used as it is: its methods read only the fields copied
     * here, never the VFS's identity. */
    gather_vfs = *real_vfs;
    gather_vfs.pNext = NULL;
    gather_vfs.zName = VFS_NAME;
    gather_vfs.szOsFile = (int)sizeof(struct gather_file) + real_vfs->szOsFile;
    gather_vfs.xOpen = gather_open;
    register_ok = sqlite3_vfs_register(&gather_vfs, 0) == SQLITE_OK;
}

const char *
sqlite_vfs_name(void)
{
    pthread_once(&registered, register_once);
    return register_ok ? VFS_NAME : NULL;
}
