/* xenstored's tree, directly and through the node requests of a Dom0 connection. */
#include "unit.h"
#include "xs_harness.h"
#include "xenstore/tree.h"

static void test_tree_ops(struct unit *u, const void *arg)
{
	uint64_t gen = 0;
	struct xs_tree t, copy;
	char path[64];

	(void)arg;
	CHECK_INT(tree_init(&t, &gen), 0);
	struct xs_node *n = tree_create(&t, "/a/b/c", NULL, NULL, NULL);
	CHECK(n != NULL, "create /a/b/c");
	CHECK_INT(tree_path(n, path, sizeof(path)), 6);
	CHECK_STR(path, "/a/b/c");
	CHECK(tree_lookup(&t, "/a/b") != NULL, "parent made");
	CHECK(tree_lookup(&t, "/a/x") == NULL, "no /a/x");
	CHECK(tree_nearest(&t, "/a/x/y") == tree_lookup(&t, "/a"), "nearest of /a/x/y is /a");
	uint64_t before = tree_lookup(&t, "/a/b")->gen;
	CHECK_INT(tree_set_value(&t, n, "v\0w", 3), 0);
	CHECK_INT(n->len, 3);
	CHECK(tree_lookup(&t, "/a/b")->gen == before, "a child's value does not touch the parent");
	CHECK_INT(tree_clone(&copy, &t), 0);
	CHECK_INT(tree_count(copy.root), 4);
	CHECK(tree_lookup(&copy, "/a/b/c")->gen == n->gen, "clone keeps generations");
	tree_remove(&t, tree_lookup(&t, "/a/b"), NULL, NULL);
	CHECK(tree_lookup(&t, "/a/b/c") == NULL, "subtree gone");
	CHECK(tree_lookup(&copy, "/a/b/c") != NULL, "clone independent");
	CHECK(tree_lookup(&t, "/a")->gen > before, "removing a child changes the parent");
	tree_free(&copy);
	tree_free(&t);
}

struct step {
	uint32_t type;
	const char *payload;    /* '|' = NUL */
	const char *expect;     /* xs_text of the answer */
};

/* One Dom0 session: each row's answer in order. */
static const struct step session[] = {
	{ XS_READ, "/tool/xenstored|", "" },
	{ XS_WRITE, "/a/b|hello", "OK" },
	{ XS_READ, "/a/b|", "hello" },
	{ XS_WRITE, "/a/bin|x|y", "OK" },                  /* values may hold NULs */
	{ XS_READ, "/a/bin|", "x|y" },
	{ XS_DIRECTORY, "/a|", "b|bin" },
	{ XS_DIRECTORY, "/|", "tool|a" },
	{ XS_MKDIR, "/a/b|", "OK" },                       /* exists: value kept */
	{ XS_READ, "/a/b|", "hello" },
	{ XS_MKDIR, "/m/n|", "OK" },
	{ XS_READ, "/m/n|", "" },
	{ XS_RM, "/a|", "OK" },
	{ XS_READ, "/a/b|", "ERROR ENOENT" },
	{ XS_RM, "/a|", "OK" },                            /* absent, parent there: fine */
	{ XS_RM, "/nope/deeper|", "ERROR ENOENT" },        /* parent absent too */
	{ XS_RM, "/|", "ERROR EINVAL" },
	{ XS_READ, "relative|", "ERROR ENOENT" },          /* /local/domain/0/relative */
	{ XS_WRITE, "rel|1", "OK" },
	{ XS_READ, "/local/domain/0/rel|", "1" },
	{ XS_READ, "/bad//path|", "ERROR EINVAL" },
	{ XS_READ, "/trailing/|", "ERROR EINVAL" },
	{ XS_READ, "/sp ace|", "ERROR EINVAL" },
	{ XS_READ, "@releaseDomain|", "ERROR EINVAL" },
	{ XS_GET_PERMS, "/m|", "n0" },
	{ XS_GET_PERMS, "@releaseDomain|", "n0" },
	{ XS_SET_PERMS, "/m|n0|r5|w6|b7|", "OK" },
	{ XS_GET_PERMS, "/m|", "n0|r5|w6|b7" },
	{ XS_SET_PERMS, "/m|x0|", "ERROR EINVAL" },
	{ XS_SET_PERMS, "/m|", "ERROR EINVAL" },
	{ XS_GET_PERMS, "/m/n|", "n0" },                   /* set before: inherited at creation */
	{ XS_WRITE, "/m/new|", "OK" },
	{ XS_GET_PERMS, "/m/new|", "n0|r5|w6|b7" },        /* created after: inherits */
	{ XS_DIRECTORY_PART, "/m|0|", "" },                /* checked separately below */
	{ XS_GET_DOMAIN_PATH, "7|", "/local/domain/7" },
	{ XS_IS_DOMAIN_INTRODUCED, "7|", "F" },
	{ XS_IS_DOMAIN_INTRODUCED, "0|", "T" },
	{ XS_RELEASE, "7|", "ERROR ENOENT" },
};

static void test_dom0_session(struct unit *u, const void *arg)
{
	struct xenstored xsd;
	struct xs_answer a;

	(void)arg;
	CHECK_INT(xsd_init(&xsd), 0);
	struct xs_conn *c = xs_mem_conn(&xsd, 0, true);
	for (size_t i = 0; i < sizeof(session) / sizeof(session[0]); i++) {
		xs_do(&xsd, c, session[i].type, 0, session[i].payload, &a);
		if (session[i].type == XS_DIRECTORY_PART) {
			char want[64];
			int n = snprintf(want, sizeof(want), "%llu|n|new|",
					 (unsigned long long)tree_lookup(&xsd.tree, "/m")->gen);
			CHECK(a.len == (unsigned)n + 1 && !strcmp(xs_text(&a), want),
			      "DIRECTORY_PART /m is '%s', expected '%s'", xs_text(&a), want);
			continue;
		}
		CHECK(!strcmp(xs_text(&a), session[i].expect), "row %zu (%s %s): '%s', expected '%s'",
		      i, xs_type_name(session[i].type), session[i].payload, xs_text(&a),
		      session[i].expect);
		CHECK_INT(a.req_id, 77);
	}
	xsd_destroy(&xsd);
}

static void test_watch_events(struct unit *u, const void *arg)
{
	struct xenstored xsd;
	struct xs_answer a;

	(void)arg;
	xsd_init(&xsd);
	struct xs_conn *w = xs_mem_conn(&xsd, 0, true), *c = xs_mem_conn(&xsd, 0, true);
	xs_do(&xsd, w, XS_WATCH, 0, "/w|tok|", &a);
	CHECK_STR(xs_text(&a), "OK");
	CHECK_INT(a.n_events, 1);
	CHECK_STR(a.events[0], "/w|tok");               /* the initial event */
	xs_do(&xsd, w, XS_WATCH, 0, "/w|tok|", &a);
	CHECK_STR(xs_text(&a), "ERROR EEXIST");
	xs_do(&xsd, c, XS_WRITE, 0, "/w/x/y|1", &a);
	xs_do(&xsd, c, XS_WRITE, 0, "/other|1", &a);
	xs_collect(w, &a);
	CHECK_INT(a.n_events, 1);
	CHECK_STR(a.events[0], "/w/x/y|tok");
	xs_do(&xsd, w, XS_WATCH, 0, "/w/x/y|deep|", &a);
	CHECK_STR(a.events[0], "/w/x/y|deep");
	xs_do(&xsd, c, XS_RM, 0, "/w|", &a);
	xs_collect(w, &a);
	/* Each removed node fires the watches on exactly itself; the RM's root also those above
	 * it (as Xen): the watch on /w sees one event, not one per node. */
	CHECK_INT(a.n_events, 2);
	CHECK_STR(a.events[0], "/w/x/y|deep");
	CHECK_STR(a.events[1], "/w|tok");
	xs_do(&xsd, w, XS_WATCH, 0, "rel|t2|", &a);
	CHECK_STR(a.events[0], "rel|t2");
	xs_do(&xsd, c, XS_WRITE, 0, "/local/domain/0/rel/k|1", &a);
	xs_collect(w, &a);
	CHECK_INT(a.n_events, 1);
	CHECK_STR(a.events[0], "rel/k|t2");              /* relative watch, relative path */
	xs_do(&xsd, w, XS_UNWATCH, 0, "/w|tok|", &a);
	CHECK_STR(xs_text(&a), "OK");
	xs_do(&xsd, w, XS_UNWATCH, 0, "/w|tok|", &a);
	CHECK_STR(xs_text(&a), "ERROR ENOENT");
	xs_do(&xsd, w, XS_WATCH, 0, "@releaseDomain|rel|", &a);
	CHECK_STR(a.events[0], "@releaseDomain|rel");
	xs_do(&xsd, w, XS_RESET_WATCHES, 0, "", &a);
	CHECK_STR(xs_text(&a), "OK");
	CHECK(w->watches == NULL, "RESET_WATCHES drops them");
	xsd_destroy(&xsd);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "tree-ops", test_tree_ops, NULL);
	unit_case(&u, "dom0-session", test_dom0_session, NULL);
	unit_case(&u, "watch-events", test_watch_events, NULL);
	return unit_finish(&u);
}
