/* The VMM's event loop (vmm/event_loop.h), no KVM:
 * - no fixed cap: 300 eventfds and 300 timers on one loop, each fires exactly once (64 vCPUs with
 *   8 vifs and 8 disks need well over 64 of each);
 * - timers fire in deadline order and never early, run_once(-1) wakes for a timer, a cancelled
 *   timer never fires and cancelling a stale id touches no other timer;
 * - a timer that re-arms itself with no delay returns control each pass, and descriptors are still
 *   served between its firings;
 * - a timer callback may add and cancel timers (the table grows under it). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "vmm/event_loop.h"
#include "unit.h"

#define MANY 300

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct counted_fd {
	int fd;
	unsigned int calls;
};

static void fd_ready(void *opaque, uint32_t events)
{
	struct counted_fd *c = opaque;
	uint64_t v;

	(void)events;
	c->calls++;
	if (read(c->fd, &v, sizeof(v)) != sizeof(v))
		c->calls += 1000;
}

struct counted_timer {
	long long armed_us, due_us, fired_us;
	unsigned int calls;
	unsigned int order;
	unsigned int *next_order;
};

static void timer_fired(void *opaque)
{
	struct counted_timer *t = opaque;

	t->calls++;
	t->fired_us = now_us();
	t->order = ++*t->next_order;
}

static void test_many(struct unit *u, const void *arg)
{
	(void)arg;
	struct counted_fd *fds = calloc(MANY, sizeof(*fds));
	struct counted_timer *timers = calloc(MANY, sizeof(*timers));
	struct event_loop loop;
	unsigned int order = 0, fd_added = 0, timer_added = 0;
	uint64_t one = 1, id;

	if (!fds || !timers || event_loop_init(&loop)) {
		CHECK(0, "setup: %s", strerror(errno));
		free(fds);
		free(timers);
		return;
	}
	for (unsigned int i = 0; i < MANY; i++) {
		fds[i].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[i].fd >= 0 && !event_loop_add(&loop, fds[i].fd, EPOLLIN, fd_ready, &fds[i]))
			fd_added++;
		timers[i] = (struct counted_timer){ .armed_us = now_us(), .next_order = &order };
		timers[i].due_us = timers[i].armed_us + (long long)(i % 30) * 1000;
		if (!event_loop_timer_add(&loop, i % 30, timer_fired, &timers[i], &id))
			timer_added++;
	}
	CHECK(fd_added == MANY, "registered %u of %d descriptors", fd_added, MANY);
	CHECK(timer_added == MANY, "armed %u of %d timers", timer_added, MANY);
	for (unsigned int i = 0; i < fd_added; i++)
		CHECK(write(fds[i].fd, &one, sizeof(one)) == sizeof(one), "eventfd write");
	long long start = now_us();
	for (;;) {
		unsigned int fd_calls = 0, timer_calls = 0;
		for (unsigned int i = 0; i < MANY; i++) {
			fd_calls += fds[i].calls;
			timer_calls += timers[i].calls;
		}
		if ((fd_calls >= fd_added && timer_calls >= timer_added) || now_us() - start > 5000000)
			break;
		CHECK(event_loop_run_once(&loop, 1000) == 0, "event_loop_run_once");
	}
	for (unsigned int i = 0; i < MANY; i++) {
		CHECK(fds[i].calls == 1, "descriptor %u: %u calls", i, fds[i].calls);
		CHECK(timers[i].calls == 1, "timer %u: %u calls", i, timers[i].calls);
		CHECK(timers[i].fired_us >= timers[i].due_us, "timer %u fired %lld us early", i,
		      timers[i].due_us - timers[i].fired_us);
	}
	for (unsigned int i = 0; i < fd_added; i++)
		event_loop_remove(&loop, fds[i].fd);
	for (unsigned int i = 0; i < MANY; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	event_loop_destroy(&loop);
	free(fds);
	free(timers);
}

static void test_order_and_cancel(struct unit *u, const void *arg)
{
	(void)arg;
	struct event_loop loop;
	struct counted_timer late, early, cancelled, after;
	unsigned int order = 0;
	uint64_t late_id, early_id, cancelled_id, after_id;

	CHECK(event_loop_init(&loop) == 0, "event_loop_init");
	late = early = cancelled = after = (struct counted_timer){ .next_order = &order };
	CHECK(event_loop_timer_add(&loop, 60, timer_fired, &late, &late_id) == 0 &&
	      event_loop_timer_add(&loop, 20, timer_fired, &early, &early_id) == 0 &&
	      event_loop_timer_add(&loop, 40, timer_fired, &cancelled, &cancelled_id) == 0, "timer_add");
	CHECK(late_id && early_id && cancelled_id && late_id != early_id && early_id != cancelled_id,
	      "ids %llu %llu %llu", (unsigned long long)late_id, (unsigned long long)early_id,
	      (unsigned long long)cancelled_id);
	event_loop_timer_cancel(&loop, cancelled_id);
	long long start = now_us();
	CHECK(event_loop_run_once(&loop, -1) == 0, "run_once(-1) with a timer pending");
	long long woke = now_us() - start;
	CHECK(early.calls == 1 && late.calls == 0, "after the first wait: early %u, late %u", early.calls,
	      late.calls);
	CHECK(woke >= 19000 && woke < 1000000, "run_once(-1) woke after %lld us for a 20 ms timer", woke);
	/* The fired timer's slot is reused; its stale id must not cancel the newcomer. */
	CHECK(event_loop_timer_add(&loop, 10, timer_fired, &after, &after_id) == 0, "timer_add after");
	event_loop_timer_cancel(&loop, early_id);
	event_loop_timer_cancel(&loop, 0);
	for (int i = 0; i < 20 && (late.calls == 0 || after.calls == 0); i++)
		event_loop_run_once(&loop, 100);
	CHECK(after.calls == 1, "a timer armed in a fired one's slot ran %u times (stale cancel?)", after.calls);
	CHECK(late.calls == 1, "late ran %u times", late.calls);
	CHECK(early.order < after.order && after.order < late.order, "order early %u after %u late %u",
	      early.order, after.order, late.order);
	event_loop_run_once(&loop, 50);
	CHECK(cancelled.calls == 0, "a cancelled timer ran %u times", cancelled.calls);
	event_loop_destroy(&loop);
}

/* A timer that re-arms itself at once fires once per pass, and an eventfd is served meanwhile. */
struct spinner {
	struct event_loop *loop;
	unsigned int calls;
	uint64_t id;
};

static void spin(void *opaque)
{
	struct spinner *s = opaque;

	s->calls++;
	if (event_loop_timer_add(s->loop, 0, spin, s, &s->id))
		s->calls += 100000;
}

static void test_zero_delay_rearm(struct unit *u, const void *arg)
{
	(void)arg;
	struct event_loop loop;
	struct spinner s = { .loop = &loop };
	struct counted_fd c = { .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	uint64_t one = 1;

	CHECK(event_loop_init(&loop) == 0 && c.fd >= 0, "setup");
	CHECK(event_loop_add(&loop, c.fd, EPOLLIN, fd_ready, &c) == 0, "add");
	CHECK(event_loop_timer_add(&loop, 0, spin, &s, &s.id) == 0, "timer_add");
	for (int pass = 1; pass <= 5; pass++) {
		CHECK(event_loop_run_once(&loop, -1) == 0, "run_once");
		CHECK(s.calls == (unsigned)pass, "after pass %d the spinner ran %u times", pass, s.calls);
	}
	CHECK(write(c.fd, &one, sizeof(one)) == sizeof(one), "eventfd write");
	event_loop_run_once(&loop, -1);
	CHECK(c.calls == 1, "the eventfd was served %u times beside a spinning timer", c.calls);
	event_loop_timer_cancel(&loop, s.id);
	event_loop_remove(&loop, c.fd);
	close(c.fd);
	event_loop_destroy(&loop);
}

/* A callback that arms many timers (growing the table under the pass) and cancels a due one. */
struct grower {
	struct event_loop *loop;
	struct counted_timer children[100];
	struct counted_timer victim;
	uint64_t victim_id;
	unsigned int order;
};

static void grow_cb(void *opaque)
{
	struct grower *g = opaque;
	uint64_t id;

	event_loop_timer_cancel(g->loop, g->victim_id);
	for (unsigned int i = 0; i < 100; i++) {
		g->children[i] = (struct counted_timer){ .next_order = &g->order };
		if (event_loop_timer_add(g->loop, 1, timer_fired, &g->children[i], &id))
			g->children[i].calls += 1000;
	}
}

static void test_callback_grows(struct unit *u, const void *arg)
{
	(void)arg;
	struct event_loop loop;
	struct grower *g = calloc(1, sizeof(*g));
	uint64_t id;

	if (!g || event_loop_init(&loop)) {
		CHECK(0, "setup");
		free(g);
		return;
	}
	g->loop = &loop;
	g->victim.next_order = &g->order;
	CHECK(event_loop_timer_add(&loop, 5, grow_cb, g, &id) == 0 &&
	      event_loop_timer_add(&loop, 5, timer_fired, &g->victim, &g->victim_id) == 0, "timer_add");
	usleep(10000);                           /* both due in the same pass */
	event_loop_run_once(&loop, 0);
	/* The victim sits after grow_cb in the table, so it is cancelled before the pass reaches it. */
	CHECK(g->victim.calls == 0, "a timer cancelled by an earlier one of the same pass ran");
	for (int i = 0; i < 50; i++)
		event_loop_run_once(&loop, 10);
	for (unsigned int i = 0; i < 100; i++)
		CHECK(g->children[i].calls == 1, "timer %u armed in a callback ran %u times", i, g->children[i].calls);
	event_loop_destroy(&loop);
	free(g);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "event loop: 300 descriptors and 300 timers on one loop, each fires once", test_many, NULL);
	unit_case(&u, "event loop: timers in deadline order, run_once(-1) wakes, cancels", test_order_and_cancel,
		  NULL);
	unit_case(&u, "event loop: a zero-delay timer re-arming itself does not starve the loop",
		  test_zero_delay_rearm, NULL);
	unit_case(&u, "event loop: a timer callback arms 100 timers and cancels a due one", test_callback_grows,
		  NULL);
	return unit_finish(&u);
}
