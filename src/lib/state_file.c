/* Whole-file writes and directories of a daemon's state (state_file.h). */
#define _GNU_SOURCE
#include "lib/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"

int state_dir_make(const char *path, mode_t mode, char *err, size_t errlen)
{
	if (mkdir(path, mode) && errno != EEXIST) {
		int r = -errno;
		ERR_SET(err, errlen, "cannot make %s: %s", path, strerror(errno));
		return r;
	}
	return 0;
}

int state_dir_sync(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = fsync(fd) ? -errno : 0;
	close(fd);
	return r;
}

static int write_all(int fd, const char *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		done += (size_t)w;
	}
	return 0;
}

int state_file_write(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	char dir[PATH_MAX], base[PATH_MAX], tmp[PATH_MAX];
	int n, fd, r;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) ||
	    snprintf(base, sizeof(base), "%s", path) >= (int)sizeof(base)) {
		ERR_SET(err, errlen, "cannot write %.80s...: the path is too long", path);
		return -ENAMETOOLONG;
	}
	/* dirname and basename (libgen's) edit their copies. */
	const char *d = dirname(dir), *b = basename(base);
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", d, b);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		ERR_SET(err, errlen, "cannot write %.80s...: the path is too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);       /* 0600 */
	if (fd < 0) {
		r = -errno;
		ERR_SET(err, errlen, "cannot write %s (a temporary file in %s): %s", path, d,
			strerror(errno));
		return r;
	}
	r = write_all(fd, data, len);
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (r) {
		ERR_SET(err, errlen, "cannot write %s: %s", tmp, strerror(-r));
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path)) {
		r = -errno;
		ERR_SET(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return r;
	}
	state_dir_sync(d);
	return 0;
}
