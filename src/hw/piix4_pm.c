/* 00:01.3, the PIIX4 power-management function (8086:7113, rev 3): what ACPI needs of the chipset.
 *
 * Config space: PMBA at 0x40 (I/O base of the 64-byte PM block, bit 0 reads 1), PMREGMISC at 0x80
 * (bit 0 enables the block), SMBus base and host config at 0x90/0xd2 (plain bytes: no SMBus
 * behind them), and DEVACTB at 0x58 whose APMC_EN bit reads 1: firmware takes it to mean SMM is
 * already set up, and we have no SMM (SeaBIOS would otherwise write port 0xb2 and wait forever
 * for an SMI handler to answer on 0xb3).
 *
 * The PM block decodes only at PIIX4_PM_BASE (0xb000, where SeaBIOS puts it and its FADT points)
 * while PMREGMISC enables it: the domain's port table is fixed once vCPUs run, and pci.h decodes
 * BARs only, not a PMBA.  A guest that moves PMBA elsewhere finds nothing there.  In the block:
 *   +0 PM1_STS  (write 1 to clear): TMR_STS (bit 23 of the timer toggled), PWRBTN_STS, ...
 *   +2 PM1_EN   enables the SCI for each status bit
 *   +4 PM1_CNT  SCI_EN, SLP_TYP (bits 10-12), SLP_EN (bit 13, write-only): SLP_EN with the S5
 *               type (0, as \_S5 says) powers the domain off (Xen's on_poweroff); S3/S4 are
 *               logged and ignored, as a machine that cannot sleep would
 *   +8 PM_TMR   24 bits at 3.579545 MHz, from CLOCK_MONOTONIC
 * GPE0 (0xafe0, 2 status and 2 enable bytes) holds nothing that ever fires, but answers, so the
 * OS reads zeros there and not a bus's all ones.  Port 0xb2 is the FADT's SMI command port:
 * 0xf1/0xf0 set and clear SCI_EN, the only SMI work a guest may ask.
 *
 * The SCI (IRQ 9, level) is high while a status bit and its enable are both set.  TMR_STS is
 * brought up to date when the guest reads PM1_STS; it raises no SCI by itself (no timer runs for
 * it: no OS we serve enables TMR_EN).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hw/irq.h"
#include "hw/pci.h"
#include "hw/piix4_pm.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/xen_public.h"

#define CFG_PMBA 0x40
#define CFG_DEVACTB 0x58
#define CFG_DEVACTB_APMC_EN_BYTE 0x5b  /* bit 25 of DEVACTB: bit 1 of its top byte */
#define CFG_DEVACTB_APMC_EN 0x02
#define CFG_PMREGMISC 0x80
#define CFG_PMIOSE 0x01
#define CFG_SMBBA 0x90
#define CFG_SMBHSTCFG 0xd2

#define PM1_STS 0x00
#define PM1_EN 0x02
#define PM1_CNT 0x04
#define PM_TMR 0x08

#define STS_TMR 0x0001
#define STS_GBL 0x0020
#define STS_PWRBTN 0x0100
#define STS_RTC 0x0400
#define STS_WAK 0x8000
#define STS_KEPT (STS_TMR | STS_GBL | STS_PWRBTN | STS_RTC | STS_WAK)
#define EN_KEPT (STS_TMR | STS_GBL | STS_PWRBTN | STS_RTC)
#define CNT_SCI_EN 0x0001
#define CNT_BM_RLD 0x0002
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP 0x1c00
#define CNT_SLP_EN 0x2000
#define CNT_KEPT (CNT_SCI_EN | CNT_BM_RLD | CNT_SLP_TYP)

#define ACPI_ENABLE 0xf1
#define ACPI_DISABLE 0xf0
#define PM_TIMER_HZ 3579545u
#define PM_TIMER_MASK 0xffffffu
#define SLEEP_LOGS_MAX 8               /* a guest may write SLP_EN in a loop: log the first few */

struct piix4_pm {
	pthread_mutex_t lock;
	struct domain *dom;
	struct pci_device *dev;
	struct pci_device_info info;
	uint16_t sts, en, cnt;
	int64_t tmr_offset;             /* PM timer = ticks since boot of the host + this */
	int64_t tmr_seen;               /* the timer (unmasked) when TMR_STS was last brought up */
	uint8_t gpe_sts[2], gpe_en[2];
	uint8_t apm_cnt, apm_sts;
	bool sci_level;
	unsigned int sleep_logs;
};

static int64_t host_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)((unsigned __int128)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) *
			 PM_TIMER_HZ / 1000000000u);
}

static int64_t timer_now(const struct piix4_pm *pm)
{
	return host_ticks() + pm->tmr_offset;
}

static void update_sci(struct piix4_pm *pm)
{
	bool level = pm->sts & pm->en & EN_KEPT;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		hw_irq_set(pm->dom, PIIX4_SCI_IRQ, level);
	}
}

static void catch_up_timer_status(struct piix4_pm *pm)
{
	int64_t now = timer_now(pm);

	if ((now >> 23) != (pm->tmr_seen >> 23))
		pm->sts |= STS_TMR;
	pm->tmr_seen = now;
}

static bool block_decodes(const struct piix4_pm *pm)
{
	const uint8_t *c = pm->dev->config;
	unsigned int base = (c[CFG_PMBA] | c[CFG_PMBA + 1] << 8) & ~(PIIX4_PM_LEN - 1u);

	return (c[CFG_PMREGMISC] & CFG_PMIOSE) && base == PIIX4_PM_BASE;
}

static void sleep_request(struct piix4_pm *pm, unsigned int type)
{
	if (type == PIIX4_SLP_TYP_S5) {
		LOG("domain %d: ACPI S5 (soft off)", pm->dom->domid);
		domain_shutdown(pm->dom, SHUTDOWN_poweroff);
		return;
	}
	if (pm->sleep_logs < SLEEP_LOGS_MAX) {
		pm->sleep_logs++;
		LOG("domain %d: ACPI sleep type %u (%s) ignored: the domain cannot sleep", pm->dom->domid, type,
		    type == PIIX4_SLP_TYP_S3 ? "S3" : type == PIIX4_SLP_TYP_S4 ? "S4" : "no state");
	}
}

/* One byte of the block. */
static uint8_t block_read(struct piix4_pm *pm, unsigned int off, uint32_t tmr)
{
	switch (off) {
	case PM1_STS: case PM1_STS + 1: return (uint8_t)(pm->sts >> 8 * (off - PM1_STS));
	case PM1_EN: case PM1_EN + 1:   return (uint8_t)(pm->en >> 8 * (off - PM1_EN));
	case PM1_CNT: case PM1_CNT + 1: return (uint8_t)(pm->cnt >> 8 * (off - PM1_CNT));
	case PM_TMR: case PM_TMR + 1: case PM_TMR + 2: case PM_TMR + 3:
		return (uint8_t)(tmr >> 8 * (off - PM_TMR));
	default:                        return 0;       /* PIIX4's other PM registers: nothing set */
	}
}

static void block_write(struct piix4_pm *pm, unsigned int off, uint8_t v)
{
	unsigned int shift = 8 * (off & 1);

	switch (off) {
	case PM1_STS: case PM1_STS + 1:
		pm->sts &= (uint16_t)~((unsigned int)v << shift);
		break;
	case PM1_EN: case PM1_EN + 1:
		pm->en = (uint16_t)((pm->en & ~(0xffu << shift)) | ((unsigned int)v << shift)) & EN_KEPT;
		break;
	case PM1_CNT: case PM1_CNT + 1: {
		unsigned int cnt = (pm->cnt & ~(0xffu << shift)) | ((unsigned int)v << shift);
		pm->cnt = (uint16_t)(cnt & CNT_KEPT);
		if (cnt & CNT_SLP_EN)
			sleep_request(pm, (cnt & CNT_SLP_TYP) >> CNT_SLP_TYP_SHIFT);
		break;
	}
	default:
		break;                  /* the timer and the rest: read-only or nothing behind them */
	}
}

static void pm_block_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
			unsigned int size)
{
	struct piix4_pm *pm = opaque;
	unsigned int off = (unsigned int)(port - PIIX4_PM_BASE);

	(void)vcpu;
	pthread_mutex_lock(&pm->lock);
	if (!block_decodes(pm)) {
		if (!is_write)
			memset(data, 0xff, size);
		pthread_mutex_unlock(&pm->lock);
		return;
	}
	if (is_write) {
		for (unsigned int i = 0; i < size && off + i < PIIX4_PM_LEN; i++)
			block_write(pm, off + i, data[i]);
	} else {
		if (off < PM1_STS + 2)
			catch_up_timer_status(pm);
		uint32_t tmr = (uint32_t)timer_now(pm) & PM_TIMER_MASK;
		for (unsigned int i = 0; i < size; i++)
			data[i] = off + i < PIIX4_PM_LEN ? block_read(pm, off + i, tmr) : 0xff;
	}
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void gpe0_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		    unsigned int size)
{
	struct piix4_pm *pm = opaque;
	unsigned int off = (unsigned int)(port - PIIX4_GPE0_BASE);

	(void)vcpu;
	pthread_mutex_lock(&pm->lock);
	for (unsigned int i = 0; i < size; i++, off++) {
		uint8_t *reg = off < 2 ? &pm->gpe_sts[off] : off < 4 ? &pm->gpe_en[off - 2] : NULL;
		if (!is_write)
			data[i] = reg ? *reg : 0xff;
		else if (reg && off < 2)
			*reg &= (uint8_t)~data[i];          /* status: write 1 to clear */
		else if (reg)
			*reg = data[i];
	}
	pthread_mutex_unlock(&pm->lock);
}

static void apm_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		   unsigned int size)
{
	struct piix4_pm *pm = opaque;
	uint8_t *reg = port == PIIX4_SMI_CMD_PORT ? &pm->apm_cnt : &pm->apm_sts;

	(void)vcpu;
	pthread_mutex_lock(&pm->lock);
	if (!is_write) {
		memset(data, 0, size);
		data[0] = *reg;
	} else {
		*reg = data[0];
		if (port == PIIX4_SMI_CMD_PORT && data[0] == ACPI_ENABLE)
			pm->cnt |= CNT_SCI_EN;
		else if (port == PIIX4_SMI_CMD_PORT && data[0] == ACPI_DISABLE)
			pm->cnt &= (uint16_t)~CNT_SCI_EN;
	}
	pthread_mutex_unlock(&pm->lock);
}

static struct piix4_pm *find_pm(struct domain *dom)
{
	if (!dom->pci)
		return NULL;
	struct pci_device *dev = dom->pci->devices[PIIX4_PM_SLOT << 3 | PIIX4_PM_FUNC];
	if (!dev || !dev->info || strcmp(dev->info->name, "piix4-pm"))
		return NULL;
	return dev->info->opaque;
}

void piix4_pm_power_button(struct domain *dom)
{
	struct piix4_pm *pm = find_pm(dom);

	if (!pm)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->sts |= STS_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void config_bytes(struct pci_device *dev, unsigned int at, unsigned int n, uint32_t value,
			 uint32_t wmask)
{
	for (unsigned int i = 0; i < n; i++) {
		dev->config[at + i] = (uint8_t)(value >> 8 * i);
		dev->wmask[at + i] = (uint8_t)(wmask >> 8 * i);
	}
}

static int piix4_pm_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	if (!dom->pci) {
		ERR_SET(err, errlen, "piix4-pm: the PCI bus must be built first");
		return -1;
	}
	struct piix4_pm *pm = calloc(1, sizeof(*pm));
	if (!pm) {
		ERR_SET(err, errlen, "piix4-pm: out of memory");
		return -1;
	}
	pthread_mutex_init(&pm->lock, NULL);
	pm->dom = dom;
	pm->info = (struct pci_device_info){
		.name = "piix4-pm", .vendor = 0x8086, .device = 0x7113, .revision = 0x03,
		.subclass = 0x80, .class_code = 0x06, .opaque = pm,
	};
	pm->tmr_offset = -host_ticks();
	pm->tmr_seen = 0;
	if (io_bus_register(&dom->pio, "piix4-pm", PIIX4_PM_BASE, PIIX4_PM_LEN, pm_block_io, pm) ||
	    io_bus_register(&dom->pio, "piix4-gpe0", PIIX4_GPE0_BASE, PIIX4_GPE0_LEN, gpe0_io, pm) ||
	    io_bus_register(&dom->pio, "piix4-apm", PIIX4_SMI_CMD_PORT, 2, apm_io, pm)) {
		ERR_SET(err, errlen, "piix4-pm: ports %#x-%#x, %#x-%#x or %#x-%#x are taken", PIIX4_PM_BASE,
			PIIX4_PM_BASE + PIIX4_PM_LEN - 1, PIIX4_GPE0_BASE, PIIX4_GPE0_BASE + PIIX4_GPE0_LEN - 1,
			PIIX4_SMI_CMD_PORT, PIIX4_SMI_CMD_PORT + 1);
		goto fail;
	}
	pm->dev = pci_device_add(dom->pci, PIIX4_PM_SLOT, PIIX4_PM_FUNC, &pm->info, err, errlen);
	if (!pm->dev)
		goto fail;
	config_bytes(pm->dev, CFG_PMBA, 4, 0x00000001, 0x0000ffc0);
	config_bytes(pm->dev, CFG_DEVACTB, 4, (uint32_t)CFG_DEVACTB_APMC_EN << 24, 0);
	config_bytes(pm->dev, CFG_PMREGMISC, 1, 0, CFG_PMIOSE);
	config_bytes(pm->dev, CFG_SMBBA, 4, 0x00000001, 0x0000fff0);
	config_bytes(pm->dev, CFG_SMBHSTCFG, 1, 0, 0x0f);
	*state = pm;
	return 0;
fail:
	pthread_mutex_destroy(&pm->lock);
	free(pm);
	return -1;
}

/* The bus is torn down after us and still holds our function: it leaves with us. */
static void piix4_pm_teardown(struct domain *dom, void *state)
{
	struct piix4_pm *pm = state;

	if (dom->pci && pm->dev)
		dom->pci->devices[pm->dev->devfn] = NULL;
	free(pm->dev);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/* Config space travels with the bus.  Ours: u8 version, u16 PM1_STS, u16 PM1_EN, u16 PM1_CNT,
 * u32 PM timer, u8 GPE0 status[2], enable[2], u8 APM command, status; little-endian. */
#define PM_SAVE_VERSION 1

static long piix4_pm_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	struct piix4_pm *pm = state;

	(void)dom;
	if (len < PIIX4_PM_SAVED_SIZE)
		return -1;
	pthread_mutex_lock(&pm->lock);
	uint32_t tmr = (uint32_t)timer_now(pm) & PM_TIMER_MASK;
	const uint8_t out[PIIX4_PM_SAVED_SIZE] = {
		PM_SAVE_VERSION, (uint8_t)pm->sts, (uint8_t)(pm->sts >> 8), (uint8_t)pm->en,
		(uint8_t)(pm->en >> 8), (uint8_t)pm->cnt, (uint8_t)(pm->cnt >> 8), (uint8_t)tmr,
		(uint8_t)(tmr >> 8), (uint8_t)(tmr >> 16), (uint8_t)(tmr >> 24), pm->gpe_sts[0], pm->gpe_sts[1],
		pm->gpe_en[0], pm->gpe_en[1], pm->apm_cnt, pm->apm_sts,
	};
	pthread_mutex_unlock(&pm->lock);
	memcpy(buf, out, sizeof(out));
	return PIIX4_PM_SAVED_SIZE;
}

static int piix4_pm_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
			    size_t errlen)
{
	struct piix4_pm *pm = state;

	(void)dom;
	if (len != PIIX4_PM_SAVED_SIZE || buf[0] != PM_SAVE_VERSION) {
		ERR_SET(err, errlen, "PIIX4 PM state of %zu bytes, version %u: expected %d bytes of version %d",
			len, len ? buf[0] : 0, PIIX4_PM_SAVED_SIZE, PM_SAVE_VERSION);
		return -1;
	}
	uint16_t sts = (uint16_t)(buf[1] | buf[2] << 8), en = (uint16_t)(buf[3] | buf[4] << 8);
	uint16_t cnt = (uint16_t)(buf[5] | buf[6] << 8);
	uint32_t tmr = buf[7] | buf[8] << 8 | buf[9] << 16 | (uint32_t)buf[10] << 24;
	if (sts & ~STS_KEPT || en & ~EN_KEPT || cnt & ~CNT_KEPT || tmr > PM_TIMER_MASK) {
		ERR_SET(err, errlen, "PIIX4 PM state: PM1_STS %#x, PM1_EN %#x, PM1_CNT %#x, timer %#x: not what "
			"the chip can hold", sts, en, cnt, tmr);
		return -1;
	}
	pthread_mutex_lock(&pm->lock);
	pm->sts = sts;
	pm->en = en;
	pm->cnt = cnt;
	pm->tmr_offset = (int64_t)tmr - host_ticks();
	pm->tmr_seen = tmr;
	memcpy(pm->gpe_sts, buf + 11, 2);
	memcpy(pm->gpe_en, buf + 13, 2);
	pm->apm_cnt = buf[15];
	pm->apm_sts = buf[16];
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

const struct device_ops piix4_pm_device = {
	.name = "piix4-pm", .init = piix4_pm_init, .teardown = piix4_pm_teardown,
	.save = piix4_pm_save, .restore = piix4_pm_restore,
};
