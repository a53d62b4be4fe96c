/*
 * The PV core's boot order, run once in ring 3 before the test (Mini-OS: init_events, init_time,
 * init_console, init_gnttab, init_xenbus): shared_info, event channels, the upcall vector, the
 * console ring, grant tables, xenstore.  A step the VMM does not offer (-ENOSYS) leaves its part
 * unavailable; tests that need it fail saying which step failed and how.
 *
 * Around a suspend (suspend.c): pv_quiesce before SCHEDOP_shutdown(SHUTDOWN_suspend), and, when
 * that returns 0 (we run in a new domain built from a saved stream), pv_resume re-makes what Xen
 * does not carry, in Linux's order (xen_hvm_post_suspend, gnttab_resume, xen_irq_resume,
 * xen_timer_resume, xs_resume, the frontends' resume): one step per module, in resume_steps[].
 */
#ifndef GUEST_PV_H
#define GUEST_PV_H

#include <stdint.h>

struct pv_status {
    int shared_info, upcall, console, gnttab, xenbus;   /* 0 or -XEN_E*; 1 = not tried */
};

extern struct pv_status pv_status;

/* upcall=callback on the command line: Xen's callback vector alone, with the local APIC never
 * enabled (as Linux PVH uses it); otherwise the per-vCPU APIC vector first. */
void pv_init(const char *cmdline);
/* NULL if step rc is 0, else "NAME: EXXX (-N)" in why (WHY_SIZE), for a test's failure. */
const char *pv_need(const char *name, int rc, char *why);

/* Stops ring traffic before a suspend: waits (until deadline_ns) for every frontend's requests in
 * flight to be answered and for the console backend to take every byte (on the other side the
 * console ring starts empty).  The number of requests still in flight. */
unsigned int pv_quiesce(uint64_t deadline_ns);
/* In a new domain after a suspend: every step in order.  NULL, or "STEP: why" in why (WHY_SIZE).
 * *clock_ns is the first pvclock reading once shared_info is placed again (0 if that failed). */
const char *pv_resume(uint64_t *clock_ns, char *why);

#endif
