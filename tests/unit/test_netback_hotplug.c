/* vif hotplug scripts on the VMM's main loop (backends/netback.c, pv_backends.c): a vif-attach
 * or vif-detach request runs its script as a child watched on the loop and is answered when the
 * script ends, while the loop keeps serving.  No KVM: a fake domain whose RAM is a memfd, linked to
 * the real xenstored (started by the link, as in a VMM), real TAP devices in a network namespace of
 * this test's own, and real shell scripts.  Needs root (the namespace, /dev/net/tun). */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "pv_xs_fixture.h"
#include "vmm/control.h"

/* One script for every case: what it does comes from its own file name. */
static const char script_text[] =
	"#!/bin/sh\n"
	"dir=$(dirname \"$0\")\n"
	"echo \"$1 start $vif\" >>\"$dir/trace\"\n"
	"case \"$(basename \"$0\")\" in\n"
	"slow) sleep 0.3 ;;\n"
	"failing) [ \"$1\" = online ] && { sleep 0.2; echo 'no bridge here' >&2; exit 1; } ;;\n"
	"hang) [ \"$1\" = online ] && sleep 30 ;;\n"
	"esac\n"
	"echo \"$1 end $vif\" >>\"$dir/trace\"\n";

struct fixture {
	struct pv_xs_fixture x;
	unsigned int ticks;          /* a 20 ms ticker on the same loop: it is not blocked */
	uint64_t tick_id;
};

static void tick(void *opaque)
{
	struct fixture *f = opaque;

	f->ticks++;
	event_loop_timer_add(&f->x.loop, 20, tick, f, &f->tick_id);
}

static bool run_until_answered(struct fixture *f, int ms)
{
	long long end = pv_xs_now_ms() + ms;

	while (!f->x.answer.answered && pv_xs_now_ms() < end)
		event_loop_run_once(&f->x.loop, 20);
	return f->x.answer.answered;
}

static bool link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

static char *read_log(struct fixture *f)
{
	static char buf[4096];
	char path[128];

	snprintf(path, sizeof(path), "%s/trace", f->x.dir);
	FILE *l = fopen(path, "r");
	size_t n = l ? fread(buf, 1, sizeof(buf) - 1, l) : 0;
	if (l)
		fclose(l);
	buf[n] = '\0';
	return buf;
}

static char *store_read(struct fixture *f, const char *path)
{
	return pv_xs_read(&f->x, path, NULL);
}

static bool setup(struct unit *u, struct fixture *f)
{
	static const struct pv_xs_options hotplug = { .tag = "nb-hotplug", .domain = "hotplugtest" };
	static const char *const names[] = { "slow", "failing", "hang" };

	memset(f, 0, sizeof(*f));
	if (!pv_xs_setup(u, &f->x, &hotplug))
		return false;
	for (size_t i = 0; i < 3; i++)
		pv_xs_write_script(&f->x, names[i], script_text);
	event_loop_timer_add(&f->x.loop, 20, tick, f, &f->tick_id);
	return true;
}

static void teardown(struct fixture *f)
{
	pv_xs_teardown(&f->x);
}

/* Sends `verb arg` as the control socket would; true when the answer is deferred. */
static bool request(struct fixture *f, const char *verb, const char *arg, char *reply, size_t len)
{
	f->x.answer = (struct pv_xs_answer){ 0 };
	return pv_backend_request(f->x.d, verb, arg, reply, len, pv_xs_answered, &f->x.answer);
}

static void spec(struct fixture *f, char *out, size_t len, int devid, const char *script)
{
	snprintf(out, len, "devid=%d,vifname=xthp%d,bridge=xenbr0,mac=00:16:3e:00:00:%02x,script=%s/%s",
		 devid, devid, devid, f->x.dir, script);
}

/* A slow `online`: the request is deferred, the loop keeps ticking, the answer is xl's ok line,
 * and meanwhile the devid is taken and a detach of it is refused. */
static void test_slow_attach_and_detach(struct unit *u, const void *arg)
{
	struct fixture f;
	char s[256], reply[512], path[128], *v;

	(void)arg;
	if (!setup(u, &f))
		goto out;
	spec(&f, s, sizeof(s), 1, "slow");
	unsigned int ticks = f.ticks;
	long long start = pv_xs_now_ms();
	CHECK(request(&f, "vif-attach", s, reply, sizeof(reply)), "the attach was not deferred: '%s'", reply);
	CHECK(pv_xs_now_ms() - start < 200, "the request waited %lld ms for its script", pv_xs_now_ms() - start);
	CHECK(link_exists("xthp1"), "no TAP while `online` runs");
	char busy[256];
	struct pv_xs_answer kept = f.x.answer;
	CHECK(!request(&f, "vif-detach", "1", busy, sizeof(busy)), "detach of an attaching vif deferred");
	CHECK_STR(busy, "error EBUSY vif 1 is still being attached");
	f.x.answer = kept;
	CHECK(run_until_answered(&f, 5000), "no answer to the attach");
	CHECK(f.x.answer.rc == 0, "attach answered %d: %s", f.x.answer.rc, f.x.answer.msg);
	CHECK_STR(f.x.answer.msg, "devid=1 vifname=xthp1");
	CHECK(f.ticks >= ticks + 8, "the loop ticked %u times during a 300 ms script", f.ticks - ticks);
	CHECK(strstr(read_log(&f), "online end xthp1") != NULL, "script log: %s", read_log(&f));
	snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%d/1/hotplug-status", FAKE_DOMID);
	v = store_read(&f, path);
	CHECK(v && !strcmp(v, "connected"), "hotplug-status: %s", v ? v : "(none)");
	free(v);

	/* Detach: `offline` runs on the loop; the TAP stays until it ended, the answer comes after. */
	ticks = f.ticks;
	CHECK(request(&f, "vif-detach", "1", reply, sizeof(reply)), "detach not deferred: '%s'", reply);
	CHECK(run_until_answered(&f, 15000), "no answer to the detach");
	CHECK(f.x.answer.rc == 0, "detach answered %d: %s", f.x.answer.rc, f.x.answer.msg);
	CHECK(strstr(read_log(&f), "offline end xthp1") != NULL, "offline did not finish before the answer: %s",
	      read_log(&f));
	CHECK(!link_exists("xthp1"), "the TAP outlived its detach");
	CHECK(f.ticks > ticks, "the loop did not tick during the detach");
	v = store_read(&f, path);
	CHECK(v == NULL, "backend node left: %s", v);
	free(v);
	CHECK(!request(&f, "vif-list", NULL, reply, sizeof(reply)), "list deferred");
	CHECK_STR(reply, "ok");
out:
	teardown(&f);
}

/* A failing `online`: the answer is the script's message, and nothing of the vif is left. */
static void test_failing_attach(struct unit *u, const void *arg)
{
	struct fixture f;
	char s[256], reply[512], path[128], *v;

	(void)arg;
	if (!setup(u, &f))
		goto out;
	spec(&f, s, sizeof(s), 2, "failing");
	CHECK(request(&f, "vif-attach", s, reply, sizeof(reply)), "not deferred: '%s'", reply);
	CHECK(run_until_answered(&f, 5000), "no answer");
	CHECK(f.x.answer.rc == -EIO, "rc %d", f.x.answer.rc);
	CHECK(strstr(f.x.answer.msg, "vif 2 (xthp2): ") == f.x.answer.msg && strstr(f.x.answer.msg, "no bridge here"),
	      "message: %s", f.x.answer.msg);
	CHECK(strstr(read_log(&f), "offline end xthp2") != NULL, "`offline` did not undo a failed `online`: %s",
	      read_log(&f));
	CHECK(!link_exists("xthp2"), "TAP left");
	snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%d/2", FAKE_DOMID);
	v = store_read(&f, path);
	CHECK(v == NULL, "backend directory left");
	free(v);
	CHECK(!request(&f, "vif-list", NULL, reply, sizeof(reply)), "list deferred");
	CHECK_STR(reply, "ok");
out:
	teardown(&f);
}

/* The domain goes while `online` hangs: the script is killed, `offline` runs, the request is
 * answered with an error, nothing is left. */
static void test_teardown_during_attach(struct unit *u, const void *arg)
{
	struct fixture f;
	char s[256], reply[512];

	(void)arg;
	if (!setup(u, &f))
		goto out;
	spec(&f, s, sizeof(s), 3, "hang");
	CHECK(request(&f, "vif-attach", s, reply, sizeof(reply)), "not deferred: '%s'", reply);
	long long end = pv_xs_now_ms() + 300;
	while (pv_xs_now_ms() < end)
		event_loop_run_once(&f.x.loop, 20);
	CHECK(!f.x.answer.answered, "answered before its script ended");
	long long start = pv_xs_now_ms();
	pv_backends_teardown_all(f.x.d);
	CHECK(pv_xs_now_ms() - start < 5000, "teardown waited %lld ms", pv_xs_now_ms() - start);
	CHECK(f.x.answer.answered && f.x.answer.rc == -EIO, "answer %d rc %d: %s", f.x.answer.answered, f.x.answer.rc,
	      f.x.answer.msg);
	CHECK(strstr(read_log(&f), "offline end xthp3") != NULL, "no `offline` at teardown: %s", read_log(&f));
	CHECK(strstr(read_log(&f), "online end xthp3") == NULL, "the hung `online` was not killed");
	CHECK(!link_exists("xthp3"), "TAP left");
out:
	teardown(&f);
}

/* Through the real control socket: a connection's "vif-attach SPEC" (and "vif-detach N") is
 * answered with xl's lines, byte for byte, once the 300 ms script ended, the loop ticking meanwhile
 * and other requests answered at once. */
static int control_client(const char *sock, const char *request)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%.100s", sock);
	if (fd >= 0 && (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
			send(fd, request, strlen(request), 0) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs the loop until fd has a reply (or hang-up) or limit_ms passed; the reply, "(closed)" or
 * "(no reply)" in out. */
static void control_await(struct fixture *f, int fd, char *out, size_t len, int limit_ms)
{
	long long end = pv_xs_now_ms() + limit_ms;

	snprintf(out, len, "(no reply)");
	while (pv_xs_now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 0) == 1) {
			ssize_t n = recv(fd, out, len - 1, MSG_DONTWAIT);
			if (n > 0)
				out[n] = '\0';
			else
				snprintf(out, len, "(closed)");
			return;
		}
		event_loop_run_once(&f->x.loop, 10);
	}
}

static void test_control_socket_lines(struct unit *u, const void *arg)
{
	struct fixture f;
	struct control_server server = { 0 };
	char s[300], sock[128], err[256], reply[512], other[512];
	int listen_fd = -1, fd = -1;

	(void)arg;
	if (!setup(u, &f))
		goto out;
	snprintf(sock, sizeof(sock), "%s/control.sock", f.x.dir);
	listen_fd = control_listen(sock, err, sizeof(err));
	CHECK(listen_fd >= 0, "control_listen: %s", err);
	CHECK(control_serve(&server, &f.x.loop, listen_fd, f.x.d, NULL, NULL) == 0, "control_serve");

	snprintf(s, sizeof(s), "vif-attach ");
	spec(&f, s + strlen(s), sizeof(s) - strlen(s), 4, "slow");
	long long start = pv_xs_now_ms();
	unsigned int ticks = f.ticks;
	fd = control_client(sock, s);
	CHECK(fd >= 0, "connect to %s", sock);
	control_await(&f, fd, reply, sizeof(reply), 150);
	CHECK_STR(reply, "(no reply)");
	int list = control_client(sock, "vif-list");
	CHECK(list >= 0, "connect for vif-list");
	control_await(&f, list, other, sizeof(other), 1000);
	close(list);
	CHECK(strncmp(other, "ok", 2) == 0, "vif-list while `online` runs: '%s'", other);
	control_await(&f, fd, reply, sizeof(reply), 5000);
	CHECK_STR(reply, "ok devid=4 vifname=xthp4");
	CHECK(pv_xs_now_ms() - start >= 300, "answered after %lld ms, before its script ended", pv_xs_now_ms() - start);
	CHECK(f.ticks >= ticks + 8, "the loop ticked %u times during a 300 ms script", f.ticks - ticks);
	close(fd);

	fd = control_client(sock, "vif-detach 4");
	CHECK(fd >= 0, "connect for vif-detach");
	control_await(&f, fd, reply, sizeof(reply), 15000);
	CHECK_STR(reply, "ok");
	CHECK(strstr(read_log(&f), "offline end xthp4") != NULL, "answered before `offline` ended: %s",
	      read_log(&f));
	CHECK(!link_exists("xthp4"), "the TAP outlived its detach");
out:
	if (fd >= 0)
		close(fd);
	if (listen_fd >= 0) {
		control_server_close(&server);
		close(listen_fd);
		unlink(sock);
	}
	teardown(&f);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0 || access("/dev/net/tun", R_OK | W_OK)) {
		printf("skip - netback-hotplug: needs root, a network namespace and /dev/net/tun\n");
		return unit_finish(&u);
	}
	unit_case(&u, "slow-online-and-offline-do-not-block-the-loop", test_slow_attach_and_detach, NULL);
	unit_case(&u, "failing-online-answers-its-message-and-leaves-nothing", test_failing_attach, NULL);
	unit_case(&u, "teardown-kills-a-hung-online", test_teardown_during_attach, NULL);
	unit_case(&u, "control-socket-answers-xl-s-lines-after-the-scripts", test_control_socket_lines, NULL);
	return unit_finish(&u);
}
