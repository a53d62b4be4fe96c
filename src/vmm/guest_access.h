/* Reading and writing guest memory by guest-virtual address, as hypercall arguments name it. */
#ifndef XENITH_GUEST_ACCESS_H
#define XENITH_GUEST_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct vcpu;

/* Walks the vCPU's current page tables (whatever paging mode it is in). 0, or -EFAULT. */
int guest_virt_to_phys(struct vcpu *vcpu, uint64_t gva, bool write, uint64_t *gpa);
/* 0, or -EFAULT if any byte is unmapped or not RAM (nothing is written to the guest then... except
 * the pages before the bad one, as with Xen's copy_to_guest). */
int guest_copy_from(struct vcpu *vcpu, void *dst, uint64_t gva, size_t len);
int guest_copy_to(struct vcpu *vcpu, uint64_t gva, const void *src, size_t len);

#endif
