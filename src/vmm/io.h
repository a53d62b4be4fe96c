/* Port, MMIO and MSR dispatch: devices register ranges, the vCPU loop looks them up and never knows
 * a device by name.  Tables are filled while the domain is built and only read once vCPUs run. */
#ifndef XENITH_IO_H
#define XENITH_IO_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* data holds `size` bytes, little-endian: filled by the handler on reads. */
typedef void (*io_handler_fn)(void *opaque, struct vcpu *vcpu, uint64_t addr, bool is_write,
			      uint8_t *data, unsigned int size);
/* Returns 0, or -1 to make the access fault (#GP) in the guest. */
typedef int (*msr_read_fn)(void *opaque, struct vcpu *vcpu, uint32_t index, uint64_t *value);
typedef int (*msr_write_fn)(void *opaque, struct vcpu *vcpu, uint32_t index, uint64_t value);

#define IO_MAX_REGIONS 32
#define MSR_MAX_HANDLERS 16

struct io_region {
	const char *name;
	uint64_t base, len;
	io_handler_fn fn;
	void *opaque;
};

struct io_bus {
	const char *name;        /* "port" or "mmio", for messages */
	struct io_region regions[IO_MAX_REGIONS];
	unsigned int count;
	uint64_t unhandled;      /* accesses nobody claimed: logged the first few times, counted always */
};

struct msr_handler {
	uint32_t index;
	msr_read_fn read;
	msr_write_fn write;
	void *opaque;
};

struct msr_table {
	struct msr_handler handlers[MSR_MAX_HANDLERS];
	unsigned int count;
};

/* 0, or -EEXIST (overlap) / -ENOSPC. */
int io_bus_register(struct io_bus *bus, const char *name, uint64_t base, uint64_t len,
		    io_handler_fn fn, void *opaque);
/* Returns true if a region took the access; unclaimed reads read as all ones. */
bool io_bus_dispatch(struct io_bus *bus, struct vcpu *vcpu, uint64_t addr, bool is_write,
		     uint8_t *data, unsigned int size);
int msr_table_register(struct msr_table *table, uint32_t index, msr_read_fn read, msr_write_fn write,
		       void *opaque);
const struct msr_handler *msr_table_find(const struct msr_table *table, uint32_t index);

#endif
