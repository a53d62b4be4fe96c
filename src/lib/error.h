/* Errors say what is wrong in the user's terms: which file, argument or device and what about it.
 * An err buffer may reach the user (xl prints what the VMM answers), so it never holds a C source
 * location; those go to logs only, where LOG() puts them. */
#ifndef XENITH_ERROR_H
#define XENITH_ERROR_H

#include <stdio.h>
#include <stdarg.h>
#include "lib/logfile.h"

/* Writes the message into buf (truncating safely). */
void error_format(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define ERR_SET(buf, len, ...) error_format((buf), (len), __VA_ARGS__)

/* Messages to stderr with the program name, for setup errors and logs.  Thread-safe: each LOG line
 * is one write, whole. */
void log_set_program(const char *name);
void log_msg(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define LOG(...) log_msg(__FILE__, __LINE__, __VA_ARGS__)

/* When stderr is the regular file at `path` (a daemon's log, as xl or xenstored_ensure opened it),
 * bounds it from here on (lib/logfile.h): a LOG line that would take it past policy->cap first
 * moves it to .old; it is held live (shared flock) and narrowed to 0640, and the family's ended
 * logs are pruned to policy->kept.  On a terminal, a pipe or another file: nothing.  1 when
 * bounded, 0 when stderr is not that file, or -errno. */
int log_bound_stderr(const char *path, const struct logfile_family *family,
		     const struct logfile_policy *policy);
/* The process is ending: its log counts as an ended one and the family is pruned (log_bound_stderr's
 * policy).  LOG still writes afterwards, unbounded. */
void log_end_bound(void);

#endif
