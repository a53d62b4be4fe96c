/* The domain's console: everything the guest prints goes to its log file and to a pty that
 * `xl console` opens.  It lives as long as the VMM process, across restarts.  Beside it, the host's
 * hypervisor log (lib/hvlog.h), where Xen puts a DomU's console_io lines: not this console. */
#ifndef XENITH_CONSOLE_H
#define XENITH_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct hvlog;

struct console {
	pthread_mutex_t lock;
	int log_fd;
	int pty_master;
	int pty_slave;           /* held open so the master never sees a hang-up between clients */
	char tty_path[64];
	struct hvlog *hvlog;     /* the hypervisor log, or NULL: console_io text is then dropped */
};

/* Opens (appending) log_path, a fresh pty, and the hypervisor log in log_path's folder (the run
 * directory's log/).  0, or -1 with err. */
int console_open(struct console *con, const char *log_path, char *err, size_t errlen);
/* Thread-safe; never blocks on a slow reader: a full pty drops output, the log keeps it. */
void console_write(struct console *con, const void *buf, size_t len);
/* A DomU's console_io text, for the hypervisor log (`xl dmesg`) as "(d<domid>) " lines. */
void console_hypervisor_write(struct console *con, int domid, const void *buf, size_t len);
/* Reads and discards what a client typed (guest input comes with the PV console). */
void console_drain_input(struct console *con);
/* With `flush`, first gives an attached client a moment to read what is still queued. */
void console_close(struct console *con, bool flush);

#endif
