/*
 * The one-shot timer (set_timer_op, delivered as VIRQ_TIMER): the deadline is remembered so that a
 * new domain after a suspend, where no timer is armed, can arm it again (Linux's xen_timer_resume).
 * The VIRQ's binding itself is events.c's (events_resume binds it again).
 */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include <stdint.h>

/* Arms the timer for system time deadline_ns (0 cancels): 0 or -XEN_E*. */
int timer_set(uint64_t deadline_ns);
/* Arms the remembered deadline again (at once if it has passed, as Xen fires a past deadline at
 * once): 0, the error, or 1 if none is armed. */
int timer_resume(void);

#endif
