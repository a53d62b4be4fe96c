#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "lib/error.h"
#include "lib/unix_socket.h"
#include "vmm/control.h"
#include "vmm/domain.h"

#define CONTROL_MSG_MAX 512

int control_listen(const char *path, char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = fd < 0 ? -errno : unix_socket_bind(fd, path);

	if (!r && listen(fd, 16) < 0)
		r = -errno;
	if (r) {
		ERR_SET(err, errlen, "control socket %s: %s", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Dom0 looking at a guest's grant through the same API backends use: `grant-read REF LEN` answers
 * the bytes (non-printing ones as \\xNN), `grant-write REF TEXT` stores TEXT at the page's start. */
static void grant_request(struct domain *dom, const char *cmd, char *reply, size_t len)
{
	char *ref_s = strtok(NULL, " "), *arg = strtok(NULL, "");
	struct grant_mapping map;
	bool write = !strcmp(cmd, "grant-write");
	char *end;
	unsigned long ref = ref_s ? strtoul(ref_s, &end, 10) : 0;

	if (!ref_s || *end || !arg) {
		snprintf(reply, len, "error EINVAL usage: %s REF %s", cmd, write ? "TEXT" : "LEN");
		return;
	}
	int r = gnttab_map(dom, (grant_ref_t)ref, 0, !write, &map);
	if (r) {
		snprintf(reply, len, "error %s grant %lu refused for Dom0 %s (%d)", r == -XEN_EPERM ? "EPERM" : "EINVAL",
			 ref, write ? "writing" : "reading", r);
		return;
	}
	if (write) {
		size_t n = strlen(arg) + 1;
		memcpy(map.page, arg, n < 4096 ? n : 4096);
		snprintf(reply, len, "ok");
	} else {
		unsigned long want = strtoul(arg, NULL, 10);
		size_t at = (size_t)snprintf(reply, len, "ok ");
		const uint8_t *p = map.page;
		for (unsigned long i = 0; i < want && i < 4096 && at + 5 < len; i++) {
			if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
				reply[at++] = (char)p[i];
			else
				at += (size_t)snprintf(reply + at, len - at, "\\x%02x", p[i]);
		}
		reply[at] = '\0';
	}
	gnttab_unmap(&map);
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
	} else if (!strcmp(cmd, "grant-read") || !strcmp(cmd, "grant-write")) {
		grant_request(dom, cmd, reply, len);
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
