/* ACPI tables for PVH domains, as Xen's toolstack gives them (docs/acpi.md): RSDP, XSDT, a
 * hardware-reduced FADT, MADT with one local APIC per possible vCPU, and a DSDT with a processor
 * device per possible vCPU.  The caller copies nothing: the tables are built in place in the
 * region the guest will see, and start_info's rsdp_paddr gets the RSDP's address. */
#ifndef XENITH_ACPI_TABLES_H
#define XENITH_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MADT local APIC entries carry 8-bit processor UIDs and APIC IDs, and APIC ID 0xff is the
 * broadcast address: so at most 255 vCPUs (the VMM's DOMAIN_MAX_VCPUS is below). */
#define ACPI_PVH_MAX_VCPUS 255u
/* An upper bound of the bytes the tables take for max_vcpus (the unit test holds us to it). */
#define ACPI_PVH_BYTES(max_vcpus) (640u + 128u * (size_t)(max_vcpus))
/* The region, in whole pages, that holds the tables for any supported configuration. */
#define ACPI_PVH_REGION_SIZE ((ACPI_PVH_BYTES(ACPI_PVH_MAX_VCPUS) + 4095u) & ~(size_t)4095u)

/* KVM's in-kernel IO-APIC (KVM_CREATE_IRQCHIP), should a caller describe it. */
#define ACPI_IOAPIC_GPA 0xfec00000u
#define ACPI_LAPIC_GPA 0xfee00000u

struct acpi_config {
	unsigned int vcpus;       /* online at boot: vCPUs 0 .. vcpus-1 */
	unsigned int max_vcpus;   /* described; those past vcpus are present but disabled (hot-plug) */
	bool ioapic;              /* describe KVM's IO-APIC; Xen gives PVH domains none (docs/acpi.md) */
};

/* The APIC ID of a vCPU: KVM gives the in-kernel local APIC the id passed to KVM_CREATE_VCPU, and
 * xen/cpuid.c reports the same as the initial APIC ID.  (Xen itself uses 2 * vcpu.) */
static inline unsigned int acpi_vcpu_apic_id(unsigned int vcpu)
{
	return vcpu;
}

/* Builds all tables into buf, which the guest will see at guest-physical `gpa` (16-byte
 * aligned); sets *rsdp_gpa and *used (bytes from buf's start).  Returns 0, or -1 with why
 * (a configuration out of range, a buffer too small: then why says how much is needed). */
int acpi_build_pvh(uint8_t *buf, size_t buflen, uint64_t gpa, const struct acpi_config *cfg,
		   uint64_t *rsdp_gpa, size_t *used, char *why, size_t whylen);

#endif
