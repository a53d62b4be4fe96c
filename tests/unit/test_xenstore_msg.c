/* Message parsing and transport edge cases: the byte stream of a socket and a guest's ring. */
#define _GNU_SOURCE
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"
#include "xs_harness.h"
#include "xenstore/ring.h"

struct msg_case {
	const char *name;
	bool privileged;
	uint32_t type;
	uint32_t tx;
	const char *payload;
	const char *expect;
};

static const struct msg_case cases[] = {
	{ "unknown-type", true, 999, 0, "/|", "ERROR ENOSYS" },
	{ "restrict-removed", true, 20, 0, "|", "ERROR ENOSYS" },
	{ "watch-event-from-client", true, XS_WATCH_EVENT, 0, "/|t|", "ERROR ENOSYS" },
	{ "error-from-client", true, XS_ERROR, 0, "EINVAL|", "ERROR ENOSYS" },
	{ "set-target-unsupported", true, XS_SET_TARGET, 0, "1|2|", "ERROR ENOSYS" },
	{ "read-no-nul", true, XS_READ, 0, "/tool", "ERROR EINVAL" },
	{ "read-two-args", true, XS_READ, 0, "/tool|/x|", "ERROR EINVAL" },
	{ "read-empty", true, XS_READ, 0, "", "ERROR EINVAL" },
	{ "read-empty-path", true, XS_READ, 0, "|", "ERROR EINVAL" },
	{ "write-no-nul", true, XS_WRITE, 0, "/x", "ERROR EINVAL" },
	{ "watch-one-arg", true, XS_WATCH, 0, "/x|", "ERROR EINVAL" },
	{ "watch-depth-unsupported", true, XS_WATCH, 0, "/x|t|1|", "ERROR EINVAL" },
	{ "bad-tx-id", true, XS_READ, 12345, "/tool|", "ERROR ENOENT" },
	{ "watch-ignores-tx-id", true, XS_WATCH, 12345, "/x|t|", "OK" },
	{ "introduce-no-fds", true, XS_INTRODUCE, 0, "5|1|1|", "ERROR EINVAL" },
	{ "introduce-dom0", true, XS_INTRODUCE, 0, "0|1|1|", "ERROR EINVAL" },
	{ "introduce-garbage", true, XS_INTRODUCE, 0, "five|x|y|", "ERROR EINVAL" },
	{ "domain-path-bad", true, XS_GET_DOMAIN_PATH, 0, "70000|", "ERROR EINVAL" },
	{ "unpriv-control", false, XS_CONTROL, 0, "quota|", "ERROR EACCES" },
	{ "unpriv-is-introduced", false, XS_IS_DOMAIN_INTRODUCED, 0, "1|", "ERROR EACCES" },
	{ "dirpart-no-offset", true, XS_DIRECTORY_PART, 0, "/|", "ERROR EINVAL" },
	{ "dirpart-past-end", true, XS_DIRECTORY_PART, 0, "/tool|99|", "" },  /* gen|| checked */
	{ "unpriv-socket-unit-test", true, XS_CONTROL, 0, "unpriv-socket|5|", "ERROR ENOSYS" },
};

static void run_case(struct unit *u, const void *arg)
{
	const struct msg_case *mc = arg;
	struct xenstored xsd;
	struct xs_answer a;

	xsd_init(&xsd);
	struct xs_conn *c = xs_mem_conn(&xsd, mc->privileged ? 0 : 3, mc->privileged);
	xs_do(&xsd, c, mc->type, mc->tx, mc->payload, &a);
	if (!strcmp(mc->name, "dirpart-past-end")) {
		CHECK(a.type == XS_DIRECTORY_PART && a.len >= 2 && a.body[a.len - 1] == 0 &&
		      a.body[a.len - 2] == 0, "past the end: gen and an empty list (len %u)", a.len);
	} else {
		CHECK_STR(xs_text(&a), mc->expect);
	}
	CHECK_INT(a.req_id, 77);
	CHECK_INT(a.tx_id, mc->tx);
	CHECK(!c->broken, "connection still served");
	xsd_destroy(&xsd);
}

/* Messages split anywhere, several in one chunk: the same answers. */
static void test_fragmented(struct unit *u, const void *arg)
{
	struct xenstored xsd;
	struct xs_answer a;
	char stream[256];
	size_t len = 0;

	(void)arg;
	xsd_init(&xsd);
	struct xs_conn *c = xs_mem_conn(&xsd, 0, true);
	const char *payloads[] = { "/f\0one", "/f", "/g\0two" };
	const size_t plens[] = { 6, 3, 6 };
	const uint32_t types[] = { XS_WRITE, XS_READ, XS_WRITE };
	for (int i = 0; i < 3; i++) {
		struct xsd_sockmsg h = { .type = types[i], .req_id = (uint32_t)i, .len = (uint32_t)plens[i] };
		memcpy(stream + len, &h, sizeof(h));
		memcpy(stream + len + sizeof(h), payloads[i], plens[i]);
		len += sizeof(h) + plens[i];
	}
	for (size_t i = 0; i < len; i++)
		xs_feed(&xsd, c, stream + i, 1);      /* one byte at a time */
	/* three replies queued: OK, "one", OK */
	size_t at = 0;
	int n = 0;
	while (at < c->out_len) {
		struct xsd_sockmsg h;
		memcpy(&h, c->out + at, sizeof(h));
		CHECK_INT(h.req_id, n);
		if (n == 1)
			CHECK(h.len == 3 && !memcmp(c->out + at + sizeof(h), "one", 3), "read back");
		at += sizeof(h) + h.len;
		n++;
	}
	CHECK_INT(n, 3);
	xs_collect(c, &a);
	xsd_destroy(&xsd);
}

static void test_oversized_drops_connection(struct unit *u, const void *arg)
{
	struct xenstored xsd;
	struct xsd_sockmsg h = { .type = XS_READ, .len = XENSTORE_PAYLOAD_MAX + 1 };

	(void)arg;
	xsd_init(&xsd);
	struct xs_conn *c = xs_mem_conn(&xsd, 0, true);
	xs_feed(&xsd, c, &h, sizeof(h));
	CHECK(c->broken, "a payload over XENSTORE_PAYLOAD_MAX breaks the connection");
	CHECK_INT(c->error_code, XENSTORE_ERROR_PROTO);
	xsd_destroy(&xsd);
}

/* ---- the ring transport, against a memfd "guest" ---- */

struct ring_env {
	struct xenstored xsd;
	int memfd, kick, notify;
	struct xenstore_domain_interface *page;
	struct xs_conn *conn;
};

static bool ring_env_init(struct unit *u, struct ring_env *e)
{
	xsd_init(&e->xsd);
	e->memfd = memfd_create("guest", MFD_CLOEXEC);
	CHECK(e->memfd >= 0 && ftruncate(e->memfd, 16 * 4096) == 0, "memfd");
	e->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, e->memfd, 3 * 4096);
	CHECK(e->page != MAP_FAILED, "map");
	/* xenstored takes its own copies of the fds */
	int r = domain_introduce(&e->xsd, 5, 3, 1, dup(e->memfd), dup(e->kick), dup(e->notify));
	CHECK_INT(r, 0);
	struct xs_domain *d = domain_get(&e->xsd, 5, false);
	e->conn = d ? d->ring : NULL;
	return e->conn != NULL;
}

static void ring_env_free(struct ring_env *e)
{
	xsd_destroy(&e->xsd);
	munmap(e->page, 4096);
	close(e->memfd);
	close(e->kick);
	close(e->notify);
}

static void guest_send(struct xenstore_domain_interface *p, const void *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p->req[MASK_XENSTORE_IDX(p->req_prod + i)] = ((const char *)data)[i];
	__atomic_store_n(&p->req_prod, p->req_prod + (uint32_t)len, __ATOMIC_RELEASE);
}

static size_t guest_recv(struct xenstore_domain_interface *p, char *out, size_t max)
{
	size_t n = 0;
	while (p->rsp_cons != p->rsp_prod && n < max)
		out[n++] = p->rsp[MASK_XENSTORE_IDX(p->rsp_cons++)];
	return n;
}

static void test_ring_round_trip(struct unit *u, const void *arg)
{
	struct ring_env e;
	char buf[2048];
	uint64_t v;

	(void)arg;
	if (!ring_env_init(u, &e))
		return;
	CHECK(e.page->server_features & XENSTORE_SERVER_FEATURE_ERROR, "features advertised");
	/* A write then a read, with the index wrapping past the ring's end. */
	e.page->req_prod = e.page->req_cons = 0xfffffff0u;
	e.page->rsp_prod = e.page->rsp_cons = 0xfffffff8u;
	struct xsd_sockmsg h = { .type = XS_WRITE, .req_id = 9, .len = 6 };
	guest_send(e.page, &h, sizeof(h));
	guest_send(e.page, "data\0x", 6);
	ring_service(&e.xsd, e.conn);
	size_t n = guest_recv(e.page, buf, sizeof(buf));
	CHECK_INT(n, sizeof(h) + 7);
	memcpy(&h, buf, sizeof(h));
	CHECK_INT(h.type, XS_ERROR);
	CHECK_INT(h.req_id, 9);
	CHECK(read(e.notify, &v, sizeof(v)) == sizeof(v), "xenstored notified");
	CHECK(tree_lookup(&e.xsd.tree, "/local/domain/5/data") == NULL,
	      "no write permission under / for domain 5");
	CHECK_STR(buf + sizeof(h), "EACCES");
	ring_env_free(&e);
}

static void test_ring_bad_indices(struct unit *u, const void *arg)
{
	struct ring_env e;

	(void)arg;
	if (!ring_env_init(u, &e))
		return;
	e.page->req_cons = 0;
	e.page->req_prod = 5000;          /* more than the ring holds */
	ring_service(&e.xsd, e.conn);
	CHECK_INT(e.page->error, XENSTORE_ERROR_RINGIDX);
	CHECK(e.conn->broken, "no longer served");
	ring_service(&e.xsd, e.conn);     /* and stays so, without a crash */
	/* a reconnect request revives it */
	e.page->connection = XENSTORE_RECONNECT;
	ring_service(&e.xsd, e.conn);
	CHECK_INT(e.page->connection, XENSTORE_CONNECTED);
	CHECK_INT(e.page->error, XENSTORE_ERROR_NONE);
	CHECK_INT(e.page->req_prod, 0);
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = 1, .len = 2 };
	guest_send(e.page, &h, sizeof(h));
	guest_send(e.page, "/\0", 2);
	ring_service(&e.xsd, e.conn);
	CHECK(e.page->rsp_prod > 0, "served again after reconnect");
	/* an oversized header: protocol error */
	struct xsd_sockmsg big = { .type = XS_READ, .len = 100000 };
	guest_send(e.page, &big, sizeof(big));
	ring_service(&e.xsd, e.conn);
	CHECK_INT(e.page->error, XENSTORE_ERROR_PROTO);
	ring_env_free(&e);
}

static void test_ring_release(struct unit *u, const void *arg)
{
	struct ring_env e;
	struct xs_answer a;

	(void)arg;
	if (!ring_env_init(u, &e))
		return;
	struct xs_conn *dom0 = xs_mem_conn(&e.xsd, 0, true);
	xs_do(&e.xsd, dom0, XS_IS_DOMAIN_INTRODUCED, 0, "5|", &a);
	CHECK_STR(xs_text(&a), "T");
	xs_do(&e.xsd, dom0, XS_WATCH, 0, "@releaseDomain|r|", &a);
	xs_do(&e.xsd, dom0, XS_RELEASE, 0, "5|", &a);
	CHECK_STR(xs_text(&a), "OK");
	CHECK_INT(a.n_events, 1);
	CHECK_STR(a.events[0], "@releaseDomain|r");
	xs_do(&e.xsd, dom0, XS_IS_DOMAIN_INTRODUCED, 0, "5|", &a);
	CHECK_STR(xs_text(&a), "F");
	conn_reap(&e.xsd);
	ring_env_free(&e);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		unit_case(&u, cases[i].name, run_case, &cases[i]);
	unit_case(&u, "fragmented-stream", test_fragmented, NULL);
	unit_case(&u, "oversized-drops-connection", test_oversized_drops_connection, NULL);
	unit_case(&u, "ring-round-trip", test_ring_round_trip, NULL);
	unit_case(&u, "ring-bad-indices", test_ring_bad_indices, NULL);
	unit_case(&u, "ring-release", test_ring_release, NULL);
	return unit_finish(&u);
}
