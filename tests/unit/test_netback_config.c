/* The VMM's --vif / vif-attach parser (backends/netback.c): one row per spec, good or bad. */
#include <stdlib.h>
#include "backends/netback.h"
#include "unit.h"

struct row { const char *name, *spec; bool ok; const char *err_has; };

static const struct row rows[] = {
	{ "full-spec", "devid=1,mac=00:16:3e:01:02:03,bridge=xbr0,script=/x/vif-bridge,ip=10.0.0.2/24,vifname=web0,rate=10Mb/s", true, NULL },
	{ "empty-is-defaults", "", true, NULL },
	{ "ip-list", "ip=10.0.0.2 10.0.1.0/24", true, NULL },
	{ "route-extras", "script=vif-route,ip=10.0.1.2,gatewayip=10.0.1.1,netdev=eth0", true, NULL },
	{ "unknown-key", "colour=blue", false, "unknown vif option 'colour'" },
	{ "no-value", "bridge", false, "no value" },
	{ "bad-mac", "mac=00:16:3e:01:02", false, "not six hex bytes" },
	{ "multicast-mac", "mac=01:16:3e:01:02:03", false, "multicast" },
	{ "bad-devid", "devid=-1", false, "devid" },
	{ "devid-too-big", "devid=70000", false, "devid" },
	{ "vifname-too-long", "vifname=abcdefghijklmnop", false, "not a usable interface name" },
	{ "vifname-slash", "vifname=a/b", false, "not a usable interface name" },
	{ "ip-shell-chars", "ip=10.0.0.1;reboot", false, "not a list of addresses" },
	{ "empty-script", "script=", false, "script" },
};

static void test_row(struct unit *u, const void *arg)
{
	const struct row *r = arg;
	struct netback_config c;
	char err[256] = "";

	int rc = netback_config_parse(r->spec, &c, err, sizeof(err));
	CHECK(rc == (r->ok ? 0 : -1), "'%s' gave %d (%s)", r->spec, rc, err);
	if (r->err_has)
		CHECK(strstr(err, r->err_has) != NULL, "error '%s' lacks '%s'", err, r->err_has);
}

static void test_values(struct unit *u, const void *arg)
{
	struct netback_config c;
	char err[256];
	(void)arg;

	CHECK_INT(netback_config_parse(rows[0].spec, &c, err, sizeof(err)), 0);
	CHECK_INT(c.devid, 1);
	CHECK(c.has_mac && c.mac[0] == 0 && c.mac[2] == 0x3e && c.mac[5] == 3, "mac parsed wrong");
	CHECK_STR(c.bridge, "xbr0");
	CHECK_STR(c.script, "/x/vif-bridge");
	CHECK_STR(c.ip, "10.0.0.2/24");
	CHECK_STR(c.vifname, "web0");
	CHECK_STR(c.rate, "10Mb/s");
	CHECK_INT(netback_config_parse("", &c, err, sizeof(err)), 0);
	CHECK(c.devid == -1 && !c.has_mac && !c.bridge[0], "defaults are left for the caller");
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		unit_case(&u, rows[i].name, test_row, &rows[i]);
	unit_case(&u, "values", test_values, NULL);
	return unit_finish(&u);
}
