/* A domain's cgroup (cgroup.h; the maps and the layout are in docs/sched.md).
 *
 * Two kinds of hierarchy serve: cgroup v2, where the cpu controller must be enabled in each
 * ancestor's cgroup.subtree_control (we enable it in the root and the slice when we may), and,
 * on hybrid hosts where the cpu controller is bound to a v1 hierarchy (and so absent from v2's
 * cgroup.controllers), that v1 hierarchy.  Their files differ, not their meaning: a weight
 * relative to siblings (cpu.weight / cpu.shares) and a quota per period (cpu.max /
 * cpu.cfs_quota_us + cpu.cfs_period_us). */
#define _GNU_SOURCE
#include "lib/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "lib/error.h"

const char *cgroup_kind_name(enum cgroup_kind kind)
{
	static const char *const names[] = {
		[CGROUP_NONE] = "none", [CGROUP_V2] = "cgroup v2", [CGROUP_V1_CPU] = "cgroup v1 (cpu)",
	};
	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

/* Xen's default 256 is cgroup v2's default 100; the map keeps ratios (what a weight means) up to
 * 25600 and clamps above, where cpu.weight ends. */
unsigned int cgroup_v2_weight(unsigned int xen_weight)
{
	unsigned long long w = ((unsigned long long)xen_weight * 100 + 128) / 256;

	return w < 1 ? 1 : w > 10000 ? 10000 : (unsigned int)w;
}

/* v1's default 1024 for Xen's 256: exact over Xen's whole range (4 .. 262140 within 2 .. 262144). */
unsigned int cgroup_v1_shares(unsigned int xen_weight)
{
	unsigned long long s = (unsigned long long)xen_weight * 4;

	return s < 2 ? 2 : s > 262144 ? 262144 : (unsigned int)s;
}

void cgroup_cpu_max(unsigned int cap, char *buf, size_t len)
{
	if (!cap)
		snprintf(buf, len, "max %u", CGROUP_CAP_PERIOD_US);
	else
		snprintf(buf, len, "%llu %u", (unsigned long long)cap * CGROUP_CAP_PERIOD_US / 100,
			 CGROUP_CAP_PERIOD_US);
}

static int write_text(const char *dir, const char *file, const char *text, char *err, size_t errlen)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		int e = errno;
		ERR_SET(err, errlen, "writing '%s' to %s: %s", text, path, strerror(e));
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* The file's first line (at most len - 1 bytes, newline dropped), or -1. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Is `word` one of the separated words of `list`? */
static bool has_word(const char *list, const char *word, const char *seps)
{
	size_t n = strlen(word);

	for (const char *p = list + strspn(list, seps); *p;) {
		size_t len = strcspn(p, seps);
		if (len == n && !strncmp(p, word, n))
			return true;
		p += len;
		p += strspn(p, seps);
	}
	return false;
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

struct mount_seen {
	bool found;
	char path[PATH_MAX];
	char root[PATH_MAX];
};

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER". */
static void scan_mount(char *line, struct mount_seen *v2, struct mount_seen *v1cpu)
{
	char *fields[8], *save = NULL, *tok;
	int n = 0;
	char *dash = strstr(line, " - ");

	if (!dash)
		return;
	*dash = '\0';
	for (tok = strtok_r(line, " ", &save); tok && n < 5; tok = strtok_r(NULL, " ", &save))
		fields[n++] = tok;
	if (n < 5)
		return;
	char *fstype = strtok_r(dash + 3, " ", &save);
	strtok_r(NULL, " ", &save);       /* source */
	char *super = strtok_r(NULL, " \n", &save);
	if (!fstype)
		return;
	struct mount_seen *m = NULL;
	if (!strcmp(fstype, "cgroup2"))
		m = v2;
	else if (!strcmp(fstype, "cgroup") && super && has_word(super, "cpu", ","))
		m = v1cpu;
	if (!m || m->found)
		return;
	unescape(fields[3]);
	unescape(fields[4]);
	if (strlen(fields[4]) >= sizeof(m->path) || strlen(fields[3]) >= sizeof(m->root))
		return;
	strcpy(m->path, fields[4]);
	strcpy(m->root, fields[3]);
	m->found = true;
}

int cgroup_root_find(struct cgroup_root *root, const char *mountinfo_path)
{
	struct mount_seen v2 = { 0 }, v1 = { 0 };
	char line[3 * PATH_MAX], path[PATH_MAX + 32], controllers[512] = "";
	FILE *f = fopen(mountinfo_path, "re");

	*root = (struct cgroup_root){ .kind = CGROUP_NONE };
	if (!f) {
		ERR_SET(root->why, sizeof(root->why), "reading %s: %s", mountinfo_path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		scan_mount(line, &v2, &v1);
	fclose(f);
	if (v2.found) {
		snprintf(path, sizeof(path), "%s/cgroup.controllers", v2.path);
		if (!read_line(path, controllers, sizeof(controllers)) && has_word(controllers, "cpu", " ")) {
			root->kind = CGROUP_V2;
			strcpy(root->path, v2.path);
			strcpy(root->mount_root, v2.root);
			return 0;
		}
	}
	if (v1.found) {
		root->kind = CGROUP_V1_CPU;
		strcpy(root->path, v1.path);
		strcpy(root->mount_root, v1.root);
		return 0;
	}
	if (v2.found)
		ERR_SET(root->why, sizeof(root->why), "the cgroup v2 hierarchy at %s offers no cpu controller "
			"(cgroup.controllers: '%s') and no cgroup v1 hierarchy has it", v2.path, controllers);
	else
		ERR_SET(root->why, sizeof(root->why), "no cgroup file system with the cpu controller is "
			"mounted (%s)", mountinfo_path);
	return -1;
}

/* The cpu controller on for the children of dir (v2 only), unless it is already. */
static int enable_cpu(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX + 32], list[512] = "";

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	if (!read_line(path, list, sizeof(list)) && has_word(list, "cpu", " "))
		return 0;
	if (write_text(dir, "cgroup.subtree_control", "+cpu", err, errlen)) {
		size_t n = strlen(err);
		snprintf(err + n, errlen - n, " (enabling the cpu controller for its children)");
		return -1;
	}
	return 0;
}

/* pid's cgroup in root's hierarchy as a directory, from /proc/PID/cgroup. */
static int find_home(const struct cgroup_root *root, pid_t pid, char *out, size_t len)
{
	char path[64], line[PATH_MAX + 128];
	FILE *f;
	int r = -1;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (r && fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *cg = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!cg)
			continue;
		*cg++ = '\0';
		ctrl++;
		cg[strcspn(cg, "\n")] = '\0';
		bool mine = root->kind == CGROUP_V2 ? !strcmp(line, "0") && !*ctrl : has_word(ctrl, "cpu", ",");
		if (!mine)
			continue;
		size_t skip = strcmp(root->mount_root, "/") && !strncmp(cg, root->mount_root,
									 strlen(root->mount_root)) ?
			      strlen(root->mount_root) : 0;
		int w = snprintf(out, len, "%s%s", root->path, cg + skip);
		r = w > 0 && (size_t)w < len ? 0 : -1;
	}
	fclose(f);
	return r;
}

int cgroup_domain_create(const struct cgroup_root *root, const char *slice, const char *leaf,
			 pid_t pid, struct domain_cgroup *cg, char *err, size_t errlen)
{
	char slice_dir[PATH_MAX];
	int w;

	*cg = (struct domain_cgroup){ .kind = CGROUP_NONE };
	if (root->kind == CGROUP_NONE) {
		ERR_SET(err, errlen, "%s", root->why);
		return -1;
	}
	if (!*leaf || strchr(leaf, '/') || !*slice || strchr(slice, '/')) {
		ERR_SET(err, errlen, "cgroup names '%s' and '%s' must be single path components", slice, leaf);
		return -1;
	}
	w = snprintf(slice_dir, sizeof(slice_dir), "%s/%s", root->path, slice);
	if (w < 0 || (size_t)w >= sizeof(slice_dir) ||
	    snprintf(cg->path, sizeof(cg->path), "%s/%s", slice_dir, leaf) >= (int)sizeof(cg->path)) {
		ERR_SET(err, errlen, "cgroup path under %s too long", root->path);
		return -1;
	}
	if (root->kind == CGROUP_V2 && enable_cpu(root->path, err, errlen))
		return -1;
	if (mkdir(slice_dir, 0755) && errno != EEXIST) {
		ERR_SET(err, errlen, "making cgroup %s: %s", slice_dir, strerror(errno));
		return -1;
	}
	if (root->kind == CGROUP_V2 && enable_cpu(slice_dir, err, errlen))
		return -1;
	if (mkdir(cg->path, 0755)) {
		char procs[PATH_MAX + 32], first[32] = "";
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->path);
		/* A leftover of a killed VMM with the same pid is empty and serves again. */
		if (errno != EEXIST || read_line(procs, first, sizeof(first)) || first[0]) {
			ERR_SET(err, errlen, "making cgroup %s: %s", cg->path,
				errno == EEXIST ? "it exists and has processes" : strerror(errno));
			return -1;
		}
	}
	if (find_home(root, pid, cg->home, sizeof(cg->home)))
		snprintf(cg->home, sizeof(cg->home), "%s", root->path);
	cg->kind = root->kind;
	return 0;
}

int cgroup_domain_enter(const struct domain_cgroup *cg, pid_t pid, char *err, size_t errlen)
{
	char text[32];

	snprintf(text, sizeof(text), "%d", (int)pid);
	return write_text(cg->path, "cgroup.procs", text, err, errlen);
}

int cgroup_domain_set_weight(const struct domain_cgroup *cg, unsigned int weight, char *err, size_t errlen)
{
	char text[32];

	if (weight < SCHED_WEIGHT_MIN || weight > SCHED_WEIGHT_MAX) {
		ERR_SET(err, errlen, "weight %u: expected %u to %u", weight, SCHED_WEIGHT_MIN, SCHED_WEIGHT_MAX);
		return -1;
	}
	if (cg->kind == CGROUP_V2) {
		snprintf(text, sizeof(text), "%u", cgroup_v2_weight(weight));
		return write_text(cg->path, "cpu.weight", text, err, errlen);
	}
	if (cg->kind == CGROUP_V1_CPU) {
		snprintf(text, sizeof(text), "%u", cgroup_v1_shares(weight));
		return write_text(cg->path, "cpu.shares", text, err, errlen);
	}
	ERR_SET(err, errlen, "the domain has no cgroup");
	return -1;
}

int cgroup_domain_set_cap(const struct domain_cgroup *cg, unsigned int cap, char *err, size_t errlen)
{
	char text[48];

	if (cap > SCHED_CAP_MAX) {
		ERR_SET(err, errlen, "cap %u: expected 0 (none) to %u (%% of one CPU)", cap, SCHED_CAP_MAX);
		return -1;
	}
	if (cg->kind == CGROUP_V2) {
		cgroup_cpu_max(cap, text, sizeof(text));
		return write_text(cg->path, "cpu.max", text, err, errlen);
	}
	if (cg->kind == CGROUP_V1_CPU) {
		snprintf(text, sizeof(text), "%u", CGROUP_CAP_PERIOD_US);
		if (write_text(cg->path, "cpu.cfs_period_us", text, err, errlen))
			return -1;
		if (cap)
			snprintf(text, sizeof(text), "%llu",
				 (unsigned long long)cap * CGROUP_CAP_PERIOD_US / 100);
		else
			snprintf(text, sizeof(text), "-1");
		return write_text(cg->path, "cpu.cfs_quota_us", text, err, errlen);
	}
	ERR_SET(err, errlen, "the domain has no cgroup");
	return -1;
}

/* Drops the last component of a path, in place. */
static void cut_last(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash && slash != path)
		*slash = '\0';
}

int cgroup_domain_remove(struct domain_cgroup *cg, pid_t pid, char *err, size_t errlen)
{
	char text[32], top[PATH_MAX];

	if (cg->kind == CGROUP_NONE)
		return 0;
	if (pid > 0) {
		snprintf(text, sizeof(text), "%d", (int)pid);
		if (write_text(cg->home, "cgroup.procs", text, err, errlen) && errno != ESRCH) {
			snprintf(top, sizeof(top), "%s", cg->path);
			cut_last(top);      /* the slice */
			cut_last(top);      /* the hierarchy's root */
			if (write_text(top, "cgroup.procs", text, err, errlen) && errno != ESRCH)
				return -1;
		}
	}
	if (rmdir(cg->path) && errno != ENOENT) {
		ERR_SET(err, errlen, "removing cgroup %s: %s", cg->path, strerror(errno));
		return -1;
	}
	cg->kind = CGROUP_NONE;
	return 0;
}

int cgroup_remove_leftover(const char *path, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s", path);
	cut_last(parent);
	const char *slice = strrchr(parent, '/');
	slice = slice ? slice + 1 : parent;
	size_t n = strlen(slice);
	if (strncmp(slice, "xenith", 6) || n < 6 || strcmp(slice + n - 6, ".slice")) {
		ERR_SET(err, errlen, "cgroup %s is not in a Xenith slice; not removing it", path);
		return -1;
	}
	if (statfs(parent, &fs)) {
		if (errno == ENOENT)
			return 0;
		ERR_SET(err, errlen, "cgroup %s: %s", parent, strerror(errno));
		return -1;
	}
	if (fs.f_type != CGROUP2_SUPER_MAGIC && fs.f_type != CGROUP_SUPER_MAGIC) {
		ERR_SET(err, errlen, "%s is not on a cgroup file system; not removing it", path);
		return -1;
	}
	if (rmdir(path) && errno != ENOENT) {
		ERR_SET(err, errlen, "removing cgroup %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int cgroup_slice_remove(const struct cgroup_root *root, const char *slice, char *err, size_t errlen)
{
	char dir[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/%s", root->path, slice);
	if (rmdir(dir) && errno != ENOENT) {
		ERR_SET(err, errlen, "removing cgroup %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}
