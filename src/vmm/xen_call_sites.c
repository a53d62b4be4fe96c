/* Finding a kernel's Xen hypercall functions without symbols, and pointing them at our port.
 *
 * Linux (6.1.120 and later stable kernels, 6.13 and later mainline) calls Xen through three small
 * hand-written functions (arch/x86/xen/xen-head.S), here in the shape of x86-64 builds:
 *
 *   dispatcher:  [endbr64] [push %rbp; mov %rsp,%rbp]          IBT, frame pointers
 *                push rax,rcx,rdx,rdi,rsi,r11,r10,r9,r8 [pushq $0]
 *                call <vendor check>                              returns the stub to use in rax
 *                lea amd_stub(%rip),%rcx                          %rbx at first; mov $amd_stub also seen
 *                cmp %rax,%rcx
 *                [pop %rax] pop r8,r9,r10,r11,rsi,rdi,rdx,rcx,rax [pop %rbp]
 *                je amd_stub
 *                jmp intel_stub
 *   amd_stub:    [endbr64] vmmcall; ret | jmp <return thunk>
 *   intel_stub:  [endbr64] vmcall;  ret | jmp <return thunk>
 *
 * 32-bit kernels push eax,ebx,ecx,edx,esi,edi, load the stub with `lea amd_stub,%ebx` and compare
 * with eax.  Callers put the hypercall number in eax/rax before a stub runs, as with the hypercall
 * page, so each stub's 3-byte vmcall/vmmcall becomes `out %eax,$0x5c` (2 bytes) + `nop`: the same
 * length, the return after it untouched, and the port handler reads the registers Xen would.
 *
 * A dispatcher is recognised by: the call, the load of one stub's address into a register, a cmp of
 * that register with rax, pops that mirror the pushes just before the call, then je to the loaded
 * stub and jmp to the other.  Both targets must be [endbr] vmcall|vmmcall followed by a return (ret,
 * or jmp to a thunk that is a ret); anything else there refuses the kernel.  With no dispatcher, a
 * vmcall/vmmcall shaped like a stub (16-byte aligned, then a return) is a way of calling Xen we do
 * not know: refused as well, unless the kernel names a hypercall page (which it then uses).  Every
 * other vmcall/vmmcall (KVM's own hypercalls inlined in KVM guest code, VMware's backdoor,
 * alternatives' replacement bytes, prefixed forms such as VMGEXIT) is left alone.  Nothing is
 * written before everything was checked, so a refused image is unchanged. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/kvm_para.h>
#include "vmm/elf.h"
#include "vmm/xen_call_sites.h"
#include "xen/xen_state.h"

#define MAX_CODE_SEGMENTS 32
#define THUNK_HOPS 2             /* a return thunk may itself jump on before its ret */
#define MIN_SAVED_REGS 4         /* the dispatcher saves 6 (32-bit) or 9 (64-bit) registers */
#define MAX_SAVED_REGS 16

/* The file bytes of one executable PT_LOAD segment. */
struct code_segment { uint64_t va, offset, size; };

struct kernel_image {
	uint8_t *bytes;
	size_t size;
	bool code64;                 /* x86-64 instructions, unless the ELF is for EM_386 */
	unsigned int nsegs;
	struct code_segment seg[MAX_CODE_SEGMENTS];
	bool hypercall_page_note;
};

/* Indexed by enum xen_call_insn. */
static const struct insn_form {
	uint8_t bytes[3];
	enum xen_call_insn insn;
	const char *name;
} insn_forms[] = {
	[XEN_CALL_VMCALL] = { { 0x0f, 0x01, 0xc1 }, XEN_CALL_VMCALL, "vmcall" },
	[XEN_CALL_VMMCALL] = { { 0x0f, 0x01, 0xd9 }, XEN_CALL_VMMCALL, "vmmcall" },
	[XEN_CALL_PORT_OUT] = { { 0xe7, XEN_HYPERCALL_PORT, 0x90 }, XEN_CALL_PORT_OUT, "out %eax,$0x5c" },
};
static const uint8_t port_out[3] = { 0xe7, XEN_HYPERCALL_PORT, 0x90 };

/* How a dispatcher puts the address of a stub in a register. */
enum addr_kind { ADDR_RIP_RELATIVE, ADDR_ABSOLUTE };
struct load_form {
	uint8_t bytes[4];
	unsigned int n;
	unsigned int reg;            /* 1 = rcx/ecx, 3 = rbx/ebx */
	enum addr_kind kind;         /* a 32-bit displacement or address follows the opcode bytes */
};
static const struct load_form load_forms64[] = {
	{ { 0x48, 0x8d, 0x0d }, 3, 1, ADDR_RIP_RELATIVE },      /* lea stub(%rip),%rcx */
	{ { 0x48, 0x8d, 0x1d }, 3, 3, ADDR_RIP_RELATIVE },      /* lea stub(%rip),%rbx */
	{ { 0x48, 0x8d, 0x0c, 0x25 }, 4, 1, ADDR_ABSOLUTE },    /* lea stub,%rcx */
	{ { 0x48, 0x8d, 0x1c, 0x25 }, 4, 3, ADDR_ABSOLUTE },    /* lea stub,%rbx */
	{ { 0x48, 0xc7, 0xc1 }, 3, 1, ADDR_ABSOLUTE },          /* mov $stub,%rcx */
	{ { 0x48, 0xc7, 0xc3 }, 3, 3, ADDR_ABSOLUTE },          /* mov $stub,%rbx */
};
static const struct load_form load_forms32[] = {
	{ { 0x8d, 0x0d }, 2, 1, ADDR_ABSOLUTE },                /* lea stub,%ecx */
	{ { 0x8d, 0x1d }, 2, 3, ADDR_ABSOLUTE },                /* lea stub,%ebx */
	{ { 0xb9 }, 1, 1, ADDR_ABSOLUTE },                      /* mov $stub,%ecx */
	{ { 0xbb }, 1, 3, ADDR_ABSOLUTE },                      /* mov $stub,%ebx */
};

static bool hypercall_page_note(const struct elf_note *n, void *ctx)
{
	(void)ctx;
	return n->type == XEN_ELFNOTE_HYPERCALL_PAGE;
}

static int image_open(struct kernel_image *im, uint8_t *elf, size_t size, char *why, size_t whylen)
{
	struct elf_file e;

	*im = (struct kernel_image){ .bytes = elf, .size = size };
	if (elf_open(&e, elf, size, why, whylen))
		return -1;
	if (e.machine != EM_X86_64 && e.machine != EM_386) {
		snprintf(why, whylen, "ELF for machine %u, not x86", e.machine);
		return -1;
	}
	im->code64 = e.machine == EM_X86_64;     /* ELF32 files for x86-64 exist: their code is 64-bit */
	for (unsigned int i = 0; i < e.phnum; i++) {
		struct elf_segment ph = elf_segment(&e, i);
		if (ph.type != PT_LOAD || !ph.filesz)
			continue;
		if (!elf_in_file(&e, ph.offset, ph.filesz) || ph.vaddr + ph.filesz < ph.vaddr) {
			snprintf(why, whylen, "segment %u (offset %#llx, %llu bytes at %#llx) lies outside "
				 "the file or the address space", i, (unsigned long long)ph.offset,
				 (unsigned long long)ph.filesz, (unsigned long long)ph.vaddr);
			return -1;
		}
		if (!(ph.flags & PF_X))
			continue;
		if (im->nsegs == MAX_CODE_SEGMENTS) {
			snprintf(why, whylen, "more than %d executable segments", MAX_CODE_SEGMENTS);
			return -1;
		}
		im->seg[im->nsegs++] = (struct code_segment){ ph.vaddr, ph.offset, ph.filesz };
	}
	im->hypercall_page_note = elf_xen_notes(&e, hypercall_page_note, NULL);
	return 0;
}

/* The code at `va` if it lies in an executable segment; *avail bytes follow in that segment. */
static const uint8_t *code_at(const struct kernel_image *im, uint64_t va, uint64_t *avail)
{
	for (unsigned int i = 0; i < im->nsegs; i++) {
		const struct code_segment *s = &im->seg[i];
		if (va >= s->va && va - s->va < s->size) {
			*avail = s->size - (va - s->va);
			return im->bytes + s->offset + (va - s->va);
		}
	}
	return NULL;
}

static uint64_t branch_target(const struct kernel_image *im, uint64_t next_va, int32_t rel)
{
	uint64_t t = next_va + (uint64_t)(int64_t)rel;
	return im->code64 ? t : (uint32_t)t;
}

static const struct insn_form *insn_form_at(const uint8_t *p, uint64_t avail)
{
	for (size_t i = 0; avail >= 3 && i < sizeof(insn_forms) / sizeof(insn_forms[0]); i++)
		if (!memcmp(p, insn_forms[i].bytes, 3))
			return &insn_forms[i];
	return NULL;
}

/* endbr64 (f3 0f 1e fa) or endbr32 (f3 0f 1e fb): IBT builds start functions with one. */
static bool is_endbr(const uint8_t *p, uint64_t avail)
{
	return avail >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && (p[3] == 0xfa || p[3] == 0xfb);
}

/* A return at `va`: ret, or jmp to a return thunk whose own code is a ret (after a jump or two). */
static bool returns_at(const struct kernel_image *im, uint64_t va)
{
	for (int hop = 0; hop <= THUNK_HOPS; hop++) {
		uint64_t avail;
		const uint8_t *p = code_at(im, va, &avail);
		if (!p)
			return false;
		if (p[0] == 0xc3)
			return true;
		int32_t rel;
		if (p[0] == 0xe9 && avail >= 5) {
			memcpy(&rel, p + 1, 4);
			va = branch_target(im, va + 5, rel);
		} else if (p[0] == 0xeb && avail >= 2) {      /* a thunk close by */
			rel = (int8_t)p[1];
			va = branch_target(im, va + 2, rel);
		} else {
			return false;
		}
	}
	return false;
}

struct stub { uint64_t site_va, offset; enum xen_call_insn insn; };

/* Does a hypercall stub start at `va` ([endbr] vmcall|vmmcall|our out, then a return)?
 * NULL if so, else what is wrong. */
static const char *stub_at(const struct kernel_image *im, uint64_t va, struct stub *st)
{
	uint64_t avail;
	const uint8_t *p = code_at(im, va, &avail);

	if (!p)
		return "outside the executable segments";
	if (is_endbr(p, avail)) {
		p += 4, avail -= 4, va += 4;
		if (!avail)
			return "an endbr at the end of its segment";
	}
	const struct insn_form *f = insn_form_at(p, avail);
	if (!f)
		return "not vmcall or vmmcall";
	if (!returns_at(im, va + 3))
		return "not followed by a return (ret, or jmp to a return thunk)";
	*st = (struct stub){ va, (uint64_t)(p - im->bytes), f->insn };
	return NULL;
}

/* Reading forward through one segment's bytes. */
struct cursor { const uint8_t *p; uint64_t left, va; };

static void skip(struct cursor *c, uint64_t n)
{
	c->p += n, c->left -= n, c->va += n;
}

static bool take(struct cursor *c, const uint8_t *bytes, unsigned int n)
{
	if (c->left < n || memcmp(c->p, bytes, n))
		return false;
	skip(c, n);
	return true;
}

static bool take_rel(struct cursor *c, unsigned int width, int32_t *v)
{
	if (c->left < width)
		return false;
	if (width == 1) {
		*v = (int8_t)c->p[0];
	} else {
		memcpy(v, c->p, 4);
	}
	skip(c, width);
	return true;
}

/* One branch among its short and near forms (je: 74 / 0f 84; jmp: eb / e9). */
static bool take_branch(const struct kernel_image *im, struct cursor *c, uint8_t short_op,
			const uint8_t *near_op, unsigned int near_n, uint64_t *target)
{
	int32_t rel;

	if (take(c, &short_op, 1)) {
		if (!take_rel(c, 1, &rel))
			return false;
	} else if (!take(c, near_op, near_n) || !take_rel(c, 4, &rel)) {
		return false;
	}
	*target = branch_target(im, c->va, rel);
	return true;
}

/* The stub address loaded into a register; *reg says which. */
static bool take_stub_load(const struct kernel_image *im, struct cursor *c, unsigned int *reg,
			   uint64_t *addr)
{
	const struct load_form *forms = im->code64 ? load_forms64 : load_forms32;
	size_t n = im->code64 ? sizeof(load_forms64) / sizeof(load_forms64[0])
			      : sizeof(load_forms32) / sizeof(load_forms32[0]);

	for (size_t i = 0; i < n; i++) {
		int32_t v;
		if (!take(c, forms[i].bytes, forms[i].n))
			continue;
		if (!take_rel(c, 4, &v))
			return false;
		if (forms[i].kind == ADDR_RIP_RELATIVE)
			*addr = branch_target(im, c->va, v);
		else
			*addr = im->code64 ? (uint64_t)(int64_t)v : (uint32_t)v;
		*reg = forms[i].reg;
		return true;
	}
	return false;
}

/* cmp between rax and `reg`, either operand order (ZF is all that is used). */
static bool take_cmp_rax(const struct kernel_image *im, struct cursor *c, unsigned int reg)
{
	static const uint8_t rex_w = 0x48;

	if (im->code64 && !take(c, &rex_w, 1))
		return false;
	if (c->left < 2 || (c->p[0] != 0x39 && c->p[0] != 0x3b))
		return false;
	uint8_t modrm = c->p[1];
	unsigned int a = (modrm >> 3) & 7, b = modrm & 7;
	if ((modrm >> 6) != 3 || !((a == 0 && b == reg) || (a == reg && b == 0)))
		return false;
	skip(c, 2);
	return true;
}

struct dispatcher { uint64_t va, je_target, jmp_target; };

/* Is `call_at` (an e8 in segment s) the call inside a dispatcher?  See the top of the file. */
static bool dispatcher_at(const struct kernel_image *im, const struct code_segment *s, uint64_t call_at,
			  struct dispatcher *d)
{
	static const uint8_t je_near[2] = { 0x0f, 0x84 }, jmp_near[1] = { 0xe9 };
	const uint8_t *seg = im->bytes + s->offset;
	struct cursor c = { seg + call_at + 5, s->size - call_at - 5, s->va + call_at + 5 };
	unsigned int reg, npops = 0;
	uint8_t pops[MAX_SAVED_REGS];
	uint64_t loaded;

	if (!take_stub_load(im, &c, &reg, &loaded) || !take_cmp_rax(im, &c, reg))
		return false;
	for (;;) {                                /* pop, or pop of r8-r15 behind REX.B */
		unsigned int high = 0;
		if (im->code64 && c.left >= 2 && c.p[0] == 0x41 && (c.p[1] & 0xf8) == 0x58) {
			high = 8;
			skip(&c, 1);
		}
		if (!c.left || (c.p[0] & 0xf8) != 0x58)
			break;
		if (npops == MAX_SAVED_REGS)
			return false;
		pops[npops++] = (uint8_t)(high + (c.p[0] & 7));
		skip(&c, 1);
	}
	if (npops && pops[npops - 1] == 5)        /* pop %rbp: FRAME_END, balancing FRAME_BEGIN */
		npops--;
	if (npops < MIN_SAVED_REGS)
		return false;
	if (!take_branch(im, &c, 0x74, je_near, 2, &d->je_target) ||
	    !take_branch(im, &c, 0xeb, jmp_near, 1, &d->jmp_target) || d->je_target != loaded)
		return false;
	/* The pushes before the call mirror the pops; a dummy `pushq $0` may balance a first pop %rax. */
	uint64_t at = call_at;
	for (unsigned int k = 0; k < npops; k++) {
		uint8_t enc[2] = { 0x41, (uint8_t)(0x50 + (pops[k] & 7)) };
		unsigned int n = pops[k] >= 8 ? 2 : 1;
		if (at >= n && !memcmp(seg + at - n, enc + 2 - n, n)) {
			at -= n;
		} else if (k == 0 && pops[k] == 0 && at >= 2 && seg[at - 2] == 0x6a && seg[at - 1] == 0) {
			at -= 2;
		} else {
			return false;
		}
	}
	/* Report where the function starts: before FRAME_BEGIN and endbr when present. */
	static const uint8_t frame64[4] = { 0x55, 0x48, 0x89, 0xe5 }, frame32[3] = { 0x55, 0x89, 0xe5 };
	const uint8_t *frame = im->code64 ? frame64 : frame32;
	unsigned int frame_n = im->code64 ? 4 : 3;
	if (at >= frame_n && !memcmp(seg + at - frame_n, frame, frame_n))
		at -= frame_n;
	if (at >= 4 && is_endbr(seg + at - 4, 4))
		at -= 4;
	d->va = s->va + at;
	return true;
}

static void hex_bytes(const struct kernel_image *im, uint64_t va, char *buf, size_t len)
{
	uint64_t avail = 0;
	const uint8_t *p = code_at(im, va, &avail);
	size_t n = 0;

	buf[0] = '\0';
	for (uint64_t i = 0; p && i < avail && i < 8 && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%02x", i ? " " : "", p[i]);
	if (!p)
		snprintf(buf, len, "none in the file's code");
}

static bool have_site(const struct xen_call_sites *f, uint64_t va)
{
	for (unsigned int i = 0; i < f->nsites; i++)
		if (f->site[i].va == va)
			return true;
	return false;
}

/* Records a dispatcher and its two stubs, or says why the kernel is refused. */
static int add_dispatcher(const struct kernel_image *im, const struct dispatcher *d,
			  struct xen_call_sites *f, char *why, size_t whylen)
{
	const uint64_t targets[2] = { d->je_target, d->jmp_target };
	const char *branch[2] = { "je", "jmp" };

	if (f->ndispatchers == XEN_CALL_SITES_MAX) {
		snprintf(why, whylen, "more than %d Xen hypercall dispatchers (the last at %#llx)",
			 XEN_CALL_SITES_MAX, (unsigned long long)d->va);
		return -1;
	}
	f->dispatcher_va[f->ndispatchers++] = d->va;
	if (d->je_target == d->jmp_target) {
		snprintf(why, whylen, "Xen hypercall dispatcher at %#llx sends both CPU vendors to %#llx; "
			 "expected one stub each for vmcall and vmmcall", (unsigned long long)d->va,
			 (unsigned long long)d->je_target);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		struct stub st;
		const char *wrong = stub_at(im, targets[i], &st);
		if (wrong) {
			char bytes[40];
			hex_bytes(im, targets[i], bytes, sizeof(bytes));
			snprintf(why, whylen, "Xen hypercall dispatcher at %#llx: its %s target %#llx is %s "
				 "(bytes %s); expected [endbr64] vmcall or vmmcall, then ret or a jmp to a "
				 "return thunk", (unsigned long long)d->va, branch[i],
				 (unsigned long long)targets[i], wrong, bytes);
			return -1;
		}
		if (have_site(f, st.site_va))
			continue;
		if (f->nsites == XEN_CALL_SITES_MAX) {
			snprintf(why, whylen, "more than %d Xen hypercall stubs (the last at %#llx)",
				 XEN_CALL_SITES_MAX, (unsigned long long)st.site_va);
			return -1;
		}
		f->site[f->nsites++] = (struct xen_call_site){ st.site_va, st.offset, st.insn };
	}
	return 0;
}

static int find_dispatchers(const struct kernel_image *im, struct xen_call_sites *f, char *why,
			    size_t whylen)
{
	for (unsigned int i = 0; i < im->nsegs; i++) {
		const struct code_segment *s = &im->seg[i];
		const uint8_t *seg = im->bytes + s->offset;
		for (uint64_t at = 0; at + 5 <= s->size; at++) {
			const uint8_t *call = memchr(seg + at, 0xe8, s->size - 4 - at);
			if (!call)
				break;
			at = (uint64_t)(call - seg);
			struct dispatcher d;
			if (dispatcher_at(im, s, at, &d) && add_dispatcher(im, &d, f, why, whylen))
				return -1;
		}
	}
	return 0;
}

/* vmcall/vmmcall at 16-byte aligned `va` (or just after an endbr there), then a return. */
static bool shaped_like_stub(const struct kernel_image *im, const uint8_t *seg, uint64_t at, uint64_t va)
{
	bool aligned = (va & 15) == 0 || ((va & 15) == 4 && at >= 4 && is_endbr(seg + at - 4, 4));
	return aligned && returns_at(im, va + 3);
}

/* Counts the vmcall/vmmcall left alone; *stray: the first stub-shaped one no dispatcher reaches. */
static void survey_others(const struct kernel_image *im, struct xen_call_sites *f, bool *stray_found,
			  uint64_t *stray_va, enum xen_call_insn *stray_insn)
{
	static const uint8_t two[2] = { 0x0f, 0x01 };

	for (unsigned int i = 0; i < im->nsegs; i++) {
		const struct code_segment *s = &im->seg[i];
		const uint8_t *seg = im->bytes + s->offset;
		for (uint64_t at = 0; at + 3 <= s->size; at++) {
			const uint8_t *p = memmem(seg + at, s->size - at, two, 2);
			if (!p)
				break;
			at = (uint64_t)(p - seg);
			const struct insn_form *form = insn_form_at(p, s->size - at);
			uint64_t va = s->va + at;
			if (!form || form->insn == XEN_CALL_PORT_OUT || have_site(f, va))
				continue;
			if (at && seg[at - 1] == 0xf3) {
				f->prefixed++;
				continue;
			}
			f->others++;
			if (!*stray_found && shaped_like_stub(im, seg, at, va)) {
				*stray_found = true;
				*stray_va = va;
				*stray_insn = form->insn;
			}
		}
	}
}

int xen_call_sites_patch(uint8_t *elf, size_t size, struct xen_call_sites *found, char *why,
			 size_t whylen)
{
	struct xen_call_sites local;
	struct xen_call_sites *f = found ? found : &local;
	struct kernel_image im;
	bool stray = false;
	uint64_t stray_va = 0;
	enum xen_call_insn stray_insn = XEN_CALL_VMCALL;

	memset(f, 0, sizeof(*f));
	if (image_open(&im, elf, size, why, whylen))
		return -1;
	f->hypercall_page_note = im.hypercall_page_note;
	if (find_dispatchers(&im, f, why, whylen))
		return -1;
	survey_others(&im, f, &stray, &stray_va, &stray_insn);
	if (!f->ndispatchers && stray && !im.hypercall_page_note) {
		snprintf(why, whylen, "%s at %#llx is shaped like a Xen hypercall function (16-byte aligned, "
			 "then a return) but no Xen hypercall dispatcher we know leads to it (expected: "
			 "register pushes, call, lea of one stub, cmp with rax, pops, je/jmp to the vmmcall "
			 "and vmcall stubs), and the kernel names no hypercall page",
			 insn_forms[stray_insn].name, (unsigned long long)stray_va);
		return -1;
	}
	int patched = 0;
	for (unsigned int i = 0; i < f->nsites; i++) {
		if (f->site[i].was == XEN_CALL_PORT_OUT)
			continue;
		memcpy(elf + f->site[i].offset, port_out, sizeof(port_out));
		patched++;
	}
	return patched;
}

void xen_call_sites_describe(const struct xen_call_sites *f, char *buf, size_t len)
{
	size_t n = 0;

#define PUT(...) do { if (n < len) n += snprintf(buf + n, len - n, __VA_ARGS__); } while (0)
	if (!len)
		return;
	buf[0] = '\0';
	if (!f->nsites) {
		PUT("no Xen hypercall functions (the kernel calls Xen through the hypercall page%s)",
		    f->hypercall_page_note ? ", which it names" : "");
	} else {
		PUT("Xen hypercall dispatcher at");
		for (unsigned int i = 0; i < f->ndispatchers; i++)
			PUT("%s %#llx", i ? "," : "", (unsigned long long)f->dispatcher_va[i]);
		PUT("; its stubs now `out %%eax,$%#x`:", XEN_HYPERCALL_PORT);
		for (unsigned int i = 0; i < f->nsites; i++) {
			const struct xen_call_site *s = &f->site[i];
			PUT("%s %s at %#llx", i ? "," : "",
			    s->was == XEN_CALL_PORT_OUT ? "already" : insn_forms[s->was].name,
			    (unsigned long long)s->va);
		}
	}
	PUT("; left alone: %u other vmcall/vmmcall, %u prefixed (VMGEXIT)", f->others, f->prefixed);
#undef PUT
}

enum xen_unseen_hypercall xen_call_sites_unseen(const uint8_t before_rip[3], uint64_t rax)
{
	/* What KVM puts in rax for a hypercall it does not serve, in long mode or truncated outside. */
	static const int64_t kvm_answers[] = { -KVM_ENOSYS, -KVM_EPERM };
	bool answered = false;

	for (size_t i = 0; i < sizeof(kvm_answers) / sizeof(kvm_answers[0]); i++)
		if (rax == (uint64_t)kvm_answers[i] || rax == (uint32_t)kvm_answers[i])
			answered = true;
	const struct insn_form *f = insn_form_at(before_rip, 3);
	if (!answered || !f || f->insn == XEN_CALL_PORT_OUT)
		return XEN_UNSEEN_NONE;
	return f->insn == XEN_CALL_VMCALL ? XEN_UNSEEN_VMCALL : XEN_UNSEEN_VMMCALL;
}
