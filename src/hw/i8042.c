/* The i8042 keyboard controller with a keyboard that never types, and system control port A.
 *
 * What it is for: SeaBIOS initialises the keyboard (controller self test 0xaa -> 0x55, interface
 * test, keyboard reset 0xff -> 0xfa 0xaa, disable/enable, scan set, command byte), operating
 * systems probe the controller and its ports, and guests reset the machine through it (command
 * 0xfe, or bit 0 of the output port) or through port 0x92.  A reset is what Xen calls a reboot:
 * the domain shuts down with SHUTDOWN_reboot and its on_reboot action follows.
 *
 * The controller has no auxiliary (mouse) channel wired: bytes written for it (0xd3, 0xd4) go
 * nowhere and its interface test (0xa9) answers "clock line stuck low", so Linux's i8042 driver
 * and Windows' i8042prt find a keyboard port and no mouse.  The controller's internal RAM (32
 * bytes, byte 0 the command byte) reads and writes through 0x20-0x3f and 0x60-0x7f.
 *
 * The output buffer is a small queue: a command's answer may be several bytes (keyboard reset,
 * identify).  IRQ 1 is high while a byte waits and the command byte enables the keyboard
 * interrupt; after each read it drops and rises again if another byte waits, so an edge-triggered
 * PIC sees one edge per byte.
 *
 * The A20 gate is kept as a bit (fast A20 in port 0x92, output port bit 1; one bit for both): KVM
 * never masks address line 20, and no guest we serve depends on wrap-around.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "hw/i8042.h"
#include "hw/irq.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/xen_public.h"

#define QUEUE_SIZE 16
#define RAM_SIZE 32

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04
#define STATUS_CMD 0x08                 /* last write went to 0x64 */
#define STATUS_UNLOCKED 0x10

#define CTR_KBD_INT 0x01
#define CTR_SYS 0x04
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_TRANSLATE 0x40

#define OUTPORT_RESET 0x01              /* 0: the CPU is held in reset */
#define OUTPORT_A20 0x02
#define OUTPORT_KBD_OBF 0x10
#define PORT_A_RESET 0x01
#define PORT_A_A20 0x02

#define KBD_ACK 0xfa
#define KBD_RESEND 0xfe
#define KBD_SELF_TEST_OK 0xaa
#define CTL_SELF_TEST_OK 0x55
#define AUX_CLOCK_STUCK_LOW 0x01

/* Saved flags. */
#define FLAG_SYS 0x01
#define FLAG_CMD 0x02
#define FLAG_A20 0x04
#define FLAG_SCANNING 0x08
#define FLAGS_ALL 0x0f

struct i8042 {
	pthread_mutex_t lock;
	struct domain *dom;
	uint8_t ram[RAM_SIZE];          /* ram[0]: the command byte */
	bool sys, cmd, a20;
	uint8_t pending;                /* a controller command waiting for its data byte, or 0 */
	/* The keyboard. */
	uint8_t kbd_pending;            /* a keyboard command waiting for its argument, or 0 */
	bool scanning;
	uint8_t scanset, leds;
	/* The output buffer. */
	uint8_t queue[QUEUE_SIZE];
	unsigned int head, count;
	uint8_t last_read;              /* an empty buffer reads as its last byte again */
	bool irq_level;
};

static void push(struct i8042 *k, uint8_t v)
{
	if (k->count < QUEUE_SIZE)
		k->queue[(k->head + k->count++) % QUEUE_SIZE] = v;
}

static void update_irq(struct i8042 *k, bool edge)
{
	bool level = k->count && (k->ram[0] & CTR_KBD_INT);

	if (edge && k->irq_level) {
		k->irq_level = false;
		hw_irq_set(k->dom, I8042_KBD_IRQ, false);
	}
	if (level != k->irq_level) {
		k->irq_level = level;
		hw_irq_set(k->dom, I8042_KBD_IRQ, level);
	}
}

static void keyboard_defaults(struct i8042 *k)
{
	k->scanset = 2;
	k->leds = 0;
	k->kbd_pending = 0;
}

/* The guest asked for a reset; the domain leaves for its on_reboot action (see the top). */
static void machine_reset(struct i8042 *k, const char *how)
{
	LOG("domain %d: reset through %s", k->dom->domid, how);
	domain_shutdown(k->dom, SHUTDOWN_reboot);
}

/* ---- the keyboard ---- */

static void keyboard_argument(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->kbd_pending;

	k->kbd_pending = 0;
	switch (cmd) {
	case 0xed:                          /* LEDs */
		k->leds = v & 0x07;
		push(k, KBD_ACK);
		break;
	case 0xf0:                          /* scan set: 0 asks which */
		if (v > 3) {
			push(k, KBD_RESEND);
			break;
		}
		push(k, KBD_ACK);
		if (v)
			k->scanset = v;
		else
			push(k, k->scanset);
		break;
	default:                            /* 0xf3: typematic rate, accepted */
		push(k, KBD_ACK);
		break;
	}
}

static void keyboard_command(struct i8042 *k, uint8_t v)
{
	if (k->kbd_pending) {
		keyboard_argument(k, v);
		return;
	}
	switch (v) {
	case 0xed: case 0xf0: case 0xf3:    /* an argument follows */
		k->kbd_pending = v;
		push(k, KBD_ACK);
		break;
	case 0xee:                          /* echo */
		push(k, 0xee);
		break;
	case 0xf2:                          /* identify: an MF2 keyboard */
		push(k, KBD_ACK);
		push(k, 0xab);
		push(k, k->ram[0] & CTR_TRANSLATE ? 0x41 : 0x83);
		break;
	case 0xf4:
		k->scanning = true;
		push(k, KBD_ACK);
		break;
	case 0xf5:                          /* disable, defaults */
		k->scanning = false;
		keyboard_defaults(k);
		push(k, KBD_ACK);
		break;
	case 0xf6:
		keyboard_defaults(k);
		push(k, KBD_ACK);
		break;
	case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: case 0xfe:
		push(k, KBD_ACK);               /* key modes (set 3) and resend: nothing to redo */
		break;
	case 0xff:                          /* reset and self test */
		keyboard_defaults(k);
		k->scanning = true;
		push(k, KBD_ACK);
		push(k, KBD_SELF_TEST_OK);
		break;
	default:
		push(k, KBD_RESEND);
		break;
	}
}

/* ---- the controller ---- */

static uint8_t output_port(const struct i8042 *k)
{
	return OUTPORT_RESET | (k->a20 ? OUTPORT_A20 : 0) | (k->count ? OUTPORT_KBD_OBF : 0);
}

static void write_ram(struct i8042 *k, unsigned int at, uint8_t v)
{
	k->ram[at] = v;
	if (at == 0)
		k->sys = v & CTR_SYS;
}

static void controller_data(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	if (cmd >= 0x60 && cmd <= 0x7f) {
		write_ram(k, cmd - 0x60u, v);
		return;
	}
	switch (cmd) {
	case 0xd1:                          /* write the output port */
		k->a20 = v & OUTPORT_A20;
		if (!(v & OUTPORT_RESET))
			machine_reset(k, "the keyboard controller's output port");
		break;
	case 0xd2:                          /* as if the keyboard sent it */
		push(k, v);
		break;
	default:                            /* 0xd3, 0xd4: for the aux channel, which has no wire */
		break;
	}
}

static bool takes_data(uint8_t cmd)
{
	return (cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0xd1 && cmd <= 0xd4);
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
	if (cmd >= 0x20 && cmd <= 0x3f) {
		push(k, k->ram[cmd - 0x20]);
		return;
	}
	if (takes_data(cmd)) {
		k->pending = cmd;
		return;
	}
	if (cmd >= 0xf0) {                  /* pulse output lines: bit 0 low pulses reset */
		if (!(cmd & 0x01))
			machine_reset(k, "keyboard controller command 0xfe");
		return;
	}
	switch (cmd) {
	case 0xa7: k->ram[0] |= CTR_AUX_DISABLE; break;
	case 0xa8: k->ram[0] &= ~CTR_AUX_DISABLE; break;
	case 0xa9: push(k, AUX_CLOCK_STUCK_LOW); break;
	case 0xaa: k->sys = true; push(k, CTL_SELF_TEST_OK); break;
	case 0xab: push(k, 0x00); break;    /* keyboard interface: no error */
	case 0xad: k->ram[0] |= CTR_KBD_DISABLE; break;
	case 0xae: k->ram[0] &= ~CTR_KBD_DISABLE; break;
	case 0xd0: push(k, output_port(k)); break;
	case 0xdd: k->a20 = false; break;
	case 0xdf: k->a20 = true; break;
	case 0xe0: push(k, 0x00); break;    /* test inputs */
	default: break;                     /* unknown: ignored, as controllers do */
	}
}

static uint8_t status(const struct i8042 *k)
{
	return (k->count ? STATUS_OBF : 0) | (k->sys ? STATUS_SYS : 0) | (k->cmd ? STATUS_CMD : 0) |
	       STATUS_UNLOCKED;
}

static void i8042_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		     unsigned int size)
{
	struct i8042 *k = opaque;
	bool edge = false;

	(void)vcpu;
	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		memset(data, 0, size);
		if (port == I8042_STATUS_PORT) {
			data[0] = status(k);
		} else if (port == I8042_PORT_A) {
			data[0] = k->a20 ? PORT_A_A20 : 0;
		} else {
			if (k->count) {
				k->last_read = k->queue[k->head];
				k->head = (k->head + 1) % QUEUE_SIZE;
				k->count--;
				edge = true;
			}
			data[0] = k->last_read;
		}
	} else if (port == I8042_STATUS_PORT) {
		k->cmd = true;
		k->pending = 0;
		controller_command(k, data[0]);
	} else if (port == I8042_PORT_A) {
		k->a20 = data[0] & PORT_A_A20;
		if (data[0] & PORT_A_RESET)
			machine_reset(k, "port 0x92");
	} else {
		uint8_t cmd = k->pending;
		k->cmd = false;
		k->pending = 0;
		if (cmd)
			controller_data(k, cmd, data[0]);
		else
			keyboard_command(k, data[0]);
	}
	update_irq(k, edge);
	pthread_mutex_unlock(&k->lock);
}

static int i8042_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k) {
		ERR_SET(err, errlen, "out of memory for the keyboard controller");
		return -1;
	}
	pthread_mutex_init(&k->lock, NULL);
	k->dom = dom;
	k->ram[0] = CTR_KBD_INT;
	k->a20 = true;
	k->scanning = true;
	keyboard_defaults(k);
	if (io_bus_register(&dom->pio, "i8042", I8042_DATA_PORT, 1, i8042_io, k) ||
	    io_bus_register(&dom->pio, "i8042", I8042_STATUS_PORT, 1, i8042_io, k) ||
	    io_bus_register(&dom->pio, "port-a", I8042_PORT_A, 1, i8042_io, k)) {
		/* io_bus has no unregister: a failed build tears the whole domain down. */
		ERR_SET(err, errlen, "keyboard controller: port %#x, %#x or %#x is taken", I8042_DATA_PORT,
			I8042_STATUS_PORT, I8042_PORT_A);
		pthread_mutex_destroy(&k->lock);
		free(k);
		return -1;
	}
	*state = k;
	return 0;
}

static void i8042_teardown(struct domain *dom, void *state)
{
	struct i8042 *k = state;

	(void)dom;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* Saved: u8 version, ram[32], u8 flags (FLAG_*), u8 pending controller command, u8 pending
 * keyboard command, u8 scan set, u8 LEDs, u8 last byte read, u8 bytes queued, queue[16] (oldest
 * first, unused bytes 0). */
#define I8042_SAVE_VERSION 1

static long i8042_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	struct i8042 *k = state;

	(void)dom;
	if (len < I8042_SAVED_SIZE)
		return -1;
	memset(buf, 0, I8042_SAVED_SIZE);
	pthread_mutex_lock(&k->lock);
	uint8_t *p = buf;
	*p++ = I8042_SAVE_VERSION;
	memcpy(p, k->ram, RAM_SIZE);
	p += RAM_SIZE;
	*p++ = (uint8_t)((k->sys ? FLAG_SYS : 0) | (k->cmd ? FLAG_CMD : 0) | (k->a20 ? FLAG_A20 : 0) |
			 (k->scanning ? FLAG_SCANNING : 0));
	*p++ = k->pending;
	*p++ = k->kbd_pending;
	*p++ = k->scanset;
	*p++ = k->leds;
	*p++ = k->last_read;
	*p++ = (uint8_t)k->count;
	for (unsigned int i = 0; i < k->count; i++)
		p[i] = k->queue[(k->head + i) % QUEUE_SIZE];
	pthread_mutex_unlock(&k->lock);
	return I8042_SAVED_SIZE;
}

static int i8042_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
			 size_t errlen)
{
	struct i8042 *k = state;

	(void)dom;
	if (len != I8042_SAVED_SIZE || buf[0] != I8042_SAVE_VERSION) {
		ERR_SET(err, errlen, "keyboard controller state of %zu bytes, version %u: expected %d bytes of "
			"version %d", len, len ? buf[0] : 0, I8042_SAVED_SIZE, I8042_SAVE_VERSION);
		return -1;
	}
	const uint8_t *p = buf + 1 + RAM_SIZE;
	uint8_t flags = p[0], pending = p[1], kbd_pending = p[2], scanset = p[3], leds = p[4], count = p[6];
	if (flags & ~FLAGS_ALL || (pending && !takes_data(pending)) ||
	    (kbd_pending && kbd_pending != 0xed && kbd_pending != 0xf0 && kbd_pending != 0xf3) ||
	    scanset < 1 || scanset > 3 || leds > 7 || count > QUEUE_SIZE) {
		ERR_SET(err, errlen, "keyboard controller state: flags %#x, pending commands %#x/%#x, scan set "
			"%u, LEDs %#x, %u bytes queued: not what the controller can hold", flags, pending,
			kbd_pending, scanset, leds, count);
		return -1;
	}
	pthread_mutex_lock(&k->lock);
	memcpy(k->ram, buf + 1, RAM_SIZE);
	k->sys = flags & FLAG_SYS;
	k->cmd = flags & FLAG_CMD;
	k->a20 = flags & FLAG_A20;
	k->scanning = flags & FLAG_SCANNING;
	k->pending = pending;
	k->kbd_pending = kbd_pending;
	k->scanset = scanset;
	k->leds = leds;
	k->last_read = p[5];
	k->head = 0;
	k->count = count;
	memcpy(k->queue, p + 7, QUEUE_SIZE);
	update_irq(k, false);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

const struct device_ops i8042_device = {
	.name = "i8042", .init = i8042_init, .teardown = i8042_teardown,
	.save = i8042_save, .restore = i8042_restore,
};
