#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/error.h"

/* The one piece of process-wide state.  LOG() is called from every module and every thread (vCPU
 * threads too) with no context to carry state, so what it needs lives here, in one struct: what to
 * call ourselves, and stderr's log file with its bound when it has one (log_bound_stderr).  The
 * lock makes a line one write and puts a rotation only ever between two lines. */
static struct logger {
	const char *program;
	pthread_mutex_t lock;
	struct logfile_bound file;
} logger = { .program = "xenith", .lock = PTHREAD_MUTEX_INITIALIZER, .file = { .fd = -1 } };

void error_format(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void log_set_program(const char *name)
{
	logger.program = name;
}

int log_bound_stderr(const char *path, const struct logfile_family *family,
		     const struct logfile_policy *policy)
{
	int r;

	pthread_mutex_lock(&logger.lock);
	r = logfile_bound_adopt(&logger.file, STDERR_FILENO, path, family, policy);
	pthread_mutex_unlock(&logger.lock);
	return r;
}

void log_end_bound(void)
{
	pthread_mutex_lock(&logger.lock);
	logfile_bound_end(&logger.file);
	pthread_mutex_unlock(&logger.lock);
}

/* One line, truncated to fit, always ending in a newline. */
#define LOG_LINE_MAX 1280

void log_msg(const char *file, int line, const char *fmt, ...)
{
	char msg[1024], when[32], out[LOG_LINE_MAX];
	const char *base = strrchr(file, '/');
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(out, sizeof(out), "%s.%03ld %s: %s:%d: %s\n", when, ts.tv_nsec / 1000000,
		     logger.program, base ? base + 1 : file, line, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	pthread_mutex_lock(&logger.lock);
	logfile_bound_make_room(&logger.file, (size_t)n);
	for (const char *p = out; n > 0;) {
		ssize_t w = write(STDERR_FILENO, p, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;       /* a log that cannot be written is not worth stalling a vCPU for */
		p += w;
		n -= (int)w;
	}
	pthread_mutex_unlock(&logger.lock);
}
