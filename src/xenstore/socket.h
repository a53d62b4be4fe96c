/* The Unix-socket transport.  <rundir>/xenstored/socket is Dom0's: its connections are
 * privileged, as Xen's.  Xenith adds unprivileged sockets, <rundir>/xenstored/socket.d/<domid>
 * (made on request with CONTROL "unpriv-socket <domid>"), whose connections act as that domain:
 * permissions and quotas apply, so tools and tests can see what a guest would. */
#ifndef XENITH_XENSTORE_SOCKET_H
#define XENITH_XENSTORE_SOCKET_H

#include "xenstore/xenstored.h"

/* Binds and listens on path (mode 0600), replacing a stale socket file.  0 or -errno. */
int socket_listen(struct xenstored *xsd, const char *path, unsigned int domid, bool privileged,
		  char *err, size_t errlen);
/* The unprivileged socket for domid (created once; later calls return the same path). */
int socket_listen_unpriv(struct xenstored *xsd, unsigned int domid, char *path, size_t pathlen,
			 char *err, size_t errlen);
void socket_accept(struct xenstored *xsd, struct xs_listener *l);
/* Closes every listener and removes its socket file. */
void socket_close_listeners(struct xenstored *xsd);

#endif
