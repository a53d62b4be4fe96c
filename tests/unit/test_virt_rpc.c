/* libvirt's RPC framing and dispatch as xenith-libvirtd runs them for one client (server.h's
 * virt_client_feed, the path the socket takes), without a socket: partial, oversized and garbage
 * input, the header, keepalive, errors for unknown programs and procedures and for calls before
 * CONNECT_OPEN, and the connect procedures' replies. */
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/rpc.h"
#include "libvirt/server.h"
#include "unit.h"

#define PROC_CONNECT_OPEN 1
#define PROC_CONNECT_GET_TYPE 3
#define PROC_AUTH_LIST 66

struct fixture {
	struct virt_daemon d;
	struct virt_client *c;
};

static int fixture_init(struct fixture *f)
{
	char err[256];

	if (virt_daemon_init(&f->d, false, err, sizeof(err)) < 0)
		return -1;
	f->c = virt_client_new(&f->d, -1);
	return f->c ? 0 : -1;
}

static void fixture_fini(struct fixture *f)
{
	virt_daemon_fini(&f->d);
}

/* A whole CALL frame with body bytes (already XDR). */
static void frame(struct xdr_writer *w, uint32_t prog, uint32_t vers, int32_t proc, uint32_t type,
		  uint32_t serial, const void *body, size_t len)
{
	struct rpc_header h = { prog, vers, proc, type, serial, RPC_OK };

	xdr_writer_init(w, 1 << 20);
	rpc_frame_begin(w, &h);
	if (len)
		xdr_put_fixed(w, body, len);
	rpc_frame_end(w);
}

static int feed_call(struct fixture *f, int32_t proc, uint32_t serial, const void *body, size_t len)
{
	struct xdr_writer w;
	char why[256];
	int r;

	frame(&w, VIRT_REMOTE_PROGRAM, 1, proc, RPC_CALL, serial, body, len);
	r = virt_client_feed(f->c, w.data, w.len, why, sizeof(why));
	xdr_writer_free(&w);
	return r;
}

/* The next reply: its header, and the reader over its body (data kept in *buf to free). */
static int next_reply(struct fixture *f, struct rpc_header *h, struct xdr_reader *r, uint8_t **buf)
{
	size_t len;

	if (virt_client_pop_output(f->c, buf, &len) < 0)
		return -1;
	xdr_reader_init(r, *buf + 4, len - 4);
	return rpc_header_decode(r, h);
}

static void open_connection(struct unit *u, struct fixture *f)
{
	static const uint8_t args[] = { 0, 0, 0, 1, 0, 0, 0, 13, 'x', 'e', 'n', ':', '/', '/', '/', 's',
					'y', 's', 't', 'e', 'm', 0, 0, 0, 0, 0, 0, 0 };
	struct rpc_header h;
	struct xdr_reader r;
	uint8_t *buf;

	CHECK_INT(feed_call(f, PROC_CONNECT_OPEN, 1, args, sizeof(args)), 0);
	CHECK_INT(next_reply(f, &h, &r, &buf), 0);
	CHECK(h.type == RPC_REPLY && h.status == RPC_OK && h.serial == 1, "open: type %u status %u",
	      h.type, h.status);
	free(buf);
}

static void test_byte_at_a_time(struct unit *u, const void *arg)
{
	struct fixture f;
	struct xdr_writer w;
	struct rpc_header h;
	struct xdr_reader r;
	uint8_t *buf;
	char why[256];

	(void)arg;
	if (fixture_init(&f) < 0) {
		CHECK(0, "fixture");
		return;
	}
	frame(&w, VIRT_REMOTE_PROGRAM, 1, PROC_AUTH_LIST, RPC_CALL, 42, NULL, 0);
	for (size_t i = 0; i < w.len; i++) {
		CHECK_INT(virt_client_feed(f.c, w.data + i, 1, why, sizeof(why)), 0);
		if (i + 1 < w.len)
			CHECK(virt_client_pop_output(f.c, &buf, &(size_t){ 0 }) < 0, "reply before the frame ended");
	}
	xdr_writer_free(&w);
	CHECK_INT(next_reply(&f, &h, &r, &buf), 0);
	CHECK(h.prog == VIRT_REMOTE_PROGRAM && h.vers == 1 && h.proc == PROC_AUTH_LIST &&
	      h.type == RPC_REPLY && h.serial == 42 && h.status == RPC_OK, "header");
	CHECK_INT(xdr_get_count(&r, 20), 1);
	CHECK_INT(xdr_get_i32(&r), 0);          /* REMOTE_AUTH_NONE */
	CHECK_INT(xdr_reader_done(&r), 0);
	free(buf);
	fixture_fini(&f);
}

static void test_two_frames_one_write(struct unit *u, const void *arg)
{
	struct fixture f;
	struct xdr_writer a, b;
	struct rpc_header h;
	struct xdr_reader r;
	uint8_t *buf, both[256];
	char why[256];

	(void)arg;
	if (fixture_init(&f) < 0)
		return;
	frame(&a, VIRT_REMOTE_PROGRAM, 1, PROC_AUTH_LIST, RPC_CALL, 1, NULL, 0);
	frame(&b, VIRT_REMOTE_PROGRAM, 1, PROC_AUTH_LIST, RPC_CALL, 2, NULL, 0);
	memcpy(both, a.data, a.len);
	memcpy(both + a.len, b.data, b.len);
	CHECK_INT(virt_client_feed(f.c, both, a.len + b.len, why, sizeof(why)), 0);
	for (uint32_t serial = 1; serial <= 2; serial++) {
		CHECK_INT(next_reply(&f, &h, &r, &buf), 0);
		CHECK_INT(h.serial, serial);
		free(buf);
	}
	xdr_writer_free(&a);
	xdr_writer_free(&b);
	fixture_fini(&f);
}

/* Lengths that close the client. */
struct len_row {
	const char *name;
	uint32_t len;
	bool ok;
};

static const struct len_row len_rows[] = {
	{ "length 0 closes", 0, false },
	{ "length 27 (shorter than the header) closes", 27, false },
	{ "length 28 (header only) is accepted", 28, true },
	{ "length VIR_NET_MESSAGE_MAX + 4 is accepted", RPC_MESSAGE_MAX + 4, true },
	{ "length VIR_NET_MESSAGE_MAX + 5 closes", RPC_MESSAGE_MAX + 5, false },
	{ "length 0xffffffff closes", 0xffffffffu, false },
};

static void test_length(struct unit *u, const void *arg)
{
	const struct len_row *row = arg;
	uint8_t b[4] = { row->len >> 24, row->len >> 16, row->len >> 8, row->len };
	char why[256] = "";
	long n = rpc_frame_length(b, 4, why, sizeof(why));
	struct fixture f;

	CHECK(row->ok ? n == (long)row->len : n == -1, "rpc_frame_length gave %ld (%s)", n, why);
	CHECK_INT(rpc_frame_length(b, 3, why, sizeof(why)), 0);
	if (fixture_init(&f) < 0)
		return;
	CHECK_INT(virt_client_feed(f.c, b, 4, why, sizeof(why)), row->ok ? 0 : -1);
	fixture_fini(&f);
}

static void test_garbage_type(struct unit *u, const void *arg)
{
	struct fixture f;
	struct xdr_writer w;
	char why[256];

	(void)arg;
	if (fixture_init(&f) < 0)
		return;
	frame(&w, VIRT_REMOTE_PROGRAM, 1, 1, 77, 1, NULL, 0);
	CHECK_INT(virt_client_feed(f.c, w.data, w.len, why, sizeof(why)), -1);
	xdr_writer_free(&w);
	fixture_fini(&f);
}

/* Calls that get an error reply, and which. */
struct err_row {
	const char *name;
	uint32_t prog, vers;
	int32_t proc;
	bool open_first;
	int code;
	const char *message;
};

static const struct err_row err_rows[] = {
	{ "unknown program", 0x12345678, 1, 1, false, VIR_ERR_RPC, "cannot find program" },
	{ "unknown version", VIRT_REMOTE_PROGRAM, 2, 1, false, VIR_ERR_RPC, "cannot find program" },
	{ "unknown procedure", VIRT_REMOTE_PROGRAM, 1, 99999, true, VIR_ERR_NO_SUPPORT,
	  "this function is not supported by the connection driver" },
	{ "call before CONNECT_OPEN", VIRT_REMOTE_PROGRAM, 1, PROC_CONNECT_GET_TYPE, false,
	  VIR_ERR_INTERNAL_ERROR, "connection not open" },
	{ "CONNECT_OPEN with no arguments", VIRT_REMOTE_PROGRAM, 1, PROC_CONNECT_OPEN, false, VIR_ERR_RPC,
	  "malformed arguments" },
};

static void test_error_reply(struct unit *u, const void *arg)
{
	const struct err_row *row = arg;
	struct fixture f;
	struct xdr_writer w;
	struct rpc_header h;
	struct xdr_reader r;
	struct virt_error e;
	uint8_t *buf;
	char why[256];

	if (fixture_init(&f) < 0)
		return;
	if (row->open_first)
		open_connection(u, &f);
	frame(&w, row->prog, row->vers, row->proc, RPC_CALL, 9, NULL, 0);
	CHECK_INT(virt_client_feed(f.c, w.data, w.len, why, sizeof(why)), 0);
	xdr_writer_free(&w);
	CHECK_INT(next_reply(&f, &h, &r, &buf), 0);
	CHECK(h.type == RPC_REPLY && h.status == RPC_ERROR && h.serial == 9 && h.proc == row->proc,
	      "header: type %u status %u serial %u", h.type, h.status, h.serial);
	CHECK_INT(rpc_error_decode(&r, &e), 0);
	CHECK_INT(xdr_reader_done(&r), 0);
	CHECK_INT(e.code, row->code);
	CHECK(strstr(e.message, row->message) != NULL, "message: %s", e.message);
	free(buf);
	fixture_fini(&f);
}

static void test_keepalive(struct unit *u, const void *arg)
{
	struct fixture f;
	struct xdr_writer w;
	struct rpc_header h;
	struct xdr_reader r;
	uint8_t *buf;
	char why[256];

	(void)arg;
	if (fixture_init(&f) < 0)
		return;
	frame(&w, VIRT_KEEPALIVE_PROGRAM, 1, 1, RPC_MESSAGE, 0, NULL, 0);
	CHECK_INT(virt_client_feed(f.c, w.data, w.len, why, sizeof(why)), 0);
	xdr_writer_free(&w);
	CHECK_INT(next_reply(&f, &h, &r, &buf), 0);
	CHECK(h.prog == VIRT_KEEPALIVE_PROGRAM && h.proc == 2 && h.type == RPC_MESSAGE &&
	      h.status == RPC_OK && h.serial == 0, "PONG header: proc %d type %u", h.proc, h.type);
	CHECK_INT(xdr_reader_done(&r), 0);
	free(buf);
	/* A PONG from the client gets nothing back. */
	frame(&w, VIRT_KEEPALIVE_PROGRAM, 1, 2, RPC_MESSAGE, 0, NULL, 0);
	CHECK_INT(virt_client_feed(f.c, w.data, w.len, why, sizeof(why)), 0);
	xdr_writer_free(&w);
	CHECK(virt_client_pop_output(f.c, &buf, &(size_t){ 0 }) < 0, "an answer to a PONG");
	fixture_fini(&f);
}

static void test_get_type(struct unit *u, const void *arg)
{
	struct fixture f;
	struct rpc_header h;
	struct xdr_reader r;
	uint8_t *buf;

	(void)arg;
	if (fixture_init(&f) < 0)
		return;
	open_connection(u, &f);
	CHECK_INT(feed_call(&f, PROC_CONNECT_GET_TYPE, 3, NULL, 0), 0);
	CHECK_INT(next_reply(&f, &h, &r, &buf), 0);
	char *type = xdr_get_string(&r, 100);
	CHECK_STR(type, "Xen");
	free(type);
	free(buf);
	fixture_fini(&f);
}

static void test_error_encoding(struct unit *u, const void *arg)
{
	struct virt_error e = { VIR_ERR_NO_DOMAIN, VIR_FROM_XEN, "no domain with matching name 'x'" };
	struct xdr_writer w;

	(void)arg;
	xdr_writer_init(&w, 4096);
	rpc_error_encode(&w, &e);
	/* code, domain, message (1 + len + text padded), level, dom null, str1..3 null, int1, int2,
	 * net null */
	size_t msg = 4 + 4 + ((strlen(e.message) + 3) & ~3u);
	CHECK_INT(w.len, 4 + 4 + msg + 4 + 4 + 12 + 8 + 4);
	CHECK_INT(w.data[8 + msg + 3], VIR_ERR_ERROR);
	xdr_writer_free(&w);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "a call fed a byte at a time", test_byte_at_a_time, NULL);
	unit_case(&u, "two calls in one read", test_two_frames_one_write, NULL);
	for (size_t i = 0; i < sizeof(len_rows) / sizeof(len_rows[0]); i++)
		unit_case(&u, len_rows[i].name, test_length, &len_rows[i]);
	unit_case(&u, "a message type clients never send closes", test_garbage_type, NULL);
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++)
		unit_case(&u, err_rows[i].name, test_error_reply, &err_rows[i]);
	unit_case(&u, "keepalive PING gets PONG", test_keepalive, NULL);
	unit_case(&u, "CONNECT_GET_TYPE after open", test_get_type, NULL);
	unit_case(&u, "remote_error layout", test_error_encoding, NULL);
	return unit_finish(&u);
}
