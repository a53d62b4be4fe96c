/* xenstored [--rundir DIR] [--foreground] [--pid-file FILE] [--no-persist]
 *           [--reconnect-ms N] [--quota-<name> N ...]
 * Loads <rundir>/xenstored/tree (the snapshot, persist.c) if there is one, listens on
 * <rundir>/xenstored/socket (rundir: --rundir, $XENITH_RUNDIR or /run/xenith) and serves until
 * SIGTERM or SIGINT, then removes its sockets.  Logs go to stderr. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/daemon.h"
#include "lib/daemon_log.h"
#include "lib/error.h"
#include "lib/unix_socket.h"
#include "xenstore/domain.h"
#include "xenstore/loop.h"
#include "xenstore/persist.h"
#include "xenstore/resume.h"
#include "xenstore/socket.h"
#include "xenstore/xenstored.h"

struct options {
	const char *rundir;
	const char *pid_file;
	bool foreground;
	bool no_persist;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: xenstored [--rundir DIR] [--foreground] [--pid-file FILE] [--no-persist]\n"
		     "                 [--reconnect-ms N] [--quota-NAME N ...]\n"
		     "  --no-persist      keep no snapshot: a restart starts with an empty store\n"
		     "  --reconnect-ms N  how long a domain from the snapshot waits for its VMM"
		     " (default %u)\n  quotas (0 = unlimited):\n", XS_RECONNECT_MS_DEFAULT);
	for (size_t i = 0; i < xs_quota_table_len; i++)
		fprintf(out, "    --quota-%-13s %s\n", xs_quota_table[i].name, xs_quota_table[i].what);
}

static int parse_args(int argc, char **argv, struct options *o, struct xenstored *xsd)
{
	struct xs_quota *q = &xsd->quota;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--foreground") || !strcmp(a, "-F")) {
			o->foreground = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--rundir") && val) {
			o->rundir = val;
			i++;
		} else if (!strcmp(a, "--no-persist")) {
			o->no_persist = true;
		} else if (!strcmp(a, "--reconnect-ms") && val) {
			char *end;
			errno = 0;
			unsigned long v = strtoul(val, &end, 10);
			if (errno || *end || !*val || *val == '-' || v > 24ul * 3600 * 1000) {
				fprintf(stderr, "xenstored: --reconnect-ms %s: want milliseconds, at most a day\n",
					val);
				return -1;
			}
			xsd->reconnect_ms = (unsigned int)v;
			i++;
		} else if (!strcmp(a, "--pid-file") && val) {
			o->pid_file = val;
			i++;
		} else if (!strncmp(a, "--quota-", 8) && val) {
			char *end;
			errno = 0;
			unsigned long v = strtoul(val, &end, 10);
			if (errno || *end || !*val || *val == '-' || xs_quota_set(q, a + 8, v)) {
				fprintf(stderr, "xenstored: bad quota %s %s\n", a, val);
				return -1;
			}
			i++;
		} else {
			fprintf(stderr, "xenstored: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

/* Does a xenstored already listen on path?  One whose queue is full (stopped) counts: it must not
 * be replaced under its clients, and the bounded connect keeps us from waiting on it forever. */
static bool socket_answers(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 1 };
	int r;

	if (fd < 0)
		return false;
	r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ? -errno :
		unix_socket_connect(fd, path);
	close(fd);
	return r == 0 || r == -EAGAIN;
}

int main(int argc, char **argv)
{
	struct xenstored *xsdp = malloc(sizeof(*xsdp));   /* the context: large, not on the stack */
	struct options o = { 0 };
	char err[512], dir[PATH_MAX], sock[PATH_MAX + 16];
	int status = 1, r;

	log_set_program("xenstored");
	if (!xsdp || xsd_init(xsdp)) {
		fprintf(stderr, "xenstored: out of memory\n");
		return 1;
	}
	if (parse_args(argc, argv, &o, xsdp))
		goto out;
	if (!o.rundir)
		o.rundir = getenv("XENITH_RUNDIR");
	if (!o.rundir || !*o.rundir)
		o.rundir = "/run/xenith";
	if (strlen(o.rundir) >= sizeof(xsdp->rundir)) {
		fprintf(stderr, "xenstored: run directory name too long\n");
		goto out;
	}
	strcpy(xsdp->rundir, o.rundir);
	xenstored_log_bound(xsdp->rundir);    /* xenstored.log capped like the VMMs' (docs/vmm-control.md) */
	snprintf(dir, sizeof(dir), "%s/xenstored", xsdp->rundir);
	snprintf(sock, sizeof(sock), "%s/socket", dir);
	if ((mkdir(xsdp->rundir, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		fprintf(stderr, "xenstored: mkdir %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (socket_answers(sock)) {
		fprintf(stderr, "xenstored: another xenstored already answers on %s\n", sock);
		goto out;
	}
	if (!o.no_persist) {
		char tree[PATH_MAX + 16];
		snprintf(tree, sizeof(tree), "%s/tree", dir);
		persist_enable(xsdp, tree);
		if (persist_load(xsdp) == -ENOMEM) {
			fprintf(stderr, "xenstored: out of memory\n");
			goto out;
		}
	}
	if (socket_listen(xsdp, sock, 0, true, err, sizeof(err))) {
		fprintf(stderr, "xenstored: %s\n", err);
		goto out;
	}
	if (!o.foreground && (r = daemon_detach(NULL))) {
		fprintf(stderr, "xenstored: daemonizing: %s\n", strerror(-r));
		goto out;
	}
	if (loop_init(xsdp, err, sizeof(err)) ||
	    (loop_watch_listeners(xsdp) && (ERR_SET(err, sizeof(err), "epoll_ctl: %s",
						    strerror(errno)), 1))) {
		fprintf(stderr, "xenstored: %s\n", err);
		goto out;
	}
	if (o.pid_file && (r = daemon_write_pid_file(o.pid_file)))
		LOG("writing pid file %s: %s", o.pid_file, strerror(-r));
	r = resume_arm(xsdp);
	if (r)
		LOG("arming the reconnection timer: %s; domains from the snapshot go only with RELEASE",
		    strerror(-r));
	LOG("serving %s (pid %d)", sock, (int)getpid());
	loop_commit(xsdp);     /* the snapshot as loaded (or a fresh one) */
	loop_run(xsdp);
	LOG("%llu requests served; snapshot written %lu times (last: %llu bytes in %llu us)",
	    xsdp->requests, xsdp->persist.writes, xsdp->persist.bytes, xsdp->persist.ns / 1000);
	/* A clean stop keeps the snapshot while domains may come back for their rings; with none,
	 * it leaves nothing behind, like the sockets. */
	bool domains = false;
	for (struct xs_domain *d = xsdp->domains; d; d = d->next)
		domains |= domain_introduced(d);
	if (!domains)
		persist_remove(xsdp);
	if (o.pid_file)
		unlink(o.pid_file);
	status = 0;
out:
	xsd_destroy(xsdp);
	if (xsdp->epfd >= 0)
		close(xsdp->epfd);
	if (xsdp->signal_fd >= 0)
		close(xsdp->signal_fd);
	free(xsdp);
	return status;
}
