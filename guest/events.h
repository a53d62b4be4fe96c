/*
 * Event channels, 2-level ABI (Mini-OS events.c, Linux events_2l.c), all usable from ring 3.
 *
 * Delivery, as Xen does it: the sender sets the port's bit in shared_info->evtchn_pending; unless the
 * port is masked, also its word's bit in vcpu_info->evtchn_pending_sel and evtchn_upcall_pending,
 * then the upcall (vector) if one is registered.  evtchn_poll() is the upcall's body, run in ring 3:
 * clear upcall_pending, take pending_sel, and for each unmasked pending port clear its bit, count it
 * and call its handler.  The ring-0 upcall handler (upcall.S) only EOIs the local APIC and counts.
 *
 * Waiting: evtchn_block() (SCHEDOP_block: returns once upcall_pending is set, so only unmasked ports
 * wake it) or evtchn_wait() (SCHEDOP_poll on given ports, masked or not, with a deadline).  Where the
 * VMM lacks them (-ENOSYS) both fall back to yielding in a loop.
 */
#ifndef GUEST_EVENTS_H
#define GUEST_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include "hypercall.h"

#define NR_EVTCHN_PORTS 1024    /* what we track; Xenith's VMM offers ports 1..1023 */
#define UPCALL_VECTOR   0xf3    /* Linux's HYPERVISOR_CALLBACK_VECTOR */
#define SPURIOUS_VECTOR 0xff

typedef void (*evtchn_handler_t)(evtchn_port_t port, void *data);

/* Masks every port (as Mini-OS's init_events).  Needs shared_info. */
void events_init(void);
/* In a new domain after a suspend (shared_info placed again): every port masked and not pending,
 * every handler forgotten (those ports are closed), each VIRQ bound with evtchn_bind_virq bound
 * again onto its new port with its handler and mask state (Linux's xen_irq_resume).  0, or the
 * first bind_virq error (then *failed_virq says which). */
int events_resume(uint32_t *failed_virq);

/* Registers the upcall vector (HVMOP_set_evtchn_upcall_vector, else HVM_PARAM_CALLBACK_IRQ type 2),
 * software-enables the local APIC and lets ring 3 take interrupts.  0, or the last error. */
/* direct: HVM_PARAM_CALLBACK_IRQ only, local APIC left disabled, no EOI (the handler clears
 * evtchn_upcall_pending itself, as Linux's does). */
int upcall_init(bool direct);
/* Registers the vector again the way upcall_init managed to (a new domain has none): 0, the error,
 * or 1 if upcall_init had not succeeded (nothing to do). */
int upcall_resume(void);
extern uint8_t upcall_direct;       /* read by upcall.S */
extern const char *upcall_method;           /* which of the two worked, or NULL */
extern volatile uint64_t upcall_count;      /* upcall interrupts taken (ring 0 counts them) */
extern volatile uint64_t spurious_count;

/* The hypercalls, with Xen's arguments; 0 or -XEN_E*.  Out ports through *port. */
int evtchn_alloc_unbound(domid_t remote_dom, evtchn_port_t *port);
int evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port, evtchn_port_t *port);
/* Remembered (until evtchn_close of its port) so that events_resume can bind it again. */
int evtchn_bind_virq(uint32_t virq, evtchn_port_t *port);
/* The port a VIRQ is bound to now (it changes across a resume), or 0. */
evtchn_port_t evtchn_virq_port(uint32_t virq);
int evtchn_bind_ipi(evtchn_port_t *port);
int evtchn_send(evtchn_port_t port);
int evtchn_close(evtchn_port_t port);
int evtchn_status(evtchn_port_t port, struct evtchn_status *st);
int evtchn_unmask(evtchn_port_t port);      /* EVTCHNOP_unmask: Xen redelivers if pending */

/* Bit operations on shared_info (no hypercall). */
void evtchn_mask(evtchn_port_t port);
bool evtchn_is_masked(evtchn_port_t port);
bool evtchn_pending(evtchn_port_t port);
void evtchn_clear(evtchn_port_t port);
bool evtchn_sel_pending(evtchn_port_t port);  /* port's word bit in vcpu_info->evtchn_pending_sel */

/* Handlers run from evtchn_poll(); fired[] counts every delivery seen there. */
void evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn, void *data);
uint64_t evtchn_fired(evtchn_port_t port);
void evtchn_poll(void);

/* SCHEDOP_block (or a yield); then runs evtchn_poll.  0, or the error if blocking is unavailable. */
int evtchn_block(void);
/* Until one of ports is pending or system time passes deadline_ns (0: none): 0 if one is pending,
 * -XEN_ETIMEDOUT otherwise.  Does not clear anything. */
int evtchn_wait(const evtchn_port_t *ports, unsigned int nr, uint64_t deadline_ns);

/* Read-modify-write helpers on shared words (one vCPU, but the VMM writes concurrently). */
static inline void sync_set_bit(unsigned long nr, volatile xen_ulong_t *w)
{
    __atomic_fetch_or(&w[nr / 64], 1ul << (nr % 64), __ATOMIC_SEQ_CST);
}

static inline void sync_clear_bit(unsigned long nr, volatile xen_ulong_t *w)
{
    __atomic_fetch_and(&w[nr / 64], ~(1ul << (nr % 64)), __ATOMIC_SEQ_CST);
}

static inline bool sync_test_bit(unsigned long nr, const volatile xen_ulong_t *w)
{
    return (__atomic_load_n(&w[nr / 64], __ATOMIC_SEQ_CST) >> (nr % 64)) & 1;
}

#endif
