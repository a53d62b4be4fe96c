/* The MC146818 real-time clock and CMOS NVRAM at ports 0x70/0x71, IRQ 8 (hw/rtc_cmos.c). */
#ifndef XENITH_HW_RTC_CMOS_H
#define XENITH_HW_RTC_CMOS_H

#include "hw/device.h"

#define RTC_INDEX_PORT 0x70
#define RTC_DATA_PORT 0x71
#define RTC_IRQ 8
#define RTC_SAVED_SIZE 142

extern const struct device_ops rtc_cmos_device;

/* What the main loop's timer does when it fires: brings the status flags (register C) up to now,
 * raising IRQ 8 for the enabled ones, and arms the next timer while interrupts are enabled.  A
 * domain without a main loop (dom->loop NULL: unit tests) has no timer, so its flags move only
 * when the guest reads the clock or a test calls this with the device's state. */
void rtc_cmos_tick(void *rtc);

#endif
