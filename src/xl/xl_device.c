/* <kind>-attach, <kind>-detach, <kind>-list for every device type (xl_device.h): the steps and
 * messages they share, with the type's row filling in what differs. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xl/xl_cmdtable.h"
#include "xl/xl_device.h"
#include "xl/xl_domain.h"

#define LIST_TIMEOUT_MS 5000
#define LIST_REPLY_MAX 65536

int xl_device_list(struct xl_ctx *ctx, const struct xl_device_type *type, unsigned int domid, void **out,
		   size_t *n, char *err, size_t errlen)
{
	char *reply = malloc(LIST_REPLY_MAX), request[32];
	int r;

	*out = NULL;
	*n = 0;
	if (!reply) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(request, sizeof(request), "%s-list", type->request);
	r = xl_domain_request(ctx, domid, request, LIST_TIMEOUT_MS, reply, LIST_REPLY_MAX);
	if (r)
		snprintf(err, errlen, "%s", reply);
	else if (type->parse_list(reply, out, n, err, errlen))
		r = -EPROTO;
	free(reply);
	return r;
}

/* The device list of a domain, with the usual complaints: 0, or the exit status. */
static int list_or_complain(struct xl_ctx *ctx, const struct xl_device_type *type, const char *qualifier,
			    unsigned int domid, void **list, size_t *n)
{
	char err[1024];
	int r = xl_device_list(ctx, type, domid, list, n, err, sizeof(err));

	if (r == -ESRCH) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", qualifier);
		return EXIT_FAILURE;
	}
	if (r) {
		fprintf(stderr, "xl: cannot list the %s of domain %u: %s\n", type->plural, domid, err);
		return EXIT_FAILURE;
	}
	return 0;
}

/* Attach's checks against the domain's list, and the spec for the VMM (malloc'd in *spec): 0,
 * -ESRCH (the domain is gone), or -errno with xl's message (without "xl: ") in err. */
static int attach_spec(struct xl_ctx *ctx, const struct xl_device_type *type, unsigned int domid, void *dev,
		       char **spec, char *err, size_t errlen)
{
	char why[1024];
	void *list = NULL;
	size_t n = 0;
	int r = xl_device_list(ctx, type, domid, &list, &n, why, sizeof(why));

	*spec = NULL;
	if (r == -ESRCH)
		return r;
	if (r) {
		snprintf(err, errlen, "cannot list the %s of domain %u: %s", type->plural, domid, why);
		return r;
	}
	if (type->make_spec(ctx, domid, dev, list, n, spec, err, errlen))
		r = -EINVAL;
	if (list)
		type->free_list(list, n);
	return r;
}

int xl_device_attach(struct xl_ctx *ctx, const struct xl_device_type *type, unsigned int domid,
		     const char *name, void *dev, char *err, size_t errlen)
{
	char request[32], *line = NULL, *spec, reply[1024];
	int r = attach_spec(ctx, type, domid, dev, &spec, err, errlen);

	if (r == -ESRCH)
		snprintf(err, errlen, "domain %u (%s) does not exist", domid, name);
	if (r)
		return r;
	snprintf(request, sizeof(request), "%s-attach", type->request);
	if (asprintf(&line, "%s %s", request, spec) < 0) {
		free(spec);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = xl_domain_request(ctx, domid, line, type->timeout_ms, reply, sizeof(reply));
	if (r == -ESRCH)
		snprintf(err, errlen, "domain %u (%s) does not exist", domid, name);
	else if (r)
		snprintf(err, errlen, "cannot %s domain %u (%s): %s", type->attach_what, domid, name, reply);
	free(line);
	free(spec);
	return r;
}

int xl_device_attach_main(struct xl_ctx *ctx, const struct xl_device_type *type, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], request[32], err[1024], *spec = NULL;
	void *dev = NULL;
	unsigned int domid;
	int opt, status, r;

	while ((opt = xl_getopt(argc, argv, "", NULL, type->attach_cmd, type->attach_args, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	status = xl_find_domain_or_complain(ctx, argv[optind], type->attach_what, &domid, name, sizeof(name));
	if (status)
		return status;
	status = type->parse_args(argc - optind - 1, argv + optind + 1, &dev);
	if (status)
		goto out;
	r = attach_spec(ctx, type, domid, dev, &spec, err, sizeof(err));
	if (r == -ESRCH)
		fprintf(stderr, "xl: domain '%s' does not exist\n", argv[optind]);
	else if (r)
		fprintf(stderr, "xl: %s\n", err);
	status = EXIT_FAILURE;
	if (r)
		goto out;
	snprintf(request, sizeof(request), "%s-attach", type->request);
	status = xl_device_request(ctx, domid, name, argv[optind], request, spec, type->attach_what,
				   type->timeout_ms);
out:
	free(spec);
	if (dev)
		type->free_dev(dev);
	return status;
}

int xl_device_detach(struct xl_ctx *ctx, const struct xl_device_type *type, unsigned int domid,
		     const char *name, const char *which, char *err, size_t errlen)
{
	char request[64], reply[1024];
	void *list = NULL;
	size_t n = 0;
	long devid;
	int r = xl_device_list(ctx, type, domid, &list, &n, reply, sizeof(reply));

	if (r == -ESRCH)
		return r;
	if (r) {
		snprintf(err, errlen, "cannot list the %s of domain %u: %s", type->plural, domid, reply);
		return r;
	}
	devid = type->find(which, list, n);
	if (list)
		type->free_list(list, n);
	if (devid < 0) {
		snprintf(err, errlen, type->not_found, which);
		err[strcspn(err, "\n")] = '\0';
		return -ENOENT;
	}
	snprintf(request, sizeof(request), "%s-detach %ld", type->request, devid);
	r = xl_domain_request(ctx, domid, request, type->timeout_ms, reply, sizeof(reply));
	if (r && r != -ESRCH)
		snprintf(err, errlen, "cannot detach %s %ld from domain %u (%s): %s", type->request, devid,
			 domid, name, reply);
	return r == -ENOENT ? -EIO : r;      /* -ENOENT is ours: nothing of that name in the list */
}

int xl_device_detach_main(struct xl_ctx *ctx, const struct xl_device_type *type, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], err[1200];
	unsigned int domid;
	int opt, status, r;

	/* Options detach takes (block-detach -f) change nothing: the VMM's detach always waits. */
	while ((opt = xl_getopt(argc, argv, type->detach_opts, type->detach_longopts, type->detach_cmd, 2,
				&status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	status = xl_find_domain_or_complain(ctx, argv[optind], type->detach_what, &domid, name, sizeof(name));
	if (status)
		return status;
	r = xl_device_detach(ctx, type, domid, name, argv[optind + 1], err, sizeof(err));
	if (r == -ESRCH)
		fprintf(stderr, "xl: domain '%s' does not exist\n", argv[optind]);
	else if (r == -ENOENT)
		fprintf(stderr, "%s\n", err);
	else if (r)
		fprintf(stderr, "xl: %s\n", err);
	return r ? EXIT_FAILURE : EXIT_SUCCESS;
}

int xl_device_list_main(struct xl_ctx *ctx, const struct xl_device_type *type, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1];
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, type->list_cmd, 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	type->print_header();
	for (int i = optind; i < argc; i++) {
		void *list = NULL;
		size_t n = 0;

		fflush(stdout);
		status = xl_find_domain_or_complain(ctx, argv[i], NULL, &domid, name, sizeof(name));
		if (status)
			return status;
		if (domid == 0)
			continue;        /* the host's own interfaces and disks are not PV devices */
		status = list_or_complain(ctx, type, argv[i], domid, &list, &n);
		if (status)
			return status;
		for (size_t j = 0; j < n; j++)
			type->print_row(domid, list, j);
		if (list)
			type->free_list(list, n);
	}
	return EXIT_SUCCESS;
}
