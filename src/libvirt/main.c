/* xenith-libvirtd [--rundir DIR] [--socket PATH] [--state-dir DIR] [--pid-file FILE] [--foreground]
 * Serves libvirt's remote protocol for this Dom0 (docs/libvirt.md) on PATH, by default
 * <rundir>/libvirt-sock (rundir: --rundir, $XENITH_RUNDIR or /run/xenith), until SIGTERM or SIGINT.
 * Persistent definitions live in --state-dir ($XENITH_LIBVIRT_STATE, /var/lib/xenith/libvirt).
 * Without --foreground it detaches once the socket listens; its log is <rundir>/log/libvirtd.log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/daemon.h"
#include "lib/daemon_log.h"
#include "lib/error.h"
#include "libvirt/autostart.h"
#include "libvirt/server.h"
#include "libvirt/storage.h"

struct options {
	const char *rundir, *socket, *state_dir, *pid_file;
	bool foreground;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: xenith-libvirtd [--rundir DIR] [--socket PATH] [--state-dir DIR]\n"
		     "                       [--pid-file FILE] [--foreground]\n"
		     "  clients connect with: virsh -c 'xen+unix:///system?socket=PATH'\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = NULL;

		if (!strcmp(a, "--foreground") || !strcmp(a, "-F")) {
			o->foreground = true;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "--rundir"))
			slot = &o->rundir;
		else if (!strcmp(a, "--socket"))
			slot = &o->socket;
		else if (!strcmp(a, "--state-dir"))
			slot = &o->state_dir;
		else if (!strcmp(a, "--pid-file"))
			slot = &o->pid_file;
		if (!slot || !val || !*val) {
			fprintf(stderr, "xenith-libvirtd: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return -1;
		}
		*slot = val;
		i++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct virt_daemon *d = malloc(sizeof(*d));  /* large (paths): not on the stack */
	struct options o = { 0 };
	char err[512], sock[PATH_MAX], logdir[PATH_MAX], log_path[PATH_MAX + 32];
	int status = 1, r;

	log_set_program("xenith-libvirtd");
	if (!d) {
		fprintf(stderr, "xenith-libvirtd: out of memory\n");
		return 1;
	}
	if (parse_args(argc, argv, &o) ||
	    virt_daemon_init(d, true, err, sizeof(err)) < 0) {
		if (o.rundir || o.socket)
			fprintf(stderr, "xenith-libvirtd: %s\n", err);
		free(d);
		return 1;
	}
	/* The host reads its directories from the environment (virt_domains.h), as xl does. */
	if ((o.rundir && setenv("XENITH_RUNDIR", o.rundir, 1)) ||
	    (o.state_dir && setenv("XENITH_LIBVIRT_STATE", o.state_dir, 1))) {
		fprintf(stderr, "xenith-libvirtd: setenv: %s\n", strerror(errno));
		goto out;
	}
	if (virt_host_open(&d->host, err, sizeof(err)) < 0) {
		fprintf(stderr, "xenith-libvirtd: %s\n", err);
		goto out;
	}
	const char *rundir = d->host.xl.rd.path;
	if (!o.socket) {
		if ((size_t)snprintf(sock, sizeof(sock), "%s/libvirt-sock", rundir) >= sizeof(sock)) {
			fprintf(stderr, "xenith-libvirtd: run directory name too long\n");
			goto out;
		}
		o.socket = sock;
	}
	snprintf(logdir, sizeof(logdir), "%s/log", rundir);
	snprintf(log_path, sizeof(log_path), "%s/libvirtd.log", logdir);
	if (virt_daemon_listen(d, o.socket, err, sizeof(err)) < 0) {
		fprintf(stderr, "xenith-libvirtd: %s\n", err);
		goto out;
	}
	if (!o.foreground) {
		r = (mkdir(logdir, 0755) < 0 && errno != EEXIST) ? -errno : daemon_detach(log_path);
		if (r < 0) {
			fprintf(stderr, "xenith-libvirtd: daemonizing (log %s): %s\n", log_path, strerror(-r));
			goto out;
		}
		libvirtd_log_bound(rundir);    /* capped like xenstored.log (docs/vmm-control.md) */
	}
	if (o.pid_file && (r = daemon_write_pid_file(o.pid_file)))
		LOG("writing pid file %s: %s", o.pid_file, strerror(-r));
	LOG("serving libvirt clients on %s", o.socket);
	/* Before the loop: clients wait in the socket's backlog meanwhile, each start up to xl's spawn
	 * bound (XL_READY_MS), which is acceptable once per boot at the daemon's start. */
	virt_storage_autostart(&d->host);    /* pools first: a domain's disk may live in one */
	virt_autostart(&d->host);
	if (virt_daemon_run(d, err, sizeof(err)) < 0)
		LOG("%s", err);
	else
		status = 0;
out:
	virt_daemon_fini(d);
	if (status == 0 && o.pid_file)
		unlink(o.pid_file);
	free(d);
	return status;
}
