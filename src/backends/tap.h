/* TAP devices (/dev/net/tun): Dom0's end of a vif. */
#ifndef XENITH_TAP_H
#define XENITH_TAP_H

#include <stdbool.h>
#include <stddef.h>

#define TAP_MAX_QUEUES 8                 /* one per netback queue (multi-queue-max-queues) */

struct tap_options {
	unsigned int queues;             /* 1..TAP_MAX_QUEUES: more than 1 makes an IFF_MULTI_QUEUE TAP */
	/* Every read and write starts with a struct virtio_net_hdr (IFF_VNET_HDR, 10 bytes), and the
	 * kernel may hand us and take from us frames with GSO and partial checksums as `offloads`
	 * allows (TUNSETOFFLOAD's TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6; 0 with vnet_hdr: plain frames
	 * behind a zeroed header). */
	bool vnet_hdr;
	unsigned int offloads;
};

/* Creates TAP `name` with opt->queues descriptors (fds[0..queues-1]), non-blocking, with Xen's
 * Dom0-side MAC fe:ff:ff:ff:ff:ff so a bridge never takes a guest's address.  The device lives
 * while a descriptor is open.  0, or -1 with err (nothing left open). */
int tap_open_queues(const char *name, const struct tap_options *opt, int *fds, char *err, size_t errlen);

/* A queue of an IFF_MULTI_QUEUE TAP in or out of the kernel's steering (TUNSETQUEUE with
 * IFF_ATTACH_QUEUE / IFF_DETACH_QUEUE): a detached queue keeps its fd but gets no frames, so a
 * queue the frontend did not ask for holds none back.  The kernel refuses to attach an attached
 * queue or detach a detached one: the caller keeps the state.  0, or -1 with err. */
int tap_queue_set_attached(int fd, const char *name, bool attached, char *err, size_t errlen);

/* One queue, plain frames (no vnet header): the fd, or -1 with err. */
int tap_open(const char *name, char *err, size_t errlen);

#endif
