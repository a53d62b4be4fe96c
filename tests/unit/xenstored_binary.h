/* Where a unit test finds the xenstored it starts: $XENITH_XENSTORED, else the one this build made
 * (BUILD/bin beside BUILD/tests, or the default BINDIR=bin at the repository's root). */
#ifndef XENITH_TESTS_XENSTORED_BINARY_H
#define XENITH_TESTS_XENSTORED_BINARY_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline bool find_xenstored(char *out, size_t len)
{
	char self[PATH_MAX - 32];
	const char *env = getenv("XENITH_XENSTORED");

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, X_OK) == 0;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return false;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	static const char *const rel[] = { "../bin/xenstored", "../../../bin/xenstored" };
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(out, len, "%s/%s", self, rel[i]);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

#endif
