#define _GNU_SOURCE
/* A domain's lifeline.  A domain lives exactly as long as its VMM process, and xenstored holds
 * that domain's guest-RAM memfd, its mapped ring and two eventfds; a VMM that dies without
 * sending RELEASE (SIGKILL, a crash) must not leave them, nor its nodes, behind.  So xenstored
 * watches the process itself.
 *
 * Why a pidfd of the introducer, and not a descriptor the VMM sends along (one end of a pipe or
 * socketpair it keeps open):
 *  - nothing new on the wire: INTRODUCE stays Xen's message with its three fds;
 *  - a pidfd names the process, not an open file: children the VMM forks (hotplug scripts,
 *    between fork and exec or if they never exec) cannot keep a dead VMM's domain alive, as an
 *    inherited pipe end would;
 *  - it survives exec (same process), so a VMM that re-executes itself keeps its domain; a
 *    restarted VMM is a new process that introduces the domain anew (the old introduction went
 *    when the old process died, so there is no EEXIST to clear);
 *  - only the introducer's death triggers it: no guest (it cannot introduce) and no other Dom0
 *    client (its own death or hang-up means nothing here) can release another's domain this way.
 * The cost: the introduction must come from the process that keeps the domain, on a connection
 * it opened itself (SO_PEERCRED names whoever called connect()).  The VMM does exactly that.
 *
 * Which pidfd: SO_PEERPIDFD (Linux 6.5+) gives the kernel's own reference to the peer, free of
 * races.  Older kernels (Debian 12's 6.1) get SO_PEERCRED's pid and pidfd_open(); a pid can be
 * reused once its process is gone, so afterwards the peer must still hold its end of the socket
 * (a dead process's end is closed, so a hang-up there means the pid may name another process).
 *
 * When the pidfd becomes readable the process has exited (a zombie counts): the domain is
 * released as by RELEASE (ring unmapped, memfd and eventfds closed, its watches and transactions
 * dropped, @releaseDomain fired), then its nodes are removed as its toolstack would have
 * (orphans.c).  A clean VMM sends RELEASE itself first, which cuts the lifeline. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/lifeline.h"
#include "xenstore/loop.h"
#include "xenstore/orphans.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77          /* asm-generic/socket.h, Linux 6.5 */
#endif

int lifeline_open(struct xs_conn *introducer, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int pidfd;

	*pid = 0;
	if (introducer->fd < 0 || !introducer->ops->peer_socket)
		return -ENOTSOCK;
	if (getsockopt(introducer->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (cred.pid <= 0)
		return -ESRCH;   /* a peer in a pid namespace we cannot see */
	*pid = cred.pid;
	len = sizeof(pidfd);
	if (getsockopt(introducer->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0) {
		if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) {
			int e = errno;
			close(pidfd);
			return -e;
		}
		return pidfd;
	}
	if (errno != ENOPROTOOPT)
		return -ESRCH;   /* the kernel knows of no such process any more */
	pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);   /* always close-on-exec */
	if (pidfd < 0)
		return -errno;
	struct pollfd p = { .fd = introducer->fd, .events = POLLRDHUP };
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
		close(pidfd);
		return -ESRCH;
	}
	return pidfd;
}

void lifeline_attach(struct xenstored *xsd, struct xs_domain *d, int pidfd, pid_t pid)
{
	lifeline_cut(xsd, d);
	d->lifeline = (struct xs_poll){ .kind = XS_POLL_LIFELINE, .owner = d };
	d->pidfd = pidfd;
	d->introducer = pid;
	int r = loop_watch_fd(xsd, pidfd, EPOLLIN, &d->lifeline);
	if (r) {
		LOG("domain %u: watching its VMM (pid %d): %s; it goes only with RELEASE", d->domid,
		    (int)pid, strerror(-r));
		lifeline_cut(xsd, d);
	}
}

void lifeline_cut(struct xenstored *xsd, struct xs_domain *d)
{
	if (d->pidfd < 0)
		return;
	loop_forget(xsd, d->pidfd);
	close(d->pidfd);
	d->pidfd = -1;
	d->introducer = 0;
}

void lifeline_event(struct xenstored *xsd, struct xs_domain *d)
{
	struct pollfd p = { .fd = d->pidfd, .events = POLLIN };

	/* Events of one epoll batch may be stale by the time they are handled: only a pidfd that
	 * says so now means the process is gone. */
	if (d->pidfd < 0 || poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
		return;
	unsigned int domid = d->domid;
	LOG("domain %u: its VMM (pid %d) is gone without RELEASE: releasing it and removing its nodes",
	    domid, (int)d->introducer);
	domain_release(xsd, domid);      /* cuts the lifeline */
	orphans_remove(xsd, domid);
}
