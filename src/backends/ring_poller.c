/* The adaptive poll loop of ring_poller.h.
 *
 * Why poll at all: on a host like this one (kvm_pvm) an event channel costs the guest an exit of
 * ~30 µs and the backend a wake-up; a ring that stays busy should cost neither.  Why stop polling:
 * a spinning thread takes a core the guest may need.  So the thread spins only `poll_us` past its
 * last work, and only then re-arms the ring's req_event and sleeps.
 *
 * Ordering of the sleep: `arm` writes req_event and then reads the producer again (the frontend
 * writes the producer and then reads req_event), so one of the two sides always sees the other;
 * a kick that comes after `arm` finds the eventfd and ends poll(2) at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "backends/ring_poller.h"
#include "lib/error.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool stopping(struct ring_poller *p)
{
	return __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE);
}

static void count(uint64_t *counter)
{
	__atomic_store_n(counter, *counter + 1, __ATOMIC_RELAXED);   /* one writer: the thread */
}

static void drain_kicks(struct ring_poller *p)
{
	uint64_t n;

	if (read(p->kick_fd, &n, sizeof(n)) == sizeof(n))
		count(&p->st.wakeups);
}

/* Sleeps until a kick, an extra fd, or a stop. */
static void sleep_until_kicked(struct ring_poller *p, bool with_extra)
{
	struct pollfd fds[1 + RING_POLLER_MAX_WAIT_FDS] = { { .fd = p->kick_fd, .events = POLLIN } };
	unsigned int n = 1;

	if (with_extra && p->ops->wait_fds) {
		unsigned int extra = p->ops->wait_fds(p->opaque, fds + 1);
		n += extra <= RING_POLLER_MAX_WAIT_FDS ? extra : RING_POLLER_MAX_WAIT_FDS;
	}
	count(&p->st.sleeps);
	if (poll(fds, n, -1) < 0 && errno != EINTR)
		LOG("%s: poll: %s", p->name, strerror(errno));
	if (fds[0].revents & POLLIN)
		drain_kicks(p);
}

static void *poller_main(void *arg)
{
	struct ring_poller *p = arg;
	uint64_t spin_ns = (uint64_t)p->poll_us * 1000u, last_work = now_ns();
	bool dead = false;

	while (!stopping(p)) {
		if (dead) {                      /* a broken ring: only a stop ends this */
			sleep_until_kicked(p, false);
			continue;
		}
		count(&p->st.rounds);
		enum ring_poller_round r = p->ops->serve(p->opaque);
		if (r == RING_POLLER_STOPPED) {
			dead = true;
			continue;
		}
		if (r == RING_POLLER_WORKED) {
			count(&p->st.worked);
			last_work = spin_ns ? now_ns() : 0;
			continue;
		}
		if (spin_ns && now_ns() - last_work < spin_ns) {
			__builtin_ia32_pause();
			continue;
		}
		if (p->ops->arm(p->opaque))
			continue;                /* work came as we armed */
		sleep_until_kicked(p, true);
		last_work = spin_ns ? now_ns() : 0;  /* woken: spin a while for what follows */
	}
	return NULL;
}

int ring_poller_start(struct ring_poller *p, const char *name, const struct ring_poller_ops *ops,
		      void *opaque, unsigned int poll_us, char *err, size_t errlen)
{
	char thread_name[16];
	int rc;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->ops = ops;
	p->opaque = opaque;
	p->poll_us = poll_us > RING_POLLER_MAX_POLL_US ? RING_POLLER_MAX_POLL_US : poll_us;
	p->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->kick_fd < 0) {
		ERR_SET(err, errlen, "%s: making its wake-up eventfd: %s", name, strerror(errno));
		return -1;
	}
	rc = pthread_create(&p->thread, NULL, poller_main, p);
	if (rc) {
		ERR_SET(err, errlen, "%s: starting its thread: %s", name, strerror(rc));
		close(p->kick_fd);
		p->kick_fd = -1;
		return -1;
	}
	snprintf(thread_name, sizeof(thread_name), "%s", name);
	pthread_setname_np(p->thread, thread_name);
	p->running = true;
	return 0;
}

void ring_poller_kick(struct ring_poller *p)
{
	uint64_t one = 1;

	if (p->kick_fd >= 0 && write(p->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("%s: kick: %s", p->name, strerror(errno));
}

int ring_poller_kick_fd(const struct ring_poller *p)
{
	return p->kick_fd;
}

void ring_poller_stop(struct ring_poller *p)
{
	if (!p->running)
		return;
	__atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
	ring_poller_kick(p);
	pthread_join(p->thread, NULL);
	p->running = false;
	close(p->kick_fd);
	p->kick_fd = -1;
}

struct ring_poller_stats ring_poller_stats_read(const struct ring_poller *p)
{
	return (struct ring_poller_stats){
		.rounds = __atomic_load_n(&p->st.rounds, __ATOMIC_RELAXED),
		.worked = __atomic_load_n(&p->st.worked, __ATOMIC_RELAXED),
		.sleeps = __atomic_load_n(&p->st.sleeps, __ATOMIC_RELAXED),
		.wakeups = __atomic_load_n(&p->st.wakeups, __ATOMIC_RELAXED),
	};
}
