/* The run directory: every piece of Xenith run state lives below it (docs/vmm-control.md). */
#ifndef XENITH_RUNDIR_H
#define XENITH_RUNDIR_H

#include <stddef.h>
#include <limits.h>
#include "lib/domain_limits.h"

#define DOMID_FIRST 1
#define DOMID_LAST  0x7fef          /* Xen's DOMID_FIRST_RESERVED - 1 */

struct rundir {
	char path[PATH_MAX - 64];   /* leaves room for the names below it */
};

/* $XENITH_RUNDIR or /run/xenith; creates it and its domains/ and log/ folders. 0 or -errno. */
int rundir_open(struct rundir *rd);
/* Writes "<rundir>/<fmt...>" into buf; returns buf, or NULL if it does not fit. */
char *rundir_path(const struct rundir *rd, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Names and domids of the live domains' directories, as listed now (may be stale a moment later). */
struct rundir_domain { unsigned int domid; char name[DOMAIN_NAME_MAX + 1]; };
int rundir_list_domains(const struct rundir *rd, struct rundir_domain **out, size_t *count);
/* Under domid.lock: checks no other domain has `name` (unless it is `keep_domid`, the caller's own on
 * a restart) through the name index, picks the next free domid after last-domid, and renames
 * `staging_dir` (a directory below domains/) to domains/<domid>, its index entry pointing at it.
 * Returns the domid, or -EEXIST (name taken), -ENOSPC, -errno. */
int rundir_claim_domid(const struct rundir *rd, const char *staging_dir, const char *name,
		       int keep_domid);
/* The name index (rundir.c): the live domain called `name`, without reading every domain's name.
 * rundir_find_name trusts the index alone (what claims are checked against); rundir_lookup_name
 * falls back to listing the domains for one placed without a claim.  0, -ENOENT or -errno. */
int rundir_find_name(const struct rundir *rd, const char *name, unsigned int *domid);
int rundir_lookup_name(const struct rundir *rd, const char *name, unsigned int *domid);
/* Removes name's index entry if it still points at domid (a domain's teardown). */
void rundir_forget_name(const struct rundir *rd, const char *name, unsigned int domid);
/* 0 if domains/<domid>/name reads into buf, else -errno. */
int rundir_domain_name(const struct rundir *rd, unsigned int domid, char *buf, size_t len);

#endif
