#include <stddef.h>
#include "events.h"
#include "klib.h"
#include "shared_info.h"
#include "time.h"
#include "xerrno.h"

#define APIC_BASE 0xfee00000ul      /* xAPIC MMIO, identity mapped and User-accessible like all else */
#define APIC_SVR  0xf0
#define APIC_SVR_ENABLE 0x100

struct port_slot {
    evtchn_handler_t fn;
    void *data;
    uint64_t fired;
};

static struct port_slot ports[NR_EVTCHN_PORTS];
const char *upcall_method;

/* VIRQs bound on vCPU 0, by number: the port (0 = not bound), for events_resume. */
#define NR_TRACKED_VIRQS 32
static evtchn_port_t virq_port[NR_TRACKED_VIRQS];

void events_init(void)
{
    for (unsigned int w = 0; w < NR_EVTCHN_PORTS / 64; w++)
        __atomic_store_n(&shared_info->evtchn_mask[w], ~0ul, __ATOMIC_SEQ_CST);
}

int events_resume(uint32_t *failed_virq)
{
    struct port_slot old[NR_TRACKED_VIRQS];
    bool was_masked[NR_TRACKED_VIRQS];

    /* What each VIRQ's old port carried, before the slots are wiped: the old numbers mean nothing
     * in this domain (and may be handed out again to someone else). */
    for (unsigned int v = 0; v < NR_TRACKED_VIRQS; v++) {
        evtchn_port_t p = virq_port[v];
        old[v] = p && p < NR_EVTCHN_PORTS ? ports[p] : (struct port_slot){ 0 };
        /* The old mask bits went with the old shared_info content, which the VMM replaced when
         * the page was placed again; here a port with a handler is unmasked, a polled one is not. */
        was_masked[v] = !old[v].fn;
    }
    events_init();
    for (unsigned int w = 0; w < NR_EVTCHN_PORTS / 64; w++)
        __atomic_store_n(&shared_info->evtchn_pending[w], 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&vcpu_info->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&vcpu_info->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
    for (unsigned int p = 0; p < NR_EVTCHN_PORTS; p++)
        ports[p].fn = NULL, ports[p].data = NULL;
    for (uint32_t v = 0; v < NR_TRACKED_VIRQS; v++) {
        if (!virq_port[v])
            continue;
        evtchn_port_t port;
        virq_port[v] = 0;
        int rc = evtchn_bind_virq(v, &port);
        if (rc) {
            *failed_virq = v;
            return rc;
        }
        if (port < NR_EVTCHN_PORTS)
            ports[port] = (struct port_slot){ .fn = old[v].fn, .data = old[v].data, .fired = old[v].fired };
        if (!was_masked[v])
            evtchn_unmask(port);
    }
    return 0;
}

void user_sti(void);   /* upcall.S: interrupts on for ring 3 */

uint8_t upcall_direct;

int upcall_init(bool direct)
{
    struct xen_hvm_evtchn_upcall_vector v = { .vcpu = 0, .vector = UPCALL_VECTOR };
    int rc;

    upcall_method = NULL;
    if (direct) {
        /* Xen delivers this vector without the APIC, so the APIC stays as the reset left it. */
        upcall_direct = 1;
        if ((rc = hvm_set_param(HVM_PARAM_CALLBACK_IRQ,
                                (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | UPCALL_VECTOR)))
            return rc;
        upcall_method = "HVM_PARAM_CALLBACK_IRQ (local APIC off)";
        user_sti();
        return 0;
    }
    *(volatile uint32_t *)(APIC_BASE + APIC_SVR) = APIC_SVR_ENABLE | SPURIOUS_VECTOR;
    if ((rc = (int)hvm_op(HVMOP_set_evtchn_upcall_vector, &v)) == 0)
        upcall_method = "HVMOP_set_evtchn_upcall_vector";
    else if ((rc = hvm_set_param(HVM_PARAM_CALLBACK_IRQ,
                                 (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | UPCALL_VECTOR)) == 0)
        upcall_method = "HVM_PARAM_CALLBACK_IRQ";
    else
        return rc;
    user_sti();
    return 0;
}

int upcall_resume(void)
{
    struct xen_hvm_evtchn_upcall_vector v = { .vcpu = 0, .vector = UPCALL_VECTOR };
    uint64_t callback = (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | UPCALL_VECTOR;

    if (!upcall_method)
        return 1;
    if (upcall_direct)
        return hvm_set_param(HVM_PARAM_CALLBACK_IRQ, callback);
    /* The local APIC's state came with the vCPU; setting SVR again costs nothing and is sure. */
    *(volatile uint32_t *)(APIC_BASE + APIC_SVR) = APIC_SVR_ENABLE | SPURIOUS_VECTOR;
    if (!strcmp(upcall_method, "HVMOP_set_evtchn_upcall_vector"))
        return (int)hvm_op(HVMOP_set_evtchn_upcall_vector, &v);
    return hvm_set_param(HVM_PARAM_CALLBACK_IRQ, callback);
}

static long evtchn_op(int cmd, void *arg)
{
    return event_channel_op(cmd, arg);
}

int evtchn_alloc_unbound(domid_t remote_dom, evtchn_port_t *port)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote_dom };
    int rc = (int)evtchn_op(EVTCHNOP_alloc_unbound, &op);

    if (!rc)
        *port = op.port;
    return rc;
}

int evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port, evtchn_port_t *port)
{
    struct evtchn_bind_interdomain op = { .remote_dom = remote_dom, .remote_port = remote_port };
    int rc = (int)evtchn_op(EVTCHNOP_bind_interdomain, &op);

    if (!rc)
        *port = op.local_port;
    return rc;
}

int evtchn_bind_virq(uint32_t virq, evtchn_port_t *port)
{
    struct evtchn_bind_virq op = { .virq = virq, .vcpu = 0 };
    int rc = (int)evtchn_op(EVTCHNOP_bind_virq, &op);

    if (!rc) {
        *port = op.port;
        if (virq < NR_TRACKED_VIRQS)
            virq_port[virq] = op.port;
    }
    return rc;
}

evtchn_port_t evtchn_virq_port(uint32_t virq)
{
    return virq < NR_TRACKED_VIRQS ? virq_port[virq] : 0;
}

int evtchn_bind_ipi(evtchn_port_t *port)
{
    struct evtchn_bind_ipi op = { .vcpu = 0 };
    int rc = (int)evtchn_op(EVTCHNOP_bind_ipi, &op);

    if (!rc)
        *port = op.port;
    return rc;
}

int evtchn_send(evtchn_port_t port)
{
    struct evtchn_send op = { .port = port };

    return (int)evtchn_op(EVTCHNOP_send, &op);
}

int evtchn_close(evtchn_port_t port)
{
    struct evtchn_close op = { .port = port };
    int rc = (int)evtchn_op(EVTCHNOP_close, &op);

    if (!rc && port < NR_EVTCHN_PORTS)
        ports[port].fn = NULL;
    for (unsigned int v = 0; !rc && v < NR_TRACKED_VIRQS; v++)
        if (virq_port[v] == port)
            virq_port[v] = 0;
    return rc;
}

int evtchn_status(evtchn_port_t port, struct evtchn_status *st)
{
    *st = (struct evtchn_status){ .dom = DOMID_SELF, .port = port };
    return (int)evtchn_op(EVTCHNOP_status, st);
}

int evtchn_unmask(evtchn_port_t port)
{
    struct evtchn_unmask op = { .port = port };

    return (int)evtchn_op(EVTCHNOP_unmask, &op);
}

void evtchn_mask(evtchn_port_t port)
{
    sync_set_bit(port, shared_info->evtchn_mask);
}

bool evtchn_is_masked(evtchn_port_t port)
{
    return sync_test_bit(port, shared_info->evtchn_mask);
}

bool evtchn_pending(evtchn_port_t port)
{
    return sync_test_bit(port, shared_info->evtchn_pending);
}

void evtchn_clear(evtchn_port_t port)
{
    sync_clear_bit(port, shared_info->evtchn_pending);
}

bool evtchn_sel_pending(evtchn_port_t port)
{
    return (__atomic_load_n(&vcpu_info->evtchn_pending_sel, __ATOMIC_SEQ_CST) >> (port / 64)) & 1;
}

void evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn, void *data)
{
    if (port < NR_EVTCHN_PORTS)
        ports[port] = (struct port_slot){ .fn = fn, .data = data, .fired = ports[port].fired };
}

uint64_t evtchn_fired(evtchn_port_t port)
{
    return port < NR_EVTCHN_PORTS ? ports[port].fired : 0;
}

void evtchn_poll(void)
{
    if (!vcpu_info)
        return;
    __atomic_store_n(&vcpu_info->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
    xen_ulong_t sel = __atomic_exchange_n(&vcpu_info->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);

    while (sel) {
        unsigned int w = (unsigned int)__builtin_ctzl(sel);
        sel &= sel - 1;
        xen_ulong_t bits = __atomic_load_n(&shared_info->evtchn_pending[w], __ATOMIC_SEQ_CST) &
                           ~__atomic_load_n(&shared_info->evtchn_mask[w], __ATOMIC_SEQ_CST);
        while (bits) {
            evtchn_port_t port = w * 64 + (unsigned int)__builtin_ctzl(bits);
            bits &= bits - 1;
            evtchn_clear(port);
            if (port >= NR_EVTCHN_PORTS)
                continue;
            ports[port].fired++;
            if (ports[port].fn)
                ports[port].fn(port, ports[port].data);
        }
    }
}

int evtchn_block(void)
{
    long rc = sched_op(SCHEDOP_block, NULL);

    if (rc)
        sched_op(SCHEDOP_yield, NULL);
    evtchn_poll();
    return (int)rc;
}

static bool any_pending(const evtchn_port_t *p, unsigned int nr)
{
    for (unsigned int i = 0; i < nr; i++)
        if (evtchn_pending(p[i]))
            return true;
    return false;
}

int evtchn_wait(const evtchn_port_t *p, unsigned int nr, uint64_t deadline_ns)
{
    struct sched_poll poll = { .nr_ports = nr, .timeout = deadline_ns };
    bool poll_works = true;

    set_xen_guest_handle(poll.ports, (evtchn_port_t *)p);
    for (;;) {
        if (any_pending(p, nr))
            return 0;
        if (deadline_ns && monotonic_ns() >= deadline_ns)
            return -XEN_ETIMEDOUT;
        if (poll_works && sched_op(SCHEDOP_poll, &poll) == 0)
            continue;
        poll_works = false;         /* no SCHEDOP_poll (or it refused): yield and look again */
        sched_op(SCHEDOP_yield, NULL);
    }
}
