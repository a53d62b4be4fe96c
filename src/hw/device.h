/* Devices register themselves through a table; the domain builds them in order and tears them down
 * in reverse.  A device claims port/MMIO ranges in init and keeps its state in `state`. */
#ifndef XENITH_DEVICE_H
#define XENITH_DEVICE_H

#include <stddef.h>

struct domain;

struct device_ops {
	const char *name;
	/* Returns 0, or -1 with err set. */
	int (*init)(struct domain *dom, void **state, char *err, size_t errlen);
	void (*teardown)(struct domain *dom, void *state);
};

struct device_instance {
	const struct device_ops *ops;
	void *state;
	struct device_instance *next;    /* newest first: teardown walks the list forwards */
};

/* The devices every PVH domain gets, NULL-terminated. */
extern const struct device_ops *const pvh_devices[];

int devices_init(struct domain *dom, const struct device_ops *const *table, char *err, size_t errlen);
void devices_teardown(struct domain *dom);

#endif
