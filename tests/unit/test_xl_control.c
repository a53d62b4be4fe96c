/* xl's bounded control requests and its check of a VMM's identity (src/xl/xl_control.c, xl_vmm.c):
 * real SOCK_SEQPACKET sockets in a scratch run directory, served by forked processes that answer,
 * answer an error, are SIGSTOPped, or were SIGKILLed; and command lines xl must and must not take
 * for a domain's xenith-vmm. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "lib/unix_socket.h"
#include "unit.h"
#include "xl/xl_control.h"
#include "xl/xl_vmm.h"

struct cmdline_case {
	const char *name;
	const char *words;       /* '|' stands for NUL */
	bool match;
};

static const struct cmdline_case cmdlines[] = {
	{ "the VMM xl starts", "/usr/bin/xenith-vmm|--rundir|/run/x|--ready-fd|3|--name|web|", true },
	{ "relative binary", "xenith-vmm|--name|web|--rundir|/run/x|", true },
	{ "another binary", "/usr/bin/python3|--rundir|/run/x|--name|web|", false },
	{ "a binary named like it", "/usr/bin/xenith-vmm2|--rundir|/run/x|--name|web|", false },
	{ "another run directory", "xenith-vmm|--rundir|/run/y|--name|web|", false },
	{ "another name", "xenith-vmm|--rundir|/run/x|--name|web2|", false },
	{ "no name", "xenith-vmm|--rundir|/run/x|", false },
	{ "the name cut off", "xenith-vmm|--rundir|/run/x|--name|web", false },
	{ "empty", "", false },
};

static void test_cmdline(struct unit *u, const void *arg)
{
	const struct cmdline_case *c = arg;
	char buf[256];
	size_t len = strlen(c->words);

	memcpy(buf, c->words, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '|')
			buf[i] = '\0';
	CHECK(xl_vmm_cmdline_matches(buf, len, "/run/x", "web") == c->match, "'%s': expected %s",
	      c->words, c->match ? "a match" : "no match");
}

enum server_kind { SERVE_OK, SERVE_ERROR, SERVE_NEVER };

struct scratch {
	char dir[64];
	struct rundir rd;
	pid_t servers[8];
	int n_servers;
};

/* A process listening on domains/<domid>/control.sock, answering as `kind` says. */
static pid_t serve(struct scratch *s, unsigned int domid, enum server_kind kind)
{
	char path[PATH_MAX];
	int sync[2], fd;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/domains/%u", s->dir, domid);
	mkdir(path, 0755);
	strcat(path, "/control.sock");
	if (pipe(sync) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		if (fd < 0 || unix_socket_bind(fd, path) || listen(fd, 4) < 0)
			_exit(1);
		if (write(sync[1], "r", 1) != 1)
			_exit(1);
		for (;;) {
			char req[256];
			int c = kind == SERVE_NEVER ? -1 : accept(fd, NULL, NULL);

			if (c < 0) {
				pause();
				continue;
			}
			if (recv(c, req, sizeof(req), 0) > 0) {
				const char *reply = kind == SERVE_OK ? "ok domid=1 mem=32" : "error EBUSY busy now";
				send(c, reply, strlen(reply), MSG_NOSIGNAL);
			}
			close(c);
		}
	}
	char r;
	if (read(sync[0], &r, 1) != 1)
		pid = -1;
	close(sync[0]);
	close(sync[1]);
	if (pid > 0)
		s->servers[s->n_servers++] = pid;
	return pid;
}

static void scratch_end(struct scratch *s)
{
	char cmd[128];

	for (int i = 0; i < s->n_servers; i++) {
		kill(s->servers[i], SIGKILL);
		waitpid(s->servers[i], NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", s->dir);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_calls(struct unit *u, const void *arg)
{
	struct scratch s = { .dir = "/tmp/xl-control.XXXXXX" };
	char replies[5][512], expect[256];
	struct xl_call calls[5];
	pid_t stopped, dead;
	long long t0, spent;

	(void)arg;
	if (!mkdtemp(s.dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(s.rd.path, sizeof(s.rd.path), "%s", s.dir);
	snprintf(expect, sizeof(expect), "%s/domains", s.dir);
	mkdir(expect, 0755);
	serve(&s, 1, SERVE_OK);
	stopped = serve(&s, 2, SERVE_NEVER);
	dead = serve(&s, 3, SERVE_OK);
	serve(&s, 5, SERVE_ERROR);
	CHECK(stopped > 0 && dead > 0, "servers did not start");
	kill(stopped, SIGSTOP);
	kill(dead, SIGKILL);
	waitpid(dead, NULL, 0);
	for (unsigned int i = 0; i < 5; i++)
		calls[i] = (struct xl_call){ .domid = i + 1, .request = "info", .reply = replies[i],
					     .len = sizeof(replies[i]) };
	t0 = now_ms();
	xl_control_calls(&s.rd, calls, 5, 500);
	spent = now_ms() - t0;

	CHECK(calls[0].result == 0, "answering domain: %d %s", calls[0].result, replies[0]);
	CHECK_STR(replies[0], "domid=1 mem=32");
	CHECK(calls[0].vmm_pid == s.servers[0], "peer pid %d, server %d", (int)calls[0].vmm_pid,
	      (int)s.servers[0]);
	CHECK(calls[1].result == -ETIMEDOUT, "stopped domain: %d %s", calls[1].result, replies[1]);
	snprintf(expect, sizeof(expect), "(pid %d, ", (int)stopped);
	CHECK(strstr(replies[1], expect) && strstr(replies[1], "stopped) did not answer 'info' within 500 ms"),
	      "stopped domain's message: %s", replies[1]);
	CHECK(calls[2].result == -ESRCH && calls[2].refused, "dead VMM: %d refused %d", calls[2].result,
	      calls[2].refused);
	CHECK(calls[3].result == -ESRCH && !calls[3].refused, "no domain 4: %d refused %d",
	      calls[3].result, calls[3].refused);
	CHECK(calls[4].result == -EBUSY, "error reply: %d", calls[4].result);
	CHECK_STR(replies[4], "busy now");
	/* All five together cost the bound once. */
	CHECK(spent >= 450 && spent < 1200, "the calls took %lld ms for a 500 ms bound", spent);

	/* A stranger is never signalled; it is still there. */
	char why[512];
	int r = xl_vmm_signal(stopped, s.dir, "web", SIGKILL, 500, why, sizeof(why));
	CHECK(r == -EPERM, "signal of a stranger: %d %s", r, why);
	CHECK(kill(stopped, 0) == 0, "the stranger was killed");
	CHECK(strstr(why, "is not the xenith-vmm of domain 'web'"), "why: %s", why);
	kill(stopped, SIGCONT);
	scratch_end(&s);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(cmdlines) / sizeof(cmdlines[0]); i++) {
		char name[128];

		snprintf(name, sizeof(name), "vmm cmdline: %s", cmdlines[i].name);
		unit_case(&u, name, test_cmdline, &cmdlines[i]);
	}
	unit_case(&u, "control calls: ok, stopped, dead, gone, error under one bound", test_calls, NULL);
	return unit_finish(&u);
}
