/*
 * shared_info and this vCPU's vcpu_info, as a PVH kernel sets them up (Linux: xen_hvm_init_shared_info,
 * xen_vcpu_setup): XENMEM_add_to_physmap(XENMAPSPACE_shared_info) onto a page of the image, then
 * VCPUOP_register_vcpu_info onto a page of our own (falling back to shared_info->vcpu_info[0]).
 * Every page is User-accessible here, so ring 3 reads and writes them directly.  Also HVM params.
 */
#ifndef GUEST_SHARED_INFO_H
#define GUEST_SHARED_INFO_H

#include <stdint.h>
#include "hypercall.h"

extern struct shared_info *shared_info;     /* NULL until mapped */
extern struct vcpu_info *vcpu_info;         /* vCPU 0's */
extern int vcpu_info_registered;            /* 1: VCPUOP_register_vcpu_info placed it; 0: legacy slot */

/* 0, or the add_to_physmap error (-XEN_E*). */
int shared_info_init(void);
/* In a new domain after a suspend: the same placement again (Linux's xen_hvm_init_shared_info and
 * xen_vcpu_restore), vcpu_info registered again.  0, the add_to_physmap error (then shared_info and
 * vcpu_info still name the old, frozen copy: the clock and the event bits mean nothing), or 1 if it
 * was never placed. */
int shared_info_resume(void);

/* HVMOP_get_param / set_param for DOMID_SELF: 0 or -XEN_E*. */
int hvm_get_param(uint32_t index, uint64_t *value);
int hvm_set_param(uint32_t index, uint64_t value);

/* Guest-physical frame number of an (identity-mapped) address. */
static inline uint64_t virt_to_pfn(const void *p)
{
    return (uint64_t)p >> 12;
}

#endif
