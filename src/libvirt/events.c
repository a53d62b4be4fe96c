/* Lifecycle events from snapshots of the domain model (events.h).
 *
 * Domains are matched by name, the key xl and the definitions share.  For one name, from the
 * previous snapshot (old) to the current one (cur), in libvirt's order of a define-then-start:
 *   gone or inactive -> active          DEFINED/ADDED first if it also got a definition,
 *                                       then STARTED/BOOTED (and SUSPENDED/PAUSED if made paused)
 *   active -> inactive or gone          STOPPED (detail: a noted intent, CRASHED from a crashed
 *                                       state, else SHUTDOWN), then UNDEFINED/REMOVED if its
 *                                       definition went too
 *   active under another id             STOPPED then STARTED (a restart takes a new domid)
 *   running -> paused / paused -> running   SUSPENDED/PAUSED / RESUMED/UNPAUSED
 *   running -> crashed (kept)           CRASHED/PANICKED
 *   not persistent <-> persistent       DEFINED/ADDED / UNDEFINED/REMOVED
 * Domains that went come before those that are there now, each list in its own order. */
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libvirt/events.h"
#include "libvirt/remote_types.h"

void virt_event_tracker_init(struct virt_event_tracker *t)
{
	memset(t, 0, sizeof(*t));
}

void virt_event_tracker_reset(struct virt_event_tracker *t)
{
	free(t->doms);
	virt_event_tracker_init(t);
}

static bool is_active(const struct virt_dom *d)
{
	return d->id >= 0 && d->state != VIR_DOMAIN_SHUTOFF;
}

static bool is_paused(const struct virt_dom *d)
{
	return d->state == VIR_DOMAIN_PAUSED;
}

static const struct virt_dom *find(const struct virt_dom *doms, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(doms[i].name, name))
			return &doms[i];
	return NULL;
}

static struct virt_event_intent *intent_of(struct virt_event_tracker *t, const char *name)
{
	for (size_t i = 0; i < VIRT_EVENT_INTENTS_MAX; i++)
		if (t->intents[i].name[0] && !strcmp(t->intents[i].name, name))
			return &t->intents[i];
	return NULL;
}

void virt_event_tracker_intend(struct virt_event_tracker *t, const char *name, int stopped_detail,
			       uint64_t now_ms)
{
	struct virt_event_intent *slot = intent_of(t, name), *oldest = &t->intents[0];

	/* A destroy after a shutdown request that is still pending wins (the guest did not get to
	 * finish); a shutdown request after a destroy changes nothing. */
	if (slot && slot->at_ms + VIRT_EVENT_INTENT_MS > now_ms &&
	    slot->detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
		stopped_detail = VIR_DOMAIN_EVENT_STOPPED_DESTROYED;
	for (size_t i = 0; !slot && i < VIRT_EVENT_INTENTS_MAX; i++) {
		if (!t->intents[i].name[0])
			slot = &t->intents[i];
		else if (t->intents[i].at_ms < oldest->at_ms)
			oldest = &t->intents[i];
	}
	if (!slot)
		slot = oldest;          /* full: the oldest intent is the least likely still pending */
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->detail = stopped_detail;
	slot->at_ms = now_ms;
}

/* The detail of a stop of `name` (consuming its intent). */
static int stop_detail(struct virt_event_tracker *t, const struct virt_dom *old)
{
	struct virt_event_intent *in = intent_of(t, old->name);
	int detail = old->state == VIR_DOMAIN_CRASHED ? VIR_DOMAIN_EVENT_STOPPED_CRASHED
						      : VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN;

	if (in) {
		detail = in->detail;
		in->name[0] = '\0';
	}
	return detail;
}

static void emit_one(virt_event_emit_fn *emit, void *opaque, const struct virt_dom *d, int id, int event,
		     int detail)
{
	struct virt_lifecycle_event ev = { .id = id, .event = event, .detail = detail };

	snprintf(ev.name, sizeof(ev.name), "%s", d->name);
	memcpy(ev.uuid, d->uuid, sizeof(ev.uuid));
	emit(opaque, &ev);
}

static void diff_gone(struct virt_event_tracker *t, const struct virt_dom *old, virt_event_emit_fn *emit,
		      void *opaque)
{
	if (is_active(old))
		emit_one(emit, opaque, old, -1, VIR_DOMAIN_EVENT_STOPPED, stop_detail(t, old));
	if (old->persistent)
		emit_one(emit, opaque, old, -1, VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
}

static void diff_present(struct virt_event_tracker *t, const struct virt_dom *old, const struct virt_dom *cur,
			 virt_event_emit_fn *emit, void *opaque)
{
	bool was_active = old && is_active(old), active = is_active(cur);
	bool was_persistent = old && old->persistent;

	if (!was_persistent && cur->persistent)
		emit_one(emit, opaque, cur, cur->id, VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED);
	if (was_active && (!active || old->id != cur->id))
		emit_one(emit, opaque, old, -1, VIR_DOMAIN_EVENT_STOPPED, stop_detail(t, old));
	if (active && (!was_active || old->id != cur->id)) {
		emit_one(emit, opaque, cur, cur->id, VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED);
		if (is_paused(cur))
			emit_one(emit, opaque, cur, cur->id, VIR_DOMAIN_EVENT_SUSPENDED,
				 VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
	} else if (active) {
		if (!is_paused(old) && is_paused(cur))
			emit_one(emit, opaque, cur, cur->id, VIR_DOMAIN_EVENT_SUSPENDED,
				 VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
		else if (is_paused(old) && !is_paused(cur) && cur->state != VIR_DOMAIN_CRASHED)
			emit_one(emit, opaque, cur, cur->id, VIR_DOMAIN_EVENT_RESUMED,
				 VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
		if (old->state != VIR_DOMAIN_CRASHED && cur->state == VIR_DOMAIN_CRASHED)
			emit_one(emit, opaque, cur, cur->id, VIR_DOMAIN_EVENT_CRASHED,
				 VIR_DOMAIN_EVENT_CRASHED_PANICKED);
	}
	if (was_persistent && !cur->persistent)
		emit_one(emit, opaque, cur, cur->id, VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
}

static void expire_intents(struct virt_event_tracker *t, uint64_t now_ms)
{
	for (size_t i = 0; i < VIRT_EVENT_INTENTS_MAX; i++)
		if (t->intents[i].name[0] && t->intents[i].at_ms + VIRT_EVENT_INTENT_MS <= now_ms)
			t->intents[i].name[0] = '\0';
}

void virt_event_tracker_update(struct virt_event_tracker *t, struct virt_dom *cur, size_t n,
			       uint64_t now_ms, virt_event_emit_fn *emit, void *opaque)
{
	expire_intents(t, now_ms);
	if (t->primed) {
		for (size_t i = 0; i < t->n; i++)
			if (!find(cur, n, t->doms[i].name))
				diff_gone(t, &t->doms[i], emit, opaque);
		for (size_t i = 0; i < n; i++)
			diff_present(t, find(t->doms, t->n, cur[i].name), &cur[i], emit, opaque);
	}
	free(t->doms);
	t->doms = cur;
	t->n = n;
	t->primed = true;
}

void virt_event_put_lifecycle(struct xdr_writer *w, int32_t callback_id,
			      const struct virt_lifecycle_event *ev)
{
	if (callback_id >= 0)
		xdr_put_i32(w, callback_id);
	remote_domain_put(w, ev->name, ev->uuid, ev->id);
	xdr_put_i32(w, ev->event);
	xdr_put_i32(w, ev->detail);
}
