/* The storage driver (storage.h, storage_xml.h, procs_storage.c) on a temporary state and run
 * directory: pool XML accepted and refused, definitions stored and read back, start/destroy/
 * undefine/autostart, volumes created sparse and refused for hostile names, sizes or existing
 * files, lookups by path, the once-per-boot autostart, and two procedures answered through the
 * table as a client sees them. */
#define _GNU_SOURCE
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libvirt/server.h"
#include "libvirt/storage.h"
#include "libvirt/storage_xml.h"
#include "unit.h"

struct setup {
	char state[64], run[64], pool[64];
	struct virt_host h;
};

static int setup_init(struct setup *s)
{
	char err[256];

	snprintf(s->state, sizeof(s->state), "/tmp/xst-state.XXXXXX");
	snprintf(s->run, sizeof(s->run), "/tmp/xst-run.XXXXXX");
	snprintf(s->pool, sizeof(s->pool), "/tmp/xst-pool.XXXXXX");
	if (!mkdtemp(s->state) || !mkdtemp(s->run) || !mkdtemp(s->pool))
		return -1;
	setenv("XENITH_LIBVIRT_STATE", s->state, 1);
	setenv("XENITH_RUNDIR", s->run, 1);
	return virt_host_open(&s->h, err, sizeof(err));
}

static void setup_fini(struct setup *s)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'", s->state, s->run, s->pool);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", cmd);
}

static int define_pool(struct setup *s, const char *name, const char *dir, struct virt_pool *out)
{
	struct virt_pool def = { 0 };
	char err[256];

	snprintf(def.name, sizeof(def.name), "%s", name);
	snprintf(def.path, sizeof(def.path), "%s", dir);
	return virt_pool_define(&s->h, &def, out, err, sizeof(err));
}

/* ---- XML ---- */

static const struct {
	const char *xml;
	int rc;
	const char *err_has;
} pool_xmls[] = {
	{ "<pool type='dir'><name>p</name><target><path>/srv/img/</path></target></pool>", 0, NULL },
	{ "<pool type='dir'><name>p</name><uuid>6167096a-40d5-4edd-9c68-3ed7b3c6c6d4</uuid><source/>"
	  "<capacity>1</capacity><target><path>/srv</path><permissions/></target></pool>", 0, NULL },
	{ "<pool type='logical'><name>p</name><target><path>/dev/vg</path></target></pool>",
	  STORAGE_XML_ERR_UNSUPPORTED, "pool type 'logical'" },
	{ "<pool type='dir'><name>p</name><target><path>srv</path></target></pool>", STORAGE_XML_ERR_XML,
	  "not absolute" },
	{ "<pool type='dir'><name>p</name><target><path>/srv/../etc</path></target></pool>",
	  STORAGE_XML_ERR_XML, "'..'" },
	{ "<pool type='dir'><name>a/b</name><target><path>/srv</path></target></pool>", STORAGE_XML_ERR_XML,
	  "invalid pool name" },
	{ "<pool type='dir'><name>p</name></pool>", STORAGE_XML_ERR_XML, "no <target><path>" },
	{ "<pool type='dir'><name>p</name><source><device path='/dev/sda'/></source>"
	  "<target><path>/srv</path></target></pool>", STORAGE_XML_ERR_UNSUPPORTED, "/pool/source/device" },
	{ "<!DOCTYPE pool [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><pool type='dir'><name>&x;</name>"
	  "<target><path>/srv</path></target></pool>", STORAGE_XML_ERR_XML, "DOCTYPE" },
	{ "<pool type='dir'><name>p", STORAGE_XML_ERR_XML, "not well-formed" },
	{ "<volume/>", STORAGE_XML_ERR_XML, "expected <pool>" },
};

static void test_pool_xml(struct unit *u, const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(pool_xmls) / sizeof(pool_xmls[0]); i++) {
		struct virt_pool p;
		char err[512] = "";
		int rc = pool_xml_parse(pool_xmls[i].xml, strlen(pool_xmls[i].xml), &p, err, sizeof(err));
		CHECK(rc == pool_xmls[i].rc, "row %zu: rc %d, expected %d (%s)", i, rc, pool_xmls[i].rc, err);
		if (pool_xmls[i].err_has)
			CHECK(strstr(err, pool_xmls[i].err_has), "row %zu: '%s' lacks '%s'", i, err,
			      pool_xmls[i].err_has);
	}
	struct virt_pool p, back;
	char err[256];
	CHECK_INT(pool_xml_parse(pool_xmls[0].xml, strlen(pool_xmls[0].xml), &p, err, sizeof(err)), 0);
	CHECK_STR(p.path, "/srv/img");
	char *xml = pool_xml_format(&p, NULL);
	CHECK(xml && pool_xml_parse(xml, strlen(xml), &back, err, sizeof(err)) == 0 &&
	      !strcmp(back.name, "p") && !strcmp(back.path, "/srv/img") && back.has_uuid,
	      "the formatted pool does not read back: %s", xml ? xml : "(null)");
	free(xml);
}

static const struct {
	const char *xml;
	int rc;
	unsigned long long capacity, allocation;
} vol_xmls[] = {
	{ "<volume><name>a.raw</name><capacity>10737418</capacity><allocation>0</allocation>"
	  "<target><format type='raw'/></target></volume>", 0, 10737418, 0 },
	{ "<volume type='file'><name>b</name><capacity unit='M'>2</capacity></volume>", 0, 2097152, 0 },
	{ "<volume><name>c</name><capacity unit='GB'>1</capacity><allocation unit='GB'>2</allocation>"
	  "</volume>", 0, 1000000000ull, 1000000000ull },
	{ "<volume><name>../etc/x</name><capacity>1</capacity></volume>", STORAGE_XML_ERR_XML, 0, 0 },
	{ "<volume><name>d</name><capacity unit='EiB'>2</capacity></volume>", STORAGE_XML_ERR_XML, 0, 0 },
	{ "<volume><name>d</name><capacity>-1</capacity></volume>", STORAGE_XML_ERR_XML, 0, 0 },
	{ "<volume><name>d</name><capacity unit='parsec'>1</capacity></volume>", STORAGE_XML_ERR_XML, 0, 0 },
	{ "<volume><name>d</name></volume>", STORAGE_XML_ERR_XML, 0, 0 },
	{ "<volume><name>d</name><capacity>1</capacity><target><format type='qcow2'/></target></volume>",
	  STORAGE_XML_ERR_UNSUPPORTED, 0, 0 },
	{ "<volume><name>d</name><capacity>1</capacity><backingStore/></volume>",
	  STORAGE_XML_ERR_UNSUPPORTED, 0, 0 },
};

static void test_vol_xml(struct unit *u, const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(vol_xmls) / sizeof(vol_xmls[0]); i++) {
		struct vol_def d;
		char err[512] = "";
		int rc = vol_xml_parse(vol_xmls[i].xml, strlen(vol_xmls[i].xml), &d, err, sizeof(err));
		CHECK(rc == vol_xmls[i].rc, "row %zu: rc %d, expected %d (%s)", i, rc, vol_xmls[i].rc, err);
		if (!rc)
			CHECK(d.capacity == vol_xmls[i].capacity && d.allocation == vol_xmls[i].allocation,
			      "row %zu: %llu/%llu bytes", i, d.capacity, d.allocation);
	}
}

/* ---- the model ---- */

static void test_pool_life(struct unit *u, const void *arg)
{
	struct setup s;
	struct virt_pool p, q;
	char err[256];
	(void)arg;
	if (setup_init(&s)) {
		CHECK(0, "setup");
		return;
	}
	CHECK_INT(define_pool(&s, "p1", s.pool, &p), 0);
	CHECK(p.persistent && !p.active && !p.autostart, "a new definition is inactive");
	/* A redefinition keeps the UUID; another name on the same directory is refused. */
	CHECK_INT(define_pool(&s, "p1", s.pool, &q), 0);
	CHECK(!memcmp(p.uuid, q.uuid, 16), "the redefinition changed the UUID");
	CHECK_INT(define_pool(&s, "p2", s.pool, &q), -EEXIST);
	CHECK_INT(virt_pool_start(&s.h, &p, err, sizeof(err)), 0);
	CHECK_INT(virt_pool_lookup(&s.h, "p1", NULL, &q, err, sizeof(err)), 0);
	CHECK(q.active, "started pool not active");
	CHECK_INT(virt_pool_start(&s.h, &q, err, sizeof(err)), -EEXIST);
	CHECK_INT(virt_pool_lookup(&s.h, NULL, p.uuid, &q, err, sizeof(err)), 0);
	CHECK_INT(virt_pool_lookup_by_dir(&s.h, s.pool, &q, err, sizeof(err)), 0);
	CHECK_INT(virt_pool_set_autostart(&s.h, &q, true, err, sizeof(err)), 0);
	CHECK_INT(virt_pool_lookup(&s.h, "p1", NULL, &q, err, sizeof(err)), 0);
	CHECK(q.autostart, "autostart not set");
	struct virt_pool_info info;
	CHECK_INT(virt_pool_info(&s.h, &q, &info, err, sizeof(err)), 0);
	CHECK(info.state == VIR_STORAGE_POOL_RUNNING && info.capacity > 0, "info: state %d", info.state);
	/* Undefined while active: goes on, transient; destroyed: gone. */
	CHECK_INT(virt_pool_undefine(&s.h, &q, err, sizeof(err)), 0);
	CHECK_INT(virt_pool_lookup(&s.h, "p1", NULL, &q, err, sizeof(err)), 0);
	CHECK(q.active && !q.persistent && !q.autostart, "undefined active pool: %d %d", q.active,
	      q.persistent);
	CHECK_INT(virt_pool_destroy(&s.h, &q, err, sizeof(err)), 0);
	CHECK_INT(virt_pool_lookup(&s.h, "p1", NULL, &q, err, sizeof(err)), -ENOENT);
	/* A directory that does not exist is built, then starts. */
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/new", s.pool);
	CHECK_INT(define_pool(&s, "p3", sub, &p), 0);
	CHECK(virt_pool_start(&s.h, &p, err, sizeof(err)) < 0, "started without its directory");
	CHECK_INT(virt_pool_build(&s.h, &p, false, err, sizeof(err)), 0);
	CHECK_INT(virt_pool_build(&s.h, &p, true, err, sizeof(err)), -EEXIST);
	CHECK_INT(virt_pool_start(&s.h, &p, err, sizeof(err)), 0);
	setup_fini(&s);
}

static void test_volumes(struct unit *u, const void *arg)
{
	struct setup s;
	struct virt_pool p;
	struct virt_vol v, *list;
	size_t n;
	char err[256], path[128];
	struct stat st;
	(void)arg;
	if (setup_init(&s)) {
		CHECK(0, "setup");
		return;
	}
	CHECK_INT(define_pool(&s, "vp", s.pool, &p), 0);
	CHECK_INT(virt_vol_create(&s.h, &p, "x.raw", 4096, 0, &v, err, sizeof(err)), -ESRCH);
	CHECK_INT(virt_pool_start(&s.h, &p, err, sizeof(err)), 0);
	p.active = true;
	CHECK_INT(virt_vol_create(&s.h, &p, "a.raw", 10u << 20, 0, &v, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/a.raw", s.pool);
	CHECK(!stat(path, &st) && st.st_size == 10 << 20 && st.st_blocks == 0 && (st.st_mode & 0777) == 0600,
	      "a.raw is not a sparse 10 MiB file of mode 0600");
	CHECK_STR(v.path, path);
	CHECK_INT(virt_vol_create(&s.h, &p, "a.raw", 1, 0, &v, err, sizeof(err)), -EEXIST);
	CHECK_INT(virt_vol_create(&s.h, &p, "../a", 1, 0, &v, err, sizeof(err)), -EINVAL);
	CHECK_INT(virt_vol_create(&s.h, &p, "..", 1, 0, &v, err, sizeof(err)), -EINVAL);
	CHECK_INT(virt_vol_create(&s.h, &p, "big", VIRT_VOL_CAPACITY_MAX + 1, 0, &v, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(virt_vol_create(&s.h, &p, "full.raw", 8192, 8192, &v, err, sizeof(err)), 0);
	CHECK(v.allocation >= 8192, "allocation %llu: not preallocated", v.allocation);
	/* A symlink and a directory are not volumes; a link name cannot be created over. */
	char link[128], dir[128];
	snprintf(link, sizeof(link), "%s/evil", s.pool);
	snprintf(dir, sizeof(dir), "%s/sub", s.pool);
	CHECK(!symlink("/etc/passwd", link) && !mkdir(dir, 0700), "set-up");
	CHECK_INT(virt_vol_create(&s.h, &p, "evil", 1, 0, &v, err, sizeof(err)), -EEXIST);
	CHECK_INT(virt_vol_lookup(&s.h, &p, "evil", &v, err, sizeof(err)), -ENOENT);
	CHECK_INT(virt_vols_list(&s.h, &p, &list, &n, err, sizeof(err)), 0);
	CHECK(n == 2 && !strcmp(list[0].name, "a.raw") && !strcmp(list[1].name, "full.raw"),
	      "volumes: %zu", n);
	free(list);
	CHECK_INT(virt_vol_lookup_by_path(&s.h, path, &v, err, sizeof(err)), 0);
	CHECK_STR(v.pool, "vp");
	CHECK_INT(virt_vol_lookup_by_path(&s.h, "/etc/passwd", &v, err, sizeof(err)), -ENOENT);
	CHECK_INT(virt_vol_lookup_by_path(&s.h, "relative/a.raw", &v, err, sizeof(err)), -ENOENT);
	CHECK_INT(virt_vol_lookup(&s.h, &p, "a.raw", &v, err, sizeof(err)), 0);
	CHECK_INT(virt_vol_delete(&s.h, &v, err, sizeof(err)), 0);
	CHECK(stat(path, &st) && errno == ENOENT, "a.raw still there");
	CHECK(!lstat(link, &st), "the symlink went too");
	setup_fini(&s);
}

static void test_autostart_once(struct unit *u, const void *arg)
{
	struct setup s;
	struct virt_pool p;
	char err[256];
	(void)arg;
	if (setup_init(&s)) {
		CHECK(0, "setup");
		return;
	}
	CHECK_INT(define_pool(&s, "auto", s.pool, &p), 0);
	CHECK_INT(virt_pool_set_autostart(&s.h, &p, true, err, sizeof(err)), 0);
	virt_storage_autostart(&s.h);
	CHECK_INT(virt_pool_lookup(&s.h, "auto", NULL, &p, err, sizeof(err)), 0);
	CHECK(p.active, "autostart did not start the pool");
	CHECK_INT(virt_pool_destroy(&s.h, &p, err, sizeof(err)), 0);
	virt_storage_autostart(&s.h);          /* same boot: leaves the user's destroy alone */
	CHECK_INT(virt_pool_lookup(&s.h, "auto", NULL, &p, err, sizeof(err)), 0);
	CHECK(!p.active, "autostart ran twice in one boot");
	setup_fini(&s);
}

/* ---- through the procedure table ---- */

static void test_procedures(struct unit *u, const void *arg)
{
	struct setup s;
	struct virt_daemon d;
	struct virt_pool p;
	char err[256];
	(void)arg;
	if (setup_init(&s) || virt_daemon_init(&d, false, err, sizeof(err))) {
		CHECK(0, "setup");
		return;
	}
	d.host = s.h;
	CHECK_INT(define_pool(&s, "tp", s.pool, &p), 0);

	/* virConnectListAllStoragePools(need_results 1, flags INACTIVE): the one pool. */
	const struct virt_proc *proc = virt_proc_find(VIRT_REMOTE_PROGRAM, 281);
	CHECK(proc != NULL, "no row for CONNECT_LIST_ALL_STORAGE_POOLS");
	struct xdr_writer args, ret;
	struct xdr_reader r;
	xdr_writer_init(&args, 1 << 16);
	xdr_put_i32(&args, 1);
	xdr_put_u32(&args, VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE);
	xdr_writer_init(&ret, 1 << 16);
	xdr_reader_init(&r, args.data, args.len);
	struct virt_call call = { .daemon = &d, .args = &r, .ret = &ret };
	CHECK(proc && proc->serve(&call) == 0, "list failed: %s", call.error.message);
	struct xdr_reader out;
	xdr_reader_init(&out, ret.data, ret.len);
	CHECK_INT((int)xdr_get_count(&out, 10), 1);
	char *name = xdr_get_string(&out, 256);
	CHECK(name && !strcmp(name, "tp"), "pool named %s", name ? name : "(null)");
	free(name);
	xdr_writer_free(&args);
	xdr_writer_free(&ret);

	/* A volume looked up by a path in no pool: VIR_ERR_NO_STORAGE_VOL, as virt-install expects. */
	proc = virt_proc_find(VIRT_REMOTE_PROGRAM, 97);
	xdr_writer_init(&args, 1 << 16);
	xdr_put_string(&args, "/nowhere/img.raw");
	xdr_writer_init(&ret, 1 << 16);
	xdr_reader_init(&r, args.data, args.len);
	struct virt_call call2 = { .daemon = &d, .args = &r, .ret = &ret };
	CHECK(proc && proc->serve(&call2) < 0 && call2.error.code == VIR_ERR_NO_STORAGE_VOL &&
	      call2.error.domain == VIR_FROM_STORAGE,
	      "lookup by path: code %d: %s", call2.error.code, call2.error.message);
	xdr_writer_free(&args);
	xdr_writer_free(&ret);
	virt_daemon_fini(&d);
	setup_fini(&s);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "storage-pool-xml", test_pool_xml, NULL);
	unit_case(&u, "storage-vol-xml", test_vol_xml, NULL);
	unit_case(&u, "storage-pool-life", test_pool_life, NULL);
	unit_case(&u, "storage-volumes", test_volumes, NULL);
	unit_case(&u, "storage-autostart-once", test_autostart_once, NULL);
	unit_case(&u, "storage-procedures", test_procedures, NULL);
	return unit_finish(&u);
}
