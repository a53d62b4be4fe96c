/* A page-table walker for the four x86 paging modes.  Every entry is read through the RAM bounds
 * check, so a guest whose tables point anywhere gets -EFAULT, never a host access out of bounds. */
#include <errno.h>
#include <string.h>
#include "vmm/domain.h"
#include "vmm/guest_access.h"

#define CR0_PG   (1ull << 31)
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define PTE_P    1ull
#define PTE_RW   2ull
#define PTE_PS   (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define PAGE_SIZE 4096ull

static int read_pte(struct vcpu *vcpu, uint64_t gpa, unsigned int size, uint64_t *pte)
{
	const void *p = vm_gpa_to_hva(&vcpu->dom->vm, gpa, size);

	if (!p)
		return -EFAULT;
	*pte = 0;
	memcpy(pte, p, size);
	return 0;
}

/* A walk of `levels` tables of 512 (8-byte) or 1024 (4-byte) entries. */
static int walk(struct vcpu *vcpu, uint64_t table, uint64_t gva, int levels, unsigned int entry_size,
		bool write, uint64_t *gpa)
{
	unsigned int index_bits = entry_size == 8 ? 9 : 10;
	unsigned int shift = 12 + index_bits * (levels - 1);

	for (int level = levels; level >= 1; level--, shift -= index_bits) {
		uint64_t index = (gva >> shift) & ((1ull << index_bits) - 1);
		uint64_t pte;

		if (read_pte(vcpu, table + index * entry_size, entry_size, &pte))
			return -EFAULT;
		if (!(pte & PTE_P) || (write && !(pte & PTE_RW)))
			return -EFAULT;
		if (level == 1 || ((pte & PTE_PS) && level <= 3)) {
			uint64_t mask = (1ull << shift) - 1;
			uint64_t base = entry_size == 8 ? pte & PTE_ADDR : pte & 0xfffff000ull;
			*gpa = (base & ~mask) | (gva & mask);
			return 0;
		}
		table = entry_size == 8 ? pte & PTE_ADDR : pte & 0xfffff000ull;
	}
	return -EFAULT;
}

int guest_virt_to_phys(struct vcpu *vcpu, uint64_t gva, bool write, uint64_t *gpa)
{
	const struct kvm_sregs *s = &vcpu->run->s.regs.sregs;

	if (!(s->cr0 & CR0_PG)) {
		*gpa = gva & 0xffffffffull;
		return 0;
	}
	if (s->efer & EFER_LMA) {
		int levels = s->cr4 & CR4_LA57 ? 5 : 4;
		unsigned int bits = levels == 5 ? 57 : 48;
		int64_t sext = (int64_t)(gva << (64 - bits)) >> (64 - bits);
		if ((uint64_t)sext != gva)
			return -EFAULT;     /* non-canonical */
		return walk(vcpu, s->cr3 & PTE_ADDR, gva, levels, 8, write, gpa);
	}
	gva &= 0xffffffffull;
	if (s->cr4 & CR4_PAE) {
		uint64_t pdpte;
		if (read_pte(vcpu, (s->cr3 & 0xffffffe0ull) + (gva >> 30) * 8, 8, &pdpte) || !(pdpte & PTE_P))
			return -EFAULT;
		return walk(vcpu, pdpte & PTE_ADDR, gva, 2, 8, write, gpa);
	}
	if (!(s->cr4 & CR4_PSE)) {
		/* Without PSE the PS bit is ignored: walk as two plain levels. */
		uint64_t pde, pte;
		if (read_pte(vcpu, (s->cr3 & 0xfffff000ull) + (gva >> 22) * 4, 4, &pde) || !(pde & PTE_P))
			return -EFAULT;
		if (read_pte(vcpu, (pde & 0xfffff000ull) + ((gva >> 12) & 0x3ff) * 4, 4, &pte) ||
		    !(pte & PTE_P) || (write && !((pte & pde) & PTE_RW)))
			return -EFAULT;
		*gpa = (pte & 0xfffff000ull) | (gva & 0xfff);
		return 0;
	}
	return walk(vcpu, s->cr3 & 0xfffff000ull, gva, 2, 4, write, gpa);
}

static int copy_pages(struct vcpu *vcpu, uint64_t gva, void *host, size_t len, bool to_guest)
{
	uint8_t *h = host;

	while (len) {
		uint64_t gpa;
		size_t chunk = PAGE_SIZE - (gva & (PAGE_SIZE - 1));
		if (chunk > len)
			chunk = len;
		if (guest_virt_to_phys(vcpu, gva, to_guest, &gpa))
			return -EFAULT;
		void *p = vm_gpa_to_hva(&vcpu->dom->vm, gpa, chunk);
		if (!p)
			return -EFAULT;
		if (to_guest)
			memcpy(p, h, chunk);
		else
			memcpy(h, p, chunk);
		h += chunk;
		gva += chunk;
		len -= chunk;
	}
	return 0;
}

int guest_copy_from(struct vcpu *vcpu, void *dst, uint64_t gva, size_t len)
{
	return copy_pages(vcpu, gva, dst, len, false);
}

int guest_copy_to(struct vcpu *vcpu, uint64_t gva, const void *src, size_t len)
{
	return copy_pages(vcpu, gva, (void *)src, len, true);
}
