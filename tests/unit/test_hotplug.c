/* Hotplug scripts run asynchronously (backends/hotplug.h), with real /bin/sh scripts written to a
 * temporary folder and the test's own event loop, no KVM:
 * - exit 0 (with the environment the script is given), exit 1 with its stderr lines kept in the
 *   message (its stdout not), death by a signal, a sleep past a 200 ms timeout (the script's own
 *   children killed too), a file that is not executable or not there, a cancel (no callback, the
 *   child reaped), a script whose grandchild keeps its stderr open, a flood of stderr;
 * - while each runs, a 20 ms ticker on the same loop keeps firing;
 * - hotplug_run (the blocking wrapper) gives the same messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "backends/hotplug.h"
#include "vmm/event_loop.h"
#include "unit.h"

struct env {
	char dir[64];
};

struct run {
	struct event_loop loop;
	bool finished;
	int calls;
	int rc;
	char msg[2048];
	unsigned int ticks;
	uint64_t ticker;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_done(void *ctx, int rc, const char *msg)
{
	struct run *r = ctx;

	r->finished = true;
	r->calls++;
	r->rc = rc;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

static void tick(void *opaque)
{
	struct run *r = opaque;

	r->ticks++;
	if (event_loop_timer_add(&r->loop, 20, tick, r, &r->ticker))
		r->ticks += 100000;           /* shows as a wrong count */
}

/* Writes `body` as an executable (mode) script dir/name; its path goes to path. */
static bool script(struct unit *u, const struct env *e, const char *name, const char *body, mode_t mode,
		   char *path, size_t len)
{
	snprintf(path, len, "%s/%s", e->dir, name);
	FILE *f = fopen(path, "w");
	bool ok = f && fprintf(f, "#!/bin/sh\n%s\n", body) > 0;
	if (f && fclose(f))
		ok = false;
	if (!ok || chmod(path, mode) < 0) {
		CHECK(0, "writing %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

static bool run_init(struct unit *u, struct run *r)
{
	*r = (struct run){ .rc = 12345 };
	if (event_loop_init(&r->loop) || event_loop_timer_add(&r->loop, 20, tick, r, &r->ticker)) {
		CHECK(0, "event loop: %s", strerror(errno));
		return false;
	}
	return true;
}

/* Runs the loop until the script's callback or limit_ms; the time it took. */
static long long run_until_done(struct run *r, long long limit_ms)
{
	long long start = now_ms();

	while (!r->finished && now_ms() - start < limit_ms)
		event_loop_run_once(&r->loop, 50);
	return now_ms() - start;
}

static void run_free(struct run *r)
{
	event_loop_destroy(&r->loop);
}

/* Starts script with `command` online and env; true when started. */
static bool start(struct unit *u, struct run *r, const char *path, unsigned int timeout_ms, char *const *env,
		  struct hotplug **h)
{
	const struct hotplug_call call = { .script = path, .command = "online", .env = env, .timeout_ms = timeout_ms };
	char msg[512] = "";
	int rc = hotplug_start(&r->loop, &call, on_done, r, h, msg, sizeof(msg));

	CHECK(rc == 0, "hotplug_start %s: %d (%s)", path, rc, msg);
	return rc == 0;
}

static void test_exit_0(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128];
	char *env[] = { "vif=vif7.0", "XENBUS_PATH=backend/vif/7/0", NULL };
	struct run r;
	struct hotplug *h;

	if (!script(u, e, "ok.sh",
		    "[ \"$1\" = online ] || { echo \"argument '$1'\" >&2; exit 3; }\n"
		    "[ \"$vif\" = vif7.0 ] || { echo \"vif '$vif'\" >&2; exit 4; }\n"
		    "command -v sleep >/dev/null || { echo \"no sleep on PATH '$PATH'\" >&2; exit 5; }\n"
		    "sleep 0.3\nexit 0", 0700, path, sizeof(path)) || !run_init(u, &r))
		return;
	if (start(u, &r, path, 5000, env, &h)) {
		long long took = run_until_done(&r, 5000);
		CHECK(r.calls == 1, "callback ran %d times", r.calls);
		CHECK_INT(r.rc, 0);
		CHECK_STR(r.msg, "");
		CHECK(took >= 250 && took < 3000, "took %lld ms", took);
		CHECK(r.ticks >= 5 && r.ticks < 100000, "the loop's 20 ms ticker fired %u times during 300 ms",
		      r.ticks);
	}
	run_free(&r);
}

static void test_exit_1(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128], want[512];
	struct run r;
	struct hotplug *h;

	if (!script(u, e, "fail.sh", "echo to stdout\necho first line >&2\necho 'second\tline' >&2\nexit 1",
		    0700, path, sizeof(path)) || !run_init(u, &r))
		return;
	if (start(u, &r, path, 5000, NULL, &h)) {
		run_until_done(&r, 5000);
		snprintf(want, sizeof(want), "%s online failed (exit 1): first line second line", path);
		CHECK_INT(r.rc, -1);
		CHECK_STR(r.msg, want);
	}
	run_free(&r);
}

static void test_signal(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128], want[512];
	struct run r;
	struct hotplug *h;

	if (!script(u, e, "signal.sh", "echo going >&2\nkill -TERM $$", 0700, path, sizeof(path)) ||
	    !run_init(u, &r))
		return;
	if (start(u, &r, path, 5000, NULL, &h)) {
		run_until_done(&r, 5000);
		snprintf(want, sizeof(want), "%s online died of signal %d: going", path, SIGTERM);
		CHECK_INT(r.rc, -1);
		CHECK_STR(r.msg, want);
	}
	run_free(&r);
}

/* A pid the script wrote to e->dir/name, or -1. */
static pid_t read_pid(const struct env *e, const char *name)
{
	char path[128];
	long pid = -1;

	snprintf(path, sizeof(path), "%s/%s", e->dir, name);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return (pid_t)pid;
}

/* Gone (or a zombie waiting for init) within limit_ms. */
static bool process_gone(pid_t pid, long long limit_ms)
{
	long long start = now_ms();
	char path[64], stat[256];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	do {
		FILE *f = fopen(path, "r");
		if (!f)
			return true;
		size_t n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[n] = '\0';
		char *close_paren = strrchr(stat, ')');
		if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z')
			return true;
		usleep(10000);
	} while (now_ms() - start < limit_ms);
	return false;
}

static void test_timeout(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128], pidfile[128], want[512];
	struct run r;
	struct hotplug *h;

	snprintf(pidfile, sizeof(pidfile), "%s/timeout.pid", e->dir);
	unlink(pidfile);
	char body[512];
	snprintf(body, sizeof(body), "echo waiting >&2\nsleep 30 &\necho $! > '%s'\nwait", pidfile);
	if (!script(u, e, "timeout.sh", body, 0700, path, sizeof(path)) || !run_init(u, &r))
		return;
	if (start(u, &r, path, 200, NULL, &h)) {
		long long took = run_until_done(&r, 5000);
		snprintf(want, sizeof(want), "%s online killed after 200 ms: waiting", path);
		CHECK_INT(r.rc, -1);
		CHECK_STR(r.msg, want);
		CHECK(took >= 190 && took < 2000, "took %lld ms for a 200 ms timeout", took);
		CHECK(r.ticks >= 5 && r.ticks < 100000, "the loop's 20 ms ticker fired %u times", r.ticks);
		pid_t sleeper = read_pid(e, "timeout.pid");
		CHECK(sleeper > 0, "the script wrote no pid of its sleep");
		if (sleeper > 0) {
			CHECK(process_gone(sleeper, 2000), "the script's sleep %d outlived the kill", (int)sleeper);
			kill(sleeper, SIGKILL);
		}
	}
	run_free(&r);
}

static void test_not_executable(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128], want[512], msg[512];
	struct run r;
	struct hotplug *h = NULL;

	if (!script(u, e, "plain.sh", "exit 0", 0600, path, sizeof(path)) || !run_init(u, &r))
		return;
	const struct hotplug_call call = { .script = path, .command = "online", .timeout_ms = 1000 };
	CHECK_INT(hotplug_start(&r.loop, &call, on_done, &r, &h, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "cannot run %s: %s", path, strerror(EACCES));
	CHECK_STR(msg, want);

	snprintf(path, sizeof(path), "%s/missing.sh", e->dir);
	const struct hotplug_call missing = { .script = path, .command = "offline" };
	CHECK_INT(hotplug_start(&r.loop, &missing, on_done, &r, &h, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "cannot run %s: %s", path, strerror(ENOENT));
	CHECK_STR(msg, want);

	run_until_done(&r, 100);
	CHECK(r.calls == 0, "a script that never started called back %d times", r.calls);
	run_free(&r);
}

static void test_cancel(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128], pidfile[128], body[256];
	struct run r;
	struct hotplug *h;

	snprintf(pidfile, sizeof(pidfile), "%s/cancel.pid", e->dir);
	unlink(pidfile);
	snprintf(body, sizeof(body), "echo $$ > '%s'\nexec sleep 30", pidfile);
	if (!script(u, e, "cancel.sh", body, 0700, path, sizeof(path)) || !run_init(u, &r))
		return;
	if (start(u, &r, path, 10000, NULL, &h)) {
		pid_t pid = -1;
		long long t0 = now_ms();
		while (now_ms() - t0 < 3000 && (pid = read_pid(e, "cancel.pid")) <= 0)
			event_loop_run_once(&r.loop, 20);
		CHECK(pid > 0, "the script did not start");
		long long before = now_ms();
		hotplug_cancel(h);
		CHECK(now_ms() - before < 1000, "cancel took %lld ms", now_ms() - before);
		if (pid > 0)
			CHECK(kill(pid, 0) < 0 && errno == ESRCH, "the cancelled script %d is still there (not reaped?)",
			      (int)pid);
		run_until_done(&r, 300);
		CHECK(r.calls == 0, "a cancelled script called back %d times", r.calls);
		CHECK(r.ticks >= 1 && r.ticks < 100000, "the loop still ticks after the cancel: %u", r.ticks);
	}
	run_free(&r);
}

/* A daemon the script leaves behind holding its stderr must not hold up the answer. */
static void test_grandchild_holds_stderr(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128], pidfile[128], body[256], want[512];
	struct run r;
	struct hotplug *h;

	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", e->dir);
	unlink(pidfile);
	snprintf(body, sizeof(body), "sleep 30 &\necho $! > '%s'\necho started >&2\nexit 2", pidfile);
	if (!script(u, e, "daemon.sh", body, 0700, path, sizeof(path)) || !run_init(u, &r))
		return;
	if (start(u, &r, path, 10000, NULL, &h)) {
		long long took = run_until_done(&r, 5000);
		snprintf(want, sizeof(want), "%s online failed (exit 2): started", path);
		CHECK(took < 2000, "answered after %lld ms, waiting for the daemon's end of stderr?", took);
		CHECK_STR(r.msg, want);
		pid_t daemon = read_pid(e, "daemon.pid");
		if (daemon > 0)
			kill(daemon, SIGKILL);
	}
	run_free(&r);
}

/* 200 KiB of stderr: the message keeps a bounded tail, ending with the last line. */
static void test_stderr_flood(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128];
	struct run r;
	struct hotplug *h;

	if (!script(u, e, "flood.sh",
		    "i=0\nwhile [ $i -lt 4000 ]; do echo \"line $i of a script that says far too much\" >&2; "
		    "i=$((i+1)); done\necho the end >&2\nexit 7", 0700, path, sizeof(path)) || !run_init(u, &r))
		return;
	if (start(u, &r, path, 20000, NULL, &h)) {
		run_until_done(&r, 20000);
		size_t n = strlen(r.msg);
		CHECK(r.finished, "no callback");
		CHECK(strstr(r.msg, "failed (exit 7): ") != NULL, "message '%.200s'", r.msg);
		CHECK(n > 7 && !strcmp(r.msg + n - 7, "the end"), "message ends '%s'", n > 40 ? r.msg + n - 40 : r.msg);
		CHECK(n < 1024 + 256, "message is %zu bytes", n);
	}
	run_free(&r);
}

/* done may start the next script at once (the handle is gone by then). */
struct chain {
	struct run *r;
	const char *path;
	int started;
};

static void chain_done(void *ctx, int rc, const char *msg)
{
	struct chain *c = ctx;
	struct hotplug *h;
	char err[256];
	const struct hotplug_call call = { .script = c->path, .command = "online", .timeout_ms = 5000 };

	(void)msg;
	if (rc == 0 && c->started < 3 && !hotplug_start(&c->r->loop, &call, chain_done, c, &h, err, sizeof(err))) {
		c->started++;
		return;
	}
	on_done(c->r, rc, msg);
}

static void test_chain(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128], err[256];
	struct run r;
	struct hotplug *h;

	if (!script(u, e, "chain.sh", "exit 0", 0700, path, sizeof(path)) || !run_init(u, &r))
		return;
	struct chain c = { .r = &r, .path = path, .started = 1 };
	const struct hotplug_call call = { .script = path, .command = "online", .timeout_ms = 5000 };
	CHECK(hotplug_start(&r.loop, &call, chain_done, &c, &h, err, sizeof(err)) == 0, "start: %s", err);
	run_until_done(&r, 5000);
	CHECK(r.finished && r.rc == 0 && c.started == 3, "finished %d rc %d after %d scripts", r.finished, r.rc,
	      c.started);
	run_free(&r);
}

static void test_run_wrapper(struct unit *u, const void *arg)
{
	const struct env *e = arg;
	char path[128], msg[512], want[512];

	if (!script(u, e, "wrapped.sh", "echo why >&2\nexit 1", 0700, path, sizeof(path)))
		return;
	CHECK_INT(hotplug_run(path, "offline", NULL, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s offline failed (exit 1): why", path);
	CHECK_STR(msg, want);
	if (!script(u, e, "wrapped_ok.sh", "exit 0", 0700, path, sizeof(path)))
		return;
	CHECK_INT(hotplug_run(path, "online", NULL, msg, sizeof(msg)), 0);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	struct env e;
	static const struct { const char *name; unit_fn fn; } cases[] = {
		{ "hotplug: exit 0, with its environment, while the loop ticks", test_exit_0 },
		{ "hotplug: exit 1 keeps the stderr lines (not stdout) in the message", test_exit_1 },
		{ "hotplug: death by a signal", test_signal },
		{ "hotplug: past a 200 ms timeout, killed with its children, the loop ticking", test_timeout },
		{ "hotplug: not executable, or not there: cannot run, no callback", test_not_executable },
		{ "hotplug: cancel kills and reaps, no callback", test_cancel },
		{ "hotplug: a grandchild holding stderr does not delay the answer", test_grandchild_holds_stderr },
		{ "hotplug: a flood of stderr keeps a bounded tail", test_stderr_flood },
		{ "hotplug: done may start the next script", test_chain },
		{ "hotplug: hotplug_run gives the same messages", test_run_wrapper },
	};

	signal(SIGPIPE, SIG_IGN);             /* as the VMM: the child must still get it by default */
	if (access("/bin/sh", X_OK)) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			printf("skip - %s: no /bin/sh to run scripts with\n", cases[i].name);
		return 0;
	}
	snprintf(e.dir, sizeof(e.dir), "/tmp/xenith-hotplug.XXXXXX");
	if (!mkdtemp(e.dir)) {
		printf("not ok - hotplug: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		unit_case(&u, cases[i].name, cases[i].fn, &e);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e.dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", e.dir);
	return unit_finish(&u);
}
