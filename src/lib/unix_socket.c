#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "lib/unix_socket.h"

static int with_address(int fd, const char *path, bool do_bind)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *slash = strrchr(path, '/');
	int dir = -1, r;

	if (strlen(path) < sizeof(sa.sun_path)) {
		strcpy(sa.sun_path, path);
	} else {
		char dirpath[PATH_MAX];
		if (!slash || (size_t)(slash - path) >= sizeof(dirpath))
			return -ENAMETOOLONG;
		snprintf(dirpath, sizeof(dirpath), "%.*s", (int)(slash - path), path);
		dir = open(dirpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			return -errno;
		if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d%s", dir, slash) >=
		    sizeof(sa.sun_path)) {
			close(dir);
			return -ENAMETOOLONG;
		}
	}
	r = do_bind ? bind(fd, (struct sockaddr *)&sa, sizeof(sa)) : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	r = r < 0 ? -errno : 0;
	if (dir >= 0)
		close(dir);
	return r;
}

int unix_socket_bind(int fd, const char *path)
{
	return with_address(fd, path, true);
}

int unix_socket_connect(int fd, const char *path)
{
	return with_address(fd, path, false);
}
