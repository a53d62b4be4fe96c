/* 00:01.3, the PIIX4 ACPI power-management function (hw/piix4_pm.c): PM1 event and control
 * blocks, the PM timer, the SCI on IRQ 9, the power button. */
#ifndef XENITH_HW_PIIX4_PM_H
#define XENITH_HW_PIIX4_PM_H

#include "hw/device.h"

struct domain;

#define PIIX4_PM_SLOT 1
#define PIIX4_PM_FUNC 3
#define PIIX4_PM_BASE 0xb000u          /* the PMBA SeaBIOS programs: the one place the block decodes */
#define PIIX4_PM_LEN 64
#define PIIX4_GPE0_BASE 0xafe0u        /* GPE0 as SeaBIOS's FADT names it: 2 status, 2 enable bytes */
#define PIIX4_GPE0_LEN 4
#define PIIX4_SMI_CMD_PORT 0xb2        /* FADT SMI_CMD: 0xf1 enables ACPI (SCI_EN), 0xf0 disables */
#define PIIX4_SCI_IRQ 9
/* SLP_TYP values, as the DSDT's \_S3, \_S4, \_S5 packages name them (SeaBIOS's and QEMU's DSDT:
 * \_S5 is 0). */
#define PIIX4_SLP_TYP_S5 0
#define PIIX4_SLP_TYP_S3 1
#define PIIX4_SLP_TYP_S4 2
#define PIIX4_PM_SAVED_SIZE 17

extern const struct device_ops piix4_pm_device;

/* The ACPI power button is pressed (xl shutdown of a guest without PV drivers, xl trigger
 * power): PWRBTN_STS is set and the SCI raised if the guest enabled PWRBTN_EN.  Any thread.  A
 * domain without this device (PVH) is left alone. */
void piix4_pm_power_button(struct domain *dom);

#endif
