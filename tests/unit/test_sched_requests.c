/* The control requests vcpu-list, vcpu-pin and sched-credit (control_requests.c, vmm/sched.c) on a
 * domain whose vCPU threads are real threads that register as vCPU threads do, no KVM:
 * - vcpu-list: a busy thread is 'r', one blocked on a condition variable is 'b', a vCPU without a
 *   thread is offline (cpu -1, 'p'); affinities print as xl's;
 * - vcpu-pin: the thread's kernel mask (and /proc/self/task/TID/status Cpus_allowed_list) follows,
 *   "-" keeps one, soft is recorded only; bad vCPUs, CPUs and usages are refused with the reason;
 * - sched-credit: without a cgroup it reads and refuses to set with ENOTSUP and the reason; with
 *   the host's cgroup cpu control (skip without), the weight and cap land in the cgroup's files. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include "lib/cgroup.h"
#include "vmm/control.h"
#include "vmm/domain.h"
#include "vmm/sched.h"
#include "unit.h"

struct rig {
	struct domain *dom;
	struct domain_sched sched;
	pthread_t threads[2];
	pthread_mutex_t lock;
	pthread_cond_t never;
	volatile bool stop;
	pid_t tids[2];
};

struct vthread { struct rig *rig; unsigned int id; };

static void *vcpu_stand_in(void *arg)
{
	struct vthread *t = arg;
	struct rig *r = t->rig;

	domain_sched_vcpu_thread(&r->sched, t->id);
	r->tids[t->id] = gettid();
	if (t->id == 0) {
		while (!r->stop)
			;                       /* busy: 'r' */
	} else {
		pthread_mutex_lock(&r->lock);
		while (!r->stop)
			pthread_cond_wait(&r->never, &r->lock);    /* blocked: 'b' */
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

/* Sends one request through the table as the server's dispatch does. */
static void ask(struct rig *r, const char *request, char *reply, size_t len)
{
	char req[512];
	size_t n;
	const struct control_request *table = control_requests(&n);
	struct control_call call = { .dom = r->dom, .reply = reply, .len = len };

	snprintf(req, sizeof(req), "%s", request);
	call.name = strtok_r(req, " \n", &call.save);
	snprintf(reply, len, "error ENOSYS not found");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i].name, call.name)) {
			call.request = &table[i];
			table[i].handler(&call);
		}
}

static struct vthread vts[2];

static bool rig_start(struct unit *u, struct rig *r)
{
	r->dom = calloc(1, sizeof(*r->dom));
	if (!r->dom)
		return false;
	domain_sched_init(&r->sched);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->never, NULL);
	r->dom->sched = &r->sched;
	r->dom->n_vcpus = 3;                       /* vCPU 2 never gets a thread */
	for (unsigned int i = 0; i < 2; i++) {
		vts[i] = (struct vthread){ r, i };
		CHECK(!pthread_create(&r->threads[i], NULL, vcpu_stand_in, &vts[i]), "thread %u", i);
		r->dom->vcpus[i].thread_started = true;
	}
	for (int i = 0; i < 200 && (!r->tids[0] || !r->tids[1]); i++)
		usleep(5000);
	usleep(100 * 1000);
	return r->tids[0] && r->tids[1];
}

static void rig_stop(struct rig *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->never);
	pthread_mutex_unlock(&r->lock);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(r->threads[i], NULL);
	domain_sched_end(&r->sched);
	domain_sched_destroy(&r->sched);
	free(r->dom);
}

static void allowed_list(pid_t tid, char *out, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(out, len, "?");
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:", 18)) {
			snprintf(out, len, "%s", line + 18 + strspn(line + 18, " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	if (f)
		fclose(f);
}

static void test_list_and_pin(struct unit *u, const void *arg)
{
	struct rig r = { 0 };
	char reply[CONTROL_REPLY_MAX], want[256], allowed[64];
	int host = get_nprocs_conf();

	(void)arg;
	if (!rig_start(u, &r)) {
		CHECK(0, "vCPU stand-in threads did not start");
		rig_stop(&r);
		return;
	}
	ask(&r, "vcpu-list", reply, sizeof(reply));
	CHECK(!strncmp(reply, "ok\nvcpu=0 cpu=", 14), "vcpu-list: %s", reply);
	CHECK(strstr(reply, " state=r ") && strstr(reply, "\nvcpu=1 cpu=") && strstr(reply, " state=b "),
	      "busy 'r' and blocked 'b' expected: %s", reply);
	CHECK(strstr(reply, "\nvcpu=2 cpu=-1 state=p time=0.000 hard=all soft=all"), "offline vCPU 2: %s", reply);
	CHECK(!strstr(reply, "hard=") || strstr(reply, "hard=all soft=all\nvcpu=1"), "defaults: %s", reply);

	ask(&r, "vcpu-pin 1 0", reply, sizeof(reply));
	CHECK_STR(reply, "ok");
	allowed_list(r.tids[1], allowed, sizeof(allowed));
	CHECK_STR(allowed, "0");
	ask(&r, "vcpu-pin all - 0", reply, sizeof(reply));
	CHECK_STR(reply, "ok");
	allowed_list(r.tids[1], allowed, sizeof(allowed));
	CHECK_STR(allowed, "0");                   /* "-" kept the hard one */
	ask(&r, "vcpu-list", reply, sizeof(reply));
	CHECK(strstr(reply, " hard=0 soft=0\nvcpu=2") || (host == 1 && strstr(reply, "hard=all")),
	      "vCPU 1 pinned to 0, every soft 0: %s", reply);
	if (host > 1) {
		ask(&r, "vcpu-pin 0 1", reply, sizeof(reply));
		CHECK_STR(reply, "ok");
		allowed_list(r.tids[0], allowed, sizeof(allowed));
		CHECK_STR(allowed, "1");
		ask(&r, "vcpu-pin all all all", reply, sizeof(reply));
		allowed_list(r.tids[0], allowed, sizeof(allowed));
		snprintf(want, sizeof(want), "0-%d", host - 1);
		CHECK_STR(allowed, want);
	}
	static const struct { const char *req, *reply_has; } bad[] = {
		{ "vcpu-pin 5 0", "error EINVAL vCPU 5 does not exist (the domain has 3)" },
		{ "vcpu-pin x 0", "error EINVAL 'x' is not a vCPU (a number or all)" },
		{ "vcpu-pin 0 0-x", "error EINVAL '0-x': '0-x' is not a range of CPUs" },
		{ "vcpu-pin 0", "error EINVAL usage: vcpu-pin VCPU HARD [SOFT]" },
		{ "vcpu-pin 0 0 0 0", "error EINVAL usage: vcpu-pin VCPU HARD [SOFT]" },
		{ "vcpu-pin 0 1023", "error EINVAL CPU 1023 does not exist (the host has" },
		{ "vcpu-pin 0 node:0", "NUMA node placement is not supported" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ask(&r, bad[i].req, reply, sizeof(reply));
		CHECK(strstr(reply, bad[i].reply_has), "%s: %s (expected '%s')", bad[i].req, reply,
		      bad[i].reply_has);
	}
	rig_stop(&r);
}

static void test_credit_unenforced(struct unit *u, const void *arg)
{
	struct rig r = { 0 };
	char reply[CONTROL_REPLY_MAX];

	(void)arg;
	r.dom = calloc(1, sizeof(*r.dom));
	domain_sched_init(&r.sched);
	r.dom->sched = &r.sched;
	ask(&r, "sched-credit", reply, sizeof(reply));
	CHECK_STR(reply, "ok weight=256 cap=0 unenforced=the domain has no cgroup yet");
	ask(&r, "sched-credit weight=512", reply, sizeof(reply));
	CHECK_STR(reply, "error ENOTSUP weight and cap are not enforced on this host: the domain has no cgroup yet");
	ask(&r, "sched-credit weight=0", reply, sizeof(reply));
	CHECK_STR(reply, "error EINVAL weight 0: expected 1 to 65535");
	ask(&r, "sched-credit cap=70000", reply, sizeof(reply));
	CHECK(strstr(reply, "error EINVAL 'cap=70000': usage: sched-credit [weight=W] [cap=C]"), "%s", reply);
	ask(&r, "sched-credit tslice=5", reply, sizeof(reply));
	CHECK(strstr(reply, "error EINVAL 'tslice=5'"), "%s", reply);
	domain_sched_destroy(&r.sched);
	free(r.dom);
}

static void read_file_line(const char *dir, const char *file, char *out, size_t len)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(out, len, "?");
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (f && fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

static void test_credit_enforced(struct unit *u, const void *arg)
{
	struct domain_sched *s = (struct domain_sched *)arg;
	struct rig r = { 0 };
	char reply[CONTROL_REPLY_MAX], want[PATH_MAX + 64], value[64];

	r.dom = calloc(1, sizeof(*r.dom));
	r.dom->sched = s;
	ask(&r, "sched-credit weight=512 cap=25", reply, sizeof(reply));
	snprintf(want, sizeof(want), "ok weight=512 cap=25 cgroup=%s", s->cgroup.path);
	CHECK_STR(reply, want);
	if (s->cgroup.kind == CGROUP_V2) {
		read_file_line(s->cgroup.path, "cpu.weight", value, sizeof(value));
		CHECK_STR(value, "200");
		read_file_line(s->cgroup.path, "cpu.max", value, sizeof(value));
		CHECK_STR(value, "25000 100000");
	} else {
		read_file_line(s->cgroup.path, "cpu.shares", value, sizeof(value));
		CHECK_STR(value, "2048");
		read_file_line(s->cgroup.path, "cpu.cfs_quota_us", value, sizeof(value));
		CHECK_STR(value, "25000");
	}
	ask(&r, "sched-credit cap=0", reply, sizeof(reply));
	snprintf(want, sizeof(want), "ok weight=512 cap=0 cgroup=%s", s->cgroup.path);
	CHECK_STR(reply, want);
	free(r.dom);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	struct domain_sched s;

	unit_case(&u, "vcpu-list and vcpu-pin on real threads", test_list_and_pin, NULL);
	unit_case(&u, "sched-credit without a cgroup reads and says why it cannot set", test_credit_unenforced, NULL);
	domain_sched_init(&s);
	/* The host's slice stays as the VMMs leave it: removed again if this test made it. */
	struct cgroup_root root;
	char slice[PATH_MAX + 32];
	bool had_slice = true;
	if (cgroup_root_find(&root, "/proc/self/mountinfo") == 0) {
		snprintf(slice, sizeof(slice), "%s/%s", root.path, CGROUP_SLICE);
		had_slice = access(slice, F_OK) == 0;
	}
	if (domain_sched_enter(&s, "test-sched-requests"))
		unit_case(&u, "sched-credit writes the domain's cgroup", test_credit_enforced, &s);
	else
		printf("skip - sched-credit writes the domain's cgroup: %s\n", s.why);
	domain_sched_end(&s);
	domain_sched_destroy(&s);
	char err[256];
	if (!had_slice)
		cgroup_slice_remove(&root, CGROUP_SLICE, err, sizeof(err));
	return unit_finish(&u);
}
