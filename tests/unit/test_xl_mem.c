/* xl's memory sizes (mem-set, mem-max: xl_parse_mem_size_kb, Xen's parse_mem_size_kb rules), xl top's
 * parsing of the VMM's replies and its rows in xentop's batch layout, and xl uptime's durations. */
#include <stdint.h>
#include <string.h>
#include "unit.h"
#include "xl/xl_mem.h"
#include "xl/xl_top.h"

struct size_case { const char *text; int64_t kb; };

static const struct size_case size_cases[] = {
	{ "256", 256 * 1024 },             /* no suffix: MiB */
	{ "256m", 256 * 1024 }, { "256M", 256 * 1024 },
	{ "1g", 1024 * 1024 }, { "1G", 1024 * 1024 },
	{ "512k", 512 }, { "512K", 512 },
	{ "1t", 1024ll * 1024 * 1024 },
	{ "4096b", 4 }, { "1000b", 0 },    /* bytes, rounded down to KiB */
	{ "0", 0 },
	{ "", -1 }, { "m", -1 }, { "12x", -1 }, { "12mb", -1 }, { "1.5g", -1 }, { "-5", -1 }, { " 5", -1 },
	{ "+5", -1 }, { "99999999999999999999", -1 }, { "9007199254740992t", -1 },
};

static void test_size(struct unit *u, const void *arg)
{
	const struct size_case *c = arg;
	int64_t got = xl_parse_mem_size_kb(c->text);

	CHECK(got == c->kb, "'%s' -> %lld, expected %lld", c->text, (long long)got, (long long)c->kb);
}

static void test_header(struct unit *u, const void *arg)
{
	static const char *const columns[] = {
		"NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "MAXMEM(%)", "VCPUS", "NETS",
		"NETTX(k)", "NETRX(k)", "VBDS", "VBD_OO", "VBD_RD", "VBD_WR", "VBD_RSECT", "VBD_WSECT", "SSID",
	};
	char copy[512], *save = NULL;
	size_t i = 0;
	(void)arg;

	snprintf(copy, sizeof(copy), "%s", xl_top_header);
	for (char *w = strtok_r(copy, " \n", &save); w; w = strtok_r(NULL, " \n", &save), i++)
		CHECK(i < sizeof(columns) / sizeof(columns[0]) && !strcmp(w, columns[i]), "column %zu is %s", i, w);
	CHECK_INT(i, sizeof(columns) / sizeof(columns[0]));
	/* xentop's widths: NAME is 10 wide, right-aligned. */
	CHECK(!strncmp(xl_top_header, "      NAME  STATE   CPU(sec) CPU(%)", 35), "%s", xl_top_header);
}

static void test_row(struct unit *u, const void *arg)
{
	struct xl_top_sample prev = { 0 }, s = { 0 };
	char row[512];
	(void)arg;

	CHECK(xl_top_parse_info("domid=3 name=web mem=64 vcpus=2 state=-b---- cputime=12.75 hypercalls=9 "
				"unseen_hypercalls=0 mem_kb=65536 maxmem_kb=262144", &s), "info not parsed");
	snprintf(s.name, sizeof(s.name), "web");
	CHECK_INT(s.domid, 3);
	CHECK_INT(s.mem_kb, 65536);
	CHECK_INT(s.maxmem_kb, 262144);
	CHECK_STR(s.state, "-b----");
	xl_top_parse_vifs("0 vif3.0 tx_packets=5 tx_bytes=4096 tx_drops=0 tx_errors=0 rx_packets=2 rx_bytes=3072 "
			  "rx_drops=0 rx_errors=0\n1 vif3.1 tx_packets=1 tx_bytes=1024 tx_drops=0 tx_errors=0 "
			  "rx_packets=0 rx_bytes=0 rx_drops=0 rx_errors=0 broken", &s);
	xl_top_parse_vbds("51712 xvda reads=10 writes=4 flushes=0 discards=0 errors=0 read_bytes=5120 "
			  "write_bytes=2048", &s);
	CHECK_INT(s.nets, 2);
	CHECK_INT(s.vbds, 1);
	prev = s;
	prev.cpu_seconds = 12.25;
	xl_top_format_row(&s, &prev, 2.0, 1048576, row, sizeof(row));
	/* CPU 0.5 s over 2 s is 25 %; 64 MiB of a 1 GiB host 6.25 %; tx 5 KiB, rx 3 KiB; 10 and 4 requests,
	 * 10 and 4 sectors.  State in xentop's order d s b c p r. */
	CHECK_STR(row, "       web --b---         12   25.0      65536    6.2     262144      25.0     2    2        5"
		       "        3    1        0       10        4         10          4    0\n");
	/* First frame: no CPU(%) yet; an older VMM without mem_kb= gives MiB. */
	struct xl_top_sample old = { 0 };
	CHECK(xl_top_parse_info("domid=4 name=x mem=32 vcpus=1 state=r----- cputime=1", &old), "old info");
	CHECK_INT(old.mem_kb, 32768);
	CHECK_INT(old.maxmem_kb, 32768);
	xl_top_format_row(&old, NULL, 0, 0, row, sizeof(row));
	CHECK(strstr(row, " -----r ") && strstr(row, "    0.0 "), "%s", row);
	CHECK(!xl_top_parse_info("error ENOSYS nothing", &old), "an error parsed as info");
}

struct uptime_case { unsigned long s; bool short_mode; const char *want; };

static const struct uptime_case uptime_cases[] = {
	{ 0, false, " 0:00:00" }, { 59, false, " 0:00:59" }, { 3661, false, " 1:01:01" },
	{ 86399, false, "23:59:59" }, { 86400, false, "1 day,  0:00:00" }, { 2 * 86400 + 3600 + 5, false, "2 days,  1:00:05" },
	{ 3661, true, " 1:01" }, { 86400 + 60, true, "1 day,  0:01" }, { 3 * 86400, true, "3 days,  0:00" },
};

static void test_uptime(struct unit *u, const void *arg)
{
	const struct uptime_case *c = arg;
	char out[64];

	xl_uptime_text(c->s, c->short_mode, out, sizeof(out));
	CHECK_STR(out, c->want);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[64];

	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		snprintf(name, sizeof(name), "size '%s'", size_cases[i].text);
		unit_case(&u, name, test_size, &size_cases[i]);
	}
	unit_case(&u, "xl top header is xentop's", test_header, NULL);
	unit_case(&u, "xl top row from info and device stats", test_row, NULL);
	for (size_t i = 0; i < sizeof(uptime_cases) / sizeof(uptime_cases[0]); i++) {
		snprintf(name, sizeof(name), "uptime %lu%s", uptime_cases[i].s, uptime_cases[i].short_mode ? " -s" : "");
		unit_case(&u, name, test_uptime, &uptime_cases[i]);
	}
	return unit_finish(&u);
}
