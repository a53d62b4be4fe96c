/*
 * Ring 0, in boot order.  Kept to the minimum because on a PVM host every ring-0 instruction is
 * emulated: descriptor tables, Xen and the hypercall page, then straight to ring 3 where the banner,
 * the command line and the tests run natively.
 */
#include "gdt.h"
#include "kernel.h"
#include "traps.h"

void kmain(const struct hvm_start_info *start_info)
{
    struct boot_info bi = { .start_info = start_info };

    gdt_init_tss();
    traps_init();
    xen_init(&bi);
    user_enter(user_main, &bi);
}
