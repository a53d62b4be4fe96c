/* libFuzzer target for the instruction emulator (src/vmm/x86_emulate.c) on the fake vCPU of
 * tests/unit/fake_x86_cpu.h: arbitrary instruction bytes, registers, mode, control bits, page map and
 * FPU state.  Besides the sanitizers' findings it aborts when
 *   - an instruction fetch reaches outside [cs:rip, cs:rip + 15), or any access is empty or larger than
 *     the whole fake memory (the emulator touches memory only through the ops);
 *   - a fault (or a refusal) leaves memory, the FPU state or rip changed: a faulting instruction
 *     must have no effect;
 *   - an executed instruction's length is outside 1..15 or rip moved by anything else.
 *
 * Input: a config byte (bits 0-1 mode: 64, 32, 16-bit, real; bit 2 CR0.TS; bit 3 no CR4.OSXSAVE;
 * bit 4 no CR4.OSFXSR; bit 5 CR0.EM; bit 6 no CR4.FSGSBASE; bit 7 no FPU state), four bytes of
 * page map (2 bits a page: mapped rw, read-only, not present, rw), an XCR0 byte, an XSTATE_BV byte,
 * rip's offset (2 bytes), 16 registers (2 bytes each: an offset around the fake memory), a wild
 * register index and its 8-byte value, then the instruction bytes (at most 15) and whatever follows
 * as the data at the start of the second page.
 * Build and run: tests/fuzz/run [SECONDS]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../unit/fake_x86_cpu.h"
#include "vmm/x86_emulate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input { const uint8_t *p; size_t left; };

static uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_x86_decode: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum x86_mode modes[4] = { X86_MODE_LONG64, X86_MODE_PROT32, X86_MODE_PROT16,
						X86_MODE_UNSUPPORTED };
	struct input in = { data, size };
	struct fake_x86 *f = fake_x86_new();
	struct x86_emu_result res;
	uint8_t cfg = (uint8_t)take(&in, 1);
	uint32_t map = (uint32_t)take(&in, 4);

	f->cpu.mode = modes[cfg & 3];
	if (cfg & 4)
		f->cpu.cr0 |= X86_CR0_TS;
	if (cfg & 8)
		f->cpu.cr4 &= ~X86_CR4_OSXSAVE;
	if (cfg & 16)
		f->cpu.cr4 &= ~X86_CR4_OSFXSR;
	if (cfg & 32)
		f->cpu.cr0 |= X86_CR0_EM;
	if (cfg & 64)
		f->cpu.cr4 &= ~X86_CR4_FSGSBASE;
	f->no_xstate = cfg & 128;
	for (int i = 0; i < FAKE_X86_PAGES; i++) {
		static const uint8_t kinds[4] = { FAKE_X86_PRESENT | FAKE_X86_WRITABLE, FAKE_X86_PRESENT, 0,
						  FAKE_X86_PRESENT | FAKE_X86_WRITABLE };
		f->page[i] = kinds[(map >> (2 * (i % 16))) & 3];
	}
	f->xs.xcr0 = take(&in, 1) | 1;
	f->xbuf[512] = (uint8_t)take(&in, 1);
	f->cpu.rip = FAKE_X86_BASE + take(&in, 2) % (sizeof(f->mem) - 16);
	for (int i = 0; i < 16; i++)
		f->cpu.gpr[i] = FAKE_X86_BASE - 0x800 + take(&in, 2);
	unsigned int wild = (unsigned int)take(&in, 1);
	uint64_t wild_value = take(&in, 8);
	if (wild < 16)
		f->cpu.gpr[wild] = wild_value;
	else if (wild < 16 + X86_NSEGS)
		f->cpu.seg_base[wild - 16] = wild_value;
	size_t code = in.left < X86_MAX_INSN_LEN ? in.left : X86_MAX_INSN_LEN;
	memcpy(fake_x86_mem(f, f->cpu.rip), in.p, code);
	in.p += code, in.left -= code;
	size_t rest = in.left < 4096 ? in.left : 4096;
	memcpy(fake_x86_mem(f, FAKE_X86_BASE + 4096), in.p, rest);

	uint8_t *mem_before = malloc(sizeof(f->mem)), *xs_before = malloc(FAKE_X86_XSAVE_SIZE);
	if (!mem_before || !xs_before)
		abort();
	memcpy(mem_before, f->mem, sizeof(f->mem));
	memcpy(xs_before, f->xbuf, FAKE_X86_XSAVE_SIZE);
	uint64_t rip = f->cpu.rip;

	x86_emulate(&f->cpu, &fake_x86_ops, f, &res);

	uint64_t fetch_at = f->cpu.mode == X86_MODE_LONG64 ? rip : (f->cpu.seg_base[X86_CS] + rip) & 0xffffffffull;
	if (f->fetch_hi && (f->fetch_lo < fetch_at || f->fetch_hi > fetch_at + X86_MAX_INSN_LEN))
		fail("instruction fetch outside [rip, rip + 15)");
	if (f->out_of_range)
		fail("an empty, huge or wrapping memory access");
	bool no_effect = res.status == X86_EMU_UNHANDLED ||
			 (res.status == X86_EMU_EXCEPTION && res.event.type == X86_EVENT_FAULT);
	if (no_effect && (memcmp(mem_before, f->mem, sizeof(f->mem)) || f->cpu.rip != rip ||
			  memcmp(xs_before, f->xbuf, FAKE_X86_XSAVE_SIZE)))
		fail("a fault or refusal changed memory, the FPU state or rip");
	if (res.status == X86_EMU_DONE && (res.length < 1 || res.length > X86_MAX_INSN_LEN))
		fail("executed instruction of impossible length");
	if (res.status != X86_EMU_UNHANDLED && !no_effect) {
		uint64_t want = rip + res.length;
		if (f->cpu.mode != X86_MODE_LONG64)
			want &= 0xffffffffull;
		if (f->cpu.rip != want)
			fail("rip is not past the instruction");
	}
	if (res.n_bytes > X86_MAX_INSN_LEN)
		fail("more than 15 bytes reported");
	free(mem_before);
	free(xs_before);
	fake_x86_free(f);
	return 0;
}
