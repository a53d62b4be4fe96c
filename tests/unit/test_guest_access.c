/* The guest page walker (vmm/guest_access.c) over page tables built in a fake domain's RAM, in each
 * x86 paging mode: 4-level long mode with 4 KiB, 2 MiB and 1 GiB pages, PAE, and 32-bit paging with
 * and without PSE.  Each row is one guest-virtual address: where it lands, or -EFAULT (not present,
 * a write through a read-only entry, non-canonical, tables outside RAM).  Tables that point past the
 * end of RAM must be refused without a host access out of bounds (ASan checks that). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "fake_domain.h"
#include "vmm/guest_access.h"
#include "unit.h"

#define P  1ull
#define RW 2ull
#define PS (1ull << 7)
#define NX (1ull << 63)
#define OUTSIDE 0x3fff0000000ull            /* a 4 KiB-aligned gpa far beyond the 8 MiB of RAM */

enum mode { LONG4, PAE, PSE32, NOPSE32, PAGING_OFF };

static void put64(struct domain *d, uint64_t gpa, uint64_t v) { fake_put(d, gpa, &v, 8); }
static void put32(struct domain *d, uint64_t gpa, uint32_t v) { fake_put(d, gpa, &v, 4); }

/* Long mode: PML4 0x100000, PDPT 0x101000, PD 0x102000, PT 0x103000, PD with a read-only entry
 * 0x104000 and its PT 0x105000. */
static void build_long(struct domain *d)
{
	put64(d, 0x100000 + 1 * 8, 0x101000 | P | RW);        /* gva 0x0000_0080_0000_0000 */
	put64(d, 0x100000 + 511 * 8, 0x101000 | P | RW);      /* gva 0xffff_ff80_0000_0000 */
	put64(d, 0x100000 + 2 * 8, OUTSIDE | P | RW);         /* PDPT outside RAM */
	put64(d, 0x100000 + 3 * 8, (FAKE_RAM_SIZE - 4096) | P | RW);   /* PDPT is RAM's last page (zeros) */
	put64(d, 0x101000 + 0 * 8, 0x102000 | P | RW);
	put64(d, 0x101000 + 1 * 8, 0x0 | P | RW | PS);        /* 1 GiB page at 0 */
	put64(d, 0x101000 + 2 * 8, 0x104000 | P);             /* read-only PDPTE over a rw PD */
	put64(d, 0x101000 + 3 * 8, 0x40000000 | P | PS);      /* 1 GiB page wholly beyond RAM */
	put64(d, 0x102000 + 0 * 8, 0x103000 | P | RW);
	put64(d, 0x102000 + 1 * 8, 0x400000 | P | RW | PS);   /* 2 MiB rw */
	put64(d, 0x102000 + 2 * 8, 0x600000 | P | PS);        /* 2 MiB ro */
	put64(d, 0x102000 + 3 * 8, OUTSIDE | P | RW);         /* PT outside RAM */
	put64(d, 0x102000 + 4 * 8, (0x400000 | P | RW | PS) & ~P);   /* not present */
	put64(d, 0x103000 + 0 * 8, 0x200000 | P | RW);
	put64(d, 0x103000 + 1 * 8, 0x201000 | P);             /* read-only */
	put64(d, 0x103000 + 2 * 8, 0x202000 | RW);            /* not present */
	put64(d, 0x103000 + 3 * 8, OUTSIDE | P | RW);         /* page outside RAM: translates */
	put64(d, 0x103000 + 4 * 8, 0x203000 | P | RW | NX | (0x7ffull << 52));   /* high bits ignored */
	put64(d, 0x104000 + 0 * 8, 0x105000 | P | RW);
	put64(d, 0x105000 + 0 * 8, 0x204000 | P | RW);
}

/* PAE: PDPT at 0x110020 (32-byte aligned, not page aligned), PD 0x111000, PT 0x112000. */
static void build_pae(struct domain *d)
{
	put64(d, 0x110020 + 0 * 8, 0x111000 | P);
	put64(d, 0x110020 + 1 * 8, 0x111000);                 /* not present */
	put64(d, 0x110020 + 2 * 8, OUTSIDE | P);              /* PD outside RAM */
	put64(d, 0x110020 + 3 * 8, 0x111000 | P);
	put64(d, 0x111000 + 0 * 8, 0x112000 | P | RW);
	put64(d, 0x111000 + 1 * 8, 0x600000 | P | RW | PS);   /* 2 MiB */
	put64(d, 0x111000 + 2 * 8, 0x112000 | P);             /* read-only PDE over a rw PTE */
	put64(d, 0x111000 + 511 * 8, OUTSIDE | P | RW);
	put64(d, 0x112000 + 5 * 8, 0x205000 | P | RW);
	put64(d, 0x112000 + 6 * 8, 0x206000 | P);
	put64(d, 0x112000 + 7 * 8, 0x207000);
}

/* 32-bit: PD 0x120000, PT 0x121000, and a table at 0x400000 that PD[1] names when PSE is off. */
static void build_32(struct domain *d)
{
	put32(d, 0x120000 + 0 * 4, 0x121000 | P | RW);
	put32(d, 0x120000 + 1 * 4, 0x400000 | P | RW | PS);   /* 4 MiB page with PSE; a PT without */
	put32(d, 0x120000 + 2 * 4, 0xfff00000u | P | RW);     /* PT outside RAM */
	put32(d, 0x120000 + 3 * 4, 0x121000 | P);             /* read-only PDE over rw PTEs */
	put32(d, 0x120000 + 4 * 4, 0x800000 | P | RW | PS);   /* 4 MiB page just past RAM / PT past RAM */
	put32(d, 0x121000 + 7 * 4, 0x207000 | P | RW);
	put32(d, 0x121000 + 8 * 4, 0x208000 | P);
	put32(d, 0x121000 + 9 * 4, 0x209000 | RW);
	put32(d, 0x400000 + 3 * 4, 0x203000 | P | RW);
}

static void set_mode(struct vcpu *v, enum mode m)
{
	struct kvm_sregs *s = &v->run->s.regs.sregs;

	memset(s, 0, sizeof(*s));
	s->cr0 = 0x80000011;          /* PG|ET|PE */
	switch (m) {
	case LONG4: s->cr4 = 0x20; s->efer = 0x500; s->cr3 = 0x100000; s->cs.l = 1; break;
	case PAE: s->cr4 = 0x20; s->cr3 = 0x110020; break;
	case PSE32: s->cr4 = 0x10; s->cr3 = 0x120000; break;
	case NOPSE32: s->cr4 = 0; s->cr3 = 0x120000; break;
	case PAGING_OFF: s->cr0 = 0x11; break;
	}
}

struct walk_case {
	const char *name;
	enum mode mode;
	uint64_t gva;
	bool write;
	int want;                   /* 0 or -EFAULT */
	uint64_t gpa;
};

#define OK(n, m, va, w, pa) { n, m, va, w, 0, pa }
#define FAULT(n, m, va, w) { n, m, va, w, -EFAULT, 0 }

static const struct walk_case walk_cases[] = {
	OK("long: 4 KiB rw, read", LONG4, 0x8000000123ull, false, 0x200123),
	OK("long: 4 KiB rw, write", LONG4, 0x8000000fffull, true, 0x200fff),
	OK("long: 4 KiB ro, read", LONG4, 0x8000001010ull, false, 0x201010),
	FAULT("long: 4 KiB ro, write", LONG4, 0x8000001010ull, true),
	FAULT("long: 4 KiB not present", LONG4, 0x8000002000ull, false),
	OK("long: page outside RAM still translates", LONG4, 0x8000003008ull, false, OUTSIDE + 8),
	OK("long: NX and ignored high bits dropped", LONG4, 0x8000004abcull, true, 0x203abc),
	OK("long: 2 MiB rw", LONG4, 0x8000200000ull + 0x12345, true, 0x412345),
	OK("long: 2 MiB ro, read", LONG4, 0x8000400000ull + 0x1fffff, false, 0x7fffff),
	FAULT("long: 2 MiB ro, write", LONG4, 0x8000400000ull, true),
	FAULT("long: PT outside RAM", LONG4, 0x8000600000ull, false),
	FAULT("long: PDE not present", LONG4, 0x8000800000ull, false),
	OK("long: 1 GiB page", LONG4, 0x8040000000ull + 0x3fedcba, true, 0x3fedcba),
	OK("long: 1 GiB page beyond RAM translates", LONG4, 0x80c0000000ull + 5, false, 0x40000005),
	OK("long: ro PDPTE, read", LONG4, 0x8080000040ull, false, 0x204040),
	FAULT("long: ro PDPTE, write", LONG4, 0x8080000040ull, true),
	OK("long: kernel half", LONG4, 0xffffff8000000010ull, false, 0x200010),
	FAULT("long: PDPT outside RAM", LONG4, 0x10000000000ull, false),
	FAULT("long: PDPT on RAM's last page, empty", LONG4, 0x18000000000ull, false),
	FAULT("long: PML4E not present", LONG4, 0x0ull, false),
	FAULT("long: non-canonical 0x0000800000000000", LONG4, 0x0000800000000000ull, false),
	FAULT("long: non-canonical 0xffff000000000000", LONG4, 0xffff000000000000ull, false),
	FAULT("long: non-canonical 0x8000000000000000", LONG4, 0x8000000000000000ull, false),
	FAULT("long: non-canonical 0x00ffff8000000000", LONG4, 0x00ffff8000000000ull, false),

	OK("pae: 4 KiB rw", PAE, 0x5123, true, 0x205123),
	OK("pae: 4 KiB ro, read", PAE, 0x6000, false, 0x206000),
	FAULT("pae: 4 KiB ro, write", PAE, 0x6000, true),
	FAULT("pae: PTE not present", PAE, 0x7000, false),
	OK("pae: 2 MiB", PAE, 0x200000 + 0x1abcd, true, 0x61abcd),
	OK("pae: ro PDE, read", PAE, 0x400000 + 0x5004, false, 0x205004),
	FAULT("pae: ro PDE, write", PAE, 0x400000 + 0x5004, true),
	FAULT("pae: PDPTE not present", PAE, 0x40000000, false),
	FAULT("pae: PD outside RAM", PAE, 0x80000000, false),
	OK("pae: PDPTE 3", PAE, 0xc0005000, false, 0x205000),
	FAULT("pae: PT outside RAM", PAE, 0x3fe00000, false),
	OK("pae: gva bits above 32 ignored", PAE, 0x100005008ull, false, 0x205008),

	OK("pse32: 4 KiB rw", PSE32, 0x7001, true, 0x207001),
	OK("pse32: 4 KiB ro, read", PSE32, 0x8002, false, 0x208002),
	FAULT("pse32: 4 KiB ro, write", PSE32, 0x8002, true),
	FAULT("pse32: PTE not present", PSE32, 0x9000, false),
	OK("pse32: 4 MiB page", PSE32, 0x403000 + 0x10, true, 0x403010),
	FAULT("pse32: PT outside RAM", PSE32, 0x800000, false),
	OK("pse32: ro PDE, read", PSE32, 0xc07000, false, 0x207000),
	FAULT("pse32: ro PDE, write", PSE32, 0xc07000, true),
	OK("pse32: 4 MiB page past RAM translates", PSE32, 0x1000000 + 4, false, 0x800004),
	FAULT("pse32: PDE not present", PSE32, 0xfffff000, false),

	OK("nopse32: 4 KiB rw", NOPSE32, 0x7001, true, 0x207001),
	FAULT("nopse32: 4 KiB ro, write", NOPSE32, 0x8002, true),
	OK("nopse32: PS ignored, PDE names a table", NOPSE32, 0x403000 + 0x10, true, 0x203010),
	FAULT("nopse32: PS ignored, table's entry empty", NOPSE32, 0x404000, false),
	FAULT("nopse32: PT outside RAM", NOPSE32, 0x800000, false),
	OK("nopse32: ro PDE, read", NOPSE32, 0xc07000, false, 0x207000),
	FAULT("nopse32: ro PDE, write", NOPSE32, 0xc07000, true),
	FAULT("nopse32: PS ignored, PT just past RAM", NOPSE32, 0x1000000, false),

	OK("paging off: identity", PAGING_OFF, 0x123456, true, 0x123456),
	OK("paging off: 32-bit wrap", PAGING_OFF, 0x100000010ull, false, 0x10),
};

static void test_walk(struct unit *u, const void *arg)
{
	const struct walk_case *c = arg;
	struct domain *d = fake_domain_new(1);
	uint64_t gpa = 0xdeadbeef;

	build_long(d);
	build_pae(d);
	build_32(d);
	set_mode(&d->vcpus[0], c->mode);
	int rc = guest_virt_to_phys(&d->vcpus[0], c->gva, c->write, &gpa);
	CHECK(rc == c->want, "gva %#llx (%s): rc %d, expected %d", (unsigned long long)c->gva,
	      c->write ? "write" : "read", rc, c->want);
	if (rc == 0 && c->want == 0)
		CHECK(gpa == c->gpa, "gva %#llx -> %#llx, expected %#llx", (unsigned long long)c->gva,
		      (unsigned long long)gpa, (unsigned long long)c->gpa);
	fake_domain_free(d);
}

/* Copies cross pages by walking each; a bad page stops the copy with -EFAULT. */
static void test_copy_across_pages(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	uint8_t buf[64], out[64];
	(void)arg;

	build_long(d);
	set_mode(&d->vcpus[0], LONG4);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i + 1);
	/* gva 0x8000000fe0..: 32 bytes on the rw page (0x200fe0), 32 on the ro page (0x201000). */
	memcpy(fake_gpa(d, 0x200fe0), buf, 32);
	memcpy(fake_gpa(d, 0x201000), buf + 32, 32);
	CHECK_INT(guest_copy_from(&d->vcpus[0], out, 0x8000000fe0ull, sizeof(out)), 0);
	CHECK(!memcmp(out, buf, sizeof(buf)), "read across the page boundary wrong");
	CHECK_INT(guest_copy_to(&d->vcpus[0], 0x8000000fe0ull, buf, sizeof(buf)), -EFAULT);
	/* Into the not-present page, and onto a page outside RAM. */
	CHECK_INT(guest_copy_from(&d->vcpus[0], out, 0x8000001fe0ull, sizeof(out)), -EFAULT);
	CHECK_INT(guest_copy_from(&d->vcpus[0], out, 0x8000003000ull, 8), -EFAULT);
	/* The 2 MiB ro page ends at RAM's end: the last byte reads, one more does not. */
	CHECK_INT(guest_copy_from(&d->vcpus[0], out, 0x8000400000ull + 0x1fffff, 1), 0);
	CHECK_INT(guest_copy_from(&d->vcpus[0], out, 0x8000400000ull + 0x1fffff, 2), -EFAULT);
	/* The 1 GiB page at 0 reaches all RAM, and only RAM. */
	CHECK_INT(guest_copy_from(&d->vcpus[0], out, 0x8040000000ull + FAKE_RAM_SIZE - 8, 8), 0);
	CHECK_INT(guest_copy_from(&d->vcpus[0], out, 0x8040000000ull + FAKE_RAM_SIZE - 8, 9), -EFAULT);
	CHECK_INT(guest_copy_to(&d->vcpus[0], 0x8040000000ull + FAKE_RAM_SIZE, buf, 1), -EFAULT);
	fake_domain_free(d);
}

/* A hypercall whose argument is a guest-virtual address goes through the walk both ways. */
static void test_hypercall_through_paging(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	(void)arg;

	build_long(d);
	set_mode(&d->vcpus[0], LONG4);
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = 0, .port = 0 };
	fake_put(d, 0x200100, &a, sizeof(a));
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, 0x8000000100ull, 0), 0);
	fake_get(d, 0x200100, &a, sizeof(a));
	CHECK(a.port >= 3, "port %u not written through the mapping", a.port);
	/* The same struct on the read-only page: read, allocated, but not written back. */
	struct evtchn_alloc_unbound b = { .dom = DOMID_SELF, .remote_dom = 0, .port = 0 };
	fake_put(d, 0x201100, &b, sizeof(b));
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, 0x8000001100ull, 0),
		  -XEN_EFAULT);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, 0x8000002100ull, 0),
		  -XEN_EFAULT);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, 0x0000800000000000ull, 0),
		  -XEN_EFAULT);
	fake_domain_free(d);
}

/* Page tables full of garbage: every walk ends, in -EFAULT or an address, never outside RAM. */
static void test_garbage_tables(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	const enum mode modes[] = { LONG4, PAE, PSE32, NOPSE32 };
	unsigned int translated = 0;
	(void)arg;

	for (uint64_t off = 0; off < FAKE_RAM_SIZE; off += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Mostly present entries pointing anywhere, some of them inside RAM. */
		uint64_t v = (x & 1) ? (x & (FAKE_RAM_SIZE - 1)) | P | RW : x | P;
		put64(d, off, v);
	}
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		set_mode(&d->vcpus[0], modes[m]);
		for (unsigned int i = 0; i < 2000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			d->vcpus[0].run->s.regs.sregs.cr3 = (i & 1) ? x & (FAKE_RAM_SIZE - 1) : x;
			uint64_t gva = (i & 2) ? (uint64_t)((int64_t)(x << 16) >> 16) : x;
			uint64_t gpa;
			uint8_t byte;
			if (guest_virt_to_phys(&d->vcpus[0], gva, i & 4, &gpa) == 0)
				translated++;
			(void)guest_copy_from(&d->vcpus[0], &byte, gva, 1);
		}
	}
	CHECK(translated > 0, "no walk over garbage ever translated: the garbage is too tame");
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[160];

	for (size_t i = 0; i < sizeof(walk_cases) / sizeof(walk_cases[0]); i++) {
		snprintf(name, sizeof(name), "page walk: %s", walk_cases[i].name);
		unit_case(&u, name, test_walk, &walk_cases[i]);
	}
	unit_case(&u, "guest copy: across pages, stops at a bad one", test_copy_across_pages, NULL);
	unit_case(&u, "guest copy: hypercall arguments through paging", test_hypercall_through_paging, NULL);
	unit_case(&u, "page walk: garbage tables never reach outside RAM", test_garbage_tables, NULL);
	return unit_finish(&u);
}
