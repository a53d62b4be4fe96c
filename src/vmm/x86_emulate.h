/* A small x86 instruction emulator for the instructions the host's KVM cannot emulate (guest ring-0
 * code on PVM hosts runs through KVM's emulator; see docs/guest-abi.md, "Instructions the VMM
 * emulates").  Pure: it sees the vCPU only through struct x86_emu_cpu and the ops below, so unit tests
 * and the fuzzer run it on fake state; src/vmm/vcpu_emulate.c adapts it to KVM. */
#ifndef XENITH_X86_EMULATE_H
#define XENITH_X86_EMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X86_MAX_INSN_LEN 15

enum x86_gpr { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	       X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15 };
enum x86_seg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_NSEGS };

/* The code's mode, from CR0.PE, EFER.LMA and CS.L/CS.D.  Real and virtual-8086 mode are not emulated. */
enum x86_mode { X86_MODE_UNSUPPORTED, X86_MODE_PROT16, X86_MODE_PROT32, X86_MODE_LONG64 };

#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_NE (1ull << 5)
#define X86_CR4_LA57 (1ull << 12)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_FSGSBASE (1ull << 16)
#define X86_CR4_OSXSAVE (1ull << 18)
#define X86_CR4_PKE (1ull << 22)

#define X86_FLAGS_CF 0x001u
#define X86_FLAGS_PF 0x004u
#define X86_FLAGS_AF 0x010u
#define X86_FLAGS_ZF 0x040u
#define X86_FLAGS_SF 0x080u
#define X86_FLAGS_OF 0x800u
#define X86_FLAGS_AC 0x40000u
#define X86_FLAGS_ARITH (X86_FLAGS_CF | X86_FLAGS_PF | X86_FLAGS_AF | X86_FLAGS_ZF | X86_FLAGS_SF | X86_FLAGS_OF)

/* Registers the emulator reads and writes.  It sets regs_dirty/sregs_dirty when it changed them. */
struct x86_emu_cpu {
	uint64_t gpr[16];
	uint64_t rip, rflags;
	uint64_t seg_base[X86_NSEGS];
	enum x86_mode mode;
	unsigned int cpl;
	uint64_t cr0, cr2, cr4;
	bool regs_dirty;          /* gpr, rip or rflags */
	bool sregs_dirty;         /* cr2 or the fs/gs bases */
};

/* Where the XSAVE state components sit in the standard (non-compacted) format, as CPUID leaf 0xD
 * reports them (sub-leaf i: eax size, ebx offset, ecx bit 1 = 64-byte aligned when compacted). */
struct x86_xstate_layout {
	uint32_t offset[64], size[64];
	uint64_t align64;         /* components aligned to 64 bytes in the compacted format */
};

/* The vCPU's FPU/SSE/extended state, in the standard format KVM_GET_XSAVE returns: the 512-byte
 * legacy (FXSAVE) region, the 64-byte header (XSTATE_BV first), then each component at its offset. */
struct x86_xstate {
	uint8_t *buf;
	size_t size;
	uint64_t xcr0;
	uint64_t xss;             /* IA32_XSS: supervisor components (never in buf: XSAVES refuses them) */
	uint32_t mxcsr_mask;      /* the CPU's, as FXSAVE stores it; 0 means the architectural 0xffbf */
	const struct x86_xstate_layout *layout;
	bool dirty;               /* set when the emulator changed buf */
};

enum x86_access { X86_ACC_FETCH, X86_ACC_READ, X86_ACC_WRITE, X86_ACC_PROBE_WRITE };

/* What a memory access came to. */
enum x86_mem_result {
	X86_MEM_OK,
	X86_MEM_FAULT,            /* a page fault: *pf_error set (P, W, U, I bits), cr2 is the address */
	X86_MEM_UNHANDLED,        /* translated, but not to RAM (MMIO): the emulator gives up */
};

struct x86_emu_ops {
	/* Copies len bytes between buf and linear address la (which may cross pages).  A write or a
	 * probe (which copies nothing) either covers every byte or touches none.  On X86_MEM_FAULT
	 * *fault_addr is the first faulting linear address. */
	enum x86_mem_result (*access)(void *opaque, uint64_t la, void *buf, size_t len, enum x86_access acc,
				      uint32_t *pf_error, uint64_t *fault_addr);
	/* Atomic compare-and-exchange of len (8 or 16) bytes at la, which does not cross a page:
	 * if memory equals *old it becomes *new and *swapped is true, else *old gets memory's value. */
	enum x86_mem_result (*cmpxchg)(void *opaque, uint64_t la, void *old, const void *new_val, size_t len,
				       bool *swapped, uint32_t *pf_error, uint64_t *fault_addr);
	/* The FPU/extended state, fetched on first use; NULL if it cannot be had. */
	struct x86_xstate *(*xstate)(void *opaque);
	/* MSR access for rdpid (IA32_TSC_AUX) and swapgs (IA32_KERNEL_GS_BASE); false if unavailable. */
	bool (*read_msr)(void *opaque, uint32_t index, uint64_t *value);
	bool (*write_msr)(void *opaque, uint32_t index, uint64_t value);
	/* A hardware random number for rdrand/rdseed; false: none available (CF=0, as the CPU says). */
	bool (*random)(void *opaque, uint64_t *value);
};

/* For implementations of ops->access: maps one page's part of an access to a host pointer, or says
 * why not (X86_MEM_FAULT with the error code, or X86_MEM_UNHANDLED). */
typedef enum x86_mem_result (*x86_page_fn)(void *opaque, uint64_t la, size_t len, enum x86_access acc,
					   void **host, uint32_t *pf_error, uint64_t *fault_addr);
/* ops->access over `page`: page by page, and for writes every page checked before a byte is copied. */
enum x86_mem_result x86_access_pages(void *opaque, x86_page_fn page, uint64_t la, void *buf, size_t len,
				     enum x86_access acc, uint32_t *pf_error, uint64_t *fault_addr);
/* The standard XSAVE layout this CPU reports (CPUID leaf 0xD), which KVM_GET_XSAVE follows. */
void x86_xstate_layout_host(struct x86_xstate_layout *layout);

/* Instruction kinds, for counters and the first-time log line. */
#define X86_EMU_KINDS(X) \
	X(CMPXCHG8B, "cmpxchg8b") X(CMPXCHG16B, "cmpxchg16b") X(POPCNT, "popcnt") X(LZCNT, "lzcnt") \
	X(TZCNT, "tzcnt") X(CRC32, "crc32") X(FWAIT, "fwait") X(FNOP, "fnop") X(FNINIT, "fninit") \
	X(FNCLEX, "fnclex") X(FNSTCW, "fnstcw") X(FLDCW, "fldcw") X(FNSTSW, "fnstsw") X(INT3, "int3") \
	X(INTN, "int N") X(VMX, "vmx (#UD)") X(LDMXCSR, "ldmxcsr") X(STMXCSR, "stmxcsr") \
	X(FXSAVE, "fxsave") X(FXRSTOR, "fxrstor") X(XSAVE, "xsave") X(XSAVEOPT, "xsaveopt") \
	X(XSAVEC, "xsavec") X(XSAVES, "xsaves") X(XRSTOR, "xrstor") X(XRSTORS, "xrstors") \
	X(XGETBV, "xgetbv") X(FENCE, "lfence/mfence/sfence") X(CLFLUSH, "clflush/clflushopt/clwb") \
	X(RDRAND, "rdrand/rdseed") X(RDPID, "rdpid") X(FSGSBASE, "rd/wr fs/gs base") \
	X(CLAC_STAC, "clac/stac") X(SWAPGS, "swapgs") X(PKRU, "rdpkru/wrpkru") X(SERIALIZE, "serialize")

enum x86_emu_kind {
#define X86_EMU_KIND_ENUM(name, text) X86_KIND_##name,
	X86_EMU_KINDS(X86_EMU_KIND_ENUM)
#undef X86_EMU_KIND_ENUM
	X86_KIND_COUNT
};

const char *x86_emu_kind_name(enum x86_emu_kind kind);

/* Counters kept by the owner (one per vCPU): instructions emulated by kind, and those given up on. */
struct x86_emu_stats {
	uint64_t count[X86_KIND_COUNT];
	uint64_t unhandled;
};

enum x86_emu_status {
	X86_EMU_DONE,             /* executed; rip advanced */
	X86_EMU_EXCEPTION,        /* `event` is to be injected (rip already where it must be) */
	X86_EMU_UNHANDLED,        /* not ours: `why` says what (with the bytes at rip) */
};

enum x86_event_type {
	X86_EVENT_FAULT,          /* an exception; rip stays at the instruction */
	X86_EVENT_TRAP,           /* an exception reported after the instruction (#BP from int3) */
	X86_EVENT_SOFT_INT,       /* `int N`: a software interrupt; rip is past the instruction */
};

struct x86_event {
	enum x86_event_type type;
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
};

#define X86_VEC_BP 3
#define X86_VEC_UD 6
#define X86_VEC_NM 7
#define X86_VEC_GP 13
#define X86_VEC_PF 14
#define X86_VEC_MF 16

struct x86_emu_result {
	enum x86_emu_status status;
	enum x86_emu_kind kind;   /* when decoded */
	struct x86_event event;   /* with X86_EMU_EXCEPTION */
	uint8_t bytes[X86_MAX_INSN_LEN];
	unsigned int n_bytes;     /* bytes fetched at rip (for messages) */
	unsigned int length;      /* the instruction's length, once decoded */
	char why[160];
};

/* Emulates the one instruction at cpu->rip. */
void x86_emulate(struct x86_emu_cpu *cpu, const struct x86_emu_ops *ops, void *opaque,
		 struct x86_emu_result *res);

#endif
