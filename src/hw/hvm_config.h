/* What an HVM domain's config asks of the emulated PC (docs/hvm.md), as the VMM's options give it
 * (`--hvm` and the options after it, parsed by hw/hvm_config.c) and the device models read it at
 * init from dom->hvm.  xl writes these options from xl.cfg's HVM keys. */
#ifndef XENITH_HVM_CONFIG_H
#define XENITH_HVM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HVM_IDE_DRIVES 4               /* hda..hdd: primary master/slave, secondary master/slave */
#define HVM_NICS_MAX 8
#define HVM_BOOT_MAX 4                 /* "dcn" */
#define HVM_PATH_MAX 4096

enum hvm_drive_kind { HVM_DRIVE_NONE, HVM_DRIVE_DISK, HVM_DRIVE_CDROM };

/* --ide hdX,PATH,r|w,disk|cdrom   (a cdrom may have no PATH: an empty tray) */
struct hvm_drive {
	enum hvm_drive_kind kind;
	char path[HVM_PATH_MAX];
	bool readonly;
};

enum hvm_nic_model { HVM_NIC_E1000, HVM_NIC_RTL8139 };

/* --nic model=e1000|rtl8139,mac=XX:..,devid=N[,bridge=B][,script=PATH]   (its TAP is
 * vif<domid>.<devid>-emu, put on the network by the same hotplug script as the PV vif of that
 * devid: `SCRIPT online` with vif=, bridge=, mac= as Xen's scripts expect) */
#define HVM_BRIDGE_MAX 15               /* IFNAMSIZ less its NUL */
struct hvm_nic {
	enum hvm_nic_model model;
	uint8_t mac[6];
	int devid;
	char bridge[HVM_BRIDGE_MAX + 1];    /* "": none given */
	char script[HVM_PATH_MAX];          /* "": no script (the TAP stays off any bridge) */
};

struct hvm_config {
	char firmware[HVM_PATH_MAX];   /* --firmware: SeaBIOS's bios.bin (default: Debian's seabios) */
	char boot[HVM_BOOT_MAX + 1];   /* --boot: c (disk), d (cdrom), n (network), in order; "cd" */
	bool acpi;                     /* --acpi 0|1 (1) */
	bool platform_pci;             /* --xen-platform-pci 0|1 (1): PCI 5853:0001 */
	bool serial;                   /* --serial pty|none (pty): COM1 is the domain's console */
	int64_t rtc_offset;            /* --rtc-offset SECONDS (0), added to the host's clock */
	bool rtc_localtime;            /* --localtime: the RTC keeps local time, not UTC */
	struct hvm_drive ide[HVM_IDE_DRIVES];
	struct hvm_nic nics[HVM_NICS_MAX];
	unsigned int n_nics;
};

/* The defaults above. */
void hvm_config_init(struct hvm_config *c);
/* One VMM option of the HVM family ("boot", "dc"): 0, 1 if `name` is not one of them, or -1 with
 * err naming the option and what is wrong. */
int hvm_config_option(struct hvm_config *c, const char *name, const char *value, char *err, size_t errlen);
/* The option names, for getopt tables and --help: NULL-terminated, each taking a value except
 * "localtime". */
extern const char *const hvm_config_options[];

#endif
