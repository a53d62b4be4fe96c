/* domain_config_to_cfg: configs written as xl.cfg text and read back by the real parser
 * (xl_cfg_parse_string + domain_config_from_cfg) come back equal, field by field; awkward strings
 * survive both layers of quoting (xl.cfg's escapes, the device specs' commas); what a spec cannot
 * say is refused with a reason rather than written wrong. */
#define _GNU_SOURCE
#include "xl/cfg_write.h"
#include "xl/domain_config.h"
#include "xl/xl_domain.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *text, struct domain_config *dc, char *err, size_t errlen)
{
	struct xl_cfg cfg;
	int r;

	memset(dc, 0, sizeof(*dc));
	if (xl_cfg_parse_string(text, "w.cfg", &cfg, err, errlen))
		return -1;
	r = domain_config_from_cfg(&cfg, dc, NULL, err, errlen);
	xl_cfg_free(&cfg);
	return r;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The first field where a and b differ, or NULL. */
static const char *config_difference(const struct domain_config *a, const struct domain_config *b)
{
	if (!str_eq(a->name, b->name)) return "name";
	if (a->has_uuid != b->has_uuid || memcmp(a->uuid, b->uuid, 16)) return "uuid";
	if (a->type != b->type) return "type";
	if (!str_eq(a->kernel, b->kernel)) return "kernel";
	if (!str_eq(a->ramdisk, b->ramdisk)) return "ramdisk";
	if (!str_eq(a->cmdline, b->cmdline)) return "cmdline";
	if (a->memory_mb != b->memory_mb || a->maxmem_mb != b->maxmem_mb) return "memory";
	if (a->vcpus != b->vcpus || a->max_vcpus != b->max_vcpus) return "vcpus";
	if (a->on_poweroff != b->on_poweroff || a->on_reboot != b->on_reboot ||
	    a->on_crash != b->on_crash)
		return "on_*";
	if (a->sched_weight != b->sched_weight || a->sched_cap != b->sched_cap ||
	    a->sched_cap_set != b->sched_cap_set)
		return "weight/cap";
	if (a->n_cpus != b->n_cpus || a->n_cpus_soft != b->n_cpus_soft) return "cpus count";
	for (size_t i = 0; i < a->n_cpus; i++)
		if (!str_eq(a->cpus[i], b->cpus[i])) return "cpus";
	for (size_t i = 0; i < a->n_cpus_soft; i++)
		if (!str_eq(a->cpus_soft[i], b->cpus_soft[i])) return "cpus_soft";
	if (a->n_disks != b->n_disks) return "disk count";
	for (size_t i = 0; i < a->n_disks; i++) {
		const struct xl_disk *x = &a->disks[i], *y = &b->disks[i];
		if (!str_eq(x->vdev, y->vdev) || x->devid != y->devid || x->readonly != y->readonly ||
		    x->cdrom != y->cdrom || !str_eq(x->target, y->target))
			return "disk";
	}
	if (a->n_vifs != b->n_vifs) return "vif count";
	for (size_t i = 0; i < a->n_vifs; i++) {
		const struct xl_vif *x = &a->vifs[i], *y = &b->vifs[i];
		if (x->mac_set != y->mac_set || (x->mac_set && memcmp(x->mac, y->mac, 6)) ||
		    !str_eq(x->bridge, y->bridge) || !str_eq(x->script, y->script) ||
		    !str_eq(x->ip, y->ip) || !str_eq(x->vifname, y->vifname) ||
		    !str_eq(x->rate, y->rate))
			return "vif";
		if (x->devid != y->devid && x->devid != -1) return "vif devid";
	}
	return NULL;
}

/* Writes dc, reads it back, and checks: equal config, and writing the result gives the same text. */
static void check_round_trip(struct unit *u, const struct domain_config *dc)
{
	char err[512] = "";
	struct domain_config back;
	char *text = domain_config_to_cfg(dc, err, sizeof(err)), *again;

	CHECK(text, "domain_config_to_cfg: %s", err);
	if (!text)
		return;
	if (parse(text, &back, err, sizeof(err))) {
		CHECK(0, "the written cfg does not parse: %s\n---\n%s---", err, text);
		free(text);
		return;
	}
	const char *diff = config_difference(dc, &back);
	CHECK(!diff, "%s differs after the round trip\n---\n%s---", diff, text);
	again = domain_config_to_cfg(&back, err, sizeof(err));
	CHECK(again && !strcmp(text, again), "written twice, the texts differ:\n%s---\n%s",
	      text, again ? again : err);
	free(again);
	free(text);
	domain_config_free(&back);
}

struct trip_case {
	const char *name;
	const char *cfg;
};

#define BASE "name = 'd'\nkernel = '/k'\n"
static const struct trip_case trips[] = {
	{ "minimal", BASE },
	{ "every scalar field",
	  "name = 'guest-1.x_y'\nuuid = '6b1e7c5e-0000-4000-8000-00000000abcd'\ntype = 'pvh'\n"
	  "kernel = '/boot/vmlinuz'\nramdisk = 'rel/initrd.img'\ncmdline = 'console=hvc0 quiet'\n"
	  "memory = 256\nmaxmem = 1024\nvcpus = 2\nmaxvcpus = 4\non_poweroff = 'preserve'\n"
	  "on_reboot = 'destroy'\non_crash = 'restart'\nweight = 512\ncap = 0\n" },
	{ "pv and hvm types", "name = 'p'\ntype = 'pv'\nkernel = '/k'\n" },
	{ "hvm without kernel", "name = 'h'\ntype = 'hvm'\n" },
	{ "root and extra joined", BASE "root = '/dev/xvda1'\nextra = 'ro quiet'\n" },
	{ "quotes, backslashes and control characters in strings",
	  "name = 'q'\nkernel = \"/boot/it's \\\"here\\\"\\\\vmlinuz\"\n"
	  "ramdisk = '/tmp/a b\\tc'\n"
	  "cmdline = \"a='1' b=\\\"2\\\" c=\\\\ d=\\n e=\\r\\a\\b\\f\\v #not a comment\"\n" },
	{ "cpus string form", BASE "vcpus = 4\ncpus = '0-3,^2'\ncpus_soft = '1'\n" },
	{ "cpus list form", BASE "vcpus = 2\nmaxvcpus = 3\ncpus = [ '0', '1-2' ]\n"
			    "cpus_soft = [ '3' ]\n" },
	{ "disks: positional, keyed, cdrom and awkward targets",
	  BASE "disk = [ '/srv/a.img,raw,xvda,rw', 'phy:/dev/loop0,xvdb,r',\n"
	  "  'vdev=hdc, devtype=cdrom, target=/iso/a,b=c \"d\" \\\\e f.iso',\n"
	  "  'vdev=xvdd, access=rw, target= leading blank, and commas,,' ]\n" },
	{ "vifs: every field",
	  BASE "vif = [ 'mac=00:16:3e:01:02:03,bridge=br-x,script=/etc/xen/scripts/vif-bridge,"
	  "ip=10.0.0.2/24,vifname=vx0,rate=10Mb/s@20ms', '', 'bridge=b2,script=it\\'s\\\\odd' ]\n" },
	{ "vif script with an = sign", BASE "vif = [ 'script=/s/a=b' ]\n" },
};

static void test_trip(struct unit *u, const void *arg)
{
	const struct trip_case *c = arg;
	struct domain_config dc;
	char err[512] = "";

	if (parse(c->cfg, &dc, err, sizeof(err))) {
		CHECK(0, "the case's own cfg does not parse: %s", err);
		return;
	}
	check_round_trip(u, &dc);
	domain_config_free(&dc);
}

/* What a resolved config holds (random MACs, absolute scripts and targets) goes through too. */
static void test_resolved(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[512] = "";
	char dir[] = "/tmp/cfg_write.XXXXXX", img[64], cfg[512];

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(img, sizeof(img), "%s/d,1.img", dir);
	FILE *f = fopen(img, "w");
	CHECK(f, "cannot make %s", img);
	if (f)
		fclose(f);
	snprintf(cfg, sizeof(cfg), BASE "disk = [ 'vdev=xvda, target=%s' ]\n"
		 "vif = [ 'bridge=b,script=/bin/true', 'script=/bin/true' ]\n", img);
	if (parse(cfg, &dc, err, sizeof(err)) || domain_config_resolve_vifs(&dc, err, sizeof(err)) ||
	    domain_config_resolve_disks(&dc, err, sizeof(err))) {
		CHECK(0, "%s", err);
	} else {
		CHECK(dc.vifs[0].mac_set && dc.vifs[1].mac_set, "MACs not resolved");
		check_round_trip(u, &dc);
	}
	domain_config_free(&dc);
	unlink(img);
	rmdir(dir);
}

/* A config built by hand (as the libvirt daemon builds one from XML): devid -1 is the index. */
static void test_built(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_vif vifs[2] = {
		{ .devid = -1, .bridge = "xenbr0", .script = "/s/vif-bridge" },
		{ .devid = 1, .mac_set = true, .mac = { 0, 0x16, 0x3e, 1, 2, 3 }, .vifname = "v1" },
	};
	struct xl_disk disks[1] = { { .vdev = "xvda", .devid = 51712, .target = "/srv/g.img" } };
	struct domain_config dc = {
		.name = "built", .has_uuid = true, .uuid = { 1, 2, 3, [15] = 0xff },
		.type = DOMAIN_TYPE_PVH, .kernel = "/k", .cmdline = "", .memory_mb = 128,
		.maxmem_mb = 128, .vcpus = 1, .max_vcpus = 1, .on_reboot = ACTION_RESTART,
		.vifs = vifs, .n_vifs = 2, .disks = disks, .n_disks = 1,
	};
	char err[256] = "", *text = domain_config_to_cfg(&dc, err, sizeof(err));

	CHECK(text, "%s", err);
	if (!text)
		return;
	CHECK(strstr(text, "uuid = \"01020300-0000-0000-0000-0000000000ff\"\n"),
	      "uuid line missing:\n%s", text);
	CHECK(strstr(text, "\"vdev=xvda, access=rw, target=/srv/g.img\""),
	      "disk spec not as expected:\n%s", text);
	free(text);
	check_round_trip(u, &dc);
	dc.has_uuid = false;
	text = domain_config_to_cfg(&dc, err, sizeof(err));
	CHECK(text && !strstr(text, "uuid"), "a uuid written for a config without one:\n%s",
	      text ? text : err);
	free(text);
}

struct refusal {
	const char *name;
	void (*spoil)(struct domain_config *dc);
	const char *error;
};

static void vif_script_comma(struct domain_config *dc) { dc->vifs[0].script = "/s/a,b"; }
static void vif_bridge_blank(struct domain_config *dc) { dc->vifs[0].bridge = "br0 "; }
static void vif_ip_empty(struct domain_config *dc) { dc->vifs[0].ip = ""; }
static void vif_devid_other(struct domain_config *dc) { dc->vifs[0].devid = 3; }
static void disk_target_newline(struct domain_config *dc) { dc->disks[0].target = "/a\nb"; }
static void disk_no_target(struct domain_config *dc) { dc->disks[0].target = NULL; }
static void disk_vdev_comma(struct domain_config *dc) { dc->disks[0].vdev = "xvda,w"; }
static void cpus_wrong_vcpu(struct domain_config *dc)
{
	static char a[] = "0=1", b[] = "2=3";
	dc->cpus[0] = a;
	dc->cpus[1] = b;
	dc->n_cpus = 2;
}
static void no_name(struct domain_config *dc) { dc->name = NULL; }

static const struct refusal refusals[] = {
	{ "vif value with a comma", vif_script_comma,
	  "vif 0: script '/s/a,b' holds a ',', which a vif spec cannot say" },
	{ "vif value with a blank at its end", vif_bridge_blank,
	  "vif 0: bridge 'br0 ' starts or ends with a blank, which a vif spec drops" },
	{ "vif empty value", vif_ip_empty, "vif 0: ip is empty, which a vif spec cannot say" },
	{ "vif devid not its index", vif_devid_other,
	  "vif 0: devid 3 is not its index in the list, which is all an xl.cfg can say" },
	{ "disk target with a newline", disk_target_newline,
	  "disk 0 (xvda): a target holding a newline cannot be written" },
	{ "disk without target", disk_no_target, "disk 0 (xvda): no target" },
	{ "disk vdev with a comma", disk_vdev_comma,
	  "disk 0: vdev 'xvda,w' cannot be written in a disk spec" },
	{ "cpus list out of order", cpus_wrong_vcpu, "cpus item 1: '2=3' is not \"1=LIST\"" },
	{ "no name", no_name, "the config has no name" },
};

static void test_refusal(struct unit *u, const void *arg)
{
	const struct refusal *c = arg;
	struct xl_vif vifs[1] = { { .devid = 0, .bridge = "xenbr0", .script = "/s/vif-bridge" } };
	struct xl_disk disks[1] = { { .vdev = "xvda", .devid = 51712, .target = "/srv/g.img" } };
	struct domain_config dc = {
		.name = "r", .kernel = "/k", .cmdline = "", .memory_mb = 128, .maxmem_mb = 128,
		.vcpus = 2, .max_vcpus = 2, .vifs = vifs, .n_vifs = 1, .disks = disks, .n_disks = 1,
	};
	char err[256] = "";

	c->spoil(&dc);
	char *text = domain_config_to_cfg(&dc, err, sizeof(err));
	CHECK(!text, "written all the same:\n%s", text);
	CHECK_STR(err, c->error);
	free(text);
}

static void test_string_escapes(struct unit *u, const void *arg)
{
	(void)arg;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cfg_write_string(f, "a\"b\\c\nd\te'f\x01");
	fclose(f);
	CHECK_STR(text, "\"a\\\"b\\\\c\\nd\\te'f\x01\"");
	free(text);
}

/* A run directory of our own, as XENITH_RUNDIR; the caller removes it with `rm -rf`. */
static bool temp_rundir(struct unit *u, char *dir, struct xl_ctx *ctx)
{
	char err[256];

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return false;
	}
	setenv("XENITH_RUNDIR", dir, 1);
	memset(ctx, 0, sizeof(*ctx));
	if (xl_ctx_rundir(ctx)) {
		CHECK(0, "cannot open the run directory %s", dir);
		return false;
	}
	(void)err;
	return true;
}

static void remove_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

/* xl_domain_saved_config reads domains/<domid>/config back; absent is -ENOENT, garbage -EINVAL. */
static void test_saved_config(struct unit *u, const void *arg)
{
	(void)arg;
	char dir[] = "/tmp/cfg_saved.XXXXXX", path[512], err[512] = "";
	struct domain_config dc, back;
	struct xl_ctx ctx;

	if (!temp_rundir(u, dir, &ctx))
		return;
	CHECK(!parse("name = 'kept'\nuuid = '6b1e7c5e-0000-4000-8000-000000000009'\nkernel = '/k'\n"
		     "vif = [ 'mac=00:16:3e:00:00:01,bridge=b,script=/s' ]\n", &dc, err, sizeof(err)),
	      "%s", err);
	char *text = domain_config_to_cfg(&dc, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/domains/5", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/domains/5/config", dir);
	FILE *f = fopen(path, "w");
	if (f && text) {
		fputs(text, f);
		fclose(f);
	}
	int r = xl_domain_saved_config(&ctx, 5, &back, err, sizeof(err));
	CHECK(r == 0, "saved config of domain 5: %d %s", r, err);
	const char *diff = r ? "none" : config_difference(&dc, &back);
	CHECK(!diff, "%s differs", diff);
	domain_config_free(&back);
	r = xl_domain_saved_config(&ctx, 6, &back, err, sizeof(err));
	CHECK(r == -ENOENT, "domain 6: %d", r);
	CHECK(strstr(err, "domain 6 has no saved config ("), "err: %s", err);
	f = fopen(path, "w");
	if (f) {
		fputs("name = 'x'\nkernel = \n", f);
		fclose(f);
	}
	r = xl_domain_saved_config(&ctx, 5, &back, err, sizeof(err));
	CHECK(r == -EINVAL && strstr(err, "/domains/5/config:2: "), "garbage: %d %s", r, err);
	free(text);
	domain_config_free(&dc);
	remove_tree(dir);
}

/* xl_domain_spawn hands the VMM (here a stand-in shell script) --config: a 0600 file holding the
 * config with absolute paths; whatever the VMM does with it, xl's own copy is gone afterwards. */
static void test_spawn_hands_config(struct unit *u, const void *arg)
{
	(void)arg;
	char dir[] = "/tmp/cfg_spawn.XXXXXX", vmm[512], copy[512], mode[512], cfg[600], err[1024] = "";
	struct domain_config dc, back;
	struct xl_ctx ctx;
	unsigned int domid = 0;

	if (!temp_rundir(u, dir, &ctx))
		return;
	snprintf(vmm, sizeof(vmm), "%s/xenith-vmm", dir);
	snprintf(copy, sizeof(copy), "%s/config.copy", dir);
	snprintf(mode, sizeof(mode), "%s/config.mode", dir);
	FILE *f = fopen(vmm, "w");
	if (!f) {
		CHECK(0, "cannot write %s", vmm);
		return;
	}
	fprintf(f, "#!/bin/sh\n"
		"while [ $# -gt 0 ]; do\n"
		"  case \"$1\" in\n"
		"  --config) cp \"$2\" '%s'; stat -c %%a \"$2\" > '%s';;\n"
		"  esac\n"
		"  shift\n"
		"done\n"
		"echo 'error stand-in: not starting' >&3\n", copy, mode);
	fclose(f);
	chmod(vmm, 0755);
	setenv("XENITH_VMM", vmm, 1);
	/* A kernel given relative to the cwd, as xl takes it. */
	char old_cwd[400], kdir[560], cwd[400] = "";
	snprintf(kdir, sizeof(kdir), "%s/rel", dir);
	mkdir(kdir, 0755);
	snprintf(kdir, sizeof(kdir), "%s/rel/vmlinuz", dir);
	f = fopen(kdir, "w");
	if (f)
		fclose(f);
	if (!getcwd(old_cwd, sizeof(old_cwd)) || chdir(dir) || !getcwd(cwd, sizeof(cwd))) {
		CHECK(0, "cannot change to %s", dir);
		return;
	}
	CHECK(!parse("name = 'handed'\nuuid = '6b1e7c5e-0000-4000-8000-00000000000a'\n"
		     "kernel = 'rel/vmlinuz'\nmemory = 64\n", &dc, err, sizeof(err)), "%s", err);
	int r = xl_domain_spawn(&ctx, &dc, false, &domid, err, sizeof(err));
	if (chdir(old_cwd))
		CHECK(0, "cannot change back to %s", old_cwd);
	CHECK(r == -1 && !strcmp(err, "stand-in: not starting"), "spawn: %d %s", r, err);
	snprintf(cfg, sizeof(cfg), "%s/domains/.config-%d", dir, (int)getpid());
	CHECK(access(cfg, F_OK) < 0, "%s is left behind", cfg);
	f = fopen(mode, "r");
	char m[16] = "";
	CHECK(f && fgets(m, sizeof(m), f) && !strcmp(m, "600\n"), "the config's mode is '%s'", m);
	if (f)
		fclose(f);
	struct xl_cfg parsed;
	if (xl_cfg_parse_file(copy, &parsed, err, sizeof(err)) ||
	    domain_config_from_cfg(&parsed, &back, NULL, err, sizeof(err))) {
		CHECK(0, "the VMM's config: %s", err);
	} else {
		CHECK(back.kernel && !strncmp(back.kernel, cwd, strlen(cwd)) &&
		      !strcmp(back.kernel + strlen(cwd), "/rel/vmlinuz"), "kernel %s", back.kernel);
		CHECK(back.has_uuid && !memcmp(back.uuid, dc.uuid, 16) && back.memory_mb == 64,
		      "uuid or memory differ");
		domain_config_free(&back);
	}
	xl_cfg_free(&parsed);
	unsetenv("XENITH_VMM");
	domain_config_free(&dc);
	remove_tree(dir);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[160];

	for (size_t i = 0; i < sizeof(trips) / sizeof(trips[0]); i++) {
		snprintf(name, sizeof(name), "round trip: %s", trips[i].name);
		unit_case(&u, name, test_trip, &trips[i]);
	}
	unit_case(&u, "round trip: a resolved config", test_resolved, NULL);
	unit_case(&u, "round trip: a config built by hand", test_built, NULL);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		snprintf(name, sizeof(name), "refused: %s", refusals[i].name);
		unit_case(&u, name, test_refusal, &refusals[i]);
	}
	unit_case(&u, "string escapes", test_string_escapes, NULL);
	unit_case(&u, "saved config read back", test_saved_config, NULL);
	unit_case(&u, "spawn hands the VMM its config", test_spawn_hands_config, NULL);
	return unit_finish(&u);
}
