/* A log folder of bounded files (logfile.h, where the rules are). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/error.h"
#include "lib/logfile.h"

#define LOG_SUFFIX ".log"

/* ---- policy ---- */

int logfile_policy_parse(struct logfile_policy *policy, const char *env_name, const char *value,
			 char *err, size_t errlen)
{
	char *end;
	unsigned long kept;

	*policy = (struct logfile_policy){ .cap = LOGFILE_CAP, .kept = LOGFILE_KEPT };
	if (!value)
		return 0;
	errno = 0;
	kept = strtoul(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end || errno || kept > LOGFILE_KEPT_MAX) {
		ERR_SET(err, errlen, "%s='%s': expected how many ended domains' logs to keep, 0 to %u",
			env_name, value, LOGFILE_KEPT_MAX);
		return -1;
	}
	policy->kept = (unsigned int)kept;
	return 0;
}

/* ---- the folder and its lock ---- */

static int lock_wait(int fd, int how)
{
	while (flock(fd, how) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

void logfile_folder_of(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
}

int logfile_lock(const char *dir, const struct logfile_family *family)
{
	char path[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, family->lock) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && (r = lock_wait(fd, LOCK_EX))) {
		close(fd);
		errno = -r;
		fd = -1;
	}
	return fd;
}

void logfile_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);       /* closing drops the flock */
}

/* ---- one log ---- */

static void narrow_mode(int fd)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777 & ~LOGFILE_MODE))
		fchmod(fd, st.st_mode & LOGFILE_MODE);
}

int logfile_open_held(const char *path, int extra_flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | extra_flags,
		      LOGFILE_MODE);
	int r;

	if (fd < 0)
		return -1;
	if ((r = lock_wait(fd, LOCK_SH))) {
		close(fd);
		errno = -r;
		return -1;
	}
	narrow_mode(fd);
	return fd;
}

int logfile_open_live(const char *path, const struct logfile_family *family)
{
	char dir[PATH_MAX];
	int lock, fd, saved;

	if (strlen(path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	logfile_folder_of(path, dir);
	lock = logfile_lock(dir, family);
	if (lock < 0)
		return -1;
	fd = logfile_open_held(path, 0);
	saved = errno;
	logfile_unlock(lock);
	errno = saved;
	return fd;
}

/* path.old into old (PATH_MAX bytes); false if it does not fit. */
static bool old_path(const char *path, char *old)
{
	return (size_t)snprintf(old, PATH_MAX, "%s" LOGFILE_OLD_SUFFIX, path) < PATH_MAX;
}

/* Is the log `name` in dirfd held by a live process?  An error counts as live. */
static bool held_live(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	bool live;

	if (fd < 0)
		return errno != ENOENT;          /* a .old alone: its process has ended */
	live = flock(fd, LOCK_EX | LOCK_NB) < 0;
	close(fd);
	return live;
}

int logfile_set_aside_locked(const char *path)
{
	char old[PATH_MAX];
	int earlier = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	bool live;

	if (earlier < 0)
		return 0;
	live = flock(earlier, LOCK_EX | LOCK_NB) < 0;
	if (!live && old_path(path, old) && rename(path, old) == 0)
		narrow_mode(earlier);
	close(earlier);
	return live ? -EBUSY : 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int logfile_rotate_locked(const char *path, int fd)
{
	char old[PATH_MAX];
	struct stat ours, named;
	int extra = 0, fresh;

	if (fstat(fd, &ours) == 0 && lstat(path, &named) == 0 && same_file(&ours, &named))
		extra = old_path(path, old) && rename(path, old) == 0 ? 0 : O_TRUNC;
	fresh = logfile_open_held(path, extra);
	if (fresh < 0)
		return -errno;
	if (fresh != fd) {
		int r = dup2(fresh, fd) < 0 ? -errno : 0;   /* the lock goes with the open file */
		close(fresh);
		return r;
	}
	return 0;
}

/* ---- pruning ---- */

struct ended_log {
	char base[NAME_MAX + 1];         /* <prefix><name>.log */
	struct timespec mtime;           /* the newer of the two files' */
};

static int newest_first(const void *a, const void *b)
{
	const struct ended_log *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return strcmp(x->base, y->base);
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

/* The family's log a folder entry belongs to, into base, or false.  A .log.old is counted only
 * when its .log is gone (otherwise the .log's entry stands for both). */
static bool entry_base(int dirfd, const char *prefix, const char *entry, char *base)
{
	size_t len = strlen(entry), pre = strlen(prefix);
	struct stat st;

	if (len >= NAME_MAX + 1 || strncmp(entry, prefix, pre))
		return false;
	if (len > pre + strlen(LOG_SUFFIX LOGFILE_OLD_SUFFIX) &&
	    ends_with(entry, len, LOG_SUFFIX LOGFILE_OLD_SUFFIX)) {
		memcpy(base, entry, len - strlen(LOGFILE_OLD_SUFFIX));
		base[len - strlen(LOGFILE_OLD_SUFFIX)] = '\0';
		return fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	}
	if (len > pre + strlen(LOG_SUFFIX) && ends_with(entry, len, LOG_SUFFIX)) {
		memcpy(base, entry, len + 1);
		return true;
	}
	return false;
}

/* The newer mtime of base and base.old (regular files only); false if neither is one. */
static bool log_mtime(int dirfd, const char *base, const char *old, struct timespec *mtime)
{
	struct stat st;
	bool any = false;

	*mtime = (struct timespec){ 0 };
	for (const char *const *f = (const char *const[]){ base, old, NULL }; *f; f++) {
		if (fstatat(dirfd, *f, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (!any || st.st_mtim.tv_sec > mtime->tv_sec ||
		    (st.st_mtim.tv_sec == mtime->tv_sec && st.st_mtim.tv_nsec > mtime->tv_nsec))
			*mtime = st.st_mtim;
		any = true;
	}
	return any;
}

void logfile_prune_locked(const char *dir, const struct logfile_family *family, unsigned int kept)
{
	struct ended_log *ended = NULL;
	size_t n = 0, room = 0;
	struct dirent *e;
	DIR *d;

	if (!family->prefix || !(d = opendir(dir)))
		return;
	int fd = dirfd(d);
	while ((e = readdir(d))) {
		struct ended_log one;
		char old[NAME_MAX + 1];

		if (!entry_base(fd, family->prefix, e->d_name, one.base) ||
		    (size_t)snprintf(old, sizeof(old), "%s" LOGFILE_OLD_SUFFIX, one.base) >= sizeof(old) ||
		    !log_mtime(fd, one.base, old, &one.mtime) || held_live(fd, one.base))
			continue;
		if (n == room) {
			size_t grown = room ? 2 * room : 32;
			struct ended_log *more = realloc(ended, grown * sizeof(*ended));
			if (!more)
				break;                   /* prune what is known; the next pass gets the rest */
			ended = more;
			room = grown;
		}
		ended[n++] = one;
	}
	if (n > kept) {
		qsort(ended, n, sizeof(*ended), newest_first);
		for (size_t i = kept; i < n; i++) {
			char old[NAME_MAX + 1];
			unlinkat(fd, ended[i].base, 0);
			if ((size_t)snprintf(old, sizeof(old), "%s" LOGFILE_OLD_SUFFIX, ended[i].base) < sizeof(old))
				unlinkat(fd, old, 0);
		}
	}
	free(ended);
	closedir(d);
}

void logfile_prune(const char *dir, const struct logfile_family *family, unsigned int kept)
{
	int lock;

	if (!family->prefix)
		return;
	lock = logfile_lock(dir, family);
	if (lock >= 0)
		logfile_prune_locked(dir, family, kept);
	logfile_unlock(lock);
}

/* ---- a log behind a fixed fd ---- */

int logfile_bound_adopt(struct logfile_bound *b, int fd, const char *path,
			const struct logfile_family *family, const struct logfile_policy *policy)
{
	struct stat ours, named;
	char dir[PATH_MAX];
	int r;

	*b = (struct logfile_bound){ .fd = -1 };
	if (strlen(path) + strlen(LOGFILE_OLD_SUFFIX) >= sizeof(b->path))
		return -ENAMETOOLONG;
	if (fstat(fd, &ours) || !S_ISREG(ours.st_mode) || lstat(path, &named) || !same_file(&ours, &named))
		return 0;
	if ((r = lock_wait(fd, LOCK_SH)))
		return r;
	narrow_mode(fd);
	*b = (struct logfile_bound){ .on = true, .fd = fd, .family = family, .policy = *policy };
	strcpy(b->path, path);
	logfile_folder_of(path, dir);
	logfile_prune(dir, family, policy->kept);
	return 1;
}

void logfile_bound_make_room(struct logfile_bound *b, size_t len)
{
	struct stat st;
	char dir[PATH_MAX];
	int lock;

	if (!b->on || !b->policy.cap || fstat(b->fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size + len <= b->policy.cap)
		return;
	logfile_folder_of(b->path, dir);
	lock = logfile_lock(dir, b->family);
	/* Without the lock a rotation could race a pruner: keep writing, and try again next time. */
	if (lock >= 0)
		logfile_rotate_locked(b->path, b->fd);
	logfile_unlock(lock);
}

void logfile_bound_end(struct logfile_bound *b)
{
	char dir[PATH_MAX];

	if (!b->on)
		return;
	flock(b->fd, LOCK_UN);
	logfile_folder_of(b->path, dir);
	logfile_prune(dir, b->family, b->policy.kept);
	b->on = false;
}
