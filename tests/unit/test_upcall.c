/* The callback vector's direct path (vmm/upcall.c): when a vCPU may take the vector, and which
 * upcalls take the direct path rather than the local APIC. */
#include "fake_domain.h"
#include "unit.h"
#include "vmm/upcall.h"

#define IF (1ull << 9)

struct decide_row {
	const char *name;
	uint64_t rflags;
	struct kvm_vcpu_events ev;
	enum upcall_verdict want;
};

static const struct decide_row decide_rows[] = {
	{ "interrupts on", IF | 2, { }, UPCALL_INJECT },
	{ "interrupts off", 2, { }, UPCALL_WAIT },
	{ "sti shadow", IF | 2, { .interrupt.shadow = 1 }, UPCALL_WAIT },
	{ "mov ss shadow", IF | 2, { .interrupt.shadow = 2 }, UPCALL_WAIT },
	{ "interrupt in flight", IF | 2, { .interrupt.injected = 1, .interrupt.nr = 0x30 }, UPCALL_WAIT },
	{ "exception in flight", IF | 2, { .exception.injected = 1, .exception.nr = 14 }, UPCALL_WAIT },
	{ "exception pending", IF | 2, { .exception.pending = 1, .exception.nr = 13 }, UPCALL_WAIT },
	{ "nmi in flight", IF | 2, { .nmi.injected = 1 }, UPCALL_WAIT },
	{ "nmi pending only", IF | 2, { .nmi.pending = 1 }, UPCALL_INJECT },
};

static void test_decide(struct unit *u, const void *arg)
{
	const struct decide_row *r = arg;

	CHECK_INT(upcall_decide(r->rflags, &r->ev), r->want);
}

static long evtchn(struct domain *d, unsigned int vcpu, int cmd, void *arg, size_t size)
{
	return fake_op(d, vcpu, __HYPERVISOR_event_channel_op, cmd, arg, size);
}

/* Binds an IPI on vCPU 0 and sends it: the guest's upcall rises for vCPU 0. */
static void raise_upcall(struct unit *u, struct domain *d)
{
	struct evtchn_bind_ipi b = { .vcpu = 0 };
	CHECK_INT(evtchn(d, 0, EVTCHNOP_bind_ipi, &b, sizeof(b)), 0);
	struct evtchn_send s = { .port = b.port };
	CHECK_INT(evtchn(d, 0, EVTCHNOP_send, &s, sizeof(s)), 0);
	pthread_mutex_lock(&d->xen.lock);
	CHECK(evtchn_vcpu_has_pending_locked(d, 0), "the IPI did not raise vCPU 0's upcall");
	pthread_mutex_unlock(&d->xen.lock);
}

static long set_callback(struct domain *d, uint64_t via)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ, .value = via };
	return fake_op(d, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p));
}

static void test_callback_vector_is_direct(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(2);
	(void)arg;

	CHECK_INT(set_callback(d, (2ull << 56) | 0xf3), 0);
	pthread_mutex_lock(&d->xen.lock);
	CHECK(upcall_is_direct(d, 0) && upcall_is_direct(d, 1), "the callback vector must bypass the APIC");
	pthread_mutex_unlock(&d->xen.lock);
	raise_upcall(u, d);
	CHECK(d->vcpus[0].upcall_owed, "vCPU 0 is not owed its upcall");
	CHECK(!d->vcpus[1].upcall_owed, "vCPU 1 was owed an upcall it never got");
	fake_domain_free(d);
}

static void test_per_vcpu_vector_uses_apic(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	(void)arg;

	CHECK_INT(set_callback(d, (2ull << 56) | 0xf3), 0);
	struct xen_hvm_evtchn_upcall_vector v = { .vcpu = 0, .vector = 0xf4 };
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &v, sizeof(v)), 0);
	pthread_mutex_lock(&d->xen.lock);
	CHECK(!upcall_is_direct(d, 0), "HVMOP_set_evtchn_upcall_vector is an APIC vector in Xen");
	pthread_mutex_unlock(&d->xen.lock);
	raise_upcall(u, d);
	CHECK(!d->vcpus[0].upcall_owed, "an APIC-delivered upcall was put on the direct path");
	fake_domain_free(d);
}

static void test_no_callback_no_upcall(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	(void)arg;

	pthread_mutex_lock(&d->xen.lock);
	CHECK(!upcall_is_direct(d, 0), "no callback set, yet the direct path was chosen");
	pthread_mutex_unlock(&d->xen.lock);
	raise_upcall(u, d);
	CHECK(!d->vcpus[0].upcall_owed, "an upcall was owed with no callback set");
	/* Clearing the callback (value 0) turns the direct path off again. */
	CHECK_INT(set_callback(d, (2ull << 56) | 0xf3), 0);
	CHECK_INT(set_callback(d, 0), 0);
	pthread_mutex_lock(&d->xen.lock);
	CHECK(!upcall_is_direct(d, 0), "a cleared callback still takes the direct path");
	pthread_mutex_unlock(&d->xen.lock);
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(decide_rows) / sizeof(decide_rows[0]); i++) {
		char name[96];
		snprintf(name, sizeof(name), "upcall-decide %s", decide_rows[i].name);
		unit_case(&u, name, test_decide, &decide_rows[i]);
	}
	unit_case(&u, "upcall callback vector takes the direct path", test_callback_vector_is_direct, NULL);
	unit_case(&u, "upcall per-vcpu vector stays on the APIC", test_per_vcpu_vector_uses_apic, NULL);
	unit_case(&u, "upcall none without a callback", test_no_callback_no_upcall, NULL);
	return unit_finish(&u);
}
