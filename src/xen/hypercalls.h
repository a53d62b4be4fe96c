/* The hypercall handlers, one file per hypercall family, gathered in hypercall.c's table.
 * Each returns a Xen errno (negative) or the call's result. */
#ifndef XENITH_HYPERCALLS_H
#define XENITH_HYPERCALLS_H

#include <stdint.h>

struct vcpu;

typedef long (*hypercall_fn)(struct vcpu *vcpu, const uint64_t args[5]);

long hcall_xen_version(struct vcpu *vcpu, const uint64_t args[5]);
long hcall_console_io(struct vcpu *vcpu, const uint64_t args[5]);
long hcall_sched_op(struct vcpu *vcpu, const uint64_t args[5]);
long hcall_event_channel_op(struct vcpu *vcpu, const uint64_t args[5]);
long hcall_memory_op(struct vcpu *vcpu, const uint64_t args[5]);
long hcall_hvm_op(struct vcpu *vcpu, const uint64_t args[5]);
long hcall_vcpu_op(struct vcpu *vcpu, const uint64_t args[5]);
long hcall_set_timer_op(struct vcpu *vcpu, const uint64_t args[5]);
long hcall_grant_table_op(struct vcpu *vcpu, const uint64_t args[5]);
/* EVTCHNOP_init_control, expand_array and set_priority (evtchn_fifo.c), for hcall_event_channel_op. */
long evtchn_fifo_op(struct vcpu *vcpu, uint64_t cmd, uint64_t arg);

#endif
