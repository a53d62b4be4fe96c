#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>          /* before <linux/if_tun.h>, which would bring linux/if.h */
#include <net/if_arp.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "backends/tap.h"
#include "lib/error.h"

static int open_queue(const char *name, const struct tap_options *opt, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd;

	if (opt->queues > 1)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (opt->vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ERR_SET(err, errlen, "opening /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ERR_SET(err, errlen, "creating TAP device %s: %s", name,
			errno == EBUSY ? "a device of that name is in use" : strerror(errno));
		close(fd);
		return -1;
	}
	if (opt->vnet_hdr) {
		int hdr_len = (int)sizeof(struct virtio_net_hdr);
		if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0 || ioctl(fd, TUNSETOFFLOAD, (unsigned long)opt->offloads) < 0) {
			ERR_SET(err, errlen, "TAP device %s: setting its vnet header and offloads 0x%x: %s", name,
				opt->offloads, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

int tap_open_queues(const char *name, const struct tap_options *opt, int *fds, char *err, size_t errlen)
{
	int sock;

	if (strlen(name) >= IFNAMSIZ) {
		ERR_SET(err, errlen, "device name '%s' is longer than %d characters", name, IFNAMSIZ - 1);
		return -1;
	}
	if (opt->queues < 1 || opt->queues > TAP_MAX_QUEUES) {
		ERR_SET(err, errlen, "TAP device %s: %u queues (1 to %d)", name, opt->queues, TAP_MAX_QUEUES);
		return -1;
	}
	for (unsigned int q = 0; q < opt->queues; q++) {
		fds[q] = open_queue(name, opt, err, errlen);
		if (fds[q] < 0) {
			while (q--)
				close(fds[q]);
			return -1;
		}
	}
	/* Best effort: the address only matters to bridges and ARP. */
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock >= 0) {
		struct ifreq hw = { 0 };
		snprintf(hw.ifr_name, IFNAMSIZ, "%s", name);
		hw.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memset(hw.ifr_hwaddr.sa_data, 0xff, 6);
		hw.ifr_hwaddr.sa_data[0] = (char)0xfe;
		if (ioctl(sock, SIOCSIFHWADDR, &hw) < 0)
			LOG("TAP %s: setting its MAC: %s", name, strerror(errno));
		close(sock);
	}
	return 0;
}

int tap_queue_set_attached(int fd, const char *name, bool attached, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = attached ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE };

	if (ioctl(fd, TUNSETQUEUE, &ifr) < 0) {
		ERR_SET(err, errlen, "TAP device %s: %s a queue: %s", name, attached ? "attaching" : "detaching",
			strerror(errno));
		return -1;
	}
	return 0;
}

int tap_open(const char *name, char *err, size_t errlen)
{
	struct tap_options opt = { .queues = 1 };
	int fd;

	return tap_open_queues(name, &opt, &fd, err, errlen) ? -1 : fd;
}
