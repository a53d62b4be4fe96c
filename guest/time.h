/*
 * Time, from vcpu_info's pvclock (struct vcpu_time_info) and shared_info's wallclock, read in any
 * ring with the version (seqlock) protocol Xen documents in xen.h.
 */
#ifndef GUEST_TIME_H
#define GUEST_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* True once shared_info is mapped and the VMM keeps a clock there (system_time or tsc_to_system_mul set). */
bool time_available(void);
/* Xen system time: ns since the domain booted; 0 without shared_info. */
uint64_t monotonic_ns(void);
/* Wallclock (the time of day at system time 0, as Xen defines wc_*) plus now: 0, or -1 without one. */
int wallclock(uint64_t *sec, uint32_t *nsec);

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

#endif
