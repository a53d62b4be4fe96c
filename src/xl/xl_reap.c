/* Removing what a dead VMM left (xl_reap.h).  The nodes are the ones xenstored's lifeline removes
 * (src/xenstore/orphans.c) and the VMM's teardown would: one list, walked with xenstored's RM, so
 * that watches fire as they would have. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/cgroup.h"
#include "xl/xl_bounds.h"
#include "xl/xl_reap.h"
#include "xl/xl_store.h"

/* Removes every entry of directory `path`, then the directory; `first` (may be NULL) goes first. */
static void remove_dir(const char *path, const char *first)
{
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return;
	if (first)
		unlinkat(dirfd(d), first, 0);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(path);
}

/* The VMM's cgroup (lib/cgroup.c), named in the directory's `cgroup` file: a killed VMM never
 * removed it.  Only a path inside a Xenith slice on a cgroup file system is touched. */
static void remove_cgroup(const char *dir)
{
	char file[PATH_MAX + 16], line[PATH_MAX], err[512];
	FILE *f;

	snprintf(file, sizeof(file), "%s/cgroup", dir);
	f = fopen(file, "re");
	if (!f)
		return;
	bool have = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (have && line[0] && cgroup_remove_leftover(line, err, sizeof(err)))
		fprintf(stderr, "xl: warning: a dead VMM's cgroup %s stays: %s\n", line, err);
}

void xl_reap_staging(const struct rundir *rd, pid_t pid)
{
	char path[PATH_MAX];

	if (pid > 0 && rundir_path(rd, path, sizeof(path), "domains/.new-%d", (int)pid)) {
		remove_cgroup(path);
		remove_dir(path, "name");
	}
}

/* RM that finds nothing to remove is fine: someone (xenstored's lifeline) was first. */
static int rm(struct xl_store *s, const char *path)
{
	int r = xs_rm(s->xs, 0, path);

	return r == -ENOENT ? 0 : r;
}

/* Removes `path` if it has no children. */
static int rm_if_empty(struct xl_store *s, const char *path)
{
	char **names = NULL;
	unsigned int count = 0;
	int r = xs_directory(s->xs, 0, path, &names, &count);

	free(names);
	if (r)
		return r == -ENOENT ? 0 : r;
	return count ? 0 : rm(s, path);
}

/* The home's vm node names /vm/<uuid>; only that form is followed. */
static int rm_vm_dir(struct xl_store *s, unsigned int domid)
{
	char path[64], *vm = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
	r = xs_read(s->xs, 0, path, &vm, &len);
	if (r) {
		free(vm);
		return r == -ENOENT ? 0 : r;
	}
	if (len > 4 && !strncmp(vm, "/vm/", 4) && !strchr(vm + 4, '/') && strlen(vm) == len)
		r = rm(s, vm);
	free(vm);
	return r;
}

static int rm_backends(struct xl_store *s, unsigned int domid)
{
	char **types = NULL, path[512];
	unsigned int count = 0;
	int r = xs_directory(s->xs, 0, "/local/domain/0/backend", &types, &count);

	if (r) {
		free(types);
		return r == -ENOENT ? 0 : r;
	}
	for (unsigned int i = 0; i < count && !r; i++) {
		if ((size_t)snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u", types[i],
				     domid) >= sizeof(path))
			continue;
		r = rm(s, path);
		path[strlen(path) - strlen(strrchr(path, '/'))] = '\0';
		if (!r)
			r = rm_if_empty(s, path);
	}
	free(types);
	if (!r)
		r = rm_if_empty(s, "/local/domain/0/backend");
	if (!r)
		r = rm_if_empty(s, "/local/domain/0");
	return r;
}

static int clean_store(const struct rundir *rd, unsigned int domid, char *why, size_t len)
{
	struct xl_store s;
	char path[64], text[512];
	int r = xl_store_open(rd, &s, XL_XENSTORE_MS, why, len);

	if (r == -ECONNREFUSED || r == -ENOENT)
		return 0;        /* no xenstored runs: it has nothing of this domain */
	if (r)
		return r;
	r = rm_vm_dir(&s, domid);
	if (!r) {
		snprintf(path, sizeof(path), "/local/domain/%u", domid);
		r = rm(&s, path);
	}
	if (!r) {
		snprintf(path, sizeof(path), "/libxl/%u", domid);
		r = rm(&s, path);
	}
	if (!r)
		r = rm_backends(&s, domid);
	if (!r && xs_is_domain_introduced(s.xs, domid) == 1)
		r = xs_release(s.xs, domid);
	if (r == -ENOENT || r == -EINVAL)
		r = 0;           /* released meanwhile */
	if (r)
		snprintf(why, len, "cannot remove domain %u's xenstore nodes: %s", domid,
			 xl_store_explain(&s, r, text, sizeof(text)));
	xl_store_close(&s);
	return r;
}

int xl_reap_domain(const struct rundir *rd, unsigned int domid, char *why, size_t len)
{
	char path[PATH_MAX];
	int r = clean_store(rd, domid, why, len);

	char name[DOMAIN_NAME_MAX + 2];
	bool named = rundir_domain_name(rd, domid, name, sizeof(name)) == 0;

	/* The name goes first, so that the directory stops being listed as a domain at once. */
	if (rundir_path(rd, path, sizeof(path), "domains/%u", domid)) {
		remove_cgroup(path);
		remove_dir(path, "name");
	}
	if (named)
		rundir_forget_name(rd, name, domid);
	return r;
}
