/* CONTROL <command>|[<parameters>|]*, as cxenstored's xenstore-control commands:
 *   help                     the commands
 *   print <string>           writes the string to xenstored's log
 *   check                    consistency check of the tree and the accounting
 *   quota                    the quota settings, one "name value" line each
 *   quota set <name> <val>   changes one (0 = unlimited)
 *   quota <domid>            that domain's usage
 *   unpriv-socket <domid>    (Xenith's) listens on <rundir>/xenstored/socket.d/<domid>, whose
 *                            connections act as <domid> with no privilege; answers the path
 * Unknown commands and bad parameters answer EINVAL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/control.h"
#include "xenstore/domain.h"
#include "xenstore/socket.h"

struct control_cmd {
	const char *name;
	int (*fn)(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req,
		  const char **argv, unsigned int argc);
	const char *usage;
};

static int reply_text(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req,
		      const char *text)
{
	return xs_reply(xsd, c, req, text, (unsigned int)strlen(text) + 1);
}

static int ctl_print(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req,
		     const char **argv, unsigned int argc)
{
	if (argc != 1)
		return EINVAL;
	LOG("control print: %s", argv[0]);
	return reply_text(xsd, c, req, "OK");
}

struct check_ctx {
	struct xenstored *xsd;
	unsigned int bad;
};

static int check_node(void *arg, struct xs_node *n)
{
	struct check_ctx *cc = arg;

	if (!n->n_perms || !n->perms)
		cc->bad++;
	for (size_t i = 0; i < n->n_children; i++)
		if (n->children[i]->parent != n)
			cc->bad++;
	return 0;
}

static int ctl_check(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req,
		     const char **argv, unsigned int argc)
{
	struct check_ctx cc = { .xsd = xsd };

	(void)argv;
	if (argc)
		return EINVAL;
	tree_walk(xsd->tree.root, check_node, &cc);
	if (cc.bad) {
		LOG("control check: %u inconsistencies", cc.bad);
		return reply_text(xsd, c, req, "inconsistent");
	}
	return reply_text(xsd, c, req, "OK");
}

static int ctl_quota(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req,
		     const char **argv, unsigned int argc)
{
	char out[2048];
	size_t at = 0;

	if (argc == 0) {
		for (size_t i = 0; i < xs_quota_table_len; i++)
			at += (size_t)snprintf(out + at, sizeof(out) - at, "%-13s %u\n",
					       xs_quota_table[i].name,
					       xs_quota_get(&xsd->quota, &xs_quota_table[i]));
		return reply_text(xsd, c, req, out);
	}
	if (argc == 3 && !strcmp(argv[0], "set")) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(argv[2], &end, 10);
		if (errno || *end || !*argv[2] || argv[2][0] == '-' ||
		    xs_quota_set(&xsd->quota, argv[1], v))
			return EINVAL;
		LOG("quota %s set to %lu", argv[1], v);
		return reply_text(xsd, c, req, "OK");
	}
	unsigned int domid;
	if (argc == 1 && !domain_parse_id(argv[0], &domid)) {
		struct xs_domain *d = domain_get(xsd, domid, false);
		if (!d)
			return ENOENT;
		snprintf(out, sizeof(out), "nodes         %u\nwatches       %u\ntransactions  %u\n"
			 "introduced    %s\n", d->nodes, d->watches, d->transactions,
			 d->ring ? "yes" : d->awaiting ? "awaiting its VMM" : "no");
		return reply_text(xsd, c, req, out);
	}
	return EINVAL;
}

static int ctl_unpriv_socket(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req,
			     const char **argv, unsigned int argc)
{
	unsigned int domid;
	char path[PATH_MAX], err[256];

	if (argc != 1 || domain_parse_id(argv[0], &domid) || domid == 0)
		return EINVAL;
	if (!xsd->rundir[0])
		return ENOSYS;      /* not serving sockets (unit tests) */
	if (socket_listen_unpriv(xsd, domid, path, sizeof(path), err, sizeof(err))) {
		LOG("unpriv-socket %u: %s", domid, err);
		return EIO;
	}
	return reply_text(xsd, c, req, path);
}

static int ctl_help(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req,
		    const char **argv, unsigned int argc);

static const struct control_cmd control_cmds[] = {
	{ "check", ctl_check, "" },
	{ "help", ctl_help, "" },
	{ "print", ctl_print, "<string>" },
	{ "quota", ctl_quota, "[set <name> <val>|<domid>]" },
	{ "unpriv-socket", ctl_unpriv_socket, "<domid>" },
};

static int ctl_help(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req,
		    const char **argv, unsigned int argc)
{
	char out[1024];
	size_t at = 0;

	(void)argv;
	(void)argc;
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		at += (size_t)snprintf(out + at, sizeof(out) - at, "%-14s%s\n", control_cmds[i].name,
				       control_cmds[i].usage);
	return reply_text(xsd, c, req, out);
}

int do_control(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	const char *argv[8];
	unsigned int n = xs_split(req, argv, 8);

	if (n == 0 || n > 8)
		return EINVAL;
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (!strcmp(control_cmds[i].name, argv[0]))
			return control_cmds[i].fn(xsd, c, req, argv + 1, n - 1);
	return EINVAL;
}
