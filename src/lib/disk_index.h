/* The disk index (disk_index.c): which domains may hold a disk target, keyed by what the target is,
 * so that `xl create` and `block-attach` ask only those domains' VMMs (issue 16, docs/density.md). */
#ifndef XENITH_DISK_INDEX_H
#define XENITH_DISK_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "lib/domain_limits.h"
#include "lib/rundir.h"

struct disk_index_user {
	char name[DOMAIN_NAME_MAX + 1];
	bool readonly;
};

/* The key of a target: "b<rdev>" for a block device, "<dev>:<ino>" for anything else (the same
 * rule as xl_disk_same_target).  buf needs 48 bytes. */
void disk_index_key(const struct stat *st, char *buf, size_t len);
/* Records that domain `name` holds (or is about to hold) the target, read-only or not: 0 or -errno. */
int disk_index_add(const struct rundir *rd, const struct stat *st, const char *name, bool readonly);
/* Removes name's entry for the target if it still says `readonly` (a stale one, after the caller
 * found that domain gone). */
void disk_index_forget(const struct rundir *rd, const struct stat *st, const struct disk_index_user *u);
/* Every entry of the target, malloc'd into *out (NULL when none): 0, or -errno. */
int disk_index_users(const struct rundir *rd, const struct stat *st, struct disk_index_user **out,
		     size_t *n);
/* Whether every live domain's disks are in the index (disks/.complete), and marking it so. */
bool disk_index_complete(const struct rundir *rd);
int disk_index_mark_complete(const struct rundir *rd);

#endif
