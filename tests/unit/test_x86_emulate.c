/* The instruction emulator (vmm/x86_emulate.c) on a fake vCPU (fake_x86_cpu.h): one row per
 * instruction form with the registers, flags, memory and rip it must leave, or the exception it must
 * raise; then the FPU-state instructions against the host CPU itself: the same known state saved by
 * the real fxsave/xsave/stmxcsr and by the emulator must give the same bytes, and popcnt/crc32 the
 * same results. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_domain.h"
#include "fake_x86_cpu.h"
#include "vmm/vcpu_emulate.h"
#include "vmm/x86_emulate.h"
#include "unit.h"

#define CODE FAKE_X86_BASE
#define DATA (FAKE_X86_BASE + 0x1000)
#define UNMAPPED (FAKE_X86_BASE + 0x5000)
#define READONLY (FAKE_X86_BASE + 0x6000)
#define ARITH X86_FLAGS_ARITH
#define R(r) (1u << X86_##r)

struct row {
	const char *name;
	int mode;                            /* an x86_mode; 0: 64-bit, -1: real mode */
	const char *code;
	uint64_t gpr[16];
	uint64_t rflags;
	uint64_t seg_base[X86_NSEGS];
	uint64_t cr0_or;
	uint64_t mem_at;                     /* hex bytes put there first */
	const char *mem;
	/* after */
	enum x86_emu_status status;
	uint8_t vector;
	int error_code;                      /* -1: none */
	enum x86_event_type event_type;
	unsigned int len;                    /* rip advance when executed (and for int3/int N) */
	uint32_t check;                      /* which registers must hold want[] */
	uint64_t want[16];
	uint32_t flags_mask, flags_want;
	uint64_t want_at;                    /* memory that must hold want_mem */
	const char *want_mem;
	uint64_t want_cr2;
};

#define EXC(v, ec) .status = X86_EMU_EXCEPTION, .vector = (v), .error_code = (ec)

static const struct row rows[] = {
	/* cmpxchg8b/16b */
	{ "cmpxchg16b swaps", .code = "48 0f c7 0e", .gpr = { [X86_RSI] = DATA, [X86_RAX] = 1, [X86_RDX] = 2,
	  [X86_RBX] = 0xaa, [X86_RCX] = 0xbb }, .mem_at = DATA, .mem = "01 0 0 0 0 0 0 0 02",
	  .len = 4, .check = R(RAX) | R(RDX), .want = { [X86_RAX] = 1, [X86_RDX] = 2 },
	  .flags_mask = X86_FLAGS_ZF, .flags_want = X86_FLAGS_ZF,
	  .want_at = DATA, .want_mem = "aa 0 0 0 0 0 0 0 bb 0 0 0 0 0 0 0" },
	{ "lock cmpxchg16b fails: rdx:rax loaded", .code = "f0 48 0f c7 0e", .rflags = 2 | X86_FLAGS_ZF,
	  .gpr = { [X86_RSI] = DATA, [X86_RAX] = 1, [X86_RDX] = 2, [X86_RBX] = 0xaa, [X86_RCX] = 0xbb },
	  .mem_at = DATA, .mem = "05 0 0 0 0 0 0 0 06", .len = 5, .check = R(RAX) | R(RDX),
	  .want = { [X86_RAX] = 5, [X86_RDX] = 6 }, .flags_mask = X86_FLAGS_ZF, .flags_want = 0,
	  .want_at = DATA, .want_mem = "05 0 0 0 0 0 0 0 06 0 0 0 0 0 0 0" },
	{ "cmpxchg16b misaligned: #GP(0)", .code = "48 0f c7 0e", .gpr = { [X86_RSI] = DATA + 8 },
	  EXC(X86_VEC_GP, 0) },
	{ "cmpxchg16b register operand: #UD", .code = "48 0f c7 c8", EXC(X86_VEC_UD, -1) },
	{ "cmpxchg8b swaps", .code = "0f c7 0e", .gpr = { [X86_RSI] = DATA + 4, [X86_RAX] = 1, [X86_RDX] = 2,
	  [X86_RBX] = 0x33, [X86_RCX] = 0x44 }, .mem_at = DATA + 4, .mem = "01 0 0 0 02 0 0 0",
	  .len = 3, .flags_mask = X86_FLAGS_ZF, .flags_want = X86_FLAGS_ZF,
	  .want_at = DATA + 4, .want_mem = "33 0 0 0 44 0 0 0" },
	{ "cmpxchg8b fails: edx:eax loaded, zero-extended", .code = "0f c7 0e",
	  .gpr = { [X86_RSI] = DATA, [X86_RAX] = 0xffffffff00000001ull, [X86_RDX] = 0xffffffff00000002ull },
	  .mem_at = DATA, .mem = "09 0 0 0 0a 0 0 0", .len = 3, .check = R(RAX) | R(RDX),
	  .want = { [X86_RAX] = 9, [X86_RDX] = 10 }, .flags_mask = X86_FLAGS_ZF, .flags_want = 0 },
	{ "cmpxchg8b on a read-only page: #PF(P|W)", .code = "0f c7 0e", .gpr = { [X86_RSI] = READONLY },
	  EXC(X86_VEC_PF, 3), .want_cr2 = READONLY },
	/* popcnt, lzcnt, tzcnt, crc32 */
	{ "popcnt r64", .code = "f3 48 0f b8 c3", .rflags = 2 | ARITH, .gpr = { [X86_RBX] = 0xf0f0 }, .len = 5,
	  .check = R(RAX), .want = { [X86_RAX] = 8 }, .flags_mask = ARITH, .flags_want = 0 },
	{ "popcnt r32 zero-extends", .code = "f3 0f b8 c3", .gpr = { [X86_RAX] = ~0ull, [X86_RBX] = 0xffffffff00000003ull },
	  .len = 4, .check = R(RAX), .want = { [X86_RAX] = 2 } },
	{ "popcnt r16 keeps the rest", .code = "66 f3 0f b8 c3", .gpr = { [X86_RAX] = ~0ull, [X86_RBX] = 0x10007 },
	  .len = 5, .check = R(RAX), .want = { [X86_RAX] = 0xffffffffffff0003ull } },
	{ "popcnt of zero sets ZF", .code = "f3 48 0f b8 c3", .rflags = 2 | X86_FLAGS_CF, .gpr = { [X86_RAX] = 5 },
	  .len = 5, .check = R(RAX), .want = { [X86_RAX] = 0 }, .flags_mask = ARITH, .flags_want = X86_FLAGS_ZF },
	{ "popcnt m64", .code = "f3 48 0f b8 06", .gpr = { [X86_RSI] = DATA }, .mem_at = DATA,
	  .mem = "01 01 0 0 0 0 0 80", .len = 5, .check = R(RAX), .want = { [X86_RAX] = 3 } },
	{ "popcnt r9, r8 (REX.R, REX.B)", .code = "f3 4d 0f b8 c8", .gpr = { [X86_R8] = 0x7 }, .len = 5,
	  .check = R(R9), .want = { [X86_R9] = 3 } },
	{ "lock popcnt: #UD", .code = "f0 f3 0f b8 c3", EXC(X86_VEC_UD, -1) },
	{ "0f b8 without f3 (jmpe): #UD", .code = "0f b8 c3", EXC(X86_VEC_UD, -1) },
	{ "lzcnt r64", .code = "f3 48 0f bd c3", .gpr = { [X86_RBX] = 1 }, .len = 5, .check = R(RAX),
	  .want = { [X86_RAX] = 63 }, .flags_mask = X86_FLAGS_CF | X86_FLAGS_ZF, .flags_want = 0 },
	{ "tzcnt of zero: operand size, CF", .code = "f3 0f bc c3", .len = 4, .check = R(RAX),
	  .want = { [X86_RAX] = 32 }, .flags_mask = X86_FLAGS_CF | X86_FLAGS_ZF, .flags_want = X86_FLAGS_CF },
	/* x87 and interrupts */
	{ "fwait", .code = "9b", .len = 1 },
	{ "fwait with CR0.TS and MP: #NM", .code = "9b", .cr0_or = X86_CR0_TS, EXC(X86_VEC_NM, -1) },
	{ "fnop", .code = "d9 d0", .len = 2 },
	{ "fnop with CR0.TS: #NM", .code = "d9 d0", .cr0_or = X86_CR0_TS, EXC(X86_VEC_NM, -1) },
	{ "fnstcw m16", .code = "d9 3e", .gpr = { [X86_RSI] = DATA }, .len = 2, .want_at = DATA, .want_mem = "7f 03" },
	{ "fnstsw ax", .code = "df e0", .gpr = { [X86_RAX] = ~0ull }, .len = 2, .check = R(RAX),
	  .want = { [X86_RAX] = 0xffffffffffff0000ull } },
	{ "int3: #BP after the instruction", .code = "cc", EXC(X86_VEC_BP, -1), .event_type = X86_EVENT_TRAP, .len = 1 },
	{ "int 0x80: software interrupt", .code = "cd 80", EXC(0x80, -1), .event_type = X86_EVENT_SOFT_INT, .len = 2 },
	/* VMX: guests have none */
	{ "vmclear: #UD", .code = "66 0f c7 36", .gpr = { [X86_RSI] = DATA }, EXC(X86_VEC_UD, -1) },
	{ "vmptrld: #UD", .code = "0f c7 36", .gpr = { [X86_RSI] = DATA }, EXC(X86_VEC_UD, -1) },
	{ "vmxon: #UD", .code = "f3 0f c7 36", .gpr = { [X86_RSI] = DATA }, EXC(X86_VEC_UD, -1) },
	{ "0f c7 /0: #UD", .code = "0f c7 06", EXC(X86_VEC_UD, -1) },
	/* MXCSR */
	{ "stmxcsr", .code = "0f ae 1e", .gpr = { [X86_RSI] = DATA }, .len = 3, .want_at = DATA, .want_mem = "80 1f 0 0" },
	{ "ldmxcsr then the state holds it", .code = "0f ae 16", .gpr = { [X86_RSI] = DATA }, .mem_at = DATA,
	  .mem = "80 7f 0 0", .len = 3 },
	{ "ldmxcsr with reserved bits: #GP(0)", .code = "0f ae 16", .gpr = { [X86_RSI] = DATA }, .mem_at = DATA,
	  .mem = "80 1f 01 0", EXC(X86_VEC_GP, 0) },
	{ "stmxcsr with CR0.TS: #NM", .code = "0f ae 1e", .cr0_or = X86_CR0_TS, .gpr = { [X86_RSI] = DATA },
	  EXC(X86_VEC_NM, -1) },
	{ "fxsave misaligned: #GP(0)", .code = "0f ae 06", .gpr = { [X86_RSI] = DATA + 8 }, EXC(X86_VEC_GP, 0) },
	{ "xsave misaligned: #GP(0)", .code = "0f ae 26", .gpr = { [X86_RSI] = DATA + 16, [X86_RAX] = 3 },
	  EXC(X86_VEC_GP, 0) },
	{ "xrstor with XSTATE_BV beyond XCR0: #GP(0)", .code = "0f ae 2e", .gpr = { [X86_RSI] = DATA, [X86_RAX] = 7 },
	  .mem_at = DATA + 512, .mem = "08", EXC(X86_VEC_GP, 0) },
	{ "xrstor with reserved header bytes: #GP(0)", .code = "0f ae 2e", .gpr = { [X86_RSI] = DATA, [X86_RAX] = 7 },
	  .mem_at = DATA + 512, .mem = "03 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 01", EXC(X86_VEC_GP, 0) },
	{ "xrstor of an MXCSR with reserved bits: #GP(0)", .code = "0f ae 2e",
	  .gpr = { [X86_RSI] = DATA, [X86_RAX] = 3 }, .mem_at = DATA + 24, .mem = "0 0 0 80", EXC(X86_VEC_GP, 0) },
	{ "xrstors of a standard-format area: #GP(0)", .code = "0f c7 1e",
	  .gpr = { [X86_RSI] = DATA, [X86_RAX] = 3 }, EXC(X86_VEC_GP, 0) },
	{ "xgetbv 0: XCR0", .code = "0f 01 d0", .gpr = { [X86_RCX] = 0 },
	  .len = 3, .check = R(RAX) | R(RDX), .want = { [X86_RAX] = 7, [X86_RDX] = 0 } },
	{ "xgetbv 2: #GP(0)", .code = "0f 01 d0", .gpr = { [X86_RCX] = 2 }, EXC(X86_VEC_GP, 0) },
	/* the rest of the family */
	{ "lfence", .code = "0f ae e8", .len = 3 },
	{ "clflushopt", .code = "66 0f ae 3e", .gpr = { [X86_RSI] = DATA }, .len = 4 },
	{ "rdrand r64", .code = "48 0f c7 f0", .len = 4, .check = R(RAX), .want = { [X86_RAX] = 0x0123456789abcdefull },
	  .flags_mask = ARITH, .flags_want = X86_FLAGS_CF },
	{ "rdpid", .code = "f3 0f c7 f8", .len = 4, .check = R(RAX), .want = { [X86_RAX] = FAKE_X86_TSC_AUX } },
	{ "rdgsbase r64", .code = "f3 48 0f ae cb", .seg_base = { [X86_GS] = 0xffff888000000000ull }, .len = 5,
	  .check = R(RBX), .want = { [X86_RBX] = 0xffff888000000000ull } },
	{ "wrfsbase non-canonical: #GP(0)", .code = "f3 48 0f ae d3", .gpr = { [X86_RBX] = 1ull << 60 },
	  EXC(X86_VEC_GP, 0) },
	{ "stac", .code = "0f 01 cb", .len = 3, .flags_mask = X86_FLAGS_AC, .flags_want = X86_FLAGS_AC },
	{ "clac", .code = "0f 01 ca", .rflags = 2 | X86_FLAGS_AC, .len = 3, .flags_mask = X86_FLAGS_AC, .flags_want = 0 },
	{ "swapgs in 32-bit mode: #UD", .mode = X86_MODE_PROT32, .code = "0f 01 f8", EXC(X86_VEC_UD, -1) },
	{ "crc32 r32, r/m8", .code = "f2 0f 38 f0 c3", .gpr = { [X86_RAX] = 0, [X86_RBX] = 0x01 }, .len = 5,
	  .check = R(RAX), .want = { [X86_RAX] = 0xf26b8303 } },
	/* addressing forms, through popcnt of the 64-bit word 0x0f at DATA + 0x20 */
	{ "SIB base + index*4", .code = "f3 48 0f b8 04 8b", .gpr = { [X86_RBX] = DATA, [X86_RCX] = 8 },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 6, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "disp8, negative", .code = "f3 48 0f b8 46 f8", .gpr = { [X86_RSI] = DATA + 0x28 },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 6, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "disp32", .code = "f3 48 0f b8 86 00 01 00 00", .gpr = { [X86_RSI] = DATA - 0xe0 },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 9, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "RIP-relative", .code = "f3 48 0f b8 05 17 10 00 00", .mem_at = DATA + 0x20, .mem = "0f", .len = 9,
	  .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "REX.X: index r8", .code = "f3 4a 0f b8 04 03", .gpr = { [X86_RBX] = DATA, [X86_R8] = 0x20 },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 6, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "REX.B: base r13 + disp8", .code = "f3 49 0f b8 45 10", .gpr = { [X86_R13] = DATA + 0x10 },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 6, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "REX.R: destination r10", .code = "f3 4c 0f b8 14 25 20 10 10 00", .mem_at = DATA + 0x20, .mem = "0f",
	  .len = 10, .check = R(R10), .want = { [X86_R10] = 4 } },
	{ "fs override", .code = "64 f3 48 0f b8 06", .seg_base = { [X86_FS] = 0x1000 }, .gpr = { [X86_RSI] = DATA - 0xfe0 },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 6, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "gs override", .code = "65 f3 48 0f b8 06", .seg_base = { [X86_GS] = DATA }, .gpr = { [X86_RSI] = 0x20 },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 6, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "ds base ignored in 64-bit mode", .code = "f3 48 0f b8 06", .seg_base = { [X86_DS] = 0x1000 },
	  .gpr = { [X86_RSI] = DATA + 0x20 }, .mem_at = DATA + 0x20, .mem = "0f", .len = 5, .check = R(RAX),
	  .want = { [X86_RAX] = 4 } },
	{ "67: 32-bit address in 64-bit mode", .code = "67 f3 48 0f b8 06", .gpr = { [X86_RSI] = 0xffffffff00000000ull | (DATA + 0x20) },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 6, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "32-bit mode: ds base + esi", .mode = X86_MODE_PROT32, .code = "f3 0f b8 06", .seg_base = { [X86_DS] = 0x1000 },
	  .gpr = { [X86_RSI] = DATA - 0xfe0 }, .mem_at = DATA + 0x20, .mem = "0f", .len = 4, .check = R(RAX),
	  .want = { [X86_RAX] = 4 } },
	{ "32-bit mode: 40 is inc, not REX", .mode = X86_MODE_PROT32, .code = "40 f3 0f b8 c3", .status = X86_EMU_UNHANDLED },
	{ "32-bit mode, 67: [bx+si] 16-bit addressing", .mode = X86_MODE_PROT32, .code = "67 f3 0f b8 00",
	  .seg_base = { [X86_DS] = DATA }, .gpr = { [X86_RBX] = 0x10, [X86_RSI] = 0x10 }, .mem_at = DATA + 0x20,
	  .mem = "0f", .len = 5, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	{ "32-bit mode, ss default for [ebp+disp8]", .mode = X86_MODE_PROT32, .code = "f3 0f b8 45 10",
	  .seg_base = { [X86_SS] = 0x10, [X86_DS] = 0x999 }, .gpr = { [X86_RBP] = DATA },
	  .mem_at = DATA + 0x20, .mem = "0f", .len = 5, .check = R(RAX), .want = { [X86_RAX] = 4 } },
	/* faults and refusals */
	{ "unmapped operand: #PF, not present", .code = "f3 48 0f b8 06", .gpr = { [X86_RSI] = UNMAPPED + 8 },
	  EXC(X86_VEC_PF, 0), .want_cr2 = UNMAPPED + 8 },
	{ "stmxcsr to a read-only page: #PF(P|W)", .code = "0f ae 1e", .gpr = { [X86_RSI] = READONLY },
	  EXC(X86_VEC_PF, 3), .want_cr2 = READONLY },
	{ "fxsave across into an unmapped page: #PF, nothing written", .code = "0f ae 06",
	  .gpr = { [X86_RSI] = UNMAPPED - 256 }, EXC(X86_VEC_PF, 2), .want_cr2 = UNMAPPED,
	  .want_at = UNMAPPED - 256, .want_mem = "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0" },
	{ "non-canonical operand: #GP(0)", .code = "f3 48 0f b8 06", .gpr = { [X86_RSI] = 1ull << 50 }, EXC(X86_VEC_GP, 0) },
	{ "more than 15 bytes: #GP(0)", .code = "66 66 66 66 66 66 66 66 66 66 66 f3 48 0f b8 c3", EXC(X86_VEC_GP, 0) },
	{ "an opcode we do not emulate", .code = "90", .status = X86_EMU_UNHANDLED },
	/* fldcw [rax-1] with rax 0: the 2-byte operand would wrap to address 0 (found by the fuzzer). */
	{ "operand wrapping the address space", .code = "d9 6c 20 ff", .status = X86_EMU_UNHANDLED },
	{ "another form of 0f 01 (sgdt)", .code = "0f 01 06", .status = X86_EMU_UNHANDLED },
	{ "real mode", .mode = -1, .code = "f3 0f b8 c3", .status = X86_EMU_UNHANDLED },
};

static struct fake_x86 *setup(const struct row *r)
{
	struct fake_x86 *f = fake_x86_new();

	memcpy(f->cpu.gpr, r->gpr, sizeof(r->gpr));
	memcpy(f->cpu.seg_base, r->seg_base, sizeof(r->seg_base));
	f->cpu.mode = r->mode < 0 ? X86_MODE_UNSUPPORTED : r->mode ? (enum x86_mode)r->mode : X86_MODE_LONG64;
	if (r->rflags)
		f->cpu.rflags = r->rflags;
	f->cpu.cr0 |= r->cr0_or;
	f->page[(UNMAPPED - FAKE_X86_BASE) / 4096] = 0;
	f->page[(READONLY - FAKE_X86_BASE) / 4096] = FAKE_X86_PRESENT;
	fake_x86_code(f, r->code);
	if (r->mem)
		fake_x86_put_hex(f, r->mem_at, r->mem);
	return f;
}

static void test_row(struct unit *u, const void *arg)
{
	const struct row *r = arg;
	struct fake_x86 *f = setup(r);
	struct x86_emu_cpu before = f->cpu;
	struct x86_emu_result res;
	uint8_t want[64];

	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == r->status, "status %d (%s), expected %d", res.status, res.why, r->status);
	if (res.status == X86_EMU_EXCEPTION && r->status == X86_EMU_EXCEPTION) {
		CHECK_INT(res.event.vector, r->vector);
		CHECK_INT(res.event.has_error_code ? (int)res.event.error_code : -1, r->error_code);
		CHECK_INT(res.event.type, r->event_type);
		if (r->vector == X86_VEC_PF)
			CHECK(f->cpu.cr2 == r->want_cr2, "cr2 %#llx, expected %#llx", (unsigned long long)f->cpu.cr2,
			      (unsigned long long)r->want_cr2);
	}
	uint64_t want_rip = before.rip + (r->status == X86_EMU_DONE || r->event_type != X86_EVENT_FAULT ? r->len : 0);
	CHECK(f->cpu.rip == want_rip, "rip %#llx, expected %#llx", (unsigned long long)f->cpu.rip,
	      (unsigned long long)want_rip);
	for (int i = 0; i < 16; i++) {
		uint64_t w = r->check & (1u << i) ? r->want[i] : before.gpr[i];
		CHECK(f->cpu.gpr[i] == w, "gpr %d is %#llx, expected %#llx", i, (unsigned long long)f->cpu.gpr[i],
		      (unsigned long long)w);
	}
	CHECK((f->cpu.rflags & r->flags_mask) == r->flags_want, "rflags %#llx, wanted %#x under %#x",
	      (unsigned long long)f->cpu.rflags, r->flags_want, r->flags_mask);
	if (r->want_mem) {
		struct fake_x86 *g = fake_x86_new();
		unsigned int n = fake_x86_put_hex(g, DATA, r->want_mem);
		memcpy(want, fake_x86_mem(g, DATA), n);
		fake_x86_free(g);
		CHECK(!memcmp(fake_x86_mem(f, r->want_at), want, n), "memory at %#llx differs",
		      (unsigned long long)r->want_at);
	}
	if (!strcmp(r->name, "ldmxcsr then the state holds it"))
		CHECK(f->xbuf[24] == 0x80 && f->xbuf[25] == 0x7f && (f->xbuf[512] & 2) && f->xs.dirty,
		      "MXCSR in the state %02x%02x, XSTATE_BV %#x", f->xbuf[25], f->xbuf[24], f->xbuf[512]);
	CHECK(f->fetch_lo >= before.rip && f->fetch_hi <= before.rip + 15, "fetched [%#llx, %#llx)",
	      (unsigned long long)f->fetch_lo, (unsigned long long)f->fetch_hi);
	CHECK(!f->out_of_range, "an access went outside the fake memory");
	fake_x86_free(f);
}

/* An instruction whose bytes run into an unmapped page: #PF on the fetch, cr2 = the page. */
static void test_fetch_fault(struct unit *u, const void *arg)
{
	struct fake_x86 *f = fake_x86_new();
	struct x86_emu_result res;

	(void)arg;
	f->page[(UNMAPPED - FAKE_X86_BASE) / 4096] = 0;
	f->cpu.rip = UNMAPPED - 3;
	fake_x86_code(f, "f3 48 0f");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_EXCEPTION && res.event.vector == X86_VEC_PF, "status %d vector %u",
	      res.status, res.event.vector);
	CHECK(res.event.error_code == 16, "error code %#x, expected I (fetch)", res.event.error_code);
	CHECK(f->cpu.cr2 == UNMAPPED, "cr2 %#llx", (unsigned long long)f->cpu.cr2);
	CHECK(f->cpu.rip == UNMAPPED - 3, "rip moved");
	/* A one-byte instruction right before the hole does not fault. */
	f->cpu.rip = UNMAPPED - 1;
	fake_x86_code(f, "9b");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_DONE && f->cpu.rip == UNMAPPED, "fwait before the hole: %d", res.status);
	fake_x86_free(f);
}

/* A known FPU state: FCW, MXCSR, x87 stack and every XMM/YMM/ZMM byte non-trivial. */
static void known_state(uint8_t *s, size_t size, const struct x86_xstate_layout *l, uint64_t mask, uint32_t mxcsr_mask)
{
	memset(s, 0, size);
	for (size_t i = 32; i < 416; i++)
		s[i] = (uint8_t)(i * 7 + 1);
	for (int st = 0; st < 8; st++)
		memset(s + 32 + 16 * st + 10, 0, 6);      /* ST registers are 10 bytes in 16 */
	s[0] = 0x7f, s[1] = 0x03;                         /* FCW */
	s[2] = 0x00, s[3] = 0x38;                         /* FSW: TOP = 7 */
	s[4] = 0x80;                                      /* FTW: ST(7)... one register valid */
	uint32_t mxcsr = 0x3f80;
	memcpy(s + 24, &mxcsr, 4);
	memcpy(s + 28, &mxcsr_mask, 4);
	for (int c = 2; c < 8; c++)
		if ((mask & (1ull << c)) && l->size[c] && l->offset[c] + l->size[c] <= size)
			for (uint32_t i = 0; i < l->size[c]; i++)
				s[l->offset[c] + i] = (uint8_t)(i * 13 + c);
	if (size >= 576)
		memcpy(s + 512, &mask, 8);
}

static bool host_has(unsigned int leaf, unsigned int reg, unsigned int bit)
{
	unsigned int r[4];
	if (__get_cpuid_max(0, NULL) < leaf)
		return false;
	__cpuid_count(leaf, 0, r[0], r[1], r[2], r[3]);
	return r[reg] & (1u << bit);
}

static uint32_t host_mxcsr_mask(void)
{
	uint8_t a[512] __attribute__((aligned(16))) = { 0 };
	uint32_t m;
	__asm__ volatile("fxsave64 %0" : "=m"(a));
	memcpy(&m, a + 28, 4);
	return m ? m : 0xffbf;
}

/* Emulates `code` with rsi = DATA + 0x1000 (64-byte aligned) over memory filled with 0xcc. */
static struct x86_emu_result emulate_save(struct fake_x86 *f, const char *code, uint64_t rfbm)
{
	struct x86_emu_result res;

	memset(fake_x86_mem(f, DATA + 0x1000), 0xcc, 0x4000);
	f->cpu.rip = CODE;
	f->cpu.gpr[X86_RSI] = DATA + 0x1000;
	f->cpu.gpr[X86_RAX] = (uint32_t)rfbm;
	f->cpu.gpr[X86_RDX] = rfbm >> 32;
	fake_x86_code(f, code);
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	return res;
}

static void test_native_fxsave(struct unit *u, const void *arg)
{
	(void)arg;
	struct fake_x86 *f = fake_x86_new();
	uint8_t orig[512] __attribute__((aligned(16))), s[512] __attribute__((aligned(16)));
	uint8_t a64[512] __attribute__((aligned(16))), a32[512] __attribute__((aligned(16)));
	uint32_t mask = host_mxcsr_mask();

	known_state(s, sizeof(s), &f->layout, 3, mask);
	memset(a64, 0xcc, sizeof(a64));
	memset(a32, 0xcc, sizeof(a32));
	__asm__ volatile("fxsave64 %0\n\tfxrstor64 %1\n\tfxsave64 %2\n\tfxsave %3\n\tfxrstor64 %0"
			 : "+m"(orig), "+m"(s), "+m"(a64), "+m"(a32) : : "memory");
	known_state(f->xbuf, FAKE_X86_XSAVE_SIZE, &f->layout, 3, mask);
	f->xs.mxcsr_mask = mask;
	struct x86_emu_result res = emulate_save(f, "48 0f ae 06", 0);
	CHECK(res.status == X86_EMU_DONE, "fxsave64: status %d (%s)", res.status, res.why);
	CHECK(!memcmp(fake_x86_mem(f, DATA + 0x1000), a64, 416), "fxsave64 bytes 0-415 differ from the CPU's");
	res = emulate_save(f, "0f ae 06", 0);
	uint8_t *m = fake_x86_mem(f, DATA + 0x1000);
	CHECK(res.status == X86_EMU_DONE, "fxsave: status %d (%s)", res.status, res.why);
	/* FCS and FDS (bytes 12-15, 20-23) hold whatever selectors the CPU last had. */
	CHECK(!memcmp(m, a32, 12) && !memcmp(m + 16, a32 + 16, 4) && !memcmp(m + 24, a32 + 24, 416 - 24),
	      "fxsave (32-bit format) differs from the CPU's");
	/* And back: fxrstor of what the CPU saved leaves the state we started from. */
	memcpy(m, a64, 512);
	memset(f->xbuf, 0, 512);
	f->cpu.rip = CODE;
	fake_x86_code(f, "48 0f ae 0e");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	/* (MXCSR_MASK, bytes 28-31, is the CPU's and never loaded.) */
	CHECK(res.status == X86_EMU_DONE && !memcmp(f->xbuf, s, 28) && !memcmp(f->xbuf + 32, s + 32, 416 - 32),
	      "fxrstor64 did not restore the state");
	fake_x86_free(f);
}

static void test_native_xsave(struct unit *u, const void *arg)
{
	(void)arg;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	uint64_t xcr0 = (uint64_t)hi << 32 | lo;
	uint64_t mask = xcr0 & 0xe7;                     /* x87, SSE, AVX, AVX-512; not MPX, PKRU, AMX */
	struct fake_x86 *f = fake_x86_new();
	unsigned int a, b, c, d;
	__cpuid_count(0xd, 0, a, b, c, d);
	size_t size = (b + 63) & ~63u;
	CHECK(size <= 0x4000, "the host's XSAVE area is %zu bytes", size);
	if (size > 0x4000)
		size = 0x4000;
	uint8_t *orig = aligned_alloc(64, size), *s = aligned_alloc(64, size), *nat = aligned_alloc(64, size);
	if (!orig || !s || !nat)
		abort();
	uint32_t mxmask = host_mxcsr_mask();
	known_state(s, size, &f->layout, mask, mxmask);
	memset(orig, 0, size);
	memset(nat, 0xcc, size);
	memset(orig + 512, 0, 64);
	__asm__ volatile("xsave64 (%0)\n\txrstor64 (%1)\n\txsave64 (%2)\n\txrstor64 (%0)"
			 : : "r"(orig), "r"(s), "r"(nat), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");

	known_state(f->xbuf, FAKE_X86_XSAVE_SIZE, &f->layout, mask, mxmask);
	f->xs.xcr0 = xcr0;
	f->xs.mxcsr_mask = mxmask;
	struct x86_emu_result res = emulate_save(f, "48 0f ae 26", mask);
	uint8_t *m = fake_x86_mem(f, DATA + 0x1000);
	CHECK(res.status == X86_EMU_DONE, "xsave64: status %d (%s)", res.status, res.why);
	CHECK(!memcmp(m, nat, 416), "legacy region differs from the CPU's");
	CHECK(!memcmp(m + 512, nat + 512, 8), "XSTATE_BV %#llx, the CPU wrote %#llx",
	      (unsigned long long)*(uint64_t *)(m + 512), (unsigned long long)*(uint64_t *)(nat + 512));
	for (int i = 2; i < 8; i++)
		if ((mask & (1ull << i)) && f->layout.size[i])
			CHECK(!memcmp(m + f->layout.offset[i], nat + f->layout.offset[i], f->layout.size[i]),
			      "component %d differs from the CPU's", i);
	printf("# xsave compared with the host CPU for XCR0 %#llx, components %#llx\n",
	       (unsigned long long)xcr0, (unsigned long long)mask);
	free(orig);
	free(s);
	free(nat);
	fake_x86_free(f);
}

static void test_native_stmxcsr(struct unit *u, const void *arg)
{
	(void)arg;
	uint32_t nat = 0, mx;
	struct fake_x86 *f = fake_x86_new();

	__asm__ volatile("stmxcsr %0" : "=m"(nat));
	memcpy(f->xbuf + 24, &nat, 4);
	struct x86_emu_result res = emulate_save(f, "0f ae 1e", 0);
	memcpy(&mx, fake_x86_mem(f, DATA + 0x1000), 4);
	CHECK(res.status == X86_EMU_DONE && mx == nat, "stmxcsr %#x, the CPU says %#x", mx, nat);
	fake_x86_free(f);
}

/* popcnt and crc32 against the CPU on a spread of values, flags included. */
static void test_native_bits(struct unit *u, const void *arg)
{
	(void)arg;
	uint64_t v = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 200; i++, v = v * 6364136223846793005ull + 1442695040888963407ull) {
		uint64_t x = i < 3 ? (uint64_t)i - 1 : v >> (i % 64);
		uint64_t nat, natf, acc = 0x12345678;
		__asm__ volatile("popcnt %2, %0\n\tpushfq\n\tpopq %1" : "=&r"(nat), "=r"(natf) : "r"(x) : "cc");
		struct fake_x86 *f = fake_x86_new();
		struct x86_emu_result res;
		f->cpu.gpr[X86_RBX] = x;
		fake_x86_code(f, "f3 48 0f b8 c3");
		x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
		CHECK(res.status == X86_EMU_DONE && f->cpu.gpr[X86_RAX] == nat &&
		      (f->cpu.rflags & ARITH) == (natf & ARITH), "popcnt %#llx: %llu flags %#llx, CPU %llu flags %#llx",
		      (unsigned long long)x, (unsigned long long)f->cpu.gpr[X86_RAX],
		      (unsigned long long)f->cpu.rflags, (unsigned long long)nat, (unsigned long long)natf);
		__asm__("crc32q %1, %0" : "+r"(acc) : "r"(x));
		f->cpu.rip = CODE;
		f->cpu.gpr[X86_RAX] = 0x12345678;
		fake_x86_code(f, "f2 48 0f 38 f1 c3");
		x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
		CHECK(res.status == X86_EMU_DONE && f->cpu.gpr[X86_RAX] == acc, "crc32q %#llx: %#llx, CPU %#llx",
		      (unsigned long long)x, (unsigned long long)f->cpu.gpr[X86_RAX], (unsigned long long)acc);
		fake_x86_free(f);
	}
}

/* XCR0 subsets and XSTATE_BV: xsave with RFBM = x87|SSE leaves AVX and its XSTATE_BV bit as memory had
 * them; xrstor of a header without SSE puts the XMM registers back to zero; xsavec packs. */
static void test_xsave_subsets(struct unit *u, const void *arg)
{
	(void)arg;
	struct fake_x86 *f = fake_x86_new();
	const struct x86_xstate_layout *l = &f->layout;
	uint8_t *m;
	uint64_t bv;

	known_state(f->xbuf, FAKE_X86_XSAVE_SIZE, l, 7, 0xffff);
	struct x86_emu_result res = emulate_save(f, "0f ae 26", 3);
	m = fake_x86_mem(f, DATA + 0x1000);
	memcpy(&bv, m + 512, 8);
	CHECK(res.status == X86_EMU_DONE, "xsave: %d (%s)", res.status, res.why);
	CHECK(bv == (0xccccccccccccccccull & ~3ull) + 3, "XSTATE_BV %#llx", (unsigned long long)bv);
	CHECK(m[l->offset[2]] == 0xcc && m[l->offset[2] + l->size[2] - 1] == 0xcc, "AVX state written without RFBM[2]");
	CHECK(!memcmp(m + 160, f->xbuf + 160, 256), "XMM registers not saved");
	CHECK(m[416] == 0xcc, "xsave wrote reserved bytes 416+");

	/* RFBM limited by XCR0: asking for AVX with XCR0 = x87|SSE saves no AVX. */
	f->xs.xcr0 = 3;
	res = emulate_save(f, "0f ae 26", 7);
	CHECK(res.status == X86_EMU_DONE && m[l->offset[2]] == 0xcc, "AVX saved with XCR0 = 3");
	f->xs.xcr0 = 7;

	/* xrstor: header says x87 only, RFBM asks for x87|SSE|AVX: SSE and AVX go to init. */
	memset(m, 0, 1024);
	m[0] = 0x7f, m[1] = 0x03, m[24] = 0x80, m[25] = 0x1f;
	m[512] = 1;
	f->cpu.rip = CODE;
	f->cpu.gpr[X86_RAX] = 7;
	fake_x86_code(f, "0f ae 2e");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	memcpy(&bv, f->xbuf + 512, 8);
	CHECK(res.status == X86_EMU_DONE, "xrstor: %d (%s)", res.status, res.why);
	CHECK(bv == 1, "state XSTATE_BV %#llx, expected 1", (unsigned long long)bv);
	CHECK(f->xbuf[160] == 0 && f->xbuf[l->offset[2]] == 0, "SSE/AVX not back to init");
	CHECK(f->xbuf[32] == 0, "x87 not loaded");

	/* xrstor with RFBM = x87 only leaves SSE alone. */
	known_state(f->xbuf, FAKE_X86_XSAVE_SIZE, l, 7, 0xffff);
	f->cpu.rip = CODE;
	f->cpu.gpr[X86_RAX] = 1;
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	memcpy(&bv, f->xbuf + 512, 8);
	CHECK(res.status == X86_EMU_DONE && bv == 7 && f->xbuf[160] == (uint8_t)(160 * 7 + 1),
	      "xrstor RFBM=1 touched SSE: bv %#llx", (unsigned long long)bv);

	/* xsavec then xrstor (compacted) round-trips the state. */
	known_state(f->xbuf, FAKE_X86_XSAVE_SIZE, l, 7, 0xffff);
	uint8_t *saved = malloc(FAKE_X86_XSAVE_SIZE);
	memcpy(saved, f->xbuf, FAKE_X86_XSAVE_SIZE);
	res = emulate_save(f, "0f c7 26", 7);
	uint64_t comp;
	memcpy(&bv, m + 512, 8);
	memcpy(&comp, m + 520, 8);
	CHECK(res.status == X86_EMU_DONE && bv == 7 && comp == (7 | 1ull << 63), "xsavec header %#llx %#llx",
	      (unsigned long long)bv, (unsigned long long)comp);
	CHECK(!memcmp(m + 576, f->xbuf + l->offset[2], l->size[2]), "xsavec: AVX not at 576");
	memset(m + 528, 0, 48);
	memset(f->xbuf, 0, FAKE_X86_XSAVE_SIZE);
	f->cpu.rip = CODE;
	fake_x86_code(f, "0f ae 2e");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_DONE, "xrstor compacted: %d (%s)", res.status, res.why);
	CHECK(!memcmp(f->xbuf, saved, 28) && !memcmp(f->xbuf + 32, saved + 32, 416 - 32) && !memcmp(f->xbuf + 512, saved + 512, 8) &&
	      !memcmp(f->xbuf + l->offset[2], saved + l->offset[2], l->size[2]), "compacted round trip lost state");
	free(saved);
	fake_x86_free(f);
}

/* swapgs exchanges GS.base and IA32_KERNEL_GS_BASE, only in ring 0. */
static void test_swapgs(struct unit *u, const void *arg)
{
	(void)arg;
	struct fake_x86 *f = fake_x86_new();
	struct x86_emu_result res;

	f->cpu.seg_base[X86_GS] = 0x1111;
	f->kernel_gs_base = 0xffff888000002222ull;
	fake_x86_code(f, "0f 01 f8");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_DONE && f->cpu.seg_base[X86_GS] == 0xffff888000002222ull &&
	      f->kernel_gs_base == 0x1111 && f->cpu.sregs_dirty && f->cpu.rip == CODE + 3, "swapgs: %d", res.status);
	f->cpu.rip = CODE;
	f->cpu.cpl = 3;
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_EXCEPTION && res.event.vector == X86_VEC_GP && f->kernel_gs_base == 0x1111,
	      "swapgs from ring 3: %d", res.status);
	fake_x86_code(f, "0f 01 cb");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_EXCEPTION && res.event.vector == X86_VEC_UD, "stac from ring 3: %d", res.status);
	fake_x86_free(f);
}

/* rdpkru/wrpkru on XSAVE component 9; serialize. */
static void test_pkru(struct unit *u, const void *arg)
{
	(void)arg;
	struct fake_x86 *f = fake_x86_new();
	struct x86_emu_result res;

	if (!f->layout.size[9]) {            /* a host without PKU: its usual place */
		f->layout.offset[9] = 2688;
		f->layout.size[9] = 8;
	}
	fake_x86_code(f, "0f 01 ee");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_EXCEPTION && res.event.vector == X86_VEC_UD, "rdpkru without CR4.PKE: %d", res.status);
	f->cpu.cr4 |= X86_CR4_PKE;
	f->cpu.gpr[X86_RAX] = 0x55555554;
	fake_x86_code(f, "0f 01 ef");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	uint32_t v;
	memcpy(&v, f->xbuf + f->layout.offset[9], 4);
	CHECK(res.status == X86_EMU_DONE && v == 0x55555554 && (f->xbuf[513] & 2) && f->xs.dirty, "wrpkru: %d, %#x",
	      res.status, v);
	f->cpu.rip = CODE;
	f->cpu.gpr[X86_RAX] = 0;
	fake_x86_code(f, "0f 01 ee");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_DONE && f->cpu.gpr[X86_RAX] == 0x55555554, "rdpkru: %#llx",
	      (unsigned long long)f->cpu.gpr[X86_RAX]);
	f->cpu.rip = CODE;
	f->cpu.gpr[X86_RCX] = 1;
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_EXCEPTION && res.event.vector == X86_VEC_GP, "rdpkru with ecx 1: %d", res.status);
	f->cpu.rip = CODE;
	fake_x86_code(f, "0f 01 e8");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_DONE && f->cpu.rip == CODE + 3, "serialize: %d", res.status);
	fake_x86_free(f);
}

/* A state the VMM cannot get (no KVM_GET_XSAVE): FPU instructions give up, others still run. */
static void test_no_xstate(struct unit *u, const void *arg)
{
	(void)arg;
	struct fake_x86 *f = fake_x86_new();
	struct x86_emu_result res;

	f->no_xstate = true;
	f->cpu.gpr[X86_RSI] = DATA;
	fake_x86_code(f, "0f ae 1e");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_UNHANDLED && f->cpu.rip == CODE, "stmxcsr without state: %d", res.status);
	CHECK(res.n_bytes == 15 && res.bytes[0] == 0x0f, "bytes for the message: %u", res.n_bytes);
	f->xstate_calls = 0;
	fake_x86_code(f, "f3 0f b8 c3");
	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);
	CHECK(res.status == X86_EMU_DONE && f->xstate_calls == 0, "popcnt asked for the FPU state");
	CHECK_STR(x86_emu_kind_name(res.kind), "popcnt");
	fake_x86_free(f);
}

/* The KVM adapter (vcpu_emulate.c) on a fake domain, as far as it goes without KVM: registers from
 * and back to the sync-regs area, memory through the real page walker in 64-bit long mode (an
 * identity map of 2 MiB pages, the one at 4 MiB read-only), atomics on guest RAM, and the messages
 * when it must give up (the event ioctls fail here: there is no vCPU fd). */
static void test_adapter(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	struct vcpu *v = &d->vcpus[0];
	struct kvm_regs *r = &v->run->s.regs.regs;
	struct kvm_sregs *sr = &v->run->s.regs.sregs;
	struct x86_emu_stats stats = { 0 };
	char why[256];
	uint64_t e;

	e = 0x2000 | 3, fake_put(d, 0x1000, &e, 8);                 /* PML4[0] -> PDPT */
	e = 0x3000 | 3, fake_put(d, 0x2000, &e, 8);                 /* PDPT[0] -> PD */
	for (uint64_t i = 0; i < 4; i++) {
		e = (i << 21) | (i == 2 ? 0x81 : 0x83);
		fake_put(d, 0x3000 + 8 * i, &e, 8);
	}
	sr->cr0 = 0x80050033;
	sr->cr3 = 0x1000;
	sr->cr4 = 0x20 | X86_CR4_OSFXSR;
	sr->efer = 0x500;
	sr->cs.l = 1;
	/* popcnt rax, [rsi]; the result comes back through kvm_dirty_regs */
	fake_put(d, 0x10000, "\xf3\x48\x0f\xb8\x06", 5);
	fake_put(d, 0x20000, "\xff\x01\0\0\0\0\0\0", 8);
	r->rip = 0x10000, r->rsi = 0x20000;
	CHECK(vcpu_emulate(v, &stats, why, sizeof(why)), "popcnt: %s", why);
	CHECK(r->rax == 9 && r->rip == 0x10005, "rax %llu rip %#llx", r->rax, r->rip);
	CHECK(v->run->kvm_dirty_regs & KVM_SYNC_X86_REGS, "registers not marked for KVM");
	CHECK(stats.count[X86_KIND_POPCNT] == 1, "not counted");
	/* lock cmpxchg16b [rsi]: swapped in guest RAM */
	fake_put(d, 0x10000, "\xf0\x48\x0f\xc7\x0e", 5);
	fake_put(d, 0x20000, "\x01\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0", 16);
	r->rip = 0x10000, r->rax = 1, r->rdx = 2, r->rbx = 0x1111, r->rcx = 0x2222;
	CHECK(vcpu_emulate(v, &stats, why, sizeof(why)), "cmpxchg16b: %s", why);
	uint64_t m[2];
	fake_get(d, 0x20000, m, 16);
	CHECK(m[0] == 0x1111 && m[1] == 0x2222 && (r->rflags & X86_FLAGS_ZF), "cmpxchg16b left %#llx %#llx",
	      (unsigned long long)m[0], (unsigned long long)m[1]);
	/* A write to the read-only 2 MiB page: #PF(P|W) to inject, which needs KVM. */
	r->rip = 0x10000, r->rsi = 0x400000;
	CHECK(!vcpu_emulate(v, &stats, why, sizeof(why)) && strstr(why, "KVM_GET_VCPU_EVENTS"), "why: %s", why);
	CHECK(sr->cr2 != 0x400000 && r->rip == 0x10000, "state written back before the event was queued");
	/* An instruction we do not do: the message names its bytes. */
	fake_put(d, 0x10000, "\x0f\x0b\x90", 3);
	r->rip = 0x10000;
	CHECK(!vcpu_emulate(v, &stats, why, sizeof(why)) && strstr(why, "0f 0b 90"), "why: %s", why);
	CHECK(stats.unhandled == 1, "unhandled %llu", (unsigned long long)stats.unhandled);
	fake_domain_free(d);
}

/* A case that needs the host CPU to have a feature: skipped, saying which, when it has not. */
static void native_case(struct unit *u, const char *name, unit_fn fn, const char *skip_why)
{
	if (skip_why)
		printf("skip - %s: %s\n", name, skip_why);
	else
		unit_case(u, name, fn, NULL);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		unit_case(&u, rows[i].name, test_row, &rows[i]);
	unit_case(&u, "instruction fetch into an unmapped page: #PF", test_fetch_fault, NULL);
	unit_case(&u, "xsave/xrstor with XCR0 subsets, XSTATE_BV, compacted", test_xsave_subsets, NULL);
	unit_case(&u, "no FPU state: FPU instructions unhandled, others run", test_no_xstate, NULL);
	unit_case(&u, "swapgs; swapgs and stac from ring 3", test_swapgs, NULL);
	unit_case(&u, "rdpkru, wrpkru, serialize", test_pkru, NULL);
	unit_case(&u, "the KVM adapter on a fake domain: registers, page walk, atomics, refusals", test_adapter, NULL);
	native_case(&u, "fxsave/fxrstor match the host CPU", test_native_fxsave,
		    host_has(1, 3, 24) ? NULL : "the host CPU has no FXSR");
	native_case(&u, "xsave matches the host CPU", test_native_xsave,
		    host_has(1, 2, 27) ? NULL : "the host OS has not enabled XSAVE (CPUID.1:ECX.OSXSAVE)");
	native_case(&u, "stmxcsr matches the host CPU", test_native_stmxcsr,
		    host_has(1, 3, 25) ? NULL : "the host CPU has no SSE");
	native_case(&u, "popcnt and crc32 match the host CPU", test_native_bits,
		    !host_has(1, 2, 23) ? "the host CPU has no POPCNT" :
		    !host_has(1, 2, 20) ? "the host CPU has no SSE4.2 (crc32)" : NULL);
	return unit_finish(&u);
}
