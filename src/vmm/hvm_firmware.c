/* An HVM domain's firmware and chipset glue (hvm_firmware.h).  SeaBIOS expects what a PC gives it:
 * its image at the top of the 4 GiB address space (the reset vector is 16 bytes below 4 GiB) and the
 * BIOS segment 0xf0000 readable in real mode; it then copies itself to RAM below 1 MiB through the
 * chipset's PAM registers.  Here the low copy is plain RAM from the start, which makes the PAM
 * dance a harmless copy onto itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/hvm_firmware.h"

static int read_firmware(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		ERR_SET(err, errlen, "firmware %s: %s%s", path, strerror(errno),
			errno == ENOENT ? " (Debian's seabios package installs it)" : "");
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (64 << 10) ||
	    st.st_size > HVM_FIRMWARE_MAX || st.st_size % (64 << 10)) {
		ERR_SET(err, errlen, "firmware %s: expected a regular file of 64 KiB to 16 MiB in whole 64 KiB "
			"blocks", path);
		close(fd);
		return -1;
	}
	*len = (size_t)st.st_size;
	*data = malloc(*len);
	size_t got = 0;
	while (*data && got < *len) {
		ssize_t n = read(fd, *data + got, *len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!*data || got != *len) {
		ERR_SET(err, errlen, "firmware %s: %s", path, *data ? "short read" : "out of memory");
		free(*data);
		*data = NULL;
		return -1;
	}
	return 0;
}

int hvm_build(struct domain *dom, const char *firmware, char *err, size_t errlen)
{
	uint8_t *image;
	size_t len;

	if (read_firmware(firmware, &image, &len, err, errlen))
		return -1;
	size_t low = len < HVM_BIOS_LOW_MAX ? len : HVM_BIOS_LOW_MAX;
	uint8_t *below_1m = vm_ram_gpa_to_hva(&dom->vm, 0x100000 - low, low);
	int r = -1;
	if (!below_1m) {
		ERR_SET(err, errlen, "the domain's RAM does not reach 1 MiB, where the firmware goes");
		goto out;
	}
	memcpy(below_1m, image + len - low, low);
	if (vm_map_rom(&dom->vm, 0x100000000ull - len, image, len, err, errlen) ||
	    vm_create_pit(&dom->vm, err, errlen))
		goto out;
	dom->irq = (struct irq_router){ .set = vm_irq_line, .opaque = &dom->vm };
	r = 0;
out:
	free(image);
	return r;
}
