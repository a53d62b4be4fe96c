/* Hypercalls.  Two ways in, one table:
 *  - where KVM implements KVM_CAP_XEN_HVM, it fills the hypercall page with vmcall/vmmcall stubs and
 *    hands us each call as KVM_EXIT_XEN (so guests that issue vmcall directly also work);
 *  - elsewhere (PVM hosts among them) the guest's write to the hypercall MSR reaches us, and we fill
 *    the page with stubs that `out` to a reserved port, which exits to us from any ring.
 * A number without an entry answers -ENOSYS and is counted; so does a sub-op a family does not
 * implement (xen_unknown_subop, from each family's default case), per (hypercall, sub-op) pair in a
 * small table, logged the first time each pair is seen.  Nothing a guest passes is fatal.
 * Each call is made in the vCPU's current mode, as Xen decides it per call: outside 64-bit mode the
 * arguments come in ebx, ecx, edx, esi, edi and the structs they point to in Xen's compat layout;
 * the dispatcher records which (xen_call_set_compat) for the handlers to ask (xen/compat.h). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <sys/ioctl.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/compat.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

#define EFER_LMA (1ull << 10)

struct hypercall_entry {
	const char *name;
	hypercall_fn fn;
};

static const struct hypercall_entry hypercall_table[] = {
	[__HYPERVISOR_xen_version] = { "xen_version", hcall_xen_version },
	[__HYPERVISOR_console_io]  = { "console_io",  hcall_console_io },
	[__HYPERVISOR_sched_op]    = { "sched_op",    hcall_sched_op },
	[__HYPERVISOR_set_timer_op] = { "set_timer_op", hcall_set_timer_op },
	[__HYPERVISOR_memory_op]   = { "memory_op",   hcall_memory_op },
	[__HYPERVISOR_grant_table_op] = { "grant_table_op", hcall_grant_table_op },
	[__HYPERVISOR_vcpu_op]     = { "vcpu_op",     hcall_vcpu_op },
	[__HYPERVISOR_event_channel_op] = { "event_channel_op", hcall_event_channel_op },
	[__HYPERVISOR_hvm_op]      = { "hvm_op",      hcall_hvm_op },
	[__HYPERVISOR_vm_assist]   = { "vm_assist",   hcall_vm_assist },
};

static const char *hypercall_name(uint64_t nr)
{
	if (nr < sizeof(hypercall_table) / sizeof(hypercall_table[0]) && hypercall_table[nr].name)
		return hypercall_table[nr].name;
	return "hypercall";
}

long xen_hypercall_dispatch(struct vcpu *vcpu, uint64_t nr, const uint64_t args[5])
{
	return xen_hypercall_dispatch_mode(vcpu, nr, args, false);
}

long xen_hypercall_dispatch_mode(struct vcpu *vcpu, uint64_t nr, const uint64_t args[5], bool compat)
{
	struct xen_state *xen = &vcpu->dom->xen;
	const struct hypercall_entry *e = NULL;

	__atomic_fetch_add(&xen->calls[nr < XEN_HYPERCALL_NR_MAX ? nr : XEN_HYPERCALL_NR_MAX], 1,
			   __ATOMIC_RELAXED);
	if (nr < sizeof(hypercall_table) / sizeof(hypercall_table[0]))
		e = &hypercall_table[nr];
	if (!e || !e->fn) {
		__atomic_fetch_add(&xen->unknown_calls, 1, __ATOMIC_RELAXED);
		return -XEN_ENOSYS;
	}
	xen_call_set_compat(vcpu, compat);
	long r = e->fn(vcpu, args);
	xen_call_set_compat(vcpu, false);
	return r;
}

long xen_unknown_subop(struct vcpu *vcpu, unsigned int hypercall, uint64_t subop)
{
	return xen_unknown_subop_answer(vcpu, hypercall, subop, -XEN_ENOSYS);
}

long xen_unknown_subop_answer(struct vcpu *vcpu, unsigned int hypercall, uint64_t subop, long answer)
{
	struct domain *dom = vcpu->dom;
	struct xen_state *xen = &dom->xen;
	struct xen_unknown_subop *e = NULL;
	bool first = false, table_full = false;

	pthread_mutex_lock(&xen->subop_lock);
	xen->unknown_subops_total++;
	for (unsigned int i = 0; i < xen->unknown_subop_pairs && !e; i++)
		if (xen->unknown_subops[i].hypercall == hypercall && xen->unknown_subops[i].subop == subop)
			e = &xen->unknown_subops[i];
	if (!e && xen->unknown_subop_pairs < XEN_UNKNOWN_SUBOP_PAIRS) {
		e = &xen->unknown_subops[xen->unknown_subop_pairs++];
		*e = (struct xen_unknown_subop){ .hypercall = hypercall, .answer = (int32_t)answer, .subop = subop };
		first = true;
	}
	if (e)
		e->count++;
	else
		table_full = !xen->unknown_subops_untracked++;
	pthread_mutex_unlock(&xen->subop_lock);
	if (first)
		LOG("domain %d: %s (hypercall %u) sub-op %llu is not implemented; answered %ld (vCPU %u)",
		    dom->domid, hypercall_name(hypercall), hypercall, (unsigned long long)subop, answer, vcpu->id);
	else if (table_full)
		LOG("domain %d: more than %u distinct unknown sub-ops; %s sub-op %llu and later ones are "
		    "counted together", dom->domid, XEN_UNKNOWN_SUBOP_PAIRS, hypercall_name(hypercall),
		    (unsigned long long)subop);
	return answer;
}

uint64_t xen_unknown_subop_count(struct domain *dom, unsigned int hypercall, uint64_t subop)
{
	uint64_t n = 0;

	pthread_mutex_lock(&dom->xen.subop_lock);
	for (unsigned int i = 0; i < dom->xen.unknown_subop_pairs; i++)
		if (dom->xen.unknown_subops[i].hypercall == hypercall && dom->xen.unknown_subops[i].subop == subop)
			n = dom->xen.unknown_subops[i].count;
	pthread_mutex_unlock(&dom->xen.subop_lock);
	return n;
}

static void log_unknown_subops(struct domain *dom)
{
	struct xen_state *xen = &dom->xen;
	char line[512] = "";
	size_t n = 0;

	pthread_mutex_lock(&xen->subop_lock);
	for (unsigned int i = 0; i < xen->unknown_subop_pairs && n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - n, " %s/%llu:%llu",
			      hypercall_name(xen->unknown_subops[i].hypercall),
			      (unsigned long long)xen->unknown_subops[i].subop,
			      (unsigned long long)xen->unknown_subops[i].count);
	if (xen->unknown_subops_untracked && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " others:%llu",
			 (unsigned long long)xen->unknown_subops_untracked);
	if (xen->unknown_subops_total)
		LOG("domain %d unknown sub-ops: %llu (not implemented); by hypercall/sub-op:%s", dom->domid,
		    (unsigned long long)xen->unknown_subops_total, line);
	pthread_mutex_unlock(&xen->subop_lock);
}

void xen_log_stats(struct domain *dom)
{
	const struct xen_state *xen = &dom->xen;
	char line[512];
	size_t n = 0;
	uint64_t total = 0;

	for (unsigned int nr = 0; nr <= XEN_HYPERCALL_NR_MAX; nr++) {
		if (!xen->calls[nr])
			continue;
		total += xen->calls[nr];
		if (n < sizeof(line))
			n += snprintf(line + n, sizeof(line) - n, " %s%u:%llu", nr == XEN_HYPERCALL_NR_MAX ? ">=" : "",
				      nr, (unsigned long long)xen->calls[nr]);
	}
	LOG("domain %d hypercalls: %llu made, %llu unknown (answered -ENOSYS); by number:%s", dom->domid,
	    (unsigned long long)total, (unsigned long long)xen->unknown_calls, n ? line : " none");
	log_unknown_subops(dom);
}

bool xen_vcpu_in_long_mode(const struct vcpu *vcpu)
{
	const struct kvm_sregs *s = &vcpu->run->s.regs.sregs;

	return (s->efer & EFER_LMA) && s->cs.l;
}

void xen_hypercall_from_regs(struct vcpu *vcpu)
{
	struct kvm_regs *regs = &vcpu->run->s.regs.regs;

	if (xen_vcpu_in_long_mode(vcpu)) {
		const uint64_t args[5] = { regs->rdi, regs->rsi, regs->rdx, regs->r10, regs->r8 };
		regs->rax = (uint64_t)xen_hypercall_dispatch_mode(vcpu, regs->rax & 0xffffffffull, args, false);
	} else {
		const uint64_t args[5] = { (uint32_t)regs->rbx, (uint32_t)regs->rcx, (uint32_t)regs->rdx,
					   (uint32_t)regs->rsi, (uint32_t)regs->rdi };
		regs->rax = (uint32_t)xen_hypercall_dispatch_mode(vcpu, regs->rax & 0xffffffffull, args, true);
	}
	vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

/* The port path: registers came with the exit (KVM_SYNC_X86_REGS); the result goes back in rax. */
static void hypercall_port(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write,
			   uint8_t *data, unsigned int size)
{
	(void)opaque;
	(void)port;
	if (!is_write || size != 4) {
		/* Not a stub: something probing the port.  Reads see nothing here. */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	xen_hypercall_from_regs(vcpu);
}

void xen_handle_kvm_xen_exit(struct vcpu *vcpu)
{
	struct kvm_xen_exit *x = &vcpu->run->xen;

	if (x->type != KVM_EXIT_XEN_HCALL)
		return;
	uint64_t args[5];
	for (int i = 0; i < 5; i++)
		args[i] = x->u.hcall.longmode ? x->u.hcall.params[i] : (uint32_t)x->u.hcall.params[i];
	long ret = xen_hypercall_dispatch_mode(vcpu, x->u.hcall.input, args, !x->u.hcall.longmode);
	x->u.hcall.result = x->u.hcall.longmode ? (uint64_t)ret : (uint32_t)ret;
}

/* The stub for hypercall `nr`: mov $nr,%eax; out %eax,$PORT; ret. */
static void write_port_stub(uint8_t stub[32], uint32_t nr)
{
	memset(stub, 0xcc, 32);                 /* int3 in the padding */
	stub[0] = 0xb8;
	memcpy(stub + 1, &nr, 4);
	stub[5] = 0xe7;
	stub[6] = XEN_HYPERCALL_PORT;
	stub[7] = 0xc3;
}

static int hypercall_msr_write(void *opaque, struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	(void)opaque;
	(void)index;
	/* The low 12 bits pick which hypercall page; we have one. */
	if (value & 0xfff)
		return -1;
	uint8_t *page = vm_gpa_to_hva(&vcpu->dom->vm, value, 4096);
	if (!page)
		return -1;
	/* Xen latches the shared_info width when it fills the hypercall page (hvm_latch_shinfo_size). */
	pthread_mutex_lock(&vcpu->dom->xen.lock);
	xen_shinfo_latch_locked(vcpu->dom, !xen_vcpu_in_long_mode(vcpu));
	pthread_mutex_unlock(&vcpu->dom->xen.lock);
	for (uint32_t nr = 0; nr < XEN_HYPERCALL_SLOTS; nr++)
		write_port_stub(page + nr * 32, nr);
	return 0;
}

static int probe_kvm_xen(struct domain *dom)
{
	int caps = ioctl(dom->vm.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	const char *force = getenv("XENITH_HYPERCALL_PATH");

	if (force && !strcmp(force, "port"))
		return 0;
	if (caps <= 0 || !(caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL))
		return 0;
	struct kvm_xen_hvm_config cfg = {
		.flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL,
		.msr = XEN_HYPERCALL_MSR,
	};
	return ioctl(dom->vm.vm_fd, KVM_XEN_HVM_CONFIG, &cfg) == 0;
}

static int enable_msr_exits(struct domain *dom, char *err, size_t errlen)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
			   KVM_MSR_EXIT_REASON_FILTER,
	};
	if (ioctl(dom->vm.vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		ERR_SET(err, errlen, "this KVM offers neither Xen hypercall interception "
			"(KVM_CAP_XEN_HVM) nor MSR exits to userspace (KVM_CAP_X86_USER_SPACE_MSR): %s",
			strerror(errno));
		return -1;
	}
	/* KVM may claim 0x40000000 for Hyper-V; a filter makes sure the write comes to us. */
	uint8_t deny = 0;
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = { .flags = KVM_MSR_FILTER_WRITE | KVM_MSR_FILTER_READ,
			       .nmsrs = 1, .base = XEN_HYPERCALL_MSR, .bitmap = &deny },
	};
	if (ioctl(dom->vm.vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0)
		LOG("KVM_X86_SET_MSR_FILTER: %s (relying on unknown-MSR exits)", strerror(errno));
	return 0;
}

int xen_hypercall_path_init(struct domain *dom, char *err, size_t errlen)
{
	dom->xen.kvm_intercepts_hypercalls = probe_kvm_xen(dom);
	if (dom->xen.kvm_intercepts_hypercalls)
		return 0;
	if (enable_msr_exits(dom, err, errlen))
		return -1;
	if (msr_table_register(&dom->msrs, XEN_HYPERCALL_MSR, NULL, hypercall_msr_write, NULL) ||
	    io_bus_register(&dom->pio, "xen-hypercall", XEN_HYPERCALL_PORT, 1, hypercall_port, NULL)) {
		ERR_SET(err, errlen, "registering the hypercall MSR and port");
		return -1;
	}
	return 0;
}

int xen_init(struct domain *dom, char *err, size_t errlen)
{
	struct xen_state *xen = &dom->xen;
	pthread_condattr_t attr;

	memset(xen, 0, sizeof(*xen));
	xen->store_kick_fd = xen->store_notify_fd = -1;
	for (unsigned int v = 0; v < XEN_MAX_VCPUS; v++)
		xen->vcpu[v].timer_fd = -1;
	pthread_mutex_init(&xen->lock, NULL);
	pthread_mutex_init(&xen->subop_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);   /* SCHEDOP_poll's deadlines */
	pthread_cond_init(&xen->wake, &attr);
	pthread_condattr_destroy(&attr);
	xen->private_shared_info = aligned_alloc(4096, 4096);
	if (!xen->private_shared_info) {
		ERR_SET(err, errlen, "out of memory for shared_info");
		goto fail;
	}
	if (xen_reservation_init(dom, err, errlen))
		goto fail;
	memset(xen->private_shared_info, 0, 4096);
	xen->shared_info = xen->private_shared_info;
	xen->shared_info_gfn = ~0ull;
	for (unsigned int f = 0; f < GNTTAB_MAX_FRAMES; f++)
		xen->grant_gfn[f] = ~0ull;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	xen->boot_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	evtchn_init_locked(dom);
	xen->params[HVM_PARAM_STORE_PFN] = vm_special_page_gpa(&dom->vm, SPECIAL_PAGE_XENSTORE) >> 12;
	xen->params[HVM_PARAM_STORE_EVTCHN] = EVTCHN_STORE_PORT;
	xen->params[HVM_PARAM_CONSOLE_PFN] = vm_special_page_gpa(&dom->vm, SPECIAL_PAGE_CONSOLE) >> 12;
	xen->params[HVM_PARAM_CONSOLE_EVTCHN] = EVTCHN_CONSOLE_PORT;
	/* Xen's default: a triple fault reboots (how x86 Linux's last-resort reboot path ends). */
	xen->params[HVM_PARAM_TRIPLE_FAULT_REASON] = SHUTDOWN_reboot;
	return 0;
fail:
	free(xen->private_shared_info);
	xen->private_shared_info = NULL;
	pthread_cond_destroy(&xen->wake);
	pthread_mutex_destroy(&xen->subop_lock);
	pthread_mutex_destroy(&xen->lock);
	return -1;
}

void xen_teardown(struct domain *dom)
{
	struct xen_state *xen = &dom->xen;

	if (!xen->private_shared_info)
		return;
	for (unsigned int v = 0; v < XEN_MAX_VCPUS; v++)
		xen_time_vcpu_teardown(dom, v);
	free(xen->private_shared_info);
	xen->private_shared_info = NULL;
	xen->shared_info = NULL;
	xen_reservation_teardown(dom);
	pthread_cond_destroy(&xen->wake);
	pthread_mutex_destroy(&xen->subop_lock);
	pthread_mutex_destroy(&xen->lock);
}

void xen_wake_vcpus(struct domain *dom)
{
	if (!dom->xen.private_shared_info)
		return;
	pthread_mutex_lock(&dom->xen.lock);
	pthread_cond_broadcast(&dom->xen.wake);
	pthread_mutex_unlock(&dom->xen.lock);
}
