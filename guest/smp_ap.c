/*
 * Secondary CPUs: the context VCPUOP_initialise gets (long mode at once, on our page tables) and
 * the few ring-0 steps such a CPU takes before dropping to ring 3: its own GDT and TSS (gdt.c), the
 * shared IDT, segments reloaded, FPU reset.  The ring-3 caller (tests/smp.c) only uses smp_start.
 */
#include <stddef.h>
#include <stdint.h>
#include "gdt.h"
#include "hypercall.h"
#include "smp.h"
#include "traps.h"
#include "x86.h"
#include <xen/hvm/hvm_vcpu.h>

#define AP_KERNEL_STACK 8192
#define AP_USER_STACK   16384
#define EFER_LME_BIT    (1u << 8)

extern char pml4[];
__attribute__((noreturn)) void user_enter_stack(void (*fn)(unsigned long), unsigned long arg, uint64_t stack_top);

static uint8_t kernel_stacks[SMP_MAX_CPUS][AP_KERNEL_STACK] __attribute__((aligned(16)));
static uint8_t user_stacks[SMP_MAX_CPUS][AP_USER_STACK] __attribute__((aligned(16)));

/* Where VCPUOP_initialise starts a secondary: rdi = cpu, rsi = its ring-3 function, rsp its kernel
 * stack (as after a call).  CS is Xen's flat 64-bit one with selector 0 until reloaded below. */
static __attribute__((noreturn, used)) void ap_entry(unsigned long cpu, void (*fn)(unsigned long))
{
    uint64_t kstack = (uint64_t)kernel_stacks[cpu] + AP_KERNEL_STACK;

    gdt_load_cpu((unsigned int)cpu, kstack);
    traps_load();
    asm volatile("mov %0, %%ds\n\tmov %0, %%es\n\tmov %0, %%ss\n\t"
                 "pushq %1\n\tlea 1f(%%rip), %%rax\n\tpushq %%rax\n\tlretq\n1:\n\tfninit"
                 : : "r"(KERNEL_DS), "i"(KERNEL_CS) : "rax", "memory");
    user_enter_stack(fn, cpu, (uint64_t)user_stacks[cpu] + AP_USER_STACK);
}

unsigned int smp_cpu_count(void)
{
    unsigned int n = 1;

    while (n < SMP_MAX_CPUS && vcpu_op(VCPUOP_is_up, n, NULL) >= 0)
        n++;
    return n;
}

long smp_start(unsigned int cpu, void (*fn)(unsigned long cpu), const char **step)
{
    struct vcpu_hvm_context ctx = { .mode = VCPU_HVM_MODE_64B };
    struct vcpu_hvm_x86_64 *r = &ctx.cpu_regs.x86_64;
    long rc;

    if (cpu == 0 || cpu >= SMP_MAX_CPUS) {
        *step = "cpu number";
        return -22;
    }
    r->rip = (uint64_t)ap_entry;
    r->rsp = (uint64_t)kernel_stacks[cpu] + AP_KERNEL_STACK - 8;
    r->rdi = cpu;
    r->rsi = (uint64_t)fn;
    r->rflags = 2;
    r->cr0 = CR0_PG | CR0_PE | CR0_MP | CR0_NE | 0x10 /* ET */;
    r->cr3 = (uint64_t)pml4;
    r->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    r->efer = EFER_LME_BIT;
    *step = "VCPUOP_initialise";
    rc = vcpu_op(VCPUOP_initialise, cpu, &ctx);
    if (rc)
        return rc;
    *step = "VCPUOP_up";
    return vcpu_op(VCPUOP_up, cpu, NULL);
}
