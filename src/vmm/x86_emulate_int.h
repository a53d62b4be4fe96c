/* What the files of the instruction emulator share (private: callers use x86_emulate.h).
 *
 *   x86_emulate.c   the entry point, the table of instruction forms, how an emulation ends
 *   x86_decode.c    instruction bytes, prefixes, opcode, ModRM/SIB/displacement, form lookup
 *   x86_operand.c   register and memory operands, linear addresses, ops->access over pages
 *   x86_xstate.c    the vCPU's FPU/extended state in the standard XSAVE format
 *   x86_ops_int.c   integer instructions; x86_ops_fpu.c x87 and SSE state; x86_ops_xsave.c the
 *                   xsave family; x86_ops_sys.c system instructions
 *
 * Every emu_* and x86_op_* function that can fail returns 0 or STOP, having written the outcome
 * (exception or give-up) into e->res; callers pass STOP straight up. */
#ifndef XENITH_X86_EMULATE_INT_H
#define XENITH_X86_EMULATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "vmm/x86_emulate.h"

#define MXCSR_DEFAULT_MASK 0xffbfu
#define MXCSR_INIT 0x1f80u
#define FCW_INIT 0x037fu
#define XSAVE_HDR 512u
#define XSAVE_AREA_MIN 576u
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

static inline bool rex_w(const struct emu *e) { return e->rex & 8; }
static inline bool long64(const struct emu *e) { return e->cpu->mode == X86_MODE_LONG64; }

static inline uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static inline uint64_t size_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

/* ---- the table of instruction forms (rows in x86_emulate.c, matched by x86_decode.c) ---- */

typedef int (*exec_fn)(struct emu *e);

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

struct opcode_ref { uint8_t map, opcode; };

struct insn_table {
	const struct insn_form *forms;
	size_t n_forms;
	const struct opcode_ref *owned;   /* opcodes whose every valid encoding is a form: else #UD */
	size_t n_owned;
};

/* ---- outcomes (x86_emulate.c) ---- */

int emu_raise(struct emu *e, enum x86_event_type type, uint8_t vector, bool has_error, uint32_t error);
int emu_fault(struct emu *e, uint8_t vector);
int emu_gp0(struct emu *e);
int emu_page_fault(struct emu *e, uint64_t addr, uint32_t error);
int emu_give_up(struct emu *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void emu_advance_rip(struct emu *e);

/* ---- decoding (x86_decode.c) ---- */

/* Reads up to 15 bytes at cs:rip into e->res->bytes. */
void emu_prefetch(struct emu *e);
/* Decodes the instruction and finds its form in `table` (e->form), or raises/gives up. */
int emu_decode(struct emu *e, const struct insn_table *table);

/* ---- operands (x86_operand.c) ---- */

uint64_t emu_reg_get(struct emu *e, unsigned int r, unsigned int bytes);
void emu_reg_set(struct emu *e, unsigned int r, unsigned int bytes, uint64_t v);
void emu_set_flags(struct emu *e, uint32_t clear, uint32_t set);
/* Turns a memory result from the ops into 0, #PF or a give-up. */
int emu_mem_result(struct emu *e, enum x86_mem_result r, uint32_t pf, uint64_t addr);
/* The memory operand's linear address, `off` bytes into it. */
int emu_operand_la(struct emu *e, uint64_t off, size_t len, uint64_t *la);
int emu_read_operand(struct emu *e, uint64_t off, void *buf, size_t len);
/* With `probe`, checks that the bytes could be written and copies nothing. */
int emu_write_operand(struct emu *e, uint64_t off, const void *buf, size_t len, bool probe);
/* The r/m operand's value, register or memory. */
int emu_rm_value(struct emu *e, unsigned int bytes, uint64_t *v);
int emu_require_alignment(struct emu *e, uint64_t align);

/* ---- FPU / extended state (x86_xstate.c) ---- */

/* Fetches the state into e->xs (once), or gives up. */
int emu_get_xstate(struct emu *e);

static inline uint64_t xs_bv(const struct x86_xstate *xs) { return get64(xs->buf + XSAVE_HDR); }
static inline void xs_set_bv(struct x86_xstate *xs, uint64_t bv)
{
	put64(xs->buf + XSAVE_HDR, bv);
	xs->dirty = true;
}

static inline uint32_t xs_mxcsr_mask(const struct x86_xstate *xs)
{
	return xs->mxcsr_mask ? xs->mxcsr_mask : MXCSR_DEFAULT_MASK;
}

static inline unsigned int n_xmm(const struct emu *e) { return long64(e) ? 16 : 8; }

uint32_t xs_mxcsr(const struct x86_xstate *xs);
void xs_init_component(const struct x86_xstate *xs, uint8_t *buf, unsigned int i);
void xs_make_live(struct x86_xstate *xs, unsigned int i);
void emu_legacy_image(struct emu *e, uint8_t *img, bool fx64);
void emu_load_legacy(struct emu *e, uint8_t *dst, const uint8_t *img, bool fx64, bool x87, bool sse, bool mxcsr);

/* ---- the instructions (x86_ops_*.c), each a row's exec ---- */

int x86_op_cmpxchg8b(struct emu *e);
int x86_op_popcnt(struct emu *e);
int x86_op_lzcnt(struct emu *e);
int x86_op_tzcnt(struct emu *e);
int x86_op_crc32(struct emu *e);

int x86_op_fwait(struct emu *e);
int x86_op_fnop(struct emu *e);
int x86_op_fninit(struct emu *e);
int x86_op_fnclex(struct emu *e);
int x86_op_fnstcw(struct emu *e);
int x86_op_fnstsw(struct emu *e);
int x86_op_fldcw(struct emu *e);
int x86_op_ldmxcsr(struct emu *e);
int x86_op_stmxcsr(struct emu *e);
int x86_op_fxsave(struct emu *e);
int x86_op_fxrstor(struct emu *e);

int x86_op_xsave(struct emu *e);
int x86_op_xsavec(struct emu *e);
int x86_op_xsaves(struct emu *e);
int x86_op_xrstor(struct emu *e);
int x86_op_xrstors(struct emu *e);

int x86_op_nop(struct emu *e);
int x86_op_ud(struct emu *e);
int x86_op_int3(struct emu *e);
int x86_op_intn(struct emu *e);
int x86_op_xgetbv(struct emu *e);
int x86_op_clflush(struct emu *e);
int x86_op_rdrand(struct emu *e);
int x86_op_rdpid(struct emu *e);
int x86_op_fsgsbase(struct emu *e);
int x86_op_swapgs(struct emu *e);
int x86_op_clac_stac(struct emu *e);
int x86_op_pkru(struct emu *e);

#endif
