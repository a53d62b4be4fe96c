/* COM1 (uart16550.c): what is typed on an HVM domain's console reaches its serial line. */
#ifndef XENITH_UART16550_H
#define XENITH_UART16550_H

#include <stddef.h>

struct domain;
struct device_ops;

extern const struct device_ops uart16550_device;

/* Queues console input for the guest to read from COM1 (interrupting it when it asked to be):
 * the bytes taken, fewer when the receive buffer is full (the rest are dropped, as a line
 * overruns), 0 without a UART. */
size_t uart16550_input(struct domain *dom, const char *buf, size_t len);

#endif
