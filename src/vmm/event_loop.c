#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "vmm/event_loop.h"

int event_loop_init(struct event_loop *loop)
{
	for (int i = 0; i < EVENT_LOOP_MAX; i++)
		loop->sources[i].fd = -1;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epoll_fd < 0 ? -errno : 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	loop->epoll_fd = -1;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque)
{
	for (int i = 0; i < EVENT_LOOP_MAX; i++) {
		struct event_source *s = &loop->sources[i];
		if (s->fd >= 0)
			continue;
		struct epoll_event ev = { .events = events, .data.ptr = s };
		if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		*s = (struct event_source){ .fd = fd, .fn = fn, .opaque = opaque };
		return 0;
	}
	return -ENOSPC;
}

void event_loop_remove(struct event_loop *loop, int fd)
{
	for (int i = 0; i < EVENT_LOOP_MAX; i++) {
		if (loop->sources[i].fd == fd) {
			epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
			loop->sources[i].fd = -1;
		}
	}
}

int event_loop_modify(struct event_loop *loop, int fd, uint32_t events)
{
	for (int i = 0; i < EVENT_LOOP_MAX; i++) {
		struct event_source *s = &loop->sources[i];
		if (s->fd != fd)
			continue;
		struct epoll_event ev = { .events = events, .data.ptr = s };
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
		struct event_source *s = evs[i].data.ptr;
		/* An earlier callback in this batch may have removed it. */
		if (s->fd >= 0)
			s->fn(s->opaque, evs[i].events);
	}
	return 0;
}
