/* Running a hotplug script and telling the caller what it said.  The VMM's main thread waits for
 * it (bounded), as an attach is not done until the script has wired the device up. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "backends/hotplug.h"
#include "lib/error.h"

#define ENV_MAX 32

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child(const char *script, const char *command, char *const env[], int err_fd)
{
	char *argv[] = { (char *)script, (char *)command, NULL };
	char *envp[ENV_MAX + 2];
	int n = 0, null_fd = open("/dev/null", O_RDONLY);
	sigset_t none;

	envp[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (int i = 0; env[i] && n < ENV_MAX + 1; i++)
		envp[n++] = env[i];
	envp[n] = NULL;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);      /* the VMM blocks SIGTERM & co for its signalfd */
	signal(SIGPIPE, SIG_DFL);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(2, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(126);
	execve(script, argv, envp);
	dprintf(2, "cannot run %s: %s\n", script, strerror(errno));
	_exit(127);
}

/* Keeps the tail of what the script printed, on one line. */
static void keep(char *msg, size_t msglen, size_t *used, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && msglen; i++) {
		char c = buf[i] == '\n' || buf[i] == '\t' ? ' ' : buf[i];
		if ((unsigned char)c < 0x20)
			continue;
		if (*used + 1 >= msglen) {
			memmove(msg, msg + msglen / 2, *used - msglen / 2);
			*used -= msglen / 2;
		}
		msg[(*used)++] = c;
	}
	if (msglen)
		msg[*used] = '\0';
}

int hotplug_run(const char *script, const char *command, char *const env[], char *msg, size_t msglen)
{
	char out[1024] = "", buf[512];
	size_t used = 0;
	int pipe_fds[2], status = 0;
	long long deadline = now_ms() + HOTPLUG_TIMEOUT_S * 1000ll;
	bool killed = false;

	if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "cannot run %s: %s", script, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "cannot run %s: %s", script, strerror(errno));
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return -1;
	}
	if (!pid)
		child(script, command, env, pipe_fds[1]);
	close(pipe_fds[1]);
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = pipe_fds[0], .events = POLLIN };
		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		ssize_t got = read(pipe_fds[0], buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		keep(out, sizeof(out), &used, buf, (size_t)got);
	}
	close(pipe_fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	while (used && out[used - 1] == ' ')
		out[--used] = '\0';
	if (used)
		LOG("%s %s: %s", script, command, out);
	if (killed) {
		snprintf(msg, msglen, "%s %s killed after %d s%s%s", script, command, HOTPLUG_TIMEOUT_S,
			used ? ": " : "", out);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(msg, msglen, "%s %s failed (exit %d)%s%s", script, command, WEXITSTATUS(status),
			used ? ": " : "", out);
	else
		snprintf(msg, msglen, "%s %s died of signal %d%s%s", script, command, WTERMSIG(status),
			used ? ": " : "", out);
	return -1;
}
