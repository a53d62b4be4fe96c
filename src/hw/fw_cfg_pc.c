/* The fw_cfg device row of an HVM domain: what SeaBIOS finds there about our PC (docs/hvm.md).
 *
 * Items: RAM size, vCPUs online and described, the domain's UUID (SeaBIOS's SMBIOS type 1), and
 * no IRQ 0 override (KVM's default routing keeps GSI 0 on IO-APIC pin 0).  Files:
 *   bootorder           OpenFirmware paths of the devices in --boot order, in the forms SeaBIOS's
 *                       boot.c matches: /pci@i0cf8/ide@1,1/drive@C/disk@S, /pci@i0cf8/ethernet@N
 *   etc/sercon-port     COM1, when it is the domain's console, so SeaBIOS talks there too
 *   etc/boot-fail-wait  milliseconds before SeaBIOS retries when nothing booted
 *
 * No etc/e820: Debian's SeaBIOS takes Xen's path here (our CPUID says Xen) and has its memory map
 * from hvmloader's info table (vmm/hvmloader.c); on that path it reads fw_cfg only after it
 * reserved its own zones, and RAM entries from here would give them back to the guest.
 *
 * No ACPI tables here either: on Xen's path they are hvmloader's (vmm/hvmloader_acpi.c).  On
 * QEMU's path (a firmware without Xen support), SeaBIOS up to 1.16.x (Debian 12 ships 1.16.2) builds its own when fw_cfg has
 * no etc/table-loader and it finds a PIIX4 power-management function (8086:7113): FADT (SCI 9,
 * PM1 blocks at the PMBA it programs, 0xb000; SMI command port 0xb2 with 0xf1/0xf0; GPE0 at
 * 0xafe0), MADT (every local APIC, the IO-APIC, the IRQ 0 override from the item above, IRQs 5,
 * 9, 10, 11 level/high), its built-in PIIX DSDT with \_S5 and PCI links LNKA-D, and an SSDT with
 * a processor per vCPU.  Were fw_cfg to list etc/table-loader, SeaBIOS would also move PMBA to
 * 0x600.  SeaBIOS 1.17 dropped that code (commit 35aa9a72, "drop obsolete acpi table code"):
 * a firmware from 1.17 on boots without ACPI until we hand it QEMU's linker/loader tables. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "hw/device.h"
#include "hw/fw_cfg.h"
#include "hw/hvm_config.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/vm.h"

#define COM1_PORT 0x3f8
#define BOOT_FAIL_WAIT_MS 5000u
#define NIC_FIRST_SLOT 3              /* docs/hvm.md: 00:03.0 onwards */
#define IDE_PCI_PATH "/pci@i0cf8/ide@1,1"

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

/* One boot device per line, no newline after the last (SeaBIOS would read an empty entry). */
static int add_line(char *buf, size_t len, size_t *at, const char *line)
{
	int n = snprintf(buf + *at, len - *at, "%s%s", *at ? "\n" : "", line);

	if (n < 0 || (size_t)n >= len - *at)
		return -1;
	*at += (size_t)n;
	return 0;
}

int fw_cfg_pc_bootorder(const struct hvm_config *c, char *buf, size_t len)
{
	size_t at = 0;
	char line[64];

	if (!len)
		return -1;
	buf[0] = '\0';
	for (const char *p = c->boot; p < c->boot + HVM_BOOT_MAX && *p; p++) {
		if (memchr(c->boot, *p, (size_t)(p - c->boot)))
			continue;            /* "cc": once is enough */
		for (unsigned int i = 0; i < HVM_IDE_DRIVES && (*p == 'c' || *p == 'd'); i++) {
			if (c->ide[i].kind != (*p == 'c' ? HVM_DRIVE_DISK : HVM_DRIVE_CDROM))
				continue;
			/* hda, hdb: the primary channel's master and slave; hdc, hdd: the secondary's */
			snprintf(line, sizeof(line), IDE_PCI_PATH "/drive@%x/disk@%x", i / 2, i % 2);
			if (add_line(buf, len, &at, line))
				return -1;
		}
		for (unsigned int i = 0; i < c->n_nics && i < HVM_NICS_MAX && *p == 'n'; i++) {
			snprintf(line, sizeof(line), "/pci@i0cf8/ethernet@%x", NIC_FIRST_SLOT + i);
			if (add_line(buf, len, &at, line))
				return -1;
		}
	}
	return (int)at;
}

/* ---- the device row ---- */

static int add_le_item(struct fw_cfg *cfg, uint16_t key, uint64_t value, unsigned int bytes)
{
	uint8_t v[8];

	put_le(v, value, bytes);
	return fw_cfg_add_item(cfg, key, v, bytes);
}

static int add_le_file(struct fw_cfg *cfg, const char *name, uint64_t value, unsigned int bytes)
{
	uint8_t v[8];

	put_le(v, value, bytes);
	return fw_cfg_add_file(cfg, name, v, bytes);
}

static int fill(struct domain *dom, struct fw_cfg *cfg, char *err, size_t errlen)
{
	const struct hvm_config *hvm = dom->hvm;
	/* Devices come before vCPUs (domain_build): the counts are the config's. */
	unsigned int online = dom->params ? dom->params->vcpus : dom->n_vcpus;
	unsigned int max = dom->params ? domain_max_vcpus(dom->params) : dom->n_vcpus;
	char order[FW_CFG_BOOTORDER_MAX];
	const char *what;
	int r, order_len;

	if (!hvm) {
		ERR_SET(err, errlen, "fw_cfg: the domain has no HVM config");
		return -1;
	}
	online = online ? online : 1;
	max = max > online ? max : online;
	what = "the RAM size";
	if ((r = add_le_item(cfg, FW_CFG_RAM_SIZE, vm_populated_bytes(&dom->vm), 8)))
		goto fail;
	what = "the vCPU counts";
	if ((r = add_le_item(cfg, FW_CFG_NB_CPUS, online, 2)) || (r = add_le_item(cfg, FW_CFG_MAX_CPUS, max, 2)))
		goto fail;
	/* KVM's default routing sends GSI 0 to IO-APIC pin 0 (no remapping to pin 2 as QEMU sets up),
	 * so the firmware's tables must not claim an override. */
	what = "the IRQ 0 override";
	if ((r = add_le_item(cfg, FW_CFG_IRQ0_OVERRIDE, 0, 4)))
		goto fail;
	what = "the UUID";
	if (dom->params && (r = fw_cfg_add_item(cfg, FW_CFG_UUID, dom->params->uuid, sizeof(dom->params->uuid))))
		goto fail;
	what = "bootorder";
	order_len = fw_cfg_pc_bootorder(hvm, order, sizeof(order));
	r = order_len < 0 ? -ENOSPC : 0;
	/* With its NUL, as QEMU gives it. */
	if (order_len && (r || (r = fw_cfg_add_file(cfg, what, order, (uint32_t)order_len + 1))))
		goto fail;
	what = "etc/sercon-port";
	if (hvm->serial && (r = add_le_file(cfg, what, COM1_PORT, 2)))
		goto fail;
	what = "etc/boot-fail-wait";
	if ((r = add_le_file(cfg, what, BOOT_FAIL_WAIT_MS, 4)))
		goto fail;
	return 0;
fail:
	ERR_SET(err, errlen, "fw_cfg: cannot add %s: %s", what, strerror(-r));
	return -1;
}

static int fw_cfg_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct fw_cfg *cfg = fw_cfg_new(dom);

	if (!cfg) {
		ERR_SET(err, errlen, "fw_cfg: out of memory");
		return -1;
	}
	if (fill(dom, cfg, err, errlen) || fw_cfg_attach(cfg, err, errlen)) {
		fw_cfg_free(cfg);
		return -1;
	}
	*state = cfg;
	return 0;
}

static void fw_cfg_teardown(struct domain *dom, void *state)
{
	(void)dom;
	fw_cfg_free(state);
}

static long fw_cfg_dev_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	(void)dom;
	return fw_cfg_save(state, buf, len);
}

static int fw_cfg_dev_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
			      size_t errlen)
{
	(void)dom;
	return fw_cfg_restore(state, buf, len, err, errlen);
}

const struct device_ops fw_cfg_device = {
	.name = "fw_cfg",
	.init = fw_cfg_init,
	.teardown = fw_cfg_teardown,
	.save = fw_cfg_dev_save,
	.restore = fw_cfg_dev_restore,
};
