/*
 * The PV core's boot order, run once in ring 3 before the test (Mini-OS: init_events, init_time,
 * init_console, init_gnttab, init_xenbus): shared_info, event channels, the upcall vector, the
 * console ring, grant tables, xenstore.  A step the VMM does not offer (-ENOSYS) leaves its part
 * unavailable; tests that need it fail saying which step failed and how.
 */
#ifndef GUEST_PV_H
#define GUEST_PV_H

struct pv_status {
    int shared_info, upcall, console, gnttab, xenbus;   /* 0 or -XEN_E*; 1 = not tried */
};

extern struct pv_status pv_status;

/* upcall=callback on the command line: Xen's callback vector alone, with the local APIC never
 * enabled (as Linux PVH uses it); otherwise the per-vCPU APIC vector first. */
void pv_init(const char *cmdline);
/* NULL if step rc is 0, else "NAME: EXXX (-N)" in why (WHY_SIZE), for a test's failure. */
const char *pv_need(const char *name, int rc, char *why);

#endif
