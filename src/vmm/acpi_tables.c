/* ACPI tables for PVH domains.
 *
 * What Xen's toolstack gives a PVH DomU (libxl__dom_load_acpi with tools/libacpi), and where we
 * differ, is in docs/acpi.md.  In short: Linux PVH needs a MADT to find its CPUs (without one it
 * stays in "virtual wire" mode, brings up no other CPU and never sets up its per-CPU Xen timer),
 * and everything else is the least that makes those tables valid:
 *
 *   gpa + 0     RSDP  revision 2, XSDT only (no RSDT, as Xen does on Arm)
 *         ...   XSDT  -> FADT, MADT
 *         ...   FADT  ACPI 6.3, HW_REDUCED_ACPI: no PM1/GPE blocks, no SCI, no FACS, no legacy
 *                     PIC use; no VGA, no CMOS RTC (our PVH domains have neither)
 *         ...   MADT  one local APIC per possible vCPU: UID = vCPU index = APIC ID; enabled for
 *                     the online ones, "online capable" for the rest (hot-plug); an IO-APIC only
 *                     when asked
 *         ...   DSDT  \_SB.CPxx, an ACPI0007 processor device per possible vCPU whose _STA and _MAT
 *                     read that vCPU's MADT entry in guest memory, as Xen's PVH DSDT does: turning
 *                     a vCPU on later is setting its entry's enabled bit (and the MADT checksum)
 *
 * Each table starts 16-byte aligned.  The DSDT comes last because only it has a size we learn
 * by encoding it; the others are laid out first, and the DSDT names the MADT entries' addresses. */
#include <stdio.h>
#include <string.h>
#include "vmm/acpi_aml.h"
#include "vmm/acpi_tables.h"

#define OEM_ID "XENITH"
#define OEM_TABLE_ID "PVH     "
#define CREATOR_ID "XNTH"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;             /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;    /* over all of it */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {                 /* Generic Address Structure */
	uint8_t space_id, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {                /* ACPI 6.3, 5.2.9 */
	struct acpi_header header;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
	uint32_t gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len;
	uint8_t gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT of ACPI 6.x is 276 bytes");

#define FADT_REVISION 6
#define FADT_MINOR_VERSION 3          /* ACPI 6.3: what MADT revision 5 belongs to */
#define FADT_PWR_BUTTON (1u << 4)     /* no fixed-hardware power button */
#define FADT_SLP_BUTTON (1u << 5)     /* nor sleep button */
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define BOOT_ARCH_NO_VGA (1u << 2)
#define BOOT_ARCH_NO_CMOS_RTC (1u << 5)

struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {               /* type 0 */
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {              /* type 1 */
	uint8_t type, length, ioapic_id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

#define MADT_REVISION 5
#define MADT_PCAT_COMPAT 1u           /* KVM's in-kernel irqchip has the two 8259s */
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define LAPIC_ENABLED (1u << 0)
#define LAPIC_ONLINE_CAPABLE (1u << 1)
#define LAPIC_FLAGS_OFFSET 4          /* of the flags in a local APIC entry, read by the DSDT */

#define DSDT_REVISION 2               /* 2 and above: 64-bit AML integers */

struct layout {
	size_t rsdp, xsdt, fadt, madt, lapic0, dsdt;
	size_t madt_len;
};

static size_t align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Tables are built in local structs and copied in, so buf needs no alignment. */
static void put(uint8_t *buf, size_t at, const void *p, size_t n)
{
	memcpy(buf + at, p, n);
}

/* The header of a table `len` bytes long at buf + at, checksummed once its body is in place. */
static void finish_table(uint8_t *buf, size_t at, const char sig[4], uint32_t len, uint8_t rev)
{
	struct acpi_header h = { .length = len, .revision = rev, .oem_revision = 1,
				 .creator_revision = 1 };

	memcpy(h.signature, sig, 4);
	memcpy(h.oem_id, OEM_ID, 6);
	memcpy(h.oem_table_id, OEM_TABLE_ID, 8);
	memcpy(h.creator_id, CREATOR_ID, 4);
	put(buf, at, &h, sizeof(h));
	buf[at + offsetof(struct acpi_header, checksum)] = checksum(buf + at, len);
}

static void build_rsdp(uint8_t *buf, const struct layout *l, uint64_t gpa)
{
	struct acpi_rsdp r = { .revision = 2, .length = sizeof(r), .xsdt_address = gpa + l->xsdt };

	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, OEM_ID, 6);
	r.checksum = checksum((const uint8_t *)&r, 20);
	r.extended_checksum = checksum((const uint8_t *)&r, sizeof(r));
	put(buf, l->rsdp, &r, sizeof(r));
}

static void build_xsdt(uint8_t *buf, const struct layout *l, uint64_t gpa)
{
	uint64_t entries[] = { gpa + l->fadt, gpa + l->madt };
	size_t len = sizeof(struct acpi_header) + sizeof(entries);

	put(buf, l->xsdt + sizeof(struct acpi_header), entries, sizeof(entries));
	finish_table(buf, l->xsdt, "XSDT", (uint32_t)len, 1);
}

static void build_fadt(uint8_t *buf, const struct layout *l, uint64_t gpa)
{
	uint64_t dsdt = gpa + l->dsdt;
	struct acpi_fadt f = {
		/* The 32-bit field only where it can hold the address; X_DSDT always. */
		.dsdt = dsdt <= UINT32_MAX ? (uint32_t)dsdt : 0,
		.x_dsdt = dsdt,
		.iapc_boot_arch = BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC,
		.flags = FADT_HW_REDUCED_ACPI | FADT_PWR_BUTTON | FADT_SLP_BUTTON,
		.minor_version = FADT_MINOR_VERSION,
	};

	put(buf, l->fadt, &f, sizeof(f));
	finish_table(buf, l->fadt, "FACP", sizeof(f), FADT_REVISION);
}

static void build_madt(uint8_t *buf, const struct layout *l, const struct acpi_config *cfg)
{
	struct acpi_madt m = { .lapic_address = ACPI_LAPIC_GPA, .flags = MADT_PCAT_COMPAT };
	size_t at = l->madt + sizeof(m);

	put(buf, l->madt, &m, sizeof(m));
	if (cfg->ioapic) {
		struct madt_ioapic io = { .type = MADT_TYPE_IOAPIC, .length = sizeof(io),
					  .address = ACPI_IOAPIC_GPA };
		put(buf, at, &io, sizeof(io));
		at += sizeof(io);
	}
	for (unsigned int v = 0; v < cfg->max_vcpus; v++, at += sizeof(struct madt_lapic)) {
		struct madt_lapic e = {
			.type = MADT_TYPE_LAPIC, .length = sizeof(e),
			.processor_uid = (uint8_t)v, .apic_id = (uint8_t)acpi_vcpu_apic_id(v),
			.flags = v < cfg->vcpus ? LAPIC_ENABLED : LAPIC_ONLINE_CAPABLE,
		};
		put(buf, at, &e, sizeof(e));
	}
	finish_table(buf, l->madt, "APIC", (uint32_t)l->madt_len, MADT_REVISION);
}

/* One processor device: _STA says present while its MADT entry is enabled, _MAT returns the entry. */
static void dsdt_processor(struct aml *a, unsigned int v, uint64_t entry_gpa)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[5] = { 'C', 'P', hex[(v >> 4) & 15], hex[v & 15], 0 };   /* v < 256 */

	aml_device(a, name);
	aml_name_string(a, "_HID", "ACPI0007");
	aml_name_integer(a, "_UID", v);
	aml_op_region(a, "LAPE", AML_SYSTEM_MEMORY, entry_gpa, sizeof(struct madt_lapic));
	aml_field(a, "LAPE", AML_BYTE_ACC);
	aml_field_unit(a, "ENTR", 8 * sizeof(struct madt_lapic));
	aml_close(a);
	aml_field(a, "LAPE", AML_BYTE_ACC);
	aml_field_skip(a, 8 * LAPIC_FLAGS_OFFSET);
	aml_field_unit(a, "ENAB", 1);
	aml_close(a);
	aml_method(a, "_MAT", 0);
	aml_return_to_buffer(a, "ENTR");
	aml_close(a);
	aml_method(a, "_STA", 0);
	aml_if_name(a, "ENAB");
	aml_return_integer(a, 0x0f);   /* present, enabled, shown, functioning */
	aml_close(a);
	aml_return_integer(a, 0);
	aml_close(a);
	aml_close(a);
}

/* Encodes the DSDT's body after its header; returns the bytes it needs, fitting or not. */
static size_t build_dsdt_body(uint8_t *buf, size_t buflen, const struct layout *l, uint64_t gpa,
			      const struct acpi_config *cfg, const char **bad)
{
	size_t body = l->dsdt + sizeof(struct acpi_header);
	struct aml a;

	if (body < buflen)
		aml_init(&a, buf + body, buflen - body);
	else
		aml_init(&a, NULL, 0);   /* counts only */
	aml_scope(&a, "_SB");   /* at the root, as iasl writes it */
	for (unsigned int v = 0; v < cfg->max_vcpus; v++)
		dsdt_processor(&a, v, gpa + l->lapic0 + (uint64_t)v * sizeof(struct madt_lapic));
	aml_close(&a);
	*bad = a.bad;
	return a.len;
}

static int check_config(const struct acpi_config *cfg, uint64_t gpa, size_t buflen, char *why,
			size_t whylen)
{
	if (cfg->vcpus < 1 || cfg->vcpus > cfg->max_vcpus) {
		snprintf(why, whylen, "ACPI tables for %u vCPUs of at most %u: need 1 <= vcpus <= max_vcpus",
			 cfg->vcpus, cfg->max_vcpus);
		return -1;
	}
	if (cfg->max_vcpus > ACPI_PVH_MAX_VCPUS) {
		snprintf(why, whylen, "ACPI tables for %u vCPUs: the MADT's local APIC entries hold at most %u",
			 cfg->max_vcpus, ACPI_PVH_MAX_VCPUS);
		return -1;
	}
	if (gpa & 15) {
		snprintf(why, whylen, "ACPI tables at %#llx: the RSDP must be 16-byte aligned",
			 (unsigned long long)gpa);
		return -1;
	}
	if (gpa + buflen < gpa) {
		snprintf(why, whylen, "ACPI region at %#llx of %zu bytes wraps around the address space",
			 (unsigned long long)gpa, buflen);
		return -1;
	}
	return 0;
}

int acpi_build_pvh(uint8_t *buf, size_t buflen, uint64_t gpa, const struct acpi_config *cfg,
		   uint64_t *rsdp_gpa, size_t *used, char *why, size_t whylen)
{
	struct layout l = { .rsdp = 0 };
	const char *bad;
	size_t dsdt_body, need;

	if (check_config(cfg, gpa, buflen, why, whylen))
		return -1;
	l.xsdt = align16(l.rsdp + sizeof(struct acpi_rsdp));
	l.fadt = align16(l.xsdt + sizeof(struct acpi_header) + 2 * sizeof(uint64_t));
	l.madt = align16(l.fadt + sizeof(struct acpi_fadt));
	l.lapic0 = l.madt + sizeof(struct acpi_madt) + (cfg->ioapic ? sizeof(struct madt_ioapic) : 0);
	l.madt_len = l.lapic0 + cfg->max_vcpus * sizeof(struct madt_lapic) - l.madt;
	l.dsdt = align16(l.madt + l.madt_len);

	dsdt_body = build_dsdt_body(buf, buflen, &l, gpa, cfg, &bad);
	if (bad) {
		snprintf(why, whylen, "ACPI DSDT: %s", bad);
		return -1;
	}
	need = l.dsdt + sizeof(struct acpi_header) + dsdt_body;
	if (need > buflen) {
		snprintf(why, whylen, "ACPI tables for %u vCPUs need %zu bytes, the region has %zu",
			 cfg->max_vcpus, need, buflen);
		return -1;
	}
	memset(buf, 0, l.dsdt);   /* the gaps between tables too */
	finish_table(buf, l.dsdt, "DSDT", (uint32_t)(need - l.dsdt), DSDT_REVISION);
	build_madt(buf, &l, cfg);
	build_fadt(buf, &l, gpa);
	build_xsdt(buf, &l, gpa);
	build_rsdp(buf, &l, gpa);
	*rsdp_gpa = gpa + l.rsdp;
	*used = need;
	return 0;
}
