/* KVM's binary statistics (Documentation/virt/kvm/api.rst, KVM_GET_STATS_FD): a header, an id string,
 * descriptors of (sizeof(struct kvm_stats_desc) + name_size) bytes each, and the data, every offset
 * taken from the header.  We look the name up once and then pread one u64.  The kernel writes the
 * file, but its layout is still checked: a descriptor past the file's end, a name without its NUL, or
 * a counter of another type or size is refused, not trusted. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/error.h"
#include "vmm/kvm_stats.h"

#define MAX_NAME 256             /* KVM_STATS_NAME_SIZE is 48 today */
#define MAX_DESCS 4096

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

int kvm_stat_counter_open(struct kvm_stat_counter *c, int stats_fd, const char *name, char *why, size_t len)
{
	struct kvm_stats_header h;
	uint8_t desc[sizeof(struct kvm_stats_desc) + MAX_NAME];

	c->fd = -1;
	if (!read_at(stats_fd, &h, sizeof(h), 0)) {
		ERR_SET(why, len, "KVM stats: header unreadable");
		goto fail;
	}
	if (h.name_size == 0 || h.name_size > MAX_NAME || h.num_desc > MAX_DESCS) {
		ERR_SET(why, len, "KVM stats: name size %u or %u descriptors out of range", h.name_size, h.num_desc);
		goto fail;
	}
	size_t step = sizeof(struct kvm_stats_desc) + h.name_size;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)desc;
		if (!read_at(stats_fd, desc, step, (uint64_t)h.desc_offset + (uint64_t)i * step)) {
			ERR_SET(why, len, "KVM stats: descriptor %u unreadable", i);
			goto fail;
		}
		if (!memchr(d->name, 0, h.name_size) || strcmp(d->name, name))
			continue;
		if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE || d->size != 1) {
			ERR_SET(why, len, "KVM stats: '%s' is not a single cumulative counter", name);
			goto fail;
		}
		c->data_at = (uint64_t)h.data_offset + d->offset;
		uint64_t probe;
		if (!read_at(stats_fd, &probe, sizeof(probe), c->data_at)) {
			ERR_SET(why, len, "KVM stats: '%s' at offset %llu unreadable", name, (unsigned long long)c->data_at);
			goto fail;
		}
		c->fd = stats_fd;
		return 0;
	}
	ERR_SET(why, len, "KVM stats: no counter '%s'", name);
fail:
	close(stats_fd);
	return -1;
}

bool kvm_stat_counter_read(const struct kvm_stat_counter *c, uint64_t *value)
{
	return c->fd >= 0 && read_at(c->fd, value, sizeof(*value), c->data_at);
}

void kvm_stat_counter_close(struct kvm_stat_counter *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
