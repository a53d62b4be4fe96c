#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "backends/netback.h"
#include "lib/error.h"
#include "lib/unix_socket.h"
#include "vmm/control.h"
#include "vmm/domain.h"

#define CONTROL_MSG_MAX 512
#define CONTROL_REPLY_MAX 8192        /* vif-list and vbd-list have a line per device */

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

static const char *errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case ENOSPC: return "ENOSPC";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	case EACCES: return "EACCES";
	case EROFS: return "EROFS";
	case EISDIR: return "EISDIR";
	default: return "EIO";
	}
}

/* vif-detach answers once the vif is gone, which can take until the frontend closes: the
 * connection stays open until then (its fd travels as the callback's context). */
static void detach_done(void *ctx, int rc, const char *msg)
{
	int fd = (int)(intptr_t)ctx;
	char reply[256];

	if (rc)
		snprintf(reply, sizeof(reply), "error %s %s", errno_name(-rc), msg);
	else
		snprintf(reply, sizeof(reply), "ok");
	if (send(fd, reply, strlen(reply), MSG_NOSIGNAL) < 0)
		LOG("control reply: %s", strerror(errno));
	close(fd);
}

/* vif-attach SPEC | vif-detach DEVID | vif-list [stats] (docs/netif.md).  Returns true when the
 * reply is deferred (and fd is no longer ours). */
static bool vif_request(struct domain *dom, const char *cmd, int fd, char *reply, size_t len)
{
	char err[1024], vifname[32];
	char *arg = strtok(NULL, "\n");
	int devid, r;

	while (arg && *arg == ' ')
		arg++;
	if (!strcmp(cmd, "vif-attach")) {
		if (!arg || !*arg) {
			snprintf(reply, len, "error EINVAL usage: vif-attach SPEC");
			return false;
		}
		r = netback_attach(dom, arg, &devid, vifname, sizeof(vifname), err, sizeof(err));
		if (r)
			snprintf(reply, len, "error %s %s", errno_name(-r), err);
		else
			snprintf(reply, len, "ok devid=%d vifname=%s", devid, vifname);
		return false;
	}
	if (!strcmp(cmd, "vif-list")) {
		size_t at = (size_t)snprintf(reply, len, "ok\n");
		if (arg && !strcmp(arg, "stats"))
			netback_list_stats(dom, reply + at, len - at);
		else
			netback_list(dom, reply + at, len - at);
		if (!reply[at])
			reply[2] = '\0';
		return false;
	}
	char *end;
	long d = arg ? strtol(arg, &end, 10) : -1;
	if (!arg || end == arg || *end || d < 0 || d > 65535) {
		snprintf(reply, len, "error EINVAL usage: vif-detach DEVID");
		return false;
	}
	r = netback_detach(dom, (int)d, detach_done, (void *)(intptr_t)fd);
	if (r == -ENOENT)
		snprintf(reply, len, "error ENOENT no vif %ld", d);
	else if (r == -EBUSY)
		snprintf(reply, len, "error EBUSY vif %ld is already being detached", d);
	return r == 0;
}

/* vbd-attach SPEC | vbd-detach DEVID | vbd-list [stats] (docs/blkif.md).  Returns true when the
 * reply is deferred (and fd is no longer ours). */
static bool vbd_request(struct domain *dom, const char *cmd, int fd, char *reply, size_t len)
{
	char err[1024];
	char *arg = strtok(NULL, "\n");
	int devid, r;

	while (arg && *arg == ' ')
		arg++;
	if (!strcmp(cmd, "vbd-attach")) {
		if (!arg || !*arg) {
			snprintf(reply, len, "error EINVAL usage: vbd-attach SPEC");
			return false;
		}
		r = blkback_attach(dom, arg, &devid, err, sizeof(err));
		if (r)
			snprintf(reply, len, "error %s %s", errno_name(-r), err);
		else
			snprintf(reply, len, "ok devid=%d", devid);
		return false;
	}
	if (!strcmp(cmd, "vbd-list")) {
		size_t at = (size_t)snprintf(reply, len, "ok\n");
		if (arg && !strcmp(arg, "stats"))
			blkback_list_stats(dom, reply + at, len - at);
		else
			blkback_list(dom, reply + at, len - at);
		if (!reply[at])
			reply[2] = '\0';
		return false;
	}
	char *end;
	long d = arg ? strtol(arg, &end, 10) : -1;
	if (!arg || end == arg || *end || d < 0 || d > INT32_MAX) {
		snprintf(reply, len, "error EINVAL usage: vbd-detach DEVID");
		return false;
	}
	r = blkback_detach(dom, (int)d, detach_done, (void *)(intptr_t)fd);
	if (r == -ENOENT)
		snprintf(reply, len, "error ENOENT no vbd %ld", d);
	else if (r == -EBUSY)
		snprintf(reply, len, "error EBUSY vbd %ld is already being detached", d);
	return r == 0;
}

static bool handle_request(struct domain *dom, char *req, int fd, char *reply, size_t len, bool *destroy)
{
	char flags[7];
	char *cmd = strtok(req, " \n");

	if (!cmd) {
		snprintf(reply, len, "error EINVAL empty request");
	} else if (!strcmp(cmd, "info")) {
		domain_state_flags(dom, flags);
		snprintf(reply, len, "ok domid=%d name=%s mem=%llu vcpus=%u state=%s cputime=%.3f "
			 "hypercalls=%llu unseen_hypercalls=%llu",
			 dom->domid, dom->params->name, (unsigned long long)dom->params->memory_mb,
			 dom->params->vcpus, flags, domain_cpu_seconds(dom),
			 (unsigned long long)vcpu_watch_seen(dom),
			 (unsigned long long)vcpu_watch_unseen(dom));
	} else if (!strcmp(cmd, "pause")) {
		domain_pause(dom);
		snprintf(reply, len, "ok");
	} else if (!strcmp(cmd, "unpause")) {
		domain_unpause(dom);
		snprintf(reply, len, "ok");
	} else if (!strcmp(cmd, "grant-read") || !strcmp(cmd, "grant-write")) {
		grant_request(dom, cmd, reply, len);
	} else if (!strcmp(cmd, "vif-attach") || !strcmp(cmd, "vif-detach") || !strcmp(cmd, "vif-list")) {
		return vif_request(dom, cmd, fd, reply, len);
	} else if (!strcmp(cmd, "vbd-attach") || !strcmp(cmd, "vbd-detach") || !strcmp(cmd, "vbd-list")) {
		return vbd_request(dom, cmd, fd, reply, len);
	} else if (!strcmp(cmd, "destroy")) {
		*destroy = true;
		snprintf(reply, len, "ok");
	} else {
		snprintf(reply, len, "error ENOSYS unknown request '%.64s'", cmd);
	}
	return false;
}

void control_serve_one(int listen_fd, struct domain *dom, bool *destroy)
{
	char req[CONTROL_MSG_MAX + 1], reply[CONTROL_REPLY_MAX];
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
		if (handle_request(dom, req, fd, reply, sizeof(reply), destroy))
			return;         /* answered later; the fd went with the request */
		if (send(fd, reply, strlen(reply), MSG_NOSIGNAL) < 0)
			LOG("control reply: %s", strerror(errno));
	}
	close(fd);
}
