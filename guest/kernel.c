/*
 * Ring 0, in boot order.  Kept to the minimum because on a PVM host every ring-0 instruction is
 * emulated: descriptor tables, Xen and the hypercall page, then straight to ring 3 where the banner,
 * the command line and the tests run natively.  A Multiboot2 entry means an HVM domain, whose
 * console is COM1: output goes there from the first line on.
 */
#include "boot.h"
#include "console.h"
#include "gdt.h"
#include "kernel.h"
#include "traps.h"

void kmain(uint32_t info_paddr, uint32_t protocol)
{
    struct boot_info bi = { .protocol = protocol, .info_paddr = info_paddr };

    if (protocol == BOOT_MULTIBOOT2)
        console_use_com1();
    gdt_init_tss();
    traps_init();
    xen_init(&bi);
    user_enter(user_main, &bi);
}
