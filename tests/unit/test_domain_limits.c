/* One contract for a domain's limits (lib/domain_limits.h): the real bin/xl (`xl create -n`, a dry
 * run) and the real bin/xenith-vmm argument parser are run at every edge, at the limit and one
 * past it, and must say yes and no together.
 *
 * A refusal must name what the user gave (the config's file:line, or the VMM's --option), the
 * limit, and no C source location; the VMM must refuse before it makes anything, which the test
 * sees as its run directory never being created.  The VMM accepts when it gets as far as opening
 * the KVM device, which here is a path that does not exist (XENITH_KVM_DEVICE), so no VM is ever
 * made; a memory size the host cannot give is refused later by the host's check, which the test
 * reports as accepted by the contract.  The specs the VMM is given for vifs and disks are the ones
 * xl's dry run prints, so xl's output is checked to be the VMM's input.
 *
 * Also here: the VMM's event loop holds every descriptor a domain at the limits registers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/domain_limits.h"
#include "vmm/event_loop.h"
#include "unit.h"

#define RUN_TIMEOUT_MS 30000
#define OUT_MAX 65536

struct env {
	char bin[PATH_MAX];               /* where xl and xenith-vmm are */
	char dir[64];                     /* temporary: configs, disk images, run directories */
	char kvm[PATH_MAX];               /* a KVM device path that does not exist */
	char *vif_specs[DOMAIN_MAX_VIFS]; /* what xl's dry run gives the VMM, at the limits */
	char *disk_specs[DOMAIN_MAX_DISKS];
	bool have_specs;                  /* all of the above were printed */
	unsigned int n_runs;              /* numbers the VMM's run directories */
	regex_t c_location;
};

/* "<a><b>" into out; false if it does not fit (then out is not to be used). */
static bool join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s%s", a, b);
	return n >= 0 && (size_t)n < len;
}

static bool executable_pair(const char *dir)
{
	char xl[PATH_MAX + 8], vmm[PATH_MAX + 16];

	return join(xl, sizeof(xl), dir, "/xl") && join(vmm, sizeof(vmm), dir, "/xenith-vmm") &&
	       !access(xl, X_OK) && !access(vmm, X_OK);
}

/* $XENITH_TEST_BUILD/bin, then bin/ beside this test's build directory, then the tree's bin/. */
static bool find_bin(struct env *e)
{
	char self[PATH_MAX], candidates[3][PATH_MAX];
	const char *build = getenv("XENITH_TEST_BUILD"), *root = getenv("XENITH_TEST_ROOT");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	unsigned int count = 0;

	if (build)
		snprintf(candidates[count++], PATH_MAX, "%s/bin", build);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(candidates[count++], PATH_MAX, "%.*s/../bin", PATH_MAX - 16, self);
		}
	}
	if (root)
		snprintf(candidates[count++], PATH_MAX, "%s/bin", root);
	for (unsigned int i = 0; i < count; i++) {
		if (executable_pair(candidates[i]) && realpath(candidates[i], e->bin))
			return true;
	}
	return false;
}

/* Runs argv with stdin from /dev/null; its stdout and stderr go to `out` (NUL-terminated).  With
 * ready != NULL, the child also gets the write end of a pipe as descriptor `ready_fd_slot` and
 * what it writes there goes to `ready`.  Returns the exit status, or -1 (killed after the
 * timeout, or could not run). */
static int run(char *const argv[], char *out, size_t outlen, char *ready, size_t readylen,
	       int ready_fd_slot)
{
	int out_pipe[2], ready_pipe[2] = { -1, -1 }, status;
	size_t got[2] = { 0, 0 };
	pid_t pid;

	out[0] = '\0';
	if (ready)
		ready[0] = '\0';
	if (pipe2(out_pipe, O_CLOEXEC) < 0)
		return -1;
	if (ready && pipe2(ready_pipe, O_CLOEXEC) < 0) {
		close(out_pipe[0]);
		close(out_pipe[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out_pipe[1], 1);
		dup2(out_pipe[1], 2);
		if (ready)
			dup2(ready_pipe[1], ready_fd_slot);   /* dup2 clears close-on-exec */
		execv(argv[0], argv);
		_exit(127);
	}
	close(out_pipe[1]);
	if (ready)
		close(ready_pipe[1]);
	if (pid < 0) {
		close(out_pipe[0]);
		if (ready)
			close(ready_pipe[0]);
		return -1;
	}
	struct pollfd fds[2] = { { .fd = out_pipe[0], .events = POLLIN },
				 { .fd = ready ? ready_pipe[0] : -1, .events = POLLIN } };
	char *bufs[2] = { out, ready };
	size_t lens[2] = { outlen, readylen };
	bool timed_out = false;
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		int r = poll(fds, 2, RUN_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			timed_out = true;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			char sink[4096];
			bool room = got[i] + 1 < lens[i];
			ssize_t n = room ? read(fds[i].fd, bufs[i] + got[i], lens[i] - got[i] - 1)
					 : read(fds[i].fd, sink, sizeof(sink));
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
			} else if (room) {
				got[i] += (size_t)n;
				bufs[i][got[i]] = '\0';
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	if (timed_out)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) < 0 || timed_out)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool has_c_location(struct env *e, const char *text)
{
	return !regexec(&e->c_location, text, 0, NULL, 0);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- xl's side ---- */

/* What a case gives both programs; devices are counts, their specs come from xl. */
struct limits_case {
	const char *name;
	long long vcpus, memory_mb;
	unsigned int vifs, disks;
	bool ok;
	const char *limit;         /* refusals only: the number the message must name */
	const char *cfg_key;       /* ... the key xl's message must name */
	const char *vmm_option;    /* ... the option the VMM's message must start with */
};

/* Writes the case's config; returns the line each key is on through *line (vcpus on 3, memory
 * on 4, vif on 5, disk on 6). */
static bool write_config(struct env *e, const struct limits_case *c, char *path, size_t len)
{
	_Static_assert(DOMAIN_MAX_DISKS < 26, "one letter per disk: xvda, xvdb, ...");
	FILE *f;

	snprintf(path, len, "%s/limits.cfg", e->dir);
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "name = 'limits'\ntype = 'pvh'\nvcpus = %lld\nmemory = %lld\n", c->vcpus,
		c->memory_mb);
	fprintf(f, "vif = [");
	for (unsigned int i = 0; i < c->vifs; i++)
		fprintf(f, " 'bridge=xenbr0',");
	fprintf(f, " ]\ndisk = [");
	for (unsigned int i = 0; i < c->disks; i++)
		fprintf(f, " '%s/disk%u.img,raw,xvd%c,rw',", e->dir, i, 'a' + i);
	fprintf(f, " ]\nkernel = '%s/vmlinuz'\n", e->dir);
	return fclose(f) == 0;
}

static int cfg_line(const char *key)
{
	static const char *const keys[] = { "vcpus", "memory", "vif", "disk" };
	for (int i = 0; i < 4; i++)
		if (!strcmp(keys[i], key))
			return 3 + i;
	return 0;
}

/* xl create -n: 1 accepted, 0 refused (checked), -1 broken.  With specs set, keeps the --vif
 * and --disk specs it prints. */
static int xl_verdict(struct unit *u, struct env *e, const struct limits_case *c, bool keep_specs)
{
	char cfg[PATH_MAX], xl[PATH_MAX + 8], *out = malloc(OUT_MAX);
	int status;

	if (!out || !write_config(e, c, cfg, sizeof(cfg))) {
		CHECK(false, "writing the config in %s", e->dir);
		free(out);
		return -1;
	}
	if (!join(xl, sizeof(xl), e->bin, "/xl")) {
		free(out);
		return -1;
	}
	status = run((char *[]){ xl, "create", "-n", cfg, NULL }, out, OUT_MAX, NULL, 0, 0);
	CHECK(!has_c_location(e, out), "xl's output names a C source location:\n%s", out);
	if (status == 0 && keep_specs) {
		for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
			unsigned int i;
			int at = 0;
			if (sscanf(line, "vif %u: --vif %n", &i, &at) == 1 && at && i < DOMAIN_MAX_VIFS)
				e->vif_specs[i] = strdup(line + at);
			else if (sscanf(line, "disk %u: --disk %n", &i, &at) == 1 && at &&
				 i < DOMAIN_MAX_DISKS)
				e->disk_specs[i] = strdup(line + at);
		}
	}
	if (status == 0) {
		free(out);
		return 1;
	}
	if (status < 0 || c->ok) {
		CHECK(false, "xl create -n exited %d:\n%s", status, out);
		free(out);
		return status < 0 ? -1 : 0;
	}
	/* "xl: <cfg>:<line>: <key> ... <limit> ..." */
	char where[PATH_MAX + 32];
	snprintf(where, sizeof(where), "xl: %s:%d: ", cfg, cfg_line(c->cfg_key));
	CHECK(strstr(out, where) != NULL, "xl's refusal does not start with \"%s\":\n%s", where, out);
	CHECK(strstr(out, c->cfg_key) && strstr(out, c->limit),
	      "xl's refusal names neither '%s' nor the limit %s:\n%s", c->cfg_key, c->limit, out);
	free(out);
	return 0;
}

/* ---- the VMM's side ---- */

/* xenith-vmm with the case's arguments: 1 accepted (it reached the KVM device, or the host's own
 * memory check), 0 refused (checked), -1 broken. */
static int vmm_verdict(struct unit *u, struct env *e, const struct limits_case *c)
{
	char vmm[PATH_MAX + 16], rundir[128], vcpus[32], memory[32], kernel[PATH_MAX];
	char *argv[32 + 2 * (DOMAIN_MAX_VIFS + 1) + 2 * (DOMAIN_MAX_DISKS + 1)];
	char *out = malloc(OUT_MAX), ready[2048];
	unsigned int n = 0;
	struct stat st;
	int status;

	if (!out)
		return -1;
	snprintf(vcpus, sizeof(vcpus), "/run%u", e->n_runs++);
	if (!join(vmm, sizeof(vmm), e->bin, "/xenith-vmm") || !join(rundir, sizeof(rundir), e->dir, vcpus) ||
	    !join(kernel, sizeof(kernel), e->dir, "/vmlinuz")) {
		free(out);
		return -1;
	}
	snprintf(vcpus, sizeof(vcpus), "%lld", c->vcpus);
	snprintf(memory, sizeof(memory), "%lld", c->memory_mb);
	argv[n++] = vmm;
	argv[n++] = "--rundir";
	argv[n++] = rundir;
	argv[n++] = "--ready-fd";
	argv[n++] = "3";
	argv[n++] = "--name";
	argv[n++] = "limits";
	argv[n++] = "--kernel";
	argv[n++] = kernel;
	argv[n++] = "--vcpus";
	argv[n++] = vcpus;
	argv[n++] = "--memory";
	argv[n++] = memory;
	/* xl's specs at the limit; one past it repeats the first (the count is checked first). */
	for (unsigned int i = 0; i < c->vifs; i++) {
		argv[n++] = "--vif";
		argv[n++] = e->vif_specs[i < DOMAIN_MAX_VIFS ? i : 0];
	}
	for (unsigned int i = 0; i < c->disks; i++) {
		argv[n++] = "--disk";
		argv[n++] = e->disk_specs[i < DOMAIN_MAX_DISKS ? i : 0];
	}
	argv[n] = NULL;
	status = run(argv, out, OUT_MAX, ready, sizeof(ready), 3);
	bool made_rundir = stat(rundir, &st) == 0;
	remove_tree(rundir);
	if (status < 0) {
		CHECK(false, "xenith-vmm did not finish within %d ms:\n%s", RUN_TIMEOUT_MS, out);
		free(out);
		return -1;
	}
	CHECK(status != 0, "xenith-vmm exited 0 without a KVM device:\n%s", out);
	CHECK(!strncmp(ready, "error ", 6), "the VMM told xl \"%s\", not an error", ready);
	CHECK(!has_c_location(e, ready), "the VMM's answer to xl names a C source location: %s",
	      ready);
	free(out);
	if (strstr(ready, e->kvm))
		return 1;
	if (strstr(ready, "host's")) {
		printf("# %s: the VMM's contract takes it; this host has too little RAM: %s", c->name,
		       ready + 6);
		return 1;
	}
	if (c->ok) {
		CHECK(false, "the VMM refused: %s", ready);
		return 0;
	}
	CHECK(!made_rundir, "the VMM made its run directory before refusing: %s", ready);
	CHECK(!strncmp(ready + 6, c->vmm_option, strlen(c->vmm_option)),
	      "the VMM's refusal does not start with %s: %s", c->vmm_option, ready);
	CHECK(strstr(ready, c->limit) != NULL, "the VMM's refusal does not name the limit %s: %s",
	      c->limit, ready);
	return 0;
}

#define XSTR(x) STR(x)
#define STR(x) #x

/* The issue-10 target shape: DOMAIN_MAX_VCPUS vCPUs with 8 vifs and 8 disks. */
static const struct limits_case cases[] = {
	{ "vcpus 1", 1, 128, 0, 0, true },
	{ "vcpus at the maximum", DOMAIN_MAX_VCPUS, 128, 0, 0, true },
	{ "vcpus one past", DOMAIN_MAX_VCPUS + 1, 128, 0, 0, false, XSTR(DOMAIN_MAX_VCPUS), "vcpus",
	  "--vcpus" },
	{ "vcpus 0", 0, 128, 0, 0, false, "1", "vcpus", "--vcpus" },
	{ "vcpus 4096 (xl once took it)", 4096, 128, 0, 0, false, XSTR(DOMAIN_MAX_VCPUS), "vcpus",
	  "--vcpus" },
	{ "memory at the minimum", 1, (long long)DOMAIN_MIN_MEMORY_MB, 0, 0, true },
	{ "memory one below", 1, (long long)DOMAIN_MIN_MEMORY_MB - 1, 0, 0, false, "2", "memory",
	  "--memory" },
	{ "memory at the maximum", 1, (long long)DOMAIN_MAX_MEMORY_MB, 0, 0, true },
	{ "memory one past", 1, (long long)DOMAIN_MAX_MEMORY_MB + 1, 0, 0, false, "8388608", "memory",
	  "--memory" },
	{ "memory 2^43 MiB (xl once took it)", 1, 1ll << 43, 0, 0, false, "8388608", "memory",
	  "--memory" },
	{ "vifs at the maximum", 1, 128, DOMAIN_MAX_VIFS, 0, true },
	{ "vifs one past", 1, 128, DOMAIN_MAX_VIFS + 1, 0, false, XSTR(DOMAIN_MAX_VIFS), "vif",
	  "--vif" },
	{ "disks at the maximum", 1, 128, 0, DOMAIN_MAX_DISKS, true },
	{ "disks one past", 1, 128, 0, DOMAIN_MAX_DISKS + 1, false, XSTR(DOMAIN_MAX_DISKS), "disk",
	  "--disk" },
	{ "all at the maximum", DOMAIN_MAX_VCPUS, (long long)DOMAIN_MAX_MEMORY_MB, DOMAIN_MAX_VIFS,
	  DOMAIN_MAX_DISKS, true },
	{ "the issue-10 target: 64 vCPUs, 8 vifs, 8 disks", DOMAIN_MAX_VCPUS, 1024, 8, 8, true },
};
_Static_assert(DOMAIN_MAX_MEMORY_MB == 8388608 && DOMAIN_MIN_MEMORY_MB == 2,
	       "the memory cases name the limits as text");

struct case_arg {
	struct env *env;
	const struct limits_case *c;
};

static void test_edge(struct unit *u, const void *arg)
{
	const struct case_arg *a = arg;
	int xl = xl_verdict(u, a->env, a->c, false), vmm = vmm_verdict(u, a->env, a->c);

	if (xl < 0 || vmm < 0)
		return;
	CHECK(xl == vmm, "xl %s, the VMM %s", xl ? "accepts" : "refuses",
	      vmm ? "accepts" : "refuses");
	CHECK(xl == a->c->ok, "both %s; expected %s", xl ? "accept" : "refuse",
	      a->c->ok ? "accepted" : "refused");
}

/* xl's dry run at the device limits gives the specs every VMM run uses. */
static void test_specs(struct unit *u, const void *arg)
{
	struct env *e = (struct env *)arg;
	const struct limits_case devices = { "specs", 1, 128, DOMAIN_MAX_VIFS, DOMAIN_MAX_DISKS, true };
	bool all = xl_verdict(u, e, &devices, true) == 1;

	for (unsigned int i = 0; i < DOMAIN_MAX_VIFS; i++)
	{
		CHECK(e->vif_specs[i], "no --vif for vif %u", i);
		all = all && e->vif_specs[i];
	}
	for (unsigned int i = 0; i < DOMAIN_MAX_DISKS; i++)
	{
		CHECK(e->disk_specs[i], "no --disk for disk %u", i);
		all = all && e->disk_specs[i];
	}
	e->have_specs = all;
}

/* ---- the event loop ---- */

struct counted {
	int fd;
	unsigned int calls;
};

static void count_call(void *opaque, uint32_t events)
{
	struct counted *c = opaque;
	uint64_t v;

	(void)events;
	c->calls++;
	if (read(c->fd, &v, sizeof(v)) < 0)
		c->calls += 1000;   /* shows as a wrong count */
}

/* Every vCPU's timer, two descriptors per vif and one per disk, and the VMM's own few: more than
 * the fixed 64 slots the loop once had (issue 10: 58-64 vCPUs failed with ENOENT). */
static void test_event_loop_at_limits(struct unit *u, const void *arg)
{
	(void)arg;
	enum { N = DOMAIN_MAX_VCPUS + 2 * DOMAIN_MAX_VIFS + DOMAIN_MAX_DISKS + 8 };
	struct counted *srcs = calloc(N, sizeof(*srcs));
	struct event_loop loop;
	uint64_t one = 1;
	int added = 0;

	CHECK(srcs && event_loop_init(&loop) == 0, "event_loop_init");
	if (!srcs)
		return;
	for (int i = 0; i < N; i++) {
		srcs[i].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (srcs[i].fd < 0 || event_loop_add(&loop, srcs[i].fd, EPOLLIN, count_call, &srcs[i]))
			break;
		added++;
	}
	CHECK(added == N, "registered %d of %d descriptors", added, N);
	for (int i = 0; i < added; i++)
		CHECK(write(srcs[i].fd, &one, sizeof(one)) == sizeof(one), "eventfd write");
	unsigned int total = 0;
	for (int round = 0; round < 100 && total < (unsigned)added; round++) {
		CHECK(event_loop_run_once(&loop, 1000) == 0, "event_loop_run_once");
		total = 0;
		for (int i = 0; i < added; i++)
			total += srcs[i].calls;
	}
	for (int i = 0; i < added; i++)
		CHECK(srcs[i].calls == 1, "descriptor %d: %u calls", i, srcs[i].calls);
	CHECK(event_loop_modify(&loop, srcs[N - 1].fd, 0) == 0, "modify the last one");
	for (int i = 0; i < added; i++)
		event_loop_remove(&loop, srcs[i].fd);
	CHECK(event_loop_modify(&loop, srcs[0].fd, EPOLLIN) == -ENOENT, "modify after remove");
	for (int i = 0; i < N; i++)
		if (srcs[i].fd >= 0)
			close(srcs[i].fd);
	event_loop_destroy(&loop);
	free(srcs);
}

/* A callback removes another ready source and registers a new one, which takes the freed slot:
 * the removed one's pending event must not run the newcomer's callback. */
struct reuse {
	struct event_loop *loop;
	struct counted x, y, z;
	unsigned int order, x_at, y_at;
};

static void reuse_y(void *opaque, uint32_t events)
{
	struct reuse *r = (struct reuse *)((char *)opaque - offsetof(struct reuse, y));
	count_call(opaque, events);
	r->y_at = ++r->order;
}

static void reuse_x(void *opaque, uint32_t events)
{
	struct reuse *r = (struct reuse *)((char *)opaque - offsetof(struct reuse, x));
	uint64_t one = 1;

	count_call(opaque, events);
	r->x_at = ++r->order;
	event_loop_remove(r->loop, r->y.fd);
	if (write(r->z.fd, &one, sizeof(one)) != sizeof(one) ||
	    event_loop_add(r->loop, r->z.fd, EPOLLIN, count_call, &r->z))
		r->z.calls += 1000;
}

static void test_event_loop_slot_reuse(struct unit *u, const void *arg)
{
	(void)arg;
	struct event_loop loop;
	struct reuse r = { .loop = &loop };
	uint64_t one = 1;

	CHECK(event_loop_init(&loop) == 0, "event_loop_init");
	r.x.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r.y.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r.z.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(event_loop_add(&loop, r.x.fd, EPOLLIN, reuse_x, &r.x) == 0 &&
	      event_loop_add(&loop, r.y.fd, EPOLLIN, reuse_y, &r.y) == 0, "event_loop_add");
	CHECK(write(r.x.fd, &one, 8) == 8 && write(r.y.fd, &one, 8) == 8, "eventfd write");
	CHECK(event_loop_run_once(&loop, 1000) == 0, "first batch");
	CHECK(r.x.calls == 1, "x ran %u times", r.x.calls);
	CHECK(r.y.calls == 0 || r.y_at < r.x_at, "y ran after x had removed it");
	CHECK(r.z.calls == 0, "z ran %u times in the batch it was added in (y's stale event?)",
	      r.z.calls);
	CHECK(event_loop_run_once(&loop, 1000) == 0, "second batch");
	CHECK(r.z.calls == 1, "z ran %u times", r.z.calls);
	close(r.x.fd);
	close(r.y.fd);
	close(r.z.fd);
	event_loop_destroy(&loop);
}

/* ---- setup ---- */

static bool setup(struct env *e, char *why, size_t whylen)
{
	char path[PATH_MAX], scripts[PATH_MAX];
	const char *root = getenv("XENITH_TEST_ROOT");

	if (!find_bin(e)) {
		snprintf(why, whylen, "no bin/xl and bin/xenith-vmm beside this build "
			 "(XENITH_TEST_BUILD/bin, ../bin, XENITH_TEST_ROOT/bin)");
		return false;
	}
	snprintf(e->dir, sizeof(e->dir), "/tmp/xenith-test-limits-XXXXXX");
	if (!mkdtemp(e->dir)) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		return false;
	}
	/* Disk targets must exist for xl's dry run (it resolves them); sparse, one byte each. */
	for (unsigned int i = 0; i <= DOMAIN_MAX_DISKS; i++) {
		snprintf(path, sizeof(path), "%s/disk%u.img", e->dir, i);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, 1 << 20) < 0) {
			snprintf(why, whylen, "making a disk image in %s: %s", e->dir, strerror(errno));
			return false;
		}
		close(fd);
	}
	/* The vif-bridge script xl resolves (it is not run in a dry run): the tree's own. */
	bool found = root && join(scripts, sizeof(scripts), root, "/scripts") &&
		     join(path, sizeof(path), scripts, "/vif-bridge") && !access(path, X_OK);
	if (!found)
		found = join(scripts, sizeof(scripts), e->bin, "/../scripts") &&
			join(path, sizeof(path), scripts, "/vif-bridge") && !access(path, X_OK);
	if (!found) {
		snprintf(why, whylen, "no scripts/vif-bridge (XENITH_TEST_ROOT unset?)");
		return false;
	}
	snprintf(e->kvm, sizeof(e->kvm), "%s/no-kvm-here", e->dir);
	setenv("XENITH_SCRIPTS", scripts, 1);
	setenv("XENITH_KVM_DEVICE", e->kvm, 1);
	snprintf(path, sizeof(path), "%s/xl-rundir", e->dir);
	setenv("XENITH_RUNDIR", path, 1);
	return true;
}

int main(void)
{
	struct unit u = UNIT_INIT;
	struct env e = { 0 };
	char why[512], name[160];

	unit_case(&u, "event loop: every descriptor of a domain at the limits", test_event_loop_at_limits,
		  NULL);
	unit_case(&u, "event loop: a freed slot reused within one batch", test_event_loop_slot_reuse,
		  NULL);
	if (regcomp(&e.c_location, "[A-Za-z0-9_]+\\.[ch]:[0-9]+", REG_EXTENDED | REG_NOSUB)) {
		printf("not ok - limits: regcomp\n");
		return 1;
	}
	if (!setup(&e, why, sizeof(why))) {
		printf("skip - xl and the VMM at the limits: %s\n", why);
		regfree(&e.c_location);
		if (e.dir[0])
			remove_tree(e.dir);
		return unit_finish(&u);
	}
	printf("# xl and xenith-vmm from %s\n", e.bin);
	unit_case(&u, "xl's dry run at the device limits prints a --vif and a --disk for each",
		  test_specs, &e);
	if (!e.have_specs) {
		printf("skip - xl and the VMM at the limits: no device specs from xl to give the VMM\n");
	} else {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct case_arg a = { &e, &cases[i] };
			snprintf(name, sizeof(name), "xl and the VMM agree: %s", cases[i].name);
			unit_case(&u, name, test_edge, &a);
		}
	}
	for (unsigned int i = 0; i < DOMAIN_MAX_VIFS; i++)
		free(e.vif_specs[i]);
	for (unsigned int i = 0; i < DOMAIN_MAX_DISKS; i++)
		free(e.disk_specs[i]);
	regfree(&e.c_location);
	remove_tree(e.dir);
	return unit_finish(&u);
}
