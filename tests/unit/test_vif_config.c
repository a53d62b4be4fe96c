/* vif specs (xl-network-configuration(5), docs/netif.md): parsing, errors with exact text, the
 * cfg's vif list with file:line, libxl's MAC rule, the scripts lookup, the bridge check, the text
 * the VMM gets, and the VMM's vif-list lines.  Table-driven. */
#define _GNU_SOURCE /* open_memstream, mkdtemp */
#include "xl/domain_config.h"
#include "xl/vif_config.h"
#include "unit.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- one spec ------------------------------------------------------------------------------ */

/* The parsed vif as one line of text, so that the table stays flat. */
static char *describe(const struct xl_vif *v)
{
	char mac[VIF_MAC_TEXT], *s = NULL;

	if (v->mac_set)
		xl_vif_mac_format(v->mac, mac);
	else
		snprintf(mac, sizeof(mac), "-");
	if (asprintf(&s, "mac=%s bridge=%s script=%s ip=%s vifname=%s rate=%s", mac,
		     v->bridge ? v->bridge : "-", v->script ? v->script : "-", v->ip ? v->ip : "-",
		     v->vifname ? v->vifname : "-", v->rate ? v->rate : "-") < 0)
		return NULL;
	return s;
}

static int parse(const char *spec, struct xl_vif *v, char *err, size_t errlen, char **warnings)
{
	size_t len = 0;
	FILE *warn = open_memstream(warnings, &len);
	int rc = xl_vif_parse(spec, "t.cfg:3: vif 0: ", 0, v, warn, err, errlen);

	fclose(warn);
	return rc;
}

struct spec_case {
	const char *name, *spec, *parsed, *warnings;
};

static const struct spec_case spec_cases[] = {
	{ "empty spec: every default later", "",
	  "mac=- bridge=- script=- ip=- vifname=- rate=-", "" },
	{ "mac", "mac=00:16:3e:01:02:03", "mac=00:16:3e:01:02:03 bridge=- script=- ip=- vifname=- rate=-", "" },
	{ "mac in capitals is kept in lower case", "mac=00:16:3E:AB:CD:EF",
	  "mac=00:16:3e:ab:cd:ef bridge=- script=- ip=- vifname=- rate=-", "" },
	{ "locally administered mac", "mac=02:00:00:00:00:01",
	  "mac=02:00:00:00:00:01 bridge=- script=- ip=- vifname=- rate=-", "" },
	{ "bridge", "bridge=br-lan", "mac=- bridge=br-lan script=- ip=- vifname=- rate=-", "" },
	{ "script by name", "script=vif-route", "mac=- bridge=- script=vif-route ip=- vifname=- rate=-", "" },
	{ "ip with prefix", "ip=10.0.0.2/24", "mac=- bridge=- script=- ip=10.0.0.2/24 vifname=- rate=-", "" },
	{ "ip without prefix", "ip=192.168.1.9", "mac=- bridge=- script=- ip=192.168.1.9 vifname=- rate=-", "" },
	{ "ipv6", "ip=fd00::2/64", "mac=- bridge=- script=- ip=fd00::2/64 vifname=- rate=-", "" },
	{ "vifname", "vifname=web0", "mac=- bridge=- script=- ip=- vifname=web0 rate=-", "" },
	{ "15-character vifname", "vifname=abcdefghijklmno",
	  "mac=- bridge=- script=- ip=- vifname=abcdefghijklmno rate=-", "" },
	{ "rate is kept and warned about", "rate=10Mb/s",
	  "mac=- bridge=- script=- ip=- vifname=- rate=10Mb/s",
	  "t.cfg:3: vif 0: warning: rate limiting is not implemented yet; rate=10Mb/s is ignored\n" },
	{ "rate with an interval", "rate=1MB/s@20ms",
	  "mac=- bridge=- script=- ip=- vifname=- rate=1MB/s@20ms",
	  "t.cfg:3: vif 0: warning: rate limiting is not implemented yet; rate=1MB/s@20ms is ignored\n" },
	{ "model, type and backend 0 are accepted", "model=e1000,type=vif,backend=0",
	  "mac=- bridge=- script=- ip=- vifname=- rate=-", "" },
	{ "backend Domain-0", "backend=Domain-0", "mac=- bridge=- script=- ip=- vifname=- rate=-", "" },
	{ "unknown key warned", "bridge=b,colour=blue",
	  "mac=- bridge=b script=- ip=- vifname=- rate=-",
	  "t.cfg:3: vif 0: warning: unknown key 'colour' (ignored)\n" },
	{ "blanks and empty items", " bridge=b , ,ip=10.0.0.2 ,",
	  "mac=- bridge=b script=- ip=10.0.0.2 vifname=- rate=-", "" },
	{ "a later key wins", "bridge=a,bridge=b", "mac=- bridge=b script=- ip=- vifname=- rate=-", "" },
	{ "all keys", "mac=00:16:3e:7f:00:01,bridge=xenbr1,script=/etc/xen/scripts/vif-bridge,"
	  "ip=10.1.2.3/8,vifname=dmz,model=rtl8139",
	  "mac=00:16:3e:7f:00:01 bridge=xenbr1 script=/etc/xen/scripts/vif-bridge ip=10.1.2.3/8 "
	  "vifname=dmz rate=-", "" },
};

static void test_spec(struct unit *u, const void *arg)
{
	const struct spec_case *c = arg;
	struct xl_vif v;
	char err[512] = "", *warnings = NULL;
	int rc = parse(c->spec, &v, err, sizeof(err), &warnings);

	CHECK(rc == 0, "xl_vif_parse: %s", err);
	if (rc == 0) {
		char *d = describe(&v);

		CHECK_STR(d, c->parsed);
		CHECK_INT(v.devid, 0);
		free(d);
	}
	CHECK_STR(warnings, c->warnings);
	free(warnings);
	xl_vif_free(&v);
	xl_vif_free(&v);   /* twice is harmless */
}

struct bad_spec {
	const char *name, *spec, *error;
};

static const struct bad_spec bad_specs[] = {
	{ "mac too short", "mac=00:16:3e:01:02",
	  "t.cfg:3: vif 0: invalid mac '00:16:3e:01:02' (expected six hex pairs like 00:16:3e:01:02:03)" },
	{ "mac too long", "mac=00:16:3e:01:02:03:04",
	  "t.cfg:3: vif 0: invalid mac '00:16:3e:01:02:03:04' (expected six hex pairs like 00:16:3e:01:02:03)" },
	{ "mac single digits", "mac=0:16:3e:1:2:3",
	  "t.cfg:3: vif 0: invalid mac '0:16:3e:1:2:3' (expected six hex pairs like 00:16:3e:01:02:03)" },
	{ "mac not hex", "mac=00:16:3e:0g:02:03",
	  "t.cfg:3: vif 0: invalid mac '00:16:3e:0g:02:03' (expected six hex pairs like 00:16:3e:01:02:03)" },
	{ "mac with dashes", "mac=00-16-3e-01-02-03",
	  "t.cfg:3: vif 0: invalid mac '00-16-3e-01-02-03' (expected six hex pairs like 00:16:3e:01:02:03)" },
	{ "mac empty", "mac=",
	  "t.cfg:3: vif 0: invalid mac '' (expected six hex pairs like 00:16:3e:01:02:03)" },
	{ "multicast mac", "mac=01:00:5e:00:00:01",
	  "t.cfg:3: vif 0: mac '01:00:5e:00:00:01' is a multicast address (the low bit of its first byte is set)" },
	{ "broadcast mac", "mac=ff:ff:ff:ff:ff:ff",
	  "t.cfg:3: vif 0: mac 'ff:ff:ff:ff:ff:ff' is a multicast address (the low bit of its first byte is set)" },
	{ "ip not an address", "ip=10.0.0",
	  "t.cfg:3: vif 0: invalid ip '10.0.0' (expected one address like 10.0.0.2 or 10.0.0.2/24)" },
	{ "ip octet too large", "ip=10.0.0.256",
	  "t.cfg:3: vif 0: invalid ip '10.0.0.256' (expected one address like 10.0.0.2 or 10.0.0.2/24)" },
	{ "ip prefix too large", "ip=10.0.0.2/33",
	  "t.cfg:3: vif 0: invalid ip '10.0.0.2/33' (expected one address like 10.0.0.2 or 10.0.0.2/24)" },
	{ "ip empty prefix", "ip=10.0.0.2/",
	  "t.cfg:3: vif 0: invalid ip '10.0.0.2/' (expected one address like 10.0.0.2 or 10.0.0.2/24)" },
	{ "ip a name", "ip=guest.example",
	  "t.cfg:3: vif 0: invalid ip 'guest.example' (expected one address like 10.0.0.2 or 10.0.0.2/24)" },
	{ "two ips", "ip=10.0.0.2 10.0.0.3",
	  "t.cfg:3: vif 0: invalid ip '10.0.0.2 10.0.0.3' (expected one address like 10.0.0.2 or 10.0.0.2/24)" },
	{ "ip empty", "ip=",
	  "t.cfg:3: vif 0: invalid ip '' (expected one address like 10.0.0.2 or 10.0.0.2/24)" },
	{ "driver domain by id", "backend=1",
	  "t.cfg:3: vif 0: backend '1': driver domains are not supported yet" },
	{ "driver domain by name", "backend=netvm",
	  "t.cfg:3: vif 0: backend 'netvm': driver domains are not supported yet" },
	{ "bridge with /", "bridge=../x",
	  "t.cfg:3: vif 0: invalid bridge '../x': it contains '/', ':' or '='" },
	{ "bridge empty", "bridge=", "t.cfg:3: vif 0: invalid bridge '': it is empty" },
	{ "bridge too long", "bridge=abcdefghijklmnop",
	  "t.cfg:3: vif 0: invalid bridge 'abcdefghijklmnop': it is longer than 15 characters" },
	{ "vifname with a space", "vifname=a b",
	  "t.cfg:3: vif 0: invalid vifname 'a b': it contains whitespace or a control character" },
	{ "vifname ..", "vifname=..", "t.cfg:3: vif 0: invalid vifname '..': it is '.' or '..'" },
	{ "script empty", "script=", "t.cfg:3: vif 0: 'script' must not be empty" },
	{ "bad rate unit", "rate=10Mbit/s",
	  "t.cfg:3: vif 0: invalid rate '10Mbit/s' (expected RATE/s or RATE/s@INTERVAL, like 10Mb/s or 1MB/s@20ms)" },
	{ "rate without /s", "rate=10Mb",
	  "t.cfg:3: vif 0: invalid rate '10Mb' (expected RATE/s or RATE/s@INTERVAL, like 10Mb/s or 1MB/s@20ms)" },
	{ "rate bad interval", "rate=10Mb/s@20h",
	  "t.cfg:3: vif 0: invalid rate '10Mb/s@20h' (expected RATE/s or RATE/s@INTERVAL, like 10Mb/s or 1MB/s@20ms)" },
	{ "not key=value", "bridge=b,xenbr0", "t.cfg:3: vif 0: 'xenbr0' is not key=value" },
};

static void test_bad_spec(struct unit *u, const void *arg)
{
	const struct bad_spec *c = arg;
	struct xl_vif v;
	char err[512] = "", *warnings = NULL;

	CHECK(parse(c->spec, &v, err, sizeof(err), &warnings) == -1, "xl_vif_parse accepted '%s'",
	      c->spec);
	CHECK_STR(err, c->error);
	CHECK(!v.bridge && !v.script && !v.ip && !v.vifname && !v.rate && !v.where,
	      "vif not left empty");
	free(warnings);
	xl_vif_free(&v);
}

/* ---- vif = [ ... ] in a cfg ------------------------------------------------------------------ */

static int convert(const char *text, const char *override, struct domain_config *dc, char *err,
		   size_t errlen, char **warnings)
{
	struct xl_cfg cfg;
	size_t len = 0;
	FILE *warn;
	int rc;

	*warnings = NULL;
	if (xl_cfg_parse_string(text, "t.cfg", &cfg, err, errlen) < 0)
		return -2;
	if (override && xl_cfg_apply_override(&cfg, override, err, errlen) < 0) {
		xl_cfg_free(&cfg);
		return -2;
	}
	warn = open_memstream(warnings, &len);
	rc = domain_config_from_cfg(&cfg, dc, warn, err, errlen);
	fclose(warn);
	xl_cfg_free(&cfg);
	return rc;
}

#define BASE "name = 'd'\nkernel = 'k'\n"

static void test_cfg_vifs(struct unit *u, const void *arg)
{
	struct domain_config dc;
	char err[512] = "", *warnings, *d0 = NULL, *d1 = NULL;
	int rc = convert(BASE "vif = [ 'bridge=xenbr0,ip=10.0.0.2/24',\n"
			 "        'script=vif-route,mac=00:16:3e:00:00:01,rate=1Mb/s' ]\n",
			 NULL, &dc, err, sizeof(err), &warnings);

	(void)arg;
	CHECK(rc == 0, "convert: %s", err);
	CHECK_INT(dc.n_vifs, 2);
	if (dc.n_vifs == 2) {
		d0 = describe(&dc.vifs[0]);
		d1 = describe(&dc.vifs[1]);
		CHECK_STR(d0, "mac=- bridge=xenbr0 script=- ip=10.0.0.2/24 vifname=- rate=-");
		CHECK_STR(d1, "mac=00:16:3e:00:00:01 bridge=- script=vif-route ip=- vifname=- rate=1Mb/s");
		CHECK_INT(dc.vifs[0].devid, 0);
		CHECK_INT(dc.vifs[1].devid, 1);
	}
	CHECK_STR(warnings, "t.cfg:4: vif 1: warning: rate limiting is not implemented yet; "
		  "rate=1Mb/s is ignored\n");
	free(d0);
	free(d1);
	free(warnings);
	domain_config_free(&dc);
}

struct cfg_case {
	const char *name, *text, *override;
	size_t n_vifs;
	const char *error, *warnings;   /* error NULL: converts */
};

static const struct cfg_case cfg_cases[] = {
	{ "no vif key", BASE, NULL, 0, NULL, "" },
	{ "empty list", BASE "vif = []\n", NULL, 0, NULL, "" },
	{ "one empty spec is one default vif", BASE "vif = [ '' ]\n", NULL, 1, NULL, "" },
	{ "vif from the command line", BASE, "vif=['bridge=b']", 1, NULL, "" },
	{ "appended vif", BASE "vif = [ 'bridge=a' ]\n", "vif+=['bridge=b']", 2, NULL, "" },
	{ "unknown key in the second vif", BASE "vif = [ 'bridge=a',\n 'foo=1' ]\n", NULL, 2, NULL,
	  "t.cfg:4: vif 1: warning: unknown key 'foo' (ignored)\n" },
	{ "vif not a list", BASE "vif = 'bridge=xenbr0'\n", NULL, 0,
	  "t.cfg:3: 'vif' must be a list, like vif = [ 'bridge=xenbr0' ]", "" },
	{ "vif item a number", BASE "vif = [ 'bridge=a', 5 ]\n", NULL, 0,
	  "t.cfg:3: vif 1: 'vif' items must be strings", "" },
	{ "bad mac on its own line", BASE "vif = [\n 'bridge=a',\n 'mac=zz' ]\n", NULL, 0,
	  "t.cfg:5: vif 1: invalid mac 'zz' (expected six hex pairs like 00:16:3e:01:02:03)", "" },
	{ "duplicate macs", BASE "vif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3E:00:00:01' ]\n",
	  NULL, 0, "t.cfg:3: vif 1: duplicate mac 00:16:3e:00:00:01 (vif 0 has it too)", "" },
	{ "duplicate vifnames", BASE "vif = [ 'vifname=a', 'bridge=b', 'vifname=a' ]\n", NULL, 0,
	  "t.cfg:3: vif 2: duplicate vifname 'a' (vif 0 has it too)", "" },
	{ "driver domain", BASE "vif = [ 'backend=2' ]\n", NULL, 0,
	  "t.cfg:3: vif 0: backend '2': driver domains are not supported yet", "" },
	{ "bad ip from the command line", BASE, "vif=['ip=1.2.3.4/99']", 0,
	  "command line: vif 0: invalid ip '1.2.3.4/99' (expected one address like 10.0.0.2 or 10.0.0.2/24)", "" },
};

static void test_cfg(struct unit *u, const void *arg)
{
	const struct cfg_case *c = arg;
	struct domain_config dc;
	char err[512] = "", *warnings;
	int rc = convert(c->text, c->override, &dc, err, sizeof(err), &warnings);

	if (c->error) {
		CHECK(rc == -1, "convert returned %d", rc);
		CHECK_STR(err, c->error);
		CHECK(!dc.vifs && !dc.n_vifs && !dc.name, "dc not left empty");
	} else {
		CHECK(rc == 0, "convert returned %d: %s", rc, err);
		CHECK_INT(dc.n_vifs, c->n_vifs);
		for (size_t i = 0; i < dc.n_vifs; i++)
			CHECK_INT(dc.vifs[i].devid, i);
	}
	CHECK_STR(warnings, c->warnings);
	free(warnings);
	domain_config_free(&dc);
}

/* ---- defaults ------------------------------------------------------------------------------- */

struct mac_case {
	unsigned char random[3];
	const char *mac;
};

static const struct mac_case mac_cases[] = {
	{ { 0x00, 0x00, 0x00 }, "00:16:3e:00:00:00" },
	{ { 0x7f, 0xff, 0xff }, "00:16:3e:7f:ff:ff" },
	{ { 0x80, 0x12, 0x34 }, "00:16:3e:00:12:34" },
	{ { 0xff, 0xab, 0xcd }, "00:16:3e:7f:ab:cd" },
	{ { 0xa5, 0x5a, 0x01 }, "00:16:3e:25:5a:01" },
};

static void test_mac_rule(struct unit *u, const void *arg)
{
	const struct mac_case *c = arg;
	unsigned char mac[6];
	char text[VIF_MAC_TEXT];

	xl_vif_mac_from_random(c->random, mac);
	xl_vif_mac_format(mac, text);
	CHECK_STR(text, c->mac);
}

/* A temporary scripts directory with an executable vif-bridge and vif-route, and a plain file. */
struct scripts_dir {
	char path[64];
};

static int put_file(const char *dir, const char *name, mode_t mode)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	return chmod(path, mode);
}

static int scripts_dir_make(struct scripts_dir *s)
{
	snprintf(s->path, sizeof(s->path), "/tmp/xenith-vif-test.XXXXXX");
	if (!mkdtemp(s->path))
		return -1;
	if (put_file(s->path, "vif-bridge", 0755) || put_file(s->path, "vif-route", 0755) ||
	    put_file(s->path, "vif-plain", 0644))
		return -1;
	setenv("XENITH_SCRIPTS", s->path, 1);
	return 0;
}

static void scripts_dir_remove(struct scripts_dir *s)
{
	char path[PATH_MAX];
	static const char *const names[] = { "vif-bridge", "vif-route", "vif-plain" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->path, names[i]);
		unlink(path);
	}
	rmdir(s->path);
	unsetenv("XENITH_SCRIPTS");
}

static void test_random_macs(struct unit *u, const void *arg)
{
	struct scripts_dir s;
	unsigned char taken[200][6];

	(void)arg;
	CHECK(scripts_dir_make(&s) == 0, "cannot make a scripts directory");
	/* Each a fresh random MAC under libxl's rule, none equal to an earlier one. */
	for (size_t i = 0; i < 200; i++) {
		struct xl_vif v;
		char err[512] = "";

		CHECK(xl_vif_parse("", "", (int)i, &v, NULL, err, sizeof(err)) == 0, "parse: %s", err);
		CHECK(xl_vif_resolve_defaults(&v, (const unsigned char (*)[6])taken, i, err,
					   sizeof(err)) == 0, "resolve: %s", err);
		CHECK(v.mac_set, "no mac set");
		CHECK(v.mac[0] == 0x00 && v.mac[1] == 0x16 && v.mac[2] == 0x3e,
		      "mac %02x:%02x:%02x is not Xen's OUI", v.mac[0], v.mac[1], v.mac[2]);
		CHECK(v.mac[3] < 0x80, "4th byte %02x is not below 0x80", v.mac[3]);
		for (size_t j = 0; j < i; j++)
			CHECK(memcmp(taken[j], v.mac, 6), "mac of vif %zu repeats vif %zu's", i, j);
		memcpy(taken[i], v.mac, 6);
		xl_vif_free(&v);
		if (u->case_failures)
			break;
	}
	scripts_dir_remove(&s);
}

/* What xl_vif_resolve_defaults makes of a spec; "@" in `script` or `error` stands for the scripts
 * directory. */
struct resolve_case {
	const char *name, *spec, *bridge, *script, *error;
};

static const struct resolve_case resolve_cases[] = {
	{ "defaults", "", "xenbr0", "@/vif-bridge", NULL },
	{ "bridge given", "bridge=br1", "br1", "@/vif-bridge", NULL },
	{ "bare script name", "script=vif-route", "xenbr0", "@/vif-route", NULL },
	{ "absolute script path", "script=@/vif-route", "xenbr0", "@/vif-route", NULL },
	{ "missing script", "script=vif-nat", NULL, NULL,
	  "t.cfg:3: vif 0: script 'vif-nat' not found (looked in @, from XENITH_SCRIPTS)" },
	{ "missing absolute script", "script=/nonexistent/vif-bridge", NULL, NULL,
	  "t.cfg:3: vif 0: script '/nonexistent/vif-bridge' does not exist" },
	{ "script not executable", "script=vif-plain", NULL, NULL,
	  "t.cfg:3: vif 0: script '@/vif-plain' is not executable" },
	{ "a directory is no script", "script=.", NULL, NULL,
	  "t.cfg:3: vif 0: script '.' not found (looked in @, from XENITH_SCRIPTS)" },
};

/* `text` with each "@" replaced by dir, into a malloc'd string. */
static char *expand(const char *text, const char *dir)
{
	size_t len = 1;
	char *out, *o;

	for (const char *p = text; *p; p++)
		len += *p == '@' ? strlen(dir) : 1;
	out = o = malloc(len);
	if (!out)
		return NULL;
	for (const char *p = text; *p; p++) {
		if (*p == '@') {
			strcpy(o, dir);
			o += strlen(dir);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static void test_resolve(struct unit *u, const void *arg)
{
	const struct resolve_case *c = arg;
	struct scripts_dir s;
	struct xl_vif v;
	char err[1024] = "", *spec, *want;
	int rc;

	CHECK(scripts_dir_make(&s) == 0, "cannot make a scripts directory");
	spec = expand(c->spec, s.path);
	CHECK(xl_vif_parse(spec, "t.cfg:3: vif 0: ", 0, &v, NULL, err, sizeof(err)) == 0, "parse: %s",
	      err);
	rc = xl_vif_resolve_defaults(&v, NULL, 0, err, sizeof(err));
	if (c->error) {
		want = expand(c->error, s.path);
		CHECK(rc == -1, "resolved '%s'", c->spec);
		CHECK_STR(err, want);
	} else {
		want = expand(c->script, s.path);
		CHECK(rc == 0, "resolve: %s", err);
		CHECK_STR(v.bridge, c->bridge);
		CHECK_STR(v.script, want);
		CHECK(v.mac_set, "no mac");
	}
	free(want);
	free(spec);
	xl_vif_free(&v);
	scripts_dir_remove(&s);
}

/* A relative XENITH_SCRIPTS still gives the VMM an absolute path. */
static void test_relative_scripts_dir(struct unit *u, const void *arg)
{
	struct scripts_dir s;
	struct xl_vif v;
	char err[1024] = "", cwd[PATH_MAX], want[PATH_MAX + 64];

	(void)arg;
	CHECK(scripts_dir_make(&s) == 0, "cannot make a scripts directory");
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
	CHECK(chdir("/tmp") == 0, "chdir /tmp");
	setenv("XENITH_SCRIPTS", s.path + strlen("/tmp/"), 1);
	CHECK(xl_vif_parse("", "", 0, &v, NULL, err, sizeof(err)) == 0, "parse: %s", err);
	CHECK(xl_vif_resolve_defaults(&v, NULL, 0, err, sizeof(err)) == 0, "resolve: %s", err);
	snprintf(want, sizeof(want), "%s/vif-bridge", s.path);
	CHECK_STR(v.script, want);
	CHECK(chdir(cwd) == 0, "chdir back");
	xl_vif_free(&v);
	scripts_dir_remove(&s);
}

/* The cfg's vifs resolved together: given MACs stay, random ones avoid them. */
static void test_resolve_cfg(struct unit *u, const void *arg)
{
	struct scripts_dir s;
	struct domain_config dc;
	char err[1024] = "", *warnings, want[256];

	(void)arg;
	CHECK(scripts_dir_make(&s) == 0, "cannot make a scripts directory");
	CHECK(convert(BASE "vif = [ '', 'mac=00:16:3e:00:00:01', 'script=vif-route' ]\n", NULL, &dc,
		      err, sizeof(err), &warnings) == 0, "convert: %s", err);
	CHECK(domain_config_resolve_vifs(&dc, err, sizeof(err)) == 0, "resolve: %s", err);
	CHECK(dc.vifs[1].mac[5] == 1 && dc.vifs[1].mac[3] == 0, "given mac changed");
	CHECK(memcmp(dc.vifs[0].mac, dc.vifs[1].mac, 6) && memcmp(dc.vifs[2].mac, dc.vifs[1].mac, 6) &&
	      memcmp(dc.vifs[0].mac, dc.vifs[2].mac, 6), "macs repeat");
	snprintf(want, sizeof(want), "%s/vif-route", s.path);
	CHECK_STR(dc.vifs[2].script, want);
	free(warnings);
	domain_config_free(&dc);

	CHECK(convert(BASE "vif = [ '',\n 'script=vif-none' ]\n", NULL, &dc, err, sizeof(err),
		      &warnings) == 0, "convert: %s", err);
	CHECK(domain_config_resolve_vifs(&dc, err, sizeof(err)) == -1, "resolved a missing script");
	snprintf(want, sizeof(want), "t.cfg:4: vif 1: script 'vif-none' not found (looked in %s, "
		 "from XENITH_SCRIPTS)", s.path);
	CHECK_STR(err, want);
	free(warnings);
	domain_config_free(&dc);
	scripts_dir_remove(&s);
}

/* ---- the bridge check ----------------------------------------------------------------------- */

struct bridge_case {
	const char *name, *spec;
	int devid;
	const char *error;         /* NULL: passes */
};

static const struct bridge_case bridge_cases[] = {
	{ "default bridge present", "", 0, NULL },
	{ "named bridge present", "bridge=br1", 2, NULL },
	{ "bridge missing", "bridge=nobr", 3, "bridge 'nobr' does not exist (vif 3)" },
	{ "missing without devid yet", "bridge=nobr", -1, "bridge 'nobr' does not exist" },
	{ "a device that is no bridge", "bridge=eth0", 0, "bridge 'eth0' does not exist (vif 0)" },
	{ "vif-route needs no bridge", "bridge=nobr,script=vif-route", 0, NULL },
	{ "vif-bridge by path", "bridge=nobr,script=/x/vif-bridge", 1,
	  "bridge 'nobr' does not exist (vif 1)" },
};

static void test_bridge(struct unit *u, const void *arg)
{
	const struct bridge_case *c = arg;
	char root[] = "/tmp/xenith-sysnet.XXXXXX", path[PATH_MAX], err[256] = "";
	struct xl_vif v;
	int rc;

	CHECK(mkdtemp(root) != NULL, "mkdtemp");
	/* xenbr0 and br1 are bridges; eth0 a plain device. */
	static const char *const dirs[] = { "xenbr0", "xenbr0/bridge", "br1", "br1/bridge", "eth0" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		mkdir(path, 0755);
	}
	CHECK(xl_vif_parse(c->spec, "", c->devid, &v, NULL, err, sizeof(err)) == 0, "parse: %s", err);
	rc = xl_vif_check_bridge(&v, root, err, sizeof(err));
	if (c->error) {
		CHECK(rc == -1, "bridge check passed");
		CHECK_STR(err, c->error);
	} else {
		CHECK(rc == 0, "bridge check: %s", err);
	}
	xl_vif_free(&v);
	for (size_t i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		rmdir(path);
	}
	rmdir(root);
}

/* ---- what the VMM is given ------------------------------------------------------------------ */

struct format_case {
	const char *name, *spec;
	int devid;
	const char *text;
};

static const struct format_case format_cases[] = {
	{ "everything", "mac=00:16:3e:01:02:03,bridge=br1,script=/s/vif-bridge,ip=10.0.0.2/24,"
	  "vifname=web,rate=10Mb/s", 2,
	  "devid=2,mac=00:16:3e:01:02:03,bridge=br1,script=/s/vif-bridge,ip=10.0.0.2/24,"
	  "vifname=web,rate=10Mb/s" },
	{ "no ip, vifname or rate", "mac=00:16:3e:01:02:03,bridge=xenbr0,script=/s/vif-route", 0,
	  "devid=0,mac=00:16:3e:01:02:03,bridge=xenbr0,script=/s/vif-route" },
	{ "no devid: the VMM picks", "mac=00:16:3e:01:02:03,bridge=b,script=/s/vif-bridge", -1,
	  "mac=00:16:3e:01:02:03,bridge=b,script=/s/vif-bridge" },
};

static void test_format(struct unit *u, const void *arg)
{
	const struct format_case *c = arg;
	struct xl_vif v;
	char err[256] = "", *text;

	CHECK(xl_vif_parse(c->spec, "", c->devid, &v, NULL, err, sizeof(err)) == 0, "parse: %s", err);
	text = xl_vif_format_spec(&v);
	CHECK_STR(text, c->text);
	free(text);
	xl_vif_free(&v);
}

/* ---- vif-list ------------------------------------------------------------------------------- */

static void test_list_parse(struct unit *u, const void *arg)
{
	struct xl_vif_info *infos;
	char err[256] = "";
	size_t n;

	(void)arg;
	CHECK(xl_vif_list_parse("0 00:16:3E:11:22:33 4 5 8 9 vif1.0\n\n1 00:16:3e:aa:bb:cc 2 -1 -1 -1 web\n",
			     &infos, &n, err, sizeof(err)) == 0, "parse: %s", err);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(infos[0].devid, 0);
		CHECK_STR(infos[0].mac, "00:16:3e:11:22:33");
		CHECK_INT(infos[0].state, 4);
		CHECK_INT(infos[0].evtchn, 5);
		CHECK_INT(infos[0].tx_ring_ref, 8);
		CHECK_INT(infos[0].rx_ring_ref, 9);
		CHECK_STR(infos[0].vifname, "vif1.0");
		CHECK_INT(infos[1].devid, 1);
		CHECK_INT(infos[1].evtchn, -1);
		CHECK_STR(infos[1].vifname, "web");
	}
	free(infos);
	CHECK(xl_vif_list_parse("", &infos, &n, err, sizeof(err)) == 0 && n == 0 && !infos,
	      "an empty list is no vifs");
}

struct bad_list {
	const char *name, *text, *error;
};

static const struct bad_list bad_lists[] = {
	{ "too few fields", "0 00:16:3e:11:22:33 4 5 8 9\n",
	  "unexpected vif-list line '0 00:16:3e:11:22:33 4 5 8 9' (expected: devid mac state evtchn "
	  "tx-ring-ref rx-ring-ref vifname)" },
	{ "bad mac", "0 00:16:3e:11:22 4 5 8 9 vif1.0",
	  "unexpected vif-list line '0 00:16:3e:11:22 4 5 8 9 vif1.0' (expected: devid mac state "
	  "evtchn tx-ring-ref rx-ring-ref vifname)" },
	{ "negative devid", "-1 00:16:3e:11:22:33 4 5 8 9 vif1.0",
	  "unexpected vif-list line '-1 00:16:3e:11:22:33 4 5 8 9 vif1.0' (expected: devid mac "
	  "state evtchn tx-ring-ref rx-ring-ref vifname)" },
};

static void test_bad_list(struct unit *u, const void *arg)
{
	const struct bad_list *c = arg;
	struct xl_vif_info *infos;
	char err[512] = "";
	size_t n;

	CHECK(xl_vif_list_parse(c->text, &infos, &n, err, sizeof(err)) == -1, "parsed");
	CHECK_STR(err, c->error);
	CHECK(!infos && n == 0, "out not left empty");
}

#define RUN_TABLE(u, prefix, table, fn)                                               \
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {                \
		snprintf(name, sizeof(name), "%s: %s", prefix, table[i].name);         \
		unit_case(u, name, fn, &table[i]);                                     \
	}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[160];

	RUN_TABLE(&u, "spec", spec_cases, test_spec);
	RUN_TABLE(&u, "bad spec", bad_specs, test_bad_spec);
	unit_case(&u, "cfg: two vifs with lines", test_cfg_vifs, NULL);
	RUN_TABLE(&u, "cfg", cfg_cases, test_cfg);
	for (size_t i = 0; i < sizeof(mac_cases) / sizeof(mac_cases[0]); i++) {
		snprintf(name, sizeof(name), "mac rule: %s", mac_cases[i].mac);
		unit_case(&u, name, test_mac_rule, &mac_cases[i]);
	}
	unit_case(&u, "random macs follow libxl's rule and differ", test_random_macs, NULL);
	RUN_TABLE(&u, "resolve", resolve_cases, test_resolve);
	unit_case(&u, "resolve: relative XENITH_SCRIPTS", test_relative_scripts_dir, NULL);
	unit_case(&u, "resolve: a cfg's vifs together", test_resolve_cfg, NULL);
	RUN_TABLE(&u, "bridge", bridge_cases, test_bridge);
	RUN_TABLE(&u, "format", format_cases, test_format);
	unit_case(&u, "vif-list lines", test_list_parse, NULL);
	RUN_TABLE(&u, "bad vif-list", bad_lists, test_bad_list);
	return unit_finish(&u);
}
