/* Lifecycle events of the domains a libvirt client sees (docs/libvirt.md, "Events").  Xenith has
 * no hypervisor that reports state changes, so the daemon compares snapshots of the domain model
 * (virt_domains_list) taken while some client listens: what appeared, went, paused, resumed, got
 * or lost a definition becomes libvirt's (event, detail) pairs.  What the daemon itself did
 * (destroy, a shutdown request) is noted as an intent, so that the stop seen next carries the
 * right detail (DESTROYED, not SHUTDOWN).  Pure: no sockets, no clock (times come in as ms). */
#ifndef XENITH_VIRT_EVENTS_H
#define XENITH_VIRT_EVENTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "libvirt/virt_domains.h"
#include "libvirt/xdr.h"

struct virt_lifecycle_event {
	char name[DOMAIN_NAME_MAX + 1];
	uint8_t uuid[16];
	int id;                          /* the domain's id at the event, -1 once stopped */
	int event, detail;               /* virDomainEventType and its detail enum */
};

typedef void virt_event_emit_fn(void *opaque, const struct virt_lifecycle_event *ev);

#define VIRT_EVENT_INTENTS_MAX 64
/* A stop the daemon caused or asked for; forgotten once seen or after VIRT_EVENT_INTENT_MS. */
#define VIRT_EVENT_INTENT_MS 120000u

struct virt_event_intent {
	char name[DOMAIN_NAME_MAX + 1];  /* "" = free slot */
	int detail;                      /* VIR_DOMAIN_EVENT_STOPPED_* */
	uint64_t at_ms;
};

struct virt_event_tracker {
	struct virt_dom *doms;           /* the last snapshot (malloc'd), NULL before the first */
	size_t n;
	bool primed;                     /* a snapshot is held: the next one is diffed against it */
	struct virt_event_intent intents[VIRT_EVENT_INTENTS_MAX];
};

void virt_event_tracker_init(struct virt_event_tracker *t);
/* Forgets the snapshot and the intents (nobody listens any more). */
void virt_event_tracker_reset(struct virt_event_tracker *t);

/* Takes `cur` (malloc'd, n entries; the tracker frees it later) as the new snapshot and emits, in
 * order, the events that lead from the previous one to it.  The first snapshot emits nothing. */
void virt_event_tracker_update(struct virt_event_tracker *t, struct virt_dom *cur, size_t n,
			       uint64_t now_ms, virt_event_emit_fn *emit, void *opaque);

/* The daemon stopped (DESTROYED) or asked to stop (SHUTDOWN) the domain `name`. */
void virt_event_tracker_intend(struct virt_event_tracker *t, const char *name, int stopped_detail,
			       uint64_t now_ms);

/* libvirt's wire form: remote_domain_event_lifecycle_msg, preceded by the callbackID for the
 * callback form (DOMAIN_EVENT_CALLBACK_LIFECYCLE); callback_id < 0 writes the legacy form. */
void virt_event_put_lifecycle(struct xdr_writer *w, int32_t callback_id,
			      const struct virt_lifecycle_event *ev);
#endif
