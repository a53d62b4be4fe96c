#include <stdint.h>
#include <xen/io/console.h>
#include "events.h"
#include "klib.h"
#include "shared_info.h"
#include "time.h"
#include "xencons.h"
#include "xerrno.h"

uint64_t xencons_evtchn;
static volatile struct xencons_interface *intf;
static bool ever_connected;

int xencons_init(void)
{
    uint64_t pfn = 0, port = 0;
    int rc;

    if ((rc = hvm_get_param(HVM_PARAM_CONSOLE_PFN, &pfn)) ||
        (rc = hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN, &port)))
        return rc;
    if (!pfn || !port || pfn >= (1ull << 20))
        return -XEN_ENODEV;
    if (!time_available())
        return -XEN_ENODEV;     /* without a clock we could not tell a stalled backend */
    xencons_evtchn = port;
    intf = (volatile struct xencons_interface *)(pfn << 12);
    ever_connected = true;
    return 0;
}

int xencons_resume(void)
{
    if (!ever_connected)
        return 1;
    intf = NULL;
    return xencons_init();
}

bool xencons_connected(void)
{
    return intf != NULL;
}

void xencons_disconnect(void)
{
    intf = NULL;
}

/* Sleeps on the console port until the backend moves out_cons (or the deadline passes). */
static bool wait_for_room(XENCONS_RING_IDX prod, uint64_t deadline)
{
    evtchn_port_t port = (evtchn_port_t)xencons_evtchn;

    while (prod - intf->out_cons >= sizeof(intf->out)) {
        evtchn_clear(port);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (prod - intf->out_cons < sizeof(intf->out))
            break;
        if (evtchn_wait(&port, 1, deadline))
            return prod - intf->out_cons < sizeof(intf->out);
    }
    return true;
}

bool xencons_write(const char *s, size_t len)
{
    volatile struct xencons_interface *c = intf;

    if (!c)
        return false;
    while (len) {
        XENCONS_RING_IDX prod = c->out_prod;
        if (prod - c->out_cons >= sizeof(c->out)) {
            if (!wait_for_room(prod, monotonic_ns() + XENCONS_STALL_NS)) {
                intf = NULL;
                return false;
            }
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        XENCONS_RING_IDX used = prod - c->out_cons;
        if (used > sizeof(c->out)) {        /* the backend wrote nonsense: give the ring up */
            intf = NULL;
            return false;
        }
        while (len && used < sizeof(c->out)) {
            c->out[MASK_XENCONS_IDX(prod, c->out)] = *s++;
            prod++, used++, len--;
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* bytes before the index (wmb) */
        c->out_prod = prod;
        evtchn_send((evtchn_port_t)xencons_evtchn);
    }
    return true;
}

size_t xencons_read(char *buf, size_t size)
{
    volatile struct xencons_interface *c = intf;
    size_t n = 0;

    if (!c)
        return 0;
    XENCONS_RING_IDX cons = c->in_cons, prod = c->in_prod;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);        /* index before bytes (rmb) */
    if (prod - cons > sizeof(c->in))
        return 0;
    while (cons != prod && n < size)
        buf[n++] = c->in[MASK_XENCONS_IDX(cons++, c->in)];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    c->in_cons = cons;
    if (n)
        evtchn_send((evtchn_port_t)xencons_evtchn);
    return n;
}

void xencons_flush(void)
{
    volatile struct xencons_interface *c = intf;
    evtchn_port_t port = (evtchn_port_t)xencons_evtchn;
    uint64_t deadline = monotonic_ns() + XENCONS_STALL_NS;

    if (!c)
        return;
    while (c->out_cons != c->out_prod && monotonic_ns() < deadline) {
        evtchn_clear(port);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (c->out_cons == c->out_prod)
            break;
        evtchn_wait(&port, 1, deadline);
    }
}
