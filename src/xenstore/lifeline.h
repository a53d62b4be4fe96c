/* A domain's lifeline: the process that introduced it (its VMM), watched through a pidfd so that
 * xenstored learns at once when that process is gone, however it went (lifeline.c explains). */
#ifndef XENITH_XENSTORE_LIFELINE_H
#define XENITH_XENSTORE_LIFELINE_H

#include <sys/types.h>

#include "xenstore/xenstored.h"

/* A pidfd of the process at the other end of `introducer` (the one that connected), and its
 * pid in *pid: >= 0; -ESRCH if that process is already gone (refuse the introduction: nobody
 * would keep the domain); another -errno if it cannot be had (no pidfds on this kernel, or not a
 * socket): the domain then goes only with RELEASE, which is logged. */
int lifeline_open(struct xs_conn *introducer, pid_t *pid);
/* Watches pidfd (taken) on the loop for domain d: when it reports the process's exit, the
 * domain is released and its nodes removed (orphans.h). */
void lifeline_attach(struct xenstored *xsd, struct xs_domain *d, int pidfd, pid_t pid);
/* Stops watching (RELEASE, a broken ring, shutdown).  Safe to call when not attached. */
void lifeline_cut(struct xenstored *xsd, struct xs_domain *d);
/* The loop saw d's pidfd readable. */
void lifeline_event(struct xenstored *xsd, struct xs_domain *d);

#endif
