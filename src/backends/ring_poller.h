/* ring_poller: one thread serving one shared ring (a vif queue, a disk ring) off the VMM's main loop,
 * polling adaptively (docs/ARCHITECTURE.md, "Backend threads").
 *
 * The thread calls `serve` in rounds.  While rounds find work, and for `poll_us` after the last one
 * that did, it keeps calling it (busy-polling the ring's indices, with the ring's req_event left
 * behind so a busy frontend does not notify).  Then it calls `arm` (the ring's
 * RING_FINAL_CHECK_FOR_REQUESTS: req_event re-armed, a last look) and, when that finds nothing,
 * sleeps in poll(2) on its kick eventfd and on whatever extra descriptors `wait_fds` names (a TAP
 * queue while the guest has rx slots posted).  A kick is a write to the eventfd: the event channel's
 * Dom0 callback on a vCPU thread, a worker that finished I/O, or, where the host has it, KVM itself
 * (the eventfd is the target of an in-kernel event channel), so that a notification needs no trip
 * through the VMM's main loop.
 *
 * The main thread owns the lifecycle: start when the ring connects, stop (which joins) before
 * anything the thread uses is unmapped.  While it runs, the ring's state is the thread's; the main
 * thread reads only counters (with relaxed atomics) and must otherwise stop it first. */
#ifndef XENITH_RING_POLLER_H
#define XENITH_RING_POLLER_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long a poller spins after its last work, unless the VMM's --backend-poll-us says otherwise.
 * Short: on a host with fewer cores than busy rings, spinning takes time from the guest's vCPUs. */
#define RING_POLLER_DEFAULT_POLL_US 50
#define RING_POLLER_MAX_POLL_US 100000
#define RING_POLLER_MAX_WAIT_FDS 4

enum ring_poller_round {
	RING_POLLER_IDLE,        /* nothing to do now: poll a while, then arm and sleep */
	RING_POLLER_WORKED,      /* did something (maybe more is there): go again at once */
	RING_POLLER_STOPPED,     /* the ring is broken or done: sleep until stopped, serve no more */
};

struct ring_poller_ops {
	/* One round of work (the ring's own budget).  On the poller's thread. */
	enum ring_poller_round (*serve)(void *opaque);
	/* About to sleep: re-arm the ring's event indices and look once more.  True when work came
	 * meanwhile (then the poller serves instead of sleeping). */
	bool (*arm)(void *opaque);
	/* Optional: the extra descriptors to sleep on this time (at most RING_POLLER_MAX_WAIT_FDS),
	 * their count.  A readable one wakes the poller like a kick. */
	unsigned int (*wait_fds)(void *opaque, struct pollfd *fds);
};

struct ring_poller_stats {
	uint64_t rounds;         /* calls of serve */
	uint64_t worked;         /* of which did something */
	uint64_t sleeps;         /* times it slept in poll(2) */
	uint64_t wakeups;        /* kicks that found it asleep or about to sleep (eventfd reads) */
};

struct ring_poller {
	char name[48];
	const struct ring_poller_ops *ops;
	void *opaque;
	unsigned int poll_us;
	int kick_fd;             /* eventfd, non-blocking; -1 when not started */
	pthread_t thread;
	bool running;            /* the thread exists (main thread's view) */
	bool stop;               /* atomic: the thread is to end */
	struct ring_poller_stats st;   /* written by the thread; read with ring_poller_stats_read */
};

/* Starts the thread ("name" for logs and the thread's name, truncated to 15 bytes).  0, or -1 with
 * err (nothing started). */
int ring_poller_start(struct ring_poller *p, const char *name, const struct ring_poller_ops *ops,
		      void *opaque, unsigned int poll_us, char *err, size_t errlen);
/* Wakes the thread.  Any thread, and cheap: an eventfd write (EAGAIN means a wake-up is pending). */
void ring_poller_kick(struct ring_poller *p);
/* The eventfd a kick writes, for an in-kernel notifier (KVM's event channel delivery); -1 if none. */
int ring_poller_kick_fd(const struct ring_poller *p);
/* Ends the thread after its current round and joins it.  Main thread; idempotent. */
void ring_poller_stop(struct ring_poller *p);
/* A consistent-enough copy of the counters (relaxed loads), any thread. */
struct ring_poller_stats ring_poller_stats_read(const struct ring_poller *p);

#endif
