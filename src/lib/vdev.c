/* Xen's virtual-device names and numbers (xen-vbd-interface(7)).
 *
 * A name is a family (Xen virtual disk, SCSI, IDE), a disk and a partition; its number comes from
 * the first row of `encodings` of that family that holds both:
 *
 *   xvd  (202 << 8) | disk << 4 | partition        disks 0..15,     partitions 0..15
 *   xvd  (1 << 28)  | disk << 8 | partition        disks 0..2^20-1, partitions 0..255
 *   sd   (8 << 8)   | disk << 4 | partition        disks 0..15,     partitions 0..15
 *   hd   (3 << 8)   | disk << 6 | partition        disks 0..1,      partitions 0..63
 *   hd   (22 << 8)  | (disk - 2) << 6 | partition  disks 2..3,      partitions 0..63
 *
 * So xvda16 and xvdq take the extended row, while xvda is always 51712.  A number read back
 * (vdev_name, and bare numbers in a config) is canonical only if encoding its disk and partition
 * gives it again: (1 << 28) | 0 would be xvda a second time, and is refused.
 *
 * Disk letters count as a spreadsheet's columns (a..z are 0..25, aa is 26); dD[pN] spells an xvd
 * disk in decimal.  Numbers saturate while read, so no name, however long, overflows. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "lib/vdev.h"

enum vdev_family { VDEV_XVD, VDEV_SD, VDEV_HD, VDEV_FAMILIES };

struct vdev_family_info {
	const char *prefix;          /* of the letter form */
	const char *disks_are;       /* for messages: "Xen virtual disks" */
};

static const struct vdev_family_info families[VDEV_FAMILIES] = {
	[VDEV_XVD] = { "xvd", "Xen virtual disks" },
	[VDEV_SD] = { "sd", "SCSI disks" },
	[VDEV_HD] = { "hd", "IDE disks" },
};

struct vdev_encoding {
	enum vdev_family family;
	uint32_t base;
	uint32_t first_disk, disks;  /* the disks this row holds */
	unsigned int disk_shift;     /* the partition field's width */
	uint32_t partitions;         /* at most 1 << disk_shift */
};

static const struct vdev_encoding encodings[] = {
	{ VDEV_XVD, 202u << 8, 0, 16, 4, 16 },
	{ VDEV_XVD, 1u << 28, 0, 1u << 20, 8, 256 },
	{ VDEV_SD, 8u << 8, 0, 16, 4, 16 },
	{ VDEV_HD, 3u << 8, 0, 2, 6, 64 },
	{ VDEV_HD, 22u << 8, 2, 2, 6, 64 },
};
#define N_ENCODINGS (sizeof(encodings) / sizeof(encodings[0]))

/* Past every limit above, and far from overflowing 64 bits. */
#define SATURATED (UINT64_C(1) << 40)

static void __attribute__((format(printf, 3, 4)))
because(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* The disk letters of disk number `disk` into out (at least 8 bytes: 2^20 needs 5 letters). */
static void disk_letters(uint32_t disk, char out[8])
{
	char rev[8];
	size_t n = 0;
	uint64_t v = (uint64_t)disk + 1;

	while (v && n < sizeof(rev) - 1) {
		v--;
		rev[n++] = (char)('a' + v % 26);
		v /= 26;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
}

/* Disk letters are digits too, of a base 26 without a zero: a..z are 1..26, so "aa" is 27 and
 * the disk is one less. */
#define LETTERS 26u

static int digit_value(char c, unsigned int base)
{
	int v;

	if (base == LETTERS)
		return c >= 'a' && c <= 'z' ? c - 'a' + 1 : -1;
	v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
	return v < (int)base ? v : -1;
}

/* Digits of `base` (or LETTERS) at *p, saturating; false if there are none. */
static bool read_number(const char **p, unsigned int base, uint64_t *value)
{
	const char *s = *p;
	uint64_t n = 0;
	int d;

	while ((d = digit_value(*s, base)) >= 0) {
		n = n * base + (uint64_t)d;
		if (n > SATURATED)
			n = SATURATED;
		s++;
	}
	if (s == *p)
		return false;
	*value = n;
	*p = s;
	return true;
}

/* Lowercase letters at *p as a disk number; false if there are none. */
static bool read_letters(const char **p, uint64_t *disk)
{
	uint64_t n;

	if (!read_number(p, LETTERS, &n))
		return false;
	*disk = n - 1;
	return true;
}

/* The number of (family, disk, partition), or -1 with why. */
static int64_t encode(enum vdev_family family, uint64_t disk, uint64_t partition, char *why,
		      size_t whylen)
{
	const struct vdev_encoding *holds_disk = NULL;
	uint64_t last_disk = 0;

	for (size_t i = 0; i < N_ENCODINGS; i++) {
		const struct vdev_encoding *e = &encodings[i];

		if (e->family != family)
			continue;
		if (e->first_disk + e->disks - 1 > last_disk)
			last_disk = e->first_disk + e->disks - 1;
		if (disk < e->first_disk || disk - e->first_disk >= e->disks)
			continue;
		if (!holds_disk || e->partitions > holds_disk->partitions)
			holds_disk = e;
		if (partition < e->partitions)
			return (int64_t)(e->base | (uint32_t)(disk - e->first_disk) << e->disk_shift |
					 (uint32_t)partition);
	}
	if (!holds_disk) {
		char last[8], decimal[24] = "";

		disk_letters((uint32_t)last_disk, last);
		if (family == VDEV_XVD)
			snprintf(decimal, sizeof(decimal), " (d0 to d%llu)",
				 (unsigned long long)last_disk);
		because(why, whylen, "there are %llu %s, %sa to %s%s%s",
			(unsigned long long)last_disk + 1, families[family].disks_are,
			families[family].prefix, families[family].prefix, last, decimal);
		return -1;
	}
	because(why, whylen, "partitions of %s go up to %u", families[family].disks_are,
		holds_disk->partitions - 1);
	return -1;
}

/* A partition number (or dN's disk) must not start with 0, unless it is 0 and 0 is allowed. */
static bool leading_zero(const char *digits, const char *end)
{
	return digits[0] == '0' && end - digits > 1;
}

/* xvdX[N], sdX[N], hdX[N]: after the prefix. */
static int64_t parse_letter_form(enum vdev_family family, const char *name, const char *p,
				 char *why, size_t whylen)
{
	const char *prefix = families[family].prefix;
	uint64_t disk, partition = 0;

	if (!read_letters(&p, &disk)) {
		because(why, whylen, "expected a disk letter (a to z) after '%s', as in %sa", prefix,
			prefix);
		return -1;
	}
	if (*p) {
		const char *digits = p;

		if (!read_number(&p, 10, &partition) || *p) {
			because(why, whylen, "expected a partition number after the disk letters, not "
				"'%s'", digits);
			return -1;
		}
		if (leading_zero(digits, p)) {
			because(why, whylen, "a partition number has no leading zero");
			return -1;
		}
		if (partition == 0) {
			because(why, whylen, "partition 0 is the whole disk, written without a number: "
				"%.*s", (int)(digits - name), name);
			return -1;
		}
	}
	return encode(family, disk, partition, why, whylen);
}

/* dD[pN]: Xen virtual disk D, partition N, in decimal; d0p0 is d0. */
static int64_t parse_decimal_form(const char *p, char *why, size_t whylen)
{
	const char *digits = p;
	uint64_t disk, partition = 0;

	if (!read_number(&p, 10, &disk) || leading_zero(digits, p)) {
		because(why, whylen, "expected a disk number without leading zeros after 'd', as in "
			"d0 or d1p2");
		return -1;
	}
	if (*p == 'p') {
		digits = ++p;
		if (!read_number(&p, 10, &partition) || leading_zero(digits, p)) {
			because(why, whylen, "expected a partition number without leading zeros after "
				"'p', as in d1p2");
			return -1;
		}
	}
	if (*p) {
		because(why, whylen, "expected dD or dDpN with decimal numbers, not '...%s' at the end",
			p);
		return -1;
	}
	return encode(VDEV_XVD, disk, partition, why, whylen);
}

/* The disk and partition a number encodes, by the row it falls in; false if none. */
static bool decode(uint32_t devid, enum vdev_family *family, uint32_t *disk, uint32_t *partition)
{
	for (size_t i = 0; i < N_ENCODINGS; i++) {
		const struct vdev_encoding *e = &encodings[i];
		uint64_t span = (uint64_t)e->disks << e->disk_shift;
		uint32_t rel = devid - e->base;

		if (devid < e->base || rel >= span)
			continue;
		if ((rel & ((1u << e->disk_shift) - 1)) >= e->partitions)
			return false;
		*family = e->family;
		*disk = e->first_disk + (rel >> e->disk_shift);
		*partition = rel & ((1u << e->disk_shift) - 1);
		return true;
	}
	return false;
}

int vdev_name(unsigned int devid, char *name, size_t len)
{
	enum vdev_family family;
	uint32_t disk, partition;
	char letters[8], part[12] = "";

	if (!decode(devid, &family, &disk, &partition) ||
	    encode(family, disk, partition, NULL, 0) != (int64_t)devid)
		return -1;
	disk_letters(disk, letters);
	if (partition)
		snprintf(part, sizeof(part), "%u", partition);
	if ((size_t)snprintf(name, len, "%s%s%s", families[family].prefix, letters, part) >= len)
		return -1;
	return 0;
}

/* A bare number: decimal, 0x hex or 0 octal, as Xen's config files take it. */
static int64_t parse_number_form(const char *name, char *why, size_t whylen)
{
	const char *p = name;
	unsigned int base = 10;
	uint64_t value;
	char canonical[VDEV_NAME_MAX + 1];
	enum vdev_family family;
	uint32_t disk, partition;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	else if (p[0] == '0' && p[1])
		base = 8, p++;
	if (!read_number(&p, base, &value) || *p) {
		because(why, whylen, "'%s' is not %s number", name,
			base == 16 ? "a hexadecimal" : base == 8 ? "an octal" : "a decimal");
		return -1;
	}
	if (value <= UINT32_MAX && !vdev_name((uint32_t)value, canonical, sizeof(canonical)))
		return (int64_t)value;
	if (value <= UINT32_MAX && decode((uint32_t)value, &family, &disk, &partition)) {
		/* In a row, but not the first that holds it: a second number for one name. */
		int64_t right = encode(family, disk, partition, NULL, 0);

		vdev_name((uint32_t)right, canonical, sizeof(canonical));
		because(why, whylen, "%s is %s in the extended format, which is only for disks or "
			"partitions past 15: %s is %lld", name, canonical, canonical, (long long)right);
		return -1;
	}
	because(why, whylen, "%s is not the number of any xvd, sd or hd name (reserved or "
		"deprecated in xen-vbd-interface(7))", name);
	return -1;
}

int vdev_to_devid(const char *name, unsigned int *devid, char *why, size_t whylen)
{
	static const char expected[] = "expected xvd, sd or hd and a disk letter with an optional "
				       "partition number (xvda, sdb2, hdc), dD[pN] (d0, d1p2) or a "
				       "number (see xen-vbd-interface(7))";
	size_t len = strnlen(name, VDEV_NAME_MAX + 1);
	int64_t number = -1;

	if (len == 0) {
		because(why, whylen, "it is empty");
		return -1;
	}
	if (len > VDEV_NAME_MAX) {
		because(why, whylen, "it is longer than %d characters", VDEV_NAME_MAX);
		return -1;
	}
	if (name[0] >= '0' && name[0] <= '9') {
		number = parse_number_form(name, why, whylen);
	} else if (name[0] == 'd' && name[1] >= '0' && name[1] <= '9') {
		number = parse_decimal_form(name + 1, why, whylen);
	} else {
		size_t f;

		for (f = 0; f < VDEV_FAMILIES; f++)
			if (!strncmp(name, families[f].prefix, strlen(families[f].prefix)))
				break;
		if (f == VDEV_FAMILIES) {
			because(why, whylen, "%s", expected);
			return -1;
		}
		number = parse_letter_form((enum vdev_family)f, name,
					   name + strlen(families[f].prefix), why, whylen);
	}
	if (number < 0)
		return -1;
	*devid = (unsigned int)number;
	return 0;
}
