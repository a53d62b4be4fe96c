/* The domain's console: everything the guest prints goes to its log file and to a pty that
 * `xl console` opens.  It lives as long as the VMM process, across restarts.  Beside it, the host's
 * hypervisor log (lib/hvlog.h), where Xen puts a DomU's console_io lines: not this console.
 *
 * The log (<rundir>/log/guest-<name>.log) is bounded: past its cap it moves to .log.old and a new
 * one starts; it is mode 0640; a log whose domain has ended is kept for reading, but only the
 * newest `kept` of them stay in the folder (docs/vmm-control.md, "Console logs"). */
#ifndef XENITH_CONSOLE_H
#define XENITH_CONSOLE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include "lib/logfile.h"

struct hvlog;

#define CONSOLE_LOG_CAP LOGFILE_CAP           /* bytes in guest-<name>.log before it rotates */
#define CONSOLE_LOG_LINE_SLACK 1024u          /* past the cap, how far a line may run to its end */
#define CONSOLE_LOG_MODE LOGFILE_MODE
#define CONSOLE_LOGS_KEPT LOGFILE_KEPT        /* ended domains' logs kept per log folder */
#define CONSOLE_LOGS_KEPT_MAX LOGFILE_KEPT_MAX
#define CONSOLE_LOGS_KEPT_ENV LOGFILE_KEPT_ENV
#define CONSOLE_LOG_LOCK "console.lock"       /* in the log folder: orders opening and pruning */

/* The console logs' family in the log folder: guest-<name>.log. */
extern const struct logfile_family console_log_family;

struct console {
	pthread_mutex_t lock;
	int log_fd;              /* shared flock held: "my domain is alive" to pruners */
	int pty_master;
	int pty_slave;           /* held open so the master never sees a hang-up between clients */
	char tty_path[64];
	struct hvlog *hvlog;     /* the hypervisor log, or NULL: console_io text is then dropped */
	char log_path[PATH_MAX]; /* empty: nothing to rotate or prune (a bare log_fd, as fuzzers use) */
	size_t log_size;         /* bytes in the current file, as written by us */
	bool log_mid_line;       /* the last byte written was not a newline */
	struct logfile_policy policy;
};

/* The default policy, with `kept` from the value of $XENITH_CONSOLE_LOGS_KEPT when that is not
 * NULL (0 to CONSOLE_LOGS_KEPT_MAX).  0, or -1 with err naming the variable and its value. */
int console_log_policy_parse(struct logfile_policy *policy, const char *kept_env,
			     char *err, size_t errlen);

/* Opens log_path (moving an earlier log of that name to .old), a fresh pty, and the hypervisor
 * log in log_path's folder (the run directory's log/), under the policy from the environment.
 * Refuses a log_path that a live domain's console still holds.  0, or -1 with err. */
int console_open(struct console *con, const char *log_path, char *err, size_t errlen);
/* The same with an explicit policy. */
int console_open_with(struct console *con, const char *log_path,
		      const struct logfile_policy *policy, char *err, size_t errlen);
/* Thread-safe; never blocks on a slow reader: a full pty drops output, the log keeps it. */
void console_write(struct console *con, const void *buf, size_t len);
/* A DomU's console_io text, for the hypervisor log (`xl dmesg`) as "(d<domid>) " lines. */
void console_hypervisor_write(struct console *con, int domid, const void *buf, size_t len);
/* Reads and discards what a client typed (guest input comes with the PV console). */
void console_drain_input(struct console *con);
/* With `flush`, first gives an attached client a moment to read what is still queued.  The log is
 * closed, so it counts as an ended domain's, and the folder is pruned to the policy's `kept`. */
void console_close(struct console *con, bool flush);

#endif
