/*
 * Identity map of the first 4 GiB with 2 MiB pages, every level User-accessible (this is a test guest:
 * ring 3 may touch anything) and writable.  Built entirely by the assembler so that ring 0 never loops
 * over page-table entries.  Nothing above 4 GiB is mapped, so e.g. 0x7f0000000000 is a safe "unmapped"
 * address for tests.
 */
#define PTE_P  0x001
#define PTE_W  0x002
#define PTE_U  0x004
#define PTE_PS 0x080

        .section .data.pagetables, "aw"
        .balign 4096
        .globl pml4
pml4:
        .quad pdpt + (PTE_P | PTE_W | PTE_U)
        .fill 511, 8, 0
pdpt:
        .quad pd + 0 * 4096 + (PTE_P | PTE_W | PTE_U)
        .quad pd + 1 * 4096 + (PTE_P | PTE_W | PTE_U)
        .quad pd + 2 * 4096 + (PTE_P | PTE_W | PTE_U)
        .quad pd + 3 * 4096 + (PTE_P | PTE_W | PTE_U)
        .fill 508, 8, 0
pd:                                     /* 4 page directories back to back: 2048 x 2 MiB */
        page = 0
        .rept 2048
        .quad (page << 21) | (PTE_P | PTE_W | PTE_U | PTE_PS)
        page = page + 1
        .endr
