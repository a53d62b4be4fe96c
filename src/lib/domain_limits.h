/* The limits of one domain, written once for both sides of the xl-to-VMM line: xl refuses a
 * config past them with its file:line, the VMM refuses an argument past them before it touches
 * KVM, and tests/unit/test_domain_limits.c checks that both say yes and no at the same edges.
 * Why each value is what it is: docs/vmm-control.md, "Limits". */
#ifndef XENITH_DOMAIN_LIMITS_H
#define XENITH_DOMAIN_LIMITS_H

/* vCPUs.  What the VMM's vCPU table, the Xen state (xen/xen_state.h XEN_MAX_VCPUS) and the ACPI
 * tables (ACPI_PVH_MAX_VCPUS, 255) hold; below Xen's own HVM_MAX_VCPUS (128) and KVM's.  The
 * issue-10 acceptance target (64 vCPUs with 8 vifs and 8 disks) sits at this edge. */
#define DOMAIN_MAX_VCPUS 64

/* PV devices.  16 disks are xvda-xvdp, the Linux xvd major's own range; each vif costs the guest
 * about 512 grant references (a 256-slot tx and rx ring), so 16 of them take a quarter of the
 * 64-frame grant table, leaving the disks theirs. */
#define DOMAIN_MAX_VIFS 16
#define DOMAIN_MAX_DISKS 16

/* Guest RAM in MiB.  The minimum is the smallest layout the VMM can describe (the first MiB, then
 * the ACPI tables and special pages below the top of low RAM); the kernel's loader refuses a RAM
 * too small for the kernel itself.  The maximum is 8 TiB: RAM above 4 GiB is one KVM memory slot,
 * and KVM caps a slot at 2^31 - 1 pages (just under 8 TiB; RAM below 4 GiB is another slot); it
 * is also below the 64 TiB of physical address space a Linux guest has with 4-level paging.  The
 * host's own RAM, a lower bound on most hosts, is checked when the VMM starts. */
#define DOMAIN_MIN_MEMORY_MB 2ull
#define DOMAIN_MAX_MEMORY_MB (8ull << 20)

/* Bytes of a domain name: a xenstore value and a file name under the run directory. */
#define DOMAIN_NAME_MAX 64

/* Bytes xl reads of a config file.  Xen's xl takes any plain file up to INT_MAX bytes and parses
 * it whole; real configs are a few KiB, and each byte may cost the parser tens of bytes of tree,
 * so xl stops at 1 MiB and says so, before allocating anything for it. */
#define XL_CFG_MAX_BYTES (1u << 20)

#endif
