/*
 * Finding Xen and installing the hypercall page, as a PVH kernel does (Linux: xen_cpuid_base):
 * look for "XenVMMXenVMM" among the hypervisor CPUID leaves, then write the page's guest-physical
 * address (identity mapped here) to the MSR that leaf base+2 names.
 */
#include <stdbool.h>
#include "console.h"
#include "hypercall.h"
#include "kernel.h"
#include "x86.h"
#include "xencons.h"

static bool page_installed;

bool xen_present(void)
{
    return page_installed;
}

static uint32_t find_xen_leaves(void)
{
    for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
        uint32_t r[4];
        cpuid(base, r);
        /* The signature is in ebx, ecx, edx; the leaf must also cover base+2. */
        if (r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e && r[0] - base >= 2)
            return base;
    }
    return 0;
}

void xen_init(struct boot_info *bi)
{
    uint32_t r[4];

    bi->xen_cpuid_base = find_xen_leaves();
    if (!bi->xen_cpuid_base) {
        console_early_puts("Xenith test guest: Xen not found (no XenVMMXenVMM CPUID leaves), halting\r\n");
        halt_forever();
    }
    cpuid(bi->xen_cpuid_base + 1, r);
    bi->xen_cpuid_version = r[0];
    cpuid(bi->xen_cpuid_base + 2, r);
    wrmsr(r[1], (uint64_t)hypercall_page);
    if ((unsigned char)hypercall_page[0] == 0xcc) {
        console_early_puts("Xenith test guest: the hypercall page was not filled in, halting\r\n");
        halt_forever();
    }
    page_installed = true;
}

void xen_shutdown(unsigned int reason)
{
    struct sched_shutdown s = { .reason = reason };

    xencons_flush();            /* the backend takes the last lines before the domain goes */
    long rc = sched_op(SCHEDOP_shutdown, &s);

    printk("SCHEDOP_shutdown(%u) returned %ld\n", reason, rc);
    spin_forever();
}
