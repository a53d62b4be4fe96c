#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include "lib/error.h"

/* The one piece of process-wide state: what to call ourselves in log lines. */
static const char *log_program = "xenith";

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
	log_program = name;
}

void log_msg(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	struct timespec ts;
	const char *base = strrchr(file, '/');

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char when[32];
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s: %s:%d: %s\n", when, ts.tv_nsec / 1000000, log_program,
		base ? base + 1 : file, line, msg);
}
