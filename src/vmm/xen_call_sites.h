/* Xen hypercalls from kernels that issue vmcall/vmmcall themselves instead of calling through the
 * hypercall page (Linux since the CVE-2024-53241 fixes).  Without KVM's Xen interception those
 * instructions never reach the VMM, so the kernel image is rewritten before it is loaded: each
 * recognised hypercall instruction becomes `out %eax,$XEN_HYPERCALL_PORT; nop`, the same exit the
 * hypercall page's stubs take.  docs/guest-abi.md describes what is recognised and what is refused. */
#ifndef XENITH_XEN_CALL_SITES_H
#define XENITH_XEN_CALL_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XEN_CALL_SITES_MAX 8             /* a Linux kernel has two: one per CPU vendor */

enum xen_call_insn {
	XEN_CALL_VMCALL,                 /* Intel's 0f 01 c1 */
	XEN_CALL_VMMCALL,                /* AMD's 0f 01 d9 */
	XEN_CALL_PORT_OUT,               /* e7 5c 90: already rewritten (a patched image given again) */
};

struct xen_call_site {
	uint64_t va;                     /* the instruction's virtual address in the kernel */
	uint64_t offset;                 /* and its offset in the ELF file */
	enum xen_call_insn was;          /* what it held before this call */
};

struct xen_call_sites {
	unsigned int nsites;             /* stub instructions found, patched now or before */
	struct xen_call_site site[XEN_CALL_SITES_MAX];
	unsigned int ndispatchers;       /* xen_hypercall_hvm-shaped functions leading to them */
	uint64_t dispatcher_va[XEN_CALL_SITES_MAX];
	unsigned int others;             /* vmcall/vmmcall byte sequences left alone (KVM's own calls,
					  * alternatives, data) */
	unsigned int prefixed;           /* f3 0f 01 d9 (VMGEXIT) and other prefixed forms, left alone */
	bool hypercall_page_note;        /* the kernel names a hypercall page (XEN_ELFNOTE_HYPERCALL_PAGE) */
};

/* Rewrites the Xen hypercall instructions of the ELF kernel in `elf` (a vmlinux: after bzImage
 * decompression, before loading).  Returns how many it changed: 0 when the kernel has none (it
 * uses the hypercall page; the image is untouched); -1 with `why` naming the virtual address and
 * what was expected when vmcall/vmmcall sit in a Xen-like shape this code does not know, or the
 * ELF is broken (the image is untouched then too).  `found` may be NULL. */
int xen_call_sites_patch(uint8_t *elf, size_t size, struct xen_call_sites *found, char *why,
			 size_t whylen);

/* One line for the VMM log: which sites, where, what else was left alone. */
void xen_call_sites_describe(const struct xen_call_sites *found, char *buf, size_t len);

/* Hypercalls the VMM never sees (a kernel not patched): after a vmcall/vmmcall KVM handled itself,
 * rip points just past it and rax holds KVM's answer for a hypercall it does not know (-KVM_ENOSYS,
 * or -KVM_EPERM from a guest outside ring 0; truncated to 32 bits outside long mode).  Given the
 * 3 bytes before rip and rax, says which instruction that was, or XEN_UNSEEN_NONE. */
enum xen_unseen_hypercall { XEN_UNSEEN_NONE, XEN_UNSEEN_VMCALL, XEN_UNSEEN_VMMCALL };
enum xen_unseen_hypercall xen_call_sites_unseen(const uint8_t before_rip[3], uint64_t rax);

#endif
