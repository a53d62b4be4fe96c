/*
 * bench/tap_fwd.c: the "over a TAP" host ceiling of bench/net.sh (built by it into its temp dir).
 *
 *   tap_fwd NETNS_A IFNAME_A NETNS_B IFNAME_B
 *
 * Makes a TAP device IFNAME_A in network namespace NETNS_A and IFNAME_B in NETNS_B (a name under
 * /run/netns, as `ip netns add` makes them, or a path) and copies every frame read from one TAP's fd
 * into the other's, one user-space hop each way: what a VMM's netback does between its TAP and the
 * guest's ring, with a guest that costs nothing.  The TAPs are not persistent: they go when this
 * process does.  The script gives them addresses once `ready` is on stdout.
 *
 * SIGUSR1 prints `stats a_to_b=N b_to_a=M dropped=D cpu_us=C` (frames copied each way, frames the
 * other TAP refused, this process's user + system CPU in µs); SIGTERM / SIGINT print it and end.
 * Signals arrive through a signalfd in the poll set, so no state lives outside main's frame.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cpu_time.h"

#define BATCH 64                /* frames read from one TAP before looking at the other */
#define FRAME_MAX 65536         /* no vnet header, MTU 1500: a frame fits with room to spare */

struct fwd_counts {
	unsigned long long a_to_b, b_to_a, dropped;
};

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "tap_fwd: %s %s: %s\n", what, arg, strerror(errno));
	exit(1);
}

/* A TAP named IFNAME in namespace NETNS: enter the namespace, then open the clone device there. */
static int tap_in_netns(const char *netns, const char *ifname)
{
	char path[4096];
	if (strchr(netns, '/'))
		snprintf(path, sizeof(path), "%s", netns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		die("open namespace", path);
	if (setns(nsfd, CLONE_NEWNET) < 0)
		die("setns", path);
	close(nsfd);
	if (strlen(ifname) >= IFNAMSIZ) {
		fprintf(stderr, "tap_fwd: interface name '%s' longer than %d\n", ifname, IFNAMSIZ - 1);
		exit(2);
	}
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die("open", "/dev/net/tun");
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF", ifname);
	return fd;
}

/* Up to BATCH frames from one TAP into the other; a frame the other refuses is dropped, as a NIC would. */
static void copy_batch(int from, int to, unsigned long long *copied, unsigned long long *dropped, unsigned char *buf)
{
	for (int i = 0; i < BATCH; i++) {
		ssize_t n = read(from, buf, FRAME_MAX);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			die("read", "tap");
		}
		if (write(to, buf, (size_t)n) == n)
			(*copied)++;
		else
			(*dropped)++;
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: tap_fwd NETNS_A IFNAME_A NETNS_B IFNAME_B\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0)
		die("sigprocmask", "");
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die("signalfd", "");
	int a = tap_in_netns(argv[1], argv[2]), b = tap_in_netns(argv[3], argv[4]);
	unsigned char *buf = malloc(FRAME_MAX);
	if (!buf)
		die("malloc", "");
	struct fwd_counts c = { 0 };
	printf("ready\n");
	for (;;) {
		struct pollfd p[3] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll", "");
		}
		if (p[0].revents & POLLIN)
			copy_batch(a, b, &c.a_to_b, &c.dropped, buf);
		if (p[1].revents & POLLIN)
			copy_batch(b, a, &c.b_to_a, &c.dropped, buf);
		if ((p[0].revents | p[1].revents) & (POLLERR | POLLHUP | POLLNVAL)) {
			fprintf(stderr, "tap_fwd: a TAP went away\n");
			return 1;
		}
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			printf("stats a_to_b=%llu b_to_a=%llu dropped=%llu cpu_us=%llu\n", c.a_to_b, c.b_to_a, c.dropped,
			       cpu_time_us());
			if (si.ssi_signo != SIGUSR1) {
				free(buf);
				close(a), close(b), close(sfd);
				return 0;
			}
		}
	}
}
