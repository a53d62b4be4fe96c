/* Each registered fd has a slot in a growable table; epoll carries the slot's index and its
 * generation rather than a pointer, because the table moves when it grows and a callback may
 * remove (or reuse) a slot whose event is still pending later in the same batch.
 *
 * Timers need no descriptor: they sit in a second growable table, epoll_wait sleeps no longer than
 * the nearest deadline, and after the descriptors' callbacks every due timer fires once.  A scan of
 * the table is cheap beside a system call for the few dozen timers a domain has.  A timer added by
 * a callback of this pass waits for the next one, so a zero-delay timer that re-arms itself cannot
 * keep the loop from going back to epoll. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "vmm/event_loop.h"

#define EVENT_LOOP_FIRST_SLOTS 64
#define EVENT_LOOP_FIRST_TIMERS 16
#define EVENT_LOOP_BATCH 16

static uint64_t event_tag(unsigned int slot, uint32_t generation)
{
	return (uint64_t)generation << 32 | slot;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int event_loop_init(struct event_loop *loop)
{
	*loop = (struct event_loop){ .epoll_fd = epoll_create1(EPOLL_CLOEXEC) };
	return loop->epoll_fd < 0 ? -errno : 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	free(loop->sources);
	free(loop->timers);
	*loop = (struct event_loop){ .epoll_fd = -1 };
}

/* Doubles a table of `*n` elements of `size` bytes (to `first` when empty); the new ones are
 * zeroed.  The old count, or -1 when it cannot grow. */
static long grow(void **table, unsigned int *n, size_t size, unsigned int first)
{
	unsigned int old = *n, want = old ? old * 2 : first;
	unsigned char *grown;

	if (want < old || want > UINT32_MAX / 2)
		return -1;
	grown = realloc(*table, (size_t)want * size);
	if (!grown)
		return -1;
	for (size_t i = (size_t)old * size; i < (size_t)want * size; i++)
		grown[i] = 0;
	*table = grown;
	*n = want;
	return old;
}

/* A free slot's index, growing the table when none is left; -1 when it cannot grow. */
static long free_slot(struct event_loop *loop)
{
	unsigned int old = loop->n_sources;

	for (unsigned int i = 0; i < old; i++)
		if (loop->sources[i].fd < 0)
			return i;
	if (grow((void **)&loop->sources, &loop->n_sources, sizeof(*loop->sources), EVENT_LOOP_FIRST_SLOTS) < 0)
		return -1;
	for (unsigned int i = old; i < loop->n_sources; i++)
		loop->sources[i].fd = -1;
	return old;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque)
{
	long slot = free_slot(loop);

	if (slot < 0)
		return -ENOMEM;
	struct event_source *s = &loop->sources[slot];
	struct epoll_event ev = { .events = events, .data.u64 = event_tag(slot, s->generation) };
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	s->fd = fd;
	s->fn = fn;
	s->opaque = opaque;
	return 0;
}

void event_loop_remove(struct event_loop *loop, int fd)
{
	for (unsigned int i = 0; i < loop->n_sources; i++) {
		struct event_source *s = &loop->sources[i];
		if (s->fd != fd)
			continue;
		epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		s->fd = -1;
		s->generation++;
	}
}

int event_loop_modify(struct event_loop *loop, int fd, uint32_t events)
{
	for (unsigned int i = 0; i < loop->n_sources; i++) {
		struct event_source *s = &loop->sources[i];
		if (s->fd != fd)
			continue;
		struct epoll_event ev = { .events = events, .data.u64 = event_tag(i, s->generation) };
		return epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	return -ENOENT;
}

int event_loop_timer_add(struct event_loop *loop, unsigned int delay_ms, event_timer_fn fn, void *opaque,
			 uint64_t *id)
{
	long slot = -1;

	for (unsigned int i = 0; i < loop->n_timers && slot < 0; i++)
		if (!loop->timers[i].id)
			slot = i;
	if (slot < 0)
		slot = grow((void **)&loop->timers, &loop->n_timers, sizeof(*loop->timers),
			    EVENT_LOOP_FIRST_TIMERS);
	if (slot < 0)
		return -ENOMEM;
	loop->timers[slot] = (struct event_timer){
		.id = ++loop->last_timer_id, .deadline_ns = now_ns() + (int64_t)delay_ms * 1000000,
		.fn = fn, .opaque = opaque,
	};
	*id = loop->timers[slot].id;
	return 0;
}

void event_loop_timer_cancel(struct event_loop *loop, uint64_t id)
{
	for (unsigned int i = 0; id && i < loop->n_timers; i++)
		if (loop->timers[i].id == id)
			loop->timers[i].id = 0;
}

/* timeout_ms shortened to the nearest timer's deadline (rounded up, so it is due on waking). */
static int wait_ms(const struct event_loop *loop, int timeout_ms)
{
	int64_t now = now_ns(), next = INT64_MAX;

	for (unsigned int i = 0; i < loop->n_timers; i++)
		if (loop->timers[i].id && loop->timers[i].deadline_ns < next)
			next = loop->timers[i].deadline_ns;
	if (next == INT64_MAX)
		return timeout_ms;
	int64_t ms = next <= now ? 0 : (next - now + 999999) / 1000000;
	if (ms > INT_MAX)
		ms = INT_MAX;
	return timeout_ms >= 0 && timeout_ms < ms ? timeout_ms : (int)ms;
}

static void fire_timers(struct event_loop *loop)
{
	uint64_t last = loop->last_timer_id;
	int64_t now = now_ns();

	/* Looked up by index each time: a callback may add (growing the table) or cancel timers. */
	for (unsigned int i = 0; i < loop->n_timers; i++) {
		struct event_timer *t = &loop->timers[i];
		if (!t->id || t->id > last || t->deadline_ns > now)
			continue;
		event_timer_fn fn = t->fn;
		void *opaque = t->opaque;
		t->id = 0;
		fn(opaque);
	}
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[EVENT_LOOP_BATCH];
	int n = epoll_wait(loop->epoll_fd, evs, EVENT_LOOP_BATCH, wait_ms(loop, timeout_ms));

	if (n < 0 && errno != EINTR)
		return -errno;
	for (int i = 0; i < n; i++) {
		uint32_t slot = (uint32_t)evs[i].data.u64, generation = (uint32_t)(evs[i].data.u64 >> 32);
		/* Looked up afresh: an earlier callback may have grown the table, or removed this one. */
		if (slot >= loop->n_sources)
			continue;
		struct event_source *s = &loop->sources[slot];
		if (s->fd >= 0 && s->generation == generation)
			s->fn(s->opaque, evs[i].events);
	}
	fire_timers(loop);
	return 0;
}
