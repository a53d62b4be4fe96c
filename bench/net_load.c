/*
 * bench/net_load.c: the host side of bench/net.sh (built by it into its temp dir).  UDP over IPv4,
 * one socket, datagrams numbered by a big-endian 32-bit sequence number in their first 4 bytes (as
 * the guest's net-stream numbers its own).
 *
 *   net_load echo DST PORT SIZE COUNT WINDOW
 *       COUNT requests of SIZE bytes to DST:PORT (the guest's net-echo), never more than WINDOW
 *       unanswered; a request unanswered 200 ms after the last reply is counted lost and its window
 *       slot reused.  Prints `echo sent=N received=R lost=L seconds=S req_s=X mean_us=M p99_us=P`
 *       (round trip per answered request, CLOCK_MONOTONIC; p99: the sorted sample at R·0.99; S and
 *       X up to the last reply).
 *   net_load send DST PORT SIZE COUNT [RATE]
 *       COUNT datagrams of SIZE bytes to DST:PORT as fast as sendto takes them (one way: the
 *       guest's net-echo sink), or paced at RATE datagrams/s (0: unpaced): datagram i leaves no
 *       earlier than i/RATE s after the first; the sender sleeps only when 100 µs ahead, so it sends
 *       in small bursts rather than spinning.  Prints `send sent=N seconds=S cpu_us=C`.
 *   net_load recv BIND_IP PORT COUNT IDLE_MS WAIT_MS
 *       receives datagrams numbered 0..COUNT-1 (net-stream's); ends IDLE_MS after the last one, once
 *       all COUNT came, or WAIT_MS after starting if none came.  Prints `recv received=R unique=U
 *       bytes=B span_us=T cpu_us=C` (T: first to last arrival).  Writes `ready` to stderr once bound.
 *
 * cpu_us is this process's own CPU time, user + system (getrusage), for the host-ceiling rows' CPU
 * per packet; the kernel's softirq work runs partly in these processes and partly in ksoftirqd.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cpu_time.h"

#define LOST_AFTER_NS 200000000ull
#define PACE_SLACK_NS 100000ull         /* a paced sender sleeps only when this far ahead */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "net_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned long arg_ul(const char *s, unsigned long lo, unsigned long hi, const char *name)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v < lo || v > hi) {
		fprintf(stderr, "net_load: %s=%s: expected %lu to %lu\n", name, s, lo, hi);
		exit(2);
	}
	return v;
}

static struct sockaddr_in addr_of(const char *ip, unsigned long port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "net_load: bad IPv4 address '%s'\n", ip);
		exit(2);
	}
	return a;
}

static int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 8 << 20;
	if (fd < 0)
		die("socket");
	/* Root may exceed rmem_max/wmem_max; harmless if refused. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return fd;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int do_echo(char **av)
{
	struct sockaddr_in dst = addr_of(av[0], arg_ul(av[1], 1, 65535, "PORT"));
	size_t size = arg_ul(av[2], 4, 1472, "SIZE");
	unsigned long count = arg_ul(av[3], 1, 10000000, "COUNT"), window = arg_ul(av[4], 1, 4096, "WINDOW");
	uint64_t *sent_at = calloc(count, sizeof(*sent_at)), *rtt = malloc(count * sizeof(*rtt));
	uint8_t *done = calloc(count, 1), buf[2048] = { 0 };
	int fd = udp_socket();

	if (!sent_at || !rtt || !done)
		die("malloc");
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		die("connect");
	for (size_t k = 4; k < size; k++)
		buf[k] = (uint8_t)k;
	unsigned long next = 0, received = 0, lost = 0, inflight = 0;
	uint64_t t0 = now_ns(), last_progress = t0, last_reply = t0;
	while (received + lost < count) {
		while (next < count && inflight < window) {
			put32(buf, (uint32_t)next);
			sent_at[next] = now_ns();
			if (send(fd, buf, size, 0) != (ssize_t)size) {
				if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED)
					break;      /* the next round tries again */
				die("send");
			}
			next++, inflight++;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 50);
		if (r < 0 && errno != EINTR)
			die("poll");
		uint64_t now = now_ns();
		while (r > 0) {
			ssize_t n = recv(fd, buf + 2048 / 2, 2048 / 2, MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EAGAIN || errno == ECONNREFUSED)
					break;
				die("recv");
			}
			now = now_ns();
			if (n < 4)
				continue;
			uint32_t seq = get32(buf + 2048 / 2);
			if (seq >= next || done[seq])
				continue;
			done[seq] = 1;
			rtt[received++] = now - sent_at[seq];
			inflight--;
			last_progress = last_reply = now;
		}
		if (inflight && now - last_progress > LOST_AFTER_NS) {
			/* Whatever is still unanswered is lost; free the window. */
			for (unsigned long s = 0; s < next; s++)
				if (!done[s]) {
					done[s] = 2;
					lost++;
				}
			inflight = 0;
			last_progress = now;
		}
	}
	/* Up to the last reply: a lost tail's 200 ms wait is not traffic. */
	double secs = (double)((received ? last_reply : now_ns()) - t0) / 1e9, sum = 0;
	qsort(rtt, received, sizeof(*rtt), cmp_u64);
	for (unsigned long i = 0; i < received; i++)
		sum += (double)rtt[i];
	printf("echo sent=%lu received=%lu lost=%lu seconds=%.3f req_s=%.0f mean_us=%.1f p99_us=%.1f\n", next, received,
	       lost, secs, received / secs, received ? sum / received / 1e3 : 0.0,
	       received ? (double)rtt[(size_t)(received * 0.99) < received ? (size_t)(received * 0.99) : received - 1] / 1e3
			: 0.0);
	free(sent_at), free(rtt), free(done);
	close(fd);
	return 0;
}

static int do_send(char **av)
{
	struct sockaddr_in dst = addr_of(av[0], arg_ul(av[1], 1, 65535, "PORT"));
	size_t size = arg_ul(av[2], 4, 1472, "SIZE");
	unsigned long count = arg_ul(av[3], 1, 100000000, "COUNT"), sent = 0;
	unsigned long rate = av[4] ? arg_ul(av[4], 0, 100000000, "RATE") : 0;
	uint8_t buf[2048] = { 0 };
	int fd = udp_socket();

	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		die("connect");
	for (size_t k = 4; k < size; k++)
		buf[k] = (uint8_t)k;
	uint64_t t0 = now_ns();
	while (sent < count) {
		if (rate) {
			uint64_t due = t0 + (uint64_t)((double)sent * 1e9 / (double)rate), now = now_ns();
			if (due > now + PACE_SLACK_NS) {
				struct timespec ts = { .tv_sec = (time_t)((due - now) / 1000000000ull),
						       .tv_nsec = (long)((due - now) % 1000000000ull) };
				nanosleep(&ts, NULL);
			}
		}
		put32(buf, (uint32_t)sent);
		if (send(fd, buf, size, 0) != (ssize_t)size) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) {
				usleep(50);
				continue;
			}
			die("send");
		}
		sent++;
	}
	printf("send sent=%lu seconds=%.3f cpu_us=%llu\n", sent, (double)(now_ns() - t0) / 1e9, cpu_time_us());
	close(fd);
	return 0;
}

static int do_recv(char **av)
{
	struct sockaddr_in me = addr_of(av[0], arg_ul(av[1], 1, 65535, "PORT"));
	unsigned long count = arg_ul(av[2], 1, 100000000, "COUNT");
	uint64_t idle_ns = arg_ul(av[3], 1, 600000, "IDLE_MS") * 1000000ull;
	uint64_t wait_ns = arg_ul(av[4], 1, 600000, "WAIT_MS") * 1000000ull;
	uint8_t *seen = calloc(count, 1), buf[2048];
	unsigned long received = 0, unique = 0;
	unsigned long long bytes = 0;
	int fd = udp_socket();

	if (!seen)
		die("malloc");
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0)
		die("bind");
	fprintf(stderr, "ready\n");
	uint64_t t0 = now_ns(), first = 0, last = 0;
	for (;;) {
		uint64_t now = now_ns();
		if (received ? (unique == count || now - last > idle_ns) : now - t0 > wait_ns)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10) < 0 && errno != EINTR)
			die("poll");
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EAGAIN)
					break;
				die("recv");
			}
			last = now_ns();
			if (!received)
				first = last;
			received++;
			bytes += (unsigned long long)n;
			if (n >= 4) {
				uint32_t seq = get32(buf);
				if (seq < count && !seen[seq]) {
					seen[seq] = 1;
					unique++;
				}
			}
		}
	}
	printf("recv received=%lu unique=%lu bytes=%llu span_us=%.0f cpu_us=%llu\n", received, unique, bytes,
	       (double)(last - first) / 1e3, cpu_time_us());
	free(seen);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 7 && !strcmp(argv[1], "echo"))
		return do_echo(argv + 2);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "send"))
		return do_send(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "recv"))
		return do_recv(argv + 2);
	fprintf(stderr, "usage: net_load echo DST PORT SIZE COUNT WINDOW\n"
			"       net_load send DST PORT SIZE COUNT [RATE]\n"
			"       net_load recv BIND_IP PORT COUNT IDLE_MS WAIT_MS\n");
	return 2;
}
