/* The KVM virtual machine: the only layer (with vcpu.c) that issues KVM ioctls.
 * Guest RAM is one memfd, so other processes may map a page of it when they must. */
#ifndef XENITH_VM_H
#define XENITH_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_LOW_RAM_MAX 0xC0000000ULL     /* RAM above this moves to 4 GiB, leaving an MMIO hole */
#define GUEST_HIGH_RAM_BASE 0x100000000ULL

struct vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	int memfd;
	uint8_t *ram;            /* host mapping of all guest RAM, low part first */
	uint64_t ram_size;
	uint64_t low_ram_size;   /* bytes mapped at guest-physical 0 */
};

/* Opens kvm_device (usually /dev/kvm), makes the VM with an in-kernel irqchip and `ram_bytes` of RAM.
 * Returns 0, or -1 with the reason in err. */
int vm_create(struct vm *vm, const char *kvm_device, uint64_t ram_bytes, char *err, size_t errlen);
void vm_destroy(struct vm *vm);
/* Host pointer to [gpa, gpa+len) if all of it is guest RAM, else NULL. */
void *vm_gpa_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len);
/* Xen's "special pages" at the top of low RAM, reserved in the memory map (docs/pv-core.md). */
enum special_page {
	SPECIAL_PAGE_XENSTORE = 0,
	SPECIAL_PAGE_CONSOLE = 1,
	SPECIAL_PAGE_GRANT_FIRST = 2,        /* grant frames 0-3 when the guest does not place them */
	SPECIAL_PAGES = 6,
};
uint64_t vm_special_page_gpa(const struct vm *vm, enum special_page page);
/* The ACPI tables of a PVH domain (vmm/acpi_tables.c): VM_ACPI_REGION_SIZE bytes of guest RAM just
 * below the special pages, typed ACPI in the memory map. */
uint64_t vm_acpi_region_gpa(const struct vm *vm);
/* Gives the pages [gpa, gpa+len) of guest RAM back to the host (ballooning): they read as zeros
 * afterwards and cost no host memory until touched again.  Page-aligned, all of it RAM in one region.
 * 0, -EINVAL for a bad range, or -errno of the hole punch (the pages are then zeroed in place). */
int vm_ram_discard(const struct vm *vm, uint64_t gpa, uint64_t len);

/* The memory map we promise the guest, in hvm_memmap / e820 terms. Returns the number of entries. */
#define VM_MEMMAP_MAX 8
struct vm_memmap_entry { uint64_t addr, size; uint32_t type; };   /* e820 types: VM_MEMMAP_* */
enum { VM_MEMMAP_RAM = 1, VM_MEMMAP_RESERVED = 2, VM_MEMMAP_ACPI = 3 };
unsigned int vm_memory_map(const struct vm *vm, struct vm_memmap_entry map[VM_MEMMAP_MAX]);

/* The host's memory in bytes (MemTotal), or 0 if unknown. */
uint64_t host_memory_bytes(void);

#endif
