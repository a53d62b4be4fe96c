/* The domain's console: a log file and a pty (console.h).
 *
 * The log is guest-controlled bytes in /run, which is RAM, so it is bounded three ways:
 * - size: once the file holds policy.cap bytes it is renamed to .log.old (replacing the one there)
 *   and a new file starts.  A line that is running when the cap is reached may finish first, up to
 *   CONSOLE_LOG_LINE_SLACK bytes more, so a grep of the current file does not find half a line;
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
#include <dirent.h>
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

#define LOG_PREFIX "guest-"
#define LOG_SUFFIX ".log"
#define OLD_SUFFIX ".old"

/* ---- policy ---- */

int console_log_policy_parse(struct console_log_policy *policy, const char *kept_env,
			     char *err, size_t errlen)
{
	*policy = (struct console_log_policy){ .cap = CONSOLE_LOG_CAP, .kept = CONSOLE_LOGS_KEPT };
	if (!kept_env)
		return 0;
	char *end;
	errno = 0;
	unsigned long kept = strtoul(kept_env, &end, 10);
	if (kept_env[0] < '0' || kept_env[0] > '9' || *end || errno || kept > CONSOLE_LOGS_KEPT_MAX) {
		ERR_SET(err, errlen, "%s='%s': expected how many ended domains' console logs to keep, "
			"0 to %u", CONSOLE_LOGS_KEPT_ENV, kept_env, CONSOLE_LOGS_KEPT_MAX);
		return -1;
	}
	policy->kept = (unsigned int)kept;
	return 0;
}

/* ---- the log folder: locking and pruning ---- */

static int lock_wait(int fd, int how)
{
	while (flock(fd, how) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* The folder of `path`, into dir (size PATH_MAX). */
static void folder_of(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
}

/* The folder's lock, held exclusively; -1 if it cannot be had (then nothing is pruned). */
static int folder_lock(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, CONSOLE_LOG_LOCK) >= sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && lock_wait(fd, LOCK_EX)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void folder_unlock(int fd)
{
	if (fd >= 0)
		close(fd);       /* closing drops the flock */
}

/* Under the folder lock: is guest-<name>.log held by a live console?  An error counts as live. */
static bool log_in_use(int dirfd, const char *base)
{
	int fd = openat(dirfd, base, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	bool live;

	if (fd < 0)
		return errno != ENOENT;          /* a .old alone: its domain has ended */
	live = flock(fd, LOCK_EX | LOCK_NB) < 0;
	close(fd);
	return live;
}

struct ended_log {
	char base[NAME_MAX + 1];         /* guest-<name>.log */
	struct timespec mtime;           /* the newer of the two files' */
};

static int newest_first(const void *a, const void *b)
{
	const struct ended_log *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return strcmp(x->base, y->base);
}

/* The guest-<name>.log a folder entry belongs to, or false.  A .log.old is counted only when its
 * .log is gone (otherwise the .log's entry stands for both). */
static bool entry_base(int dirfd, const char *entry, char *base)
{
	size_t len = strlen(entry), pre = strlen(LOG_PREFIX), suf = strlen(LOG_SUFFIX);
	struct stat st;

	if (len >= NAME_MAX + 1 || strncmp(entry, LOG_PREFIX, pre))
		return false;
	if (len > strlen(LOG_SUFFIX OLD_SUFFIX) + pre &&
	    !strcmp(entry + len - strlen(LOG_SUFFIX OLD_SUFFIX), LOG_SUFFIX OLD_SUFFIX)) {
		memcpy(base, entry, len - strlen(OLD_SUFFIX));
		base[len - strlen(OLD_SUFFIX)] = '\0';
		return fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	}
	if (len > suf + pre && !strcmp(entry + len - suf, LOG_SUFFIX)) {
		memcpy(base, entry, len + 1);
		return true;
	}
	return false;
}

/* The newer mtime of base and base.old (regular files only); false if neither is one. */
static bool log_mtime(int dirfd, const char *base, const char *old, struct timespec *mtime)
{
	struct stat st;
	bool any = false;

	*mtime = (struct timespec){ 0 };
	for (const char *const *f = (const char *const[]){ base, old, NULL }; *f; f++) {
		if (fstatat(dirfd, *f, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (!any || st.st_mtim.tv_sec > mtime->tv_sec ||
		    (st.st_mtim.tv_sec == mtime->tv_sec && st.st_mtim.tv_nsec > mtime->tv_nsec))
			*mtime = st.st_mtim;
		any = true;
	}
	return any;
}

/* Under the folder lock: removes all but the newest `kept` ended domains' logs. */
static void prune_locked(const char *dir, unsigned int kept)
{
	DIR *d = opendir(dir);
	struct ended_log *ended = NULL;
	size_t n = 0, room = 0;
	struct dirent *e;

	if (!d)
		return;
	int fd = dirfd(d);
	while ((e = readdir(d))) {
		struct ended_log one;
		char old[NAME_MAX + 1];

		if (!entry_base(fd, e->d_name, one.base) ||
		    (size_t)snprintf(old, sizeof(old), "%s" OLD_SUFFIX, one.base) >= sizeof(old) ||
		    !log_mtime(fd, one.base, old, &one.mtime) || log_in_use(fd, one.base))
			continue;
		if (n == room) {
			size_t grown = room ? 2 * room : 32;
			struct ended_log *more = realloc(ended, grown * sizeof(*ended));
			if (!more)
				break;                   /* prune what is known; the next pass gets the rest */
			ended = more;
			room = grown;
		}
		ended[n++] = one;
	}
	if (n > kept) {
		qsort(ended, n, sizeof(*ended), newest_first);
		for (size_t i = kept; i < n; i++) {
			char old[NAME_MAX + 1];
			unlinkat(fd, ended[i].base, 0);
			if ((size_t)snprintf(old, sizeof(old), "%s" OLD_SUFFIX, ended[i].base) < sizeof(old))
				unlinkat(fd, old, 0);
		}
	}
	free(ended);
	closedir(d);
}

/* ---- this console's log ---- */

/* Always fits: console_open_with checked that the path leaves room for the suffix. */
static const char *old_path_of(const struct console *con, char *old)
{
	return (size_t)snprintf(old, PATH_MAX, "%s" OLD_SUFFIX, con->log_path) < PATH_MAX ? old : "";
}

/* A log made before logs were 0640 (or by hand) is narrowed; never widened. */
static void narrow_mode(int fd)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777 & ~CONSOLE_LOG_MODE))
		fchmod(fd, st.st_mode & CONSOLE_LOG_MODE);
}

static int open_log_file(const char *path, int extra_flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | extra_flags,
		      CONSOLE_LOG_MODE);

	if (fd >= 0 && lock_wait(fd, LOCK_SH)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Under the folder lock: moves an ended domain's log of this name to .old, opens ours. */
static int start_log(struct console *con, char *err, size_t errlen)
{
	char old[PATH_MAX];
	struct stat st;
	int earlier = open(con->log_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (earlier >= 0) {
		bool live = flock(earlier, LOCK_EX | LOCK_NB) < 0;
		if (!live && rename(con->log_path, old_path_of(con, old)) == 0)
			narrow_mode(earlier);
		close(earlier);
		if (live) {
			ERR_SET(err, errlen, "console log %s is held by a running domain of that name",
				con->log_path);
			return -1;
		}
	}
	con->log_fd = open_log_file(con->log_path, 0);
	if (con->log_fd < 0) {
		ERR_SET(err, errlen, "opening console log %s: %s", con->log_path, strerror(errno));
		return -1;
	}
	narrow_mode(con->log_fd);
	con->log_size = fstat(con->log_fd, &st) == 0 ? (size_t)st.st_size : 0;
	con->log_mid_line = false;
	return 0;
}

/* Under con->lock: the current file becomes .old, a new one starts.  If the rename fails the new
 * open truncates the file instead, so the bound holds either way.  Rare (once per cap), so taking
 * the folder lock here costs little; a pruner holds it only for a scan of the folder. */
static void rotate_log(struct console *con)
{
	char old[PATH_MAX], dir[PATH_MAX];
	int fd, lock;

	folder_of(con->log_path, dir);
	lock = folder_lock(dir);
	rename(con->log_path, old_path_of(con, old));
	fd = open_log_file(con->log_path, O_TRUNC);
	folder_unlock(lock);
	close(con->log_fd);
	con->log_fd = fd;        /* -1 if it could not be opened: the pty still gets the output */
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
		      const struct console_log_policy *policy, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int lock, r;

	*con = (struct console){ .log_fd = -1, .pty_master = -1, .pty_slave = -1, .policy = *policy };
	pthread_mutex_init(&con->lock, NULL);
	if (strlen(log_path) + strlen(OLD_SUFFIX) >= sizeof(con->log_path)) {
		ERR_SET(err, errlen, "console log path too long: %s", log_path);
		goto fail;
	}
	strcpy(con->log_path, log_path);
	folder_of(log_path, dir);
	lock = folder_lock(dir);
	if (lock < 0) {
		ERR_SET(err, errlen, "locking %s/%s: %s", dir, CONSOLE_LOG_LOCK, strerror(errno));
		con->log_path[0] = '\0';
		goto fail;
	}
	r = start_log(con, err, errlen);
	if (r == 0)
		prune_locked(dir, con->policy.kept);
	folder_unlock(lock);
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
	struct console_log_policy policy;

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
		folder_of(con->log_path, dir);
		int lock = folder_lock(dir);
		if (lock >= 0)
			prune_locked(dir, con->policy.kept);
		folder_unlock(lock);
		con->log_path[0] = '\0';
	}
	con->pty_slave = con->pty_master = con->log_fd = -1;
	pthread_mutex_destroy(&con->lock);
}
