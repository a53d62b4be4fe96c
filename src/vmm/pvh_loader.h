/* Loading a PVH kernel: the ELF's segments, an optional ramdisk as module 0, and hvm_start_info. */
#ifndef XENITH_PVH_LOADER_H
#define XENITH_PVH_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

struct pvh_boot {
	uint32_t entry;            /* XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t start_info_gpa;   /* for ebx */
};

/* What the domain is, beyond its files. */
struct pvh_options {
	unsigned int vcpus, max_vcpus;   /* described to the guest in its ACPI tables */
	bool rewrite_hypercalls;         /* the host's KVM does not intercept Xen hypercalls: rewrite
					  * the kernel's vmcall/vmmcall sites (vmm/xen_call_sites.c) */
};

/* Loads an ELF vmlinux or a bzImage (its payload decompressed), the ramdisk, the ACPI tables and
 * hvm_start_info.  0, or -1 with a message naming the file and what is wrong with it. */
int pvh_load(struct vm *vm, const char *kernel, const char *ramdisk, const char *cmdline,
	     const struct pvh_options *opt, struct pvh_boot *boot, char *err, size_t errlen);
/* The ELF part alone, on a buffer: for the loader and its fuzz/unit tests. Fills entry and the
 * highest guest-physical address loaded; `load` may be NULL to only check. */
struct elf_load_target {
	void *(*gpa_to_hva)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};
int pvh_elf_parse(const uint8_t *image, size_t size, const struct elf_load_target *load,
		  uint32_t *entry, uint64_t *highest, char *why, size_t whylen);
/* Puts the boot vCPU in the PVH entry state: 32-bit flat protected mode, paging off. */
int pvh_setup_boot_vcpu(int vcpu_fd, const struct pvh_boot *boot, char *err, size_t errlen);

#endif
