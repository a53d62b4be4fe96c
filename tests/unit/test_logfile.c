/* The daemons' logs and the log folder's bounds (lib/logfile.h, lib/daemon_log.h, LOG in
 * lib/error.c), on temporary folders with real processes, pipes, ptys and flocks, no KVM.  Each case
 * that bounds stderr runs in a forked child, since the logger is the process's:
 * - size: LOG lines past the cap leave a .log and a .log.old, both within the cap and of whole
 *   lines, together the newest lines in order (at the default 1 MiB cap too, and for xenstored.log);
 * - mode: 0640 under umask 0, a wider earlier file narrowed, the rotated file 0640 too;
 * - stderr on a pipe, a terminal or another file: no rotation, nothing made in the folder;
 * - threads: two threads logging across rotations lose no line and never split one;
 * - number: pruning keeps the newest N ended VMM logs, never one a live process holds (a child
 *   holding its flock), nor another family's files; a VMM prunes when it starts and when it exits;
 *   a log xl opens is live from the start. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/daemon_log.h"
#include "lib/error.h"
#include "lib/logfile.h"
#include "unit.h"
#include "log_folder.h"

#define THIS_FILE "test_logfile.c"

/* <rundir>/log, as a run directory has. */
static bool log_folder_make(struct unit *u, const struct folder *rundir, struct folder *log)
{
	if ((size_t)snprintf(log->dir, sizeof(log->dir), "%.59s/log", rundir->dir) >= sizeof(log->dir) ||
	    mkdir(log->dir, 0755)) {
		CHECK(0, "mkdir %s/log: %s", rundir->dir, strerror(errno));
		return false;
	}
	return true;
}

/* How many entries the folder holds (. and .. aside). */
static int entries_in(const struct folder *f)
{
	char cmd[160];
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", f->dir);
	FILE *p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

/* ---- children: the logger is per process ---- */

/* Runs fn in a child; its answer (NULL: fine, else what went wrong) comes back through a pipe. */
typedef const char *(*child_fn)(const void *arg);

static bool in_child(struct unit *u, child_fn fn, const void *arg)
{
	int p[2], status;
	char why[512] = "";
	ssize_t n, got = 0;

	if (pipe2(p, O_CLOEXEC)) {
		CHECK(0, "pipe: %s", strerror(errno));
		return false;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		CHECK(0, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return false;
	}
	if (pid == 0) {
		close(p[0]);
		const char *r = fn(arg);
		if (r && write(p[1], r, strlen(r)) < 0)
			_exit(3);
		exit(r ? 1 : 0);         /* exit, not _exit: the atexit prune is part of what is tested */
	}
	close(p[1]);
	while ((n = read(p[0], why + got, sizeof(why) - 1 - (size_t)got)) > 0)
		got += n;
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child %s: %s",
	      WIFEXITED(status) ? "failed" : "was killed", why[0] ? why : "(no reason given)");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* In a child: stderr becomes the log at path, opened as xl opens a VMM's. */
static const char *stderr_to_log(const char *path)
{
	int fd = vmm_log_open(path);

	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		return "opening the log as xl does failed";
	close(fd);
	return NULL;
}

/* ---- size ---- */

struct rotation_case {
	const char *name;
	size_t cap;
	int lines;
	int pad;                 /* extra bytes per line's message */
};

static const struct rotation_case rotations[] = {
	{ "rotation: LOG lines past a 4 KiB cap", 4096, 500, 10 },
	{ "rotation: lines near 1 KiB past a 4 KiB cap", 4096, 300, 900 },
	{ "rotation: the default 1 MiB cap", LOGFILE_CAP, 30000, 40 },
};

struct rotation_run {
	const struct rotation_case *c;
	char path[160];
};

static const char *log_lines(const void *arg)
{
	const struct rotation_run *run = arg;
	struct logfile_policy policy = { .cap = run->c->cap, .kept = 16 };
	static const char pad[1024] = { [0 ... 1022] = 'p' };
	const char *why = stderr_to_log(run->path);

	if (why)
		return why;
	log_set_program("test-vmm");
	if (log_bound_stderr(run->path, &vmm_log_family, &policy) != 1)
		return "log_bound_stderr did not take the log that stderr is";
	for (int i = 0; i < run->c->lines; i++)
		LOG("line %d %.*s", i, run->c->pad, pad);
	return NULL;
}

/* The message of a whole LOG line from this file ("... prog: test_logfile.c:N: msg"), or NULL. */
static const char *message_of(const char *line, const char *end)
{
	const char *at = memmem(line, (size_t)(end - line), ": " THIS_FILE ":", strlen(": " THIS_FILE ":"));

	if (!at || end - line < 24 || line[4] != '-' || line[10] != ' ' || line[19] != '.')
		return NULL;
	at += strlen(": " THIS_FILE ":");
	while (at < end && *at >= '0' && *at <= '9')
		at++;
	return end - at >= 2 && at[0] == ':' && at[1] == ' ' ? at + 2 : NULL;
}

/* Walks the lines of buf: each must be a whole LOG line whose message starts with fmt's numbers.
 * Calls see(tag, number) for "line N" (tag 0) or "tT N" (tag T); false on a malformed line. */
static bool each_line(const char *buf, size_t len, void (*see)(void *, int, int), void *opaque)
{
	const char *p = buf, *end = buf + len;

	if (len && buf[len - 1] != '\n')
		return false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *msg = message_of(p, nl);
		int tag = 0, num;

		if (!msg || (sscanf(msg, "line %d", &num) != 1 && sscanf(msg, "t%d %d", &tag, &num) != 2))
			return false;
		see(opaque, tag, num);
		p = nl + 1;
	}
	return true;
}

struct sequence {
	int next[3];             /* per tag: the number expected next; -1 before the first */
	int first[3];
	bool gap;
};

static void see_in_order(void *opaque, int tag, int num)
{
	struct sequence *s = opaque;

	if (tag < 0 || tag > 2) {
		s->gap = true;
		return;
	}
	if (s->next[tag] >= 0 && num != s->next[tag])
		s->gap = true;
	if (s->next[tag] < 0)
		s->first[tag] = num;
	s->next[tag] = num + 1;
}

/* A log and its .old after a run: both there, each within the cap and of whole LOG lines, their
 * numbers walked into *s (.old first).  False when a file is missing. */
struct rotated {
	char *cur, *old;
	size_t cur_len, old_len;
};

static bool read_rotated(struct unit *u, const struct folder *f, const char *name, size_t cap,
			 struct rotated *r, struct sequence *s)
{
	char old_name[64];

	snprintf(old_name, sizeof(old_name), "%s" LOGFILE_OLD_SUFFIX, name);
	r->cur = slurp(f, name, &r->cur_len);
	r->old = slurp(f, old_name, &r->old_len);
	*s = (struct sequence){ { -1, -1, -1 }, { 0 }, false };
	CHECK(r->cur && r->old, "log %s, .old %s", r->cur ? "present" : "missing",
	      r->old ? "present" : "missing");
	if (!r->cur || !r->old)
		return false;
	CHECK(r->cur_len <= cap && r->old_len <= cap, "files of %zu and %zu bytes under a cap of %zu",
	      r->cur_len, r->old_len, cap);
	CHECK(each_line(r->old, r->old_len, see_in_order, s) && each_line(r->cur, r->cur_len, see_in_order, s),
	      "a line in the files is partial, or two lines are interleaved");
	return true;
}

static void rotated_free(struct rotated *r)
{
	free(r->cur);
	free(r->old);
}

static void test_rotation(struct unit *u, const void *arg)
{
	const struct rotation_case *c = arg;
	struct rotation_run run = { c, "" };
	struct rotated r = { 0 };
	struct sequence s;
	struct folder f;

	if (!folder_make(u, &f))
		return;
	path_in(&f, "vmm-r.log", run.path, sizeof(run.path));
	if (in_child(u, log_lines, &run) && read_rotated(u, &f, "vmm-r.log", c->cap, &r, &s)) {
		CHECK(r.old_len + 200 + (size_t)c->pad > c->cap,
		      ".old holds %zu bytes: rotated well before the %zu-byte cap", r.old_len, c->cap);
		CHECK(!s.gap && s.next[0] == c->lines, ".old then the log are not the newest lines in order "
		      "(the last is %d of %d%s)", s.next[0] - 1, c->lines, s.gap ? ", with a gap" : "");
	}
	rotated_free(&r);
	folder_remove(&f);
}

/* xenstored.log: the same cap, a single file, nothing pruned. */
static const char *log_as_xenstored(const void *arg)
{
	const struct folder *f = arg;
	char path[160];
	const char *why;

	path_in(f, "log/xenstored.log", path, sizeof(path));
	if ((why = stderr_to_log(path)))
		return why;
	log_set_program("xenstored");
	xenstored_log_bound(f->dir);
	for (int i = 0; i < 25000; i++)
		LOG("line %d of a daemon that runs for the host's lifetime", i);
	return NULL;
}

static void test_xenstored_log(struct unit *u, const void *arg)
{
	struct folder f, log;
	(void)arg;

	if (!folder_make(u, &f))
		return;
	if (!log_folder_make(u, &f, &log))
		goto out;
	if (!in_child(u, log_as_xenstored, &f))
		goto out;
	long cur = size_of(&log, "xenstored.log"), old = size_of(&log, "xenstored.log.old");
	CHECK(cur > 0 && old > 0 && cur <= (long)LOGFILE_CAP && old <= (long)LOGFILE_CAP,
	      "xenstored.log is %ld bytes and .old %ld after 25000 lines, cap %u", cur, old, LOGFILE_CAP);
	CHECK(mode_of(&log, "xenstored.log") == 0640, "xenstored.log is mode %#o",
	      (unsigned)mode_of(&log, "xenstored.log"));
out:
	folder_remove(&f);
}

/* ---- mode ---- */

struct mode_run {
	char path[160];
	mode_t earlier;          /* the file's mode before the daemon bounds it; 0: made by xl's open */
};

static const char *log_under_umask_0(const void *arg)
{
	const struct mode_run *run = arg;
	struct logfile_policy policy = { .cap = 256, .kept = 16 };
	const char *why;

	umask(0);
	if (run->earlier) {
		int fd = open(run->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, run->earlier);
		if (fd < 0 || fchmod(fd, run->earlier) || dup2(fd, STDERR_FILENO) < 0)
			return "making the earlier log failed";
		close(fd);
	} else if ((why = stderr_to_log(run->path))) {
		return why;
	}
	if (log_bound_stderr(run->path, &vmm_log_family, &policy) != 1)
		return "log_bound_stderr did not take the log that stderr is";
	for (int i = 0; i < 20; i++)
		LOG("line %d", i);
	return NULL;
}

static void test_mode(struct unit *u, const void *arg)
{
	const mode_t *earlier = arg;
	struct mode_run run = { "", *earlier };
	struct folder f;

	if (!folder_make(u, &f))
		return;
	path_in(&f, "vmm-m.log", run.path, sizeof(run.path));
	if (in_child(u, log_under_umask_0, &run))
		CHECK(mode_of(&f, "vmm-m.log") == 0640 && mode_of(&f, "vmm-m.log.old") == 0640,
		      "under umask 0 the log is %#o and .old %#o, expected 0640 both",
		      (unsigned)mode_of(&f, "vmm-m.log"), (unsigned)mode_of(&f, "vmm-m.log.old"));
	folder_remove(&f);
}

static const mode_t made_by_xl = 0, made_0666 = 0666;

/* ---- stderr that is not the log ---- */

enum not_the_log { ON_PIPE, ON_TERMINAL, ON_OTHER_FILE };

struct not_the_log_run {
	enum not_the_log kind;
	const struct folder *f;
	int fd;                  /* the pipe's or the pty's writing end, made by the parent */
};

static const char *log_elsewhere(const void *arg)
{
	const struct not_the_log_run *run = arg;
	struct logfile_policy policy = { .cap = 128, .kept = 0 };
	char path[160];

	path_in(run->f, "vmm-n.log", path, sizeof(path));
	if (dup2(run->fd, STDERR_FILENO) < 0)
		return "dup2 failed";
	if (log_bound_stderr(path, &vmm_log_family, &policy) != 0)
		return "log_bound_stderr took a stderr that is not the log";
	for (int i = 0; i < 20; i++)
		LOG("line %d", i);
	return NULL;
}

static void test_not_the_log(struct unit *u, const void *arg)
{
	const enum not_the_log *kind = arg;
	struct not_the_log_run run = { *kind, NULL, -1 };
	struct folder f;
	int reader = -1;
	char path[160];

	if (!folder_make(u, &f))
		return;
	run.f = &f;
	path_in(&f, "vmm-n.log", path, sizeof(path));
	int named = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);   /* the log, by name */
	if (named >= 0)
		close(named);
	if (*kind == ON_PIPE) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) == 0) {
			reader = p[0];
			run.fd = p[1];
		}
	} else if (*kind == ON_TERMINAL) {
		reader = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		char tty[64];
		if (reader >= 0 && !grantpt(reader) && !unlockpt(reader) && !ptsname_r(reader, tty, sizeof(tty)))
			run.fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	} else {
		path_in(&f, "other.txt", path, sizeof(path));
		run.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	}
	if (run.fd < 0) {
		CHECK(0, "making the stderr to use: %s", strerror(errno));
		goto out;
	}
	if (*kind == ON_TERMINAL)
		CHECK(isatty(run.fd), "the pty's slave is no terminal");
	/* 20 short lines fit in a pipe's or a pty's buffer: the child never waits for us. */
	if (in_child(u, log_elsewhere, &run)) {
		CHECK(!exists_in(&f, "vmm-n.log.old") && size_of(&f, "vmm-n.log") == 0,
		      "the log at the path was rotated or written to (%ld bytes) though stderr was not it",
		      size_of(&f, "vmm-n.log"));
		int want = *kind == ON_OTHER_FILE ? 2 : 1;
		CHECK(entries_in(&f) == want, "the folder holds %d entries, expected %d: something was made",
		      entries_in(&f), want);
		if (*kind == ON_OTHER_FILE)
			CHECK(size_of(&f, "other.txt") > 20 * 30, "the other file holds %ld bytes of 20 lines",
			      size_of(&f, "other.txt"));
		else {
			char buf[4096];
			ssize_t n = read(reader, buf, sizeof(buf) - 1);
			CHECK(n > 0 && memmem(buf, (size_t)n, "line 0", 6), "the lines did not reach the %s",
			      *kind == ON_PIPE ? "pipe" : "terminal");
		}
	}
	close(run.fd);
out:
	if (reader >= 0)
		close(reader);
	folder_remove(&f);
}

static const enum not_the_log on_pipe = ON_PIPE, on_terminal = ON_TERMINAL, on_other = ON_OTHER_FILE;

/* ---- threads ---- */

struct threads_case {
	const char *name;
	size_t cap;
	int lines;               /* per thread */
	bool all_kept;           /* the output fits .old + the log: every line must be there */
};

static const struct threads_case threads_cases[] = {
	{ "threads: one rotation, every line kept whole", 64 * 1024, 600, true },
	{ "threads: many rotations, the newest lines whole and in order", 4096, 4000, false },
};

static void *thread_logs(void *arg)
{
	const int *spec = arg;         /* { tag, lines } */

	for (int i = 0; i < spec[1]; i++)
		LOG("t%d %d of a thread that logs while the file rotates", spec[0], i);
	return NULL;
}

struct threads_run {
	const struct threads_case *c;
	char path[160];
};

static const char *log_from_threads(const void *arg)
{
	const struct threads_run *run = arg;
	struct logfile_policy policy = { .cap = run->c->cap, .kept = 16 };
	int specs[2][2] = { { 1, run->c->lines }, { 2, run->c->lines } };
	pthread_t t[2];
	const char *why = stderr_to_log(run->path);

	if (why)
		return why;
	if (log_bound_stderr(run->path, &vmm_log_family, &policy) != 1)
		return "log_bound_stderr did not take the log that stderr is";
	if (pthread_create(&t[0], NULL, thread_logs, specs[0]))
		return "pthread_create failed";
	if (pthread_create(&t[1], NULL, thread_logs, specs[1])) {
		pthread_join(t[0], NULL);
		return "pthread_create failed";
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	return NULL;
}

static void test_threads(struct unit *u, const void *arg)
{
	const struct threads_case *c = arg;
	struct threads_run run = { c, "" };
	struct rotated r = { 0 };
	struct sequence s;
	struct folder f;

	if (!folder_make(u, &f))
		return;
	path_in(&f, "vmm-t.log", run.path, sizeof(run.path));
	if (in_child(u, log_from_threads, &run) && read_rotated(u, &f, "vmm-t.log", c->cap, &r, &s)) {
		/* A thread may have finished rotations ago and be gone from both files; one that is there
		 * must run without a gap to its last line, and the last writer is there. */
		bool ends_whole = (s.next[1] < 0 || s.next[1] == c->lines) &&
				  (s.next[2] < 0 || s.next[2] == c->lines);
		CHECK(!s.gap && ends_whole && (s.next[1] >= 0 || s.next[2] >= 0),
		      "a thread's lines have a gap or are not the newest (thread 1 ends at %d, thread 2 at %d, "
		      "of %d)", s.next[1] - 1, s.next[2] - 1, c->lines);
		if (c->all_kept)
			CHECK(s.first[1] == 0 && s.first[2] == 0 && s.next[1] == c->lines && s.next[2] == c->lines,
			      "lines were lost: thread 1 has %d to %d, thread 2 %d to %d, of 0 to %d", s.first[1],
			      s.next[1] - 1, s.first[2], s.next[2] - 1, c->lines - 1);
	}
	rotated_free(&r);
	folder_remove(&f);
}

/* ---- number ---- */

/* A child that holds a VMM log live (as its VMM would) until `go` is closed. */
struct holder {
	pid_t pid;
	int go;                  /* closing it lets the child exit */
};

static bool hold_log(struct unit *u, const char *path, struct holder *h)
{
	int ready[2], go[2];
	char c;

	if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC)) {
		CHECK(0, "pipe: %s", strerror(errno));
		return false;
	}
	h->pid = fork();
	if (h->pid == 0) {
		close(ready[0]);
		close(go[1]);
		int fd = vmm_log_open(path);
		if (fd < 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		if (read(go[0], &c, 1) < 0)     /* EOF when the parent closes its end */
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	h->go = go[1];
	bool ok = h->pid > 0 && read(ready[0], &c, 1) == 1;
	close(ready[0]);
	CHECK(ok, "the child that holds %s did not start", path);
	return ok;
}

static void release_log(struct holder *h)
{
	int status;

	close(h->go);
	if (h->pid > 0)
		while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
			;
}

static void test_prune_keeps_newest_and_live(struct unit *u, const void *arg)
{
	static const char *const kept_files[] = {
		"vmm-e5.log", "vmm-e4.log.old",                     /* the two newest ended */
		"vmm-live.log",                                     /* held by a live process, however old */
		"guest-e1.log", "xenstored.log", "hypervisor.log", "vmm-notes.txt",   /* other families */
	};
	static const char *const gone_files[] = {
		"vmm-e1.log", "vmm-e1.log.old", "vmm-e2.log", "vmm-e3.log", "vmm-e3.log.old",
	};
	struct folder f;
	struct holder live;
	char p[160];
	(void)arg;

	if (!folder_make(u, &f))
		return;
	path_in(&f, "vmm-live.log", p, sizeof(p));
	if (!hold_log(u, p, &live))
		goto out;
	set_mtime(&f, "vmm-live.log", 1);
	make_ended(u, &f, "vmm-e1.log", 1000);
	make_ended(u, &f, "vmm-e1.log.old", 900);
	make_ended(u, &f, "vmm-e2.log", 2000);
	make_ended(u, &f, "vmm-e3.log", 3000);
	make_ended(u, &f, "vmm-e3.log.old", 2900);
	make_ended(u, &f, "vmm-e4.log.old", 4000);    /* a .old alone counts as a process's logs */
	make_ended(u, &f, "vmm-e5.log", 2500);
	make_ended(u, &f, "vmm-e5.log.old", 5000);    /* the newer of its two files counts */
	make_ended(u, &f, "guest-e1.log", 10);
	make_ended(u, &f, "xenstored.log", 10);
	make_ended(u, &f, "hypervisor.log", 10);
	make_ended(u, &f, "vmm-notes.txt", 10);
	logfile_prune(f.dir, &vmm_log_family, 2);
	for (size_t i = 0; i < sizeof(kept_files) / sizeof(kept_files[0]); i++)
		CHECK(exists_in(&f, kept_files[i]), "%s was removed", kept_files[i]);
	for (size_t i = 0; i < sizeof(gone_files) / sizeof(gone_files[0]); i++)
		CHECK(!exists_in(&f, gone_files[i]), "%s was kept (kept=2)", gone_files[i]);
	/* Once its process has ended the live log is the oldest ended one. */
	release_log(&live);
	logfile_prune(f.dir, &vmm_log_family, 2);
	CHECK(!exists_in(&f, "vmm-live.log") && exists_in(&f, "vmm-e5.log") && exists_in(&f, "vmm-e4.log.old"),
	      "after its process ended, the oldest log was not the one pruned");
	logfile_prune(f.dir, &vmm_log_family, 0);
	CHECK(!exists_in(&f, "vmm-e5.log") && !exists_in(&f, "vmm-e4.log.old") && exists_in(&f, "guest-e1.log"),
	      "kept=0 left ended VMM logs, or pruned another family's");
out:
	folder_remove(&f);
}

/* The VMM's own calls: vmm_log_bound prunes at start, and at exit with its own log among the ended. */
struct vmm_run {
	const struct folder *f;
	int started;             /* we write "s" once bounded */
	int go;                  /* and wait for this to close */
};

static const char *run_as_vmm(const void *arg)
{
	const struct vmm_run *run = arg;
	char path[160], c;
	const char *why;

	path_in(run->f, "log/vmm-me.log", path, sizeof(path));
	if ((why = stderr_to_log(path)))
		return why;
	setenv(LOGFILE_KEPT_ENV, "1", 1);
	vmm_log_bound(run->f->dir, "me");
	LOG("started");
	if (write(run->started, "s", 1) != 1 || read(run->go, &c, 1) < 0)
		return "talking to the parent failed";
	return NULL;
}

static void test_vmm_prunes_at_start_and_exit(struct unit *u, const void *arg)
{
	struct folder f, log;
	int started[2] = { -1, -1 }, go[2] = { -1, -1 };
	pid_t pid;
	char c;
	(void)arg;

	if (!folder_make(u, &f))
		return;
	if (!log_folder_make(u, &f, &log))
		goto out;
	if (pipe2(started, O_CLOEXEC) || pipe2(go, O_CLOEXEC)) {
		CHECK(0, "setting up: %s", strerror(errno));
		goto out;
	}
	make_ended(u, &log, "vmm-old1.log", 2000);
	make_ended(u, &log, "vmm-old2.log", 1000);
	struct vmm_run run = { &f, started[1], go[0] };
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(started[0]);
		close(go[1]);
		exit(run_as_vmm(&run) ? 1 : 0);
	}
	close(started[1]);
	close(go[0]);
	started[1] = go[0] = -1;
	if (pid < 0 || read(started[0], &c, 1) != 1) {
		CHECK(0, "the VMM stand-in did not start");
		goto reap;
	}
	CHECK(exists_in(&log, "vmm-me.log") && exists_in(&log, "vmm-old1.log") && !exists_in(&log, "vmm-old2.log"),
	      "at start with kept=1: me %d, old1 %d, old2 %d (expected 1 1 0)", exists_in(&log, "vmm-me.log"),
	      exists_in(&log, "vmm-old1.log"), exists_in(&log, "vmm-old2.log"));
reap:
	close(go[1]);
	go[1] = -1;
	if (pid > 0) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the VMM stand-in failed");
	}
	CHECK(exists_in(&log, "vmm-me.log") && !exists_in(&log, "vmm-old1.log"),
	      "at exit with kept=1: me %d, old1 %d (expected 1 0)", exists_in(&log, "vmm-me.log"),
	      exists_in(&log, "vmm-old1.log"));
	size_t len;
	char *text = slurp(&log, "vmm-me.log", &len);
	CHECK(text && strstr(text, ": started\n"), "the VMM's line is not in its log");
	free(text);
out:
	for (int i = 0; i < 2; i++) {
		if (started[i] >= 0)
			close(started[i]);
		if (go[i] >= 0)
			close(go[i]);
	}
	folder_remove(&f);
}

/* xl opens the log before the VMM exists: it is live from that open on, even for kept=0. */
static void test_xl_open_is_live(struct unit *u, const void *arg)
{
	struct folder f;
	char p[160];
	mode_t saved = umask(0);
	(void)arg;

	if (!folder_make(u, &f))
		goto out;
	path_in(&f, "vmm-x.log", p, sizeof(p));
	int fd = vmm_log_open(p);
	CHECK(fd >= 0, "vmm_log_open %s: %s", p, strerror(errno));
	if (fd < 0)
		goto remove;
	CHECK(mode_of(&f, "vmm-x.log") == 0640, "the log xl opens is mode %#o under umask 0",
	      (unsigned)mode_of(&f, "vmm-x.log"));
	logfile_prune(f.dir, &vmm_log_family, 0);
	CHECK(exists_in(&f, "vmm-x.log"), "a pruner removed the log xl had just opened");
	close(fd);
	logfile_prune(f.dir, &vmm_log_family, 0);
	CHECK(!exists_in(&f, "vmm-x.log"), "kept=0 left the log once nobody held it");
remove:
	folder_remove(&f);
out:
	umask(saved);
}

/* ---- the knob ---- */

static void test_policy(struct unit *u, const void *arg)
{
	struct logfile_policy p;
	char err[256] = "";
	(void)arg;

	CHECK_INT(logfile_policy_parse(&p, LOGFILE_KEPT_ENV, "7", err, sizeof(err)), 0);
	CHECK_INT(p.kept, 7);
	CHECK_INT(p.cap, LOGFILE_CAP);
	CHECK_INT(logfile_policy_parse(&p, LOGFILE_KEPT_ENV, "1025", err, sizeof(err)), -1);
	CHECK(strstr(err, LOGFILE_KEPT_ENV "='1025'"), "the refusal names neither the variable nor its value: %s",
	      err);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(rotations) / sizeof(rotations[0]); i++)
		unit_case(&u, rotations[i].name, test_rotation, &rotations[i]);
	unit_case(&u, "xenstored.log: capped and rotated the same way", test_xenstored_log, NULL);
	unit_case(&u, "mode: 0640 under umask 0, before and after rotation", test_mode, &made_by_xl);
	unit_case(&u, "mode: an earlier 0666 log is narrowed to 0640", test_mode, &made_0666);
	unit_case(&u, "stderr on a pipe: no rotation attempted", test_not_the_log, &on_pipe);
	unit_case(&u, "stderr on a terminal: no rotation attempted", test_not_the_log, &on_terminal);
	unit_case(&u, "stderr on another file: no rotation attempted", test_not_the_log, &on_other);
	for (size_t i = 0; i < sizeof(threads_cases) / sizeof(threads_cases[0]); i++)
		unit_case(&u, threads_cases[i].name, test_threads, &threads_cases[i]);
	unit_case(&u, "pruning keeps the newest N ended VMM logs and every live one",
		  test_prune_keeps_newest_and_live, NULL);
	unit_case(&u, "a VMM prunes its family when it starts and when it exits",
		  test_vmm_prunes_at_start_and_exit, NULL);
	unit_case(&u, "the log xl opens is live from the open on", test_xl_open_is_live, NULL);
	unit_case(&u, "the kept knob is parsed once for every family", test_policy, NULL);
	return unit_finish(&u);
}
