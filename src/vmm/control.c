#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "lib/error.h"
#include "vmm/control.h"
#include "vmm/domain.h"

#define CONTROL_MSG_MAX 512

int control_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *slash = strrchr(path, '/');
	int fd, dir_fd = -1;

	if (strlen(path) < sizeof(addr.sun_path)) {
		strcpy(addr.sun_path, path);
	} else if (slash) {
		/* A deep run directory: reach it through an fd, as xl does when it connects. */
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd < 0 || (size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d%s",
						   dir_fd, slash) >= sizeof(addr.sun_path)) {
			ERR_SET(err, errlen, "control socket %s: path too long", path);
			if (dir_fd >= 0)
				close(dir_fd);
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
		ERR_SET(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (dir_fd >= 0)
		close(dir_fd);
	return fd;
}

static void handle_request(struct domain *dom, char *req, char *reply, size_t len, bool *destroy)
{
	char flags[7];
	char *cmd = strtok(req, " \n");

	if (!cmd) {
		snprintf(reply, len, "error EINVAL empty request");
	} else if (!strcmp(cmd, "info")) {
		domain_state_flags(dom, flags);
		snprintf(reply, len, "ok domid=%d name=%s mem=%llu vcpus=%u state=%s cputime=%.3f",
			 dom->domid, dom->params->name, (unsigned long long)dom->params->memory_mb,
			 dom->params->vcpus, flags, domain_cpu_seconds(dom));
	} else if (!strcmp(cmd, "pause")) {
		domain_pause(dom);
		snprintf(reply, len, "ok");
	} else if (!strcmp(cmd, "unpause")) {
		domain_unpause(dom);
		snprintf(reply, len, "ok");
	} else if (!strcmp(cmd, "destroy")) {
		*destroy = true;
		snprintf(reply, len, "ok");
	} else {
		snprintf(reply, len, "error ENOSYS unknown request '%.64s'", cmd);
	}
}

void control_serve_one(int listen_fd, struct domain *dom, bool *destroy)
{
	char req[CONTROL_MSG_MAX + 1], reply[CONTROL_MSG_MAX];
	struct timeval timeout = { .tv_sec = 2 };
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	/* A client that connects and says nothing must not hold the domain's main loop for long. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	n = recv(fd, req, CONTROL_MSG_MAX, 0);
	if (n > 0) {
		req[n] = '\0';
		handle_request(dom, req, reply, sizeof(reply), destroy);
		if (send(fd, reply, strlen(reply), MSG_NOSIGNAL) < 0)
			LOG("control reply: %s", strerror(errno));
	}
	close(fd);
}
