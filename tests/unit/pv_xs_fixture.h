/* A fake domain linked to our real xenstored, as a VMM has it, for the tests that drive PV backends
 * (or the link itself) through xenstore with no KVM: guest RAM on a memfd, the link's event loop,
 * and the xenstored this build made, started by the link (xenstored_ensure) in a run directory of
 * the test's own.  Also: Dom0's xenstore client and node read/write, the answer of a deferred
 * control request, and the hunt for the daemon (it forks away, so it is found by its command line)
 * to stop it at teardown.  pv_xs_teardown undoes any part of pv_xs_setup, skipped or failed ones
 * included, so a case runs setup then always teardown.  _GNU_SOURCE comes first in the tests. */
#ifndef XENITH_PV_XS_FIXTURE_H
#define XENITH_PV_XS_FIXTURE_H
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "fake_domain_memfd.h"
#include "fake_grants.h"
#include "xenstored_binary.h"
#include "backends/pv_backend.h"
#include "backends/xenstore_link.h"
#include "hw/device.h"
#include "lib/xs_client.h"
#include "vmm/event_loop.h"

extern const struct device_ops xenstore_link_device;

/* A deferred pv_backend_request's answer (pv_xs_answered is its callback). */
struct pv_xs_answer {
	bool answered;
	int rc;
	char msg[1600];
};

struct pv_xs_fixture {
	char dir[64];                /* run directory: xenstored's socket and tree, the test's files */
	struct domain *d;
	struct event_loop loop;
	struct domain_params params;
	struct console con;
	void *link;
	struct xs_client *xs;        /* Dom0's client, when asked for */
	struct pv_xs_answer answer;
};

struct pv_xs_options {
	const char *tag;             /* names the run directory /tmp/<tag>.XXXXXX and the memfd */
	const char *domain;          /* the domain's name */
	const char *skip_as;         /* set up outside a case: the skip line's name; NULL: the running case skips */
	unsigned int poll_us;        /* params.backend_poll_us */
	uint64_t grant_table_gfn;    /* where the guest's grant table goes; 0: none */
	bool client;                 /* open Dom0's client as f->xs */
};

static inline long long pv_xs_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Runs the loop for `ms`. */
static inline void pv_xs_run_for(struct pv_xs_fixture *f, int ms)
{
	long long end = pv_xs_now_ms() + ms;

	while (pv_xs_now_ms() < end)
		event_loop_run_once(&f->loop, 10);
}

static inline void pv_xs_answered(void *ctx, int rc, const char *msg)
{
	struct pv_xs_answer *a = ctx;

	a->answered = true;
	a->rc = rc;
	snprintf(a->msg, sizeof(a->msg), "%s", msg ? msg : "");
}

/* The daemon serving f->dir, or 0: its socket's peer credentials name the process that bound it,
 * which forked away to daemonize, so it is found by its command line instead. */
static inline pid_t pv_xs_xenstored_pid(const struct pv_xs_fixture *f)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	while (proc && !found && (e = readdir(proc))) {
		char path[300], cmd[512];
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		if (!strncmp(cmd, "xenstored --rundir ", 19) && strstr(cmd, f->dir))
			found = pid;
	}
	if (proc)
		closedir(proc);
	return found;
}

/* Whether `pid` is gone (or a zombie). */
static inline bool pv_xs_pid_gone(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *s = fopen(path, "r");
	if (!s)
		return true;
	char state = '?';
	if (fscanf(s, "%*d %*s %c", &state) != 1)
		state = 'Z';
	fclose(s);
	return state == 'Z';
}

/* Sends `sig` to pid and waits up to 2 s for it to go. */
static inline bool pv_xs_kill_wait(pid_t pid, int sig)
{
	if (kill(pid, sig) < 0)
		return pv_xs_pid_gone(pid);
	for (int i = 0; i < 200 && !pv_xs_pid_gone(pid); i++)
		usleep(10 * 1000);
	return pv_xs_pid_gone(pid);
}

/* An executable file `name` in the run directory holding `text`; aborts when it cannot. */
static inline void pv_xs_write_script(const struct pv_xs_fixture *f, const char *name, const char *text)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *s = fopen(path, "w");
	if (!s || fputs(text, s) < 0 || fclose(s) || chmod(path, 0755))
		abort();
}

/* "/local/domain/0/backend/<type>/<domid>/<devid>" and the frontend's "/local/domain/<domid>/device/<type>/<devid>". */
static inline void pv_xs_be_dir(char *out, size_t len, const char *type, int devid)
{
	snprintf(out, len, "/local/domain/0/backend/%s/%d/%d", type, FAKE_DOMID, devid);
}

static inline void pv_xs_fe_dir(char *out, size_t len, const char *type, int devid)
{
	snprintf(out, len, "/local/domain/%d/device/%s/%d", FAKE_DOMID, type, devid);
}

/* Node <dir>/<key> (key NULL: dir itself), through f->xs, or a client of its own when f has none
 * (xenstored may have been restarted since); NULL when absent.  The caller frees. */
static inline char *pv_xs_read(struct pv_xs_fixture *f, const char *dir, const char *key)
{
	char path[256], err[256], *value = NULL;
	size_t len;
	struct xs_client *xs = f->xs ? f->xs : xs_open(f->dir, err, sizeof(err));

	snprintf(path, sizeof(path), "%s%s%s", dir, key ? "/" : "", key ? key : "");
	if (xs && xs_read(xs, 0, path, &value, &len))
		value = NULL;
	if (xs != f->xs)
		xs_close(xs);
	return value;
}

/* Writes <dir>/<key> through f->xs; aborts when it cannot. */
static inline void pv_xs_vwrite(struct pv_xs_fixture *f, const char *dir, const char *key, const char *fmt, va_list ap)
{
	char path[256], value[64];

	vsnprintf(value, sizeof(value), fmt, ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (!f->xs || xs_write(f->xs, 0, path, value, strlen(value)))
		abort();
}

static inline void pv_xs_write(struct pv_xs_fixture *f, const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline void pv_xs_write(struct pv_xs_fixture *f, const char *dir, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pv_xs_vwrite(f, dir, key, fmt, ap);
	va_end(ap);
}

/* The domain, linked to a xenstored started in a fresh run directory.  False when skipped (a
 * `skip -` line) or failed (a CHECK); either way pv_xs_teardown cleans up. */
static inline bool pv_xs_setup(struct unit *u, struct pv_xs_fixture *f, const struct pv_xs_options *o)
{
	char err[256], xenstored[PATH_MAX], memfd_name[64];

	memset(f, 0, sizeof(*f));
	if (!find_xenstored(xenstored, sizeof(xenstored))) {
		if (o->skip_as)       /* set up outside any case (from main) */
			printf("skip - %s: no xenstored binary beside the tests (build it, or set "
			       "XENITH_XENSTORED)\n", o->skip_as);
		else
			unit_skip(u, "no xenstored binary beside the tests (build it, or set XENITH_XENSTORED)");
		return false;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/%s.XXXXXX", o->tag);
	if (!mkdtemp(f->dir))
		abort();
	setenv("XENITH_RUNDIR", f->dir, 1);
	setenv("XENITH_XENSTORED", xenstored, 1);
	f->d = fake_domain_new(1);
	snprintf(memfd_name, sizeof(memfd_name), "%s-guest", o->tag);
	fake_domain_use_memfd(f->d, memfd_name);
	if (event_loop_init(&f->loop))
		abort();
	f->d->loop = &f->loop;
	f->params = (struct domain_params){ .name = o->domain, .memory_mb = 8, .vcpus = 1,
					    .backend_poll_us = o->poll_us };
	f->d->params = &f->params;
	snprintf(f->con.tty_path, sizeof(f->con.tty_path), "/dev/pts/99");
	f->d->console = &f->con;
	if (xenstore_link_device.init(f->d, &f->link, err, sizeof(err))) {
		CHECK(0, "xenstore link init: %s", err);
		return false;
	}
	if (xenstore_link_connect(f->d, err, sizeof(err))) {
		CHECK(0, "xenstore link connect: %s", err);
		return false;
	}
	if (o->client) {
		f->xs = xs_open(f->dir, err, sizeof(err));
		if (!f->xs) {
			CHECK(0, "xenstore client: %s", err);
			return false;
		}
	}
	if (o->grant_table_gfn)
		fake_grant_table_at(f->d, o->grant_table_gfn);
	return true;
}

/* Backends, client, link, every xenstored of the run directory (one a restart raced with
 * included: none may outlive the test), the domain, the directory. */
static inline void pv_xs_teardown(struct pv_xs_fixture *f)
{
	char cmd[128];
	pid_t pid;

	if (!f->d)                    /* skipped before the domain existed */
		return;
	pv_backends_teardown_all(f->d);
	if (f->xs)
		xs_close(f->xs);
	f->xs = NULL;
	if (f->link)
		xenstore_link_device.teardown(f->d, f->link);
	f->link = NULL;
	for (int tries = 0; tries < 8 && (pid = pv_xs_xenstored_pid(f)) > 0; tries++)
		if (!pv_xs_kill_wait(pid, SIGTERM))
			pv_xs_kill_wait(pid, SIGKILL);
	event_loop_destroy(&f->loop);
	fake_domain_drop_memfd(f->d);
	fake_domain_free(f->d);
	f->d = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", f->dir);
}

#endif
