/* The i8042 keyboard controller (ports 0x60, 0x64; IRQ 1) and system control port A (0x92):
 * hw/i8042.c. */
#ifndef XENITH_HW_I8042_H
#define XENITH_HW_I8042_H

#include "hw/device.h"

#define I8042_DATA_PORT 0x60
#define I8042_STATUS_PORT 0x64     /* reads: status; writes: controller commands */
#define I8042_PORT_A 0x92          /* system control port A: fast A20 (bit 1), reset (bit 0) */
#define I8042_KBD_IRQ 1
#define I8042_SAVED_SIZE 56

/* One row of the HVM device table claims all three ports (they share the A20 bit). */
extern const struct device_ops i8042_device;

#endif
