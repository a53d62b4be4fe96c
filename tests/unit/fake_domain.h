/* A domain with no KVM behind it, for unit tests of the Xen ABI code.
 *
 * Guest RAM is an aligned_alloc'ed buffer (FAKE_RAM_SIZE, all low RAM); vm_fd and kvm_fd are -1, so the
 * upcall's KVM_SIGNAL_MSI simply fails; each vCPU has a calloc'ed kvm_run whose sregs say paging is
 * off, so a hypercall's pointer argument is a guest-physical address in the fake RAM.  xen_init sets
 * up the Xen state exactly as domain_build would, short of xen_vcpu_setup (no TSC, no timer fds: a
 * test that arms timers makes its own timerfds with fake_domain_timers, and dom->loop stays NULL).
 *
 *   struct domain *d = fake_domain_new(2);
 *   fake_put(d, FAKE_ARG, &op, sizeof(op));
 *   long rc = fake_hcall(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, FAKE_ARG, 0);
 *   fake_get(d, FAKE_ARG, &op, sizeof(op));
 *   fake_domain_free(d);
 */
#ifndef XENITH_TESTS_FAKE_DOMAIN_H
#define XENITH_TESTS_FAKE_DOMAIN_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "vmm/domain.h"
#include "xen/xen_state.h"

#define FAKE_RAM_SIZE (8ull << 20)
#define FAKE_DOMID 7                 /* not 0, so Dom0 and ourselves never look alike */
/* Scratch places for hypercall arguments, well clear of the special pages at the top. */
#define FAKE_ARG  0x10000ull
#define FAKE_ARG2 0x11000ull
#define FAKE_ARG3 0x12000ull

static inline struct domain *fake_domain_new(unsigned int n_vcpus)
{
	struct domain *d = calloc(1, sizeof(*d));
	char err[256];

	if (!d)
		abort();
	d->domid = FAKE_DOMID;
	d->vm.kvm_fd = d->vm.vm_fd = d->vm.memfd = -1;
	d->vm.ram = aligned_alloc(4096, FAKE_RAM_SIZE);
	if (!d->vm.ram)
		abort();
	memset(d->vm.ram, 0, FAKE_RAM_SIZE);
	d->vm.ram_size = d->vm.low_ram_size = FAKE_RAM_SIZE;
	d->n_vcpus = n_vcpus;
	for (unsigned int i = 0; i < n_vcpus; i++) {
		d->vcpus[i].dom = d;
		d->vcpus[i].id = i;
		d->vcpus[i].fd = -1;
		d->vcpus[i].run = calloc(1, sizeof(struct kvm_run));
		if (!d->vcpus[i].run)
			abort();
		d->vcpus[i].run->s.regs.sregs.cr0 = 0x11;    /* PE|ET, paging off */
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->unpaused, NULL);
	d->shutdown_reason = -1;
	d->notify_fd = -1;
	if (xen_init(d, err, sizeof(err))) {
		fprintf(stderr, "xen_init: %s\n", err);
		abort();
	}
	return d;
}

/* Real timerfds for every vCPU, for tests that arm Xen timers (nothing reads them but the test). */
static inline void fake_domain_timers(struct domain *d)
{
	for (unsigned int i = 0; i < d->n_vcpus; i++)
		d->xen.vcpu[i].timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

static inline void fake_domain_free(struct domain *d)
{
	/* xen_teardown would take our timerfds off the (absent) main loop: close them ourselves. */
	for (unsigned int i = 0; i < XEN_MAX_VCPUS; i++) {
		if (d->xen.vcpu[i].timer_fd >= 0)
			close(d->xen.vcpu[i].timer_fd);
		d->xen.vcpu[i].timer_fd = -1;
	}
	xen_teardown(d);
	for (unsigned int i = 0; i < d->n_vcpus; i++)
		free(d->vcpus[i].run);
	pthread_cond_destroy(&d->unpaused);
	pthread_mutex_destroy(&d->lock);
	vm_extra_release(&d->vm);
	free(d->vm.ram);
	free(d);
}

static inline void *fake_gpa(struct domain *d, uint64_t gpa)
{
	if (gpa >= FAKE_RAM_SIZE)
		abort();
	return d->vm.ram + gpa;
}

static inline void fake_put(struct domain *d, uint64_t gpa, const void *src, size_t len)
{
	if (gpa > FAKE_RAM_SIZE || len > FAKE_RAM_SIZE - gpa)
		abort();
	memcpy(d->vm.ram + gpa, src, len);
}

static inline void fake_get(struct domain *d, uint64_t gpa, void *dst, size_t len)
{
	if (gpa > FAKE_RAM_SIZE || len > FAKE_RAM_SIZE - gpa)
		abort();
	memcpy(dst, d->vm.ram + gpa, len);
}

/* A hypercall from vCPU `vcpu`, as the guest would make it. */
static inline long fake_hcall(struct domain *d, unsigned int vcpu, uint64_t nr, uint64_t a0, uint64_t a1,
			      uint64_t a2)
{
	const uint64_t args[5] = { a0, a1, a2, 0, 0 };
	return xen_hypercall_dispatch(&d->vcpus[vcpu], nr, args);
}

/* The common shape: the argument struct goes to FAKE_ARG, args = {cmd, FAKE_ARG}, and comes back. */
static inline long fake_op(struct domain *d, unsigned int vcpu, uint64_t nr, uint64_t cmd, void *arg,
			   size_t size)
{
	fake_put(d, FAKE_ARG, arg, size);
	long rc = fake_hcall(d, vcpu, nr, cmd, FAKE_ARG, 1);
	fake_get(d, FAKE_ARG, arg, size);
	return rc;
}

#endif
