/* ACPI tables for an HVM domain's PC, as hvmloader gives SeaBIOS's Xen path (which builds none
 * itself: it copies the RSDP into the F segment and reads the FADT through the RSDT).
 *
 * The ACPI 1.0 forms, as SeaBIOS itself builds them for QEMU's i440FX, so that every OS since
 * then reads them:
 *
 *   gpa + 0     FACS  64 bytes, 64-byte aligned (no firmware waking vector)
 *   gpa + 64    RSDP  revision 0: the RSDT only
 *         ...   RSDT  -> FADT, MADT
 *         ...   FADT  revision 1: SCI 9, SMI_CMD 0xb2 (0xf1 enables ACPI, 0xf0 disables), the
 *                     PIIX4 PM blocks at 0xb000 (hw/piix4_pm.h): PM1a_EVT +0, PM1a_CNT +4,
 *                     PM_TMR +8 (24 bits), GPE0 0xafe0 of 4 bytes; a fixed power button
 *         ...   MADT  a local APIC per possible vCPU (enabled: the online ones), KVM's IO-APIC at
 *                     0xfec00000 with GSI base 0, overrides for the PCI IRQs 5, 10, 11 and the SCI
 *                     9: level, active high (KVM's IO-APIC takes KVM_IRQ_LINE's level as the
 *                     asserted state whatever the polarity; QEMU's tables say high too).  No IRQ 0
 *                     override: KVM's default routing keeps GSI 0 on pin 0 (hw/irq.h).
 *         ...   DSDT  \_S5 (SLP_TYP 0, as hw/piix4_pm.c takes it), \_SB.PCI0 (PNP0A03) with a _PRT
 *                     naming each slot's pins A-D by GSI (the PIRQ route after the swizzle, the
 *                     same lines hvmloader.c writes in INTERRUPT_LINE), and a Processor object
 *                     per possible vCPU whose ID is its MADT processor UID. */
#include <stdio.h>
#include <string.h>
#include "vmm/acpi_aml.h"
#include "vmm/acpi_tables.h"
#include "vmm/hvmloader_acpi.h"
#include "hw/piix4_pm.h"

#define OEM_ID "XENITH"
#define OEM_TABLE_ID "HVM     "
#define CREATOR_ID "XNTH"
#define HEADER_SIZE 36
#define FACS_SIZE 64
#define RSDP_SIZE 20
#define FADT_SIZE 116                  /* ACPI 1.0 */
#define MADT_FIXED 44
#define MADT_LAPIC_SIZE 8
#define MADT_IOAPIC_SIZE 12
#define MADT_ISO_SIZE 10
#define MADT_PCAT_COMPAT 1u
#define ISO_LEVEL_HIGH 0x000du         /* trigger level (3 << 2), polarity high (1) */
#define PCI_SLOTS_DESCRIBED 32
#define PNP0A03_EISAID 0x030ad041u     /* EisaId ("PNP0A03") */

/* FADT fields (ACPI 1.0 offsets). */
enum {
	FADT_FIRMWARE_CTRL = 36, FADT_DSDT = 40, FADT_SCI_INT = 46, FADT_SMI_CMD = 48,
	FADT_ACPI_ENABLE = 52, FADT_ACPI_DISABLE = 53, FADT_PM1A_EVT = 56, FADT_PM1A_CNT = 64,
	FADT_PM_TMR = 76, FADT_GPE0 = 80, FADT_PM1_EVT_LEN = 88, FADT_PM1_CNT_LEN = 89,
	FADT_PM_TMR_LEN = 91, FADT_GPE0_LEN = 92, FADT_P_LVL2_LAT = 96, FADT_P_LVL3_LAT = 98,
	FADT_FLAGS = 112,
};
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5)      /* no fixed sleep button (the power button is fixed) */
#define FADT_RTC_S4 (1u << 7)
#define FADT_LATENCY_NONE 0x0fff       /* C2/C3 unsupported */
#define PIIX4_PM1A_CNT_OFFSET 4
#define PIIX4_PM_TMR_OFFSET 8

/* The ISA IRQs that get an override: the PCI lines and the SCI. */
static const uint8_t level_irqs[] = { 5, PIIX4_SCI_IRQ, 10, 11 };

struct layout {
	size_t facs, rsdp, rsdt, fadt, madt, madt_len, dsdt;
};

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

static size_t align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static void finish_table(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put_le(t + 4, len, 4);
	t[8] = rev;
	t[9] = 0;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put_le(t + 24, 1, 4);
	memcpy(t + 28, CREATOR_ID, 4);
	put_le(t + 32, 1, 4);
	t[9] = checksum(t, len);
}

/* ---- DSDT: the encoder's terms, and the few it lacks written here ---- */

/* Bytes the encoder lacks a term for, appended as it appends its own (counting past cap). */
static void aml_raw(struct aml *a, const uint8_t *p, size_t n)
{
	if (a->buf && a->len <= a->cap && n <= a->cap - a->len)
		memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static size_t put_integer(uint8_t *p, uint32_t v)
{
	if (v <= 1) {
		p[0] = (uint8_t)v;                 /* ZeroOp, OneOp */
		return 1;
	}
	if (v <= 0xff) {
		p[0] = 0x0a;                       /* BytePrefix */
		p[1] = (uint8_t)v;
		return 2;
	}
	p[0] = 0x0c;                               /* DWordPrefix */
	put_le(p + 1, v, 4);
	return 5;
}

/* A PkgLength for a body of `body` bytes (the length counts its own bytes) at p: its size. */
static size_t put_pkg_length(uint8_t *p, size_t body)
{
	for (unsigned int k = 1; k <= 4; k++) {
		uint8_t enc[4];
		if (aml_encode_length((uint32_t)(body + k), enc) == k) {
			memcpy(p, enc, k);
			return k;
		}
	}
	return 0;   /* never: our packages are a few KiB */
}

/* Name (\_S5, Package () { 0, 0, 0, 0 }): SLP_TYP 0 for PM1a and PM1b. */
static void dsdt_s5(struct aml *a)
{
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0 };

	aml_raw(a, s5, sizeof(s5));
}

/* Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, Zero, GSI }, ... }). */
static void dsdt_prt(struct aml *a, const uint8_t route[4])
{
	static uint8_t const name[] = { 0x08, '_', 'P', 'R', 'T' };
	uint8_t body[PCI_SLOTS_DESCRIBED * 4 * 16 + 8], head[8];
	size_t at = 0, h = 0;

	body[at++] = PCI_SLOTS_DESCRIBED * 4;      /* NumElements */
	for (unsigned int slot = 0; slot < PCI_SLOTS_DESCRIBED; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			uint8_t e[16];
			size_t n = 0;
			e[n++] = 4;
			n += put_integer(e + n, slot << 16 | 0xffff);
			n += put_integer(e + n, pin);
			e[n++] = 0;                /* Source: Zero, the GSI is hard-wired */
			n += put_integer(e + n, route[(pin + slot) & 3]);
			body[at++] = 0x12;         /* PackageOp */
			at += put_pkg_length(body + at, n);
			memcpy(body + at, e, n);
			at += n;
		}
	}
	aml_raw(a, name, sizeof(name));
	head[h++] = 0x12;
	h += put_pkg_length(head + h, at);
	aml_raw(a, head, h);
	aml_raw(a, body, at);
}

/* Processor (CPxx, id, 0, 0) {}: no processor block (no C2/C3, no throttling). */
static void dsdt_processor(struct aml *a, unsigned int v)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t p[14] = { 0x5b, 0x83, 0, 'C', 'P', (uint8_t)hex[(v >> 4) & 15], (uint8_t)hex[v & 15],
			  (uint8_t)v, 0, 0, 0, 0, 0 };

	p[2] = 11;          /* PkgLength: itself, the name, ID, PblkAddr, PblkLen */
	aml_raw(a, p, 13);
}

static size_t build_dsdt_body(uint8_t *buf, size_t cap, const struct hvm_acpi_config *cfg, const char **bad)
{
	struct aml a;

	aml_init(&a, buf, cap);
	dsdt_s5(&a);
	aml_scope(&a, "_SB");
	aml_device(&a, "PCI0");
	aml_name_integer(&a, "_HID", PNP0A03_EISAID);
	aml_name_integer(&a, "_ADR", 0);
	aml_name_integer(&a, "_UID", 0);
	dsdt_prt(&a, cfg->pirq_route);
	aml_close(&a);
	for (unsigned int v = 0; v < cfg->max_vcpus; v++)
		dsdt_processor(&a, v);
	aml_close(&a);
	*bad = a.bad ? a.bad : a.depth ? "unclosed AML term" : NULL;
	return a.len;
}

/* ---- the fixed tables ---- */

static void build_facs(uint8_t *t)
{
	memset(t, 0, FACS_SIZE);
	memcpy(t, "FACS", 4);
	put_le(t + 4, FACS_SIZE, 4);
}

static void build_fadt(uint8_t *t, uint64_t gpa, const struct layout *l)
{
	memset(t, 0, FADT_SIZE);
	put_le(t + FADT_FIRMWARE_CTRL, gpa + l->facs, 4);
	put_le(t + FADT_DSDT, gpa + l->dsdt, 4);
	put_le(t + FADT_SCI_INT, PIIX4_SCI_IRQ, 2);
	put_le(t + FADT_SMI_CMD, PIIX4_SMI_CMD_PORT, 4);
	t[FADT_ACPI_ENABLE] = 0xf1;
	t[FADT_ACPI_DISABLE] = 0xf0;
	put_le(t + FADT_PM1A_EVT, PIIX4_PM_BASE, 4);
	put_le(t + FADT_PM1A_CNT, PIIX4_PM_BASE + PIIX4_PM1A_CNT_OFFSET, 4);
	put_le(t + FADT_PM_TMR, PIIX4_PM_BASE + PIIX4_PM_TMR_OFFSET, 4);
	put_le(t + FADT_GPE0, PIIX4_GPE0_BASE, 4);
	t[FADT_PM1_EVT_LEN] = 4;
	t[FADT_PM1_CNT_LEN] = 2;
	t[FADT_PM_TMR_LEN] = 4;
	t[FADT_GPE0_LEN] = PIIX4_GPE0_LEN;
	put_le(t + FADT_P_LVL2_LAT, FADT_LATENCY_NONE, 2);
	put_le(t + FADT_P_LVL3_LAT, FADT_LATENCY_NONE, 2);
	put_le(t + FADT_FLAGS, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RTC_S4, 4);
	finish_table(t, "FACP", FADT_SIZE, 1);
}

static void build_madt(uint8_t *t, const struct layout *l, const struct hvm_acpi_config *cfg)
{
	size_t at = MADT_FIXED;

	memset(t, 0, l->madt_len);
	put_le(t + 36, ACPI_LAPIC_GPA, 4);
	put_le(t + 40, MADT_PCAT_COMPAT, 4);
	for (unsigned int v = 0; v < cfg->max_vcpus; v++, at += MADT_LAPIC_SIZE) {
		t[at] = 0;                                 /* processor local APIC */
		t[at + 1] = MADT_LAPIC_SIZE;
		t[at + 2] = (uint8_t)v;                    /* processor UID = the DSDT's ID */
		t[at + 3] = (uint8_t)acpi_vcpu_apic_id(v);
		put_le(t + at + 4, v < cfg->vcpus, 4);    /* enabled */
	}
	t[at] = 1;                                         /* IO-APIC, id 0 as KVM's resets */
	t[at + 1] = MADT_IOAPIC_SIZE;
	put_le(t + at + 4, ACPI_IOAPIC_GPA, 4);
	at += MADT_IOAPIC_SIZE;
	for (size_t i = 0; i < sizeof(level_irqs); i++, at += MADT_ISO_SIZE) {
		t[at] = 2;                                 /* interrupt source override */
		t[at + 1] = MADT_ISO_SIZE;
		t[at + 3] = level_irqs[i];
		put_le(t + at + 4, level_irqs[i], 4);
		put_le(t + at + 8, ISO_LEVEL_HIGH, 2);
	}
	finish_table(t, "APIC", (uint32_t)l->madt_len, 1);
}

int hvm_acpi_build(uint8_t *buf, size_t buflen, uint64_t gpa, const struct hvm_acpi_config *cfg,
		   uint64_t *rsdp_gpa, size_t *used, char *why, size_t whylen)
{
	struct layout l = { .facs = 0 };
	const char *bad;

	if (cfg->vcpus < 1 || cfg->vcpus > cfg->max_vcpus || cfg->max_vcpus > HVM_ACPI_MAX_VCPUS) {
		snprintf(why, whylen, "ACPI tables for %u of %u vCPUs: need 1 <= vcpus <= max_vcpus <= %u",
			 cfg->vcpus, cfg->max_vcpus, HVM_ACPI_MAX_VCPUS);
		return -1;
	}
	if ((gpa & 63) || gpa > UINT32_MAX || buflen > UINT32_MAX - gpa) {
		snprintf(why, whylen, "ACPI tables at %#llx (%zu bytes): need 64-byte alignment below 4 GiB",
			 (unsigned long long)gpa, buflen);
		return -1;
	}
	for (unsigned int i = 0; i < 4; i++) {
		if (cfg->pirq_route[i] > 15) {
			snprintf(why, whylen, "PIRQ %c routed to IRQ %u: ISA IRQs are 0-15", 'A' + i,
				 cfg->pirq_route[i]);
			return -1;
		}
	}
	l.rsdp = l.facs + FACS_SIZE;
	l.rsdt = align16(l.rsdp + RSDP_SIZE);
	l.fadt = align16(l.rsdt + HEADER_SIZE + 2 * 4);
	l.madt = align16(l.fadt + FADT_SIZE);
	l.madt_len = MADT_FIXED + cfg->max_vcpus * MADT_LAPIC_SIZE + MADT_IOAPIC_SIZE +
		     sizeof(level_irqs) * MADT_ISO_SIZE;
	l.dsdt = align16(l.madt + l.madt_len);

	size_t body_at = l.dsdt + HEADER_SIZE;
	size_t body = build_dsdt_body(body_at < buflen ? buf + body_at : NULL,
				      body_at < buflen ? buflen - body_at : 0, cfg, &bad);
	if (bad) {
		snprintf(why, whylen, "ACPI DSDT: %s", bad);
		return -1;
	}
	size_t need = body_at + body;
	if (need > buflen) {
		snprintf(why, whylen, "ACPI tables for %u vCPUs need %zu bytes, the region has %zu",
			 cfg->max_vcpus, need, buflen);
		return -1;
	}
	memset(buf, 0, l.dsdt);
	finish_table(buf + l.dsdt, "DSDT", (uint32_t)(need - l.dsdt), 1);
	build_madt(buf + l.madt, &l, cfg);
	build_fadt(buf + l.fadt, gpa, &l);
	build_facs(buf + l.facs);

	uint8_t *rsdt = buf + l.rsdt;
	put_le(rsdt + HEADER_SIZE, gpa + l.fadt, 4);
	put_le(rsdt + HEADER_SIZE + 4, gpa + l.madt, 4);
	finish_table(rsdt, "RSDT", HEADER_SIZE + 8, 1);

	uint8_t *rsdp = buf + l.rsdp;
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, OEM_ID, 6);
	rsdp[15] = 0;                                      /* revision 0: ACPI 1.0 */
	put_le(rsdp + 16, gpa + l.rsdt, 4);
	rsdp[8] = checksum(rsdp, RSDP_SIZE);

	*rsdp_gpa = gpa + l.rsdp;
	*used = need;
	return 0;
}
