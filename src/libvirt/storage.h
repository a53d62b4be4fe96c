/* The storage a libvirt client sees (docs/libvirt.md, "Storage"): `dir` pools only.  A pool is a
 * directory; its volumes are the regular files in it, raw images.
 *
 * Where things live:
 *   <state dir>/pools/NAME.xml         the persistent definition (storage_xml.h's stored form),
 *                                      written whole (temp + rename)
 *   <state dir>/pools/autostart/NAME   autostart marker, as <state dir>/auto/ is for domains
 *   <rundir>/libvirt-pools/NAME.xml    the pool is active: the definition it was started with
 *                                      (a transient pool, from pool-create, has only this one)
 * The run directory is emptied by a host reboot, so every pool is inactive after one; the
 * autostart ones are started again once per boot (<rundir>/libvirt-pools-autostarted, as
 * autostart.c does for domains).  All state is on disk: nothing is cached between calls. */
#ifndef XENITH_VIRT_STORAGE_H
#define XENITH_VIRT_STORAGE_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct virt_host;

#define VIRT_POOL_NAME_MAX  128u
#define VIRT_VOL_NAME_MAX   255u                 /* one file name (NAME_MAX) */
#define VIRT_VOL_CAPACITY_MAX (1ull << 50)      /* 1 PiB: any larger is a typo or an attack */
#define VIRT_POOLS_MAX      4096u                /* REMOTE_STORAGE_POOL_LIST_MAX */
#define VIRT_VOLS_MAX       16384u               /* REMOTE_STORAGE_VOL_LIST_MAX */

struct virt_pool {
	char name[VIRT_POOL_NAME_MAX + 1];
	uint8_t uuid[16];
	bool has_uuid;                           /* parsed XML only: a <uuid> was given */
	char path[PATH_MAX - 256];               /* the target directory, absolute */
	bool active, persistent, autostart;
};

struct virt_vol {
	char pool[VIRT_POOL_NAME_MAX + 1];
	char name[VIRT_VOL_NAME_MAX + 1];
	char path[PATH_MAX];                     /* also its key, as in libvirt's dir pools */
	unsigned long long capacity, allocation; /* bytes: the file's size and its blocks */
};

struct virt_pool_info {
	int state;                               /* virStoragePoolState */
	unsigned long long capacity, allocation, available;
};

/* NULL when `name` may name a pool, else why not. */
const char *virt_pool_name_problem(const char *name);
/* NULL when `name` may name a volume (a plain file name), else why not. */
const char *virt_vol_name_problem(const char *name);

/* Once per host boot, starts the pools marked autostart (each start or failure logged). */
void virt_storage_autostart(struct virt_host *h);

/* Every pool (defined and active), by name.  0 with *out (malloc'd) and *n; -errno with err. */
int virt_pools_list(struct virt_host *h, struct virt_pool **out, size_t *n, char *err, size_t errlen);
/* One pool by name or UUID (NULL: not that key), or (dir) by its target directory.  0; -ENOENT
 * when there is none; other -errno with err. */
int virt_pool_lookup(struct virt_host *h, const char *name, const uint8_t *uuid, struct virt_pool *out,
		     char *err, size_t errlen);
int virt_pool_lookup_by_dir(struct virt_host *h, const char *dir, struct virt_pool *out, char *err,
			    size_t errlen);

/* Stores def as the definition of def->name (a UUID made if it has none; a redefinition keeps
 * the UUID, and must keep the directory while active).  Another pool with the same UUID or
 * directory is -EEXIST.  0 with *out; -errno with err. */
int virt_pool_define(struct virt_host *h, const struct virt_pool *def, struct virt_pool *out, char *err,
		     size_t errlen);
/* A transient pool, started now (pool-create): -EEXIST when the name, UUID or directory is
 * taken. */
int virt_pool_create_transient(struct virt_host *h, const struct virt_pool *def, struct virt_pool *out,
			       char *err, size_t errlen);
/* pool-build: makes the directory (0755; its parent must exist).  An existing directory is
 * fine unless no_overwrite.  0 or -errno with err. */
int virt_pool_build(struct virt_host *h, const struct virt_pool *p, bool no_overwrite, char *err,
		    size_t errlen);
/* pool-start: the directory must exist; -EEXIST when active already. */
int virt_pool_start(struct virt_host *h, const struct virt_pool *p, char *err, size_t errlen);
/* pool-destroy: inactive (a transient pool is gone); the files stay.  -ESRCH when not active. */
int virt_pool_destroy(struct virt_host *h, const struct virt_pool *p, char *err, size_t errlen);
/* pool-undefine: the definition and autostart go; an active pool goes on, transient.  -ENOENT
 * for a transient pool. */
int virt_pool_undefine(struct virt_host *h, const struct virt_pool *p, char *err, size_t errlen);
int virt_pool_set_autostart(struct virt_host *h, const struct virt_pool *p, bool on, char *err,
			    size_t errlen);
/* State and the sizes of the file system holding the directory (zeros when inactive). */
int virt_pool_info(struct virt_host *h, const struct virt_pool *p, struct virt_pool_info *info, char *err,
		   size_t errlen);

/* The volumes of an active pool (-ESRCH when inactive), by name.  0 with *out and *n. */
int virt_vols_list(struct virt_host *h, const struct virt_pool *p, struct virt_vol **out, size_t *n,
		   char *err, size_t errlen);
/* A volume by name in an active pool; -ENOENT when no such regular file. */
int virt_vol_lookup(struct virt_host *h, const struct virt_pool *p, const char *name, struct virt_vol *out,
		    char *err, size_t errlen);
/* A volume by its path (or key), in whichever active pool holds it; -ENOENT otherwise. */
int virt_vol_lookup_by_path(struct virt_host *h, const char *path, struct virt_vol *out, char *err,
			    size_t errlen);
/* A new sparse raw file of `capacity` bytes (the first `allocation` bytes allocated), mode 0600;
 * -EEXIST when a file of that name exists, -EINVAL for a bad name or size. */
int virt_vol_create(struct virt_host *h, const struct virt_pool *p, const char *name,
		    unsigned long long capacity, unsigned long long allocation, struct virt_vol *out,
		    char *err, size_t errlen);
/* Removes the volume's file. */
int virt_vol_delete(struct virt_host *h, const struct virt_vol *v, char *err, size_t errlen);
#endif
