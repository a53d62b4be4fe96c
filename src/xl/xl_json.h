/* Just enough JSON for xl's output (`xl list -l`, `xl create -n`), laid out like libxl's: four-space
 * indentation, "key": value. */
#ifndef XENITH_XL_JSON_H
#define XENITH_XL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json_writer {
	FILE *f;
	int depth;
	bool has_items[JSON_MAX_DEPTH];
};

void json_init(struct json_writer *w, FILE *f);
/* Opens '{' or '['; `key` is the member name inside an object, NULL inside an array or at the top. */
void json_open(struct json_writer *w, const char *key, char bracket);
void json_close(struct json_writer *w, char bracket);
void json_string(struct json_writer *w, const char *key, const char *value);   /* NULL: null */
void json_number(struct json_writer *w, const char *key, unsigned long long value);
void json_bool(struct json_writer *w, const char *key, bool value);
/* Ends the document with a newline. */
void json_finish(struct json_writer *w);

/* A vif as `nics` shows it; NULL strings are null. */
struct xl_json_nic {
	unsigned int devid;
	const char *mac, *bridge, *ip, *script, *vifname;
};

/* A disk as `disks` shows it: access "rw"/"ro", devtype "disk"/"cdrom" (NULL: null, unknown). */
struct xl_json_disk {
	unsigned int devid;
	const char *vdev, *target, *access, *devtype;
};

/* A domain's configuration in libxl_domain_config's shape.  NULL strings are left out; `nics` is
 * left out when nics is NULL (and is [] when n_nics is 0 but nics is not NULL); `disks` likewise. */
struct xl_json_domain {
	const char *name, *type;
	const char *uuid;        /* NULL: left out */
	unsigned long long max_memkb, target_memkb;
	unsigned int max_vcpus;
	const char *kernel, *ramdisk, *cmdline;
	const char *on_poweroff, *on_reboot, *on_crash;
	const struct xl_json_disk *disks;
	size_t n_disks;
	const struct xl_json_nic *nics;
	size_t n_nics;
};
void xl_json_domain_config(struct json_writer *w, const char *key, const struct xl_json_domain *d);

#endif
