/* A fake vCPU for src/vmm/x86_emulate.c: registers, an XSAVE-format state buffer and FAKE_X86_PAGES
 * pages of "guest memory" at linear FAKE_X86_BASE, each present or not and writable or not.  The ops
 * behave as vcpu_emulate.c's do (a write covers every byte or none; #PF error codes P, W, I) and
 * record every address the emulator asked for, so callers can check it stayed in bounds.
 *
 *   struct fake_x86 *f = fake_x86_new();
 *   fake_x86_code(f, "f3 48 0f b8 c3");      (at rip = FAKE_X86_BASE)
 *   x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
 */
#ifndef XENITH_TESTS_FAKE_X86_CPU_H
#define XENITH_TESTS_FAKE_X86_CPU_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/x86_emulate.h"

#define FAKE_X86_BASE 0x100000ull
#define FAKE_X86_PAGES 16
#define FAKE_X86_PRESENT 1
#define FAKE_X86_WRITABLE 2
#define FAKE_X86_XSAVE_SIZE 16384
#define FAKE_X86_TSC_AUX 0x1234

struct fake_x86 {
	uint8_t mem[FAKE_X86_PAGES * 4096];
	uint8_t page[FAKE_X86_PAGES];
	struct x86_emu_cpu cpu;
	struct x86_xstate xs;
	struct x86_xstate_layout layout;
	uint8_t *xbuf;
	bool no_xstate;
	/* what the emulator asked for */
	uint64_t fetch_lo, fetch_hi;     /* linear range of instruction fetches ([lo, hi)) */
	bool out_of_range;               /* an access reached outside the fake memory's window */
	unsigned int xstate_calls;
	uint64_t kernel_gs_base;         /* the MSR swapgs exchanges with */
};

/* The host's XSAVE layout (CPUID 0xD), or the usual one for AVX if the host has none. */
static inline void fake_x86_layout(struct x86_xstate_layout *l)
{
	x86_xstate_layout_host(l);
	if (!l->size[2]) {
		l->offset[2] = 576;
		l->size[2] = 256;
	}
}

static inline struct fake_x86 *fake_x86_new(void)
{
	struct fake_x86 *f = calloc(1, sizeof(*f));

	if (!f || !(f->xbuf = aligned_alloc(64, FAKE_X86_XSAVE_SIZE)))
		abort();
	memset(f->xbuf, 0, FAKE_X86_XSAVE_SIZE);
	memset(f->page, FAKE_X86_PRESENT | FAKE_X86_WRITABLE, sizeof(f->page));
	f->cpu.mode = X86_MODE_LONG64;
	f->cpu.rip = FAKE_X86_BASE;
	f->cpu.rflags = 2;
	f->cpu.cr0 = 0x80050033;        /* PG, AM, WP, NE, ET, MP, PE: as Linux runs */
	f->cpu.cr4 = X86_CR4_OSFXSR | X86_CR4_OSXSAVE | X86_CR4_FSGSBASE | (1u << 10) | (1u << 5);
	fake_x86_layout(&f->layout);
	f->xs = (struct x86_xstate){ .buf = f->xbuf, .size = FAKE_X86_XSAVE_SIZE, .xcr0 = 7,
				     .mxcsr_mask = 0xffff, .layout = &f->layout };
	f->xbuf[0] = 0x7f, f->xbuf[1] = 0x03;                    /* FCW */
	f->xbuf[24] = 0x80, f->xbuf[25] = 0x1f;                  /* MXCSR */
	f->xbuf[512] = 3;                                        /* XSTATE_BV: x87, SSE */
	f->fetch_lo = ~0ull;
	return f;
}

static inline void fake_x86_free(struct fake_x86 *f)
{
	free(f->xbuf);
	free(f);
}

static inline uint8_t *fake_x86_mem(struct fake_x86 *f, uint64_t la)
{
	if (la < FAKE_X86_BASE || la >= FAKE_X86_BASE + sizeof(f->mem))
		abort();
	return f->mem + (la - FAKE_X86_BASE);
}

/* Hex bytes ("f3 0f b8 c3") into memory at la; returns how many. */
static inline unsigned int fake_x86_put_hex(struct fake_x86 *f, uint64_t la, const char *hex)
{
	unsigned int n = 0;
	char *end;

	while (*hex) {
		unsigned long v = strtoul(hex, &end, 16);
		if (end == hex)
			break;
		*fake_x86_mem(f, la + n++) = (uint8_t)v;
		hex = end;
	}
	return n;
}

static inline unsigned int fake_x86_code(struct fake_x86 *f, const char *hex)
{
	return fake_x86_put_hex(f, f->cpu.rip, hex);
}

static inline enum x86_mem_result fake_x86_page(void *opaque, uint64_t la, size_t len, enum x86_access acc,
						void **host, uint32_t *pf_error, uint64_t *fault_addr)
{
	struct fake_x86 *f = opaque;
	bool write = acc == X86_ACC_WRITE || acc == X86_ACC_PROBE_WRITE;
	uint8_t flags = 0;

	if (la >= FAKE_X86_BASE && la - FAKE_X86_BASE < sizeof(f->mem))
		flags = f->page[(la - FAKE_X86_BASE) / 4096];
	if ((flags & FAKE_X86_PRESENT) && (!write || (flags & FAKE_X86_WRITABLE))) {
		if ((la & 4095) + len > 4096)
			abort();                  /* x86_access_pages split it: never */
		*host = f->mem + (la - FAKE_X86_BASE);
		return X86_MEM_OK;
	}
	*pf_error = (flags & FAKE_X86_PRESENT ? 1 : 0) | (write ? 2 : 0) | (acc == X86_ACC_FETCH ? 16 : 0);
	*fault_addr = la;
	return X86_MEM_FAULT;
}

static inline enum x86_mem_result fake_x86_access(void *opaque, uint64_t la, void *buf, size_t len,
						  enum x86_access acc, uint32_t *pf_error, uint64_t *fault_addr)
{
	struct fake_x86 *f = opaque;

	if (acc == X86_ACC_FETCH) {
		f->fetch_lo = la < f->fetch_lo ? la : f->fetch_lo;
		f->fetch_hi = la + len > f->fetch_hi ? la + len : f->fetch_hi;
	}
	if (!len || len > sizeof(f->mem) || la + len < la)
		f->out_of_range = true;
	return x86_access_pages(f, fake_x86_page, la, buf, len, acc, pf_error, fault_addr);
}

static inline enum x86_mem_result fake_x86_cmpxchg(void *opaque, uint64_t la, void *old, const void *new_val,
						   size_t len, bool *swapped, uint32_t *pf_error, uint64_t *fault_addr)
{
	struct fake_x86 *f = opaque;
	void *host;
	enum x86_mem_result r = fake_x86_page(f, la, len, X86_ACC_WRITE, &host, pf_error, fault_addr);

	if (r != X86_MEM_OK)
		return r;
	uint8_t *p = host;
	*swapped = !memcmp(p, old, len);
	if (*swapped)
		memcpy(p, new_val, len);
	else
		memcpy(old, p, len);
	return X86_MEM_OK;
}

static inline struct x86_xstate *fake_x86_xstate(void *opaque)
{
	struct fake_x86 *f = opaque;
	f->xstate_calls++;
	return f->no_xstate ? NULL : &f->xs;
}

static inline bool fake_x86_read_msr(void *opaque, uint32_t index, uint64_t *value)
{
	struct fake_x86 *f = opaque;
	*value = index == 0xc0000103 ? FAKE_X86_TSC_AUX : f->kernel_gs_base;
	return index == 0xc0000103 || index == 0xc0000102;
}

static inline bool fake_x86_write_msr(void *opaque, uint32_t index, uint64_t value)
{
	struct fake_x86 *f = opaque;
	if (index != 0xc0000102)
		return false;
	f->kernel_gs_base = value;
	return true;
}

static inline bool fake_x86_random(void *opaque, uint64_t *value)
{
	(void)opaque;
	*value = 0x0123456789abcdefull;
	return true;
}

static const struct x86_emu_ops fake_x86_ops = {
	.access = fake_x86_access, .cmpxchg = fake_x86_cmpxchg, .xstate = fake_x86_xstate,
	.read_msr = fake_x86_read_msr, .write_msr = fake_x86_write_msr, .random = fake_x86_random,
};

#endif
