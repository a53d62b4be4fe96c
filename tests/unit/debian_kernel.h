/* Where Debian's kernel package lies for the real-guest unit tests: scripts/debian-kernel --cached
 * (the test set-up fetched it) in the source tree, XENITH_TEST_ROOT as tests/run-all exports it,
 * else the first directory above the test binary or the working directory that holds the script. */
#ifndef XENITH_TESTS_DEBIAN_KERNEL_H
#define XENITH_TESTS_DEBIAN_KERNEL_H

#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline bool debian_kernel_tree_root(char *root, size_t len)
{
	const char *env = getenv("XENITH_TEST_ROOT");
	char start[2][PATH_MAX] = { "", "" };

	if (env && *env) {
		snprintf(root, len, "%s", env);
		return true;
	}
	ssize_t n = readlink("/proc/self/exe", start[0], sizeof(start[0]) - 1);
	start[0][n > 0 ? n : 0] = '\0';
	if (!getcwd(start[1], sizeof(start[1])))
		start[1][0] = '\0';
	for (int i = 0; i < 2; i++) {
		char dir[PATH_MAX], probe[PATH_MAX + 32];
		memcpy(dir, start[i], sizeof(dir));
		for (char *slash; (slash = strrchr(dir, '/')) != NULL && slash != dir; *slash = '\0') {
			snprintf(probe, sizeof(probe), "%s/scripts/debian-kernel", dir);
			if (access(probe, X_OK) == 0) {
				snprintf(root, len, "%s", dir);
				return true;
			}
		}
	}
	return false;
}

/* The packaged bzImage's path, or false with why (for a skip line). */
static inline bool debian_kernel_bzimage(char *path, size_t len, char *why, size_t whylen)
{
	char root[PATH_MAX], cmd[PATH_MAX + 64], dir[PATH_MAX] = "", pattern[PATH_MAX + 32];
	glob_t g;

	if (!debian_kernel_tree_root(root, sizeof(root))) {
		snprintf(why, whylen, "source tree not found (set XENITH_TEST_ROOT)");
		return false;
	}
	snprintf(cmd, sizeof(cmd), "'%s/scripts/debian-kernel' --cached 2>/dev/null", root);
	FILE *p = popen(cmd, "r");
	bool got = p && fgets(dir, sizeof(dir), p);
	if (p && pclose(p) != 0)
		got = false;
	if (!got) {
		snprintf(why, whylen, "Debian's kernel is not in the cache (scripts/debian-kernel fetches it)");
		return false;
	}
	dir[strcspn(dir, "\n")] = '\0';
	snprintf(pattern, sizeof(pattern), "%s/boot/vmlinuz-*", dir);
	if (glob(pattern, 0, NULL, &g) || !g.gl_pathc) {
		snprintf(why, whylen, "no boot/vmlinuz-* in %.400s", dir);
		return false;
	}
	snprintf(path, len, "%s", g.gl_pathv[0]);
	globfree(&g);
	return true;
}

#endif
