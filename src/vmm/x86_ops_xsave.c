/* The xsave family: xsave (and xsaveopt, done as xsave, which it may be), xsavec, xsaves, xrstor and
 * xrstors, in the standard and the compacted layouts of an XSAVE area.
 *
 * An area is handled as pieces (parts of the legacy region, the header, and each component at its
 * standard or compacted offset).  A save probes every piece before it writes one; a restore reads
 * and checks everything into a copy of the state and replaces the state only when all is good. */
#include <stdlib.h>
#include "vmm/x86_emulate_int.h"

#define XCOMP_COMPACT (1ull << 63)

static int check_xsave(struct emu *e)
{
	if (!(e->cpu->cr4 & X86_CR4_OSXSAVE))
		return emu_fault(e, X86_VEC_UD);
	if (e->cpu->cr0 & X86_CR0_TS)
		return emu_fault(e, X86_VEC_NM);
	return emu_get_xstate(e);
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
		return emu_gp0(e);
	if (emu_require_alignment(e, 64))
		return STOP;
	*rfbm = ((c->gpr[X86_RDX] << 32) | (c->gpr[X86_RAX] & 0xffffffffull)) &
		(e->xs->xcr0 | (supervisor ? e->xs->xss : 0));
	if (*rfbm & e->xs->xss)
		return emu_give_up(e, "supervisor state components (IA32_XSS %#llx) are not available to the VMM",
				   (unsigned long long)e->xs->xss);
	return 0;
}

static int save(struct emu *e, bool compacted, bool supervisor)
{
	struct piece p[72];
	uint64_t rfbm, inuse;
	uint8_t hdr[16], img[FX_SIZE];
	int n;

	if (check_xsave_operand(e, supervisor, &rfbm))
		return STOP;
	inuse = xs_bv(e->xs) & e->xs->xcr0;
	/* The compacted forms skip components in their init state; the standard ones store them. */
	if ((n = xsave_pieces(e, compacted ? rfbm & inuse : rfbm, compacted, rfbm, p)) < 0)
		return emu_give_up(e, "an XSAVE component of XCR0 %#llx is outside the VMM's state buffer",
				   (unsigned long long)e->xs->xcr0);
	if (rfbm & (XS_SSE | XS_AVX))
		p[n++] = (struct piece){ FX_MXCSR, FX_MXCSR, 8, -1 };
	p[n++] = (struct piece){ XSAVE_HDR, XSAVE_HDR, compacted ? 16 : 8, -1 };
	if (compacted) {
		put64(hdr, inuse & rfbm);
		put64(hdr + 8, rfbm | XCOMP_COMPACT);
	} else {
		/* Standard XSAVE keeps the XSTATE_BV bits outside RFBM that memory holds. */
		if (emu_read_operand(e, XSAVE_HDR, hdr, 8))
			return STOP;
		put64(hdr, (get64(hdr) & ~rfbm) | (inuse & rfbm));
	}
	for (int i = 0; i < n; i++)
		if (emu_write_operand(e, p[i].mem_off, NULL, p[i].len, true))
			return STOP;
	emu_legacy_image(e, img, rex_w(e));
	for (int i = 0; i < n; i++) {
		const uint8_t *src;
		uint8_t *zeros = NULL;
		if (p[i].comp < 0)
			src = p[i].state_off == XSAVE_HDR ? hdr : img + p[i].state_off;
		else if (inuse & (1ull << p[i].comp))
			src = e->xs->buf + p[i].state_off;
		else if (!(src = zeros = calloc(1, p[i].len)))
			return emu_give_up(e, "out of memory");
		int r = emu_write_operand(e, p[i].mem_off, src, p[i].len, false);
		free(zeros);
		if (r)
			return STOP;
	}
	return 0;
}

int x86_op_xsave(struct emu *e) { return save(e, false, false); }
int x86_op_xsavec(struct emu *e) { return save(e, true, false); }
int x86_op_xsaves(struct emu *e) { return save(e, true, true); }

static const uint8_t zero_bytes[48];

/* The header checks of XRSTOR(S): #GP for bits outside what may be enabled, or reserved bytes set. */
static bool xrstor_header_ok(const uint8_t *hdr, uint64_t allowed, uint64_t xcr0, bool supervisor)
{
	uint64_t bv = get64(hdr), comp = get64(hdr + 8);

	if (comp & XCOMP_COMPACT)
		return !(comp & ~XCOMP_COMPACT & ~allowed) && !(bv & ~comp) && !memcmp(hdr + 16, zero_bytes, 48);
	return !supervisor && !(bv & ~xcr0) && !memcmp(hdr + 8, zero_bytes, 16);
}

/* Everything is read and checked into copies of the state first. */
static int restore(struct emu *e, bool supervisor)
{
	struct x86_xstate *xs;
	struct piece p[72];
	uint64_t rfbm;
	uint8_t hdr[64], img[FX_SIZE];
	int n;

	if (check_xsave_operand(e, supervisor, &rfbm) || emu_read_operand(e, XSAVE_HDR, hdr, 64))
		return STOP;
	xs = e->xs;
	if (!xrstor_header_ok(hdr, xs->xcr0 | (supervisor ? xs->xss : 0), xs->xcr0, supervisor))
		return emu_gp0(e);
	uint64_t bv = get64(hdr), comp = get64(hdr + 8);
	bool compacted = comp & XCOMP_COMPACT;
	uint64_t load = rfbm & bv;
	if ((n = xsave_pieces(e, load, compacted, comp, p)) < 0)
		return emu_give_up(e, "an XSAVE component of XCR0 %#llx is outside the VMM's state buffer",
				   (unsigned long long)xs->xcr0);
	/* The standard form always takes MXCSR with SSE or AVX requested; the compacted one only
	 * when memory holds one of them, else MXCSR goes back to its init value. */
	bool mxcsr = (rfbm & (XS_SSE | XS_AVX)) && (!compacted || (bv & (XS_SSE | XS_AVX)));
	bool mxcsr_init = (rfbm & (XS_SSE | XS_AVX)) && !mxcsr;
	if (mxcsr)
		p[n++] = (struct piece){ FX_MXCSR, FX_MXCSR, 4, -1 };

	uint8_t *copy = malloc(xs->size);
	if (!copy)
		return emu_give_up(e, "out of memory");
	memcpy(copy, xs->buf, xs->size);
	memset(img, 0, sizeof(img));
	for (int i = 0; i < n; i++) {
		uint8_t *dst = p[i].comp >= 0 ? copy + p[i].state_off : img + p[i].state_off;
		if (emu_read_operand(e, p[i].mem_off, dst, p[i].len)) {
			free(copy);
			return STOP;
		}
	}
	if (mxcsr && (get32(img + FX_MXCSR) & ~xs_mxcsr_mask(xs))) {
		free(copy);
		return emu_gp0(e);
	}
	/* Requested components memory does not hold go back to their init state. */
	uint64_t old_bv = get64(copy + XSAVE_HDR);
	for (unsigned int i = 0; i < 63; i++)
		if ((rfbm & ~bv & (1ull << i)) && (i < 2 || xs->layout->size[i]))
			xs_init_component(xs, copy, i);
	if (mxcsr_init || (!(old_bv & (XS_SSE | XS_AVX)) && !mxcsr))
		put32(copy + FX_MXCSR, MXCSR_INIT);
	emu_load_legacy(e, copy, img, rex_w(e), load & XS_X87, load & XS_SSE, mxcsr);
	uint64_t new_bv = (old_bv & ~rfbm) | load;
	/* The state buffer keeps MXCSR only beside SSE or AVX state: a loaded non-init MXCSR takes
	 * SSE state (in its init values) along. */
	if (get32(copy + FX_MXCSR) != MXCSR_INIT && !(new_bv & (XS_SSE | XS_AVX))) {
		xs_init_component(xs, copy, 1);
		new_bv |= XS_SSE;
	}
	put64(copy + XSAVE_HDR, new_bv);
	memcpy(xs->buf, copy, xs->size);
	xs->dirty = true;
	free(copy);
	return 0;
}

int x86_op_xrstor(struct emu *e) { return restore(e, false); }
int x86_op_xrstors(struct emu *e) { return restore(e, true); }
