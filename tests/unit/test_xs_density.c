/* xenstored at many domains: guests introduced for real (rings on memfds, eventfds for kick and
 * notify), each with a libxl-like home of ~40 nodes, a frontend watch from its ring and a backend
 * watch from its VMM's connection, and a toolstack watching @introduceDomain/@releaseDomain.
 *
 * As a unit test it checks, at a few dozen domains, that every watch still fires where and in the
 * order it did when watches were found by scanning every connection (the order the index in
 * watch.c must keep).  With XS_DENSITY_N="10 100 1000" in the environment it is the engine of
 * bench/xenstored-density.sh: for each N it prints memory per domain and the cost of INTRODUCE,
 * RELEASE, a write firing a watch, one firing none, and an idle commit round. */
#define _GNU_SOURCE
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>

#include "xs_persist_harness.h"
#include "xenstore/watch.h"

struct dom_side {
	struct xs_guest g;
	struct xs_conn *vmm;       /* the domain's VMM: privileged, the backend's watch */
};

struct density {
	struct xenstored *xsd;
	struct xs_conn *toolstack; /* writes the homes, watches the special nodes */
	struct dom_side *doms;     /* doms[d - 1] for domid d */
	unsigned int n;
};

static void drain_guest(struct xs_guest *g)
{
	g->page->rsp_cons = g->page->rsp_prod;
}

static void discard_output(struct xs_conn *c)
{
	c->out_off = c->out_len = 0;
}

static void wr(struct unit *u, struct density *s, const char *path, const char *value,
	       const char *perms)
{
	char spec[512];
	struct xs_answer a;

	snprintf(spec, sizeof(spec), "%s|%s", path, value);
	CHECK_INT(xs_do(s->xsd, s->toolstack, XS_WRITE, 0, spec, &a), XS_WRITE);
	if (perms) {
		snprintf(spec, sizeof(spec), "%s|%s|", path, perms);
		CHECK_INT(xs_do(s->xsd, s->toolstack, XS_SET_PERMS, 0, spec, &a), XS_SET_PERMS);
	}
}

/* The nodes bench/xenstored-persist.sh gives each domain, written as libxl would. */
static void populate(struct unit *u, struct density *s, unsigned int d)
{
	static const char *const owned[] = {
		"memory", "cpu", "store", "console", "control", "device", "data",
		"memory/target", "memory/static-max", "cpu/0", "cpu/0/availability", "store/port",
		"store/ring-ref", "console/port", "console/ring-ref", "console/tty",
		"control/shutdown", "control/feature-poweroff", "device/vif", "device/vif/0",
		"device/vif/0/backend", "device/vif/0/backend-id", "device/vif/0/state",
		"device/vif/0/handle", "device/vif/0/mac", "device/vif/0/tx-ring-ref",
		"device/vif/0/rx-ring-ref", "device/vif/0/event-channel",
	};
	static const char *const backend[] = { "frontend", "frontend-id", "online", "state",
						"script", "mac", "handle", "bridge" };
	char home[64], path[160], mine[16], theirs[24], v[32];

	snprintf(home, sizeof(home), "/local/domain/%u", d);
	snprintf(mine, sizeof(mine), "n%u", d);
	snprintf(theirs, sizeof(theirs), "n0|r%u", d);
	wr(u, s, home, "", theirs);
	snprintf(v, sizeof(v), "guest-%u", d);
	snprintf(path, sizeof(path), "%s/name", home);
	wr(u, s, path, v, theirs);
	snprintf(path, sizeof(path), "%s/domid", home);
	snprintf(v, sizeof(v), "%u", d);
	wr(u, s, path, v, theirs);
	snprintf(path, sizeof(path), "%s/vm", home);
	snprintf(v, sizeof(v), "/vm/%08u", d);
	wr(u, s, path, v, theirs);
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", home, owned[i]);
		wr(u, s, path, "1", mine);
	}
	for (size_t i = 0; i < sizeof(backend) / sizeof(backend[0]); i++) {
		snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/0/%s", d, backend[i]);
		wr(u, s, path, "1", theirs);
	}
	snprintf(path, sizeof(path), "/vm/%08u/name", d);
	snprintf(v, sizeof(v), "guest-%u", d);
	wr(u, s, path, v, NULL);
}

/* Domain d comes up: its home, its ring introduced, the frontend's and the backend's watches. */
static void domain_up(struct unit *u, struct density *s, unsigned int d)
{
	struct dom_side *ds = &s->doms[d - 1];
	struct xs_answer a;
	char spec[160];

	populate(u, s, d);
	if (!xs_guest_init(u, &ds->g))
		return;
	xs_guest_introduce(u, s->xsd, &ds->g, d);
	snprintf(spec, sizeof(spec), "/local/domain/0/backend/vif/%u/0/state|fe|", d);
	xs_guest_send(ds->g.page, XS_WATCH, 1, 0, spec);
	xs_serve(s->xsd, d);
	drain_guest(&ds->g);
	ds->vmm = xs_mem_conn(s->xsd, 0, true);
	snprintf(spec, sizeof(spec), "/local/domain/%u/device/vif/0/state|be|", d);
	CHECK_INT(xs_do(s->xsd, ds->vmm, XS_WATCH, 0, spec, &a), XS_WATCH);
	discard_output(s->toolstack);
}

static struct density *density_new(struct unit *u, unsigned int n)
{
	struct density *s = calloc(1, sizeof(*s));
	struct xs_answer a;

	s->n = n;
	s->doms = calloc(n, sizeof(*s->doms));
	s->xsd = malloc(sizeof(*s->xsd));
	CHECK_INT(xsd_init(s->xsd), 0);
	s->toolstack = xs_mem_conn(s->xsd, 0, true);
	CHECK_INT(xs_do(s->xsd, s->toolstack, XS_WATCH, 0, "@introduceDomain|intro|", &a), XS_WATCH);
	CHECK_INT(xs_do(s->xsd, s->toolstack, XS_WATCH, 0, "@releaseDomain|rel|", &a), XS_WATCH);
	for (unsigned int d = 1; d <= n; d++)
		domain_up(u, s, d);
	return s;
}

static void density_free(struct density *s)
{
	for (unsigned int d = 1; d <= s->n; d++) {
		domain_release(s->xsd, d);
		if (s->doms[d - 1].g.page)
			xs_guest_free(&s->doms[d - 1].g);
	}
	xsd_destroy(s->xsd);
	free(s->xsd);
	free(s->doms);
	free(s);
}

/* Every event queued on a memory connection, "path|token;" each. */
static void events_of(struct xs_conn *c, char *out, size_t max)
{
	struct xs_answer a;
	size_t at = 0;

	xs_collect(c, &a);
	out[0] = '\0';
	for (unsigned int i = 0; i < a.n_events && at < max; i++)
		at += (size_t)snprintf(out + at, max - at, "%s;", a.events[i]);
}

/* ---- the unit tests ---- */

/* At 40 domains: a backend's write reaches that domain's guest only, a frontend's write that
 * domain's VMM only, and domains coming and going reach the toolstack's special watches. */
static void test_events_at_density(struct unit *u, const void *arg)
{
	(void)arg;
	struct density *s = density_new(u, 40);
	struct xs_answer a;
	char got[1024], want[256];

	for (unsigned int d = 1; d <= s->n; d++) {
		discard_output(s->doms[d - 1].vmm);
		drain_guest(&s->doms[d - 1].g);
	}
	CHECK_INT(xs_do(s->xsd, s->toolstack, XS_WRITE, 0,
			"/local/domain/0/backend/vif/17/0/state|4", &a), XS_WRITE);
	loop_commit(s->xsd);
	for (unsigned int d = 1; d <= s->n; d++) {
		xs_guest_recv(s->doms[d - 1].g.page, got, sizeof(got), true);
		CHECK_STR(got, d == 17 ? "WATCH_EVENT 0 /local/domain/0/backend/vif/17/0/state|fe;"
				       : "");
	}
	CHECK_INT(xs_do(s->xsd, s->toolstack, XS_WRITE, 0,
			"/local/domain/23/device/vif/0/state|4", &a), XS_WRITE);
	for (unsigned int d = 1; d <= s->n; d++) {
		events_of(s->doms[d - 1].vmm, got, sizeof(got));
		CHECK_STR(got, d == 23 ? "/local/domain/23/device/vif/0/state|be;" : "");
	}
	/* Removing a home fires the VMM's watch below it (an exact match on the removed node). */
	CHECK_INT(xs_do(s->xsd, s->toolstack, XS_RM, 0, "/local/domain/5/device|", &a), XS_RM);
	events_of(s->doms[4].vmm, got, sizeof(got));
	CHECK_STR(got, "/local/domain/5/device/vif/0/state|be;");
	CHECK_INT(domain_release(s->xsd, 9), 0);
	events_of(s->toolstack, got, sizeof(got));
	CHECK_STR(got, "@releaseDomain|rel;");
	struct xs_guest g;
	if (xs_guest_init(u, &g)) {
		xs_guest_introduce(u, s->xsd, &g, 9);
		events_of(s->toolstack, got, sizeof(got));
		CHECK_STR(got, "@introduceDomain|intro;");
		snprintf(want, sizeof(want), "T");
		CHECK_INT(xs_do(s->xsd, s->toolstack, XS_IS_DOMAIN_INTRODUCED, 0, "9|", &a),
			  XS_IS_DOMAIN_INTRODUCED);
		CHECK_STR(xs_text(&a), want);
		CHECK_INT(domain_release(s->xsd, 9), 0);
		loop_commit(s->xsd);
		conn_reap(s->xsd);
		xs_guest_free(&g);
	}
	density_free(s);
}

/* Several connections with overlapping watches: which fire and in what order (connections
 * newest first, each one's watches newest first), for subtree and exact matches, relative
 * watches, duplicates by path under different tokens, and a node the watcher may not read. */
static void test_watch_order(struct unit *u, const void *arg)
{
	(void)arg;
	struct xenstored xsd;
	struct xs_answer a;
	char got[2048];

	CHECK_INT(xsd_init(&xsd), 0);
	struct xs_conn *dom0 = xs_mem_conn(&xsd, 0, true);
	struct xs_conn *c1 = xs_mem_conn(&xsd, 0, true);
	struct xs_conn *g3 = xs_mem_conn(&xsd, 3, false);
	struct xs_conn *c2 = xs_mem_conn(&xsd, 0, true);
	static const char *const setup[] = { "/a/b/c|1", "/a/bc|1", "/local/domain/3/x/y|1" };
	for (size_t i = 0; i < 3; i++)
		CHECK_INT(xs_do(&xsd, dom0, XS_WRITE, 0, setup[i], &a), XS_WRITE);
	CHECK_INT(xs_do(&xsd, dom0, XS_SET_PERMS, 0, "/local/domain/3|n3|", &a), XS_SET_PERMS);
	CHECK_INT(xs_do(&xsd, dom0, XS_SET_PERMS, 0, "/local/domain/3/x|n3|", &a), XS_SET_PERMS);
	CHECK_INT(xs_do(&xsd, dom0, XS_SET_PERMS, 0, "/local/domain/3/x/y|n3|", &a), XS_SET_PERMS);
	const struct { struct xs_conn **c; const char *spec; } watches[] = {
		{ &c1, "/|root1|" }, { &c1, "/a|a1|" }, { &c1, "/a/b|ab1|" }, { &c1, "/a|a1bis|" },
		{ &c2, "/a/b/c|abc2|" }, { &c2, "/a/bc|abc2bis|" }, { &c2, "/|root2|" },
		{ &c2, "/a/b|ab2|" }, { &c1, "@releaseDomain|rel1|" }, { &c2, "@introduceDomain|in2|" },
		{ &g3, "x|relx|" }, { &g3, "/a|ga|" }, { &g3, "/local/domain/3|home|" },
		{ &g3, "x/y|rely|" },
	};
	for (size_t i = 0; i < sizeof(watches) / sizeof(watches[0]); i++)
		CHECK_INT(xs_do(&xsd, *watches[i].c, XS_WATCH, 0, watches[i].spec, &a), XS_WATCH);
	discard_output(c1);
	discard_output(c2);
	discard_output(g3);

	static const struct { const char *op, *spec, *c1, *c2, *g3; } cases[] = {
		{ "write", "/a/b/c|2", "/a/b/c|a1bis;/a/b/c|ab1;/a/b/c|a1;/a/b/c|root1;",
		  "/a/b/c|ab2;/a/b/c|root2;/a/b/c|abc2;", "" },
		{ "write", "/a/bc|2", "/a/bc|a1bis;/a/bc|a1;/a/bc|root1;",
		  "/a/bc|root2;/a/bc|abc2bis;", "" },
		{ "write", "/ab|2", "/ab|root1;", "/ab|root2;", "" },
		{ "write", "/local/domain/3/x/y|2",
		  "/local/domain/3/x/y|root1;", "/local/domain/3/x/y|root2;",
		  "x/y|rely;/local/domain/3/x/y|home;x/y|relx;" },
		{ "rm", "/a/b|", "/a/b|a1bis;/a/b|ab1;/a/b|a1;/a/b|root1;",
		  "/a/b/c|abc2;/a/b|ab2;/a/b|root2;", "" },
		{ "rm", "/local/domain/3/x|",
		  "/local/domain/3/x|root1;", "/local/domain/3/x|root2;",
		  "x/y|rely;/local/domain/3/x|home;x|relx;" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool rm = !strcmp(cases[i].op, "rm");
		CHECK_INT(xs_do(&xsd, dom0, rm ? XS_RM : XS_WRITE, 0, cases[i].spec, &a),
			  rm ? XS_RM : XS_WRITE);
		events_of(c1, got, sizeof(got));
		CHECK_STR(got, cases[i].c1);
		events_of(c2, got, sizeof(got));
		CHECK_STR(got, cases[i].c2);
		events_of(g3, got, sizeof(got));
		CHECK_STR(got, cases[i].g3);
	}
	/* Unwatched, a watch no longer fires; the same path under another token still does. */
	CHECK_INT(xs_do(&xsd, c1, XS_UNWATCH, 0, "/a|a1|", &a), XS_UNWATCH);
	CHECK_INT(xs_do(&xsd, dom0, XS_WRITE, 0, "/a|3", &a), XS_WRITE);
	events_of(c1, got, sizeof(got));
	CHECK_STR(got, "/a|a1bis;/a|root1;");
	CHECK_INT(xs_do(&xsd, c2, XS_RESET_WATCHES, 0, "", &a), XS_RESET_WATCHES);
	CHECK_INT(xs_do(&xsd, dom0, XS_WRITE, 0, "/a|4", &a), XS_WRITE);
	events_of(c2, got, sizeof(got));
	CHECK_STR(got, "");
	/* A closed connection's watches go with it. */
	conn_close(&xsd, c1);
	conn_reap(&xsd);
	CHECK_INT(xs_do(&xsd, dom0, XS_WRITE, 0, "/a|5", &a), XS_WRITE);
	events_of(g3, got, sizeof(got));
	CHECK_STR(got, "");       /* /a is Dom0's, unreadable to domain 3 */
	CHECK_INT(xs_do(&xsd, dom0, XS_WRITE, 0, "/local/domain/3|6", &a), XS_WRITE);
	events_of(g3, got, sizeof(got));
	CHECK_STR(got, "/local/domain/3|home;");
	xsd_destroy(&xsd);
}

/* ---- the bench (XS_DENSITY_N) ---- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void bench_one(struct unit *u, unsigned int n)
{
	enum { REPS = 200, WRITES = 5000 };
	long rss0 = rss_kib();
	size_t heap0 = heap_bytes();
	double t0 = now_us();
	struct density *s = density_new(u, n);
	double setup = now_us() - t0;
	long rss1 = rss_kib();
	size_t heap1 = heap_bytes();
	struct xs_guest g;
	struct xs_answer a;
	char spec[160];
	double intro = 0, rel = 0, fire = 0, quiet = 0, idle = 0;

	if (!xs_guest_init(u, &g))
		return;
	for (unsigned int r = 0; r < REPS; r++) {
		double t = now_us();
		xs_guest_introduce(u, s->xsd, &g, 30000 + r);
		loop_commit(s->xsd);
		intro += now_us() - t;
		discard_output(s->toolstack);
		t = now_us();
		CHECK_INT(domain_release(s->xsd, 30000 + r), 0);
		loop_commit(s->xsd);
		conn_reap(s->xsd);
		rel += now_us() - t;
		discard_output(s->toolstack);
	}
	for (unsigned int i = 0; i < WRITES; i++) {
		unsigned int d = 1 + (i * 7919u) % n;
		struct xs_conn *vmm = s->doms[d - 1].vmm;
		snprintf(spec, sizeof(spec), "/local/domain/%u/device/vif/0/state|%u", d, i);
		double t = now_us();
		xs_do(s->xsd, s->toolstack, XS_WRITE, 0, spec, &a);
		loop_commit(s->xsd);
		fire += now_us() - t;
		CHECK(vmm->out_len > 0, "domain %u's VMM saw no event", d);
		discard_output(vmm);
		snprintf(spec, sizeof(spec), "/local/domain/%u/data/x|%u", d, i);
		t = now_us();
		xs_do(s->xsd, s->toolstack, XS_WRITE, 0, spec, &a);
		loop_commit(s->xsd);
		quiet += now_us() - t;
		t = now_us();
		loop_commit(s->xsd);
		idle += now_us() - t;
	}
	printf("N=%u domains: %zu nodes, setup %.0f ms\n", n, tree_count(s->xsd->tree.root),
	       setup / 1e3);
	printf("  memory per domain: RSS %.1f KiB, heap %.1f KiB (RSS %ld KiB in all)\n",
	       (double)(rss1 - rss0) / n, (double)(heap1 - heap0) / 1024.0 / n, rss1);
	printf("  INTRODUCE + @introduceDomain: %.2f us   RELEASE + @releaseDomain: %.2f us\n",
	       intro / REPS, rel / REPS);
	printf("  write firing a watch: %.2f us   write firing none: %.2f us   idle round: %.3f us\n",
	       fire / WRITES, quiet / WRITES, idle / WRITES);
	fflush(stdout);
	xs_guest_free(&g);
	density_free(s);
}

static void bench(const char *list)
{
	struct unit u = UNIT_INIT;
	struct rlimit rl;

	/* Three fds a ring on xenstored's side, two more on the guest's. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (const char *p = list; *p;) {
		char *end;
		unsigned long n = strtoul(p, &end, 10);
		if (end == p || n == 0 || n > 20000) {
			fprintf(stderr, "XS_DENSITY_N: counts 1..20000, space-separated: %s\n", list);
			exit(2);
		}
		bench_one(&u, (unsigned int)n);
		p = end + strspn(end, " ");
	}
	exit(u.failed ? 1 : 0);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	const char *list = getenv("XS_DENSITY_N");

	if (list)
		bench(list);
	unit_case(&u, "events-at-density", test_events_at_density, NULL);
	unit_case(&u, "watch-order", test_watch_order, NULL);
	return unit_finish(&u);
}
