/*
 * The IDT.  Gates need the handler address split into three fields, which the assembler cannot do
 * for a relocatable symbol, so traps_init fills the 32 gates: about 300 ring-0 instructions, once.
 */
#include <stdint.h>
#include "console.h"
#include "hypercall.h"
#include "traps.h"
#include "x86.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;      /* pushed by the CPU */
};

struct idt_gate {
    uint16_t offset_lo, selector;
    uint8_t ist, type;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
};

#define NR_EXCEPTIONS 32
#define ISR_STUB_SIZE 16

extern char isr_stubs[];

static struct idt_gate idt[NR_EXCEPTIONS];

void traps_init(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idt_ptr = { sizeof(idt) - 1, (uint64_t)idt };

    for (int v = 0; v < NR_EXCEPTIONS; v++) {
        uint64_t addr = (uint64_t)isr_stubs + v * ISR_STUB_SIZE;
        idt[v] = (struct idt_gate){
            .offset_lo = addr & 0xffff,
            .selector = KERNEL_CS,
            .type = 0x8e,               /* present, DPL 0, 64-bit interrupt gate (IF cleared) */
            .offset_mid = addr >> 16 & 0xffff,
            .offset_hi = addr >> 32,
        };
    }
    asm volatile("lidt %0" : : "m"(idt_ptr));
}

void trap_handler(struct trap_frame *f);

void trap_handler(struct trap_frame *f)
{
    /* A fault while reporting a fault: say so on the debug port, which cannot fault, and stop. */
    static int reporting;

    if (reporting++) {
        console_early_puts("nested exception\r\n");
        halt_forever();
    }
    printk("exception %lu at rip %#lx (err %#lx)\n", f->vector, f->rip, f->error);
    if (f->vector == 14) {
        uint64_t cr2;
        asm volatile("mov %%cr2, %0" : "=r"(cr2));
        printk("page fault address %#lx, from ring %lu\n", cr2, f->cs & 3);
    }
    if (xen_present())
        xen_shutdown(SHUTDOWN_crash);
    halt_forever();
}
