/* The VMM's xenstore link (src/backends/xenstore_link.c) when xenstored dies, with no KVM: a fake
 * domain whose RAM is a memfd, the link's own event loop, and the real xenstored binary started by
 * the link itself (xenstored_ensure).  The "guest" writes requests into its ring page and kicks
 * through the event-channel hypercall, as a real one does.  xenstored is SIGKILLed twice: once
 * with its snapshot (the ring resumes: requests queued meanwhile are answered, the link's watch
 * fires again), once with the snapshot removed (the link writes the domain's nodes again).  And
 * SIGSTOPped: a call costs its reply bound, then the link serves on after SIGCONT. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xen/event_channel.h>
#include <xen/io/xs_wire.h>

#include "unit.h"
#include "xenstored_binary.h"
#include "fake_domain_memfd.h"
#include "backends/xenstore_link.h"
#include "hw/device.h"
#include "lib/xs_client.h"
#include "vmm/event_loop.h"

extern const struct device_ops xenstore_link_device;

struct fixture {
	char dir[64], xenstored[PATH_MAX], sock[128];
	struct domain *d;
	struct event_loop loop;
	struct domain_params params;
	struct console con;
	void *link;
	int watch_events;
	struct xenstore_domain_interface *ring;
};

static void watch_fired(void *opaque, const char *path)
{
	struct fixture *f = opaque;

	(void)path;
	f->watch_events++;
}

/* Runs the link's loop until cond holds or `ms` pass. */
static bool run_until(struct fixture *f, int ms, bool (*cond)(struct fixture *f))
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (cond(f))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent > ms)
			return false;
		event_loop_run_once(&f->loop, 20);
	}
}

/* The daemon serving our run directory: its socket's peer credentials name the process that
 * bound it, which forked away to daemonize, so look for its command line instead. */
static pid_t xenstored_pid(struct fixture *f)
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

static bool gone(pid_t pid)
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

static bool kill_xenstored(struct unit *u, struct fixture *f)
{
	pid_t pid = xenstored_pid(f);

	CHECK(pid > 0, "no xenstored serves %s", f->dir);
	if (pid <= 0 || kill(pid, SIGKILL) < 0)
		return false;
	for (int i = 0; i < 200 && !gone(pid); i++)
		usleep(10 * 1000);
	CHECK(gone(pid), "xenstored %d outlived SIGKILL", (int)pid);
	CHECK(xenstored_pid(f) == 0, "another xenstored serves %s", f->dir);
	return gone(pid);
}

/* The guest's side of the ring. */
static void guest_send(struct fixture *f, uint32_t type, uint32_t req_id, const void *body, size_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .len = (uint32_t)len };
	struct xenstore_domain_interface *r = f->ring;
	char msg[sizeof(h) + 128];

	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), body, len);
	for (size_t i = 0; i < sizeof(h) + len; i++)
		r->req[MASK_XENSTORE_IDX(r->req_prod + i)] = msg[i];
	__atomic_store_n(&r->req_prod, r->req_prod + (uint32_t)(sizeof(h) + len), __ATOMIC_RELEASE);
	struct evtchn_send send = { .port = EVTCHN_STORE_PORT };
	fake_op(f->d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, &send, sizeof(send));
}

static int target_replies = 2;

static bool two_replies(struct fixture *f)
{
	struct xenstore_domain_interface *r = f->ring;
	uint32_t at = r->rsp_cons;
	int n = 0;

	while (r->rsp_prod - at >= sizeof(struct xsd_sockmsg)) {
		struct xsd_sockmsg h;
		for (size_t i = 0; i < sizeof(h); i++)
			((char *)&h)[i] = r->rsp[MASK_XENSTORE_IDX(at + i)];
		if (r->rsp_prod - at < sizeof(h) + h.len)
			break;
		n += h.type != XS_WATCH_EVENT;
		at += (uint32_t)(sizeof(h) + h.len);
	}
	return n >= target_replies;
}

/* The guest's replies (watch events skipped), as "TYPE body;" text. */
static void guest_replies(struct fixture *f, char *out, size_t max)
{
	struct xenstore_domain_interface *r = f->ring;
	size_t at = 0;

	out[0] = '\0';
	while (r->rsp_prod - r->rsp_cons >= sizeof(struct xsd_sockmsg)) {
		struct xsd_sockmsg h;
		char body[256];
		for (size_t i = 0; i < sizeof(h); i++)
			((char *)&h)[i] = r->rsp[MASK_XENSTORE_IDX(r->rsp_cons + i)];
		if (h.len >= sizeof(body) || r->rsp_prod - r->rsp_cons < sizeof(h) + h.len)
			break;
		for (size_t i = 0; i < h.len; i++)
			body[i] = r->rsp[MASK_XENSTORE_IDX(r->rsp_cons + sizeof(h) + i)];
		body[h.len] = '\0';
		r->rsp_cons += (uint32_t)(sizeof(h) + h.len);
		if (h.type != XS_WATCH_EVENT)
			at += (size_t)snprintf(out + at, max - at, "%u %s;", h.req_id, body);
		if (at >= max)
			break;
	}
}

static int target_events;
static bool watch_again(struct fixture *f)
{
	return f->watch_events >= target_events;
}

static bool replies_and_watch(struct fixture *f)
{
	return watch_again(f) && two_replies(f);
}

static char *store_read(struct fixture *f, const char *path)
{
	char err[256], *value = NULL;
	size_t len;
	struct xs_client *xs = xs_open_path(f->sock, err, sizeof(err));

	if (xs && xs_read(xs, 0, path, &value, &len))
		value = NULL;
	xs_close(xs);
	return value;
}

static bool setup(struct unit *u, struct fixture *f)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	if (!find_xenstored(f->xenstored, sizeof(f->xenstored))) {
		printf("skip - xenstore-link: no xenstored binary beside the tests (build it, or set "
		       "XENITH_XENSTORED)\n");
		return false;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/xs-link.XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	snprintf(f->sock, sizeof(f->sock), "%s/xenstored/socket", f->dir);
	setenv("XENITH_RUNDIR", f->dir, 1);
	setenv("XENITH_XENSTORED", f->xenstored, 1);
	f->d = fake_domain_new(1);
	fake_domain_use_memfd(f->d, "link-guest");
	if (event_loop_init(&f->loop))
		abort();
	f->d->loop = &f->loop;
	f->params = (struct domain_params){ .name = "linktest", .memory_mb = 8, .vcpus = 1 };
	f->d->params = &f->params;
	snprintf(f->con.tty_path, sizeof(f->con.tty_path), "/dev/pts/99");
	f->d->console = &f->con;
	f->ring = fake_gpa(f->d, vm_special_page_gpa(&f->d->vm, SPECIAL_PAGE_XENSTORE));
	if (xenstore_link_device.init(f->d, &f->link, err, sizeof(err))) {
		CHECK(0, "init: %s", err);
		return false;
	}
	if (xenstore_link_connect(f->d, err, sizeof(err))) {
		CHECK(0, "connect: %s", err);
		return false;
	}
	return true;
}

static void teardown(struct fixture *f)
{
	char cmd[128];

	if (f->link)
		xenstore_link_device.teardown(f->d, f->link);
	pid_t pid = xenstored_pid(f);
	if (pid > 0)
		kill(pid, SIGTERM);
	for (int i = 0; pid > 0 && i < 200 && !gone(pid); i++)
		usleep(10 * 1000);
	/* And any other this run directory's (one a restart raced with): none may outlive the test. */
	snprintf(cmd, sizeof(cmd), "pkill -f 'xenstored --rundir %s( |$)'", f->dir);
	if (system(cmd) < 0)
		fprintf(stderr, "# could not run pkill\n");
	event_loop_destroy(&f->loop);
	fake_domain_drop_memfd(f->d);
	fake_domain_free(f->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", f->dir);
}

static void test_reconnect(struct unit *u, const void *arg)
{
	struct fixture f;
	char got[512], path[128], *v;

	(void)arg;
	if (!setup(u, &f)) {
		if (f.d)
			teardown(&f);
		return;
	}
	snprintf(path, sizeof(path), "/local/domain/%d/name", FAKE_DOMID);
	v = store_read(&f, path);
	CHECK(v && !strcmp(v, "linktest"), "home: %s", v ? v : "(none)");
	free(v);
	snprintf(path, sizeof(path), "/local/domain/%d/device/test", FAKE_DOMID);
	int id = xenstore_link_watch(f.d, path, watch_fired, &f);
	CHECK(id > 0, "watch: %d", id);
	target_events = 1;
	CHECK(run_until(&f, 2000, watch_again), "the new watch never fired");
	guest_send(&f, XS_WRITE, 1, "data/x\0" "1", 8);
	target_replies = 1;
	CHECK(run_until(&f, 2000, two_replies), "no reply on the ring");
	target_replies = 2;
	guest_replies(&f, got, sizeof(got));
	CHECK_STR(got, "1 OK;");

	/* 1: killed with its snapshot; the guest queues requests while nobody serves it. */
	if (!kill_xenstored(u, &f))
		goto out;
	guest_send(&f, XS_WRITE, 2, "data/y\0" "2", 8);
	guest_send(&f, XS_READ, 3, "data/x", 7);
	target_events = f.watch_events + 1;
	CHECK(run_until(&f, 8000, replies_and_watch),
	      "after the kill: %d watch events (want %d), replies %s", f.watch_events, target_events,
	      two_replies(&f) ? "there" : "missing");
	guest_replies(&f, got, sizeof(got));
	CHECK_STR(got, "2 OK;3 1;");
	snprintf(path, sizeof(path), "/local/domain/%d/data/y", FAKE_DOMID);
	v = store_read(&f, path);
	CHECK(v && !strcmp(v, "2"), "data/y: %s", v ? v : "(none)");
	free(v);

	/* 2: killed and its snapshot lost: the link writes the domain's nodes again. */
	if (!kill_xenstored(u, &f))
		goto out;
	char tree[128];
	snprintf(tree, sizeof(tree), "%s/xenstored/tree", f.dir);
	CHECK(unlink(tree) == 0, "no snapshot at %s", tree);
	target_events = f.watch_events + 1;
	CHECK(run_until(&f, 8000, watch_again), "after the second kill the watch never fired");
	snprintf(path, sizeof(path), "/local/domain/%d/name", FAKE_DOMID);
	v = store_read(&f, path);
	CHECK(v && !strcmp(v, "linktest"), "home not rewritten: %s", v ? v : "(none)");
	free(v);
	guest_send(&f, XS_WRITE, 4, "data/z\0" "3", 8);
	guest_send(&f, XS_READ, 5, "data/z", 7);
	CHECK(run_until(&f, 3000, two_replies), "the ring is not served after the second restart");
	guest_replies(&f, got, sizeof(got));
	CHECK_STR(got, "4 OK;5 3;");

	/* The domain's end removes its nodes as before. */
	xenstore_link_device.teardown(f.d, f.link);
	f.link = NULL;
	v = store_read(&f, path);
	CHECK(v == NULL, "home outlived the link: %s", v);
	free(v);
out:
	teardown(&f);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A stopped xenstored (SIGSTOP: its socket stays open, nothing answers) costs a call its reply
 * bound, not the VMM's loop forever; once it runs again the same link serves on. */
static void test_stopped_xenstored(struct unit *u, const void *arg)
{
	struct fixture f;
	char path[128];

	(void)arg;
	if (!setup(u, &f)) {
		if (f.d)
			teardown(&f);
		return;
	}
	pid_t pid = xenstored_pid(&f);
	CHECK(pid > 0, "no xenstored serves %s", f.dir);
	if (pid <= 0 || kill(pid, SIGSTOP) < 0)
		goto out;
	snprintf(path, sizeof(path), "/local/domain/%d/device/stopped", FAKE_DOMID);
	long long t0 = mono_ms();
	int id = xenstore_link_watch(f.d, path, watch_fired, &f);
	long long took = mono_ms() - t0;
	kill(pid, SIGCONT);
	CHECK(id == -ETIMEDOUT, "a watch asked of a stopped xenstored gave %d, not -ETIMEDOUT", id);
	CHECK(took >= 4500 && took <= 8000, "it gave up after %lld ms, not the 5 s bound", took);
	id = xenstore_link_watch(f.d, path, watch_fired, &f);
	CHECK(id > 0, "after SIGCONT the watch gave %d", id);
	target_events = f.watch_events + 1;
	CHECK(run_until(&f, 2000, watch_again), "after SIGCONT the new watch never fired");
	snprintf(path, sizeof(path), "/local/domain/%d/name", FAKE_DOMID);
	char *v = store_read(&f, path);
	CHECK(v && !strcmp(v, "linktest"), "home after SIGCONT: %s", v ? v : "(none)");
	free(v);
out:
	teardown(&f);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	signal(SIGPIPE, SIG_IGN);
	unit_case(&u, "link-reconnects", test_reconnect, NULL);
	unit_case(&u, "link-survives-stopped-xenstored", test_stopped_xenstored, NULL);
	return unit_finish(&u);
}
