/* The hypervisor log (lib/hvlog.c) and `xl dmesg [-c]` on it: lines gathered across partial writes,
 * Xen's "(d<domid>) " prefix and character filter, the line bound, the size bound, two processes
 * appending at once (whole lines only, none lost), and printing/clearing through xl in a temporary
 * run directory (XENITH_RUNDIR). */
#define _GNU_SOURCE /* open_memstream */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/hvlog.h"
#include "xl/xl_dmesg.h"
#include "xl/xl_domain.h"
#include "unit.h"

/* Each half may pass half the cap by the line that filled it. */
#define SLACK (2 * (HVLOG_LINE_MAX + 16))

struct tmpdir {
	char path[64];
};

static void tmpdir_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/xenith-hvlog.XXXXXX");
	if (!mkdtemp(t->path))
		abort();
}

static void tmpdir_remove(struct tmpdir *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", t->path);
}

/* The whole log as `xl dmesg` would print it; malloc'd. */
static char *dump(struct hvlog *log, bool clear)
{
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (hvlog_dump(log, f, clear, err, sizeof(err)))
		fprintf(stderr, "# hvlog_dump: %s\n", err);
	fclose(f);
	return text;
}

static struct hvlog *open_log(struct unit *u, const char *dir, size_t cap)
{
	struct hvlog *log = malloc(sizeof(*log));
	char err[256];

	if (!log || hvlog_open(log, dir, cap, err, sizeof(err))) {
		CHECK(0, "hvlog_open %s: %s", dir, err);
		free(log);
		return NULL;
	}
	return log;
}

static void close_log(struct hvlog *log)
{
	hvlog_close(log);
	free(log);
}

static void put(struct hvlog *log, int domid, const char *s)
{
	hvlog_guest_write(log, domid, s, strlen(s));
}

struct assembly_case {
	const char *name;
	int domid;
	const char *pieces[6];      /* written one after another */
	const char *expect;
};

static const struct assembly_case assembly[] = {
	{ "pieces make one line", 3, { "hel", "lo\r", "\nwor", "ld\r\n" }, "(d3) hello\n(d3) world\n" },
	{ "a partial line waits", 4, { "done\n", "not yet" }, "(d4) done\n" },
	{ "non-printables dropped, tab kept", 12, { "\x01" "a\tb\x7f\xc3\xa9" "c\x1b[0m\n" }, "(d12) a\tbc[0m\n" },
	{ "an empty line is a line", 1, { "\n", "\r\n" }, "(d1) \n(d1) \n" },
	{ "domid 32751", 32751, { "last\n" }, "(d32751) last\n" },
};

static void test_assembly(struct unit *u, const void *arg)
{
	const struct assembly_case *c = arg;
	struct tmpdir t;

	tmpdir_make(&t);
	struct hvlog *log = open_log(u, t.path, 0);
	if (log) {
		for (size_t i = 0; i < 6 && c->pieces[i]; i++)
			put(log, c->domid, c->pieces[i]);
		char *text = dump(log, false);
		CHECK_STR(text, c->expect);
		free(text);
		close_log(log);
	}
	tmpdir_remove(&t);
}

/* A line too long for Xen's buffer is cut at HVLOG_LINE_MAX characters; a partial line is written
 * out when its domain's ID changes (a restart) and when the log is closed (the VMM ends). */
static void test_bounds_and_flush(struct unit *u, const void *arg)
{
	struct tmpdir t;
	char longline[2 * HVLOG_LINE_MAX + 50 + 2], expect[4096];
	(void)arg;

	tmpdir_make(&t);
	struct hvlog *log = open_log(u, t.path, 0);
	if (!log)
		goto out;
	memset(longline, 'x', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	put(log, 5, longline);
	put(log, 5, "before restart");
	put(log, 6, "after\n");
	put(log, 6, "tail");
	hvlog_close(log);
	char err[256];
	if (hvlog_open(log, t.path, 0, err, sizeof(err))) {
		CHECK(0, "reopen: %s", err);
		free(log);
		goto out;
	}
	char *text = dump(log, false);
	snprintf(expect, sizeof(expect), "(d5) %.*s\n(d5) %.*s\n(d5) %.*s\n(d5) before restart\n(d6) after\n(d6) tail\n",
		 HVLOG_LINE_MAX, longline, HVLOG_LINE_MAX, longline, 50, longline);
	CHECK_STR(text, expect);
	free(text);
	close_log(log);
out:
	tmpdir_remove(&t);
}

/* Lines "(d<id>) w<id> <n>": parses one; false if it is not whole. */
static bool parse_line(const char *line, size_t len, int *id, long *n)
{
	char buf[64];
	int id2, used = 0;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\0';
	return sscanf(buf, "(d%d) w%d %ld%n", id, &id2, n, &used) == 3 && id2 == *id && (size_t)used == len;
}

/* Checks every line is whole and each writer's numbers run without gaps from some first one to its
 * last; returns how many lines each writer has, and its first number. */
static void check_lines(struct unit *u, const char *text, long count[3], long first[3], long last_expected)
{
	long next[3] = { -1, -1, -1 };
	size_t bad = 0;

	count[1] = count[2] = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		int id;
		long n;

		if (!nl) {
			bad++;
			break;
		}
		if (!parse_line(p, (size_t)(nl - p), &id, &n) || id < 1 || id > 2) {
			if (bad++ < 3)
				CHECK(0, "not a whole line: '%.*s'", (int)(nl - p), p);
		} else {
			if (next[id] < 0)
				first[id] = n;
			else if (n != next[id])
				CHECK(0, "writer %d: line %ld follows %ld", id, n, next[id] - 1);
			next[id] = n + 1;
			count[id]++;
		}
		p = nl + 1;
	}
	CHECK_INT(bad, 0);
	/* A writer whose lines were all rotated away (it finished long before the other) has none. */
	for (int id = 1; id <= 2; id++)
		CHECK(next[id] < 0 || next[id] == last_expected + 1, "writer %d ends at %ld, expected %ld", id,
		      next[id] - 1, last_expected);
	CHECK(next[1] >= 0 || next[2] >= 0, "no writer's lines were kept");
}

/* Two processes (as two VMMs) write lines in ragged pieces at once.  cap 0: nothing is dropped, all
 * lines of both are there whole; a small cap: rotations happen meanwhile, what is kept is whole
 * lines, each writer's in order and ending with its last, and the total stays within the cap. */
static void two_writers(struct unit *u, size_t cap)
{
	enum { LINES = 3000 };
	struct tmpdir t;
	pid_t pid[2];

	tmpdir_make(&t);
	for (int w = 0; w < 2; w++) {
		pid[w] = fork();
		if (pid[w] == 0) {
			struct hvlog log;
			char err[256], line[64];

			if (hvlog_open(&log, t.path, cap, err, sizeof(err)))
				_exit(1);
			for (long n = 0; n < LINES; n++) {
				int len = snprintf(line, sizeof(line), "w%d %ld\n", w + 1, n);
				/* Ragged pieces: 1, 2, 3... bytes, so lines end mid-write. */
				for (int at = 0, step = 1; at < len; at += step, step = step % 4 + 1)
					hvlog_guest_write(&log, w + 1, line + at, (size_t)(len - at < step ? len - at : step));
			}
			hvlog_close(&log);
			_exit(0);
		}
	}
	for (int w = 0; w < 2; w++) {
		int status = 0;
		waitpid(pid[w], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed (status %#x)", w + 1, status);
	}
	struct hvlog *log = open_log(u, t.path, cap);
	if (log) {
		long count[3], first[3] = { 0, 0, 0 };
		char *text = dump(log, false);
		check_lines(u, text, count, first, LINES - 1);
		if (!cap) {
			CHECK(count[1] == LINES && count[2] == LINES, "lines kept: %ld and %ld of %d", count[1],
			      count[2], LINES);
		} else {
			CHECK(strlen(text) <= log->cap + SLACK, "%zu bytes kept, cap %zu", strlen(text), log->cap);
			/* Rotation dropped the oldest: each writer lost its first lines, or all of them. */
			CHECK((!count[1] || first[1] > 0) && (!count[2] || first[2] > 0),
			      "nothing was dropped (first lines %ld, %ld)", first[1], first[2]);
		}
		free(text);
		close_log(log);
	}
	tmpdir_remove(&t);
}

static void test_two_writers(struct unit *u, const void *arg)
{
	(void)arg;
	two_writers(u, 0);
}

static void test_two_writers_rotating(struct unit *u, const void *arg)
{
	(void)arg;
	two_writers(u, 8192);
}

/* Past the cap the oldest lines go, the newest stay. */
static void test_size_bound(struct unit *u, const void *arg)
{
	struct tmpdir t;
	char line[64];
	(void)arg;

	tmpdir_make(&t);
	struct hvlog *log = open_log(u, t.path, 4096);
	if (log) {
		for (int n = 0; n < 2000; n++) {
			snprintf(line, sizeof(line), "line %d\n", n);
			put(log, 9, line);
		}
		char *text = dump(log, false);
		size_t len = strlen(text);
		CHECK(len <= 4096 + SLACK && len >= 4096 / 2, "%zu bytes kept of a 4096-byte cap", len);
		CHECK(!strncmp(text, "(d9) line ", 10), "does not start at a line: '%.20s'", text);
		CHECK(len > 16 && !strcmp(text + len - 15, "(d9) line 1999\n"), "the newest line is not last: '%s'",
		      len > 16 ? text + len - 16 : text);
		CHECK(!strstr(text, "(d9) line 0\n"), "the oldest line was kept");
		free(text);
		close_log(log);
	}
	tmpdir_remove(&t);
}

static void test_not_world_readable(struct unit *u, const void *arg)
{
	struct tmpdir t;
	char path[128];
	struct stat st;
	(void)arg;

	tmpdir_make(&t);
	mode_t old = umask(0);
	struct hvlog *log = open_log(u, t.path, 0);
	umask(old);
	if (log) {
		put(log, 1, "secret\n");
		snprintf(path, sizeof(path), "%s/%s", t.path, HVLOG_FILE);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0, "%s has mode %o", path, st.st_mode & 0777);
		close_log(log);
	}
	tmpdir_remove(&t);
}

/* Runs main_dmesg with stdout sent to a file; returns what it printed (malloc'd). */
static char *run_main_dmesg(struct xl_ctx *ctx, const char *opt, const char *scratch, int *status)
{
	char *argv[] = { "dmesg", (char *)opt, NULL };
	int argc = opt ? 2 : 1;

	fflush(stdout);
	int saved = dup(1), fd = open(scratch, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0)
		abort();
	dup2(fd, 1);
	optind = 1;
	*status = main_dmesg(ctx, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	off_t size = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)size + 1);
	if (!text || pread(fd, text, (size_t)size, 0) != size)
		abort();
	close(fd);
	return text;
}

/* xl dmesg prints the run directory's log; -c (or --clear) clears it after printing; lines written
 * afterwards are all the next dmesg shows. */
static void test_xl_dmesg(struct unit *u, const void *arg)
{
	struct tmpdir t;
	char logdir[128], scratch[128];
	int status;
	(void)arg;

	tmpdir_make(&t);
	setenv("XENITH_RUNDIR", t.path, 1);
	struct xl_ctx ctx = { 0 };
	if (xl_ctx_rundir(&ctx)) {
		CHECK(0, "run directory %s", t.path);
		goto out;
	}
	snprintf(logdir, sizeof(logdir), "%s/log", t.path);
	snprintf(scratch, sizeof(scratch), "%s/stdout", t.path);
	struct hvlog *log = open_log(u, logdir, 0);
	if (!log)
		goto out;
	put(log, 1, "first\r\n");
	put(log, 2, "second\r\n");

	char *text = run_main_dmesg(&ctx, NULL, scratch, &status);
	CHECK_INT(status, 0);
	CHECK_STR(text, "(d1) first\n(d2) second\n");
	free(text);
	text = run_main_dmesg(&ctx, "-c", scratch, &status);
	CHECK_INT(status, 0);
	CHECK_STR(text, "(d1) first\n(d2) second\n");
	free(text);
	text = run_main_dmesg(&ctx, NULL, scratch, &status);
	CHECK_STR(text, "");
	free(text);

	put(log, 3, "after the clear\n");      /* the writer's descriptor survives the clear */
	text = run_main_dmesg(&ctx, "--clear", scratch, &status);
	CHECK_INT(status, 0);
	CHECK_STR(text, "(d3) after the clear\n");
	free(text);
	text = run_main_dmesg(&ctx, "-x", scratch, &status);
	CHECK_INT(status, 2);
	free(text);
	close_log(log);
out:
	unsetenv("XENITH_RUNDIR");
	tmpdir_remove(&t);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[128];

	for (size_t i = 0; i < sizeof(assembly) / sizeof(assembly[0]); i++) {
		snprintf(name, sizeof(name), "hvlog: %s", assembly[i].name);
		unit_case(&u, name, test_assembly, &assembly[i]);
	}
	unit_case(&u, "hvlog: long lines cut at 255, partial lines flushed on restart and close",
		  test_bounds_and_flush, NULL);
	unit_case(&u, "hvlog: past the cap the oldest lines go", test_size_bound, NULL);
	unit_case(&u, "hvlog: two processes append whole lines, none lost", test_two_writers, NULL);
	unit_case(&u, "hvlog: two processes while the log rotates: whole lines, in order, within the cap",
		  test_two_writers_rotating, NULL);
	unit_case(&u, "hvlog: files are not world-readable", test_not_world_readable, NULL);
	unit_case(&u, "xl dmesg prints, -c/--clear clear after printing", test_xl_dmesg, NULL);
	return unit_finish(&u);
}
