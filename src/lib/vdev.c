/* Xen's virtual-device names and numbers (xen-vbd-interface(7)): xvdX[N], hdX[N], sdX[N] and dN[pM].
 * One parser for xl (the disk spec) and the VMM (blkback's --disk), so both accept the same names
 * and give them the same numbers. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "lib/vdev.h"

#define XVD_MAJOR        202
#define SD_MAJOR         8
#define HD_MAJOR_01      3       /* hda, hdb */
#define HD_MAJOR_23      22      /* hdc, hdd */
#define VDEV_EXTENDED    (1u << 28)
#define XVD_EXT_DISKS    (1ul << 20)
#define XVD_EXT_PARTS    256

/* Disk letters count like spreadsheet columns: a..z are 0..25, aa is 26, ab 27.  Five letters
 * already pass 2^20, the most any format holds. */
static bool parse_letters(const char **p, unsigned long *disk)
{
	const char *s = *p;
	unsigned long n = 0;
	size_t len = 0;

	while (*s >= 'a' && *s <= 'z') {
		if (++len > 5)
			return false;
		n = n * 26 + (unsigned long)(*s - 'a' + 1);
		s++;
	}
	if (len == 0)
		return false;
	*disk = n - 1;
	*p = s;
	return true;
}

/* Decimal digits without a leading zero (but "0" itself); at most 7 of them. */
static bool parse_digits(const char **p, unsigned long *v)
{
	const char *s = *p;
	unsigned long n = 0;
	size_t len = 0;

	while (*s >= '0' && *s <= '9') {
		if (++len > 7)
			return false;
		n = n * 10 + (unsigned long)(*s - '0');
		s++;
	}
	if (len == 0 || (len > 1 && **p == '0'))
		return false;
	*v = n;
	*p = s;
	return true;
}

static int xvd_number(unsigned long disk, unsigned long part, unsigned int *devid, char *why,
		      size_t whylen)
{
	if (disk < 16 && part < 16) {
		*devid = (XVD_MAJOR << 8) | (unsigned int)(disk << 4) | (unsigned int)part;
		return 0;
	}
	if (disk >= XVD_EXT_DISKS) {
		snprintf(why, whylen, "Xen virtual disks go up to number %lu", XVD_EXT_DISKS - 1);
		return -1;
	}
	if (part >= XVD_EXT_PARTS) {
		snprintf(why, whylen, "partitions of Xen virtual disks go up to %d",
			 XVD_EXT_PARTS - 1);
		return -1;
	}
	*devid = VDEV_EXTENDED | (unsigned int)(disk << 8) | (unsigned int)part;
	return 0;
}

int vdev_to_devid(const char *vdev, unsigned int *devid, char *why, size_t whylen)
{
	static const char expected[] = "expected xvd, hd or sd and a disk letter with an optional "
				       "partition number (xvda, hdc, sdb2), or dN[pM] "
				       "(see xen-vbd-interface(7))";
	const char *p = vdev;
	unsigned long disk, part = 0;

	if (!*vdev) {
		snprintf(why, whylen, "it is empty");
		return -1;
	}
	if (vdev[0] == 'd' && vdev[1] >= '0' && vdev[1] <= '9') {
		p++;
		if (!parse_digits(&p, &disk) || (*p == 'p' && (p++, !parse_digits(&p, &part))) || *p)
			goto bad;
		return xvd_number(disk, part, devid, why, whylen);
	}
	if (!strncmp(p, "xvd", 3) || !strncmp(p, "hd", 2) || !strncmp(p, "sd", 2)) {
		char kind = *p;

		p += kind == 'x' ? 3 : 2;
		if (!parse_letters(&p, &disk) || (*p && !parse_digits(&p, &part)) || *p)
			goto bad;
		if (kind == 'x')
			return xvd_number(disk, part, devid, why, whylen);
		if (kind == 's') {
			if (disk >= 16) {
				snprintf(why, whylen, "there are 16 SCSI disks, sda to sdp");
				return -1;
			}
			if (part >= 16) {
				snprintf(why, whylen, "partitions of SCSI disks go up to 15");
				return -1;
			}
			*devid = (SD_MAJOR << 8) | (unsigned int)(disk << 4) | (unsigned int)part;
			return 0;
		}
		if (disk >= 4) {
			snprintf(why, whylen, "there are four IDE disks, hda to hdd");
			return -1;
		}
		if (part >= 64) {
			snprintf(why, whylen, "partitions of IDE disks go up to 63");
			return -1;
		}
		*devid = ((disk < 2 ? HD_MAJOR_01 : HD_MAJOR_23) << 8) |
			 (unsigned int)((disk & 1) << 6) | (unsigned int)part;
		return 0;
	}
bad:
	snprintf(why, whylen, "%s", expected);
	return -1;
}
