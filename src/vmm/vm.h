/* The KVM virtual machine: the only layer (with vcpu.c) that issues KVM ioctls.
 * Guest RAM is one memfd, so other processes may map a page of it when they must. */
#ifndef XENITH_VM_H
#define XENITH_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_LOW_RAM_MAX 0xC0000000ULL     /* RAM above this moves to 4 GiB, leaving an MMIO hole */
#define GUEST_HIGH_RAM_BASE 0x100000000ULL
/* Extra pages (below): as many as Xen's default max_grant_frames, their only user so far. */
#define VM_EXTRA_PAGES 64

/* Extra pages at contiguous gfns and contiguous host pages: one KVM memory slot. */
struct vm_extra_run { uint64_t gfn; uint32_t first, pages, slot; };

struct vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	int memfd;
	uint8_t *ram;            /* host mapping of all guest RAM, low part first */
	uint64_t ram_size;
	uint64_t low_ram_size;   /* bytes mapped at guest-physical 0 */
	/* RAM the guest starts with (xl.cfg memory; 0: all).  The rest (up to maxmem) follows the
	 * populated RAM in the memfd and at guest-physical addresses past it (at 4 GiB when low RAM
	 * holds all of the populated part), and starts given back (xen/memory_op.c). */
	uint64_t populated_size;
	/* Extra pages.  A zeroed struct vm has none mapped.  extra_at[] and extra are read without
	 * locks by vm_gpa_to_hva (atomics); the rest belongs to vm_extra_map/unmap's caller. */
	uint8_t *extra;                          /* VM_EXTRA_PAGES host pages; NULL until needed */
	bool extra_own_mapping;                  /* not part of the RAM mapping (a VM without memfd) */
	uint64_t extra_at[VM_EXTRA_PAGES];       /* gpa | host page << 1 | 1 while mapped, else 0 */
	uint8_t extra_host[VM_EXTRA_PAGES];      /* host page + 1 of each index, 0: none given yet */
	unsigned int extra_hosts_used;
	struct vm_extra_run extra_runs[VM_EXTRA_PAGES];
	unsigned int extra_n_runs;
	unsigned int phys_bits;                  /* guest-physical address width; 0: the host CPU's */
	uint8_t *rom;                            /* HVM firmware image mapped below 4 GiB (vm_map_rom) */
	uint64_t rom_size;
	/* Dirty logging (vm_set_dirty_logging, vmm/dirty_log.c).  slots_lock serialises changes of
	 * the extra pages' slots with walks of the slots (vm_for_each_slot); a zeroed one is an
	 * unlocked mutex (glibc), which the tests' fake VMs rely on. */
	pthread_mutex_t slots_lock;
	bool dirty_logging;                      /* every slot has KVM_MEM_LOG_DIRTY_PAGES; under slots_lock */
	uint64_t extra_unlogged;                 /* atomic: bit per extra host page whose slot went away
						  * while logging (its log with it): dirty */
	unsigned int dirty_markers;              /* atomic: dirty_log_mark calls in flight (dirty_log.c) */
};

/* Opens kvm_device (usually /dev/kvm), makes the VM with an in-kernel irqchip and `ram_bytes` of RAM,
 * of which the first `populated_bytes` are in the memory map.  Returns 0, or -1 with the reason in err. */
int vm_create(struct vm *vm, const char *kvm_device, uint64_t ram_bytes, uint64_t populated_bytes, char *err,
	      size_t errlen);
/* Bytes of RAM the domain was built with populated (the memory map's RAM). */
static inline uint64_t vm_populated_bytes(const struct vm *vm)
{
	return vm->populated_size ? vm->populated_size : vm->ram_size;
}
void vm_destroy(struct vm *vm);
/* Host pointer to [gpa, gpa+len) if all of it is guest memory: RAM, or within one extra page the
 * guest has at that gfn.  Else NULL. */
void *vm_gpa_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len);
/* The same for RAM only (ballooning, loading): never an extra page. */
void *vm_ram_gpa_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len);
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

/* ---- Extra pages: VMM memory the guest sees outside its RAM ----
 * Xen maps pages of its own (grant frames) at any gfn the guest names, and Linux PVH names gfns in
 * unpopulated address space above RAM (xen_alloc_unpopulated_pages).  Each of the VM_EXTRA_PAGES is
 * known by an index its user owns (gnttab: the grant frame number).  Its host page is given on first
 * use and kept while the VM lives, so pointers into it stay valid when the guest moves or unmaps it;
 * vm_create puts the host pages in the guest-RAM memfd just past RAM (mapped right after it), so
 * `hva - vm->ram` is their memfd offset as for RAM.  Host pages go out in order of first use, so
 * pages placed in turn at rising gfns share one KVM memory slot: Linux gives frame i the gfn
 * top - i and places them from the last frame down, which is that order.  Callers serialise
 * vm_extra_map/unmap/host (xen.lock); vm_gpa_to_hva may run alongside on any thread. */

/* Whether the guest may have memory of ours at `gfn` outside RAM: 0, -EINVAL beyond the guest's
 * physical address width (KVM takes no slot there, Xen's p2m no entry), -EPERM on a page KVM keeps
 * for its own devices (local APIC, IO-APIC, VMX's TSS and identity map: Xen answers -EPERM for
 * MMIO it maps). */
int vm_gfn_check(const struct vm *vm, uint64_t gfn);
bool vm_gfn_is_ram(const struct vm *vm, uint64_t gfn);
/* Shows extra page `index` at `gfn` (moving it if it was elsewhere): 0, -EINVAL (bad index or gfn),
 * -EPERM (vm_gfn_check), -EEXIST (gfn is RAM), -EBUSY (another index is there), -ENOMEM, or the
 * KVM_SET_USER_MEMORY_REGION errno (nothing changed then). */
int vm_extra_map(struct vm *vm, unsigned int index, uint64_t gfn);
/* Takes extra page `index` out of the guest's physmap; its host page and contents stay. */
void vm_extra_unmap(struct vm *vm, unsigned int index);
/* The host page of extra page `index`, given now if it had none; NULL for a bad index or no memory. */
void *vm_extra_host(struct vm *vm, unsigned int index);
/* Where extra page `index` is mapped, or ~0. */
uint64_t vm_extra_gfn(const struct vm *vm, unsigned int index);
/* Which index is mapped at `gfn`, or -1. */
int vm_extra_index_at(const struct vm *vm, uint64_t gfn);
/* KVM memory slots the extra pages take now. */
unsigned int vm_extra_slots(const struct vm *vm);
/* Frees the extra pages of a VM that vm_create did not make (a test's fake domain); vm_destroy
 * does this itself. */
void vm_extra_release(struct vm *vm);

/* ---- Memory slots and dirty logging (for vmm/dirty_log.c) ----
 * The memfd holds RAM, then the VM_EXTRA_PAGES extra host pages: its page numbers ("memfd order")
 * are how migration names a guest page, whatever gfn the guest sees it at. */

/* Pages in memfd order: RAM and the extra pages. */
static inline uint64_t vm_memfd_pages(const struct vm *vm)
{
	return vm->ram_size / 4096 + VM_EXTRA_PAGES;
}
/* One KVM memory slot: its guest-physical range and the memfd page it starts at. */
struct vm_slot { uint32_t slot; uint64_t gpa, size, memfd_page; };
/* Calls fn on every memory slot (low RAM, high RAM, each run of extra pages) with slots_lock held,
 * so none changes meanwhile; stops at the first nonzero return and returns it, else 0.  fn must not
 * map or unmap extra pages. */
int vm_for_each_slot(struct vm *vm, int (*fn)(void *opaque, struct vm *vm, const struct vm_slot *slot),
		     void *opaque);
/* Registers every slot again with (or without) KVM_MEM_LOG_DIRTY_PAGES; slots made while on (extra
 * pages mapped later) get it too.  Turning on forgets old extra_unlogged bits.  0, or -1 with err
 * naming the slot (logging then stays as it was, best effort). */
int vm_set_dirty_logging(struct vm *vm, bool on, char *err, size_t errlen);
/* Takes the extra_unlogged bits (bit i: memfd page ram_size/4096 + i), leaving none. */
uint64_t vm_extra_unlogged_take(struct vm *vm);

/* ---- HVM ---- */
/* An i8254 PIT in KVM beside its irqchip (KVM_CREATE_PIT2).  0, or -1 with err. */
int vm_create_pit(struct vm *vm, char *err, size_t errlen);
/* Drives interrupt line `gsi` of KVM's PIC/IO-APIC (KVM_IRQ_LINE); the shape of irq_router.set. */
void vm_irq_line(void *vm, unsigned int gsi, bool level);
/* Sets the in-kernel PICs' edge/level control (ELCR, ports 0x4d0-0x4d1, which KVM's PIC answers
 * itself): bit n level-triggers IRQ n.  0, or -1 with err. */
int vm_pic_set_elcr(struct vm *vm, uint16_t elcr, char *err, size_t errlen);
/* Maps `len` bytes (whole pages, at most 16 MiB) of firmware at guest-physical `gpa` as read-only
 * memory of its own (KVM_MEM_READONLY where the host has it: writes then exit as MMIO and are
 * dropped), as the flash at the top of 4 GiB is.  0, or -1 with err. */
int vm_map_rom(struct vm *vm, uint64_t gpa, const void *data, uint64_t len, char *err, size_t errlen);

/* The memory map we promise the guest, in hvm_memmap / e820 terms. Returns the number of entries. */
#define VM_MEMMAP_MAX 8
struct vm_memmap_entry { uint64_t addr, size; uint32_t type; };   /* e820 types: VM_MEMMAP_* */
enum { VM_MEMMAP_RAM = 1, VM_MEMMAP_RESERVED = 2, VM_MEMMAP_ACPI = 3 };
unsigned int vm_memory_map(const struct vm *vm, struct vm_memmap_entry map[VM_MEMMAP_MAX]);

/* The host's memory in bytes (MemTotal), or 0 if unknown. */
uint64_t host_memory_bytes(void);

#endif
