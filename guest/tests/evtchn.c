/*
 * `evtchn [period=MS]`: event channels against Xen's 2-level ABI, from ring 3.
 *   loopback: alloc_unbound(DOMID_SELF) + bind_interdomain to it; a send on one end is pending on the
 *     other, with its pending_sel bit and upcall_pending (and the upcall interrupt if registered);
 *   masked: pending without pending_sel/upcall; EVTCHNOP_unmask delivers it;
 *   bind_ipi + send; status of our ports and of the store/console ports (interdomain to domain 0);
 *   close: the peer becomes unbound, then closed;
 *   a round trip to Dom0: a line into the console ring, notify, the backend's event comes back;
 *   the timer: VIRQ_TIMER, a singleshot every period ms for 20 ticks, measured with pvclock; then
 *   set_timer_op and VCPUOP_stop_singleshot_timer.
 */
#include <stddef.h>
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "klib.h"
#include "pv.h"
#include "shared_info.h"
#include "tests/tests.h"
#include "time.h"
#include "xencons.h"
#include "xenbus.h"
#include "xerrno.h"

#define TICKS 20

static char *why_buf;

static const char *failf(const char *fmt, long a, long b)
{
    snprintf(why_buf, WHY_SIZE, fmt, a, b);
    return why_buf;
}

/* Clears every trace of earlier deliveries so the next check starts clean. */
static void quiesce(void)
{
    evtchn_poll();
    __atomic_store_n(&vcpu_info->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
}

/* The upcall interrupt may trail the flags by a moment: give it up to 100 ms. */
static bool upcall_arrived(uint64_t before)
{
    uint64_t deadline = monotonic_ns() + 100 * NS_PER_MS;

    while (upcall_count == before && monotonic_ns() < deadline)
        sched_op(SCHEDOP_yield, NULL);
    return upcall_count != before;
}

static const char *loopback(void)
{
    evtchn_port_t a, b;
    int rc;

    if ((rc = evtchn_alloc_unbound(DOMID_SELF, &a)))
        return failf("alloc_unbound(DOMID_SELF): %ld", rc, 0);
    struct evtchn_status ust;
    if ((rc = evtchn_status(a, &ust)) || ust.status != EVTCHNSTAT_unbound)
        return failf("status of a fresh unbound port: rc %ld status %ld", rc, ust.status);
    printk("evtchn: unbound port %u awaits domain %u\n", a, ust.u.unbound.dom);
    if ((rc = evtchn_bind_interdomain(DOMID_SELF, a, &b)))
        return failf("bind_interdomain(DOMID_SELF, %ld): %ld", a, rc);
    if (a == b || !a || !b)
        return failf("loopback ports %ld and %ld", a, b);
    printk("evtchn: loopback %u <-> %u\n", a, b);
    evtchn_unmask(a);
    evtchn_unmask(b);
    quiesce();

    uint64_t ups = upcall_count;
    if ((rc = evtchn_send(a)))
        return failf("send(%ld): %ld", a, rc);
    if (!evtchn_pending(b))
        return failf("send on %ld: %ld not pending", a, b);
    if (evtchn_pending(a))
        return failf("send on %ld: the sender's own port is pending too (%ld)", a, a);
    /* With the callback vector the upcall may already have come and cleared upcall_pending. */
    if (!evtchn_sel_pending(b) || (!vcpu_info->evtchn_upcall_pending && !upcall_direct))
        return failf("send on %ld: pending_sel bit or upcall_pending not set for unmasked %ld", a, b);
    if (upcall_method && !upcall_arrived(ups))
        return failf("no upcall interrupt for unmasked port %ld (vector %#lx)", b, UPCALL_VECTOR);
    uint64_t fired = evtchn_fired(b);
    evtchn_poll();
    if (evtchn_fired(b) != fired + 1 || evtchn_pending(b))
        return failf("evtchn_poll did not take the event on %ld", b, 0);
    if ((rc = evtchn_send(b)) || !evtchn_pending(a))
        return failf("send back on %ld (rc %ld): the other end is not pending", b, rc);
    quiesce();

    /* Masked: pending, but neither pending_sel nor upcall_pending (nor an interrupt). */
    evtchn_mask(b);
    ups = upcall_count;
    if ((rc = evtchn_send(a)))
        return failf("send(%ld) to masked peer: %ld", a, rc);
    if (!evtchn_pending(b))
        return failf("masked %ld is not pending after a send", b, 0);
    if (evtchn_sel_pending(b) || vcpu_info->evtchn_upcall_pending)
        return failf("masked %ld: pending_sel %ld or upcall_pending set", b, evtchn_sel_pending(b));
    if (upcall_method && upcall_arrived(ups))
        return failf("masked %ld still raised the upcall interrupt", b, 0);
    ups = upcall_count;
    if ((rc = evtchn_unmask(b)))
        return failf("EVTCHNOP_unmask(%ld): %ld", b, rc);
    if (evtchn_is_masked(b) || !evtchn_sel_pending(b) || !vcpu_info->evtchn_upcall_pending)
        return failf("unmask of pending %ld did not deliver it (mask %ld)", b, evtchn_is_masked(b));
    if (upcall_method && !upcall_arrived(ups))
        return failf("unmask of pending %ld raised no upcall interrupt", b, 0);
    quiesce();
    printk("evtchn: loopback ok: pending, masked, unmask redelivers%s\n",
           upcall_method ? ", upcall interrupts" : "");

    /* Status, then close one end: the other becomes unbound (as Xen's evtchn_close does). */
    struct evtchn_status st;
    if ((rc = evtchn_status(b, &st)) || st.status != EVTCHNSTAT_interdomain || st.u.interdomain.port != a)
        return failf("status(%ld): rc %ld, not interdomain to the other end", b, rc ? (long)rc : (long)st.status);
    if ((rc = evtchn_close(a)))
        return failf("close(%ld): %ld", a, rc);
    if ((rc = evtchn_status(b, &st)) || st.status != EVTCHNSTAT_unbound)
        return failf("after closing its peer, status(%ld) = %ld (unbound expected)", b, rc ? (long)rc : (long)st.status);
    if ((rc = evtchn_close(b)))
        return failf("close(%ld): %ld", b, rc);
    if ((rc = evtchn_status(b, &st)) || st.status != EVTCHNSTAT_closed)
        return failf("after close, status(%ld) = %ld (closed expected)", b, rc ? (long)rc : (long)st.status);
    if ((rc = evtchn_send(b)) == 0)
        return failf("send on closed port %ld succeeded", b, 0);
    if ((rc = evtchn_close(0)) == 0)
        return "close(0) succeeded: port 0 is never valid";
    return NULL;
}

static const char *ipi(void)
{
    evtchn_port_t p;
    int rc;

    if ((rc = evtchn_bind_ipi(&p)))
        return failf("bind_ipi: %ld", rc, 0);
    evtchn_unmask(p);
    quiesce();
    if ((rc = evtchn_send(p)) || !evtchn_pending(p))
        return failf("send on IPI port %ld (rc %ld): not pending", p, rc);
    struct evtchn_status st;
    if ((rc = evtchn_status(p, &st)) || st.status != EVTCHNSTAT_ipi)
        return failf("status(IPI port %ld) = %ld", p, rc ? (long)rc : (long)st.status);
    quiesce();
    evtchn_close(p);
    printk("evtchn: ipi ok (port %u)\n", p);
    return NULL;
}

static const char *dom0_ports(void)
{
    uint64_t ports[2] = { xenbus_evtchn, xencons_evtchn };
    const char *names[2] = { "store", "console" };

    for (int i = 0; i < 2; i++) {
        struct evtchn_status st;
        int rc;
        if (!ports[i]) {
            snprintf(why_buf, WHY_SIZE, "no %s port", names[i]);
            return why_buf;
        }
        if ((rc = evtchn_status((evtchn_port_t)ports[i], &st)))
            return failf("status of port %ld: %ld", (long)ports[i], rc);
        if (st.status != EVTCHNSTAT_interdomain || st.u.interdomain.dom != 0) {
            snprintf(why_buf, WHY_SIZE, "%s port %lu: status %u dom %u, not interdomain to domain 0",
                     names[i], ports[i], st.status, st.u.interdomain.dom);
            return why_buf;
        }
        printk("evtchn: %s port %lu is interdomain to domain 0 port %u\n", names[i], ports[i],
               st.u.interdomain.port);
    }
    return NULL;
}

/* The console backend answers a notify by consuming the ring and sending an event back. */
static const char *dom0_round_trip(void)
{
    evtchn_port_t port = (evtchn_port_t)xencons_evtchn;

    evtchn_clear(port);
    uint64_t t0 = monotonic_ns();
    printk("evtchn: round trip to Dom0 on console port %u\n", port);     /* ring write + notify */
    if (evtchn_wait(&port, 1, t0 + 5 * NS_PER_S))
        return failf("no event back from Dom0's console backend on port %ld within 5 s", port, 0);
    printk("evtchn: Dom0 answered in %lu us\n", (monotonic_ns() - t0) / 1000);
    return NULL;
}

/* One timer tick: block (SCHEDOP_block) until the timer port has fired once more. */
static const char *wait_tick(evtchn_port_t port, uint64_t *at)
{
    uint64_t seen = evtchn_fired(port), guard = monotonic_ns() + 5 * NS_PER_S;

    while (evtchn_fired(port) == seen) {
        evtchn_block();
        if (monotonic_ns() > guard)
            return failf("VIRQ_TIMER (port %ld) did not fire within 5 s", port, 0);
    }
    *at = monotonic_ns();
    return NULL;
}

static const char *timer(uint64_t period_ms)
{
    evtchn_port_t port;
    int rc;
    const char *fail;

    if ((rc = evtchn_bind_virq(VIRQ_TIMER, &port)))
        return failf("bind_virq(VIRQ_TIMER): %ld", rc, 0);
    evtchn_unmask(port);
    quiesce();

    uint64_t period = period_ms * NS_PER_MS, start = monotonic_ns(), deadline = start, at = start;
    uint64_t min = ~0ull, max = 0, early = 0, prev = start;
    for (int i = 0; i < TICKS; i++) {
        deadline += period;
        struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = deadline, .flags = 0 };
        if ((rc = (int)vcpu_op(VCPUOP_set_singleshot_timer, 0, &t)))
            return failf("VCPUOP_set_singleshot_timer: %ld", rc, 0);
        if ((fail = wait_tick(port, &at)))
            return fail;
        early += at < deadline;
        min = at - prev < min ? at - prev : min;
        max = at - prev > max ? at - prev : max;
        prev = at;
    }
    uint64_t mean = (at - start) / TICKS;
    printk("timer: %d ticks, mean period %lu us (min %lu, max %lu, requested %lu)\n", TICKS, mean / 1000,
           min / 1000, max / 1000, period / 1000);
    if (mean < period / 2 || mean > period + period / 2)
        return failf("timer mean period %ld us deviates more than 50%% from %ld us", mean / 1000, period / 1000);
    if (early)
        return failf("%ld of %ld ticks came before their deadline", early, TICKS);

    /* set_timer_op: the old one-shot interface, same VIRQ. */
    uint64_t t0 = monotonic_ns();
    if ((rc = (int)set_timer_op(t0 + 5 * NS_PER_MS)))
        return failf("set_timer_op: %ld", rc, 0);
    if ((fail = wait_tick(port, &at)))
        return fail;
    if (at < t0 + 5 * NS_PER_MS)
        return failf("set_timer_op(+5 ms) fired after %ld us", (at - t0) / 1000, 0);

    /* A stopped one-shot does not fire. */
    struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = monotonic_ns() + 5 * NS_PER_MS };
    if ((rc = (int)vcpu_op(VCPUOP_set_singleshot_timer, 0, &t)) ||
        (rc = (int)vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL)))
        return failf("set/stop_singleshot_timer: %ld", rc, 0);
    uint64_t fired = evtchn_fired(port), until = monotonic_ns() + 30 * NS_PER_MS;
    evtchn_wait(&port, 1, until);
    evtchn_poll();
    if (evtchn_fired(port) != fired)
        return "VCPUOP_stop_singleshot_timer: the timer fired anyway";
    printk("evtchn: set_timer_op and stop_singleshot_timer ok\n");
    evtchn_close(port);
    return NULL;
}

static const char *run(const char *cmdline, char *why)
{
    const char *fail;

    why_buf = why;
    if ((fail = pv_need("shared_info", pv_status.shared_info, why)) ||
        (fail = pv_need("xenstore params", pv_status.xenbus, why)) ||
        (fail = pv_need("console ring", pv_status.console, why)))
        return fail;
    if (!time_available())
        return "no pvclock in vcpu_info (tsc_to_system_mul is 0)";
    uint64_t sec;
    uint32_t nsec;
    if (wallclock(&sec, &nsec) == 0)
        printk("evtchn: wallclock %lu.%09u, uptime %lu ms\n", sec, nsec, (unsigned long)(monotonic_ns() / NS_PER_MS));
    if ((fail = loopback()) || (fail = ipi()) || (fail = timer(cmdline_u64(cmdline, "period", 10))) ||
        (fail = dom0_round_trip()) || (fail = dom0_ports()))
        return fail;
    return NULL;
}

const struct test test_evtchn = { "evtchn", run };
