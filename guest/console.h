/*
 * Guest output.  Until the hypercall page is installed bytes go to the debug port 0xe9; afterwards
 * to HYPERVISOR_console_io(CONSOLEIO_write), which Xen puts in its own log (`xl dmesg`), and once
 * the PV console ring is connected (xencons.c) only to the ring, after replaying there what went to
 * console_io before, so the domain's console has each line once.  Usable from ring 0 and ring 3.
 * printk turns "\n" into "\r\n" as Xen consoles expect.  After console_use_com1 (an HVM domain,
 * entered by a boot loader) everything goes to COM1 instead, the console of a PC.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stddef.h>

/* Ring 0, once, before any output: the console is COM1 (polled 16550 at 0x3f8) from here on. */
void console_use_com1(void);
void console_early_puts(const char *s);
void console_write(const char *s, size_t len);
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For fatal reports: to console_io (the hypervisor log) and, if connected, the ring as well. */
void console_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
