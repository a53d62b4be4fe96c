/* Errors carry their place: `file:line: what`. */
#ifndef XENITH_ERROR_H
#define XENITH_ERROR_H

#include <stdio.h>
#include <stdarg.h>

/* Writes "file:line: message" into buf (truncating safely). */
void error_format(char *buf, size_t len, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define ERR_SET(buf, len, ...) error_format((buf), (len), __FILE__, __LINE__, __VA_ARGS__)

/* Messages to stderr with the program name, for setup errors and logs. */
void log_set_program(const char *name);
void log_msg(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define LOG(...) log_msg(__FILE__, __LINE__, __VA_ARGS__)

#endif
