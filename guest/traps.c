/*
 * The IDT.  Gates need the handler address split into three fields, which the assembler cannot do
 * for a relocatable symbol, so traps_init fills the 32 exception gates and the three of upcall.S:
 * about 350 ring-0 instructions, once.
 */
#include <stdint.h>
#include "console.h"
#include "events.h"
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
#define NR_VECTORS    256
#define ISR_STUB_SIZE 16
#define GATE_INTR     0x8e      /* present, DPL 0, 64-bit interrupt gate (IF cleared) */

extern char isr_stubs[], upcall_entry[], spurious_entry[], ud_entry[];

static struct idt_gate idt[NR_VECTORS];

static void set_gate(unsigned int v, uint64_t addr, uint8_t type)
{
    idt[v] = (struct idt_gate){
        .offset_lo = addr & 0xffff,
        .selector = KERNEL_CS,
        .type = type,
        .offset_mid = addr >> 16 & 0xffff,
        .offset_hi = addr >> 32,
    };
}

void traps_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idt_ptr = { sizeof(idt) - 1, (uint64_t)idt };

    asm volatile("lidt %0" : : "m"(idt_ptr));
}

void traps_init(void)
{
    for (unsigned int v = 0; v < NR_EXCEPTIONS; v++)
        set_gate(v, (uint64_t)isr_stubs + v * ISR_STUB_SIZE, GATE_INTR);
    set_gate(6, (uint64_t)ud_entry, GATE_INTR);     /* user_sti's ud2, else the usual #UD */
    set_gate(UPCALL_VECTOR, (uint64_t)upcall_entry, GATE_INTR);
    set_gate(SPURIOUS_VECTOR, (uint64_t)spurious_entry, GATE_INTR);
    traps_load();
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
    /* console_io first (the hypervisor log: it cannot hang), then the domain's console ring.  A
     * writer the fault interrupted never resumes, so bytes it left past out_prod are just
     * overwritten; if the ring itself is what broke, the nested fault stops us on the debug port
     * after the hypervisor log has the report. */
    console_report("exception %lu at rip %#lx (err %#lx)\n", f->vector, f->rip, f->error);
    if (f->vector == 14) {
        uint64_t cr2;
        asm volatile("mov %%cr2, %0" : "=r"(cr2));
        console_report("page fault address %#lx, from ring %lu\n", cr2, f->cs & 3);
    }
    if (xen_present())
        xen_shutdown(SHUTDOWN_crash);
    halt_forever();
}
