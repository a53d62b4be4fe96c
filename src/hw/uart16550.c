/* A 16550 UART at COM1 (0x3f8), enough for early output: the transmitter is always empty, so a
 * polling driver writes without waiting; the registers a driver programs read back what it wrote.
 * No receive and no interrupts yet. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "lib/error.h"
#include "vmm/domain.h"

#define COM1_BASE 0x3f8
#define UART_REGS 8

enum { REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };
#define LCR_DLAB 0x80
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NO_INTERRUPT 0x01
#define MCR_LOOP 0x10

struct uart {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
};

static uint8_t uart_read(struct uart *u, unsigned int reg)
{
	switch (reg) {
	case REG_DATA:    return u->lcr & LCR_DLAB ? u->dll : 0;
	case REG_IER:     return u->lcr & LCR_DLAB ? u->dlm : u->ier;
	case REG_IIR_FCR: return IIR_NO_INTERRUPT;
	case REG_LCR:     return u->lcr;
	case REG_MCR:     return u->mcr;
	case REG_LSR:     return LSR_THRE | LSR_TEMT;
	case REG_MSR:     return 0xb0;      /* CTS, DSR, DCD: a cable is plugged in */
	default:          return u->scr;
	}
}

static void uart_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		    unsigned int size)
{
	struct uart *u = opaque;
	unsigned int reg = (unsigned int)(port - COM1_BASE);

	pthread_mutex_lock(&u->lock);
	if (!is_write) {
		data[0] = uart_read(u, reg);
		for (unsigned int i = 1; i < size; i++)
			data[i] = 0;
		pthread_mutex_unlock(&u->lock);
		return;
	}
	uint8_t v = data[0];
	bool emit = false;
	switch (reg) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else
			emit = !(u->mcr & MCR_LOOP);
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB)
			u->dlm = v;
		else
			u->ier = v & 0x0f;
		break;
	case REG_LCR: u->lcr = v; break;
	case REG_MCR: u->mcr = v & 0x1f; break;
	case REG_SCR: u->scr = v; break;
	default: break;       /* FCR, LSR, MSR writes change nothing we model */
	}
	pthread_mutex_unlock(&u->lock);
	if (emit)
		console_write(vcpu->dom->console, &v, 1);
}

static int uart_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u) {
		ERR_SET(err, errlen, "out of memory for the UART");
		return -1;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->lcr = 0x03;          /* 8n1, as firmware leaves it */
	if (io_bus_register(&dom->pio, "uart16550", COM1_BASE, UART_REGS, uart_io, u)) {
		ERR_SET(err, errlen, "ports %#x-%#x are taken", COM1_BASE, COM1_BASE + UART_REGS - 1);
		pthread_mutex_destroy(&u->lock);
		free(u);
		return -1;
	}
	*state = u;
	return 0;
}

static void uart_teardown(struct domain *dom, void *state)
{
	struct uart *u = state;

	(void)dom;
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* The registers a driver programmed, in this order: IER, LCR, MCR, SCR, DLL, DLM. */
#define UART_SAVED 6

static long uart_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	struct uart *u = state;

	(void)dom;
	if (len < UART_SAVED)
		return -1;
	pthread_mutex_lock(&u->lock);
	const uint8_t regs[UART_SAVED] = { u->ier, u->lcr, u->mcr, u->scr, u->dll, u->dlm };
	pthread_mutex_unlock(&u->lock);
	memcpy(buf, regs, UART_SAVED);
	return UART_SAVED;
}

static int uart_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
			size_t errlen)
{
	struct uart *u = state;

	(void)dom;
	if (len != UART_SAVED) {
		ERR_SET(err, errlen, "%zu bytes of UART state, not %d", len, UART_SAVED);
		return -1;
	}
	/* Bits a write could never have set. */
	if (buf[0] & ~0x0f || buf[2] & ~0x1f) {
		ERR_SET(err, errlen, "IER %#x or MCR %#x has bits the UART does not keep", buf[0], buf[2]);
		return -1;
	}
	pthread_mutex_lock(&u->lock);
	u->ier = buf[0];
	u->lcr = buf[1];
	u->mcr = buf[2];
	u->scr = buf[3];
	u->dll = buf[4];
	u->dlm = buf[5];
	pthread_mutex_unlock(&u->lock);
	return 0;
}

const struct device_ops uart16550_device = {
	.name = "uart16550", .init = uart_init, .teardown = uart_teardown,
	.save = uart_save, .restore = uart_restore,
};
