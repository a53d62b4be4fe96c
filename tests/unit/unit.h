/* A tiny unit-test harness, TAP-flavoured.
 *
 *   static void test_thing(struct unit *u, const void *arg) { CHECK(1 + 1 == 2, "math: %d", 2); }
 *   int main(void) {
 *           struct unit u = UNIT_INIT;
 *           unit_case(&u, "thing", test_thing, NULL);   (a table-driven test: one case per row)
 *   (a case that cannot run here says why and returns: `unit_skip(u, "no %s installed", tool); return;`)
 *           return unit_finish(&u);
 *   }
 *
 * Each case prints `ok - name` or `not ok - name: file:line: what` (further failures of the same
 * case follow as `#` lines), or `skip - name: why` when it called unit_skip: a skipped case is
 * never also reported or counted as passed, and one that failed as well counts as failed.
 * unit_finish prints `N passed, N failed, N skipped` and returns the exit status.
 * The state lives in the caller's struct unit: no globals. */
#ifndef XENITH_TESTS_UNIT_H
#define XENITH_TESTS_UNIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct unit {
	int passed, failed, skipped;
	const char *case_name;   /* the running case */
	int case_failures;       /* failures in it so far */
	bool case_skipped;       /* it called unit_skip */
};

#define UNIT_INIT { 0 }

typedef void (*unit_fn)(struct unit *u, const void *arg);

static inline void unit_vfail(struct unit *u, const char *file, int line, const char *fmt,
			      va_list ap)
{
	char what[1024];
	vsnprintf(what, sizeof(what), fmt, ap);
	if (u->case_failures++ == 0)
		printf("not ok - %s: %s:%d: %s\n", u->case_name, file, line, what);
	else
		printf("#   also %s:%d: %s\n", file, line, what);
}

static inline void unit_fail(struct unit *u, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline void unit_fail(struct unit *u, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	unit_vfail(u, file, line, fmt, ap);
	va_end(ap);
}

/* The running case cannot run here (a missing tool, device or privilege): prints `skip - name: why`
 * once; the case should then return.  A later call prints nothing; after a failure the reason is
 * only a `#` line, since the case is reported (and counted) as failed. */
static inline void unit_skip(struct unit *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void unit_skip(struct unit *u, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	if (u->case_skipped)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	u->case_skipped = true;
	if (u->case_failures)
		printf("#   then skipped: %s\n", why);
	else
		printf("skip - %s: %s\n", u->case_name, why);
}

/* Inside a case, with `u` in scope.  The message says what was wrong, not just that it was. */
#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond))                                               \
			unit_fail(u, __FILE__, __LINE__, __VA_ARGS__);     \
	} while (0)

/* Two strings equal (NULL only equals NULL); shows both on failure. */
#define CHECK_STR(actual, expected)                                                        \
	do {                                                                               \
		const char *unit_a_ = (actual), *unit_e_ = (expected);                     \
		if (!((!unit_a_ && !unit_e_) ||                                            \
		      (unit_a_ && unit_e_ && !strcmp(unit_a_, unit_e_))))                  \
			unit_fail(u, __FILE__, __LINE__, "%s is \"%s\", expected \"%s\"",  \
				  #actual, unit_a_ ? unit_a_ : "(null)",                   \
				  unit_e_ ? unit_e_ : "(null)");                           \
	} while (0)

#define CHECK_INT(actual, expected)                                                        \
	do {                                                                               \
		long long unit_a_ = (actual), unit_e_ = (expected);                        \
		if (unit_a_ != unit_e_)                                                    \
			unit_fail(u, __FILE__, __LINE__, "%s is %lld, expected %lld",      \
				  #actual, unit_a_, unit_e_);                              \
	} while (0)

static inline void unit_case(struct unit *u, const char *name, unit_fn fn, const void *arg)
{
	u->case_name = name;
	u->case_failures = 0;
	u->case_skipped = false;
	fn(u, arg);
	if (u->case_failures) {
		u->failed++;
	} else if (u->case_skipped) {
		u->skipped++;
	} else {
		u->passed++;
		printf("ok - %s\n", name);
	}
	fflush(stdout);
}

static inline int unit_finish(struct unit *u)
{
	printf("%d passed, %d failed, %d skipped\n", u->passed, u->failed, u->skipped);
	return u->failed ? 1 : 0;
}

#endif
