/*
 * The PV console ring (Linux hvc_xen.c, Mini-OS console/xencons_ring.c): struct xencons_interface at
 * HVM_PARAM_CONSOLE_PFN, notified through HVM_PARAM_CONSOLE_EVTCHN.  Once connected, printk writes
 * here instead of console_io, so the log holds one copy of each line.  If the backend stops
 * draining the ring for XENCONS_STALL_NS, we disconnect and go back to console_io (saying so there),
 * so a broken backend cannot hang or silence the guest.
 */
#ifndef GUEST_XENCONS_H
#define GUEST_XENCONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XENCONS_STALL_NS (2 * 1000000000ull)

extern uint64_t xencons_evtchn;

/* 0, or why not. */
int xencons_init(void);
bool xencons_connected(void);
/* In a new domain after a suspend: the ring page and port read again (the page is the same, its
 * indices fresh, the port perhaps another); a ring given up before is taken up again.  0, why
 * not (printk then uses console_io), or 1 if xencons_init had not succeeded. */
int xencons_resume(void);
/* All of s, or false if the ring had to be given up (then nothing more goes there). */
bool xencons_write(const char *s, size_t len);
/* Input bytes available now (no waiting): how many were copied. */
size_t xencons_read(char *buf, size_t size);
/* Waits (bounded) until the backend has taken everything: before shutting down. */
void xencons_flush(void);
/* Stop using the ring (a fatal trap in ring 0 reports through console_io). */
void xencons_disconnect(void);

#endif
