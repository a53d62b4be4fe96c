/* Xen's permission model, table-driven: Dom0 sets up /p with some permissions, then a domain
 * tries an operation; the answer must be Xen's. */
#include "unit.h"
#include "xs_harness.h"

struct perm_case {
	const char *name;
	const char *perms;      /* SET_PERMS list for /p ('|'-separated), "" for Dom0's n0 */
	unsigned int domid;     /* who tries */
	uint32_t type;
	const char *payload;
	const char *expect;
};

static const struct perm_case cases[] = {
	{ "owner-only-read-denied", "n0|", 5, XS_READ, "/p|", "ERROR EACCES" },
	{ "others-r-read-ok", "r0|", 5, XS_READ, "/p|", "secret" },
	{ "others-r-write-denied", "r0|", 5, XS_WRITE, "/p|x", "ERROR EACCES" },
	{ "entry-r5", "n0|r5|", 5, XS_READ, "/p|", "secret" },
	{ "entry-r5-other-domain", "n0|r5|", 6, XS_READ, "/p|", "ERROR EACCES" },
	{ "entry-w5-write", "n0|w5|", 5, XS_WRITE, "/p|new", "OK" },
	{ "entry-w5-no-read", "n0|w5|", 5, XS_READ, "/p|", "ERROR EACCES" },
	{ "entry-b5-both", "n0|b5|", 5, XS_READ, "/p|", "secret" },
	{ "entry-n5-overrides-others-r", "r0|n5|", 5, XS_READ, "/p|", "ERROR EACCES" },
	{ "owner-5-full", "n5|", 5, XS_WRITE, "/p|mine", "OK" },
	{ "owner-5-reads", "n5|", 5, XS_READ, "/p|", "secret" },
	{ "dir-denied", "n0|", 5, XS_DIRECTORY, "/p|", "ERROR EACCES" },
	{ "getperms-denied", "n0|", 5, XS_GET_PERMS, "/p|", "ERROR EACCES" },
	{ "getperms-readable", "r0|", 5, XS_GET_PERMS, "/p|", "r0" },
	/* hiding: absent below an unreadable node looks denied, below a readable one absent */
	{ "hide-absent-under-unreadable", "n0|", 5, XS_READ, "/p/none|", "ERROR EACCES" },
	{ "absent-under-readable", "r0|", 5, XS_READ, "/p/none|", "ERROR ENOENT" },
	{ "create-under-writable", "n0|w5|", 5, XS_WRITE, "/p/kid|1", "OK" },
	{ "create-under-readonly", "r0|", 5, XS_WRITE, "/p/kid|1", "ERROR EACCES" },
	{ "mkdir-existing-no-write", "r0|", 5, XS_MKDIR, "/p|", "ERROR EACCES" },
	{ "rm-denied", "r0|", 5, XS_RM, "/p|", "ERROR EACCES" },
	{ "rm-owner", "n5|", 5, XS_RM, "/p|", "OK" },
	{ "setperms-not-owner", "b0|", 5, XS_SET_PERMS, "/p|b0|", "ERROR EACCES" },
	{ "setperms-owner-keeps-owner", "n5|", 5, XS_SET_PERMS, "/p|n5|r6|", "OK" },
	{ "setperms-owner-gives-away", "n5|", 5, XS_SET_PERMS, "/p|n6|", "ERROR EPERM" },
	{ "priv-only-introduce", "n0|", 5, XS_INTRODUCE, "5|1|1|", "ERROR EACCES" },
	{ "priv-only-control", "n0|", 5, XS_CONTROL, "print|x|", "ERROR EACCES" },
	{ "priv-only-release", "n0|", 5, XS_RELEASE, "5|", "ERROR EACCES" },
	{ "domain-path-anyone", "n0|", 5, XS_GET_DOMAIN_PATH, "5|", "/local/domain/5" },
	{ "special-watch-denied-perms", "n0|", 5, XS_GET_PERMS, "@releaseDomain|",
	  "ERROR EACCES" },
};

static void run_case(struct unit *u, const void *arg)
{
	const struct perm_case *pc = arg;
	struct xenstored xsd;
	struct xs_answer a;
	char spec[128];

	xsd_init(&xsd);
	struct xs_conn *dom0 = xs_mem_conn(&xsd, 0, true);
	struct xs_conn *dom = xs_mem_conn(&xsd, pc->domid, false);
	xs_do(&xsd, dom0, XS_WRITE, 0, "/p|secret", &a);
	snprintf(spec, sizeof(spec), "/p|%s", pc->perms);
	CHECK_STR(xs_text((xs_do(&xsd, dom0, XS_SET_PERMS, 0, spec, &a), &a)), "OK");
	xs_do(&xsd, dom, pc->type, 0, pc->payload, &a);
	CHECK_STR(xs_text(&a), pc->expect);
	xsd_destroy(&xsd);
}

/* Nodes an unprivileged domain creates belong to it; Dom0's creations inherit the owner. */
static void test_creator_owns(struct unit *u, const void *arg)
{
	struct xenstored xsd;
	struct xs_answer a;

	(void)arg;
	xsd_init(&xsd);
	struct xs_conn *dom0 = xs_mem_conn(&xsd, 0, true), *d5 = xs_mem_conn(&xsd, 5, false);
	xs_do(&xsd, dom0, XS_MKDIR, 0, "/local/domain/5|", &a);
	xs_do(&xsd, dom0, XS_SET_PERMS, 0, "/local/domain/5|n0|b5|", &a);
	xs_do(&xsd, d5, XS_WRITE, 0, "data/x|1", &a);        /* relative to its home */
	CHECK_STR(xs_text(&a), "OK");
	xs_do(&xsd, dom0, XS_GET_PERMS, 0, "/local/domain/5/data|", &a);
	CHECK_STR(xs_text(&a), "n5|b5");
	xs_do(&xsd, dom0, XS_WRITE, 0, "/local/domain/5/tool|1", &a);
	xs_do(&xsd, dom0, XS_GET_PERMS, 0, "/local/domain/5/tool|", &a);
	CHECK_STR(xs_text(&a), "n0|b5");
	CHECK_INT(domain_get(&xsd, 5, false)->nodes, 2);
	xsd_destroy(&xsd);
}

/* Watches fire only for connections that may read the node. */
static void test_watch_respects_perms(struct unit *u, const void *arg)
{
	struct xenstored xsd;
	struct xs_answer a;

	(void)arg;
	xsd_init(&xsd);
	struct xs_conn *dom0 = xs_mem_conn(&xsd, 0, true), *d5 = xs_mem_conn(&xsd, 5, false);
	xs_do(&xsd, dom0, XS_WRITE, 0, "/s/open|1", &a);
	xs_do(&xsd, dom0, XS_SET_PERMS, 0, "/s/open|r0|", &a);
	xs_do(&xsd, dom0, XS_WRITE, 0, "/s/closed|1", &a);
	xs_do(&xsd, d5, XS_WATCH, 0, "/s|t|", &a);
	xs_do(&xsd, dom0, XS_WRITE, 0, "/s/open|2", &a);
	xs_do(&xsd, dom0, XS_WRITE, 0, "/s/closed|2", &a);
	xs_collect(d5, &a);
	CHECK_INT(a.n_events, 1);
	CHECK_STR(a.events[0], "/s/open|t");
	xs_do(&xsd, d5, XS_WATCH, 0, "@introduceDomain|i|", &a);
	xs_do(&xsd, dom0, XS_SET_PERMS, 0, "@introduceDomain|n0|r5|", &a);
	CHECK_STR(xs_text(&a), "OK");
	xs_do(&xsd, d5, XS_GET_PERMS, 0, "@introduceDomain|", &a);
	CHECK_STR(xs_text(&a), "n0|r5");
	xsd_destroy(&xsd);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		unit_case(&u, cases[i].name, run_case, &cases[i]);
	unit_case(&u, "creator-owns", test_creator_owns, NULL);
	unit_case(&u, "watch-respects-perms", test_watch_respects_perms, NULL);
	return unit_finish(&u);
}
