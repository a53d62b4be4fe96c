/* Domain event procedures (docs/libvirt.md, "Events"): the callback form a libvirt >= 1.2.1 client
 * uses when CONNECT_SUPPORTS_FEATURE(VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK) answers yes
 * (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY / _DEREGISTER_ANY, events as
 * DOMAIN_EVENT_CALLBACK_LIFECYCLE carrying our callbackID), and the legacy form older clients use
 * (CONNECT_DOMAIN_EVENT_REGISTER[_ANY] / DEREGISTER[_ANY], one registration per event ID, events
 * as DOMAIN_EVENT_LIFECYCLE).  Lifecycle is the only event ID served; the others answer libvirt's
 * "not supported" (virsh event --all registers lifecycle first and passes over the rest).
 *
 * Each listening client has its own tracker (events.h) and poll timer, running only while it has
 * a callback: its first snapshot is taken when it registers, so it sees exactly what changed since.
 * The client's state sits in its data slot (server.h); a client dropped while we send to it has
 * that state freed by the server, so a poll marks the state busy and the free waits for it. */
#define VIR_ENUM_SENTINELS      /* VIR_DOMAIN_EVENT_ID_LAST */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/error.h"
#include "libvirt/events.h"
#include "libvirt/procs_domain.h"
#include "libvirt/procs_events.h"
#include "libvirt/remote_types.h"
#include "libvirt/server.h"

#define PROC_CONNECT_DOMAIN_EVENT_REGISTER              105
#define PROC_CONNECT_DOMAIN_EVENT_DEREGISTER            106
#define PROC_DOMAIN_EVENT_LIFECYCLE                     107
#define PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY          167
#define PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY        168
#define PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY 316
#define PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY 317
#define PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE            318

#define EV_CALLBACKS_MAX 256    /* per client: virsh event --all takes one per event ID */

struct ev_callback {
	int32_t id;                      /* callbackID, or for the legacy form the event ID */
	bool legacy;
	bool has_dom;                    /* only events of this domain (by UUID, else name) */
	uint8_t uuid[16];
	char name[DOMAIN_NAME_MAX + 1];
};

struct ev_client {
	struct virt_daemon *d;
	struct virt_client *client;
	struct ev_callback cbs[EV_CALLBACKS_MAX];
	size_t n;
	int32_t next_id;
	int timer;                       /* -1 while nothing listens */
	struct virt_event_tracker tracker;
	bool busy, dead;                 /* in a poll / freed by the server meanwhile */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void ev_client_destroy(struct ev_client *ec)
{
	if (ec->timer >= 0)
		virt_daemon_remove_timer(ec->d, ec->timer);
	virt_event_tracker_reset(&ec->tracker);
	free(ec);
}

static void ev_client_free(void *data)
{
	struct ev_client *ec = data;

	if (ec->busy)
		ec->dead = true;        /* the poll under way finishes it */
	else
		ev_client_destroy(ec);
}

static struct ev_client *ev_client_of(struct virt_call *call, bool create)
{
	struct ev_client *ec = virt_client_data(call->client);

	if (ec || !create)
		return ec;
	ec = calloc(1, sizeof(*ec));
	if (!ec)
		return NULL;
	ec->d = call->daemon;
	ec->client = call->client;
	ec->next_id = 1;
	ec->timer = -1;
	virt_event_tracker_init(&ec->tracker);
	virt_client_set_data(call->client, ec, ev_client_free);
	return ec;
}

static bool matches(const struct ev_callback *cb, const struct virt_lifecycle_event *ev)
{
	static const uint8_t zero[16];

	if (!cb->has_dom)
		return true;
	if (memcmp(cb->uuid, zero, 16) && !memcmp(cb->uuid, ev->uuid, 16))
		return true;
	return !strcmp(cb->name, ev->name);
}

static void emit(void *opaque, const struct virt_lifecycle_event *ev)
{
	struct ev_client *ec = opaque;

	for (size_t i = 0; i < ec->n && !ec->dead; i++) {
		struct xdr_writer w;

		if (!matches(&ec->cbs[i], ev))
			continue;
		xdr_writer_init(&w, 65536);
		virt_event_put_lifecycle(&w, ec->cbs[i].legacy ? -1 : ec->cbs[i].id, ev);
		if (!w.failed)
			virt_client_send_message(ec->client, VIRT_REMOTE_PROGRAM,
						 ec->cbs[i].legacy ? PROC_DOMAIN_EVENT_LIFECYCLE
								   : PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE,
						 &w);
		xdr_writer_free(&w);
	}
}

/* A new snapshot for one client; its first only sets the baseline.  Returns false when the
 * client went away meanwhile (its state is then freed). */
static bool ev_client_poll(struct ev_client *ec)
{
	struct virt_dom *doms = NULL;
	size_t n = 0;
	char err[256];

	if (virt_domains_list(&ec->d->host, &doms, &n, err, sizeof(err)) < 0) {
		LOG("events: cannot list domains: %s", err);
		return true;            /* the next tick tries again; nothing is made up meanwhile */
	}
	ec->busy = true;
	virt_event_tracker_update(&ec->tracker, doms, n, mono_ms(), emit, ec);
	ec->busy = false;
	if (ec->dead) {
		ev_client_destroy(ec);
		return false;
	}
	return true;
}

static void ev_timer(struct virt_daemon *d, void *ctx)
{
	(void)d;
	ev_client_poll(ctx);
}

/* Starts the client's poller with its first callback (the baseline taken now). */
static int ev_listen(struct virt_call *call, struct ev_client *ec)
{
	if (ec->timer >= 0)
		return 0;
	ec->timer = virt_daemon_add_timer(ec->d, VIRT_EVENTS_POLL_MS, ev_timer, ec);
	if (ec->timer < 0)
		return pd_fail(call, VIR_ERR_NO_MEMORY, "cannot start the event poller");
	ev_client_poll(ec);             /* the call's own client: it is not dropped by a list */
	return 0;
}

static void ev_stop_if_idle(struct ev_client *ec)
{
	if (ec->n || ec->timer < 0)
		return;
	virt_daemon_remove_timer(ec->d, ec->timer);
	ec->timer = -1;
	virt_event_tracker_reset(&ec->tracker);
}

/* The event ID a client asked for: lifecycle, or libvirt's errors for the rest. */
static int check_event_id(struct virt_call *call, int32_t id)
{
	if (id < 0 || id >= VIR_DOMAIN_EVENT_ID_LAST)
		return pd_fail(call, VIR_ERR_INTERNAL_ERROR, "unsupported event ID %d", id);
	if (id != VIR_DOMAIN_EVENT_ID_LIFECYCLE)
		return pd_fail(call, VIR_ERR_NO_SUPPORT,
			       "event ID %d: Xenith reports lifecycle events only", id);
	return 0;
}

static int add_callback(struct virt_call *call, const struct ev_callback *cb)
{
	struct ev_client *ec = ev_client_of(call, true);

	if (!ec)
		return pd_fail(call, VIR_ERR_NO_MEMORY, "cannot keep the event callback");
	if (ec->n >= EV_CALLBACKS_MAX)
		return pd_fail(call, VIR_ERR_INTERNAL_ERROR, "too many event callbacks (%d) on this connection",
			       EV_CALLBACKS_MAX);
	ec->cbs[ec->n++] = *cb;
	if (ev_listen(call, ec) < 0) {
		ec->n--;
		return -1;
	}
	return 0;
}

/* Index of the callback (legacy: by event ID), or -1. */
static ssize_t find_callback(const struct ev_client *ec, int32_t id, bool legacy)
{
	for (size_t i = 0; ec && i < ec->n; i++)
		if (ec->cbs[i].id == id && ec->cbs[i].legacy == legacy)
			return (ssize_t)i;
	return -1;
}

static void remove_callback(struct ev_client *ec, size_t i)
{
	ec->cbs[i] = ec->cbs[--ec->n];
	ev_stop_if_idle(ec);
}

static int serve_callback_register_any(struct virt_call *call)
{
	struct ev_callback cb = { .legacy = false };
	int32_t event_id = xdr_get_i32(call->args);
	struct ev_client *ec;

	/* remote_domain: a pointer to remote_nonnull_domain; the filter needs no such domain now
	 * (libvirt's drivers keep it by UUID, and so do we). */
	cb.has_dom = xdr_get_bool(call->args);
	if (cb.has_dom) {
		struct remote_domain dom = { .name = NULL };

		if (remote_domain_get(call->args, &dom) == 0) {
			snprintf(cb.name, sizeof(cb.name), "%s", dom.name);
			memcpy(cb.uuid, dom.uuid, sizeof(cb.uuid));
		}
		remote_domain_free(&dom);
	}
	if (pd_args_done(call) < 0 || check_event_id(call, event_id) < 0)
		return -1;
	ec = ev_client_of(call, true);
	if (!ec)
		return pd_fail(call, VIR_ERR_NO_MEMORY, "cannot keep the event callback");
	cb.id = ec->next_id;
	if (add_callback(call, &cb) < 0)
		return -1;
	ec->next_id = ec->next_id == INT32_MAX ? 1 : ec->next_id + 1;
	xdr_put_i32(call->ret, cb.id);
	return 0;
}

static int serve_callback_deregister_any(struct virt_call *call)
{
	int32_t id = xdr_get_i32(call->args);
	struct ev_client *ec = ev_client_of(call, false);
	ssize_t i;

	if (pd_args_done(call) < 0)
		return -1;
	i = find_callback(ec, id, false);
	if (i < 0)
		return pd_fail(call, VIR_ERR_INTERNAL_ERROR, "callbackID %d not registered", id);
	remove_callback(ec, (size_t)i);
	return 0;
}

static int legacy_register(struct virt_call *call, int32_t event_id)
{
	struct ev_callback cb = { .id = event_id, .legacy = true };

	if (check_event_id(call, event_id) < 0)
		return -1;
	if (find_callback(ev_client_of(call, false), event_id, true) >= 0)
		return pd_fail(call, VIR_ERR_INTERNAL_ERROR, "domain event %d already registered", event_id);
	return add_callback(call, &cb);
}

static int legacy_deregister(struct virt_call *call, int32_t event_id)
{
	struct ev_client *ec = ev_client_of(call, false);
	ssize_t i = find_callback(ec, event_id, true);

	if (i < 0)
		return pd_fail(call, VIR_ERR_INTERNAL_ERROR, "domain event %d not registered", event_id);
	remove_callback(ec, (size_t)i);
	return 0;
}

static int serve_register_any(struct virt_call *call)
{
	int32_t event_id = xdr_get_i32(call->args);

	if (pd_args_done(call) < 0)
		return -1;
	return legacy_register(call, event_id);
}

static int serve_deregister_any(struct virt_call *call)
{
	int32_t event_id = xdr_get_i32(call->args);

	if (pd_args_done(call) < 0)
		return -1;
	return legacy_deregister(call, event_id);
}

/* virConnectDomainEventRegister: lifecycle only, answering cb_registered. */
static int serve_register(struct virt_call *call)
{
	if (pd_args_done(call) < 0 || legacy_register(call, VIR_DOMAIN_EVENT_ID_LIFECYCLE) < 0)
		return -1;
	xdr_put_i32(call->ret, 1);
	return 0;
}

static int serve_deregister(struct virt_call *call)
{
	if (pd_args_done(call) < 0 || legacy_deregister(call, VIR_DOMAIN_EVENT_ID_LIFECYCLE) < 0)
		return -1;
	xdr_put_i32(call->ret, 0);
	return 0;
}

struct note_ctx {
	const struct virt_dom *dom;
	int event, detail;
	uint64_t now;
};

static void note_client(struct virt_client *c, void *opaque)
{
	const struct note_ctx *n = opaque;
	struct ev_client *ec = virt_client_data(c);

	if (!ec || ec->timer < 0)
		return;
	if (n->event == VIR_DOMAIN_EVENT_STOPPED)
		virt_event_tracker_intend(&ec->tracker, n->dom->name, n->detail, n->now);
	if (n->event == VIR_DOMAIN_EVENT_DEFINED && n->detail == VIR_DOMAIN_EVENT_DEFINED_UPDATED) {
		struct virt_lifecycle_event ev = { .id = n->dom->id, .event = n->event, .detail = n->detail };

		snprintf(ev.name, sizeof(ev.name), "%s", n->dom->name);
		memcpy(ev.uuid, n->dom->uuid, sizeof(ev.uuid));
		ec->busy = true;
		emit(ec, &ev);
		ec->busy = false;
		if (ec->dead) {
			ev_client_destroy(ec);
			return;
		}
	}
	ev_client_poll(ec);
}

void virt_events_note(struct virt_daemon *d, const struct virt_dom *dom, int event, int detail)
{
	struct note_ctx n = { .dom = dom, .event = event, .detail = detail, .now = mono_ms() };

	virt_daemon_for_each_client(d, note_client, &n);
}

const struct virt_proc virt_procs_events[] = {
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_DOMAIN_EVENT_REGISTER, "CONNECT_DOMAIN_EVENT_REGISTER",
	  serve_register, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_DOMAIN_EVENT_DEREGISTER, "CONNECT_DOMAIN_EVENT_DEREGISTER",
	  serve_deregister, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, "CONNECT_DOMAIN_EVENT_REGISTER_ANY",
	  serve_register_any, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY",
	  serve_deregister_any, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
	  "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", serve_callback_register_any, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
	  "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", serve_callback_deregister_any, false },
	{ 0, 0, NULL, NULL, false },
};
