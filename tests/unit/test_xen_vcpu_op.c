/* vCPU hotplug on a fake domain (fake_domain.h): VCPUOP_initialise/up/down/is_up and the runstates
 * they leave, answered as Xen answers an HVM/PVH guest.  The vCPU threads need KVM; the state machine
 * they follow (xen/vcpu_power.c) is driven here directly where a thread would act. */
#include <stdint.h>
#include "fake_domain.h"
#include "unit.h"
#include "xen/vcpu_power.h"

static long vcpuop(struct domain *d, unsigned int caller, uint64_t cmd, unsigned int id)
{
	return fake_hcall(d, caller, __HYPERVISOR_vcpu_op, cmd, id, FAKE_ARG);
}

static long initialise(struct domain *d, unsigned int caller, unsigned int id, const struct vcpu_hvm_context *ctx)
{
	fake_put(d, FAKE_ARG, ctx, sizeof(*ctx));
	return vcpuop(d, caller, VCPUOP_initialise, id);
}

static struct domain *smp_domain(unsigned int n)
{
	struct domain *d = fake_domain_new(n);
	vcpu_power_init(d);
	return d;
}

static uint32_t runstate_of(struct domain *d, unsigned int caller, unsigned int id)
{
	struct vcpu_runstate_info info;
	if (fake_hcall(d, caller, __HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, id, FAKE_ARG2))
		return 99;
	fake_get(d, FAKE_ARG2, &info, sizeof(info));
	return (uint32_t)info.state;
}

static struct vcpu_hvm_context good_64(void)
{
	struct vcpu_hvm_context c = { .mode = VCPU_HVM_MODE_64B };
	c.cpu_regs.x86_64.rip = 0xffffffff81000000ull;
	c.cpu_regs.x86_64.rsp = 0x200000;
	c.cpu_regs.x86_64.rflags = 0xffffffffffffffffull;
	c.cpu_regs.x86_64.cr0 = 0x80000011;
	c.cpu_regs.x86_64.cr3 = 0x100000;
	c.cpu_regs.x86_64.cr4 = 0x20;
	c.cpu_regs.x86_64.efer = 0x500;              /* LME + LMA */
	return c;
}

static struct vcpu_hvm_context good_32(void)
{
	struct vcpu_hvm_context c = { .mode = VCPU_HVM_MODE_32B };
	struct vcpu_hvm_x86_32 *r = &c.cpu_regs.x86_32;
	r->eip = 0x100000;
	r->esp = 0x9000;
	r->cr0 = 0x11;                               /* PE|ET, no paging */
	r->cs_limit = r->ds_limit = r->ss_limit = r->es_limit = ~0u;
	r->cs_ar = 0xc9b;
	r->ds_ar = r->ss_ar = r->es_ar = 0xc93;
	r->tr_ar = 0x8b;
	r->tr_limit = 0x67;
	return c;
}

static void test_boot_state(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = smp_domain(4);

	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 0), 1);
	for (unsigned int i = 1; i < 4; i++)
		CHECK(vcpuop(d, 0, VCPUOP_is_up, i) == 0, "secondary %u is up at boot", i);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 4), -XEN_ENOENT);
	CHECK_INT(vcpuop(d, 0, VCPUOP_up, 4), -XEN_ENOENT);
	CHECK_INT(vcpuop(d, 0, VCPUOP_down, 4), -XEN_ENOENT);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 0xffffffffu), -XEN_ENOENT);
	CHECK_INT(runstate_of(d, 0, 0), RUNSTATE_running);
	CHECK_INT(runstate_of(d, 0, 2), RUNSTATE_offline);
	/* Never initialised: up is refused, as Xen's !is_initialised. */
	CHECK_INT(vcpuop(d, 0, VCPUOP_up, 1), -XEN_EINVAL);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 1), 0);
	/* vCPU 0 runs its boot context: initialising it again is EEXIST, up is a no-op. */
	struct vcpu_hvm_context c = good_64();
	CHECK_INT(initialise(d, 1, 0, &c), -XEN_EEXIST);
	CHECK_INT(vcpuop(d, 1, VCPUOP_up, 0), 0);
	fake_domain_free(d);
}

static void test_initialise_up_down(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = smp_domain(3);
	struct vcpu_hvm_context c = good_64();
	struct vcpu *v1 = &d->vcpus[1];
	struct vcpu_boot_context got;

	CHECK_INT(initialise(d, 0, 1, &c), 0);
	CHECK_INT(initialise(d, 0, 1, &c), -XEN_EEXIST);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 1), 0);     /* initialised but down, as Xen leaves it */
	CHECK(vcpu_power_wants_park_locked(v1), "an initialised vCPU's thread must park until up");
	CHECK_INT(vcpuop(d, 0, VCPUOP_up, 1), 0);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 1), 1);
	CHECK(!vcpu_power_wants_park_locked(v1), "an up vCPU runs");
	CHECK(vcpu_power_take_context_locked(v1, &got), "the context waits for the thread");
	CHECK(!vcpu_power_take_context_locked(v1, &got), "a context is loaded once");
	CHECK(got.regs.rip == c.cpu_regs.x86_64.rip && got.regs.rsp == 0x200000, "registers carried");
	CHECK(got.regs.rflags == (0x3f7fd5ull | 2), "rflags %#llx: only real flags and bit 1",
	      (unsigned long long)got.regs.rflags);
	CHECK(got.cs.l && got.cs.present && got.cs.type == 0xb && !got.cs.db, "CS is a 64-bit code segment");
	CHECK(got.tr.type == 0xb && !got.tr.s && got.tr.limit == 0x67, "TR is a busy TSS");
	CHECK(got.efer == 0x500 && got.cr3 == 0x100000, "efer %#llx", (unsigned long long)got.efer);
	struct kvm_sregs s = { .apic_base = 0xfee00900 };
	vcpu_context_apply(&got, &s);
	CHECK(s.apic_base == 0xfee00900 && s.cr0 == 0x80000011, "apply keeps the APIC base");

	/* The thread runs it: runstate running; a down from vCPU 0 parks it, offline. */
	vcpu_power_runstate(v1, false);
	CHECK_INT(runstate_of(d, 0, 1), RUNSTATE_running);
	CHECK_INT(vcpuop(d, 0, VCPUOP_down, 1), 0);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 1), 0);
	CHECK(vcpu_power_wants_park_locked(v1), "a downed vCPU parks");
	vcpu_power_runstate(v1, true);                    /* what its thread does as it parks */
	CHECK_INT(runstate_of(d, 0, 1), RUNSTATE_offline);
	CHECK_INT(vcpuop(d, 0, VCPUOP_down, 1), 0);      /* down again: nothing more */
	CHECK_INT(vcpuop(d, 0, VCPUOP_up, 1), 0);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 1), 1);
	CHECK(!vcpu_power_take_context_locked(v1, &got), "up after down resumes where it stopped");

	/* vCPU 0 may go down while vCPU 1 is up, and come back by vCPU 1's VCPUOP_up. */
	CHECK_INT(vcpuop(d, 0, VCPUOP_down, 0), 0);
	CHECK_INT(vcpuop(d, 1, VCPUOP_is_up, 0), 0);
	CHECK(d->shutdown_reason < 0, "the domain lives while vCPU 1 is up");
	CHECK_INT(vcpuop(d, 1, VCPUOP_up, 0), 0);
	CHECK_INT(vcpuop(d, 1, VCPUOP_is_up, 0), 1);
	fake_domain_free(d);
}

static void test_last_down_powers_off(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = smp_domain(2);

	/* vCPU 1 never started (waits for SIPI): it counts as down, so vCPU 0 is the last one. */
	CHECK_INT(vcpuop(d, 0, VCPUOP_down, 0), 0);
	CHECK_INT(d->shutdown_reason, SHUTDOWN_poweroff);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 0), 1);      /* Xen leaves it up: the domain goes instead */
	fake_domain_free(d);
}

static void test_sipi_started(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = smp_domain(2);
	struct vcpu *v1 = &d->vcpus[1];

	CHECK(!vcpu_power_wants_park_locked(v1), "a secondary waits for SIPI inside KVM_RUN, not parked");
	CHECK(vcpu_power_seen_running_locked(v1), "its first real exit makes it up");
	CHECK(!vcpu_power_seen_running_locked(v1), "only once");
	CHECK(!vcpu_power_seen_running_locked(&d->vcpus[0]), "vCPU 0 was up from the start");
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 1), 1);
	struct vcpu_hvm_context c = good_64();
	CHECK_INT(initialise(d, 0, 1, &c), -XEN_EEXIST);  /* it ran: initialised, as Xen after INIT/SIPI */
	CHECK_INT(vcpuop(d, 1, VCPUOP_down, 1), 0);       /* downing itself */
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 1), 0);
	CHECK_INT(vcpuop(d, 0, VCPUOP_up, 1), 0);
	CHECK_INT(vcpuop(d, 0, VCPUOP_is_up, 1), 1);
	fake_domain_free(d);
}

static void test_32bit_context(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = smp_domain(2);
	struct vcpu_hvm_context c = good_32();
	struct vcpu_boot_context got;

	CHECK_INT(initialise(d, 0, 1, &c), 0);
	CHECK(vcpu_power_take_context_locked(&d->vcpus[1], &got), "context stored");
	CHECK(got.regs.rip == 0x100000 && got.cs.db && !got.cs.l && got.cs.limit == ~0u, "flat 32-bit CS");
	CHECK(got.cs.type == 0xb && got.ds.type == 0x3, "accessed bits set: cs %#x ds %#x", got.cs.type,
	      got.ds.type);
	CHECK(!(got.efer & 0x400), "no LMA without paging");
	/* DS and ES may be null: unusable. */
	struct vcpu_hvm_context n = good_32();
	n.cpu_regs.x86_32.ds_ar = n.cpu_regs.x86_32.es_ar = 0;
	char why[200];
	CHECK_INT(vcpu_context_from_hvm(&n, &got, why, sizeof(why)), 0);
	CHECK(got.ds.unusable && got.es.unusable && !got.ss.unusable, "null DS/ES unusable");
	/* An argument outside guest RAM. */
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_vcpu_op, VCPUOP_initialise, 1, FAKE_RAM_SIZE + 0x1000), -XEN_EFAULT);
	fake_domain_free(d);
}

/* Bad contexts: each answers -EINVAL with a reason, and the vCPU stays as it was. */
struct bad_row {
	const char *name;
	bool is64;
	void (*spoil)(struct vcpu_hvm_context *c);
};

static void mode_2(struct vcpu_hvm_context *c) { c->mode = 2; }
static void pad(struct vcpu_hvm_context *c) { c->pad = 1; }
static void noncanonical(struct vcpu_hvm_context *c) { c->cpu_regs.x86_64.rip = 0x0000800000000000ull; }
static void no_pg(struct vcpu_hvm_context *c) { c->cpu_regs.x86_64.cr0 = 0x11; }
static void no_pae(struct vcpu_hvm_context *c) { c->cpu_regs.x86_64.cr4 = 0; }
static void no_lme(struct vcpu_hvm_context *c) { c->cpu_regs.x86_64.efer = 0; }
static void cr4_reserved(struct vcpu_hvm_context *c) { c->cpu_regs.x86_64.cr4 |= 1ull << 40; }
static void efer_reserved(struct vcpu_hvm_context *c) { c->cpu_regs.x86_64.efer |= 1ull << 9; }
static void pg_no_pe(struct vcpu_hvm_context *c) { c->cpu_regs.x86_64.cr0 = 0x80000010; }
static void pad32(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.pad2[1] = 1; }
static void cs_null(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.cs_ar = 0; }
static void ss_null(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.ss_ar = 0; }
static void cs_data(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.cs_ar = 0xc93; }
static void cs_system(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.cs_ar = 0xc8b; }
static void cs_absent(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.cs_ar = 0xc1b; }
static void ss_readonly(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.ss_ar = 0xc91; }
static void ds_execonly(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.ds_ar = 0xc99; }
static void tr_code(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.tr_ar = 0xc9b; }
static void tr_ldt(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.tr_ar = 0x82; }
static void ar_pad(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.ds_ar = 0x1c93; }
static void eip_limit(struct vcpu_hvm_context *c)
{
	c->cpu_regs.x86_32.cs_ar = 0x49b;            /* byte granular */
	c->cpu_regs.x86_32.cs_limit = 0xffff;
	c->cpu_regs.x86_32.eip = 0x10000;
}
static void ss_dpl(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.ss_ar = 0xcf3; }
static void ds_dpl(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.ds_ar = 0xcd3; }
static void lma_no_lme(struct vcpu_hvm_context *c) { c->cpu_regs.x86_32.efer = 0x400; }
static void long_no_pae(struct vcpu_hvm_context *c)
{
	c->cpu_regs.x86_32.cr0 = 0x80000011;
	c->cpu_regs.x86_32.efer = 0x100;
}

static const struct bad_row bad_rows[] = {
	{ "mode", true, mode_2 }, { "pad", true, pad }, { "rip-noncanonical", true, noncanonical },
	{ "64-no-paging", true, no_pg }, { "64-no-pae", true, no_pae }, { "64-no-lme", true, no_lme },
	{ "cr4-reserved", true, cr4_reserved }, { "efer-reserved", true, efer_reserved },
	{ "pg-without-pe", true, pg_no_pe }, { "32-pad", false, pad32 }, { "cs-null", false, cs_null },
	{ "ss-null", false, ss_null }, { "cs-data", false, cs_data }, { "cs-system", false, cs_system },
	{ "cs-absent", false, cs_absent }, { "ss-readonly", false, ss_readonly },
	{ "ds-execute-only", false, ds_execonly }, { "tr-code", false, tr_code }, { "tr-ldt", false, tr_ldt },
	{ "attr-pad", false, ar_pad }, { "eip-beyond-cs", false, eip_limit }, { "ss-dpl", false, ss_dpl },
	{ "ds-dpl", false, ds_dpl }, { "lma-without-lme", false, lma_no_lme },
	{ "long-without-pae", false, long_no_pae },
};

static void test_bad_context(struct unit *u, const void *arg)
{
	const struct bad_row *row = arg;
	struct domain *d = smp_domain(2);
	struct vcpu_hvm_context c = row->is64 ? good_64() : good_32();
	struct vcpu_boot_context got;
	char why[200] = "";

	row->spoil(&c);
	CHECK_INT(vcpu_context_from_hvm(&c, &got, why, sizeof(why)), -XEN_EINVAL);
	CHECK(why[0], "no reason given");
	CHECK_INT(initialise(d, 0, 1, &c), -XEN_EINVAL);
	CHECK_INT(vcpuop(d, 0, VCPUOP_up, 1), -XEN_EINVAL);   /* still uninitialised */
	CHECK(!vcpu_power_wants_park_locked(&d->vcpus[1]), "a refused context leaves the vCPU waiting for SIPI");
	struct vcpu_hvm_context ok = row->is64 ? good_64() : good_32();
	CHECK_INT(initialise(d, 0, 1, &ok), 0);               /* and a good one still works */
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "boot-state", test_boot_state, NULL);
	unit_case(&u, "initialise-up-down", test_initialise_up_down, NULL);
	unit_case(&u, "last-down-powers-off", test_last_down_powers_off, NULL);
	unit_case(&u, "sipi-started", test_sipi_started, NULL);
	unit_case(&u, "32bit-context", test_32bit_context, NULL);
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++)
		unit_case(&u, bad_rows[i].name, test_bad_context, &bad_rows[i]);
	return unit_finish(&u);
}
