/* Xen's virtual-device names (lib/vdev.c, against xen-vbd-interface(7)), table-driven, and the
 * two programs that read them agreeing: every name goes through xl's disk spec parser
 * (xl_disk_parse), the spec xl hands the VMM (xl_disk_format_spec) and the VMM's parser
 * (blkback_config_parse), and through the VMM's parser alone; both take a name exactly when
 * vdev_to_devid does, with its number, and every refusal carries a reason.
 *
 * The numbers in the tables are worked out by hand from the man page's encodings, not by the
 * code under test: xvd (202 << 8) | disk << 4 | part, extended (1 << 28) | disk << 8 | part,
 * sd (8 << 8) | disk << 4 | part, hd majors 3 and 22 with the unit at bit 6. */
#define _GNU_SOURCE /* asprintf */
#include "backends/blkback.h"
#include "lib/vdev.h"
#include "xl/disk_config.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

#define XVD(disk, part) ((202u << 8) | ((disk) << 4) | (part))
#define EXT(disk, part) ((1u << 28) | ((unsigned int)(disk) << 8) | (part))
#define SD(disk, part) ((8u << 8) | ((disk) << 4) | (part))
#define HD(major, unit, part) (((major) << 8) | ((unit) << 6) | (part))

struct good {
	const char *name;
	unsigned int devid;
	const char *canonical;   /* vdev_name(devid) */
};

static const struct good goods[] = {
	/* Xen virtual disks, the 202 format: disks a..p, partitions up to 15. */
	{ "xvda", XVD(0, 0), "xvda" },
	{ "xvda1", XVD(0, 1), "xvda1" },
	{ "xvda15", XVD(0, 15), "xvda15" },
	{ "xvdb2", XVD(1, 2), "xvdb2" },
	{ "xvdp", XVD(15, 0), "xvdp" },
	{ "xvdp15", XVD(15, 15), "xvdp15" },
	/* Past 15 either way: the extended format. */
	{ "xvda16", EXT(0, 16), "xvda16" },
	{ "xvdp16", EXT(15, 16), "xvdp16" },
	{ "xvdq", EXT(16, 0), "xvdq" },
	{ "xvdq1", EXT(16, 1), "xvdq1" },
	{ "xvdz", EXT(25, 0), "xvdz" },
	{ "xvdaa", EXT(26, 0), "xvdaa" },
	{ "xvdaz", EXT(51, 0), "xvdaz" },
	{ "xvdba", EXT(52, 0), "xvdba" },
	{ "xvdzz", EXT(701, 0), "xvdzz" },
	{ "xvdaaa", EXT(702, 0), "xvdaaa" },
	{ "xvdtq37", EXT(536, 37), "xvdtq37" },      /* the man page's example */
	{ "xvda255", EXT(0, 255), "xvda255" },
	{ "xvdbgqcv", EXT(1048575, 0), "xvdbgqcv" }, /* the last disk: 2^20 - 1 */
	{ "xvdbgqcv255", EXT(1048575, 255), "xvdbgqcv255" },
	/* The same disks in decimal. */
	{ "d0", XVD(0, 0), "xvda" },
	{ "d0p0", XVD(0, 0), "xvda" },
	{ "d1p2", XVD(1, 2), "xvdb2" },
	{ "d15p15", XVD(15, 15), "xvdp15" },
	{ "d16", EXT(16, 0), "xvdq" },
	{ "d0p16", EXT(0, 16), "xvda16" },
	{ "d536p37", EXT(536, 37), "xvdtq37" },
	{ "d1048575", EXT(1048575, 0), "xvdbgqcv" },
	{ "d1048575p255", EXT(1048575, 255), "xvdbgqcv255" },
	/* SCSI: sda..sdp, partitions up to 15. */
	{ "sda", SD(0, 0), "sda" },
	{ "sda15", SD(0, 15), "sda15" },
	{ "sdb3", SD(1, 3), "sdb3" },
	{ "sdp", SD(15, 0), "sdp" },
	{ "sdp15", SD(15, 15), "sdp15" },
	/* IDE: hda, hdb on major 3, hdc, hdd on 22; partitions up to 63. */
	{ "hda", HD(3u, 0u, 0u), "hda" },
	{ "hda1", HD(3u, 0u, 1u), "hda1" },
	{ "hda63", HD(3u, 0u, 63u), "hda63" },
	{ "hdb", HD(3u, 1u, 0u), "hdb" },
	{ "hdb63", HD(3u, 1u, 63u), "hdb63" },
	{ "hdc", HD(22u, 0u, 0u), "hdc" },
	{ "hdc2", HD(22u, 0u, 2u), "hdc2" },
	{ "hdd", HD(22u, 1u, 0u), "hdd" },
	{ "hdd63", HD(22u, 1u, 63u), "hdd63" },
	/* Bare numbers, as Xen takes them, when they are some name's. */
	{ "51712", XVD(0, 0), "xvda" },
	{ "0xca00", XVD(0, 0), "xvda" },
	{ "0XCA01", XVD(0, 1), "xvda1" },
	{ "0145000", XVD(0, 0), "xvda" },           /* octal */
	{ "768", HD(3u, 0u, 0u), "hda" },
	{ "5696", HD(22u, 1u, 0u), "hdd" },
	{ "2303", SD(15, 15), "sdp15" },
	{ "268439552", EXT(16, 0), "xvdq" },
	{ "536870911", EXT(1048575, 255), "xvdbgqcv255" },   /* the largest number of all */
};

struct bad {
	const char *name;
	const char *why;         /* the whole reason */
	const char *xl_says;     /* xl's reason within a spec, where its grammar speaks first */
};

#define EXPECTED "expected xvd, sd or hd and a disk letter with an optional partition number " \
		 "(xvda, sdb2, hdc), dD[pN] (d0, d1p2) or a number (see xen-vbd-interface(7))"
#define XVD_DISKS "there are 1048576 Xen virtual disks, xvda to xvdbgqcv (d0 to d1048575)"

static const struct bad bads[] = {
	{ "", "it is empty", "no vdev given (like vdev=xvda)" },
	{ "xvdabcdefghijklmno", "it is longer than 15 characters" },
	{ "vda", EXPECTED },
	{ "floppy", EXPECTED },
	{ "d", EXPECTED },
	{ "dp1", EXPECTED },
	{ "Xvda", EXPECTED },
	{ "xvd", "expected a disk letter (a to z) after 'xvd', as in xvda" },
	{ "xvdA", "expected a disk letter (a to z) after 'xvd', as in xvda" },
	{ "sd", "expected a disk letter (a to z) after 'sd', as in sda" },
	{ "hd1", "expected a disk letter (a to z) after 'hd', as in hda" },
	{ "xvda1x", "expected a partition number after the disk letters, not '1x'" },
	{ "xvda-1", "expected a partition number after the disk letters, not '-1'" },
	{ "xvda+1", "expected a partition number after the disk letters, not '+1'" },
	{ "xvdaA", "expected a partition number after the disk letters, not 'A'" },
	{ "xvda01", "a partition number has no leading zero" },
	{ "xvda0", "partition 0 is the whole disk, written without a number: xvda" },
	{ "sdb0", "partition 0 is the whole disk, written without a number: sdb" },
	{ "hdc0", "partition 0 is the whole disk, written without a number: hdc" },
	/* One past each edge. */
	{ "xvda256", "partitions of Xen virtual disks go up to 255" },
	{ "xvdbgqcw", XVD_DISKS },
	{ "xvdaaaaaa", XVD_DISKS },
	{ "xvdzzzzzzzzzzzz", XVD_DISKS },           /* saturates, never wraps */
	{ "d1048576", XVD_DISKS },
	{ "d99999999999999", XVD_DISKS },
	{ "d0p256", "partitions of Xen virtual disks go up to 255" },
	{ "sdq", "there are 16 SCSI disks, sda to sdp" },
	{ "sdaa", "there are 16 SCSI disks, sda to sdp" },
	{ "sda16", "partitions of SCSI disks go up to 15" },
	{ "hde", "there are 4 IDE disks, hda to hdd" },
	{ "hda64", "partitions of IDE disks go up to 63" },
	{ "hdd64", "partitions of IDE disks go up to 63" },
	/* The decimal form. */
	{ "d01", "expected a disk number without leading zeros after 'd', as in d0 or d1p2" },
	{ "d0p", "expected a partition number without leading zeros after 'p', as in d1p2" },
	{ "d0p01", "expected a partition number without leading zeros after 'p', as in d1p2" },
	{ "d0q1", "expected dD or dDpN with decimal numbers, not '...q1' at the end" },
	{ "d1p2p3", "expected dD or dDpN with decimal numbers, not '...p3' at the end" },
	/* Bare numbers that are no name's, or a second number for one. */
	{ "0", "0 is not the number of any xvd, sd or hd name (reserved or deprecated in "
	       "xen-vbd-interface(7))" },
	{ "51711", "51711 is not the number of any xvd, sd or hd name (reserved or deprecated in "
		   "xen-vbd-interface(7))" },
	{ "51968", "51968 is not the number of any xvd, sd or hd name (reserved or deprecated in "
		   "xen-vbd-interface(7))" },
	{ "896", "896 is not the number of any xvd, sd or hd name (reserved or deprecated in "
		 "xen-vbd-interface(7))" },                    /* hd major 3, unit 2: not a name */
	{ "536870912", "536870912 is not the number of any xvd, sd or hd name (reserved or "
		       "deprecated in xen-vbd-interface(7))" },  /* 2 << 28: reserved */
	{ "268435456", "268435456 is xvda in the extended format, which is only for disks or "
		       "partitions past 15: xvda is 51712" },
	{ "268439311", "268439311 is xvdp15 in the extended format, which is only for disks or "
		       "partitions past 15: xvdp15 is 51967" },
	{ "99999999999999", "99999999999999 is not the number of any xvd, sd or hd name (reserved "
			    "or deprecated in xen-vbd-interface(7))" },
	{ "0x", "'0x' is not a hexadecimal number" },
	{ "0xcag", "'0xcag' is not a hexadecimal number" },
	{ "089", "'089' is not an octal number" },
	{ "-1", EXPECTED },
	{ "+1", EXPECTED },
	{ "12a", "'12a' is not a decimal number" },
};

/* The name through both programs: xl's parse, the spec xl sends, the VMM's parse of it, and the
 * VMM's parse of the name alone.  want < 0: all refuse, each naming the reason. */
static void check_both_paths(struct unit *u, const char *name, long long want, const char *why,
			     const char *xl_says)
{
	struct xl_disk disk;
	struct blkback_config c;
	char *spec = NULL, err[512] = "";
	int xl_rc, vmm_rc;

	if (asprintf(&spec, "vdev=%s,target=/srv/guest.img", name) < 0) {
		CHECK(0, "out of memory");
		return;
	}
	xl_rc = xl_disk_parse(spec, "t.cfg:1: disk 0: ", &disk, NULL, err, sizeof(err));
	CHECK((xl_rc == 0) == (want >= 0), "xl_disk_parse(%s): %d %s", spec, xl_rc, err);
	if (xl_rc == 0 && want >= 0) {
		char *sent = xl_disk_format_spec(&disk);

		CHECK_INT(disk.devid, want);
		CHECK(sent, "xl_disk_format_spec: out of memory");
		if (sent) {
			vmm_rc = blkback_config_parse(sent, &c, err, sizeof(err));
			CHECK(vmm_rc == 0, "the VMM refused xl's spec '%s': %s", sent, err);
			if (vmm_rc == 0) {
				CHECK_INT(c.devid, want);
				CHECK_STR(c.vdev, name);
			}
		}
		free(sent);
	} else if (xl_rc && want < 0) {
		CHECK(strstr(err, xl_says ? xl_says : why), "xl's message '%s' lacks the reason '%s'",
		      err, xl_says ? xl_says : why);
	}
	xl_disk_free(&disk);

	vmm_rc = blkback_config_parse(spec, &c, err, sizeof(err));
	CHECK((vmm_rc == 0) == (want >= 0), "blkback_config_parse(%s): %d %s", spec, vmm_rc, err);
	if (vmm_rc == 0 && want >= 0)
		CHECK_INT(c.devid, want);
	else if (vmm_rc && want < 0)
		CHECK(strstr(err, why), "the VMM's message '%s' lacks the reason '%s'", err, why);
	free(spec);
}

static void test_good(struct unit *u, const void *arg)
{
	const struct good *g = arg;
	unsigned int devid = 0, again = 0;
	char why[256] = "", name[VDEV_NAME_MAX + 1] = "";

	CHECK(vdev_to_devid(g->name, &devid, why, sizeof(why)) == 0, "refused: %s", why);
	CHECK_INT(devid, g->devid);
	CHECK(vdev_name(g->devid, name, sizeof(name)) == 0, "no name for %u", g->devid);
	CHECK_STR(name, g->canonical);
	CHECK(vdev_to_devid(name, &again, why, sizeof(why)) == 0 && again == g->devid,
	      "the canonical name %s reads back as %u (%s)", name, again, why);
	check_both_paths(u, g->name, g->devid, NULL, NULL);
}

static void test_bad(struct unit *u, const void *arg)
{
	const struct bad *b = arg;
	unsigned int devid = 0;
	char why[256] = "";

	CHECK(vdev_to_devid(b->name, &devid, why, sizeof(why)) == -1, "accepted as %u", devid);
	CHECK_STR(why, b->why);
	/* A refusal without a buffer for the reason, or with a tiny one, is still a refusal. */
	CHECK(vdev_to_devid(b->name, &devid, NULL, 0) == -1, "accepted without why");
	CHECK(vdev_to_devid(b->name, &devid, why, 4) == -1 && strlen(why) == 3,
	      "a 4-byte why holds '%s'", why);
	check_both_paths(u, b->name, -1, b->why, b->xl_says);
}

/* Every number below 2^16, and every number of every row's edges above: vdev_name names it
 * exactly when it is canonical, and the name reads back as the number. */
static void test_numbers_round_trip(struct unit *u, const void *arg)
{
	static const uint32_t high[] = {
		1u << 28, (1u << 28) | 15, (1u << 28) | 16, (1u << 28) | (15 << 8) | 15,
		(1u << 28) | (15 << 8) | 16, (1u << 28) | (16 << 8), EXT(1048575, 255),
		EXT(1048575, 255) + 1, 2u << 28, UINT32_MAX,
	};
	unsigned int named = 0;
	(void)arg;

	for (uint64_t n = 0; n < (1u << 16) + sizeof(high) / sizeof(high[0]); n++) {
		uint32_t devid = n < (1u << 16) ? (uint32_t)n : high[n - (1u << 16)];
		char name[VDEV_NAME_MAX + 1], why[256];
		unsigned int back = 0;

		if (vdev_name(devid, name, sizeof(name)))
			continue;
		named++;
		if (vdev_to_devid(name, &back, why, sizeof(why)) || back != devid)
			CHECK(0, "%u is named %s, which reads back as %u (%s)", devid, name, back, why);
	}
	/* Below 2^16: 256 xvd, 256 sd and 4 * 64 hd numbers have names; of high[], the canonical
	 * extended ones: disk 0 partition 16, 15:16, 16:0 and the last, 1048575:255. */
	CHECK_INT(named, 256 + 256 + 256 + 4);
}

/* Every candidate a grammar makes of prefixes, letters and digits: both programs take it exactly
 * when the parser does, with its number; and the parser never accepts a name whose canonical
 * name reads back as another number. */
static void test_grammar_sweep(struct unit *u, const void *arg)
{
	static const char *const prefixes[] = { "xvd", "sd", "hd", "d", "", "x", "xv" };
	static const char *const middles[] = { "", "a", "p", "q", "z", "aa", "bgqcv", "bgqcw", "0",
					       "1", "15", "16", "01", "A" };
	static const char *const tails[] = { "", "0", "1", "15", "16", "63", "64", "255", "256",
					     "p", "p0", "p1", "p15", "p16", "p255", "p256", "x" };
	unsigned int tried = 0, taken = 0;
	(void)arg;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		for (size_t j = 0; j < sizeof(middles) / sizeof(middles[0]); j++)
			for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
				char name[64], why[256] = "", spec[128], err[512] = "";
				unsigned int devid = 0;
				struct blkback_config c;
				struct xl_disk disk;
				int rc, xl_rc, vmm_rc;

				snprintf(name, sizeof(name), "%s%s%s", prefixes[i], middles[j], tails[k]);
				rc = vdev_to_devid(name, &devid, why, sizeof(why));
				CHECK(rc == 0 || why[0], "%s refused without a reason", name);
				snprintf(spec, sizeof(spec), "vdev=%s,target=/i", name);
				xl_rc = xl_disk_parse(spec, "", &disk, NULL, err, sizeof(err));
				if (xl_rc != rc || (!rc && disk.devid != devid))
					CHECK(0, "%s: parser %d (%u), xl %d (%u): %s", name, rc, devid,
					      xl_rc, disk.devid, err);
				xl_disk_free(&disk);
				vmm_rc = blkback_config_parse(spec, &c, err, sizeof(err));
				if (vmm_rc != rc || (!rc && (unsigned int)c.devid != devid))
					CHECK(0, "%s: parser %d (%u), VMM %d (%d): %s", name, rc, devid,
					      vmm_rc, c.devid, err);
				tried++;
				taken += rc == 0;
			}
	CHECK(taken > 100 && taken < tried, "%u of %u names taken", taken, tried);
}

/* xl's spec grammar drops the blanks that end an item; what it sends the VMM is the bare name,
 * which the VMM takes.  The name itself has no blanks: the parser refuses them. */
static void test_blanks_after(struct unit *u, const void *arg)
{
	struct xl_disk disk;
	struct blkback_config c;
	char err[512] = "", *sent = NULL;
	unsigned int devid;
	(void)arg;

	CHECK(vdev_to_devid(" xvda", &devid, NULL, 0) == -1, "the parser took ' xvda'");
	CHECK(vdev_to_devid("xvda ", &devid, NULL, 0) == -1, "the parser took 'xvda '");
	if (xl_disk_parse("vdev=xvdb ,target=/i", "", &disk, NULL, err, sizeof(err))) {
		CHECK(0, "xl refused: %s", err);
		return;
	}
	CHECK_STR(disk.vdev, "xvdb");
	sent = xl_disk_format_spec(&disk);
	CHECK(sent && blkback_config_parse(sent, &c, err, sizeof(err)) == 0 && c.devid == XVD(1, 0),
	      "the VMM on '%s': %s", sent ? sent : "(null)", err);
	free(sent);
	xl_disk_free(&disk);
}

/* The VMM keeps the name as xl wrote it; its buffer holds the longest name the parser takes. */
static void test_name_sizes(struct unit *u, const void *arg)
{
	struct blkback_config c;
	(void)arg;

	CHECK_INT(sizeof(c.vdev), VDEV_NAME_MAX + 1);
	CHECK_INT(DISK_VDEV_MAX, VDEV_NAME_MAX);
	CHECK_INT(BLKBACK_MAX_DISKS, DOMAIN_MAX_DISKS);
	CHECK(strlen("d1048575p255") <= VDEV_NAME_MAX && strlen("xvdbgqcv255") <= VDEV_NAME_MAX,
	      "the longest names do not fit");
}

int main(void)
{
	struct unit u = UNIT_INIT;
	static char names[sizeof(goods) / sizeof(goods[0]) + sizeof(bads) / sizeof(bads[0])][48];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++, n++) {
		snprintf(names[n], sizeof(names[n]), "vdev %s is %u", goods[i].name, goods[i].devid);
		unit_case(&u, names[n], test_good, &goods[i]);
	}
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++, n++) {
		snprintf(names[n], sizeof(names[n]), "vdev '%s' refused", bads[i].name);
		unit_case(&u, names[n], test_bad, &bads[i]);
	}
	unit_case(&u, "numbers: named exactly when canonical, names read back", test_numbers_round_trip,
		  NULL);
	unit_case(&u, "grammar sweep: xl, the VMM and the parser agree", test_grammar_sweep, NULL);
	unit_case(&u, "blanks after the name: xl drops them, sends the bare name", test_blanks_after,
		  NULL);
	unit_case(&u, "name buffers and the disk limit are the shared ones", test_name_sizes, NULL);
	return unit_finish(&u);
}
