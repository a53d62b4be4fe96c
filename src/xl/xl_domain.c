/* Domains as xl sees them: directories in the run directory, each with a control socket served by
 * the domain's VMM (docs/vmm-control.md).
 *
 * A VMM that died without cleaning up leaves its directory behind.  We can tell: its socket file is
 * there but nobody listens on it any more, so connect() fails with ECONNREFUSED.  Only then do we
 * remove the directory.  A missing socket (ENOENT) is not proof: the VMM may be tearing down. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "lib/daemon_log.h"
#include "lib/unix_socket.h"
#include "lib/uuid.h"
#include "xl/cfg_write.h"
#include "xl/xl_block.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cfg.h"
#include "xl/xl_control.h"
#include "xl/xl_domain.h"
#include "xl/xl_reap.h"
#include "xl/xl_store.h"
#include "xl/xl_vmm.h"

#define READY_FD 3               /* where the VMM finds its --ready-fd */
#define RESTORE_FD 4             /* and its --restore-fd, when it restores a saved domain */

int xl_ctx_rundir(struct xl_ctx *ctx)
{
	int r;

	if (ctx->rd_open)
		return 0;
	r = rundir_open(&ctx->rd);
	if (r) {
		const char *env = getenv("XENITH_RUNDIR");

		fprintf(stderr, "xl: cannot use the run directory %s: %s%s\n",
			env && *env ? env : "/run/xenith", strerror(-r),
			r == -EACCES ? " (run as root, or set XENITH_RUNDIR)" : "");
		return r;
	}
	/* The VMM runs in "/" and gets this path: a relative XENITH_RUNDIR must become absolute. */
	if (ctx->rd.path[0] != '/') {
		char abs[PATH_MAX];

		if (!realpath(ctx->rd.path, abs) || strlen(abs) >= sizeof(ctx->rd.path)) {
			fprintf(stderr, "xl: cannot resolve the run directory %s: %s\n", ctx->rd.path,
				strerror(errno ? errno : ENAMETOOLONG));
			return -ENAMETOOLONG;
		}
		memcpy(ctx->rd.path, abs, strlen(abs) + 1);
	}
	ctx->rd_open = true;
	return 0;
}

static bool parse_uint(const char *s, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && !*end;
}

int xl_find_domain(struct xl_ctx *ctx, const char *qualifier, unsigned int *domid, char *name,
		   size_t namelen)
{
	unsigned long id;
	int r;

	if ((parse_uint(qualifier, &id) && id == 0) || !strcmp(qualifier, XL_DOM0_NAME)) {
		*domid = 0;
		snprintf(name, namelen, "%s", XL_DOM0_NAME);
		return 0;
	}
	r = xl_ctx_rundir(ctx);
	if (r)
		return r;
	if (parse_uint(qualifier, &id)) {
		if (id < DOMID_FIRST || id > DOMID_LAST)
			return -ENOENT;
		r = rundir_domain_name(&ctx->rd, (unsigned int)id, name, namelen);
		if (r == -ENOENT || r == -ENOTDIR)
			return -ENOENT;
		if (r)
			return r;
		*domid = (unsigned int)id;
		return 0;
	}
	r = rundir_lookup_name(&ctx->rd, qualifier, domid);
	if (r == -ENOTDIR)
		r = -ENOENT;
	if (r == 0)
		snprintf(name, namelen, "%s", qualifier);
	return r;
}

static struct timeval ms_to_timeval(int ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

/* Connects to domains/<domid>/control.sock, only to see whether anyone listens.  0 or -errno. */
static int control_probe(const struct rundir *rd, unsigned int domid, int timeout_ms)
{
	struct timeval tv = ms_to_timeval(timeout_ms);
	char path[PATH_MAX];
	int fd, r;

	if (!rundir_path(rd, path, sizeof(path), "domains/%u/control.sock", domid))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ? -errno :
	    unix_socket_connect(fd, path);
	close(fd);
	return r;
}

static bool domain_dir_exists(const struct rundir *rd, unsigned int domid)
{
	char path[PATH_MAX];
	struct stat st;

	if (!rundir_path(rd, path, sizeof(path), "domains/%u", domid))
		return false;
	return stat(path, &st) == 0 || errno != ENOENT;
}

/* A dead VMM's leftovers go; what could not be removed from xenstore is said, not fatal. */
static void reap(struct xl_ctx *ctx, unsigned int domid)
{
	char why[512];

	if (xl_reap_domain(&ctx->rd, domid, why, sizeof(why)))
		fprintf(stderr, "xl: warning: domain %u's VMM is dead; %s\n", domid, why);
}

bool xl_domain_reap_if_dead(struct xl_ctx *ctx, unsigned int domid)
{
	int r = control_probe(&ctx->rd, domid, XL_PROBE_MS);

	if (r == -ECONNREFUSED) {
		reap(ctx, domid);
		return true;
	}
	if (r == 0 || r == -EAGAIN)
		return false;        /* someone listens, even if too busy to take us now */
	return !domain_dir_exists(&ctx->rd, domid);
}

int xl_domain_call(struct xl_ctx *ctx, unsigned int domid, const char *request, int timeout_ms,
		   char *reply, size_t len, pid_t *vmm_pid)
{
	struct xl_call call = { .domid = domid, .request = request, .reply = reply, .len = len };

	xl_control_calls(&ctx->rd, &call, 1, timeout_ms);
	if (call.refused)
		reap(ctx, domid);
	if (vmm_pid)
		*vmm_pid = call.vmm_pid;
	return call.result;
}

int xl_domain_request(struct xl_ctx *ctx, unsigned int domid, const char *request, int timeout_ms,
		      char *reply, size_t len)
{
	return xl_domain_call(ctx, domid, request, timeout_ms, reply, len, NULL);
}

static void info_init(struct xl_dominfo *info, unsigned int domid, const char *name)
{
	memset(info, 0, sizeof(*info));
	info->domid = domid;
	snprintf(info->name, sizeof(info->name), "%s", name);
	snprintf(info->type, sizeof(info->type), "pvh");
	memcpy(info->state, "------", sizeof(info->state));
}

/* Words of key=value; the name comes from the run directory, as it may hold spaces. */
static void info_parse(char *reply, struct xl_dominfo *info)
{
	char *save = NULL;

	for (char *w = strtok_r(reply, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *v = strchr(w, '=');

		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(w, "mem"))
			info->mem_mib = strtoul(v, NULL, 10);
		else if (!strcmp(w, "vcpus"))
			info->vcpus = (unsigned int)strtoul(v, NULL, 10);
		else if (!strcmp(w, "cputime"))
			info->cputime = strtod(v, NULL);
		else if (!strcmp(w, "hypercalls"))
			info->hypercalls = strtoull(v, NULL, 10);
		else if (!strcmp(w, "unseen_hypercalls"))
			info->unseen_hypercalls = strtoull(v, NULL, 10);
		else if (!strcmp(w, "mem_kb"))
			info->mem_kb = strtoull(v, NULL, 10);
		else if (!strcmp(w, "maxmem_kb"))
			info->maxmem_kb = strtoull(v, NULL, 10);
		else if (!strcmp(w, "target_kb"))
			info->target_kb = strtoull(v, NULL, 10);
		else if (!strcmp(w, "type"))
			snprintf(info->type, sizeof(info->type), "%s", v);
		else if (!strcmp(w, "uuid"))
			info->has_uuid = uuid_parse(v, info->uuid) == 0;
		else if (!strcmp(w, "state"))
			for (size_t i = 0; i < 6 && v[i]; i++)
				info->state[i] = v[i] > ' ' && v[i] < 0x7f ? v[i] : '?';
	}
}

int xl_domain_info(struct xl_ctx *ctx, unsigned int domid, const char *name, struct xl_dominfo *info,
		   char *err, size_t errlen)
{
	struct rundir_domain dom = { .domid = domid };
	int r;

	snprintf(dom.name, sizeof(dom.name), "%s", name);
	xl_domain_info_all(ctx, &dom, 1, info, &r, XL_REQUEST_MS);
	if (r)
		snprintf(err, errlen, "%s", info->problem);
	return r;
}

void xl_domain_info_all(struct xl_ctx *ctx, const struct rundir_domain *doms, size_t n,
			struct xl_dominfo *infos, int *results, int timeout_ms)
{
	struct xl_call *calls = calloc(n ? n : 1, sizeof(*calls));
	char (*replies)[4096] = calloc(n ? n : 1, sizeof(*replies));

	for (size_t i = 0; i < n; i++)
		info_init(&infos[i], doms[i].domid, doms[i].name);
	if (!calls || !replies) {
		for (size_t i = 0; i < n; i++) {
			results[i] = -ENOMEM;
			snprintf(infos[i].problem, sizeof(infos[i].problem), "out of memory");
		}
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		calls[i] = (struct xl_call){ .domid = doms[i].domid, .request = "info",
					     .reply = replies[i], .len = sizeof(replies[i]) };
	xl_control_calls(&ctx->rd, calls, n, timeout_ms);
	for (size_t i = 0; i < n; i++) {
		results[i] = calls[i].result;
		infos[i].vmm_pid = calls[i].vmm_pid;
		if (calls[i].refused)
			reap(ctx, doms[i].domid);
		if (calls[i].result == 0) {
			info_parse(replies[i], &infos[i]);
			continue;
		}
		snprintf(infos[i].problem, sizeof(infos[i].problem), "%s", replies[i]);
		if (calls[i].result != -ESRCH) {
			infos[i].unresponsive = true;
			memcpy(infos[i].state, "??????", sizeof(infos[i].state));
		}
	}
out:
	free(calls);
	free(replies);
}

int xl_domain_wait_gone_of(struct xl_ctx *ctx, unsigned int domid, pid_t vmm_pid, int timeout_ms)
{
	const struct timespec tick = { .tv_nsec = 20 * 1000 * 1000 };
	/* The VMM removes its directory, then exits: its exit ends a tick at once (a destroy is not
	 * rounded up to the tick), and from then on the plain tick runs. */
	int pidfd = vmm_pid > 0 ? xl_pidfd_open(vmm_pid) : -1, r;

	for (int waited = 0;; waited += 20) {
		if (!domain_dir_exists(&ctx->rd, domid)) {
			r = 0;
			break;
		}
		if (waited >= timeout_ms) {
			r = -ETIMEDOUT;
			break;
		}
		/* Give the VMM time to clean up after itself before suspecting it died. */
		if (waited >= 2000 && waited % 500 == 0 && xl_domain_reap_if_dead(ctx, domid)) {
			r = 0;
			break;
		}
		if (pidfd >= 0 && xl_pidfd_wait(pidfd, 20) == 0) {
			close(pidfd);
			pidfd = -1;
		} else if (pidfd < 0) {
			nanosleep(&tick, NULL);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

int xl_domain_wait_gone(struct xl_ctx *ctx, unsigned int domid, int timeout_ms)
{
	return xl_domain_wait_gone_of(ctx, domid, 0, timeout_ms);
}

const char *xl_kvm_device(void)
{
	const char *env = getenv("XENITH_KVM_DEVICE");

	return env && *env ? env : "/dev/kvm";
}

int xl_check_kvm(char *err, size_t errlen)
{
	const char *dev = xl_kvm_device();
	int fd = open(dev, O_RDWR | O_CLOEXEC), e;

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	e = errno;
	if (e == ENOENT || e == ENODEV || e == ENXIO)
		snprintf(err, errlen, "cannot open %s: %s; Xenith needs KVM enabled in the kernel "
			 "(a loaded kvm_intel, kvm_amd or kvm_pvm module)", dev, strerror(e));
	else if (e == EACCES || e == EPERM)
		snprintf(err, errlen, "cannot open %s: %s; run xl as root or as a member of the group "
			 "that owns %s (usually kvm)", dev, strerror(e), dev);
	else
		snprintf(err, errlen, "cannot open %s: %s; Xenith needs KVM enabled in the kernel and "
			 "read-write access to %s (root or the kvm group)", dev, strerror(e), dev);
	return -1;
}

/* $XENITH_VMM, else xenith-vmm in the directory of the running xl. */
static int find_vmm(char *buf, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("XENITH_VMM");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		if ((size_t)snprintf(buf, len, "%s", env) >= len) {
			snprintf(err, errlen, "XENITH_VMM is too long");
			return -1;
		}
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			snprintf(err, errlen, "cannot find where xl runs from (/proc/self/exe: %s); "
				 "set XENITH_VMM to the xenith-vmm binary", strerror(errno));
			return -1;
		}
		self[n] = '\0';
		*strrchr(self, '/') = '\0';   /* readlink of /proc/self/exe is absolute */
		if ((size_t)snprintf(buf, len, "%s/xenith-vmm", self) >= len) {
			snprintf(err, errlen, "path of xenith-vmm is too long");
			return -1;
		}
	}
	if (access(buf, X_OK) < 0) {
		snprintf(err, errlen, "cannot run the VMM %s: %s (build it with `make tools`, or set "
			 "XENITH_VMM)", buf, strerror(errno));
		return -1;
	}
	return 0;
}

/* The name becomes part of file names (log/vmm-<name>.log) and lines of files. */
static bool name_is_usable(const char *name)
{
	if (!*name || strlen(name) > DOMAIN_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < ' ' || *p == 0x7f)
			return false;
	return true;
}

static int absolute_path(const char *what, const char *path, char *buf, char *err, size_t errlen)
{
	if (realpath(path, buf))
		return 0;
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

/* Runs in the child of fork(): detaches twice and becomes the VMM.  Never returns. */
static void __attribute__((noreturn)) exec_vmm(const char *vmm, char *const argv[], int nullfd,
					       int logfd, int readyfd, int pidfd_w, int restore_fd)
{
	static const int reset[] = { SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGCHLD };
	sigset_t none;
	pid_t pid;
	int n, l, rf, rs;

	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid != 0) {
		/* xl needs the VMM's pid to stop it if the start is interrupted. */
		if (pid > 0 && write(pidfd_w, &pid, sizeof(pid)) != (ssize_t)sizeof(pid))
			_exit(1);
		_exit(pid < 0 ? 1 : 0);
	}
	/* The grandchild: its parent has exited, so it is nobody's child but init's (or a
	 * subreaper's).  Move the descriptors above 2 first so the dup2()s cannot collide. */
	n = fcntl(nullfd, F_DUPFD_CLOEXEC, 10);
	l = fcntl(logfd, F_DUPFD_CLOEXEC, 10);
	rf = fcntl(readyfd, F_DUPFD_CLOEXEC, 10);
	rs = restore_fd >= 0 ? fcntl(restore_fd, F_DUPFD_CLOEXEC, 10) : -1;
	if (n < 0 || l < 0 || rf < 0 || dup2(n, 0) < 0 || dup2(l, 1) < 0 || dup2(l, 2) < 0 ||
	    dup2(rf, READY_FD) < 0 || (restore_fd >= 0 && (rs < 0 || dup2(rs, RESTORE_FD) < 0))) {
		dprintf(readyfd, "error cannot set up the VMM's descriptors: %s\n", strerror(errno));
		_exit(127);
	}
	close_range((restore_fd >= 0 ? RESTORE_FD : READY_FD) + 1, ~0U, 0);
	if (chdir("/") < 0)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		signal(reset[i], SIG_DFL);
	execv(vmm, argv);
	dprintf(READY_FD, "error cannot execute %s: %s\n", vmm, strerror(errno));
	_exit(127);
}

/* The VMM's one line: "ok <domid>" or "error <message>" ("" if it closed the pipe without one). */
static int parse_ready(const char *line, unsigned int *domid, const char *logpath, char *err,
		       size_t errlen)
{
	unsigned long id;

	if (!*line) {
		snprintf(err, errlen, "the VMM exited without saying whether the domain started; see %s",
			 logpath);
		return -1;
	}
	if (!strncmp(line, "error ", 6)) {
		snprintf(err, errlen, "%s", line + 6);
		return -1;
	}
	if (strncmp(line, "ok ", 3) || !parse_uint(line + 3, &id) || id < DOMID_FIRST ||
	    id > DOMID_LAST) {
		snprintf(err, errlen, "the VMM said '%.200s' instead of 'ok <domid>'; see %s", line,
			 logpath);
		return -1;
	}
	*domid = (unsigned int)id;
	return 0;
}

/* What a start is waiting on: the ready pipe, the signals that stop it, and the VMM itself. */
struct spawn_wait {
	int ready_fd;            /* read end of the ready pipe */
	int signal_fd;           /* SIGINT, SIGTERM, SIGHUP */
	pid_t vmm_pid;
	int vmm_pidfd;
	char line[1024];
	size_t len;
	bool eof;
};

/* Reads what the ready pipe has; true once the line is whole (or the pipe closed). */
static bool ready_read(struct spawn_wait *w)
{
	while (!w->eof && w->len < sizeof(w->line) - 1 && !memchr(w->line, '\n', w->len)) {
		ssize_t n = read(w->ready_fd, w->line + w->len, sizeof(w->line) - 1 - w->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;                /* EAGAIN: not yet */
		if (n == 0)
			w->eof = true;
		w->len += (size_t)n;
	}
	w->line[w->len] = '\0';
	return w->eof || w->len == sizeof(w->line) - 1 || memchr(w->line, '\n', w->len);
}

/* Waits up to timeout_ms for the ready line: 0 when it is there, -ETIMEDOUT, or the number of the
 * signal that came first. */
static int ready_wait(struct spawn_wait *w, int timeout_ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!ready_read(w)) {
		struct pollfd p[2] = { { .fd = w->ready_fd, .events = POLLIN },
				       { .fd = w->signal_fd, .events = POLLIN } };
		long spent;
		int n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			return -ETIMEDOUT;
		n = poll(p, 2, (int)(timeout_ms - spent));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && p[1].revents) {
			struct signalfd_siginfo si;

			if (read(w->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				return (int)si.ssi_signo;
		}
	}
	w->line[strcspn(w->line, "\n")] = '\0';
	return 0;
}

/* Ends a VMM that is being started and must not be: SIGTERM first (it tears down what it made),
 * SIGKILL after XL_STOP_GRACE_MS.  It is our child (we are its subreaper), so its pid cannot have
 * been reused.  0 once it is gone, else -1 with why. */
static int spawn_stop(struct spawn_wait *w, char *why, size_t len)
{
	if (w->vmm_pidfd < 0)
		return 0;
	if (xl_pidfd_signal(w->vmm_pidfd, SIGTERM) == 0 &&
	    xl_pidfd_wait(w->vmm_pidfd, XL_STOP_GRACE_MS) == 0)
		goto gone;
	if (xl_pidfd_signal(w->vmm_pidfd, SIGKILL) == 0 &&
	    xl_pidfd_wait(w->vmm_pidfd, XL_KILL_WAIT_MS) == 0)
		goto gone;
	if (xl_pidfd_wait(w->vmm_pidfd, 0) == 0)
		goto gone;
	snprintf(why, len, "its VMM (pid %d) is still there %d s after SIGKILL", (int)w->vmm_pid,
		 XL_KILL_WAIT_MS / 1000);
	return -1;
gone:
	while (waitpid(w->vmm_pid, NULL, WNOHANG) < 0 && errno == EINTR)
		;
	return 0;
}

/* After a stopped start: whatever the VMM made that it did not remove itself. */
static void spawn_clean(struct xl_ctx *ctx, struct spawn_wait *w, const char *name)
{
	struct rundir_domain *doms = NULL;
	unsigned int domid = 0;
	char err[256];
	size_t n = 0;

	ready_read(w);
	w->line[strcspn(w->line, "\n")] = '\0';
	xl_reap_staging(&ctx->rd, w->vmm_pid);
	if (parse_ready(w->line, &domid, "", err, sizeof(err)) == 0) {
		xl_domain_reap_if_dead(ctx, domid);
		return;
	}
	/* It may have taken a domid without saying so: the domain of that name nobody serves. */
	if (rundir_list_domains(&ctx->rd, &doms, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(doms[i].name, name))
			xl_domain_reap_if_dead(ctx, doms[i].domid);
	free(doms);
}

/* Says whether xenstored answers, for the message of a VMM that did not: a VMM waits on it. */
static void xenstored_hint(struct xl_ctx *ctx, char *buf, size_t len)
{
	struct xl_store s;
	char why[256], *value = NULL;
	size_t vlen;
	int r;

	buf[0] = '\0';
	if (xl_store_open(&ctx->rd, &s, XL_PROBE_MS, why, sizeof(why)))
		return;
	r = xs_read(s.xs, 0, "/local/domain/0/name", &value, &vlen);
	free(value);
	if (xl_store_timed_out(r))
		snprintf(buf, len, "; %s either", xl_store_explain(&s, r, why, sizeof(why)));
	xl_store_close(&s);
}

static void log_command_line(int logfd, char *const argv[])
{
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;

	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
	dprintf(logfd, "%s xl: starting", stamp);
	for (size_t i = 0; argv[i]; i++)
		dprintf(logfd, " '%s'", argv[i]);
	dprintf(logfd, "\n");
}

/* The config the domain starts with, as xl.cfg text with its paths absolute, into a 0600 file the
 * VMM moves into its directory (--config).  false when it could not be written: said in the log,
 * and the domain starts without a saved config. */
static bool write_saved_config(struct xl_ctx *ctx, const struct domain_config *dc, const char *kernel,
			       const char *ramdisk, char *path, size_t len, int logfd)
{
	struct domain_config shown = *dc;
	char why[512], *text;
	bool ok = false;
	int fd;

	shown.kernel = dc->kernel ? (char *)kernel : NULL;
	shown.ramdisk = dc->ramdisk ? (char *)ramdisk : NULL;
	text = domain_config_to_cfg(&shown, why, sizeof(why));
	if (!text) {
		dprintf(logfd, "xl: domain %s will have no saved config: %s\n", dc->name, why);
		return false;
	}
	if (!rundir_path(&ctx->rd, path, len, "domains/.config-%d", (int)getpid())) {
		dprintf(logfd, "xl: domain %s will have no saved config: path too long\n", dc->name);
		goto out;
	}
	unlink(path);   /* one an earlier xl of this pid left */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t n = strlen(text);
		ok = write(fd, text, n) == (ssize_t)n;
		ok = !close(fd) && ok;
	}
	if (!ok) {
		dprintf(logfd, "xl: domain %s will have no saved config: writing %s: %s\n", dc->name,
			path, strerror(errno));
		unlink(path);
	}
out:
	free(text);
	return ok;
}

int xl_domain_saved_config(struct xl_ctx *ctx, unsigned int domid, struct domain_config *dc,
			   char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct xl_cfg cfg;
	int r;

	memset(dc, 0, sizeof(*dc));
	if (xl_ctx_rundir(ctx)) {
		snprintf(err, errlen, "no run directory");
		return -ENOENT;
	}
	if (!rundir_path(&ctx->rd, path, sizeof(path), "domains/%u/config", domid)) {
		snprintf(err, errlen, "domain %u: run directory path too long", domid);
		return -ENAMETOOLONG;
	}
	if (access(path, R_OK) < 0) {
		r = -errno;
		snprintf(err, errlen, "domain %u has no saved config (%s: %s)", domid, path,
			 strerror(-r));
		return r;
	}
	if (xl_cfg_parse_file(path, &cfg, err, errlen))
		return -EINVAL;
	r = domain_config_from_cfg(&cfg, dc, NULL, err, errlen) ? -EINVAL : 0;
	xl_cfg_free(&cfg);
	return r;
}

/* xl_domain_spawn, or with restore_fd >= 0 the VMM restoring a saved domain from that stream
 * (docs/migration.md): no kernel is loaded (its file need not exist here), the domain comes up
 * paused, and the ready line may take ready_ms (the whole stream is read first). */
static int spawn(struct xl_ctx *ctx, const struct domain_config *dc, bool paused, int restore_fd,
		 int ready_ms, unsigned int *domid, char *err, size_t errlen)
{
	char config[PATH_MAX] = "", restorefd[8];
	char vmm[PATH_MAX], logpath[PATH_MAX], kernel[PATH_MAX], ramdisk[PATH_MAX];
	char mem[32], vcpus[32], max_vcpus[32], readyfd[8], weight[16], cap[16], uuid[UUID_TEXT_LEN];
	char *argv[40 + 2 * VIF_MAX + 2 * DISK_MAX + 4 * DOMAIN_MAX_VCPUS + 4 + XL_HVM_ARGS_MAX];
	struct xl_hvm_args hvm_args = { 0 };
	bool hvm = dc->type == DOMAIN_TYPE_HVM;
	char *vifs[VIF_MAX] = { 0 }, *disks[DISK_MAX] = { 0 };
	size_t argc = 0;
	int pipefd[2] = { -1, -1 }, pidpipe[2] = { -1, -1 }, logfd = -1, nullfd = -1, status, r = -1;
	struct spawn_wait w = { .ready_fd = -1, .signal_fd = -1, .vmm_pidfd = -1 };
	char why[256] = "", hint[384] = "";
	bool masked = false, reaper = false, stopped;
	sigset_t stops, oldmask;
	int waited;
	pid_t pid;

	if (xl_ctx_rundir(ctx)) {
		snprintf(err, errlen, "no run directory");
		return -1;
	}
	if (!name_is_usable(dc->name)) {
		snprintf(err, errlen, "domain name '%s' cannot be used: it must be 1 to %d characters, "
			 "without '/' or control characters", dc->name, DOMAIN_NAME_MAX);
		return -1;
	}
	if (find_vmm(vmm, sizeof(vmm), err, errlen))
		return -1;
	if (hvm) {
		/* An hvm domain boots its firmware, never a kernel (domain_config refuses one). */
		kernel[0] = ramdisk[0] = '\0';
		if (restore_fd < 0 && dc->hvm.firmware && access(dc->hvm.firmware, R_OK) < 0) {
			snprintf(err, errlen, "firmware %s: %s", dc->hvm.firmware, strerror(errno));
			return -1;
		}
	} else if (restore_fd >= 0) {
		/* The saved config's paths are absolute already; they are kept, not opened. */
		snprintf(kernel, sizeof(kernel), "%s", dc->kernel ? dc->kernel : "");
		snprintf(ramdisk, sizeof(ramdisk), "%s", dc->ramdisk ? dc->ramdisk : "");
	} else if (absolute_path("kernel", dc->kernel, kernel, err, errlen) ||
		   (dc->ramdisk && absolute_path("ramdisk", dc->ramdisk, ramdisk, err, errlen))) {
		return -1;
	}
	if (!rundir_path(&ctx->rd, logpath, sizeof(logpath), "log/vmm-%s.log", dc->name)) {
		snprintf(err, errlen, "log path for domain '%s' is too long", dc->name);
		return -1;
	}
	logfd = vmm_log_open(logpath);   /* appending, 0640, live to pruners from here on */
	if (logfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", logpath, strerror(errno));
		goto out;
	}
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot set up to start the VMM: %s", strerror(errno));
		goto out;
	}

	snprintf(mem, sizeof(mem), "%lu", dc->memory_mb);
	snprintf(vcpus, sizeof(vcpus), "%u", dc->vcpus);
	snprintf(readyfd, sizeof(readyfd), "%d", READY_FD);
	argv[argc++] = vmm;
	argv[argc++] = "--rundir";
	argv[argc++] = ctx->rd.path;
	argv[argc++] = "--ready-fd";
	argv[argc++] = readyfd;
	argv[argc++] = "--name";
	argv[argc++] = dc->name;
	if (dc->has_uuid) {
		uuid_format(dc->uuid, uuid);
		argv[argc++] = "--uuid";
		argv[argc++] = uuid;
	}
	if (write_saved_config(ctx, dc, kernel, ramdisk, config, sizeof(config), logfd)) {
		argv[argc++] = "--config";
		argv[argc++] = config;
	} else {
		config[0] = '\0';
	}
	if (restore_fd >= 0) {
		snprintf(restorefd, sizeof(restorefd), "%d", RESTORE_FD);
		argv[argc++] = "--restore-fd";
		argv[argc++] = restorefd;
		paused = true;            /* a restored domain waits for xl's unpause */
	}
	/* A restored domain reboots from its config's kernel, as Xen's do, when this host has it. */
	if (!hvm && (restore_fd < 0 || (kernel[0] && access(kernel, R_OK) == 0 &&
					(!dc->ramdisk || access(ramdisk, R_OK) == 0)))) {
		argv[argc++] = "--kernel";
		argv[argc++] = kernel;
		if (dc->ramdisk) {
			argv[argc++] = "--ramdisk";
			argv[argc++] = ramdisk;
		}
		if (dc->cmdline && *dc->cmdline) {
			argv[argc++] = "--cmdline";
			argv[argc++] = dc->cmdline;
		}
	}
	argv[argc++] = "--memory";
	argv[argc++] = mem;
	argv[argc++] = "--vcpus";
	argv[argc++] = vcpus;
	char maxmem[32];
	if (dc->maxmem_mb > dc->memory_mb) {
		snprintf(maxmem, sizeof(maxmem), "%lu", dc->maxmem_mb);
		argv[argc++] = "--maxmem";
		argv[argc++] = maxmem;
	}
	if (dc->max_vcpus > dc->vcpus) {
		snprintf(max_vcpus, sizeof(max_vcpus), "%u", dc->max_vcpus);
		argv[argc++] = "--max-vcpus";
		argv[argc++] = max_vcpus;
	}
	argv[argc++] = "--on-poweroff";
	argv[argc++] = (char *)domain_action_name(dc->on_poweroff);
	argv[argc++] = "--on-reboot";
	argv[argc++] = (char *)domain_action_name(dc->on_reboot);
	argv[argc++] = "--on-crash";
	argv[argc++] = (char *)domain_action_name(dc->on_crash);
	if (paused)
		argv[argc++] = "--paused";
	if (dc->sched_weight) {
		snprintf(weight, sizeof(weight), "%u", dc->sched_weight);
		argv[argc++] = "--weight";
		argv[argc++] = weight;
	}
	if (dc->sched_cap_set) {
		snprintf(cap, sizeof(cap), "%u", dc->sched_cap);
		argv[argc++] = "--cap";
		argv[argc++] = cap;
	}
	for (size_t i = 0; i < dc->n_cpus && i < DOMAIN_MAX_VCPUS; i++) {
		argv[argc++] = "--cpus";
		argv[argc++] = dc->cpus[i];
	}
	for (size_t i = 0; i < dc->n_cpus_soft && i < DOMAIN_MAX_VCPUS; i++) {
		argv[argc++] = "--cpus-soft";
		argv[argc++] = dc->cpus_soft[i];
	}
	if (hvm) {
		/* --hvm and its family (docs/hvm.md): the IDE drives and emulated NICs, which are
		 * also the PV disks and vifs below, so that PV drivers find them after the unplug. */
		if (xl_hvm_vmm_args(dc, &hvm_args, err, errlen))
			goto out;
		for (size_t i = 0; i < hvm_args.argc; i++)
			argv[argc++] = hvm_args.argv[i];
	}
	for (size_t i = 0; i < dc->n_disks && i < DISK_MAX; i++) {
		if (hvm && !xl_hvm_disk_is_pv(&dc->disks[i]))
			continue;
		disks[i] = xl_disk_format_spec(&dc->disks[i]);
		if (!disks[i]) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		argv[argc++] = "--disk";
		argv[argc++] = disks[i];
	}
	for (size_t i = 0; i < dc->n_vifs && i < VIF_MAX; i++) {
		vifs[i] = xl_vif_format_spec(&dc->vifs[i]);
		if (!vifs[i]) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		argv[argc++] = "--vif";
		argv[argc++] = vifs[i];
	}
	argv[argc] = NULL;
	log_command_line(logfd, argv);

	/* From here a signal must not leave a half-made domain: SIGINT, SIGTERM and SIGHUP wait in a
	 * signalfd (the VMM's fork clears the mask), and the VMM stays our child until it is ready. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGHUP);
	if (pipe2(pidpipe, O_CLOEXEC) < 0 || sigprocmask(SIG_BLOCK, &stops, &oldmask) < 0) {
		snprintf(err, errlen, "cannot set up to start the VMM: %s", strerror(errno));
		goto out;
	}
	masked = true;
	w.signal_fd = signalfd(-1, &stops, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w.signal_fd < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		snprintf(err, errlen, "cannot set up to start the VMM: %s", strerror(errno));
		goto out;
	}
	reaper = true;
	fflush(NULL);             /* nothing buffered may be written twice by the children */
	pid = fork();
	if (pid == 0)
		exec_vmm(vmm, argv, nullfd, logfd, pipefd[1], pidpipe[1], restore_fd);
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork to start the VMM: %s", strerror(errno));
		goto out;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	close(pidpipe[1]);
	pidpipe[1] = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read(pidpipe[0], &w.vmm_pid, sizeof(w.vmm_pid)) == (ssize_t)sizeof(w.vmm_pid) &&
	    w.vmm_pid > 0)
		w.vmm_pidfd = xl_pidfd_open(w.vmm_pid);
	w.ready_fd = pipefd[0];
	fcntl(w.ready_fd, F_SETFL, O_NONBLOCK);
	waited = ready_wait(&w, ready_ms);
	if (waited == 0) {
		r = parse_ready(w.line, domid, logpath, err, errlen);
		if (!r)
			xl_disks_index(ctx, dc->name, dc->disks, dc->n_disks);
		if (r && !*w.line && xl_pidfd_wait(w.vmm_pidfd, XL_KILL_WAIT_MS) == 0) {
			spawn_stop(&w, why, sizeof(why));     /* reaps it */
			spawn_clean(ctx, &w, dc->name);       /* it died: what it left */
		}
		goto out;
	}
	if (waited == -ETIMEDOUT)
		xenstored_hint(ctx, hint, sizeof(hint));
	stopped = spawn_stop(&w, why, sizeof(why)) == 0;
	if (stopped)
		spawn_clean(ctx, &w, dc->name);
	if (waited > 0) {
		snprintf(err, errlen, "interrupted; domain %s was not created%s%s", dc->name,
			 stopped ? "" : ", but ", stopped ? "" : why);
		r = waited;
	} else if (waited == -ETIMEDOUT) {
		snprintf(err, errlen, "the VMM (pid %d) did not say within %d s whether domain %s "
			 "started%s; %s; see %s", (int)w.vmm_pid, ready_ms / 1000, dc->name, hint,
			 stopped ? "it was stopped and nothing of the domain is left" : why, logpath);
	} else {
		snprintf(err, errlen, "waiting for the VMM of domain %s: %s; %s", dc->name,
			 strerror(-waited), stopped ? "it was stopped" : why);
	}
out:
	if (reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0);
	if (w.vmm_pidfd >= 0)
		close(w.vmm_pidfd);
	if (w.signal_fd >= 0)
		close(w.signal_fd);
	if (masked)
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	for (size_t i = 0; i < 2; i++)
		if (pidpipe[i] >= 0)
			close(pidpipe[i]);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (nullfd >= 0)
		close(nullfd);
	if (logfd >= 0)
		close(logfd);
	for (size_t i = 0; i < VIF_MAX; i++)
		free(vifs[i]);
	for (size_t i = 0; i < DISK_MAX; i++)
		free(disks[i]);
	xl_hvm_args_free(&hvm_args);
	if (config[0])
		unlink(config);      /* the VMM moved it into the domain's directory unless it failed */
	return r;
}

int xl_domain_spawn(struct xl_ctx *ctx, const struct domain_config *dc, bool paused,
		    unsigned int *domid, char *err, size_t errlen)
{
	return spawn(ctx, dc, paused, -1, XL_READY_MS, domid, err, errlen);
}

int xl_domain_spawn_restore(struct xl_ctx *ctx, const struct domain_config *dc, int restore_fd,
			    int ready_ms, unsigned int *domid, char *err, size_t errlen)
{
	return spawn(ctx, dc, true, restore_fd, ready_ms, domid, err, errlen);
}

int xl_find_domain_or_complain(struct xl_ctx *ctx, const char *qualifier, const char *refuse_dom0,
			       unsigned int *domid, char *name, size_t namelen)
{
	int r;

	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	r = xl_find_domain(ctx, qualifier, domid, name, namelen);
	if (r == -ENOENT) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", qualifier);
		return EXIT_FAILURE;
	}
	if (r) {
		fprintf(stderr, "xl: cannot look up domain '%s': %s\n", qualifier, strerror(-r));
		return EXIT_FAILURE;
	}
	if (*domid == 0 && refuse_dom0) {
		fprintf(stderr, "xl: cannot %s Domain-0 (it is the host)\n", refuse_dom0);
		return EXIT_FAILURE;
	}
	return 0;
}

char *xl_join_args(int argc, char **argv)
{
	size_t len = 1;
	char *joined;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	joined = malloc(len);
	if (!joined)
		return NULL;
	joined[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(joined, ",");
		strcat(joined, argv[i]);
	}
	return joined;
}

int xl_device_request(struct xl_ctx *ctx, unsigned int domid, const char *name, const char *qualifier,
		      const char *request, const char *spec, const char *what, int timeout_ms)
{
	char *line = NULL, reply[4096];
	int status = EXIT_FAILURE, r;

	if (asprintf(&line, "%s%s%s", request, spec ? " " : "", spec ? spec : "") < 0) {
		fprintf(stderr, "xl: out of memory\n");
		return EXIT_FAILURE;
	}
	if (ctx->dryrun) {
		printf("%s\n", line);
		status = EXIT_SUCCESS;
		goto out;
	}
	r = xl_domain_request(ctx, domid, line, timeout_ms, reply, sizeof(reply));
	if (r == -ESRCH)
		fprintf(stderr, "xl: domain '%s' does not exist\n", qualifier);
	else if (r)
		fprintf(stderr, "xl: cannot %s domain %u (%s): %s\n", what, domid, name, reply);
	else
		status = EXIT_SUCCESS;       /* like xl: nothing printed */
out:
	free(line);
	return status;
}

int xl_reply_parse_lines(const char *text, const char *request, size_t size,
			 int (*parse)(char *line, void *record), void (*release)(void *records, size_t n),
			 const char *expected, void **out, size_t *n, char *err, size_t errlen)
{
	char *copy = strdup(text), *save = NULL;
	uint8_t *records = NULL;
	size_t count = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char shown[160];
		uint8_t *grown;

		if (!line[strspn(line, " \t\r")])
			continue;
		snprintf(shown, sizeof(shown), "%s", line);   /* parse may cut the line up */
		grown = realloc(records, (count + 1) * size);
		if (!grown) {
			snprintf(err, errlen, "out of memory");
			r = -1;
			break;
		}
		records = grown;
		memset(records + count * size, 0, size);
		if (parse(line, records + count * size)) {
			snprintf(err, errlen, "unexpected %s line '%s' (expected: %s)", request, shown, expected);
			r = -1;
			break;
		}
		count++;
	}
	free(copy);
	if (r) {
		if (release)
			release(records, count);
		else
			free(records);
		return -1;
	}
	*out = records;
	*n = count;
	return 0;
}
