/* The emulated Intel 82540EM gigabit NIC (8086:100e), the "e1000" of xl's vif model= (docs/hvm.md).
 *
 * Split in three files: e1000.c is the register file (EEPROM, PHY, interrupt causes, receive
 * filters, saved state), e1000_ring.c moves frames between the guest's descriptor rings and the
 * port, and e1000_pci.c is the HVM device row: a PCI function per configured NIC, its TAP, the
 * main loop's watch and the Xen platform device's unplug.  The first two know neither PCI nor the
 * loop, so unit tests and the fuzz target drive them on a fake domain through a socketpair port.
 *
 * Locking: register accesses come from vCPU threads, received frames from the main loop; each
 * NIC's mutex covers its registers and rings. */
#ifndef XENITH_HW_E1000_H
#define XENITH_HW_E1000_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct device_ops;
struct domain;
struct vcpu;

#define E1000_MMIO_SIZE 0x20000u       /* BAR0: the registers */
#define E1000_IO_SIZE 64u              /* BAR1: IOADDR at 0, IODATA at 4 */
#define E1000_EEPROM_WORDS 64          /* a 93C46: 6 address bits */
#define E1000_PHY_REGS 32
#define E1000_MTA_WORDS 128
#define E1000_RA_ENTRIES 16
#define E1000_FRAME_MAX 16384          /* the largest frame either ring moves (jumbo, no FCS) */
#define E1000_BUFFER_MAX 16384         /* the largest buffer a descriptor may name */

/* Where frames go and come from: a TAP in the VMM, a socketpair in tests.  One frame per
 * read/write, non-blocking. */
struct e1000_port {
	int fd;
};

/* Register storage slots (offsets in e1000.c's table). */
enum e1000_reg {
	E1000_CTRL, E1000_STATUS, E1000_EECD, E1000_EERD, E1000_CTRL_EXT, E1000_MDIC, E1000_FCAL,
	E1000_FCAH, E1000_FCT, E1000_VET, E1000_ICR, E1000_ITR, E1000_IMS, E1000_RCTL, E1000_FCTTV,
	E1000_TXCW, E1000_TCTL, E1000_TIPG, E1000_LEDCTL, E1000_PBA, E1000_FCRTL, E1000_FCRTH,
	E1000_RDBAL, E1000_RDBAH, E1000_RDLEN, E1000_RDH, E1000_RDT, E1000_RDTR, E1000_RADV,
	E1000_RSRPD, E1000_TDBAL, E1000_TDBAH, E1000_TDLEN, E1000_TDH, E1000_TDT, E1000_TIDV,
	E1000_TXDCTL, E1000_TADV, E1000_RXDCTL, E1000_RXCSUM, E1000_WUC, E1000_WUFC, E1000_MANC,
	E1000_NREGS
};

/* The statistics the device counts (the rest of 0x4000-0x40ff reads 0); all clear on read. */
enum e1000_stat {
	E1000_ST_MPC, E1000_ST_GPRC, E1000_ST_BPRC, E1000_ST_MPRC, E1000_ST_GPTC, E1000_ST_GORCL,
	E1000_ST_GORCH, E1000_ST_GOTCL, E1000_ST_GOTCH, E1000_ST_RNBC, E1000_ST_ROC, E1000_ST_TORL,
	E1000_ST_TORH, E1000_ST_TOTL, E1000_ST_TOTH, E1000_ST_TPR, E1000_ST_TPT, E1000_ST_BPTC,
	E1000_ST_MPTC, E1000_NSTATS
};

/* Interrupt causes (ICR/ICS/IMS/IMC). */
enum {
	E1000_ICR_TXDW = 1u << 0, E1000_ICR_TXQE = 1u << 1, E1000_ICR_LSC = 1u << 2,
	E1000_ICR_RXDMT0 = 1u << 4, E1000_ICR_RXO = 1u << 6, E1000_ICR_RXT0 = 1u << 7,
	E1000_ICR_MDAC = 1u << 9,
};

/* What the device did that the guest's driver cannot see in the statistics: bad descriptors,
 * unsupported offloads, frames the port refused.  For tests and the VMM log. */
struct e1000_faults {
	uint64_t tx_bad_desc;          /* buffer outside RAM or longer than E1000_BUFFER_MAX */
	uint64_t tx_oversize;          /* a chain longer than E1000_FRAME_MAX before its EOP */
	uint64_t tx_tso;               /* TCP segmentation asked: not offered, dropped */
	uint64_t tx_port_errors;       /* the port would not take a frame */
	uint64_t rx_bad_desc;          /* a receive buffer outside RAM: consumed with RXE */
	uint64_t rx_dropped;           /* no descriptor (counted in MPC too), filtered frames not counted */
	uint64_t ring_stops;           /* a ring register set that names no ring: that ring stopped */
};

struct e1000 {
	pthread_mutex_t lock;
	struct domain *dom;
	const char *name;              /* "vif7.0-emu": log lines */
	struct e1000_port port;
	/* The device's INTx line, as e1000_pci.c wires it (tests put a watcher here). */
	void (*set_irq)(void *opaque, bool level);
	void *irq_opaque;
	bool irq_level;
	/* Told when the receive ring gained buffers (RDT moved) from a vCPU thread: the owner of
	 * the port may start reading it again.  NULL: nobody waits. */
	void (*rx_room)(void *opaque);
	void *rx_room_opaque;

	uint8_t mac[6];
	uint16_t eeprom[E1000_EEPROM_WORDS];
	uint32_t reg[E1000_NREGS];
	uint32_t stat[E1000_NSTATS];
	uint32_t mta[E1000_MTA_WORDS];
	uint32_t ra[E1000_RA_ENTRIES * 2];  /* RAL, RAH pairs */
	uint16_t phy[E1000_PHY_REGS];
	uint32_t ioaddr;                    /* BAR1's IOADDR */
	/* The Microwire EEPROM behind EECD's bit-banged lines. */
	struct {
		uint16_t shift_in;          /* opcode and address bits clocked in so far */
		uint8_t bits_in;
		bool reading;
		uint16_t read_bit;          /* bits clocked out since the address */
		uint8_t addr;
	} mw;
	/* The last checksum context descriptor (a TSE context is refused at use). */
	struct {
		uint8_t ipcss, ipcso, tucss, tucso;
		uint16_t ipcse, tucse;
		bool tse;
	} tx_ctx;
	bool tx_dropping;              /* inside a chain being dropped, until its EOP */
	bool tx_stopped, rx_stopped;   /* a bad ring: stopped until the guest rewrites its registers */
	bool unplugged;                /* the Xen platform device unplugged NICs: absent from now on */
	struct e1000_faults faults;
	unsigned int stop_logs;        /* ring stops logged so far (a hostile guest may loop) */
	uint8_t frame[E1000_FRAME_MAX + 8];  /* a transmit frame being assembled (+ VLAN tag) */
	uint8_t rx_buf[E1000_FRAME_MAX + 64]; /* a received frame, padded, with its FCS (lock held) */
	uint8_t rx_in[E1000_FRAME_MAX + 1];   /* what e1000_rx_pump reads (its thread only) */
};

/* ---- e1000.c: the register file ---- */
/* A NIC with the given MAC in its power-on state; port.fd -1 until e1000_set_port (and then the
 * caller owns the fd).  0, or -1 with err. */
int e1000_init(struct e1000 *e, struct domain *dom, const char *name, const uint8_t mac[6], char *err,
	       size_t errlen);
void e1000_destroy(struct e1000 *e);
/* CTRL.RST: every register to its power-on value, the MAC back from the EEPROM, INTx low. */
void e1000_reset(struct e1000 *e);
/* BAR0 and BAR1 accesses as io_handler_fn (opaque is the struct e1000): offsets inside the BAR. */
void e1000_mmio_access(void *opaque, struct vcpu *vcpu, uint64_t offset, bool is_write, uint8_t *data,
		       unsigned int size);
void e1000_io_access(void *opaque, struct vcpu *vcpu, uint64_t offset, bool is_write, uint8_t *data,
		     unsigned int size);
/* Saved state of one NIC: bytes written, or -1 when len is too small.  Restore checks everything
 * (lengths, the MAC it was saved with, ring registers re-validated at next use): 0 or -1 with err. */
#define E1000_STATE_SIZE (4 + 6 + 4 * E1000_NREGS + 4 * E1000_NSTATS + 4 * E1000_MTA_WORDS + \
			  8 * E1000_RA_ENTRIES + 2 * E1000_PHY_REGS + 4 + 8 + 12 + 4)
long e1000_save(struct e1000 *e, uint8_t *buf, size_t len);
int e1000_restore(struct e1000 *e, const uint8_t *buf, size_t len, char *err, size_t errlen);

/* Internal to e1000.c and e1000_ring.c (lock held). */
void e1000_raise(struct e1000 *e, uint32_t causes);
void e1000_update_irq(struct e1000 *e);
void e1000_count(struct e1000 *e, enum e1000_stat lo, enum e1000_stat hi, uint64_t add);
bool e1000_rx_accepts(const struct e1000 *e, const uint8_t *frame, size_t len);

/* ---- e1000_ring.c: the descriptor rings ---- */
/* TDT moved (or TCTL.EN set): transmits what the guest queued, as far as whole frames go. */
void e1000_tx_run(struct e1000 *e);
/* One received frame (no FCS) into the receive ring: 0 delivered or filtered out, -ENOSPC no
 * descriptor (dropped, counted as missed), -EIO the ring is stopped or off.  Takes the lock. */
int e1000_rx_frame(struct e1000 *e, const uint8_t *frame, size_t len);
/* Whether the receive ring has a descriptor for a frame now (lock held). */
bool e1000_rx_has_room(struct e1000 *e);
/* Reads frames from the port while the ring has room: frames read, or -errno from the port
 * (-EAGAIN counts as none).  The main loop's reader; takes the lock. */
int e1000_rx_pump(struct e1000 *e);
/* Ring registers were written: validate them afresh at next use. */
void e1000_ring_changed(struct e1000 *e, bool tx);

/* ---- e1000_pci.c: the HVM device row ---- */
extern const struct device_ops e1000_device;
/* What the row's init does, with the ports given (ports[i] for dom->hvm->nics[i], still the
 * caller's to close) instead of TAPs: tests' seam.  An rtl8139 is refused ("model rtl8139 is not
 * supported yet; use model=e1000").  0 with *state (NULL without NICs), or -1 with err. */
int e1000_devices_create(struct domain *dom, const struct e1000_port *ports, void **state, char *err,
			 size_t errlen);
/* The index'th NIC of the row's state, or NULL. */
struct e1000 *e1000_devices_nic(void *state, unsigned int index);

#endif
