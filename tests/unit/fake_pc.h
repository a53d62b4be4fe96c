/* Helpers for device-model tests on a fake domain (fake_domain.h): an interrupt watcher in the
 * domain's router, and port accesses made exactly as a vCPU exit makes them.
 *
 *   struct irq_watch w = { 0 };
 *   irq_watch_install(dom, &w);
 *   pio_out8(dom, 0x70, 0x0c);  uint8_t c = pio_in8(dom, 0x71);
 *   CHECK(w.rises[8] == 1 && !w.level[8], ...);
 */
#ifndef XENITH_TESTS_FAKE_PC_H
#define XENITH_TESTS_FAKE_PC_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/domain.h"

#define IRQ_WATCH_LINES 24

struct irq_watch {
	bool level[IRQ_WATCH_LINES];
	unsigned int rises[IRQ_WATCH_LINES];   /* low-to-high transitions seen */
	unsigned int bad;                      /* lines beyond the IO-APIC's */
};

static inline void irq_watch_set(void *opaque, unsigned int gsi, bool level)
{
	struct irq_watch *w = opaque;

	if (gsi >= IRQ_WATCH_LINES) {
		w->bad++;
		return;
	}
	if (level && !w->level[gsi])
		w->rises[gsi]++;
	w->level[gsi] = level;
}

static inline void irq_watch_install(struct domain *dom, struct irq_watch *w)
{
	dom->irq.set = irq_watch_set;
	dom->irq.opaque = w;
}

static inline uint8_t pio_in8(struct domain *dom, uint16_t port)
{
	uint8_t v = 0;

	io_bus_dispatch(&dom->pio, NULL, port, false, &v, 1);
	return v;
}

static inline void pio_out8(struct domain *dom, uint16_t port, uint8_t v)
{
	io_bus_dispatch(&dom->pio, NULL, port, true, &v, 1);
}

static inline uint32_t pio_in(struct domain *dom, uint16_t port, unsigned int size)
{
	uint8_t d[4] = { 0 };

	io_bus_dispatch(&dom->pio, NULL, port, false, d, size);
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static inline void pio_out(struct domain *dom, uint16_t port, unsigned int size, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	io_bus_dispatch(&dom->pio, NULL, port, true, d, size);
}

#endif
