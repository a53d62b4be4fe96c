/* Files a daemon keeps in its state or run directory (xenith-libvirtd's domain definitions and
 * storage pools): written whole or not at all, so a crash or a full disk never leaves half a file
 * for the next start to read. */
#ifndef XENITH_LIB_STATE_FILE_H
#define XENITH_LIB_STATE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes of data as path: a temporary file (mode 0600) beside it, synced, renamed over
 * path, then the directory synced.  0, or -errno with err naming the file; on failure path is
 * as it was and no temporary file is left. */
int state_file_write(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* Makes the directory path with mode unless it exists: 0, or -errno with err. */
int state_dir_make(const char *path, mode_t mode, char *err, size_t errlen);

/* fsync of the directory path (a rename or unlink in it made durable): 0 or -errno. */
int state_dir_sync(const char *path);

#endif
