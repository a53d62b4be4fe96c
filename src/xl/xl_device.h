/* The device commands every PV backend type shares: <kind>-attach, <kind>-detach and <kind>-list
 * (network-*, block-*).  xl_device.c does the argument checking, finding the domain, asking its
 * VMM for its list (`<request>-list`), the attach and detach requests, the messages and the list
 * table; a type is one `struct xl_device_type` row in its own file (xl_network.c, xl_block.c)
 * saying how its spec is made from xl's arguments and how its list looks. */
#ifndef XENITH_XL_DEVICE_H
#define XENITH_XL_DEVICE_H

#include <getopt.h>
#include <stddef.h>

struct xl_ctx;

struct xl_device_type {
	const char *request;         /* the VMM's prefix: "vif" -> vif-attach, vif-detach, vif-list */
	const char *attach_cmd, *detach_cmd, *list_cmd;   /* "network-attach", ... */
	int attach_args;             /* arguments network-attach needs: the domain, maybe more */
	const char *attach_what;     /* "attach a network device to" */
	const char *detach_what;     /* "detach a network device from" */
	const char *plural;          /* "vifs": "cannot list the vifs of domain N" */
	const char *not_found;       /* printf format for an unknown DevId: "Unknown device %s.\n" */
	const char *detach_opts;     /* detach's short options ("" when none) and long ones (or NULL) */
	const struct option *detach_longopts;
	int timeout_ms;              /* attach (hotplug scripts) and detach (the guest) */

	/* The VMM's list reply, parsed into a malloc'd array of records: 0, or -1 with err. */
	int (*parse_list)(const char *text, void **out, size_t *n, char *err, size_t errlen);
	void (*free_list)(void *records, size_t n);
	/* Attach, before the list is asked for: xl's arguments to a device (malloc'd into *dev).
	 * 0, or an exit status after saying why. */
	int (*parse_args)(int argc, char **argv, void **dev);
	/* Attach, after: the device against the domain's list (duplicates, defaults, host checks),
	 * then its spec for the VMM (malloc'd).  0, or -1 with why in err (xl prints it after "xl: "). */
	int (*make_spec)(struct xl_ctx *ctx, unsigned int domid, void *dev, const void *list, size_t n,
			 char **spec, char *err, size_t errlen);
	void (*free_dev)(void *dev);
	/* Detach: what the user named (a DevId, a MAC, a vdev) to a devid of the list, or -1. */
	long (*find)(const char *which, const void *list, size_t n);
	/* List: the table's header, and one domain's row for record i. */
	void (*print_header)(void);
	void (*print_row)(unsigned int domid, const void *list, size_t i);
};

/* `<request>-list` of domain domid (>= 1), parsed: 0 with a malloc'd *out (NULL when there are
 * none; free with type->free_list), or -errno as xl_domain_request returns it, message in err. */
int xl_device_list(struct xl_ctx *ctx, const struct xl_device_type *type, unsigned int domid, void **out,
		   size_t *n, char *err, size_t errlen);

/* Attach of `dev` (as the type's parse_args makes it) to domain domid (>= 1) called `name`: the
 * domain's list, the type's checks and spec, the `<request>-attach` request.  0; -ESRCH when the
 * domain is gone; other -errno with xl's message (without "xl: ") in err: -EINVAL for a check. */
int xl_device_attach(struct xl_ctx *ctx, const struct xl_device_type *type, unsigned int domid,
		     const char *name, void *dev, char *err, size_t errlen);
/* Detach of the device `which` names (a DevId, a MAC, a vdev: the type's find) from domain domid
 * called `name`: 0 once the VMM says it is gone; -ESRCH when the domain is; -ENOENT when no device
 * of the list is `which`, with the type's not_found message in err; other -errno with xl's message
 * (without "xl: ") in err. */
int xl_device_detach(struct xl_ctx *ctx, const struct xl_device_type *type, unsigned int domid,
		     const char *name, const char *which, char *err, size_t errlen);

int xl_device_attach_main(struct xl_ctx *ctx, const struct xl_device_type *type, int argc, char **argv);
int xl_device_detach_main(struct xl_ctx *ctx, const struct xl_device_type *type, int argc, char **argv);
int xl_device_list_main(struct xl_ctx *ctx, const struct xl_device_type *type, int argc, char **argv);

#endif
