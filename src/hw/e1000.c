/* The 82540EM's register file (Intel's "PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual", chapter 13): one table row per register with its storage slot, writable
 * bits, power-on value and, where a register does more than hold bits, a hook.  The arrays (MTA,
 * receive addresses, VLAN filter, statistics) are decoded by range.
 *
 * What the drivers we meet read:
 *   - the EEPROM: Linux's e1000 bit-bangs it through EECD (Microwire: start bit, opcode 10, six
 *     address bits, then sixteen data bits clocked out on DO), iPXE uses EERD.  Its 64 words hold
 *     the MAC (0-2), the PCI IDs (0x0b-0x0e) and a checksum word (0x3f) making the sum 0xbaba;
 *   - the PHY through MDIC: an 88E1011 (ID 0141:0c20) with its link up and autonegotiation done;
 *   - STATUS: link up, full duplex, 1000 Mb/s, always.
 *
 * Checksum offload: Linux's e1000 uses it whatever the EEPROM says, so the device computes the
 * checksums a context asks for (e1000_ring.c); TCP segmentation (TSE) is not offered and such a
 * frame is dropped and counted.  Received frames carry IXSM: the driver checks sums itself. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "hw/e1000.h"
#include "lib/error.h"
#include "vmm/domain.h"

enum {
	CTRL_SLU = 1u << 6, CTRL_RST = 1u << 26,
	STATUS_FD = 1u << 0, STATUS_LU = 1u << 1, STATUS_SPEED_1000 = 1u << 7, STATUS_ASDV_1000 = 2u << 8,
	EECD_SK = 1u << 0, EECD_CS = 1u << 1, EECD_DI = 1u << 2, EECD_DO = 1u << 3, EECD_REQ = 1u << 6,
	EECD_GNT = 1u << 7, EECD_PRES = 1u << 8,
	EERD_START = 1u << 0, EERD_DONE = 1u << 4,
	MDIC_OP_WRITE = 1u << 26, MDIC_OP_READ = 2u << 26, MDIC_READY = 1u << 28, MDIC_IE = 1u << 29,
	MDIC_ERROR = 1u << 30,
	RCTL_UPE = 1u << 3, RCTL_MPE = 1u << 4, RCTL_BAM = 1u << 15,
	TCTL_EN = 1u << 1,
	RAH_AV = 1u << 31,
	ICR_ALL = 0x1ffffu,
	EECD_WMASK = EECD_SK | EECD_CS | EECD_DI | EECD_REQ | 0x30,   /* 0x30: flash write enable */
};

#define PHY_ADDR 1
#define EEPROM_SUM 0xbabau
#define EEPROM_READ_OPCODE 0x6u     /* start bit + 10 */
#define MW_ADDR_BITS 6

/* PHY registers as the link partner and autonegotiation left them: 1000 full duplex, link up. */
static const struct { uint8_t reg; uint16_t value; bool writable; } phy_power_on[] = {
	{ 0, 0x1140, true },    /* control: autonegotiation on, full duplex, 1000 */
	{ 1, 0x796d, false },   /* status: link up, autonegotiation complete, abilities */
	{ 2, 0x0141, false },   /* PHY ID (Marvell 88E1011) */
	{ 3, 0x0c20, false },
	{ 4, 0x0de1, true },    /* our advertisement: 10/100 both duplexes, pause */
	{ 5, 0x45e1, false },   /* the partner's: the same, acknowledged */
	{ 6, 0x0001, false },   /* expansion: the partner autonegotiates */
	{ 9, 0x0300, true },    /* 1000BASE-T control: advertise 1000 full and half */
	{ 10, 0x3c00, false },  /* 1000BASE-T status: the partner is 1000 full capable, receivers OK */
	{ 15, 0x3000, false },  /* extended status: 1000BASE-T full and half */
	{ 16, 0x0060, true },   /* PHY specific control */
	{ 17, 0xac00, false },  /* PHY specific status: 1000, full duplex, resolved, link */
	{ 20, 0x0c60, true },   /* extended PHY specific control */
};

/* ---- register rows ---- */
typedef uint32_t (*reg_read_fn)(struct e1000 *e, unsigned int slot);
typedef void (*reg_write_fn)(struct e1000 *e, unsigned int slot, uint32_t value);

struct reg_row {
	uint32_t offset;
	uint8_t slot;
	uint32_t wmask;            /* bits a plain write stores */
	uint32_t power_on;
	reg_read_fn read;          /* NULL: the stored value */
	reg_write_fn write;        /* NULL: store value & wmask */
};

static void store(struct e1000 *e, unsigned int slot, uint32_t value);
static uint32_t read_icr(struct e1000 *e, unsigned int slot);
static uint32_t read_zero(struct e1000 *e, unsigned int slot);
static uint32_t read_eecd(struct e1000 *e, unsigned int slot);
static void write_ctrl(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_eecd(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_eerd(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_mdic(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_icr(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_ics(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_ims(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_imc(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_rctl(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_tctl(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_rx_ring(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_tx_ring(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_tdt(struct e1000 *e, unsigned int slot, uint32_t value);
static void write_ignored(struct e1000 *e, unsigned int slot, uint32_t value);

#define NO_SLOT E1000_NREGS
static const struct reg_row regs[] = {
	{ 0x0000, E1000_CTRL, 0xffffffffu & ~CTRL_RST, 0x00000201u, NULL, write_ctrl },
	{ 0x0004, E1000_CTRL, 0, 0, NULL, write_ctrl },      /* an alias of CTRL */
	{ 0x0008, E1000_STATUS, 0, STATUS_FD | STATUS_LU | STATUS_SPEED_1000 | STATUS_ASDV_1000, NULL,
	  write_ignored },
	{ 0x0010, E1000_EECD, EECD_WMASK, 0, read_eecd, write_eecd },
	{ 0x0014, E1000_EERD, 0xffffffffu, 0, NULL, write_eerd },
	{ 0x0018, E1000_CTRL_EXT, 0xffffffffu, 0, NULL, NULL },
	{ 0x0020, E1000_MDIC, 0xffffffffu, MDIC_READY, NULL, write_mdic },
	{ 0x0028, E1000_FCAL, 0xffffffffu, 0, NULL, NULL },
	{ 0x002c, E1000_FCAH, 0xffffu, 0, NULL, NULL },
	{ 0x0030, E1000_FCT, 0xffffu, 0, NULL, NULL },
	{ 0x0038, E1000_VET, 0xffffu, 0x8100, NULL, NULL },
	{ 0x00c0, E1000_ICR, ICR_ALL, 0, read_icr, write_icr },
	{ 0x00c4, E1000_ITR, 0xffffu, 0, NULL, NULL },
	{ 0x00c8, NO_SLOT, 0, 0, read_zero, write_ics },
	{ 0x00d0, E1000_IMS, ICR_ALL, 0, NULL, write_ims },
	{ 0x00d8, NO_SLOT, 0, 0, read_zero, write_imc },
	{ 0x0100, E1000_RCTL, 0x07ffffffu, 0, NULL, write_rctl },
	{ 0x0170, E1000_FCTTV, 0xffffu, 0, NULL, NULL },
	{ 0x0178, E1000_TXCW, 0xffffffffu, 0, NULL, NULL },
	{ 0x0180, NO_SLOT, 0, 0, read_zero, write_ignored },  /* RXCW: no TBI */
	{ 0x0400, E1000_TCTL, 0xffffffffu, 0x00000008u, NULL, write_tctl },
	{ 0x0410, E1000_TIPG, 0x3fffffffu, 0, NULL, NULL },
	{ 0x0e00, E1000_LEDCTL, 0xffffffffu, 0x07068302u, NULL, NULL },
	{ 0x1000, E1000_PBA, 0xffffu, 0x00100030u, NULL, NULL },
	{ 0x2160, E1000_FCRTL, 0x8000fff8u, 0, NULL, NULL },
	{ 0x2168, E1000_FCRTH, 0xfff8u, 0, NULL, NULL },
	{ 0x2800, E1000_RDBAL, 0xfffffff0u, 0, NULL, write_rx_ring },
	{ 0x2804, E1000_RDBAH, 0xffffffffu, 0, NULL, write_rx_ring },
	{ 0x2808, E1000_RDLEN, 0x000fff80u, 0, NULL, write_rx_ring },
	{ 0x2810, E1000_RDH, 0xffffu, 0, NULL, write_rx_ring },
	{ 0x2818, E1000_RDT, 0xffffu, 0, NULL, write_rx_ring },
	{ 0x2820, E1000_RDTR, 0x8000ffffu, 0, NULL, NULL },
	{ 0x2828, E1000_RXDCTL, 0x01ff3f3fu, 0x00010000u, NULL, NULL },
	{ 0x282c, E1000_RADV, 0xffffu, 0, NULL, NULL },
	{ 0x2c00, E1000_RSRPD, 0xfffu, 0, NULL, NULL },
	{ 0x3800, E1000_TDBAL, 0xfffffff0u, 0, NULL, write_tx_ring },
	{ 0x3804, E1000_TDBAH, 0xffffffffu, 0, NULL, write_tx_ring },
	{ 0x3808, E1000_TDLEN, 0x000fff80u, 0, NULL, write_tx_ring },
	{ 0x3810, E1000_TDH, 0xffffu, 0, NULL, write_tx_ring },
	{ 0x3818, E1000_TDT, 0xffffu, 0, NULL, write_tdt },
	{ 0x3820, E1000_TIDV, 0xffffu, 0, NULL, NULL },
	{ 0x3828, E1000_TXDCTL, 0x01ff3f3fu, 0x00010000u, NULL, NULL },
	{ 0x382c, E1000_TADV, 0xffffu, 0, NULL, NULL },
	{ 0x5000, E1000_RXCSUM, 0x7ffu, 0x00000300u, NULL, NULL },
	{ 0x5800, E1000_WUC, 0xfu, 0, NULL, NULL },
	{ 0x5808, E1000_WUFC, 0xffffu, 0, NULL, NULL },
	{ 0x5820, E1000_MANC, 0xffffffffu, 0, NULL, NULL },
};

/* Statistics the device counts, at their offsets in the 0x4000 block. */
static const uint16_t stat_offsets[E1000_NSTATS] = {
	[E1000_ST_MPC] = 0x4010, [E1000_ST_GPRC] = 0x4074, [E1000_ST_BPRC] = 0x4078,
	[E1000_ST_MPRC] = 0x407c, [E1000_ST_GPTC] = 0x4080, [E1000_ST_GORCL] = 0x4088,
	[E1000_ST_GORCH] = 0x408c, [E1000_ST_GOTCL] = 0x4090, [E1000_ST_GOTCH] = 0x4094,
	[E1000_ST_RNBC] = 0x40a0, [E1000_ST_ROC] = 0x40ac, [E1000_ST_TORL] = 0x40c0,
	[E1000_ST_TORH] = 0x40c4, [E1000_ST_TOTL] = 0x40c8, [E1000_ST_TOTH] = 0x40cc,
	[E1000_ST_TPR] = 0x40d0, [E1000_ST_TPT] = 0x40d4, [E1000_ST_MPTC] = 0x40f0,
	[E1000_ST_BPTC] = 0x40f4,
};

#define STATS_BASE 0x4000u
#define STATS_END 0x4100u
#define MTA_BASE 0x5200u
#define RA_BASE 0x5400u
#define VFTA_BASE 0x5600u
#define VFTA_END 0x5800u

static const struct reg_row *find_row(uint32_t offset)
{
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i].offset == offset)
			return &regs[i];
	return NULL;
}

static const struct reg_row *row_of_slot(unsigned int slot)
{
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i].slot == slot)
			return &regs[i];
	return NULL;
}

/* ---- interrupts ---- */
void e1000_update_irq(struct e1000 *e)
{
	bool level = !e->unplugged && (e->reg[E1000_ICR] & e->reg[E1000_IMS]);

	if (level == e->irq_level)
		return;
	e->irq_level = level;
	if (e->set_irq)
		e->set_irq(e->irq_opaque, level);
}

void e1000_raise(struct e1000 *e, uint32_t causes)
{
	e->reg[E1000_ICR] |= causes & ICR_ALL;
	e1000_update_irq(e);
}

void e1000_count(struct e1000 *e, enum e1000_stat lo, enum e1000_stat hi, uint64_t add)
{
	if (hi == lo) {
		e->stat[lo] += (uint32_t)add;
		return;
	}
	uint64_t v = ((uint64_t)e->stat[hi] << 32 | e->stat[lo]) + add;
	e->stat[lo] = (uint32_t)v;
	e->stat[hi] = (uint32_t)(v >> 32);
}

/* ---- EEPROM and PHY ---- */
static void build_eeprom(struct e1000 *e)
{
	uint16_t *w = e->eeprom;
	uint32_t sum = 0;

	memset(e->eeprom, 0, sizeof(e->eeprom));
	for (int i = 0; i < 3; i++)
		w[i] = (uint16_t)(e->mac[2 * i] | e->mac[2 * i + 1] << 8);
	w[0x04] = 0xffff;       /* LED settings: the driver's defaults */
	w[0x0a] = 0x4000;       /* initialization control 1: valid signature */
	w[0x0b] = 0x001e;       /* subsystem ID, subsystem vendor, device ID, vendor ID */
	w[0x0c] = 0x8086;
	w[0x0d] = 0x100e;
	w[0x0e] = 0x8086;
	w[0x0f] = 0x0000;       /* initialization control 2: no pause */
	for (int i = 0; i < E1000_EEPROM_WORDS - 1; i++)
		sum += w[i];
	w[E1000_EEPROM_WORDS - 1] = (uint16_t)(EEPROM_SUM - sum);
}

static void phy_reset(struct e1000 *e)
{
	memset(e->phy, 0, sizeof(e->phy));
	for (size_t i = 0; i < sizeof(phy_power_on) / sizeof(phy_power_on[0]); i++)
		e->phy[phy_power_on[i].reg] = phy_power_on[i].value;
}

static bool phy_writable(unsigned int reg)
{
	for (size_t i = 0; i < sizeof(phy_power_on) / sizeof(phy_power_on[0]); i++)
		if (phy_power_on[i].reg == reg)
			return phy_power_on[i].writable;
	return true;     /* registers we do not model hold what is written */
}

static void write_mdic(struct e1000 *e, unsigned int slot, uint32_t value)
{
	unsigned int phy = (value >> 21) & 0x1f, reg = (value >> 16) & 0x1f;
	uint32_t op = value & (3u << 26), data = value & 0xffff;

	if (phy != PHY_ADDR || (op != MDIC_OP_READ && op != MDIC_OP_WRITE)) {
		e->reg[slot] = (value & ~0xffffu) | MDIC_READY | MDIC_ERROR;
	} else if (op == MDIC_OP_READ) {
		e->reg[slot] = (value & ~(0xffffu | MDIC_ERROR)) | e->phy[reg] | MDIC_READY;
	} else {
		if (phy_writable(reg)) {
			/* Control: reset and autonegotiation restart finish at once. */
			e->phy[reg] = (uint16_t)(reg == 0 ? data & ~(1u << 15 | 1u << 9) : data);
		}
		e->reg[slot] = (value & ~MDIC_ERROR) | MDIC_READY;
	}
	if (value & MDIC_IE)
		e1000_raise(e, E1000_ICR_MDAC);
}

static void write_eerd(struct e1000 *e, unsigned int slot, uint32_t value)
{
	if (!(value & EERD_START)) {
		e->reg[slot] = value & ~EERD_START;
		return;
	}
	unsigned int addr = (value >> 8) & 0xff;
	uint16_t data = addr < E1000_EEPROM_WORDS ? e->eeprom[addr] : 0xffff;
	e->reg[slot] = (uint32_t)data << 16 | addr << 8 | EERD_DONE;
}

/* Microwire: on each rising SK edge with CS held, DI is a bit in (start bit, opcode, address)
 * until a read is recognised; then each edge puts the next data bit on DO, words following on. */
static void write_eecd(struct e1000 *e, unsigned int slot, uint32_t value)
{
	uint32_t old = e->reg[slot];

	e->reg[slot] = value & EECD_WMASK;
	if (!(value & EECD_CS)) {
		memset(&e->mw, 0, sizeof(e->mw));
		return;
	}
	if (!(value & EECD_SK) || (old & EECD_SK))
		return;
	if (e->mw.reading) {
		e->mw.read_bit++;
		return;
	}
	if (e->mw.bits_in == 0 && !(value & EECD_DI))
		return;                 /* before the start bit */
	if (e->mw.bits_in >= 3 + MW_ADDR_BITS)
		return;                 /* an opcode we do not serve: wait for CS to drop */
	e->mw.shift_in = (uint16_t)(e->mw.shift_in << 1 | !!(value & EECD_DI));
	if (++e->mw.bits_in == 3 + MW_ADDR_BITS && e->mw.shift_in >> MW_ADDR_BITS == EEPROM_READ_OPCODE) {
		e->mw.reading = true;
		e->mw.addr = e->mw.shift_in & (E1000_EEPROM_WORDS - 1);
		e->mw.read_bit = 0;
	}
}

static uint32_t read_eecd(struct e1000 *e, unsigned int slot)
{
	uint32_t v = (e->reg[slot] & ~EECD_DO) | EECD_PRES;

	if (v & EECD_REQ)
		v |= EECD_GNT;
	/* read_bit 0 is the dummy zero after the address; 1..16 the word's bits, MSB first. */
	if (e->mw.reading && e->mw.read_bit > 0) {
		unsigned int n = e->mw.read_bit - 1u;
		uint16_t word = e->eeprom[(e->mw.addr + n / 16) % E1000_EEPROM_WORDS];
		if (word >> (15 - n % 16) & 1)
			v |= EECD_DO;
	}
	return v;
}

/* ---- the other hooks ---- */
static void store(struct e1000 *e, unsigned int slot, uint32_t value)
{
	const struct reg_row *r = row_of_slot(slot);

	if (r)
		e->reg[slot] = (value & r->wmask) | (e->reg[slot] & ~r->wmask);
}

static uint32_t read_zero(struct e1000 *e, unsigned int slot)
{
	(void)e;
	(void)slot;
	return 0;
}

static void write_ignored(struct e1000 *e, unsigned int slot, uint32_t value)
{
	(void)e;
	(void)slot;
	(void)value;
}

static uint32_t read_icr(struct e1000 *e, unsigned int slot)
{
	uint32_t v = e->reg[slot];

	e->reg[slot] = 0;
	e1000_update_irq(e);
	return v;
}

static void write_icr(struct e1000 *e, unsigned int slot, uint32_t value)
{
	e->reg[slot] &= ~value;
	e1000_update_irq(e);
}

static void write_ics(struct e1000 *e, unsigned int slot, uint32_t value)
{
	(void)slot;
	e1000_raise(e, value);
}

static void write_ims(struct e1000 *e, unsigned int slot, uint32_t value)
{
	e->reg[slot] |= value & ICR_ALL;
	e1000_update_irq(e);
}

static void write_imc(struct e1000 *e, unsigned int slot, uint32_t value)
{
	(void)slot;
	e->reg[E1000_IMS] &= ~value;
	e1000_update_irq(e);
}

static void write_ctrl(struct e1000 *e, unsigned int slot, uint32_t value)
{
	(void)slot;
	if (value & CTRL_RST) {
		e1000_reset(e);
		return;
	}
	bool link_set = (value & CTRL_SLU) && !(e->reg[E1000_CTRL] & CTRL_SLU);
	e->reg[E1000_CTRL] = value & ~CTRL_RST;
	if (link_set)
		e1000_raise(e, E1000_ICR_LSC);
}

static void rx_room(struct e1000 *e)
{
	if (e->rx_room)
		e->rx_room(e->rx_room_opaque);
}

static void write_rctl(struct e1000 *e, unsigned int slot, uint32_t value)
{
	store(e, slot, value);
	e1000_ring_changed(e, false);
	rx_room(e);
}

static void write_tctl(struct e1000 *e, unsigned int slot, uint32_t value)
{
	store(e, slot, value);
	if (value & TCTL_EN)
		e1000_tx_run(e);
}

static void write_rx_ring(struct e1000 *e, unsigned int slot, uint32_t value)
{
	store(e, slot, value);
	e1000_ring_changed(e, false);
	if (slot == E1000_RDT)
		rx_room(e);
}

static void write_tx_ring(struct e1000 *e, unsigned int slot, uint32_t value)
{
	store(e, slot, value);
	e1000_ring_changed(e, true);
}

static void write_tdt(struct e1000 *e, unsigned int slot, uint32_t value)
{
	write_tx_ring(e, slot, value);
	e1000_tx_run(e);
}

/* ---- access by offset ---- */
static uint32_t reg_read(struct e1000 *e, uint32_t offset)
{
	if (offset >= STATS_BASE && offset < STATS_END) {
		for (unsigned int i = 0; i < E1000_NSTATS; i++)
			if (stat_offsets[i] == offset) {
				uint32_t v = e->stat[i];
				e->stat[i] = 0;       /* statistics clear on read */
				return v;
			}
		return 0;
	}
	if (offset >= MTA_BASE && offset < MTA_BASE + 4 * E1000_MTA_WORDS)
		return e->mta[(offset - MTA_BASE) / 4];
	if (offset >= RA_BASE && offset < RA_BASE + 8 * E1000_RA_ENTRIES)
		return e->ra[(offset - RA_BASE) / 4];
	const struct reg_row *r = find_row(offset);
	if (!r)
		return 0;                     /* VFTA (no VLAN filtering) and registers we lack */
	return r->read ? r->read(e, r->slot) : e->reg[r->slot];
}

static void reg_write(struct e1000 *e, uint32_t offset, uint32_t value)
{
	if (offset >= MTA_BASE && offset < MTA_BASE + 4 * E1000_MTA_WORDS) {
		e->mta[(offset - MTA_BASE) / 4] = value;
		return;
	}
	if (offset >= RA_BASE && offset < RA_BASE + 8 * E1000_RA_ENTRIES) {
		unsigned int i = (offset - RA_BASE) / 4;
		e->ra[i] = i & 1 ? value & (RAH_AV | 0x3ffffu) : value;
		return;
	}
	const struct reg_row *r = find_row(offset);
	if (!r)
		return;
	if (r->write)
		r->write(e, r->slot, value);
	else
		store(e, r->slot, value);
}

/* BAR0: dword registers.  Narrower aligned reads see their part of the dword (with its read's
 * effects); narrower writes are dropped, as drivers never make them; 8-byte accesses are two. */
void e1000_mmio_access(void *opaque, struct vcpu *vcpu, uint64_t offset, bool is_write, uint8_t *data,
		       unsigned int size)
{
	struct e1000 *e = opaque;

	(void)vcpu;
	if (size == 8 && !(offset & 7)) {
		e1000_mmio_access(opaque, vcpu, offset, is_write, data, 4);
		e1000_mmio_access(opaque, vcpu, offset + 4, is_write, data + 4, 4);
		return;
	}
	bool fits = (size == 1 || size == 2 || size == 4) && (offset & 3) + size <= 4 &&
		    offset < E1000_MMIO_SIZE;
	pthread_mutex_lock(&e->lock);
	if (!is_write) {
		uint32_t v = fits && !e->unplugged ? reg_read(e, (uint32_t)offset & ~3u) : 0xffffffffu;
		v >>= 8 * (offset & 3);
		for (unsigned int i = 0; i < size; i++)
			data[i] = (uint8_t)(fits ? v >> 8 * i : 0xff);
	} else if (fits && size == 4 && !e->unplugged) {
		reg_write(e, (uint32_t)offset, (uint32_t)data[0] | data[1] << 8 | data[2] << 16 |
			  (uint32_t)data[3] << 24);
	}
	pthread_mutex_unlock(&e->lock);
}

/* BAR1: IOADDR (0) names a register, IODATA (4) reaches it; dword accesses only. */
void e1000_io_access(void *opaque, struct vcpu *vcpu, uint64_t offset, bool is_write, uint8_t *data,
		     unsigned int size)
{
	struct e1000 *e = opaque;

	if (size != 4 || (offset != 0 && offset != 4)) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	/* IOADDR is atomic rather than locked: IODATA's access takes the lock itself, and vCPUs racing
	 * on IOADDR get one address or the other, as on hardware. */
	if (offset == 4) {
		uint32_t target = __atomic_load_n(&e->ioaddr, __ATOMIC_RELAXED);
		e1000_mmio_access(e, vcpu, target & (E1000_MMIO_SIZE - 4), is_write, data, 4);
		return;
	}
	if (is_write)
		__atomic_store_n(&e->ioaddr, ((uint32_t)data[0] | data[1] << 8 | data[2] << 16 |
					      (uint32_t)data[3] << 24) & (E1000_MMIO_SIZE - 4), __ATOMIC_RELAXED);
	else
		for (unsigned int i = 0, v = __atomic_load_n(&e->ioaddr, __ATOMIC_RELAXED); i < 4; i++)
			data[i] = (uint8_t)(v >> 8 * i);
}

/* ---- life cycle ---- */
void e1000_reset(struct e1000 *e)
{
	memset(e->reg, 0, sizeof(e->reg));
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i].slot != NO_SLOT && regs[i].power_on)
			e->reg[regs[i].slot] = regs[i].power_on;
	memset(e->stat, 0, sizeof(e->stat));
	memset(e->mta, 0, sizeof(e->mta));
	memset(e->ra, 0, sizeof(e->ra));
	memset(&e->mw, 0, sizeof(e->mw));
	memset(&e->tx_ctx, 0, sizeof(e->tx_ctx));
	/* The receive address 0 comes from the EEPROM, valid. */
	e->ra[0] = (uint32_t)e->eeprom[0] | (uint32_t)e->eeprom[1] << 16;
	e->ra[1] = e->eeprom[2] | RAH_AV;
	e->ioaddr = 0;
	e->tx_dropping = e->tx_stopped = e->rx_stopped = false;
	phy_reset(e);
	e1000_update_irq(e);
	rx_room(e);
}

int e1000_init(struct e1000 *e, struct domain *dom, const char *name, const uint8_t mac[6], char *err,
	       size_t errlen)
{
	memset(e, 0, offsetof(struct e1000, frame));
	if (mac[0] & 1) {
		ERR_SET(err, errlen, "%s: MAC %02x:%02x:%02x:%02x:%02x:%02x is a multicast address", name,
			mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return -1;
	}
	int r = pthread_mutex_init(&e->lock, NULL);
	if (r) {
		ERR_SET(err, errlen, "%s: %s", name, strerror(r));
		return -1;
	}
	e->dom = dom;
	e->name = name;
	e->port.fd = -1;
	memcpy(e->mac, mac, 6);
	build_eeprom(e);
	e1000_reset(e);
	return 0;
}

void e1000_destroy(struct e1000 *e)
{
	pthread_mutex_destroy(&e->lock);
}

/* ---- receive filters (RCTL, RAL/RAH, MTA) ---- */
bool e1000_rx_accepts(const struct e1000 *e, const uint8_t *frame, size_t len)
{
	static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t rctl = e->reg[E1000_RCTL];

	if (len < 14)
		return false;
	if (!memcmp(frame, broadcast, 6))
		return rctl & (RCTL_BAM | RCTL_MPE);
	if (frame[0] & 1) {
		if (rctl & RCTL_MPE)
			return true;
		/* The multicast offset (RCTL.MO) picks which 12 bits of the address hash. */
		static const uint8_t shift[4] = { 4, 3, 2, 0 };
		unsigned int mo = (rctl >> 12) & 3;
		unsigned int hash = ((frame[4] >> shift[mo]) | (unsigned int)frame[5] << (8 - shift[mo])) & 0xfff;
		return e->mta[hash >> 5] >> (hash & 31) & 1;
	}
	if (rctl & RCTL_UPE)
		return true;
	for (unsigned int i = 0; i < E1000_RA_ENTRIES; i++) {
		uint32_t lo = e->ra[2 * i], hi = e->ra[2 * i + 1];
		const uint8_t ra[6] = { (uint8_t)lo, (uint8_t)(lo >> 8), (uint8_t)(lo >> 16), (uint8_t)(lo >> 24),
					(uint8_t)hi, (uint8_t)(hi >> 8) };
		if ((hi & RAH_AV) && !memcmp(frame, ra, 6))
			return true;
	}
	return false;
}

/* ---- saved state: "E1K", version, the MAC, then every field little-endian ---- */
#define STATE_VERSION 1

struct cursor {
	uint8_t *w;
	const uint8_t *r;
	size_t at, len;
	bool short_;
};

static void put(struct cursor *c, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		c->w[c->at++] = (uint8_t)(v >> 8 * i);
}

static uint64_t get(struct cursor *c, unsigned int n)
{
	uint64_t v = 0;

	if (c->len - c->at < n) {
		c->short_ = true;
		return 0;
	}
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)c->r[c->at++] << 8 * i;
	return v;
}

long e1000_save(struct e1000 *e, uint8_t *buf, size_t len)
{
	struct cursor c = { .w = buf };

	if (len < E1000_STATE_SIZE)
		return -1;
	pthread_mutex_lock(&e->lock);
	memcpy(buf, "E1K", 3);
	c.at = 3;
	put(&c, STATE_VERSION, 1);
	for (int i = 0; i < 6; i++)
		put(&c, e->mac[i], 1);
	for (int i = 0; i < E1000_NREGS; i++)
		put(&c, e->reg[i], 4);
	for (int i = 0; i < E1000_NSTATS; i++)
		put(&c, e->stat[i], 4);
	for (int i = 0; i < E1000_MTA_WORDS; i++)
		put(&c, e->mta[i], 4);
	for (int i = 0; i < 2 * E1000_RA_ENTRIES; i++)
		put(&c, e->ra[i], 4);
	for (int i = 0; i < E1000_PHY_REGS; i++)
		put(&c, e->phy[i], 2);
	put(&c, e->ioaddr, 4);
	put(&c, e->mw.shift_in, 2);
	put(&c, e->mw.bits_in, 1);
	put(&c, e->mw.reading, 1);
	put(&c, e->mw.read_bit, 2);
	put(&c, e->mw.addr, 1);
	put(&c, 0, 1);
	put(&c, e->tx_ctx.ipcss, 1);
	put(&c, e->tx_ctx.ipcso, 1);
	put(&c, e->tx_ctx.tucss, 1);
	put(&c, e->tx_ctx.tucso, 1);
	put(&c, e->tx_ctx.ipcse, 2);
	put(&c, e->tx_ctx.tucse, 2);
	put(&c, e->tx_ctx.tse, 1);
	put(&c, e->tx_dropping, 1);
	put(&c, 0, 2);
	put(&c, e->unplugged, 1);
	put(&c, 0, 3);
	pthread_mutex_unlock(&e->lock);
	return (long)c.at;
}

int e1000_restore(struct e1000 *e, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct cursor c = { .r = buf, .len = len };
	uint8_t mac[6];

	if (len != E1000_STATE_SIZE || memcmp(buf, "E1K", 3)) {
		ERR_SET(err, errlen, "%s: not a saved e1000 state (%zu bytes, %d expected)", e->name, len,
			(int)E1000_STATE_SIZE);
		return -1;
	}
	c.at = 3;
	unsigned int version = (unsigned int)get(&c, 1);
	if (version != STATE_VERSION) {
		ERR_SET(err, errlen, "%s: saved e1000 state version %u; this VMM reads %d", e->name, version,
			STATE_VERSION);
		return -1;
	}
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)get(&c, 1);
	if (memcmp(mac, e->mac, 6)) {
		ERR_SET(err, errlen, "%s: saved state is of MAC %02x:%02x:%02x:%02x:%02x:%02x, this NIC has "
			"%02x:%02x:%02x:%02x:%02x:%02x", e->name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
			e->mac[0], e->mac[1], e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
		return -1;
	}
	/* Decode into a copy: a refused state leaves the NIC as it was. */
	struct e1000 *n = malloc(sizeof(*n));
	if (!n) {
		ERR_SET(err, errlen, "%s: out of memory", e->name);
		return -1;
	}
	for (int i = 0; i < E1000_NREGS; i++)
		n->reg[i] = (uint32_t)get(&c, 4);
	for (int i = 0; i < E1000_NSTATS; i++)
		n->stat[i] = (uint32_t)get(&c, 4);
	for (int i = 0; i < E1000_MTA_WORDS; i++)
		n->mta[i] = (uint32_t)get(&c, 4);
	for (int i = 0; i < 2 * E1000_RA_ENTRIES; i++)
		n->ra[i] = (uint32_t)get(&c, 4);
	for (int i = 0; i < E1000_PHY_REGS; i++)
		n->phy[i] = (uint16_t)get(&c, 2);
	n->ioaddr = (uint32_t)get(&c, 4);
	n->mw.shift_in = (uint16_t)get(&c, 2);
	n->mw.bits_in = (uint8_t)get(&c, 1);
	unsigned int reading = (unsigned int)get(&c, 1);
	n->mw.read_bit = (uint16_t)get(&c, 2);
	n->mw.addr = (uint8_t)get(&c, 1);
	get(&c, 1);
	n->tx_ctx.ipcss = (uint8_t)get(&c, 1);
	n->tx_ctx.ipcso = (uint8_t)get(&c, 1);
	n->tx_ctx.tucss = (uint8_t)get(&c, 1);
	n->tx_ctx.tucso = (uint8_t)get(&c, 1);
	n->tx_ctx.ipcse = (uint16_t)get(&c, 2);
	n->tx_ctx.tucse = (uint16_t)get(&c, 2);
	unsigned int tse = (unsigned int)get(&c, 1), dropping = (unsigned int)get(&c, 1);
	uint64_t pad = get(&c, 2);
	unsigned int unplugged = (unsigned int)get(&c, 1);
	pad |= get(&c, 3);
	const char *bad = c.short_ ? "short" :
			  reading > 1 || tse > 1 || dropping > 1 || unplugged > 1 || pad ? "a flag is neither 0 nor 1" :
			  n->mw.bits_in > 3 + MW_ADDR_BITS || n->mw.addr >= E1000_EEPROM_WORDS ? "EEPROM state out of range" :
			  n->ioaddr & ~(E1000_MMIO_SIZE - 4) ? "IOADDR out of range" : NULL;
	if (bad) {
		ERR_SET(err, errlen, "%s: saved e1000 state refused: %s", e->name, bad);
		free(n);
		return -1;
	}
	pthread_mutex_lock(&e->lock);
	/* The bits a write may set come from the state, the read-only ones (STATUS, PBA's transmit
	 * share) are the device's own. */
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i].slot != NO_SLOT && regs[i].offset != 0x0004)
			e->reg[regs[i].slot] = (n->reg[regs[i].slot] & regs[i].wmask) |
					       (regs[i].power_on & ~regs[i].wmask);
	memcpy(e->stat, n->stat, sizeof(e->stat));
	memcpy(e->mta, n->mta, sizeof(e->mta));
	memcpy(e->ra, n->ra, sizeof(e->ra));
	for (unsigned int i = 1; i < 2 * E1000_RA_ENTRIES; i += 2)
		e->ra[i] &= RAH_AV | 0x3ffffu;
	memcpy(e->phy, n->phy, sizeof(e->phy));
	e->ioaddr = n->ioaddr;
	e->mw = n->mw;
	e->mw.reading = reading;
	e->tx_ctx = n->tx_ctx;
	e->tx_ctx.tse = tse;
	e->tx_dropping = dropping;
	e->unplugged = unplugged;
	e->tx_stopped = e->rx_stopped = false;     /* the rings are checked again at next use */
	e1000_update_irq(e);
	pthread_mutex_unlock(&e->lock);
	free(n);
	rx_room(e);
	return 0;
}
