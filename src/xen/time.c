/* Time as Xen gives it: system time is nanoseconds since the domain was built, published per vCPU
 * as pvclock (vcpu_time_info: a TSC stamp and a scale), and the wallclock at system time 0 in
 * shared_info.  Timers (singleshot and periodic) are timerfds on the main loop raising VIRQ_TIMER. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"
#include "xen/xen_state.h"

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t xen_system_time_ns(const struct domain *dom)
{
	return clock_ns(CLOCK_MONOTONIC) - dom->xen.boot_ns;
}

/* pvclock's scale: ns = ((tsc_delta << shift) * mul) >> 32, with mul kept in [2^31, 2^32). */
void xen_time_scale(uint32_t tsc_khz, uint32_t *mul, int8_t *shift)
{
	uint64_t hz = (uint64_t)(tsc_khz ? tsc_khz : 1) * 1000;
	int s = 0;

	while (hz > 2000000000ull) {
		hz >>= 1;
		s--;
	}
	while (hz <= 1000000000ull) {
		hz <<= 1;
		s++;
	}
	*mul = (uint32_t)((1000000000ull << 32) / hz);
	*shift = (int8_t)s;
}

static void write_time_info(struct vcpu_time_info *t, uint64_t tsc, uint64_t sys_ns, uint32_t mul,
			    int8_t shift)
{
	/* An odd version tells a reader on another vCPU to retry. */
	uint32_t version = __atomic_load_n(&t->version, __ATOMIC_RELAXED) | 1;
	__atomic_store_n(&t->version, version, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t->tsc_timestamp = tsc;
	t->system_time = sys_ns;
	t->tsc_to_system_mul = mul;
	t->tsc_shift = shift;
	t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&t->version, version + 1, __ATOMIC_RELEASE);
}

void xen_time_update_locked(struct domain *dom, unsigned int vcpu)
{
	struct xen_state *xen = &dom->xen;
	struct vcpu_info *vi = xen_vcpu_info_locked(dom, vcpu);
	struct shared_info *si = xen->shared_info;

	if (vi)
		write_time_info(&vi->time, __rdtsc() + (uint64_t)xen->vcpu[vcpu].tsc_offset,
				xen_system_time_ns(dom), xen->tsc_to_system_mul, xen->tsc_shift);
	/* The wallclock at system time 0. */
	uint64_t boot_wall = clock_ns(CLOCK_REALTIME) - xen_system_time_ns(dom);
	uint32_t wv = __atomic_load_n(&si->wc_version, __ATOMIC_RELAXED) | 1;
	__atomic_store_n(&si->wc_version, wv, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	si->wc_sec = (uint32_t)(boot_wall / 1000000000ull);
	si->wc_sec_hi = (uint32_t)((boot_wall / 1000000000ull) >> 32);
	si->wc_nsec = (uint32_t)(boot_wall % 1000000000ull);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&si->wc_version, wv + 1, __ATOMIC_RELEASE);
}

/* Points the vCPU's timerfd at the earlier of its singleshot and periodic deadlines. */
int xen_timer_arm_locked(struct domain *dom, unsigned int vcpu)
{
	struct xen_vcpu_state *v = &dom->xen.vcpu[vcpu];
	uint64_t deadline = v->singleshot_ns;
	struct itimerspec its = { 0 };

	if (v->period_ns && (!deadline || v->next_period_ns < deadline))
		deadline = v->next_period_ns;
	if (deadline) {
		uint64_t abs = dom->xen.boot_ns + deadline;
		if (!abs)
			abs = 1;                 /* 0 would disarm */
		its.it_value.tv_sec = (time_t)(abs / 1000000000ull);
		its.it_value.tv_nsec = (long)(abs % 1000000000ull);
	}
	return timerfd_settime(v->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

/* Main loop: a vCPU's timer fired. */
static void timer_fired(void *opaque, uint32_t events)
{
	struct vcpu *vcpu = opaque;
	struct domain *dom = vcpu->dom;
	struct xen_vcpu_state *v = &dom->xen.vcpu[vcpu->id];
	uint64_t expirations, now;

	(void)events;
	if (read(v->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	pthread_mutex_lock(&dom->xen.lock);
	now = xen_system_time_ns(dom);
	bool fire = false;
	if (v->singleshot_ns && v->singleshot_ns <= now) {
		v->singleshot_ns = 0;
		fire = true;
	}
	if (v->period_ns && v->next_period_ns <= now) {
		/* Missed periods collapse into one event, as Xen's do. */
		uint64_t missed = (now - v->next_period_ns) / v->period_ns + 1;
		v->next_period_ns += missed * v->period_ns;
		fire = true;
	}
	if (fire) {
		xen_time_update_locked(dom, vcpu->id);
		evtchn_raise_virq_locked(dom, vcpu->id, VIRQ_TIMER);
	}
	xen_timer_arm_locked(dom, vcpu->id);
	pthread_mutex_unlock(&dom->xen.lock);
}

int xen_time_vcpu_setup(struct domain *dom, struct vcpu *vcpu, char *err, size_t errlen)
{
	struct xen_vcpu_state *v = &dom->xen.vcpu[vcpu->id];
	struct kvm_msrs *msrs;
	uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	int khz;

	/* Guest TSC = host TSC + offset: read both as close together as we can. */
	memset(buf, 0, sizeof(buf));
	msrs = (struct kvm_msrs *)buf;
	msrs->nmsrs = 1;
	msrs->entries[0].index = 0x10;   /* IA32_TSC */
	uint64_t before = __rdtsc();
	if (ioctl(vcpu->fd, KVM_GET_MSRS, msrs) != 1) {
		ERR_SET(err, errlen, "reading vCPU %u's TSC: %s", vcpu->id, strerror(errno));
		return -1;
	}
	uint64_t after = __rdtsc();
	v->tsc_offset = (int64_t)(msrs->entries[0].data - (before + (after - before) / 2));
	khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		ERR_SET(err, errlen, "KVM_GET_TSC_KHZ: %s", strerror(errno));
		return -1;
	}
	if (vcpu->id == 0) {
		dom->xen.tsc_khz = (uint32_t)khz;
		xen_time_scale(dom->xen.tsc_khz, &dom->xen.tsc_to_system_mul, &dom->xen.tsc_shift);
	}
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->timer_fd < 0 || event_loop_add(dom->loop, v->timer_fd, EPOLLIN, timer_fired, vcpu)) {
		ERR_SET(err, errlen, "vCPU %u's timer: %s", vcpu->id, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&dom->xen.lock);
	xen_time_update_locked(dom, vcpu->id);
	pthread_mutex_unlock(&dom->xen.lock);
	return 0;
}

void xen_time_vcpu_teardown(struct domain *dom, unsigned int vcpu)
{
	struct xen_vcpu_state *v = &dom->xen.vcpu[vcpu];

	if (v->timer_fd >= 0) {
		event_loop_remove(dom->loop, v->timer_fd);
		close(v->timer_fd);
	}
	v->timer_fd = -1;
}
