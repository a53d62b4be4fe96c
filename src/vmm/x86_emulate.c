/* The instruction emulator behind vcpu_emulate.c.
 *
 * KVM on PVM hosts runs guest ring-0 code through its own emulator, which gives up (an internal
 * error exit) on a few instructions Linux executes while booting.  This file finishes those: it
 * fetches the bytes at rip through ops->access (the guest's page tables), decodes prefixes, the
 * opcode and the ModRM/SIB/displacement forms of 16-, 32- and 64-bit addressing, looks the encoding
 * up in one table of instruction forms, and runs the row's function against struct x86_emu_cpu,
 * the XSAVE-format FPU state and guest memory.
 *
 * Order matters as on the CPU: nothing is changed until every check and memory access that can
 * fault has passed.  Each function computes its results, writes memory (a write covers all of its
 * bytes or none, and multi-piece stores probe every piece first), and only then touches registers
 * and advances rip.  A fault leaves rip at the instruction and raises the exception the CPU would
 * (#UD, #NM, #GP(0), #PF with the error code the ops report, #MF).
 *
 * An opcode the table does not know at all is "unhandled": the caller crashes the domain naming the
 * bytes.  An unknown encoding of an opcode whose every valid form we know (0F AE, 0F C7, 0F B8) is
 * #UD, as the CPU would raise for it. */
#include <cpuid.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/x86_emulate.h"

#define X86_VEC_SS 12
#define MXCSR_DEFAULT_MASK 0xffbfu
#define MXCSR_INIT 0x1f80u
#define FCW_INIT 0x037fu
#define XSAVE_HDR 512u
#define XSAVE_AREA_MIN 576u
#define XCOMP_COMPACT (1ull << 63)
#define XS_X87 (1ull << 0)
#define XS_SSE (1ull << 1)
#define XS_AVX (1ull << 2)

/* Legacy (FXSAVE) region offsets. */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_FIP 8
#define FX_FDP 16
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_ST 32
#define FX_XMM 160
#define FX_SIZE 512

enum { STOP = 1 };   /* a helper raised an exception or gave up: res says which */

/* ---- the decoded instruction ---- */

struct emu {
	struct x86_emu_cpu *cpu;
	const struct x86_emu_ops *ops;
	void *opaque;
	struct x86_emu_result *res;
	struct x86_xstate *xs;

	/* the fetched bytes: avail of them readable; what stopped the fetch after that */
	unsigned int avail, pos;
	enum x86_mem_result fetch_stop;
	uint32_t fetch_pf;
	uint64_t fetch_fault_addr;

	bool opsize, adsize, lock;
	uint8_t rep;             /* last of F2/F3, or 0 */
	int seg;                 /* override, or -1 */
	uint8_t rex;
	unsigned int op_bytes, ad_bytes;

	uint8_t map, opcode;
	uint8_t mod, reg, rm;    /* reg and rm with REX.R/REX.B */
	uint8_t rm_low;          /* rm without REX.B, as the table matches it */
	bool mem;
	bool rip_rel;
	uint64_t ea;
	int ea_seg;
	uint8_t imm8;
	const struct insn_form *form;
};

static bool rex_w(const struct emu *e) { return e->rex & 8; }
static bool long64(const struct emu *e) { return e->cpu->mode == X86_MODE_LONG64; }

/* ---- outcomes ---- */

static int raise(struct emu *e, enum x86_event_type type, uint8_t vector, bool has_error, uint32_t error)
{
	e->res->status = X86_EMU_EXCEPTION;
	e->res->event = (struct x86_event){ .type = type, .vector = vector, .has_error_code = has_error,
					     .error_code = error };
	return STOP;
}

static int fault(struct emu *e, uint8_t vector) { return raise(e, X86_EVENT_FAULT, vector, false, 0); }
static int gp0(struct emu *e) { return raise(e, X86_EVENT_FAULT, X86_VEC_GP, true, 0); }

static int page_fault(struct emu *e, uint64_t addr, uint32_t error)
{
	e->cpu->cr2 = addr;
	e->cpu->sregs_dirty = true;
	return raise(e, X86_EVENT_FAULT, X86_VEC_PF, true, error);
}

static int give_up(struct emu *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int give_up(struct emu *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	e->res->status = X86_EMU_UNHANDLED;
	vsnprintf(e->res->why, sizeof(e->res->why), fmt, ap);
	va_end(ap);
	return STOP;
}

static void advance_rip(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;

	c->rip = (c->rip + e->res->length) & (c->mode == X86_MODE_LONG64 ? ~0ull : 0xffffffffull);
	c->regs_dirty = true;
}

/* ---- instruction bytes ---- */

/* Reads up to 15 bytes at cs:rip; if the whole run faults, as many as its first page holds. */
static void prefetch(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	uint64_t la = long64(e) ? c->rip : (c->seg_base[X86_CS] + c->rip) & 0xffffffffull;
	unsigned int want = X86_MAX_INSN_LEN;
	uint8_t *buf = e->res->bytes;

	if (!long64(e) && la + want > (1ull << 32))
		want = (unsigned int)((1ull << 32) - la);   /* no wrap past 4 GiB: what follows is unhandled */
	e->fetch_stop = e->ops->access(e->opaque, la, buf, want, X86_ACC_FETCH, &e->fetch_pf,
				       &e->fetch_fault_addr);
	if (e->fetch_stop == X86_MEM_OK) {
		e->avail = want;
		e->fetch_stop = X86_MEM_UNHANDLED;
		return;
	}
	unsigned int first_page = 4096 - (unsigned int)(la & 4095);
	if (first_page < want) {
		uint32_t pf;
		uint64_t addr;
		if (e->ops->access(e->opaque, la, buf, first_page, X86_ACC_FETCH, &pf, &addr) == X86_MEM_OK)
			e->avail = first_page;
	}
}

static int fetch(struct emu *e, void *dst, unsigned int n)
{
	if (e->pos + n > X86_MAX_INSN_LEN)
		return gp0(e);                         /* longer than 15 bytes */
	if (e->pos + n > e->avail) {
		if (e->fetch_stop == X86_MEM_FAULT)
			return page_fault(e, e->fetch_fault_addr, e->fetch_pf);
		return give_up(e, "instruction bytes at rip are not in guest RAM");
	}
	memcpy(dst, e->res->bytes + e->pos, n);
	e->pos += n;
	return 0;
}

/* ---- registers ---- */

static uint64_t size_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

static uint64_t reg_get(struct emu *e, unsigned int r, unsigned int bytes)
{
	if (bytes == 1 && !e->rex && r >= 4 && r < 8)
		return (e->cpu->gpr[r - 4] >> 8) & 0xff;      /* ah, ch, dh, bh */
	return e->cpu->gpr[r] & size_mask(bytes);
}

/* As the CPU writes: 32-bit results zero-extend, 8- and 16-bit ones keep the rest. */
static void reg_set(struct emu *e, unsigned int r, unsigned int bytes, uint64_t v)
{
	uint64_t *g = &e->cpu->gpr[r];

	if (bytes == 1 && !e->rex && r >= 4 && r < 8) {
		g = &e->cpu->gpr[r - 4];
		*g = (*g & ~0xff00ull) | ((v & 0xff) << 8);
	} else if (bytes >= 4) {
		*g = v & size_mask(bytes);
	} else {
		*g = (*g & ~size_mask(bytes)) | (v & size_mask(bytes));
	}
	e->cpu->regs_dirty = true;
}

static void set_flags(struct emu *e, uint32_t clear, uint32_t set)
{
	e->cpu->rflags = (e->cpu->rflags & ~(uint64_t)clear) | set;
	e->cpu->regs_dirty = true;
}

/* ---- memory ---- */

static int linear(struct emu *e, uint64_t ea, size_t len, uint64_t *la)
{
	struct x86_emu_cpu *c = e->cpu;

	if (long64(e)) {
		unsigned int bits = c->cr4 & X86_CR4_LA57 ? 57 : 48;
		uint64_t a = ea + (e->ea_seg == X86_FS || e->ea_seg == X86_GS ? c->seg_base[e->ea_seg] : 0);
		uint64_t last = a + len - 1;
		if (last < a)   /* the CPU would wrap to address 0; no kernel does that on purpose */
			return give_up(e, "operand wraps around the address space");
		if ((uint64_t)((int64_t)(a << (64 - bits)) >> (64 - bits)) != a ||
		    (uint64_t)((int64_t)(last << (64 - bits)) >> (64 - bits)) != last)
			return e->ea_seg == X86_SS ? raise(e, X86_EVENT_FAULT, X86_VEC_SS, true, 0) : gp0(e);
		*la = a;
		return 0;
	}
	*la = (c->seg_base[e->ea_seg] + ea) & 0xffffffffull;
	if (*la + len > (1ull << 32))
		return give_up(e, "operand wraps around 4 GiB");
	return 0;
}

static int mem_result(struct emu *e, enum x86_mem_result r, uint32_t pf, uint64_t addr)
{
	if (r == X86_MEM_OK)
		return 0;
	if (r == X86_MEM_FAULT)
		return page_fault(e, addr, pf);
	return give_up(e, "memory operand is not guest RAM");
}

static int mem_access(struct emu *e, uint64_t la, void *buf, size_t len, enum x86_access acc)
{
	uint32_t pf = 0;
	uint64_t addr = la;

	enum x86_mem_result r = e->ops->access(e->opaque, la, buf, len, acc, &pf, &addr);

	return mem_result(e, r, pf, addr);
}

/* The operand's linear address, `off` bytes into it. */
static int operand_la(struct emu *e, uint64_t off, size_t len, uint64_t *la)
{
	uint64_t ea = (e->ea + off) & size_mask(e->ad_bytes);
	return linear(e, ea, len, la);
}

static int read_operand(struct emu *e, uint64_t off, void *buf, size_t len)
{
	uint64_t la;
	return operand_la(e, off, len, &la) ?: mem_access(e, la, buf, len, X86_ACC_READ);
}

static int write_operand(struct emu *e, uint64_t off, const void *buf, size_t len, bool probe)
{
	uint64_t la;
	return operand_la(e, off, len, &la) ?:
	       mem_access(e, la, (void *)buf, len, probe ? X86_ACC_PROBE_WRITE : X86_ACC_WRITE);
}

/* The r/m operand's value, register or memory (little-endian, as x86 stores it). */
static int rm_value(struct emu *e, unsigned int bytes, uint64_t *v)
{
	if (!e->mem) {
		*v = reg_get(e, e->rm, bytes);
		return 0;
	}
	uint8_t b[8] = { 0 };
	if (read_operand(e, 0, b, bytes))
		return STOP;
	*v = 0;
	for (unsigned int i = 0; i < bytes; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return 0;
}

static int require_alignment(struct emu *e, uint64_t align)
{
	uint64_t la;
	if (operand_la(e, 0, 1, &la))
		return STOP;
	return la & (align - 1) ? gp0(e) : 0;
}

/* ---- FPU / extended state (the standard XSAVE format) ---- */

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static int xstate(struct emu *e)
{
	if (!e->xs)
		e->xs = e->ops->xstate ? e->ops->xstate(e->opaque) : NULL;
	if (!e->xs || !e->xs->buf || e->xs->size < XSAVE_AREA_MIN)
		return give_up(e, "the vCPU's FPU state is not available");
	return 0;
}

static uint64_t xs_bv(const struct x86_xstate *xs) { return get64(xs->buf + XSAVE_HDR); }
static void xs_set_bv(struct x86_xstate *xs, uint64_t bv) { put64(xs->buf + XSAVE_HDR, bv); xs->dirty = true; }

static uint32_t xs_mxcsr_mask(const struct x86_xstate *xs)
{
	return xs->mxcsr_mask ? xs->mxcsr_mask : MXCSR_DEFAULT_MASK;
}

/* MXCSR, whose init value stands when neither SSE nor AVX state is in use. */
static uint32_t xs_mxcsr(const struct x86_xstate *xs)
{
	return xs_bv(xs) & (XS_SSE | XS_AVX) ? get32(xs->buf + FX_MXCSR) : MXCSR_INIT;
}

/* Writes component i's init values into buf (the legacy ones; MXCSR is left alone). */
static void init_component(const struct x86_xstate *xs, uint8_t *buf, unsigned int i)
{
	if (i == 0) {
		memset(buf, 0, FX_MXCSR);
		put16(buf + FX_FCW, FCW_INIT);
		memset(buf + FX_ST, 0, FX_XMM - FX_ST);
	} else if (i == 1) {
		memset(buf + FX_XMM, 0, 16 * 16);
	} else {
		memset(buf + xs->layout->offset[i], 0, xs->layout->size[i]);
	}
}

/* Makes component i (0 or 1) live in the state before the emulator changes part of it. */
static void xs_make_live(struct x86_xstate *xs, unsigned int i)
{
	uint64_t bv = xs_bv(xs);

	if (i == 1 && !(bv & (XS_SSE | XS_AVX)))
		put32(xs->buf + FX_MXCSR, MXCSR_INIT);
	if (!(bv & (1ull << i)))
		init_component(xs, xs->buf, i);
	xs_set_bv(xs, bv | (1ull << i));
}

static int check_x87(struct emu *e)
{
	if (e->cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return fault(e, X86_VEC_NM);
	return xstate(e);
}

/* Waiting x87 instructions first deliver a pending unmasked exception. */
static int check_pending_x87(struct emu *e)
{
	uint8_t *fx = e->xs->buf;
	if ((xs_bv(e->xs) & XS_X87) && (get16(fx + FX_FSW) & 0x80) && (e->cpu->cr0 & X86_CR0_NE))
		return fault(e, X86_VEC_MF);
	return 0;
}

static uint16_t x87_word(struct emu *e, unsigned int off)
{
	if (!(xs_bv(e->xs) & XS_X87))
		return off == FX_FCW ? FCW_INIT : 0;
	return get16(e->xs->buf + off);
}

static int check_sse(struct emu *e)
{
	if ((e->cpu->cr0 & X86_CR0_EM) || !(e->cpu->cr4 & X86_CR4_OSFXSR))
		return fault(e, X86_VEC_UD);
	if (e->cpu->cr0 & X86_CR0_TS)
		return fault(e, X86_VEC_NM);
	return xstate(e);
}

static int check_xsave(struct emu *e)
{
	if (!(e->cpu->cr4 & X86_CR4_OSXSAVE))
		return fault(e, X86_VEC_UD);
	if (e->cpu->cr0 & X86_CR0_TS)
		return fault(e, X86_VEC_NM);
	return xstate(e);
}

/* ---- the instructions ---- */

typedef int (*exec_fn)(struct emu *e);

static int exec_nop(struct emu *e) { (void)e; return 0; }

static int exec_ud(struct emu *e) { return fault(e, X86_VEC_UD); }

static int exec_clflush(struct emu *e)
{
	uint64_t la;
	return operand_la(e, 0, 1, &la);   /* caches are the host's business; the address must be good */
}

static int exec_int3(struct emu *e)
{
	advance_rip(e);
	return raise(e, X86_EVENT_TRAP, X86_VEC_BP, false, 0);
}

static int exec_intn(struct emu *e)
{
	advance_rip(e);
	return raise(e, X86_EVENT_SOFT_INT, e->imm8, false, 0);
}

static int exec_cmpxchg8b(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	unsigned int half = rex_w(e) ? 8 : 4;
	uint64_t old[2], new_val[2], la;
	uint32_t pf = 0;
	uint64_t addr = 0;
	bool swapped = false;

	e->res->kind = half == 8 ? X86_KIND_CMPXCHG16B : X86_KIND_CMPXCHG8B;
	if (half == 8 && require_alignment(e, 16))
		return STOP;
	if (operand_la(e, 0, 2 * half, &la))
		return STOP;
	if (half == 8) {
		old[0] = c->gpr[X86_RAX], old[1] = c->gpr[X86_RDX];
		new_val[0] = c->gpr[X86_RBX], new_val[1] = c->gpr[X86_RCX];
	} else {
		old[0] = (c->gpr[X86_RAX] & 0xffffffffull) | c->gpr[X86_RDX] << 32;
		new_val[0] = (c->gpr[X86_RBX] & 0xffffffffull) | c->gpr[X86_RCX] << 32;
	}
	if ((la & 4095) + 2 * half > 4096)
		return give_up(e, "cmpxchg8b operand crosses a page");
	enum x86_mem_result r = e->ops->cmpxchg(e->opaque, la, old, new_val, 2 * half, &swapped, &pf, &addr);
	if (mem_result(e, r, pf, addr))
		return STOP;
	if (swapped) {
		set_flags(e, X86_FLAGS_ZF, X86_FLAGS_ZF);
	} else {
		set_flags(e, X86_FLAGS_ZF, 0);
		reg_set(e, X86_RAX, half, half == 8 ? old[0] : old[0] & 0xffffffffull);
		reg_set(e, X86_RDX, half, half == 8 ? old[1] : old[0] >> 32);
	}
	return 0;
}

static int exec_bitcount(struct emu *e)
{
	unsigned int bytes = e->op_bytes, bits = bytes * 8;
	uint64_t v, r;

	if (rm_value(e, bytes, &v))
		return STOP;
	switch (e->res->kind) {
	case X86_KIND_POPCNT:
		r = (uint64_t)__builtin_popcountll(v);
		set_flags(e, X86_FLAGS_ARITH, v ? 0 : X86_FLAGS_ZF);
		break;
	case X86_KIND_LZCNT:
		r = v ? (uint64_t)(__builtin_clzll(v) - (64 - bits)) : bits;
		set_flags(e, X86_FLAGS_CF | X86_FLAGS_ZF, (v ? 0 : X86_FLAGS_CF) | (r ? 0 : X86_FLAGS_ZF));
		break;
	default:   /* tzcnt */
		r = v ? (uint64_t)__builtin_ctzll(v) : bits;
		set_flags(e, X86_FLAGS_CF | X86_FLAGS_ZF, (v ? 0 : X86_FLAGS_CF) | (r ? 0 : X86_FLAGS_ZF));
		break;
	}
	reg_set(e, e->reg, bytes, r);
	return 0;
}

/* CRC-32C (Castagnoli), bit-reflected, without the pre/post inversion software adds. */
static int exec_crc32(struct emu *e)
{
	unsigned int bytes = e->opcode == 0xf0 ? 1 : e->op_bytes;
	uint64_t v;
	uint32_t crc = (uint32_t)e->cpu->gpr[e->reg];

	if (rm_value(e, bytes, &v))
		return STOP;
	for (unsigned int i = 0; i < bytes * 8; i++, v >>= 1) {
		crc ^= v & 1;
		crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
	}
	reg_set(e, e->reg, 4, crc);   /* the 64-bit form too: the upper half is cleared */
	return 0;
}

static int exec_fwait(struct emu *e)
{
	if ((e->cpu->cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
		return fault(e, X86_VEC_NM);
	return xstate(e) ?: check_pending_x87(e);
}

static int exec_fnop(struct emu *e)
{
	return check_x87(e) ?: check_pending_x87(e);
}

static int exec_fninit(struct emu *e)
{
	if (check_x87(e))
		return STOP;
	xs_make_live(e->xs, 0);
	uint8_t *fx = e->xs->buf;
	memset(fx, 0, FX_MXCSR);
	put16(fx + FX_FCW, FCW_INIT);
	return 0;
}

static int exec_fnclex(struct emu *e)
{
	if (check_x87(e))
		return STOP;
	xs_make_live(e->xs, 0);
	put16(e->xs->buf + FX_FSW, get16(e->xs->buf + FX_FSW) & 0x7f00);   /* exception flags, SF, ES, B */
	return 0;
}

static int store16(struct emu *e, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	return write_operand(e, 0, b, 2, false);
}

static int exec_fnstcw(struct emu *e)
{
	return check_x87(e) ?: store16(e, x87_word(e, FX_FCW));
}

static int exec_fnstsw(struct emu *e)
{
	if (check_x87(e))
		return STOP;
	uint16_t sw = x87_word(e, FX_FSW);
	if (!e->mem) {
		reg_set(e, X86_RAX, 2, sw);
		return 0;
	}
	return store16(e, sw);
}

static int exec_fldcw(struct emu *e)
{
	uint8_t b[2];

	if (check_x87(e) || check_pending_x87(e) || read_operand(e, 0, b, 2))
		return STOP;
	xs_make_live(e->xs, 0);
	uint16_t cw = get16(b), sw = get16(e->xs->buf + FX_FSW);
	/* ES and B follow the exceptions the new mask leaves unmasked. */
	sw = (sw & 0x3f & ~cw) ? sw | 0x8080 : sw & 0x7f7f;
	put16(e->xs->buf + FX_FCW, cw);
	put16(e->xs->buf + FX_FSW, sw);
	return 0;
}

static int exec_stmxcsr(struct emu *e)
{
	if (check_sse(e))
		return STOP;
	uint8_t b[4];
	put32(b, xs_mxcsr(e->xs));
	return write_operand(e, 0, b, 4, false);
}

static int exec_ldmxcsr(struct emu *e)
{
	uint8_t b[4];

	if (check_sse(e) || read_operand(e, 0, b, 4))
		return STOP;
	if (get32(b) & ~xs_mxcsr_mask(e->xs))
		return gp0(e);
	xs_make_live(e->xs, 1);
	put32(e->xs->buf + FX_MXCSR, get32(b));
	return 0;
}

static unsigned int n_xmm(const struct emu *e) { return long64(e) ? 16 : 8; }

/* The legacy region as FXSAVE stores it, built from the state (init values where not in use). */
static void legacy_image(struct emu *e, uint8_t *img, bool fx64)
{
	const struct x86_xstate *xs = e->xs;
	uint64_t bv = xs_bv(xs);

	memcpy(img, xs->buf, FX_SIZE);
	if (!(bv & XS_X87))
		init_component(xs, img, 0);
	if (!(bv & XS_SSE))
		init_component(xs, img, 1);
	put32(img + FX_MXCSR, xs_mxcsr(xs));
	put32(img + FX_MXCSR_MASK, xs_mxcsr_mask(xs));
	if (!fx64) {
		/* 32-bit format: FIP/FCS, FDP/FDS.  Selectors are not kept (as on CPUs that deprecate them). */
		put64(img + FX_FIP, get64(img + FX_FIP) & 0xffffffffull);
		put64(img + FX_FDP, get64(img + FX_FDP) & 0xffffffffull);
	}
}

static int exec_fxsave(struct emu *e)
{
	uint8_t img[FX_SIZE];
	unsigned int len = FX_XMM + 16 * n_xmm(e);

	if (e->cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return fault(e, X86_VEC_NM);
	if (require_alignment(e, 16) || xstate(e))
		return STOP;
	legacy_image(e, img, rex_w(e));
	return write_operand(e, 0, img, len, false);
}

/* Takes a legacy image into the state's x87 and SSE parts. */
static void load_legacy(struct emu *e, uint8_t *dst, const uint8_t *img, bool fx64, bool x87, bool sse, bool mxcsr)
{
	if (x87) {
		memcpy(dst, img, FX_MXCSR);
		memcpy(dst + FX_ST, img + FX_ST, FX_XMM - FX_ST);
		if (!fx64) {
			put64(dst + FX_FIP, get32(img + FX_FIP));
			put64(dst + FX_FDP, get32(img + FX_FDP));
		}
	}
	if (sse)
		memcpy(dst + FX_XMM, img + FX_XMM, 16 * n_xmm(e));
	if (mxcsr)
		put32(dst + FX_MXCSR, get32(img + FX_MXCSR));
}

static int exec_fxrstor(struct emu *e)
{
	uint8_t img[FX_SIZE];

	if (e->cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return fault(e, X86_VEC_NM);
	if (require_alignment(e, 16) || xstate(e) || read_operand(e, 0, img, FX_SIZE))
		return STOP;
	if (get32(img + FX_MXCSR) & ~xs_mxcsr_mask(e->xs))
		return gp0(e);
	xs_make_live(e->xs, 0);
	xs_make_live(e->xs, 1);
	load_legacy(e, e->xs->buf, img, rex_w(e), true, true, true);
	return 0;
}

static int exec_xgetbv(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	uint64_t v;

	if (!(c->cr4 & X86_CR4_OSXSAVE))
		return fault(e, X86_VEC_UD);
	if (xstate(e))
		return STOP;
	switch ((uint32_t)c->gpr[X86_RCX]) {
	case 0: v = e->xs->xcr0; break;
	case 1: v = e->xs->xcr0 & xs_bv(e->xs); break;   /* XINUSE */
	default: return gp0(e);
	}
	reg_set(e, X86_RAX, 4, v & 0xffffffffull);
	reg_set(e, X86_RDX, 4, v >> 32);
	return 0;
}

/* Where component i lives in a compacted area with XCOMP_BV `comp`. */
static uint64_t compact_offset(const struct x86_xstate *xs, uint64_t comp, unsigned int i)
{
	uint64_t off = XSAVE_AREA_MIN;
	for (unsigned int j = 2; j <= i; j++) {
		if (!(comp & (1ull << j)))
			continue;
		if (xs->layout->align64 & (1ull << j))
			off = (off + 63) & ~63ull;
		if (j == i)
			break;
		off += xs->layout->size[j];
	}
	return off;
}

/* One piece of an XSAVE area: where it sits in memory and in the state buffer, and which component
 * (of 2 and up) it is, or -1 for parts of the legacy region and the header. */
struct piece { uint64_t mem_off; uint32_t state_off, len; int comp; };

/* The pieces of the components in `mask`, at their standard or compacted places.  Returns the count,
 * or -1 if a component is unknown or lies outside the state buffer. */
static int xsave_pieces(struct emu *e, uint64_t mask, bool compacted, uint64_t comp, struct piece *p)
{
	const struct x86_xstate *xs = e->xs;
	int n = 0;

	if (mask & XS_X87) {
		p[n++] = (struct piece){ 0, 0, FX_MXCSR, -1 };
		p[n++] = (struct piece){ FX_ST, FX_ST, FX_XMM - FX_ST, -1 };
	}
	if (mask & XS_SSE)
		p[n++] = (struct piece){ FX_XMM, FX_XMM, 16 * n_xmm(e), -1 };
	for (int i = 2; i < 63; i++) {
		if (!(mask & (1ull << i)))
			continue;
		uint32_t off = xs->layout->offset[i], size = xs->layout->size[i];
		if (!size || off < XSAVE_AREA_MIN || off > xs->size || size > xs->size - off)
			return -1;
		p[n++] = (struct piece){ compacted ? compact_offset(xs, comp, i) : off, off, size, i };
	}
	return n;
}

static int check_xsave_operand(struct emu *e, bool supervisor, uint64_t *rfbm)
{
	struct x86_emu_cpu *c = e->cpu;

	if (check_xsave(e))
		return STOP;
	if (supervisor && c->cpl)
		return gp0(e);
	if (require_alignment(e, 64))
		return STOP;
	*rfbm = ((c->gpr[X86_RDX] << 32) | (c->gpr[X86_RAX] & 0xffffffffull)) &
		(e->xs->xcr0 | (supervisor ? e->xs->xss : 0));
	if (*rfbm & e->xs->xss)
		return give_up(e, "supervisor state components (IA32_XSS %#llx) are not available to the VMM",
			       (unsigned long long)e->xs->xss);
	return 0;
}

/* xsave, xsaveopt (done as xsave, which it may be), xsavec, xsaves. */
static int exec_xsave(struct emu *e)
{
	enum x86_emu_kind k = e->res->kind;
	bool compacted = k == X86_KIND_XSAVEC || k == X86_KIND_XSAVES;
	struct piece p[72];
	uint64_t rfbm, inuse;
	uint8_t hdr[16], img[FX_SIZE];
	int n;

	if (check_xsave_operand(e, k == X86_KIND_XSAVES, &rfbm))
		return STOP;
	inuse = xs_bv(e->xs) & e->xs->xcr0;
	/* The compacted forms skip components in their init state; the standard ones store them. */
	if ((n = xsave_pieces(e, compacted ? rfbm & inuse : rfbm, compacted, rfbm, p)) < 0)
		return give_up(e, "an XSAVE component of XCR0 %#llx is outside the VMM's state buffer",
			       (unsigned long long)e->xs->xcr0);
	if (rfbm & (XS_SSE | XS_AVX))
		p[n++] = (struct piece){ FX_MXCSR, FX_MXCSR, 8, -1 };
	p[n++] = (struct piece){ XSAVE_HDR, XSAVE_HDR, compacted ? 16 : 8, -1 };
	if (compacted) {
		put64(hdr, inuse & rfbm);
		put64(hdr + 8, rfbm | XCOMP_COMPACT);
	} else {
		/* Standard XSAVE keeps the XSTATE_BV bits outside RFBM that memory holds. */
		if (read_operand(e, XSAVE_HDR, hdr, 8))
			return STOP;
		put64(hdr, (get64(hdr) & ~rfbm) | (inuse & rfbm));
	}
	for (int i = 0; i < n; i++)
		if (write_operand(e, p[i].mem_off, NULL, p[i].len, true))
			return STOP;
	legacy_image(e, img, rex_w(e));
	for (int i = 0; i < n; i++) {
		const uint8_t *src;
		uint8_t *zeros = NULL;
		if (p[i].comp < 0)
			src = p[i].state_off == XSAVE_HDR ? hdr : img + p[i].state_off;
		else if (inuse & (1ull << p[i].comp))
			src = e->xs->buf + p[i].state_off;
		else if (!(src = zeros = calloc(1, p[i].len)))
			return give_up(e, "out of memory");
		int r = write_operand(e, p[i].mem_off, src, p[i].len, false);
		free(zeros);
		if (r)
			return STOP;
	}
	return 0;
}

static const uint8_t zero_bytes[48];

/* The header checks of XRSTOR(S): #GP for bits outside what may be enabled, or reserved bytes set. */
static bool xrstor_header_ok(const uint8_t *hdr, uint64_t allowed, uint64_t xcr0, bool supervisor)
{
	uint64_t bv = get64(hdr), comp = get64(hdr + 8);

	if (comp & XCOMP_COMPACT)
		return !(comp & ~XCOMP_COMPACT & ~allowed) && !(bv & ~comp) && !memcmp(hdr + 16, zero_bytes, 48);
	return !supervisor && !(bv & ~xcr0) && !memcmp(hdr + 8, zero_bytes, 16);
}

/* xrstor, xrstors.  Everything is read and checked into copies of the state first. */
static int exec_xrstor(struct emu *e)
{
	bool supervisor = e->res->kind == X86_KIND_XRSTORS;
	struct x86_xstate *xs;
	struct piece p[72];
	uint64_t rfbm;
	uint8_t hdr[64], img[FX_SIZE];
	int n;

	if (check_xsave_operand(e, supervisor, &rfbm) || read_operand(e, XSAVE_HDR, hdr, 64))
		return STOP;
	xs = e->xs;
	if (!xrstor_header_ok(hdr, xs->xcr0 | (supervisor ? xs->xss : 0), xs->xcr0, supervisor))
		return gp0(e);
	uint64_t bv = get64(hdr), comp = get64(hdr + 8);
	bool compacted = comp & XCOMP_COMPACT;
	uint64_t load = rfbm & bv;
	if ((n = xsave_pieces(e, load, compacted, comp, p)) < 0)
		return give_up(e, "an XSAVE component of XCR0 %#llx is outside the VMM's state buffer",
			       (unsigned long long)xs->xcr0);
	/* The standard form always takes MXCSR with SSE or AVX requested; the compacted one only
	 * when memory holds one of them, else MXCSR goes back to its init value. */
	bool mxcsr = (rfbm & (XS_SSE | XS_AVX)) && (!compacted || (bv & (XS_SSE | XS_AVX)));
	bool mxcsr_init = (rfbm & (XS_SSE | XS_AVX)) && !mxcsr;
	if (mxcsr)
		p[n++] = (struct piece){ FX_MXCSR, FX_MXCSR, 4, -1 };

	uint8_t *copy = malloc(xs->size);
	if (!copy)
		return give_up(e, "out of memory");
	memcpy(copy, xs->buf, xs->size);
	memset(img, 0, sizeof(img));
	for (int i = 0; i < n; i++) {
		uint8_t *dst = p[i].comp >= 0 ? copy + p[i].state_off : img + p[i].state_off;
		if (read_operand(e, p[i].mem_off, dst, p[i].len)) {
			free(copy);
			return STOP;
		}
	}
	if (mxcsr && (get32(img + FX_MXCSR) & ~xs_mxcsr_mask(xs))) {
		free(copy);
		return gp0(e);
	}
	/* Requested components memory does not hold go back to their init state. */
	uint64_t old_bv = get64(copy + XSAVE_HDR);
	for (unsigned int i = 0; i < 63; i++)
		if ((rfbm & ~bv & (1ull << i)) && (i < 2 || xs->layout->size[i]))
			init_component(xs, copy, i);
	if (mxcsr_init || (!(old_bv & (XS_SSE | XS_AVX)) && !mxcsr))
		put32(copy + FX_MXCSR, MXCSR_INIT);
	load_legacy(e, copy, img, rex_w(e), load & XS_X87, load & XS_SSE, mxcsr);
	uint64_t new_bv = (old_bv & ~rfbm) | load;
	/* The state buffer keeps MXCSR only beside SSE or AVX state: a loaded non-init MXCSR takes
	 * SSE state (in its init values) along. */
	if (get32(copy + FX_MXCSR) != MXCSR_INIT && !(new_bv & (XS_SSE | XS_AVX))) {
		init_component(xs, copy, 1);
		new_bv |= XS_SSE;
	}
	put64(copy + XSAVE_HDR, new_bv);
	memcpy(xs->buf, copy, xs->size);
	xs->dirty = true;
	free(copy);
	return 0;
}

static int exec_fsgsbase(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	unsigned int seg = e->reg & 1 ? X86_GS : X86_FS;
	unsigned int bytes = rex_w(e) ? 8 : 4;

	if (!(c->cr4 & X86_CR4_FSGSBASE))
		return fault(e, X86_VEC_UD);
	if ((e->reg & 7) < 2) {
		reg_set(e, e->rm, bytes, c->seg_base[seg]);
		return 0;
	}
	uint64_t v = reg_get(e, e->rm, bytes);
	unsigned int bits = c->cr4 & X86_CR4_LA57 ? 57 : 48;
	if ((uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits)) != v)
		return gp0(e);
	c->seg_base[seg] = v;
	c->sregs_dirty = true;
	return 0;
}

static int exec_rdrand(struct emu *e)
{
	uint64_t v = 0;
	bool ok = e->ops->random && e->ops->random(e->opaque, &v);

	reg_set(e, e->rm, e->op_bytes, ok ? v : 0);
	set_flags(e, X86_FLAGS_ARITH, ok ? X86_FLAGS_CF : 0);
	return 0;
}

static int exec_rdpid(struct emu *e)
{
	uint64_t v;

	if (!e->ops->read_msr || !e->ops->read_msr(e->opaque, 0xc0000103, &v))
		return give_up(e, "rdpid: IA32_TSC_AUX cannot be read");
	reg_set(e, e->rm, long64(e) ? 8 : 4, long64(e) ? v : v & 0xffffffffull);
	return 0;
}

/* clac, stac: SMAP's override, kernel only. */
static int exec_clac_stac(struct emu *e)
{
	if (e->cpu->cpl)
		return fault(e, X86_VEC_UD);
	set_flags(e, X86_FLAGS_AC, e->rm_low == 3 ? X86_FLAGS_AC : 0);
	return 0;
}

#define XS_PKRU 9

/* rdpkru, wrpkru: PKRU is XSAVE component 9 of the state (0 while in its init state). */
static int exec_pkru(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	bool write = e->rm_low == 7;

	if (!(c->cr4 & X86_CR4_PKE))
		return fault(e, X86_VEC_UD);
	if ((uint32_t)c->gpr[X86_RCX] || (write && (uint32_t)c->gpr[X86_RDX]))
		return gp0(e);
	if (xstate(e))
		return STOP;
	struct x86_xstate *xs = e->xs;
	uint32_t off = xs->layout->offset[XS_PKRU];
	if (xs->layout->size[XS_PKRU] < 4 || off < XSAVE_AREA_MIN || off > xs->size - 4)
		return give_up(e, "PKRU is not in the VMM's state buffer");
	if (!write) {
		reg_set(e, X86_RAX, 4, xs_bv(xs) & (1ull << XS_PKRU) ? get32(xs->buf + off) : 0);
		reg_set(e, X86_RDX, 4, 0);
		return 0;
	}
	if (!(xs_bv(xs) & (1ull << XS_PKRU)))
		memset(xs->buf + off, 0, xs->layout->size[XS_PKRU]);
	put32(xs->buf + off, (uint32_t)c->gpr[X86_RAX]);
	xs_set_bv(xs, xs_bv(xs) | (1ull << XS_PKRU));
	return 0;
}

#define MSR_KERNEL_GS_BASE 0xc0000102

static int exec_swapgs(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	uint64_t kernel_gs;

	if (c->cpl)
		return gp0(e);
	if (!e->ops->read_msr || !e->ops->write_msr || !e->ops->read_msr(e->opaque, MSR_KERNEL_GS_BASE, &kernel_gs) ||
	    !e->ops->write_msr(e->opaque, MSR_KERNEL_GS_BASE, c->seg_base[X86_GS]))
		return give_up(e, "swapgs: IA32_KERNEL_GS_BASE cannot be read or written");
	c->seg_base[X86_GS] = kernel_gs;
	c->sregs_dirty = true;
	return 0;
}

/* ---- the table of instruction forms ---- */

enum { P_ANY, P_NP, P_66, P_F3, P_F2, P_NOREP };     /* which mandatory prefix */
enum { M_NONE, M_MEM, M_REG, M_ANY };                /* ModRM: none, or which mod */
#define F_LOCK 1                                     /* LOCK allowed */
#define F_64 2                                       /* 64-bit mode only (else #UD) */

struct insn_form {
	uint8_t map, opcode, prefix, modrm;
	int8_t reg, rm;          /* ModRM.reg and, for register forms, ModRM.rm (no REX); -1: any */
	uint8_t imm, flags;
	enum x86_emu_kind kind;
	exec_fn exec;
};

#define K(x) X86_KIND_##x
static const struct insn_form forms[] = {
	{ 0, 0x9b, P_ANY, M_NONE, -1, -1, 0, 0, K(FWAIT), exec_fwait },
	{ 0, 0xcc, P_ANY, M_NONE, -1, -1, 0, 0, K(INT3), exec_int3 },
	{ 0, 0xcd, P_ANY, M_NONE, -1, -1, 1, 0, K(INTN), exec_intn },
	{ 0, 0xd9, P_ANY, M_REG, 2, 0, 0, 0, K(FNOP), exec_fnop },
	{ 0, 0xd9, P_ANY, M_MEM, 5, -1, 0, 0, K(FLDCW), exec_fldcw },
	{ 0, 0xd9, P_ANY, M_MEM, 7, -1, 0, 0, K(FNSTCW), exec_fnstcw },
	{ 0, 0xdb, P_ANY, M_REG, 4, 2, 0, 0, K(FNCLEX), exec_fnclex },
	{ 0, 0xdb, P_ANY, M_REG, 4, 3, 0, 0, K(FNINIT), exec_fninit },
	{ 0, 0xdd, P_ANY, M_MEM, 7, -1, 0, 0, K(FNSTSW), exec_fnstsw },
	{ 0, 0xdf, P_ANY, M_REG, 4, 0, 0, 0, K(FNSTSW), exec_fnstsw },
	{ 1, 0x01, P_NP, M_REG, 1, 2, 0, 0, K(CLAC_STAC), exec_clac_stac },
	{ 1, 0x01, P_NP, M_REG, 1, 3, 0, 0, K(CLAC_STAC), exec_clac_stac },
	{ 1, 0x01, P_NP, M_REG, 2, 0, 0, 0, K(XGETBV), exec_xgetbv },
	{ 1, 0x01, P_ANY, M_REG, 7, 0, 0, F_64, K(SWAPGS), exec_swapgs },
	{ 1, 0x01, P_NP, M_REG, 5, 0, 0, 0, K(SERIALIZE), exec_nop },
	{ 1, 0x01, P_NP, M_REG, 5, 6, 0, 0, K(PKRU), exec_pkru },
	{ 1, 0x01, P_NP, M_REG, 5, 7, 0, 0, K(PKRU), exec_pkru },
	{ 1, 0x78, P_NP, M_ANY, -1, -1, 0, 0, K(VMX), exec_ud },          /* vmread */
	{ 1, 0x79, P_NP, M_ANY, -1, -1, 0, 0, K(VMX), exec_ud },          /* vmwrite */
	{ 1, 0xae, P_NP, M_MEM, 0, -1, 0, 0, K(FXSAVE), exec_fxsave },
	{ 1, 0xae, P_NP, M_MEM, 1, -1, 0, 0, K(FXRSTOR), exec_fxrstor },
	{ 1, 0xae, P_NP, M_MEM, 2, -1, 0, 0, K(LDMXCSR), exec_ldmxcsr },
	{ 1, 0xae, P_NP, M_MEM, 3, -1, 0, 0, K(STMXCSR), exec_stmxcsr },
	{ 1, 0xae, P_NP, M_MEM, 4, -1, 0, 0, K(XSAVE), exec_xsave },
	{ 1, 0xae, P_NP, M_MEM, 5, -1, 0, 0, K(XRSTOR), exec_xrstor },
	{ 1, 0xae, P_NP, M_MEM, 6, -1, 0, 0, K(XSAVEOPT), exec_xsave },
	{ 1, 0xae, P_66, M_MEM, 6, -1, 0, 0, K(CLFLUSH), exec_clflush },  /* clwb */
	{ 1, 0xae, P_NP, M_MEM, 7, -1, 0, 0, K(CLFLUSH), exec_clflush },
	{ 1, 0xae, P_66, M_MEM, 7, -1, 0, 0, K(CLFLUSH), exec_clflush },  /* clflushopt */
	{ 1, 0xae, P_NP, M_REG, 5, -1, 0, 0, K(FENCE), exec_nop },        /* lfence */
	{ 1, 0xae, P_NP, M_REG, 6, -1, 0, 0, K(FENCE), exec_nop },        /* mfence */
	{ 1, 0xae, P_NP, M_REG, 7, -1, 0, 0, K(FENCE), exec_nop },        /* sfence */
	{ 1, 0xae, P_F3, M_REG, 0, -1, 0, F_64, K(FSGSBASE), exec_fsgsbase },
	{ 1, 0xae, P_F3, M_REG, 1, -1, 0, F_64, K(FSGSBASE), exec_fsgsbase },
	{ 1, 0xae, P_F3, M_REG, 2, -1, 0, F_64, K(FSGSBASE), exec_fsgsbase },
	{ 1, 0xae, P_F3, M_REG, 3, -1, 0, F_64, K(FSGSBASE), exec_fsgsbase },
	{ 1, 0xb8, P_F3, M_ANY, -1, -1, 0, 0, K(POPCNT), exec_bitcount },
	{ 1, 0xbc, P_F3, M_ANY, -1, -1, 0, 0, K(TZCNT), exec_bitcount },
	{ 1, 0xbd, P_F3, M_ANY, -1, -1, 0, 0, K(LZCNT), exec_bitcount },
	{ 1, 0xc7, P_ANY, M_MEM, 1, -1, 0, F_LOCK, K(CMPXCHG8B), exec_cmpxchg8b },
	{ 1, 0xc7, P_NP, M_MEM, 3, -1, 0, 0, K(XRSTORS), exec_xrstor },
	{ 1, 0xc7, P_NP, M_MEM, 4, -1, 0, 0, K(XSAVEC), exec_xsave },
	{ 1, 0xc7, P_NP, M_MEM, 5, -1, 0, 0, K(XSAVES), exec_xsave },
	{ 1, 0xc7, P_ANY, M_MEM, 6, -1, 0, 0, K(VMX), exec_ud },          /* vmptrld, vmclear, vmxon */
	{ 1, 0xc7, P_NP, M_MEM, 7, -1, 0, 0, K(VMX), exec_ud },           /* vmptrst */
	{ 1, 0xc7, P_NOREP, M_REG, 6, -1, 0, 0, K(RDRAND), exec_rdrand },
	{ 1, 0xc7, P_NOREP, M_REG, 7, -1, 0, 0, K(RDRAND), exec_rdrand }, /* rdseed */
	{ 1, 0xc7, P_F3, M_REG, 7, -1, 0, 0, K(RDPID), exec_rdpid },
	{ 2, 0xf0, P_F2, M_ANY, -1, -1, 0, 0, K(CRC32), exec_crc32 },
	{ 2, 0xf1, P_F2, M_ANY, -1, -1, 0, 0, K(CRC32), exec_crc32 },
};
#undef K

/* Opcodes whose every valid encoding is in the table: anything else there is #UD. */
static const struct { uint8_t map, opcode; } owned_opcodes[] = {
	{ 1, 0xae }, { 1, 0xb8 }, { 1, 0xc7 },
};

static const char *const kind_names[] = {
#define X86_EMU_KIND_NAME(name, text) text,
	X86_EMU_KINDS(X86_EMU_KIND_NAME)
#undef X86_EMU_KIND_NAME
};

const char *x86_emu_kind_name(enum x86_emu_kind kind)
{
	return (unsigned int)kind < X86_KIND_COUNT ? kind_names[kind] : "?";
}

static bool prefix_matches(const struct emu *e, uint8_t want)
{
	switch (want) {
	case P_ANY: return true;
	case P_NP: return !e->rep && !e->opsize;
	case P_66: return !e->rep && e->opsize;
	case P_F3: return e->rep == 0xf3;
	case P_F2: return e->rep == 0xf2;
	default: return !e->rep;        /* P_NOREP: 66 is the operand size */
	}
}

static bool form_matches(const struct emu *e, const struct insn_form *f)
{
	if (f->map != e->map || f->opcode != e->opcode || !prefix_matches(e, f->prefix))
		return false;
	if (f->modrm == M_NONE)
		return true;
	if ((f->modrm == M_MEM && e->mod == 3) || (f->modrm == M_REG && e->mod != 3))
		return false;
	return (f->reg < 0 || f->reg == (e->reg & 7)) && (f->rm < 0 || f->rm == e->rm_low);
}

/* ---- decoding ---- */

static int decode_prefixes(struct emu *e, uint8_t *b)
{
	for (;;) {
		if (fetch(e, b, 1))
			return STOP;
		switch (*b) {
		case 0x66: e->opsize = true; break;
		case 0x67: e->adsize = true; break;
		case 0xf0: e->lock = true; break;
		case 0xf2: case 0xf3: e->rep = *b; break;
		case 0x26: case 0x2e: case 0x36: case 0x3e: e->seg = (*b >> 3) & 3; break;
		case 0x64: case 0x65: e->seg = *b - 0x60; break;
		default:
			if (long64(e) && (*b & 0xf0) == 0x40) {
				e->rex = *b;
				continue;   /* a REX counts only right before the opcode */
			}
			return 0;
		}
		e->rex = 0;
	}
}

static int disp(struct emu *e, unsigned int bytes, uint64_t *d)
{
	uint8_t b[4];
	if (fetch(e, b, bytes))
		return STOP;
	*d = bytes == 1 ? (uint64_t)(int64_t)(int8_t)b[0] :
	     bytes == 2 ? (uint64_t)(int64_t)(int16_t)get16(b) : (uint64_t)(int64_t)(int32_t)get32(b);
	return 0;
}

static int decode_modrm16(struct emu *e)
{
	static const int8_t base[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP, X86_RSI, X86_RDI, X86_RBP, X86_RBX };
	static const int8_t index[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI, -1, -1, -1, -1 };
	uint64_t d = 0;
	unsigned int rm = e->rm_low;

	if (e->mod == 0 && rm == 6) {
		if (disp(e, 2, &d))
			return STOP;
	} else {
		e->ea = e->cpu->gpr[base[rm]] + (index[rm] >= 0 ? e->cpu->gpr[index[rm]] : 0);
		if (base[rm] == X86_RBP)
			e->ea_seg = X86_SS;
		if (e->mod && disp(e, e->mod == 1 ? 1 : 2, &d))
			return STOP;
	}
	e->ea = (e->ea + d) & 0xffff;
	return 0;
}

static int decode_modrm(struct emu *e)
{
	uint8_t m;
	uint64_t d = 0;

	if (fetch(e, &m, 1))
		return STOP;
	e->mod = m >> 6;
	e->reg = ((m >> 3) & 7) | (e->rex & 4 ? 8 : 0);
	e->rm_low = m & 7;
	e->rm = e->rm_low | (e->rex & 1 ? 8 : 0);
	e->ea_seg = X86_DS;
	if (e->mod == 3)
		return 0;
	e->mem = true;
	if (e->ad_bytes == 2)
		return decode_modrm16(e);
	if (e->rm_low == 4) {
		uint8_t sib;
		if (fetch(e, &sib, 1))
			return STOP;
		unsigned int idx = ((sib >> 3) & 7) | (e->rex & 2 ? 8 : 0), base = (sib & 7) | (e->rex & 1 ? 8 : 0);
		if (idx != 4)
			e->ea = e->cpu->gpr[idx] << (sib >> 6);
		if ((sib & 7) == 5 && e->mod == 0) {
			if (disp(e, 4, &d))
				return STOP;
		} else {
			e->ea += e->cpu->gpr[base];
			if ((sib & 7) == 4 || (sib & 7) == 5)
				e->ea_seg = X86_SS;
		}
	} else if (e->rm_low == 5 && e->mod == 0) {
		if (disp(e, 4, &d))
			return STOP;
		e->rip_rel = long64(e);
	} else {
		e->ea = e->cpu->gpr[e->rm];
		if (e->rm_low == 5)
			e->ea_seg = X86_SS;
	}
	if (e->mod && disp(e, e->mod == 1 ? 1 : 4, &d))
		return STOP;
	e->ea += d;
	return 0;
}

static bool has_modrm(uint8_t map, uint8_t opcode)
{
	return map || (opcode >= 0xd8 && opcode <= 0xdf);
}

static int decode(struct emu *e)
{
	uint8_t b;
	bool known = false;

	e->seg = -1;
	if (decode_prefixes(e, &b))
		return STOP;
	if (b == 0x0f) {
		e->map = 1;
		if (fetch(e, &b, 1))
			return STOP;
		if (b == 0x38) {
			e->map = 2;
			if (fetch(e, &b, 1))
				return STOP;
		}
	}
	e->opcode = b;
	switch (e->cpu->mode) {
	case X86_MODE_LONG64:
		e->op_bytes = rex_w(e) ? 8 : e->opsize ? 2 : 4;
		e->ad_bytes = e->adsize ? 4 : 8;
		break;
	case X86_MODE_PROT32:
		e->op_bytes = e->opsize ? 2 : 4;
		e->ad_bytes = e->adsize ? 2 : 4;
		break;
	default:
		e->op_bytes = e->opsize ? 4 : 2;
		e->ad_bytes = e->adsize ? 4 : 2;
		break;
	}
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		known |= forms[i].map == e->map && forms[i].opcode == e->opcode;
	if (!known)
		return give_up(e, "no emulation for this opcode");
	if (has_modrm(e->map, e->opcode) && decode_modrm(e))
		return STOP;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]) && !e->form; i++)
		if (form_matches(e, &forms[i]))
			e->form = &forms[i];
	if (!e->form) {
		for (size_t i = 0; i < sizeof(owned_opcodes) / sizeof(owned_opcodes[0]); i++)
			if (owned_opcodes[i].map == e->map && owned_opcodes[i].opcode == e->opcode)
				return fault(e, X86_VEC_UD);
		return give_up(e, "no emulation for this form of the opcode");
	}
	if (e->form->imm && fetch(e, &e->imm8, 1))
		return STOP;
	e->res->length = e->pos;
	e->res->kind = e->form->kind;
	if (e->rip_rel)
		e->ea += e->cpu->rip + e->pos;
	e->ea &= size_mask(e->ad_bytes);
	if (e->seg >= 0)
		e->ea_seg = e->seg;
	if ((e->lock && !((e->form->flags & F_LOCK) && e->mem)) || ((e->form->flags & F_64) && !long64(e)))
		return fault(e, X86_VEC_UD);
	return 0;
}

enum x86_mem_result x86_access_pages(void *opaque, x86_page_fn page, uint64_t la, void *buf, size_t len,
				     enum x86_access acc, uint32_t *pf_error, uint64_t *fault_addr)
{
	bool write = acc == X86_ACC_WRITE || acc == X86_ACC_PROBE_WRITE;

	for (int pass = write ? 0 : 1; pass < 2; pass++) {
		for (size_t done = 0; done < len;) {
			size_t chunk = 4096 - ((la + done) & 4095);
			void *host;
			if (chunk > len - done)
				chunk = len - done;
			enum x86_mem_result r = page(opaque, la + done, chunk, acc, &host, pf_error, fault_addr);
			if (r != X86_MEM_OK)
				return r;
			if (pass == 1 && acc == X86_ACC_WRITE)
				memcpy(host, (const uint8_t *)buf + done, chunk);
			else if (pass == 1 && !write)
				memcpy((uint8_t *)buf + done, host, chunk);
			done += chunk;
		}
	}
	return X86_MEM_OK;
}

void x86_xstate_layout_host(struct x86_xstate_layout *l)
{
	unsigned int a, b, c, d;

	memset(l, 0, sizeof(*l));
	if (__get_cpuid_max(0, NULL) < 0xd)
		return;
	for (unsigned int i = 2; i < 63; i++) {
		__cpuid_count(0xd, i, a, b, c, d);
		l->size[i] = a;
		l->offset[i] = b;
		if (c & 2)
			l->align64 |= 1ull << i;
	}
}

void x86_emulate(struct x86_emu_cpu *cpu, const struct x86_emu_ops *ops, void *opaque,
		 struct x86_emu_result *res)
{
	struct emu e = { .cpu = cpu, .ops = ops, .opaque = opaque, .res = res };

	memset(res, 0, sizeof(*res));
	res->kind = X86_KIND_COUNT;
	if (cpu->mode == X86_MODE_UNSUPPORTED) {
		give_up(&e, "the vCPU is in real or virtual-8086 mode");
		return;
	}
	prefetch(&e);
	res->n_bytes = e.avail;
	if (decode(&e) || e.form->exec(&e))
		return;
	advance_rip(&e);
	res->status = X86_EMU_DONE;
}
