/* What a dead VMM leaves, and xl removing it: its domain's xenstore nodes and its directory in the
 * run directory.  xenstored removes the nodes itself when it sees the VMM die (its lifeline); xl
 * does the same again, idempotently, for a xenstored that was not running or not watching then. */
#ifndef XENITH_XL_REAP_H
#define XENITH_XL_REAP_H

#include <stddef.h>
#include <sys/types.h>
#include "lib/rundir.h"

/* Call only once the VMM is known dead.  Removes domain domid's nodes (as the VMM's teardown
 * would: /vm/<uuid>, the home, /libxl/N, Dom0's backend/<type>/N and then-empty parents; releases
 * the domain in xenstored if still introduced), then domains/<domid>.  The nodes go first so that
 * the domid stays taken until they are gone.  0, or -errno with why when xenstored could not be
 * cleaned (the directory is removed anyway: xenstored's own lifeline will still clean up). */
int xl_reap_domain(const struct rundir *rd, unsigned int domid, char *why, size_t len);

/* Removes domains/.new-<pid>, the half-made directory of a VMM (pid) that died while starting. */
void xl_reap_staging(const struct rundir *rd, pid_t pid);

#endif
