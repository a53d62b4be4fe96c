#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "backends/console.h"
#include "lib/error.h"
#include "lib/hvlog.h"

/* The hypervisor log lives in the folder of the console logs (the run directory's log/). */
static int open_hvlog(struct console *con, const char *log_path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(log_path, '/');
	size_t len = slash ? (size_t)(slash - log_path) : 1;

	if (len >= sizeof(dir)) {
		ERR_SET(err, errlen, "console log path too long: %s", log_path);
		return -1;
	}
	memcpy(dir, slash ? log_path : ".", len);
	dir[len] = '\0';
	if (slash == log_path)
		strcpy(dir, "/");
	con->hvlog = malloc(sizeof(*con->hvlog));
	if (!con->hvlog) {
		ERR_SET(err, errlen, "out of memory for the hypervisor log");
		return -1;
	}
	if (hvlog_open(con->hvlog, dir, 0, err, errlen)) {
		free(con->hvlog);
		con->hvlog = NULL;
		return -1;
	}
	return 0;
}

int console_open(struct console *con, const char *log_path, char *err, size_t errlen)
{
	struct termios tio;

	*con = (struct console){ .log_fd = -1, .pty_master = -1, .pty_slave = -1 };
	pthread_mutex_init(&con->lock, NULL);
	con->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (con->log_fd < 0) {
		ERR_SET(err, errlen, "opening console log %s: %s", log_path, strerror(errno));
		goto fail;
	}
	if (open_hvlog(con, log_path, err, errlen))
		goto fail;
	con->pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (con->pty_master < 0 || grantpt(con->pty_master) || unlockpt(con->pty_master) ||
	    ptsname_r(con->pty_master, con->tty_path, sizeof(con->tty_path))) {
		ERR_SET(err, errlen, "making the console pty: %s", strerror(errno));
		goto fail;
	}
	con->pty_slave = open(con->tty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (con->pty_slave < 0) {
		ERR_SET(err, errlen, "opening %s: %s", con->tty_path, strerror(errno));
		goto fail;
	}
	/* Raw: the guest's bytes reach the client as they are (it sends its own \r\n). */
	if (tcgetattr(con->pty_slave, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(con->pty_slave, TCSANOW, &tio);
	}
	return 0;
fail:
	console_close(con, false);
	return -1;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;      /* log full or pty backed up: losing console bytes beats stalling a vCPU */
		p += n;
		len -= (size_t)n;
	}
}

void console_write(struct console *con, const void *buf, size_t len)
{
	pthread_mutex_lock(&con->lock);
	if (con->log_fd >= 0)
		write_all(con->log_fd, buf, len);
	if (con->pty_master >= 0)
		write_all(con->pty_master, buf, len);
	pthread_mutex_unlock(&con->lock);
}

void console_hypervisor_write(struct console *con, int domid, const void *buf, size_t len)
{
	if (con && con->hvlog)
		hvlog_guest_write(con->hvlog, domid, buf, len);
}

void console_drain_input(struct console *con)
{
	char buf[256];

	while (read(con->pty_master, buf, sizeof(buf)) > 0)
		;
}

/* Long enough for a client that is reading to catch up, short enough not to hold up a shutdown. */
#define CONSOLE_FLUSH_WAIT_MS 300

static void wait_for_reader(struct console *con)
{
	for (int waited = 0; waited < CONSOLE_FLUSH_WAIT_MS; waited += 10) {
		int queued = 0;
		if (ioctl(con->pty_slave, FIONREAD, &queued) < 0 || queued == 0)
			return;
		usleep(10000);
	}
}

void console_close(struct console *con, bool flush)
{
	if (flush && con->pty_slave >= 0)
		wait_for_reader(con);
	if (con->pty_slave >= 0)
		close(con->pty_slave);
	if (con->pty_master >= 0)
		close(con->pty_master);
	if (con->log_fd >= 0)
		close(con->log_fd);
	if (con->hvlog) {
		hvlog_close(con->hvlog);       /* a guest's unfinished line is written out */
		free(con->hvlog);
		con->hvlog = NULL;
	}
	con->pty_slave = con->pty_master = con->log_fd = -1;
	pthread_mutex_destroy(&con->lock);
}
