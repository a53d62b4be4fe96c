#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "lib/error.h"
#include "vmm/acpi_tables.h"
#include "vmm/vm.h"

/* Where VMX keeps its real-mode TSS and identity page table: just below the BIOS. Harmless elsewhere. */
#define KVM_TSS_GPA 0xfffbd000ULL

uint64_t host_memory_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb = 0;
	char line[128];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static int set_memslot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

int vm_create(struct vm *vm, const char *kvm_device, uint64_t ram_bytes, char *err, size_t errlen)
{
	int r;

	*vm = (struct vm){ .kvm_fd = -1, .vm_fd = -1, .memfd = -1 };
	vm->kvm_fd = open(kvm_device, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ERR_SET(err, errlen, "cannot open %s: %s (Xenith needs KVM: a kernel with KVM enabled, "
			"and root or membership of the kvm group)", kvm_device, strerror(errno));
		goto fail;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		ERR_SET(err, errlen, "%s speaks an unexpected KVM API version", kvm_device);
		goto fail;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ERR_SET(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size <= 0) {
		ERR_SET(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto fail;
	}
	/* Only VMX needs this; other KVM flavours may refuse it, which is fine. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA);
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ERR_SET(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		goto fail;
	}

	vm->memfd = memfd_create("xenith-guest-ram", MFD_CLOEXEC);
	if (vm->memfd < 0 || ftruncate(vm->memfd, (off_t)ram_bytes) < 0) {
		ERR_SET(err, errlen, "guest RAM of %llu MiB: %s", (unsigned long long)(ram_bytes >> 20),
			strerror(errno));
		goto fail;
	}
	vm->ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vm->memfd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		ERR_SET(err, errlen, "mapping guest RAM: %s", strerror(errno));
		goto fail;
	}
	vm->ram_size = ram_bytes;
	vm->low_ram_size = ram_bytes < GUEST_LOW_RAM_MAX ? ram_bytes : GUEST_LOW_RAM_MAX;
	madvise(vm->ram, ram_bytes, MADV_MERGEABLE);
	r = set_memslot(vm, 0, 0, vm->low_ram_size, vm->ram);
	if (!r && ram_bytes > vm->low_ram_size)
		r = set_memslot(vm, 1, GUEST_HIGH_RAM_BASE, ram_bytes - vm->low_ram_size,
				vm->ram + vm->low_ram_size);
	if (r) {
		ERR_SET(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
		goto fail;
	}
	return 0;
fail:
	vm_destroy(vm);
	return -1;
}

void vm_destroy(struct vm *vm)
{
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	if (vm->memfd >= 0)
		close(vm->memfd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	*vm = (struct vm){ .kvm_fd = -1, .vm_fd = -1, .memfd = -1 };
}

void *vm_gpa_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t high = vm->ram_size - vm->low_ram_size;

	if (gpa < vm->low_ram_size) {
		if (len > vm->low_ram_size - gpa)
			return NULL;
		return vm->ram + gpa;
	}
	if (gpa >= GUEST_HIGH_RAM_BASE && gpa - GUEST_HIGH_RAM_BASE < high) {
		uint64_t off = gpa - GUEST_HIGH_RAM_BASE;
		if (len > high - off)
			return NULL;
		return vm->ram + vm->low_ram_size + off;
	}
	return NULL;
}

int vm_ram_discard(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint8_t *hva = (gpa | len) & 4095 ? NULL : vm_gpa_to_hva(vm, gpa, len);

	if (!hva || !len)
		return -EINVAL;
	/* Punching the memfd frees the pages and zaps every mapping of them, KVM's included (its MMU
	 * notifier), so the guest sees zeros too.  Plain memory (unit tests) is only zeroed. */
	if (vm->memfd >= 0 &&
	    fallocate(vm->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, hva - vm->ram, (off_t)len) == 0)
		return 0;
	int r = vm->memfd >= 0 ? -errno : 0;
	memset(hva, 0, len);
	return r;
}

uint64_t vm_special_page_gpa(const struct vm *vm, enum special_page page)
{
	return vm->low_ram_size - ((uint64_t)page + 1) * 4096;
}

uint64_t vm_acpi_region_gpa(const struct vm *vm)
{
	return vm_special_page_gpa(vm, SPECIAL_PAGES - 1) - ACPI_PVH_REGION_SIZE;
}

unsigned int vm_memory_map(const struct vm *vm, struct vm_memmap_entry map[VM_MEMMAP_MAX])
{
	uint64_t special = vm_special_page_gpa(vm, SPECIAL_PAGES - 1), acpi = vm_acpi_region_gpa(vm);
	unsigned int n = 0;

	map[n++] = (struct vm_memmap_entry){ 0, 0xA0000, VM_MEMMAP_RAM };
	map[n++] = (struct vm_memmap_entry){ 0xA0000, 0x60000, VM_MEMMAP_RESERVED };
	map[n++] = (struct vm_memmap_entry){ 0x100000, acpi - 0x100000, VM_MEMMAP_RAM };
	map[n++] = (struct vm_memmap_entry){ acpi, special - acpi, VM_MEMMAP_ACPI };
	map[n++] = (struct vm_memmap_entry){ special, vm->low_ram_size - special, VM_MEMMAP_RESERVED };
	if (vm->ram_size > vm->low_ram_size)
		map[n++] = (struct vm_memmap_entry){ GUEST_HIGH_RAM_BASE, vm->ram_size - vm->low_ram_size,
						     VM_MEMMAP_RAM };
	return n;
}
