/* The console client, xenconsole's job in Xen: the VMM's console backend owns a pty master and
 * names the slave in domains/<id>/console.tty; we open the slave and copy both ways.
 *
 * Every way out goes through one `out:` that puts the terminal back: Ctrl-] on stdin (detach), the
 * pty hanging up (EIO or EOF once the VMM closes the master: the domain ended or restarted under a
 * new ID), stdout going away, or a terminating signal.  Signals arrive through a signalfd in the
 * poll loop, so none can kill us with the terminal still raw; once it is restored, a SIGINT/
 * SIGTERM/SIGHUP/SIGQUIT we received is raised again so that xl dies of it as it should. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>
#include "xl/xl_console.h"
#include "xl/xl_domain.h"

int xl_console_tty_path(struct xl_ctx *ctx, unsigned int domid, char *buf, size_t len, char *err,
			size_t errlen)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if (!rundir_path(&ctx->rd, path, sizeof(path), "domains/%u/console.tty", domid)) {
		snprintf(err, errlen, "run directory path too long");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "domain %u has no console (%s: %s)", domid, path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, len - 1);
	if (n < 0)
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!*buf) {
		snprintf(err, errlen, "%s is empty", path);
		return -1;
	}
	return 0;
}

/* 0, or -1 with errno (EPIPE: the reader went away; EIO: the pty hung up). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int xl_console_attach(struct xl_ctx *ctx, unsigned int domid, char *err, size_t errlen)
{
	char ttypath[PATH_MAX], buf[4096];
	struct termios saved, raw;
	sigset_t mask, oldmask;
	bool term_raw = false, mask_set = false, stdin_open = true;
	int pty = -1, sfd = -1, fatal_signal = 0, r = -1;

	if (xl_ctx_rundir(ctx)) {
		snprintf(err, errlen, "no run directory");
		return -1;
	}
	if (xl_console_tty_path(ctx, domid, ttypath, sizeof(ttypath), err, errlen))
		return -1;
	pty = open(ttypath, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pty < 0) {
		snprintf(err, errlen, "cannot open domain %u's console %s: %s", domid, ttypath,
			 strerror(errno));
		goto out;
	}
	/* Bytes pass untouched, as xenconsole sets its pty (the guest sends its own "\r\n"). */
	if (tcgetattr(pty, &raw) == 0) {
		cfmakeraw(&raw);
		tcsetattr(pty, TCSANOW, &raw);
	}

	sigemptyset(&mask);
	for (const int *s = (const int[]){ SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, 0 }; *s; s++)
		sigaddset(&mask, *s);
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0) {
		snprintf(err, errlen, "cannot block signals: %s", strerror(errno));
		goto out;
	}
	mask_set = true;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		snprintf(err, errlen, "cannot make a signalfd: %s", strerror(errno));
		goto out;
	}

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			term_raw = true;
	}

	r = 0;
	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = pty, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		ssize_t n;

		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			r = -1;
			break;
		}
		if (fds[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo != SIGPIPE) {
				fatal_signal = (int)si.ssi_signo;
				break;
			}
		}
		if (fds[0].revents) {
			n = read(pty, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				break;          /* EIO/EOF: the VMM closed the master; the domain ended */
			if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;          /* nobody reads our output any more */
		}
		if (fds[2].revents) {
			char *esc;

			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				stdin_open = false;   /* keep showing the console until it hangs up */
				continue;
			}
			esc = memchr(buf, XL_CONSOLE_ESCAPE, (size_t)n);
			if (write_all(pty, buf, esc ? (size_t)(esc - buf) : (size_t)n) < 0 || esc)
				break;
		}
	}
out:
	if (term_raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (sfd >= 0) {
		struct signalfd_siginfo si;

		/* Drop a SIGPIPE from writing to a closed stdout: it is not a reason to die. */
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGPIPE && !fatal_signal)
				fatal_signal = (int)si.ssi_signo;
		close(sfd);
	}
	if (pty >= 0)
		close(pty);
	if (mask_set)
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (fatal_signal) {
		signal(fatal_signal, SIG_DFL);
		raise(fatal_signal);
	}
	return r;
}
