/* The XDR reader and writer (src/libvirt/xdr.h): every type against bytes written out by hand
 * from RFC 4506, padding, bounds, sticky failure and hostile counts; remote_types on top. */
#include <stdlib.h>
#include <string.h>

#include "libvirt/remote_types.h"
#include "libvirt/xdr.h"
#include "unit.h"

static void test_ints(struct unit *u, const void *arg)
{
	static const uint8_t want[] = { 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xfe,
					0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
					0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0, 0, 0, 1 };
	struct xdr_writer w;
	struct xdr_reader r;

	(void)arg;
	xdr_writer_init(&w, 1024);
	xdr_put_u32(&w, 0xdeadbeef);
	xdr_put_i32(&w, -2);
	xdr_put_u64(&w, 0x0102030405060708ull);
	xdr_put_i64(&w, -3);
	xdr_put_bool(&w, true);
	CHECK(!w.failed && w.len == sizeof(want) && !memcmp(w.data, want, sizeof(want)),
	      "encoding differs (len %zu)", w.len);
	xdr_reader_init(&r, w.data, w.len);
	CHECK_INT(xdr_get_u32(&r), 0xdeadbeef);
	CHECK_INT(xdr_get_i32(&r), -2);
	CHECK(xdr_get_u64(&r) == 0x0102030405060708ull, "u64");
	CHECK_INT(xdr_get_i64(&r), -3);
	CHECK(xdr_get_bool(&r), "bool");
	CHECK_INT(xdr_reader_done(&r), 0);
	xdr_writer_free(&w);
}

static void test_strings_padding(struct unit *u, const void *arg)
{
	static const uint8_t want[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0,   /* string */
					0, 0, 0, 0,                                     /* null */
					0, 0, 0, 1, 0, 0, 0, 0,                         /* "" */
					1, 2, 3, 0,                                     /* fixed[3] */
					0, 0, 0, 4, 9, 9, 9, 9 };                       /* opaque */
	struct xdr_writer w;
	struct xdr_reader r;
	uint8_t fixed[3];
	bool present;
	size_t n;

	(void)arg;
	xdr_writer_init(&w, 1024);
	xdr_put_string(&w, "hello");
	xdr_put_opt_string(&w, NULL);
	xdr_put_opt_string(&w, "");
	xdr_put_fixed(&w, (const uint8_t[]){ 1, 2, 3 }, 3);
	xdr_put_opaque(&w, (const uint8_t[]){ 9, 9, 9, 9 }, 4);
	CHECK(w.len == sizeof(want) && !memcmp(w.data, want, sizeof(want)), "encoding differs (len %zu)",
	      w.len);
	xdr_reader_init(&r, w.data, w.len);
	char *s = xdr_get_string(&r, 5);
	CHECK_STR(s, "hello");
	free(s);
	s = xdr_get_opt_string(&r, 10, &present);
	CHECK(!s && !present, "null string");
	s = xdr_get_opt_string(&r, 10, &present);
	CHECK(s && present && !*s, "empty string");
	free(s);
	xdr_get_fixed(&r, fixed, 3);
	CHECK(!memcmp(fixed, "\1\2\3", 3), "fixed");
	const uint8_t *op = xdr_get_opaque(&r, 4, &n);
	CHECK(op && n == 4 && op[0] == 9, "opaque");
	CHECK_INT(xdr_reader_done(&r), 0);
	xdr_writer_free(&w);
}

/* Each row: bytes a hostile peer sends and the read that must refuse them. */
struct bad_row {
	const char *name;
	uint8_t bytes[16];
	size_t len;
	int what;       /* 0 string<4>, 1 count<=2, 2 bool, 3 u64, 4 opaque<100> */
};

static const struct bad_row bad_rows[] = {
	{ "string longer than its max", { 0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e', 0, 0, 0 }, 12, 0 },
	{ "string past the buffer", { 0, 0, 0, 4, 'a', 'b' }, 6, 0 },
	{ "string with a NUL", { 0, 0, 0, 3, 'a', 0, 'b', 0 }, 8, 0 },
	{ "string without its padding", { 0, 0, 0, 1, 'a' }, 5, 0 },
	{ "count above max", { 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 16, 1 },
	{ "count beyond the bytes left", { 0, 0, 0, 2, 0, 0, 0, 0 }, 8, 1 },
	{ "huge count", { 0xff, 0xff, 0xff, 0xff }, 4, 1 },
	{ "bool of 2", { 0, 0, 0, 2 }, 4, 2 },
	{ "short u64", { 0, 0, 0, 0, 0, 0 }, 6, 3 },
	{ "opaque of 4 GiB", { 0xff, 0xff, 0xff, 0xfc }, 4, 4 },
};

static void test_bad(struct unit *u, const void *arg)
{
	const struct bad_row *row = arg;
	struct xdr_reader r;
	size_t n;

	xdr_reader_init(&r, row->bytes, row->len);
	switch (row->what) {
	case 0: {
		char *s = xdr_get_string(&r, 4);
		CHECK(!s, "a string came back");
		free(s);
		break;
	}
	case 1:
		CHECK_INT(xdr_get_count(&r, 2), 0);
		break;
	case 2:
		CHECK(!xdr_get_bool(&r), "bool true");
		break;
	case 3:
		CHECK(xdr_get_u64(&r) == 0, "u64 not 0");
		break;
	case 4:
		CHECK(!xdr_get_opaque(&r, 100, &n) && n == 0, "opaque came back");
		break;
	}
	CHECK(r.failed && r.why[0], "not failed, or no reason");
	/* Sticky: later reads give zeros and keep the first reason. */
	char why[sizeof(r.why)];
	strcpy(why, r.why);
	CHECK_INT(xdr_get_u32(&r), 0);
	CHECK_STR(r.why, why);
	CHECK_INT(xdr_reader_done(&r), -1);
}

static void test_leftover(struct unit *u, const void *arg)
{
	static const uint8_t b[] = { 0, 0, 0, 1, 0, 0, 0, 2 };
	struct xdr_reader r;

	(void)arg;
	xdr_reader_init(&r, b, sizeof(b));
	xdr_get_u32(&r);
	CHECK_INT(xdr_reader_done(&r), -1);
	CHECK(strstr(r.why, "4 unexpected bytes") != NULL, "why: %s", r.why);
}

static void test_writer_cap(struct unit *u, const void *arg)
{
	struct xdr_writer w;

	(void)arg;
	xdr_writer_init(&w, 8);
	xdr_put_u32(&w, 1);
	xdr_put_string(&w, "abc");       /* 4 + 4 = 8 more: over */
	CHECK(w.failed, "writer past its cap did not fail");
	xdr_put_u32(&w, 2);
	CHECK(w.failed && w.len <= 8, "writer grew after failing: %zu", w.len);
	xdr_writer_free(&w);
}

static void test_remote_domain(struct unit *u, const void *arg)
{
	struct virt_dom dom = { .name = "guest", .id = 7 };
	struct remote_domain rd;
	struct xdr_writer w;
	struct xdr_reader r;

	(void)arg;
	memset(dom.uuid, 0xab, 16);
	xdr_writer_init(&w, 1024);
	remote_domain_put_dom(&w, &dom);
	CHECK_INT(w.len, 4 + 8 + 16 + 4);
	xdr_reader_init(&r, w.data, w.len);
	CHECK_INT(remote_domain_get(&r, &rd), 0);
	CHECK_STR(rd.name, "guest");
	CHECK_INT(rd.id, 7);
	CHECK(rd.uuid[15] == 0xab, "uuid");
	remote_domain_free(&rd);
	xdr_reader_init(&r, w.data, w.len - 2);
	CHECK_INT(remote_domain_get(&r, &rd), -1);
	CHECK(!rd.name, "name left on failure");
	xdr_writer_free(&w);
}

static void test_typed_params(struct unit *u, const void *arg)
{
	struct remote_typed_param in[3] = {
		{ .field = "weight", .type = VIR_TYPED_PARAM_UINT, .value.ui = 256 },
		{ .field = "ratio", .type = VIR_TYPED_PARAM_DOUBLE, .value.d = 0.5 },
		{ .field = "name", .type = VIR_TYPED_PARAM_STRING, .value.s = "credit" },
	};
	struct remote_typed_param *out;
	struct xdr_writer w;
	struct xdr_reader r;
	size_t n;

	(void)arg;
	xdr_writer_init(&w, 4096);
	remote_typed_params_put(&w, in, 3);
	xdr_reader_init(&r, w.data, w.len);
	CHECK_INT(remote_typed_params_get(&r, 16, &out, &n), 0);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(out[0].field, "weight");
		CHECK_INT(out[0].value.ui, 256);
		CHECK(out[1].value.d == 0.5, "double");
		CHECK_STR(out[2].value.s, "credit");
	}
	remote_typed_params_free(out, n);
	xdr_reader_init(&r, w.data, w.len);
	CHECK_INT(remote_typed_params_get(&r, 2, &out, &n), -1);   /* more than the procedure's max */
	CHECK(!out && n == 0, "list left on failure");
	/* An unknown union arm stops decoding. */
	w.data[4 + 4 + 8 + 3] = 99;
	xdr_reader_init(&r, w.data, w.len);
	CHECK_INT(remote_typed_params_get(&r, 16, &out, &n), -1);
	xdr_writer_free(&w);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "xdr integers and bool", test_ints, NULL);
	unit_case(&u, "xdr strings, opaque and padding", test_strings_padding, NULL);
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++)
		unit_case(&u, bad_rows[i].name, test_bad, &bad_rows[i]);
	unit_case(&u, "bytes left over fail the decoder", test_leftover, NULL);
	unit_case(&u, "writer stops at its cap", test_writer_cap, NULL);
	unit_case(&u, "remote_nonnull_domain", test_remote_domain, NULL);
	unit_case(&u, "remote_typed_param lists", test_typed_params, NULL);
	return unit_finish(&u);
}
