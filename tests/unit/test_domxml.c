/* libvirt domain XML <-> domain_config (src/libvirt/domxml.c): a full example read field by field,
 * every memory unit, every device form, both round trips (format -> parse -> format byte for byte,
 * parse -> format -> parse field by field), libvirt's dialect variations, and every refusal with
 * the element its message names. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/domxml.h"
#include "xl/xl_cfg.h"
#include "domxml_compare.h"
#include "unit.h"

static const char full_xml[] =
	"<domain type='xen'>\n"
	"  <name>web-1</name>\n"
	"  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n"
	"  <description>front end</description>\n"
	"  <memory unit='MiB'>512</memory>\n"
	"  <currentMemory unit='KiB'>262144</currentMemory>\n"
	"  <vcpu placement='static' current='2'>4</vcpu>\n"
	"  <os>\n"
	"    <type arch='x86_64' machine='xenpvh'>xenpvh</type>\n"
	"    <kernel>/srv/xen/vmlinuz</kernel>\n"
	"    <initrd>/srv/xen/initrd.img</initrd>\n"
	"    <cmdline>root=/dev/xvda1 console=hvc0</cmdline>\n"
	"  </os>\n"
	"  <clock offset='utc'/>\n"
	"  <on_poweroff>destroy</on_poweroff>\n"
	"  <on_reboot>restart</on_reboot>\n"
	"  <on_crash>coredump-restart</on_crash>\n"
	"  <devices>\n"
	"    <disk type='file' device='disk'>\n"
	"      <driver name='qemu' type='raw'/>\n"
	"      <source file='/srv/xen/web-1.img'/>\n"
	"      <target dev='xvda' bus='xen'/>\n"
	"    </disk>\n"
	"    <disk type='block' device='disk'>\n"
	"      <driver name='phy'/>\n"
	"      <source dev='/dev/vg0/web-data'/>\n"
	"      <target dev='xvdb' bus='xen'/>\n"
	"      <readonly/>\n"
	"    </disk>\n"
	"    <disk type='file' device='cdrom'>\n"
	"      <source file='/srv/iso/tools.iso'/>\n"
	"      <target dev='xvdc'/>\n"
	"    </disk>\n"
	"    <interface type='bridge'>\n"
	"      <mac address='00:16:3e:12:34:56'/>\n"
	"      <source bridge='xenbr1'/>\n"
	"      <ip address='10.0.0.7' prefix='24'/>\n"
	"      <script path='vif-bridge'/>\n"
	"      <target dev='web1-eth0'/>\n"
	"      <model type='netfront'/>\n"
	"    </interface>\n"
	"    <interface type='ethernet'>\n"
	"      <script path='/etc/xen/scripts/vif-route'/>\n"
	"      <bandwidth><outbound average='1250'/></bandwidth>\n"
	"    </interface>\n"
	"    <console type='pty'>\n"
	"      <target type='xen' port='0'/>\n"
	"    </console>\n"
	"  </devices>\n"
	"</domain>\n";

static int parse(const char *xml, struct domain_config *dc, char *err, size_t len)
{
	return domxml_parse(xml, strlen(xml), dc, err, len);
}

static void test_full_example(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[512] = "";

	CHECK_INT(parse(full_xml, &dc, err, sizeof(err)), 0);
	if (u->case_failures) {
		CHECK(0, "err: %s", err);
		return;
	}
	CHECK_STR(dc.name, "web-1");
	CHECK(dc.has_uuid && dc.uuid[0] == 0x4d && dc.uuid[15] == 0xa0, "uuid");
	CHECK_INT(dc.type, DOMAIN_TYPE_PVH);
	CHECK_INT(dc.maxmem_mb, 512);
	CHECK_INT(dc.memory_mb, 256);
	CHECK_INT(dc.max_vcpus, 4);
	CHECK_INT(dc.vcpus, 2);
	CHECK_STR(dc.kernel, "/srv/xen/vmlinuz");
	CHECK_STR(dc.ramdisk, "/srv/xen/initrd.img");
	CHECK_STR(dc.cmdline, "root=/dev/xvda1 console=hvc0");
	CHECK_INT(dc.on_poweroff, ACTION_DESTROY);
	CHECK_INT(dc.on_reboot, ACTION_RESTART);
	CHECK_INT(dc.on_crash, ACTION_COREDUMP_RESTART);
	CHECK_INT(dc.n_disks, 3);
	if (dc.n_disks == 3) {
		CHECK_STR(dc.disks[0].vdev, "xvda");
		CHECK_STR(dc.disks[0].target, "/srv/xen/web-1.img");
		CHECK_INT(dc.disks[0].devid, 51712);
		CHECK(!dc.disks[0].readonly && !dc.disks[0].cdrom, "disk 0 rw disk");
		CHECK_STR(dc.disks[1].target, "/dev/vg0/web-data");
		CHECK(dc.disks[1].readonly && !dc.disks[1].cdrom, "disk 1 ro disk");
		CHECK(dc.disks[2].readonly && dc.disks[2].cdrom, "disk 2 cdrom");
		CHECK_STR(dc.disks[0].where, "/domain/devices/disk[1]: ");
	}
	CHECK_INT(dc.n_vifs, 2);
	if (dc.n_vifs == 2) {
		const struct xl_vif *v = &dc.vifs[0];
		CHECK(v->mac_set && v->mac[0] == 0 && v->mac[5] == 0x56, "vif 0 mac");
		CHECK_INT(v->devid, 0);
		CHECK_STR(v->bridge, "xenbr1");
		CHECK_STR(v->ip, "10.0.0.7/24");
		CHECK_STR(v->script, "vif-bridge");
		CHECK_STR(v->vifname, "web1-eth0");
		CHECK(!dc.vifs[1].mac_set, "vif 1 has no mac");
		CHECK_INT(dc.vifs[1].devid, 1);
		CHECK_STR(dc.vifs[1].bridge, NULL);
		CHECK_STR(dc.vifs[1].script, "/etc/xen/scripts/vif-route");
		CHECK_STR(dc.vifs[1].rate, "1250KB/s");
	}
	domain_config_free(&dc);
}

/* A domain whose <memory> is `value unit`: what maxmem_mb comes out. */
struct unit_row {
	const char *memory;     /* the element, with its unit attribute */
	unsigned long mb;
};

static const struct unit_row unit_rows[] = {
	{ "<memory>131072</memory>", 128 },
	{ "<memory unit='KiB'>131072</memory>", 128 },
	{ "<memory unit='k'>131072</memory>", 128 },
	{ "<memory unit='KB'>1000000</memory>", 954 },     /* 10^9 bytes, rounded up */
	{ "<memory unit='b'>134217728</memory>", 128 },
	{ "<memory unit='bytes'>134217729</memory>", 129 },
	{ "<memory unit='M'>64</memory>", 64 },
	{ "<memory unit='MiB'>64</memory>", 64 },
	{ "<memory unit='MB'>1000</memory>", 954 },
	{ "<memory unit='G'>2</memory>", 2048 },
	{ "<memory unit='GiB'>2</memory>", 2048 },
	{ "<memory unit='GB'>1</memory>", 954 },
	{ "<memory unit='T'>1</memory>", 1048576 },
	{ "<memory unit='TiB'>8</memory>", 8388608 },
	{ "<memory unit='gib'>1</memory>", 1024 },
	{ "<memory unit='KiB'> 2048 </memory>", 2 },
};

static char *with_memory(const char *memory)
{
	char *xml = NULL;
	if (asprintf(&xml, "<domain type='xen'><name>u</name>%s<os><type>xenpvh</type>"
		     "<kernel>/k</kernel></os></domain>", memory) < 0)
		return NULL;
	return xml;
}

static void test_unit(struct unit *u, const void *arg)
{
	const struct unit_row *row = arg;
	struct domain_config dc;
	char err[512] = "", *xml = with_memory(row->memory);

	CHECK(xml, "out of memory");
	if (!xml)
		return;
	CHECK(parse(xml, &dc, err, sizeof(err)) == 0, "%s: %s", row->memory, err);
	CHECK_INT(dc.maxmem_mb, row->mb);
	CHECK_INT(dc.memory_mb, row->mb);     /* no currentMemory: the same */
	domain_config_free(&dc);
	free(xml);
}

/* Both round trips on one document. */
static void round_trip(struct unit *u, const char *xml)
{
	struct domain_config a, b, c;
	char err[512] = "", what[128];
	struct domxml_identity ident = { .id = -1 };

	if (parse(xml, &a, err, sizeof(err))) {
		CHECK(0, "first parse: %s", err);
		return;
	}
	char *first = domxml_format(&a, &ident, err, sizeof(err));
	CHECK(first, "format: %s", err);
	if (first && parse(first, &b, err, sizeof(err)) == 0) {
		CHECK(domxml_config_equal(&a, &b, what, sizeof(what)), "parse -> format -> parse "
		      "differs in %s:\n%s", what, first);
		char *second = domxml_format(&b, &ident, err, sizeof(err));
		CHECK(second && !strcmp(first, second), "format -> parse -> format differs:\n%s\n"
		      "---\n%s", first, second ? second : err);
		if (second && parse(second, &c, err, sizeof(err)) == 0) {
			CHECK(domxml_config_equal(&b, &c, what, sizeof(what)), "third parse: %s", what);
			domain_config_free(&c);
		}
		free(second);
		domain_config_free(&b);
	} else if (first) {
		CHECK(0, "parsing the formatted XML: %s\n%s", err, first);
	}
	free(first);
	domain_config_free(&a);
}

static void test_round_trip_full(struct unit *u, const void *arg)
{
	(void)arg;
	round_trip(u, full_xml);
}

/* The same domain as full_xml in libvirt's other spellings: double quotes, attributes in another
 * order, no indentation, comments, CDATA, an XML declaration, character references. */
static const char dialect_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<!-- made by hand -->\n"
	"<domain type=\"xen\"><name>web-1</name><uuid>4DEA22B3-1D52-D8F3-2516-782E98AB3FA0</uuid>"
	"<memory unit=\"KiB\">524288</memory><currentMemory>262144</currentMemory>"
	"<vcpu current=\"2\" placement=\"static\">\n   4\n</vcpu>"
	"<on_crash>coredump-restart</on_crash>"
	"<os><!-- a comment --><cmdline><![CDATA[root=/dev/xvda1]]> console=hvc0</cmdline>"
	"<initrd>/srv/xen/initrd.img</initrd><kernel>/srv/xen/&#118;mlinuz</kernel>"
	"<type machine=\"xenpvh\" arch=\"x86_64\">xenpvh</type></os>"
	"<devices>"
	"<disk device=\"disk\" type=\"file\"><target bus=\"xen\" dev=\"xvda\"/><source file=\"/srv/xen/web-1.img\"/></disk>"
	"<disk type='block'><readonly/><source dev='/dev/vg0/web-data'/><target dev='xvdb'/></disk>"
	"<disk type='file' device='cdrom'><target dev='xvdc'/><source file='/srv/iso/tools.iso'/><readonly/></disk>"
	"<interface type='bridge'><model type='netfront'/><target dev='web1-eth0'/><script path='vif-bridge'/>"
	"<ip prefix='24' address='10.0.0.7' family='ipv4'/><source bridge='xenbr1'/><mac address='00:16:3E:12:34:56'/></interface>"
	"<interface type='ethernet'><bandwidth>\n<outbound average='1250' peak='2000'/>\n</bandwidth>"
	"<script path='/etc/xen/scripts/vif-route'/></interface>"
	"<serial type='pty'><target port='0'/></serial><input type='keyboard' bus='xen'/><memballoon model='xen'/>"
	"</devices><features><pae/><acpi/></features><metadata><x:y xmlns:x='urn:x'/></metadata>"
	"</domain>";

static void test_dialect(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config a, b;
	char err[512] = "", what[128];

	CHECK(parse(full_xml, &a, err, sizeof(err)) == 0, "full: %s", err);
	if (parse(dialect_xml, &b, err, sizeof(err))) {
		CHECK(0, "dialect: %s", err);
		domain_config_free(&a);
		return;
	}
	CHECK(domxml_config_equal(&a, &b, what, sizeof(what)), "the dialect differs in %s", what);
	domain_config_free(&a);
	domain_config_free(&b);
	round_trip(u, dialect_xml);
}

/* Every os type, a minimal domain, and text that needs escaping. */
static const char *const round_trip_docs[] = {
	"<domain type='xen'><name>pv</name><memory>65536</memory><os><type>linux</type>"
	"<kernel>/k</kernel></os></domain>",
	"<domain type='xen'><name>pv2</name><memory>65536</memory><os><type>xen</type>"
	"<kernel>/k</kernel></os><on_reboot>rename-restart</on_reboot></domain>",
	"<domain type='xen'><name>hvm</name><memory unit='G'>1</memory><os><type>hvm</type>"
	"<loader>/usr/lib/xen/boot/hvmloader</loader><boot dev='hd'/></os>"
	"<on_poweroff>preserve</on_poweroff></domain>",
	"<domain type='xen'><name>odd&amp;&lt;&gt;'\"name</name><memory>65536</memory><os><type>xenpvh</type>"
	"<kernel>/srv/a &lt;b&gt; &amp; 'c' \"d\"</kernel>"
	"<cmdline>console=hvc0 x=\"a b\" y='&amp;&lt;' tab\there&#13;\nnext</cmdline></os>"
	"<devices><disk type='file'><source file='/img/&apos;q&quot;&amp;&lt;,comma.img'/>"
	"<target dev='xvda'/></disk></devices></domain>",
};

static void test_round_trips(struct unit *u, const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(round_trip_docs) / sizeof(round_trip_docs[0]); i++)
		round_trip(u, round_trip_docs[i]);
}

static void test_escaping(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[512] = "";

	if (parse(round_trip_docs[3], &dc, err, sizeof(err))) {
		CHECK(0, "%s", err);
		return;
	}
	CHECK_STR(dc.name, "odd&<>'\"name");
	CHECK_STR(dc.kernel, "/srv/a <b> & 'c' \"d\"");
	CHECK_STR(dc.cmdline, "console=hvc0 x=\"a b\" y='&<' tab\there\r\nnext");
	CHECK_STR(dc.disks[0].target, "/img/'q\"&<,comma.img");
	char *xml = domxml_format(&dc, NULL, err, sizeof(err));
	CHECK(xml && strstr(xml, "<name>odd&amp;&lt;&gt;'\"name</name>"), "%s", xml ? xml : err);
	CHECK(xml && strstr(xml, "source file='/img/&apos;q&quot;&amp;&lt;,comma.img'"), "%s",
	      xml ? xml : err);
	CHECK(xml && strstr(xml, "here&#13;\nnext</cmdline>"), "%s", xml ? xml : err);
	free(xml);
	/* Bytes XML cannot carry are refused, naming the element, never printed. */
	dc.cmdline[0] = '\x01';
	xml = domxml_format(&dc, NULL, err, sizeof(err));
	CHECK(!xml && strstr(err, "<cmdline>"), "control character: %s", xml ? xml : err);
	free(xml);
	dc.cmdline[0] = '\xff';
	xml = domxml_format(&dc, NULL, err, sizeof(err));
	CHECK(!xml && strstr(err, "<cmdline>"), "invalid UTF-8: %s", xml ? xml : err);
	free(xml);
	domain_config_free(&dc);
}

/* What virsh dumpxml shows: this exact text for a small running domain. */
static void test_format_exact(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	struct domxml_identity ident = { .id = 7 };
	char err[512] = "";
	static const char expected[] =
		"<domain type='xen' id='7'>\n"
		"  <name>small</name>\n"
		"  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n"
		"  <memory unit='KiB'>262144</memory>\n"
		"  <currentMemory unit='KiB'>131072</currentMemory>\n"
		"  <vcpu placement='static'>2</vcpu>\n"
		"  <os>\n"
		"    <type arch='x86_64' machine='xenpvh'>xenpvh</type>\n"
		"    <kernel>/k</kernel>\n"
		"    <cmdline>console=hvc0</cmdline>\n"
		"  </os>\n"
		"  <clock offset='utc' adjustment='reset'/>\n"
		"  <on_poweroff>destroy</on_poweroff>\n"
		"  <on_reboot>restart</on_reboot>\n"
		"  <on_crash>destroy</on_crash>\n"
		"  <devices>\n"
		"    <disk type='block' device='disk'>\n"
		"      <driver name='phy' type='raw'/>\n"
		"      <source dev='/dev/vg/small'/>\n"
		"      <target dev='xvda' bus='xen'/>\n"
		"    </disk>\n"
		"    <interface type='bridge'>\n"
		"      <mac address='00:16:3e:00:00:01'/>\n"
		"      <source bridge='xenbr0'/>\n"
		"      <script path='vif-bridge'/>\n"
		"      <model type='netfront'/>\n"
		"    </interface>\n"
		"    <console type='pty'>\n"
		"      <target type='xen' port='0'/>\n"
		"    </console>\n"
		"  </devices>\n"
		"</domain>\n";

	CHECK(parse(expected, &dc, err, sizeof(err)) == 0, "%s", err);
	char *xml = domxml_format(&dc, &ident, err, sizeof(err));
	CHECK(xml && !strcmp(xml, expected), "got:\n%s", xml ? xml : err);
	free(xml);
	domain_config_free(&dc);
}

/* A domain xl made from an xl.cfg (as virt_domains keeps definitions) prints XML that reads back to
 * the same configuration; only the rate is rewritten, into libvirt's KB/s. */
static void test_from_xl_cfg(struct unit *u, const void *arg)
{
	(void)arg;
	static const char cfg_text[] =
		"name = \"from-xl\"\nuuid = \"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\"\n"
		"type = \"pv\"\nkernel = \"/boot/vmlinuz\"\nroot = \"/dev/xvda1\"\nextra = \"quiet\"\n"
		"memory = 300\nmaxmem = 600\nvcpus = 3\nmaxvcpus = 8\non_crash = \"preserve\"\n"
		"disk = [ \"/srv/a.img,raw,xvda,rw\", \"phy:/dev/vg/b,hdb,r\", \",raw,xvdc,ro,devtype=cdrom,target=/iso/x.iso\" ]\n"
		"vif = [ \"mac=00:16:3e:0a:0b:0c,bridge=br9,rate=10Mb/s,ip=192.168.1.5\", \"script=vif-route,vifname=r0\" ]\n";
	struct xl_cfg cfg;
	struct domain_config a, b;
	char err[512] = "", what[128];

	if (xl_cfg_parse_string(cfg_text, "t.cfg", &cfg, err, sizeof(err))) {
		CHECK(0, "xl_cfg_parse_string: %s", err);
		return;
	}
	if (domain_config_from_cfg(&cfg, &a, NULL, err, sizeof(err))) {
		CHECK(0, "domain_config_from_cfg: %s", err);
		xl_cfg_free(&cfg);
		return;
	}
	xl_cfg_free(&cfg);
	char *xml = domxml_format(&a, NULL, err, sizeof(err));
	CHECK(xml, "format: %s", err);
	const char *shown = xml ? xml : err;
	CHECK(xml && strstr(xml, "<type arch='x86_64' machine='xenpv'>linux</type>"), "%s", shown);
	CHECK(xml && strstr(xml, "<cmdline>root=/dev/xvda1 quiet</cmdline>"), "%s", shown);
	CHECK(xml && strstr(xml, "<outbound average='1250'/>"), "10Mb/s is 1250 KB/s: %s", shown);
	if (xml && parse(xml, &b, err, sizeof(err)) == 0) {
		CHECK_STR(b.vifs[0].rate, "1250KB/s");
		free(b.vifs[0].rate);
		b.vifs[0].rate = strdup(a.vifs[0].rate);
		CHECK(domxml_config_equal(&a, &b, what, sizeof(what)), "differs in %s:\n%s", what, xml);
		domain_config_free(&b);
	} else if (xml) {
		CHECK(0, "parse: %s\n%s", err, xml);
	}
	free(xml);
	domain_config_free(&a);
}

/* A refusal: the document, which failure, and what its message must name. */
struct error_row {
	const char *name;
	const char *xml;      /* NULL: built by the case */
	int code;
	const char *names;
};

#define DOM(body) "<domain type='xen'><name>e</name><memory>65536</memory>" \
	"<os><type>xenpvh</type><kernel>/k</kernel></os>" body "</domain>"
#define DOMV(vcpu) "<domain type='xen'><name>e</name><memory>65536</memory>" vcpu \
	"<os><type>xenpvh</type><kernel>/k</kernel></os></domain>"
#define DISK(d) DOM("<devices>" d "</devices>")
#define NIC(n) DOM("<devices><interface type='bridge'><source bridge='br0'/>" n "</interface></devices>")

static const struct error_row error_rows[] = {
	{ "not XML", "this is not xml", DOMXML_ERR_XML, "not well-formed" },
	{ "unclosed", "<domain type='xen'><name>x</name>", DOMXML_ERR_XML, "not well-formed" },
	{ "wrong root", "<network><name>x</name></network>", DOMXML_ERR_XML, "<network>" },
	{ "type kvm", "<domain type='kvm'><name>x</name></domain>", DOMXML_ERR_UNSUPPORTED,
	  "/domain: domain type 'kvm'" },
	{ "no type", "<domain><name>x</name></domain>", DOMXML_ERR_XML, "'type'" },
	{ "no name", "<domain type='xen'><memory>65536</memory><os><type>xenpvh</type>"
	  "<kernel>/k</kernel></os></domain>", DOMXML_ERR_XML, "<name>" },
	{ "bad name", "<domain type='xen'><name>a/b</name></domain>", DOMXML_ERR_XML,
	  "/domain/name" },
	{ "two names", "<domain type='xen'><name>a</name><name>b</name></domain>", DOMXML_ERR_XML,
	  "/domain/name[2]" },
	{ "no memory", "<domain type='xen'><name>e</name><os><type>xenpvh</type>"
	  "<kernel>/k</kernel></os></domain>", DOMXML_ERR_XML, "<memory>" },
	{ "memory 0", DOMV("<memory>0</memory>"), DOMXML_ERR_XML, "/domain" },
	{ "memory 0 named", "<domain type='xen'><name>e</name><memory>0</memory><os><type>xenpvh"
	  "</type><kernel>/k</kernel></os></domain>", DOMXML_ERR_XML, "0 KiB is out of range" },
	{ "memory huge", "<domain type='xen'><name>e</name><memory unit='PiB'>1</memory><os><type>"
	  "xenpvh</type><kernel>/k</kernel></os></domain>", DOMXML_ERR_XML, "out of range" },
	{ "memory overflow", "<domain type='xen'><name>e</name><memory unit='EiB'>99999</memory>"
	  "</domain>", DOMXML_ERR_XML, "/domain/memory: 99999 EiB is too large" },
	{ "memory bad unit", "<domain type='xen'><name>e</name><memory unit='furlong'>1</memory>"
	  "</domain>", DOMXML_ERR_XML, "/domain/memory: invalid unit 'furlong'" },
	{ "memory not a number", "<domain type='xen'><name>e</name><memory>-5</memory></domain>",
	  DOMXML_ERR_XML, "/domain/memory" },
	{ "vcpu 0", DOMV("<vcpu>0</vcpu>"), DOMXML_ERR_XML, "/domain/vcpu: vcpu count '0'" },
	{ "vcpu too many", DOMV("<vcpu>65</vcpu>"), DOMXML_ERR_XML, "/domain/vcpu: vcpu count '65'" },
	{ "current > vcpu", DOMV("<vcpu current='3'>2</vcpu>"), DOMXML_ERR_XML,
	  "/domain/vcpu: current vcpus (3)" },
	{ "cpuset", DOMV("<vcpu cpuset='1-3'>2</vcpu>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/vcpu: attribute 'cpuset'" },
	{ "no os", "<domain type='xen'><name>e</name><memory>65536</memory></domain>",
	  DOMXML_ERR_XML, "<os>" },
	{ "os type", "<domain type='xen'><name>e</name><memory>65536</memory><os><type>exe</type>"
	  "</os></domain>", DOMXML_ERR_UNSUPPORTED, "/domain/os/type: os type 'exe'" },
	{ "arch", "<domain type='xen'><name>e</name><memory>65536</memory><os><type arch='i686'>"
	  "xenpvh</type></os></domain>", DOMXML_ERR_UNSUPPORTED, "/domain/os/type: arch 'i686'" },
	{ "two os types", "<domain type='xen'><name>e</name><memory>65536</memory><os><type>xenpvh"
	  "</type><type>hvm</type></os></domain>", DOMXML_ERR_XML, "/domain/os/type[2]" },
	{ "no kernel", "<domain type='xen'><name>e</name><memory>65536</memory><os><type>xenpvh"
	  "</type></os></domain>", DOMXML_ERR_XML, "<kernel>" },
	{ "action", DOM("<on_reboot>explode</on_reboot>"), DOMXML_ERR_XML,
	  "/domain/on_reboot: invalid action 'explode'" },
	{ "coredump poweroff", DOM("<on_poweroff>coredump-destroy</on_poweroff>"), DOMXML_ERR_XML,
	  "/domain/on_poweroff" },
	{ "hostdev", DISK("<hostdev mode='subsystem' type='pci'/>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/devices/hostdev: element <hostdev>" },
	{ "graphics", DISK("<graphics type='vnc'/>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/devices/graphics" },
	{ "cputune", DOM("<cputune><shares>5</shares></cputune>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/cputune" },
	{ "foreign namespace", DOM("<q:commandline xmlns:q='urn:q'/>"), DOMXML_ERR_UNSUPPORTED,
	  "<q:commandline>" },
	{ "disk type", DISK("<disk type='network'><source protocol='rbd'/><target dev='xvda'/></disk>"),
	  DOMXML_ERR_UNSUPPORTED, "/domain/devices/disk: disk type 'network'" },
	{ "disk no type", DISK("<disk><source file='/i'/><target dev='xvda'/></disk>"),
	  DOMXML_ERR_XML, "/domain/devices/disk: attribute 'type'" },
	{ "disk device", DISK("<disk type='file' device='floppy'><source file='/i'/><target dev='fda'/></disk>"),
	  DOMXML_ERR_UNSUPPORTED, "/domain/devices/disk: disk device 'floppy'" },
	{ "disk qcow2", DISK("<disk type='file'><driver name='qemu' type='qcow2'/><source file='/i'/>"
	  "<target dev='xvda'/></disk>"), DOMXML_ERR_UNSUPPORTED, "/domain/devices/disk/driver" },
	{ "disk driver", DISK("<disk type='file'><driver name='tap9'/><source file='/i'/>"
	  "<target dev='xvda'/></disk>"), DOMXML_ERR_UNSUPPORTED, "driver 'tap9'" },
	{ "disk source attr", DISK("<disk type='block'><source file='/i'/><target dev='xvda'/></disk>"),
	  DOMXML_ERR_XML, "/domain/devices/disk/source: attribute 'dev'" },
	{ "disk no source", DISK("<disk type='file' device='cdrom'><target dev='xvdc'/></disk>"),
	  DOMXML_ERR_UNSUPPORTED, "/domain/devices/disk: <source>" },
	{ "disk no target", DISK("<disk type='file'><source file='/i'/></disk>"), DOMXML_ERR_XML,
	  "/domain/devices/disk: <target" },
	{ "disk bad vdev", DISK("<disk type='file'><source file='/i'/><target dev='floppy0'/></disk>"),
	  DOMXML_ERR_XML, "/domain/devices/disk: invalid vdev 'floppy0'" },
	{ "disk comma vdev", DISK("<disk type='file'><source file='/i'/><target dev='xvda,target=/x'/></disk>"),
	  DOMXML_ERR_UNSUPPORTED, "/domain/devices/disk: vdev" },
	{ "disk bus", DISK("<disk type='file'><source file='/i'/><target dev='vda' bus='virtio'/></disk>"),
	  DOMXML_ERR_UNSUPPORTED, "/domain/devices/disk/target: bus 'virtio'" },
	{ "disk shareable", DISK("<disk type='file'><source file='/i'/><target dev='xvda'/><shareable/></disk>"),
	  DOMXML_ERR_UNSUPPORTED, "/domain/devices/disk/shareable" },
	{ "two disks one target", DISK("<disk type='file'><source file='/a'/><target dev='xvda'/></disk>"
	  "<disk type='file'><source file='/b'/><target dev='xvda'/></disk>"), DOMXML_ERR_XML,
	  "/domain/devices/disk[2]: target dev 'xvda'" },
	{ "same device two names", DISK("<disk type='file'><source file='/a'/><target dev='xvda'/></disk>"
	  "<disk type='file'><source file='/b'/><target dev='d0'/></disk>"), DOMXML_ERR_XML,
	  "/domain/devices/disk[2]: target dev 'd0'" },
	{ "bad mac", NIC("<mac address='00:16:3e:zz:00:01'/>"), DOMXML_ERR_XML,
	  "/domain/devices/interface: invalid mac '00:16:3e:zz:00:01'" },
	{ "multicast mac", NIC("<mac address='01:16:3e:00:00:01'/>"), DOMXML_ERR_XML,
	  "/domain/devices/interface: mac '01:16:3e:00:00:01' is a multicast" },
	{ "mac no address", NIC("<mac/>"), DOMXML_ERR_XML,
	  "/domain/devices/interface/mac: attribute 'address'" },
	{ "two macs the same", DOM("<devices><interface type='ethernet'><mac address='00:16:3e:00:00:01'/>"
	  "</interface><interface type='ethernet'><mac address='00:16:3e:00:00:01'/></interface>"
	  "</devices>"), DOMXML_ERR_XML, "/domain/devices/interface[2]: mac 00:16:3e:00:00:01" },
	{ "nic type network", DOM("<devices><interface type='network'><source network='default'/>"
	  "</interface></devices>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/devices/interface: interface type 'network'" },
	{ "nic no bridge", DOM("<devices><interface type='bridge'><mac address='00:16:3e:00:00:01'/>"
	  "</interface></devices>"), DOMXML_ERR_XML, "/domain/devices/interface: <source bridge" },
	{ "nic model", NIC("<model type='e1000'/>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/devices/interface/model: model 'e1000'" },
	{ "nic bad bridge", DOM("<devices><interface type='bridge'><source bridge='a b'/>"
	  "</interface></devices>"), DOMXML_ERR_XML, "/domain/devices/interface: invalid bridge" },
	{ "nic bad ip", NIC("<ip address='10.0.0.300'/>"), DOMXML_ERR_XML,
	  "/domain/devices/interface: invalid ip" },
	{ "nic two ips", NIC("<ip address='10.0.0.3'/><ip address='10.0.0.4'/>"),
	  DOMXML_ERR_UNSUPPORTED, "/domain/devices/interface/ip[2]" },
	{ "nic vlan", NIC("<vlan><tag id='4'/></vlan>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/devices/interface/vlan" },
	{ "nic inbound", NIC("<bandwidth><inbound average='5'/></bandwidth>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/devices/interface/bandwidth/inbound" },
	{ "console file", DISK("<console type='file'><source path='/tmp/x'/></console>"),
	  DOMXML_ERR_UNSUPPORTED, "/domain/devices/console: console type 'file'" },
	{ "serial tcp", DISK("<serial type='tcp'/>"), DOMXML_ERR_UNSUPPORTED,
	  "/domain/devices/serial: serial type 'tcp'" },
	{ "billion laughs", "<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
	  " <!ENTITY a \"haha\">\n <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
	  " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
	  " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
	  " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n <!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
	  " <!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n]>\n"
	  "<domain type='xen'><name>&i;</name><memory>65536</memory></domain>",
	  DOMXML_ERR_XML, "entity" },
	{ "external entity", "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
	  "<domain type='xen'><name>&x;</name></domain>", DOMXML_ERR_XML, "DOCTYPE" },
};

static void test_error(struct unit *u, const void *arg)
{
	const struct error_row *row = arg;
	struct domain_config dc;
	char err[512] = "";
	int r = parse(row->xml, &dc, err, sizeof(err));

	CHECK_INT(r, row->code);
	CHECK(strstr(err, row->names), "message \"%s\" does not name \"%s\"", err, row->names);
	CHECK(!dc.name && !dc.disks && !dc.vifs && !dc.cmdline, "*dc not left empty");
	CHECK(!strstr(err, ".c:"), "a C location in \"%s\"", err);
}

/* A 2 MiB document (valid XML: a long description) is refused before it is parsed; one just
 * under the bound is read. */
static void test_too_big(struct unit *u, const void *arg)
{
	(void)arg;
	static const char head[] = "<domain type='xen'><name>big</name><memory>65536</memory>"
				   "<os><type>xenpvh</type><kernel>/k</kernel></os><description>";
	static const char tail[] = "</description></domain>";
	size_t size = 2u << 20;
	char *xml = malloc(size + 1), err[512] = "";
	struct domain_config dc;

	if (!xml) {
		CHECK(0, "out of memory");
		return;
	}
	memset(xml, 'x', size);
	memcpy(xml, head, strlen(head));
	memcpy(xml + size - strlen(tail), tail, strlen(tail));
	xml[size] = '\0';
	CHECK_INT(domxml_parse(xml, size, &dc, err, sizeof(err)), DOMXML_ERR_XML);
	CHECK(strstr(err, "2097152 bytes"), "message: %s", err);
	size = DOMXML_MAX_BYTES;
	memcpy(xml + size - strlen(tail), tail, strlen(tail));
	CHECK(domxml_parse(xml, size, &dc, err, sizeof(err)) == 0, "1 MiB: %s", err);
	domain_config_free(&dc);
	free(xml);
}

/* Not NUL-terminated: only len bytes are read. */
static void test_length_bound(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[512] = "", buf[sizeof(full_xml) + 8];

	memcpy(buf, full_xml, sizeof(full_xml) - 1);
	memcpy(buf + sizeof(full_xml) - 1, "<junk", 6);
	CHECK(domxml_parse(buf, sizeof(full_xml) - 1, &dc, err, sizeof(err)) == 0, "%s", err);
	domain_config_free(&dc);
}

/* --dump DIR: the formatted XML of every document above into DIR/NAME.xml, for
 * tests/system/libvirt_xml.sh to give to libvirt's own schema check (virt-xml-validate). */
static int dump(const char *dir)
{
	const char *docs[2 + sizeof(round_trip_docs) / sizeof(round_trip_docs[0])] = {
		full_xml, dialect_xml,
	};
	struct domxml_identity running = { .id = 12 };
	int status = 0;

	for (size_t i = 0; i < sizeof(round_trip_docs) / sizeof(round_trip_docs[0]); i++)
		docs[2 + i] = round_trip_docs[i];
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct domain_config dc;
		char err[512], path[4096], *xml = NULL;
		FILE *f;

		if (parse(docs[i], &dc, err, sizeof(err)) ||
		    !(xml = domxml_format(&dc, i % 2 ? &running : NULL, err, sizeof(err)))) {
			fprintf(stderr, "document %zu: %s\n", i, err);
			status = 1;
		} else {
			snprintf(path, sizeof(path), "%s/domain-%zu.xml", dir, i);
			f = fopen(path, "w");
			if (!f || fputs(xml, f) < 0 || fclose(f)) {
				perror(path);
				status = 1;
			}
		}
		free(xml);
		domain_config_free(&dc);
	}
	return status;
}

int main(int argc, char **argv)
{
	struct unit u = UNIT_INIT;
	char name[128];

	if (argc == 3 && !strcmp(argv[1], "--dump"))
		return dump(argv[2]);

	unit_case(&u, "domxml: full example", test_full_example, NULL);
	for (size_t i = 0; i < sizeof(unit_rows) / sizeof(unit_rows[0]); i++) {
		snprintf(name, sizeof(name), "domxml: memory %s", unit_rows[i].memory);
		unit_case(&u, name, test_unit, &unit_rows[i]);
	}
	unit_case(&u, "domxml: round trips of the full example", test_round_trip_full, NULL);
	unit_case(&u, "domxml: libvirt's dialect variations", test_dialect, NULL);
	unit_case(&u, "domxml: round trips of every os type and escaped text", test_round_trips, NULL);
	unit_case(&u, "domxml: escaping", test_escaping, NULL);
	unit_case(&u, "domxml: format is virsh dumpxml's text", test_format_exact, NULL);
	unit_case(&u, "domxml: a domain from an xl.cfg reads back", test_from_xl_cfg, NULL);
	for (size_t i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++) {
		snprintf(name, sizeof(name), "domxml: refused: %s", error_rows[i].name);
		unit_case(&u, name, test_error, &error_rows[i]);
	}
	unit_case(&u, "domxml: a 2 MiB document", test_too_big, NULL);
	unit_case(&u, "domxml: only len bytes are read", test_length_bound, NULL);
	return unit_finish(&u);
}
