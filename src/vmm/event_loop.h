/* The VMM main thread's loop: file descriptors with a callback each (control socket, console pty,
 * timers, eventfds from Dom0 services).  Registration happens on the main thread only.  The table
 * grows with what is registered (each vCPU's timer, each vif's and disk's descriptors), so no
 * count of vCPUs or devices runs out of slots. */
#ifndef XENITH_EVENT_LOOP_H
#define XENITH_EVENT_LOOP_H

#include <stdint.h>

typedef void (*event_fn)(void *opaque, uint32_t events);

struct event_source {
	int fd;                  /* -1: a free slot */
	uint32_t generation;     /* bumped when the slot is freed, so a stale event finds it changed */
	event_fn fn;
	void *opaque;
};

struct event_loop {
	int epoll_fd;
	struct event_source *sources;   /* indexed by slot; moves when it grows */
	unsigned int n_sources;
};

int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);
/* events: EPOLLIN etc.  0 or -errno (-ENOMEM when the table cannot grow). */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque);
void event_loop_remove(struct event_loop *loop, int fd);
/* Changes what a registered fd is watched for (0: nothing for now).  0 or -errno. */
int event_loop_modify(struct event_loop *loop, int fd, uint32_t events);
/* Waits up to timeout_ms (-1: forever) and runs the callbacks of what became ready. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);

#endif
