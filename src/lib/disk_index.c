/* The disk index: who may hold a disk target, without asking every domain (issue 16: at a
 * thousand domains, `xl create` of a domain with disks made a thousand control calls).
 *
 * disks/<key>/=<name> is a symlink whose target is "r" or "w": domain `name` was given the target
 * read-only or read-write.  The key is what the target is (device and inode, or a block device's
 * number), so /img, ./img and a link to it are one entry.  xl writes an entry when it gives a
 * domain a disk (create, block-attach); nobody has to remove it: like the name index
 * (rundir.c) it is a hint checked against the truth, here the VMM of the domain called `name`
 * (found through the name index), which says whether it has the target.  An entry whose domain
 * has ended is removed by the next check that finds it so; one left by a detach costs one
 * control call to a live domain that answers "not mine".  The name rather than the domid keys an
 * entry because a domain that restarts keeps its name and takes a new domid.
 *
 * A run directory whose domains were given disks before the index has no disks/.complete: the
 * first check asks every domain once and fills the index from the answers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/disk_index.h"

void disk_index_key(const struct stat *st, char *buf, size_t len)
{
	if (S_ISBLK(st->st_mode))
		snprintf(buf, len, "b%llx", (unsigned long long)st->st_rdev);
	else
		snprintf(buf, len, "%llx:%llx", (unsigned long long)st->st_dev,
			 (unsigned long long)st->st_ino);
}

static char *key_dir(const struct rundir *rd, const struct stat *st, char *buf, size_t len)
{
	char key[48];

	disk_index_key(st, key, sizeof(key));
	return rundir_path(rd, buf, len, "disks/%s", key);
}

int disk_index_add(const struct rundir *rd, const struct stat *st, const char *name, bool readonly)
{
	char dir[PATH_MAX], link[PATH_MAX + DOMAIN_NAME_MAX + 8], tmp[PATH_MAX + 32], top[PATH_MAX];

	if (strlen(name) > DOMAIN_NAME_MAX || !rundir_path(rd, top, sizeof(top), "disks") ||
	    !key_dir(rd, st, dir, sizeof(dir)))
		return -ENAMETOOLONG;
	if ((mkdir(top, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0755) < 0 && errno != EEXIST))
		return -errno;
	snprintf(link, sizeof(link), "%s/=%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.new-%d", dir, (int)getpid());
	unlink(tmp);
	/* A new link renamed over the old one: a reader sees one or the other, never none. */
	if (symlink(readonly ? "r" : "w", tmp) < 0)
		return -errno;
	if (rename(tmp, link) < 0) {
		int r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

void disk_index_forget(const struct rundir *rd, const struct stat *st, const struct disk_index_user *u)
{
	char dir[PATH_MAX], link[PATH_MAX + DOMAIN_NAME_MAX + 8], mode[4];
	ssize_t n;

	if (!key_dir(rd, st, dir, sizeof(dir)))
		return;
	snprintf(link, sizeof(link), "%s/=%s", dir, u->name);
	n = readlink(link, mode, sizeof(mode) - 1);
	if (n != 1 || mode[0] != (u->readonly ? 'r' : 'w'))
		return;              /* rewritten since it was read: someone's new entry */
	unlink(link);
	rmdir(dir);              /* only if that was the last one */
}

int disk_index_users(const struct rundir *rd, const struct stat *st, struct disk_index_user **out,
		     size_t *n)
{
	char dir[PATH_MAX];
	struct disk_index_user *list = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (!key_dir(rd, st, dir, sizeof(dir)))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char mode[4];
		ssize_t len;

		if (de->d_name[0] != '=' || strlen(de->d_name + 1) > DOMAIN_NAME_MAX)
			continue;    /* ".", "..", a writer's .new-<pid>, or nothing we wrote */
		len = readlinkat(dirfd(d), de->d_name, mode, sizeof(mode) - 1);
		if (len != 1 || (mode[0] != 'r' && mode[0] != 'w'))
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct disk_index_user *grown = realloc(list, ncap * sizeof(*list));

			if (!grown) {
				free(list);
				closedir(d);
				return -ENOMEM;
			}
			list = grown;
			cap = ncap;
		}
		snprintf(list[count].name, sizeof(list[count].name), "%s", de->d_name + 1);
		list[count].readonly = mode[0] == 'r';
		count++;
	}
	closedir(d);
	*out = list;
	*n = count;
	return 0;
}

bool disk_index_complete(const struct rundir *rd)
{
	char marker[PATH_MAX];

	return rundir_path(rd, marker, sizeof(marker), "disks/.complete") && access(marker, F_OK) == 0;
}

int disk_index_mark_complete(const struct rundir *rd)
{
	char top[PATH_MAX], marker[PATH_MAX];
	int fd;

	if (!rundir_path(rd, top, sizeof(top), "disks") ||
	    !rundir_path(rd, marker, sizeof(marker), "disks/.complete"))
		return -ENAMETOOLONG;
	if (mkdir(top, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}
