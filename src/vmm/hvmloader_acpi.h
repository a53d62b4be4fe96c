/* ACPI tables of an HVM domain's PC (vmm/hvmloader_acpi.c), what hvmloader hands SeaBIOS's Xen
 * path: RSDP (ACPI 1.0 form), RSDT, FADT with the PIIX4 PM blocks, FACS, MADT, DSDT. */
#ifndef XENITH_HVMLOADER_ACPI_H
#define XENITH_HVMLOADER_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define HVM_ACPI_MAX_VCPUS 255u
/* An upper bound of the bytes the tables take for max_vcpus (the unit test holds us to it). */
#define HVM_ACPI_BYTES(max_vcpus) (4096u + 32u * (size_t)(max_vcpus))

struct hvm_acpi_config {
	unsigned int vcpus;            /* online at boot */
	unsigned int max_vcpus;        /* described; those past vcpus are disabled */
	uint8_t pirq_route[4];         /* ISA IRQ (= GSI) of PIRQ A-D, for the DSDT's _PRT */
};

/* Builds the tables into buf, which the guest sees at `gpa` (64-byte aligned, below 4 GiB:
 * the RSDT holds 32-bit addresses); sets *rsdp_gpa and *used.  0, or -1 with why. */
int hvm_acpi_build(uint8_t *buf, size_t buflen, uint64_t gpa, const struct hvm_acpi_config *cfg,
		   uint64_t *rsdp_gpa, size_t *used, char *why, size_t whylen);

#endif
