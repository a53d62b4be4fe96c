/* The control socket's server (vmm/control.h) on a real SOCK_SEQPACKET socket in a temporary
 * folder, a fake domain and the test's own event loop, no KVM:
 * - the requests' replies, byte for byte as xl and the system tests read them (info, pause,
 *   unpause, destroy and its callback, usage errors, unknown and empty requests, vif/vbd lists and
 *   detaches of devices that are not there), and a request longer than the limit refused;
 * - a client that connects and never sends is dropped at its deadline while other clients are
 *   answered at once; past the bound of waiting connections one is refused EBUSY, and once the
 *   silent ones are gone the server answers again;
 * - a deferred reply (a row of a test table that answers from a timer) arrives later while the loop
 *   serves others; a client gone before its reply is just closed; closing the server closes what
 *   is left;
 * - the real bin/xenith-ctl, found beside this build (a skip without it), gets its replies. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "backends/pv_backend.h"
#include "vmm/control.h"
#include "vmm/event_loop.h"
#include "fake_domain.h"
#include "unit.h"

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

struct env {
	char dir[64];
	char sock[128];
	struct domain_params params;
	struct domain *dom;
	struct event_loop loop;
	struct control_server server;
	int listen_fd;
	unsigned int destroys;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_destroy(void *ctx)
{
	struct env *e = ctx;

	e->destroys++;
}

static bool env_up(struct unit *u, struct env *e)
{
	char err[256];

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/xenith-control.XXXXXX");
	if (!mkdtemp(e->dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return false;
	}
	/* As a run directory lays it out, so that xenith-ctl finds it too. */
	snprintf(e->sock, sizeof(e->sock), "%s/domains", e->dir);
	mkdir(e->sock, 0700);
	snprintf(e->sock, sizeof(e->sock), "%s/domains/%d", e->dir, FAKE_DOMID);
	mkdir(e->sock, 0700);
	snprintf(e->sock, sizeof(e->sock), "%s/domains/%d/control.sock", e->dir, FAKE_DOMID);
	e->params = (struct domain_params){ .name = "testdom", .memory_mb = 64, .vcpus = 1,
		.uuid = { 0x6b, 0x1e, 0x7c, 0x5e, [6] = 0x40, [8] = 0x80, [15] = 7 } };
	e->dom = fake_domain_new(1);
	e->dom->params = &e->params;
	e->listen_fd = control_listen(e->sock, err, sizeof(err));
	CHECK(e->listen_fd >= 0, "control_listen: %s", err);
	CHECK(event_loop_init(&e->loop) == 0, "event_loop_init");
	e->dom->loop = &e->loop;
	CHECK(control_serve(&e->server, &e->loop, e->listen_fd, e->dom, on_destroy, e) == 0, "control_serve");
	return e->listen_fd >= 0;
}

static void env_down(struct env *e)
{
	control_server_close(&e->server);
	if (e->listen_fd >= 0)
		close(e->listen_fd);
	event_loop_destroy(&e->loop);
	e->dom->loop = NULL;
	fake_domain_free(e->dom);
	unlink(e->sock);
	*strrchr(e->sock, '/') = '\0';
	rmdir(e->sock);
	*strrchr(e->sock, '/') = '\0';
	rmdir(e->sock);
	/* xenith-ctl opens the run directory too, which makes its folders (log/, names/). */
	nftw(e->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int client_connect(struct env *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%.100s", e->sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs the loop until fd has something to read (a reply or a hang-up) or limit_ms; then reads it
 * into reply.  The reply's length, 0 on a close without reply, -1 on nothing within the limit. */
static ssize_t await_reply(struct env *e, int fd, char *reply, size_t len, long long limit_ms)
{
	long long start = now_ms();

	while (now_ms() - start < limit_ms) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 0) == 1) {
			ssize_t n = recv(fd, reply, len - 1, MSG_DONTWAIT);
			if (n >= 0)
				reply[n] = '\0';
			return n < 0 ? 0 : n;
		}
		event_loop_run_once(&e->loop, 10);
	}
	return -1;
}

/* One request, one reply (or "(closed)" / "(no reply)"). */
static void ask(struct env *e, const char *request, char *reply, size_t len)
{
	int fd = client_connect(e);

	snprintf(reply, len, "(cannot connect)");
	if (fd < 0)
		return;
	if (send(fd, request, strlen(request), 0) < 0) {
		snprintf(reply, len, "(send: %s)", strerror(errno));
	} else {
		ssize_t n = await_reply(e, fd, reply, len, 3000);
		if (n == 0)
			snprintf(reply, len, "(closed)");
		else if (n < 0)
			snprintf(reply, len, "(no reply)");
	}
	close(fd);
}

struct exchange {
	const char *request;
	const char *reply;
};

static void test_replies(struct unit *u, const void *arg)
{
	(void)arg;
	static const struct exchange table[] = {
		/* mem= is what the fake domain's 8 MiB hold (it follows the balloon); no vCPU thread runs: 'b'. */
		{ "info", "ok domid=7 name=testdom mem=8 vcpus=1 state=-b---- cputime=0.000 hypercalls=0 "
			  "unseen_hypercalls=0 mem_kb=8192 maxmem_kb=8192 target_kb=0 "
			  "uuid=6b1e7c5e-0000-4000-8000-000000000007 type=pvh user_exits=0" },
		{ "pause", "ok" },
		{ "info extra words", "ok domid=7 name=testdom mem=8 vcpus=1 state=--p--- cputime=0.000 "
				      "hypercalls=0 unseen_hypercalls=0 mem_kb=8192 maxmem_kb=8192 target_kb=0 "
			  "uuid=6b1e7c5e-0000-4000-8000-000000000007 type=pvh user_exits=0" },
		{ "pause", "ok" },
		{ "unpause", "ok" },
		{ "", "(closed)" },                 /* an empty message: nothing to answer */
		{ " \n ", "error EINVAL empty request" },
		{ "frobnicate now", "error ENOSYS unknown request 'frobnicate'" },
		{ "x123456789x123456789x123456789x123456789x123456789x123456789x123456789",
		  "error ENOSYS unknown request 'x123456789x123456789x123456789x123456789x123456789x123456789x123'" },
		{ "grant-read", "error EINVAL usage: grant-read REF LEN" },
		{ "grant-read 5x 3", "error EINVAL usage: grant-read REF LEN" },
		{ "grant-write 5", "error EINVAL usage: grant-write REF TEXT" },
		{ "vif-attach", "error EINVAL usage: vif-attach SPEC" },
		{ "vif-attach   ", "error EINVAL usage: vif-attach SPEC" },
		{ "vif-detach", "error EINVAL usage: vif-detach DEVID" },
		{ "vif-detach -1", "error EINVAL usage: vif-detach DEVID" },
		{ "vif-detach 65536", "error EINVAL usage: vif-detach DEVID" },
		{ "vif-detach 3", "error ENOENT no vif 3" },
		{ "vif-list", "ok" },
		{ "vif-list stats", "ok" },
		{ "vbd-attach", "error EINVAL usage: vbd-attach SPEC" },
		{ "vbd-detach x", "error EINVAL usage: vbd-detach DEVID" },
		{ "vbd-detach 51712", "error ENOENT no vbd 51712" },
		{ "vbd-list", "ok" },
		{ "vbd-list stats", "ok" },
	};
	struct env e;
	char reply[CONTROL_REPLY_MAX + 1];

	if (!env_up(u, &e))
		return;
	e.dom->state = DOMAIN_RUNNING;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ask(&e, table[i].request, reply, sizeof(reply));
		CHECK(!strcmp(reply, table[i].reply), "'%s' answered '%s', expected '%s'", table[i].request, reply,
		      table[i].reply);
	}
	CHECK(e.destroys == 0, "destroy callback ran %u times before any destroy", e.destroys);
	ask(&e, "destroy", reply, sizeof(reply));
	CHECK_STR(reply, "ok");
	CHECK(e.destroys == 1, "destroy callback ran %u times", e.destroys);

	char big[CONTROL_REQUEST_MAX + 100];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "info ", 5);
	ask(&e, big, reply, sizeof(reply));
	CHECK_STR(reply, "error EINVAL request longer than 512 bytes");
	big[CONTROL_REQUEST_MAX] = '\0';    /* exactly the limit: served */
	ask(&e, big, reply, sizeof(reply));
	CHECK(!strncmp(reply, "ok domid=7 ", 11), "a request of exactly %d bytes answered '%.60s'",
	      CONTROL_REQUEST_MAX, reply);
	env_down(&e);
}

/* The table and the requests it names: names unique, usage starting with the name, a handler and
 * a description each. */
static void test_table(struct unit *u, const void *arg)
{
	(void)arg;
	size_t n;
	const struct control_request *t = control_requests(&n);

	CHECK(n >= 6, "only %zu requests", n);
	/* The PV backend table's requests go through one row, and no fixed row takes their names. */
	char verb[32];
	unsigned int n_verbs = 0;
	for (unsigned int v = 0; pv_backend_verb(v, verb, sizeof(verb)); v++, n_verbs++) {
		const struct control_request *row = control_device_request(verb);
		CHECK(row && row->handler && (row->flags & CONTROL_MAY_DEFER), "%s: not served", verb);
		for (size_t i = 0; i < n; i++)
			CHECK(strcmp(t[i].name, verb), "%s is a fixed row and a backend request", verb);
	}
	CHECK(n_verbs >= 6, "only %u backend requests", n_verbs);
	CHECK(!control_device_request("info") && !control_device_request("vif-frob"),
	      "the backend row serves what is not a backend request");
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(t[i].name);
		CHECK(t[i].handler && t[i].description && t[i].description[0], "%s: no handler or description",
		      t[i].name);
		CHECK(!strncmp(t[i].usage, t[i].name, len) && (!t[i].usage[len] || t[i].usage[len] == ' '),
		      "%s: usage '%s' does not start with the name", t[i].name, t[i].usage);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(t[i].name, t[j].name), "%s is in the table twice", t[i].name);
	}
}

static void test_silent_client(struct unit *u, const void *arg)
{
	(void)arg;
	struct env e;
	char reply[CONTROL_REPLY_MAX + 1];

	if (!env_up(u, &e))
		return;
	e.server.deadline_ms = 200;
	int silent = client_connect(&e);
	CHECK(silent >= 0, "connect");
	long long start = now_ms();
	ask(&e, "pause", reply, sizeof(reply));
	long long took = now_ms() - start;
	CHECK_STR(reply, "ok");
	CHECK(took < 150, "a request behind a silent client took %lld ms", took);
	ssize_t n = await_reply(&e, silent, reply, sizeof(reply), 3000);
	took = now_ms() - start;
	CHECK(n == 0, "the silent client got %zd bytes ('%s') rather than a close", n, n > 0 ? reply : "");
	CHECK(took >= 190 && took < 1500, "the silent client was dropped after %lld ms (deadline 200)", took);
	CHECK(e.server.n_waiting == 0, "%u connections still wait", e.server.n_waiting);
	close(silent);
	env_down(&e);
}

static void test_waiting_bound(struct unit *u, const void *arg)
{
	(void)arg;
	struct env e;
	char reply[CONTROL_REPLY_MAX + 1];
	int fds[8];

	if (!env_up(u, &e))
		return;
	e.server.waiting_max = 4;
	e.server.deadline_ms = 300;
	for (int i = 0; i < 4; i++) {
		fds[i] = client_connect(&e);
		CHECK(fds[i] >= 0, "connect %d", i);
	}
	for (int i = 0; i < 5; i++)
		event_loop_run_once(&e.loop, 10);
	CHECK(e.server.n_waiting == 4, "%u waiting, expected 4", e.server.n_waiting);
	ask(&e, "info", reply, sizeof(reply));
	CHECK_STR(reply, "error EBUSY too many control connections waiting; try again");
	long long start = now_ms();
	for (int i = 0; i < 4; i++)
		CHECK(await_reply(&e, fds[i], reply, sizeof(reply), 3000) == 0, "silent client %d not closed", i);
	CHECK(now_ms() - start < 1500, "the silent clients went after %lld ms", now_ms() - start);
	ask(&e, "unpause", reply, sizeof(reply));
	CHECK_STR(reply, "ok");
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	env_down(&e);
}

/* A test table: `later MS` answers from a timer after MS, `later-error MS` with ENOENT. */
struct later {
	struct env *e;
	struct control_conn *conn;
	int rc;
	bool answered;
};

static void later_fire(void *opaque)
{
	struct later *l = opaque;

	l->answered = true;
	control_reply_later(l->conn, l->rc, l->rc ? "no such thing" : "");
}

static enum control_outcome later_request(struct control_call *c)
{
	struct later *l = (struct later *)c->request->description;   /* the test's own row */
	char *ms = control_next_word(c, " ");
	uint64_t id;

	if (!c->conn || !ms) {
		snprintf(c->reply, c->len, "error EINVAL cannot defer");
		return CONTROL_REPLY;
	}
	l->conn = c->conn;
	if (event_loop_timer_add(c->dom->loop, (unsigned int)atoi(ms), later_fire, l, &id)) {
		snprintf(c->reply, c->len, "error ENOMEM timer");
		return CONTROL_REPLY;
	}
	return CONTROL_DEFERRED;
}

static enum control_outcome try_defer_request(struct control_call *c)
{
	return c->conn ? CONTROL_DEFERRED : CONTROL_REPLY;   /* no flag: conn is NULL, reply stays */
}

static void test_deferred(struct unit *u, const void *arg)
{
	(void)arg;
	struct env e;
	struct later ok_later = { .rc = 0 }, err_later = { .rc = -ENOENT }, gone_later = { .rc = 0 };
	char reply[CONTROL_REPLY_MAX + 1];

	if (!env_up(u, &e))
		return;
	const struct control_request table[] = {
		{ "later", "later MS", (const char *)&ok_later, later_request, CONTROL_MAY_DEFER },
		{ "later-error", "later-error MS", (const char *)&err_later, later_request, CONTROL_MAY_DEFER },
		{ "later-gone", "later-gone MS", (const char *)&gone_later, later_request, CONTROL_MAY_DEFER },
		{ "try-defer", "try-defer", "a row without the flag", try_defer_request, 0 },
	};
	e.server.table = table;
	e.server.n_table = sizeof(table) / sizeof(table[0]);

	int a = client_connect(&e), b = client_connect(&e), g = client_connect(&e);
	CHECK(a >= 0 && b >= 0 && g >= 0, "connect");
	CHECK(send(a, "later 300", 9, 0) == 9 && send(b, "later-error 100", 15, 0) == 15 &&
	      send(g, "later-gone 100", 14, 0) == 14, "send");
	close(g);                                    /* gone before its answer */
	long long start = now_ms();
	ssize_t n = await_reply(&e, b, reply, sizeof(reply), 3000);
	CHECK(n > 0, "no deferred error reply");
	CHECK_STR(reply, "error ENOENT no such thing");
	CHECK(!ok_later.answered, "the 300 ms answer came before the 100 ms one");
	ask(&e, "try-defer", reply, sizeof(reply));
	CHECK_STR(reply, "error EIO the request gave no reply");
	n = await_reply(&e, a, reply, sizeof(reply), 3000);
	CHECK(n > 0, "no deferred reply");
	CHECK_STR(reply, "ok");
	CHECK(now_ms() - start >= 280, "the 300 ms answer came after %lld ms", now_ms() - start);
	CHECK(gone_later.answered, "the gone client's answer never ran");
	CHECK(e.server.conns == NULL, "connections left after every answer");

	/* One deferred request still open when the server closes: its client sees the close. */
	struct later never = { .rc = 0 };
	const struct control_request table2[] = {
		{ "later", "later MS", (const char *)&never, later_request, CONTROL_MAY_DEFER },
	};
	e.server.table = table2;
	e.server.n_table = 1;
	int c = client_connect(&e);
	CHECK(c >= 0 && send(c, "later 100000", 12, 0) == 12, "send");
	for (int i = 0; i < 5; i++)
		event_loop_run_once(&e.loop, 10);
	CHECK(e.server.conns != NULL, "the deferred connection is not kept");
	control_server_close(&e.server);
	struct pollfd p = { .fd = c, .events = POLLIN };
	CHECK(poll(&p, 1, 1000) == 1 && recv(c, reply, sizeof(reply), MSG_DONTWAIT) == 0,
	      "the deferred client saw no close when the server closed");
	close(a);
	close(b);
	close(c);
	env_down(&e);
}

/* bin/xenith-ctl beside this build ($XENITH_TEST_BUILD/bin, then ../bin from this binary). */
static bool find_ctl(char *path, size_t len)
{
	const char *build = getenv("XENITH_TEST_BUILD");
	char self[PATH_MAX];

	if (build) {
		snprintf(path, len, "%.*s/bin/xenith-ctl", PATH_MAX - 32, build);
		if (!access(path, X_OK))
			return true;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	snprintf(path, len, "%.*s/../bin/xenith-ctl", PATH_MAX - 32, self);
	return !access(path, X_OK);
}

/* Runs xenith-ctl 7 WORDS... against the server, serving the loop meanwhile; its stdout and stderr
 * into out, its exit status returned (-1: could not run or did not end within 5 s). */
static int run_ctl(struct env *e, const char *ctl, char *const words[], char *out, size_t len)
{
	char rundir[128], domid[16];
	char *argv[8] = { (char *)ctl, domid };
	int pipe_fds[2], status = -1;
	size_t used = 0;

	snprintf(rundir, sizeof(rundir), "XENITH_RUNDIR=%s", e->dir);
	snprintf(domid, sizeof(domid), "%d", FAKE_DOMID);
	for (int i = 0; words[i] && i < 5; i++)
		argv[2 + i] = words[i];
	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char *envp[] = { rundir, NULL };
		dup2(pipe_fds[1], 1);
		dup2(pipe_fds[1], 2);
		execve(ctl, argv, envp);
		_exit(127);
	}
	close(pipe_fds[1]);
	fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
	long long start = now_ms();
	out[0] = '\0';
	while (pid > 0 && now_ms() - start < 5000) {
		event_loop_run_once(&e->loop, 10);
		ssize_t n = read(pipe_fds[0], out + used, len - 1 - used);
		if (n > 0)
			used += (size_t)n;
		out[used] = '\0';
		if (waitpid(pid, &status, WNOHANG) == pid) {
			while ((n = read(pipe_fds[0], out + used, len - 1 - used)) > 0)
				used += (size_t)n;
			out[used] = '\0';
			pid = 0;
		}
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		status = -1;
	}
	close(pipe_fds[0]);
	return status < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_real_client(struct unit *u, const void *arg)
{
	const char *ctl = arg;
	struct env e;
	char out[CONTROL_REPLY_MAX + 256];

	if (!env_up(u, &e))
		return;
	e.dom->state = DOMAIN_RUNNING;
	int rc = run_ctl(&e, ctl, (char *[]){ "info", NULL }, out, sizeof(out));
	CHECK(rc == 0, "xenith-ctl info exited %d: %s", rc, out);
	CHECK(!strcmp(out, "domid=7 name=testdom mem=8 vcpus=1 state=-b---- cputime=0.000 hypercalls=0 "
			   "unseen_hypercalls=0 mem_kb=8192 maxmem_kb=8192 target_kb=0 "
			   "uuid=6b1e7c5e-0000-4000-8000-000000000007 type=pvh user_exits=0\n"), "xenith-ctl info printed '%s'", out);
	rc = run_ctl(&e, ctl, (char *[]){ "vif-detach", "9", NULL }, out, sizeof(out));
	CHECK(rc == 1 && !strcmp(out, "xenith-ctl: error ENOENT no vif 9\n"), "vif-detach 9: exit %d, '%s'", rc,
	      out);
	rc = run_ctl(&e, ctl, (char *[]){ "grant-read", "x", "4", NULL }, out, sizeof(out));
	CHECK(rc == 1 && !strcmp(out, "xenith-ctl: error EINVAL usage: grant-read REF LEN\n"),
	      "grant-read x 4: exit %d, '%s'", rc, out);
	env_down(&e);
}

int main(void)
{
	char ctl[PATH_MAX];
	struct unit u = UNIT_INIT;

	signal(SIGPIPE, SIG_IGN);
	unit_case(&u, "control: every request's reply, byte for byte; the size limit", test_replies, NULL);
	unit_case(&u, "control: the request table's rows are whole and unique", test_table, NULL);
	unit_case(&u, "control: a silent client is dropped at its deadline, others answered meanwhile",
		  test_silent_client, NULL);
	unit_case(&u, "control: past the bound of waiting connections one is refused EBUSY", test_waiting_bound,
		  NULL);
	unit_case(&u, "control: deferred replies come later, to a gone client too, and close with the server",
		  test_deferred, NULL);
	if (find_ctl(ctl, sizeof(ctl)))
		unit_case(&u, "control: the real xenith-ctl gets its replies through the server", test_real_client, ctl);
	else
		printf("skip - control: the real xenith-ctl gets its replies: no bin/xenith-ctl beside this build "
		       "(XENITH_TEST_BUILD/bin or ../bin; `make tools` builds it)\n");
	return unit_finish(&u);
}
