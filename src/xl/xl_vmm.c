/* A domain's VMM as a process (xl_vmm.h).
 *
 * Killing by pid is only safe on the right process.  The pid xl has may be stale (the VMM died
 * and the number was reused) or belong to a stranger (any process may bind a socket where a
 * control socket was).  So a pidfd is opened first; the process is then checked through /proc
 * (its command line names xenith-vmm, our run directory and the domain's name); and a poll of the
 * pidfd confirms it had not exited meanwhile, so that what /proc showed was that process.  Only
 * then does the signal go, through the pidfd. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "xl/xl_vmm.h"

#define CMDLINE_MAX 65536        /* a VMM's arguments: paths, a --cmdline, 32 device specs */
#define VMM_BINARY "xenith-vmm"

int xl_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int xl_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* /proc/PID/<what> into buf; bytes read, or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	size_t got = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += (size_t)n;
	close(fd);
	return (ssize_t)got;
}

/* The state letter and command name from /proc/PID/stat; false if there is no such process. */
static bool proc_stat(pid_t pid, char *state, char *comm, size_t commlen)
{
	char buf[1024], *open_paren, *close_paren;
	ssize_t n = read_proc(pid, "stat", buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');     /* the name itself may hold ')' */
	if (!open_paren || !close_paren || close_paren < open_paren || close_paren[1] != ' ')
		return false;
	snprintf(comm, commlen, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	*state = close_paren[2];
	return true;
}

static const struct {
	char letter;
	const char *words;
} states[] = {
	{ 'R', "running" },
	{ 'S', "sleeping" },
	{ 'D', "in uninterruptible sleep" },
	{ 'T', "stopped" },
	{ 't', "stopped by a debugger" },
	{ 'Z', "a zombie" },
	{ 'X', "dead" },
	{ 'I', "idle" },
};

static const char *state_words(char letter)
{
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (states[i].letter == letter)
			return states[i].words;
	return "in an unknown state";
}

bool xl_vmm_cmdline_matches(const char *cmdline, size_t len, const char *rundir, const char *name)
{
	const char *end = cmdline + len, *word = cmdline, *base, *prev = NULL;
	bool rundir_ok = false, name_ok = false;

	if (!len || memchr(cmdline, '\0', len) == NULL)
		return false;
	base = strrchr(word, '/');
	base = base ? base + 1 : word;
	if (strcmp(base, VMM_BINARY))
		return false;
	/* Each word ends in a NUL; a last word without one was cut off and is not looked at. */
	for (word += strlen(word) + 1; word < end; word += strlen(word) + 1) {
		if (!memchr(word, '\0', (size_t)(end - word)))
			break;
		if (prev && !strcmp(prev, "--rundir"))
			rundir_ok = !strcmp(word, rundir);
		else if (prev && !strcmp(prev, "--name"))
			name_ok = !strcmp(word, name);
		prev = word;
	}
	return rundir_ok && name_ok;
}

static bool pid_is_vmm_of(pid_t pid, const char *rundir, const char *name)
{
	char *buf = malloc(CMDLINE_MAX);
	ssize_t n;
	bool ok;

	if (!buf)
		return false;
	n = read_proc(pid, "cmdline", buf, CMDLINE_MAX);
	ok = n > 0 && xl_vmm_cmdline_matches(buf, (size_t)n, rundir, name);
	free(buf);
	return ok;
}

static bool pid_runs_vmm(pid_t pid)
{
	char buf[4096], *base;
	ssize_t n = read_proc(pid, "cmdline", buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	base = strrchr(buf, '/');
	return !strcmp(base ? base + 1 : buf, VMM_BINARY);
}

void xl_vmm_describe(pid_t pid, char *buf, size_t len)
{
	char comm[64], state;

	if (pid <= 0) {
		snprintf(buf, len, "its VMM (pid unknown)");
		return;
	}
	if (!proc_stat(pid, &state, comm, sizeof(comm))) {
		snprintf(buf, len, "its VMM (pid %d, which has exited)", (int)pid);
		return;
	}
	if (pid_runs_vmm(pid))
		snprintf(buf, len, "its VMM (pid %d, %s)", (int)pid, state_words(state));
	else
		snprintf(buf, len, "the process serving its control socket (pid %d, %s, %s)", (int)pid,
			 comm, state_words(state));
}

pid_t xl_vmm_find(const char *rundir, const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (pid_is_vmm_of((pid_t)pid, rundir, name))
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

int xl_pidfd_wait(int pidfd, int timeout_ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		long spent;
		int n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		n = poll(&p, 1, spent >= timeout_ms ? 0 : (int)(timeout_ms - spent));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int xl_vmm_wait_exit(pid_t pid, int timeout_ms)
{
	int pidfd, r;

	if (pid <= 0)
		return 0;
	pidfd = xl_pidfd_open(pid);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : -errno;
	r = xl_pidfd_wait(pidfd, timeout_ms);
	close(pidfd);
	return r;
}

int xl_vmm_signal(pid_t pid, const char *rundir, const char *name, int sig, int timeout_ms,
		  char *why, size_t len)
{
	char comm[64] = "?", state = '?';
	int pidfd, r;

	if (pid <= 0) {
		snprintf(why, len, "no process to signal");
		return -ESRCH;
	}
	pidfd = xl_pidfd_open(pid);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return 0;
		r = -errno;
		snprintf(why, len, "cannot hold pid %d: %s", (int)pid, strerror(-r));
		return r;
	}
	if (!pid_is_vmm_of(pid, rundir, name)) {
		proc_stat(pid, &state, comm, sizeof(comm));
		snprintf(why, len, "pid %d (%s) is not the xenith-vmm of domain '%s' in %s", (int)pid,
			 comm, name, rundir);
		r = xl_pidfd_wait(pidfd, 0) == 0 ? 0 : -EPERM;   /* gone meanwhile: nothing to do */
		goto out;
	}
	if (xl_pidfd_wait(pidfd, 0) == 0) {   /* exited after all: /proc may have shown a successor */
		r = 0;
		goto out;
	}
	if (xl_pidfd_signal(pidfd, sig) < 0 && errno != ESRCH) {
		r = -errno;
		snprintf(why, len, "cannot signal pid %d: %s", (int)pid, strerror(-r));
		goto out;
	}
	r = xl_pidfd_wait(pidfd, timeout_ms);
	if (r == -ETIMEDOUT) {
		proc_stat(pid, &state, comm, sizeof(comm));
		snprintf(why, len, "pid %d is still there %d s after SIG%s (it is %s)", (int)pid,
			 timeout_ms / 1000, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
			 state_words(state));
	}
out:
	close(pidfd);
	return r;
}
