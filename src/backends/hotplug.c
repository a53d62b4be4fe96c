/* Running a hotplug script without holding up the VMM's main loop.
 *
 * posix_spawn starts the child (glibc's is vfork-like: no copy of the VMM's page tables, which map
 * all of guest RAM, and a failed exec is reported to us rather than from a half-forked child).  The
 * child leads a process group of its own, so that a timeout or a cancel also kills what the script
 * started (a `sleep`, an `ip monitor`).  On the loop we watch:
 *   - its stderr pipe, whose tail becomes the message;
 *   - a pidfd, readable once it exited: then the pipe is drained and the child reaped.  We do not
 *     wait for the pipe's end of file, which a grandchild may hold open for ever;
 *   - a timer: at the timeout the group is SIGKILLed, and the pidfd then ends it as any exit.
 * The child stays unreaped until the pidfd says it ended, so its pid (and group) cannot be reused
 * while we may still signal it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "backends/hotplug.h"
#include "lib/error.h"
#include "vmm/event_loop.h"

#define ENV_MAX 32
#define HOTPLUG_OUT_MAX 1024          /* the tail of the script's stderr we keep */
_Static_assert(HOTPLUG_MSG_MAX >= HOTPLUG_OUT_MAX + 512, "hotplug.h's message size holds the tail");

struct hotplug {
	struct event_loop *loop;
	pid_t pid;
	int pidfd;
	int err_fd;                    /* read end of the child's stderr; -1 once at its end */
	uint64_t timer;
	unsigned int timeout_ms;
	bool killed;
	hotplug_done_fn done;
	void *ctx;
	char *script;
	char *command;
	char out[HOTPLUG_OUT_MAX];
	size_t used;
};

/* Keeps the tail of what the script printed, on one line. */
static void keep(struct hotplug *h, const char *buf, size_t n)
{
	const size_t cap = sizeof(h->out);

	for (size_t i = 0; i < n; i++) {
		char c = buf[i] == '\n' || buf[i] == '\t' ? ' ' : buf[i];
		if ((unsigned char)c < 0x20)
			continue;
		if (h->used + 1 >= cap) {
			memmove(h->out, h->out + cap / 2, h->used - cap / 2);
			h->used -= cap / 2;
		}
		h->out[h->used++] = c;
	}
	h->out[h->used] = '\0';
}

static void stop_reading(struct hotplug *h)
{
	if (h->err_fd < 0)
		return;
	event_loop_remove(h->loop, h->err_fd);
	close(h->err_fd);
	h->err_fd = -1;
}

/* Reads what the pipe holds now; at its end (or an error) stops watching it. */
static void drain(struct hotplug *h)
{
	char buf[512];

	while (h->err_fd >= 0) {
		ssize_t got = read(h->err_fd, buf, sizeof(buf));
		if (got > 0)
			keep(h, buf, (size_t)got);
		else if (got < 0 && errno == EINTR)
			continue;
		else if (got < 0 && errno == EAGAIN)
			return;
		else
			stop_reading(h);
	}
}

static void on_stderr(void *opaque, uint32_t events)
{
	(void)events;
	drain(opaque);
}

static void free_handle(struct hotplug *h)
{
	stop_reading(h);
	if (h->pidfd >= 0) {
		event_loop_remove(h->loop, h->pidfd);
		close(h->pidfd);
	}
	event_loop_timer_cancel(h->loop, h->timer);
	free(h->script);
	free(h->command);
	free(h);
}

/* The message for an ended child; 0 when it exited 0. */
static int outcome(const struct hotplug *h, int status, char *msg, size_t msglen)
{
	const char *sep = h->used ? ": " : "";

	msg[0] = '\0';
	if (h->killed) {
		if (h->timeout_ms % 1000)
			snprintf(msg, msglen, "%s %s killed after %u ms%s%s", h->script, h->command,
				 h->timeout_ms, sep, h->out);
		else
			snprintf(msg, msglen, "%s %s killed after %u s%s%s", h->script, h->command,
				 h->timeout_ms / 1000, sep, h->out);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(msg, msglen, "%s %s failed (exit %d)%s%s", h->script, h->command, WEXITSTATUS(status),
			 sep, h->out);
	else
		snprintf(msg, msglen, "%s %s died of signal %d%s%s", h->script, h->command, WTERMSIG(status),
			 sep, h->out);
	return -1;
}

static void on_exit_of_child(void *opaque, uint32_t events)
{
	struct hotplug *h = opaque;
	char msg[HOTPLUG_MSG_MAX];
	int status = 0;

	(void)events;
	pid_t r = waitpid(h->pid, &status, WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return;                       /* not yet: the pidfd stays readable until it is */
	if (r < 0) {
		LOG("hotplug %s %s: waitpid: %s", h->script, h->command, strerror(errno));
		status = 0xff00;              /* reads as exit 255 */
	}
	drain(h);                             /* what it wrote before it exited is in the pipe */
	while (h->used && h->out[h->used - 1] == ' ')
		h->out[--h->used] = '\0';
	if (h->used)
		LOG("%s %s: %s", h->script, h->command, h->out);
	int rc = outcome(h, status, msg, sizeof(msg));
	hotplug_done_fn done = h->done;
	void *ctx = h->ctx;
	free_handle(h);                       /* before done, which may start the next script */
	done(ctx, rc, msg);
}

static void on_timeout(void *opaque)
{
	struct hotplug *h = opaque;

	h->timer = 0;
	h->killed = true;
	kill(-h->pid, SIGKILL);
}

/* argv and envp for the child, built before it exists (nothing is allocated in it). */
static void spawn_child(const struct hotplug_call *call, int err_w, pid_t *pid, int *why)
{
	char *argv[] = { (char *)call->script, (char *)call->command, NULL };
	char *envp[ENV_MAX + 2];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int n = 0;

	envp[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (int i = 0; call->env && call->env[i] && n < ENV_MAX + 1; i++)
		envp[n++] = call->env[i];
	envp[n] = NULL;
	sigemptyset(&none);
	sigfillset(&all);                     /* the VMM blocks SIGTERM & co and ignores SIGPIPE */
	*why = posix_spawn_file_actions_init(&fa);
	if (*why)
		return;
	*why = posix_spawnattr_init(&attr);
	if (*why) {
		posix_spawn_file_actions_destroy(&fa);
		return;
	}
	if (!(*why = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
	    !(*why = posix_spawn_file_actions_adddup2(&fa, 2, 1)) &&
	    !(*why = posix_spawn_file_actions_adddup2(&fa, err_w, 2)) &&
	    !(*why = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						     POSIX_SPAWN_SETPGROUP)) &&
	    !(*why = posix_spawnattr_setsigmask(&attr, &none)) &&
	    !(*why = posix_spawnattr_setsigdefault(&attr, &all)) &&
	    !(*why = posix_spawnattr_setpgroup(&attr, 0)))
		*why = posix_spawn(pid, call->script, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
}

int hotplug_start(struct event_loop *loop, const struct hotplug_call *call, hotplug_done_fn done, void *ctx,
		  struct hotplug **out, char *msg, size_t msglen)
{
	struct hotplug *h = calloc(1, sizeof(*h));
	int pipe_fds[2] = { -1, -1 }, why = 0;
	const char *what = "";

	if (!h) {
		snprintf(msg, msglen, "cannot run %s: %s", call->script, strerror(ENOMEM));
		return -1;
	}
	*h = (struct hotplug){ .loop = loop, .pid = -1, .pidfd = -1, .err_fd = -1, .done = done, .ctx = ctx,
			       .timeout_ms = call->timeout_ms ? call->timeout_ms : HOTPLUG_TIMEOUT_S * 1000u,
			       .script = strdup(call->script), .command = strdup(call->command) };
	if (!h->script || !h->command) {
		why = ENOMEM;
		goto fail;
	}
	if (pipe2(pipe_fds, O_CLOEXEC) < 0 || fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK) < 0) {
		why = errno;
		what = "pipe: ";
		goto fail;
	}
	spawn_child(call, pipe_fds[1], &h->pid, &why);
	close(pipe_fds[1]);
	h->err_fd = pipe_fds[0];
	pipe_fds[0] = -1;
	if (why) {
		h->pid = -1;
		goto fail;
	}
	h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	if (h->pidfd < 0) {
		why = errno;
		what = "pidfd_open: ";
		goto fail;
	}
	int r = event_loop_add(loop, h->pidfd, EPOLLIN, on_exit_of_child, h);
	if (r || (r = event_loop_add(loop, h->err_fd, EPOLLIN, on_stderr, h)) ||
	    (r = event_loop_timer_add(loop, h->timeout_ms, on_timeout, h, &h->timer))) {
		why = -r;
		what = "watching it: ";
		goto fail;
	}
	*out = h;
	return 0;
fail:
	snprintf(msg, msglen, "cannot run %s: %s%s", call->script, what, strerror(why));
	if (pipe_fds[0] >= 0)
		close(pipe_fds[0]);
	if (h->pid > 0) {
		kill(-h->pid, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free_handle(h);                       /* removing what was never added is harmless */
	return -1;
}

void hotplug_cancel(struct hotplug *h)
{
	if (!h)
		return;
	kill(-h->pid, SIGKILL);
	while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
		;
	LOG("%s %s: cancelled", h->script, h->command);
	free_handle(h);
}

/* hotplug_run's wait: its own loop, which has nothing but this script to serve. */
struct hotplug_wait {
	bool finished;
	int rc;
	char *msg;
	size_t msglen;
};

static void wait_done(void *ctx, int rc, const char *msg)
{
	struct hotplug_wait *w = ctx;

	w->finished = true;
	w->rc = rc;
	snprintf(w->msg, w->msglen, "%s", msg);
}

int hotplug_run(const char *script, const char *command, char *const env[], char *msg, size_t msglen)
{
	const struct hotplug_call call = { .script = script, .command = command, .env = env };
	struct hotplug_wait w = { .msg = msg, .msglen = msglen };
	struct event_loop loop;
	struct hotplug *h;
	int r = event_loop_init(&loop);

	if (r) {
		snprintf(msg, msglen, "cannot run %s: epoll: %s", script, strerror(-r));
		return -1;
	}
	if (hotplug_start(&loop, &call, wait_done, &w, &h, msg, msglen)) {
		event_loop_destroy(&loop);
		return -1;
	}
	while (!w.finished)
		if ((r = event_loop_run_once(&loop, -1)) < 0) {
			hotplug_cancel(h);
			snprintf(msg, msglen, "%s %s: waiting: %s", script, command, strerror(-r));
			w.rc = -1;
			break;
		}
	event_loop_destroy(&loop);
	return w.rc;
}
