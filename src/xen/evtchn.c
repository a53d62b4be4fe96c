/* Event channels, 2-level ABI.  A port's pending and mask bits live in shared_info, where the guest
 * reads and clears them without asking us, so we only ever set pending bits, atomically.
 * Ports bound to Dom0 call a service's callback in this process; ports bound to ourselves
 * (loopback) and IPIs set bits on our own ports.  Binding to other domains would need their VMMs'
 * cooperation and is refused (-ESRCH) for now.
 * Every argument struct here (and in evtchn_fifo.c) has the same layout in Xen's compat ABI (only
 * 32-bit and smaller members, or a uint64_t at an 8-byte offset), so 32-bit callers need no
 * translation: Xen runs do_event_channel_op for them too (test_xen_compat checks the sizes).  The
 * pending and mask bits and the selector are in the domain's shared_info width (shared_info.c). */
#include <string.h>
#include <sys/ioctl.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "vmm/upcall.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

#define BITS_PER_WORD 32                 /* the event arrays as 32-bit words, in both widths (shared_info.c) */

static bool port_valid(evtchn_port_t port)
{
	return port > 0 && port < EVTCHN_PORTS;
}

static bool test_bit(const uint32_t *words, unsigned int bit)
{
	return __atomic_load_n(&words[bit / BITS_PER_WORD], __ATOMIC_ACQUIRE) & (1u << (bit % BITS_PER_WORD));
}

/* Returns the old value of the bit. */
static bool test_and_set_bit(uint32_t *words, unsigned int bit)
{
	uint32_t m = 1u << (bit % BITS_PER_WORD);
	return __atomic_fetch_or(&words[bit / BITS_PER_WORD], m, __ATOMIC_ACQ_REL) & m;
}

static void clear_bit(uint32_t *words, unsigned int bit)
{
	__atomic_fetch_and(&words[bit / BITS_PER_WORD], ~(1u << (bit % BITS_PER_WORD)), __ATOMIC_ACQ_REL);
}

/* The upcall: the callback vector straight to the vCPU, or an MSI with the vCPU's own upcall vector
 * to its local APIC; and a wake-up for a vCPU blocked in SCHEDOP_block/poll. */
static void kick_vcpu_locked(struct domain *dom, unsigned int vcpu)
{
	struct xen_state *xen = &dom->xen;
	unsigned int vector = xen->vcpu[vcpu].upcall_vector;

	/* The domain-wide callback vector bypasses the APIC, as in Xen (vmm/upcall.c). */
	if (upcall_is_direct(dom, vcpu))
		upcall_request(dom, vcpu);
	else if (vector) {
		struct kvm_msi msi = { .address_lo = 0xfee00000u | (vcpu << 12), .data = vector };
		ioctl(dom->vm.vm_fd, KVM_SIGNAL_MSI, &msi);
	}
	pthread_cond_broadcast(&xen->wake);
}

static void mark_vcpu_pending_locked(struct domain *dom, unsigned int vcpu, evtchn_port_t port)
{
	struct vcpu_info *vi = xen_vcpu_info_locked(dom, vcpu);

	if (!vi)
		return;
	xen_vcpu_info_select_locked(dom, vi, port);
	if (!__atomic_exchange_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_ACQ_REL))
		kick_vcpu_locked(dom, vcpu);
	else
		pthread_cond_broadcast(&dom->xen.wake);
}

static void set_pending_locked(struct domain *dom, evtchn_port_t port)
{
	if (test_and_set_bit(xen_evtchn_pending_words_locked(dom), port))
		return;
	if (test_bit(xen_evtchn_mask_words_locked(dom), port)) {
		/* No upcall for a masked port, but a vCPU in SCHEDOP_poll on it must wake, as in Xen. */
		pthread_cond_broadcast(&dom->xen.wake);
		return;
	}
	mark_vcpu_pending_locked(dom, dom->xen.ports[port].vcpu, port);
}

bool evtchn_port_pending_locked(struct domain *dom, evtchn_port_t port)
{
	return port_valid(port) && test_bit(xen_evtchn_pending_words_locked(dom), port);
}

bool evtchn_vcpu_has_pending_locked(struct domain *dom, unsigned int vcpu)
{
	struct vcpu_info *vi = xen_vcpu_info_locked(dom, vcpu);

	return vi && __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE);
}

void evtchn_raise_virq_locked(struct domain *dom, unsigned int vcpu, unsigned int virq)
{
	evtchn_port_t port = dom->xen.vcpu[vcpu].virq_port[virq];

	if (port)
		set_pending_locked(dom, port);
}

static int alloc_port_locked(struct domain *dom)
{
	for (evtchn_port_t p = 1; p < EVTCHN_PORTS; p++)
		if (dom->xen.ports[p].state == EVTCHN_STATE_FREE)
			return (int)p;
	return -XEN_ENOSPC;
}

static void free_port_locked(struct domain *dom, evtchn_port_t port)
{
	dom->xen.ports[port] = (struct evtchn_port){ .state = EVTCHN_STATE_FREE };
	clear_bit(xen_evtchn_pending_words_locked(dom), port);
}

void evtchn_init_locked(struct domain *dom)
{
	for (evtchn_port_t p = 0; p < EVTCHN_PORTS; p++)
		dom->xen.ports[p] = (struct evtchn_port){ .state = EVTCHN_STATE_FREE };
	/* Port 0 is never handed out; the store and console ports wait for their services. */
	dom->xen.ports[0].state = EVTCHN_STATE_RESERVED;
	dom->xen.ports[EVTCHN_STORE_PORT] = (struct evtchn_port){ .state = EVTCHN_STATE_UNBOUND, .remote_dom = 0 };
	dom->xen.ports[EVTCHN_CONSOLE_PORT] = (struct evtchn_port){ .state = EVTCHN_STATE_UNBOUND, .remote_dom = 0 };
}

int evtchn_dom0_bind(struct domain *dom, evtchn_port_t port, evtchn_dom0_fn fn, void *opaque)
{
	struct xen_state *xen = &dom->xen;
	int r;

	if (!fn)
		return -XEN_EINVAL;
	pthread_mutex_lock(&xen->lock);
	if (!port) {
		r = alloc_port_locked(dom);
		if (r < 0)
			goto out;
		port = (evtchn_port_t)r;
	} else if (!port_valid(port) || xen->ports[port].state != EVTCHN_STATE_UNBOUND ||
		   xen->ports[port].remote_dom != 0) {
		r = -XEN_EINVAL;
		goto out;
	}
	xen->ports[port] = (struct evtchn_port){
		.state = EVTCHN_STATE_INTERDOMAIN, .remote_dom = 0, .dom0_fn = fn, .dom0_opaque = opaque,
	};
	r = (int)port;
out:
	pthread_mutex_unlock(&xen->lock);
	return r;
}

void evtchn_dom0_unbind(struct domain *dom, evtchn_port_t port, evtchn_dom0_fn fn, void *opaque)
{
	struct xen_state *xen = &dom->xen;

	pthread_mutex_lock(&xen->lock);
	/* The guest may have closed the port (and reused it) meanwhile: only ours is undone. */
	if (port_valid(port) && xen->ports[port].state == EVTCHN_STATE_INTERDOMAIN &&
	    xen->ports[port].dom0_fn == fn && xen->ports[port].dom0_opaque == opaque) {
		uint8_t vcpu = xen->ports[port].vcpu;
		xen->ports[port] = (struct evtchn_port){ .state = EVTCHN_STATE_UNBOUND, .vcpu = vcpu, .remote_dom = 0 };
	}
	/* A vCPU that took the callback before we changed the port may still be in it. */
	while (xen->dom0_calls_running)
		pthread_cond_wait(&xen->wake, &xen->lock);
	pthread_mutex_unlock(&xen->lock);
}

void evtchn_dom0_send(struct domain *dom, evtchn_port_t port)
{
	pthread_mutex_lock(&dom->xen.lock);
	if (port_valid(port) && dom->xen.ports[port].state == EVTCHN_STATE_INTERDOMAIN &&
	    dom->xen.ports[port].dom0_fn)
		set_pending_locked(dom, port);
	pthread_mutex_unlock(&dom->xen.lock);
}

static bool is_self(struct domain *dom, domid_t d)
{
	return d == DOMID_SELF || d == (domid_t)dom->domid;
}

/* ---- the guest's operations, each on its argument struct ---- */

static long op_alloc_unbound(struct domain *dom, struct evtchn_alloc_unbound *a)
{
	if (!is_self(dom, a->dom))
		return -XEN_EPERM;
	int p = alloc_port_locked(dom);
	if (p < 0)
		return p;
	dom->xen.ports[p] = (struct evtchn_port){
		.state = EVTCHN_STATE_UNBOUND, .remote_dom = is_self(dom, a->remote_dom) ? (domid_t)dom->domid : a->remote_dom,
	};
	a->port = (evtchn_port_t)p;
	return 0;
}

static long op_bind_interdomain(struct domain *dom, struct evtchn_bind_interdomain *a)
{
	struct xen_state *xen = &dom->xen;

	if (!is_self(dom, a->remote_dom))
		return -XEN_ESRCH;    /* other domains live in other VMMs: not reachable from here yet */
	if (!port_valid(a->remote_port) || xen->ports[a->remote_port].state != EVTCHN_STATE_UNBOUND ||
	    xen->ports[a->remote_port].remote_dom != (domid_t)dom->domid)
		return -XEN_EINVAL;
	int p = alloc_port_locked(dom);
	if (p < 0)
		return p;
	xen->ports[p] = (struct evtchn_port){
		.state = EVTCHN_STATE_INTERDOMAIN, .remote_dom = (domid_t)dom->domid, .remote_port = a->remote_port,
	};
	xen->ports[a->remote_port] = (struct evtchn_port){
		.state = EVTCHN_STATE_INTERDOMAIN, .remote_dom = (domid_t)dom->domid, .remote_port = (evtchn_port_t)p,
		.vcpu = xen->ports[a->remote_port].vcpu,
	};
	a->local_port = (evtchn_port_t)p;
	/* Xen raises the local end so the binder notices anything already sent. */
	set_pending_locked(dom, (evtchn_port_t)p);
	return 0;
}

static bool virq_is_global(uint32_t virq)
{
	return virq != VIRQ_TIMER && virq != VIRQ_DEBUG && virq != VIRQ_XENOPROF && virq != VIRQ_XENPMU;
}

static long op_bind_virq(struct domain *dom, struct evtchn_bind_virq *a)
{
	if (a->virq >= NR_VIRQS || (virq_is_global(a->virq) && a->vcpu != 0))
		return -XEN_EINVAL;
	if (a->vcpu >= dom->n_vcpus)
		return -XEN_ENOENT;
	if (dom->xen.vcpu[a->vcpu].virq_port[a->virq])
		return -XEN_EEXIST;
	int p = alloc_port_locked(dom);
	if (p < 0)
		return p;
	dom->xen.ports[p] = (struct evtchn_port){ .state = EVTCHN_STATE_VIRQ, .virq = (uint16_t)a->virq,
						  .vcpu = (uint8_t)a->vcpu };
	dom->xen.vcpu[a->vcpu].virq_port[a->virq] = (evtchn_port_t)p;
	a->port = (evtchn_port_t)p;
	return 0;
}

static long op_bind_ipi(struct domain *dom, struct evtchn_bind_ipi *a)
{
	if (a->vcpu >= dom->n_vcpus)
		return -XEN_ENOENT;
	int p = alloc_port_locked(dom);
	if (p < 0)
		return p;
	dom->xen.ports[p] = (struct evtchn_port){ .state = EVTCHN_STATE_IPI, .vcpu = (uint8_t)a->vcpu };
	a->port = (evtchn_port_t)p;
	return 0;
}

static long op_close(struct domain *dom, evtchn_port_t port)
{
	struct xen_state *xen = &dom->xen;

	if (!port_valid(port))
		return -XEN_EINVAL;
	struct evtchn_port *e = &xen->ports[port];
	switch (e->state) {
	case EVTCHN_STATE_FREE:
	case EVTCHN_STATE_RESERVED:
		return -XEN_EINVAL;
	case EVTCHN_STATE_VIRQ:
		/* A global VIRQ is recorded on vCPU 0 wherever bind_vcpu sent its events, as in Xen. */
		xen->vcpu[virq_is_global(e->virq) ? 0 : e->vcpu].virq_port[e->virq] = 0;
		break;
	case EVTCHN_STATE_INTERDOMAIN:
		if (!e->dom0_fn && port_valid(e->remote_port)) {
			/* The loopback peer goes back to waiting for a binder, as Xen does. */
			struct evtchn_port *peer = &xen->ports[e->remote_port];
			peer->state = EVTCHN_STATE_UNBOUND;
			peer->remote_dom = (domid_t)dom->domid;
			peer->remote_port = 0;
		}
		break;
	default:
		break;
	}
	free_port_locked(dom, port);
	return 0;
}

static long op_send(struct domain *dom, evtchn_port_t port, evtchn_dom0_fn *call, void **opaque)
{
	if (!port_valid(port))
		return -XEN_EINVAL;
	struct evtchn_port *e = &dom->xen.ports[port];
	switch (e->state) {
	case EVTCHN_STATE_INTERDOMAIN:
		if (e->dom0_fn) {
			*call = e->dom0_fn;      /* called after the lock is dropped */
			*opaque = e->dom0_opaque;
		} else {
			set_pending_locked(dom, e->remote_port);
		}
		return 0;
	case EVTCHN_STATE_IPI:
		set_pending_locked(dom, port);
		return 0;
	case EVTCHN_STATE_UNBOUND:
		return 0;                        /* nobody listens yet: dropped, as in Xen */
	default:
		return -XEN_EINVAL;
	}
}

static long op_status(struct domain *dom, struct evtchn_status *a)
{
	if (!is_self(dom, a->dom))
		return -XEN_ESRCH;
	if (a->port >= EVTCHN_PORTS)
		return -XEN_EINVAL;
	struct evtchn_port *e = &dom->xen.ports[a->port];
	a->vcpu = e->vcpu;
	switch (e->state) {
	case EVTCHN_STATE_FREE:
	case EVTCHN_STATE_RESERVED:
		a->status = EVTCHNSTAT_closed;
		break;
	case EVTCHN_STATE_UNBOUND:
		a->status = EVTCHNSTAT_unbound;
		a->u.unbound.dom = e->remote_dom;
		break;
	case EVTCHN_STATE_INTERDOMAIN:
		a->status = EVTCHNSTAT_interdomain;
		a->u.interdomain.dom = e->remote_dom;
		a->u.interdomain.port = e->dom0_fn ? 0 : e->remote_port;
		break;
	case EVTCHN_STATE_VIRQ:
		a->status = EVTCHNSTAT_virq;
		a->u.virq = e->virq;
		break;
	case EVTCHN_STATE_IPI:
		a->status = EVTCHNSTAT_ipi;
		break;
	default:
		a->status = EVTCHNSTAT_closed;
	}
	return 0;
}

static long op_unmask(struct domain *dom, evtchn_port_t port)
{
	if (!port_valid(port))
		return -XEN_EINVAL;
	clear_bit(xen_evtchn_mask_words_locked(dom), port);
	if (test_bit(xen_evtchn_pending_words_locked(dom), port))
		mark_vcpu_pending_locked(dom, dom->xen.ports[port].vcpu, port);
	return 0;
}

static long op_bind_vcpu(struct domain *dom, struct evtchn_bind_vcpu *a)
{
	if (!port_valid(a->port))
		return -XEN_EINVAL;
	if (a->vcpu >= dom->n_vcpus)
		return -XEN_ENOENT;
	struct evtchn_port *e = &dom->xen.ports[a->port];
	if (e->state == EVTCHN_STATE_FREE || (e->state == EVTCHN_STATE_VIRQ && !virq_is_global(e->virq)) ||
	    e->state == EVTCHN_STATE_IPI)
		return -XEN_EINVAL;
	e->vcpu = (uint8_t)a->vcpu;
	return 0;
}

static long op_reset(struct domain *dom, struct evtchn_reset *a)
{
	if (!is_self(dom, a->dom))
		return -XEN_ESRCH;
	/* Everything the guest made goes; the store and console stay bound to their services. */
	for (evtchn_port_t p = 1; p < EVTCHN_PORTS; p++)
		if (dom->xen.ports[p].state != EVTCHN_STATE_FREE && !dom->xen.ports[p].dom0_fn)
			op_close(dom, p);
	return 0;
}

/* The sizes of each operation's argument, read in and (for those with outputs) written back. */
static size_t op_size(uint64_t cmd, bool *writes_back)
{
	*writes_back = true;
	switch (cmd) {
	case EVTCHNOP_alloc_unbound: return sizeof(struct evtchn_alloc_unbound);
	case EVTCHNOP_bind_interdomain: return sizeof(struct evtchn_bind_interdomain);
	case EVTCHNOP_bind_virq: return sizeof(struct evtchn_bind_virq);
	case EVTCHNOP_bind_ipi: return sizeof(struct evtchn_bind_ipi);
	case EVTCHNOP_status: return sizeof(struct evtchn_status);
	}
	*writes_back = false;
	switch (cmd) {
	case EVTCHNOP_close: return sizeof(struct evtchn_close);
	case EVTCHNOP_send: return sizeof(struct evtchn_send);
	case EVTCHNOP_unmask: return sizeof(struct evtchn_unmask);
	case EVTCHNOP_bind_vcpu: return sizeof(struct evtchn_bind_vcpu);
	case EVTCHNOP_reset: return sizeof(struct evtchn_reset);
	}
	return 0;
}

long hcall_event_channel_op(struct vcpu *vcpu, const uint64_t args[5])
{
	struct domain *dom = vcpu->dom;
	union {
		struct evtchn_alloc_unbound alloc_unbound;
		struct evtchn_bind_interdomain bind_interdomain;
		struct evtchn_bind_virq bind_virq;
		struct evtchn_bind_ipi bind_ipi;
		struct evtchn_close close;
		struct evtchn_send send;
		struct evtchn_status status;
		struct evtchn_unmask unmask;
		struct evtchn_bind_vcpu bind_vcpu;
		struct evtchn_reset reset;
	} a;
	uint64_t cmd = args[0];
	bool writes_back;
	size_t size = op_size(cmd, &writes_back);
	evtchn_dom0_fn call = NULL;
	void *opaque = NULL;
	long r;

	if (cmd == EVTCHNOP_init_control || cmd == EVTCHNOP_expand_array || cmd == EVTCHNOP_set_priority)
		return evtchn_fifo_op(vcpu, cmd, args[1]);
	if (!size)
		return xen_unknown_subop(vcpu, __HYPERVISOR_event_channel_op, cmd);
	if (guest_copy_from(vcpu, &a, args[1], size))
		return -XEN_EFAULT;
	pthread_mutex_lock(&dom->xen.lock);
	switch (cmd) {
	case EVTCHNOP_alloc_unbound: r = op_alloc_unbound(dom, &a.alloc_unbound); break;
	case EVTCHNOP_bind_interdomain: r = op_bind_interdomain(dom, &a.bind_interdomain); break;
	case EVTCHNOP_bind_virq: r = op_bind_virq(dom, &a.bind_virq); break;
	case EVTCHNOP_bind_ipi: r = op_bind_ipi(dom, &a.bind_ipi); break;
	case EVTCHNOP_close: r = op_close(dom, a.close.port); break;
	case EVTCHNOP_send: r = op_send(dom, a.send.port, &call, &opaque); break;
	case EVTCHNOP_status: r = op_status(dom, &a.status); break;
	case EVTCHNOP_unmask: r = op_unmask(dom, a.unmask.port); break;
	case EVTCHNOP_bind_vcpu: r = op_bind_vcpu(dom, &a.bind_vcpu); break;
	default: r = op_reset(dom, &a.reset); break;
	}
	if (call)
		dom->xen.dom0_calls_running++;
	pthread_mutex_unlock(&dom->xen.lock);
	if (call) {
		call(opaque);
		pthread_mutex_lock(&dom->xen.lock);
		if (!--dom->xen.dom0_calls_running)
			pthread_cond_broadcast(&dom->xen.wake);
		pthread_mutex_unlock(&dom->xen.lock);
	}
	if (r == 0 && writes_back && guest_copy_to(vcpu, args[1], &a, size))
		return -XEN_EFAULT;
	return r;
}
