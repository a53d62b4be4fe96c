/* Interrupt lines of an HVM domain's emulated devices (ISA IRQs and the IO-APIC's GSIs).  ISA IRQ
 * n is GSI n, IRQ 0 included: KVM's default routing sends each of GSIs 0-15 to the PIC and to the
 * IO-APIC pin of the same number, and fw_cfg tells the firmware there is no IRQ 0 override.
 * Level-triggered devices hold a line high until serviced; edge-triggered ones pulse it.
 *
 * The VMM routes lines into KVM's in-kernel PIC and IO-APIC (KVM_IRQ_LINE, vmm/vm.c); unit tests
 * put their own router in the domain to watch what a device model raises. */
#ifndef XENITH_HW_IRQ_H
#define XENITH_HW_IRQ_H

#include <stdbool.h>
#include "vmm/domain.h"

static inline void hw_irq_set(struct domain *dom, unsigned int gsi, bool level)
{
	if (dom->irq.set)
		dom->irq.set(dom->irq.opaque, gsi, level);
}

static inline void hw_irq_pulse(struct domain *dom, unsigned int gsi)
{
	hw_irq_set(dom, gsi, true);
	hw_irq_set(dom, gsi, false);
}

#endif
