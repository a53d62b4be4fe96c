/* vCPU runstates (runstate.c): time spent running and blocked, published where the guest asked. */
#ifndef XENITH_XEN_RUNSTATE_H
#define XENITH_XEN_RUNSTATE_H

#include <stdint.h>
#include "xen/xen_public.h"

struct domain;
struct vcpu;

/* The vCPU enters `state` (RUNSTATE_running or RUNSTATE_blocked) now, and its area, if any, is
 * rewritten through its own page tables.  Caller holds xen.lock, on the vCPU's own thread. */
void xen_runstate_switch_locked(struct vcpu *vcpu, unsigned int state);
/* VCPUOP_register_runstate_memory_area from `caller` for vCPU `target`: remembers `gva` (0: none) and
 * writes the runstate there at once through the caller's page tables.  Caller holds xen.lock. */
void xen_runstate_register_locked(struct vcpu *caller, unsigned int target, uint64_t gva);
/* VCPUOP_get_runstate_info: vCPU `vcpu`'s runstate with the current state counted up to now. */
void xen_runstate_get_locked(struct domain *dom, unsigned int vcpu, struct vcpu_runstate_info *out);

#endif
