/* The domain's console: everything the guest prints goes to its log file and to a pty that
 * `xl console` opens.  It lives as long as the VMM process, across restarts. */
#ifndef XENITH_CONSOLE_H
#define XENITH_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct console {
	pthread_mutex_t lock;
	int log_fd;
	int pty_master;
	int pty_slave;           /* held open so the master never sees a hang-up between clients */
	char tty_path[64];
};

/* Opens (appending) log_path and a fresh pty. 0, or -1 with err. */
int console_open(struct console *con, const char *log_path, char *err, size_t errlen);
/* Thread-safe; never blocks on a slow reader: a full pty drops output, the log keeps it. */
void console_write(struct console *con, const void *buf, size_t len);
/* Reads and discards what a client typed (guest input comes with the PV console). */
void console_drain_input(struct console *con);
/* With `flush`, first gives an attached client a moment to read what is still queued. */
void console_close(struct console *con, bool flush);

#endif
