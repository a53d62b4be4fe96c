/* Each registered fd has a slot in a growable table; epoll carries the slot's index and its
 * generation rather than a pointer, because the table moves when it grows and a callback may
 * remove (or reuse) a slot whose event is still pending later in the same batch. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "vmm/event_loop.h"

#define EVENT_LOOP_FIRST_SLOTS 64

static uint64_t event_tag(unsigned int slot, uint32_t generation)
{
	return (uint64_t)generation << 32 | slot;
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
	*loop = (struct event_loop){ .epoll_fd = -1 };
}

/* A free slot's index, growing the table when none is left; -1 when it cannot grow. */
static long free_slot(struct event_loop *loop)
{
	unsigned int old = loop->n_sources, n = old ? old * 2 : EVENT_LOOP_FIRST_SLOTS;
	struct event_source *grown;

	for (unsigned int i = 0; i < old; i++)
		if (loop->sources[i].fd < 0)
			return i;
	if (n < old || n > UINT32_MAX / 2)
		return -1;
	grown = realloc(loop->sources, (size_t)n * sizeof(*grown));
	if (!grown)
		return -1;
	for (unsigned int i = old; i < n; i++)
		grown[i] = (struct event_source){ .fd = -1 };
	loop->sources = grown;
	loop->n_sources = n;
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

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(loop->epoll_fd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t slot = (uint32_t)evs[i].data.u64, generation = (uint32_t)(evs[i].data.u64 >> 32);
		/* Looked up afresh: an earlier callback may have grown the table, or removed this one. */
		if (slot >= loop->n_sources)
			continue;
		struct event_source *s = &loop->sources[slot];
		if (s->fd >= 0 && s->generation == generation)
			s->fn(s->opaque, evs[i].events);
	}
	return 0;
}
