/* What Linux 6.1's PVH boot asks of the Xen ABI beyond the basics, on a fake domain (fake_domain.h),
 * each answer checked against Xen 4.17's:
 *  - VCPUOP_register_runstate_memory_area (Linux BUG()s if it fails): addr.v is guest-virtual, the
 *    record is written at once and kept up to date as the vCPU blocks in SCHEDOP_block/poll, framed
 *    by XEN_RUNSTATE_UPDATE once vm_assist enabled it; VCPUOP_get_runstate_info;
 *  - vm_assist: only VMASST_TYPE_runstate_update_flag for an HVM guest;
 *  - HVMOP_pagetable_dying as Xen answers it with HAP (so Linux does not call it at every exit);
 *  - CPUID: Xen's leaves built from the host CPU's own leaves, read the way Linux reads them;
 *  - SCHEDOP_poll returning for a deliverable or freshly raised upcall;
 *  - pvclock: with system time calibrated on the host's TSC, the guest's pvclock reading never goes
 *    back across updates and agrees with the VMM's system time;
 *  - the timer sub-ops Linux's clockevent uses. */
#include <cpuid.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>
#include <xen/arch-x86/cpuid.h>
#include "fake_domain.h"
#include "unit.h"
#include "xen/cpuid.h"
#include "xen/runstate.h"

#define RFLAGS_IF (1ull << 9)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long vcpuop(struct domain *d, unsigned int caller, uint64_t cmd, uint64_t target, uint64_t arg)
{
	return fake_hcall(d, caller, __HYPERVISOR_vcpu_op, cmd, target, arg);
}

static long register_runstate(struct domain *d, unsigned int caller, unsigned int target, uint64_t arg_gva,
			      uint64_t area_gva, uint64_t arg_gpa)
{
	struct vcpu_register_runstate_memory_area area = { .addr.p = area_gva };

	fake_put(d, arg_gpa, &area, sizeof(area));
	return vcpuop(d, caller, VCPUOP_register_runstate_memory_area, target, arg_gva);
}

static struct vcpu_runstate_info read_area(struct domain *d, uint64_t gpa)
{
	struct vcpu_runstate_info r;

	fake_get(d, gpa, &r, sizeof(r));
	return r;
}

static uint64_t time_sum(const struct vcpu_runstate_info *r)
{
	return r->time[0] + r->time[1] + r->time[2] + r->time[3];
}

/* ---- runstate, paging off (guest-virtual == guest-physical) ---- */

static void test_runstate_register(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(2);
	(void)arg;

	uint64_t before = xen_system_time_ns(d);
	CHECK_INT(register_runstate(d, 0, 0, FAKE_ARG, FAKE_ARG2, FAKE_ARG), 0);
	uint64_t after = xen_system_time_ns(d);
	struct vcpu_runstate_info r = read_area(d, FAKE_ARG2);
	CHECK_INT(r.state, RUNSTATE_running);
	CHECK(r.state_entry_time >= before && r.state_entry_time <= after,
	      "state_entry_time %llu not the system time of the call [%llu, %llu]",
	      (unsigned long long)r.state_entry_time, (unsigned long long)before, (unsigned long long)after);
	CHECK(time_sum(&r) == r.state_entry_time, "times add up to %llu, not state_entry_time %llu",
	      (unsigned long long)time_sum(&r), (unsigned long long)r.state_entry_time);
	CHECK_INT(r.time[RUNSTATE_runnable] + r.time[RUNSTATE_offline], 0);     /* no steal */

	/* vCPU 0 registers vCPU 1's area, as Linux does on resume: written at once too. */
	CHECK_INT(register_runstate(d, 0, 1, FAKE_ARG, FAKE_ARG2 + 0x100, FAKE_ARG), 0);
	r = read_area(d, FAKE_ARG2 + 0x100);
	CHECK(r.state_entry_time && time_sum(&r) == r.state_entry_time, "vCPU 1's area not written");

	/* VCPUOP_get_runstate_info counts the current state up to now. */
	struct vcpu_runstate_info g;
	CHECK_INT(vcpuop(d, 1, VCPUOP_get_runstate_info, 0, FAKE_ARG3), 0);
	fake_get(d, FAKE_ARG3, &g, sizeof(g));
	CHECK_INT(g.state, RUNSTATE_running);
	CHECK(g.time[RUNSTATE_running] >= read_area(d, FAKE_ARG2).time[RUNSTATE_running],
	      "get_runstate_info went back from the area");
	CHECK(time_sum(&g) == g.state_entry_time, "get_runstate_info's times do not add up");

	/* Xen takes any address for an HVM guest and ignores a failed copy: Linux must not BUG(). */
	CHECK_INT(register_runstate(d, 0, 0, FAKE_ARG, 0xfffffff000ull, FAKE_ARG), 0);
	CHECK_INT(register_runstate(d, 0, 0, FAKE_ARG, 0, FAKE_ARG), 0);           /* null: none */
	/* The argument itself unreadable, or a vCPU that does not exist. */
	CHECK_INT(vcpuop(d, 0, VCPUOP_register_runstate_memory_area, 0, 0xfffffff000ull), -XEN_EFAULT);
	CHECK_INT(vcpuop(d, 0, VCPUOP_get_runstate_info, 0, 0xfffffff000ull), -XEN_EFAULT);
	CHECK_INT(register_runstate(d, 0, 2, FAKE_ARG, FAKE_ARG2, FAKE_ARG), -XEN_ENOENT);
	CHECK_INT(vcpuop(d, 0, VCPUOP_get_runstate_info, 5, FAKE_ARG3), -XEN_ENOENT);
	fake_domain_free(d);
}

/* ---- runstate through long-mode page tables ---- */

#define KERNEL_BASE 0xffff888000000000ull   /* Linux's direct map */
#define PT_PML4 0x20000ull
#define PT_PDPT 0x21000ull
#define PT_PD   0x22000ull

/* Maps KERNEL_BASE + [0, 8 MiB) onto guest RAM with 2 MiB pages and puts vCPU `v` in long mode. */
static void long_mode(struct domain *d, unsigned int v)
{
	uint64_t e;

	e = PT_PDPT | 3;
	fake_put(d, PT_PML4 + ((KERNEL_BASE >> 39) & 511) * 8, &e, 8);
	e = PT_PD | 3;
	fake_put(d, PT_PDPT + ((KERNEL_BASE >> 30) & 511) * 8, &e, 8);
	for (uint64_t i = 0; i < 4; i++) {
		e = (i << 21) | 0x83;                 /* present, writable, 2 MiB */
		fake_put(d, PT_PD + i * 8, &e, 8);
	}
	struct kvm_sregs *s = &d->vcpus[v].run->s.regs.sregs;
	s->cr0 = 0x80000011ull;
	s->cr4 = 0x20;                                 /* PAE */
	s->efer = 0x500;                               /* LME | LMA */
	s->cr3 = PT_PML4;
	s->cs.l = 1;
}

static void test_runstate_virtual(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	(void)arg;

	long_mode(d, 0);
	/* The area named by its kernel address lands at the physical page behind it. */
	CHECK_INT(register_runstate(d, 0, 0, KERNEL_BASE + FAKE_ARG, KERNEL_BASE + 0x30040, FAKE_ARG), 0);
	struct vcpu_runstate_info r = read_area(d, 0x30040);
	CHECK(r.state_entry_time && time_sum(&r) == r.state_entry_time,
	      "the area at a kernel address was not written through the page tables");
	/* Its physical address is no virtual one here: nothing written, and still 0 as in Xen. */
	CHECK_INT(register_runstate(d, 0, 0, KERNEL_BASE + FAKE_ARG, 0x30100, FAKE_ARG), 0);
	r = read_area(d, 0x30100);
	CHECK(!r.state_entry_time && !time_sum(&r), "a physical address was taken as virtual");

	/* Later updates (blocking) translate again: a poll of 20 ms shows as blocked time. */
	CHECK_INT(register_runstate(d, 0, 0, KERNEL_BASE + FAKE_ARG, KERNEL_BASE + 0x30040, FAKE_ARG), 0);
	evtchn_port_t port = 5;                          /* free, so never pending */
	fake_put(d, FAKE_ARG2, &port, sizeof(port));
	struct sched_poll p = { .nr_ports = 1, .timeout = xen_system_time_ns(d) + 20000000ull };
	set_xen_guest_handle(p.ports, (evtchn_port_t *)(uintptr_t)(KERNEL_BASE + FAKE_ARG2));
	fake_put(d, FAKE_ARG, &p, sizeof(p));
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_sched_op, SCHEDOP_poll, KERNEL_BASE + FAKE_ARG, 0), 0);
	r = read_area(d, 0x30040);
	CHECK_INT(r.state, RUNSTATE_running);
	CHECK(r.time[RUNSTATE_blocked] >= 15000000ull, "blocked for %llu ns after a 20 ms poll",
	      (unsigned long long)r.time[RUNSTATE_blocked]);
	CHECK(time_sum(&r) == r.state_entry_time, "times do not add up after the poll");
	fake_domain_free(d);
}

/* ---- runstate and SCHEDOP_block ---- */

struct kick { struct domain *d; evtchn_port_t port; unsigned int delay_ms; };

/* vCPU 1 sends `port` after a delay, from its own thread, as another vCPU of the guest would. */
static void *send_later(void *opaque)
{
	struct kick *k = opaque;
	struct evtchn_send s = { .port = k->port };

	struct timespec ts = { 0, (long)k->delay_ms * 1000000L };
	nanosleep(&ts, NULL);
	fake_put(k->d, FAKE_ARG3, &s, sizeof(s));
	fake_hcall(k->d, 1, __HYPERVISOR_event_channel_op, EVTCHNOP_send, FAKE_ARG3, 0);
	return NULL;
}

static long bind_ipi(struct domain *d, unsigned int vcpu)
{
	struct evtchn_bind_ipi b = { .vcpu = vcpu };
	long rc = fake_op(d, vcpu, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, &b, sizeof(b));
	return rc ? rc : (long)b.port;
}

static void test_runstate_block(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(2);
	pthread_t t;
	(void)arg;

	long port = bind_ipi(d, 0);
	CHECK(port > 0, "bind_ipi: %ld", port);
	CHECK_INT(register_runstate(d, 0, 0, FAKE_ARG, FAKE_ARG2, FAKE_ARG), 0);
	struct vcpu_runstate_info r0 = read_area(d, FAKE_ARG2);
	struct kick k = { d, (evtchn_port_t)port, 30 };
	pthread_create(&t, NULL, send_later, &k);
	/* While blocked, another vCPU's VCPUOP_get_runstate_info sees the state. */
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_sched_op, SCHEDOP_block, 0, 0), 0);
	pthread_join(t, NULL);
	struct vcpu_runstate_info r1 = read_area(d, FAKE_ARG2);
	CHECK_INT(r1.state, RUNSTATE_running);
	CHECK(r1.time[RUNSTATE_blocked] >= 20000000ull, "blocked %llu ns in a 30 ms SCHEDOP_block",
	      (unsigned long long)r1.time[RUNSTATE_blocked]);
	CHECK(r1.state_entry_time > r0.state_entry_time, "state_entry_time did not move on wake-up");
	for (unsigned int i = 0; i < 4; i++)
		CHECK(r1.time[i] >= r0.time[i], "time[%u] went back", i);
	CHECK(time_sum(&r1) == r1.state_entry_time, "times do not add up after SCHEDOP_block");
	fake_domain_free(d);
}

/* ---- XEN_RUNSTATE_UPDATE: Linux's reader on another thread never accepts a torn record ---- */

struct reader {
	struct domain *d;
	volatile const uint8_t *area;
	bool stop;                       /* atomic */
	uint64_t snapshots, torn, flagged;
};

/* xen_get_runstate_snapshot_cpu_delta's loop, on a 64-bit guest. */
static void *linux_reader(void *opaque)
{
	struct reader *r = opaque;
	volatile const uint64_t *entry = (volatile const uint64_t *)(r->area +
		offsetof(struct vcpu_runstate_info, state_entry_time));

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct vcpu_runstate_info snap;
		uint64_t t;
		do {
			t = *entry;
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			for (size_t i = 0; i < sizeof(snap); i++)
				((uint8_t *)&snap)[i] = r->area[i];
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (t & XEN_RUNSTATE_UPDATE)
				r->flagged++;
		} while (*entry != t || (t & XEN_RUNSTATE_UPDATE));
		r->snapshots++;
		if (time_sum(&snap) != snap.state_entry_time)
			r->torn++;
	}
	return NULL;
}

/* arg: non-NULL to enable VMASST_TYPE_runstate_update_flag first. */
static void test_runstate_update_flag(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	struct reader rd = { .d = d, .area = fake_gpa(d, FAKE_ARG2) };
	pthread_t t;
	bool framed = arg != NULL;

	if (framed)
		CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
				     VMASST_TYPE_runstate_update_flag, 0), 0);
	CHECK_INT(register_runstate(d, 0, 0, FAKE_ARG, FAKE_ARG2, FAKE_ARG), 0);
	pthread_create(&t, NULL, linux_reader, &rd);
	/* Every write of the area (a registration or a state change) is framed. */
	uint64_t until = mono_ns() + 200000000ull;
	unsigned int writes = 0;
	while (mono_ns() < until) {
		pthread_mutex_lock(&d->xen.lock);
		xen_runstate_switch_locked(&d->vcpus[0], writes & 1 ? RUNSTATE_running : RUNSTATE_blocked);
		pthread_mutex_unlock(&d->xen.lock);
		writes++;
	}
	pthread_mutex_lock(&d->xen.lock);
	xen_runstate_switch_locked(&d->vcpus[0], RUNSTATE_running);
	pthread_mutex_unlock(&d->xen.lock);
	__atomic_store_n(&rd.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK(rd.snapshots > 0, "the reader never completed a snapshot in %u writes", writes);
	/* The flag shows while a write is under way (the reader, spinning, meets it), and only if asked. */
	if (framed) {
		CHECK(rd.flagged > 0, "XEN_RUNSTATE_UPDATE never seen in %u writes", writes);
		CHECK(!rd.torn, "%llu of %llu snapshots torn despite XEN_RUNSTATE_UPDATE",
		      (unsigned long long)rd.torn, (unsigned long long)rd.snapshots);
	} else {
		CHECK_INT(rd.flagged, 0);
	}
	struct vcpu_runstate_info r = read_area(d, FAKE_ARG2);
	CHECK(!(r.state_entry_time & XEN_RUNSTATE_UPDATE), "XEN_RUNSTATE_UPDATE left set");
	CHECK(time_sum(&r) == r.state_entry_time, "times do not add up after %u writes", writes);
	printf("# %u %s writes; reader: %llu snapshots, %llu retries on the flag\n", writes,
	       framed ? "framed" : "plain", (unsigned long long)rd.snapshots, (unsigned long long)rd.flagged);
	fake_domain_free(d);
}

/* ---- vm_assist ---- */

struct assist_row { const char *name; uint64_t cmd, type; long want; };

static const struct assist_row assist_rows[] = {
	{ "enable-runstate_update_flag", VMASST_CMD_enable, VMASST_TYPE_runstate_update_flag, 0 },
	{ "disable-runstate_update_flag", VMASST_CMD_disable, VMASST_TYPE_runstate_update_flag, 0 },
	/* What Linux's PV setup asks for: not valid for an HVM guest (Xen's HVM_VM_ASSIST_MASK). */
	{ "4gb_segments", VMASST_CMD_enable, VMASST_TYPE_4gb_segments, -XEN_EINVAL },
	{ "writable_pagetables", VMASST_CMD_enable, VMASST_TYPE_writable_pagetables, -XEN_EINVAL },
	{ "architectural_iopl", VMASST_CMD_enable, VMASST_TYPE_architectural_iopl, -XEN_EINVAL },
	{ "m2p_strict", VMASST_CMD_enable, VMASST_TYPE_m2p_strict, -XEN_EINVAL },
	{ "type-64", VMASST_CMD_enable, 64, -XEN_EINVAL },
	{ "type-truncated", VMASST_CMD_enable, (1ull << 32) | VMASST_TYPE_runstate_update_flag, 0 },
	{ "bad-cmd-valid-type", 7, VMASST_TYPE_runstate_update_flag, -XEN_ENOSYS },
	{ "bad-cmd-bad-type", 7, 3, -XEN_EINVAL },             /* the type is checked first */
};

static void test_vm_assist(struct unit *u, const void *arg)
{
	const struct assist_row *row = arg;
	struct domain *d = fake_domain_new(1);

	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_vm_assist, row->cmd, row->type, 0), row->want);
	bool on = d->xen.vm_assist & (1ull << VMASST_TYPE_runstate_update_flag);
	CHECK(on == (row->want == 0 && row->cmd == VMASST_CMD_enable), "runstate_update_flag %s",
	      on ? "enabled" : "not enabled");
	CHECK_INT(d->xen.unknown_calls, 0);     /* the hypercall has a row */
	fake_domain_free(d);
}

/* ---- HVMOP_pagetable_dying ---- */

static void test_pagetable_dying(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	struct xen_hvm_pagetable_dying a = { .domid = DOMID_SELF, .gpa = 0 };
	(void)arg;

	/* Linux's probe (is_pagetable_dying_supported): an error means it never calls it again. */
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_hvm_op, HVMOP_pagetable_dying, &a, sizeof(a)), -XEN_EINVAL);
	a.domid = FAKE_DOMID;
	a.gpa = 0x123000;
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_hvm_op, HVMOP_pagetable_dying, &a, sizeof(a)), -XEN_EINVAL);
	a.domid = 0;
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_hvm_op, HVMOP_pagetable_dying, &a, sizeof(a)), -XEN_EOPNOTSUPP);
	a.domid = 999;
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_hvm_op, HVMOP_pagetable_dying, &a, sizeof(a)), -XEN_ESRCH);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_hvm_op, HVMOP_pagetable_dying, 0xfffffff000ull, 0), -XEN_EFAULT);
	fake_domain_free(d);
}

/* ---- CPUID ---- */

/* The host CPU's own basic and extended leaves, as KVM_GET_SUPPORTED_CPUID would list them, plus a
 * KVM signature leaf that must not survive. */
static unsigned int host_leaves(struct kvm_cpuid_entry2 *e, unsigned int max)
{
	unsigned int n = 0, a, b, c, dx;
	unsigned int bases[] = { 0, 0x80000000u };

	for (unsigned int k = 0; k < 2; k++) {
		unsigned int top = __get_cpuid_max(bases[k], NULL);
		for (unsigned int leaf = bases[k]; leaf <= top && leaf < bases[k] + 0x40 && n < max - 1; leaf++) {
			__cpuid_count(leaf, 0, a, b, c, dx);
			e[n++] = (struct kvm_cpuid_entry2){ .function = leaf, .eax = a, .ebx = b, .ecx = c, .edx = dx };
		}
	}
	e[n] = (struct kvm_cpuid_entry2){ .function = 0x40000000u, .eax = 0x40000001u };
	memcpy(&e[n].ebx, "KVMKVMKVM\0\0\0", 12);
	return n + 1;
}

static const struct kvm_cpuid_entry2 *leaf_of(const struct kvm_cpuid_entry2 *e, unsigned int n, uint32_t fn)
{
	for (unsigned int i = 0; i < n; i++)
		if (e[i].function == fn)
			return &e[i];
	return NULL;
}

/* Linux's xen_cpuid_base(): the first base with Xen's signature and at least two more leaves. */
static uint32_t linux_xen_base(const struct kvm_cpuid_entry2 *e, unsigned int n)
{
	for (uint32_t base = 0x40000000u; base < 0x40010000u; base += 0x100) {
		const struct kvm_cpuid_entry2 *l = leaf_of(e, n, base);
		char sig[13] = { 0 };
		if (!l)
			continue;
		memcpy(sig, &l->ebx, 4);
		memcpy(sig + 4, &l->ecx, 4);
		memcpy(sig + 8, &l->edx, 4);
		if (!strcmp(sig, "XenVMMXenVMM") && l->eax - base >= 2)
			return base;
	}
	return 0;
}

static void test_cpuid(struct unit *u, const void *arg)
{
	struct kvm_cpuid_entry2 e[128];
	(void)arg;

	for (int deadline = 0; deadline < 2; deadline++) {
		unsigned int n = host_leaves(e, 100);
		struct xen_cpuid_vcpu v = { .vcpu_id = 3, .domid = FAKE_DOMID, .tsc_deadline = deadline };
		n = xen_cpuid_build(e, n, 128, &v);
		CHECK(n > 0, "no table built");
		uint32_t base = linux_xen_base(e, n);
		CHECK_INT(base, 0x40000000u);
		int kvm_sigs = 0;
		for (unsigned int i = 0; i < n; i++)
			kvm_sigs += e[i].function == 0x40000000u && !memcmp(&e[i].ebx, "KVMK", 4);
		CHECK_INT(kvm_sigs, 0);
		CHECK_INT(leaf_of(e, n, 0x40000000u)->eax, 0x40000005u);
		const struct kvm_cpuid_entry2 *l1 = leaf_of(e, n, 1);
		CHECK(l1 && (l1->ecx >> 31) & 1, "CPUID.1:ECX.hypervisor not set");
		CHECK(l1 && !!(l1->ecx & (1u << 24)) == deadline, "CPUID.1:ECX.TSC-deadline is %d with the capability %s",
		      l1 ? !!(l1->ecx & (1u << 24)) : -1, deadline ? "present" : "absent");
		CHECK(l1 && l1->ebx >> 24 == 3, "initial APIC ID %u", l1 ? l1->ebx >> 24 : 0);
		const struct kvm_cpuid_entry2 *l4 = leaf_of(e, n, base + 4);
		CHECK(l4 != NULL, "no leaf 0x40000004");
		if (!l4)
			continue;
		/* Linux's init_hvm_pv_info: the vCPU id from ebx when VCPU_ID_PRESENT. */
		CHECK(l4->eax & XEN_HVM_CPUID_VCPU_ID_PRESENT, "VCPU_ID_PRESENT missing");
		CHECK(l4->eax & XEN_HVM_CPUID_DOMID_PRESENT, "DOMID_PRESENT missing");
		CHECK(l4->eax & XEN_HVM_CPUID_IOMMU_MAPPINGS, "IOMMU_MAPPINGS missing (Xen sets it always)");
		CHECK(!(l4->eax & XEN_HVM_CPUID_UPCALL_VECTOR), "UPCALL_VECTOR advertised without GSI callbacks");
		CHECK(!(l4->eax & (XEN_HVM_CPUID_APIC_ACCESS_VIRT | XEN_HVM_CPUID_X2APIC_VIRT)),
		      "APIC virtualisation claimed");
		CHECK_INT(l4->ebx, 3);
		CHECK_INT(l4->ecx, FAKE_DOMID);
		CHECK(l4->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX && l4->index == 0, "leaf 4 not sub-leaf 0 only");
		CHECK_INT(leaf_of(e, n, 0x40000002u)->ebx, XEN_HYPERCALL_MSR);
	}
	/* No room for Xen's leaves: refused, not truncated. */
	unsigned int n = host_leaves(e, 100);
	struct xen_cpuid_vcpu v = { 0 };
	CHECK_INT(xen_cpuid_build(e, n, n, &v), 0);
	CHECK_INT(xen_cpuid_build(e, n, n - 1, &v), 0);
}

/* ---- SCHEDOP_poll and the upcall ---- */

static long poll_one(struct domain *d, evtchn_port_t port, uint64_t timeout)
{
	struct sched_poll p = { .nr_ports = 1, .timeout = timeout };

	fake_put(d, FAKE_ARG2, &port, sizeof(port));
	set_xen_guest_handle(p.ports, (evtchn_port_t *)(uintptr_t)FAKE_ARG2);
	return fake_op(d, 0, __HYPERVISOR_sched_op, SCHEDOP_poll, &p, sizeof(p));
}

static void test_poll_upcall(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(2);
	struct vcpu_info *vi = &d->xen.shared_info->vcpu_info[0];
	__u64 *rflags = &d->vcpus[0].run->s.regs.regs.rflags;
	evtchn_port_t idle = 9;                          /* never bound: never pending */
	(void)arg;

	/* An upcall pending and interrupts on: Xen's local_events_need_delivery ends the poll at once. */
	vi->evtchn_upcall_pending = 1;
	*rflags = 0x2 | RFLAGS_IF;
	uint64_t t0 = mono_ns();
	CHECK_INT(poll_one(d, idle, 0), 0);
	CHECK(mono_ns() - t0 < 1000000000ull, "poll with a deliverable upcall waited");
	/* Interrupts off: the pending upcall cannot be delivered, so the poll waits for its deadline. */
	*rflags = 0x2;
	t0 = mono_ns();
	CHECK_INT(poll_one(d, idle, xen_system_time_ns(d) + 30000000ull), 0);
	CHECK(mono_ns() - t0 >= 25000000ull, "poll returned early for an undeliverable upcall");
	/* A fresh upcall while polling wakes the vCPU, as Xen's vcpu_kick does. */
	vi->evtchn_upcall_pending = 0;
	long ipi = bind_ipi(d, 0);
	CHECK(ipi > 0, "bind_ipi: %ld", ipi);
	struct kick k = { d, (evtchn_port_t)ipi, 20 };
	pthread_t t;
	t0 = mono_ns();
	pthread_create(&t, NULL, send_later, &k);
	CHECK_INT(poll_one(d, idle, xen_system_time_ns(d) + 5000000000ull), 0);
	uint64_t waited = mono_ns() - t0;
	pthread_join(t, NULL);
	CHECK(waited >= 15000000ull && waited < 2000000000ull, "poll woke after %llu ns for an upcall at 20 ms",
	      (unsigned long long)waited);
	/* Ports in order, as Xen's evtchn_port_poll: a pending one before a bad one wins; port 0 is valid. */
	evtchn_port_t list[3] = { 0, (evtchn_port_t)ipi, EVTCHN_PORTS };
	struct sched_poll p = { .nr_ports = 3, .timeout = 1 };
	fake_put(d, FAKE_ARG2, list, sizeof(list));
	set_xen_guest_handle(p.ports, (evtchn_port_t *)(uintptr_t)FAKE_ARG2);
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_sched_op, SCHEDOP_poll, &p, sizeof(p)), 0);
	d->xen.shared_info->evtchn_pending[0] = 0;
	CHECK_INT(fake_op(d, 0, __HYPERVISOR_sched_op, SCHEDOP_poll, &p, sizeof(p)), -XEN_EINVAL);
	fake_domain_free(d);
}

/* ---- pvclock ---- */

/* The host TSC's rate, measured against CLOCK_MONOTONIC over 50 ms. */
static uint32_t host_tsc_khz(void)
{
	uint64_t m0 = mono_ns(), t0 = __rdtsc();
	struct timespec ts = { 0, 50000000L };
	nanosleep(&ts, NULL);
	uint64_t m1 = mono_ns(), t1 = __rdtsc();
	return (uint32_t)((t1 - t0) * 1000000ull / (m1 - m0));
}

/* What Linux's pvclock_clocksource_read computes from a vcpu_time_info (64-bit guest). */
static uint64_t guest_pvclock(const struct vcpu_time_info *t, uint64_t tsc_now)
{
	uint32_t version;
	uint64_t ns;

	do {
		version = __atomic_load_n(&t->version, __ATOMIC_ACQUIRE) & ~1u;
		uint64_t delta = tsc_now - t->tsc_timestamp;
		if (t->tsc_shift < 0)
			delta >>= -t->tsc_shift;
		else
			delta <<= t->tsc_shift;
		ns = t->system_time + (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
	} while (version != __atomic_load_n(&t->version, __ATOMIC_ACQUIRE));
	return ns;
}

static void test_pvclock_monotonic(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	const struct vcpu_time_info *t = &d->xen.shared_info->vcpu_info[0].time;
	(void)arg;

	uint32_t khz = host_tsc_khz();
	uint64_t before = xen_system_time_ns(d);
	pthread_mutex_lock(&d->xen.lock);
	xen_time_calibrate(d, khz);
	xen_time_update_locked(d, 0);
	pthread_mutex_unlock(&d->xen.lock);
	CHECK(xen_system_time_ns(d) >= before, "system time went back at calibration");
	CHECK(t->flags & XEN_PVCLOCK_TSC_STABLE_BIT, "TSC_STABLE_BIT not set");
	CHECK(t->tsc_to_system_mul, "no scale published");

	/* Updates as timer events make them, interleaved with guest reads and the VMM's own clock. */
	uint64_t last = 0, backwards = 0, outside = 0;
	for (unsigned int i = 0; i < 200000; i++) {
		if (i % 7 == 0) {
			pthread_mutex_lock(&d->xen.lock);
			xen_time_update_locked(d, 0);
			pthread_mutex_unlock(&d->xen.lock);
		}
		uint64_t vmm0 = xen_system_time_ns(d);
		uint64_t g = guest_pvclock(t, __rdtsc());
		uint64_t vmm1 = xen_system_time_ns(d);
		backwards += g < last;
		outside += g < vmm0 || g > vmm1;
		last = g;
	}
	CHECK(!backwards, "the guest's pvclock went back %llu times across updates", (unsigned long long)backwards);
	CHECK(!outside, "the guest's pvclock left the VMM's system time %llu times", (unsigned long long)outside);
	CHECK_INT(t->version & 1, 0);
	/* The TSC rate as measured keeps system time on CLOCK_MONOTONIC's pace (within 1 %). */
	uint64_t s0 = xen_system_time_ns(d), m0 = mono_ns();
	struct timespec ts = { 0, 20000000L };
	nanosleep(&ts, NULL);
	uint64_t ds = xen_system_time_ns(d) - s0, dm = mono_ns() - m0;
	CHECK(ds * 100 >= dm * 99 && ds * 100 <= dm * 101, "system time moved %llu ns in %llu ns",
	      (unsigned long long)ds, (unsigned long long)dm);
	/* A deadline maps onto CLOCK_MONOTONIC relative to now; one gone by is long ago, never 0. */
	struct timespec at;
	xen_system_time_to_monotonic(d, 1, &at);
	CHECK(at.tv_sec == 0 && at.tv_nsec == 1, "a past deadline maps to %lld.%09ld", (long long)at.tv_sec, at.tv_nsec);
	m0 = mono_ns();
	xen_system_time_to_monotonic(d, xen_system_time_ns(d) + 1000000000ull, &at);
	int64_t off = (int64_t)((uint64_t)at.tv_sec * 1000000000ull + (uint64_t)at.tv_nsec - m0) - 1000000000;
	CHECK(off > -1000000 && off < 1000000, "a deadline 1 s ahead maps %lld ns off", (long long)off);
	xen_system_time_to_monotonic(d, ~0ull, &at);
	CHECK(at.tv_sec > 0, "a far deadline overflowed to %lld", (long long)at.tv_sec);
	fake_domain_free(d);
}

/* ---- the clockevent's timer sub-ops ---- */

static void test_timer_subops(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(2);
	(void)arg;

	fake_domain_timers(d);
	/* Xen 4.17.3+ ignores VCPU_SSHOTTMR_future: a past deadline with it fires at once, rc 0. */
	struct vcpu_set_singleshot_timer shot = { .timeout_abs_ns = 1, .flags = VCPU_SSHOTTMR_future };
	fake_put(d, FAKE_ARG, &shot, sizeof(shot));
	CHECK_INT(vcpuop(d, 0, VCPUOP_set_singleshot_timer, 0, FAKE_ARG), 0);
	uint64_t expirations = 0;
	CHECK(read(d->xen.vcpu[0].timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations) &&
	      expirations == 1, "a past deadline with VCPU_SSHOTTMR_future did not fire at once");
	CHECK_INT(vcpuop(d, 0, VCPUOP_stop_singleshot_timer, 0, 0), 0);
	/* xen_time_init's probe of the vcpuop timer interface, and set_oneshot's call, for any vCPU. */
	CHECK_INT(vcpuop(d, 0, VCPUOP_stop_periodic_timer, 0, 0), 0);
	CHECK_INT(vcpuop(d, 0, VCPUOP_stop_periodic_timer, 1, 0), 0);
	CHECK_INT(vcpuop(d, 0, VCPUOP_stop_periodic_timer, 2, 0), -XEN_ENOENT);
	/* The vDSO's second pvclock record is not offered: Linux notes it and carries on. */
	CHECK_INT(vcpuop(d, 0, VCPUOP_register_vcpu_time_memory_area, 0, FAKE_ARG), -XEN_ENOSYS);
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[96];

	unit_case(&u, "runstate: registered, written at once, read back", test_runstate_register, NULL);
	unit_case(&u, "runstate: a guest-virtual area through long-mode page tables", test_runstate_virtual, NULL);
	unit_case(&u, "runstate: blocked while in SCHEDOP_block", test_runstate_block, NULL);
	unit_case(&u, "runstate: XEN_RUNSTATE_UPDATE framing against Linux's reader", test_runstate_update_flag, "");
	unit_case(&u, "runstate: no XEN_RUNSTATE_UPDATE unless vm_assist asked", test_runstate_update_flag, NULL);
	for (size_t i = 0; i < sizeof(assist_rows) / sizeof(assist_rows[0]); i++) {
		snprintf(name, sizeof(name), "vm_assist: %s", assist_rows[i].name);
		unit_case(&u, name, test_vm_assist, &assist_rows[i]);
	}
	unit_case(&u, "hvm_op: pagetable_dying as Xen with HAP", test_pagetable_dying, NULL);
	unit_case(&u, "cpuid: Xen's leaves on the host's own, read as Linux does", test_cpuid, NULL);
	unit_case(&u, "sched_op: poll and the vCPU's upcall", test_poll_upcall, NULL);
	unit_case(&u, "time: pvclock never goes back across updates", test_pvclock_monotonic, NULL);
	unit_case(&u, "vcpu_op: the clockevent's timer sub-ops", test_timer_subops, NULL);
	return unit_finish(&u);
}
