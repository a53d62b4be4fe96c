/* The KVM virtual machine: guest RAM, its memory slots, and extra pages (VMM memory the guest sees
 * outside RAM, at gfns it chose: Xen's grant frames).
 *
 * Extra pages are grouped into KVM memory slots by runs: pages at contiguous gfns whose host pages
 * are contiguous too share one slot.  Every change recomputes the runs from extra_at[] and makes
 * KVM's slots match: slots of runs that changed go first (KVM refuses overlapping slots), then the
 * new runs get free slot ids.  While the guest moves a page there is a moment with no slot at the
 * old or new gfn: a vCPU touching it then exits as for unclaimed MMIO (reads all ones), which only
 * a guest racing its own hypercall can see.
 *
 * Dirty logging (for migration) flags every slot with KVM_MEM_LOG_DIRTY_PAGES, the extra pages'
 * slots too as they come and go.  A slot that goes away takes its log with it, so while logging
 * its pages are noted dirty (extra_unlogged) for the next collect.  slots_lock keeps the slots
 * still while dirty_log.c walks them; it is taken inside xen.lock (vm_extra_map's callers). */
#define _GNU_SOURCE
#include <cpuid.h>
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
#define PAGE 4096ull
#define EXTRA_BYTES ((uint64_t)VM_EXTRA_PAGES * PAGE)
#define EXTRA_SLOT_BASE 2                 /* KVM memory slots 0 and 1 hold RAM */
/* extra_at[] words: the gpa, the host page in bits 1-11, bit 0 set while mapped. */
#define EXTRA_PRESENT 1ull
#define EXTRA_AT(gfn, host) ((gfn) << 12 | (uint64_t)(host) << 1 | EXTRA_PRESENT)
#define EXTRA_AT_HOST(at) ((unsigned int)(((at) & (PAGE - 1)) >> 1))

/* Pages KVM keeps for its in-kernel devices and VMX: a memory slot over them would hide the device
 * or be refused. */
static const struct { uint64_t gpa, size; } kvm_owned[] = {
	{ 0xfec00000ull, PAGE },             /* IO-APIC (KVM_CREATE_IRQCHIP) */
	{ 0xfee00000ull, PAGE },             /* local APIC; VMX's APIC-access page */
	{ KVM_TSS_GPA - PAGE, 4 * PAGE },    /* VMX's identity-map page and 3-page TSS */
};

/* The guest's physical address width: KVM passes the host CPU's on (CPUID 0x80000008) and takes
 * no memory slot beyond it. */
static unsigned int phys_bits(const struct vm *vm)
{
	unsigned int eax, ebx, ecx, edx;

	if (vm->phys_bits)
		return vm->phys_bits;
	if (__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx) && (eax & 0xff) >= 32 && (eax & 0xff) <= 52)
		return eax & 0xff;
	return 36;    /* what CPUs without the leaf have */
}

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

/* The one KVM call for memory.  A VM without KVM (unit tests' fake domain) has no slots to set. */
static int set_memslot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	if (vm->vm_fd < 0)
		return 0;
	struct kvm_userspace_memory_region region = {
		.slot = slot, .flags = vm->dirty_logging ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = gpa, .memory_size = size, .userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

int vm_create(struct vm *vm, const char *kvm_device, uint64_t ram_bytes, uint64_t populated_bytes, char *err,
	      size_t errlen)
{
	int r;

	*vm = (struct vm){ .kvm_fd = -1, .vm_fd = -1, .memfd = -1 };
	pthread_mutex_init(&vm->slots_lock, NULL);
	if (!populated_bytes || populated_bytes > ram_bytes || (populated_bytes & 0xfff)) {
		ERR_SET(err, errlen, "%llu bytes of RAM populated out of %llu: must be whole pages, more than 0 "
			"and at most all", (unsigned long long)populated_bytes, (unsigned long long)ram_bytes);
		return -1;
	}
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

	/* The extra pages follow RAM in the memfd and in the mapping (vm.h). */
	vm->memfd = memfd_create("xenith-guest-ram", MFD_CLOEXEC);
	if (vm->memfd < 0 || ftruncate(vm->memfd, (off_t)(ram_bytes + EXTRA_BYTES)) < 0) {
		ERR_SET(err, errlen, "guest RAM of %llu MiB: %s", (unsigned long long)(ram_bytes >> 20),
			strerror(errno));
		goto fail;
	}
	vm->ram = mmap(NULL, ram_bytes + EXTRA_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       vm->memfd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		ERR_SET(err, errlen, "mapping guest RAM: %s", strerror(errno));
		goto fail;
	}
	vm->extra = vm->ram + ram_bytes;
	vm->phys_bits = phys_bits(vm);
	vm->ram_size = ram_bytes;
	vm->populated_size = populated_bytes;
	vm->low_ram_size = populated_bytes < GUEST_LOW_RAM_MAX ? populated_bytes : GUEST_LOW_RAM_MAX;
	/* No MADV_MERGEABLE here: KSM merges only private anonymous pages, and guest RAM is a shared
	 * memfd mapping (xenstored maps its ring page; ballooning punches holes): docs/density.md. */
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
	vm_extra_release(vm);
	if (vm->rom)
		munmap(vm->rom, vm->rom_size);
	if (vm->ram)
		munmap(vm->ram, vm->ram_size + (vm->extra ? EXTRA_BYTES : 0));
	if (vm->memfd >= 0)
		close(vm->memfd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	*vm = (struct vm){ .kvm_fd = -1, .vm_fd = -1, .memfd = -1 };
}

void *vm_ram_gpa_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len)
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

/* An extra page at gpa's gfn, if [gpa, gpa+len) stays within it. */
static void *extra_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint8_t *pool = __atomic_load_n(&vm->extra, __ATOMIC_ACQUIRE);
	uint64_t off = gpa & (PAGE - 1);

	if (!pool || len > PAGE - off)
		return NULL;
	for (unsigned int i = 0; i < VM_EXTRA_PAGES; i++) {
		uint64_t at = __atomic_load_n(&vm->extra_at[i], __ATOMIC_ACQUIRE);
		if ((at & EXTRA_PRESENT) && at >> 12 == gpa >> 12)
			return pool + EXTRA_AT_HOST(at) * PAGE + off;
	}
	return NULL;
}

void *vm_gpa_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	void *hva = vm_ram_gpa_to_hva(vm, gpa, len);

	return hva ? hva : extra_to_hva(vm, gpa, len);
}

int vm_ram_discard(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint8_t *hva = (gpa | len) & 4095 ? NULL : vm_ram_gpa_to_hva(vm, gpa, len);

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
	/* The unpopulated tail (maxmem above memory) is left out: the guest's balloon finds it past
	 * the map, up to XENMEM_maximum_gpfn, as Linux's hotplugs memory above its e820. */
	if (vm_populated_bytes(vm) > vm->low_ram_size)
		map[n++] = (struct vm_memmap_entry){ GUEST_HIGH_RAM_BASE, vm_populated_bytes(vm) - vm->low_ram_size,
						     VM_MEMMAP_RAM };
	return n;
}

/* ---- extra pages ---- */

bool vm_gfn_is_ram(const struct vm *vm, uint64_t gfn)
{
	return !(gfn >> 52) && vm_ram_gpa_to_hva(vm, gfn << 12, PAGE);
}

int vm_gfn_check(const struct vm *vm, uint64_t gfn)
{
	/* The width test also keeps `gfn << 12` from wrapping below. */
	if (gfn >> (phys_bits(vm) - 12))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(kvm_owned) / sizeof(kvm_owned[0]); i++)
		if ((gfn << 12) - kvm_owned[i].gpa < kvm_owned[i].size)
			return -EPERM;
	return 0;
}

uint64_t vm_extra_gfn(const struct vm *vm, unsigned int index)
{
	uint64_t at = index < VM_EXTRA_PAGES ? __atomic_load_n(&vm->extra_at[index], __ATOMIC_ACQUIRE) : 0;

	return at & EXTRA_PRESENT ? at >> 12 : ~0ull;
}

int vm_extra_index_at(const struct vm *vm, uint64_t gfn)
{
	for (unsigned int i = 0; i < VM_EXTRA_PAGES; i++)
		if (vm_extra_gfn(vm, i) == gfn)
			return (int)i;
	return -1;
}

unsigned int vm_extra_slots(const struct vm *vm)
{
	return vm->extra_n_runs;
}

void *vm_extra_host(struct vm *vm, unsigned int index)
{
	uint8_t *pool = vm->extra;

	if (index >= VM_EXTRA_PAGES)
		return NULL;
	if (!pool) {
		/* A VM vm_create did not make (unit tests): anonymous pages of its own. */
		pool = mmap(NULL, EXTRA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pool == MAP_FAILED)
			return NULL;
		vm->extra_own_mapping = true;
		__atomic_store_n(&vm->extra, pool, __ATOMIC_RELEASE);
	}
	/* Each index takes one host page at most, so VM_EXTRA_PAGES of them are enough. */
	if (!vm->extra_host[index])
		vm->extra_host[index] = (uint8_t)++vm->extra_hosts_used;
	return pool + (uint64_t)(vm->extra_host[index] - 1) * PAGE;
}

/* The runs the mapped extra pages form now, by rising gfn. */
static unsigned int wanted_runs(const struct vm *vm, struct vm_extra_run runs[VM_EXTRA_PAGES])
{
	uint64_t at[VM_EXTRA_PAGES];
	unsigned int n = 0, r = 0;

	/* Insertion sort of the words: gfns are distinct and sit in the high bits. */
	for (unsigned int i = 0; i < VM_EXTRA_PAGES; i++) {
		uint64_t a = vm->extra_at[i];
		if (!(a & EXTRA_PRESENT))
			continue;
		unsigned int j = n++;
		for (; j && at[j - 1] > a; j--)
			at[j] = at[j - 1];
		at[j] = a;
	}
	for (unsigned int k = 0; k < n; k++) {
		uint64_t gfn = at[k] >> 12;
		unsigned int host = EXTRA_AT_HOST(at[k]);
		struct vm_extra_run *last = r ? &runs[r - 1] : NULL;
		if (last && last->gfn + last->pages == gfn && last->first + last->pages == host)
			last->pages++;
		else
			runs[r++] = (struct vm_extra_run){ .gfn = gfn, .first = host, .pages = 1 };
	}
	return r;
}

static bool same_run(const struct vm_extra_run *a, const struct vm_extra_run *b)
{
	return a->gfn == b->gfn && a->first == b->first && a->pages == b->pages;
}

/* The extra host pages of a run, a bit each (VM_EXTRA_PAGES fit one word). */
_Static_assert(VM_EXTRA_PAGES <= 64, "extra_unlogged has a bit per extra page");
static uint64_t run_bits(const struct vm_extra_run *run)
{
	uint64_t ones = run->pages >= 64 ? ~0ull : (1ull << run->pages) - 1;
	return ones << run->first;
}

/* Makes KVM's slots for extra pages match extra_at[]; extra_runs[] says what KVM has, even when a
 * call fails (0 or the first -errno).  Caller holds slots_lock. */
static int sync_slots(struct vm *vm)
{
	struct vm_extra_run want[VM_EXTRA_PAGES], have[VM_EXTRA_PAGES];
	bool slot_used[VM_EXTRA_PAGES] = { false };
	unsigned int n_want = wanted_runs(vm, want), n_have = 0;
	int r = 0;

	for (unsigned int i = 0; i < vm->extra_n_runs; i++) {
		const struct vm_extra_run *old = &vm->extra_runs[i];
		bool keep = false;
		for (unsigned int j = 0; j < n_want && !keep; j++)
			if (!want[j].slot && same_run(old, &want[j])) {
				want[j].slot = old->slot;
				keep = true;
			}
		if (!keep) {
			if (vm->dirty_logging)
				__atomic_fetch_or(&vm->extra_unlogged, run_bits(old), __ATOMIC_SEQ_CST);
			int e = set_memslot(vm, old->slot, old->gfn << 12, 0, NULL);
			if (!e)
				continue;
			r = r ? r : e;        /* KVM kept it: it is still ours */
		}
		have[n_have++] = *old;
		slot_used[old->slot - EXTRA_SLOT_BASE] = true;
	}
	for (unsigned int j = 0; j < n_want; j++) {
		if (want[j].slot)
			continue;
		unsigned int s = 0;
		while (s < VM_EXTRA_PAGES && slot_used[s])
			s++;
		int e = s < VM_EXTRA_PAGES ? set_memslot(vm, EXTRA_SLOT_BASE + s, want[j].gfn << 12,
							 (uint64_t)want[j].pages * PAGE,
							 vm->extra + (uint64_t)want[j].first * PAGE) : -ENOSPC;
		if (e) {
			r = r ? r : e;
			continue;
		}
		want[j].slot = EXTRA_SLOT_BASE + s;
		slot_used[s] = true;
		have[n_have++] = want[j];
	}
	memcpy(vm->extra_runs, have, n_have * sizeof(have[0]));
	vm->extra_n_runs = n_have;
	return r;
}

int vm_extra_map(struct vm *vm, unsigned int index, uint64_t gfn)
{
	if (index >= VM_EXTRA_PAGES)
		return -EINVAL;
	int r = vm_gfn_check(vm, gfn);
	if (r)
		return r;
	if (vm_gfn_is_ram(vm, gfn))
		return -EEXIST;
	int there = vm_extra_index_at(vm, gfn);
	if (there == (int)index)
		return 0;
	if (there >= 0)
		return -EBUSY;
	if (!vm_extra_host(vm, index))
		return -ENOMEM;
	uint64_t old = vm->extra_at[index];
	pthread_mutex_lock(&vm->slots_lock);
	__atomic_store_n(&vm->extra_at[index], EXTRA_AT(gfn, vm->extra_host[index] - 1), __ATOMIC_RELEASE);
	r = sync_slots(vm);
	if (r) {
		__atomic_store_n(&vm->extra_at[index], old, __ATOMIC_RELEASE);
		if (sync_slots(vm))
			LOG("extra page %u: KVM refused both its new slot at gfn %#llx (%s) and its old one back",
			    index, (unsigned long long)gfn, strerror(-r));
	}
	pthread_mutex_unlock(&vm->slots_lock);
	return r;
}

void vm_extra_unmap(struct vm *vm, unsigned int index)
{
	if (index >= VM_EXTRA_PAGES || !(vm->extra_at[index] & EXTRA_PRESENT))
		return;
	pthread_mutex_lock(&vm->slots_lock);
	__atomic_store_n(&vm->extra_at[index], 0, __ATOMIC_RELEASE);
	int r = sync_slots(vm);
	pthread_mutex_unlock(&vm->slots_lock);
	if (r)
		LOG("extra page %u: KVM kept its slot (%s); the guest still sees the page", index, strerror(-r));
}

void vm_extra_release(struct vm *vm)
{
	if (!vm->extra_own_mapping)
		return;
	munmap(vm->extra, EXTRA_BYTES);
	vm->extra = NULL;
	vm->extra_own_mapping = false;
	memset(vm->extra_at, 0, sizeof(vm->extra_at));
	memset(vm->extra_host, 0, sizeof(vm->extra_host));
	vm->extra_hosts_used = 0;
	vm->extra_n_runs = 0;
}

/* ---- slots and dirty logging ---- */

/* The slots as KVM has them.  Caller holds slots_lock. */
static unsigned int current_slots(const struct vm *vm, struct vm_slot slots[2 + VM_EXTRA_PAGES])
{
	unsigned int n = 0;

	if (vm->low_ram_size)
		slots[n++] = (struct vm_slot){ .slot = 0, .gpa = 0, .size = vm->low_ram_size, .memfd_page = 0 };
	if (vm->ram_size > vm->low_ram_size)
		slots[n++] = (struct vm_slot){ .slot = 1, .gpa = GUEST_HIGH_RAM_BASE,
					       .size = vm->ram_size - vm->low_ram_size,
					       .memfd_page = vm->low_ram_size / PAGE };
	for (unsigned int i = 0; i < vm->extra_n_runs; i++) {
		const struct vm_extra_run *run = &vm->extra_runs[i];
		slots[n++] = (struct vm_slot){ .slot = run->slot, .gpa = run->gfn << 12,
					       .size = (uint64_t)run->pages * PAGE,
					       .memfd_page = vm->ram_size / PAGE + run->first };
	}
	return n;
}

int vm_for_each_slot(struct vm *vm, int (*fn)(void *opaque, struct vm *vm, const struct vm_slot *slot),
		     void *opaque)
{
	struct vm_slot slots[2 + VM_EXTRA_PAGES];
	int r = 0;

	pthread_mutex_lock(&vm->slots_lock);
	unsigned int n = current_slots(vm, slots);
	for (unsigned int i = 0; i < n && !r; i++)
		r = fn(opaque, vm, &slots[i]);
	pthread_mutex_unlock(&vm->slots_lock);
	return r;
}

/* Registers every slot again with the current flags: 0, or the first -errno (its slot in *bad). */
static int reregister_slots(struct vm *vm, uint32_t *bad)
{
	struct vm_slot slots[2 + VM_EXTRA_PAGES];
	unsigned int n = current_slots(vm, slots);
	int r = 0;

	for (unsigned int i = 0; i < n; i++) {
		/* The host address follows from the memfd page: RAM and extra pages are mapped in order. */
		uint8_t *hva = slots[i].memfd_page < vm->ram_size / PAGE ? vm->ram + slots[i].memfd_page * PAGE
			: vm->extra + (slots[i].memfd_page - vm->ram_size / PAGE) * PAGE;
		int e = set_memslot(vm, slots[i].slot, slots[i].gpa, slots[i].size, hva);
		if (e && !r) {
			r = e;
			*bad = slots[i].slot;
		}
	}
	return r;
}

int vm_set_dirty_logging(struct vm *vm, bool on, char *err, size_t errlen)
{
	uint32_t bad = 0;

	pthread_mutex_lock(&vm->slots_lock);
	bool was = vm->dirty_logging;
	vm->dirty_logging = on;
	if (on && !was)
		__atomic_store_n(&vm->extra_unlogged, 0, __ATOMIC_SEQ_CST);
	int r = on == was ? 0 : reregister_slots(vm, &bad);
	if (r) {
		uint32_t ignored;
		vm->dirty_logging = was;
		if (reregister_slots(vm, &ignored))
			LOG("memory slots: dirty logging %s failed and not every slot went back", on ? "on" : "off");
	}
	pthread_mutex_unlock(&vm->slots_lock);
	if (r)
		ERR_SET(err, errlen, "turning dirty page logging %s for memory slot %u (KVM_SET_USER_MEMORY_REGION): %s",
			on ? "on" : "off", bad, strerror(-r));
	return r ? -1 : 0;
}

uint64_t vm_extra_unlogged_take(struct vm *vm)
{
	return __atomic_exchange_n(&vm->extra_unlogged, 0, __ATOMIC_SEQ_CST);
}

/* ---- HVM ---- */
#define ROM_SLOT (EXTRA_SLOT_BASE + VM_EXTRA_PAGES)
#define ROM_MAX (16ull << 20)

int vm_create_pit(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		ERR_SET(err, errlen, "KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void vm_irq_line(void *opaque, unsigned int gsi, bool level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		LOG("KVM_IRQ_LINE %u=%d: %s", gsi, level, strerror(errno));
}

int vm_map_rom(struct vm *vm, uint64_t gpa, const void *data, uint64_t len, char *err, size_t errlen)
{
	if (!len || len > ROM_MAX || (len & 4095) || (gpa & 4095) || vm->rom) {
		ERR_SET(err, errlen, "firmware of %llu bytes at %#llx: it must be whole pages, at most 16 MiB, "
			"and only one", (unsigned long long)len, (unsigned long long)gpa);
		return -1;
	}
	vm->rom = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->rom == MAP_FAILED) {
		vm->rom = NULL;
		ERR_SET(err, errlen, "memory for the firmware: %s", strerror(errno));
		return -1;
	}
	vm->rom_size = len;
	memcpy(vm->rom, data, len);
	bool readonly = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	struct kvm_userspace_memory_region region = {
		.slot = ROM_SLOT, .flags = readonly ? KVM_MEM_READONLY : 0, .guest_phys_addr = gpa,
		.memory_size = len, .userspace_addr = (uint64_t)(uintptr_t)vm->rom,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		ERR_SET(err, errlen, "mapping the firmware at %#llx: %s", (unsigned long long)gpa, strerror(errno));
		return -1;
	}
	if (!readonly)
		LOG("this host's KVM has no read-only memory: the firmware image at %#llx is writable",
		    (unsigned long long)gpa);
	return 0;
}

int vm_pic_set_elcr(struct vm *vm, uint16_t elcr, char *err, size_t errlen)
{
	for (unsigned int chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_PIC_SLAVE; chip++) {
		struct kvm_irqchip c = { .chip_id = chip };
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &c) < 0) {
			ERR_SET(err, errlen, "KVM_GET_IRQCHIP (PIC %u): %s", chip, strerror(errno));
			return -1;
		}
		c.chip.pic.elcr = (uint8_t)(chip == KVM_IRQCHIP_PIC_MASTER ? elcr : elcr >> 8);
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &c) < 0) {
			ERR_SET(err, errlen, "KVM_SET_IRQCHIP (PIC %u): %s", chip, strerror(errno));
			return -1;
		}
	}
	return 0;
}
