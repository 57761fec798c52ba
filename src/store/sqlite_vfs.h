/* sqlite_vfs: the SQLite VFS the store opens its databases with: SQLite's
 * own unix VFS, except that the frames a commit appends to the WAL reach
 * the file in one write instead of two per page (see sqlite_vfs.c for
 * why and for the rules that keep it safe). */
#ifndef CYBERID_STORE_SQLITE_VFS_H
#define CYBERID_STORE_SQLITE_VFS_H

/* Registers the VFS (once per process, not as the default) and returns
 * its name for sqlite3_open_v2(), or NULL if SQLite has no default VFS to
 * build on or is out of memory. Thread-safe. */
const char *sqlite_vfs_name(void);

#endif
