/* The backends' adaptive poller (src/backends/ring_poller.c) on a toy ring: a producer counter the
 * test raises (the frontend), a consumer the poller's serve advances, and a req_event its arm sets
 * as RING_FINAL_CHECK_FOR_REQUESTS does.  The test "notifies" only when its push crosses req_event,
 * as RING_PUSH_REQUESTS_AND_CHECK_NOTIFY would, so what is checked is the protocol the backends
 * rely on: no request is left unserved whatever the timing, a busy producer is told not to notify,
 * an idle poller sleeps (and so costs no CPU), an extra descriptor wakes it, and stop joins. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include "backends/ring_poller.h"
#include "unit.h"

struct toy_ring {
	uint32_t prod;            /* the test's */
	uint32_t req_event;       /* the poller's: a push past it notifies */
	uint32_t cons;            /* the poller's */
	uint32_t served;
	bool broken_after;        /* serve reports STOPPED once cons reaches stop_at */
	uint32_t stop_at;
	int extra_fd;             /* -1: none */
	uint32_t extra_reads;
	struct ring_poller *poller;
};

static uint32_t load(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

static enum ring_poller_round toy_serve(void *opaque)
{
	struct toy_ring *t = opaque;
	bool worked = false;

	if (t->extra_fd >= 0) {
		char c;
		if (read(t->extra_fd, &c, 1) == 1) {
			store(&t->extra_reads, load(&t->extra_reads) + 1);
			worked = true;
		}
	}
	unsigned int budget = 8;
	while (budget-- && t->cons != load(&t->prod)) {
		t->cons++;
		store(&t->served, load(&t->served) + 1);
		worked = true;
	}
	if (t->broken_after && t->cons >= t->stop_at)
		return RING_POLLER_STOPPED;
	return worked ? RING_POLLER_WORKED : RING_POLLER_IDLE;
}

/* RING_FINAL_CHECK_FOR_REQUESTS: re-arm, then look again. */
static bool toy_arm(void *opaque)
{
	struct toy_ring *t = opaque;

	store(&t->req_event, t->cons + 1);
	return load(&t->prod) != t->cons;
}

static unsigned int toy_wait_fds(void *opaque, struct pollfd *fds)
{
	struct toy_ring *t = opaque;

	if (t->extra_fd < 0)
		return 0;
	fds[0] = (struct pollfd){ .fd = t->extra_fd, .events = POLLIN };
	return 1;
}

static const struct ring_poller_ops toy_ops = { toy_serve, toy_arm, toy_wait_fds };

/* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY for one request: true when the frontend must notify. */
static bool push_one(struct toy_ring *t)
{
	uint32_t old = load(&t->prod), now = old + 1;

	store(&t->prod, now);
	uint32_t ev = load(&t->req_event);
	return (uint32_t)(now - ev) < (uint32_t)(now - old);
}

static bool wait_for(const uint32_t *counter, uint32_t want)
{
	for (int i = 0; i < 5000; i++) {
		if (load(counter) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

static void start(struct unit *u, struct ring_poller *p, struct toy_ring *t, unsigned int poll_us)
{
	char err[256];

	t->poller = p;
	store(&t->req_event, 1);
	CHECK(ring_poller_start(p, "toy-ring", &toy_ops, t, poll_us, err, sizeof(err)) == 0, "start: %s", err);
}

/* Every request is served, whatever the interleaving of pushes, notifications and the poller's
 * sleeps: 20000 pushes in bursts, notifying only when ring.h says to. */
static void test_nothing_lost(struct unit *u, const void *arg)
{
	unsigned int poll_us = (unsigned int)(uintptr_t)arg;
	struct toy_ring t = { .extra_fd = -1 };
	struct ring_poller p;
	unsigned int notified = 0;

	start(u, &p, &t, poll_us);
	for (unsigned int i = 0; i < 20000; i++) {
		if (push_one(&t)) {
			notified++;
			ring_poller_kick(&p);
		}
		if (i % 1000 == 999)
			usleep(2000);                /* let it go to sleep now and then */
	}
	CHECK(wait_for(&t.served, 20000), "served %u of 20000", load(&t.served));
	ring_poller_stop(&p);
	struct ring_poller_stats st = ring_poller_stats_read(&p);
	CHECK(notified < 20000, "the producer was told to notify on every push (%u)", notified);
	CHECK(st.worked > 0 && st.rounds >= st.worked, "counters: rounds %llu worked %llu",
	      (unsigned long long)st.rounds, (unsigned long long)st.worked);
	CHECK(p.kick_fd == -1 && !p.running, "stop leaves nothing behind");
}

/* A poller with nothing to do sleeps: its rounds stop growing. */
static void test_idle_sleeps(struct unit *u, const void *arg)
{
	(void)arg;
	struct toy_ring t = { .extra_fd = -1 };
	struct ring_poller p;

	start(u, &p, &t, 200);
	usleep(50000);
	struct ring_poller_stats a = ring_poller_stats_read(&p);
	usleep(100000);
	struct ring_poller_stats b = ring_poller_stats_read(&p);
	CHECK(a.rounds == b.rounds, "an idle poller kept going: %llu then %llu rounds",
	      (unsigned long long)a.rounds, (unsigned long long)b.rounds);
	CHECK(b.sleeps >= 1, "it never slept");
	/* and a push that notifies wakes it */
	CHECK(push_one(&t), "the first push after it armed must notify");
	ring_poller_kick(&p);
	CHECK(wait_for(&t.served, 1), "the kick did not wake it");
	ring_poller_stop(&p);
}

/* While it spins after work, req_event stays behind: pushes are not asked to notify. */
static void test_busy_needs_no_notify(struct unit *u, const void *arg)
{
	(void)arg;
	struct toy_ring t = { .extra_fd = -1 };
	struct ring_poller p;
	unsigned int notified = 0;

	start(u, &p, &t, 100000);            /* spin up to 100 ms after each piece of work */
	if (push_one(&t))
		ring_poller_kick(&p);
	CHECK(wait_for(&t.served, 1), "first request not served");
	for (unsigned int i = 0; i < 1000; i++)
		notified += push_one(&t);
	CHECK(wait_for(&t.served, 1001), "served %u of 1001", load(&t.served));
	CHECK(notified == 0, "%u of 1000 pushes to a spinning poller were told to notify", notified);
	ring_poller_stop(&p);
}

/* A descriptor named by wait_fds wakes a sleeping poller. */
static void test_extra_fd_wakes(struct unit *u, const void *arg)
{
	(void)arg;
	int pipefd[2];
	CHECK(pipe2(pipefd, O_NONBLOCK) == 0, "pipe");
	struct toy_ring t = { .extra_fd = pipefd[0] };
	struct ring_poller p;

	start(u, &p, &t, 0);
	usleep(20000);
	CHECK(write(pipefd[1], "x", 1) == 1, "write");
	CHECK(wait_for(&t.extra_reads, 1), "a readable extra fd did not wake the poller");
	ring_poller_stop(&p);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* A ring reported broken is served no more, and stop still ends the thread. */
static void test_stopped_ring(struct unit *u, const void *arg)
{
	(void)arg;
	struct toy_ring t = { .extra_fd = -1, .broken_after = true, .stop_at = 5 };
	struct ring_poller p;

	start(u, &p, &t, 0);
	for (int i = 0; i < 5; i++)
		push_one(&t);
	ring_poller_kick(&p);
	CHECK(wait_for(&t.served, 5), "served %u of 5", load(&t.served));
	usleep(20000);
	for (int i = 0; i < 5; i++)
		push_one(&t);
	ring_poller_kick(&p);
	usleep(20000);
	CHECK(load(&t.served) == 5, "a broken ring was served again: %u", load(&t.served));
	ring_poller_stop(&p);
	ring_poller_stop(&p);                /* idempotent */
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "nothing-lost-no-spin", test_nothing_lost, (void *)(uintptr_t)0);
	unit_case(&u, "nothing-lost-spin-50us", test_nothing_lost, (void *)(uintptr_t)50);
	unit_case(&u, "idle-sleeps", test_idle_sleeps, NULL);
	unit_case(&u, "busy-needs-no-notify", test_busy_needs_no_notify, NULL);
	unit_case(&u, "extra-fd-wakes", test_extra_fd_wakes, NULL);
	unit_case(&u, "stopped-ring", test_stopped_ring, NULL);
	return unit_finish(&u);
}
