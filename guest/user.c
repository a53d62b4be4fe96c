/*
 * The ring-3 side: banner, command line, the chosen test, its verdict and the matching shutdown.
 * Everything here runs natively on a PVM host; Xen is reached through the hypercall page.
 */
#include <stddef.h>
#include "cmdline.h"
#include "console.h"
#include "hypercall.h"
#include "kernel.h"
#include "klib.h"
#include "pv.h"
#include "tests/tests.h"

const struct hvm_start_info *boot_start_info;

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
    const struct hvm_start_info *si = bi.start_info;
    char name[32] = "hello", why[WHY_SIZE];

    banner();
    if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
        printk("FAIL boot: bad hvm_start_info magic %#x at %p\n", si->magic, (const void *)si);
        xen_shutdown(SHUTDOWN_crash);
    }
    boot_start_info = si;
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
