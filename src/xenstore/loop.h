/* The epoll loop: one thread, every fd registered with a struct xs_poll saying who owns it. */
#ifndef XENITH_XENSTORE_LOOP_H
#define XENITH_XENSTORE_LOOP_H

#include <stdint.h>

#include "xenstore/xenstored.h"

/* Creates the epoll set and a signalfd for SIGTERM/SIGINT (blocked from now on).  0 or -errno. */
int loop_init(struct xenstored *xsd, char *err, size_t errlen);
/* Registers fd with `events`; 0 or -errno.  A no-op (0) when xsd is not serving (epfd < 0). */
int loop_watch_fd(struct xenstored *xsd, int fd, uint32_t events, struct xs_poll *poll);
/* Removes fd from the set, if it is in it; before closing an fd another process shares. */
void loop_forget(struct xenstored *xsd, int fd);
/* Registers the listeners made before loop_init (the daemon listens before it forks, and makes
 * its epoll set and signalfd after, as a signalfd polled across fork() misses the child's
 * signals).  0 or -errno. */
int loop_watch_listeners(struct xenstored *xsd);
/* The end of a round: writes the snapshot if it changed (persist.c), then sends what the round
 * queued on every connection and signals the rings.  Unit tests call it after feeding input. */
void loop_commit(struct xenstored *xsd);
/* Runs until SIGTERM/SIGINT or xsd->stop. */
void loop_run(struct xenstored *xsd);

#endif
