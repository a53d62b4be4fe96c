/* The storage model (storage.h): pools as files in the state and run directories, volumes as the
 * regular files of a pool's directory.  Nothing is cached: each call reads the directories, so a
 * pool or file changed behind the daemon's back is seen at once (as virt-install's refresh
 * expects) and two daemons on one state directory agree.
 *
 * Volumes are opened relative to their pool's directory with no symlink followed (O_NOFOLLOW,
 * AT_SYMLINK_NOFOLLOW) and names are plain file names, so no client reaches a file outside a
 * pool through a volume name. */
#define _GNU_SOURCE
#include "libvirt/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/rundir.h"
#include "lib/state_file.h"
#include "lib/uuid.h"
#include "libvirt/storage_xml.h"
#include "libvirt/virt_domains.h"

#define ACTIVE_DIR "libvirt-pools"
#define AUTOSTARTED_MARKER "libvirt-pools-autostarted"

/* ---- names -------------------------------------------------------------------------------- */

const char *virt_pool_name_problem(const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return "it is empty";
	if (len > VIRT_POOL_NAME_MAX)
		return "it is longer than 128 bytes";
	if (name[0] == '.' || name[0] == '-')
		return "it starts with '.' or '-'";
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      strchr("_.+-:@", *c)))
			return "only letters, digits and _ . + - : @ are allowed";
	return NULL;
}

const char *virt_vol_name_problem(const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return "it is empty";
	if (len > VIRT_VOL_NAME_MAX)
		return "it is longer than 255 bytes";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "'.' and '..' are not file names";
	if (strchr(name, '/'))
		return "a volume name is a file name, without '/'";
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "it has a control character";
	return NULL;
}

/* ---- where things are --------------------------------------------------------------------- */

static int fmt_path(char *buf, size_t len, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fmt_path(char *buf, size_t len, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		ERR_SET(err, errlen, "a storage path is too long (%.80s...)", buf);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int defs_dir(const struct virt_host *h, char *buf, size_t len, char *err, size_t errlen)
{
	return fmt_path(buf, len, err, errlen, "%s/pools", h->state_dir);
}

static int active_dir(const struct virt_host *h, char *buf, size_t len, char *err, size_t errlen)
{
	return fmt_path(buf, len, err, errlen, "%s/%s", h->xl.rd.path, ACTIVE_DIR);
}

/* Reads and parses dir/FILE (a pool's XML, at most STORAGE_XML_MAX_BYTES); 0 or -1. */
static int read_pool_file(int dirfd, const char *file, struct virt_pool *out, char *why, size_t whylen)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf;
	ssize_t n;
	int r = -1;

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	buf = malloc(STORAGE_XML_MAX_BYTES + 1);
	if (buf) {
		n = read(fd, buf, STORAGE_XML_MAX_BYTES + 1);
		if (n < 0 || n > (ssize_t)STORAGE_XML_MAX_BYTES)
			snprintf(why, whylen, "%s", n < 0 ? strerror(errno) : "too large");
		else
			r = pool_xml_parse(buf, (size_t)n, out, why, whylen) ? -1 : 0;
	}
	free(buf);
	close(fd);
	return r;
}

/* ---- the pool list ------------------------------------------------------------------------ */

struct pool_list {
	struct virt_pool *v;
	size_t n, cap;
};

static struct virt_pool *list_find(struct pool_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/* Adds the pools of one directory's NAME.xml files; a file that is not a pool is logged and
 * skipped, so one bad file does not hide the others. */
static int list_scan(struct pool_list *l, const char *dir, bool active, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : (ERR_SET(err, errlen, "cannot read %s: %s", dir, strerror(errno)),
					      -EIO);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct virt_pool p;
		char why[256];

		if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".xml"))
			continue;
		if (read_pool_file(dirfd(d), e->d_name, &p, why, sizeof(why)) ||
		    strncmp(e->d_name, p.name, len - 4) || strlen(p.name) != len - 4) {
			LOG("storage: %s/%s is not a pool definition of that name; skipped (%s)", dir,
			    e->d_name, why);
			continue;
		}
		struct virt_pool *at = list_find(l, p.name);
		if (!at) {
			if (l->n == l->cap) {
				size_t cap = l->cap ? l->cap * 2 : 16;
				struct virt_pool *v = realloc(l->v, cap * sizeof(*v));
				if (!v || l->n >= VIRT_POOLS_MAX) {
					free(v == l->v ? NULL : v);
					closedir(d);
					ERR_SET(err, errlen, "too many pools (or out of memory) in %s", dir);
					return -ENOMEM;
				}
				l->v = v;
				l->cap = cap;
			}
			at = &l->v[l->n++];
			*at = p;
		} else {
			/* The definition it runs with is the active one. */
			bool persistent = at->persistent;
			*at = p;
			at->persistent = persistent;
		}
		if (active)
			at->active = true;
		else
			at->persistent = true;
	}
	closedir(d);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct virt_pool *)a)->name, ((const struct virt_pool *)b)->name);
}

int virt_pools_list(struct virt_host *h, struct virt_pool **out, size_t *n, char *err, size_t errlen)
{
	struct pool_list l = { 0 };
	char defs[PATH_MAX], act[PATH_MAX], mark[PATH_MAX];
	int r;

	if ((r = defs_dir(h, defs, sizeof(defs), err, errlen)) ||
	    (r = active_dir(h, act, sizeof(act), err, errlen)) ||
	    (r = list_scan(&l, defs, false, err, errlen)) || (r = list_scan(&l, act, true, err, errlen))) {
		free(l.v);
		return r;
	}
	for (size_t i = 0; i < l.n; i++) {
		l.v[i].has_uuid = true;
		l.v[i].autostart = l.v[i].persistent &&
				   !fmt_path(mark, sizeof(mark), err, errlen, "%s/autostart/%s", defs,
					     l.v[i].name) &&
				   !access(mark, F_OK);
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), by_name);
	*out = l.v;
	*n = l.n;
	return 0;
}

static int lookup_by(struct virt_host *h, bool (*match)(const struct virt_pool *p, const void *key),
		     const void *key, struct virt_pool *out, char *err, size_t errlen)
{
	struct virt_pool *v;
	size_t n;
	int r = virt_pools_list(h, &v, &n, err, errlen);

	if (r)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n && r; i++)
		if (match(&v[i], key)) {
			*out = v[i];
			r = 0;
		}
	free(v);
	return r;
}

static bool match_name(const struct virt_pool *p, const void *key) { return !strcmp(p->name, key); }
static bool match_uuid(const struct virt_pool *p, const void *key) { return !memcmp(p->uuid, key, 16); }

/* Same directory: the same spelling, or (both existing) the same inode. */
static bool same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool match_dir(const struct virt_pool *p, const void *key) { return same_dir(p->path, key); }

int virt_pool_lookup(struct virt_host *h, const char *name, const uint8_t *uuid, struct virt_pool *out,
		     char *err, size_t errlen)
{
	if (name)
		return lookup_by(h, match_name, name, out, err, errlen);
	if (uuid)
		return lookup_by(h, match_uuid, uuid, out, err, errlen);
	return -ENOENT;
}

int virt_pool_lookup_by_dir(struct virt_host *h, const char *dir, struct virt_pool *out, char *err,
			    size_t errlen)
{
	return lookup_by(h, match_dir, dir, out, err, errlen);
}

/* ---- defining and starting ---------------------------------------------------------------- */

/* A pool other than def->name that has def's UUID or directory: -EEXIST with err. */
static int check_conflicts(struct virt_host *h, const struct virt_pool *def, const struct virt_pool *self,
			   char *err, size_t errlen)
{
	struct virt_pool *v;
	size_t n;
	char text[UUID_TEXT_LEN];
	int r = virt_pools_list(h, &v, &n, err, errlen);

	if (r)
		return r;
	for (size_t i = 0; i < n && !r; i++) {
		if (!strcmp(v[i].name, def->name))
			continue;
		if (self && !memcmp(v[i].uuid, self->uuid, 16)) {
			uuid_format(self->uuid, text);
			ERR_SET(err, errlen, "pool '%s' already exists with uuid %s", v[i].name, text);
			r = -EEXIST;
		} else if (same_dir(v[i].path, def->path)) {
			ERR_SET(err, errlen, "Storage source conflict with pool: '%s'", v[i].name);
			r = -EEXIST;
		}
	}
	free(v);
	return r;
}

/* def with its UUID settled against an existing pool of its name (old: NULL if none). */
static int settle_uuid(const struct virt_pool *def, const struct virt_pool *old, struct virt_pool *out,
		       char *err, size_t errlen)
{
	char text[UUID_TEXT_LEN];
	int r;

	*out = *def;
	out->active = out->persistent = out->autostart = false;
	if (old && def->has_uuid && memcmp(old->uuid, def->uuid, 16)) {
		uuid_format(old->uuid, text);
		ERR_SET(err, errlen, "pool '%s' is already defined with uuid %s", def->name, text);
		return -EEXIST;
	}
	if (old)
		memcpy(out->uuid, old->uuid, 16);
	else if (!def->has_uuid && (r = uuid_generate(out->uuid))) {
		ERR_SET(err, errlen, "cannot make a UUID: %s", strerror(-r));
		return r;
	}
	out->has_uuid = true;
	return 0;
}

/* Writes p as dir/NAME.xml, whole or not at all. */
static int store(const char *dir, const struct virt_pool *p, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char *xml;
	int r = fmt_path(path, sizeof(path), err, errlen, "%s/%s.xml", dir, p->name);

	if (r)
		return r;
	xml = pool_xml_format(p, NULL);
	if (!xml) {
		ERR_SET(err, errlen, "the pool '%s' cannot be written as XML", p->name);
		return -EINVAL;
	}
	r = state_file_write(path, xml, strlen(xml), err, errlen);
	free(xml);
	return r;
}

static int check_pool_name(const char *name, char *err, size_t errlen)
{
	const char *problem = virt_pool_name_problem(name);

	if (!problem)
		return 0;
	ERR_SET(err, errlen, "invalid pool name '%s': %s", name, problem);
	return -EINVAL;
}

int virt_pool_define(struct virt_host *h, const struct virt_pool *def, struct virt_pool *out, char *err,
		     size_t errlen)
{
	struct virt_pool old, p;
	char dir[PATH_MAX];
	int r = check_pool_name(def->name, err, errlen);

	if (r)
		return r;
	r = virt_pool_lookup(h, def->name, NULL, &old, err, errlen);
	if (r && r != -ENOENT)
		return r;
	if ((r = settle_uuid(def, r ? NULL : &old, &p, err, errlen)) ||
	    (r = check_conflicts(h, &p, &p, err, errlen)) ||
	    (r = state_dir_make(h->state_dir, 0700, err, errlen)) ||
	    (r = defs_dir(h, dir, sizeof(dir), err, errlen)) ||
	    (r = state_dir_make(dir, 0700, err, errlen)) ||
	    (r = store(dir, &p, err, errlen)))
		return r;
	return virt_pool_lookup(h, p.name, NULL, out, err, errlen);
}

/* Marks p active: its definition as the run directory's copy. */
static int activate(struct virt_host *h, const struct virt_pool *p, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int r;

	if (stat(p->path, &st) || !S_ISDIR(st.st_mode)) {
		ERR_SET(err, errlen, "cannot start pool '%s': its directory %s %s", p->name, p->path,
			errno == ENOENT ? "does not exist (pool-build makes it)" : "is not a directory");
		return -ENOTDIR;
	}
	if ((r = active_dir(h, dir, sizeof(dir), err, errlen)) ||
	    (r = state_dir_make(dir, 0700, err, errlen)))
		return r;
	return store(dir, p, err, errlen);
}

int virt_pool_create_transient(struct virt_host *h, const struct virt_pool *def, struct virt_pool *out,
			       char *err, size_t errlen)
{
	struct virt_pool old, p;
	int r = check_pool_name(def->name, err, errlen);

	if (r)
		return r;
	r = virt_pool_lookup(h, def->name, NULL, &old, err, errlen);
	if (r == 0) {
		ERR_SET(err, errlen, "pool '%s' already exists", def->name);
		return -EEXIST;
	}
	if (r != -ENOENT || (r = settle_uuid(def, NULL, &p, err, errlen)) ||
	    (r = check_conflicts(h, &p, &p, err, errlen)) || (r = activate(h, &p, err, errlen)))
		return r;
	return virt_pool_lookup(h, p.name, NULL, out, err, errlen);
}

int virt_pool_build(struct virt_host *h, const struct virt_pool *p, bool no_overwrite, char *err,
		    size_t errlen)
{
	(void)h;
	if (p->active) {
		ERR_SET(err, errlen, "storage pool '%s' is already active", p->name);
		return -EBUSY;
	}
	if (mkdir(p->path, 0755) == 0 || (errno == EEXIST && !no_overwrite))
		return 0;
	int r = -errno;
	ERR_SET(err, errlen, "cannot make the directory %s of pool '%s': %s", p->path, p->name,
		strerror(errno));
	return r;
}

int virt_pool_start(struct virt_host *h, const struct virt_pool *p, char *err, size_t errlen)
{
	if (p->active) {
		ERR_SET(err, errlen, "storage pool '%s' is already active", p->name);
		return -EEXIST;
	}
	return activate(h, p, err, errlen);
}

static int remove_file(const char *path, char *err, size_t errlen)
{
	if (unlink(path) && errno != ENOENT) {
		int r = -errno;
		ERR_SET(err, errlen, "cannot remove %s: %s", path, strerror(errno));
		return r;
	}
	return 0;
}

int virt_pool_destroy(struct virt_host *h, const struct virt_pool *p, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int r;

	if (!p->active) {
		ERR_SET(err, errlen, "storage pool '%s' is not active", p->name);
		return -ESRCH;
	}
	if ((r = fmt_path(path, sizeof(path), err, errlen, "%s/%s/%s.xml", h->xl.rd.path, ACTIVE_DIR,
			  p->name)))
		return r;
	return remove_file(path, err, errlen);
}

int virt_pool_undefine(struct virt_host *h, const struct virt_pool *p, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int r;

	if (!p->persistent) {
		ERR_SET(err, errlen, "pool '%s' is transient: it has no definition", p->name);
		return -ENOENT;
	}
	if ((r = fmt_path(path, sizeof(path), err, errlen, "%s/pools/autostart/%s", h->state_dir,
			  p->name)) ||
	    (r = remove_file(path, err, errlen)) ||
	    (r = fmt_path(path, sizeof(path), err, errlen, "%s/pools/%s.xml", h->state_dir, p->name)))
		return r;
	return remove_file(path, err, errlen);
}

int virt_pool_set_autostart(struct virt_host *h, const struct virt_pool *p, bool on, char *err,
			    size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int r, fd;

	if (!p->persistent) {
		ERR_SET(err, errlen, "cannot set autostart for transient pool '%s'", p->name);
		return -EINVAL;
	}
	if ((r = fmt_path(dir, sizeof(dir), err, errlen, "%s/pools/autostart", h->state_dir)) ||
	    (r = fmt_path(path, sizeof(path), err, errlen, "%s/%s", dir, p->name)))
		return r;
	if (!on)
		return remove_file(path, err, errlen);
	if ((r = state_dir_make(dir, 0700, err, errlen)))
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		ERR_SET(err, errlen, "cannot make %s: %s", path, strerror(errno));
		return r;
	}
	close(fd);
	return 0;
}

int virt_pool_info(struct virt_host *h, const struct virt_pool *p, struct virt_pool_info *info, char *err,
		   size_t errlen)
{
	struct statvfs sv;

	(void)h;
	memset(info, 0, sizeof(*info));
	info->state = p->active ? VIR_STORAGE_POOL_RUNNING : VIR_STORAGE_POOL_INACTIVE;
	if (!p->active)
		return 0;
	if (statvfs(p->path, &sv)) {
		int r = -errno;
		ERR_SET(err, errlen, "cannot read the file system of %s: %s", p->path, strerror(errno));
		return r;
	}
	info->capacity = (unsigned long long)sv.f_blocks * sv.f_frsize;
	info->available = (unsigned long long)sv.f_bavail * sv.f_frsize;
	info->allocation = (unsigned long long)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
	return 0;
}

void virt_storage_autostart(struct virt_host *h)
{
	char path[PATH_MAX], err[512];
	struct virt_pool *v;
	size_t n;

	if (!rundir_path(&h->xl.rd, path, sizeof(path), "%s", AUTOSTARTED_MARKER))
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return;         /* done already this boot (or cannot be marked: then never) */
	close(fd);
	if (virt_pools_list(h, &v, &n, err, sizeof(err))) {
		LOG("storage autostart: cannot list the pools: %s", err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!v[i].autostart || v[i].active)
			continue;
		err[0] = '\0';
		if (activate(h, &v[i], err, sizeof(err)))
			LOG("storage autostart: pool '%s' did not start: %s", v[i].name, err);
		else
			LOG("storage autostart: started pool '%s' (%s)", v[i].name, v[i].path);
	}
	free(v);
}

/* ---- volumes ------------------------------------------------------------------------------ */

static int need_active(const struct virt_pool *p, char *err, size_t errlen)
{
	if (p->active)
		return 0;
	ERR_SET(err, errlen, "storage pool '%s' is not active", p->name);
	return -ESRCH;
}

/* The volume `name` of p, from its directory opened as dirfd: 0, -ENOENT, -errno. */
static int vol_at(int dirfd, const struct virt_pool *p, const char *name, struct virt_vol *out)
{
	struct stat st;

	if (virt_vol_name_problem(name) || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISREG(st.st_mode))
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->pool, sizeof(out->pool), "%s", p->name);
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (snprintf(out->path, sizeof(out->path), "%s/%s", strcmp(p->path, "/") ? p->path : "", name) >=
	    (int)sizeof(out->path))
		return -ENAMETOOLONG;
	out->capacity = (unsigned long long)st.st_size;
	out->allocation = (unsigned long long)st.st_blocks * 512;
	return 0;
}

static int open_pool_dir(const struct virt_pool *p, char *err, size_t errlen)
{
	int fd = open(p->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		ERR_SET(err, errlen, "cannot open the directory %s of pool '%s': %s", p->path, p->name,
			strerror(errno));
		return r;
	}
	return fd;
}

static int vol_by_name(const void *a, const void *b)
{
	return strcmp(((const struct virt_vol *)a)->name, ((const struct virt_vol *)b)->name);
}

int virt_vols_list(struct virt_host *h, const struct virt_pool *p, struct virt_vol **out, size_t *n,
		   char *err, size_t errlen)
{
	struct virt_vol *v = NULL;
	size_t count = 0, cap = 0;
	struct dirent *e;
	int r, fd;
	DIR *d;

	(void)h;
	if ((r = need_active(p, err, errlen)) || (fd = r = open_pool_dir(p, err, errlen)) < 0)
		return r;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		ERR_SET(err, errlen, "cannot read %s: %s", p->path, strerror(errno));
		return -EIO;
	}
	r = 0;
	while (!r && (e = readdir(d))) {
		struct virt_vol vol;
		if (vol_at(dirfd(d), p, e->d_name, &vol))
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct virt_vol *nv = count < VIRT_VOLS_MAX ? realloc(v, ncap * sizeof(*nv)) : NULL;
			if (!nv) {
				ERR_SET(err, errlen, "pool '%s' has more than %u files (or out of memory)",
					p->name, VIRT_VOLS_MAX);
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[count++] = vol;
	}
	closedir(d);
	if (r) {
		free(v);
		return r;
	}
	if (count)
		qsort(v, count, sizeof(*v), vol_by_name);
	*out = v;
	*n = count;
	return 0;
}

int virt_vol_lookup(struct virt_host *h, const struct virt_pool *p, const char *name, struct virt_vol *out,
		    char *err, size_t errlen)
{
	int r, fd;

	(void)h;
	if ((r = need_active(p, err, errlen)) || (fd = r = open_pool_dir(p, err, errlen)) < 0)
		return r;
	r = vol_at(fd, p, name, out);
	close(fd);
	return r;
}

int virt_vol_lookup_by_path(struct virt_host *h, const char *path, struct virt_vol *out, char *err,
			    size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct virt_pool p;
	int r;

	if (path[0] != '/' || !slash || !slash[1] || (size_t)(slash - path) >= sizeof(dir))
		return -ENOENT;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (!dir[0])
		strcpy(dir, "/");
	r = virt_pool_lookup_by_dir(h, dir, &p, err, errlen);
	if (r)
		return r;
	if (!p.active)
		return -ENOENT;
	r = virt_vol_lookup(h, &p, slash + 1, out, err, errlen);
	return r == -ESRCH ? -ENOENT : r;
}

int virt_vol_create(struct virt_host *h, const struct virt_pool *p, const char *name,
		    unsigned long long capacity, unsigned long long allocation, struct virt_vol *out,
		    char *err, size_t errlen)
{
	const char *problem = virt_vol_name_problem(name);
	int r, dfd, fd;

	(void)h;
	if (problem) {
		ERR_SET(err, errlen, "invalid volume name '%s': %s", name, problem);
		return -EINVAL;
	}
	if (capacity > VIRT_VOL_CAPACITY_MAX) {
		ERR_SET(err, errlen, "a capacity of %llu bytes is more than Xenith allows (%llu)", capacity,
			VIRT_VOL_CAPACITY_MAX);
		return -EINVAL;
	}
	if ((r = need_active(p, err, errlen)) || (dfd = r = open_pool_dir(p, err, errlen)) < 0)
		return r;
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		if (errno == EEXIST)
			ERR_SET(err, errlen, "storage volume '%s' exists already in pool '%s'", name, p->name);
		else
			ERR_SET(err, errlen, "cannot create %s/%s: %s", p->path, name, strerror(errno));
		close(dfd);
		return r;
	}
	if (allocation > capacity)
		allocation = capacity;
	if (ftruncate(fd, (off_t)capacity) ||
	    (allocation && (errno = posix_fallocate(fd, 0, (off_t)allocation)))) {
		r = -errno;
		ERR_SET(err, errlen, "cannot make %s/%s %llu bytes long: %s", p->path, name, capacity,
			strerror(errno));
		close(fd);
		unlinkat(dfd, name, 0);
		close(dfd);
		return r;
	}
	close(fd);
	r = vol_at(dfd, p, name, out);
	close(dfd);
	if (r)
		ERR_SET(err, errlen, "the new volume %s/%s went away", p->path, name);
	return r;
}

int virt_vol_delete(struct virt_host *h, const struct virt_vol *v, char *err, size_t errlen)
{
	struct virt_pool p;
	struct virt_vol now;
	int r, dfd;

	if ((r = virt_pool_lookup(h, v->pool, NULL, &p, err, errlen)) ||
	    (r = need_active(&p, err, errlen)) || (dfd = r = open_pool_dir(&p, err, errlen)) < 0)
		return r;
	r = vol_at(dfd, &p, v->name, &now);
	if (!r && unlinkat(dfd, v->name, 0)) {
		r = -errno;
		ERR_SET(err, errlen, "cannot remove %s: %s", now.path, strerror(errno));
	}
	close(dfd);
	return r;
}
