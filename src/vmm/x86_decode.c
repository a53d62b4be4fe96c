/* Decoding one instruction: its bytes at cs:rip, the legacy and REX prefixes, the opcode map and
 * opcode, ModRM with the 16-bit or the SIB/displacement/rip-relative 32- and 64-bit addressing, and
 * the row of the table of instruction forms it matches.  An opcode is looked up before its ModRM is
 * read, so one we do not emulate is given up on before its operand bytes could fault. */
#include "vmm/x86_emulate_int.h"

/* Reads up to 15 bytes at cs:rip; if the whole run faults, as many as its first page holds. */
void emu_prefetch(struct emu *e)
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
		return emu_gp0(e);                     /* longer than 15 bytes */
	if (e->pos + n > e->avail) {
		if (e->fetch_stop == X86_MEM_FAULT)
			return emu_page_fault(e, e->fetch_fault_addr, e->fetch_pf);
		return emu_give_up(e, "instruction bytes at rip are not in guest RAM");
	}
	memcpy(dst, e->res->bytes + e->pos, n);
	e->pos += n;
	return 0;
}

/* ---- prefixes and opcode ---- */

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

/* The opcode map (0F, 0F 38) and opcode after the prefix byte `b`, and the operand and address sizes. */
static int decode_opcode(struct emu *e, uint8_t b)
{
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
	return 0;
}

/* ---- ModRM and the addressing forms ---- */

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

/* ---- matching the table ---- */

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

static bool opcode_known(const struct emu *e, const struct insn_table *t)
{
	for (size_t i = 0; i < t->n_forms; i++)
		if (t->forms[i].map == e->map && t->forms[i].opcode == e->opcode)
			return true;
	return false;
}

static bool opcode_owned(const struct emu *e, const struct insn_table *t)
{
	for (size_t i = 0; i < t->n_owned; i++)
		if (t->owned[i].map == e->map && t->owned[i].opcode == e->opcode)
			return true;
	return false;
}

int emu_decode(struct emu *e, const struct insn_table *t)
{
	uint8_t b = 0;

	e->seg = -1;
	if (decode_prefixes(e, &b) || decode_opcode(e, b))
		return STOP;
	if (!opcode_known(e, t))
		return emu_give_up(e, "no emulation for this opcode");
	if (has_modrm(e->map, e->opcode) && decode_modrm(e))
		return STOP;
	for (size_t i = 0; i < t->n_forms && !e->form; i++)
		if (form_matches(e, &t->forms[i]))
			e->form = &t->forms[i];
	if (!e->form)
		return opcode_owned(e, t) ? emu_fault(e, X86_VEC_UD) :
		       emu_give_up(e, "no emulation for this form of the opcode");
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
		return emu_fault(e, X86_VEC_UD);
	return 0;
}
