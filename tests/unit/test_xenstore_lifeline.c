#define _GNU_SOURCE
/* A dead VMM's domain, as xenstored sees it (src/xenstore/lifeline.c, orphans.c).  xenstored runs
 * as its own process here (a child serving a Unix socket in a temporary run directory, the code
 * bin/xenstored runs), so that its fds and mappings can be counted in /proc.  Each "VMM" is a
 * child process that does what the VMM's xenstore link does, with the same code: it connects
 * with the xs_client library, writes the domain's nodes (xenstore_layout.c, plus a vif's backend
 * and frontend directories as the xenbus backends write them) and introduces the domain with a
 * guest-RAM memfd and two eventfds.  Then it is SIGKILLed, and within a bounded wait: the domain
 * is no longer introduced, @releaseDomain fired, its nodes are gone, xenstored holds the same
 * fds as before and no mapping of the memfd, and it still serves the others. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/xenstore_layout.h"
#include "lib/xs_client.h"
#include "unit.h"
#include "xenstore/loop.h"
#include "xenstore/socket.h"
#include "xenstore/xenstored.h"

#define BOUND_MS 2000            /* "at once": far less in practice; the bound only ends a hang */
#define RING_MFN 2
#define ROUNDS 5

struct env {
	char dir[64];                /* run directory */
	char sock[128];
	char log[128];
	pid_t xsd_pid;
	struct xs_client *xs;        /* the test's Dom0 connection, watching @releaseDomain */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The daemon, in a child: what src/xenstore/main.c does with --foreground. */
static void serve(const struct env *e)
{
	struct xenstored *xsd = malloc(sizeof(*xsd));
	char err[256], dir[160];
	int log = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (log >= 0)
		dup2(log, STDERR_FILENO);
	if (!xsd || xsd_init(xsd))
		_exit(2);
	snprintf(xsd->rundir, sizeof(xsd->rundir), "%s", e->dir);
	snprintf(dir, sizeof(dir), "%s/xenstored", e->dir);
	mkdir(dir, 0700);
	if (socket_listen(xsd, e->sock, 0, true, err, sizeof(err)) ||
	    loop_init(xsd, err, sizeof(err)) || loop_watch_listeners(xsd)) {
		fprintf(stderr, "test xenstored: %s\n", err);
		_exit(3);
	}
	loop_run(xsd);
	xsd_destroy(xsd);
	close(xsd->epfd);
	close(xsd->signal_fd);
	free(xsd);
	exit(0);         /* not _exit: under LeakSanitizer, xenstored's leaks fail the case */
}

static bool env_init(struct unit *u, struct env *e)
{
	char err[256];

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/xs-lifeline-XXXXXX");
	if (!mkdtemp(e->dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return false;
	}
	snprintf(e->sock, sizeof(e->sock), "%s/xenstored/socket", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/xenstored.log", e->dir);
	fflush(NULL);
	e->xsd_pid = fork();
	if (e->xsd_pid == 0)
		serve(e);
	CHECK(e->xsd_pid > 0, "fork: %s", strerror(errno));
	for (long long end = now_ms() + 5000; e->xsd_pid > 0 && !e->xs && now_ms() < end;) {
		e->xs = xs_open_path(e->sock, err, sizeof(err));
		if (!e->xs)
			sleep_ms(10);
	}
	CHECK(e->xs, "xenstored did not answer on %s: %s", e->sock, err);
	return e->xs && xs_watch(e->xs, "@releaseDomain", "released") == 0;
}

static void env_free(struct unit *u, struct env *e)
{
	char path[192];
	int status = -1;

	if (e->xs)
		xs_close(e->xs);
	if (e->xsd_pid > 0) {
		kill(e->xsd_pid, SIGTERM);
		waitpid(e->xsd_pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "xenstored ended with status %#x",
		      status);
	}
	snprintf(path, sizeof(path), "%s/xenstored/socket.d", e->dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/xenstored", e->dir);
	rmdir(path);
	if (u->case_failures) {
		char line[512];
		FILE *f = fopen(e->log, "r");
		while (f && fgets(line, sizeof(line), f))
			printf("#   xenstored: %s", line);
		if (f)
			fclose(f);
	}
	unlink(e->log);
	rmdir(e->dir);
}

/* ---- looking at xenstored from outside ---- */

static int fd_count(pid_t pid)
{
	char path[64];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Does xenstored map a file whose name contains `name` (a memfd shows as /memfd:<name>)? */
static bool maps_file(pid_t pid, const char *name)
{
	char path[64], line[1024];
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	if (f)
		fclose(f);
	return found;
}

static bool node_exists(struct env *e, const char *path)
{
	char *v = NULL;
	int r = xs_read(e->xs, 0, path, &v, NULL);

	free(v);
	return r == 0;
}

/* Waits (bounded) for fd_count to be `want`; returns the last count seen. */
static int wait_fd_count(struct env *e, int want)
{
	int n = fd_count(e->xsd_pid);

	for (long long end = now_ms() + BOUND_MS; n != want && now_ms() < end; n = fd_count(e->xsd_pid))
		sleep_ms(5);
	return n;
}

/* Throws away the watch events queued so far. */
static void drain_events(struct env *e)
{
	char path[256], token[32];

	while (xs_wait_event(e->xs, 50, path, sizeof(path), token, sizeof(token)) == 0)
		;
}

/* ---- a VMM, as xenstore_link.c and the xenbus backends use xenstored ---- */

enum vmm_mode {
	VMM_STAY,            /* keeps its connection, lives until killed */
	VMM_HANG_UP,         /* closes its connection after introducing, lives on */
	VMM_RELEASE,         /* sends RELEASE itself, then exits */
};

struct vmm {
	pid_t pid;
	unsigned int domid;
	char memfd_name[48];
	char uuid[37];
};

static int layout_put(void *ctx, const char *path, const char *value, const char *perms)
{
	struct xs_client *xs = ctx;
	int r = xs_write_str(xs, 0, path, value);

	return r ? r : xs_set_perms(xs, 0, path, perms);
}

/* A vif's directories as the xenbus backend writes them (docs/netif.md). */
static int write_vif(struct xs_client *xs, unsigned int domid)
{
	char be[96], fe[96], path[160], perms[32];
	int r = 0;

	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/0", domid);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/0", domid);
	snprintf(perms, sizeof(perms), "n0 r%u", domid);
	r = r ? r : layout_put(xs, be, "", perms);
	snprintf(path, sizeof(path), "%s/frontend", be);
	r = r ? r : layout_put(xs, path, fe, perms);
	snprintf(path, sizeof(path), "%s/state", be);
	r = r ? r : layout_put(xs, path, "4", perms);
	snprintf(perms, sizeof(perms), "n%u r0", domid);
	r = r ? r : layout_put(xs, fe, "", perms);
	snprintf(path, sizeof(path), "%s/backend", fe);
	r = r ? r : layout_put(xs, path, be, perms);
	return r;
}

static int vmm_body(const struct env *e, const struct vmm *v, enum vmm_mode mode)
{
	char err[256];
	struct xs_client *xs = xs_open_path(e->sock, err, sizeof(err));
	struct xenstore_layout l = {
		.domid = (int)v->domid, .name = v->memfd_name, .uuid = v->uuid, .memory_kb = 256,
		.max_memory_kb = 256, .vcpus = 1, .max_vcpus = 1, .store_gfn = RING_MFN,
		.console_gfn = RING_MFN + 1, .store_port = 1, .console_port = 2, .console_tty = "",
		.start_time = "1765000000.00",
	};

	if (!xs || xenstore_layout_write(&l, layout_put, xs) || write_vif(xs, v->domid))
		return 10;
	int memfd = memfd_create(v->memfd_name, MFD_CLOEXEC);
	int kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), notify = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (memfd < 0 || kick < 0 || notify < 0 || ftruncate(memfd, 64 * 4096) < 0)
		return 11;
	if (xs_introduce(xs, v->domid, RING_MFN, 1, memfd, kick, notify))
		return 12;
	if (mode == VMM_RELEASE)
		return xs_release(xs, v->domid) ? 13 : 0;
	if (mode == VMM_HANG_UP)
		xs_close(xs);
	return -1;   /* stay */
}

/* Starts a VMM for domid and waits until it has introduced it (or exited, for VMM_RELEASE). */
static bool vmm_start(struct unit *u, struct env *e, struct vmm *v, unsigned int domid,
		      unsigned int round, enum vmm_mode mode)
{
	int ready[2];

	v->domid = domid;
	snprintf(v->memfd_name, sizeof(v->memfd_name), "xs-lifeline-d%u-r%u", domid, round);
	snprintf(v->uuid, sizeof(v->uuid), "00000000-0000-4000-8000-%012u", domid * 100 + round);
	if (pipe2(ready, O_CLOEXEC) < 0)
		return false;
	fflush(NULL);
	v->pid = fork();
	if (v->pid == 0) {
		close(ready[0]);
		int r = vmm_body(e, v, mode);
		char status = (char)(r < 0 ? 0 : r);
		if (write(ready[1], &status, 1) != 1 || r >= 0)
			_exit(r < 0 ? 1 : r);
		for (;;)
			pause();
	}
	close(ready[1]);
	char status = 99;
	struct pollfd p = { .fd = ready[0], .events = POLLIN };
	if (v->pid > 0 && poll(&p, 1, 5000) == 1 && read(ready[0], &status, 1) != 1)
		status = 98;
	close(ready[0]);
	CHECK(status == 0, "VMM for domain %u failed at step %d", domid, status);
	if (status && v->pid > 0) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
		v->pid = 0;
	}
	return status == 0;
}

static void vmm_kill(struct vmm *v)
{
	if (v->pid <= 0)
		return;
	kill(v->pid, SIGKILL);
	waitpid(v->pid, NULL, 0);
	v->pid = 0;
}

/* The domain's nodes, as the VMM wrote them: home, VM, libxl's, console and vif backends. */
static void domain_paths(const struct vmm *v, char paths[5][96])
{
	snprintf(paths[0], 96, "/local/domain/%u", v->domid);
	snprintf(paths[1], 96, "/vm/%s", v->uuid);
	snprintf(paths[2], 96, "/libxl/%u", v->domid);
	snprintf(paths[3], 96, "/local/domain/0/backend/console/%u", v->domid);
	snprintf(paths[4], 96, "/local/domain/0/backend/vif/%u", v->domid);
}

static void check_nodes(struct unit *u, struct env *e, const struct vmm *v, bool want)
{
	char paths[5][96];

	domain_paths(v, paths);
	for (int i = 0; i < 5; i++)
		CHECK(node_exists(e, paths[i]) == want, "%s %s", paths[i],
		      want ? "is missing" : "outlived its VMM");
}

/* Waits (bounded) until IS_DOMAIN_INTRODUCED answers `want`; the time it took, or -1. */
static long long wait_introduced(struct env *e, unsigned int domid, int want)
{
	long long start = now_ms();

	while (now_ms() - start < BOUND_MS) {
		if (xs_is_domain_introduced(e->xs, domid) == want)
			return now_ms() - start;
		sleep_ms(2);
	}
	return -1;
}

/* Waits (bounded) for the @releaseDomain event. */
static bool released_event(struct env *e)
{
	char path[256], token[32];

	for (long long end = now_ms() + BOUND_MS; now_ms() < end;)
		if (xs_wait_event(e->xs, 100, path, sizeof(path), token, sizeof(token)) == 0 &&
		    !strcmp(path, "@releaseDomain") && !strcmp(token, "released"))
			return true;
	return false;
}

/* ---- the cases ---- */

/* SIGKILL of a VMM, five times over, beside a domain whose VMM lives: each time everything of
 * the dead one goes, nothing of the living one, and xenstored's fd count comes back. */
static void test_killed_vmm_released(struct unit *u, const void *arg)
{
	struct env e;
	struct vmm survivor = { 0 };

	(void)arg;
	if (!env_init(u, &e))
		goto out;
	if (!vmm_start(u, &e, &survivor, 3, 0, VMM_STAY))
		goto out;
	drain_events(&e);
	int baseline = fd_count(e.xsd_pid);
	CHECK(baseline > 0, "cannot count xenstored's fds in /proc/%d/fd", (int)e.xsd_pid);
	for (unsigned int round = 1; round <= ROUNDS; round++) {
		struct vmm v = { 0 };
		if (!vmm_start(u, &e, &v, 7, round, VMM_STAY))
			break;
		CHECK_INT(xs_is_domain_introduced(e.xs, 7), 1);
		check_nodes(u, &e, &v, true);
		int held = fd_count(e.xsd_pid);
		/* memfd, kick, notify, the pidfd and the VMM's socket */
		CHECK(held >= baseline + 5, "round %u: xenstored holds %d fds with the domain, %d without",
		      round, held, baseline);
		CHECK(maps_file(e.xsd_pid, v.memfd_name), "round %u: %s not mapped while introduced",
		      round, v.memfd_name);
		drain_events(&e);

		vmm_kill(&v);
		long long took = wait_introduced(&e, 7, 0);
		CHECK(took >= 0, "round %u: still introduced %d ms after its VMM died", round, BOUND_MS);
		CHECK(released_event(&e), "round %u: no @releaseDomain event", round);
		check_nodes(u, &e, &v, false);
		int left = wait_fd_count(&e, baseline);
		CHECK(left == baseline, "round %u: xenstored holds %d fds, %d before the domain", round,
		      left, baseline);
		CHECK(!maps_file(e.xsd_pid, v.memfd_name), "round %u: %s still mapped", round,
		      v.memfd_name);
		/* The living domain keeps everything; xenstored still serves. */
		CHECK_INT(xs_is_domain_introduced(e.xs, 3), 1);
		check_nodes(u, &e, &survivor, true);
		CHECK(node_exists(&e, "/local/domain/0/backend/vif"),
		      "round %u: the survivor's backend/vif parent was pruned", round);
		CHECK_INT(xs_write_str(e.xs, 0, "/test/round", "x"), 0);
		CHECK(node_exists(&e, "/test/round"), "round %u: xenstored no longer serves", round);
	}
	/* Last, the survivor's VMM dies too: its backend parents and Dom0's empty home go with it,
	 * as the VMM's own teardown leaves the tree. */
	vmm_kill(&survivor);
	CHECK(wait_introduced(&e, 3, 0) >= 0, "domain 3 still introduced after its VMM died");
	check_nodes(u, &e, &survivor, false);
	CHECK(!node_exists(&e, "/local/domain/0"), "/local/domain/0 left behind, empty");
out:
	vmm_kill(&survivor);
	env_free(u, &e);
}

/* The VMM's life, not its connection, keeps the domain: a VMM that closed its connection to
 * xenstored still has its domain; it goes when the VMM does. */
static void test_connection_is_not_life(struct unit *u, const void *arg)
{
	struct env e;
	struct vmm v = { 0 };

	(void)arg;
	if (!env_init(u, &e) || !vmm_start(u, &e, &v, 9, 0, VMM_HANG_UP))
		goto out;
	sleep_ms(200);
	CHECK_INT(xs_is_domain_introduced(e.xs, 9), 1);
	check_nodes(u, &e, &v, true);
	vmm_kill(&v);
	CHECK(wait_introduced(&e, 9, 0) >= 0, "domain 9 still introduced after its VMM died");
	check_nodes(u, &e, &v, false);
out:
	vmm_kill(&v);
	env_free(u, &e);
}

/* Nobody else can end a domain this way: a Dom0 client that dies, and a client acting as the
 * guest itself (unprivileged, as domain 4) that tries RELEASE (EACCES) and dies. */
static void test_others_cannot_release(struct unit *u, const void *arg)
{
	struct env e;
	struct vmm v = { 0 };
	char guest_sock[256];

	(void)arg;
	if (!env_init(u, &e) || !vmm_start(u, &e, &v, 4, 0, VMM_STAY))
		goto out;
	const char *ctl[] = { "unpriv-socket", "4" };
	CHECK_INT(xs_control(e.xs, ctl, 2, guest_sock, sizeof(guest_sock)), 0);
	for (int guest = 0; guest < 2; guest++) {
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			char err[128], *val = NULL;
			struct xs_client *xs = xs_open_path(guest ? guest_sock : e.sock, err, sizeof(err));
			if (!xs)
				_exit(1);
			if (guest ? xs_release(xs, 4) != -EACCES
				  : xs_read(xs, 0, "/local/domain/4/name", &val, NULL) != 0)
				_exit(2);
			raise(SIGKILL);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		CHECK(WIFSIGNALED(status), "the %s client ended with status %#x",
		      guest ? "guest" : "Dom0", status);
		sleep_ms(100);
		CHECK_INT(xs_is_domain_introduced(e.xs, 4), 1);
		check_nodes(u, &e, &v, true);
	}
out:
	vmm_kill(&v);
	env_free(u, &e);
}

/* A VMM that RELEASEs its domain before it exits (a clean teardown) cuts the lifeline: its exit
 * then removes nothing (the VMM removes its nodes itself), and the fds go at RELEASE. */
static void test_release_cuts_lifeline(struct unit *u, const void *arg)
{
	struct env e;
	struct vmm v = { 0 };

	(void)arg;
	if (!env_init(u, &e))
		goto out;
	int baseline = fd_count(e.xsd_pid);
	if (!vmm_start(u, &e, &v, 6, 0, VMM_RELEASE))
		goto out;
	waitpid(v.pid, NULL, 0);
	v.pid = 0;
	CHECK_INT(xs_is_domain_introduced(e.xs, 6), 0);
	CHECK(released_event(&e), "no @releaseDomain event");
	sleep_ms(100);
	check_nodes(u, &e, &v, true);
	CHECK_INT(wait_fd_count(&e, baseline), baseline);
	CHECK(!maps_file(e.xsd_pid, v.memfd_name), "%s still mapped after RELEASE", v.memfd_name);
out:
	vmm_kill(&v);
	env_free(u, &e);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	signal(SIGPIPE, SIG_IGN);
	unit_case(&u, "killed-vmm-released", test_killed_vmm_released, NULL);
	unit_case(&u, "connection-is-not-life", test_connection_is_not_life, NULL);
	unit_case(&u, "others-cannot-release", test_others_cannot_release, NULL);
	unit_case(&u, "release-cuts-lifeline", test_release_cuts_lifeline, NULL);
	return unit_finish(&u);
}
