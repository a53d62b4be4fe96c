/* A log folder of bounded files: the run directory's log/ (docs/vmm-control.md, "Console logs"
 * and "Daemon logs").
 *
 * A family of logs is the files <prefix><name>.log in one folder, each with at most one older
 * <prefix><name>.log.old beside it.  The one implementation of their bounds, for the console logs
 * (backends/console.c) and the daemons' own logs (lib/daemon_log.c):
 * - size: a file past its cap is renamed to .log.old and a new one starts;
 * - mode: LOGFILE_MODE, never wider; an older, wider file is narrowed;
 * - liveness: a process holds a shared flock on its open log, so a log nobody holds belongs to a
 *   process that has ended (the kernel drops the locks of a killed one);
 * - number: the logs of ended processes are kept to be read, but only the newest `kept` of a family.
 * Every change of names in a family (opening a log live, rotating, pruning) holds an exclusive flock
 * on the family's lock file in the folder, so a pruner never sees a live log between its rename
 * and the new file's lock. */
#ifndef XENITH_LOGFILE_H
#define XENITH_LOGFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define LOGFILE_MODE 0640
#define LOGFILE_OLD_SUFFIX ".old"
#define LOGFILE_CAP (1024u * 1024)       /* bytes per file before it moves to .old */
#define LOGFILE_KEPT 16u                 /* ended processes' logs kept per family */
#define LOGFILE_KEPT_MAX 1024u
/* One knob for every family kept per domain: a domain's console log and its VMM's log end together. */
#define LOGFILE_KEPT_ENV "XENITH_CONSOLE_LOGS_KEPT"

struct logfile_family {
	const char *prefix;      /* "guest-", "vmm-"; NULL: a single log, never pruned */
	const char *lock;        /* the lock file's name in the folder */
};

struct logfile_policy {
	size_t cap;              /* bytes per file before it moves to .old; 0: unbounded */
	unsigned int kept;       /* ended logs that stay; 0: removed when their process ends */
};

/* `kept` from the value of the environment variable env_name (NULL value: LOGFILE_KEPT), with the
 * default cap.  0, or -1 with err naming the variable and its value. */
int logfile_policy_parse(struct logfile_policy *policy, const char *env_name, const char *value,
			 char *err, size_t errlen);

/* The folder of `path`, into dir (PATH_MAX bytes). */
void logfile_folder_of(const char *path, char *dir);
/* The family's lock in dir, held exclusively: its fd, or -1 with errno. */
int logfile_lock(const char *dir, const struct logfile_family *family);
void logfile_unlock(int lock_fd);

/* Opens path for appending (O_APPEND, created LOGFILE_MODE, narrowed if wider, O_CLOEXEC,
 * O_NOFOLLOW, plus extra_flags) and takes the shared flock that marks it live.  The caller holds
 * the family's lock.  The fd, or -1 with errno. */
int logfile_open_held(const char *path, int extra_flags);
/* The same under the family's lock of path's folder, for a process that starts a log without
 * holding that lock (xl, opening a VMM's log). */
int logfile_open_live(const char *path, const struct logfile_family *family);

/* Under the lock: an ended log at path moves to .old (narrowed); 0, also when there is none, or
 * -EBUSY when a live process holds it. */
int logfile_set_aside_locked(const char *path);
/* Under the lock: the file at path (the one fd writes to) becomes .old and a new file at path takes
 * fd's number, held live.  If path names another file by now (someone rotated it), fd joins that
 * one instead; if the rename fails, the file is truncated, so the bound holds either way.  0, or
 * -errno when no file could be opened (fd is left as it was). */
int logfile_rotate_locked(const char *path, int fd);
/* Under the lock: removes all but the newest `kept` ended logs of the family in dir, a log and its
 * .old counting as one, by the newer of their modification times. */
void logfile_prune_locked(const char *dir, const struct logfile_family *family, unsigned int kept);
/* Takes the lock of dir and prunes; nothing when the lock cannot be had. */
void logfile_prune(const char *dir, const struct logfile_family *family, unsigned int kept);

/* A log written through a fixed fd (a daemon's stderr) and bounded by its writer, who serializes
 * the calls below. */
struct logfile_bound {
	bool on;
	int fd;
	const struct logfile_family *family;
	struct logfile_policy policy;
	char path[PATH_MAX];
};

/* Bounds fd when it is the regular file at path (same device and inode; else *b stays off and
 * nothing happens: stderr on a terminal or a pipe): marks it live, narrows its mode and prunes
 * the family.  1 when bounded, 0 when fd is not that file, or -errno. */
int logfile_bound_adopt(struct logfile_bound *b, int fd, const char *path,
			const struct logfile_family *family, const struct logfile_policy *policy);
/* Before writing len bytes: rotates when they would take a non-empty file past the cap, so every
 * file holds whole writes and, for writes no longer than the cap, stays within it. */
void logfile_bound_make_room(struct logfile_bound *b, size_t len);
/* The writer is ending: its log stops being live (it counts as ended from here on) and the
 * family is pruned; *b is off. */
void logfile_bound_end(struct logfile_bound *b);

#endif
