/* The VMM's xenstore link (src/backends/xenstore_link.c) when xenstored dies, with no KVM: a fake
 * domain whose RAM is a memfd, the link's own event loop, and the real xenstored binary started by
 * the link itself (xenstored_ensure).  The "guest" writes requests into its ring page and kicks
 * through the event-channel hypercall, as a real one does.  xenstored is SIGKILLed twice: once
 * with its snapshot (the ring resumes: requests queued meanwhile are answered, the link's watch
 * fires again), once with the snapshot removed (the link writes the domain's nodes again).  And
 * SIGSTOPped: a call costs its reply bound, then the link serves on after SIGCONT. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <xen/event_channel.h>
#include <xen/io/xs_wire.h>

#include "pv_xs_fixture.h"

struct fixture {
	struct pv_xs_fixture x;
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
	long long end = pv_xs_now_ms() + ms;

	for (;;) {
		if (cond(f))
			return true;
		if (pv_xs_now_ms() > end)
			return false;
		event_loop_run_once(&f->x.loop, 20);
	}
}

static bool kill_xenstored(struct unit *u, struct fixture *f)
{
	pid_t pid = pv_xs_xenstored_pid(&f->x);

	CHECK(pid > 0, "no xenstored serves %s", f->x.dir);
	if (pid <= 0 || kill(pid, SIGKILL) < 0)
		return false;
	for (int i = 0; i < 200 && !pv_xs_pid_gone(pid); i++)
		usleep(10 * 1000);
	CHECK(pv_xs_pid_gone(pid), "xenstored %d outlived SIGKILL", (int)pid);
	CHECK(pv_xs_xenstored_pid(&f->x) == 0, "another xenstored serves %s", f->x.dir);
	return pv_xs_pid_gone(pid);
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
	fake_kick(f->x.d, EVTCHN_STORE_PORT);
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

/* Through a client of its own: the daemon may have been restarted since the last read. */
static char *store_read(struct fixture *f, const char *path)
{
	return pv_xs_read(&f->x, path, NULL);
}

static bool setup(struct unit *u, struct fixture *f)
{
	static const struct pv_xs_options link_test = { .tag = "xs-link", .domain = "linktest" };

	memset(f, 0, sizeof(*f));
	if (!pv_xs_setup(u, &f->x, &link_test))
		return false;
	f->ring = fake_gpa(f->x.d, vm_special_page_gpa(&f->x.d->vm, SPECIAL_PAGE_XENSTORE));
	return true;
}

static void test_reconnect(struct unit *u, const void *arg)
{
	struct fixture f;
	char got[512], path[128], *v;

	(void)arg;
	if (!setup(u, &f))
		goto out;
	snprintf(path, sizeof(path), "/local/domain/%d/name", FAKE_DOMID);
	v = store_read(&f, path);
	CHECK(v && !strcmp(v, "linktest"), "home: %s", v ? v : "(none)");
	free(v);
	snprintf(path, sizeof(path), "/local/domain/%d/device/test", FAKE_DOMID);
	int id = xenstore_link_watch(f.x.d, path, watch_fired, &f);
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
	snprintf(tree, sizeof(tree), "%s/xenstored/tree", f.x.dir);
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
	xenstore_link_device.teardown(f.x.d, f.x.link);
	f.x.link = NULL;
	v = store_read(&f, path);
	CHECK(v == NULL, "home outlived the link: %s", v);
	free(v);
out:
	pv_xs_teardown(&f.x);
}

/* A stopped xenstored (SIGSTOP: its socket stays open, nothing answers) costs a call its reply
 * bound, not the VMM's loop forever; once it runs again the same link serves on. */
static void test_stopped_xenstored(struct unit *u, const void *arg)
{
	struct fixture f;
	char path[128];

	(void)arg;
	if (!setup(u, &f))
		goto out;
	pid_t pid = pv_xs_xenstored_pid(&f.x);
	CHECK(pid > 0, "no xenstored serves %s", f.x.dir);
	if (pid <= 0 || kill(pid, SIGSTOP) < 0)
		goto out;
	snprintf(path, sizeof(path), "/local/domain/%d/device/stopped", FAKE_DOMID);
	long long t0 = pv_xs_now_ms();
	int id = xenstore_link_watch(f.x.d, path, watch_fired, &f);
	long long took = pv_xs_now_ms() - t0;
	kill(pid, SIGCONT);
	CHECK(id == -ETIMEDOUT, "a watch asked of a stopped xenstored gave %d, not -ETIMEDOUT", id);
	CHECK(took >= 4500 && took <= 8000, "it gave up after %lld ms, not the 5 s bound", took);
	id = xenstore_link_watch(f.x.d, path, watch_fired, &f);
	CHECK(id > 0, "after SIGCONT the watch gave %d", id);
	target_events = f.watch_events + 1;
	CHECK(run_until(&f, 2000, watch_again), "after SIGCONT the new watch never fired");
	snprintf(path, sizeof(path), "/local/domain/%d/name", FAKE_DOMID);
	char *v = store_read(&f, path);
	CHECK(v && !strcmp(v, "linktest"), "home after SIGCONT: %s", v ? v : "(none)");
	free(v);
out:
	pv_xs_teardown(&f.x);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	signal(SIGPIPE, SIG_IGN);
	unit_case(&u, "link-reconnects", test_reconnect, NULL);
	unit_case(&u, "link-survives-stopped-xenstored", test_stopped_xenstored, NULL);
	return unit_finish(&u);
}
