/* The domain's console: a log file and a pty (console.h).
 *
 * The log is guest-controlled bytes in /run, which is RAM, so it is bounded three ways, by the log
 * folder's rules (lib/logfile.h: one implementation for the console logs and the daemons' logs):
 * - size: once the file holds policy.cap bytes it is renamed to .log.old (replacing the one there)
 *   and a new file starts.  A line that is running when the cap is reached may finish first, up to
 *   CONSOLE_LOG_LINE_SLACK bytes more, so a grep of the current file does not find half a line
 *   (the guest writes a byte stream, so the line slack is the console's own);
 * - mode: 0640 (never wider; the umask may narrow it): guests' text is for the host's admins;
 * - number: logs of ended domains are kept to be read (the system tests and benches read a guest's
 *   log after it powered off, as one reads xenconsoled's), but only the newest policy.kept of them.
 *
 * Which logs belong to ended domains?  A live console holds a shared flock on its open log, so a
 * log nobody holds belongs to a domain that has ended (or whose VMM was killed: the kernel drops
 * its locks).  Every change of names in the folder (opening a log, which moves an earlier one to
 * .old; rotating; pruning) holds an exclusive flock on CONSOLE_LOG_LOCK there, so a pruner never
 * sees a live console between renaming its log and locking the new one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "backends/console.h"
#include "lib/error.h"
#include "lib/hvlog.h"

/* ---- policy ---- */

const struct logfile_family console_log_family = { .prefix = "guest-", .lock = CONSOLE_LOG_LOCK };

int console_log_policy_parse(struct logfile_policy *policy, const char *kept_env,
			     char *err, size_t errlen)
{
	return logfile_policy_parse(policy, CONSOLE_LOGS_KEPT_ENV, kept_env, err, errlen);
}

/* ---- this console's log ---- */

/* Under the folder lock: moves an ended domain's log of this name to .old, opens ours. */
static int start_log(struct console *con, char *err, size_t errlen)
{
	struct stat st;

	if (logfile_set_aside_locked(con->log_path) == -EBUSY) {
		ERR_SET(err, errlen, "console log %s is held by a running domain of that name",
			con->log_path);
		return -1;
	}
	con->log_fd = logfile_open_held(con->log_path, 0);
	if (con->log_fd < 0) {
		ERR_SET(err, errlen, "opening console log %s: %s", con->log_path, strerror(errno));
		return -1;
	}
	con->log_size = fstat(con->log_fd, &st) == 0 ? (size_t)st.st_size : 0;
	con->log_mid_line = false;
	return 0;
}

/* Under con->lock: the current file becomes .old, a new one starts.  Rare (once per cap), so taking
 * the folder lock here costs little; a pruner holds it only for a scan of the folder. */
static void rotate_log(struct console *con)
{
	char dir[PATH_MAX];
	int lock;

	logfile_folder_of(con->log_path, dir);
	lock = logfile_lock(dir, &console_log_family);
	if (lock < 0 || logfile_rotate_locked(con->log_path, con->log_fd)) {
		close(con->log_fd);
		con->log_fd = -1;        /* the pty still gets the output; the bound holds */
	}
	logfile_unlock(lock);
	con->log_size = 0;
	con->log_mid_line = false;
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

/* How much of p[0..len) goes into the current file before it must rotate (0: rotate now). */
static size_t log_room(const struct console *con, const char *p, size_t len)
{
	size_t cap = con->policy.cap;

	if (!cap || !con->log_path[0])
		return len;
	if (con->log_size < cap)
		return len < cap - con->log_size ? len : cap - con->log_size;
	if (!con->log_mid_line || con->log_size >= cap + CONSOLE_LOG_LINE_SLACK)
		return 0;
	size_t slack = cap + CONSOLE_LOG_LINE_SLACK - con->log_size;
	size_t look = len < slack ? len : slack;
	const char *nl = memchr(p, '\n', look);
	return nl ? (size_t)(nl - p) + 1 : look;
}

static void log_append(struct console *con, const char *p, size_t len)
{
	while (len && con->log_fd >= 0) {
		size_t n = log_room(con, p, len);
		if (!n) {
			rotate_log(con);
			continue;
		}
		write_all(con->log_fd, p, n);
		con->log_size += n;
		con->log_mid_line = p[n - 1] != '\n';
		p += n;
		len -= n;
	}
}

/* ---- the console ---- */

/* The hypervisor log lives in the folder of the console logs (the run directory's log/). */
static int open_hvlog(struct console *con, const char *dir, char *err, size_t errlen)
{
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

static int open_pty(struct console *con, char *err, size_t errlen)
{
	struct termios tio;

	con->pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (con->pty_master < 0 || grantpt(con->pty_master) || unlockpt(con->pty_master) ||
	    ptsname_r(con->pty_master, con->tty_path, sizeof(con->tty_path))) {
		ERR_SET(err, errlen, "making the console pty: %s", strerror(errno));
		return -1;
	}
	con->pty_slave = open(con->tty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (con->pty_slave < 0) {
		ERR_SET(err, errlen, "opening %s: %s", con->tty_path, strerror(errno));
		return -1;
	}
	/* Raw: the guest's bytes reach the client as they are (it sends its own \r\n). */
	if (tcgetattr(con->pty_slave, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(con->pty_slave, TCSANOW, &tio);
	}
	return 0;
}

int console_open_with(struct console *con, const char *log_path,
		      const struct logfile_policy *policy, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int lock, r;

	*con = (struct console){ .log_fd = -1, .pty_master = -1, .pty_slave = -1, .policy = *policy };
	pthread_mutex_init(&con->lock, NULL);
	if (strlen(log_path) + strlen(LOGFILE_OLD_SUFFIX) >= sizeof(con->log_path)) {
		ERR_SET(err, errlen, "console log path too long: %s", log_path);
		goto fail;
	}
	strcpy(con->log_path, log_path);
	logfile_folder_of(log_path, dir);
	lock = logfile_lock(dir, &console_log_family);
	if (lock < 0) {
		ERR_SET(err, errlen, "locking %s/%s: %s", dir, CONSOLE_LOG_LOCK, strerror(errno));
		con->log_path[0] = '\0';
		goto fail;
	}
	r = start_log(con, err, errlen);
	if (r == 0)
		logfile_prune_locked(dir, &console_log_family, con->policy.kept);
	logfile_unlock(lock);
	if (r) {
		con->log_path[0] = '\0';         /* not ours: close must not prune on its behalf */
		goto fail;
	}
	if (open_hvlog(con, dir, err, errlen) || open_pty(con, err, errlen))
		goto fail;
	return 0;
fail:
	console_close(con, false);
	return -1;
}

int console_open(struct console *con, const char *log_path, char *err, size_t errlen)
{
	struct logfile_policy policy;

	if (console_log_policy_parse(&policy, getenv(CONSOLE_LOGS_KEPT_ENV), err, errlen)) {
		*con = (struct console){ .log_fd = -1, .pty_master = -1, .pty_slave = -1 };
		pthread_mutex_init(&con->lock, NULL);
		console_close(con, false);
		return -1;
	}
	return console_open_with(con, log_path, &policy, err, errlen);
}

void console_write(struct console *con, const void *buf, size_t len)
{
	pthread_mutex_lock(&con->lock);
	log_append(con, buf, len);
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
		close(con->log_fd);      /* from here on this log counts as an ended domain's */
	if (con->hvlog) {
		hvlog_close(con->hvlog);       /* a guest's unfinished line is written out */
		free(con->hvlog);
		con->hvlog = NULL;
	}
	if (con->log_path[0]) {
		char dir[PATH_MAX];
		logfile_folder_of(con->log_path, dir);
		logfile_prune(dir, &console_log_family, con->policy.kept);
		con->log_path[0] = '\0';
	}
	con->pty_slave = con->pty_master = con->log_fd = -1;
	pthread_mutex_destroy(&con->lock);
}
