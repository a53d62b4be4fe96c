/*
 * Xen's cooperative suspend, as Linux's drivers/xen/manage.c does it for a PVH guest, for any test
 * program to call once control_poll/control_wait has taken a "suspend" request (control.c cleared
 * control/shutdown in its transaction and advertised control/feature-suspend):
 *  1. quiesce: no new ring requests (the caller issues none), requests in flight answered, the
 *     console ring drained (pv_quiesce);
 *  2. SCHEDOP_shutdown(SHUTDOWN_suspend): the VMM pauses the domain there and saves it;
 *  3. the hypercall returns 1: the suspend was cancelled (xl save -c, a failed migration) and
 *     everything is as it was; or 0: we run in a NEW domain built from the saved stream, and
 *     pv_resume re-makes shared_info, vcpu_info, the upcall vector, VIRQs and the timer, the console
 *     ring, the grant table, xenstore's watches and every frontend's connection.
 */
#ifndef GUEST_SUSPEND_H
#define GUEST_SUSPEND_H

#include <stdint.h>

enum suspend_result {
    SUSPEND_RESUMED,            /* in a new domain, everything re-made */
    SUSPEND_CANCELLED,          /* where we were */
    SUSPEND_FAILED,             /* why says what: the hypercall refused, or a resume step failed */
};

struct suspend_outcome {
    enum suspend_result result;
    uint64_t frozen_ns;         /* pvclock time from just before the hypercall to just after it
                                 * (0 when not measurable: no clock, or it went backwards) */
    unsigned int left_in_flight;    /* requests the quiesce could not wait out */
    int resume_failed;          /* SUSPEND_FAILED in pv_resume: why is "STEP: why" */
};

/* Steps 2-3 (the caller took the request: step 1).  why (WHY_SIZE) for SUSPEND_FAILED. */
enum suspend_result guest_suspend(struct suspend_outcome *out, char *why);

#endif
