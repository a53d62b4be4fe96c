/* Time as Xen gives it: system time is nanoseconds since the domain was built, published per vCPU
 * as pvclock (vcpu_time_info: a TSC stamp and a scale), and the wallclock at system time 0 in
 * shared_info.  Timers (singleshot and periodic) are timerfds on the main loop raising VIRQ_TIMER.
 *
 * Why system time is the TSC itself: Linux trusts a record flagged PVCLOCK_TSC_STABLE_BIT without
 * clamping (pvclock_clocksource_read), so a new record must never place "now" below where the old
 * one's extrapolation had got to.  Once vCPU 0 has told us the TSC rate, system time is defined as
 * stime_base + scale(host TSC - tsc_base) with exactly the mul/shift we publish, and every record a
 * vCPU sees is that same line (tsc_timestamp = tsc_base in its own TSC, system_time = stime_base).
 * The guest's reading and ours then agree to the nanosecond and never step back; rewriting the record
 * (each timer event, a moved vcpu_info) changes nothing but its version.  The cost: system time runs
 * at the TSC's rate as KVM reports it, not CLOCK_MONOTONIC's (NTP-slewed) one; the wallclock in
 * shared_info absorbs the difference at each update, and timerfds are armed relative to "now" in
 * both clocks so a deadline never fires early by our own reckoning.  Before vCPU 0's setup (and on
 * the unit tests' fake domains) system time is CLOCK_MONOTONIC since boot_ns. */
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

/* pvclock's scale, as a guest computes it: ((delta << shift) * mul) >> 32 (shift may be negative). */
static uint64_t scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t xen_system_time_ns(const struct domain *dom)
{
	const struct xen_state *xen = &dom->xen;

	if (!xen->tsc_to_system_mul)
		return clock_ns(CLOCK_MONOTONIC) - xen->boot_ns;
	return xen->stime_base + scale_delta(__rdtsc() - xen->tsc_base, xen->tsc_to_system_mul, xen->tsc_shift);
}

void xen_time_calibrate(struct domain *dom, uint32_t tsc_khz)
{
	struct xen_state *xen = &dom->xen;
	uint64_t now = xen_system_time_ns(dom);        /* still the clock before: no jump */

	xen->tsc_base = __rdtsc();
	xen->stime_base = now;
	xen->tsc_khz = tsc_khz;
	xen_time_scale(tsc_khz, &xen->tsc_to_system_mul, &xen->tsc_shift);
}

/* Deltas beyond this (146 years) are "never" for a timerfd and keep the sum in range. */
#define STIME_DELTA_CAP (1ull << 62)

void xen_system_time_to_monotonic(const struct domain *dom, uint64_t stime, struct timespec *ts)
{
	uint64_t now_mono = clock_ns(CLOCK_MONOTONIC);
	uint64_t now = xen_system_time_ns(dom);
	uint64_t abs = 1;                              /* long gone: fires (or times out) at once */

	if (stime > now)
		abs = now_mono + (stime - now < STIME_DELTA_CAP ? stime - now : STIME_DELTA_CAP);
	ts->tv_sec = (time_t)(abs / 1000000000ull);
	ts->tv_nsec = (long)(abs % 1000000000ull);
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

	/* Once calibrated, every record is the one line system time follows (see the top). */
	uint64_t tsc = xen->tsc_to_system_mul ? xen->tsc_base : __rdtsc();
	uint64_t stime = xen->tsc_to_system_mul ? xen->stime_base : xen_system_time_ns(dom);
	if (vi)
		write_time_info(&vi->time, tsc + (uint64_t)xen->vcpu[vcpu].tsc_offset, stime,
				xen->tsc_to_system_mul, xen->tsc_shift);
	/* The wallclock at system time 0. */
	uint64_t boot_wall = clock_ns(CLOCK_REALTIME) - xen_system_time_ns(dom);
	/* Where the fields sit depends on the domain's shared_info width (shared_info.c). */
	uint32_t *version = xen_wallclock_word_locked(dom, "wc_version");
	uint32_t wv = __atomic_load_n(version, __ATOMIC_RELAXED) | 1;
	__atomic_store_n(version, wv, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*xen_wallclock_word_locked(dom, "wc_sec") = (uint32_t)(boot_wall / 1000000000ull);
	*xen_wallclock_word_locked(dom, "xen_wc_sec_hi") = (uint32_t)((boot_wall / 1000000000ull) >> 32);
	*xen_wallclock_word_locked(dom, "wc_nsec") = (uint32_t)(boot_wall % 1000000000ull);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(version, wv + 1, __ATOMIC_RELEASE);
}

/* Points the vCPU's timerfd at the earlier of its singleshot and periodic deadlines. */
int xen_timer_arm_locked(struct domain *dom, unsigned int vcpu)
{
	struct xen_vcpu_state *v = &dom->xen.vcpu[vcpu];
	uint64_t deadline = v->singleshot_ns;
	struct itimerspec its = { 0 };

	if (v->period_ns && (!deadline || v->next_period_ns < deadline))
		deadline = v->next_period_ns;
	if (deadline)
		xen_system_time_to_monotonic(dom, deadline, &its.it_value);   /* never 0, which disarms */
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

/* Guest TSC = host TSC + offset: reads both as close together as we can. */
static int read_tsc_offset(struct vcpu *vcpu, int64_t *offset, char *err, size_t errlen)
{
	uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	struct kvm_msrs *msrs = (struct kvm_msrs *)buf;

	memset(buf, 0, sizeof(buf));
	msrs->nmsrs = 1;
	msrs->entries[0].index = 0x10;   /* IA32_TSC */
	uint64_t before = __rdtsc();
	if (ioctl(vcpu->fd, KVM_GET_MSRS, msrs) != 1) {
		ERR_SET(err, errlen, "reading vCPU %u's TSC: %s", vcpu->id, strerror(errno));
		return -1;
	}
	uint64_t after = __rdtsc();
	*offset = (int64_t)(msrs->entries[0].data - (before + (after - before) / 2));
	return 0;
}

int xen_time_restore(struct domain *dom, uint64_t stime, char *err, size_t errlen)
{
	struct xen_state *xen = &dom->xen;
	int64_t offsets[XEN_MAX_VCPUS];

	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		if (read_tsc_offset(&dom->vcpus[i], &offsets[i], err, errlen))
			return -1;
	pthread_mutex_lock(&xen->lock);
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		xen->vcpu[i].tsc_offset = offsets[i];
	xen->tsc_base = __rdtsc();
	xen->stime_base = stime;
	if (!xen->tsc_to_system_mul)     /* not calibrated (a fake domain): the monotonic line */
		xen->boot_ns = clock_ns(CLOCK_MONOTONIC) - stime;
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		xen_time_update_locked(dom, i);
	pthread_mutex_unlock(&xen->lock);
	return 0;
}

int xen_time_vcpu_setup(struct domain *dom, struct vcpu *vcpu, char *err, size_t errlen)
{
	struct xen_vcpu_state *v = &dom->xen.vcpu[vcpu->id];
	int khz;

	if (read_tsc_offset(vcpu, &v->tsc_offset, err, errlen))
		return -1;
	khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		ERR_SET(err, errlen, "KVM_GET_TSC_KHZ: %s", strerror(errno));
		return -1;
	}
	if (vcpu->id == 0)
		xen_time_calibrate(dom, (uint32_t)khz);
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
