/* The daemons' own logs in the run directory's log/ folder, bounded by the log folder's rules
 * (lib/logfile.h; docs/vmm-control.md, "Daemon logs"):
 * - log/vmm-<name>.log: a VMM's stderr, which xl opens (vmm_log_open) and hands over.  Capped as a
 *   console log is, and kept after its domain ends by the same knob (the newest LOGFILE_KEPT, or
 *   $XENITH_CONSOLE_LOGS_KEPT): a domain's console log and its VMM's log end together.
 * - log/xenstored.log: xenstored's stderr, which xenstored_ensure opens.  One file for the host's
 *   lifetime: capped, never pruned.
 * - log/libvirtd.log: xenith-libvirtd's stderr once it detaches; the same as xenstored.log. */
#ifndef XENITH_DAEMON_LOG_H
#define XENITH_DAEMON_LOG_H

#include "lib/logfile.h"

#define VMM_LOG_LOCK "vmm.lock"                 /* in the log folder: orders VMM logs' names */
#define XENSTORED_LOG_LOCK "xenstored.log.lock" /* orders xenstored.log's rotations */
#define LIBVIRTD_LOG_LOCK "libvirtd.log.lock"   /* orders libvirtd.log's rotations */

extern const struct logfile_family vmm_log_family;        /* vmm-<name>.log */
extern const struct logfile_family xenstored_log_family;  /* xenstored.log alone */
extern const struct logfile_family libvirtd_log_family;   /* libvirtd.log alone */

/* Opens (creating) a VMM's log at path for appending, mode 0640, held live before any pruner can
 * see it unheld.  The fd, or -1 with errno. */
int vmm_log_open(const char *path);

/* Called once by the VMM of domain `name` as it starts: when its stderr is <rundir>/log/vmm-<name>.log
 * it is bounded from here on (log_bound_stderr), ended VMM logs are pruned, and pruned again when the
 * process exits (atexit), its own then among the ended. */
void vmm_log_bound(const char *rundir, const char *name);
/* Called once by xenstored as it starts: bounds <rundir>/log/xenstored.log when that is its stderr. */
void xenstored_log_bound(const char *rundir);
/* Called by xenith-libvirtd once detached: bounds <rundir>/log/libvirtd.log when that is its stderr. */
void libvirtd_log_bound(const char *rundir);

#endif
