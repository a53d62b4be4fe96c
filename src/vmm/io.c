#include <errno.h>
#include <string.h>
#include "lib/error.h"
#include "vmm/io.h"

/* Enough to see what a guest pokes at without letting a loop of bad accesses flood the log. */
#define IO_UNHANDLED_LOG_LIMIT 16

int io_bus_register(struct io_bus *bus, const char *name, uint64_t base, uint64_t len,
		    io_handler_fn fn, void *opaque)
{
	if (!len || base + len < base)
		return -EINVAL;
	for (unsigned int i = 0; i < bus->count; i++) {
		const struct io_region *r = &bus->regions[i];
		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	if (bus->count == IO_MAX_REGIONS)
		return -ENOSPC;
	bus->regions[bus->count++] = (struct io_region){
		.name = name, .base = base, .len = len, .fn = fn, .opaque = opaque,
	};
	return 0;
}

bool io_bus_dispatch(struct io_bus *bus, struct vcpu *vcpu, uint64_t addr, bool is_write,
		     uint8_t *data, unsigned int size)
{
	for (unsigned int i = 0; i < bus->count; i++) {
		struct io_region *r = &bus->regions[i];
		if (addr >= r->base && addr - r->base < r->len) {
			r->fn(r->opaque, vcpu, addr, is_write, data, size);
			return true;
		}
	}
	/* Counted from several vCPU threads: exactness does not matter, only that it never stops. */
	uint64_t seen = __atomic_fetch_add(&bus->unhandled, 1, __ATOMIC_RELAXED);
	if (seen < IO_UNHANDLED_LOG_LIMIT)
		LOG("unhandled %s %s at %#llx size %u", bus->name, is_write ? "write" : "read",
		    (unsigned long long)addr, size);
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}

int msr_table_register(struct msr_table *table, uint32_t index, msr_read_fn read, msr_write_fn write,
		       void *opaque)
{
	if (msr_table_find(table, index))
		return -EEXIST;
	if (table->count == MSR_MAX_HANDLERS)
		return -ENOSPC;
	table->handlers[table->count++] = (struct msr_handler){
		.index = index, .read = read, .write = write, .opaque = opaque,
	};
	return 0;
}

const struct msr_handler *msr_table_find(const struct msr_table *table, uint32_t index)
{
	for (unsigned int i = 0; i < table->count; i++)
		if (table->handlers[i].index == index)
			return &table->handlers[i];
	return NULL;
}
