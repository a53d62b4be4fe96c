/* libFuzzer target for the guest's hypercall ABI: a fake domain (2 vCPUs, 8 MiB of plain RAM, no
 * KVM: tests/unit/fake_domain.h's setup) and a sequence of hypercalls decoded from the input, each
 * through xen_hypercall_dispatch as the port and KVM paths call it.  Besides the sanitizers' own
 * findings it aborts when
 *   - a call returns below -4095 (Xen errnos are -1..-4095, successes >= 0), or a number without a
 *     handler answers anything but -ENOSYS;
 *   - the domain's Xen state is inconsistent after a call (check_state: port states and their
 *     cross-links, VIRQ bindings, grant pins, shared_info/vcpu_info/grant frame placement, ...).
 * Calls that would block forever are made harmless: SCHEDOP_block and SCHEDOP_poll run with
 * dom->stop_vcpus set (they return at once), except a poll whose deadline has already passed, which
 * really waits (and times out at once).  SCHEDOP_shutdown goes to domain_shutdown, whose notify
 * eventfd we drain.  Console writes go to /dev/null.
 *
 * Input: a header, then calls until the input runs out (at most MAX_CALLS).
 *   header  mode byte: bit 0 long-mode paging (else paging off), bit 1 LA57 (5 levels), bit 2 bind
 *           the store and console ports to Dom0 stub services, as a running VMM has them; bit 3 a
 *           32-bit caller: every call goes through xen_hypercall_from_regs from a vCPU outside
 *           64-bit mode (compatibility mode under long-mode paging, else 32-bit protected mode), so
 *           its arguments are cut to 32 bits and its structs read in Xen's compat layout;
 *           then, with paging, a tweak count (low 4 bits) and that many page-table tweaks:
 *           table byte, index (2 bytes), op byte [, address or 8 raw bytes] (see tweak_tables).
 *   call    nr selector byte (< 0xe0: one of the implemented families; 0xff: the next 8 bytes are
 *           nr, else the next byte),
 *           flags byte (bit 0 vCPU, bits 1-2 which arg the payload goes to: 0 arg1, 1 arg2,
 *           2 arg0, 3 none), five args (gen_value: a kind byte and its bytes), then the payload:
 *           length byte, bytes, fixup count byte and that many (offset byte, value) fixups, each
 *           writing a generated 8-byte value (an address, typically) into the payload first.
 * FUZZ_HYPERCALL_TRACE=1 prints each call and its result.
 * Build and run: tests/fuzz/run [SECONDS]. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "../unit/fake_domain.h"
#include "backends/console.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"

#define MAX_CALLS 48
#define RAM FAKE_RAM_SIZE
#define PAGE 4096ull

/* The page tables, in the fake RAM at 7 MiB (mapped by themselves, so the guest can clobber them). */
#define PT_BASE  0x700000ull
#define PT_PML5  (PT_BASE + 0x0000)
#define PT_PML4  (PT_BASE + 0x1000)
#define PT_PDPT  (PT_BASE + 0x2000)
#define PT_PD    (PT_BASE + 0x3000)
#define PT_PT0   (PT_BASE + 0x4000)
#define PT_PT1   (PT_BASE + 0x5000)
#define PT_TABLES 6
#define PTE_P  1ull
#define PTE_RW 2ull
#define PTE_PS (1ull << 7)
#define HIGH_ALIAS 0xffff800000000000ull   /* PML4 slot 256 (and PML5 slot 511): RAM again */

static const uint64_t implemented[] = {
	__HYPERVISOR_memory_op, __HYPERVISOR_set_timer_op, __HYPERVISOR_xen_version,
	__HYPERVISOR_console_io, __HYPERVISOR_grant_table_op, __HYPERVISOR_vcpu_op,
	__HYPERVISOR_sched_op, __HYPERVISOR_event_channel_op, __HYPERVISOR_hvm_op, __HYPERVISOR_vm_assist,
};
#define N_IMPLEMENTED (sizeof(implemented) / sizeof(implemented[0]))

/* ---- the input ---- */

struct input { const uint8_t *p; size_t left; };

static uint8_t u8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint64_t uN(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)u8(in) << (8 * i);
	return v;
}

static bool paging;

/* A value for an argument or a payload field: small integers, addresses inside RAM (through either
 * mapping of it when paging is on), just short of page ends, outside RAM, the special pages, raw. */
static uint64_t gen_value(struct input *in)
{
	uint8_t kind = u8(in);
	uint64_t base = paging && (kind & 0x80) ? HIGH_ALIAS : 0;

	switch (kind & 7) {
	case 0:
		return u8(in);
	case 1:                                   /* scratch RAM, 8-byte aligned */
		return base + 0x10000 + (uN(in, 2) << 3);
	case 2: {                                 /* the last bytes of a page in RAM */
		uint64_t page = uN(in, 2) % (RAM / PAGE);
		return base + page * PAGE + PAGE - 1 - (u8(in) & 0x3f);
	}
	case 3: {
		static const uint64_t outside[] = {
			RAM, RAM - 1, RAM - 8, RAM + PAGE, 0xfee00000ull, 0xfffff000ull, 0x100000000ull,
			GUEST_HIGH_RAM_BASE + 0x1000, 0x0000800000000000ull, 0x00007ffffffff000ull,
			0xfffffffffffff000ull, ~0ull, 0x8000000000000000ull, 0xc0000000ull, 0xa00000ull,
			0x800000ull + 0x1ff000ull,
		};
		uint8_t k = u8(in);
		return outside[k % (sizeof(outside) / sizeof(outside[0]))] - (k >> 4);
	}
	case 4:
		return uN(in, 8);
	case 5:                                   /* a special page (store, console, grant frames) */
		return base + RAM - (u8(in) % SPECIAL_PAGES + 1) * PAGE + ((uint64_t)u8(in) << 3);
	case 6:                                   /* small negatives and powers of two */
		{
			uint8_t b = u8(in);
			return b & 0x80 ? (uint64_t)-(int64_t)(b & 0x7f) : 1ull << (b & 63);
		}
	default:                                  /* a page-aligned frame number or address */
		{
			uint64_t page = uN(in, 2) % (RAM / PAGE);
			return u8(in) & 1 ? page : base + page * PAGE;
		}
	}
}

/* ---- the fake domain ---- */

static struct console console;
static int notify_fd = -1;
static unsigned int dom0_calls;

static void dom0_service(void *opaque)
{
	(void)opaque;
	dom0_calls++;
}

static void set_pte(struct domain *d, uint64_t table, unsigned int index, uint64_t value)
{
	memcpy(fake_gpa(d, table + index * 8), &value, 8);
}

static void build_tables(struct domain *d, bool la57)
{
	const uint64_t f = PTE_P | PTE_RW;

	set_pte(d, PT_PML5, 0, PT_PML4 | f);
	set_pte(d, PT_PML5, 511, PT_PML4 | f);
	set_pte(d, PT_PML4, 0, PT_PDPT | f);
	set_pte(d, PT_PML4, 256, PT_PDPT | f);
	set_pte(d, PT_PML4, 511, PT_PDPT | f);
	set_pte(d, PT_PDPT, 0, PT_PD | f);
	set_pte(d, PT_PDPT, 3, 0 | f | PTE_PS);                /* 3 GiB: a 1 GiB page, mostly not RAM */
	set_pte(d, PT_PD, 0, PT_PT0 | f);
	set_pte(d, PT_PD, 1, PT_PT1 | f);
	set_pte(d, PT_PD, 2, 0x400000 | f | PTE_PS);
	set_pte(d, PT_PD, 3, 0x600000 | f | PTE_PS);
	set_pte(d, PT_PD, 4, 0x800000 | f | PTE_PS);           /* beyond RAM */
	set_pte(d, PT_PD, 5, 0x000000 | PTE_P | PTE_PS);       /* 10 MiB: RAM from 0 again, read-only */
	for (unsigned int i = 1; i < 512; i++)                 /* page 0 stays unmapped */
		set_pte(d, PT_PT0, i, i * PAGE | f);
	for (unsigned int i = 0; i < 512; i++)                 /* every 16th page read-only */
		set_pte(d, PT_PT1, i, (0x200000 + i * PAGE) | PTE_P | (i % 16 ? PTE_RW : 0));

	for (unsigned int v = 0; v < d->n_vcpus; v++) {
		struct kvm_sregs *s = &d->vcpus[v].run->s.regs.sregs;
		s->cr0 = 0x80000011;                           /* PG|ET|PE */
		s->cr4 = 0x20 | (la57 ? 1u << 12 : 0);         /* PAE [|LA57] */
		s->efer = 0x500;                               /* LME|LMA */
		s->cr3 = la57 ? PT_PML5 : PT_PML4;
		s->cs.l = 1;
	}
}

/* Tweaks: entry `index` of table `table` loses P or RW, flips PS, gets a new address, or raw bits. */
static void tweak_tables(struct domain *d, struct input *in)
{
	unsigned int n = u8(in) & 15;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t table = PT_BASE + (u8(in) % PT_TABLES) * PAGE;
		unsigned int index = (unsigned int)uN(in, 2) & 511;
		uint8_t op = u8(in);
		uint64_t pte;
		memcpy(&pte, fake_gpa(d, table + index * 8), 8);
		switch (op & 7) {
		case 0: pte &= ~PTE_P; break;
		case 1: pte &= ~PTE_RW; break;
		case 2: pte ^= PTE_PS; break;
		case 3: pte = (pte & 0xfff) | ((gen_value(in) & ~0xfffull) & 0x000ffffffffff000ull); break;
		case 4: pte = (pte & 0xfff) | (uN(in, 2) * PAGE); break;
		default: pte = uN(in, 8); break;
		}
		set_pte(d, table, index, pte);
	}
}

/* fake_domain_new's domain, but on one RAM mapping kept across inputs: MADV_DONTNEED gives it back
 * zeroed, and only the pages an input touches cost anything (a fresh 8 MiB buffer each time would be
 * most of the run time under ASan). */
static uint8_t *ram_map;

static struct domain *domain_new(void)
{
	struct domain *d = calloc(1, sizeof(*d));
	char err[256];

	if (!ram_map) {
		ram_map = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ram_map == MAP_FAILED)
			abort();
	} else if (madvise(ram_map, RAM, MADV_DONTNEED)) {
		abort();
	}
	if (!d)
		abort();
	d->domid = FAKE_DOMID;
	d->vm.kvm_fd = d->vm.vm_fd = d->vm.memfd = -1;
	d->vm.ram = ram_map;
	d->vm.ram_size = d->vm.low_ram_size = RAM;
	d->n_vcpus = 2;
	for (unsigned int i = 0; i < d->n_vcpus; i++) {
		d->vcpus[i].dom = d;
		d->vcpus[i].id = i;
		d->vcpus[i].fd = -1;
		d->vcpus[i].run = calloc(1, sizeof(struct kvm_run));
		if (!d->vcpus[i].run)
			abort();
		d->vcpus[i].run->s.regs.sregs.cr0 = 0x11;    /* PE|ET, paging off */
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->unpaused, NULL);
	d->shutdown_reason = -1;
	if (xen_init(d, err, sizeof(err))) {
		fprintf(stderr, "xen_init: %s\n", err);
		abort();
	}
	fake_domain_timers(d);
	d->console = &console;
	d->notify_fd = notify_fd;
	return d;
}

static void domain_free(struct domain *d)
{
	d->vm.ram = NULL;                /* ours, kept for the next input */
	fake_domain_free(d);
}

/* ---- the invariants ---- */

static bool virq_global(unsigned int virq)
{
	return virq != VIRQ_TIMER && virq != VIRQ_DEBUG && virq != VIRQ_XENOPROF && virq != VIRQ_XENPMU;
}

static const char *call_desc;

#define FAIL(...) do { \
	fprintf(stderr, "invariant broken after %s: ", call_desc); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	abort(); \
} while (0)

static bool frame_in_ram(struct domain *d, uint64_t gfn, uint64_t len)
{
	return gfn < (1ull << 52) && vm_gpa_to_hva(&d->vm, gfn << 12, len);
}

static void check_state(struct domain *d)
{
	struct xen_state *x = &d->xen;
	const uint8_t *ram = d->vm.ram;

	if (x->ports[0].state != EVTCHN_STATE_RESERVED)
		FAIL("port 0 is in state %u", x->ports[0].state);
	for (unsigned int p = 1; p < EVTCHN_PORTS; p++) {
		const struct evtchn_port *e = &x->ports[p];
		if (e->state > EVTCHN_STATE_IPI)
			FAIL("port %u in state %u", p, e->state);
		if (e->state == EVTCHN_STATE_RESERVED)
			FAIL("port %u reserved", p);
		if (e->state != EVTCHN_STATE_FREE && e->vcpu >= d->n_vcpus)
			FAIL("port %u notifies vCPU %u of %u", p, e->vcpu, d->n_vcpus);
		if (e->state != EVTCHN_STATE_INTERDOMAIN && e->dom0_fn)
			FAIL("port %u in state %u keeps a Dom0 callback", p, e->state);
		switch (e->state) {
		case EVTCHN_STATE_FREE:
			if (e->vcpu || e->virq || e->remote_dom || e->remote_port || e->dom0_fn)
				FAIL("free port %u not cleared", p);
			break;
		case EVTCHN_STATE_VIRQ: {
			if (e->virq >= NR_VIRQS)
				FAIL("port %u bound to VIRQ %u", p, e->virq);
			unsigned int owner = virq_global(e->virq) ? 0 : e->vcpu;
			if (x->vcpu[owner].virq_port[e->virq] != p)
				FAIL("VIRQ port %u (virq %u, vCPU %u) not recorded on vCPU %u (which has %u)", p,
				     e->virq, e->vcpu, owner, x->vcpu[owner].virq_port[e->virq]);
			break;
		}
		case EVTCHN_STATE_INTERDOMAIN:
			if (e->dom0_fn) {
				if (e->remote_dom != 0)
					FAIL("Dom0-bound port %u has remote domain %u", p, e->remote_dom);
				break;
			}
			if (e->remote_dom != (domid_t)d->domid)
				FAIL("interdomain port %u with domain %u (only loopback exists)", p, e->remote_dom);
			if (e->remote_port == 0 || e->remote_port >= EVTCHN_PORTS || e->remote_port == p)
				FAIL("loopback port %u has peer %u", p, e->remote_port);
			{
				const struct evtchn_port *q = &x->ports[e->remote_port];
				if (q->state != EVTCHN_STATE_INTERDOMAIN || q->dom0_fn || q->remote_port != p)
					FAIL("loopback port %u's peer %u is in state %u with peer %u", p,
					     e->remote_port, q->state, q->remote_port);
			}
			break;
		default:
			break;
		}
	}
	for (unsigned int v = 0; v < XEN_MAX_VCPUS; v++) {
		const struct xen_vcpu_state *vs = &x->vcpu[v];
		for (unsigned int virq = 0; virq < NR_VIRQS; virq++) {
			evtchn_port_t p = vs->virq_port[virq];
			if (!p)
				continue;
			if (v >= d->n_vcpus)
				FAIL("vCPU %u (of %u) has VIRQ %u on port %u", v, d->n_vcpus, virq, p);
			if (virq_global(virq) && v != 0)
				FAIL("global VIRQ %u recorded on vCPU %u", virq, v);
			if (p >= EVTCHN_PORTS || x->ports[p].state != EVTCHN_STATE_VIRQ ||
			    x->ports[p].virq != virq || (!virq_global(virq) && x->ports[p].vcpu != v))
				FAIL("vCPU %u's VIRQ %u points at port %u (state %u, virq %u, vCPU %u)", v, virq, p,
				     p < EVTCHN_PORTS ? x->ports[p].state : 0, p < EVTCHN_PORTS ? x->ports[p].virq : 0,
				     p < EVTCHN_PORTS ? x->ports[p].vcpu : 0);
		}
		if (vs->upcall_vector && vs->upcall_vector < 0x10)
			FAIL("vCPU %u's upcall vector %u", v, vs->upcall_vector);
		if (vs->period_ns && (vs->period_ns < 1000000ull || vs->period_ns > (1ull << 62)))
			FAIL("vCPU %u's period %llu ns", v, (unsigned long long)vs->period_ns);
		if (vs->info_registered) {
			if (v >= d->n_vcpus)
				FAIL("vcpu_info registered for vCPU %u of %u", v, d->n_vcpus);
			/* In RAM, or on a grant frame's page outside it (vm.c's extra pages). */
			const uint8_t *i = (const uint8_t *)vs->info, *extra = d->vm.extra;
			bool in_ram = i >= ram && i + sizeof(struct vcpu_info) <= ram + RAM;
			bool in_extra = extra && i >= extra &&
					i + sizeof(struct vcpu_info) <= extra + VM_EXTRA_PAGES * 4096ull;
			if (!in_ram && !in_extra)
				FAIL("vCPU %u's vcpu_info at %p, outside RAM and grant pages", v, (void *)vs->info);
		} else if (vs->info) {
			FAIL("vCPU %u has a vcpu_info pointer but none registered", v);
		}
	}
	if (x->shared_info_gfn == ~0ull) {
		if (x->shared_info != x->private_shared_info)
			FAIL("shared_info moved without a gfn");
	} else if (!frame_in_ram(d, x->shared_info_gfn, PAGE) ||
		   (void *)x->shared_info != vm_gpa_to_hva(&d->vm, x->shared_info_gfn << 12, PAGE)) {
		FAIL("shared_info at gfn %#llx but host page %p (RAM %p)", (unsigned long long)x->shared_info_gfn,
		     (void *)x->shared_info, (void *)ram);
	}
	if (x->grant_frames > GNTTAB_MAX_FRAMES)
		FAIL("%u grant frames", x->grant_frames);
	for (unsigned int f = 0; f < GNTTAB_MAX_FRAMES; f++) {
		if (x->grant_gfn[f] == ~0ull)
			continue;
		if (f >= x->grant_frames)
			FAIL("grant frame %u placed but only %u in use", f, x->grant_frames);
		/* In RAM, or outside it on one of the VMM's extra pages (where Linux PVH puts them). */
		if (!frame_in_ram(d, x->grant_gfn[f], PAGE) && !vm_gpa_to_hva(&d->vm, x->grant_gfn[f] << 12, PAGE))
			FAIL("grant frame %u at gfn %#llx, neither RAM nor mapped", f,
			     (unsigned long long)x->grant_gfn[f]);
	}
	/* Nothing holds a grant mapping between calls: every pin is back to zero. */
	static const struct gnttab_pin unpinned[sizeof(x->pins) / sizeof(x->pins[0])];
	if (memcmp(x->pins, unpinned, sizeof(unpinned)))
		for (size_t r = 0; r < sizeof(x->pins) / sizeof(x->pins[0]); r++)
			if (x->pins[r].readers || x->pins[r].writers)
				FAIL("grant %zu left pinned (%u readers, %u writers)", r, x->pins[r].readers,
				     x->pins[r].writers);
	if (x->dom0_calls_running)
		FAIL("%u Dom0 callbacks still running", x->dom0_calls_running);
	if (x->callback_via != x->params[HVM_PARAM_CALLBACK_IRQ])
		FAIL("callback_via %#llx but the param says %#llx", (unsigned long long)x->callback_via,
		     (unsigned long long)x->params[HVM_PARAM_CALLBACK_IRQ]);
	if (x->params[HVM_PARAM_STORE_EVTCHN] != EVTCHN_STORE_PORT ||
	    x->params[HVM_PARAM_CONSOLE_EVTCHN] != EVTCHN_CONSOLE_PORT)
		FAIL("the toolstack's params changed");
}

/* ---- one input ---- */

static bool poll_deadline_passed(struct vcpu *vcpu, uint64_t arg, bool compat)
{
	struct sched_poll p;

	/* Read as the call will read it. */
	xen_call_set_compat(vcpu, compat);
	int r = xen_arg_in(vcpu, &xen_abi_sched_poll, arg, &p);
	xen_call_set_compat(vcpu, false);
	/* In system time, as poll_op compares it: boot_ns + timeout would wrap for a huge timeout. */
	return !r && p.timeout && p.timeout <= xen_system_time_ns(vcpu->dom);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	char desc[160];

	static int trace = -1;
	if (trace < 0)
		trace = getenv("FUZZ_HYPERCALL_TRACE") != NULL;
	if (notify_fd < 0) {
		notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		console = (struct console){ .log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC),
					    .pty_master = -1, .pty_slave = -1 };
		pthread_mutex_init(&console.lock, NULL);
		if (notify_fd < 0 || console.log_fd < 0)
			abort();
	}
	struct domain *d = domain_new();
	uint8_t mode = u8(&in);
	bool compat = mode & 8;
	paging = mode & 1;
	if (paging) {
		build_tables(d, mode & 2);
		tweak_tables(d, &in);
	}
	for (unsigned int v = 0; compat && v < d->n_vcpus; v++)
		d->vcpus[v].run->s.regs.sregs.cs.l = 0;
	if (mode & 4) {
		if (evtchn_dom0_bind(d, EVTCHN_STORE_PORT, dom0_service, d) != EVTCHN_STORE_PORT ||
		    evtchn_dom0_bind(d, EVTCHN_CONSOLE_PORT, dom0_service, &console) != EVTCHN_CONSOLE_PORT)
			abort();
	}
	call_desc = "setup";
	check_state(d);

	uint64_t made = 0;
	for (unsigned int c = 0; c < MAX_CALLS && in.left; c++) {
		uint8_t sel = u8(&in);
		uint64_t nr = sel < 0xe0 ? implemented[sel % N_IMPLEMENTED] : sel == 0xff ? uN(&in, 8) : u8(&in);
		uint8_t flags = u8(&in);
		struct vcpu *vcpu = &d->vcpus[flags & 1];
		uint64_t args[5];
		for (int i = 0; i < 5; i++)
			args[i] = gen_value(&in);
		if (compat) {
			/* What a 32-bit caller can pass: the registers' low halves. */
			nr = (uint32_t)nr;
			for (int i = 0; i < 5; i++)
				args[i] = (uint32_t)args[i];
		}

		uint8_t payload[256];
		size_t len = u8(&in);
		for (size_t i = 0; i < len; i++)
			payload[i] = u8(&in);
		unsigned int fixups = u8(&in) & 3;
		for (unsigned int i = 0; i < fixups; i++) {
			size_t off = u8(&in);
			uint64_t v = gen_value(&in);
			if (len >= 8)
				memcpy(payload + off % (len - 7), &v, 8);
		}
		unsigned int target = (flags >> 1) & 3;
		if (target != 3 && len)
			guest_copy_to(vcpu, args[target == 0 ? 1 : target == 1 ? 2 : 0], payload, len);

		/* Blocking calls return at once; a poll whose deadline is gone really waits. */
		bool unblock = false;
		if (nr == __HYPERVISOR_sched_op && (args[0] == SCHEDOP_block || args[0] == SCHEDOP_poll))
			unblock = !(args[0] == SCHEDOP_poll && poll_deadline_passed(vcpu, args[1], compat));
		if (unblock)
			d->stop_vcpus = true;

		snprintf(desc, sizeof(desc), "call %u: vCPU %u nr %llu (%#llx, %#llx, %#llx, %#llx, %#llx)", c,
			 vcpu->id, (unsigned long long)nr, (unsigned long long)args[0], (unsigned long long)args[1],
			 (unsigned long long)args[2], (unsigned long long)args[3], (unsigned long long)args[4]);
		call_desc = desc;
		long rc;
		if (compat) {
			/* Garbage in the upper halves, which a 32-bit caller's call must not see. */
			struct kvm_regs *r = &vcpu->run->s.regs.regs;
			r->rax = nr | 0xdead000000000000ull;
			r->rbx = args[0] | 0xbeef00000000ull;
			r->rcx = args[1] | 0xbeef00000000ull;
			r->rdx = args[2] | 0xbeef00000000ull;
			r->rsi = args[3] | 0xbeef00000000ull;
			r->rdi = args[4] | 0xbeef00000000ull;
			xen_hypercall_from_regs(vcpu);
			if (r->rax >> 32)
				FAIL("a 32-bit caller's rax %#llx has an upper half", (unsigned long long)r->rax);
			rc = (int32_t)r->rax;
		} else {
			rc = xen_hypercall_dispatch(vcpu, nr, args);
		}
		if (xen_call_compat(vcpu))
			FAIL("the call's compat mode outlived it");
		made++;
		if (trace)
			fprintf(stderr, "%s = %ld\n", desc, rc);
		if (rc < -4095)
			FAIL("returned %ld", rc);
		bool known = false;
		for (size_t i = 0; i < N_IMPLEMENTED; i++)
			known |= nr == implemented[i];
		if (!known && rc != -XEN_ENOSYS)
			FAIL("no handler, yet returned %ld", rc);
		if (unblock && d->shutdown_reason < 0)
			d->stop_vcpus = false;
		/* A suspend holds the vCPUs (paused, for a resume) rather than stopping them. */
		if (d->shutdown_reason == SHUTDOWN_suspend ? !d->paused :
		    d->shutdown_reason >= 0 && !d->stop_vcpus)
			FAIL("shut down (reason %d) without %s the vCPUs", d->shutdown_reason,
			     d->shutdown_reason == SHUTDOWN_suspend ? "holding" : "stopping");
		check_state(d);
	}

	uint64_t counted = 0;
	for (unsigned int i = 0; i <= XEN_HYPERCALL_NR_MAX; i++)
		counted += d->xen.calls[i];
	if (counted != made) {
		fprintf(stderr, "%llu calls made, %llu counted\n", (unsigned long long)made,
			(unsigned long long)counted);
		abort();
	}
	uint64_t n;
	while (read(notify_fd, &n, sizeof(n)) == sizeof(n))
		;
	domain_free(d);
	return 0;
}
