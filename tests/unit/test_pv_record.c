/* The PV backend table (backends/pv_backends.c) and its saved-state record (backends/pv_record.c):
 * every row complete, each type's config surviving a save and a restore, and records that are
 * short, long, of another version, corrupt or garbage refused with a message. */
#include <errno.h>
#include <stdlib.h>
#include "backends/blkback.h"
#include "backends/netback.h"
#include "backends/pv_backend.h"
#include "unit.h"

/* ---- the table ---- */

static void test_rows_complete(struct unit *u, const void *arg)
{
	unsigned int total = 0, n = 0;

	(void)arg;
	for (const struct pv_backend_type *const *tp = pv_backend_types; *tp; tp++, n++) {
		const struct pv_backend_type *t = *tp;
		CHECK(t->name && *t->name && strlen(t->name) <= PV_TYPE_NAME_MAX, "row %u: name", n);
		if (!t->name)
			continue;
		CHECK(pv_backend_type_by_name(t->name) == t, "%s: its name is another row's", t->name);
		CHECK(t->option && pv_backend_type_by_option(t->option) == t, "%s: option", t->name);
		CHECK(t->plural && *t->plural && t->spec_usage && *t->spec_usage, "%s: plural or usage", t->name);
		CHECK(t->max >= 1 && t->max_devid > 0 && t->close_timeout_ms > 0, "%s: limits", t->name);
		CHECK(t->config_size > 0 && t->devid_offset + sizeof(int) <= t->config_size, "%s: config", t->name);
		/* Every op is set but the one that is optional: attach_reply. */
		CHECK(t->parse && t->check && t->describe && t->attach && t->list_line && t->stats_line &&
		      t->save && t->teardown, "%s: a required op is missing", t->name);
		total += t->max;
		bool devid_saved = false;
		CHECK(t->fields && t->fields[0].tag, "%s: no fields to save", t->name);
		for (const struct pv_field *f = t->fields; f && f->tag; f++) {
			CHECK(f->tag >= 16 && f->tag < 16 + 512, "%s.%s: tag %u", t->name, f->name, f->tag);
			CHECK(f->name && f->offset + f->size <= t->config_size, "%s: field %u", t->name, f->tag);
			for (const struct pv_field *g = f + 1; g->tag; g++)
				CHECK(g->tag != f->tag, "%s: tag %u twice", t->name, f->tag);
			if (f->kind == PV_FIELD_INT)
				CHECK(f->size == sizeof(int) && f->min <= f->max, "%s.%s: int", t->name, f->name);
			if (f->kind == PV_FIELD_BOOL)
				CHECK(f->size == sizeof(bool), "%s.%s: bool", t->name, f->name);
			if (f->kind == PV_FIELD_STR)
				CHECK(f->size >= 2, "%s.%s: string buffer", t->name, f->name);
			if (f->offset == t->devid_offset && f->kind == PV_FIELD_INT && f->required)
				devid_saved = true;
		}
		CHECK(devid_saved, "%s: the devid is not a required field of its record", t->name);
	}
	CHECK(n >= 2, "the table has %u rows", n);
	CHECK(total <= PV_MAX_DEVICES, "the rows' limits add up to %u, params hold %d", total, PV_MAX_DEVICES);
	const struct pv_backend_type *vif = pv_backend_type_by_name("vif"), *vbd = pv_backend_type_by_name("vbd");
	CHECK(vif && vif->max == DOMAIN_MAX_VIFS && !strcmp(vif->option, "vif"), "vif row");
	CHECK(vbd && vbd->max == DOMAIN_MAX_DISKS && !strcmp(vbd->option, "disk"), "vbd row");
}

static void test_verbs(struct unit *u, const void *arg)
{
	static const char *const want[] = { "vif-attach", "vif-detach", "vif-list", "vbd-attach",
					    "vbd-detach", "vbd-list" };
	static const char *const not_ours[] = { "vif", "vif-", "-list", "vif-foo", "xyz-list", "vif-list2",
						"info", "vbd-attachx", "" };
	char buf[32];
	unsigned int n = 0;

	(void)arg;
	while (pv_backend_verb(n, buf, sizeof(buf))) {
		CHECK(pv_backend_handles(buf), "%s is listed but not handled", buf);
		n++;
	}
	CHECK_INT(n, 6);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool listed = false;
		for (unsigned int j = 0; j < n; j++)
			listed |= !strcmp(pv_backend_verb(j, buf, sizeof(buf)), want[i]);
		CHECK(listed, "%s is not listed", want[i]);
	}
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		CHECK(!pv_backend_handles(not_ours[i]), "'%s' is taken as a backend verb", not_ours[i]);
	CHECK_STR(pv_errno_name(ENOENT), "ENOENT");
	CHECK_STR(pv_errno_name(ENXIO), "EIO");
}

/* ---- round trips ---- */

/* Field by field, as the record sees the config. */
static void check_same(struct unit *u, const struct pv_backend_type *t, const void *a, const void *b)
{
	for (const struct pv_field *f = t->fields; f->tag; f++) {
		const char *x = (const char *)a + f->offset, *y = (const char *)b + f->offset;
		if (f->kind == PV_FIELD_STR)
			CHECK(!strcmp(x, y), "%s.%s: '%s' came back as '%s'", t->name, f->name, x, y);
		else
			CHECK(!memcmp(x, y, f->size), "%s.%s differs after the round trip", t->name, f->name);
	}
}

struct trip { const char *type, *spec; bool connected; };

static const struct trip trips[] = {
	{ "vif", "devid=3,mac=00:16:3e:0a:0b:0c,bridge=xbr1,script=/x/vif-bridge,ip=10.0.0.2/24 10.1.0.0/16,"
		 "vifname=web0,rate=10Mb/s,netdev=eth0,gatewayip=10.0.0.1", true },
	{ "vif", "devid=0", false },
	{ "vbd", "vdev=xvdb,devid=51728,access=ro,devtype=cdrom,target=/srv/a,b c.iso", false },
	{ "vbd", "vdev=hda,access=rw,target=/dev/loop0", true },
};

static void test_round_trip(struct unit *u, const void *arg)
{
	const struct trip *tr = arg;
	const struct pv_backend_type *t = pv_backend_type_by_name(tr->type);
	struct pv_runtime rt = { .state = 4, .connected = tr->connected };
	uint8_t buf[PV_RECORD_MAX * 2];
	char err[512] = "";
	struct pv_saved saved;
	size_t used = 0;

	if (tr->connected) {
		rt.port = 7;
		rt.n_refs = 3;
		rt.refs[0] = 8, rt.refs[1] = 9, rt.refs[2] = 0xfffffff0;
	}
	void *config = calloc(1, t->config_size);
	CHECK(!t->parse(tr->spec, config, err, sizeof(err)), "parse: %s", err);
	long n = pv_record_encode(t, config, &rt, buf, sizeof(buf), err, sizeof(err));
	CHECK(n > PV_RECORD_HEADER, "encode: %s", err);
	/* A second record after it: the first is read alone. */
	memcpy(buf + n, buf, (size_t)n);
	CHECK(!pv_record_decode(buf, 2 * (size_t)n, &saved, &used, err, sizeof(err)), "decode: %s", err);
	CHECK_INT(used, n);
	CHECK(saved.type == t, "type came back as %s", saved.type ? saved.type->name : "none");
	if (saved.config)
		check_same(u, t, config, saved.config);
	CHECK_INT(saved.rt.state, 4);
	CHECK_INT(saved.rt.connected, tr->connected);
	CHECK_INT(saved.rt.port, rt.port);
	CHECK_INT(saved.rt.n_refs, rt.n_refs);
	CHECK(!memcmp(saved.rt.refs, rt.refs, sizeof(rt.refs)), "ring refs differ");
	pv_saved_free(&saved);
	/* Too small a buffer is an error, never a short record. */
	CHECK(pv_record_encode(t, config, &rt, buf, (size_t)n - 1, err, sizeof(err)) == -1 && strstr(err, "bytes"),
	      "encoding into %ld bytes: %s", n - 1, err);
	free(config);
}

/* ---- refusals ---- */

static uint32_t fnv1a(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A record by hand: header, then fields given as (tag, len, bytes) triples; the sum is right. */
struct raw_field { uint16_t tag; uint16_t len; const void *value; };

static size_t build(uint8_t *buf, const char *type, uint16_t version, const struct raw_field *f, size_t n)
{
	size_t at = PV_RECORD_HEADER;

	memset(buf, 0, PV_RECORD_HEADER);
	memcpy(buf, PV_RECORD_MAGIC, 4);
	buf[4] = (uint8_t)version;
	buf[5] = (uint8_t)(version >> 8);
	memcpy(buf + 8, type, strlen(type) < 8 ? strlen(type) : 8);
	for (size_t i = 0; i < n; i++) {
		buf[at] = (uint8_t)f[i].tag;
		buf[at + 1] = (uint8_t)(f[i].tag >> 8);
		buf[at + 2] = (uint8_t)f[i].len;
		buf[at + 3] = (uint8_t)(f[i].len >> 8);
		memcpy(buf + at + 4, f[i].value, f[i].len);
		at += 4u + f[i].len;
	}
	put32(buf + 16, (uint32_t)(at - PV_RECORD_HEADER));
	put32(buf + 20, fnv1a(buf + PV_RECORD_HEADER, at - PV_RECORD_HEADER));
	return at;
}

static const uint8_t mac[6] = { 0, 0x16, 0x3e, 1, 2, 3 }, one = 1, zero = 0, two = 2;
static const uint8_t devid3[4] = { 3, 0, 0, 0 }, devid_big[4] = { 0x70, 0x11, 1, 0 };
static const uint8_t state4[4] = { 4, 0, 0, 0 }, port7[4] = { 7, 0, 0, 0 };
#define STR(s) sizeof(s) - 1, s

struct bad { const char *name, *type; uint16_t version; struct raw_field f[8]; size_t n; const char *says; };

static const struct bad bads[] = {
	{ "good-vif-control", "vif", 1, { { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &one } }, 3, NULL },
	{ "wrong-version", "vif", 2, { { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &one } }, 3, "version 2" },
	{ "version-0", "vif", 0, { { 16, 4, devid3 } }, 1, "version 0" },
	{ "unknown-type", "tpm", 1, { { 16, 4, devid3 } }, 1, "unknown device type 'tpm'" },
	{ "type-name-unterminated", "vifvifvi", 1, { { 16, 4, devid3 } }, 1, "not NUL-terminated" },
	{ "empty-type-name", "", 1, { { 16, 4, devid3 } }, 1, "empty" },
	{ "unknown-field", "vif", 1, { { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &one }, { 99, 1, &one } }, 4,
	  "unknown field 99" },
	{ "unknown-runtime-field", "vif", 1, { { 9, 1, &one } }, 1, "unknown runtime field 9" },
	{ "field-tag-0", "vif", 1, { { 0, 0, "" } }, 1, "not a field" },
	{ "repeated-field", "vif", 1, { { 16, 4, devid3 }, { 16, 4, devid3 } }, 2, "repeated" },
	{ "devid-out-of-range", "vif", 1, { { 16, 4, devid_big }, { 17, 6, mac }, { 18, 1, &one } }, 3,
	  "is not from 0 to 65535" },
	{ "int-wrong-size", "vif", 1, { { 16, 2, devid3 }, { 17, 6, mac }, { 18, 1, &one } }, 3, "not 4" },
	{ "mac-wrong-size", "vif", 1, { { 16, 4, devid3 }, { 17, 5, mac }, { 18, 1, &one } }, 3, "not 6" },
	{ "bool-not-0-or-1", "vif", 1, { { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &two } }, 3, "0 or 1" },
	{ "required-missing", "vif", 1, { { 16, 4, devid3 }, { 18, 1, &one } }, 2, "mac is missing" },
	{ "string-too-long", "vif", 1, { { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &one },
					 { 22, STR("abcdefghijklmnop") } }, 4, "vifname is too long" },
	{ "string-with-nul", "vif", 1, { { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &one },
					 { 19, 4, "a\0bc" } }, 4, "bridge holds a NUL" },
	{ "bridge-not-a-name", "vif", 1, { { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &one },
					   { 19, STR("a/b") } }, 4, "not a usable interface name" },
	{ "ip-shell-chars", "vif", 1, { { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &one },
					{ 21, STR("1.2.3.4;reboot") } }, 4, "not a list of addresses" },
	{ "connected-without-port", "vif", 1, { { 2, 1, &one }, { 16, 4, devid3 }, { 17, 6, mac },
						{ 18, 1, &one } }, 4, "connected" },
	{ "port-without-connected", "vif", 1, { { 3, 4, port7 }, { 4, 4, port7 }, { 16, 4, devid3 },
						{ 17, 6, mac }, { 18, 1, &one } }, 5, "connected" },
	{ "bad-state", "vif", 1, { { 1, 4, devid_big } }, 1, "xenbus state" },
	{ "ring-refs-ragged", "vif", 1, { { 2, 1, &one }, { 3, 4, port7 }, { 4, 3, port7 } }, 3, "ring references" },
	{ "vbd-devid-not-vdevs", "vbd", 1, { { 16, STR("xvda") }, { 17, 4, devid3 }, { 18, 1, &zero },
					     { 19, 1, &zero }, { 20, STR("/x") } }, 5, "not xvda's number" },
	{ "vbd-bad-vdev", "vbd", 1, { { 16, STR("zz") }, { 17, 4, devid3 }, { 18, 1, &zero },
				      { 19, 1, &zero }, { 20, STR("/x") } }, 5, "not a virtual device name" },
	{ "vbd-cdrom-writable", "vbd", 1, { { 1, 4, state4 }, { 16, STR("xvdb") }, { 17, 4, "\x10\xca\0\0" },
					    { 18, 1, &zero }, { 19, 1, &one }, { 20, STR("/x") } }, 6, "cdrom" },
	{ "vbd-empty-target", "vbd", 1, { { 16, STR("xvdb") }, { 17, 4, "\x10\xca\0\0" }, { 18, 1, &zero },
					  { 19, 1, &zero }, { 20, 0, "" } }, 5, "target is empty" },
};

static void test_bad(struct unit *u, const void *arg)
{
	const struct bad *b = arg;
	uint8_t buf[PV_RECORD_MAX];
	struct pv_saved saved;
	char err[512] = "";
	size_t used;

	size_t n = build(buf, b->type, b->version, b->f, b->n);
	int r = pv_record_decode(buf, n, &saved, &used, err, sizeof(err));
	if (!b->says) {
		CHECK(r == 0, "refused: %s", err);
		if (!r)
			pv_saved_free(&saved);
		return;
	}
	CHECK(r == -1, "accepted");
	CHECK(strstr(err, b->says) != NULL, "'%s' does not say '%s'", err, b->says);
	if (!r)
		pv_saved_free(&saved);
}

static size_t good_vif(uint8_t *buf)
{
	const struct raw_field f[] = { { 1, 4, state4 }, { 16, 4, devid3 }, { 17, 6, mac }, { 18, 1, &one },
				       { 19, STR("xenbr0") } };
	return build(buf, "vif", 1, f, sizeof(f) / sizeof(f[0]));
}

static void test_truncated(struct unit *u, const void *arg)
{
	uint8_t buf[PV_RECORD_MAX];
	struct pv_saved saved;
	char err[512];
	size_t used, n = good_vif(buf);

	(void)arg;
	for (size_t len = 0; len < n; len++) {
		err[0] = '\0';
		int r = pv_record_decode(buf, len, &saved, &used, err, sizeof(err));
		CHECK(r == -1 && strstr(err, "truncated"), "%zu of %zu bytes: %d '%s'", len, n, r, err);
		if (!r)
			pv_saved_free(&saved);
	}
}

static void test_oversized(struct unit *u, const void *arg)
{
	uint8_t *buf = calloc(1, 2 * PV_RECORD_MAX);
	struct pv_saved saved;
	char err[512] = "";
	size_t used;

	(void)arg;
	good_vif(buf);
	put32(buf + 16, PV_RECORD_MAX);               /* a body longer than a record may be */
	CHECK(pv_record_decode(buf, 2 * PV_RECORD_MAX, &saved, &used, err, sizeof(err)) == -1 &&
	      strstr(err, "more than"), "oversized: '%s'", err);
	put32(buf + 16, UINT32_MAX);
	CHECK(pv_record_decode(buf, 2 * PV_RECORD_MAX, &saved, &used, err, sizeof(err)) == -1,
	      "a 4 GiB body accepted");
	free(buf);
}

static void test_corrupt(struct unit *u, const void *arg)
{
	uint8_t buf[PV_RECORD_MAX];
	struct pv_saved saved;
	char err[512] = "";
	size_t used, n = good_vif(buf);

	(void)arg;
	buf[n - 1] ^= 0x20;                               /* "xenbR0": a valid name, a wrong sum */
	CHECK(pv_record_decode(buf, n, &saved, &used, err, sizeof(err)) == -1 && strstr(err, "checksum"),
	      "corrupt body: '%s'", err);
	n = good_vif(buf);
	buf[6] = 1;
	CHECK(pv_record_decode(buf, n, &saved, &used, err, sizeof(err)) == -1 && strstr(err, "flags"),
	      "flags: '%s'", err);
	n = good_vif(buf);
	buf[0] = 'Y';
	CHECK(pv_record_decode(buf, n, &saved, &used, err, sizeof(err)) == -1 && strstr(err, "magic"),
	      "magic: '%s'", err);
	n = good_vif(buf);
	buf[12] = 'x';                                    /* a byte after the name's NUL */
	CHECK(pv_record_decode(buf, n, &saved, &used, err, sizeof(err)) == -1 && strstr(err, "NUL-padded"),
	      "padding: '%s'", err);
}

/* Pseudo-random bytes, and random bytes behind a valid header: never accepted by chance, never a
 * crash (the sanitizer build runs this too). */
static void test_garbage(struct unit *u, const void *arg)
{
	uint8_t buf[512];
	uint32_t x = 12345;
	struct pv_saved saved;
	char err[512];
	size_t used;

	(void)arg;
	for (int round = 0; round < 2000; round++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
		}
		size_t n = 1 + x % sizeof(buf);
		if (round % 2) {
			memcpy(buf, PV_RECORD_MAGIC, 4);
			buf[4] = 1, buf[5] = 0, buf[6] = buf[7] = 0;
			memcpy(buf + 8, "vif\0\0\0\0\0", 8);
			if (n > PV_RECORD_HEADER) {
				put32(buf + 16, (uint32_t)(n - PV_RECORD_HEADER));
				put32(buf + 20, fnv1a(buf + PV_RECORD_HEADER, n - PV_RECORD_HEADER));
			}
		}
		err[0] = '\0';
		int r = pv_record_decode(buf, n, &saved, &used, err, sizeof(err));
		CHECK(r == -1 && err[0], "round %d (%zu bytes): accepted or no message", round, n);
		if (!r)
			pv_saved_free(&saved);
	}
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[64];

	unit_case(&u, "pv-table-rows-complete", test_rows_complete, NULL);
	unit_case(&u, "pv-table-verbs", test_verbs, NULL);
	for (size_t i = 0; i < sizeof(trips) / sizeof(trips[0]); i++) {
		snprintf(name, sizeof(name), "pv-record-round-trip-%s-%zu", trips[i].type, i);
		unit_case(&u, name, test_round_trip, &trips[i]);
	}
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		snprintf(name, sizeof(name), "pv-record-%s", bads[i].name);
		unit_case(&u, name, test_bad, &bads[i]);
	}
	unit_case(&u, "pv-record-truncated", test_truncated, NULL);
	unit_case(&u, "pv-record-oversized", test_oversized, NULL);
	unit_case(&u, "pv-record-corrupt", test_corrupt, NULL);
	unit_case(&u, "pv-record-garbage", test_garbage, NULL);
	return unit_finish(&u);
}
