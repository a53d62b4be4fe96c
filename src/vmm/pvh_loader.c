/* The PVH boot ABI.  Kernels in the wild are ELF64 or ELF32 (even ELF32 with machine x86-64); the
 * entry note may sit in a PT_NOTE segment or only in a SHT_NOTE section; segments may load at 0.
 * Every offset and size in the file is checked before it is used. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "lib/error.h"
#include "vmm/acpi_tables.h"
#include "vmm/bzimage.h"
#include "vmm/elf.h"
#include "vmm/pvh_loader.h"
#include "vmm/vm.h"
#include "vmm/xen_call_sites.h"
#include "xen/xen_public.h"
#include "xen/xen_state.h"

#define PAGE_ALIGN(x) (((x) + 4095ull) & ~4095ull)
#define KERNEL_MAX_BYTES (512ull << 20)
#define CMDLINE_MAX 4096

/* XEN_ELFNOTE_PHYS32_ENTRY: a 4-byte address, or 8 bytes holding the same one zero-extended. */
static bool entry_note(const struct elf_note *n, void *ctx)
{
	if (n->type != XEN_ELFNOTE_PHYS32_ENTRY || (n->descsz != 4 && n->descsz != 8))
		return false;
	memcpy(ctx, n->desc, 4);
	return true;
}

int pvh_elf_parse(const uint8_t *image, size_t size, const struct elf_load_target *load,
		  uint32_t *entry, uint64_t *highest, char *why, size_t whylen)
{
	struct elf_file e;
	unsigned int loads = 0;

	if (elf_open(&e, image, size, why, whylen))
		return -1;
	if (e.is64 ? e.machine != EM_X86_64 : e.machine != EM_386 && e.machine != EM_X86_64) {
		snprintf(why, whylen, "ELF%d for machine %u, not x86%s", e.is64 ? 64 : 32, e.machine,
			 e.is64 ? "-64" : "");
		return -1;
	}
	*highest = 0;
	if (!elf_xen_notes(&e, entry_note, entry)) {
		snprintf(why, whylen, "no PVH entry point (Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY); "
			 "classic PV kernels are not supported, only PVH");
		return -1;
	}
	for (unsigned int i = 0; i < e.phnum; i++) {
		struct elf_segment s = elf_segment(&e, i);
		if (s.type != PT_LOAD || !s.memsz)
			continue;
		if (s.filesz > s.memsz || !elf_in_file(&e, s.offset, s.filesz) ||
		    s.paddr + s.memsz < s.paddr) {
			snprintf(why, whylen, "segment %u has sizes or offsets outside the file", i);
			return -1;
		}
		if (load) {
			uint8_t *dst = load->gpa_to_hva(load->ctx, s.paddr, s.memsz);
			if (!dst) {
				snprintf(why, whylen, "segment %u at %#llx-%#llx does not fit in guest RAM", i,
					 (unsigned long long)s.paddr,
					 (unsigned long long)(s.paddr + s.memsz));
				return -1;
			}
			memcpy(dst, e.img + s.offset, s.filesz);
			memset(dst + s.filesz, 0, s.memsz - s.filesz);
		}
		if (s.paddr + s.memsz > *highest)
			*highest = s.paddr + s.memsz;
		loads++;
	}
	if (!loads) {
		snprintf(why, whylen, "no loadable segments");
		return -1;
	}
	return 0;
}

/* Reads a whole file of at most `max` bytes. */
static uint8_t *read_file(const char *path, uint64_t max, size_t *size, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		ERR_SET(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ERR_SET(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		ERR_SET(err, errlen, "%s: %lld bytes is more than the %llu MiB that fit", path,
			(long long)st.st_size, (unsigned long long)(max >> 20));
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ERR_SET(err, errlen, "%s: out of memory", path);
		goto out;
	}
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n <= 0) {
			ERR_SET(err, errlen, "%s: read: %s", path, n ? strerror(errno) : "file shrank");
			free(buf);
			buf = NULL;
			goto out;
		}
		done += (size_t)n;
	}
	*size = done;
out:
	close(fd);
	return buf;
}

static void *vm_target(void *ctx, uint64_t gpa, uint64_t len)
{
	return vm_gpa_to_hva(ctx, gpa, len);
}

static unsigned int build_memmap(const struct vm *vm, struct hvm_memmap_table_entry *map)
{
	struct vm_memmap_entry e[VM_MEMMAP_MAX];
	unsigned int n = vm_memory_map(vm, e);

	for (unsigned int i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_table_entry){ e[i].addr, e[i].size,
			e[i].type == VM_MEMMAP_RAM ? XEN_HVM_MEMMAP_TYPE_RAM :
			e[i].type == VM_MEMMAP_ACPI ? XEN_HVM_MEMMAP_TYPE_ACPI : XEN_HVM_MEMMAP_TYPE_RESERVED, 0 };
	return n;
}

/* A bzImage as distributions ship it becomes the vmlinux inside it; an ELF stays as it is. */
static int unpack_kernel(const char *kernel, uint8_t **image, size_t *size, char *err, size_t errlen)
{
	uint8_t *vmlinux;
	size_t vmlinux_size;
	const char *compressor = "?";
	char why[256];
	int bz = bzimage_unpack(*image, *size, &vmlinux, &vmlinux_size, &compressor, why, sizeof(why));

	if (bz < 0) {
		ERR_SET(err, errlen, "kernel %s: bzImage (%s payload): %s", kernel, compressor, why);
		return -1;
	}
	if (bz == 1) {
		LOG("kernel %s: bzImage, %s payload of %zu bytes", kernel, compressor, vmlinux_size);
		free(*image);
		*image = vmlinux;
		*size = vmlinux_size;
	}
	return 0;
}

/* Kernels that issue vmcall/vmmcall themselves reach us only through rewritten call sites. */
static int rewrite_call_sites(const char *kernel, uint8_t *image, size_t size, char *err, size_t errlen)
{
	struct xen_call_sites found;
	char why[512], line[512];
	int n = xen_call_sites_patch(image, size, &found, why, sizeof(why));

	if (n < 0) {
		ERR_SET(err, errlen, "kernel %s: its Xen hypercalls cannot be routed to Xenith on this host "
			"(KVM here does not intercept vmcall/vmmcall): %s", kernel, why);
		return -1;
	}
	if (!n)
		return 0;      /* it calls through the hypercall page, which needs nothing from us */
	xen_call_sites_describe(&found, line, sizeof(line));
	LOG("kernel %s: %d hypercall site%s rewritten to port %#x: %s", kernel, n, n == 1 ? "" : "s",
	    XEN_HYPERCALL_PORT, line);
	return 0;
}

static int build_acpi(struct vm *vm, const struct pvh_options *opt, uint64_t *rsdp, char *err,
		      size_t errlen)
{
	uint64_t at = vm_acpi_region_gpa(vm);
	uint8_t *region = vm_gpa_to_hva(vm, at, ACPI_PVH_REGION_SIZE);
	struct acpi_config cfg = { .vcpus = opt->vcpus, .max_vcpus = opt->max_vcpus };
	size_t used;
	char why[256];

	if (!region || acpi_build_pvh(region, ACPI_PVH_REGION_SIZE, at, &cfg, rsdp, &used, why, sizeof(why))) {
		ERR_SET(err, errlen, "ACPI tables for %u vCPUs (%u possible): %s", opt->vcpus,
			opt->max_vcpus, region ? why : "no room in guest RAM");
		return -1;
	}
	return 0;
}

int pvh_load(struct vm *vm, const char *kernel, const char *ramdisk, const char *cmdline,
	     const struct pvh_options *opt, struct pvh_boot *boot, char *err, size_t errlen)
{
	struct elf_load_target target = { vm_target, vm };
	uint8_t *image, *rd = NULL;
	size_t image_size, rd_size = 0;
	uint64_t highest, rsdp, limit = vm_acpi_region_gpa(vm);
	char why[256];
	int r = -1;

	if (vm->low_ram_size < (2ull << 20)) {
		ERR_SET(err, errlen, "a PVH domain needs at least 2 MiB of RAM");
		return -1;
	}
	image = read_file(kernel, KERNEL_MAX_BYTES, &image_size, err, errlen);
	if (!image)
		return -1;
	if (unpack_kernel(kernel, &image, &image_size, err, errlen))
		goto out;
	if (opt->rewrite_hypercalls && rewrite_call_sites(kernel, image, image_size, err, errlen))
		goto out;
	if (pvh_elf_parse(image, image_size, &target, &boot->entry, &highest, why, sizeof(why))) {
		ERR_SET(err, errlen, "kernel %s: %s", kernel, why);
		goto out;
	}
	if (highest > limit) {
		ERR_SET(err, errlen, "kernel %s ends at %#llx, past the %llu MiB of low RAM it may use",
			kernel, (unsigned long long)highest, (unsigned long long)(limit >> 20));
		goto out;
	}
	if (build_acpi(vm, opt, &rsdp, err, errlen))
		goto out;
	size_t cmdline_len = strlen(cmdline) + 1;
	if (cmdline_len > CMDLINE_MAX) {
		ERR_SET(err, errlen, "command line of %zu bytes is longer than %d", cmdline_len, CMDLINE_MAX);
		goto out;
	}
	/* start_info, module list, memory map and command line share the pages after the kernel. */
	struct hvm_memmap_table_entry map[VM_MEMMAP_MAX];
	unsigned int nmap = build_memmap(vm, map);
	uint64_t si = PAGE_ALIGN(highest);
	if (si < 0x1000)
		si = 0x1000;
	uint64_t modlist = si + sizeof(struct hvm_start_info);
	uint64_t memmap = modlist + sizeof(struct hvm_modlist_entry);
	uint64_t cmd = memmap + nmap * sizeof(struct hvm_memmap_table_entry);
	uint64_t info_end = cmd + cmdline_len;
	uint8_t *info = info_end <= limit ? vm_gpa_to_hva(vm, si, info_end - si) : NULL;
	if (!info) {
		ERR_SET(err, errlen, "kernel %s leaves no room for the boot information in %llu MiB",
			kernel, (unsigned long long)(vm->ram_size >> 20));
		goto out;
	}
	struct hvm_start_info start = {
		.magic = XEN_HVM_START_MAGIC_VALUE, .version = 1,
		.cmdline_paddr = cmd, .memmap_paddr = memmap, .memmap_entries = nmap, .rsdp_paddr = rsdp,
	};
	if (ramdisk) {
		rd = read_file(ramdisk, vm->low_ram_size, &rd_size, err, errlen);
		if (!rd)
			goto out;
		uint64_t at = PAGE_ALIGN(info_end);
		void *dst = at + rd_size <= limit ? vm_gpa_to_hva(vm, at, rd_size) : NULL;
		if (!dst) {
			ERR_SET(err, errlen, "ramdisk %s (%zu bytes) does not fit in guest RAM after the kernel",
				ramdisk, rd_size);
			goto out;
		}
		memcpy(dst, rd, rd_size);
		struct hvm_modlist_entry mod = { .paddr = at, .size = rd_size };
		memcpy(info + (modlist - si), &mod, sizeof(mod));
		start.nr_modules = 1;
		start.modlist_paddr = modlist;
	}
	memcpy(info, &start, sizeof(start));
	memcpy(info + (memmap - si), map, nmap * sizeof(map[0]));
	memcpy(info + (cmd - si), cmdline, cmdline_len);
	boot->start_info_gpa = si;
	r = 0;
out:
	free(rd);
	free(image);
	return r;
}

int pvh_setup_boot_vcpu(int vcpu_fd, const struct pvh_boot *boot, char *err, size_t errlen)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = boot->entry, .rbx = boot->start_info_gpa, .rflags = 0x2 };

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		ERR_SET(err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb, .present = 1,
		.dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;
	data.selector = 0x18;
	data.type = 0x3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = (struct kvm_segment){ .selector = 0x20, .limit = 0x67, .type = 0xb, .present = 1 };
	sregs.cr0 = 0x11;          /* PE and ET; paging off */
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		ERR_SET(err, errlen, "setting the PVH entry state: %s", strerror(errno));
		return -1;
	}
	return 0;
}
