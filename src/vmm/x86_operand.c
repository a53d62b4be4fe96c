/* The operands of a decoded instruction: general registers as the CPU reads and writes their 8-,
 * 16-, 32- and 64-bit parts, flags, and the memory operand (its linear address after the segment
 * base and the canonical or 4 GiB checks, then guest memory through the ops).  Also the page-by-page
 * walk that implementations of ops->access share. */
#include "vmm/x86_emulate_int.h"

#define X86_VEC_SS 12

/* ---- registers ---- */

uint64_t emu_reg_get(struct emu *e, unsigned int r, unsigned int bytes)
{
	if (bytes == 1 && !e->rex && r >= 4 && r < 8)
		return (e->cpu->gpr[r - 4] >> 8) & 0xff;      /* ah, ch, dh, bh */
	return e->cpu->gpr[r] & size_mask(bytes);
}

/* As the CPU writes: 32-bit results zero-extend, 8- and 16-bit ones keep the rest. */
void emu_reg_set(struct emu *e, unsigned int r, unsigned int bytes, uint64_t v)
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

void emu_set_flags(struct emu *e, uint32_t clear, uint32_t set)
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
			return emu_give_up(e, "operand wraps around the address space");
		if ((uint64_t)((int64_t)(a << (64 - bits)) >> (64 - bits)) != a ||
		    (uint64_t)((int64_t)(last << (64 - bits)) >> (64 - bits)) != last)
			return e->ea_seg == X86_SS ? emu_raise(e, X86_EVENT_FAULT, X86_VEC_SS, true, 0) : emu_gp0(e);
		*la = a;
		return 0;
	}
	*la = (c->seg_base[e->ea_seg] + ea) & 0xffffffffull;
	if (*la + len > (1ull << 32))
		return emu_give_up(e, "operand wraps around 4 GiB");
	return 0;
}

int emu_mem_result(struct emu *e, enum x86_mem_result r, uint32_t pf, uint64_t addr)
{
	if (r == X86_MEM_OK)
		return 0;
	if (r == X86_MEM_FAULT)
		return emu_page_fault(e, addr, pf);
	return emu_give_up(e, "memory operand is not guest RAM");
}

static int mem_access(struct emu *e, uint64_t la, void *buf, size_t len, enum x86_access acc)
{
	uint32_t pf = 0;
	uint64_t addr = la;

	enum x86_mem_result r = e->ops->access(e->opaque, la, buf, len, acc, &pf, &addr);

	return emu_mem_result(e, r, pf, addr);
}

int emu_operand_la(struct emu *e, uint64_t off, size_t len, uint64_t *la)
{
	uint64_t ea = (e->ea + off) & size_mask(e->ad_bytes);
	return linear(e, ea, len, la);
}

int emu_read_operand(struct emu *e, uint64_t off, void *buf, size_t len)
{
	uint64_t la;
	return emu_operand_la(e, off, len, &la) ?: mem_access(e, la, buf, len, X86_ACC_READ);
}

int emu_write_operand(struct emu *e, uint64_t off, const void *buf, size_t len, bool probe)
{
	uint64_t la;
	return emu_operand_la(e, off, len, &la) ?:
	       mem_access(e, la, (void *)buf, len, probe ? X86_ACC_PROBE_WRITE : X86_ACC_WRITE);
}

/* Little-endian, as x86 stores it. */
int emu_rm_value(struct emu *e, unsigned int bytes, uint64_t *v)
{
	if (!e->mem) {
		*v = emu_reg_get(e, e->rm, bytes);
		return 0;
	}
	uint8_t b[8] = { 0 };
	if (emu_read_operand(e, 0, b, bytes))
		return STOP;
	*v = 0;
	for (unsigned int i = 0; i < bytes; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return 0;
}

int emu_require_alignment(struct emu *e, uint64_t align)
{
	uint64_t la;
	if (emu_operand_la(e, 0, 1, &la))
		return STOP;
	return la & (align - 1) ? emu_gp0(e) : 0;
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
