/* Errors say what is wrong in the user's terms: which file, argument or device and what about it.
 * An err buffer may reach the user (xl prints what the VMM answers), so it never holds a C source
 * location; those go to logs only, where LOG() puts them. */
#ifndef XENITH_ERROR_H
#define XENITH_ERROR_H

#include <stdio.h>
#include <stdarg.h>

/* Writes the message into buf (truncating safely). */
void error_format(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define ERR_SET(buf, len, ...) error_format((buf), (len), __VA_ARGS__)

/* Messages to stderr with the program name, for setup errors and logs. */
void log_set_program(const char *name);
void log_msg(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define LOG(...) log_msg(__FILE__, __LINE__, __VA_ARGS__)

#endif
