/* Devices register themselves through a table; the domain builds them in order and tears them down
 * in reverse.  A device claims port/MMIO ranges in init and keeps its state in `state`, which it
 * saves and restores through its own hooks (for migration and save files), as the PV backends do
 * (backends/pv_backend.h). */
#ifndef XENITH_DEVICE_H
#define XENITH_DEVICE_H

#include <stddef.h>
#include <stdint.h>

struct domain;

struct device_ops {
	const char *name;
	/* Returns 0, or -1 with err set. */
	int (*init)(struct domain *dom, void **state, char *err, size_t errlen);
	void (*teardown)(struct domain *dom, void *state);
	/* Optional, both or neither: the device's state into buf (len bytes there), returning the
	 * bytes written or -1 when they do not fit; and back from what save wrote, which may come
	 * from a file or another host, so everything is checked: 0, or -1 with err.  A device
	 * without them has nothing to save (or cannot be saved yet: devices_save says which). */
	long (*save)(struct domain *dom, void *state, uint8_t *buf, size_t len);
	int (*restore)(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
		       size_t errlen);
	/* Optional: the domain has its domid now (devices are built before it is claimed), for what is
	 * named by it: an emulated NIC's TAP vif<domid>.<devid>-emu and its hotplug script.  0, or -1
	 * with err. */
	int (*attach)(struct domain *dom, void *state, char *err, size_t errlen);
};

struct device_instance {
	const struct device_ops *ops;
	void *state;
	struct device_instance *next;    /* newest first: teardown walks the list forwards */
};

/* The devices every PVH domain gets, NULL-terminated. */
extern const struct device_ops *const pvh_devices[];
/* An HVM domain's emulated PC (docs/hvm.md), NULL-terminated: the PCI bus first. */
extern const struct device_ops *const hvm_devices[];

int devices_init(struct domain *dom, const struct device_ops *const *table, char *err, size_t errlen);
void devices_teardown(struct domain *dom);
/* Each device's attach hook, in table order, once the domain has its domid.  0, or -1 with err. */
int devices_attach(struct domain *dom, char *err, size_t errlen);

/* The saved devices: "XHWD", u16 version, then per device that has hooks, in table order:
 * u8 name length, the name, u16 state length, the state.  A device whose ops have no hooks is
 * left out. */
#define DEVICES_SAVE_MAGIC "XHWD"
#define DEVICES_SAVE_VERSION 1
#define DEVICE_STATE_MAX 4096
/* Every device's state into buf: bytes written, or -1 with err (buf too small). */
long devices_save(struct domain *dom, uint8_t *buf, size_t len, char *err, size_t errlen);
/* Restores what devices_save wrote into the domain's devices (built from the same table):
 * 0, or -1 with err for a short, long, wrong-version or unknown-device stream or a state a
 * device refuses. */
int devices_restore(struct domain *dom, const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
