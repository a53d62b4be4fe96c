/* `xl migrate` and `xl migrate-receive` (docs/migration.md; the line protocol is in xl_migrate.h).
 *
 * The sender runs `sh -c "exec SSHCOMMAND HOST xl migrate-receive [-e] [-d] [-p]"` with the stream
 * on the child's stdin and its replies on the child's stdout, as Xen's xl does.  The domain is
 * never lost: until the receiver says `running`, every failure (a refusal, an error line, EOF, a
 * child that died, a reply not within its bound) resumes the source domain, and the receiver,
 * which never reads `done` then, destroys what it made.  Only after `running` does the sender say
 * `done` and destroy the source.
 *
 * The one window left: a receiver killed between unpausing its domain and writing `running`
 * leaves the domain running on the target while the sender resumes it on the source. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "migrate/stream.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_migrate.h"
#include "xl/xl_vmm.h"

#define LINE_MAX_BYTES 1024
#define CHILD_EXIT_MS  5000

/* One line from fd, read a byte at a time so that nothing after it is taken (the receiver's stdin
 * carries the stream before its lines).  0 with the line (no newline) in buf; -1 with why: EOF,
 * a read error, or nothing whole within timeout_ms. */
static int read_line(int fd, char *buf, size_t len, int timeout_ms, char *why, size_t whylen)
{
	struct timespec start, now;
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long spent;
		ssize_t got;
		char c;
		int ready;

		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms) {
			snprintf(why, whylen, "no answer within %d s", timeout_ms / 1000);
			return -1;
		}
		ready = poll(&p, 1, (int)(timeout_ms - spent));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0) {
			snprintf(why, whylen, "poll: %s", strerror(errno));
			return -1;
		}
		if (ready == 0)
			continue;
		got = read(fd, &c, 1);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			snprintf(why, whylen, "read: %s", strerror(errno));
			return -1;
		}
		if (got == 0) {
			snprintf(why, whylen, "the other side closed the channel");
			return -1;
		}
		if (c == '\n')
			break;
		if (n + 1 >= len) {
			snprintf(why, whylen, "a line longer than %zu bytes", len - 1);
			return -1;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

static int write_line(int fd, const char *line)
{
	size_t len = strlen(line), done = 0;

	while (done < len) {
		ssize_t n = write(fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* A reply line that must start with `word` followed by a domid: that domid, or -1 with why
 * (the receiver's own "error: ..." when it sent one). */
static long expect_domid(const char *line, const char *word, char *why, size_t whylen)
{
	size_t n = strlen(word);
	char *end;
	long id;

	if (!strncmp(line, "error: ", 7) || !strncmp(line, "refused: ", 9)) {
		snprintf(why, whylen, "the target says: %s", strchr(line, ' ') + 1);
		return -1;
	}
	if (strncmp(line, word, n) || line[n] != ' ') {
		snprintf(why, whylen, "the target said '%.200s' instead of '%s DOMID'", line, word);
		return -1;
	}
	errno = 0;
	id = strtol(line + n + 1, &end, 10);
	if (errno || *end || id < 1) {
		snprintf(why, whylen, "the target said '%.200s': no domid", line);
		return -1;
	}
	return id;
}

/* ---- The sender ---- */

struct receiver {
	pid_t pid;
	int to;                  /* the child's stdin: the stream, then our lines */
	int from;                /* its stdout: its lines */
};

static int receiver_start(struct receiver *rc, const char *rune, char *why, size_t whylen)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };

	rc->pid = -1;
	rc->to = rc->from = -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "cannot make pipes: %s", strerror(errno));
		goto fail;
	}
	fflush(NULL);
	rc->pid = fork();
	if (rc->pid < 0) {
		snprintf(why, whylen, "cannot fork: %s", strerror(errno));
		goto fail;
	}
	if (rc->pid == 0) {
		if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", rune, (char *)NULL);
		fprintf(stderr, "xl: cannot run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	rc->to = in[1];
	rc->from = out[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return -1;
}

/* Closes the channel (a receiver still waiting for `done` then destroys its domain), waits a
 * bounded time for the child and kills it if it lingers.  Its exit status, or -1. */
static int receiver_end(struct receiver *rc)
{
	int status = -1, pidfd;

	if (rc->to >= 0)
		close(rc->to);
	if (rc->from >= 0)
		close(rc->from);
	rc->to = rc->from = -1;
	if (rc->pid <= 0)
		return -1;
	pidfd = xl_pidfd_open(rc->pid);
	if (pidfd >= 0 && xl_pidfd_wait(pidfd, CHILD_EXIT_MS) == -ETIMEDOUT) {
		fprintf(stderr, "xl: the migration receiver (pid %d) is still there %d s after the "
			"end; killing it\n", (int)rc->pid, CHILD_EXIT_MS / 1000);
		xl_pidfd_signal(pidfd, SIGKILL);
	}
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(rc->pid, &status, 0) < 0 && errno == EINTR)
		;
	rc->pid = -1;
	return status;
}

/* Reads the receiver's next line, with a message naming the step on failure. */
static int receiver_line(struct receiver *rc, const char *step, int timeout_ms, char *line,
			 size_t len, char *why, size_t whylen)
{
	char how[256];

	if (read_line(rc->from, line, len, timeout_ms, how, sizeof(how)) == 0)
		return 0;
	snprintf(why, whylen, "waiting for the target %s: %s", step, how);
	return -1;
}

struct migrate_args {
	const char *ssh, *host, *cfg_path;
	bool debug, paused, no_daemon;
};

/* The migration proper, once the receiver runs.  0 when the domain runs on the target; else -1
 * with why, and *suspended says whether the source domain must be resumed. */
static int migrate_to(struct xl_ctx *ctx, unsigned int domid, const char *config,
		      const struct migrate_args *a, struct receiver *rc, bool *suspended,
		      char *figures, size_t flen, char *why, size_t whylen)
{
	char line[LINE_MAX_BYTES], err[1024];
	uint32_t flags = MIG_STREAM_LIVE | (a->debug ? MIG_STREAM_DEBUG : 0);
	long version, target;

	*suspended = false;
	if (receiver_line(rc, "to start", XL_MIG_CONNECT_MS, line, sizeof(line), why, whylen))
		return -1;
	if (strncmp(line, XL_MIG_BANNER, strlen(XL_MIG_BANNER))) {
		snprintf(why, whylen, "the target did not start xl migrate-receive: it said '%.200s'",
			 line);
		return -1;
	}
	version = strtol(line + strlen(XL_MIG_BANNER), NULL, 10);
	if (version != MIG_VERSION) {
		snprintf(why, whylen, "the target speaks stream version %ld, this xl %d", version,
			 MIG_VERSION);
		return -1;
	}
	if (xl_mig_write_head(rc->to, flags, config, err, sizeof(err))) {
		snprintf(why, whylen, "sending the config: %s", err);
		return -1;
	}
	if (receiver_line(rc, "to accept the domain", XL_MIG_STEP_MS, line, sizeof(line), why,
			  whylen))
		return -1;
	if (strcmp(line, "accepted")) {
		snprintf(why, whylen, "the target %s", !strncmp(line, "refused: ", 9) ? line : "did not accept");
		return -1;
	}
	if (xl_mig_vmm_save(ctx, domid, true, a->debug, rc->to, STDERR_FILENO, figures, flen)) {
		snprintf(why, whylen, "the VMM did not send the domain: %s", figures);
		return -1;
	}
	*suspended = true;
	if (receiver_line(rc, "to restore the domain", XL_MIG_STEP_MS, line, sizeof(line), why,
			  whylen))
		return -1;
	target = expect_domid(line, "ready", why, whylen);
	if (target < 0)
		return -1;
	if (write_line(rc->to, "go\n")) {
		snprintf(why, whylen, "telling the target to go: %s", strerror(errno));
		return -1;
	}
	if (receiver_line(rc, "to run the domain", XL_MIG_STEP_MS, line, sizeof(line), why, whylen))
		return -1;
	if (expect_domid(line, "running", why, whylen) != target) {
		if (!*why)
			snprintf(why, whylen, "the target said '%.200s'", line);
		return -1;
	}
	/* The commit point: from here the domain is the target's. */
	if (write_line(rc->to, "done\n"))
		fprintf(stderr, "xl: warning: the target did not take 'done' (%s); its domain %ld "
			"runs all the same\n", strerror(errno), target);
	fprintf(stderr, "Domain runs on %s as domain %ld\n", a->host, target);
	return 0;
}

int main_migrate(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "debug", no_argument, NULL, 'D' },
		{ "live", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct migrate_args a = { .ssh = "ssh" };
	struct receiver rc = { .pid = -1, .to = -1, .from = -1 };
	char name[DOMAIN_NAME_MAX + 1], err[2048], why[2048], figures[1024] = "";
	char *config = NULL, *rune = NULL;
	bool suspended = false;
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "s:eC:p", opts, "migrate", 2, &status)) != -1) {
		switch (opt) {
		case XL_OPT_STOP:
			return status;
		case 's':
			a.ssh = optarg;
			break;
		case 'e':
			a.no_daemon = true;
			break;
		case 'C':
			a.cfg_path = optarg;
			break;
		case 'p':
			a.paused = true;
			break;
		case 'D':
			a.debug = true;
			break;
		case 'L':          /* Xen's xl: migration is always live; the option is kept */
			break;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "xl: migrate takes DOMAIN HOST\n\n");
		xl_help(stderr, "migrate");
		return 2;
	}
	a.host = argv[optind + 1];
	status = xl_find_domain_or_complain(ctx, argv[optind], "migrate", &domid, name,
					    sizeof(name));
	if (status)
		return status;
	status = EXIT_FAILURE;
	if (xl_mig_config_text(ctx, domid, a.cfg_path, &config, err, sizeof(err))) {
		fprintf(stderr, "xl: cannot migrate domain %u (%s): %s\n", domid, name, err);
		goto out;
	}
	/* Xen's xl hands SSHCOMMAND to the shell too, so it may hold options. */
	if (asprintf(&rune, "exec %s %s xl migrate-receive%s%s%s", a.ssh, a.host,
		     a.no_daemon ? " -e" : "", a.debug ? " -d" : "", a.paused ? " -p" : "") < 0) {
		rune = NULL;
		fprintf(stderr, "xl: out of memory\n");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);    /* a receiver that went away is an error to handle, not death */
	fprintf(stderr, "Migrating domain %u (%s) to %s\n", domid, name, a.host);
	if (receiver_start(&rc, rune, why, sizeof(why)) ||
	    migrate_to(ctx, domid, config, &a, &rc, &suspended, figures, sizeof(figures), why,
		       sizeof(why))) {
		fprintf(stderr, "xl: migration of domain %u (%s) to %s failed: %s\n", domid, name,
			a.host, why);
		receiver_end(&rc);        /* before the resume: the target lets go of its copy */
		if (suspended && xl_mig_vmm_resume(ctx, domid, false, err, sizeof(err)))
			fprintf(stderr, "xl: %s\n", err);
		else
			fprintf(stderr, "xl: domain %u (%s) runs on here\n", domid, name);
		goto out;
	}
	fprintf(stderr, "Migration of domain %u (%s) done: %s%s\n", domid, name, figures,
		a.debug ? " (the target's VMM checked the RAM digest)" : "");
	receiver_end(&rc);
	if (xl_domain_destroy(ctx, domid, name, err, sizeof(err))) {
		fprintf(stderr, "xl: the domain runs on %s, but the source copy here: %s\n", a.host,
			err);
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	free(rune);
	free(config);
	return status;
}

/* ---- The receiver ---- */

/* Says a line on stdout (the reply channel) and on failure just notes it: the sender then reads
 * EOF, which it treats as a failure too. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[LINE_MAX_BYTES + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[strcspn(line, "\n")] = '\0';
	strcat(line, "\n");
	if (write_line(STDOUT_FILENO, line))
		fprintf(stderr, "migration target: cannot reply to the sender: %s\n", strerror(errno));
}

/* What the target refuses before anything is made; 0 or -1 with why. */
static int receive_check(struct xl_ctx *ctx, struct domain_config *dc, char *why, size_t whylen)
{
	unsigned long free_mb = xl_mig_host_free_mb();

	if (xl_domain_create_check(ctx, dc, why, whylen)) {
		if (!*why)
			snprintf(why, whylen, "no run directory on the target");
		return -1;
	}
	if (free_mb && free_mb < dc->maxmem_mb) {
		snprintf(why, whylen, "domain %s needs %lu MiB, the target has %lu MiB available",
			 dc->name, dc->maxmem_mb, free_mb);
		return -1;
	}
	return 0;
}

int main_migrate_receive(struct xl_ctx *ctx, int argc, char **argv)
{
	struct domain_config dc = { 0 };
	char why[2048], err[1536], line[LINE_MAX_BYTES], reply[1024];
	bool paused = false, made = false;
	unsigned int domid = 0;
	uint32_t flags;
	int opt, status, r;

	while ((opt = xl_getopt(argc, argv, "edp", NULL, "migrate-receive", 0, &status)) != -1) {
		switch (opt) {
		case XL_OPT_STOP:
			return status;
		case 'p':
			paused = true;
			break;
		case 'e':          /* see main_restore */
		case 'd':
			break;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	status = EXIT_FAILURE;
	say("%s%d", XL_MIG_BANNER, MIG_VERSION);
	if (xl_mig_read_head(STDIN_FILENO, NULL, &dc, &flags, why, sizeof(why))) {
		fprintf(stderr, "migration target: refusing the domain: %s\n", why);
		say("refused: %s", why);
		goto out;
	}
	if (receive_check(ctx, &dc, why, sizeof(why))) {
		fprintf(stderr, "migration target: refusing domain %s: %s\n", dc.name, why);
		say("refused: %s", why);
		goto out;
	}
	say("accepted");
	r = xl_domain_create_restore(ctx, &dc, STDIN_FILENO, XL_RESTORE_MS, &domid, err,
				     sizeof(err));
	if (r) {
		snprintf(why, sizeof(why), "restoring domain %s: %s", dc.name,
			 *err ? err : "no run directory");
		fprintf(stderr, "migration target: %s\n", why);
		say("error: %s", why);
		goto out;
	}
	made = true;
	say("ready %u", domid);
	if (read_line(STDIN_FILENO, line, sizeof(line), XL_MIG_STEP_MS, why, sizeof(why)) ||
	    strcmp(line, "go")) {
		fprintf(stderr, "migration target: the sender did not say go (%s)\n",
			*why ? why : line);
		goto out;
	}
	if (!paused && xl_domain_request(ctx, domid, "unpause", XL_REQUEST_MS, reply, sizeof(reply))) {
		fprintf(stderr, "migration target: domain %u does not unpause: %s\n", domid, reply);
		say("error: domain %u does not unpause: %s", domid, reply);
		goto out;
	}
	say("running %u", domid);
	why[0] = '\0';
	if (read_line(STDIN_FILENO, line, sizeof(line), XL_MIG_STEP_MS, why, sizeof(why)) ||
	    strcmp(line, "done")) {
		fprintf(stderr, "migration target: the sender did not confirm (%s)\n",
			*why ? why : line);
		goto out;
	}
	made = false;
	status = EXIT_SUCCESS;
out:
	if (made) {
		fprintf(stderr, "migration target: destroying domain %u (%s): the source keeps it\n",
			domid, dc.name);
		if (xl_domain_destroy(ctx, domid, dc.name, err, sizeof(err)))
			fprintf(stderr, "migration target: %s\n", err);
	}
	domain_config_free(&dc);
	return status;
}
