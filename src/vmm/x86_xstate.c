/* The vCPU's FPU/SSE/extended state as the emulator sees it: the standard XSAVE format that
 * KVM_GET_XSAVE returns (struct x86_xstate), where a component whose XSTATE_BV bit is clear holds
 * its init values whatever its bytes say.  FXSAVE and XSAVE both store the legacy region; the
 * helpers here build it from the state and take it back. */
#include <cpuid.h>
#include "vmm/x86_emulate_int.h"

int emu_get_xstate(struct emu *e)
{
	if (!e->xs)
		e->xs = e->ops->xstate ? e->ops->xstate(e->opaque) : NULL;
	if (!e->xs || !e->xs->buf || e->xs->size < XSAVE_AREA_MIN)
		return emu_give_up(e, "the vCPU's FPU state is not available");
	return 0;
}

/* MXCSR, whose init value stands when neither SSE nor AVX state is in use. */
uint32_t xs_mxcsr(const struct x86_xstate *xs)
{
	return xs_bv(xs) & (XS_SSE | XS_AVX) ? get32(xs->buf + FX_MXCSR) : MXCSR_INIT;
}

/* Writes component i's init values into buf (the legacy ones; MXCSR is left alone). */
void xs_init_component(const struct x86_xstate *xs, uint8_t *buf, unsigned int i)
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
void xs_make_live(struct x86_xstate *xs, unsigned int i)
{
	uint64_t bv = xs_bv(xs);

	if (i == 1 && !(bv & (XS_SSE | XS_AVX)))
		put32(xs->buf + FX_MXCSR, MXCSR_INIT);
	if (!(bv & (1ull << i)))
		xs_init_component(xs, xs->buf, i);
	xs_set_bv(xs, bv | (1ull << i));
}

/* The legacy region as FXSAVE stores it, built from the state (init values where not in use). */
void emu_legacy_image(struct emu *e, uint8_t *img, bool fx64)
{
	const struct x86_xstate *xs = e->xs;
	uint64_t bv = xs_bv(xs);

	memcpy(img, xs->buf, FX_SIZE);
	if (!(bv & XS_X87))
		xs_init_component(xs, img, 0);
	if (!(bv & XS_SSE))
		xs_init_component(xs, img, 1);
	put32(img + FX_MXCSR, xs_mxcsr(xs));
	put32(img + FX_MXCSR_MASK, xs_mxcsr_mask(xs));
	if (!fx64) {
		/* 32-bit format: FIP/FCS, FDP/FDS.  Selectors are not kept (as on CPUs that deprecate them). */
		put64(img + FX_FIP, get64(img + FX_FIP) & 0xffffffffull);
		put64(img + FX_FDP, get64(img + FX_FDP) & 0xffffffffull);
	}
}

/* Takes a legacy image into the state's x87 and SSE parts. */
void emu_load_legacy(struct emu *e, uint8_t *dst, const uint8_t *img, bool fx64, bool x87, bool sse, bool mxcsr)
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
