/* A temporary log folder for the tests of bounded logs (test_console_log.c, test_logfile.c): made
 * under /tmp, removed whole; its files looked at by name.  Include after unit.h: the helpers that
 * can fail CHECK inside the caller's case. */
#ifndef XENITH_TESTS_LOG_FOLDER_H
#define XENITH_TESTS_LOG_FOLDER_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"

struct folder {
	char dir[64];
};

static inline bool folder_make(struct unit *u, struct folder *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/xenith-logs.XXXXXX");
	if (!mkdtemp(f->dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return false;
	}
	return true;
}

static inline void folder_remove(struct folder *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", f->dir);
}

static inline void path_in(const struct folder *f, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", f->dir, name);
}

static inline bool exists_in(const struct folder *f, const char *name)
{
	char p[160];

	path_in(f, name, p, sizeof(p));
	return access(p, F_OK) == 0;
}

/* -1 if there is no such file. */
static inline long size_of(const struct folder *f, const char *name)
{
	char p[160];
	struct stat st;

	path_in(f, name, p, sizeof(p));
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* (mode_t)-1 if there is no such file. */
static inline mode_t mode_of(const struct folder *f, const char *name)
{
	char p[160];
	struct stat st;

	path_in(f, name, p, sizeof(p));
	return stat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* The whole file, NUL-terminated, or NULL if it cannot be read; *len its size. */
static inline char *slurp(const struct folder *f, const char *name, size_t *len)
{
	char p[160];
	struct stat st;
	char *buf = NULL;
	int fd;

	*len = 0;
	path_in(f, name, p, sizeof(p));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1))) {
		ssize_t n;
		while (*len < (size_t)st.st_size &&
		       (n = read(fd, buf + *len, (size_t)st.st_size - *len)) > 0)
			*len += (size_t)n;
		buf[*len] = '\0';
	}
	close(fd);
	return buf;
}

static inline void set_mtime(const struct folder *f, const char *name, time_t mtime)
{
	char p[160];
	struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };

	path_in(f, name, p, sizeof(p));
	utimensat(AT_FDCWD, p, times, 0);
}

/* An ended process's log (or .old): a line, nobody holding it, the given age. */
static inline void make_ended(struct unit *u, const struct folder *f, const char *name, time_t mtime)
{
	char p[160];
	struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };

	path_in(f, name, p, sizeof(p));
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, "ended\n", 6) != 6 || futimens(fd, times))
		CHECK(0, "making %s: %s", p, strerror(errno));
	if (fd >= 0)
		close(fd);
}

#endif
