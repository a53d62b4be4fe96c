/* A 16550 UART at COM1 (0x3f8): the transmitter is always empty, so a polling driver writes
 * without waiting, and what it sends goes to the domain's console; what is typed on the console
 * of an HVM domain comes in through the receiver (uart16550_input), as on a serial line.  The
 * registers a driver programs read back what it wrote.  Interrupts (received data, transmitter
 * empty) go out on IRQ 4 when OUT2 lets them, as on a PC; a PVH domain has no interrupt router
 * and polls. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "hw/irq.h"
#include "hw/uart16550.h"
#include "lib/error.h"
#include "vmm/domain.h"

#define COM1_BASE 0x3f8
#define UART_REGS 8

enum { REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDA 0x01
#define IER_THRE 0x02
#define IIR_NO_INTERRUPT 0x01
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_FIFOS 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define COM1_IRQ 4
/* What the console may have typed ahead: more than the chip's 16-byte FIFO, so that a pasted line
 * is not cut while firmware polls slowly. */
#define RX_BUFFER 256

struct uart {
	pthread_mutex_t lock;
	struct domain *dom;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending;             /* the transmitter-empty interrupt, until IIR reports it */
	bool irq_level;
	uint8_t rx[RX_BUFFER];
	unsigned int rx_head, rx_count;
};

static uint8_t pending_iir(const struct uart *u)
{
	uint8_t fifos = u->fcr & FCR_ENABLE ? IIR_FIFOS : 0;

	if ((u->ier & IER_RDA) && u->rx_count)
		return IIR_RDA | fifos;
	if ((u->ier & IER_THRE) && u->thre_pending)
		return IIR_THRE | fifos;
	return IIR_NO_INTERRUPT | fifos;
}

/* IRQ 4 follows the pending interrupt, gated by OUT2 as a PC wires it.  Caller holds the lock;
 * true when the line changes (to *level). */
static bool update_irq(struct uart *u, bool *level)
{
	bool want = !(pending_iir(u) & IIR_NO_INTERRUPT) && (u->mcr & MCR_OUT2);

	if (want == u->irq_level)
		return false;
	u->irq_level = want;
	*level = want;
	return true;
}

static uint8_t uart_read(struct uart *u, unsigned int reg)
{
	uint8_t v;

	switch (reg) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (!u->rx_count)
			return 0;
		v = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % RX_BUFFER;
		u->rx_count--;
		return v;
	case REG_IER:     return u->lcr & LCR_DLAB ? u->dlm : u->ier;
	case REG_IIR_FCR:
		v = pending_iir(u);
		if ((v & 0x0f) == IIR_THRE)
			u->thre_pending = false;      /* reading it acknowledges it */
		return v;
	case REG_LCR:     return u->lcr;
	case REG_MCR:     return u->mcr;
	case REG_LSR:     return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
	case REG_MSR:     return 0xb0;      /* CTS, DSR, DCD: a cable is plugged in */
	default:          return u->scr;
	}
}

static void uart_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		    unsigned int size)
{
	struct uart *u = opaque;
	unsigned int reg = (unsigned int)(port - COM1_BASE);
	bool changed, level = false;

	pthread_mutex_lock(&u->lock);
	if (!is_write) {
		data[0] = uart_read(u, reg);
		for (unsigned int i = 1; i < size; i++)
			data[i] = 0;
		changed = update_irq(u, &level);
		pthread_mutex_unlock(&u->lock);
		if (changed)
			hw_irq_set(u->dom, COM1_IRQ, level);
		return;
	}
	uint8_t v = data[0];
	bool emit = false;
	switch (reg) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
		} else {
			emit = !(u->mcr & MCR_LOOP);
			u->thre_pending = true;    /* sent at once: empty again */
		}
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
		} else {
			/* Enabling the transmitter interrupt while it is empty raises it at once. */
			if ((v & IER_THRE) && !(u->ier & IER_THRE))
				u->thre_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case REG_IIR_FCR:
		u->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX)
			u->rx_count = 0;
		break;
	case REG_LCR: u->lcr = v; break;
	case REG_MCR: u->mcr = v & 0x1f; break;
	case REG_SCR: u->scr = v; break;
	default: break;       /* LSR and MSR writes change nothing we model */
	}
	changed = update_irq(u, &level);
	pthread_mutex_unlock(&u->lock);
	if (changed)
		hw_irq_set(u->dom, COM1_IRQ, level);
	if (emit && vcpu)
		console_write(vcpu->dom->console, &v, 1);
}

size_t uart16550_input(struct domain *dom, const char *buf, size_t len)
{
	struct uart *u = NULL;
	size_t taken = 0;
	bool changed, level = false;

	for (struct device_instance *d = dom->devices; d; d = d->next)
		if (d->ops == &uart16550_device)
			u = d->state;
	if (!u)
		return 0;
	pthread_mutex_lock(&u->lock);
	while (taken < len && u->rx_count < RX_BUFFER) {
		u->rx[(u->rx_head + u->rx_count) % RX_BUFFER] = (uint8_t)buf[taken++];
		u->rx_count++;
	}
	changed = update_irq(u, &level);
	pthread_mutex_unlock(&u->lock);
	if (changed)
		hw_irq_set(dom, COM1_IRQ, level);
	return taken;
}

static int uart_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u) {
		ERR_SET(err, errlen, "out of memory for the UART");
		return -1;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->dom = dom;
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
