/*
 * The GDT is static and loaded by entry.S while still in 32-bit mode.  Only the TSS descriptor, whose
 * base address is split over several fields the assembler cannot compute, is filled in at run time.
 *
 * Ring 3 needs port I/O (the hypercall stubs are `out`s).  RFLAGS.IOPL 3 would be the usual way, but
 * a PVM host runs guest ring 3 with IOPL 0 whatever the guest asks for, and emulates a faulting `out`
 * against the guest TSS's I/O permission bitmap.  So the TSS carries a bitmap allowing every port
 * (8 KiB of zero bits plus the 0xff terminator byte); user_enter still sets IOPL 3 for other hosts.
 */
#include <stddef.h>
#include <stdint.h>
#include "gdt.h"
#include "x86.h"

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];            /* rsp[0]: the stack a trap from ring 3 switches to */
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    /* An all-zero I/O bitmap lets ring 3 use every port.  IOPL 3 alone is not enough on PVM hosts:
     * there the guest's IOPL is not what the hardware sees, and KVM's emulator checks the bitmap. */
    uint8_t iomap[8192 + 1];
} __attribute__((packed));

extern char kernel_stack_top[];

static struct tss64 tss = {
    .rsp = { (uint64_t)kernel_stack_top },
    .iomap_base = __builtin_offsetof(struct tss64, iomap),
    .iomap[8192] = 0xff,        /* the CPU may read one byte past the bitmap */
};

/* Index = selector / 8; see x86.h.  64-bit code segments have L set; limits/bases are ignored. */
static uint64_t gdt[] = {
    0,
    0x00af9a000000ffff,         /* KERNEL_CS: DPL 0 code, long mode */
    0x00cf92000000ffff,         /* KERNEL_DS */
    0x00cff2000000ffff,         /* USER_DS: DPL 3 data */
    0x00affa000000ffff,         /* USER_CS: DPL 3 code, long mode */
    0, 0,                       /* TSS_SEL: 16-byte system descriptor, filled by gdt_init_tss */
};

/* Read by `lgdt` in 32-bit mode (which uses the low 4 bytes of base) and valid in 64-bit mode too. */
struct {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed)) gdt_ptr = { sizeof(gdt) - 1, (uint64_t)gdt };

/* Secondary CPUs' copies; their TSSs start as the boot one (the I/O bitmap allowing every port). */
static uint64_t cpu_gdt[SMP_MAX_CPUS][sizeof(gdt) / sizeof(gdt[0])];
static struct tss64 cpu_tss[SMP_MAX_CPUS];

static void put_tss(uint64_t *table, const struct tss64 *t)
{
    uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;

    table[TSS_SEL / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 /* present, avail. TSS */
                         | (limit >> 16 & 0xf) << 48 | (base >> 24 & 0xff) << 56;
    table[TSS_SEL / 8 + 1] = base >> 32;
}

void gdt_init_tss(void)
{
    put_tss(gdt, &tss);
    asm volatile("ltr %w0" : : "r"(TSS_SEL));
}

void gdt_load_cpu(unsigned int cpu, uint64_t rsp0)
{
    uint64_t *table = cpu_gdt[cpu % SMP_MAX_CPUS];
    struct tss64 *t = &cpu_tss[cpu % SMP_MAX_CPUS];
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) ptr = { sizeof(cpu_gdt[0]) - 1, (uint64_t)table };

    t->rsp[0] = rsp0;
    t->iomap_base = __builtin_offsetof(struct tss64, iomap);
    t->iomap[8192] = 0xff;
    for (unsigned int i = 0; i < TSS_SEL / 8; i++)
        table[i] = gdt[i];
    put_tss(table, t);
    asm volatile("lgdt %0" : : "m"(ptr));
    asm volatile("ltr %w0" : : "r"(TSS_SEL));
}
