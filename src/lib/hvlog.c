/* The hypervisor log, shared by every VMM on the host and read by `xl dmesg`.
 *
 * Xen keeps its console in a fixed ring that forgets its oldest bytes; many processes append here,
 * so the ring becomes two files: `hypervisor.log` (current) and `hypervisor.log.0` (older).  When
 * the current one passes half the cap it is renamed over the older one, which is how the oldest
 * half is forgotten; together they never hold much more than the cap.
 *
 * Concurrency, across processes (every VMM) and threads (vCPUs of one VMM):
 * - each line goes out in one write(2) on an O_APPEND descriptor, so lines never interleave;
 * - appending holds a shared flock on `hypervisor.log.lock`; renaming (rotation) and clearing hold
 *   it exclusively.  So nobody rotates in the middle of an append, and a writer that sees, under
 *   its shared lock, that its descriptor is no longer the file named `hypervisor.log` (someone
 *   rotated) reopens it before writing: no line goes into a half that is being dropped;
 * - `xl dmesg -c` prints and clears under one exclusive hold, so a line is either printed or kept.
 * The files are mode 0600: guests' text is for the host's administrator. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/error.h"
#include "lib/hvlog.h"

#define HVLOG_PREFIX_MAX 16                          /* "(d32751) " and room to spare */
#define HVLOG_MIN_CAP (4 * (HVLOG_PREFIX_MAX + HVLOG_LINE_MAX + 1))

static int lock_file(int fd, int how)
{
	while (flock(fd, how) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int open_current(struct hvlog *log)
{
	log->fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return log->fd < 0 ? -errno : 0;
}

int hvlog_open(struct hvlog *log, const char *dir, size_t cap, char *err, size_t errlen)
{
	char lock_path[PATH_MAX];

	memset(log, 0, sizeof(*log));
	log->fd = log->lock_fd = -1;
	log->cap = cap ? cap : HVLOG_DEFAULT_CAP;
	if (log->cap < HVLOG_MIN_CAP)
		log->cap = HVLOG_MIN_CAP;
	if ((size_t)snprintf(log->path, sizeof(log->path), "%s/%s", dir, HVLOG_FILE) >= sizeof(log->path) ||
	    (size_t)snprintf(log->old_path, sizeof(log->old_path), "%s.0", log->path) >= sizeof(log->old_path) ||
	    (size_t)snprintf(lock_path, sizeof(lock_path), "%s.lock", log->path) >= sizeof(lock_path)) {
		ERR_SET(err, errlen, "hypervisor log directory name too long: %s", dir);
		return -1;
	}
	log->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (log->lock_fd < 0) {
		ERR_SET(err, errlen, "opening %s: %s", lock_path, strerror(errno));
		return -1;
	}
	int r = open_current(log);
	if (r) {
		ERR_SET(err, errlen, "opening %s: %s", log->path, strerror(-r));
		close(log->lock_fd);
		log->lock_fd = -1;
		return -1;
	}
	pthread_mutex_init(&log->lock, NULL);
	return 0;
}

/* Under the shared flock: is our descriptor still the file called hypervisor.log? */
static void follow_rotation(struct hvlog *log)
{
	struct stat ours, named;

	if (log->fd >= 0 && fstat(log->fd, &ours) == 0 && stat(log->path, &named) == 0 &&
	    ours.st_dev == named.st_dev && ours.st_ino == named.st_ino)
		return;
	if (log->fd >= 0)
		close(log->fd);
	open_current(log);
}

static void rotate_if_full(struct hvlog *log)
{
	struct stat st;

	if (lock_file(log->lock_fd, LOCK_EX))
		return;
	/* Another writer may have rotated while we waited for the lock. */
	if (stat(log->path, &st) == 0 && (size_t)st.st_size > log->cap / 2 &&
	    rename(log->path, log->old_path) == 0) {
		close(log->fd);
		open_current(log);
	}
	lock_file(log->lock_fd, LOCK_UN);
}

/* One whole line, in one write(2).  A full disk loses the line rather than stalling a vCPU. */
static void append_line(struct hvlog *log, const char *text, size_t len)
{
	off_t end = -1;

	if (lock_file(log->lock_fd, LOCK_SH))
		return;
	follow_rotation(log);
	if (log->fd >= 0) {
		ssize_t n;
		do
			n = write(log->fd, text, len);
		while (n < 0 && errno == EINTR);
		end = lseek(log->fd, 0, SEEK_CUR);      /* with O_APPEND: the file's end after our line */
	}
	lock_file(log->lock_fd, LOCK_UN);
	if (end > 0 && (size_t)end > log->cap / 2)
		rotate_if_full(log);
}

static void emit_line_locked(struct hvlog *log)
{
	char out[HVLOG_PREFIX_MAX + HVLOG_LINE_MAX + 1];
	int n = snprintf(out, HVLOG_PREFIX_MAX, "(d%d) ", log->line_domid);

	if (n < 0 || n >= HVLOG_PREFIX_MAX)
		n = 0;
	memcpy(out + n, log->line, log->line_len);
	n += (int)log->line_len;
	out[n++] = '\n';
	append_line(log, out, (size_t)n);
	log->line_len = 0;
}

/* What Xen keeps of a guest's console text (its is_console_printable): ASCII printables and tab. */
static bool printable(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t';
}

void hvlog_guest_write(struct hvlog *log, int domid, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_mutex_lock(&log->lock);
	if (log->line_len && log->line_domid != domid)
		emit_line_locked(log);
	log->line_domid = domid;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n') {
			emit_line_locked(log);
			continue;
		}
		if (!printable(p[i]))
			continue;
		log->line[log->line_len++] = (char)p[i];
		if (log->line_len == sizeof(log->line))
			emit_line_locked(log);
	}
	pthread_mutex_unlock(&log->lock);
}

void hvlog_flush(struct hvlog *log)
{
	pthread_mutex_lock(&log->lock);
	if (log->line_len)
		emit_line_locked(log);
	pthread_mutex_unlock(&log->lock);
}

void hvlog_close(struct hvlog *log)
{
	if (log->lock_fd < 0)
		return;
	hvlog_flush(log);
	if (log->fd >= 0)
		close(log->fd);
	close(log->lock_fd);
	log->fd = log->lock_fd = -1;
	pthread_mutex_destroy(&log->lock);
}

/* Copies one half to out; a half that is not there yet is empty. */
static int copy_file(const char *path, FILE *out, char *err, size_t errlen)
{
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ERR_SET(err, errlen, "opening %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ERR_SET(err, errlen, "reading %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			ERR_SET(err, errlen, "writing out %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

int hvlog_dump(struct hvlog *log, FILE *out, bool clear, char *err, size_t errlen)
{
	int r = lock_file(log->lock_fd, clear ? LOCK_EX : LOCK_SH);

	if (r) {
		ERR_SET(err, errlen, "locking %s.lock: %s", log->path, strerror(-r));
		return -1;
	}
	r = copy_file(log->old_path, out, err, errlen) || copy_file(log->path, out, err, errlen) ? -1 : 0;
	if (!r && fflush(out)) {
		ERR_SET(err, errlen, "writing out the hypervisor log: %s", strerror(errno));
		r = -1;
	}
	/* Cleared only once printed, as xl dmesg -c does. */
	if (!r && clear) {
		if ((unlink(log->old_path) < 0 && errno != ENOENT) ||
		    (truncate(log->path, 0) < 0 && errno != ENOENT)) {
			ERR_SET(err, errlen, "clearing %s: %s", log->path, strerror(errno));
			r = -1;
		}
	}
	lock_file(log->lock_fd, LOCK_UN);
	return r;
}
