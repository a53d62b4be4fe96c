#include "hypercall.h"
#include "klib.h"
#include "pv.h"
#include "suspend.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

#define QUIESCE_NS (1 * NS_PER_S)   /* Linux waits for its frontends' rings; we wait this long at most */

enum suspend_result guest_suspend(struct suspend_outcome *out, char *why)
{
    struct sched_shutdown s = { .reason = SHUTDOWN_suspend };

    *out = (struct suspend_outcome){ .result = SUSPEND_FAILED };
    out->left_in_flight = pv_quiesce(monotonic_ns() + QUIESCE_NS);
    /* From here until pv_resume has placed shared_info again nothing may print or read the clock:
     * in a new domain the clock's page is the old domain's frozen copy, and a printk could wait on
     * it.  (The console ring was just drained.) */
    uint64_t before = monotonic_ns();
    long rc = sched_op(SCHEDOP_shutdown, &s);

    if (rc == 1) {
        uint64_t after = monotonic_ns();
        out->frozen_ns = before && after > before ? after - before : 0;
        return out->result = SUSPEND_CANCELLED;
    }
    if (rc != 0) {
        snprintf(why, WHY_SIZE, "SCHEDOP_shutdown(SHUTDOWN_suspend) returned %s (%ld)", errno_name((int)rc), rc);
        return out->result = SUSPEND_FAILED;
    }
    uint64_t after = 0;
    if (pv_resume(&after, why)) {
        out->resume_failed = 1;
        return out->result = SUSPEND_FAILED;
    }
    out->frozen_ns = before && after > before ? after - before : 0;
    return out->result = SUSPEND_RESUMED;
}
