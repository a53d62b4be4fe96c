/* bench/migrate_gap.c: the guest side of bench/migrate.sh for Linux guests (QEMU's, and Xenith's
 * when it boots Debian's kernel).  Built with gcc -static and put into an initramfs as /init, so it
 * is the only process of the guest.
 *
 * It reads CLOCK_MONOTONIC in a tight loop and keeps the longest gap between two consecutive
 * readings: a live migration's stop-and-copy shows up as one long gap, as the guest sees it (if
 * the hypervisor lets the guest's clock run on while it is stopped; QEMU freezes it).  With
 * dirty_mib=N it also rewrites one word of each page of an N MiB buffer, one page per reading,
 * so the memory keeps getting dirty while the migration copies it.
 *
 * Arguments come from the kernel command line: parameters with '=' that the kernel does not know
 * reach init as environment variables.  dirty_mib (default 0), report_ms (default 100).
 * Every report_ms it prints, on its stdout (the kernel's console):
 *     gap: t_ms=T count=C gap_max_us=G dirty_mib=N
 * T: ms since start, C: readings so far, G: the longest gap since the previous report.  The time
 * spent printing (a port exit per byte on a serial console) is not counted as a gap.
 * It never exits: init exiting would panic the kernel. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { PAGE = 4096 };

struct gap_loop {
	uint64_t dirty_mib;
	uint64_t report_ns;
	uint8_t *buf;           /* dirty_mib MiB, or NULL */
	size_t pages;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* NAME from the environment as a number in [0, max], else DEF (and a note why). */
static uint64_t env_number(const char *name, uint64_t def, uint64_t max)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s)
		return def;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > max) {
		printf("gap: %s=%s is not a number in 0..%llu; using %llu\n", name, s,
		       (unsigned long long)max, (unsigned long long)def);
		return def;
	}
	return v;
}

static void loop_init(struct gap_loop *l)
{
	l->dirty_mib = env_number("dirty_mib", 0, 1u << 20);
	l->report_ns = env_number("report_ms", 100, 60000) * 1000000u;
	if (l->report_ns == 0)
		l->report_ns = 100000000u;
	l->buf = NULL;
	l->pages = 0;
	if (l->dirty_mib) {
		size_t len = (size_t)l->dirty_mib << 20;
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (p == MAP_FAILED) {
			printf("gap: cannot map dirty_mib=%llu MiB; dirtying nothing\n",
			       (unsigned long long)l->dirty_mib);
			l->dirty_mib = 0;
		} else {
			l->buf = p;
			l->pages = len / PAGE;
		}
	}
}

static void loop_run(struct gap_loop *l)
{
	uint64_t start = now_ns(), last = start, next_report = start + l->report_ns;
	uint64_t count = 0, gap_max = 0, gen = 0;
	size_t page = 0;

	printf("gap: start dirty_mib=%llu report_ms=%llu\n", (unsigned long long)l->dirty_mib,
	       (unsigned long long)(l->report_ns / 1000000u));
	fflush(stdout);
	for (;;) {
		uint64_t t = now_ns();

		count++;
		if (t - last > gap_max)
			gap_max = t - last;
		last = t;
		if (l->buf) {
			/* one store per page dirties it; the generation makes each store a change */
			((volatile uint64_t *)(l->buf + page * PAGE))[0] = gen;
			if (++page == l->pages) {
				page = 0;
				gen++;
			}
		}
		if (t >= next_report) {
			printf("gap: t_ms=%llu count=%llu gap_max_us=%llu dirty_mib=%llu\n",
			       (unsigned long long)((t - start) / 1000000u), (unsigned long long)count,
			       (unsigned long long)(gap_max / 1000u), (unsigned long long)l->dirty_mib);
			fflush(stdout);
			gap_max = 0;
			last = now_ns();        /* printing is not a gap */
			next_report = last + l->report_ns;
		}
	}
}

int main(void)
{
	struct gap_loop loop;

	setvbuf(stdout, NULL, _IOLBF, 0);
	loop_init(&loop);
	loop_run(&loop);
	return 0;
}
