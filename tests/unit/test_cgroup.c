/* A domain's cgroup (src/lib/cgroup.c) with real host processes, no KVM:
 * - the maps from Xen's weight and cap to cgroup v2's cpu.weight / cpu.max and v1's cpu.shares;
 * - finding the cpu controller from mountinfo texts: v2 with it, a hybrid host whose v2 lacks it
 *   (then the v1 cpu hierarchy), neither (a reason), escaped mount points;
 * - two busy children pinned to one CPU in two domain cgroups with weights 256 and 512 share it
 *   between 1:1.4 and 1:3; a busy child under cap 25 gets 10 to 40 % of a CPU;
 * - a domain's cgroup is gone after removal and its process back home; a leftover is removed only
 *   inside a Xenith slice.
 * The measuring cases skip, with the reason, on a host without a cgroup cpu controller we may use.
 * With XENITH_SCHED_FIGURES=1 they print their figures (bench/sched.sh). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "lib/cgroup.h"
#include "unit.h"

static void test_maps(struct unit *u, const void *arg)
{
	static const struct { unsigned int xen, v2, v1; } weights[] = {
		{ 256, 100, 1024 }, { 512, 200, 2048 }, { 128, 50, 512 }, { 1, 1, 4 },
		{ 25600, 10000, 102400 }, { 65535, 10000, 262140 }, { 3, 1, 12 },
	};
	static const struct { unsigned int cap; const char *text; } caps[] = {
		{ 0, "max 100000" }, { 25, "25000 100000" }, { 100, "100000 100000" },
		{ 150, "150000 100000" }, { 1, "1000 100000" }, { 65535, "65535000 100000" },
	};
	char text[48];

	(void)arg;
	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++) {
		CHECK_INT(cgroup_v2_weight(weights[i].xen), weights[i].v2);
		CHECK_INT(cgroup_v1_shares(weights[i].xen), weights[i].v1);
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		cgroup_cpu_max(caps[i].cap, text, sizeof(text));
		CHECK_STR(text, caps[i].text);
	}
}

/* A temporary folder standing for cgroup mounts, and a mountinfo naming them. */
struct fixture {
	char dir[64];
	char mountinfo[96];
};

static bool fixture_make(struct unit *u, struct fixture *f, const char *v2_controllers,
			 const char *lines)
{
	char path[256];
	FILE *out;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_cgroup.XXXXXX");
	if (!mkdtemp(f->dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return false;
	}
	snprintf(path, sizeof(path), "%s/v2 mount", f->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/v2 mount/cgroup.controllers", f->dir);
	out = fopen(path, "w");
	if (out) {
		fprintf(out, "%s\n", v2_controllers);
		fclose(out);
	}
	snprintf(f->mountinfo, sizeof(f->mountinfo), "%s/mountinfo", f->dir);
	out = fopen(f->mountinfo, "w");
	if (!out) {
		CHECK(0, "writing %s: %s", f->mountinfo, strerror(errno));
		return false;
	}
	/* %1$s: the fixture's folder; mount points with a blank are written escaped, as the kernel does. */
	fprintf(out, lines, f->dir);
	fclose(out);
	return true;
}

static void fixture_remove(struct fixture *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd)) {
		/* best effort: a temporary folder */
	}
}

struct mount_case {
	const char *v2_controllers;
	const char *lines;
	enum cgroup_kind kind;
	const char *path_tail;     /* the expected mount point after the fixture's folder */
	const char *why_has;       /* for CGROUP_NONE: a piece of the reason */
};

static void test_find_root(struct unit *u, const void *arg)
{
	const struct mount_case *c = arg;
	struct fixture f;
	struct cgroup_root root;
	char want[256];

	if (!fixture_make(u, &f, c->v2_controllers, c->lines))
		return;
	int r = cgroup_root_find(&root, f.mountinfo);
	CHECK_INT(root.kind, c->kind);
	CHECK_INT(r, c->kind == CGROUP_NONE ? -1 : 0);
	if (c->kind != CGROUP_NONE) {
		snprintf(want, sizeof(want), "%s%s", f.dir, c->path_tail);
		CHECK_STR(root.path, want);
	} else {
		CHECK(strstr(root.why, c->why_has), "reason '%s' lacks '%s'", root.why, c->why_has);
	}
	fixture_remove(&f);
}

static const struct mount_case mount_cases[] = {
	{ "cpuset cpu io memory pids",
	  "22 1 0:5 / /proc rw - proc proc rw\n"
	  "30 22 0:27 / %1$s/v2\\040mount rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
	  CGROUP_V2, "/v2 mount", NULL },
	{ "hugetlb",
	  "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
	  "32 30 0:29 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
	  "31 30 0:28 / %1$s/cpu\\040v1 rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
	  "40 30 0:37 / %1$s/v2\\040mount rw,relatime - cgroup2 cgroup2 rw\n",
	  CGROUP_V1_CPU, "/cpu v1", NULL },
	{ "hugetlb",
	  "31 30 0:28 / %1$s/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	  "40 30 0:37 / %1$s/v2\\040mount rw - cgroup2 cgroup2 rw\n",
	  CGROUP_V1_CPU, "/cpu,cpuacct", NULL },
	{ "hugetlb memory",
	  "32 30 0:29 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
	  "40 30 0:37 / %1$s/v2\\040mount rw - cgroup2 cgroup2 rw\n",
	  CGROUP_NONE, NULL, "offers no cpu controller (cgroup.controllers: 'hugetlb memory')" },
	{ "", "22 1 0:5 / /proc rw - proc proc rw\n# %1$s\n", CGROUP_NONE, NULL,
	  "no cgroup file system with the cpu controller" },
};

static void test_leftover_refused(struct unit *u, const void *arg)
{
	char err[512] = "";

	(void)arg;
	CHECK(cgroup_remove_leftover("/tmp/not-a-slice/dom-1", err, sizeof(err)) < 0,
	      "a path outside a Xenith slice was accepted");
	CHECK(strstr(err, "not in a Xenith slice"), "reason: %s", err);
	char dir[] = "/tmp/xenith-cg.XXXXXX";
	if (!mkdtemp(dir))
		return;
	char slice[64], leaf[96];
	snprintf(slice, sizeof(slice), "%s/xenith.slice", dir);
	snprintf(leaf, sizeof(leaf), "%s/web-1", slice);
	mkdir(slice, 0755);
	mkdir(leaf, 0755);
	CHECK(cgroup_remove_leftover(leaf, err, sizeof(err)) < 0, "a directory on /tmp was removed");
	CHECK(strstr(err, "not on a cgroup file system"), "reason: %s", err);
	rmdir(leaf);
	rmdir(slice);
	rmdir(dir);
	CHECK_INT(cgroup_remove_leftover("/sys/fs/cgroup/xenith.slice/gone-1", err, sizeof(err)), 0);
}

/* ---- real processes ---- */

struct host {
	struct cgroup_root root;
	char slice[64];
	char why[1200];            /* non-empty: the measuring cases skip with it */
};

static pid_t busy_child(int cpu)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (cpu >= 0) {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			sched_setaffinity(0, sizeof(one), &one);
		}
		for (volatile unsigned long n = 0;; n++)
			;
	}
	return pid;
}

static void end_child(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* CPU time a process had, in seconds: schedstat's nanoseconds on CPU, else stat's ticks. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ns;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (f) {
		int ok = fscanf(f, "%llu", &ns) == 1;
		fclose(f);
		if (ok)
			return ns / 1e9;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	char *p = strrchr(buf, ')');
	unsigned long long utime = 0, stime = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool figures_wanted(void)
{
	const char *v = getenv("XENITH_SCHED_FIGURES");
	return v && *v == '1';
}

/* A domain cgroup for a busy child, with a weight and cap. */
static bool child_in_domain(struct unit *u, struct host *h, const char *leaf, pid_t pid,
			    unsigned int weight, unsigned int cap, struct domain_cgroup *cg)
{
	char err[1024] = "";

	if (cgroup_domain_create(&h->root, h->slice, leaf, pid, cg, err, sizeof(err)) ||
	    cgroup_domain_enter(cg, pid, err, sizeof(err)) ||
	    cgroup_domain_set_weight(cg, weight, err, sizeof(err)) ||
	    cgroup_domain_set_cap(cg, cap, err, sizeof(err))) {
		CHECK(0, "domain cgroup %s: %s", leaf, err);
		return false;
	}
	return true;
}

static void remove_domain(struct unit *u, struct domain_cgroup *cg)
{
	char err[1024] = "";

	CHECK(!cgroup_domain_remove(cg, 0, err, sizeof(err)), "removing: %s", err);
}

/* The first CPU this process may run on. */
static int a_cpu(void)
{
	cpu_set_t mine;

	if (sched_getaffinity(0, sizeof(mine), &mine))
		return 0;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &mine))
			return i;
	return 0;
}

static void test_weights(struct unit *u, const void *arg)
{
	struct host *h = (struct host *)arg;
	struct domain_cgroup a = { 0 }, b = { 0 };
	int cpu = a_cpu();
	pid_t pa = busy_child(cpu), pb = busy_child(cpu);

	if (pa > 0 && pb > 0 && child_in_domain(u, h, "w256-1", pa, 256, 0, &a) &&
	    child_in_domain(u, h, "w512-2", pb, 512, 0, &b)) {
		usleep(200 * 1000);       /* both settled in their groups */
		double a0 = cpu_seconds(pa), b0 = cpu_seconds(pb), t0 = now();
		usleep(2000 * 1000);
		double da = cpu_seconds(pa) - a0, db = cpu_seconds(pb) - b0, dt = now() - t0;
		double ratio = da > 0 ? db / da : 0;
		if (figures_wanted())
			printf("# weights 256:512 on CPU %d (%s) over %.2f s: %.3f s and %.3f s of CPU, "
			       "ratio 1:%.2f\n", cpu, cgroup_kind_name(h->root.kind), dt, da, db, ratio);
		CHECK(ratio >= 1.4 && ratio <= 3.0, "weights 256 and 512 on CPU %d got %.3f s and %.3f s "
		      "over %.2f s: 1:%.2f, expected 1:1.4 .. 1:3", cpu, da, db, dt, ratio);
	}
	end_child(pa);
	end_child(pb);
	remove_domain(u, &a);
	remove_domain(u, &b);
}

static void test_cap(struct unit *u, const void *arg)
{
	struct host *h = (struct host *)arg;
	struct domain_cgroup c = { 0 };
	pid_t pid = busy_child(-1);

	if (pid > 0 && child_in_domain(u, h, "cap25-1", pid, 256, 25, &c)) {
		usleep(200 * 1000);
		double c0 = cpu_seconds(pid), t0 = now();
		usleep(2000 * 1000);
		double share = (cpu_seconds(pid) - c0) / (now() - t0) * 100;
		if (figures_wanted())
			printf("# cap 25 (%s): %.1f %% of a CPU\n", cgroup_kind_name(h->root.kind), share);
		CHECK(share >= 10 && share <= 40, "a busy child under cap 25 had %.1f %% of a CPU, "
		      "expected 10 .. 40", share);
	}
	end_child(pid);
	remove_domain(u, &c);
}

/* The VMM's own path: the process moves in, then back home, and the cgroup is gone. */
static void test_enter_and_remove(struct unit *u, const void *arg)
{
	struct host *h = (struct host *)arg;
	struct domain_cgroup cg;
	char err[1024] = "", line[4096], procs[PATH_MAX + 32];
	pid_t pid = busy_child(-1);

	if (pid <= 0)
		return;
	if (cgroup_domain_create(&h->root, h->slice, "home-1", pid, &cg, err, sizeof(err)) ||
	    cgroup_domain_enter(&cg, pid, err, sizeof(err))) {
		CHECK(0, "%s", err);
		end_child(pid);
		return;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg.path);
	FILE *f = fopen(procs, "r");
	bool listed = false;
	while (f && fgets(line, sizeof(line), f))
		listed |= atoi(line) == pid;
	if (f)
		fclose(f);
	CHECK(listed, "pid %d not in %s", (int)pid, procs);
	CHECK(!cgroup_domain_remove(&cg, pid, err, sizeof(err)), "removing with the process in it: %s", err);
	struct stat st;
	CHECK(stat(procs, &st) < 0, "%s still there", procs);
	CHECK_INT(cg.kind, CGROUP_NONE);
	CHECK(!cgroup_domain_remove(&cg, pid, err, sizeof(err)), "a second removal: %s", err);
	end_child(pid);
}

static void skip_or_run(struct unit *u, struct host *h, const char *name, unit_fn fn)
{
	if (h->why[0])
		printf("skip - %s: %s\n", name, h->why);
	else
		unit_case(u, name, fn, h);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	struct host h = { 0 };
	char name[96], err[1024];

	unit_case(&u, "weight and cap maps", test_maps, NULL);
	for (size_t i = 0; i < sizeof(mount_cases) / sizeof(mount_cases[0]); i++) {
		snprintf(name, sizeof(name), "cpu controller found from mountinfo %zu", i);
		unit_case(&u, name, test_find_root, &mount_cases[i]);
	}
	unit_case(&u, "a leftover is removed only inside a Xenith slice", test_leftover_refused, NULL);

	snprintf(h.slice, sizeof(h.slice), "xenith-test-%d.slice", (int)getpid());
	if (cgroup_root_find(&h.root, "/proc/self/mountinfo")) {
		snprintf(h.why, sizeof(h.why), "%s", h.root.why);
	} else {
		struct domain_cgroup probe;
		if (cgroup_domain_create(&h.root, h.slice, "probe", getpid(), &probe, err, sizeof(err)))
			snprintf(h.why, sizeof(h.why), "no cgroup of ours on this host: %s", err);
		else
			cgroup_domain_remove(&probe, 0, err, sizeof(err));
	}
	skip_or_run(&u, &h, "a domain's cgroup: entered, left and removed", test_enter_and_remove);
	skip_or_run(&u, &h, "weights 256 and 512 share one CPU about 1:2", test_weights);
	skip_or_run(&u, &h, "cap 25 holds a busy domain near 25 %", test_cap);
	if (!h.why[0] && cgroup_slice_remove(&h.root, h.slice, err, sizeof(err)))
		printf("# %s\n", err);
	return unit_finish(&u);
}
