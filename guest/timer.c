#include "hypercall.h"
#include "timer.h"

static uint64_t armed_ns;       /* 0: none */

int timer_set(uint64_t deadline_ns)
{
    long rc = set_timer_op(deadline_ns);

    if (!rc)
        armed_ns = deadline_ns;
    return (int)rc;
}

int timer_resume(void)
{
    return armed_ns ? (int)set_timer_op(armed_ns) : 1;
}
