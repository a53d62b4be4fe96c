/* The VMM main thread's loop: file descriptors with a callback each (control socket, console pty,
 * timers, eventfds from Dom0 services) and one-shot timers (deadlines of control connections and
 * hotplug scripts).  Registration happens on the main thread only.  Both tables grow with what is
 * registered (each vCPU's timer, each vif's and disk's descriptors), so no count of vCPUs or
 * devices runs out of slots. */
#ifndef XENITH_EVENT_LOOP_H
#define XENITH_EVENT_LOOP_H

#include <stdint.h>

typedef void (*event_fn)(void *opaque, uint32_t events);
typedef void (*event_timer_fn)(void *opaque);

struct event_source {
	int fd;                  /* -1: a free slot */
	uint32_t generation;     /* bumped when the slot is freed, so a stale event finds it changed */
	event_fn fn;
	void *opaque;
};

struct event_timer {
	uint64_t id;             /* 0: a free slot; ids are never reused */
	int64_t deadline_ns;     /* CLOCK_MONOTONIC */
	event_timer_fn fn;
	void *opaque;
};

struct event_loop {
	int epoll_fd;
	struct event_source *sources;   /* indexed by slot; moves when it grows */
	unsigned int n_sources;
	struct event_timer *timers;     /* unordered; moves when it grows */
	unsigned int n_timers;
	uint64_t last_timer_id;
};

int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);
/* events: EPOLLIN etc.  0 or -errno (-ENOMEM when the table cannot grow). */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque);
void event_loop_remove(struct event_loop *loop, int fd);
/* Changes what a registered fd is watched for (0: nothing for now).  0 or -errno. */
int event_loop_modify(struct event_loop *loop, int fd, uint32_t events);
/* Calls fn(opaque) once, delay_ms from now, from event_loop_run_once.  0 with *id (never 0) for
 * event_loop_timer_cancel, or -ENOMEM. */
int event_loop_timer_add(struct event_loop *loop, unsigned int delay_ms, event_timer_fn fn, void *opaque,
			 uint64_t *id);
/* Forgets a timer that has not fired; an id that fired or was cancelled, or 0, is ignored. */
void event_loop_timer_cancel(struct event_loop *loop, uint64_t id);
/* Waits up to timeout_ms (-1: forever), or until the next timer is due, and runs the callbacks of
 * what became ready, then of the timers that are due.  0 or -errno. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);

#endif
