/* Domain events and the console stream, as procedures (procs_events.c, procs_console.c), and the
 * one call the other procedures make: virt_events_note, after an action of theirs. */
#ifndef XENITH_PROCS_EVENTS_H
#define XENITH_PROCS_EVENTS_H
#include "libvirt/virt_domains.h"
#include "libvirt/virt_proc.h"

struct virt_daemon;

/* How often the domain model is compared while a client listens for events. */
#define VIRT_EVENTS_POLL_MS 200u

/* The daemon did (or asked for) something to `dom` that changes its lifecycle: event and detail
 * are libvirt's (VIR_DOMAIN_EVENT_STOPPED with _DESTROYED after a destroy, with _SHUTDOWN after a
 * shutdown request; VIR_DOMAIN_EVENT_DEFINED with _UPDATED after a define that replaced a
 * definition, which no snapshot shows).  Listening clients see the event now rather than at their
 * next poll, with that detail; without listeners it costs nothing. */
void virt_events_note(struct virt_daemon *d, const struct virt_dom *dom, int event, int detail);

/* The tables procs.c gathers, each ended by a row without a name. */
extern const struct virt_proc virt_procs_events[];
extern const struct virt_proc virt_procs_console[];
#endif
