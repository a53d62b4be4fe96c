/* domain_config_from_cfg: defaults, conversions, xl's rules, errors and warnings, table-driven. */
#define _GNU_SOURCE /* asprintf */
#include "xl/domain_config.h"
#include "unit.h"

#include <stdlib.h>

/* Parses text (plus optional command-line overrides) and converts it; the warnings written go
 * into *warnings (malloc'd). Returns domain_config_from_cfg's result, or -2 if the cfg itself did
 * not parse. */
static int convert(const char *text, const char *const *overrides, struct domain_config *dc,
		   char *err, size_t errlen, char **warnings)
{
	struct xl_cfg cfg;
	size_t len = 0;
	*warnings = NULL;
	if (xl_cfg_parse_string(text, "t.cfg", &cfg, err, errlen) < 0)
		return -2;
	for (const char *const *o = overrides; o && *o; o++) {
		if (xl_cfg_apply_override(&cfg, *o, err, errlen) < 0) {
			xl_cfg_free(&cfg);
			return -2;
		}
	}
	FILE *warn = open_memstream(warnings, &len);
	int rc = domain_config_from_cfg(&cfg, dc, warn, err, errlen);
	fclose(warn);
	xl_cfg_free(&cfg);
	return rc;
}

static void test_defaults(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[256] = "", *warnings;
	int rc = convert("name = 'd'\nkernel = 'vmlinuz'\n", NULL, &dc, err, sizeof(err), &warnings);
	CHECK(rc == 0, "convert: %s", err);
	CHECK_STR(dc.name, "d");
	CHECK_INT(dc.type, DOMAIN_TYPE_PV);
	CHECK_STR(dc.kernel, "vmlinuz");
	CHECK(dc.ramdisk == NULL, "ramdisk is %s", dc.ramdisk);
	CHECK_STR(dc.cmdline, "");
	CHECK_INT(dc.memory_mb, 128);
	CHECK_INT(dc.maxmem_mb, 128);
	CHECK_INT(dc.vcpus, 1);
	CHECK_INT(dc.max_vcpus, 1);
	CHECK_INT(dc.on_poweroff, ACTION_DESTROY);
	CHECK_INT(dc.on_reboot, ACTION_RESTART);
	CHECK_INT(dc.on_crash, ACTION_DESTROY);
	CHECK(!dc.has_uuid, "a uuid without uuid=");
	CHECK_INT(dc.n_vifs, 0);
	CHECK(dc.vifs == NULL, "vifs without a vif key");
	CHECK_STR(warnings, "");
	free(warnings);
	domain_config_free(&dc);
	domain_config_free(&dc); /* freeing twice is harmless */
}

static void test_full(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[256] = "", *warnings;
	const char *text =
		"# a full config\n"
		"name = \"guest-1.example_x\"\n"
		"type = \"pvh\"\n"
		"kernel = \"/boot/vmlinuz\"\n"
		"ramdisk = \"initrd.img\"\n"
		"cmdline = \"console=hvc0 quiet\"\n"
		"memory = 512; maxmem = 0x400\n"
		"vcpus = 2\nmaxvcpus = 4\n"
		"on_poweroff = 'preserve'\non_reboot = 'rename-restart'\non_crash = 'coredump-restart'\n"
		"uuid = '6b1e7c5e-0000-4000-8000-000000000001'\n"
		"vif = [ 'bridge=xenbr0' ]\ndisk = [ 'file:/tmp/d.img,xvda,w' ]\n"
		"serial = 'pty'\nboot = 'c'\ndevice_model_version = 'qemu-xen'\n";
	int rc = convert(text, NULL, &dc, err, sizeof(err), &warnings);
	CHECK(rc == 0, "convert: %s", err);
	CHECK_STR(dc.name, "guest-1.example_x");
	CHECK_INT(dc.type, DOMAIN_TYPE_PVH);
	CHECK_STR(dc.kernel, "/boot/vmlinuz");
	CHECK_STR(dc.ramdisk, "initrd.img");
	CHECK_STR(dc.cmdline, "console=hvc0 quiet");
	CHECK_INT(dc.memory_mb, 512);
	CHECK_INT(dc.maxmem_mb, 1024);
	CHECK_INT(dc.vcpus, 2);
	CHECK_INT(dc.max_vcpus, 4);
	CHECK_INT(dc.on_poweroff, ACTION_PRESERVE);
	CHECK_INT(dc.on_reboot, ACTION_RENAME_RESTART);
	CHECK_INT(dc.on_crash, ACTION_COREDUMP_RESTART);
	static const uint8_t uuid[16] = { 0x6b, 0x1e, 0x7c, 0x5e, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0,
					  0, 1 };
	CHECK(dc.has_uuid && !memcmp(dc.uuid, uuid, 16), "uuid not read");
	/* vif is read (tests/unit/test_vif_config.c has the details); defaults come later. */
	CHECK_INT(dc.n_vifs, 1);
	if (dc.n_vifs == 1) {
		CHECK_STR(dc.vifs[0].bridge, "xenbr0");
		CHECK(!dc.vifs[0].mac_set && !dc.vifs[0].script, "defaults resolved by the parse");
	}
	CHECK_STR(warnings, ""); /* accepted-but-unused keys are not warned about */
	free(warnings);
	domain_config_free(&dc);
}

/* One field of the result, checked as text so the table stays flat. */
enum field { F_TYPE, F_CMDLINE, F_MEMORY, F_MAXMEM, F_VCPUS, F_MAXVCPUS, F_ON_POWEROFF,
	     F_ON_REBOOT, F_ON_CRASH, F_NAME, F_KERNEL };

static char *field_text(const struct domain_config *dc, enum field f)
{
	char *s = NULL;
	switch (f) {
	case F_TYPE: s = strdup(domain_type_name(dc->type)); break;
	case F_CMDLINE: s = strdup(dc->cmdline); break;
	case F_NAME: s = strdup(dc->name); break;
	case F_KERNEL: s = strdup(dc->kernel ? dc->kernel : "(none)"); break;
	case F_MEMORY: if (asprintf(&s, "%lu", dc->memory_mb) < 0) s = NULL; break;
	case F_MAXMEM: if (asprintf(&s, "%lu", dc->maxmem_mb) < 0) s = NULL; break;
	case F_VCPUS: if (asprintf(&s, "%u", dc->vcpus) < 0) s = NULL; break;
	case F_MAXVCPUS: if (asprintf(&s, "%u", dc->max_vcpus) < 0) s = NULL; break;
	case F_ON_POWEROFF: s = strdup(domain_action_name(dc->on_poweroff)); break;
	case F_ON_REBOOT: s = strdup(domain_action_name(dc->on_reboot)); break;
	case F_ON_CRASH: s = strdup(domain_action_name(dc->on_crash)); break;
	}
	return s;
}

struct good_case {
	const char *name, *text;
	const char *overrides[3];
	enum field field;
	const char *value;
	const char *warnings; /* exact text of what was warned */
};

#define BASE "name = 'd'\nkernel = 'k'\n"

static const struct good_case good_cases[] = {
	{ "type pv", BASE "type = 'pv'\n", {0}, F_TYPE, "pv", "" },
	{ "type pvh", BASE "type = 'pvh'\n", {0}, F_TYPE, "pvh", "" },
	{ "type hvm", "name = 'd'\ntype = 'hvm'\n", {0}, F_TYPE, "hvm", "" },
	{ "hvm needs no kernel", "name = 'h'\ntype = 'hvm'\n", {0}, F_KERNEL, "(none)", "" },
	{ "builder generic is pv", BASE "builder = 'generic'\n", {0}, F_TYPE, "pv",
	  "t.cfg:3: warning: 'builder' is deprecated, use 'type' instead\n" },
	{ "builder hvm is hvm", "name = 'h'\nbuilder = 'hvm'\n", {0}, F_TYPE, "hvm",
	  "t.cfg:2: warning: 'builder' is deprecated, use 'type' instead\n" },
	{ "type wins over builder", BASE "builder = 'hvm'\ntype = 'pvh'\n", {0}, F_TYPE, "pvh",
	  "t.cfg:3: warning: both 'type' and 'builder' given; only 'type' is used\n" },
	{ "root only", BASE "root = '/dev/xvda1'\n", {0}, F_CMDLINE, "root=/dev/xvda1", "" },
	{ "extra only", BASE "extra = 'console=hvc0'\n", {0}, F_CMDLINE, "console=hvc0", "" },
	{ "root and extra joined", BASE "extra = 'console=hvc0 ro'\nroot = '/dev/xvda1'\n", {0},
	  F_CMDLINE, "root=/dev/xvda1 console=hvc0 ro", "" },
	{ "cmdline only", BASE "cmdline = 'a b'\n", {0}, F_CMDLINE, "a b", "" },
	{ "cmdline wins over root", BASE "root = '/dev/x'\ncmdline = 'a'\n", {0}, F_CMDLINE, "a",
	  "t.cfg:3: warning: ignoring 'root' and 'extra' in favour of 'cmdline'\n" },
	{ "cmdline wins over extra", BASE "cmdline = 'a'\nextra = 'e'\n", {0}, F_CMDLINE, "a",
	  "t.cfg:4: warning: ignoring 'root' and 'extra' in favour of 'cmdline'\n" },
	{ "empty cmdline", BASE "cmdline = ''\n", {0}, F_CMDLINE, "", "" },
	{ "memory", BASE "memory = 2048\n", {0}, F_MEMORY, "2048", "" },
	{ "memory in hex", BASE "memory = 0x200\n", {0}, F_MEMORY, "512", "" },
	{ "memory as a quoted number (xl takes it)", BASE "memory = '256'\n", {0}, F_MEMORY, "256", "" },
	{ "maxmem defaults to memory", BASE "memory = 300\n", {0}, F_MAXMEM, "300", "" },
	{ "maxmem equal to memory", BASE "memory = 300\nmaxmem = 300\n", {0}, F_MAXMEM, "300", "" },
	{ "vcpus", BASE "vcpus = 8\n", {0}, F_VCPUS, "8", "" },
	{ "maxvcpus defaults to vcpus", BASE "vcpus = 3\n", {0}, F_MAXVCPUS, "3", "" },
	{ "maxvcpus", BASE "vcpus = 3\nmaxvcpus = 16\n", {0}, F_MAXVCPUS, "16", "" },
	{ "on_poweroff restart", BASE "on_poweroff = 'restart'\n", {0}, F_ON_POWEROFF, "restart", "" },
	{ "on_reboot destroy", BASE "on_reboot = 'destroy'\n", {0}, F_ON_REBOOT, "destroy", "" },
	{ "on_crash preserve", BASE "on_crash = 'preserve'\n", {0}, F_ON_CRASH, "preserve", "" },
	{ "on_crash rename-restart", BASE "on_crash = 'rename-restart'\n", {0}, F_ON_CRASH,
	  "rename-restart", "" },
	{ "on_crash coredump-destroy", BASE "on_crash = 'coredump-destroy'\n", {0}, F_ON_CRASH,
	  "coredump-destroy", "" },
	{ "on_crash coredump-restart", BASE "on_crash = 'coredump-restart'\n", {0}, F_ON_CRASH,
	  "coredump-restart", "" },
	{ "64-byte name", "kernel = 'k'\nname = 'x123456789012345678901234567890123456789012345678901234567890123'\n",
	  {0}, F_NAME, "x123456789012345678901234567890123456789012345678901234567890123", "" },
	{ "name with digits and letters", "kernel = 'k'\nname = '123abc'\n", {0}, F_NAME, "123abc", "" },
	{ "unknown key warned", BASE "\nfoo = 1\n", {0}, F_NAME, "d",
	  "t.cfg:4: warning: unknown key 'foo' (ignored)\n" },
	{ "unknown keys warned in order", "bar = [1]\n" BASE "baz = 'x'\n", {0}, F_NAME, "d",
	  "t.cfg:1: warning: unknown key 'bar' (ignored)\nt.cfg:4: warning: unknown key 'baz' (ignored)\n" },
	{ "override memory", BASE "memory = 128\n", { "memory=512" }, F_MEMORY, "512", "" },
	{ "override bare name", BASE, { "name=other" }, F_NAME, "other", "" },
	{ "override adds extra", BASE "root = '/dev/xvda'\n", { "extra=console=hvc0 ro" },
	  F_CMDLINE, "root=/dev/xvda console=hvc0 ro", "" },
	{ "override of unknown key warned", BASE, { "bogus=1" }, F_NAME, "d",
	  "command line: warning: unknown key 'bogus' (ignored)\n" },
	{ "overrides supply name and kernel", "", { "name=n", "kernel=/k" }, F_KERNEL, "/k", "" },
};

static void test_good(struct unit *u, const void *arg)
{
	const struct good_case *c = arg;
	struct domain_config dc;
	char err[256] = "", *warnings;
	int rc = convert(c->text, c->overrides, &dc, err, sizeof(err), &warnings);
	CHECK(rc == 0, "convert returned %d: %s", rc, err);
	if (rc == 0) {
		char *value = field_text(&dc, c->field);
		CHECK_STR(value, c->value);
		free(value);
	}
	CHECK_STR(warnings, c->warnings);
	free(warnings);
	domain_config_free(&dc);
}

struct bad_case {
	const char *name, *text;
	const char *overrides[2];
	const char *error;
};

static const struct bad_case bad_cases[] = {
	{ "no name", "kernel = 'k'\n", {0}, "t.cfg: 'name' is required" },
	{ "name a number", "name = 5\nkernel = 'k'\n", {0}, "t.cfg:1: 'name' must be a string" },
	{ "name a list", "name = ['a']\n", {0}, "t.cfg:1: 'name' must be a string" },
	{ "empty name", "name = ''\n", {0}, "t.cfg:1: invalid domain name '': it is empty" },
	{ "name with /", "name = 'a/b'\n", {0}, "t.cfg:1: invalid domain name 'a/b': it contains '/'" },
	{ "name with :", "name = 'a:b'\n", {0}, "t.cfg:1: invalid domain name 'a:b': it contains ':'" },
	{ "name with space", "name = 'a b'\n", {0},
	  "t.cfg:1: invalid domain name 'a b': it contains whitespace" },
	{ "name with tab", "name = 'a\\tb'\n", {0},
	  "t.cfg:1: invalid domain name 'a\\x09b': it contains whitespace" },
	{ "name with control char", "name = 'a\\ab'\n", {0},
	  "t.cfg:1: invalid domain name 'a\\x07b': it contains a control character" },
	{ "name with DEL", "name = 'a\x7f'\n", {0},
	  "t.cfg:1: invalid domain name 'a\\x7f': it contains a control character" },
	{ "all-digit name", "name = '123'\n", {0},
	  "t.cfg:1: invalid domain name '123': it is all digits, which xl would take for a domain id" },
	{ "name ..", "name = '..'\n", {0}, "t.cfg:1: invalid domain name '..': it is '.' or '..'" },
	{ "65-byte name", "name = '01234567890123456789012345678901234567890123456789012345678901234'\n", {0},
	  "t.cfg:1: invalid domain name '01234567890123456789012345678901234567890123456789012345678901234': it is longer than 64 bytes" },
	{ "no kernel for pv", "name = 'd'\n", {0}, "t.cfg: 'kernel' is required for a pv domain" },
	{ "no kernel for pvh", "name = 'd'\ntype = 'pvh'\n", {0},
	  "t.cfg: 'kernel' is required for a pvh domain" },
	{ "empty kernel", "name = 'd'\nkernel = ''\n", {0}, "t.cfg:2: 'kernel' must not be empty" },
	{ "kernel a number", "name = 'd'\nkernel = 1\n", {0}, "t.cfg:2: 'kernel' must be a string" },
	{ "ramdisk a list", BASE "ramdisk = []\n", {0}, "t.cfg:3: 'ramdisk' must be a string" },
	{ "cmdline a list", BASE "cmdline = ['a']\n", {0}, "t.cfg:3: 'cmdline' must be a string" },
	{ "extra a number", BASE "extra = 1\n", {0}, "t.cfg:3: 'extra' must be a string" },
	{ "bad type", BASE "type = 'xen'\n", {0}, "t.cfg:3: invalid type 'xen' (valid: pvh, pv, hvm)" },
	{ "type a number", BASE "type = 1\n", {0}, "t.cfg:3: 'type' must be a string" },
	{ "type in capitals", BASE "type = 'PVH'\n", {0}, "t.cfg:3: invalid type 'PVH' (valid: pvh, pv, hvm)" },
	{ "bad builder", BASE "builder = 'linux'\n", {0},
	  "t.cfg:3: invalid builder 'linux' (valid: generic, hvm)" },
	{ "memory not a number", BASE "memory = \"abc\"\n", {0}, "t.cfg:3: 'memory' must be a number" },
	{ "memory a list", BASE "memory = [1]\n", {0}, "t.cfg:3: 'memory' must be a number" },
	{ "maxmem below memory", BASE "memory = 128\nmaxmem = 64\n", {0},
	  "t.cfg:4: maxmem (64) must not be less than memory (128)" },
	{ "maxmem below default memory", BASE "maxmem = 64\n", {0},
	  "t.cfg:3: maxmem (64) must not be less than memory (128)" },
	{ "maxmem not a number", BASE "maxmem = 'x'\n", {0}, "t.cfg:3: 'maxmem' must be a number" },
	{ "vcpus zero", BASE "vcpus = 0\n", {0}, "t.cfg:3: vcpus must be at least 1" },
	{ "vcpus a string", BASE "vcpus = 'two'\n", {0}, "t.cfg:3: 'vcpus' must be a number" },
	{ "maxvcpus below vcpus", BASE "vcpus = 4\nmaxvcpus = 2\n", {0},
	  "t.cfg:4: maxvcpus (2) must not be less than vcpus (4)" },
	{ "maxvcpus zero", BASE "maxvcpus = 0\n", {0}, "t.cfg:3: maxvcpus must be at least 1" },
	{ "bad on_crash", BASE "on_crash = 'explode'\n", {0},
	  "t.cfg:3: invalid on_crash action 'explode' (valid: destroy, restart, preserve, "
	  "rename-restart, coredump-destroy, coredump-restart)" },
	{ "on_reboot a number", BASE "on_reboot = 1\n", {0}, "t.cfg:3: 'on_reboot' must be a string" },
	{ "bad on_poweroff", BASE "on_poweroff = 'Destroy'\n", {0},
	  "t.cfg:3: invalid on_poweroff action 'Destroy' (valid: destroy, restart, preserve, "
	  "rename-restart, coredump-destroy, coredump-restart)" },
	{ "override memory not a number", BASE, { "memory=abc" },
	  "command line: 'memory' must be a number" },
	{ "override bad name", BASE, { "name=a/b" },
	  "command line: invalid domain name 'a/b': it contains '/'" },
	{ "override vcpus zero", BASE "vcpus = 2\n", { "vcpus=0" }, "command line: vcpus must be at least 1" },
	{ "uuid too short", BASE "uuid = '6b1e7c5e-0000-4000-8000-00000000001'\n", {0},
	  "t.cfg:3: invalid uuid '6b1e7c5e-0000-4000-8000-00000000001' (expected 36 characters "
	  "like 01234567-89ab-cdef-0123-456789abcdef)" },
	{ "uuid dash misplaced", BASE "uuid = '6b1e7c5e0-000-4000-8000-000000000001'\n", {0},
	  "t.cfg:3: invalid uuid '6b1e7c5e0-000-4000-8000-000000000001' (expected 36 characters "
	  "like 01234567-89ab-cdef-0123-456789abcdef)" },
	{ "uuid not hex", BASE "uuid = '6b1e7c5e-0000-4000-8000-00000000000g'\n", {0},
	  "t.cfg:3: invalid uuid '6b1e7c5e-0000-4000-8000-00000000000g' (expected 36 characters "
	  "like 01234567-89ab-cdef-0123-456789abcdef)" },
	{ "uuid a number", BASE "uuid = 5\n", {0}, "t.cfg:3: 'uuid' must be a string" },
	{ "vif a string", BASE "vif = 'bridge=xenbr0'\n", {0},
	  "t.cfg:3: 'vif' must be a list, like vif = [ 'bridge=xenbr0' ]" },
	{ "vif with a bad mac", BASE "vif = [ 'mac=00:16:3e:01:02' ]\n", {0},
	  "t.cfg:3: vif 0: invalid mac '00:16:3e:01:02' (expected six hex pairs like 00:16:3e:01:02:03)" },
	{ "vif on a driver domain", BASE "vif = [ 'bridge=b', 'backend=3' ]\n", {0},
	  "t.cfg:3: vif 1: backend '3': driver domains are not supported yet" },
};

static void test_bad(struct unit *u, const void *arg)
{
	const struct bad_case *c = arg;
	struct domain_config dc;
	char err[512] = "", *warnings;
	int rc = convert(c->text, c->overrides, &dc, err, sizeof(err), &warnings);
	CHECK(rc == -1, "convert returned %d (%s)", rc, err);
	CHECK_STR(err, c->error);
	CHECK(!dc.name && !dc.kernel && !dc.ramdisk && !dc.cmdline && !dc.vifs && !dc.n_vifs,
	      "dc not left empty");
	CHECK_STR(warnings, "");
	free(warnings);
	domain_config_free(&dc);
}

/* The limits are the VMM's (lib/domain_limits.h): each is taken at its edge and refused one past
 * it, with the entry's file:line, the key, the bound and its unit.  Expected texts are built from
 * the constants, so the cases follow the header. */
enum limit_field { L_VCPUS, L_MAXVCPUS, L_MEMORY, L_MAXMEM, L_VIFS, L_DISKS };

struct limit_case {
	const char *name;
	enum limit_field field;
	long long value;          /* a count for L_VIFS and L_DISKS */
	const char *value_text;   /* written as is instead of value, when set */
	bool ok;
};

static const struct limit_case limit_cases[] = {
	{ "vcpus at the maximum", L_VCPUS, DOMAIN_MAX_VCPUS, NULL, true },
	{ "vcpus one past the maximum", L_VCPUS, DOMAIN_MAX_VCPUS + 1, NULL, false },
	{ "vcpus far past (xl once took 4096)", L_VCPUS, 4096, NULL, false },
	{ "maxvcpus at the maximum", L_MAXVCPUS, DOMAIN_MAX_VCPUS, NULL, true },
	{ "maxvcpus one past the maximum", L_MAXVCPUS, DOMAIN_MAX_VCPUS + 1, NULL, false },
	{ "memory at the minimum", L_MEMORY, DOMAIN_MIN_MEMORY_MB, NULL, true },
	{ "memory one below the minimum", L_MEMORY, DOMAIN_MIN_MEMORY_MB - 1, NULL, false },
	{ "memory zero", L_MEMORY, 0, NULL, false },
	{ "memory negative", L_MEMORY, -5, "'-5'", false },
	{ "memory at the maximum", L_MEMORY, DOMAIN_MAX_MEMORY_MB, NULL, true },
	{ "memory one past the maximum", L_MEMORY, DOMAIN_MAX_MEMORY_MB + 1, NULL, false },
	{ "memory 2^43 MiB (xl once took it)", L_MEMORY, 1ll << 43, NULL, false },
	{ "memory beyond a 64-bit byte count", L_MEMORY, 0x7fffffffffffffffll, "0x7fffffffffffffff",
	  false },
	{ "maxmem at the maximum", L_MAXMEM, DOMAIN_MAX_MEMORY_MB, NULL, true },
	{ "maxmem one past the maximum", L_MAXMEM, DOMAIN_MAX_MEMORY_MB + 1, NULL, false },
	{ "vifs at the maximum", L_VIFS, DOMAIN_MAX_VIFS, NULL, true },
	{ "vifs one past the maximum", L_VIFS, DOMAIN_MAX_VIFS + 1, NULL, false },
	{ "disks at the maximum", L_DISKS, DOMAIN_MAX_DISKS, NULL, true },
	{ "disks one past the maximum", L_DISKS, DOMAIN_MAX_DISKS + 1, NULL, false },
};

static const char *const limit_keys[] = {
	[L_VCPUS] = "vcpus", [L_MAXVCPUS] = "maxvcpus", [L_MEMORY] = "memory", [L_MAXMEM] = "maxmem",
	[L_VIFS] = "vif", [L_DISKS] = "disk",
};

/* Line 3 of the config holds the key under test (after BASE's two lines). */
static void limit_config(const struct limit_case *c, char *text, size_t len)
{
	size_t n = (size_t)snprintf(text, len, BASE);

	if (c->field == L_MAXVCPUS)
		n += (size_t)snprintf(text + n, len - n, "maxvcpus = %lld\n", c->value);
	else if (c->field == L_MAXMEM)
		n += (size_t)snprintf(text + n, len - n, "maxmem = %lld\n", c->value);
	else if (c->field == L_VIFS || c->field == L_DISKS) {
		n += (size_t)snprintf(text + n, len - n, "%s = [", limit_keys[c->field]);
		for (long long i = 0; i < c->value; i++) {
			if (c->field == L_VIFS)
				n += (size_t)snprintf(text + n, len - n, " 'bridge=xenbr0',");
			else   /* xvda, xvdb, ... in the d<N> form: any count stays distinct */
				n += (size_t)snprintf(text + n, len - n, " '/srv/%lld.img,raw,d%lld,rw',",
						      i, i);
		}
		n += (size_t)snprintf(text + n, len - n, " ]\n");
	} else if (c->value_text)
		n += (size_t)snprintf(text + n, len - n, "%s = %s\n", limit_keys[c->field],
				      c->value_text);
	else
		n += (size_t)snprintf(text + n, len - n, "%s = %lld\n", limit_keys[c->field],
				      c->value);
	/* maxvcpus and maxmem are checked against vcpus and memory: keep those at their minimum. */
	if (c->field == L_MAXMEM)
		snprintf(text + n, len - n, "memory = %llu\n", DOMAIN_MIN_MEMORY_MB);
}

static void limit_error(const struct limit_case *c, char *out, size_t len)
{
	const char *key = limit_keys[c->field];

	switch (c->field) {
	case L_VCPUS:
	case L_MAXVCPUS:
		if (c->value < 1)
			snprintf(out, len, "t.cfg:3: %s must be at least 1", key);
		else
			snprintf(out, len, "t.cfg:3: %s must be at most %d (a Xenith domain's limit)", key,
				 DOMAIN_MAX_VCPUS);
		break;
	case L_MEMORY:
	case L_MAXMEM:
		if (c->value < (long long)DOMAIN_MIN_MEMORY_MB)
			snprintf(out, len, "t.cfg:3: %s must be at least %llu MiB", key,
				 DOMAIN_MIN_MEMORY_MB);
		else
			snprintf(out, len, "t.cfg:3: %s must be at most %llu MiB (a Xenith domain's "
				 "limit)", key, DOMAIN_MAX_MEMORY_MB);
		break;
	case L_VIFS:
		snprintf(out, len, "t.cfg:3: %lld vifs given; at most %d (a Xenith domain's limit)",
			 c->value, DOMAIN_MAX_VIFS);
		break;
	case L_DISKS:
		snprintf(out, len, "t.cfg:3: %lld disks given; at most %d (a Xenith domain's limit)",
			 c->value, DOMAIN_MAX_DISKS);
		break;
	}
}

static void test_limit(struct unit *u, const void *arg)
{
	const struct limit_case *c = arg;
	struct domain_config dc;
	char text[8192], err[512] = "", expected[512], *warnings;

	limit_config(c, text, sizeof(text));
	int rc = convert(text, NULL, &dc, err, sizeof(err), &warnings);
	if (c->ok) {
		CHECK(rc == 0, "refused: %s", err);
		long long got = c->field == L_VCPUS ? dc.vcpus : c->field == L_MAXVCPUS ? dc.max_vcpus :
				c->field == L_MEMORY ? (long long)dc.memory_mb :
				c->field == L_MAXMEM ? (long long)dc.maxmem_mb :
				c->field == L_VIFS ? (long long)dc.n_vifs : (long long)dc.n_disks;
		CHECK(got == c->value, "%s is %lld, expected %lld", limit_keys[c->field], got, c->value);
	} else {
		limit_error(c, expected, sizeof(expected));
		CHECK(rc == -1, "accepted");
		CHECK_STR(err, expected);
	}
	free(warnings);
	domain_config_free(&dc);
}

static void test_no_warn_stream(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_cfg cfg;
	struct domain_config dc;
	char err[256] = "";
	CHECK(xl_cfg_parse_string(BASE "foo = 1\nbuilder = 'generic'\n", "t.cfg", &cfg, err,
				  sizeof(err)) == 0, "parse: %s", err);
	CHECK(domain_config_from_cfg(&cfg, &dc, NULL, err, sizeof(err)) == 0, "convert: %s", err);
	domain_config_free(&dc);
	xl_cfg_free(&cfg);
}

/* Warnings come before an error found later, like xl's. */
static void test_warning_then_error(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[256] = "", *warnings;
	CHECK(convert("foo = 1\nname = 'd'\n", NULL, &dc, err, sizeof(err), &warnings) == -1,
	      "converted");
	CHECK_STR(err, "t.cfg: 'kernel' is required for a pv domain");
	CHECK_STR(warnings, "t.cfg:1: warning: unknown key 'foo' (ignored)\n");
	free(warnings);
}

static void test_names(struct unit *u, const void *arg)
{
	(void)arg;
	CHECK_STR(domain_type_name(DOMAIN_TYPE_PVH), "pvh");
	CHECK_STR(domain_type_name(DOMAIN_TYPE_PV), "pv");
	CHECK_STR(domain_type_name(DOMAIN_TYPE_HVM), "hvm");
	CHECK_STR(domain_type_name((enum domain_type)42), "unknown");
	CHECK_STR(domain_action_name(ACTION_DESTROY), "destroy");
	CHECK_STR(domain_action_name(ACTION_RESTART), "restart");
	CHECK_STR(domain_action_name(ACTION_PRESERVE), "preserve");
	CHECK_STR(domain_action_name(ACTION_RENAME_RESTART), "rename-restart");
	CHECK_STR(domain_action_name(ACTION_COREDUMP_DESTROY), "coredump-destroy");
	CHECK_STR(domain_action_name(ACTION_COREDUMP_RESTART), "coredump-restart");
	CHECK_STR(domain_action_name((enum domain_action)-1), "unknown");
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[128];
	unit_case(&u, "defaults", test_defaults, NULL);
	unit_case(&u, "full config", test_full, NULL);
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		snprintf(name, sizeof(name), "good: %s", good_cases[i].name);
		unit_case(&u, name, test_good, &good_cases[i]);
	}
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		snprintf(name, sizeof(name), "bad: %s", bad_cases[i].name);
		unit_case(&u, name, test_bad, &bad_cases[i]);
	}
	for (size_t i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
		snprintf(name, sizeof(name), "limit: %s", limit_cases[i].name);
		unit_case(&u, name, test_limit, &limit_cases[i]);
	}
	unit_case(&u, "no warning stream", test_no_warn_stream, NULL);
	unit_case(&u, "warnings before a later error", test_warning_then_error, NULL);
	unit_case(&u, "type and action names", test_names, NULL);
	return unit_finish(&u);
}
