/* CPU sets in xl's syntax (src/lib/cpumap.c): what xl.cfg's cpus=/cpus_soft= and `xl vcpu-pin`
 * take, parsed to a set and printed back as xl's vcpu-list prints affinities (on a host of 8
 * CPUs), and every malformed form refused with the text and what is wrong. */
#define _GNU_SOURCE
#include "lib/cpumap.h"
#include "unit.h"

struct good { const char *text, *printed; };
struct bad { const char *text, *why_has; };

static void test_good(struct unit *u, const void *arg)
{
	static const struct good cases[] = {
		{ "all", "all" }, { "0", "0" }, { "0-3", "0-3" }, { "0-3,^2", "0-1,3" },
		{ "5,1,3", "1,3,5" }, { "0-7", "all" }, { "^0", "1-1023" }, { "2-2", "2" },
		{ "0-7,^1-6", "0,7" }, { "all,^0", "1-1023" }, { "1023", "1023" }, { "6,7,8", "6-8" },
	};
	struct cpumap map;
	char why[256], out[128];

	(void)arg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		CHECK(!cpumap_parse(cases[i].text, &map, why, sizeof(why)), "'%s': %s", cases[i].text, why);
		CHECK_STR(cpumap_format(&map, 8, out, sizeof(out)), cases[i].printed);
	}
	cpumap_parse("0-1", &map, why, sizeof(why));
	CHECK_INT(cpumap_first_beyond(&map, 8), -1);
	cpumap_parse("3,9", &map, why, sizeof(why));
	CHECK_INT(cpumap_first_beyond(&map, 8), 9);
	CHECK_STR(cpumap_format(&map, 2, out, 4), "3,9");   /* truncated at a whole item */
	CHECK_STR(cpumap_format(&map, 2, out, 3), "3");
}

static void test_bad(struct unit *u, const void *arg)
{
	static const struct bad cases[] = {
		{ "", "an empty CPU list" }, { "x", "'x' is not a CPU number" },
		{ "1-", "'1-' is not a range" }, { "3-1", "'3-1' is not a range" },
		{ "1024", "'1024' is not a CPU number below 1024" }, { "0,", "a trailing comma" },
		{ "0;1", "unexpected ';'" }, { "node:0", "NUMA node placement is not supported" },
		{ "nodes:0-1", "NUMA" }, { "0,^0", "leaves no CPU" }, { "-1", "'-1' is not a CPU number" },
		{ "1,,2", "'1,,2': '' is not a CPU number" }, { "99999999999999999999", "is not a CPU number" },
	};
	struct cpumap map;
	char why[256];

	(void)arg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		CHECK(cpumap_parse(cases[i].text, &map, why, sizeof(why)) < 0, "'%s' accepted", cases[i].text);
		CHECK(strstr(why, cases[i].why_has), "'%s': reason '%s' lacks '%s'", cases[i].text, why,
		      cases[i].why_has);
	}
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "CPU lists parsed and printed as xl does", test_good, NULL);
	unit_case(&u, "malformed CPU lists refused with the reason", test_bad, NULL);
	return unit_finish(&u);
}
