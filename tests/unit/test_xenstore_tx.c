/* Transaction conflicts: the examples worked in src/xenstore/transaction.c's design comment. */
#include "unit.h"
#include "xs_harness.h"

struct env {
	struct xenstored xsd;
	struct xs_conn *a, *b;      /* two Dom0 clients */
	struct xs_answer ans;
};

static void env_init(struct env *e)
{
	xsd_init(&e->xsd);
	e->a = xs_mem_conn(&e->xsd, 0, true);
	e->b = xs_mem_conn(&e->xsd, 0, true);
	xs_do(&e->xsd, e->a, XS_WRITE, 0, "/A|1", &e->ans);
	xs_do(&e->xsd, e->a, XS_WRITE, 0, "/B|2", &e->ans);
	xs_do(&e->xsd, e->a, XS_MKDIR, 0, "/d|", &e->ans);
}

static const char *run(struct env *e, struct xs_conn *c, uint32_t type, uint32_t tx,
		       const char *spec)
{
	xs_do(&e->xsd, c, type, tx, spec, &e->ans);
	return xs_text(&e->ans);
}

static uint32_t start(struct env *e, struct xs_conn *c)
{
	return (uint32_t)strtoul(run(e, c, XS_TRANSACTION_START, 0, "|"), NULL, 10);
}

static void test_no_conflict(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	uint32_t t = start(&e, e.a);
	CHECK(t != 0, "transaction id");
	CHECK_STR(run(&e, e.a, XS_READ, t, "/A|"), "1");
	CHECK_STR(run(&e, e.a, XS_WRITE, t, "/B|20"), "OK");
	CHECK_INT(e.ans.tx_id, t);                               /* echoed */
	CHECK_STR(run(&e, e.b, XS_READ, 0, "/B|"), "2");       /* invisible outside */
	CHECK_STR(run(&e, e.a, XS_READ, t, "/B|"), "20");      /* visible inside */
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "T|"), "OK");
	CHECK_STR(run(&e, e.b, XS_READ, 0, "/B|"), "20");
	CHECK_STR(run(&e, e.a, XS_READ, t, "/B|"), "ERROR ENOENT");   /* gone */
	xsd_destroy(&e.xsd);
}

static void test_write_after_read(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	uint32_t t = start(&e, e.a);
	run(&e, e.a, XS_READ, t, "/A|");
	run(&e, e.b, XS_WRITE, 0, "/A|changed");
	run(&e, e.a, XS_WRITE, t, "/B|x");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "T|"), "ERROR EAGAIN");
	CHECK_STR(run(&e, e.b, XS_READ, 0, "/B|"), "2");       /* nothing applied */
	xsd_destroy(&e.xsd);
}

static void test_delete_after_read(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	uint32_t t = start(&e, e.a);
	run(&e, e.a, XS_READ, t, "/A|");
	run(&e, e.b, XS_RM, 0, "/A|");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "T|"), "ERROR EAGAIN");
	/* and created meanwhile what the transaction saw absent */
	t = start(&e, e.a);
	CHECK_STR(run(&e, e.a, XS_READ, t, "/A|"), "ERROR ENOENT");
	CHECK_STR(run(&e, e.a, XS_WRITE, t, "/A|mine"), "OK");
	run(&e, e.b, XS_WRITE, 0, "/A|theirs");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "T|"), "ERROR EAGAIN");
	CHECK_STR(run(&e, e.b, XS_READ, 0, "/A|"), "theirs");
	xsd_destroy(&e.xsd);
}

static void test_two_writers(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	uint32_t t1 = start(&e, e.a), t2 = start(&e, e.b);
	run(&e, e.a, XS_WRITE, t1, "/A|one");
	run(&e, e.b, XS_WRITE, t2, "/A|two");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t1, "T|"), "OK");
	CHECK_STR(run(&e, e.b, XS_TRANSACTION_END, t2, "T|"), "ERROR EAGAIN");
	CHECK_STR(run(&e, e.b, XS_READ, 0, "/A|"), "one");
	xsd_destroy(&e.xsd);
}

static void test_sibling_creation(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	uint32_t t1 = start(&e, e.a), t2 = start(&e, e.b);
	run(&e, e.a, XS_WRITE, t1, "/d/x|1");
	run(&e, e.b, XS_WRITE, t2, "/d/y/z|2");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t1, "T|"), "OK");
	CHECK_STR(run(&e, e.b, XS_TRANSACTION_END, t2, "T|"), "OK");
	CHECK_STR(run(&e, e.a, XS_DIRECTORY, 0, "/d|"), "x|y");
	CHECK_STR(run(&e, e.a, XS_READ, 0, "/d/y/z|"), "2");
	xsd_destroy(&e.xsd);
}

static void test_directory_then_child_added(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	uint32_t t = start(&e, e.a);
	run(&e, e.a, XS_DIRECTORY, t, "/d|");
	run(&e, e.b, XS_WRITE, 0, "/d/z|1");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "T|"), "ERROR EAGAIN");
	xsd_destroy(&e.xsd);
}

static void test_rm_and_abort(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	run(&e, e.a, XS_WRITE, 0, "/d/k/l|1");
	uint32_t t = start(&e, e.a);
	CHECK_STR(run(&e, e.a, XS_RM, t, "/d/k|"), "OK");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "F|"), "OK");
	CHECK_STR(run(&e, e.a, XS_READ, 0, "/d/k/l|"), "1");     /* aborted: kept */
	t = start(&e, e.a);
	run(&e, e.a, XS_RM, t, "/d/k|");
	run(&e, e.a, XS_WRITE, t, "/d/k/new|n");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "T|"), "OK");
	CHECK_STR(run(&e, e.a, XS_READ, 0, "/d/k/l|"), "ERROR ENOENT");
	CHECK_STR(run(&e, e.a, XS_READ, 0, "/d/k/new|"), "n");
	xsd_destroy(&e.xsd);
}

static void test_watch_fires_on_commit_only(struct unit *u, const void *arg)
{
	struct env e;
	struct xs_answer w;

	(void)arg;
	env_init(&e);
	run(&e, e.b, XS_WATCH, 0, "/A|t|");
	uint32_t t = start(&e, e.a);
	run(&e, e.a, XS_WRITE, t, "/A|v");
	xs_collect(e.b, &w);
	CHECK_INT(w.n_events, 0);
	run(&e, e.a, XS_TRANSACTION_END, t, "T|");
	xs_collect(e.b, &w);
	CHECK_INT(w.n_events, 1);
	CHECK_STR(w.events[0], "/A|t");
	xsd_destroy(&e.xsd);
}

static void test_protocol_errors(struct unit *u, const void *arg)
{
	struct env e;

	(void)arg;
	env_init(&e);
	CHECK_STR(run(&e, e.a, XS_READ, 999, "/A|"), "ERROR ENOENT");          /* unknown tx */
	uint32_t t = start(&e, e.a);
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_START, t, "|"), "ERROR EBUSY");   /* nested */
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "X|"), "ERROR EINVAL");
	CHECK_STR(run(&e, e.b, XS_TRANSACTION_END, t, "T|"), "ERROR ENOENT");   /* not b's */
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, 0, "T|"), "ERROR ENOENT");
	CHECK_STR(run(&e, e.a, XS_TRANSACTION_END, t, "T|"), "OK");
	xsd_destroy(&e.xsd);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "no-conflict", test_no_conflict, NULL);
	unit_case(&u, "write-after-read-conflicts", test_write_after_read, NULL);
	unit_case(&u, "delete-or-create-conflicts", test_delete_after_read, NULL);
	unit_case(&u, "two-writers-one-wins", test_two_writers, NULL);
	unit_case(&u, "sibling-creation-both-commit", test_sibling_creation, NULL);
	unit_case(&u, "directory-then-child-added", test_directory_then_child_added, NULL);
	unit_case(&u, "rm-abort-and-recreate", test_rm_and_abort, NULL);
	unit_case(&u, "watch-fires-on-commit", test_watch_fires_on_commit_only, NULL);
	unit_case(&u, "protocol-errors", test_protocol_errors, NULL);
	return unit_finish(&u);
}
