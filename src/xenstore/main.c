/* xenstored [--rundir DIR] [--foreground] [--pid-file FILE] [--quota-<name> N ...]
 * Listens on <rundir>/xenstored/socket (rundir: --rundir, $XENITH_RUNDIR or /run/xenith) and
 * serves until SIGTERM or SIGINT, then removes its sockets.  Logs go to stderr. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/unix_socket.h"
#include "xenstore/domain.h"
#include "xenstore/loop.h"
#include "xenstore/socket.h"
#include "xenstore/xenstored.h"

struct options {
	const char *rundir;
	const char *pid_file;
	bool foreground;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: xenstored [--rundir DIR] [--foreground] [--pid-file FILE]"
		     " [--quota-NAME N ...]\n  quotas (0 = unlimited):\n");
	for (size_t i = 0; i < xs_quota_table_len; i++)
		fprintf(out, "    --quota-%-13s %s\n", xs_quota_table[i].name, xs_quota_table[i].what);
}

static int parse_args(int argc, char **argv, struct options *o, struct xs_quota *q)
{
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

/* Does a xenstored already answer on path? */
static bool socket_answers(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = unix_socket_connect(fd, path) == 0;
	close(fd);
	return yes;
}

static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) ? -errno : 0;
}

/* Detaches from the terminal; the parent returns only once the socket is listening (it is, as we
 * listen before forking), so whoever started us may connect at once. */
static int daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	return chdir("/") < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct xenstored *xsdp = malloc(sizeof(*xsdp));   /* the context: large, not on the stack */
	struct options o = { 0 };
	char err[512], dir[PATH_MAX], sock[PATH_MAX + 16];
	int status = 1;

	log_set_program("xenstored");
	if (!xsdp || xsd_init(xsdp)) {
		fprintf(stderr, "xenstored: out of memory\n");
		return 1;
	}
	if (parse_args(argc, argv, &o, &xsdp->quota))
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
	if (socket_listen(xsdp, sock, 0, true, err, sizeof(err))) {
		fprintf(stderr, "xenstored: %s\n", err);
		goto out;
	}
	if (!o.foreground && daemonize()) {
		fprintf(stderr, "xenstored: daemonizing: %s\n", strerror(errno));
		goto out;
	}
	if (loop_init(xsdp, err, sizeof(err)) ||
	    (loop_watch_listeners(xsdp) && (ERR_SET(err, sizeof(err), "epoll_ctl: %s",
						    strerror(errno)), 1))) {
		fprintf(stderr, "xenstored: %s\n", err);
		goto out;
	}
	if (o.pid_file && write_pid_file(o.pid_file))
		LOG("writing pid file %s: %s", o.pid_file, strerror(errno));
	LOG("serving %s (pid %d)", sock, (int)getpid());
	loop_run(xsdp);
	LOG("%llu requests served", xsdp->requests);
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
