/*
 * The ring-3 side: banner, command line, the chosen test, its verdict and the matching shutdown.
 * Everything here runs natively on a PVM host; Xen is reached through the hypercall page.  After a
 * Multiboot2 entry (an HVM domain, GRUB) the loader's information becomes a start_info first
 * (multiboot2.c), and the platform device unplugs the emulated disks and NICs (hvm.c) before the
 * PV drivers start.
 */
#include <stddef.h>
#include "boot.h"
#include "cmdline.h"
#include "console.h"
#include "hvm.h"
#include "hypercall.h"
#include "kernel.h"
#include "klib.h"
#include "multiboot2.h"
#include "pv.h"
#include "tests/tests.h"

const struct hvm_start_info *boot_start_info;
static struct mb2_boot mb2_boot;

static __attribute__((noreturn)) void boot_failed(const char *why)
{
    printk("FAIL boot: %s\n", why);
    xen_shutdown(SHUTDOWN_crash);
}

/* The start_info this boot came with, or one made from the Multiboot2 loader's information. */
static const struct hvm_start_info *start_info_of(const struct boot_info *bi, char *why)
{
    if (bi->protocol == BOOT_MULTIBOOT2) {
        if (multiboot2_read(bi->info_paddr, &mb2_boot, why))
            boot_failed(why);
        printk("hvm: multiboot2 entry, memory map %u entries\n", mb2_boot.start_info.memmap_entries);
        if (mb2_boot.memmap_dropped || mb2_boot.cmdline_dropped)
            printk("hvm: %u memory map entries and %u command line bytes beyond what is kept\n",
                   mb2_boot.memmap_dropped, mb2_boot.cmdline_dropped);
        return &mb2_boot.start_info;
    }
    const struct hvm_start_info *si = (const void *)(uintptr_t)bi->info_paddr;
    if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
        snprintf(why, WHY_SIZE, "bad hvm_start_info magic %#x at %p", si->magic, (const void *)si);
        boot_failed(why);
    }
    return si;
}

static void banner(void)
{
    long ver = xen_version(XENVER_version, NULL);
    char extra[XEN_EXTRAVERSION_LEN + 1] = "";

    if (xen_version(XENVER_extraversion, extra) < 0)
        extra[0] = '\0';
    extra[XEN_EXTRAVERSION_LEN] = '\0';
    printk("Xenith test guest: Xen %lu.%lu%s\n", (unsigned long)ver >> 16, (unsigned long)ver & 0xffff,
           extra);
}

void user_main(const struct boot_info *kernel_bi)
{
    struct boot_info bi = *kernel_bi;       /* it lives on the kernel stack, which traps reuse */
    char name[32] = "hello", why[WHY_SIZE];

    banner();
    const struct hvm_start_info *si = start_info_of(&bi, why);
    boot_start_info = si;
    if (bi.protocol == BOOT_MULTIBOOT2) {
        const char *failure = hvm_init(why);
        if (failure)
            boot_failed(failure);
    }
    const char *cmdline = si->cmdline_paddr ? (const char *)si->cmdline_paddr : "";
    printk("cmdline: %s\n", cmdline);
    if (cmdline_u64(cmdline, "pv", 1))      /* pv=0: only the hypercall page, as before the PV core */
        pv_init(cmdline);

    cmdline_get(cmdline, "test", name, sizeof(name));
    const struct test *t = test_find(name);
    if (!t) {
        printk("FAIL %s: unknown test\n", name);
        xen_shutdown(SHUTDOWN_crash);
    }
    const char *failure = t->run(cmdline, why);
    if (failure) {
        printk("FAIL %s: %s\n", name, failure);
        xen_shutdown(SHUTDOWN_crash);
    }
    printk("PASS %s\n", name);
    xen_shutdown(SHUTDOWN_poweroff);
}
