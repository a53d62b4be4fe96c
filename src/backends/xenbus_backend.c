/* The backend half of a xenbus device, device-neutral (Linux's xenbus backend core plus the
 * directories libxl writes; docs/netif.md has the vif's nodes).
 *
 * Our state, driven by the frontend's (F:) and by the VMM (detach, teardown):
 *
 *   create ─► Initialising(1) ──start (device made, hotplug ok)──► InitWait(2)
 *   InitWait ──F:Connected (or F:Initialised, for blkback), ops->connect ok──► Connected(4)
 *   InitWait ──F:Connected (or Initialised), ops->connect failed──► Closing(5)   (reason in backend/error)
 *   any ──F:Closing──► disconnect, Closing(5)
 *   any ──F:Closed / frontend gone──► disconnect, Closed(6) ──not detaching, F:Initialising──► InitWait
 *   close (detach) ──► online=0, Closing(5) ──F:Closed or timeout──► Closed(6), ops->release,
 *                                                directories removed, ops->closed
 *   destroy (teardown) ──► disconnect, ops->release, directories removed, at once
 *
 * A frontend that never got past Initialising (no driver in the guest) is not waited for on
 * close.  The frontend's state node belongs to the guest: anything but a number 1..6 counts as
 * the frontend being gone.  Every xenstore call here runs on the main thread, through the
 * domain's xenstore link. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "backends/xenbus_backend.h"
#include "backends/xenstore_link.h"
#include "lib/error.h"
#include "lib/xs_client.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"

#define CREATE_RETRIES 8

const char *xenbus_state_name(enum xenbus_state s)
{
	static const char *const names[] = {
		"Unknown", "Initialising", "InitWait", "Initialised", "Connected", "Closing", "Closed",
		"Reconfiguring", "Reconfigured",
	};
	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static int put(struct xs_client *xs, uint32_t tx, const char *dir, const char *key, const char *value,
	       const char *perms)
{
	char path[192];

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir, key ? "/" : "", key ? key : "") >= sizeof(path))
		return -ENAMETOOLONG;
	int r = xs_write_str(xs, tx, path, value);
	return r ? r : xs_set_perms(xs, tx, path, perms);
}

static int write_dirs(struct xenbus_backend *xb, struct xs_client *xs, uint32_t tx,
		      const struct xenbus_node *backend, const struct xenbus_node *frontend)
{
	char be_perms[32], fe_perms[32], num[16];
	int r;

	snprintf(be_perms, sizeof(be_perms), "n0 r%d", xb->domid);
	snprintf(fe_perms, sizeof(fe_perms), "n%d r0", xb->domid);
	snprintf(num, sizeof(num), "%d", xb->domid);
#define PUT(dir, key, value, perms) do { if ((r = put(xs, tx, dir, key, value, perms))) return r; } while (0)
	PUT(xb->be_path, NULL, "", be_perms);
	PUT(xb->be_path, "frontend", xb->fe_path, be_perms);
	PUT(xb->be_path, "frontend-id", num, be_perms);
	PUT(xb->be_path, "online", "1", be_perms);
	PUT(xb->be_path, "state", "1", be_perms);
	for (const struct xenbus_node *n = backend; n && n->key; n++)
		PUT(xb->be_path, n->key, n->value, be_perms);
	PUT(xb->fe_path, NULL, "", fe_perms);
	PUT(xb->fe_path, "backend", xb->be_path, fe_perms);
	PUT(xb->fe_path, "backend-id", "0", fe_perms);
	PUT(xb->fe_path, "state", "1", fe_perms);
	for (const struct xenbus_node *n = frontend; n && n->key; n++)
		PUT(xb->fe_path, n->key, n->value, fe_perms);
#undef PUT
	return 0;
}

int xenbus_backend_create(struct xenbus_backend *xb, struct domain *dom, const char *type, int devid,
			  const struct xenbus_node *backend, const struct xenbus_node *frontend,
			  const struct xenbus_backend_ops *ops, void *opaque, char *err, size_t errlen)
{
	struct xs_client *xs = xenstore_link_xs(dom);
	int r;

	*xb = (struct xenbus_backend){
		.dom = dom, .ops = ops, .opaque = opaque, .devid = devid, .domid = dom->domid,
		.state = XenbusStateInitialising, .fe_state = XenbusStateInitialising, .timer_fd = -1,
	};
	snprintf(xb->type_path, sizeof(xb->type_path), "/local/domain/0/backend/%s/%d", type, dom->domid);
	snprintf(xb->be_path, sizeof(xb->be_path), "%s/%d", xb->type_path, devid);
	snprintf(xb->fe_path, sizeof(xb->fe_path), "/local/domain/%d/device/%s/%d", dom->domid, type, devid);
	if (!xs) {
		ERR_SET(err, errlen, "%s %d: no xenstore connection", type, devid);
		return -1;
	}
	for (int attempt = 0;; attempt++) {
		uint32_t tx;
		if ((r = xs_transaction_start(xs, &tx)))
			break;
		r = write_dirs(xb, xs, tx, backend, frontend);
		int end = xs_transaction_end(xs, tx, r == 0);
		if (!r)
			r = end;
		if (r != -EAGAIN || attempt == CREATE_RETRIES)
			break;
	}
	if (r) {
		ERR_SET(err, errlen, "writing %s and %s: %s", xb->be_path, xb->fe_path, strerror(-r));
		return -1;
	}
	xb->made = true;
	return 0;
}

int xenbus_backend_write(struct xenbus_backend *xb, const char *key, const char *value)
{
	struct xs_client *xs = xenstore_link_xs(xb->dom);
	char perms[32];

	if (!xs || !xb->made)
		return -ENOTCONN;
	snprintf(perms, sizeof(perms), "n0 r%d", xb->domid);
	return put(xs, 0, xb->be_path, key, value, perms);
}

int xenbus_backend_read_fe(struct xenbus_backend *xb, const char *key, char *buf, size_t len)
{
	struct xs_client *xs = xenstore_link_xs(xb->dom);
	char path[192], *value;
	size_t vlen;

	if (!xs)
		return -ENOTCONN;
	snprintf(path, sizeof(path), "%s/%s", xb->fe_path, key);
	int r = xs_read(xs, 0, path, &value, &vlen);
	if (r)
		return r;
	if (vlen >= len) {
		free(value);
		return -E2BIG;
	}
	memcpy(buf, value, vlen + 1);
	free(value);
	return 0;
}

int xenbus_backend_read_fe_uint(struct xenbus_backend *xb, const char *key, unsigned long max,
				unsigned long *out)
{
	char buf[32], *end;
	int r = xenbus_backend_read_fe(xb, key, buf, sizeof(buf));

	if (r)
		return r;
	errno = 0;
	*out = strtoul(buf, &end, 10);
	if (errno || end == buf || *end || buf[0] == '-' || *out > max)
		return -EINVAL;
	return 0;
}

static void set_state(struct xenbus_backend *xb, enum xenbus_state s)
{
	char num[4];

	if (xb->state == s)
		return;
	xb->state = s;
	snprintf(num, sizeof(num), "%d", (int)s);
	int r = xenbus_backend_write(xb, "state", num);
	if (r)
		LOG("domain %d: %s: state %s: %s", xb->domid, xb->be_path, xenbus_state_name(s), strerror(-r));
}

static void do_disconnect(struct xenbus_backend *xb)
{
	if (!xb->connected)
		return;
	xb->connected = false;
	xb->ops->disconnect(xb, xb->opaque);
}

/* Takes the watch and timer off and removes the directories (and an empty type directory). */
static void remove_all(struct xenbus_backend *xb)
{
	struct xs_client *xs;

	if (xb->watch_id > 0)
		xenstore_link_unwatch(xb->dom, xb->watch_id);
	xb->watch_id = 0;
	if (xb->timer_fd >= 0) {
		event_loop_remove(xb->dom->loop, xb->timer_fd);
		close(xb->timer_fd);
		xb->timer_fd = -1;
	}
	if (!xb->made || !(xs = xenstore_link_xs(xb->dom))) {
		xb->made = false;
		return;
	}
	xs_rm(xs, 0, xb->fe_path);
	xs_rm(xs, 0, xb->be_path);
	/* Then backend/<type>/<domid>, backend/<type> and backend, as each becomes empty. */
	char dir[sizeof(xb->type_path)];
	snprintf(dir, sizeof(dir), "%s", xb->type_path);
	for (int up = 0; up < 3; up++) {
		char **names = NULL;
		unsigned int count = 0;
		int r = xs_directory(xs, 0, dir, &names, &count);
		free(names);
		if (r || count || xs_rm(xs, 0, dir))
			break;
		*strrchr(dir, '/') = '\0';
	}
	xb->made = false;
}

static void do_release(struct xenbus_backend *xb)
{
	if (xb->released || !xb->ops || !xb->ops->release)
		return;
	xb->released = true;
	xb->ops->release(xb, xb->opaque);
}

static void finish_close(struct xenbus_backend *xb)
{
	do_disconnect(xb);
	set_state(xb, XenbusStateClosed);
	do_release(xb);
	remove_all(xb);
	xb->closing = false;
	xb->ops->closed(xb, xb->opaque);    /* may free xb */
}

static enum xenbus_state read_fe_state(struct xenbus_backend *xb)
{
	unsigned long s;

	if (xenbus_backend_read_fe_uint(xb, "state", XenbusStateClosed, &s) || s < XenbusStateInitialising)
		return XenbusStateUnknown;
	return (enum xenbus_state)s;
}

static void frontend_changed(void *opaque, const char *path)
{
	struct xenbus_backend *xb = opaque;
	enum xenbus_state fe = read_fe_state(xb);
	char err[256] = "";

	(void)path;
	if (fe == xb->fe_state && fe != XenbusStateConnected)
		return;
	xb->fe_state = fe;
	switch (fe) {
	case XenbusStateInitialising:
		if (xb->state == XenbusStateClosed && !xb->closing) {
			LOG("domain %d: %s: frontend reconnecting", xb->domid, xb->be_path);
			set_state(xb, XenbusStateInitWait);
		}
		break;
	case XenbusStateInitialised:
		if (!xb->ops->connect_on_initialised)
			break;          /* netback waits for Connected */
		/* fall through */
	case XenbusStateConnected:
		if (xb->closing || xb->state != XenbusStateInitWait)
			break;
		if (xb->ops->connect(xb, xb->opaque, err, sizeof(err))) {
			LOG("domain %d: %s: connecting: %s", xb->domid, xb->be_path, err);
			xenbus_backend_write(xb, "error", err);
			set_state(xb, XenbusStateClosing);
			break;
		}
		xb->connected = true;
		set_state(xb, XenbusStateConnected);
		break;
	case XenbusStateClosing:
		do_disconnect(xb);
		set_state(xb, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
		if (xb->closing) {
			finish_close(xb);
			return;
		}
		do_disconnect(xb);
		set_state(xb, XenbusStateClosed);
		break;
	default:                 /* InitWait: nothing to do yet */
		break;
	}
}

int xenbus_backend_start(struct xenbus_backend *xb, char *err, size_t errlen)
{
	char path[128];

	set_state(xb, XenbusStateInitWait);
	snprintf(path, sizeof(path), "%s/state", xb->fe_path);
	int id = xenstore_link_watch(xb->dom, path, frontend_changed, xb);
	if (id < 0) {
		ERR_SET(err, errlen, "watching %s: %s", path, strerror(-id));
		return -1;
	}
	xb->watch_id = id;
	return 0;
}

static void close_timed_out(void *opaque, uint32_t events)
{
	struct xenbus_backend *xb = opaque;

	(void)events;
	LOG("domain %d: %s: frontend did not close (state %s): removing it anyway", xb->domid,
	    xb->be_path, xenbus_state_name(xb->fe_state));
	finish_close(xb);
}

void xenbus_backend_close(struct xenbus_backend *xb, int timeout_ms)
{
	if (xb->closing)
		return;
	xb->closing = true;
	xenbus_backend_write(xb, "online", "0");
	xb->fe_state = read_fe_state(xb);
	/* A frontend that never started, or already finished, has nothing to hand back. */
	if (xb->fe_state == XenbusStateInitialising || xb->fe_state == XenbusStateClosed ||
	    xb->fe_state == XenbusStateUnknown || !xb->watch_id) {
		finish_close(xb);
		return;
	}
	set_state(xb, XenbusStateClosing);
	xb->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct itimerspec when = { .it_value = { .tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L } };
	if (xb->timer_fd < 0 || timerfd_settime(xb->timer_fd, 0, &when, NULL) < 0 ||
	    event_loop_add(xb->dom->loop, xb->timer_fd, EPOLLIN, close_timed_out, xb)) {
		LOG("domain %d: %s: no timer for the close: closing at once", xb->domid, xb->be_path);
		if (xb->timer_fd >= 0)
			close(xb->timer_fd);
		xb->timer_fd = -1;
		finish_close(xb);
	}
}

void xenbus_backend_destroy(struct xenbus_backend *xb)
{
	if (!xb->dom)
		return;
	do_disconnect(xb);
	if (xb->made)
		set_state(xb, XenbusStateClosed);
	do_release(xb);
	remove_all(xb);
	xb->closing = false;
}
