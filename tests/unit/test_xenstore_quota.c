/* Quotas for unprivileged domains, answered as Xen's xenstored does (ENOSPC), and the cap on
 * output queued to a connection that does not read. */
#include "unit.h"
#include "xs_harness.h"

struct env {
	struct xenstored xsd;
	struct xs_conn *dom0, *d5;
	struct xs_answer a;
};

static void env_init(struct env *e)
{
	xsd_init(&e->xsd);
	e->dom0 = xs_mem_conn(&e->xsd, 0, true);
	e->d5 = xs_mem_conn(&e->xsd, 5, false);
	xs_do(&e->xsd, e->dom0, XS_MKDIR, 0, "/local/domain/5|", &e->a);
	xs_do(&e->xsd, e->dom0, XS_SET_PERMS, 0, "/local/domain/5|n5|", &e->a);
}

static const char *run(struct env *e, struct xs_conn *c, uint32_t type, uint32_t tx,
		       const char *spec)
{
	xs_do(&e->xsd, c, type, tx, spec, &e->a);
	return xs_text(&e->a);
}

static void test_nodes(struct unit *u, const void *arg)
{
	struct env e;
	char spec[64];

	(void)arg;
	env_init(&e);
	e.xsd.quota.nodes = 5;          /* it owns its home already: 4 more */
	for (int i = 0; i < 4; i++) {
		snprintf(spec, sizeof(spec), "n%d|x", i);
		CHECK_STR(run(&e, e.d5, XS_WRITE, 0, spec), "OK");
	}
	CHECK_STR(run(&e, e.d5, XS_WRITE, 0, "n4|x"), "ERROR ENOSPC");
	CHECK_STR(run(&e, e.d5, XS_WRITE, 0, "n0|rewrite ok"), "OK");   /* no new node */
	CHECK_STR(run(&e, e.d5, XS_WRITE, 0, "a/b/c|x"), "ERROR ENOSPC");
	CHECK_STR(run(&e, e.d5, XS_RM, 0, "n0|"), "OK");
	CHECK_STR(run(&e, e.d5, XS_WRITE, 0, "n4|x"), "OK");            /* room again */
	CHECK_STR(run(&e, e.dom0, XS_WRITE, 0, "/local/domain/5/many/more|x"), "OK");  /* Dom0 */
	/* inside a transaction the count includes what it created */
	e.xsd.quota.nodes = 100;
	uint32_t t = (uint32_t)strtoul(run(&e, e.d5, XS_TRANSACTION_START, 0, "|"), NULL, 10);
	e.xsd.quota.nodes = domain_get(&e.xsd, 5, false)->nodes + 1;
	CHECK_STR(run(&e, e.d5, XS_WRITE, t, "t1|x"), "OK");
	CHECK_STR(run(&e, e.d5, XS_WRITE, t, "t2|x"), "ERROR ENOSPC");
	xsd_destroy(&e.xsd);
}

static void test_value_size(struct unit *u, const void *arg)
{
	struct env e;
	char payload[4000];

	(void)arg;
	env_init(&e);
	int n = snprintf(payload, sizeof(payload), "/local/domain/5/big");
	memset(payload + n + 1, 'v', 2049);
	payload[n] = '\0';
	xs_req(&e.xsd, e.d5, XS_WRITE, 0, payload, (size_t)n + 1 + 2049, &e.a);
	CHECK_STR(xs_text(&e.a), "ERROR ENOSPC");
	xs_req(&e.xsd, e.d5, XS_WRITE, 0, payload, (size_t)n + 1 + 2048, &e.a);
	CHECK_STR(xs_text(&e.a), "OK");
	xs_req(&e.xsd, e.dom0, XS_WRITE, 0, payload, (size_t)n + 1 + 3000, &e.a);
	CHECK_STR(xs_text(&e.a), "OK");            /* Dom0 is not limited */
	xsd_destroy(&e.xsd);
}

static void test_watches_transactions_perms_paths(struct unit *u, const void *arg)
{
	struct env e;
	char spec[3200];

	(void)arg;
	env_init(&e);
	e.xsd.quota.watches = 2;
	CHECK_STR(run(&e, e.d5, XS_WATCH, 0, "a|1|"), "OK");
	CHECK_STR(run(&e, e.d5, XS_WATCH, 0, "a|2|"), "OK");
	CHECK_STR(run(&e, e.d5, XS_WATCH, 0, "a|3|"), "ERROR ENOSPC");
	e.xsd.quota.transactions = 1;
	CHECK(strtoul(run(&e, e.d5, XS_TRANSACTION_START, 0, "|"), NULL, 10) > 0, "first tx");
	CHECK_STR(run(&e, e.d5, XS_TRANSACTION_START, 0, "|"), "ERROR ENOSPC");
	CHECK_STR(run(&e, e.d5, XS_SET_PERMS, 0, "/local/domain/5|n5|r1|r2|r3|r4|"), "OK");
	CHECK_STR(run(&e, e.d5, XS_SET_PERMS, 0, "/local/domain/5|n5|r1|r2|r3|r4|r6|"),
		  "ERROR ENOSPC");
	/* path-max: below the home, XENSTORE_REL_PATH_MAX by default */
	memset(spec, 'p', 2049);
	strcpy(spec + 2049, "|x");
	CHECK_STR(run(&e, e.d5, XS_WRITE, 0, spec), "ERROR EINVAL");
	spec[2048] = '\0';
	strcat(spec, "|x");
	CHECK_STR(run(&e, e.d5, XS_WRITE, 0, spec), "OK");
	xsd_destroy(&e.xsd);
}

/* A client that never reads: once queued_bytes are waiting, its requests are not read, and
 * events for it are dropped. */
static void test_queued_output_cap(struct unit *u, const void *arg)
{
	struct env e;
	char msgs[64 * 32];
	size_t len = 0;

	(void)arg;
	env_init(&e);
	e.xsd.quota.queued_bytes = 200;
	for (int i = 0; i < 64; i++) {
		struct xsd_sockmsg h = { .type = XS_READ, .req_id = (uint32_t)i, .len = 2 };
		memcpy(msgs + len, &h, sizeof(h));
		memcpy(msgs + len + sizeof(h), "/\0", 2);
		len += sizeof(h) + 2;
	}
	conn_mem_feed(e.d5, msgs, len);
	conn_handle_input(&e.xsd, e.d5);
	CHECK(e.d5->out_len - e.d5->out_off <= 200 + sizeof(struct xsd_sockmsg) + 16,
	      "queued %zu bytes", e.d5->out_len - e.d5->out_off);
	CHECK(e.d5->mem_in_len > 0, "the rest stays unread");
	xs_do(&e.xsd, e.dom0, XS_SET_PERMS, 0, "/|r0|", &e.a);
	xs_do(&e.xsd, e.dom0, XS_WATCH, 0, "/|dom0|", &e.a);
	struct xs_conn *w = xs_mem_conn(&e.xsd, 5, false);
	xs_do(&e.xsd, w, XS_WATCH, 0, "/|w|", &e.a);
	e.xsd.quota.queued_bytes = 60;
	for (int i = 0; i < 20; i++)
		xs_do(&e.xsd, e.dom0, XS_WRITE, 0, "/spam|x", &e.a);
	CHECK(w->events_dropped > 0, "events dropped for the full connection");
	CHECK(w->out_len <= 60 + 64, "bounded: %zu", w->out_len);
	xsd_destroy(&e.xsd);
}

static void test_control_quota(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	CHECK_STR(run(&e, e.dom0, XS_CONTROL, 0, "quota|set|nodes|42|"), "OK");
	CHECK_INT(e.xsd.quota.nodes, 42);
	CHECK(strstr(run(&e, e.dom0, XS_CONTROL, 0, "quota|"), "nodes         42") != NULL,
	      "quota listing: %s", e.a.text);
	CHECK(strstr(run(&e, e.dom0, XS_CONTROL, 0, "quota|5|"), "nodes         1") != NULL,
	      "domain usage: %s", e.a.text);
	CHECK_STR(run(&e, e.dom0, XS_CONTROL, 0, "quota|set|bogus|1|"), "ERROR EINVAL");
	CHECK_STR(run(&e, e.dom0, XS_CONTROL, 0, "quota|set|nodes|-1|"), "ERROR EINVAL");
	CHECK_STR(run(&e, e.dom0, XS_CONTROL, 0, "frobnicate|"), "ERROR EINVAL");
	CHECK_STR(run(&e, e.dom0, XS_CONTROL, 0, "print|hello from the test|"), "OK");
	CHECK_STR(run(&e, e.dom0, XS_CONTROL, 0, "check|"), "OK");
	xsd_destroy(&e.xsd);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "nodes", test_nodes, NULL);
	unit_case(&u, "value-size", test_value_size, NULL);
	unit_case(&u, "watches-transactions-perms-paths", test_watches_transactions_perms_paths,
		  NULL);
	unit_case(&u, "queued-output-cap", test_queued_output_cap, NULL);
	unit_case(&u, "control-quota", test_control_quota, NULL);
	return unit_finish(&u);
}
