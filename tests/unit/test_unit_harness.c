/* The unit harness itself (unit.h): a skipped case is reported once, as `skip -`, and counted as
 * skipped, never also as passed; a case that fails as well counts as failed.  Each row runs an inner
 * harness in a child whose stdout is a pipe, and compares all it printed and its exit status. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

static void inner_pass(struct unit *u, const void *arg)
{
	(void)arg;
	CHECK(1, "never");
}

static void inner_skip(struct unit *u, const void *arg)
{
	(void)arg;
	unit_skip(u, "no %s here", "widget");
}

static void inner_skip_twice(struct unit *u, const void *arg)
{
	(void)arg;
	unit_skip(u, "first reason");
	unit_skip(u, "second reason");
}

static void inner_fail(struct unit *u, const void *arg)
{
	(void)arg;
	unit_fail(u, "f.c", 1, "broke");
}

static void inner_skip_then_fail(struct unit *u, const void *arg)
{
	(void)arg;
	unit_skip(u, "half done");
	unit_fail(u, "f.c", 2, "broke after");
}

static void inner_fail_then_skip(struct unit *u, const void *arg)
{
	(void)arg;
	unit_fail(u, "f.c", 3, "broke before");
	unit_skip(u, "too late");
}

struct row {
	const char *name;
	unit_fn fns[3];          /* run as cases "a", "b", "c"; NULL ends */
	const char *output;      /* everything the inner harness prints */
	int status;              /* unit_finish's */
};

static const struct row rows[] = {
	{ "a passing case is ok and passed", { inner_pass },
	  "ok - a\n1 passed, 0 failed, 0 skipped\n", 0 },
	{ "a skipped case is one skip line, skipped, not passed", { inner_skip },
	  "skip - a: no widget here\n0 passed, 0 failed, 1 skipped\n", 0 },
	{ "a second unit_skip in one case prints nothing", { inner_skip_twice },
	  "skip - a: first reason\n0 passed, 0 failed, 1 skipped\n", 0 },
	{ "the skip ends with its case: the next one passes", { inner_skip, inner_pass },
	  "skip - a: no widget here\nok - b\n1 passed, 0 failed, 1 skipped\n", 0 },
	{ "skipped then failed counts failed", { inner_skip_then_fail },
	  "skip - a: half done\nnot ok - a: f.c:2: broke after\n0 passed, 1 failed, 0 skipped\n", 1 },
	{ "failed then skipped counts failed, the reason a # line", { inner_fail_then_skip },
	  "not ok - a: f.c:3: broke before\n#   then skipped: too late\n0 passed, 1 failed, 0 skipped\n", 1 },
	{ "pass, skip, fail: one of each", { inner_pass, inner_skip, inner_fail },
	  "ok - a\nskip - b: no widget here\nnot ok - c: f.c:1: broke\n1 passed, 1 failed, 1 skipped\n", 1 },
};

/* Runs the row's cases in a child; its output into out (NUL-ended), its exit status returned. */
static int run_inner(const struct row *r, char *out, size_t len)
{
	static const char *const names[] = { "a", "b", "c" };
	int p[2];
	size_t got = 0;
	ssize_t n;
	int status;

	fflush(stdout);
	if (pipe(p))
		abort();
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		struct unit inner = UNIT_INIT;

		close(p[0]);
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(99);
		for (size_t i = 0; i < 3 && r->fns[i]; i++)
			unit_case(&inner, names[i], r->fns[i], NULL);
		int rc = unit_finish(&inner);
		fflush(stdout);
		_exit(rc);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_row(struct unit *u, const void *arg)
{
	const struct row *r = arg;
	char out[2048];

	int status = run_inner(r, out, sizeof(out));
	CHECK_STR(out, r->output);
	CHECK_INT(status, r->status);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		unit_case(&u, rows[i].name, test_row, &rows[i]);
	return unit_finish(&u);
}
