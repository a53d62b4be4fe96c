/* Run directory and domain IDs.  IDs are chosen under an flock so that two `xl create` started
 * at once never share an ID or a name; a domain's directory appears by rename, whole.
 *
 * Names are found through an index, so that neither a claim nor a lookup reads every domain's
 * name (issue 16: at a thousand domains those reads were most of what `xl create` did):
 * names/=<name> is a symlink whose target is the domid, written under domid.lock by the claim.
 * The index is a hint checked against the truth, domains/<domid>/name: an entry whose domain has
 * ended (its name file goes first) or whose domid was taken by another name is no entry, so a
 * teardown that leaves its entry behind costs a stale link, never a wrong answer.  The '=' keeps
 * names such as "." and ".." usable as file names.  A run directory made before the index has
 * no names/.complete: the first claim then indexes every domain once, under the lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/rundir.h"

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int rundir_open(struct rundir *rd)
{
	const char *env = getenv("XENITH_RUNDIR");
	const char *base = env && *env ? env : "/run/xenith";
	char sub[PATH_MAX];
	int r;

	if (strlen(base) >= sizeof(rd->path))
		return -ENAMETOOLONG;
	strcpy(rd->path, base);
	r = mkdir_p(rd->path);
	if (r)
		return r;
	for (const char *const *d = (const char *const[]){ "domains", "log", "names", NULL }; *d; d++) {
		snprintf(sub, sizeof(sub), "%s/%s", rd->path, *d);
		if (mkdir(sub, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

char *rundir_path(const struct rundir *rd, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, len, "%s/", rd->path);

	if (n < 0 || (size_t)n >= len)
		return NULL;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - n)
		return NULL;
	return buf;
}

static int read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	int saved = errno;
	close(fd);
	if (n < 0)
		return -saved;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int rundir_domain_name(const struct rundir *rd, unsigned int domid, char *buf, size_t len)
{
	char path[PATH_MAX];

	if (!rundir_path(rd, path, sizeof(path), "domains/%u/name", domid))
		return -ENAMETOOLONG;
	return read_small_file(path, buf, len);
}

static int parse_domid(const char *s, unsigned int *domid)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < DOMID_FIRST || v > DOMID_LAST)
		return -EINVAL;
	*domid = (unsigned int)v;
	return 0;
}

static int compare_domid(const void *a, const void *b)
{
	const struct rundir_domain *x = a, *y = b;

	return (x->domid > y->domid) - (x->domid < y->domid);
}

int rundir_list_domains(const struct rundir *rd, struct rundir_domain **out, size_t *count)
{
	char path[PATH_MAX];
	struct rundir_domain *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;

	*out = NULL;
	*count = 0;
	if (!rundir_path(rd, path, sizeof(path), "domains"))
		return -ENAMETOOLONG;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		unsigned int domid;

		if (parse_domid(de->d_name, &domid))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct rundir_domain *grown = realloc(list, ncap * sizeof(*list));
			if (!grown) {
				free(list);
				closedir(dir);
				return -ENOMEM;
			}
			list = grown;
			cap = ncap;
		}
		list[n].domid = domid;
		/* A directory mid-removal has no name any more; it is no longer a domain. */
		if (rundir_domain_name(rd, domid, list[n].name, sizeof(list[n].name)))
			continue;
		n++;
	}
	closedir(dir);
	if (n)
		qsort(list, n, sizeof(*list), compare_domid);   /* qsort(NULL, 0) is undefined */
	*out = list;
	*count = n;
	return 0;
}

/* ---- the name index ---------------------------------------------------------------------- */

static char *name_link(const struct rundir *rd, const char *name, char *buf, size_t len)
{
	return rundir_path(rd, buf, len, "names/=%s", name);
}

/* The domid names/=<name> points at, if that domain is live and has this name. */
int rundir_find_name(const struct rundir *rd, const char *name, unsigned int *domid)
{
	char link[PATH_MAX], target[32], live[DOMAIN_NAME_MAX + 2];
	unsigned int id;
	ssize_t n;

	if (strlen(name) > DOMAIN_NAME_MAX || !name_link(rd, name, link, sizeof(link)))
		return -ENOENT;     /* no domain can have such a name */
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -ENOENT;     /* none, or not ours to trust */
	target[n] = '\0';
	if (parse_domid(target, &id) || rundir_domain_name(rd, id, live, sizeof(live)) ||
	    strcmp(live, name))
		return -ENOENT;     /* stale: that domain ended, or its domid went to another name */
	*domid = id;
	return 0;
}

int rundir_lookup_name(const struct rundir *rd, const char *name, unsigned int *domid)
{
	struct rundir_domain *doms;
	size_t n;
	int r = rundir_find_name(rd, name, domid);

	if (r != -ENOENT)
		return r;
	/* Not indexed: a directory placed without a claim (the tests' stand-ins do). */
	r = rundir_list_domains(rd, &doms, &n);
	if (r)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n && r; i++) {
		if (!strcmp(doms[i].name, name)) {
			*domid = doms[i].domid;
			r = 0;
		}
	}
	free(doms);
	return r;
}

/* names/=<name> -> domid, replacing what was there (the caller holds domid.lock). */
static int index_name(const struct rundir *rd, const char *name, unsigned int domid)
{
	char link[PATH_MAX], target[32];

	if (!name_link(rd, name, link, sizeof(link)))
		return -ENAMETOOLONG;
	snprintf(target, sizeof(target), "%u", domid);
	if (unlink(link) < 0 && errno != ENOENT)
		return -errno;
	return symlink(target, link) < 0 ? -errno : 0;
}

void rundir_forget_name(const struct rundir *rd, const char *name, unsigned int domid)
{
	char link[PATH_MAX], target[32];
	unsigned int id;
	ssize_t n;

	if (!name_link(rd, name, link, sizeof(link)))
		return;
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	/* Only our own entry: the name may already belong to a newer domain. */
	if (!parse_domid(target, &id) && id == domid)
		unlink(link);
}

/* Once per run directory made before the index: every live domain into it (under the lock). */
static int index_complete(const struct rundir *rd)
{
	char marker[PATH_MAX];
	struct rundir_domain *doms;
	size_t n;
	int fd, r;

	if (!rundir_path(rd, marker, sizeof(marker), "names/.complete"))
		return -ENAMETOOLONG;
	if (access(marker, F_OK) == 0)
		return 0;
	r = rundir_list_domains(rd, &doms, &n);
	if (r)
		return r;
	for (size_t i = 0; i < n && !r; i++)
		r = index_name(rd, doms[i].name, doms[i].domid);
	free(doms);
	if (r)
		return r;
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int lock_domids(const struct rundir *rd)
{
	char path[PATH_MAX];
	int fd;

	if (!rundir_path(rd, path, sizeof(path), "domid.lock"))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int rundir_claim_domid(const struct rundir *rd, const char *staging_dir, const char *name,
		       int keep_domid)
{
	char path[PATH_MAX], target[PATH_MAX], num[32];
	unsigned int last = 0, domid = 0, other;
	int lock, r;

	lock = lock_domids(rd);
	if (lock < 0)
		return lock;
	r = index_complete(rd);
	if (r)
		goto out;
	r = rundir_find_name(rd, name, &other);
	if (r == 0 && (int)other != keep_domid) {
		r = -EEXIST;
		goto out;
	}
	if (r && r != -ENOENT)
		goto out;
	rundir_path(rd, path, sizeof(path), "last-domid");
	if (!read_small_file(path, num, sizeof(num)) && parse_domid(num, &last))
		last = 0;
	r = -ENOSPC;
	for (unsigned int step = 1; step <= DOMID_LAST; step++) {
		unsigned int cand = (last + step - 1) % DOMID_LAST + 1;
		struct stat st;

		if (!rundir_path(rd, target, sizeof(target), "domains/%u", cand))
			break;
		if (stat(target, &st) == 0 || errno != ENOENT)
			continue;
		domid = cand;
		r = 0;
		break;
	}
	if (r)
		goto out;
	/* The entry first: until the rename it points at no live domain, so nobody trusts it. */
	r = index_name(rd, name, domid);
	if (r)
		goto out;
	if (rename(staging_dir, target) < 0) {
		r = -errno;
		rundir_forget_name(rd, name, domid);
		if (keep_domid > 0)
			index_name(rd, name, (unsigned int)keep_domid);
		goto out;
	}
	char tmp[PATH_MAX];
	FILE *f;
	if (rundir_path(rd, tmp, sizeof(tmp), "last-domid.new") && (f = fopen(tmp, "w"))) {
		fprintf(f, "%u\n", domid);
		if (fclose(f) == 0)
			rename(tmp, path);
	}
	r = (int)domid;
out:
	close(lock);
	return r;
}
