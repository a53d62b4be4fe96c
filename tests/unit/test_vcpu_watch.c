/* What the vCPU watchdog (vmm/vcpu_watch.c) and the triple-fault exit take as a guest ending itself:
 * Xen's rules for a vCPU that is down, and HVM_PARAM_TRIPLE_FAULT_REASON's default. */
#include "fake_domain.h"
#include "unit.h"
#include "vmm/vcpu_watch.h"

#define IF (1ull << 9)

struct down_row {
	const char *name;
	uint32_t mp_state;
	uint64_t rflags;
	bool down;
};

static const struct down_row down_rows[] = {
	{ "halted, interrupts off", KVM_MP_STATE_HALTED, 2, true },
	{ "halted, interrupts on (idle)", KVM_MP_STATE_HALTED, IF | 2, false },
	{ "running, interrupts off", KVM_MP_STATE_RUNNABLE, 2, false },
	{ "running", KVM_MP_STATE_RUNNABLE, IF | 2, false },
	{ "AP never started", KVM_MP_STATE_UNINITIALIZED, 2, true },
	{ "AP after INIT", KVM_MP_STATE_INIT_RECEIVED, 2, true },
	{ "AP after SIPI", KVM_MP_STATE_SIPI_RECEIVED, 2, false },
};

static void test_down(struct unit *u, const void *arg)
{
	const struct down_row *r = arg;

	CHECK(vcpu_watch_is_down(r->mp_state, r->rflags) == r->down, "mp_state %u rflags %#llx: %s",
	      r->mp_state, (unsigned long long)r->rflags, r->down ? "should be down" : "is not down");
}

static void test_triple_fault_reason(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = HVM_PARAM_TRIPLE_FAULT_REASON };
	(void)arg;

	CHECK_INT(d->xen.params[HVM_PARAM_TRIPLE_FAULT_REASON], SHUTDOWN_reboot);
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_hvm_op, HVMOP_get_param, &p, sizeof(p)), 0);
	CHECK_INT(p.value, SHUTDOWN_reboot);
	/* The toolstack's to set, not the guest's. */
	p.value = SHUTDOWN_poweroff;
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p)), -XEN_EPERM);
	CHECK_INT(d->xen.params[HVM_PARAM_TRIPLE_FAULT_REASON], SHUTDOWN_reboot);
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(down_rows) / sizeof(down_rows[0]); i++) {
		char name[96];
		snprintf(name, sizeof(name), "vcpu-watch down: %s", down_rows[i].name);
		unit_case(&u, name, test_down, &down_rows[i]);
	}
	unit_case(&u, "triple fault reason defaults to reboot", test_triple_fault_reason, NULL);
	return unit_finish(&u);
}
