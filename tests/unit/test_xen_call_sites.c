/* Rewriting Xen hypercall call sites (src/vmm/xen_call_sites.c), checked against real artefacts
 * and real tools:
 *   - Debian's kernel exactly as packaged (scripts/debian-kernel --cached, unpacked with
 *     bzimage_unpack): its two stubs rewritten and nothing else; objdump, reading the image on its
 *     own, finds `out %eax,$0x5c` exactly at the targets of the dispatcher's je/jmp and every other
 *     vmcall/vmmcall/vmgexit of .text still there;
 *   - synthetic kernels written in assembly after the shapes of Linux's xen-head.S (IBT, frame
 *     pointers, %rbx or %rcx, lea or mov, ret or return thunk, either stub order, 32-bit), assembled
 *     and linked by binutils; the stub addresses come from `nm`, the rewritten bytes are confirmed by
 *     `objdump`; shapes we do not know are refused with a message naming the address;
 *   - the helper that spots hypercalls KVM answered itself, table-driven.
 * Images are handed over in mallocs of exactly their size, so ASan catches a read past the end. */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vmm/bzimage.h"
#include "vmm/xen_call_sites.h"
#include "debian_kernel.h"
#include "unit.h"

#define MAX_STUBS 4
#define OBJDUMP_MAX_OUTS 64

static const uint8_t port_out[3] = { 0xe7, 0x5c, 0x90 };

struct image {
	uint8_t *p;
	size_t len;
};

static void skip(const char *name, const char *why)
{
	printf("skip - %s: %s\n", name, why);
	fflush(stdout);
}

static bool load_file(const char *path, struct image *im)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	bool ok = false;

	*im = (struct image){ 0 };
	if (f && !fstat(fileno(f), &st) && (im->p = malloc(st.st_size ? (size_t)st.st_size : 1)) &&
	    fread(im->p, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		im->len = (size_t)st.st_size;
		ok = true;
	}
	if (f)
		fclose(f);
	if (!ok) {
		free(im->p);
		im->p = NULL;
	}
	return ok;
}

static bool save_file(const char *path, const struct image *im)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(im->p, 1, im->len, f) == im->len;
	return f && !fclose(f) && ok;
}

static struct image copy_of(const struct image *im)
{
	struct image c = { malloc(im->len ? im->len : 1), im->len };
	if (c.p)
		memcpy(c.p, im->p, im->len);
	return c;
}

static bool tools_present(const char *tools)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "for t in %s; do command -v $t >/dev/null 2>&1 || exit 1; done", tools);
	return system(cmd) == 0;
}

/* ---- What objdump sees, read independently of the patcher ---- */

struct disasm {
	unsigned long long hypercall_insns;     /* vmcall, vmmcall, vmgexit */
	unsigned int nouts;
	uint64_t out_va[OBJDUMP_MAX_OUTS];      /* `out %eax,$0x5c` */
	unsigned int je_jmp_pairs;              /* je X immediately followed by jmp Y */
	uint64_t je_to[OBJDUMP_MAX_OUTS], jmp_to[OBJDUMP_MAX_OUTS];
	bool ran;
};

/* Tallies objdump's lines ("addr:\tmnemonic operands", from -d --no-show-raw-insn). */
static void disasm_parse(FILE *p, struct disasm *d)
{
	char line[512];
	uint64_t pending_je = 0;
	bool after_je = false;

	*d = (struct disasm){ 0 };
	while (fgets(line, sizeof(line), p)) {
		char *colon = strchr(line, ':'), *tab = strchr(line, '\t');
		if (!colon || !tab || tab != colon + 1)
			continue;
		uint64_t va = strtoull(line, NULL, 16);
		char *insn = tab + 1, *ops = insn + strcspn(insn, " \n");
		size_t ilen = (size_t)(ops - insn);
		ops += strspn(ops, " ");
		bool was_je = after_je;
		after_je = false;
#define IS(m) (ilen == strlen(m) && !strncmp(insn, m, ilen))
		if (IS("vmcall") || IS("vmmcall") || IS("vmgexit")) {
			d->hypercall_insns++;
		} else if (IS("out") && !strncmp(ops, "%eax,$0x5c", 10)) {
			if (d->nouts < OBJDUMP_MAX_OUTS)
				d->out_va[d->nouts] = va;
			d->nouts++;
		} else if (IS("je")) {
			pending_je = strtoull(ops, NULL, 16);
			after_je = true;
		} else if (IS("jmp") && was_je && d->je_jmp_pairs < OBJDUMP_MAX_OUTS) {
			d->je_to[d->je_jmp_pairs] = pending_je;
			d->jmp_to[d->je_jmp_pairs++] = strtoull(ops, NULL, 16);
		}
#undef IS
	}
}

/* Runs `objdump -d --no-show-raw-insn ARGS` and tallies what it prints. */
static void objdump_read(const char *args, struct disasm *d)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn %s 2>/dev/null", args);
	FILE *p = popen(cmd, "r");
	*d = (struct disasm){ 0 };
	if (!p)
		return;
	disasm_parse(p, d);
	d->ran = pclose(p) == 0;
}

/* Tallies a listing objdump wrote to `path`. */
static void listing_read(const char *path, struct disasm *d)
{
	FILE *f = fopen(path, "r");
	*d = (struct disasm){ 0 };
	if (!f)
		return;
	disasm_parse(f, d);
	d->ran = !ferror(f);
	fclose(f);
}

static bool has_va(const uint64_t *list, unsigned int n, uint64_t va)
{
	for (unsigned int i = 0; i < n; i++)
		if (list[i] == va)
			return true;
	return false;
}

/* Only the reported sites' 3 bytes changed, each from vmcall/vmmcall to the port `out`. */
static void check_only_sites_changed(struct unit *u, const struct image *before, const struct image *after,
				     const struct xen_call_sites *f)
{
	size_t changed = 0;

	for (size_t i = 0; i < before->len; i++) {
		if (before->p[i] == after->p[i])
			continue;
		bool in_site = false;
		for (unsigned int s = 0; s < f->nsites; s++)
			in_site |= i >= f->site[s].offset && i < f->site[s].offset + 3;
		CHECK(in_site, "byte at file offset %#zx changed outside every reported site", i);
		changed++;
	}
	unsigned int fresh = 0;
	for (unsigned int s = 0; s < f->nsites; s++) {
		const uint8_t *was = before->p + f->site[s].offset, *now = after->p + f->site[s].offset;
		if (f->site[s].was == XEN_CALL_PORT_OUT)
			continue;
		fresh++;
		CHECK(was[0] == 0x0f && was[1] == 0x01 && (was[2] == 0xc1 || was[2] == 0xd9),
		      "site %#llx held %02x %02x %02x, not vmcall/vmmcall", (unsigned long long)f->site[s].va,
		      was[0], was[1], was[2]);
		CHECK(!memcmp(now, port_out, 3), "site %#llx now holds %02x %02x %02x, not e7 5c 90",
		      (unsigned long long)f->site[s].va, now[0], now[1], now[2]);
	}
	CHECK_INT(changed, 3 * fresh);
}

/* ---- Debian's kernel ---- */

static bool debian_vmlinux(struct image *elf, char *why, size_t whylen)
{
	char path[PATH_MAX], err[256];
	const char *compressor = NULL;
	struct image bz;

	if (!debian_kernel_bzimage(path, sizeof(path), why, whylen))
		return false;
	if (!load_file(path, &bz)) {
		snprintf(why, whylen, "cannot read %.400s", path);
		return false;
	}
	bool ok = bzimage_unpack(bz.p, bz.len, &elf->p, &elf->len, &compressor, err, sizeof(err)) == 1;
	if (!ok)
		snprintf(why, whylen, "bzimage_unpack %.200s: %.250s", path, err);
	free(bz.p);
	return ok;
}

struct debian_case {
	const char *tmpdir;
	struct image vmlinux;
};

static void test_debian_kernel(struct unit *u, const void *arg)
{
	const struct debian_case *c = arg;
	const char *tmpdir = c->tmpdir;
	const struct image orig = c->vmlinux;
	struct image patched;
	struct xen_call_sites found;
	char why[512], path_orig[600], path_patched[600], args[2800];

	patched = copy_of(&orig);
	int rc = xen_call_sites_patch(patched.p, patched.len, &found, why, sizeof(why));
	CHECK(rc == 2, "patched %d sites, expected 2 (%s)", rc, rc < 0 ? why : "");
	CHECK_INT(found.nsites, 2);
	CHECK_INT(found.ndispatchers, 1);
	check_only_sites_changed(u, &orig, &patched, &found);

	snprintf(path_orig, sizeof(path_orig), "%s/vmlinux", tmpdir);
	snprintf(path_patched, sizeof(path_patched), "%s/vmlinux.patched", tmpdir);
	CHECK(save_file(path_orig, &orig) && save_file(path_patched, &patched), "writing %s", tmpdir);
	/* Both listings at once: a few seconds each for 60 MB of kernel. */
	struct disasm before, after, around;
	snprintf(args, sizeof(args), "objdump -d --no-show-raw-insn -j .text '%s' >'%s.s' & a=$!; "
		 "objdump -d --no-show-raw-insn -j .text '%s' >'%s.s' & b=$!; wait $a && wait $b",
		 path_orig, path_orig, path_patched, path_patched);
	bool listed = system(args) == 0;
	CHECK(listed, "objdump -d failed on %s", tmpdir);
	snprintf(args, sizeof(args), "%s.s", path_orig);
	listing_read(args, &before);
	unlink(args);
	snprintf(args, sizeof(args), "%s.s", path_patched);
	listing_read(args, &after);
	unlink(args);
	CHECK(after.nouts == before.nouts + 2, "objdump sees %u `out %%eax,$0x5c` after, %u before",
	      after.nouts, before.nouts);
	CHECK(after.hypercall_insns + 2 == before.hypercall_insns,
	      "objdump sees %llu vmcall/vmmcall/vmgexit in .text after, %llu before (expected 2 fewer)",
	      after.hypercall_insns, before.hypercall_insns);
	/* The new outs, and the je/jmp right before them that lead there. */
	uint64_t fresh[2];
	unsigned int nfresh = 0;
	for (unsigned int i = 0; i < after.nouts && i < OBJDUMP_MAX_OUTS; i++)
		if (!has_va(before.out_va, before.nouts, after.out_va[i]) && nfresh < 2)
			fresh[nfresh++] = after.out_va[i];
	CHECK_INT(nfresh, 2);
	if (nfresh == 2) {
		uint64_t lo = fresh[0] < fresh[1] ? fresh[0] : fresh[1], hi = fresh[0] ^ fresh[1] ^ lo;
		snprintf(args, sizeof(args), "--start-address=%#llx --stop-address=%#llx '%s'",
			 (unsigned long long)(lo - 0x80), (unsigned long long)(hi + 16), path_patched);
		objdump_read(args, &around);
		bool led = false;
		for (unsigned int i = 0; i < around.je_jmp_pairs; i++)
			led |= (around.je_to[i] == fresh[0] && around.jmp_to[i] == fresh[1]) ||
			       (around.je_to[i] == fresh[1] && around.jmp_to[i] == fresh[0]);
		CHECK(led, "no je/jmp pair just before %#llx and %#llx leads to both",
		      (unsigned long long)fresh[0], (unsigned long long)fresh[1]);
		for (unsigned int s = 0; s < found.nsites; s++)
			CHECK(has_va(fresh, 2, found.site[s].va), "reported site %#llx is not where objdump "
			      "sees a new out", (unsigned long long)found.site[s].va);
	}
	unlink(path_orig);
	unlink(path_patched);

	/* A rewritten kernel given again: found, nothing to do. */
	struct image again = copy_of(&patched);
	struct xen_call_sites found2;
	CHECK_INT(xen_call_sites_patch(again.p, again.len, &found2, why, sizeof(why)), 0);
	CHECK_INT(found2.nsites, 2);
	CHECK(!memcmp(again.p, patched.p, patched.len), "a second pass changed the image");
	free(again.p);
	free(patched.p);
}

/* ---- Synthetic kernels, from assembly ---- */

enum shape_flags {
	IBT = 1 << 0,            /* endbr64 at the dispatcher and at each stub */
	FRAME = 1 << 1,          /* frame pointers: push %rbp/mov, pushq $0 + dummy pop, FRAME_END */
	RBX = 1 << 2,            /* the first version: lea into %rbx */
	MOV = 1 << 3,            /* mov $amd_stub,%rcx (6.6 variant) */
	PLAIN_RET = 1 << 4,      /* no return thunk: ret; int3 */
	SWAPPED = 1 << 5,        /* the Intel stub first in memory */
	NEAR_THUNK = 1 << 6,     /* the return thunk close enough for a short jmp */
	BITS32 = 1 << 7,         /* a 32-bit kernel (ELF32, EM_386) */
};

struct shape {
	const char *name;
	unsigned int flags;
};

static const struct shape shapes[] = {
	{ "debian-6.1", 0 },
	{ "plain-ret", PLAIN_RET },
	{ "ibt", IBT },
	{ "frame-pointers", FRAME },
	{ "ibt-frame-pointers-ret", IBT | FRAME | PLAIN_RET },
	{ "first-version-rbx", RBX | FRAME },
	{ "mov-imm", MOV },
	{ "swapped-stubs", SWAPPED },
	{ "near-thunk", NEAR_THUNK | SWAPPED },
	{ "32-bit", BITS32 | PLAIN_RET },
	{ "32-bit-frame-swapped", BITS32 | FRAME | SWAPPED },
};

/* Code every synthetic kernel also carries, to be left alone: KVM's inline hypercall, a VMGEXIT
 * shaped like a stub, a stub-shaped vmcall in read-only data. */
static const char bystanders[] =
	"\t.p2align 4, 0xcc\n"
	"kvm_like:\n\tmov $5, %eax\n\tvmcall\n\tmov %eax, %ecx\n\tret\n"
	"\t.p2align 4, 0xcc\n"
	"\t.byte 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc\n"
	"vmgexit_like:\n\trep; vmmcall\n\tret\n"
	"\t.section .rodata\n\t.p2align 4\nro_stub:\n\tvmcall\n\tret\n\t.text\n";

static void emit_dispatcher(FILE *f, unsigned int fl)
{
	static const char *regs64[] = { "rax", "rcx", "rdx", "rdi", "rsi", "r11", "r10", "r9", "r8" };
	static const char *regs32[] = { "eax", "ebx", "ecx", "edx", "esi", "edi" };
	bool b32 = fl & BITS32;
	const char **regs = b32 ? regs32 : regs64;
	int n = b32 ? 6 : 9;

	fprintf(f, "\t.text\n\t.globl _start\n_start:\n");
	if (fl & IBT)
		fprintf(f, "\tendbr64\n");
	if (fl & FRAME)
		fprintf(f, b32 ? "\tpush %%ebp\n\tmov %%esp, %%ebp\n" : "\tpush %%rbp\n\tmov %%rsp, %%rbp\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "\tpush %%%s\n", regs[i]);
	if ((fl & FRAME) && !b32)
		fprintf(f, "\tpushq $0\n");
	fprintf(f, "\tcall setfunc\n");
	if (b32)
		fprintf(f, "\tlea amd, %%ebx\n\tcmp %%eax, %%ebx\n");
	else if (fl & MOV)
		fprintf(f, "\tmov $amd, %%rcx\n\tcmp %%rax, %%rcx\n");
	else
		fprintf(f, "\tlea amd(%%rip), %%%s\n\tcmp %%rax, %%%s\n", fl & RBX ? "rbx" : "rcx",
			fl & RBX ? "rbx" : "rcx");
	if ((fl & FRAME) && !b32)
		fprintf(f, "\tpop %%rax\n");
	for (int i = n - 1; i >= 0; i--)
		fprintf(f, "\tpop %%%s\n", regs[i]);
	if (fl & FRAME)
		fprintf(f, b32 ? "\tpop %%ebp\n" : "\tpop %%rbp\n");
	fprintf(f, "\tje amd\n\tjmp intel\n");
}

static void emit_stub(FILE *f, unsigned int fl, const char *name, const char *insn)
{
	fprintf(f, "\t.p2align 4, 0x90\n%s:\n", name);
	if (fl & IBT)
		fprintf(f, "\tendbr64\n");
	fprintf(f, "\t%s\n", insn);
	fprintf(f, fl & PLAIN_RET ? "\tret\n\tint3\n" : "\tjmp thunk\n");
}

static void emit_shape(FILE *f, unsigned int fl)
{
	emit_dispatcher(f, fl);
	emit_stub(f, fl, fl & SWAPPED ? "intel" : "amd", fl & SWAPPED ? "vmcall" : "vmmcall");
	emit_stub(f, fl, fl & SWAPPED ? "amd" : "intel", fl & SWAPPED ? "vmmcall" : "vmcall");
	fprintf(f, "\t.p2align 4, 0xcc\nsetfunc:\n\tlea%s intel%s, %%%s\n\tret\n", fl & BITS32 ? "l" : "q",
		fl & BITS32 ? "" : "(%rip)", fl & BITS32 ? "eax" : "rax");
	fputs(bystanders, f);
	if (!(fl & NEAR_THUNK))
		fprintf(f, "\t.skip 512, 0xcc\n");
	fprintf(f, "thunk:\n\tret\n\tint3\n");
}

/* Assembles and links `source` (64- or 32-bit) at the kernel's usual addresses; the ELF in *im. */
static bool build_kernel(struct unit *u, const char *dir, const char *source, bool bits32, struct image *im)
{
	char path[600], cmd[2048];

	snprintf(path, sizeof(path), "%s/k.S", dir);
	FILE *f = fopen(path, "w");
	if (!f || fputs(source, f) < 0 || fclose(f)) {
		CHECK(false, "writing %s", path);
		return false;
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && as %s -o k.o k.S 2>err && ld -m %s -static -nostdlib "
		 "-z noexecstack -Ttext=%s -o k.elf k.o 2>>err", dir, bits32 ? "--32" : "--64",
		 bits32 ? "elf_i386" : "elf_x86_64", bits32 ? "0xc1000000" : "0xffffffff81000000");
	if (system(cmd) != 0) {
		char err[300] = "", errpath[620];
		snprintf(errpath, sizeof(errpath), "%s/err", dir);
		FILE *e = fopen(errpath, "r");
		if (e) {
			size_t n = fread(err, 1, sizeof(err) - 1, e);
			err[n] = '\0';
			fclose(e);
		}
		CHECK(false, "as/ld failed: %s", err);
		return false;
	}
	snprintf(path, sizeof(path), "%s/k.elf", dir);
	CHECK(load_file(path, im), "reading %s", path);
	return im->p != NULL;
}

/* The address of symbol `name` in the kernel just built, as `nm` reads it. */
static uint64_t symbol(const char *dir, const char *name)
{
	char cmd[700], line[256], sym[128];
	unsigned long long va;
	char type;
	uint64_t found = 0;

	snprintf(cmd, sizeof(cmd), "nm '%s/k.elf'", dir);
	FILE *p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (sscanf(line, "%llx %c %127s", &va, &type, sym) == 3 && !strcmp(sym, name))
			found = va;
	if (p)
		pclose(p);
	return found;
}

static char *shape_source(unsigned int fl)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	emit_shape(f, fl);
	fclose(f);
	return text;
}

/* A synthetic case: the scratch directory and its row. */
struct synthetic_case {
	const char *dir;
	const void *row;
};

static void test_shape(struct unit *u, const void *arg)
{
	const struct synthetic_case *c = arg;
	const struct shape *sh = c->row;
	const char *dir = c->dir;
	struct image orig, patched;
	struct xen_call_sites found;
	char why[512], args[700];
	char *source = shape_source(sh->flags);

	if (!source || !build_kernel(u, dir, source, sh->flags & BITS32, &orig)) {
		free(source);
		return;
	}
	free(source);
	unsigned int endbr = sh->flags & IBT ? 4 : 0;
	uint64_t amd = symbol(dir, "amd") + endbr, intel = symbol(dir, "intel") + endbr;
	uint64_t start = symbol(dir, "_start");
	patched = copy_of(&orig);
	int rc = xen_call_sites_patch(patched.p, patched.len, &found, why, sizeof(why));
	CHECK(rc == 2, "patched %d sites, expected 2 (%s)", rc, rc < 0 ? why : "");
	check_only_sites_changed(u, &orig, &patched, &found);
	CHECK(found.nsites == 2 && has_va((uint64_t[]){ amd, intel }, 2, found.site[0].va) &&
	      has_va((uint64_t[]){ amd, intel }, 2, found.site[1].va),
	      "sites %#llx, %#llx; nm says amd %#llx intel %#llx", (unsigned long long)found.site[0].va,
	      (unsigned long long)found.site[1].va, (unsigned long long)amd, (unsigned long long)intel);
	CHECK(found.ndispatchers == 1 && found.dispatcher_va[0] == start,
	      "dispatcher reported at %#llx, _start is %#llx", (unsigned long long)found.dispatcher_va[0],
	      (unsigned long long)start);
	CHECK_INT(found.others, 1);              /* kvm_like */
	CHECK_INT(found.prefixed, 1);            /* vmgexit_like */
	for (unsigned int s = 0; s < found.nsites; s++)
		CHECK(found.site[s].was == (found.site[s].va == amd ? XEN_CALL_VMMCALL : XEN_CALL_VMCALL),
		      "site %#llx: wrong instruction recorded", (unsigned long long)found.site[s].va);

	char path[600];
	snprintf(path, sizeof(path), "%s/k.elf", dir);
	CHECK(save_file(path, &patched), "writing %s", path);
	struct disasm d;
	snprintf(args, sizeof(args), "-j .text '%s'", path);
	objdump_read(args, &d);
	CHECK(d.ran && d.nouts == 2 && has_va(d.out_va, 2, amd) && has_va(d.out_va, 2, intel),
	      "objdump sees %u `out %%eax,$0x5c`, expected them at %#llx and %#llx", d.nouts,
	      (unsigned long long)amd, (unsigned long long)intel);
	CHECK(d.hypercall_insns == 2, "objdump sees %llu vmcall/vmmcall/vmgexit left, expected 2 "
	      "(kvm_like, vmgexit_like)", d.hypercall_insns);

	char line[1024];
	xen_call_sites_describe(&found, line, sizeof(line));
	snprintf(args, sizeof(args), "%#llx", (unsigned long long)amd);
	CHECK(strstr(line, args) && strstr(line, "out %eax,$0x5c"), "log line: %s", line);
	free(orig.p);
	free(patched.p);
}

/* Kernels that must be refused, or left untouched. */
struct odd_kernel {
	const char *name;
	bool bits32;
	const char *source;
	int rc;
	const char *why;               /* substring of the refusal; "%s" stands for `at_symbol`'s address */
	const char *at_symbol;
};

#define DISPATCHER64 \
	"\t.text\n\t.globl _start\n_start:\n" \
	"\tpush %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rdi\n\tpush %rsi\n" \
	"\tpush %r11\n\tpush %r10\n\tpush %r9\n\tpush %r8\n" \
	"\tcall setfunc\n\tlea amd(%rip), %rcx\n\tcmp %rax, %rcx\n" \
	"\tpop %r8\n\tpop %r9\n\tpop %r10\n\tpop %r11\n\tpop %rsi\n\tpop %rdi\n\tpop %rdx\n\tpop %rcx\n" \
	"\tpop %rax\n\tje amd\n\tjmp intel\n"
#define SETFUNC "\t.p2align 4, 0xcc\nsetfunc:\n\tlea intel(%rip), %rax\n\tret\n"
#define INTEL_STUB "\t.p2align 4, 0xcc\nintel:\n\tvmcall\n\tret\n\tint3\n"
#define HYPERCALL_PAGE_NOTE \
	"\t.section .note.Xen, \"a\", @note\n\t.p2align 2\n\t.long 4, 8, 2\n\t.asciz \"Xen\"\n" \
	"\t.quad 0xffffffff81001000\n\t.text\n"

static const struct odd_kernel odd_kernels[] = {
	{ "stub-without-return", false,
	  DISPATCHER64 "\t.p2align 4, 0xcc\namd:\n\tvmmcall\n\tnop\n\tret\n" INTEL_STUB SETFUNC,
	  -1, "je target %s is not followed by a return", "amd" },
	{ "stub-not-a-hypercall", false,
	  DISPATCHER64 "\t.p2align 4, 0xcc\namd:\n\tcpuid\n\tret\n" INTEL_STUB SETFUNC,
	  -1, "je target %s is not vmcall or vmmcall", "amd" },
	{ "stub-in-read-only-data", false,
	  DISPATCHER64 INTEL_STUB SETFUNC "\t.section .rodata\n\t.p2align 4\namd:\n\tvmmcall\n\tret\n",
	  -1, "je target %s is outside the executable segments", "amd" },
	{ "pushes-not-mirroring-pops", false,
	  "\t.text\n\t.globl _start\n_start:\n\tpush %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rdi\n"
	  "\tcall setfunc\n\tlea amd(%rip), %rcx\n\tcmp %rax, %rcx\n"
	  "\tpop %rdx\n\tpop %rdi\n\tpop %rcx\n\tpop %rax\n\tje amd\n\tjmp intel\n"
	  "\t.p2align 4, 0xcc\namd:\n\tvmmcall\n\tret\n" INTEL_STUB SETFUNC,
	  -1, "vmmcall at %s is shaped like a Xen hypercall function", "amd" },
	{ "lone-stub", false,
	  "\t.text\n\t.globl _start\n_start:\n\tmov $17, %eax\n\tcall hcall\n\tret\n"
	  "\t.p2align 4, 0xcc\nhcall:\n\tvmcall\n\tret\n",
	  -1, "vmcall at %s is shaped like a Xen hypercall function", "hcall" },
	{ "lone-stub-with-hypercall-page", false,
	  "\t.text\n\t.globl _start\n_start:\n\tmov $17, %eax\n\tcall hcall\n\tret\n"
	  "\t.p2align 4, 0xcc\nhcall:\n\tvmcall\n\tret\n" HYPERCALL_PAGE_NOTE,
	  0, NULL, NULL },
	{ "no-hypercalls", false,
	  "\t.text\n\t.globl _start\n_start:\n\tmov $1, %eax\n\tout %eax, $0xe9\n\tret\n",
	  0, NULL, NULL },
	{ "kvm-inline-only", false,
	  "\t.text\n\t.globl _start\n_start:\n\tmov $5, %eax\n\tvmcall\n\tmov $5, %eax\n\tvmmcall\n"
	  "\ttest %eax, %eax\n\tret\n",
	  0, NULL, NULL },
	{ "all-in-read-only-data", false,
	  "\t.text\n\t.globl _start\n_start:\n\tret\n\t.section .rodata\n\t.p2align 4\n"
	  "disp:\n\tpush %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rdi\n\tpush %rsi\n"
	  "\tcall setfunc\n\tlea amd(%rip), %rcx\n\tcmp %rax, %rcx\n"
	  "\tpop %rsi\n\tpop %rdi\n\tpop %rdx\n\tpop %rcx\n\tpop %rax\n\tje amd\n\tjmp intel\n"
	  "\t.p2align 4\namd:\n\tvmmcall\n\tret\n\t.p2align 4\nintel:\n\tvmcall\n\tret\n"
	  "\t.p2align 4\nsetfunc:\n\tret\n",
	  0, NULL, NULL },
	{ "32-bit-lone-stub", true,
	  "\t.text\n\t.globl _start\n_start:\n\tmov $17, %eax\n\tcall hcall\n\tret\n"
	  "\t.p2align 4, 0xcc\nhcall:\n\tvmmcall\n\tjmp thunk\nthunk:\n\tret\n",
	  -1, "vmmcall at %s is shaped like a Xen hypercall function", "hcall" },
};

static void test_odd_kernel(struct unit *u, const void *arg)
{
	const struct synthetic_case *c = arg;
	const struct odd_kernel *k = c->row;
	const char *dir = c->dir;
	struct image orig, patched;
	struct xen_call_sites found;
	char why[512] = "", want[256] = "", addr[32];

	if (!build_kernel(u, dir, k->source, k->bits32, &orig))
		return;
	patched = copy_of(&orig);
	int rc = xen_call_sites_patch(patched.p, patched.len, &found, why, sizeof(why));
	CHECK(rc == k->rc, "returned %d, expected %d (%s)", rc, k->rc, why);
	CHECK(!memcmp(orig.p, patched.p, orig.len), "the image changed");
	if (k->why) {
		snprintf(addr, sizeof(addr), "%#llx", (unsigned long long)symbol(dir, k->at_symbol));
		snprintf(want, sizeof(want), k->why, addr);
		CHECK(strstr(why, want), "refusal \"%s\" does not say \"%s\"", why, want);
	}
	if (!strcmp(k->name, "lone-stub-with-hypercall-page"))
		CHECK(found.hypercall_page_note && found.others == 1, "note %d, others %u",
		      found.hypercall_page_note, found.others);
	if (!strcmp(k->name, "kvm-inline-only"))
		CHECK_INT(found.others, 2);
	free(orig.p);
	free(patched.p);
}

/* Headers that point outside the file: refused, nothing read from there. */
static void test_broken_headers(struct unit *u, const void *arg)
{
	const struct synthetic_case *c = arg;
	struct image im;
	char why[512] = "";

	if (!build_kernel(u, c->dir, "\t.text\n\t.globl _start\n_start:\n\tvmcall\n\tret\n", false, &im))
		return;
	Elf64_Ehdr eh;
	memcpy(&eh, im.p, sizeof(eh));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *at = im.p + eh.e_phoff + (size_t)i * eh.e_phentsize;
		memcpy(&ph, at, sizeof(ph));
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			ph.p_filesz = im.len - ph.p_offset + 1;
			memcpy(at, &ph, sizeof(ph));
		}
	}
	struct image before = copy_of(&im);
	CHECK_INT(xen_call_sites_patch(im.p, im.len, NULL, why, sizeof(why)), -1);
	CHECK(strstr(why, "lies outside the file"), "segment past the end: \"%s\"", why);
	eh.e_phoff = im.len - 8;
	memcpy(im.p, &eh, sizeof(eh));
	CHECK_INT(xen_call_sites_patch(im.p, im.len, NULL, why, sizeof(why)), -1);
	CHECK(strstr(why, "program headers lie outside the file"), "headers past the end: \"%s\"", why);
	CHECK(!memcmp(im.p + sizeof(eh), before.p + sizeof(eh), im.len - sizeof(eh)), "the image changed");
	free(before.p);
	free(im.p);
}

/* Broken files are refused before anything is read from them. */
static void test_not_elf(struct unit *u, const void *arg)
{
	static const struct { const char *start; size_t n, len; const char *why; } rows[] = {
		{ "MZ\x90", 3, 4096, "not an ELF file" },
		{ "\x7f" "ELF", 4, 8, "not an ELF file" },
		{ "\x7f" "ELF\x02\x01\x01", 7, 32, "truncated or unknown-class ELF header" },
		{ "\x7f" "ELF\x03\x01\x01", 7, 128, "truncated or unknown-class ELF header" },
		{ "\x7f" "ELF\x02\x02\x01", 7, 128, "not a little-endian ELF" },
		{ "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x28", 19, 128, "ELF for machine 40, not x86" },
	};
	(void)arg;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct image im = { calloc(1, rows[i].len), rows[i].len };
		char why[256] = "";
		memcpy(im.p, rows[i].start, rows[i].n);
		CHECK_INT(xen_call_sites_patch(im.p, im.len, NULL, why, sizeof(why)), -1);
		CHECK(strstr(why, rows[i].why), "row %zu: \"%s\"", i, why);
		free(im.p);
	}
}

/* ---- Hypercalls KVM answered without us ---- */

static void test_unseen(struct unit *u, const void *arg)
{
	static const struct {
		uint8_t before[3];
		uint64_t rax;
		enum xen_unseen_hypercall want;
	} rows[] = {
		{ { 0x0f, 0x01, 0xc1 }, (uint64_t)-1000, XEN_UNSEEN_VMCALL },      /* -KVM_ENOSYS, long mode */
		{ { 0x0f, 0x01, 0xd9 }, (uint64_t)-1000, XEN_UNSEEN_VMMCALL },
		{ { 0x0f, 0x01, 0xc1 }, 0xfffffc18u, XEN_UNSEEN_VMCALL },          /* 32-bit guest */
		{ { 0x0f, 0x01, 0xd9 }, (uint64_t)-1, XEN_UNSEEN_VMMCALL },        /* -KVM_EPERM: not ring 0 */
		{ { 0x0f, 0x01, 0xd9 }, 0xffffffffu, XEN_UNSEEN_VMMCALL },
		{ { 0x0f, 0x01, 0xc1 }, 0, XEN_UNSEEN_NONE },                      /* a hypercall KVM served */
		{ { 0x0f, 0x01, 0xc1 }, (uint64_t)-38, XEN_UNSEEN_NONE },          /* Xen's -ENOSYS: ours */
		{ { 0x0f, 0x01, 0xc1 }, (uint64_t)-999, XEN_UNSEEN_NONE },
		{ { 0x0f, 0x01, 0xc1 }, 0xfffffc18ull << 32, XEN_UNSEEN_NONE },
		{ { 0xe7, 0x5c, 0x90 }, (uint64_t)-1000, XEN_UNSEEN_NONE },        /* our port */
		{ { 0x0f, 0x01, 0xd0 }, (uint64_t)-1000, XEN_UNSEEN_NONE },        /* xgetbv */
		{ { 0x01, 0xc1, 0x90 }, (uint64_t)-1000, XEN_UNSEEN_NONE },
	};
	(void)arg;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(xen_call_sites_unseen(rows[i].before, rows[i].rax) == rows[i].want,
		      "row %zu: %02x %02x %02x rax %#llx", i, rows[i].before[0], rows[i].before[1],
		      rows[i].before[2], (unsigned long long)rows[i].rax);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char tmpl[] = "/tmp/xenith-xcs.XXXXXX";
	char *dir = mkdtemp(tmpl);

	if (!dir) {
		printf("not ok - xen-call-sites: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	struct debian_case debian = { dir, { 0 } };
	char why[512];
	if (!tools_present("objdump"))
		skip("xen-call-sites-debian-kernel", "objdump (binutils) not found");
	else if (!debian_vmlinux(&debian.vmlinux, why, sizeof(why)))
		skip("xen-call-sites-debian-kernel", why);
	else
		unit_case(&u, "xen-call-sites-debian-kernel", test_debian_kernel, &debian);
	free(debian.vmlinux.p);
	if (tools_present("as ld nm objdump")) {
		char name[128];
		for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
			snprintf(name, sizeof(name), "xen-call-sites-shape-%s", shapes[i].name);
			struct synthetic_case c = { dir, &shapes[i] };
			unit_case(&u, name, test_shape, &c);
		}
		for (size_t i = 0; i < sizeof(odd_kernels) / sizeof(odd_kernels[0]); i++) {
			snprintf(name, sizeof(name), "xen-call-sites-%s", odd_kernels[i].name);
			struct synthetic_case c = { dir, &odd_kernels[i] };
			unit_case(&u, name, test_odd_kernel, &c);
		}
		struct synthetic_case c = { dir, NULL };
		unit_case(&u, "xen-call-sites-broken-headers", test_broken_headers, &c);
	} else {
		skip("xen-call-sites-synthetic", "binutils (as, ld, nm, objdump) not found");
	}
	unit_case(&u, "xen-call-sites-not-elf", test_not_elf, NULL);
	unit_case(&u, "xen-call-sites-unseen-hypercall", test_unseen, NULL);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return unit_finish(&u);
}
