/* Xen's compat layout: the argument structs of a hypercall made by a vCPU outside 64-bit mode
 * (compat.c has the why and the tables).  Handlers read and write their argument structs through
 * xen_arg_in / xen_arg_out and lists of xen_pfn_t / xen_ulong_t through xen_ulong_in / xen_ulongs_out;
 * those look at how the call under way was made and translate, so each handler's logic is one copy
 * working on the native (64-bit) struct. */
#ifndef XENITH_XEN_COMPAT_H
#define XENITH_XEN_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;

/* One member in both layouts.  `name` is the member as C spells it in Xen's headers, so a test can
 * check the compat numbers against Xen's headers compiled for i386. */
struct xen_abi_field {
	const char *name;
	uint16_t native_off, compat_off;
	uint16_t native_size, compat_size;   /* a compat member narrower than its native one is zero-extended */
};

struct xen_abi_struct {
	const char *name;                    /* "struct sched_poll" */
	uint16_t native_size, compat_size;
	unsigned int n_fields;
	const struct xen_abi_field *fields;
};

/* The structs whose layouts differ, each described once (compat.c). */
extern const struct xen_abi_struct xen_abi_memory_reservation, xen_abi_add_to_physmap, xen_abi_memory_map,
	xen_abi_gnttab_setup_table, xen_abi_gnttab_copy, xen_abi_sched_poll, xen_abi_vcpu_set_singleshot_timer,
	xen_abi_vcpu_register_runstate_memory_area, xen_abi_vcpu_runstate_info, xen_abi_platform_parameters;
/* The shared pages, in the domain's latched width (xen_state.shinfo_compat): only their offsets are
 * used (xen_abi_offset), never widened or narrowed as a whole. */
extern const struct xen_abi_struct xen_abi_shared_info, xen_abi_vcpu_info;
/* All of them, for tests; NULL-terminated. */
extern const struct xen_abi_struct *const xen_abi_structs[];

/* Records how the call under way on `vcpu` was made (the dispatcher does, before the handler runs). */
void xen_call_set_compat(struct vcpu *vcpu, bool compat);
/* True while the vCPU runs a hypercall made outside 64-bit mode: its structs are in compat layout. */
bool xen_call_compat(const struct vcpu *vcpu);

/* Bytes the struct takes in the call's layout (the stride of an array of them). */
size_t xen_arg_size(const struct vcpu *vcpu, const struct xen_abi_struct *s);
/* Reads the struct at `gva` into `native` (s->native_size bytes).  0, or -1 if unreadable. */
int xen_arg_in(struct vcpu *vcpu, const struct xen_abi_struct *s, uint64_t gva, void *native);
/* Writes `native` to `gva` in the call's layout (compat: members narrowed, padding zeroed).  0 or -1. */
int xen_arg_out(struct vcpu *vcpu, const struct xen_abi_struct *s, uint64_t gva, const void *native);
/* Where `member` sits in the given layout (a member the table lists; else the native offset). */
size_t xen_abi_offset(const struct xen_abi_struct *s, const char *member, bool compat);
/* The same on buffers: `compat` holds s->compat_size bytes, `native` s->native_size. */
void xen_abi_widen(const struct xen_abi_struct *s, const void *compat, void *native);
void xen_abi_narrow(const struct xen_abi_struct *s, const void *native, void *compat);

/* xen_ulong_t and xen_pfn_t (and guest handles): 4 bytes in a compat call, 8 otherwise. */
size_t xen_ulong_size(const struct vcpu *vcpu);
/* Element `index` of a list of them at `gva`.  0, or -1 if unreadable. */
int xen_ulong_in(struct vcpu *vcpu, uint64_t gva, uint64_t index, uint64_t *value);
/* Writes `n` values as such a list (compat: each truncated to 32 bits, as Xen's compat layer does). */
int xen_ulongs_out(struct vcpu *vcpu, uint64_t gva, const uint64_t *values, size_t n);

#endif
